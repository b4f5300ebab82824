"""Green-LLM over 2024: every day's carbon intensity, planned with perfect foresight or a day-ahead forecast.

For each UTC day of 2024, the paper instance with that day's hourly carbon intensity theta[j,t]
(:mod:`greenaolo.greenllm.carbon`; everything else the seed-42 instance, or drawn afresh per day with the
date as seed) is solved for M0-M3 under three information settings (:data:`~greenaolo.greenllm.carbon.SETTINGS`):
``perfect`` plans on the day's own intensity (the paper's assumption), ``persistence`` and ``mean7`` plan on
a forecast made the day before. Every plan is scored on the actual intensity: its realised emissions and
carbon tax; energy cost, delay and water do not depend on theta.

Why the model is built once: theta enters only the carbon tax ``sum delta_j theta[j,t] P_g[j,t]`` and the
emissions ``sum theta P_g`` (``build_model``'s ``costs["carbon"]`` and ``metrics["emissions"]``); the
constraints do not move. :class:`ReusedLP` builds the LP once with
:func:`~greenaolo.greenllm.model.build_model`, checks that those two vectors are exactly ``delta theta`` and
``theta`` on the grid-power columns (a change in ``model.py`` that breaks this fails at once), and solves it
with a warm :class:`~greenaolo.greenllm.lp_arrays.ArrayLP`, one HiGHS instance per model whose costs are
rewritten per plan: HiGHS then starts from the previous optimal
basis, which stays primal feasible (20-60 simplex iterations for M0 and M3 instead of about 1,800). M1 and
M2 keep the documented tie-break (``docs/greenllm.md#a8``) in a second instance holding one extra row, the primary objective
bounded at its optimum (relative 1e-6), with the total cost as objective. :func:`fresh_day` does the same plans with
:func:`~greenaolo.greenllm.optimise.solve` (a fresh linopy build per plan, any solver): the reference the
tests compare the reuse against.

Alternative optima: HiGHS may end at another vertex of the same optimal face depending on where it starts,
so each task (a chunk of consecutive days) starts its solvers afresh, and results do not depend on which
worker ran it or in what order. Within a chunk, cost terms agree with fresh builds to the solver's
tolerance (tested).
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

from greenaolo.greenllm import carbon
from greenaolo.greenllm.lp_arrays import ArrayLP, coefficients, lp_arrays
from greenaolo.greenllm.model import MODELS, Extensions, build_model, total_cost
from greenaolo.greenllm.optimise import model_weights, solve
from greenaolo.greenllm.scenario import paper_scenario
from greenaolo.solvers import SolveError
from greenaolo.tasks import Task, run_tasks

__all__ = ["PLAN_TERMS", "ReusedLP", "change_against_m1", "day_seed", "fresh_day", "headline", "reused_day", "study_days",
           "value_of_information", "year_study"]

#: What each (day, model, setting) reports: name -> (units, long_name). Realised = scored on the actual theta.
PLAN_TERMS: dict[str, tuple[str, str]] = {
    "energy_cost": ("USD", "energy cost C_E"),
    "carbon_cost": ("USD", "realised carbon tax C_C (actual theta)"),
    "delay_cost": ("USD", "delay penalty C_D"),
    "total_cost": ("USD", "realised total cost C_E + C_C + C_D"),
    "emissions": ("kg", "realised grid CO2 emissions (actual theta)"),
    "water": ("L", "water use"),
    "grid_energy": ("kW h", "grid energy"),
    "planned_carbon_cost": ("USD", "carbon tax the plan expected (theta it was planned on)"),
    "planned_emissions": ("kg", "CO2 emissions the plan expected (theta it was planned on)"),
    "network_latency": ("ms", "mean round-trip time between a query's area and its DC"),
}
#: Consecutive days per sweep task: a task's first plan per model starts cold, the rest warm.
CHUNK_DAYS = 8


class ReusedLP:
    """The Green-LLM LP of one scenario, built once, re-solved for any carbon intensity theta[j,t] by
    rewriting its objective only (see the module docstring).

    :param scenario: the scenario (its own ``carbon_intensity`` is used only to check the build).
    :raises RuntimeError: the built model's carbon tax or emissions are not ``delta theta P_g`` and
        ``theta P_g`` (``model.py`` changed how theta enters).
    """

    def __init__(self, scenario: xr.Dataset, routes: np.ndarray | None = None,
                 extensions: Extensions | None = None) -> None:
        built = build_model(scenario, extensions)
        self.lp = lp_arrays(built.model)
        self.n_cols = self.lp["A"].shape[1]
        self.sense = self.lp.pop("sense")
        #: Column of P_g[j,t], (dc, time); of x[i,j,k,t], (area, dc, query, time).
        self.grid_columns = built.model.variables["grid_power"].labels.transpose("dc", "time").values
        self.allocation_columns = built.model.variables["allocation"].labels.transpose(
            "area", "dc", "query", "time").values
        #: Column of y[i,j,k,t], the queries moved in time (Extensions.deferrable), or None.
        self.deferred_columns = (built.model.variables["deferred"].labels.transpose("area", "dc", "query", "time").values
                                 if "deferred" in built.model.variables else None)
        self.demand = scenario.demand.transpose("area", "query", "time").values
        self.tax = scenario.carbon_tax.transpose("dc").values
        self.fixed = {name: coefficients(built.costs[name], self.n_cols) for name in ("energy", "delay")}
        self.fixed["water"] = coefficients(built.metrics["water"], self.n_cols)
        # Per-query water of x[i,j,k,t] per L/kWh of WUE (W = (WUE/PUE + EWIF) P_d = (WUE + EWIF PUE) P_c).
        s = scenario
        per_query = (s.token_energy_in * s.input_tokens + s.token_energy_out * s.output_tokens).transpose("query").values
        self._it_energy = self.demand * per_query[None, :, None]
        self._energy_per_query = per_query
        self._ewif_pue = (s.ewif * s.pue).transpose("dc", "time").values
        #: Demand-weighted round-trip time of x (query-seconds): what the network latency metric sums.
        self.fixed["network_latency"] = np.zeros(self.n_cols)
        rtt = s.rtt.transpose("area", "dc").values
        self.fixed["network_latency"][self.allocation_columns] = (
            rtt[:, :, None, None] * self.demand[:, None, :, :])
        if self.deferred_columns is not None:
            self.fixed["network_latency"][self.deferred_columns] = np.broadcast_to(
                rtt[:, :, None, None], self.deferred_columns.shape)
        theta = scenario.carbon_intensity.transpose("dc", "time").values
        want = {**self.theta_vectors(theta), "energy": self.price_vector(scenario.price.transpose("dc", "time").values),
                "water": self.water_vector(scenario.wue.transpose("dc", "time").values)}
        got = {"carbon": coefficients(built.costs["carbon"], self.n_cols),
               "emissions": coefficients(built.metrics["emissions"], self.n_cols),
               "energy": self.fixed["energy"], "water": self.fixed["water"]}
        for name in want:
            if not np.allclose(got[name], want[name], rtol=1e-12, atol=0):
                raise RuntimeError(f"the model's {name!r} is not what ReusedLP rewrites it as; update "
                                   "greenaolo/greenllm/year.py with model.py")
        if routes is not None:
            # Routes not allowed (area, dc): their allocation (and deferred) columns are fixed at 0.
            self.lp["ub"] = self.lp["ub"].copy()
            for columns in (self.allocation_columns, self.deferred_columns):
                if columns is not None:
                    self.lp["ub"][columns[~np.asarray(routes, bool)].ravel()] = 0.0
        # C_E and C_C live on P_g only, so the tie-break row covers the grid-power columns (ArrayLP checks it).
        self.solver = ArrayLP(self.lp, self.sense, warm=True, tie_columns=self.grid_columns)

    def _on_grid(self, per_kwh: np.ndarray) -> np.ndarray:
        """A vector over the columns that is ``per_kwh`` (dc, time) on the grid-power columns P_g, 0 elsewhere."""
        vector = np.zeros(self.n_cols)
        vector[self.grid_columns.ravel()] = np.asarray(per_kwh, float).ravel()
        return vector

    def theta_vectors(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """The carbon-tax and emissions vectors over the columns at ``theta`` (dc, time), kgCO2/kWh."""
        return {"carbon": self._on_grid(self.tax[:, None] * theta), "emissions": self._on_grid(theta)}

    def price_vector(self, price: np.ndarray) -> np.ndarray:
        """The energy-cost vector over the columns at electricity price ``price`` (dc, time), USD/kWh."""
        return self._on_grid(price)

    def water_vector(self, wue: np.ndarray) -> np.ndarray:
        """The water-use vector over the columns at on-site WUE ``wue`` (dc, time), L/kWh (EWIF as built)."""
        vector = np.zeros(self.n_cols)
        per_kwh = np.asarray(wue, float) + self._ewif_pue  # (dc, time)
        vector[self.allocation_columns] = self._it_energy[:, None, :, :] * per_kwh[None, :, None, :]
        if self.deferred_columns is not None:
            vector[self.deferred_columns] = self._energy_per_query[None, None, :, None] * per_kwh[None, :, None, :]
        return vector

    def reset(self) -> None:
        """Forget every solver (and its basis): the next plan per model starts cold."""
        self.solver.reset()

    def plan(self, model: str, theta: np.ndarray, price: np.ndarray | None = None) -> np.ndarray:
        """Solve ``model`` (M0-M3) with carbon intensity ``theta`` (dc, time) and, if given, electricity price
        ``price`` (dc, time) as :func:`~greenaolo.greenllm.optimise.solve` does, tie-break included; return the
        solution over the columns.

        :raises SolveError: HiGHS did not end optimal.
        """
        vectors = {**self.fixed, **self.theta_vectors(theta)}
        if price is not None:
            vectors["energy"] = self.price_vector(price)
        x, status = self.solver.solve(vectors, model_weights(model), key=model)
        if x is None:
            raise SolveError(f"{model}: HiGHS ended {status}")
        return x

    def score(self, x: np.ndarray, actual: np.ndarray, planned: np.ndarray, price: np.ndarray | None = None,
              wue: np.ndarray | None = None) -> dict[str, object]:
        """A plan's :data:`PLAN_TERMS` on the ``actual`` theta (and what it expected on ``planned``), the actual
        ``price`` and ``wue`` (dc, time; default the scenario's), and the queries each DC serves over the day
        (``served``, dc)."""
        real, plan = self.theta_vectors(actual), self.theta_vectors(planned)
        energy = self.fixed["energy"] if price is None else self.price_vector(price)
        water = self.fixed["water"] if wue is None else self.water_vector(wue)
        out = {"energy_cost": energy @ x, "carbon_cost": real["carbon"] @ x,
               "delay_cost": self.fixed["delay"] @ x, "emissions": real["emissions"] @ x,
               "water": water @ x, "grid_energy": x[self.grid_columns].sum(),
               "planned_carbon_cost": plan["carbon"] @ x, "planned_emissions": plan["emissions"] @ x,
               "network_latency": 1000 * (self.fixed["network_latency"] @ x) / self.demand.sum()}
        out["total_cost"] = total_cost(out, "_cost")
        out = {name: float(out[name]) for name in PLAN_TERMS}
        out["served"] = np.einsum("ijkt,ikt->j", x[self.allocation_columns], self.demand)
        if self.deferred_columns is not None:
            out["served"] = out["served"] + x[self.deferred_columns].sum(axis=(0, 2, 3))
        return out


# ------------------------------------------------------------------------------------------------------
# One day: the plans of every model and setting, scored on the actual intensity.

def day_seed(day: str | dt.date) -> int:
    """The generator seed of a day's fresh draw of the synthetic inputs: its date as YYYYMMDD."""
    return int(carbon.parse_day(day).strftime("%Y%m%d"))


def _thetas(day: str, raw: np.ndarray | None = None) -> dict[str, np.ndarray | None]:
    """theta per setting: the day's actual intensity (perfect) and each forecast (``None`` without history)."""
    return {"perfect": carbon.day_intensity(day),
            **{method: carbon.forecast(day, method, raw) for method in carbon.FORECASTS}}


def _empty(n_dc: int) -> dict[str, object]:
    return {**dict.fromkeys(PLAN_TERMS, np.nan), "served": np.full(n_dc, np.nan)}


def _stack(rows: dict[tuple[str, str], dict], models: Sequence[str], settings: Sequence[str]) -> dict[str, np.ndarray]:
    """(model, setting) rows of :meth:`ReusedLP.score` as arrays (model, setting[, dc])."""
    return {name: np.array([[rows[m, s][name] for s in settings] for m in models], dtype=float)
            for name in (*PLAN_TERMS, "served")}


def reused_day(lp: ReusedLP, day: str, models: Sequence[str] = tuple(MODELS),
               settings: Sequence[str] = carbon.SETTINGS) -> dict[str, np.ndarray]:
    """Every (model, setting) plan of ``day`` on ``lp`` (its objective rewritten per plan), scored on the
    day's actual intensity: arrays (model, setting) per :data:`PLAN_TERMS`, ``served`` (model, setting, dc)."""
    thetas = _thetas(day)
    rows = {}
    for m in models:
        for s in settings:
            theta = thetas[s]
            rows[m, s] = _empty(lp.tax.size) if theta is None else lp.score(lp.plan(m, theta), thetas["perfect"], theta)
    return _stack(rows, models, settings)


def fresh_day(scenario: xr.Dataset, day: str, models: Sequence[str] = tuple(MODELS),
              settings: Sequence[str] = carbon.SETTINGS, solver: str = "highs",
              thetas: Mapping[str, np.ndarray | None] | None = None) -> dict[str, np.ndarray]:
    """:func:`reused_day` with a fresh build per plan (:func:`~greenaolo.greenllm.optimise.solve`, any solver):
    the reference the reuse is tested against.

    :param thetas: theta per setting (dc, time); default the day's (:mod:`greenaolo.greenllm.carbon`).
    """
    thetas = dict(thetas) if thetas is not None else _thetas(day)
    actual = thetas["perfect"]
    tax = scenario.carbon_tax.transpose("dc").values
    rows = {}
    for m in models:
        for s in settings:
            theta = thetas[s]
            if theta is None:
                rows[m, s] = _empty(tax.size)
                continue
            planned = scenario.copy()
            planned["carbon_intensity"] = scenario.carbon_intensity.copy(data=np.asarray(theta, float))
            ds = solve(planned, m, solver=solver, threads=1)
            p_g = ds.grid_power.transpose("dc", "time").values
            row = {"energy_cost": float(ds.energy_cost), "delay_cost": float(ds.delay_cost),
                   "carbon_cost": float((tax[:, None] * actual * p_g).sum()), "emissions": float((actual * p_g).sum()),
                   "water": float(ds.water), "grid_energy": float(ds.grid_energy),
                   "planned_carbon_cost": float(ds.carbon_cost), "planned_emissions": float(ds.emissions)}
            row["total_cost"] = row["energy_cost"] + row["carbon_cost"] + row["delay_cost"]
            row["network_latency"] = float(1000 * (ds.allocation * ds.demand * scenario.rtt).sum() / ds.demand.sum())
            row["served"] = (ds.allocation * ds.demand).sum(["area", "query", "time"]).transpose("dc").values
            rows[m, s] = row
    return _stack(rows, models, settings)


# ------------------------------------------------------------------------------------------------------
# The year: chunks of days through the sweep runner.

@functools.lru_cache(maxsize=2)
def _shared_lp(seed: int) -> ReusedLP:
    """One built LP per seed and process (a Dask worker builds it once for all its chunks)."""
    return ReusedLP(paper_scenario(seed))


def solve_days(days: Sequence[str], seed: int = 42, afresh: bool = False) -> dict[str, np.ndarray]:
    """A sweep task: :func:`reused_day` for consecutive ``days``, stacked on a first axis (day).

    :param seed: the paper instance's seed (with ``afresh=False``).
    :param afresh: draw the synthetic inputs anew per day, seeded by the date (:func:`day_seed`); the LP is
        then built once per day and reused across its 12 plans.
    """
    out: dict[str, list] = {}
    shared = None if afresh else _shared_lp(int(seed))
    if shared is not None:
        shared.reset()  # a chunk's results must not depend on what this worker solved before
    for day in days:
        lp = shared or ReusedLP(paper_scenario(day_seed(day), day=day))
        for name, value in reused_day(lp, day).items():
            out.setdefault(name, []).append(value)
    return {name: np.stack(values) for name, values in out.items()}


def study_days(n_days: int) -> list[str]:
    """``n_days`` days of 2024 spread evenly over the year (all 366 for ``n_days=366``), as YYYY-MM-DD."""
    days = carbon.year_days()
    if not 1 <= n_days <= len(days):
        raise ValueError(f"n_days={n_days!r} is out of range: expected an integer in [1, {len(days)}]")
    return [days[int((i + 0.5) * len(days) / n_days)].isoformat() for i in range(n_days)]


def year_study(
    days: Sequence[str] | None = None, *, seed: int = 42, afresh: bool = False, chunk_days: int = CHUNK_DAYS,
    processes: int | None = None, scheduler: str | None = None, store: str | os.PathLike | None = None,
) -> xr.Dataset:
    """The year study: every day x M0-M3 x {perfect, persistence, mean7}, as one Dataset.

    :param days: UTC days of 2024 (``YYYY-MM-DD``); default all 366.
    :param seed: seed of the paper instance used every day (42 is the paper's).
    :param afresh: draw the synthetic inputs anew per day, seeded by the date (``seed`` is then unused).
    :param chunk_days: consecutive days per sweep task.
    :param processes: local worker processes (``None`` or 0: one per core; 1: serial).
    :param scheduler: ``"serial"``, ``"local"`` or a Dask scheduler address (:mod:`greenaolo.tasks`).
    :param store: folder of finished chunks; a re-run computes only the missing ones.
    :returns: Dataset on (``day``, ``model``, ``setting``) with every :data:`PLAN_TERMS` variable, ``served``
        (… , ``dc``: queries per DC and day, the DC mix), ``filled_hours`` (day), ``forecast_error``
        (day, setting: mean absolute error of the theta planned on, kgCO2/kWh) and the chunk provenance.
    """
    days = [carbon.parse_day(d).isoformat() for d in (days if days is not None else
                                                        [d.isoformat() for d in carbon.year_days()])]
    if not days:
        raise ValueError("days=[] is empty: give at least one UTC day of 2024 (YYYY-MM-DD)")
    repeated = sorted({d for d in days if days.count(d) > 1})
    if repeated:
        raise ValueError(f"days repeat {', '.join(repeated)}: give each day once (the study is indexed by day)")
    if days != sorted(days):
        raise ValueError(f"days are not in order ({next(a for a, b in zip(days, days[1:]) if a > b)} comes before "
                         "an earlier day): give them sorted")
    if not isinstance(chunk_days, int) or chunk_days < 1:
        raise ValueError(f"chunk_days={chunk_days!r} is out of range: expected an integer >= 1")
    chunks = [days[i:i + chunk_days] for i in range(0, len(days), chunk_days)]
    tasks = [Task(solve_days, {"days": chunk, "seed": int(seed), "afresh": bool(afresh)}) for chunk in chunks]
    results = run_tasks(tasks, workers=processes or None, scheduler=scheduler, store=store,
                        desc=f"Green-LLM year ({len(days)} days)")
    stacked = {name: np.concatenate([r[name] for r in results]) for name in (*PLAN_TERMS, "served")}
    base = paper_scenario(int(seed))
    dims = ("day", "model", "setting")
    ds = xr.Dataset(
        {name: (dims, stacked[name], {"units": u, "long_name": ln}) for name, (u, ln) in PLAN_TERMS.items()},
        coords={
            "day": ("day", np.array(days, dtype="datetime64[ns]"), {"long_name": "UTC day of 2024"}),
            "model": ("model", list(MODELS)),
            "setting": ("setting", list(carbon.SETTINGS), {"long_name": "information the plan was made with"}),
            "dc": ("dc", base.dc.values),
            "dc_location": ("dc", base.dc_location.values),
        },
    )
    ds["served"] = (dims + ("dc",), stacked["served"], {"units": "d-1", "long_name": "queries served per DC per day (the DC mix)"})
    ds["filled_hours"] = ("day", [int(carbon.carbon_intensity(d).filled.sum()) for d in days],
                          {"units": "1", "long_name": "(DC, hour) values of the day's actual theta filled by fill_gaps"})
    errors = []
    for d in days:
        thetas = _thetas(d)
        errors.append([np.nan if thetas[s] is None else float(np.abs(thetas[s] - thetas["perfect"]).mean())
                       for s in carbon.SETTINGS])
    ds["forecast_error"] = (("day", "setting"), np.array(errors),
                            {"units": "kg/(kW h)", "long_name": "mean absolute error of the theta planned on (kg CO2 per kWh)"})
    prov = [r["_provenance"] for r in results]
    ds["chunk_seconds"] = ("chunk", [p["seconds"] for p in prov], {"units": "s", "long_name": "wall time of a chunk where it ran"})
    ds["chunk_worker"] = ("chunk", np.array([p["worker"] for p in prov], dtype=object),
                          {"long_name": "Dask worker (or serial) that solved the chunk"})
    ds.attrs.update(
        seed=int(seed), afresh=int(afresh), chunk_days=chunk_days, solver="highs",
        forecasts=json.dumps({m: f"previous {n} day(s), same hour" for m, n in carbon.FORECASTS.items()}),
        carbon_data="Electricity Maps (electricitymaps.com), 2024 hourly carbon intensity data, ODbL v1.0",
        source=base.attrs["source"] + ("; synthetic inputs drawn afresh per day (seed YYYYMMDD)" if afresh else
                                       "; every day's carbon intensity from 2024"),
    )
    return ds


# ------------------------------------------------------------------------------------------------------
# What the year shows: changes against M1 and the value of perfect information, day by day.

SEASONS = {12: "DJF", 1: "DJF", 2: "DJF", 3: "MAM", 4: "MAM", 5: "MAM", 6: "JJA", 7: "JJA", 8: "JJA",
           9: "SON", 10: "SON", 11: "SON"}


def change_against_m1(ds: xr.Dataset, name: str, setting: str = "perfect") -> xr.DataArray:
    """Each model's ``name`` (``emissions`` or ``total_cost``) against M1's on the same day, in percent."""
    values = ds[name].sel(setting=setting)
    return (100 * (values / values.sel(model="M1") - 1)).assign_attrs(
        units="%", long_name=f"{name.replace('_', ' ')} against M1 ({setting})")


def value_of_information(ds: xr.Dataset, name: str) -> xr.DataArray:
    """A forecast plan's realised ``name`` minus the perfect-foresight plan's, per day (model, setting)."""
    values = ds[name]
    return (values.drop_sel(setting="perfect") - values.sel(setting="perfect")).assign_attrs(
        units=ds[name].attrs["units"], long_name=f"forecast plan minus perfect plan, realised {name.replace('_', ' ')}")


def _spread(values: xr.DataArray) -> str:
    v = values.values[np.isfinite(values.values)]
    if v.size == 0:
        return "n/a"
    q25, q50, q75 = np.percentile(v, [25, 50, 75])
    return f"{q50:+.3g} (IQR {q25:+.3g} to {q75:+.3g}; range {v.min():+.3g} to {v.max():+.3g}; {v.size} days)"


def headline(ds: xr.Dataset) -> pd.DataFrame:
    """The year's answers in one table: how often and by how much M0 (and M2) cut emissions and cost against
    M1, and what each forecast costs against perfect foresight, as medians with their spread over days."""
    rows = {}
    for model in ("M0", "M2", "M3"):
        emissions = change_against_m1(ds, "emissions").sel(model=model)
        cost = change_against_m1(ds, "total_cost").sel(model=model)
        rows[f"{model} emissions vs M1 (%)"] = _spread(emissions)
        rows[f"{model} total cost vs M1 (%)"] = _spread(cost)
        rows[f"days {model} emits less than M1"] = f"{int((emissions < 0).sum())} of {int(emissions.notnull().sum())}"
    for model in ("M0", "M2"):
        for setting in carbon.FORECASTS:
            rows[f"{model} {setting} minus perfect, total cost ($)"] = _spread(
                value_of_information(ds, "total_cost").sel(model=model, setting=setting))
            rows[f"{model} {setting} minus perfect, emissions (kg)"] = _spread(
                value_of_information(ds, "emissions").sel(model=model, setting=setting))
    return pd.DataFrame({"median over days (spread)": rows})
