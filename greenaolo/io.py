"""Datasets on disk: atomic netCDF writes with provenance, and a reader that checks it.

Every dataset the package writes carries, in its attributes (CF style, str/int/float only):
``greenaolo_version``, ``git_commit`` (or ``"unknown"``), ``created`` (UTC, ISO 8601), ``profile``,
``seeds`` (JSON list), ``parameters`` (JSON object: the notebook's parameters), ``solver`` (``"none"`` where
no solver ran) and ``figure`` (the name of the plot that draws it, see :mod:`greenaolo.plotting`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import greenaolo

__all__ = [
    "PROVENANCE_KEYS",
    "ProvenanceError",
    "atomic_path",
    "git_commit",
    "read_dataset",
    "write_dataset",
    "write_table",
]

ENGINE = "netcdf4"
PROVENANCE_KEYS = ("greenaolo_version", "git_commit", "created", "profile", "seeds", "parameters", "solver", "figure")
PROFILES = ("quick", "full")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    On any exception (including KeyboardInterrupt) the temporary file is removed and ``path`` is left as it
    was, so readers never see a half-written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
    try:
        yield Path(tmp)
        with open(tmp, "rb") as fh:  # on disk before it takes the name, so a crash cannot leave it empty
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class ProvenanceError(ValueError):
    """A dataset lacks provenance attributes, or they do not parse."""


def git_commit(path: str | os.PathLike | None = None) -> str:
    """The commit of the source tree (with ``+dirty`` when it has uncommitted changes), or ``"unknown"``."""
    cwd = Path(path) if path is not None else Path(greenaolo.__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=cwd, capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "") if commit else "unknown"


def _attr_value(value: Any) -> str | int | float:
    """netCDF-safe attribute: bool -> int, None -> "none", containers -> JSON."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, str):
        return value
    if value is None:
        return "none"
    return json.dumps(value, sort_keys=True, default=str)


def _sanitise(ds: xr.Dataset) -> xr.Dataset:
    out = ds.copy()
    out.attrs = {k: _attr_value(v) for k, v in ds.attrs.items()}
    for name in list(out.variables):
        out[name].attrs = {k: _attr_value(v) for k, v in ds[name].attrs.items()}
    return out


def write_dataset(
    ds: xr.Dataset,
    path: str | os.PathLike,
    *,
    profile: str,
    figure: str,
    parameters: Mapping[str, Any] | None = None,
    seeds: Iterable[int] = (),
    solver: str | None = None,
) -> Path:
    """Write ``ds`` to ``path`` as netCDF, atomically, with provenance attributes.

    The file is written to a temporary file in the same folder and renamed into place, so an interrupted
    run never leaves a half-written dataset at ``path`` (and an older complete one survives).

    :param profile: ``"quick"`` or ``"full"``.
    :param figure: name of the plot that draws this dataset (``greenaolo plot`` uses it).
    :param parameters: the notebook's parameters, stored as JSON.
    :param seeds: every seed that went into the numbers.
    :param solver: the solver that ran (``None`` if none).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is invalid: expected one of {PROFILES}")
    out = _sanitise(ds)
    out.attrs.update(
        greenaolo_version=greenaolo.__version__,
        git_commit=git_commit(),
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        profile=profile,
        seeds=json.dumps([int(s) for s in seeds]),
        parameters=json.dumps(dict(parameters or {}), sort_keys=True, default=str),
        solver=solver or "none",
        figure=figure,
    )
    with atomic_path(path) as tmp:
        out.to_netcdf(tmp, engine=ENGINE)
    return Path(path)


def read_dataset(path: str | os.PathLike, *, check: bool = True) -> xr.Dataset:
    """Read a dataset written by :func:`write_dataset` (loaded into memory, file closed).

    :param check: verify the provenance attributes: every key of :data:`PROVENANCE_KEYS` is present, the
        profile is known and ``seeds`` and ``parameters`` parse as JSON.
    :raises ProvenanceError: naming the file and the attribute that is missing or malformed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no dataset at {path}")
    with xr.open_dataset(path, engine=ENGINE) as ds:
        ds = ds.load()
    if check:
        missing = [k for k in PROVENANCE_KEYS if k not in ds.attrs]
        if missing:
            raise ProvenanceError(f"{path}: provenance attributes missing: {missing}")
        if ds.attrs["profile"] not in PROFILES:
            raise ProvenanceError(f"{path}: profile={ds.attrs['profile']!r} is not one of {PROFILES}")
        for key, kind in (("seeds", list), ("parameters", dict)):
            try:
                value = json.loads(ds.attrs[key])
            except (TypeError, json.JSONDecodeError) as exc:
                raise ProvenanceError(f"{path}: attribute {key!r} is not JSON: {exc}") from None
            if not isinstance(value, kind):
                raise ProvenanceError(f"{path}: attribute {key!r} should be a JSON {kind.__name__}")
    return ds


def _write_text_atomic(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_table(frame, stem: str, output_dir: str | os.PathLike = "figures") -> list[Path]:
    """Write a table (a :class:`pandas.DataFrame`) as ``stem.csv`` and ``stem.tex``, each atomically."""
    out = Path(output_dir)
    paths = [out / f"{stem}.csv", out / f"{stem}.tex"]
    _write_text_atomic(paths[0], frame.to_csv(index=False))
    _write_text_atomic(paths[1], frame.to_latex(index=False, escape=True))
    return paths
