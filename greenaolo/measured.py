"""Measured inputs shipped with the package: grid carbon, prices, weather, latency, GPU energy and LLM demand.

Every table comes from ``greenaolo/data/`` (made by ``scripts/measured_data.py`` from public sources; the
data README there gives each source, commit, licence and citation, and ``docs/measured.md`` every
assumption made on top). The loaders return the measurements in the package's units and say what they
changed: a filled gap is flagged, a converted price states its rate. Nothing here is specific to one paper:
the Green-LLM measured scenario (:mod:`greenaolo.greenllm.measured`) and AOLO's measured configurations
both read these functions.

Times are UTC hours (start of the hour). Gaps (``docs/measured.md#gaps``) are filled zone by zone with
:func:`fill_gaps`: linear in time between the nearest observed hours, held past either end.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
import zoneinfo
from importlib import resources

import numpy as np
import pandas as pd

__all__ = [
    "YEARS",
    "carbon_intensity",
    "energy_config",
    "energy_configs",
    "fill_gaps",
    "fx_to_usd",
    "hour_of_day_profile",
    "latency_matrix",
    "latency_ms",
    "parse_day",
    "prices_usd",
    "regions",
    "request_types",
    "standard_utc_offset",
    "weather",
    "wet_bulb_stull",
    "wue_li",
]

DATA = "greenaolo.data"
#: The UTC years with carbon, prices and weather.
YEARS = (2023, 2024)
HOURS = 24


def _open(name: str):
    return resources.files(DATA).joinpath(name).open("rb")


def parse_day(day: str | dt.date, years: tuple[int, ...] = YEARS) -> dt.date:
    """A UTC day from ``YYYY-MM-DD`` (or a date) within ``years``, with a one-line error otherwise.

    :raises ValueError: a malformed date, or one outside the data's years.
    """
    if isinstance(day, dt.datetime):
        day = day.date()
    if not isinstance(day, dt.date):
        text = str(day).strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):  # fromisoformat also takes 20240715, 2024-W29-1
                raise ValueError
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"date {text!r} is not a valid date: expected YYYY-MM-DD, e.g. {years[-1]}-07-15") from None
    if day.year not in years:
        span = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
        raise ValueError(f"date {day.isoformat()} is outside the data: expected a day of {span} "
                         f"({years[0]}-01-01 to {years[-1]}-12-31)")
    return day


def year_hours(year: int) -> pd.DatetimeIndex:
    """Every UTC hour of ``year``."""
    return pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="h", inclusive="left")


def fill_gaps(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fill NaN hours along the last axis (time) zone by zone: linearly between the nearest observed hours
    before and after (a lone gap gets its neighbours' mean), holding the nearest observation past either end.

    :param values: (zone, hour) with NaN where missing; each zone must have an observation.
    :returns: the filled values and the boolean mask of the hours that were filled.
    """
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    filled = values.copy()
    hours = np.arange(values.shape[-1])
    for zone in np.flatnonzero(missing.any(axis=-1)):
        seen = ~missing[zone]
        if not seen.any():
            raise ValueError(f"zone {zone} has no observed hour to fill its gaps from")
        filled[zone, ~seen] = np.interp(hours[~seen], hours[seen], values[zone, seen])
    return filled, missing


def _check_year(year: int) -> int:
    if year not in YEARS:
        raise ValueError(f"year={year!r} is outside the data: expected one of {YEARS}")
    return int(year)


# ------------------------------------------------------------------------------------------------------
# Places.

@functools.lru_cache(maxsize=1)
def regions() -> pd.DataFrame:
    """The 16 zones with hourly carbon intensity, indexed by zone: location, country, Electricity Maps zone,
    the coordinates of the weather cell's requested point (``lat``, ``lon``, degrees), the IANA time zone and
    the matching label in the latency matrix (empty where no Google Cloud region is in the same metro)."""
    with _open("regions.csv") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    table = table.rename(columns={"weather_lat_requested": "lat", "weather_lon_requested": "lon",
                                  "weather_source_timezone": "timezone",
                                  "latency_matrix_label_by_location": "latency_label"})
    table[["lat", "lon"]] = table[["lat", "lon"]].astype(float)
    return table.set_index("zone")


def standard_utc_offset(zone: str) -> float:
    """The zone's standard (winter) offset from UTC in hours: the smaller of its January and July offsets, so
    daylight saving time is ignored (``docs/measured.md#local-time``)."""
    tz = zoneinfo.ZoneInfo(regions().loc[zone, "timezone"])
    offsets = [dt.datetime(2024, month, 15, 12, tzinfo=tz).utcoffset().total_seconds() / 3600 for month in (1, 7)]
    return min(offsets)


# ------------------------------------------------------------------------------------------------------
# Hourly series: carbon, prices, weather.

def _wide(name: str) -> pd.DataFrame:
    with _open(name) as fh:
        table = pd.read_csv(fh, compression="gzip")
    table.index = pd.DatetimeIndex(pd.to_datetime(table.pop("datetime_utc")))
    return table


@functools.lru_cache(maxsize=len(YEARS))
def carbon_intensity(year: int) -> pd.DataFrame:
    """Electricity Maps' hourly life-cycle carbon intensity (gCO2eq/kWh) of every zone, (UTC hour, zone).

    Complete in both years (no gap).
    """
    table = _wide(f"carbon_lca_{_check_year(year)}.csv.gz")
    if not table.index.equals(year_hours(year)) or table.isna().any().any():
        raise RuntimeError(f"carbon_lca_{year}.csv.gz is not every hour of {year} with a value for every zone")
    return table


@functools.lru_cache(maxsize=1)
def price_markets() -> pd.DataFrame:
    """What each price series is (product, node, currency, source time basis, confidence, caveats), by zone."""
    with _open("price_markets.csv") as fh:
        return pd.read_csv(fh, dtype=str, keep_default_na=False).set_index("region")


#: docs/measured.md#prices: US dollars per unit of each currency, the 2023 annual averages of the US Federal
#: Reserve's G.5A release (1 February 2024; "currency units per U.S. dollar" inverted where it quotes them so),
#: used for both years (2024's averages were not at hand). The Chilean peso is not in G.5A: its rate is the
#: data compilers' (green-dcc, "extracted from oanda.com on 2025-03-27").
FX_TO_USD = {
    "USD": 1.0, "EUR": 1.0817, "AUD": 0.6644, "BRL": 1 / 4.9946, "CAD": 1 / 1.3494, "INR": 1 / 82.5708,
    "JPY": 1 / 140.5001, "KRW": 1 / 1306.7637, "SGD": 1 / 1.3428, "ZAR": 1 / 18.4535, "CLP": 0.00108,
}
FX_SOURCE = ("US Federal Reserve G.5A, 2023 annual averages (release of 2024-02-01), for both years; CLP: "
             "green-dcc's rate from oanda.com, 2025-03-27")


def fx_to_usd() -> dict[str, float]:
    """USD per unit of each price currency (:data:`FX_TO_USD`, :data:`FX_SOURCE`)."""
    return dict(FX_TO_USD)


def _hourly(table: pd.DataFrame, year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``table`` on every UTC hour of ``year`` (rows at hh:30, India's, go to the hour they start in), gaps
    filled by :func:`fill_gaps`; and the mask of filled hours."""
    table = table.copy()
    table.index = table.index.floor("h")
    table = table.groupby(level=0).first()  # IN-WE's hh:30 rows and the other zones' hh:00 rows merge
    table = table.reindex(year_hours(year))
    filled, missing = fill_gaps(table.to_numpy(float).T)
    return (pd.DataFrame(filled.T, index=table.index, columns=table.columns),
            pd.DataFrame(missing.T, index=table.index, columns=table.columns))


@functools.lru_cache(maxsize=len(YEARS))
def _prices(year: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return _hourly(_wide(f"prices_{_check_year(year)}.csv.gz"), year)


def prices_usd(year: int, fx: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly electricity prices in USD/kWh, (UTC hour, zone), gaps filled; and the mask of filled hours.

    A price is the source's local-currency price per MWh times the currency's rate (``fx``, default
    :func:`fx_to_usd`) / 1000. Negative prices are kept (the scenario decides what to do with them).

    :param fx: USD per unit of currency, e.g. ``{"EUR": 1.08}``; currencies not given keep the default.
    :raises ValueError: a rate that is not a positive finite number.
    """
    rates = fx_to_usd()
    for currency, rate in (fx or {}).items():
        if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"fx[{currency!r}]={rate!r} is out of range: expected a positive number of USD per "
                             f"{currency}")
        rates[currency] = float(rate)
    values, filled = _prices(year)
    currency = price_markets().loc[list(values.columns), "currency"]
    factor = np.array([rates.get(c, math.nan) for c in currency]) / 1000.0
    return values * factor, filled


@functools.lru_cache(maxsize=len(YEARS))
def weather(year: int) -> dict[str, pd.DataFrame]:
    """Hourly 2 m air temperature (``temperature``, degC) and relative humidity (``humidity``, %) per zone,
    (UTC hour, zone), gaps filled (the last hours of 2024 in eight zones, ``docs/measured.md#gaps``); and
    ``filled``, the mask of filled hours."""
    with _open(f"weather_{_check_year(year)}.csv.gz") as fh:
        long = pd.read_csv(fh, compression="gzip")
    long["datetime_utc"] = pd.to_datetime(long["datetime_utc"])
    out, filled = {}, []
    for name, column in (("temperature", "temperature_2m_c"), ("humidity", "relative_humidity_2m_pct")):
        out[name], mask = _hourly(long.pivot(index="datetime_utc", columns="zone", values=column), year)
        filled.append(mask)
    out["filled"] = filled[0] | filled[1]
    return out


# ------------------------------------------------------------------------------------------------------
# Water: wet-bulb temperature and on-site water usage effectiveness.

def wet_bulb_stull(temperature: np.ndarray, humidity: np.ndarray) -> np.ndarray:
    """Wet-bulb temperature (degC) from air temperature T (degC) and relative humidity RH (%) at sea-level
    pressure, R. Stull, "Wet-Bulb Temperature from Relative Humidity and Air Temperature", J. Appl. Meteor.
    Climatol. 50 (2011) 2267-2269, eq. 1 (``docs/measured.md#water``)::

        T_w = T atan(0.151977 (RH + 8.313659)^(1/2)) + atan(T + RH) - atan(RH - 1.676331)
              + 0.00391838 RH^(3/2) atan(0.023101 RH) - 4.686035
    """
    t, rh = np.asarray(temperature, float), np.asarray(humidity, float)
    return (t * np.arctan(0.151977 * np.sqrt(rh + 8.313659)) + np.arctan(t + rh) - np.arctan(rh - 1.676331)
            + 0.00391838 * rh ** 1.5 * np.arctan(0.023101 * rh) - 4.686035)


#: Cycles of concentration of the cooling tower and the floor of the on-site WUE in Li et al.'s code.
WUE_CYCLES = 6.0
WUE_FLOOR = 0.05


def wue_li(wet_bulb: np.ndarray, cycles: float = WUE_CYCLES) -> np.ndarray:
    """On-site water usage effectiveness (L/kWh) of a cooling-tower data centre at wet-bulb temperature
    ``wet_bulb`` (degC): the model of P. Li, J. Yang, M. A. Islam and S. Ren, "Making AI Less Thirsty"
    (arXiv:2304.03271) as their code computes it (``Ren-Research/Making-AI-Less-Thirsty``,
    ``utils/dataloader.py``, ``load_direct_WUE``; ``docs/measured.md#water``), with T_w in degF::

        WUE = S / (S - 1) (6e-5 T_w^3 - 0.01 T_w^2 + 0.61 T_w - 10.4),  at least 0.05 L/kWh

    :param cycles: the cycles of concentration S (their default 6).
    """
    tw = np.asarray(wet_bulb, float) * 9 / 5 + 32
    wue = cycles / (cycles - 1) * (6e-5 * tw ** 3 - 0.01 * tw ** 2 + 0.61 * tw - 10.4)
    return np.maximum(wue, WUE_FLOOR)


# ------------------------------------------------------------------------------------------------------
# Network latency between cloud regions.

def _haversine_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(v, float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


@functools.lru_cache(maxsize=1)
def latency_matrix() -> pd.DataFrame:
    """The measured round-trip times (ms) between the matrix's 34 Google Cloud regions, indexed by region
    name (``us-east4``, ...): row = from, column = to. (The source labels rows by grid zone, one label twice:
    ``US-MIDA-PJM`` is both us-east4 and us-east5; region names are unique.)"""
    with _open("gcp_regions.csv") as fh:
        names = pd.read_csv(fh).sort_values("matrix_position")["gcp_region"].tolist()
    with _open("gcp_latency_matrix.csv") as fh:
        table = pd.read_csv(fh).drop(columns="origin")
    return pd.DataFrame(table.to_numpy(float), index=names, columns=names)


def _gcp_region(label: str) -> str:
    """The Google Cloud region a ``regions.csv`` latency label names in its parenthesis
    (``"US-MIDA-PJM, first of the two rows (us-east4, Ashburn VA)"`` -> ``us-east4``)."""
    return label.split("(", 1)[1].split(",", 1)[0].strip()


def latency_ms(zones: list[str] | tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame, tuple[float, float]]:
    """Round-trip times (ms) between the zones' cloud regions: measured where both zones have a Google Cloud
    region in the matrix, else estimated from the great-circle distance between the zones' points by the
    straight line fitted to every measured pair among the 16 zones (``docs/measured.md#delay``).

    :returns: the matrix (from zone, to zone), the mask of estimated entries, and the fit (intercept ms,
        slope ms per km).
    """
    table = regions()
    unknown = sorted(set(zones) - set(table.index))
    if unknown:
        raise ValueError(f"zones {unknown} have no data: expected zones among {sorted(table.index)}")
    matrix = latency_matrix()
    region = {z: _gcp_region(table.loc[z, "latency_label"]) for z in table.index if table.loc[z, "latency_label"]}
    def km(a: str, b: str) -> float:
        return float(_haversine_km(table.loc[a, "lat"], table.loc[a, "lon"], table.loc[b, "lat"], table.loc[b, "lon"]))

    pairs = [(a, b) for a in region for b in region if a != b]
    distances = np.array([km(a, b) for a, b in pairs])
    measured = np.array([matrix.loc[region[a], region[b]] for a, b in pairs])
    slope, intercept = np.polyfit(distances, measured, 1)
    n = len(zones)
    out, estimated = np.empty((n, n)), np.zeros((n, n), bool)
    diagonal = float(np.diag(matrix)[0])  # the source sets every region's latency to itself to 5 ms
    for i, a in enumerate(zones):
        for j, b in enumerate(zones):
            if a == b:
                out[i, j] = diagonal
            elif a in region and b in region:
                out[i, j] = matrix.loc[region[a], region[b]]
            else:
                out[i, j], estimated[i, j] = intercept + slope * km(a, b), True
    return (pd.DataFrame(out, index=list(zones), columns=list(zones)),
            pd.DataFrame(estimated, index=list(zones), columns=list(zones)), (float(intercept), float(slope)))


# ------------------------------------------------------------------------------------------------------
# GPU energy of LLM inference (ML.ENERGY Benchmark v3).

@functools.lru_cache(maxsize=1)
def energy_configs() -> pd.DataFrame:
    """Every measured LLM configuration of the ML.ENERGY Benchmark v3: model, task, GPU, GPUs, batch, GPU
    energy per output token (J), average GPU power summed over the GPUs (W), output throughput (tokens/s),
    inter-token latencies (ms), mean output length (tokens). GPU energy only: host and cooling are not in it."""
    with _open("mlenergy_v3_llm_configs.csv.gz") as fh:
        return pd.read_csv(fh, compression="gzip")


def energy_config(model: str, gpu: str = "H100", batch: int | None = None, task: str = "lm-arena-chat") -> pd.Series:
    """One measured configuration: ``model`` (its nickname or Hugging Face id) on ``gpu`` for ``task``, on the
    fewest GPUs measured, at maximum batch size ``batch`` (``None``: the batch with the lowest energy per
    token, the steady state of a busy server; ``docs/measured.md#energy``).

    :raises ValueError: naming what exists when the model, GPU, task or batch was not measured.
    """
    table = energy_configs()
    rows = table[(table.task == task)]
    if rows.empty:
        raise ValueError(f"task={task!r} was not measured: expected one of {sorted(table.task.unique())}")
    chosen = rows[(rows.nickname == model) | (rows.model_id == model)]
    if chosen.empty:
        raise ValueError(f"model={model!r} was not measured for {task}: expected one of {sorted(rows.nickname.unique())}")
    on_gpu = chosen[chosen.gpu_model == gpu]
    if on_gpu.empty:
        raise ValueError(f"gpu={gpu!r}: {model} was measured on {sorted(chosen.gpu_model.unique())} only")
    on_gpu = on_gpu[on_gpu.num_gpus == on_gpu.num_gpus.min()]
    if batch is None:
        return on_gpu.loc[on_gpu.energy_per_token_joules.idxmin()]
    at = on_gpu[on_gpu.max_num_seqs == batch]
    if at.empty:
        raise ValueError(f"batch={batch!r}: {model} on {gpu} was measured at maximum batch sizes "
                         f"{sorted(int(b) for b in on_gpu.max_num_seqs.unique())}")
    return at.iloc[0]


# ------------------------------------------------------------------------------------------------------
# Demand: the hour-of-day profile of a production LLM service, and request sizes.

#: ServeGen's model classes (Alibaba Cloud Model Studio, anonymised), and ``all`` for their sum.
DEMAND_CLASSES = ("m-large", "m-mid", "m-small", "all")


def hour_of_day_profile(model_class: str = "all") -> np.ndarray:
    """Mean request rate (req/s) per hour of the day (0-23, the service's local hours) of ServeGen's 14 days:
    one model class, or ``all`` three summed (``docs/measured.md#demand``)."""
    if model_class not in DEMAND_CLASSES:
        raise ValueError(f"model_class={model_class!r} is unknown: expected one of {DEMAND_CLASSES}")
    with _open("servegen_language_rate_hour_of_day.csv") as fh:
        table = pd.read_csv(fh)
    if model_class != "all":
        table = table[table.model_class == model_class]
    return table.groupby("hour_of_day")["mean_total_rate_req_per_s"].sum().reindex(range(HOURS)).to_numpy(float)


@functools.lru_cache(maxsize=1)
def request_types() -> pd.DataFrame:
    """Request types of Azure's LLM inference trace (2023): ``code`` and ``conversation``, with the number of
    requests in the trace, their share, and the mean prompt (``input_tokens``) and answer
    (``output_tokens``) lengths in tokens."""
    rows = {}
    for name, file in (("code", "AzureLLMInferenceTrace_code.csv.gz"), ("conversation", "AzureLLMInferenceTrace_conv.csv.gz")):
        with _open(file) as fh:
            trace = pd.read_csv(fh, compression="gzip")
        rows[name] = {"requests": len(trace), "input_tokens": float(trace["ContextTokens"].mean()),
                      "output_tokens": float(trace["GeneratedTokens"].mean())}
    table = pd.DataFrame(rows).T
    table["requests"] = table["requests"].astype(int)
    table["share"] = table["requests"] / table["requests"].sum()
    return table
