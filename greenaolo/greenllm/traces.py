"""Real traces in: CSV files of prices, carbon intensity, renewables and demand -> a scenario Dataset.

Each file is long-format CSV with a header; keys name the scenario's coordinates, hours are 0..T-1:

========================  =======================  ==============================
file (keyword)            key columns              value column (unit)
========================  =======================  ==============================
``prices``                ``dc``, ``hour``         ``price`` ($/kWh)
``carbon_intensity``      ``dc``, ``hour``         ``carbon_intensity`` (kgCO2/kWh)
``renewables``            ``dc``, ``hour``         ``renewable`` (kWh per hour)
``demand``                ``area``, ``query``,     ``demand`` (queries per hour)
                          ``hour``
========================  =======================  ==============================

The traces replace the matching variables of a base scenario (by default the paper instance, whose DCs
``us-central1`` ... ``us-west4``, areas and query types the keys must name); everything else is kept. A bad
file (missing column or hour, unknown key, duplicate row, non-numeric or negative value) raises
:class:`CSVError` naming the file, the column and the row (its line number in the file).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from greenaolo.greenllm.scenario import SCHEMA, paper_scenario, validate_scenario

__all__ = ["TRACES", "CSVError", "ImplausibleTraceWarning", "load_csv_scenario", "read_trace"]

#: keyword -> (scenario variable, key columns, value column)
TRACES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "prices": ("price", ("dc", "hour"), "price"),
    "carbon_intensity": ("carbon_intensity", ("dc", "hour"), "carbon_intensity"),
    "renewables": ("renewable", ("dc", "hour"), "renewable"),
    "demand": ("demand", ("area", "query", "hour"), "demand"),
}


class CSVError(ValueError):
    """A trace file is malformed; the message names the file, the column and the row."""


class ImplausibleTraceWarning(UserWarning):
    """A trace's values are far outside what its unit makes plausible (e.g. $/MWh read as $/kWh)."""


#: Wholesale and retail electricity rarely exceeds a few $/kWh even in price spikes; 10 $/kWh read as
#: $/kWh is almost certainly a $/MWh column.
MAX_PLAUSIBLE_PRICE = 10.0
#: Values no trace can mean, refused (the LP's numbers would break the solver, or the file has another unit):
#: queries per hour per area and type, kgCO2/kWh, kWh per hour per DC, $/kWh.
HARD_LIMITS = {"demand": (1e9, "queries per hour"), "carbon_intensity": (10.0, "kgCO2/kWh"),
               "renewables": (1e9, "kWh per hour"), "prices": (1e4, "$/kWh")}


def _line(index: int) -> int:
    return int(index) + 2  # header is line 1


def read_trace(path: str | os.PathLike, kind: str, base: xr.Dataset) -> xr.DataArray:
    """Read one trace file into a DataArray on the base scenario's coordinates (``hour`` -> ``time``).

    :param kind: one of :data:`TRACES`.
    :raises CSVError: for any malformed content (file, column and row named).
    """
    if kind not in TRACES:
        raise ValueError(f"trace kind {kind!r} is unknown: expected one of {sorted(TRACES)}")
    name, keys, value = TRACES[kind]
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CSVError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise CSVError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise CSVError(f"{path}: not a UTF-8 text file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CSVError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise CSVError(f"{path}: cannot be read ({exc.strerror})") from None
    for column in (*keys, value):
        if column not in table.columns:
            raise CSVError(f"{path}: column {column!r} is missing (found {list(table.columns)})")
    n_time = base.sizes["time"]
    hours = pd.to_numeric(table["hour"], errors="coerce")
    bad = ~hours.isin(range(n_time))
    if bad.any():
        row = bad.idxmax()
        raise CSVError(
            f"{path}: column 'hour', row {_line(row)}: {table['hour'][row]!r} is not an hour in 0..{n_time - 1}"
        )
    table["hour"] = hours.astype(int)
    for key in keys[:-1]:
        known = [str(v) for v in base[key].values]
        unknown = ~table[key].isin(known)
        if unknown.any():
            row = unknown.idxmax()
            raise CSVError(
                f"{path}: column {key!r}, row {_line(row)}: unknown {key} {table[key][row]!r}; known: {', '.join(known)}"
            )
    values = pd.to_numeric(table[value], errors="coerce")
    nonnumeric = values.isna() | ~np.isfinite(values)
    if nonnumeric.any():
        row = nonnumeric.idxmax()
        raise CSVError(f"{path}: column {value!r}, row {_line(row)}: {table[value][row]!r} is not a finite number")
    negative = values < 0
    if negative.any():
        row = negative.idxmax()
        raise CSVError(f"{path}: column {value!r}, row {_line(row)}: {float(values[row])!r} is negative; valid range is >= 0")
    duplicated = table.duplicated(list(keys))
    if duplicated.any():
        row = duplicated.idxmax()
        raise CSVError(f"{path}: columns {list(keys)}, row {_line(row)}: duplicate of an earlier row")
    table[value] = values
    series = table.set_index(list(keys))[value]
    full = pd.MultiIndex.from_product([[str(v) for v in base[k].values] for k in keys[:-1]] + [range(n_time)], names=keys)
    missing = full.difference(series.index)
    if len(missing):
        first = dict(zip(keys, missing[0]))
        raise CSVError(
            f"{path}: column 'hour': {len(missing)} rows missing, first {first} (every hour 0..{n_time - 1} is needed)"
        )
    array = series.reindex(full).to_numpy().reshape([base.sizes[k] for k in keys[:-1]] + [n_time])
    dims = tuple("time" if k == "hour" else k for k in keys)
    da = xr.DataArray(array, dims=dims, coords={d: base[d] for d in dims}).transpose(*SCHEMA[name][0])
    return da.assign_attrs(base[name].attrs, source=str(path))


def load_csv_scenario(base: xr.Dataset | None = None, **files: str | os.PathLike) -> xr.Dataset:
    """A scenario whose prices, carbon intensity, renewables and/or demand come from CSV files.

    :param base: the scenario to take every other variable from (default: :func:`paper_scenario`).
    :param files: any of ``prices=``, ``carbon_intensity=``, ``renewables=``, ``demand=`` (paths).
    :raises CSVError: a file is malformed (file, column and row named).
    """
    unknown = set(files) - set(TRACES)
    if unknown:
        raise ValueError(f"unknown trace keywords {sorted(unknown)}: expected any of {sorted(TRACES)}")
    ds = (base if base is not None else paper_scenario()).copy()
    for kind, path in files.items():
        da = read_trace(path, kind, ds)
        limit, unit = HARD_LIMITS[kind]
        if float(da.max()) > limit:
            raise CSVError(f"{path}: {TRACES[kind][2]} up to {float(da.max()):.4g} {unit}, above the {limit:g} no "
                           f"{kind} trace can mean: check the file's unit")
        ds[TRACES[kind][0]] = (da.dims, da.values, da.attrs)
        if kind == "prices" and float(da.max()) > MAX_PLAUSIBLE_PRICE:
            warnings.warn(ImplausibleTraceWarning(
                f"{path}: prices up to {float(da.max()):.4g} $/kWh; the column is read as $/kWh, and values "
                f"above {MAX_PLAUSIBLE_PRICE} look like $/MWh (divide by 1000)"), stacklevel=2)
    ds.attrs["source"] = f"{ds.attrs.get('source', 'scenario')}; traces from " + ", ".join(
        f"{k}={Path(p).name}" for k, p in files.items()
    )
    return validate_scenario(ds)
