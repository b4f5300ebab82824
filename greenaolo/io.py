"""Datasets on disk: atomic netCDF writes with provenance, and a reader that checks it.

Every dataset the package writes carries, in its attributes (CF style, str/int/float only):
``greenaolo_version``, ``git_commit`` (or ``"unknown"``), ``installed_from`` (:func:`installed_from`),
``created`` (UTC, ISO 8601), ``Conventions`` (CF-1.10) and ``history`` (CF: when and by what), ``profile``,
``seeds`` (JSON list), ``parameters`` (JSON object: the notebook's parameters), ``solver`` (``"none"`` where
no solver ran) and ``figure`` (the name of the plot that draws it, see :mod:`greenaolo.plotting`).

Units (CF): every ``units`` attribute is a UDUNITS-2 string, and every numeric data variable has one,
checked (:func:`dataset_units_problems`) when a dataset is written. The convention, in one place: a
substance is said in ``long_name``, not in the unit (CO2 emissions in ``"kg"``, carbon intensity in
``"g/(kW h)"``, as CF's standard names do); counts (queries, words, tokens, steps, spikes) are ``"1"``,
and rates of them per time ``"h-1"`` or ``"d-1"``; energy is ``"kW h"`` (UDUNITS knows no ``"kWh"``); a
value without a physical unit (a label, a worker's address) has no ``units``. The one exception: money is
``"USD"`` (ISO 4217; UDUNITS and CF have no currency), so a price is ``"USD/(kW h)"``. An hour-of-day
index (Green-LLM's ``time``, 0-23) is an index, not a time coordinate: it has no ``units`` and its
``long_name`` says so.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import datetime as _dt
import glob
import gzip
import json
import os
import shutil
import re
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

import greenaolo
from greenaolo.options import PROFILES

__all__ = [
    "PROVENANCE_KEYS",
    "ProvenanceError",
    "UnreadableDatasetError",
    "atomic_path",
    "check_writable",
    "commit_path",
    "dataset_units_problems",
    "git_commit",
    "installed_from",
    "provenance",
    "UNIT_SYMBOLS",
    "read_dataset",
    "units_problem",
    "write_dataset",
    "write_gzip_text",
    "write_table",
]

ENGINE = "netcdf4"
PROVENANCE_KEYS = ("greenaolo_version", "git_commit", "created", "profile", "seeds", "parameters", "solver", "figure")


#: A temporary file older than this is stale even if its writer's process id is alive (ids are reused).
STALE_SECONDS = 24 * 3600


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files left beside ``path`` by writers that were killed (SIGKILL, power loss): those
    whose process (named in the file) is gone, or older than :data:`STALE_SECONDS`. A live writer's are kept."""
    # Ours end in .tmp, or in .zip where a writer (SB3's save) appends its own suffix to the temporary name.
    for tmp in [*path.parent.glob(f".{glob.escape(path.name)}.*.tmp"), *path.parent.glob(f".{glob.escape(path.name)}.*.zip")]:
        parts = tmp.name[len(path.name) + 2:].split(".")
        try:
            pid = int(parts[0])
            os.kill(pid, 0)
            alive = True
        except (ValueError, IndexError):
            alive = False  # no process id in the name: written by an older version
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True  # someone else's live process
        try:
            old = time.time() - tmp.stat().st_mtime > STALE_SECONDS
            if not alive or old:
                tmp.unlink()
        except FileNotFoundError:
            pass


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, commit: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    On any exception (including KeyboardInterrupt) the temporary file is removed and ``path`` is left as it
    was, so readers never see a half-written file. Temporary files that killed writers left beside ``path``
    are removed first.

    An output that is a symbolic link is written through: its target is replaced, the link kept. An output
    that exists and is not a regular file (a device such as ``/dev/full``, a FIFO, a folder) is refused before
    anything is written. A write that fails on a full disk says so (:class:`DiskFullError`), whatever the
    writer's own message (netCDF says ``HDF error``).

    :param commit: rename at the end of the block; with ``False`` the caller renames with :func:`commit_path`
        inside the block (to commit several files together), and an uncommitted temporary file is removed.
    :raises OSError: the output is a special file.
    :raises DiskFullError: the disk filled up while writing (nothing was replaced).
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()  # write through the link
    if path.exists() and not path.is_file():
        raise OSError(errno.EINVAL, f"{path} is not a regular file (a device, FIFO or folder): refusing to replace "
                                    "it; give the path of a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the permissions open() would
    try:
        yield Path(tmp)
        if commit:
            commit_path(Path(tmp), path)
    except Exception as exc:
        if _disk_full(exc, path.parent):
            Path(tmp).unlink(missing_ok=True)
            free = shutil.disk_usage(path.parent).free
            raise DiskFullError(errno.ENOSPC, f"disk full: writing {path} failed with {free:,} bytes free in "
                                              f"{path.parent}; nothing was replaced (free some space and run again)") from exc
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)  # after a rename there is nothing left to remove


class DiskFullError(OSError):
    """A write failed because its disk is full (raised instead of the writer's own message)."""


#: Below this many free bytes, a failed write is taken for a full disk.
DISK_FULL_BYTES = 1 << 20


def _disk_full(exc: BaseException, folder: Path) -> bool:
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return True
    try:
        return shutil.disk_usage(folder).free < DISK_FULL_BYTES
    except OSError:
        return False


def commit_path(tmp: Path, path: Path) -> None:
    """Give a finished temporary file its name: flushed to disk first, so a crash cannot leave it empty."""
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def check_writable(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check a file can be written in it, so a run fails before its work,
    not after it. :raises OSError: with a message that says why."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".greenaolo-write-test.")
        os.close(fd)
        os.unlink(probe)
    except (FileExistsError, NotADirectoryError):
        raise OSError(f"{folder} cannot be a folder: it, or a part of its path, is a file") from None
    except PermissionError:
        raise OSError(f"{folder} is not writable") from None
    except OSError as err:
        raise OSError(f"{folder} cannot be written: {err.strerror}") from None
    return folder


class ProvenanceError(ValueError):
    """A dataset lacks provenance attributes, or they do not parse."""


class UnreadableDatasetError(ValueError):
    """A file is not a readable netCDF dataset (empty, truncated, or another format)."""


#: Git filters are not run by the dirty check: a clean filter (nbstripout, installed by ``make setup``) runs on
#: every "racily clean" file of a fresh clone and can take a minute; with ``cat`` the check stays cheap (a
#: notebook saved with outputs then counts as a change, which it is).
_NO_FILTERS = ("-c", "filter.nbstripout.clean=cat", "-c", "filter.nbstripout.required=false")


def _git(cwd: Path, *args: str, timeout: float = 10) -> str:
    return subprocess.run(
        ["git", "--no-optional-locks", *_NO_FILTERS, *args], cwd=cwd, capture_output=True, text=True, check=True,
        timeout=timeout,
    ).stdout.strip()


def git_commit(path: str | os.PathLike | None = None) -> str:
    """The commit of the source tree: ``"<sha>"``, ``"<sha>+dirty"`` with uncommitted changes,
    ``"<sha>+unchecked"`` when the dirty check could not run (the commit is never thrown away), or
    ``"unknown"`` outside a checkout."""
    cwd = Path(path) if path is not None else Path(greenaolo.__file__).resolve().parent
    try:
        commit = _git(cwd, "rev-parse", "HEAD")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        return "unknown"
    try:
        dirty = _git(cwd, "status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return commit + "+unchecked"
    return commit + ("+dirty" if dirty else "")


def installed_from() -> str:
    """Where the running greenaolo was installed from, as pip recorded it (PEP 610 ``direct_url.json``):
    ``"<url>"`` plus ``" (editable)"``, the VCS commit or the archive hash where known; ``"unknown"`` if pip
    recorded nothing (an install from an index, or a source tree on ``sys.path``)."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        text = distribution("greenaolo").read_text("direct_url.json")
    except PackageNotFoundError:
        return "unknown"
    if not text:
        return "unknown"
    try:
        info = json.loads(text)
    except ValueError:
        return "unknown"
    out = str(info.get("url", "unknown"))
    if (info.get("dir_info") or {}).get("editable"):
        out += " (editable)"
    if "vcs_info" in info:
        out += f" {info['vcs_info'].get('vcs', 'vcs')} {info['vcs_info'].get('commit_id', '')}".rstrip()
    if "archive_info" in info:
        hashes = info["archive_info"].get("hashes") or {}
        digest = info["archive_info"].get("hash") or next((f"{k}={v}" for k, v in hashes.items()), "")
        out += f" {digest}".rstrip()
    return out


#: The installed packages whose versions decide the numbers (solvers, numerics, learning): every dataset
#: records them, and ``greenaolo doctor`` compares them, and every other package, with ``requirements.lock``.
DECIDING_PACKAGES = ("numpy", "scipy", "pandas", "xarray", "linopy", "highspy", "gurobipy", "torch",
                     "stable-baselines3", "gymnasium", "optuna", "matplotlib")


def package_versions(names: tuple[str, ...] = DECIDING_PACKAGES) -> dict[str, str]:
    """The installed version of each package (``"not installed"`` for one that is not). Read once per process
    (about 7 ms a time, and every dataset written records them)."""
    return dict(_versions(tuple(names)))


@functools.lru_cache(maxsize=8)
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    from importlib import metadata

    out = []
    for name in names:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


def provenance() -> dict[str, str]:
    """The code's provenance, as every dataset, executed notebook and figure records it: the package version,
    the git commit of the checkout it runs from (or "unknown" for an installed wheel), where pip installed
    it from, and the versions of the packages that decide its numbers (:data:`DECIDING_PACKAGES`)."""
    return {"greenaolo_version": greenaolo.__version__, "git_commit": git_commit(), "installed_from": installed_from(),
            "package_versions": json.dumps(package_versions(), sort_keys=True)}


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


#: The unit symbols a dataset may use (each a UDUNITS-2 symbol, but ``USD``: see the module docstring),
#: with an optional prefix of :data:`UNIT_PREFIXES` and an integer power (``s-1``, ``m2``).
UNIT_SYMBOLS = ("s", "h", "d", "m", "g", "L", "W", "J", "bit", "byte", "USD")
#: SI prefixes: pico, nano, micro (``u``), milli, kilo, mega, giga.
UNIT_PREFIXES = ("p", "n", "u", "m", "k", "M", "G")
_TERM = rf"(?:{'|'.join(UNIT_PREFIXES)})?(?:{'|'.join(UNIT_SYMBOLS)})(?:-?[1-9])?"
_PRODUCT = rf"{_TERM}(?:[ .]{_TERM})*"
_UNITS = re.compile(rf"1|%|{_PRODUCT}(?:/(?:{_TERM}|\({_PRODUCT}\)))?")
_TIME_UNITS = re.compile(r"(?:days|hours|minutes|seconds) since \d{4}-\d{2}-\d{2}(?:[ T][\d:]+)?")


def units_problem(units: object) -> str | None:
    """``None`` if ``units`` is a valid ``units`` attribute for this package's datasets (see the module
    docstring), else what is wrong with it, in words."""
    if not isinstance(units, str):
        return f"units={units!r} is a {type(units).__name__}: expected a string"
    if _UNITS.fullmatch(units) or _TIME_UNITS.fullmatch(units):
        return None
    return (f"units={units!r} is not a UDUNITS string of this package: expected '1', '%', a time reference "
            f"('hours since 2024-01-01') or a product of {', '.join(UNIT_SYMBOLS)} (each with an optional "
            f"prefix {', '.join(UNIT_PREFIXES)} and power, joined by ' ') over at most one '/', e.g. "
            "'g/(kW h)', 'USD/L', 'd-1'; a count is '1', a substance goes in long_name (greenaolo.io)")


def dataset_units_problems(ds: xr.Dataset) -> list[str]:
    """What is wrong with the ``units`` of ``ds``'s variables, one line per variable (empty: nothing): a
    ``units`` attribute that :func:`units_problem` refuses, or a numeric data variable without one (a
    string-valued variable, such as a worker's address, has none)."""
    problems = []
    for name, var in ds.variables.items():
        if "units" in var.attrs:
            if (problem := units_problem(var.attrs["units"])) is not None:
                problems.append(f"{name}: {problem}")
        elif name in ds.data_vars and var.dtype.kind in "biufc":
            problems.append(f"{name}: a numeric data variable has no units attribute (a count is '1')")
    return problems


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
    :raises ValueError: for an unknown profile, or variables whose ``units`` are not valid
        (:func:`dataset_units_problems`), before anything is written.
    """
    if profile not in PROFILES:
        raise ValueError(f"profile={profile!r} is invalid: expected one of {PROFILES}")
    if problems := dataset_units_problems(ds):
        raise ValueError(f"{path}: {len(problems)} variable(s) with invalid units: " + "; ".join(problems))
    out = _sanitise(ds)
    created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    code = provenance()
    out.attrs.update(
        **code,
        Conventions="CF-1.10",
        history=f"{created}: written by greenaolo {code['greenaolo_version']} ({code['git_commit']}) for "
                f"figure {figure}, profile {profile}",
        created=created,
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
    try:
        with xr.open_dataset(path, engine=ENGINE) as ds:
            ds = ds.load()
    except (OSError, ValueError, RuntimeError, KeyError) as err:
        size = path.stat().st_size
        why = "empty" if size == 0 else f"{size} bytes; truncated or not netCDF"
        raise UnreadableDatasetError(f"{path} is not a readable netCDF file ({why}: {type(err).__name__})") from None
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


def write_gzip_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) gzipped so that the same text always gives the same bytes (no file name, time 0,
    level 9): for files that are committed or hashed (the shipped data, the kept results)."""
    path = Path(path)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return path


def write_table(frame, stem: str, output_dir: str | os.PathLike = "figures") -> list[Path]:
    """Write a table (a :class:`pandas.DataFrame`) as ``stem.csv`` and ``stem.tex``, each atomically."""
    out = Path(output_dir)
    paths = [out / f"{stem}.csv", out / f"{stem}.tex"]
    _write_text_atomic(paths[0], frame.to_csv(index=False))
    _write_text_atomic(paths[1], frame.to_latex(index=False, escape=True))
    return paths
