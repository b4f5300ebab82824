"""Where outputs and trained runs live, whatever the working directory: the one home of ``figures/``.

A notebook opened in JupyterLab starts its kernel in ``notebooks/``, the CLI in whatever folder the user is
in; both must read the runs ``make reproduce`` trained and write where it writes. So a relative
``"figures"`` is never the default:

- ``GREENAOLO_OUTPUT_DIR``, when set, is the home (a user's own folder, from a wheel or a checkout);
- else, in a source checkout (the package sits beside ``pyproject.toml`` and ``notebooks/``), the
  repository's ``figures/``, found from the package's own location;
- else (an installed wheel) ``figures/`` in the current folder: the folder the user chose to work in.

The profile a notebook runs when none is given is the one ``make reproduce`` last ran in the checkout
(``build/profile``), else ``quick``: opening a notebook never starts the hour-long full profile by surprise.
"""

from __future__ import annotations

import os
from pathlib import Path

from greenaolo.options import PROFILES

__all__ = ["OUTPUT_DIR_VARIABLE", "checkout_root", "default_profile", "output_dir", "runs_dir"]

#: The environment variable that sets the home of the outputs.
OUTPUT_DIR_VARIABLE = "GREENAOLO_OUTPUT_DIR"
PACKAGE = Path(__file__).resolve().parent


def checkout_root() -> Path | None:
    """The source checkout the package runs from (an editable install), or ``None`` for an installed wheel."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "notebooks").is_dir() else None


def output_dir() -> Path:
    """The folder figures go to (datasets to its ``data/``), as an absolute path (see the module's rules).

    :raises ValueError: ``GREENAOLO_OUTPUT_DIR`` is set but empty or names a file.
    """
    given = os.environ.get(OUTPUT_DIR_VARIABLE)
    if given is not None:
        if not given.strip():
            raise ValueError(f"{OUTPUT_DIR_VARIABLE} is set but empty: unset it, or give a folder")
        path = Path(given).expanduser().resolve()
        if path.exists() and not path.is_dir():
            raise ValueError(f"{OUTPUT_DIR_VARIABLE}={given!r} is a file, not a folder")
        return path
    root = checkout_root()
    return (root / "figures") if root is not None else (Path.cwd() / "figures").resolve()


def runs_dir(output: str | os.PathLike | None = None) -> Path:
    """The trained AOLO runs' folder: ``data/aolo_runs`` under ``output`` (default :func:`output_dir`)."""
    return Path(output if output else output_dir()) / "data" / "aolo_runs"


def default_profile() -> str:
    """The profile ``make reproduce`` last ran in this checkout (``build/profile``), else ``quick``."""
    root = checkout_root()
    if root is not None:
        try:
            recorded = (root / "build" / "profile").read_text(encoding="utf-8").strip()
        except OSError:
            recorded = ""
        if recorded in PROFILES:
            return recorded
    return "quick"
