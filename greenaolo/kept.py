"""Results kept with the code: a run's datasets under ``results/<profile>/``, so a reader can check a number,
redraw a figure or browse the report without re-running anything.

``make keep`` (after ``make reproduce``) calls :func:`keep`: every figure's netCDF (``data/``, compressed
without loss), one table of
every trained AOLO run's scores and learning curves (``aolo_runs.csv.gz``; the runs' weights are not kept),
the executed notebooks with their images taken out (``notebooks/``, each gzipped: the report draws each figure
again from its kept dataset, so a picture is not stored twice), and ``MANIFEST.json`` (profile, commit, package versions,
every file's size and SHA-256). The whole stays under :data:`BUDGET_BYTES`; :func:`check_kept` verifies a
folder against its manifest. ``greenaolo plot results/full/data/NAME.nc`` redraws a figure and
``make report-kept`` builds the full profile's site from the kept results, in seconds.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd

__all__ = ["BUDGET_BYTES", "FIGURE_OUTPUT", "NOT_REPEATABLE", "KeptError", "check_kept", "compare", "keep",
           "read_notebook", "redraw_figures", "run_table", "strip_figures", "write_notebook"]

#: The most a profile's kept results may weigh (bytes): git keeps every version, so they must stay small.
BUDGET_BYTES = {"full": 6_000_000, "quick": 3_000_000}
#: Marks, in a kept notebook, an output whose image was taken out (its dataset redraws it).
FIGURE_OUTPUT = "greenaolo_figure_removed"
#: Scalars of a run's dataset kept per run (``aolo_runs.csv.gz``), beside its learning curves.
RUN_SCALARS = ("carbon_g", "communication_share", "qoe_violation_rate", "latency_violation_rate", "mean_reward",
               "oracle_carbon_g", "gap_to_oracle")
RUN_CURVES = ("curve_reward", "curve_carbon_g", "curve_qoe_violation_rate", "curve_latency_violation_rate")


class KeptError(RuntimeError):
    """Kept results that cannot be written or do not match their manifest."""


def run_table(runs_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per trained run in ``runs_dir`` (``ALGORITHM_VARIANT_seedN.nc``, as ``make reproduce`` writes
    them): algorithm, variant, seed, profile, the scalars of :data:`RUN_SCALARS` and, per evaluation step,
    each curve of :data:`RUN_CURVES` (one row per (run, step) for the curves: column ``step``; the scalars
    on the row with ``step`` = -1)."""
    from greenaolo.io import read_dataset

    rows = []
    for path in sorted(Path(runs_dir).glob("*.nc")):
        ds = read_dataset(path)
        head = {"algorithm": ds.attrs["algorithm"], "variant": ds.attrs["variant"], "seed": int(ds.attrs["seed"]),
                "profile": ds.attrs["profile"]}
        rows.append({**head, "step": -1, **{name: float(ds[name]) for name in RUN_SCALARS}})
        for i, step in enumerate(ds.step.values):
            rows.append({**head, "step": int(step), **{name: float(ds[name].values[i]) for name in RUN_CURVES}})
    if not rows:
        raise KeptError(f"no trained runs in {runs_dir}")
    return pd.DataFrame(rows)


def strip_figures(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed notebook whose image outputs are replaced by a mark (:data:`FIGURE_OUTPUT`) and
    whose widget state is dropped: what :func:`keep` stores."""
    out = copy.deepcopy(nb)
    out.metadata.pop("widgets", None)
    for cell in out.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if any(key.startswith("image/") for key in data):
                output["data"] = {"text/plain": data.get("text/plain", "<Figure>")}
                output.setdefault("metadata", {})[FIGURE_OUTPUT] = True
    return out


def redraw_figures(nb: nbformat.NotebookNode, png: bytes) -> nbformat.NotebookNode:
    """A kept notebook with each image taken out by :func:`strip_figures` put back as ``png`` (the figure
    drawn from the notebook's kept dataset)."""
    import base64

    out = copy.deepcopy(nb)
    for cell in out.cells:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).pop(FIGURE_OUTPUT, False):
                output["data"]["image/png"] = base64.b64encode(png).decode("ascii")
    return out


def figure_png(ds) -> bytes:
    """The figure a dataset names, drawn as PNG bytes (as ``greenaolo plot`` draws it)."""
    import matplotlib.pyplot as plt

    from greenaolo.explorer import render_png
    from greenaolo.figures import draw

    fig = draw(ds)
    png = render_png(fig)
    plt.close(fig)
    return png


def write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    """A kept notebook, gzipped (``NAME.ipynb.gz``): smaller, and out of reach of git filters on ``*.ipynb``
    (nbstripout would strip its outputs on commit, and it would no longer match its manifest)."""
    from greenaolo.io import write_gzip_text

    write_gzip_text(path, nbformat.writes(nb))


def read_notebook(path: str | os.PathLike) -> nbformat.NotebookNode:
    """A notebook from ``NAME.ipynb`` or, kept, ``NAME.ipynb.gz``."""
    path = Path(path)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return nbformat.read(handle, as_version=4)
    return nbformat.read(path, as_version=4)


def _compressed_copy(source: Path, target: Path) -> None:
    """Copy a dataset with every numeric variable compressed (zlib level 9 with byte shuffling): lossless, the
    same values, attributes and encoding otherwise; the year studies' datasets shrink about 4x."""
    import xarray as xr

    from greenaolo.io import ENGINE

    with xr.open_dataset(source, engine=ENGINE) as ds:
        ds = ds.load()
    encoding = {name: {"zlib": True, "complevel": 9, "shuffle": True}
                for name in ds.variables if ds[name].dtype.kind in "fiub" and ds[name].ndim > 0}
    ds.to_netcdf(target, engine=ENGINE, encoding=encoding)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def keep(figures_dir: str | os.PathLike, executed_dir: str | os.PathLike, out_root: str | os.PathLike,
         *, notebooks: bool = True) -> Path:
    """Keep a finished ``make reproduce``: its figures' datasets (``figures_dir/data/*.nc``), its trained runs'
    table and (``notebooks``) its executed notebooks without images, in ``out_root/<profile>/``, replaced
    whole; returns that folder.

    :raises KeptError: no datasets, datasets of several profiles, a notebook that did not finish, or more
        than the profile's :data:`BUDGET_BYTES` (nothing is replaced then).
    """
    from greenaolo.io import package_versions, read_dataset, write_gzip_text
    from greenaolo.notebooks import completed

    data = Path(figures_dir) / "data"
    datasets = sorted(p for p in data.glob("*.nc"))
    if not datasets:
        raise KeptError(f"no datasets in {data}: run `make reproduce` first")
    attrs = {p.stem: read_dataset(p).attrs for p in datasets}
    profiles = {str(a.get("profile")) for a in attrs.values()}
    if len(profiles) != 1:
        raise KeptError(f"the datasets in {data} come from several profiles ({', '.join(sorted(profiles))})")
    profile = profiles.pop()
    if profile not in BUDGET_BYTES:
        raise KeptError(f"profile {profile!r} is not kept: expected one of {sorted(BUDGET_BYTES)}")
    staging = Path(out_root) / f".{profile}.new"
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "data").mkdir(parents=True)
    for p in datasets:
        _compressed_copy(p, staging / "data" / p.name)
    if (data / "aolo_runs").is_dir():
        write_gzip_text(staging / "aolo_runs.csv.gz",
                        run_table(data / "aolo_runs").to_csv(index=False, lineterminator="\n", float_format="%.17g"))
    if notebooks:
        (staging / "notebooks").mkdir()
        for p in datasets:
            executed = Path(executed_dir) / f"{p.stem}.ipynb"
            if not executed.is_file():
                continue  # a dataset no notebook of this run wrote under its name (e.g. a sub-study's)
            nb = nbformat.read(executed, as_version=4)
            if not completed(nb):
                shutil.rmtree(staging)
                raise KeptError(f"{executed} did not finish: run `make reproduce` again before keeping it")
            write_notebook(strip_figures(nb), staging / "notebooks" / f"{executed.name}.gz")
    files = sorted(p for p in staging.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    if total > BUDGET_BYTES[profile]:
        biggest = ", ".join(f"{p.relative_to(staging)} ({p.stat().st_size:,})"
                            for p in sorted(files, key=lambda p: -p.stat().st_size)[:3])
        shutil.rmtree(staging)
        raise KeptError(f"the kept {profile} results would weigh {total:,} bytes, above the budget of "
                        f"{BUDGET_BYTES[profile]:,}; the largest: {biggest}")
    commits = sorted({str(a.get("git_commit", "")) for a in attrs.values()})
    manifest = {
        "profile": profile,
        "created": max(str(a.get("created", "")) for a in attrs.values()),
        "git_commits": commits,
        "package_versions": package_versions(),
        "budget_bytes": BUDGET_BYTES[profile],
        "total_bytes": total,
        "files": {str(p.relative_to(staging)): {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in files},
    }
    (staging / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    final = Path(out_root) / profile
    old = Path(out_root) / f".{profile}.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def check_kept(folder: str | os.PathLike) -> dict:
    """The manifest of a kept folder, after checking that every file it lists is there with its size and
    SHA-256 and that nothing else is, within the budget.

    :raises KeptError: naming the first file that differs.
    """
    folder = Path(folder)
    manifest_path = folder / "MANIFEST.json"
    if not manifest_path.is_file():
        raise KeptError(f"no kept results in {folder} (no MANIFEST.json): run `make reproduce` then `make keep`")
    manifest = json.loads(manifest_path.read_text())
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()} - {"MANIFEST.json"}
    listed = set(manifest["files"])
    if present != listed:
        raise KeptError(f"{folder}: files not in its manifest: {sorted(present - listed)}; "
                        f"missing: {sorted(listed - present)}")
    for name, entry in sorted(manifest["files"].items()):
        if _sha256(folder / name) != entry["sha256"]:
            raise KeptError(f"{folder / name} differs from what MANIFEST.json records (changed after `make keep`)")
    total = sum(entry["bytes"] for entry in manifest["files"].values())
    if total > manifest["budget_bytes"]:
        raise KeptError(f"{folder} weighs {total:,} bytes, above its budget of {manifest['budget_bytes']:,}")
    return manifest


#: Datasets whose values are not expected to repeat bit for bit, and why (the README's "Reproducibility").
NOT_REPEATABLE = {
    "greenllm_milp": "its MILP variants stop at a wall-clock limit, so the incumbent depends on the machine's speed",
}
#: Variables that record where or how long something ran, not a result: never compared.
_RUN_RECORDS = re.compile(r"(worker|seconds|steps_per_second)$")


def compare(produced_dir: str | os.PathLike, kept_dir: str | os.PathLike) -> dict[str, list[str]]:
    """Compare a run's datasets with kept ones, value for value (every variable and coordinate but the run
    records of :data:`_RUN_RECORDS`; attributes such as the creation time are provenance, not results).

    :returns: for each kept dataset, the names of the variables whose values differ (``["missing"]`` if the
        run has no such dataset); an empty list means identical to the bit.
    """
    import xarray as xr

    from greenaolo.io import ENGINE

    out: dict[str, list[str]] = {}
    for kept_path in sorted(Path(kept_dir).glob("*.nc")):
        produced_path = Path(produced_dir) / kept_path.name
        if not produced_path.is_file():
            out[kept_path.stem] = ["missing"]
            continue
        with xr.open_dataset(kept_path, engine=ENGINE) as a, xr.open_dataset(produced_path, engine=ENGINE) as b:
            differ = []
            for name in sorted(set(a.variables) | set(b.variables)):
                if _RUN_RECORDS.search(name):
                    continue
                if name not in a.variables or name not in b.variables:
                    differ.append(name)
                    continue
                x, y = a[name].values, b[name].values
                same = x.shape == y.shape and (np.array_equal(x, y, equal_nan=True) if x.dtype.kind in "fc"
                                               else np.array_equal(x, y))
                if not same:
                    differ.append(name)
            out[kept_path.stem] = differ
    return out
