"""Green-LLM scenarios as labelled :class:`xarray.Dataset` objects.

The paper instance (:func:`paper_scenario`) rebuilds, draw for draw, the seed-42 generator of the authors'
released notebook (``JJmingcc/Green_LLM``, ``model/Experiment.ipynb`` cell 1), documented in
``docs/greenllm.md#instance``. Its published inputs (the DC table, the RTT matrix and Electricity Maps' hourly
life-cycle carbon intensity, ``docs/greenllm.md#f14``) ship with the package.

Every scenario, whatever its origin (:func:`paper_scenario`, :func:`synthetic_scenario`,
:func:`greenaolo.greenllm.traces.load_csv_scenario`), has the same variables on the dimensions
``area`` (user areas, i), ``dc`` (edge data centres, j), ``query`` (query types, k), ``time`` (hourly
slots, t) and ``resource`` (r), so the model in :mod:`greenaolo.greenllm.model` takes any of them.

Units follow the authors' code (``docs/greenllm.md#symbols``): energy in kWh per slot (a one-hour slot, so kW and
kWh/slot are the same number), prices in $/kWh, carbon intensity in kgCO2/kWh, water in L.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from greenaolo.checks import memory_guard, number
from greenaolo.greenllm.carbon import day_intensity
from greenaolo.greenllm.regions import DC_TABLE, ZONE_CODES

__all__ = [
    "DC_TABLE",
    "QUERY_TABLE",
    "RTT_SECONDS",
    "Scaling",
    "apply_scaling",
    "scenario_from_arrays",
    "paper_scenario",
    "synthetic_scenario",
    "validate_scenario",
]

#: docs/greenllm.md#query-table: query types, average input/output tokens, demand factor, base processing delay
#: (s/token), base delay threshold (s) and delay-penalty multiplier.
QUERY_TABLE = pd.DataFrame(
    [
        ("chat", 80, 100, 2.0, 1e-6, 5.0, 10.0, 0.002),
        ("text summary", 500, 300, 1.8, 1.5e-6, 10.0, 12.0, 0.002),
        ("math solving", 50, 100, 1.5, 2e-5, 15.0, 6.0, 0.0015),
        ("code generation", 40, 500, 1.2, 2e-5, 20.0, 4.0, 0.0015),
        ("image generation", 30, 10, 0.5, 5e-5, 30.0, 1.5, 0.002),
    ],
    columns=[
        "query", "input_tokens", "output_tokens", "type_factor", "base_proc_delay", "base_delay_cap",
        "penalty_multiplier", "gpu_per_token_base",
    ],
)

#: docs/greenllm.md#f17: round-trip times (s) between the nine cities, hourly ping statistics of 24-25 Mar 2025
#: transcribed by the authors. Row/column order as in :data:`DC_TABLE`. The diagonal is redrawn.
RTT_SECONDS = np.array(
    [
        [0.000, 0.039, 0.034, 0.027, 0.026, 0.044, 0.049, 0.035, 0.042],
        [0.039, 0.000, 0.021, 0.032, 0.041, 0.072, 0.068, 0.062, 0.059],
        [0.034, 0.021, 0.000, 0.019, 0.046, 0.065, 0.061, 0.057, 0.055],
        [0.027, 0.032, 0.019, 0.000, 0.035, 0.052, 0.057, 0.045, 0.049],
        [0.026, 0.041, 0.046, 0.035, 0.000, 0.048, 0.037, 0.033, 0.031],
        [0.044, 0.072, 0.065, 0.052, 0.048, 0.000, 0.023, 0.020, 0.027],
        [0.049, 0.068, 0.061, 0.057, 0.037, 0.023, 0.000, 0.018, 0.012],
        [0.035, 0.062, 0.057, 0.045, 0.033, 0.020, 0.018, 0.000, 0.013],
        [0.042, 0.059, 0.055, 0.049, 0.031, 0.027, 0.012, 0.013, 0.000],
    ]
)

RESOURCES = ("CPU", "GPU", "memory")  # the generation code's order (docs/greenllm.md#a11)
HOURS = 24
#: docs/greenllm.md#generator: diurnal demand shape (fraction of peak) per hour.
DEMAND_PATTERN = np.array(
    [0.2, 0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.4, 0.5, 0.7, 0.8, 0.9,
     1.0, 0.95, 0.9, 0.85, 0.8, 0.85, 0.9, 0.85, 0.75, 0.6, 0.5, 0.4]
)
#: The instance's day, 2024-03-24 (the carbon data's date), is a Sunday, so the generator's
#: weekday boost (x1.2 for hours 9-16) is off: then the demand totals 692,248 queries (docs/greenllm.md#instance).
PAPER_DAY_IS_WEEKDAY = False
CARBON_PRICE_PER_TONNE = 50.0  # $/tCO2, times the DC's tax factor (docs/greenllm.md#generator)
J_PER_KWH = 3.6e6
#: The UTC day whose carbon intensity the paper instance uses (``docs/greenllm.md#a13``).
PAPER_DAY = "2024-03-24"


class ScalingError(ValueError):
    """A scaling factor is out of range."""


#: The largest scaling factor accepted: 1,000 times the paper's value keeps every coefficient finite and
#: is far beyond any meaningful sensitivity study.
MAX_SCALING = 1000.0


@dataclass(frozen=True)
class Scaling:
    """Scaling factors Psi of the sensitivity studies, applied after generation (``docs/greenllm.md#scaling``).

    :param theta: Psi_theta, multiplies the grid carbon intensity theta[j,t].
    :param pw: Psi_Pw, multiplies the on-site renewable generation P^w[j,t].
    :param tau: Psi_tau, multiplies the energy per input and output token (the captions' "token size",
        ``docs/greenllm.md#a4``).
    :param rho: Psi_rho, multiplies the delay penalty rho[k].
    :param price: multiplies the electricity price c[j,t] (Psi_e).
    :param demand: Psi_lambda, multiplies the demand lambda[i,k,t] (not re-rounded; rho is left as drawn).
    :param water: multiplies the water budget Z.
    """

    theta: float = 1.0
    pw: float = 1.0
    tau: float = 1.0
    rho: float = 1.0
    price: float = 1.0
    demand: float = 1.0
    water: float = 1.0

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = number("", f"psi_{field.name}", getattr(self, field.name), 0.0, MAX_SCALING,
                           error=ScalingError)
            object.__setattr__(self, field.name, value)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def _weekday_factor(hours: np.ndarray, is_weekday: bool) -> np.ndarray:
    """Demand boost (``docs/greenllm.md#generator``): x1.2 during office hours 9-16 on a weekday, 1 otherwise."""
    return np.where(is_weekday & (hours % HOURS >= 9) & (hours % HOURS <= 16), 1.2, 1.0)


def _load_carbon_intensity() -> np.ndarray:
    """theta[j,t] in kgCO2/kWh: Electricity Maps life-cycle intensity of 2024-03-24 / 1000 (``docs/greenllm.md#a13``), taken
    from the package's year of hourly data (:mod:`greenaolo.greenllm.carbon`); bit for bit the authors'
    consolidated day (a test compares it)."""
    return day_intensity(PAPER_DAY)


#: Where the paper instance's round-trip times between DCs come from (:func:`paper_scenario`).
RTT_SOURCES = ("paper", "measured")


def measured_rtt(rtt: np.ndarray) -> np.ndarray:
    """``rtt`` (s) with its off-diagonal entries replaced by the measured round-trip times between the nine
    DCs' Google Cloud regions (Sukprasert et al.'s matrix, ``docs/measured.md#delay``: rows 26-34 are
    us-central1 ... us-west4, :data:`DC_TABLE`'s order); the diagonal (a DC to its own area) stays as given,
    the source's being a fixed 5 ms rather than a measurement."""
    from greenaolo.measured import latency_matrix

    matrix = latency_matrix()
    regions = list(DC_TABLE["region"])
    measured = matrix.loc[regions, regions].to_numpy() / 1000.0
    out = np.asarray(rtt, float).copy()
    off = ~np.eye(len(regions), dtype=bool)
    out[off] = measured[off]
    return out


def paper_scenario(seed: int = 42, scaling: Scaling | None = None, day: str | None = None,
                   rtt: str = "paper") -> xr.Dataset:
    """The paper's instance: 9 areas, 9 DCs, 5 query types, 24 hours, 3 resources (``docs/greenllm.md#sets``).

    Draws come from one legacy :class:`numpy.random.RandomState` in the authors' order (``docs/greenllm.md#draw-order``:
    seed -> demand noise (i, k, t) -> re-seed -> RTT diagonal -> prices (j, t) -> tau_in, tau_out ->
    per DC base renewable capacity and 24 draws -> P^max -> PUE -> C (r, j) -> alpha (k, r) -> z_prev
    -> f_download -> beta (i, k, t) -> B (i, j) -> v (j, k) -> Delta (i, k) -> WUE -> EWIF -> Z), so that
    ``paper_scenario(42)`` is the authors' instance bit for bit. The unscaled instance is generated once per
    seed and process (it depends on nothing else); every call returns its own deep copy.

    :param seed: seed of the generator; 42 is the paper's.
    :param scaling: Psi factors applied after generation (:func:`apply_scaling`); ``None`` means all 1.
    :param day: a UTC day of 2024 (``YYYY-MM-DD``) whose hourly carbon intensity replaces 2024-03-24's
        (:func:`greenaolo.greenllm.carbon.day_intensity`); everything else is the seed's instance (the
        demand keeps the paper day's Sunday shape). ``None`` is the paper's day.
    :param rtt: ``"paper"`` (the authors' transcribed ping times, ``docs/greenllm.md#f17``) or ``"measured"``
        (the measured matrix between the nine regions, :func:`measured_rtt`); every draw is the same either way.
    """
    if rtt not in RTT_SOURCES:
        raise ValueError(f"rtt={rtt!r} is unknown: expected one of {RTT_SOURCES}")
    ds = _paper_instance(int(seed)).copy(deep=True)
    if rtt == "measured":
        ds["rtt"].values[...] = measured_rtt(ds["rtt"].values)
        ds.attrs["rtt"] = "measured: GCP inter-region matrix of Sukprasert et al. (EuroSys 2024), Apache-2.0"
    if day is not None:
        from greenaolo.greenllm.carbon import day_filled_hours, day_intensity, parse_day

        ds["carbon_intensity"].values[...] = day_intensity(day)
        ds.attrs["day"] = parse_day(day).isoformat()
        # How many (DC, hour) values of that day are interpolated over gaps in the data (0 on most days).
        ds.attrs["carbon_intensity_filled_hours"] = day_filled_hours(day)
    return apply_scaling(ds, scaling or Scaling())


@functools.lru_cache(maxsize=8)
def _paper_instance(seed: int) -> xr.Dataset:
    """Generate the unscaled paper instance (see :func:`paper_scenario`)."""
    n_area = n_dc = len(DC_TABLE)
    n_query, n_time = len(QUERY_TABLE), HOURS
    rng = np.random.RandomState(seed)

    # Demand lambda[i,k,t] (docs/greenllm.md#generator): diurnal pattern x weekday, month, noise, area, type.
    pop = DC_TABLE["population_m"].to_numpy()
    area_mult = (0.3 + (pop - pop.min()) / (pop.max() - pop.min())) * DC_TABLE["regional_factor"].to_numpy()
    weekday = _weekday_factor(np.arange(n_time), PAPER_DAY_IS_WEEKDAY)
    demand = np.empty((n_area, n_query, n_time))
    for i in range(n_area):
        for k in range(n_query):
            for t in range(n_time):
                noise = max(0.8, rng.normal(1.0, 0.05))
                y = DEMAND_PATTERN[t] * weekday[t] * 1.1 * noise * area_mult[i] * QUERY_TABLE["type_factor"][k]
                demand[i, k, t] = np.clip(round(500 + (y - 0.5) * 700 / 0.5), 500, 1200)
    delay_penalty = 10000.0 / demand.sum() * QUERY_TABLE["penalty_multiplier"].to_numpy()

    rng = np.random.RandomState(seed)
    rtt = RTT_SECONDS.copy()
    for j in range(n_dc):
        rtt[j, j] = rng.uniform(0.001, 0.009)

    # Synthetic time-of-use prices: peak 14-20 h, shoulder 8-13 h and 21 h, off-peak otherwise.
    price = np.empty((n_dc, n_time))
    for j in range(n_dc):
        for t in range(n_time):
            if 14 <= t <= 20:
                factor = rng.uniform(1.8, 2.0)
            elif 8 <= t <= 13 or t == 21:
                factor = rng.uniform(1.2, 1.4)
            else:
                factor = rng.uniform(0.7, 0.9)
            price[j, t] = DC_TABLE["base_price_cents"][j] / 100 * factor

    token_energy_in = np.array([rng.uniform(20, 40) for _ in range(n_query)]) / J_PER_KWH
    token_energy_out = np.array([rng.uniform(50, 100) for _ in range(n_query)]) / J_PER_KWH

    # On-site renewables: a solar-shaped profile scaled by the region's CFE share, plus noise.
    hours = np.arange(n_time)
    solar = np.where((hours >= 6) & (hours < 18), 1 - np.abs(hours - 12) / 6, 0.0)
    renewable = np.empty((n_dc, n_time))
    for j in range(n_dc):
        base = rng.randint(50, 100)
        cfe = DC_TABLE["cfe"][j]
        for t in range(n_time):
            renewable[j, t] = base * (solar[t] * cfe + rng.uniform(0, 0.5 * cfe))

    grid_limit = rng.randint(4000, 5000, size=(n_dc, n_time)).astype(float)
    pue = np.array([rng.uniform(1.0, 1.4) for _ in range(n_dc)])
    capacity = rng.randint(40000, 50000, size=(len(RESOURCES), n_dc)).astype(float)
    resource_per_token = np.empty((n_query, len(RESOURCES)))
    for k in range(n_query):
        resource_per_token[k, 0] = rng.uniform(0.001, 0.0015)
        gpu = QUERY_TABLE["gpu_per_token_base"][k]
        resource_per_token[k, 1] = rng.uniform(gpu, gpu + 0.0005)
        resource_per_token[k, 2] = rng.uniform(0.01, 0.015)
    rng.randint(0, 2, size=(n_dc, n_query))  # z_prev: drawn, unused by the LP
    rng.uniform(0, 1, size=(n_dc, n_query))  # f_download: drawn, multiplied by 0 in the notebook
    data_per_token = rng.uniform(0.003, 0.005, size=(n_area, n_query, n_time))
    region = DC_TABLE["bandwidth_region"].to_numpy()
    bandwidth = np.empty((n_area, n_dc))
    for i in range(n_area):
        for j in range(n_dc):
            bandwidth[i, j] = max(100.0, 3000 * (1 - 0.1 * abs(i // 5 - region[j])) * rng.uniform(0.7, 1.3))
    proc_delay = np.empty((n_dc, n_query))
    for j in range(n_dc):
        for k in range(n_query):
            proc_delay[j, k] = round(QUERY_TABLE["base_proc_delay"][k] * rng.uniform(0.9, 1.1), 6)
    delay_cap = np.empty((n_area, n_query))
    for i in range(n_area):
        for k in range(n_query):
            delay_cap[i, k] = round(QUERY_TABLE["base_delay_cap"][k] * rng.uniform(1.0, 1.5), 2)
    wue = rng.uniform(0.5, 1.0, size=(n_dc, n_time))
    ewif = rng.uniform(0.1, 0.6, size=(n_dc, n_time))
    water_budget = rng.uniform(5000, 6000)

    ds = scenario_from_arrays(
        area=DC_TABLE["city"].tolist(),
        dc=DC_TABLE["region"].tolist(),
        query=QUERY_TABLE["query"].tolist(),
        n_time=n_time,
        demand=demand,
        input_tokens=QUERY_TABLE["input_tokens"].to_numpy(float),
        output_tokens=QUERY_TABLE["output_tokens"].to_numpy(float),
        token_energy_in=token_energy_in,
        token_energy_out=token_energy_out,
        pue=pue,
        renewable=renewable,
        grid_limit=grid_limit,
        price=price,
        carbon_intensity=_load_carbon_intensity(),
        carbon_tax=CARBON_PRICE_PER_TONNE * DC_TABLE["tax_factor"].to_numpy() / 1000,
        wue=wue,
        ewif=ewif,
        water_budget=water_budget,
        resource_per_token=resource_per_token,
        capacity=capacity,
        data_per_token=data_per_token,
        bandwidth=bandwidth,
        rtt=rtt,
        proc_delay=proc_delay,
        delay_cap=delay_cap,
        delay_penalty=delay_penalty,
    )
    ds = ds.assign_coords(
        dc_location=("dc", DC_TABLE["location"].tolist()),
        carbon_zone=("dc", DC_TABLE["carbon_zone"].tolist()),
        carbon_zone_code=("dc", list(ZONE_CODES)),
    )
    ds["cfe"] = ("dc", DC_TABLE["cfe"].to_numpy(float), {"units": "1", "long_name": "2023 carbon-free energy share"})
    ds["base_price"] = (
        "dc",
        DC_TABLE["base_price_cents"].to_numpy(float) / 100,
        {"units": "USD/(kW h)", "long_name": "base retail electricity price"},
    )
    ds.attrs.update(
        source="Green-LLM (Cheng & Nguyen, arXiv 2507.09942): paper instance, authors' generator (docs/greenllm.md)",
        seed=int(seed),
        day=PAPER_DAY,
    )
    return ds


#: name -> (dims, units, long_name with the paper's symbol). The single source of the scenario's schema.
SCHEMA: dict[str, tuple[tuple[str, ...], str, str]] = {
    "demand": (("area", "query", "time"), "1", "number of queries lambda[i,k,t] in the hourly slot"),
    "input_tokens": (("query",), "1", "average input tokens per query h[k]"),
    "output_tokens": (("query",), "1", "average output tokens per query f[k]"),
    "token_energy_in": (("query",), "kW h", "energy per input token tau_in[k]"),
    "token_energy_out": (("query",), "kW h", "energy per output token tau_out[k]"),
    "pue": (("dc",), "1", "power usage effectiveness PUE[j]"),
    "renewable": (("dc", "time"), "kW h", "on-site renewable generation P_w[j,t] in the hourly slot"),
    "grid_limit": (("dc", "time"), "kW h", "grid import limit P_max[j,t] in the hourly slot"),
    "price": (("dc", "time"), "USD/(kW h)", "electricity price c[j,t]"),
    "carbon_intensity": (("dc", "time"), "kg/(kW h)", "grid carbon intensity theta[j,t] (kg CO2 per kWh)"),
    "carbon_tax": (("dc",), "USD/kg", "carbon tax delta[j] per kg CO2"),
    "wue": (("dc", "time"), "L/(kW h)", "on-site water usage effectiveness WUE[j,t]"),
    "ewif": (("dc", "time"), "L/(kW h)", "off-site energy-water intensity factor EWIF[j,t]"),
    "water_budget": ((), "L", "water budget over the horizon Z"),
    "resource_per_token": (("query", "resource"), "1", "resource use per token alpha[k,r] (units of resource r)"),
    "capacity": (("resource", "dc"), "1", "resource capacity C[r,j] (units of resource r)"),
    "data_per_token": (("area", "query", "time"), "kbyte", "data size per token beta[i,k,t]"),
    "bandwidth": (("area", "dc"), "Mbit/s", "bandwidth B[i,j]"),
    "rtt": (("area", "dc"), "s", "network round-trip delay d[i,j]"),
    "proc_delay": (("dc", "query"), "s", "processing delay per token v[j,k]"),
    "delay_cap": (("area", "query"), "s", "delay threshold Delta[i,k]"),
    "delay_penalty": (("query",), "USD/s", "delay penalty price rho[k]"),
}


def scenario_from_arrays(*, area, dc, query, n_time: int, **values) -> xr.Dataset:
    """Build a scenario from plain arrays, one keyword per :data:`SCHEMA` variable (dims as listed there).

    :param area: names of the user areas (i).
    :param dc: names of the data centres (j).
    :param query: names of the query types (k).
    :param n_time: number of hourly slots (t).
    :param values: every variable of :data:`SCHEMA`, as arrays of its dims.
    :raises ValueError: a variable is missing, unknown or of the wrong shape (then named).
    """
    missing, unknown = set(SCHEMA) - set(values), set(values) - set(SCHEMA)
    if missing or unknown:
        raise ValueError(f"scenario variables missing: {sorted(missing)}; unknown: {sorted(unknown)}")
    sizes = {"area": len(area), "dc": len(dc), "query": len(query), "time": n_time, "resource": len(RESOURCES)}
    for name, (dims, _, _) in SCHEMA.items():
        shape, expected = np.shape(values[name]), tuple(sizes[d] for d in dims)
        if shape != expected:
            raise ValueError(f"scenario variable {name!r} has shape {shape}, expected {expected} for dims {dims}")
    data_vars = {
        name: (dims, np.asarray(values[name], dtype=float), {"units": units, "long_name": long_name})
        for name, (dims, units, long_name) in SCHEMA.items()
    }
    coords = {
        "area": ("area", list(area), {"long_name": "user area i"}),
        "dc": ("dc", list(dc), {"long_name": "edge data centre j"}),
        "query": ("query", list(query), {"long_name": "query type k"}),
        "time": ("time", np.arange(n_time), {"long_name": "hourly slot t: hour of the day, an index (no units)"}),
        "resource": ("resource", list(RESOURCES), {"long_name": "resource type r"}),
    }
    ds = xr.Dataset(data_vars, coords=coords)
    ds.attrs["scaling"] = Scaling().to_json()
    return ds


def apply_scaling(ds: xr.Dataset, scaling: Scaling) -> xr.Dataset:
    """Return ``ds`` with the Psi factors applied to theta, P^w, tau, rho, c, lambda and Z.

    Scaling is relative to the unscaled scenario recorded in ``ds.attrs["scaling"]``, so applying
    :class:`Scaling` twice does not compound: the attribute always states the factors in force.
    """
    previous = Scaling(**json.loads(ds.attrs.get("scaling", Scaling().to_json())))
    out = ds.copy()
    targets = {
        "theta": ("carbon_intensity",),
        "pw": ("renewable",),
        "tau": ("token_energy_in", "token_energy_out"),
        "rho": ("delay_penalty",),
        "price": ("price",),
        "demand": ("demand",),
        "water": ("water_budget",),
    }
    for factor, names in targets.items():
        new, old = getattr(scaling, factor), getattr(previous, factor)
        if new == old:
            continue
        if old == 0:
            raise ValueError(f"cannot rescale psi_{factor}: the scenario was scaled by 0 and its values are lost")
        for name in names:
            out[name] = out[name] * (new / old)
            out[name].attrs.update(ds[name].attrs)
    out.attrs["scaling"] = scaling.to_json()
    return out


#: Lower bounds tighter than >= 0: (bound, strict). PUE is at least 1; bandwidth and tokens divide or count.
LOWER_BOUNDS = {"pue": (1.0, False), "bandwidth": (0.0, True), "input_tokens": (0.0, False),
                "output_tokens": (0.0, False)}


def validate_scenario(ds: xr.Dataset) -> xr.Dataset:
    """Check that ``ds`` has every variable of :data:`SCHEMA` on the right dimensions, finite and >= 0
    (PUE >= 1, bandwidth > 0).

    :raises ValueError: naming the first variable that is missing, mis-shaped, non-finite or out of range.
    """
    for name, (dims, _, long_name) in SCHEMA.items():
        if name not in ds:
            raise ValueError(f"scenario variable {name!r} ({long_name}) is missing")
        if tuple(ds[name].dims) != dims:
            raise ValueError(f"scenario variable {name!r} has dims {ds[name].dims}, expected {dims}")
        values = ds[name].values
        if not np.all(np.isfinite(values)):
            raise ValueError(f"scenario variable {name!r} has non-finite values")
        low, strict = LOWER_BOUNDS.get(name, (0.0, False))
        bad = values <= low if strict else values < low
        if np.any(bad):
            where = np.argwhere(bad)[0]
            raise ValueError(
                f"scenario variable {name!r} is out of range ({float(values[tuple(where)])!r}) at "
                + ", ".join(f"{d}={ds[d].values[w].item()!r}" for d, w in zip(dims, where))
                + f"; valid range is {'>' if strict else '>='} {low:g}"
            )
    return ds


def synthetic_scenario(
    n_area: int, n_dc: int, n_time: int = 24, *, n_query: int = 5, seed: int = 0
) -> xr.Dataset:
    """A larger synthetic instance for scaling studies, drawn with the paper's formulas (``docs/greenllm.md#generator``).

    Areas and DCs reuse the paper's nine cities cyclically (with jittered RTTs), query types the paper's
    five; hours beyond 24 repeat the daily profiles. The generator is a seeded
    :class:`numpy.random.Generator`: deterministic for a seed, but not the paper's draw order.

    :param n_area: number of user areas N (>= 1).
    :param n_dc: number of data centres M (>= 1).
    :param n_time: number of hourly slots T (>= 1).
    :param n_query: number of query types (1..5).
    :param seed: seed of the generator.
    """
    for name, value, low, high in (
        ("n_area", n_area, 1, 10_000), ("n_dc", n_dc, 1, 10_000), ("n_time", n_time, 1, 8_760),
        ("n_query", n_query, 1, len(QUERY_TABLE)),
    ):
        if not isinstance(value, (int, np.integer)) or not low <= value <= high:
            raise ValueError(f"{name}={value!r} is out of range: expected an integer in [{low}, {high}]")
    # float64 arrays over (area, query, time), (area, dc) and (dc, time): a few of each while drawing.
    memory_guard(f"synthetic_scenario({n_area}, {n_dc}, {n_time}, n_query={n_query})",
                 8.0 * (6 * n_area * n_query * n_time + 6 * n_area * n_dc + 8 * n_dc * n_time),
                 "choose fewer areas, DCs or hours")
    rng = np.random.default_rng(seed)
    base = paper_scenario(42)
    qt = QUERY_TABLE.iloc[:n_query]
    a_city = np.arange(n_area) % len(DC_TABLE)
    d_city = np.arange(n_dc) % len(DC_TABLE)
    hour = np.arange(n_time) % HOURS

    pattern = DEMAND_PATTERN[hour] * _weekday_factor(hour, PAPER_DAY_IS_WEEKDAY) * 1.1
    pop = DC_TABLE["population_m"].to_numpy()
    mult = ((0.3 + (pop - pop.min()) / (pop.max() - pop.min())) * DC_TABLE["regional_factor"].to_numpy())[a_city]
    noise = np.maximum(0.8, rng.normal(1.0, 0.05, size=(n_area, n_query, n_time)))
    y = pattern[None, None, :] * noise * mult[:, None, None] * qt["type_factor"].to_numpy()[None, :, None]
    demand = np.clip(np.round(500 + (y - 0.5) * 700 / 0.5), 500, 1200)
    # Keep the paper's total penalty budget per query, so costs stay comparable across sizes.
    delay_penalty = 10000.0 / demand.sum() * (n_area * n_time / (9 * 24)) * qt["penalty_multiplier"].to_numpy()

    phi = np.select(
        [(hour >= 14) & (hour <= 20), ((hour >= 8) & (hour <= 13)) | (hour == 21)], [1.8, 1.2], 0.7
    ) + 0.2 * rng.uniform(size=(n_dc, n_time))
    price = DC_TABLE["base_price_cents"].to_numpy()[d_city, None] / 100 * phi
    solar = np.where((hour >= 6) & (hour < 18), 1 - np.abs(hour - 12) / 6, 0.0)
    cfe = DC_TABLE["cfe"].to_numpy()[d_city]
    renewable = rng.integers(50, 100, size=n_dc)[:, None] * (
        solar[None, :] * cfe[:, None] + 0.5 * cfe[:, None] * rng.uniform(size=(n_dc, n_time))
    )
    rtt = RTT_SECONDS[np.ix_(a_city, d_city)] * rng.uniform(0.9, 1.1, size=(n_area, n_dc))
    rtt = np.where(rtt == 0, rng.uniform(0.001, 0.009, size=rtt.shape), rtt)
    bandwidth = np.maximum(
        100.0,
        3000 * (1 - 0.1 * np.abs((a_city // 5)[:, None] - DC_TABLE["bandwidth_region"].to_numpy()[d_city][None, :]))
        * rng.uniform(0.7, 1.3, size=(n_area, n_dc)),
    )
    # Capacity grows with the load per DC so that the instance stays feasible at any N/M ratio.
    load_ratio = max(1.0, n_area / n_dc)
    gpu = qt["gpu_per_token_base"].to_numpy()
    return scenario_from_arrays(
        area=[f"area{i}" for i in range(n_area)],
        dc=[f"dc{j}" for j in range(n_dc)],
        query=qt["query"].tolist(),
        n_time=n_time,
        demand=demand,
        input_tokens=qt["input_tokens"].to_numpy(float),
        output_tokens=qt["output_tokens"].to_numpy(float),
        token_energy_in=rng.uniform(20, 40, size=n_query) / J_PER_KWH,
        token_energy_out=rng.uniform(50, 100, size=n_query) / J_PER_KWH,
        pue=rng.uniform(1.0, 1.4, size=n_dc),
        renewable=renewable,
        grid_limit=rng.integers(4000, 5000, size=(n_dc, n_time)).astype(float) * load_ratio,
        price=price,
        carbon_intensity=base["carbon_intensity"].values[np.ix_(d_city, hour)],
        carbon_tax=base["carbon_tax"].values[d_city],
        wue=rng.uniform(0.5, 1.0, size=(n_dc, n_time)),
        ewif=rng.uniform(0.1, 0.6, size=(n_dc, n_time)),
        water_budget=rng.uniform(5000, 6000) * n_dc * n_time / (9 * 24) * load_ratio * 1.5,
        resource_per_token=np.stack(
            [rng.uniform(0.001, 0.0015, n_query), rng.uniform(gpu, gpu + 0.0005), rng.uniform(0.01, 0.015, n_query)],
            axis=1,
        ),
        capacity=rng.integers(40000, 50000, size=(len(RESOURCES), n_dc)).astype(float) * load_ratio,
        data_per_token=rng.uniform(0.003, 0.005, size=(n_area, n_query, n_time)),
        bandwidth=bandwidth,
        rtt=rtt,
        proc_delay=np.round(qt["base_proc_delay"].to_numpy()[None, :] * rng.uniform(0.9, 1.1, size=(n_dc, n_query)), 6),
        delay_cap=np.round(qt["base_delay_cap"].to_numpy()[None, :] * rng.uniform(1.0, 1.5, size=(n_area, n_query)), 2)
        * load_ratio,
        delay_penalty=delay_penalty,
    ).assign_attrs(source=f"synthetic Green-LLM instance (N={n_area}, M={n_dc}, T={n_time}, seed={seed})", seed=seed)
