"""Why a Green-LLM model has no feasible allocation: cheap checks that name the constraint family that cannot
hold (``docs/greenllm.md#constraints``), used when a solve reports infeasibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from greenaolo import solvers

from greenaolo.greenllm.model import Extensions, _energy_per_query, _tokens, build_model, delay_coefficient

__all__ = ["InfeasibleError", "infeasibility_reasons"]


class InfeasibleError(solvers.SolveError):
    """No allocation satisfies every constraint; the message names the family that cannot hold, where a
    cheap check finds it."""


def _first(where: xr.DataArray) -> dict[str, object]:
    """The coordinates of the first True of ``where``."""
    index = np.argwhere(np.asarray(where))[0]
    return {d: where[d].values[i].item() for d, i in zip(where.dims, index)}


def infeasibility_reasons(scenario: xr.Dataset, extensions: Extensions | None = None) -> list[str]:
    """Necessary conditions of feasibility that fail, in words: demand above the total resource capacity or
    above what the grid and renewables can power, a delay cap no DC meets, a water budget below the least
    water any allocation uses (an LP that minimises water; run only when the cheap checks find nothing).
    An empty list means none of these explains it (the constraints conflict only jointly)."""
    s, ext = scenario, extensions or Extensions()
    served = 1.0 - (ext.max_unmet if ext.unmet_penalty is not None else 0.0)
    reasons = []
    need = (s.resource_per_token * _tokens(s) * s.demand).sum(["area", "query"]) * served
    short = need > s.capacity.sum("dc") * (1 + 1e-9)
    if bool(short.any()):
        at = _first(short)
        reasons.append(
            f"resource capacity (constraint 7): in hour {at['time']} the demand needs {float(need.sel(at)):.4g} units "
            f"of {at['resource']}, above the {float(s.capacity.sel(resource=at['resource']).sum()):.4g} of every "
            "DC together")
    energy = _energy_per_query(s) * s.demand * served
    least = (energy * s.pue.min("dc")).sum(["area", "query"])
    supply = (s.grid_limit + s.renewable).sum("dc")
    if ext.servers is None and bool((least > supply * (1 + 1e-9)).any()):
        at = _first(least > supply * (1 + 1e-9))
        reasons.append(
            f"power balance (constraint 3): in hour {at['time']} serving the demand takes at least "
            f"{float(least.sel(at)):.4g} kWh, above the grid limits and renewables of every DC together "
            f"({float(supply.sel(at)):.4g} kWh)")
    if ext.unmet_penalty is None:
        late = (delay_coefficient(s).min("dc") > s.delay_cap * (1 + 1e-9))
        if bool(late.any()):
            at = _first(late)
            reasons.append(
                f"delay cap (constraint 12): area {at['area']!r}, query {at['query']!r}, hour {at['time']} exceeds "
                f"its cap {float(s.delay_cap.sel(area=at['area'], query=at['query'])):.4g} s at every DC")
    if not reasons:
        loose = s.copy()
        # A budget no allocation can reach (HiGHS treats 1e20 and above as infinite, and says so).
        loose["water_budget"] = xr.DataArray(1e15, attrs=s.water_budget.attrs)
        try:  # the least water any allocation uses: an LP that minimises water, with HiGHS
            built = build_model(loose, dataclasses.replace(ext, download_cost=None, servers=None))
            built.model.add_objective(built.metrics["water"])
            solvers.solve(built.model, solver="highs")
            least_water = float(built.metrics["water"].solution.sum())
        except solvers.SolveError:
            return reasons
        if least_water > float(s.water_budget) * (1 + 1e-9):
            reasons.append(
                f"water budget (constraint 6): Z = {float(s.water_budget):.6g} L is below the least water any "
                f"allocation uses, {least_water:.6g} L")
    return reasons
