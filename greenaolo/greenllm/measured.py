"""The measured Green-LLM scenario: the paper's model on public measurements of one UTC day of 2023 or 2024.

Where the paper instance (:func:`~greenaolo.greenllm.scenario.paper_scenario`) draws its inputs at random,
this scenario reads them from :mod:`greenaolo.measured` (``docs/measured.md`` gives every source and
assumption, and the switch for each):

* data centres in the zones with hourly carbon intensity, prices and weather and a Google Cloud region
  (:data:`DEFAULT_ZONES`), one user area at each DC's metro;
* demand: ServeGen's hour-of-day request profile read in each area's local (standard) time, split
  between areas by ``area_weights`` (equal by default); two query types, Azure's ``code`` and
  ``conversation`` requests, with their measured shares and prompt and answer lengths;
* energy: the ML.ENERGY Benchmark's GPU energy per output token of one model on one GPU (prompt work
  included in it by the benchmark), times a facility PUE; GPU time per token from its throughput, the
  processing delay per token its median inter-token latency;
* the grid: Electricity Maps' life-cycle carbon intensity, market prices in USD (negative prices floored
  at zero), a uniform carbon price; no on-site renewables (none is measured);
* water: on-site WUE from the wet-bulb temperature (Stull's formula on the hourly temperature and
  humidity, then Li et al.'s cooling-tower model); no off-site water unless ``ewif`` is given;
* delay: measured round-trip times between the cloud regions (estimated from distance for pairs without a
  measurement). The paper's aggregate delay (``docs/greenllm.md#a5``) is not priced by default
  (``delay_penalty=0``): each plan's per-query latency is reported instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from greenaolo import measured
from greenaolo.checks import number
from greenaolo.greenllm.scenario import J_PER_KWH, RESOURCES, scenario_from_arrays

__all__ = ["DEFAULT_ZONES", "MeasuredError", "measured_inputs", "measured_scenario"]

#: Zones whose carbon, price (market, medium or high confidence) and weather are shipped for both years and
#: whose metro has a Google Cloud region with measured latencies, plus New York (estimated latencies).
DEFAULT_ZONES = ("AU-NSW", "AU-VIC", "BR-SP", "CA-ON", "IN-WE", "JP-TK", "KR", "SG", "US-CAL-CISO",
                 "US-MIDA-PJM", "US-NY-NYIS", "US-TEX-ERCO")
#: The only zones a DC may be in: those with a shipped price series (DE-LU's and GB's are EPEX SPOT's).
PRICED_ZONES = DEFAULT_ZONES + ("ZA", "CL-SIC")
DEFAULT_LLM = "Llama 3.1 8B Instruct"
#: Google's fleet-wide trailing-twelve-month PUE for 2023 (``docs/measured.md#energy``).
DEFAULT_PUE = 1.10
#: USD per tonne of CO2: the paper's base carbon price, here the same in every zone.
DEFAULT_CARBON_PRICE = 50.0
#: Each DC's GPU capacity: this many times the peak hourly GPU time its own area needs.
DEFAULT_CAPACITY_FACTOR = 2.0
#: Not measured (``docs/measured.md#delay``): kbyte per token of text and Mbit/s between area and DC.
DATA_PER_TOKEN_KB = 0.004
BANDWIDTH_MBPS = 1000.0
#: Caps that never bind: the measured scenario has no water budget and no aggregate delay cap by default.
UNBOUNDED = 1e15


class MeasuredError(ValueError):
    """A measured-scenario option is out of range or asks for data that is not shipped."""


def _zones(zones: Sequence[str], year: int) -> tuple[str, ...]:
    zones = tuple(zones)
    if len(zones) < 1 or len(set(zones)) != len(zones):
        raise MeasuredError(f"zones={list(zones)!r}: expected at least one zone, each once")
    bad = [z for z in zones if z not in PRICED_ZONES]
    if bad:
        raise MeasuredError(f"zones {bad} have no shipped price series: expected zones among {list(PRICED_ZONES)}")
    if year == 2024 and "CL-SIC" in zones:
        raise MeasuredError("zone CL-SIC has no 2024 prices (its compiler's 2024 file repeats 2023): use a 2023 "
                            "day or leave CL-SIC out")
    return zones


def _profile_at(profile: np.ndarray, local_hours: np.ndarray) -> np.ndarray:
    """The hour-of-day profile at (fractional) local hours, linear and periodic between hour starts."""
    return np.interp(np.asarray(local_hours, float) % 24, np.arange(25), np.append(profile, profile[0]))


def measured_inputs(zones: Sequence[str] = DEFAULT_ZONES, *, llm: str = DEFAULT_LLM, gpu: str = "H100",
                    batch: int | None = None, pue: float = DEFAULT_PUE,
                    requests_per_second: float | None = None, demand_class: str = "all",
                    area_weights: Mapping[str, float] | None = None,
                    capacity_factor: float = DEFAULT_CAPACITY_FACTOR) -> dict[str, object]:
    """What the measured scenario keeps from day to day: the sites, the demand (in UTC hours), the queries,
    the energy, GPU time and delay per token, the capacities and the latencies.

    :param zones: the zones with a DC and a user area (:data:`PRICED_ZONES`).
    :param llm: a model measured by ML.ENERGY (its nickname, e.g. ``"Qwen 3 8B"``, or Hugging Face id).
    :param gpu: ``"H100"`` or ``"B200"``.
    :param batch: the server's maximum batch size; ``None``: the measured batch with the least energy per token.
    :param pue: facility PUE (same at every DC), >= 1.
    :param requests_per_second: the total request rate, averaged over the day; ``None``: ServeGen's own.
    :param demand_class: ServeGen's model class whose profile shapes the demand, or ``"all"``.
    :param area_weights: each zone's share of the requests (any positive numbers; missing zones weigh 1).
    :param capacity_factor: each DC's GPU capacity over the peak hourly GPU time of its own area (>= 1 keeps
        local serving feasible).
    """
    zones = tuple(zones)
    config = measured.energy_config(llm, gpu, batch)
    pue = number("measured_scenario", "pue", pue, 1.0, 3.0, error=MeasuredError)
    capacity_factor = number("measured_scenario", "capacity_factor", capacity_factor, 1.0, 1000.0, error=MeasuredError)
    profile = measured.hour_of_day_profile(demand_class)
    rate = profile.mean() if requests_per_second is None else number(
        "measured_scenario", "requests_per_second", requests_per_second, 1e-6, 1e9, error=MeasuredError)
    weights = {z: 1.0 for z in zones}
    for zone, w in (area_weights or {}).items():
        if zone not in weights:
            raise MeasuredError(f"area_weights names {zone!r}, which is not among the zones {list(zones)}")
        weights[zone] = number("measured_scenario", f"area_weights[{zone!r}]", w, 1e-9, 1e9, error=MeasuredError)
    share = np.array([weights[z] for z in zones]) / sum(weights.values())
    offsets = np.array([measured.standard_utc_offset(z) for z in zones])
    shape = _profile_at(profile, np.arange(24)[None, :] + offsets[:, None]) / profile.mean()  # (area, hour)
    types = measured.request_types()
    demand = (rate * 3600 * share[:, None, None] * types["share"].to_numpy()[None, :, None] * shape[:, None, :])
    output_tokens = types["output_tokens"].to_numpy(float)
    input_tokens = types["input_tokens"].to_numpy(float)
    gpu_seconds_per_output_token = float(config.num_gpus) / float(config.output_throughput_tokens_per_sec)
    # alpha[k, GPU] (h + f) = f x GPU-seconds per output token: the benchmark's time counts prompts in it too.
    alpha = np.zeros((len(types), len(RESOURCES)))
    alpha[:, RESOURCES.index("GPU")] = output_tokens / (input_tokens + output_tokens) * gpu_seconds_per_output_token
    area_gpu_seconds = (demand * (alpha[:, 1] * (input_tokens + output_tokens))[None, :, None]).sum(axis=1)
    capacity = np.ones((len(RESOURCES), len(zones)))
    capacity[RESOURCES.index("GPU")] = capacity_factor * area_gpu_seconds.max(axis=1)
    latency, estimated, fit = measured.latency_ms(zones)
    return {
        "zones": zones, "config": config, "pue": pue, "demand": demand, "query": list(types.index),
        "input_tokens": input_tokens, "output_tokens": output_tokens,
        "token_energy_out": float(config.energy_per_token_joules) / J_PER_KWH,
        "proc_delay": float(config.median_itl_ms) / 1000.0, "resource_per_token": alpha, "capacity": capacity,
        "rtt": latency.to_numpy() / 1000.0, "rtt_estimated": estimated.to_numpy(), "rtt_fit": fit,
        "weights": share, "rate": float(rate), "capacity_factor": capacity_factor,
    }


def measured_scenario(day: str | dt.date, zones: Sequence[str] = DEFAULT_ZONES, *, llm: str = DEFAULT_LLM,
                      gpu: str = "H100", batch: int | None = None, pue: float = DEFAULT_PUE,
                      requests_per_second: float | None = None, demand_class: str = "all",
                      area_weights: Mapping[str, float] | None = None,
                      capacity_factor: float = DEFAULT_CAPACITY_FACTOR,
                      carbon_price: float = DEFAULT_CARBON_PRICE, delay_penalty: float = 0.0,
                      ewif: float = 0.0, water_budget: float | None = None,
                      fx: Mapping[str, float] | None = None) -> xr.Dataset:
    """The Green-LLM scenario of one UTC ``day`` (``YYYY-MM-DD``, 2023 or 2024) on measured inputs.

    Options as :func:`measured_inputs`, and:

    :param carbon_price: USD per tonne of CO2, the same at every DC.
    :param delay_penalty: USD per second of the paper's aggregate delay, every query type (0: not priced).
    :param ewif: off-site water per kWh drawn from the grid (L/kWh); 0: off-site water not counted.
    :param water_budget: the day's water budget Z (L); ``None``: no budget.
    :param fx: USD per unit of a currency, overriding :data:`greenaolo.measured.FX_TO_USD`.
    :returns: a scenario with the variables of every scenario (:data:`~greenaolo.greenllm.scenario.SCHEMA`)
        and, for reading: ``price_filled`` and ``weather_filled`` (hours filled over gaps), ``price_floored``
        (negative prices set to zero), ``wet_bulb`` (degC), ``rtt_estimated``; attributes name every source.
    :raises MeasuredError: a day, zone or option without data, naming what exists.
    """
    try:
        day = measured.parse_day(day)
    except ValueError as err:
        raise MeasuredError(str(err)) from None
    zones = _zones(zones, day.year)
    fixed = measured_inputs(zones, llm=llm, gpu=gpu, batch=batch, pue=pue, requests_per_second=requests_per_second,
                            demand_class=demand_class, area_weights=area_weights, capacity_factor=capacity_factor)
    series = day_series(day, zones, fx=fx)
    carbon_price = number("measured_scenario", "carbon_price", carbon_price, 0.0, 1e5, error=MeasuredError)
    delay_penalty = number("measured_scenario", "delay_penalty", delay_penalty, 0.0, 1e6, error=MeasuredError)
    ewif = number("measured_scenario", "ewif", ewif, 0.0, 100.0, error=MeasuredError)
    budget = UNBOUNDED if water_budget is None else number("measured_scenario", "water_budget", water_budget, 0.0,
                                                           UNBOUNDED, error=MeasuredError)
    n, n_query = len(zones), len(fixed["query"])
    it_peak = (fixed["demand"] * fixed["token_energy_out"] * fixed["output_tokens"][None, :, None]).sum(axis=(0, 1)).max()
    ds = scenario_from_arrays(
        area=list(zones), dc=list(zones), query=fixed["query"], n_time=24,
        demand=fixed["demand"],
        input_tokens=fixed["input_tokens"], output_tokens=fixed["output_tokens"],
        token_energy_in=np.zeros(n_query), token_energy_out=np.full(n_query, fixed["token_energy_out"]),
        pue=np.full(n, fixed["pue"]),
        renewable=np.zeros((n, 24)),
        # Never binding: every DC could draw the whole world's IT peak at its PUE.
        grid_limit=np.full((n, 24), 10 * fixed["pue"] * it_peak * fixed["capacity_factor"]),
        price=series["price"], carbon_intensity=series["carbon_intensity"],
        carbon_tax=np.full(n, carbon_price / 1000.0),
        wue=series["wue"], ewif=np.full((n, 24), ewif), water_budget=budget,
        resource_per_token=fixed["resource_per_token"], capacity=fixed["capacity"],
        data_per_token=np.full((n, n_query, 24), DATA_PER_TOKEN_KB),
        bandwidth=np.full((n, n), BANDWIDTH_MBPS), rtt=fixed["rtt"],
        proc_delay=np.full((n, n_query), fixed["proc_delay"]),
        delay_cap=np.full((n, n_query), UNBOUNDED), delay_penalty=np.full(n_query, delay_penalty),
    )
    for name, (dims, values, units, long_name) in {
        "price_filled": (("dc", "time"), series["price_filled"], "1", "price hour missing in the data, filled"),
        "price_floored": (("dc", "time"), series["price_floored"], "1", "negative price set to zero"),
        "weather_filled": (("dc", "time"), series["weather_filled"], "1", "weather hour missing in the data, filled"),
        "wet_bulb": (("dc", "time"), series["wet_bulb"], "degC", "wet-bulb temperature (Stull 2011)"),
        "rtt_estimated": (("area", "dc"), fixed["rtt_estimated"], "1", "round-trip time estimated from distance"),
        "area_weight": (("area",), fixed["weights"], "1", "the area's share of the requests"),
    }.items():
        ds[name] = (dims, values, {"units": units, "long_name": long_name})
    config = fixed["config"]
    ds = ds.assign_coords(utc_hour=("time", series["hours"]))
    ds.attrs.update(
        source="Green-LLM model on measured inputs (docs/measured.md)", day=day.isoformat(), scenario="measured",
        llm=str(config.nickname), gpu=str(config.gpu_model), num_gpus=int(config.num_gpus),
        max_batch=int(config.max_num_seqs), energy_per_token_j=float(config.energy_per_token_joules),
        requests_per_second=fixed["rate"], demand_class=demand_class, capacity_factor=fixed["capacity_factor"],
        carbon_price_usd_per_t=carbon_price, fx=measured.FX_SOURCE,
        rtt_fit_ms=f"{fixed['rtt_fit'][0]:.3f} + {fixed['rtt_fit'][1]:.6f} km",
        data_sources=("Electricity Maps (electricitymaps.com), 2023 and 2024 hourly carbon intensity data, ODbL v1.0; "
                      "prices compiled by HewlettPackard/green-dcc (MIT) from the market operators; weather data by "
                      "Open-Meteo.com (CC BY 4.0); ML.ENERGY Benchmark v3 (Apache-2.0); ServeGen (Apache-2.0); Azure "
                      "LLM inference trace 2023 (CC-BY-4.0); GCP latency matrix of Sukprasert et al. (Apache-2.0)"),
    )
    return ds


def day_series(day: dt.date, zones: Sequence[str], fx: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """The hourly inputs of one UTC day, (zone, hour): carbon intensity (kg/kWh), price (USD/kWh, negatives
    floored at 0), on-site WUE (L/kWh) and the wet-bulb temperature it comes from, with the masks of filled
    and floored hours."""
    day = measured.parse_day(day)
    window = slice(f"{day.isoformat()} 00:00", f"{day.isoformat()} 23:00")
    zones = list(zones)
    carbon = measured.carbon_intensity(day.year)[zones].loc[window]
    prices, price_filled = measured.prices_usd(day.year, fx=dict(fx) if fx else None)
    prices, price_filled = prices[zones].loc[window], price_filled[zones].loc[window]
    weather = measured.weather(day.year)
    temperature, humidity = weather["temperature"][zones].loc[window], weather["humidity"][zones].loc[window]
    wet_bulb = measured.wet_bulb_stull(temperature.to_numpy().T, humidity.to_numpy().T)
    price = prices.to_numpy().T
    return {
        "hours": carbon.index.to_numpy(), "carbon_intensity": carbon.to_numpy().T / 1000.0,
        "price": np.maximum(price, 0.0), "price_floored": price < 0, "price_filled": price_filled.to_numpy().T,
        "wue": measured.wue_li(wet_bulb), "wet_bulb": wet_bulb,
        "weather_filled": weather["filled"][zones].loc[window].to_numpy().T,
    }
