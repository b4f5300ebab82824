"""The field's question on measured inputs: how much does carbon-aware routing of LLM inference save?

Every UTC day of 2023 and 2024 on the measured scenario (:mod:`greenaolo.greenllm.measured`), planned a
day ahead and scored on what happened (``docs/measured.md#year``):

* **models**: M0 (energy cost + carbon tax), M1 (energy cost only: cost-only routing), M2 (carbon only),
  M3 (the paper's hybrid weights); the paper's aggregate delay is not priced (``delay_penalty=0``);
* **routing** (:data:`ROUTINGS`): ``global`` (any area to any DC), ``regional`` (only DCs within
  :data:`REGIONAL_RTT_MS` of round-trip time) and ``local`` (each area at its own DC: latency-only routing,
  the least round-trip time; with nothing left to choose, every model makes the same plan); and
  ``local+shift`` and ``global+shift``, where a share of each day's demand may also move in time
  (``docs/measured.md#temporal``: temporal shifting alone, and both);
* **information** (:data:`~greenaolo.greenllm.carbon.SETTINGS`): ``perfect`` plans on the day's own carbon
  intensity and prices; ``persistence`` and ``mean7`` on a forecast from the days before (carbon intensity,
  and real-time prices; a day-ahead market's prices are known the day before, so plans use them as they are).

Each plan is scored on the day's actual carbon intensity, prices and water efficiency. The LP is built once
per routing and process (:class:`~greenaolo.greenllm.year.ReusedLP`): demand, energy, capacities and
latencies do not change from day to day, only the objective's prices and carbon intensities; each task (a
chunk of consecutive days) starts its solvers afresh, so results do not depend on which worker ran it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from greenaolo import measured
from greenaolo.greenllm.carbon import FORECASTS, SETTINGS
from greenaolo.greenllm.measured import DEFAULT_ZONES, day_series, measured_scenario
from greenaolo.greenllm.model import MODELS, Extensions
from greenaolo.greenllm.year import PLAN_TERMS, ReusedLP, _spread
from greenaolo.tasks import Task, run_tasks

__all__ = ["REGIONAL_RTT_MS", "ROUTINGS", "headline", "measured_days", "measured_year_study", "savings"]

#: Round-trip time (ms) within which ``regional`` routing may send a query.
REGIONAL_RTT_MS = 50.0
ROUTINGS = ("global", "regional", "local", "local+shift", "global+shift")
#: Share of each day's demand that may move in time in the ``+shift`` routings (``docs/measured.md#temporal``).
DEFAULT_DEFERRABLE = 0.25
#: Plans made per day: every model and setting with global routing; every model on perfect information
#: with regional routing; M0 and M2 on perfect information with each ``+shift`` routing; one plan with local
#: routing (the same for every model and setting).
CHUNK_DAYS = 8
#: The reference day before the data's first: no forecast on it.
FIRST_DAY = dt.date(measured.YEARS[0], 1, 1)


def measured_days(years: Sequence[int] = measured.YEARS, n_days: int | None = None) -> list[str]:
    """Every UTC day of ``years`` (or ``n_days`` spread evenly over each year), as YYYY-MM-DD."""
    out = []
    for year in years:
        if year not in measured.YEARS:
            raise ValueError(f"year={year!r} is outside the data: expected one of {measured.YEARS}")
        first = dt.date(year, 1, 1)
        days = [first + dt.timedelta(days=d) for d in range((dt.date(year + 1, 1, 1) - first).days)]
        if n_days is not None:
            if not 1 <= n_days <= len(days):
                raise ValueError(f"n_days={n_days!r} is out of range: expected an integer in [1, {len(days)}]")
            days = [days[int((i + 0.5) * len(days) / n_days)] for i in range(n_days)]
        out += [d.isoformat() for d in days]
    return out


def _routes(scenario: xr.Dataset, routing: str) -> np.ndarray | None:
    rtt_ms = 1000 * scenario.rtt.transpose("area", "dc").values
    routing = routing.removesuffix("+shift")
    if routing == "global":
        return None
    if routing == "regional":
        return rtt_ms <= REGIONAL_RTT_MS
    if routing == "local":
        return np.eye(len(scenario.area), dtype=bool)
    raise ValueError(f"routing={routing!r} is unknown: expected one of {ROUTINGS}")


@functools.lru_cache(maxsize=4)
def _shared_lps(options: str, deferrable: float = DEFAULT_DEFERRABLE,
                routings: tuple[str, ...] = ROUTINGS) -> dict[str, ReusedLP]:
    """The reused LP of each routing for one set of scenario options (JSON), built once per process; the
    ``+shift`` routings with a share ``deferrable`` of the demand movable in time."""
    scenario = measured_scenario(f"{measured.YEARS[-1]}-01-01", **json.loads(options))
    shift = Extensions(deferrable=deferrable)
    return {routing: ReusedLP(scenario, routes=_routes(scenario, routing),
                              extensions=shift if routing.endswith("+shift") else None) for routing in routings}


def _day_ahead(zones: Sequence[str]) -> np.ndarray:
    """Whether each zone's price is set the day before (a day-ahead market or a tariff), (zone,)."""
    product = measured.price_markets().loc[list(zones), "product"].str.lower()
    return (product.str.contains("day-ahead") | product.str.contains("tariff")).to_numpy()


@functools.lru_cache(maxsize=16)
def _series(day: dt.date, zones: tuple[str, ...], fx: str) -> dict[str, np.ndarray]:
    """:func:`~greenaolo.greenllm.measured.day_series`, kept for the next days' forecasts (``fx`` as JSON)."""
    return day_series(day, zones, json.loads(fx) or None)


def day_inputs(day: dt.date, zones: Sequence[str], fx: Mapping[str, float] | None) -> dict[str, np.ndarray]:
    """The hourly inputs of ``day`` (:func:`~greenaolo.greenllm.measured.day_series`), cached for the days after."""
    return _series(day, tuple(zones), json.dumps(dict(fx or {}), sort_keys=True))


def _forecasts(day: dt.date, zones: Sequence[str], fx: Mapping[str, float] | None) -> dict[str, tuple | None]:
    """(theta, price) per setting: the day's own, and each forecast from the previous days' same hours (None
    before the data has enough of them)."""
    actual = day_inputs(day, zones, fx)
    out = {"perfect": (actual["carbon_intensity"], actual["price"])}
    known = _day_ahead(zones)[:, None]
    for method, n in FORECASTS.items():
        if (day - FIRST_DAY).days < n:
            out[method] = None
            continue
        past = [day_inputs(day - dt.timedelta(days=d), zones, fx) for d in range(1, n + 1)]
        theta = np.mean([p["carbon_intensity"] for p in past], axis=0)
        price = np.where(known, actual["price"], np.mean([p["price"] for p in past], axis=0))
        out[method] = (theta, price)
    return out


def _plans(lps: Mapping[str, ReusedLP], day: dt.date, zones: Sequence[str], fx) -> dict[str, np.ndarray]:
    """Every plan of one day: arrays (routing, model, setting) per :data:`PLAN_TERMS`, NaN where not made."""
    models, settings = list(MODELS), list(SETTINGS)
    out = {name: np.full((len(ROUTINGS), len(models), len(settings)), np.nan) for name in PLAN_TERMS}
    out["served"] = np.full((len(ROUTINGS), len(models), len(settings), len(zones)), np.nan)
    actual = day_inputs(day, zones, fx)
    forecasts = _forecasts(day, zones, fx)
    wanted = [("global", m, s) for m in models for s in settings]
    wanted += [("regional", m, "perfect") for m in models]
    wanted += [(r, m, "perfect") for r in ("local+shift", "global+shift") for m in ("M0", "M2")]
    wanted.append(("local", "M0", "perfect"))
    wanted = [w for w in wanted if w[0] in lps]
    for routing, model, setting in wanted:
        planned = forecasts[setting]
        if planned is None:
            continue
        lp = lps[routing]
        x = lp.plan(model, planned[0], price=planned[1])
        row = lp.score(x, actual["carbon_intensity"], planned[0], price=actual["price"], wue=actual["wue"])
        r, m, s = ROUTINGS.index(routing), models.index(model), settings.index(setting)
        targets = [(m, s)] if routing != "local" else [(mm, 0) for mm in range(len(models))]
        for mm, ss in targets:
            for name, value in row.items():
                out[name][r, mm, ss] = value
    return out


def solve_measured_days(days: Sequence[str], options: str, deferrable: float = DEFAULT_DEFERRABLE,
                        routings: Sequence[str] = ROUTINGS) -> dict[str, np.ndarray]:
    """A sweep task: :func:`_plans` for consecutive ``days`` with the scenario ``options`` (JSON), stacked
    on a first axis (day)."""
    lps = _shared_lps(options, float(deferrable), tuple(routings))
    for lp in lps.values():
        lp.reset()  # a chunk's results must not depend on what this worker solved before
    opts = json.loads(options)
    zones = opts.get("zones", DEFAULT_ZONES)
    out: dict[str, list] = {}
    for day in days:
        for name, value in _plans(lps, measured.parse_day(day), zones, opts.get("fx")).items():
            out.setdefault(name, []).append(value)
    return {name: np.stack(values) for name, values in out.items()}


def measured_year_study(
    days: Sequence[str] | None = None, *, deferrable: float = DEFAULT_DEFERRABLE,
    routings: Sequence[str] = ROUTINGS, chunk_days: int = CHUNK_DAYS, processes: int | None = None,
    scheduler: str | None = None, store: str | os.PathLike | None = None, **options,
) -> xr.Dataset:
    """The measured year study: every day x routing x model x setting, as one Dataset.

    :param days: UTC days of 2023-2024 (``YYYY-MM-DD``), sorted; default every day of both years.
    :param deferrable: share of each day's demand that may move in time in the ``+shift`` routings.
    :param routings: the routings to plan (:data:`ROUTINGS`; the others are left NaN).
    :param chunk_days: consecutive days per sweep task.
    :param processes: local worker processes (``None`` or 0: one per core; 1: serial).
    :param scheduler: ``"serial"``, ``"local"`` or a Dask scheduler address (:mod:`greenaolo.tasks`).
    :param store: folder of finished chunks; a re-run computes only the missing ones.
    :param options: options of :func:`~greenaolo.greenllm.measured.measured_scenario` (zones, llm, gpu, ...),
        the same every day; numbers, text, lists and mappings only.
    :returns: Dataset on (``day``, ``routing``, ``model``, ``setting``) with every :data:`PLAN_TERMS` variable
        and ``served`` (``dc``), plus the scenario's options and sources in its attributes.
    """
    days = [measured.parse_day(d).isoformat() for d in (days if days is not None else measured_days())]
    if not days:
        raise ValueError("days=[] is empty: give at least one UTC day of 2023 or 2024 (YYYY-MM-DD)")
    if days != sorted(set(days)):
        raise ValueError("days must be sorted and each given once (the study is indexed by day)")
    if not isinstance(chunk_days, int) or chunk_days < 1:
        raise ValueError(f"chunk_days={chunk_days!r} is out of range: expected an integer >= 1")
    if options.get("water_budget") is not None:
        raise ValueError("water_budget: the year study rewrites only the objective, so it has no water budget "
                         "(each day's water use is reported); leave water_budget unset")
    reference = measured_scenario(days[0], **options)  # checks every option before any work
    Extensions(deferrable=deferrable)
    unknown = sorted(set(routings) - set(ROUTINGS))
    if unknown or not routings:
        raise ValueError(f"routings={list(routings)!r}: expected some of {ROUTINGS}")
    text = json.dumps(options, sort_keys=True)
    chunks = [days[i:i + chunk_days] for i in range(0, len(days), chunk_days)]
    tasks = [Task(solve_measured_days, {"days": chunk, "options": text, "deferrable": float(deferrable),
                                        "routings": [r for r in ROUTINGS if r in routings]}) for chunk in chunks]
    results = run_tasks(tasks, workers=processes or None, scheduler=scheduler, store=store,
                        desc=f"Green-LLM measured ({len(days)} days)")
    dims = ("day", "routing", "model", "setting")
    stacked = {name: np.concatenate([r[name] for r in results]) for name in (*PLAN_TERMS, "served")}
    ds = xr.Dataset(
        {name: (dims, stacked[name], {"units": u, "long_name": ln}) for name, (u, ln) in PLAN_TERMS.items()},
        coords={"day": ("day", np.array(days, dtype="datetime64[ns]"), {"long_name": "UTC day"}),
                "routing": ("routing", list(ROUTINGS), {"long_name": "where a query may be served"}),
                "model": ("model", list(MODELS)),
                "setting": ("setting", list(SETTINGS), {"long_name": "information the plan was made with"}),
                "dc": ("dc", reference.dc.values)},
    )
    ds["served"] = (dims + ("dc",), stacked["served"], {"units": "d-1", "long_name": "queries served per DC per day"})
    ds["demand"] = ((), float(reference.demand.sum()), {"units": "d-1", "long_name": "queries per day"})
    prov = [r["_provenance"] for r in results]
    ds["chunk_seconds"] = ("chunk", [p["seconds"] for p in prov], {"units": "s", "long_name": "wall time of a chunk"})
    keep = ("llm", "gpu", "num_gpus", "max_batch", "energy_per_token_j", "requests_per_second", "demand_class",
            "capacity_factor", "carbon_price_usd_per_t", "fx", "rtt_fit_ms", "data_sources", "source")
    ds.attrs.update({k: reference.attrs[k] for k in keep}, options=text, regional_rtt_ms=REGIONAL_RTT_MS,
                    deferrable=float(deferrable),
                    chunk_days=chunk_days, solver="highs",
                    forecasts=json.dumps({m: f"previous {n} day(s), same hour" for m, n in FORECASTS.items()}))
    return ds


# ------------------------------------------------------------------------------------------------------
# What the years show.

def savings(ds: xr.Dataset, name: str, against: tuple[str, str], plan: tuple[str, str] = ("global", "M0"),
            setting: str = "perfect") -> xr.DataArray:
    """Per day, ``plan``'s (routing, model) ``name`` against another (routing, model), in percent (negative:
    the plan uses less)."""
    value = ds[name].sel(routing=plan[0], model=plan[1], setting=setting)
    base = ds[name].sel(routing=against[0], model=against[1], setting="perfect")
    return (100 * (value / base - 1)).assign_attrs(
        units="%", long_name=f"{name.replace('_', ' ')}: {'/'.join(plan)} against {'/'.join(against)}")


COMPARISONS = {
    "carbon-aware (M0) vs cost-only (M1)": (("global", "M0"), ("global", "M1")),
    "carbon-only (M2) vs cost-only (M1)": (("global", "M2"), ("global", "M1")),
    "carbon-aware (M0) vs latency-only (local)": (("global", "M0"), ("local", "M0")),
    "carbon-only (M2) vs latency-only (local)": (("global", "M2"), ("local", "M0")),
    "regional M0 vs latency-only (local)": (("regional", "M0"), ("local", "M0")),
    "regional M2 vs latency-only (local)": (("regional", "M2"), ("local", "M0")),
    "temporal only: local+shift M2 vs local": (("local+shift", "M2"), ("local", "M0")),
    "spatial and temporal: global+shift M2 vs local": (("global+shift", "M2"), ("local", "M0")),
}


def headline(ds: xr.Dataset) -> pd.DataFrame:
    """Emissions, total cost and latency of each comparison (:data:`COMPARISONS`), per year: the median
    change over days, in percent, with its interquartile range and range; and the plans' mean network latency."""
    rows = {}
    years = sorted(set(pd.DatetimeIndex(ds.day.values).year))
    for label, (plan, against) in COMPARISONS.items():
        for year in years:
            sub = ds.sel(day=str(year))
            rows[(label, year)] = {
                "emissions (%)": _spread(savings(sub, "emissions", against, plan)),
                "total cost (%)": _spread(savings(sub, "total_cost", against, plan)),
                "latency (ms)": f"{float(sub.network_latency.sel(routing=plan[0], model=plan[1], setting='perfect').mean()):.0f}"
                                f" vs {float(sub.network_latency.sel(routing=against[0], model=against[1], setting='perfect').mean()):.0f}",
            }
    return pd.DataFrame(rows).T


def split_sensitivity(days: Sequence[str], n_splits: int = 5, seed: int = 0, *, processes: int | None = None,
                      scheduler: str | None = None, **options) -> xr.Dataset:
    """How much the split of the demand between areas moves the answer: the study on ``days`` with equal
    shares and with ``n_splits`` splits drawn from a flat Dirichlet distribution (every split equally likely),
    reporting per split the median change of each :data:`COMPARISONS` entry (emissions and total cost, %).

    :returns: Dataset on (``split``, ``comparison``): ``emissions`` and ``total_cost`` (median over days, %),
        and ``weights`` (``split``, ``zone``); split 0 is the equal split.
    """
    zones = list(options.get("zones", DEFAULT_ZONES))
    rng = np.random.default_rng(seed)
    splits = [np.full(len(zones), 1.0 / len(zones))] + list(rng.dirichlet(np.ones(len(zones)), size=int(n_splits)))
    rows = {"emissions": [], "total_cost": []}
    for weights in splits:
        ds = measured_year_study(days, processes=processes, scheduler=scheduler,
                                 area_weights={z: float(w) for z, w in zip(zones, weights)}, **options)
        for name in rows:
            rows[name].append([float(np.nanmedian(savings(ds, name, against, plan).values))
                               for plan, against in COMPARISONS.values()])
    return xr.Dataset(
        {name: (("split", "comparison"), np.array(values), {"units": "%", "long_name": f"median change in {name}"})
         for name, values in rows.items()} | {"weights": (("split", "zone"), np.array(splits), {"units": "1", "long_name": "each area's share of the demand in the split"})},
        coords={"split": np.arange(len(splits)), "comparison": list(COMPARISONS), "zone": zones},
        attrs={"days": json.dumps(list(days)), "seed": seed},
    )


def shift_sensitivity(days: Sequence[str], shares: Sequence[float] = (0.1, 0.25, 0.5, 1.0), *,
                      processes: int | None = None, scheduler: str | None = None, **options) -> xr.Dataset:
    """How much the answer moves with the share of demand that may move in time: the temporal-only and the
    spatial-and-temporal plans of M0 and M2 against local routing on ``days``, for each share.

    :returns: Dataset on (``share``, ``routing``, ``model``): ``emissions`` and ``total_cost``, the median change
        over days against local routing (%).
    """
    routings, models = ("local+shift", "global+shift"), ("M0", "M2")
    out = {"emissions": [], "total_cost": []}
    for share in shares:
        ds = measured_year_study(days, deferrable=share, routings=("local",) + routings, processes=processes,
                                 scheduler=scheduler, **options)
        for name in out:
            out[name].append([[float(np.nanmedian(savings(ds, name, ("local", "M0"), (r, m)).values)) for m in models]
                              for r in routings])
    return xr.Dataset(
        {name: (("share", "routing", "model"), np.array(values), {"units": "%", "long_name": f"median change in {name} "
                                                                  "against local routing"}) for name, values in out.items()},
        coords={"share": ("share", list(shares), {"long_name": "share of each day's demand that may move in time"}),
                "routing": list(routings), "model": list(models)},
        attrs={"days": json.dumps(list(days))},
    )


# ------------------------------------------------------------------------------------------------------
# The study's answers per day, what the README's row (greenaolo.findings) and the kept-results test read.

def comparison_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per day and comparison (:data:`COMPARISONS`): the change in emissions and total cost (%) and
    the mean round-trip times of the two plans (ms): what the README's row is computed from."""
    rows = []
    for label, (plan, against) in COMPARISONS.items():
        emissions, cost = (savings(ds, name, against, plan).values for name in ("emissions", "total_cost"))
        latency = ds.network_latency.sel(setting="perfect")
        mine = latency.sel(routing=plan[0], model=plan[1]).values
        theirs = latency.sel(routing=against[0], model=against[1]).values
        for i, day in enumerate(pd.DatetimeIndex(ds.day.values)):
            rows.append({"day": day.date().isoformat(), "comparison": label, "emissions_pct": emissions[i],
                         "total_cost_pct": cost[i], "plan_latency_ms": mine[i], "against_latency_ms": theirs[i]})
    return pd.DataFrame(rows)
