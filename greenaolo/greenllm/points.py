"""One Green-LLM solve per point of a parameter grid, as plain numbers; the points run on :mod:`greenaolo.tasks`.

A sweep (a Psi sweep, an epsilon-constraint front, a water budget study) is a list of :class:`Point` (a
model, Psi scaling factors, optional limits and extensions); each point is solved from scratch (nothing is
cached between points in memory, so nothing can go stale), with a single-threaded solver wherever it runs,
and summarised as plain numbers, so results are identical whether the points ran serially, on local Dask
workers or on a cluster. Results come back in the order of the points.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from greenaolo.greenllm.model import Extensions
from greenaolo.greenllm.optimise import solve
from greenaolo.greenllm.scenario import Scaling, paper_scenario, synthetic_scenario
from greenaolo.solvers import SolveError, SolverFallbackWarning
from greenaolo.tasks import Task, run_tasks

__all__ = ["SUMMARY", "Point", "run_points", "solve_point", "solve_point_task"]

#: Scalars every point reports (name -> (units, long_name)).
SUMMARY = {
    "energy_cost": ("USD", "energy cost C_E"),
    "carbon_cost": ("USD", "carbon tax C_C"),
    "delay_cost": ("USD", "delay penalty C_D"),
    "total_cost": ("USD", "total cost C_E + C_C + C_D"),
    "emissions": ("kg", "grid CO2 emissions"),
    "water": ("L", "water use"),
    "delay": ("s", "aggregate delay (sum of D)"),
    "grid_energy": ("kW h", "grid energy"),
    "renewable_energy_used": ("kW h", "renewable energy used"),
    "water_shadow_price": ("USD/L", "marginal cost of the water budget"),
    "mean_latency": ("s", "demand-weighted mean per-query latency"),
    "solve_seconds": ("s", "solver time"),
    "cost_bound": ("USD", "proven lower bound on the objective (the objective itself for an LP)"),
    "downloads": ("1", "model downloads over the day (0 without model placement)"),
}
#: Hourly series every point reports, summed over DCs (name -> (units, long_name)).
HOURLY = {
    "hourly_cost": ("USD", "energy cost + carbon tax per hour"),
    "hourly_emissions": ("kg", "grid CO2 emissions per hour"),
}


@dataclass(frozen=True)
class Point:
    """One solve of a parameter grid.

    :param model: ``"M0"``..``"M3"``, weights, or a mapping of weights (see :func:`~greenaolo.greenllm.optimise.solve`).
    :param scaling: the Psi factors applied to the seed's paper instance.
    :param limits: epsilon-constraint limits ``{name: value}``.
    :param extensions: the MILP extension; ``None`` for the paper's LP.
    :param seed: scenario seed.
    :param solver: ``"auto"``, ``"highs"`` or ``"gurobi"``.
    :param time_limit: seconds per solve (MILP); a time-limited incumbent is kept and marked.
    :param mip_gap: relative MIP gap at which a MILP stops.
    :param size: ``(areas, DCs, hours)`` of a :func:`~greenaolo.greenllm.scenario.synthetic_scenario` drawn
        with ``seed`` instead of the paper instance (``scaling`` is then ignored).
    """

    model: str | tuple[float, ...] | tuple[tuple[str, float], ...] = "M0"
    scaling: Scaling = field(default_factory=Scaling)
    limits: tuple[tuple[str, float], ...] = ()
    extensions: Extensions | None = None
    seed: int = 42
    solver: str = "auto"
    time_limit: float | None = None
    mip_gap: float = 1e-4
    size: tuple[int, int, int] | None = None


def solve_point(point: Point, threads: int | None = None) -> dict:
    """Solve one point; return its :data:`SUMMARY` scalars, :data:`HOURLY` series and solver facts; with model
    placement, also ``placement`` and ``served`` (queries served) on (dc, query, time)."""
    scenario = (paper_scenario(point.seed, point.scaling) if point.size is None
                else synthetic_scenario(*point.size, seed=point.seed))
    model = dict(point.model) if point.model and isinstance(point.model[0], tuple) else point.model
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SolverFallbackWarning)  # the solver that ran is recorded below
            ds = solve(
                scenario, model, limits=dict(point.limits), extensions=point.extensions, solver=point.solver,
                time_limit=point.time_limit, allow_suboptimal=point.time_limit is not None, threads=threads,
                mip_gap=point.mip_gap,
            )
    except SolveError as exc:  # e.g. an infeasible epsilon-constraint point: reported, not fatal
        out = dict.fromkeys(SUMMARY, float("nan"))
        out.update({name: np.full(scenario.sizes["time"], np.nan) for name in HOURLY})
        out.update(solver="none", optimal=0, mip_gap=float("nan"), n_variables=0, error=str(exc))
        return out
    demand = ds.demand
    measured = {name for name in SUMMARY if name not in ("mean_latency", "cost_bound", "downloads")}
    out = {name: float(ds[name]) if name in ds else float(ds.attrs[name]) for name in measured}
    out["cost_bound"] = float(ds.attrs["bound"])
    out["downloads"] = float(ds.downloads.sum()) if "downloads" in ds else 0.0
    if "placement" in ds:
        out["placement"] = ds.placement.transpose("dc", "query", "time").values
        out["served"] = (ds.allocation * demand).sum("area").transpose("dc", "query", "time").values
    out["mean_latency"] = float((ds.latency * demand).sum() / demand.sum())
    out["hourly_cost"] = (ds.hourly_energy_cost + ds.hourly_carbon_cost).sum("dc").values
    out["hourly_emissions"] = ds.hourly_emissions.sum("dc").values
    out.update(
        solver=ds.attrs["solver"], optimal=int(ds.attrs["optimal"]), mip_gap=float(ds.attrs["mip_gap"]),
        n_variables=int(ds.attrs["n_variables"]), error="",
    )
    return out


def solve_point_task(point: Point) -> dict:
    """:func:`solve_point` with one solver thread: the same numbers on any worker, and no oversubscription
    when workers share the cores."""
    return solve_point(point, threads=1)


def run_points(
    points: Sequence[Point], *, processes: int | None = None, scheduler: str | None = None,
    store: str | os.PathLike | None = None, desc: str = "sweep",
) -> list[dict]:
    """Solve every point with :func:`greenaolo.tasks.run_tasks`, with a progress bar.

    :param processes: local worker processes (``None`` or 0: one per core; 1: serial in this process).
    :param scheduler: ``"serial"``, ``"local"`` or a Dask scheduler address (see :mod:`greenaolo.tasks`).
    :param store: folder of finished points; a re-run computes only the missing ones.
    :returns: one summary dict per point, in the order of ``points`` (with ``"_provenance"``).
    """
    if processes is not None and (isinstance(processes, bool) or not isinstance(processes, int) or processes < 0):
        raise ValueError(f"processes={processes!r} is out of range: expected an integer >= 0 (0: every core)")
    return run_tasks([Task(solve_point_task, {"point": p}) for p in points], scheduler=scheduler,
                     workers=processes or None, store=store, desc=desc)


def stack(results: Sequence[dict], names: Mapping[str, tuple[str, str]] = SUMMARY) -> dict[str, np.ndarray]:
    """Stack the per-point results into arrays, one per name."""
    return {name: np.array([r[name] for r in results]) for name in names}
