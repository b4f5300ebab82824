"""A year of hourly grid carbon intensity per Green-LLM data centre, and day-ahead forecasts of it.

Data: Electricity Maps' hourly 2024 life-cycle carbon intensity (gCO2eq/kWh, UTC hours) of the nine zones
the paper maps its DCs to (:data:`~greenaolo.greenllm.regions.ZONE_CODES`, the authors' mapping: Iowa ->
US-MIDW-MISO, ..., N. Virginia -> US-NY-NYIS as their proxy), shipped in ``greenaolo/greenllm/data/`` under
the Open Database License with its attribution (``docs/greenllm_year.md``). The loader returns kgCO2/kWh,
the unit of the scenario's ``carbon_intensity`` theta[j,t].

Gaps (412 hours of US-SE-SEPA, 348 runs, the longest 12 hours; every other zone is complete): the authors
filled their one day by averaging neighbours. :func:`fill_gaps` does the same in time: a missing hour gets
the straight line between the nearest observed hours of the same zone before and after it, so a single
missing hour is the mean of its two neighbours; a gap with no observation after it (only ever at the end of
a forecast's history) holds the last observation. Filled hours are flagged (``filled``).

Forecasts (:func:`forecast`) are made the day before, from data up to the end of the previous UTC day only
(its gaps filled from that history alone, so no value of the day itself leaks in): ``persistence`` repeats
the previous day's same hour, ``mean7`` averages the previous seven days' same hour. A day without that much
history (1 January for persistence, 1-7 January for mean7: the data starts on 2024-01-01) has no forecast.
"""

from __future__ import annotations

import datetime as dt
import functools
from importlib import resources

import numpy as np
import pandas as pd
import xarray as xr

from greenaolo import measured
from greenaolo.greenllm.regions import DC_TABLE, ZONE_CODES

__all__ = [
    "FORECASTS",
    "SETTINGS",
    "YEAR",
    "carbon_intensity",
    "day_intensity",
    "fill_gaps",
    "forecast",
    "parse_day",
    "year_days",
]

YEAR = 2024
YEAR_DATA = "carbon_intensity_2024_lifecycle.csv.gz"
HOURS = 24
#: Day-ahead forecasts and the previous days each needs.
FORECASTS: dict[str, int] = {"persistence": 1, "mean7": 7}
#: Information settings of the year study: the paper's perfect foresight, then the forecasts.
SETTINGS = ("perfect", *FORECASTS)


def parse_day(day: str | dt.date) -> dt.date:
    """A UTC day of 2024 from ``YYYY-MM-DD`` (or a date), with a one-line error otherwise
    (:func:`greenaolo.measured.parse_day` for the data's one year).

    :raises ValueError: a malformed date, or one outside 2024 (the data's year).
    """
    return measured.parse_day(day, years=(YEAR,))


def year_days() -> list[dt.date]:
    """Every day of 2024 (366)."""
    first = dt.date(YEAR, 1, 1)
    return [first + dt.timedelta(days=d) for d in range((dt.date(YEAR + 1, 1, 1) - first).days)]


@functools.lru_cache(maxsize=1)
def _raw_year() -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The shipped hours (UTC) and the raw intensity (dc, hour) in gCO2eq/kWh, NaN where missing."""
    with resources.files("greenaolo.greenllm.data").joinpath(YEAR_DATA).open("rb") as fh:
        table = pd.read_csv(fh, compression="gzip")
    hours = pd.DatetimeIndex(pd.to_datetime(table["datetime_utc"]))
    expected = pd.date_range(f"{YEAR}-01-01", periods=len(year_days()) * HOURS, freq="h")
    if not hours.equals(expected) or list(table.columns[1:]) != list(ZONE_CODES):
        raise RuntimeError(f"{YEAR_DATA} is not every hour of {YEAR} for the zones {ZONE_CODES}")
    values = np.ascontiguousarray(table[list(ZONE_CODES)].to_numpy(float).T)
    values.flags.writeable = False
    return hours, values


fill_gaps = measured.fill_gaps  # one gap filler for every hourly series of the package


@functools.lru_cache(maxsize=1)
def _filled_year() -> tuple[np.ndarray, np.ndarray]:
    filled, missing = fill_gaps(_raw_year()[1])
    filled.flags.writeable = False
    missing.flags.writeable = False
    return filled, missing


def _hour_index(when: dt.date | dt.datetime | str) -> int:
    """Hours since 2024-01-01 00:00 UTC."""
    stamp = pd.Timestamp(when)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return int((stamp - pd.Timestamp(f"{YEAR}-01-01")) / pd.Timedelta(hours=1))


def carbon_intensity(start: str | dt.date | dt.datetime, end: str | dt.date | dt.datetime | None = None) -> xr.Dataset:
    """The hourly life-cycle carbon intensity of each DC for the UTC window ``[start, end)``, gaps filled.

    :param start: first hour (a day means its 00:00 UTC).
    :param end: the hour after the last; ``None`` means one day after ``start``.
    :returns: Dataset on (``dc``, ``time``) with ``carbon_intensity`` (kgCO2/kWh) and ``filled`` (True where
        the source has no value and :func:`fill_gaps` filled it); coordinates ``time`` (UTC), ``carbon_zone_code``.
    :raises ValueError: a window outside 2024 or empty.
    """
    hours, _ = _raw_year()
    first = _hour_index(start)
    last = _hour_index(end) if end is not None else first + HOURS
    if not 0 <= first < last <= len(hours):
        raise ValueError(f"window [{start}, {end}) is outside the data: expected hours within {YEAR} (UTC), "
                         "the end after the start")
    filled, missing = _filled_year()
    coords = {"dc": DC_TABLE["region"].tolist(), "time": ("time", hours[first:last], {"long_name": "start of the hour, UTC"}),
              "carbon_zone_code": ("dc", list(ZONE_CODES))}
    return xr.Dataset(
        {
            "carbon_intensity": (("dc", "time"), filled[:, first:last] / 1000.0,
                                 {"units": "kg/(kW h)", "long_name": "grid life-cycle carbon intensity theta[j,t] (kg CO2 per kWh)"}),
            "filled": (("dc", "time"), missing[:, first:last],
                       {"units": "1", "long_name": "hour missing in the source, filled by fill_gaps"}),
        },
        coords=coords,
        attrs={"source": "Electricity Maps (electricitymaps.com), 2024 hourly carbon intensity data, ODbL v1.0"},
    )


def day_intensity(day: str | dt.date) -> np.ndarray:
    """theta[j,t] (kgCO2/kWh) of one UTC day, (dc, 24), in :data:`~greenaolo.greenllm.regions.DC_TABLE`
    order: the scenario's ``carbon_intensity`` for that day.

    :raises ValueError: a malformed date or one outside 2024 (:func:`parse_day`).
    """
    first = _hour_index(parse_day(day))
    return _filled_year()[0][:, first:first + HOURS] / 1000.0


def day_filled_hours(day: str | dt.date) -> int:
    """How many of the day's (DC, hour) carbon intensities were missing in the data and are interpolated."""
    first = _hour_index(parse_day(day))
    return int(_filled_year()[1][:, first:first + HOURS].sum())


def forecast(day: str | dt.date, method: str, raw: np.ndarray | None = None) -> np.ndarray | None:
    """The day-ahead forecast of theta[j,t] (kgCO2/kWh, (dc, 24)) for ``day``, made from the hours before it.

    :param method: ``"persistence"`` (the previous day's same hour) or ``"mean7"`` (the mean of the previous
        seven days' same hour).
    :param raw: the year's raw values (dc, hour) in gCO2eq/kWh with NaN gaps; default the shipped data (tests
        pass altered copies to show that nothing of the day itself or later is read).
    :returns: the forecast, or ``None`` when the data holds fewer previous days than the method needs.
    """
    if method not in FORECASTS:
        raise ValueError(f"forecast method {method!r} is unknown: expected one of {tuple(FORECASTS)}")
    days = FORECASTS[method]
    first = _hour_index(parse_day(day))
    if first < days * HOURS:
        return None
    history = (_raw_year()[1] if raw is None else np.asarray(raw))[:, :first]
    filled, _ = fill_gaps(history)
    recent = filled[:, first - days * HOURS:].reshape(filled.shape[0], days, HOURS)
    return recent.mean(axis=1) / 1000.0
