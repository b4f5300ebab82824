"""Parameter sweeps of the Green-LLM model: many independent solves, in parallel across processes.

A sweep is a list of :class:`Point` (a model, Psi scaling factors, optional limits and extensions); each
point is solved from scratch in a worker process (nothing is cached between points, so nothing can go
stale) and summarised as plain numbers, so results are identical whichever process ran them. Results come
back in the order of the points.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from greenaolo.greenllm.model import Extensions, solve
from greenaolo.greenllm.scenario import Scaling, paper_scenario
from greenaolo.solvers import SolveError, SolverFallbackWarning

__all__ = ["SUMMARY", "Point", "run_sweep", "solve_point"]

#: Scalars every point reports (name -> (units, long_name)).
SUMMARY = {
    "energy_cost": ("$", "energy cost C_E"),
    "carbon_cost": ("$", "carbon tax C_C"),
    "delay_cost": ("$", "delay penalty C_D"),
    "total_cost": ("$", "total cost C_E + C_C + C_D"),
    "emissions": ("kgCO2", "grid emissions"),
    "water": ("L", "water use"),
    "delay": ("s", "aggregate delay (sum of D)"),
    "grid_energy": ("kWh", "grid energy"),
    "renewable_energy_used": ("kWh", "renewable energy used"),
    "water_shadow_price": ("$/L", "marginal cost of the water budget"),
    "mean_latency": ("s", "demand-weighted mean per-query latency"),
    "solve_seconds": ("s", "solver time"),
}
#: Hourly series every point reports, summed over DCs (name -> (units, long_name)).
HOURLY = {
    "hourly_cost": ("$", "energy cost + carbon tax per hour"),
    "hourly_emissions": ("kgCO2", "grid emissions per hour"),
}


@dataclass(frozen=True)
class Point:
    """One solve of a sweep.

    :param model: ``"M0"``..``"M3"``, weights, or a mapping of weights (see :func:`~greenaolo.greenllm.model.solve`).
    :param scaling: the Psi factors applied to the seed's paper instance.
    :param limits: epsilon-constraint limits ``{name: value}``.
    :param extensions: the MILP extension; ``None`` for the paper's LP.
    :param seed: scenario seed.
    :param solver: ``"auto"``, ``"highs"`` or ``"gurobi"``.
    :param time_limit: seconds per solve (MILP); a time-limited incumbent is kept and marked.
    :param mip_gap: relative MIP gap at which a MILP stops.
    """

    model: str | tuple[float, ...] | tuple[tuple[str, float], ...] = "M0"
    scaling: Scaling = field(default_factory=Scaling)
    limits: tuple[tuple[str, float], ...] = ()
    extensions: Extensions | None = None
    seed: int = 42
    solver: str = "auto"
    time_limit: float | None = None
    mip_gap: float = 1e-4


def solve_point(point: Point, threads: int | None = None) -> dict:
    """Solve one point; return its :data:`SUMMARY` scalars, :data:`HOURLY` series and solver facts."""
    scenario = paper_scenario(point.seed, point.scaling)
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
    out = {name: float(ds[name]) if name in ds else float(ds.attrs[name]) for name in SUMMARY if name != "mean_latency"}
    out["mean_latency"] = float((ds.latency * demand).sum() / demand.sum())
    out["hourly_cost"] = (ds.hourly_energy_cost + ds.hourly_carbon_cost).sum("dc").values
    out["hourly_emissions"] = ds.hourly_emissions.sum("dc").values
    out.update(
        solver=ds.attrs["solver"], optimal=int(ds.attrs["optimal"]), mip_gap=float(ds.attrs["mip_gap"]),
        n_variables=int(ds.attrs["n_variables"]), error="",
    )
    return out


def _solve_serial_threads(point: Point) -> dict:
    return solve_point(point, threads=1)


def run_sweep(points: Sequence[Point], *, processes: int | None = None, desc: str = "sweep") -> list[dict]:
    """Solve every point, ``processes`` at a time (default: every core), with a progress bar.

    With more than one process, each solver runs single-threaded so the cores are not oversubscribed.
    :returns: one summary dict per point, in the order of ``points``.
    """
    points = list(points)
    processes = processes or os.cpu_count() or 1
    if processes < 1:
        raise ValueError(f"processes={processes!r} is out of range: expected an integer >= 1")
    if processes == 1 or len(points) <= 1:
        return [solve_point(p) for p in tqdm(points, desc=desc, unit="solve")]
    with ProcessPoolExecutor(max_workers=min(processes, len(points))) as pool:
        return list(tqdm(pool.map(_solve_serial_threads, points), total=len(points), desc=desc, unit="solve"))


def stack(results: Sequence[dict], names: Mapping[str, tuple[str, str]] = SUMMARY) -> dict[str, np.ndarray]:
    """Stack the per-point results into arrays, one per name."""
    return {name: np.array([r[name] for r in results]) for name in names}
