"""Green-LLM studies: the functions the notebooks call to produce each table's and figure's dataset.

Each function returns an :class:`xarray.Dataset` with ``units`` and ``long_name`` on every variable; the
notebooks write it with :func:`greenaolo.io.write_dataset` and draw it with :mod:`greenaolo.plotting`.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import warnings
from collections.abc import Sequence

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from greenaolo.greenllm.model import MODEL_NAMES, MODELS, OBJECTIVES, Extensions
from greenaolo.greenllm.optimise import solve, solve_lexicographic
from greenaolo.greenllm.scenario import Scaling, paper_scenario
from greenaolo.greenllm.points import HOURLY, SUMMARY, Point, run_points, stack
from greenaolo.solvers import SolverFallbackWarning

__all__ = [
    "LEXICOGRAPHIC_ORDERS",
    "compare_models",
    "figure1",
    "figure2",
    "figure2_grids",
    "lexicographic_orders",
    "psi_values",
    "latency_study",
    "milp_study",
    "pareto_front",
    "psi_sweep",
    "scenario_table",
    "water_study",
]

#: The six priority orders of the notebook's lexicographic runs (docs/greenllm.md#lexicographic).
LEXICOGRAPHIC_ORDERS: tuple[tuple[str, str, str], ...] = tuple(itertools.permutations(OBJECTIVES))
_ABBREV = {"energy": "E", "carbon": "C", "delay": "D"}


def lexicographic_orders(profile: str) -> tuple[tuple[str, str, str], ...]:
    """The priority orders Table 2 runs: all six (``full``), or the first two (``quick``: the same code)."""
    return LEXICOGRAPHIC_ORDERS if profile == "full" else LEXICOGRAPHIC_ORDERS[:2]


def psi_values(n_points: int, low: float = 0.1, high: float = 1.9) -> np.ndarray:
    """``n_points`` Psi values evenly spaced in [low, high] (the paper's sweeps run 0.1 to 1.9), rounded to
    4 decimals so they read back exactly."""
    return np.round(np.linspace(low, high, n_points), 4)


#: Psi_rho values of Fig. 2's tau x rho grid (the M0 curves of its panel (c)).
FIGURE2_GRID_RHO = (0.1, 0.5, 0.9, 1.3, 1.7)


def figure2_grids(n_points: int, profile: str) -> dict[str, np.ndarray]:
    """Fig. 2's sweeps: ``psi_tau`` (0.1 to 1.0), ``psi_rho`` (0.1 to 1.9), and the tau x rho grid: ``grid_tau``
    is ``psi_tau`` and ``grid_rho`` :data:`FIGURE2_GRID_RHO` (``full``), or their two corners (``quick``)."""
    psi_tau, psi_rho = psi_values(n_points, 0.1, 1.0), psi_values(n_points)
    full = profile == "full"
    return {"psi_tau": psi_tau, "psi_rho": psi_rho,
            "grid_tau": psi_tau if full else np.array([0.1, 1.0]),
            "grid_rho": np.array(FIGURE2_GRID_RHO if full else (FIGURE2_GRID_RHO[0], FIGURE2_GRID_RHO[-1]))}
REPORTED = {name: SUMMARY[name] for name in
            ("energy_cost", "carbon_cost", "delay_cost", "total_cost", "emissions", "water", "delay")}


def order_label(order: Sequence[str]) -> str:
    """``("energy", "delay", "carbon")`` -> ``"lex E>D>C"``."""
    return "lex " + ">".join(_ABBREV[o] for o in order)


def scenario_table(seed: int = 42) -> xr.Dataset:
    """Table 1: per DC its region, location, carbon zone, prices, renewables, PUE, carbon intensity and tax.

    Hourly price, renewable generation and carbon intensity are kept on (dc, time) as well, so the figure
    can show their daily shapes.
    """
    s = paper_scenario(seed)
    ds = xr.Dataset(
        {
            "price_mean": s.price.mean("time").assign_attrs(units="USD/(kW h)", long_name="mean electricity price"),
            "price_min": s.price.min("time").assign_attrs(units="USD/(kW h)", long_name="lowest hourly price"),
            "price_max": s.price.max("time").assign_attrs(units="USD/(kW h)", long_name="highest hourly price"),
            "renewable_daily": s.renewable.sum("time").assign_attrs(units="kW h", long_name="daily on-site renewables"),
            "carbon_intensity_mean": s.carbon_intensity.mean("time").assign_attrs(
                units="kg/(kW h)", long_name="mean life-cycle grid carbon intensity (kg CO2 per kWh)"
            ),
            "pue": s.pue,
            "cfe": s.cfe,
            "base_price": s.base_price,
            "carbon_tax": s.carbon_tax,
            "price": s.price,
            "renewable": s.renewable,
            "carbon_intensity": s.carbon_intensity,
            "demand_daily": ((), float(s.demand.sum()), {"units": "1", "long_name": "queries per day, all areas and types"}),
            "water_budget": ((), float(s.water_budget), {"units": "L", "long_name": "daily water budget Z"}),
        },
        coords={"dc_location": s.dc_location, "carbon_zone": s.carbon_zone, "carbon_zone_code": s.carbon_zone_code},
    )
    ds.attrs["source"] = s.attrs["source"]
    return ds


def compare_models(
    seed: int = 42,
    *,
    models: Sequence[str] = tuple(MODELS),
    orders: Sequence[Sequence[str]] = LEXICOGRAPHIC_ORDERS,
    tolerance: float = 1e-3,
    solver: str = "auto",
) -> xr.Dataset:
    """Table 2: every compared model (M0-M3) and lexicographic order on the paper instance.

    :returns: a Dataset on dimension ``model`` with the reported cost terms, emissions, water and delay,
        and the solver each model ran on.
    """
    s = paper_scenario(seed)
    runs = [(m, lambda m=m: solve(s, m, solver=solver)) for m in models]
    runs += [
        (order_label(o), lambda o=o: solve_lexicographic(s, o, tolerance=tolerance, solver=solver)) for o in orders
    ]
    rows, solvers_used = {}, []
    for label, run in tqdm(runs, desc="Green-LLM models", unit="model"):
        result = run()
        rows[label] = {name: float(result[name]) for name in REPORTED}
        solvers_used.append(result.attrs["solver"])
    models_run = list(rows)
    ds = xr.Dataset(
        {
            name: ("model", np.array([rows[m][name] for m in models_run]), {"units": u, "long_name": ln})
            for name, (u, ln) in REPORTED.items()
        },
        coords={
            "model": models_run,
            "model_name": ("model", [MODEL_NAMES.get(m, m) for m in models_run]),
            "solver": ("model", solvers_used),
        },
    )
    ds.attrs.update(
        source=s.attrs["source"],
        lexicographic_tolerance=tolerance,
        lexicographic_orders=json.dumps([list(o) for o in orders]),
    )
    return ds


# --- Figures 1 and 2: Psi sweeps (docs/greenllm.md#figures) -----------------------------------------------

SWEEP_MODELS = ("M0", "M1", "M2")
SWEEP_VARS = ("energy_cost", "carbon_cost", "delay_cost", "total_cost", "emissions", "water", "delay",
              "grid_energy", "mean_latency")


def _solvers(results: Sequence[dict]) -> str:
    """The solvers that ran, comma-separated (``none`` for a point that failed)."""
    return ",".join(sorted({r["solver"] for r in results}))


def _errors(results: Sequence[dict]) -> str:
    """Every failed point's message, as a JSON list of ``[index, message]``."""
    return json.dumps([[i, r["error"]] for i, r in enumerate(results) if r["error"]])


def _provenance(ds: xr.Dataset, prefix: str, dims: tuple[str, ...], results: Sequence[dict]) -> None:
    """Per point: the worker that solved it and its wall time (``{prefix}point_worker``,
    ``{prefix}point_seconds``), from :func:`greenaolo.tasks.run_tasks`'s provenance."""
    shape = tuple(ds.sizes[d] for d in dims)
    prov = [r["_provenance"] for r in results]
    ds[f"{prefix}point_worker"] = (dims, np.array([p["worker"] for p in prov], dtype=object).reshape(shape),
                                   {"long_name": "Dask worker (or serial) that solved the point"})
    ds[f"{prefix}point_seconds"] = (dims, np.array([p["seconds"] for p in prov], dtype=float).reshape(shape),
                                    {"units": "s", "long_name": "wall time of the point where it ran"})


def _summary_var(name: str, dims: tuple[str, ...], values) -> tuple:
    units, long_name = {**SUMMARY, **HOURLY}[name]
    return dims, np.asarray(values, dtype=float), {"units": units, "long_name": long_name}


def psi_sweep(
    factor: str, values: Sequence[float], *, models: Sequence[str] = SWEEP_MODELS, seed: int = 42,
    base: Scaling | None = None, solver: str = "auto", processes: int | None = None,
    scheduler: str | None = None, store: str | None = None,
) -> xr.Dataset:
    """Sweep one Psi factor over ``values`` for each model: variables ``{factor}_{name}`` on
    (``model``, ``psi_{factor}``), for every name of :data:`SWEEP_VARS`.

    :param factor: a field of :class:`Scaling` (``theta``, ``pw``, ``tau``, ``rho``, ...).
    :param base: the other factors (default all 1).
    """
    base = base or Scaling()
    if factor not in Scaling.__dataclass_fields__:
        raise ValueError(f"factor={factor!r} is unknown: expected one of {sorted(Scaling.__dataclass_fields__)}")
    points = [
        Point(model=m, scaling=dataclasses.replace(base, **{factor: float(v)}), seed=seed, solver=solver)
        for m in models for v in values
    ]
    results = run_points(points, processes=processes, scheduler=scheduler, store=store, desc=f"Psi_{factor} sweep")
    shape = (len(models), len(values))
    dims = ("model", f"psi_{factor}")
    ds = xr.Dataset(
        {f"{factor}_{name}": _summary_var(name, dims, stack(results, {name: None})[name].reshape(shape))
         for name in SWEEP_VARS},
        coords={"model": list(models), f"psi_{factor}": (f"psi_{factor}", np.asarray(values, float),
                                                         {"units": "1", "long_name": f"scaling factor Psi_{factor}"})},
    )
    ds[f"{factor}_optimal"] = (dims, np.array([r["optimal"] for r in results]).reshape(shape),
                               {"units": "1", "long_name": "point solved to optimality"})
    ds.attrs[f"{factor}_solvers"] = _solvers(results)
    ds.attrs[f"{factor}_errors"] = _errors(results)
    _provenance(ds, f"{factor}_", dims, results)
    return ds


def hourly_profile(
    scaling: Scaling, *, models: Sequence[str] = SWEEP_MODELS, seed: int = 42, solver: str = "auto",
    processes: int | None = None, scheduler: str | None = None, store: str | None = None, label: str,
) -> xr.Dataset:
    """Hourly cost (energy + carbon tax) and emissions of each model at one scaling: ``{label}_hourly_*``."""
    results = run_points([Point(model=m, scaling=scaling, seed=seed, solver=solver) for m in models],
                        processes=processes, scheduler=scheduler, store=store, desc=f"hourly {label}")
    ds = xr.Dataset(
        {f"{label}_{name}": _summary_var(name, ("model", "time"), [r[name] for r in results]) for name in HOURLY},
        coords={"model": list(models), "time": np.arange(len(results[0]["hourly_cost"]))},
    )
    ds.attrs[f"{label}_scaling"] = scaling.to_json()
    ds.attrs[f"hourly_{label}_solvers"] = _solvers(results)
    return ds


def figure1(
    psi: Sequence[float], *, hourly_psi_theta: float = 1.2, hourly_psi_pw: float = 1.0, seed: int = 42,
    solver: str = "auto", processes: int | None = None,
    scheduler: str | None = None, store: str | None = None,
) -> xr.Dataset:
    """Fig. 1: total cost and emissions against Psi_theta and Psi_Pw for M0, M1, M2, and hourly panels.

    Every point is the base seed-42 instance with only the swept factor changed (the authors' Psi_theta
    PNGs came from a run with renewables x 0.8, ``docs/greenllm.md#a6``), and the hourly Psi_theta panel scales
    theta (the authors' notebook replaced theta by Psi x P^w there, ``docs/greenllm.md#a7``).
    """
    kwargs = dict(seed=seed, solver=solver, processes=processes, scheduler=scheduler, store=store)
    return xr.merge([
        psi_sweep("theta", psi, **kwargs),
        psi_sweep("pw", psi, **kwargs),
        hourly_profile(Scaling(theta=hourly_psi_theta), label="theta", **kwargs),
        hourly_profile(Scaling(pw=hourly_psi_pw), label="pw", **kwargs),
    ], combine_attrs="no_conflicts").assign_attrs(hourly_psi_theta=hourly_psi_theta, hourly_psi_pw=hourly_psi_pw)


def figure2(
    psi_tau: Sequence[float], psi_rho: Sequence[float], grid_rho: Sequence[float], *,
    grid_tau: Sequence[float] | None = None, seed: int = 42, solver: str = "auto", processes: int | None = None,
    scheduler: str | None = None, store: str | None = None,
) -> xr.Dataset:
    """Fig. 2: cost and emissions against Psi_tau; delay and cost against Psi_rho (M0, M1, M2); and the
    tau x rho grid for M0, M1 and M2, which tests the caption's "M0 is robust" claim.

    ``grid_total_cost`` (model, grid_tau, grid_rho) and ``m0_advantage`` (grid_tau, grid_rho): how much
    cheaper M0 is than the better of M1 and M2, in percent. ``grid_tau`` defaults to ``psi_tau``.
    """
    grid_tau = psi_tau if grid_tau is None else grid_tau
    kwargs = dict(seed=seed, solver=solver, processes=processes, scheduler=scheduler, store=store)
    tau = psi_sweep("tau", psi_tau, **kwargs)
    rho = psi_sweep("rho", psi_rho, **kwargs)
    points = [Point(model=m, scaling=Scaling(tau=float(t), rho=float(r)), seed=seed, solver=solver)
              for m in SWEEP_MODELS for t in grid_tau for r in grid_rho]
    results = run_points(points, processes=processes, scheduler=scheduler, store=store, desc="tau x rho grid")
    shape = (len(SWEEP_MODELS), len(grid_tau), len(grid_rho))
    dims = ("model", "grid_tau", "grid_rho")
    grid = xr.Dataset(
        {f"grid_{name}": _summary_var(name, dims, stack(results, {name: None})[name].reshape(shape))
         for name in ("total_cost", "emissions", "delay")},
        coords={"model": list(SWEEP_MODELS),
                "grid_tau": ("grid_tau", np.asarray(grid_tau, float), {"units": "1", "long_name": "Psi_tau"}),
                "grid_rho": ("grid_rho", np.asarray(grid_rho, float), {"units": "1", "long_name": "Psi_rho"})},
    )
    grid.attrs["grid_solvers"] = _solvers(results)
    grid.attrs["grid_errors"] = _errors(results)
    _provenance(grid, "grid_", dims, results)
    m0 = grid.grid_total_cost.sel(model="M0")
    best_other = grid.grid_total_cost.sel(model=["M1", "M2"]).min("model")
    grid["m0_advantage"] = (100 * (best_other - m0) / best_other).assign_attrs(
        units="%", long_name="cost saving of M0 over the better of M1 and M2")
    return xr.merge([tau, rho, grid], combine_attrs="no_conflicts")


# --- beyond the paper ---------------------------------------------------------------------------------

def pareto_front(
    n_emissions: int, n_water: int, *, seed: int = 42, solver: str = "auto", processes: int | None = None,
    scheduler: str | None = None, store: str | None = None,
) -> xr.Dataset:
    """The cost / emissions / water Pareto front by the epsilon-constraint method, with M0-M3 on it.

    Payoff table: the least emissions and the least water the instance allows, and M0's (the least-cost
    solution's) emissions and water. On an ``n_emissions x n_water`` grid of limits between them, minimise
    the total cost subject to emissions <= e and water <= w. Infeasible corners are NaN.
    """
    s = paper_scenario(seed)
    anchors = run_points(
        [Point(model=m, seed=seed, solver=solver) for m in MODELS]
        + [Point(model=(("emissions", 1.0),), seed=seed, solver=solver),
           Point(model=(("water", 1.0),), seed=seed, solver=solver)],
        processes=processes, scheduler=scheduler, store=store, desc="payoff table",
    )
    models = {m: anchors[i] for i, m in enumerate(MODELS)}
    e_min, w_min = anchors[-2]["emissions"], anchors[-1]["water"]
    e_max, w_max = models["M0"]["emissions"], models["M0"]["water"]
    e_limits = np.linspace(e_min, e_max, n_emissions)
    w_limits = np.linspace(w_min, w_max, n_water)
    points = [Point(model="M0", limits=(("emissions", float(e)), ("water", float(w))), seed=seed, solver=solver)
              for e in e_limits for w in w_limits]
    results = run_points(points, processes=processes, scheduler=scheduler, store=store, desc="epsilon-constraint")
    shape = (n_emissions, n_water)
    dims = ("emissions_limit", "water_limit")
    ds = xr.Dataset(
        {name: _summary_var(name, dims, stack(results, {name: None})[name].reshape(shape))
         for name in ("total_cost", "energy_cost", "carbon_cost", "delay_cost", "emissions", "water")},
        coords={"emissions_limit": ("emissions_limit", e_limits, {"units": "kg", "long_name": "CO2 emissions limit"}),
                "water_limit": ("water_limit", w_limits, {"units": "L", "long_name": "water limit"}),
                "model": list(MODELS)},
    )
    for name in ("total_cost", "emissions", "water"):
        ds[f"model_{name}"] = _summary_var(name, ("model",), [models[m][name] for m in MODELS])
    ds["optimal"] = (dims, np.array([r["optimal"] for r in results]).reshape(shape),
                     {"units": "1", "long_name": "point solved to optimality (0: infeasible limits)"})
    ds.attrs.update(min_emissions=e_min, min_water=w_min, water_budget=float(s.water_budget),
                    infeasible_points=int(sum(r["error"] != "" for r in results)),
                    solvers=_solvers(anchors + results), errors=_errors(results))
    _provenance(ds, "", dims, results)
    return ds


def water_study(
    n_points: int, *, seed: int = 42, solver: str = "auto", processes: int | None = None,
    scheduler: str | None = None, store: str | None = None,
) -> xr.Dataset:
    """Water as a binding constraint: sweep the budget Z from the least water the instance can use up to
    past M0's unconstrained use, and record cost, emissions and the budget's shadow price ($/L)."""
    s = paper_scenario(seed)
    paper_z = float(s.water_budget)
    anchors = run_points([Point(model="M0", seed=seed, solver=solver),
                         Point(model=(("water", 1.0),), seed=seed, solver=solver)],
                        processes=processes, scheduler=scheduler, store=store, desc="water anchors")
    w_free, w_min = anchors[0]["water"], anchors[1]["water"]
    budgets = np.linspace(w_min, 1.05 * w_free, n_points)
    points = [Point(model="M0", scaling=Scaling(water=float(z / paper_z)), seed=seed, solver=solver) for z in budgets]
    results = run_points(points, processes=processes, scheduler=scheduler, store=store, desc="water budget")
    dims = ("water_budget",)
    names = ("total_cost", "energy_cost", "carbon_cost", "delay_cost", "emissions", "water", "water_shadow_price",
             "mean_latency")
    ds = xr.Dataset(
        {name: _summary_var(name, dims, stack(results, {name: None})[name]) for name in names},
        coords={"water_budget": ("water_budget", budgets, {"units": "L", "long_name": "water budget Z"})},
    )
    ds["optimal"] = (dims, np.array([r["optimal"] for r in results]), {"units": "1", "long_name": "point solved to optimality"})
    ds.attrs.update(paper_water_budget=paper_z, unconstrained_water=w_free, min_water=w_min,
                    solvers=_solvers(anchors + results), errors=_errors(results))
    return ds


MILP_VARIANTS: dict[str, Extensions | None] = {
    "LP (paper)": None,
    "integer servers": Extensions(servers=40, queries_per_server=500.0, utilisation=0.9, idle_kw=0.3),
    "model placement": Extensions(download_cost=0.5),
    "servers + placement": Extensions(servers=40, queries_per_server=500.0, utilisation=0.9, idle_kw=0.3,
                                      download_cost=0.5),
}
#: Instance sizes (areas, DCs, hours) of the solve-time study, with 5 query types; (9, 9, 24) is the paper's.
MILP_SIZES: tuple[tuple[int, int, int], ...] = ((3, 3, 6), (3, 3, 24), (6, 6, 12), (6, 6, 24), (9, 9, 24), (12, 12, 24))
#: The variant the solve-time study runs (the hardest: both integer parts).
MILP_SIZE_VARIANT = "servers + placement"


def milp_study(
    *, time_limit: float, mip_gap: float = 1e-3, seed: int = 42, solver: str = "auto", processes: int | None = None,
    scheduler: str | None = None, store: str | None = None, sizes: Sequence[tuple[int, int, int]] = MILP_SIZES,
) -> xr.Dataset:
    """The MILP extension (``docs/greenllm.md#milp``) against the LP: cost terms with proven bounds, solve time,
    placements.


    Variants (:data:`MILP_VARIANTS`, the tight formulation of ``docs/greenllm_milp.md``) on the paper
    instance: integer active servers (40 per DC, 500 queries per server-hour at 90% utilisation, 0.3 kW idle
    each), binary model placement ($0.5 per model download), and both. Each MILP stops at a relative gap of
    ``mip_gap`` or at ``time_limit`` seconds (one solver thread each); a time-limited incumbent is kept with
    its proven bound (``cost_bound``) and gap. With placement, the placements and the queries served per
    (variant, dc, query, hour). The solve-time study runs :data:`MILP_SIZE_VARIANT` on synthetic instances of
    ``sizes`` (areas, DCs, hours).
    """
    names = list(MILP_VARIANTS)
    points = [Point(model="M0", extensions=MILP_VARIANTS[n], seed=seed, solver=solver, mip_gap=mip_gap,
                    time_limit=None if MILP_VARIANTS[n] is None else time_limit) for n in names]
    points += [Point(model="M0", extensions=MILP_VARIANTS[MILP_SIZE_VARIANT], seed=seed, solver=solver,
                     mip_gap=mip_gap, time_limit=time_limit, size=tuple(size)) for size in sizes]
    everything = run_points(points, processes=processes, scheduler=scheduler, store=store, desc="LP vs MILP")
    results, scaling = everything[:len(names)], everything[len(names):]
    dims = ("variant",)
    out = xr.Dataset(
        {name: _summary_var(name, dims, [r[name] for r in results])
         for name in ("total_cost", "energy_cost", "carbon_cost", "delay_cost", "emissions", "grid_energy",
                      "solve_seconds", "cost_bound", "downloads")},
        coords={"variant": names},
    )
    out["mip_gap"] = ("variant", [r["mip_gap"] for r in results], {"units": "1", "long_name": "relative MIP gap"})
    out["optimal"] = ("variant", [r["optimal"] for r in results],
                      {"units": "1", "long_name": "solved to the gap target (1) or stopped at the time limit (0)"})
    out["n_variables"] = ("variant", [r["n_variables"] for r in results], {"units": "1", "long_name": "variables"})
    out = out.assign_coords(solver=("variant", [r["solver"] for r in results]))
    placed = [n for n, r in zip(names, results) if "placement" in r]
    if placed:
        s = paper_scenario(seed)
        shape = (s.sizes["dc"], s.sizes["query"], s.sizes["time"])
        coords = {"placed_variant": placed, "dc": s.dc.values, "query": s["query"].values, "time": s.time.values}
        pick = {n: r for n, r in zip(names, results)}
        out["placement"] = xr.DataArray(
            np.stack([np.asarray(pick[n]["placement"], dtype=float).reshape(shape) for n in placed]),
            coords=coords, dims=tuple(coords),
            attrs={"units": "1", "long_name": "model k placed at DC j in hour t, z"})
        out["served"] = xr.DataArray(
            np.stack([np.asarray(pick[n]["served"], dtype=float).reshape(shape) for n in placed]),
            coords=coords, dims=tuple(coords),
            attrs={"units": "h-1", "long_name": "queries of type k served by DC j per hour t"})
    size_dims = ("size",)
    sizes = [tuple(int(v) for v in size) for size in sizes]
    out = out.assign_coords(
        size=("size", [f"{a}x{d}x{h}" for a, d, h in sizes], {"long_name": "areas x DCs x hours"}),
        size_areas=("size", [a for a, _, _ in sizes], {"units": "1", "long_name": "user areas"}),
        size_dcs=("size", [d for _, d, _ in sizes], {"units": "1", "long_name": "data centres"}),
        size_hours=("size", [h for _, _, h in sizes], {"units": "h", "long_name": "hours"}),
    )
    for name, long_name in (("solve_seconds", "solve time"), ("total_cost", "total cost"),
                            ("cost_bound", "proven lower bound on the objective")):
        units = SUMMARY[name][0]
        out[f"size_{name}"] = (size_dims, np.array([r[name] for r in scaling], dtype=float),
                               {"units": units, "long_name": f"{long_name}, {MILP_SIZE_VARIANT}"})
    out["size_mip_gap"] = (size_dims, np.array([r["mip_gap"] for r in scaling], dtype=float),
                           {"units": "1", "long_name": f"relative MIP gap, {MILP_SIZE_VARIANT}"})
    out["size_optimal"] = (size_dims, np.array([r["optimal"] for r in scaling], dtype=int),
                           {"units": "1", "long_name": "solved to the gap target (1) or stopped at the time limit (0)"})
    out["size_n_variables"] = (size_dims, np.array([r["n_variables"] for r in scaling], dtype=int),
                               {"units": "1", "long_name": "variables"})
    out.attrs.update(time_limit=time_limit, mip_gap_target=mip_gap, size_variant=MILP_SIZE_VARIANT,
                     solvers=_solvers(everything), errors=_errors(everything), variants=json.dumps(
        {n: (None if e is None else json.loads(e.to_json())) for n, e in MILP_VARIANTS.items()}))
    return out


def latency_study(
    *, models: Sequence[str] = tuple(MODELS), seed: int = 42, solver: str = "auto", bins: int = 60,
) -> xr.Dataset:
    """Per-query latency distributions (``docs/greenllm.md#latency``) of each model, beside the aggregate "delay".

    Every query routed i -> j has latency d[i,j] + 8 beta (h+f)/(1000 B) + v[j,k] (h+f); weighting routes by
    the number of queries lambda x gives each model's distribution, stored as a histogram and quantiles.
    """
    s = paper_scenario(seed)
    hist, quantiles, aggregate, per_query_mean = [], [], [], []
    edges = None
    qs = np.array([0.5, 0.9, 0.95, 0.99, 1.0])
    solvers_used = set()
    for m in tqdm(models, desc="latency", unit="model"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SolverFallbackWarning)
            ds = solve(s, m, solver=solver)
        solvers_used.add(ds.attrs["solver"])
        weight = (ds.allocation * ds.demand).transpose("area", "dc", "query", "time").values.ravel()
        lat = ds.route_latency.broadcast_like(ds.allocation).transpose("area", "dc", "query", "time").values.ravel()
        keep = weight > 1e-9
        lat, weight = lat[keep], weight[keep]
        if edges is None:
            edges = np.linspace(0, float(route_latency_max(s)) * 1.02, bins + 1)
        hist.append(np.histogram(lat, bins=edges, weights=weight)[0])
        order = np.argsort(lat)
        cdf = np.cumsum(weight[order]) / weight.sum()
        quantiles.append([lat[order][min(np.searchsorted(cdf, q), len(lat) - 1)] for q in qs])
        per_query_mean.append(float(np.sum(lat * weight) / weight.sum()))
        aggregate.append(float(ds.delay) / (s.sizes["area"] * s.sizes["query"] * s.sizes["time"]))
    return xr.Dataset(
        {
            "queries": (("model", "latency_bin"), np.array(hist), {"units": "d-1", "long_name": "queries per day in each latency bin"}),
            "latency_quantile": (("model", "quantile"), np.array(quantiles), {"units": "s", "long_name": "per-query latency quantile"}),
            "mean_latency": (("model",), per_query_mean, {"units": "s", "long_name": "mean per-query latency"}),
            "mean_aggregate_delay": (("model",), aggregate, {"units": "s", "long_name": "paper's delay D per (i,k,t), mean"}),
        },
        coords={
            "model": list(models),
            "latency_bin": ("latency_bin", 0.5 * (edges[1:] + edges[:-1]), {"units": "s", "long_name": "bin centre"}),
            "bin_edge": ("bin_edge", edges, {"units": "s", "long_name": "bin edges"}),
            "quantile": ("quantile", qs, {"units": "1", "long_name": "quantile"}),
        },
        attrs={"solver": ",".join(sorted(solvers_used))},
    )


def route_latency_max(s: xr.Dataset) -> float:
    from greenaolo.greenllm.model import route_latency

    return float(route_latency(s).max())
