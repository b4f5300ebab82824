"""A solved Green-LLM model as an xarray Dataset: the allocation, the cost terms, emissions, water, delays
and the solver's facts, with units (``docs/greenllm.md#lp``)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import linopy
import numpy as np
import xarray as xr

from greenaolo import solvers

from greenaolo.greenllm.model import GreenLLMModel, route_latency

__all__ = ["results"]


def _value(expr: linopy.LinearExpression) -> float:
    value = float(expr.solution.sum(skipna=False))
    if not np.isfinite(value):
        raise solvers.SolveError("the solution has missing values: no solution to report")
    return value


def results(
    built: GreenLLMModel,
    info: solvers.SolveInfo,
    *,
    model: str,
    weights: Mapping[str, float] | None,
    build_seconds: float,
    tie_break: bool,
    water_shadow_price: float = float("nan"),
) -> xr.Dataset:
    """The solved model as a Dataset: the decisions, every cost term and the derived metrics.

    Totals (scalars): ``energy_cost``, ``carbon_cost``, ``delay_cost``, ``total_cost`` ($, C_E + C_C + C_D
    evaluated at the solution, as the paper reports every model), ``emissions`` (kgCO2, sum theta P_g),
    ``water`` (L), ``delay`` (s, the paper's aggregate sum of D over (i, k, t)), ``grid_energy``,
    ``facility_energy``, ``renewable_used`` (kWh). Per-query latency (``docs/greenllm.md#latency``): ``latency``
    (area, query, time) is the demand-weighted mean over the DCs served; ``route_latency`` (area, dc, query).
    """
    s = built.scenario
    sol = {name: var.solution for name, var in built.model.variables.items()}
    sol.update({name: expr.solution for name, expr in built.defined.items()})
    x = sol["allocation"]
    p_g = sol["grid_power"]
    p_d = sol["facility_energy"]
    delay = sol["delay_transmission"] + sol["delay_propagation"] + sol["delay_processing"]
    lat = route_latency(s)
    served = x.sum("dc")
    latency = ((lat * x).sum("dc") / served.where(served > 0)).fillna(0.0)

    def var(data, units, long_name):
        return xr.DataArray(data).assign_attrs(units=units, long_name=long_name)

    ds = xr.Dataset(
        {
            "allocation": var(x, "1", "fraction of area i's type-k queries served by DC j in hour t, x"),
            "grid_power": var(p_g, "kW h", "grid energy P_g in the hourly slot"),
            "it_energy": var(sol["it_energy"], "kW h", "IT energy P_c in the hourly slot"),
            "facility_energy": var(p_d, "kW h", "facility energy P_d in the hourly slot"),
            "renewable_used": var(np.maximum(p_d - p_g, 0.0), "kW h", "renewable energy used in the hourly slot"),
            "water_use": var(sol["water"], "L", "water W"),
            "hourly_emissions": var(s.carbon_intensity * p_g, "kg", "grid CO2 emissions theta P_g"),
            "hourly_energy_cost": var(s.price * p_g, "USD", "energy cost c P_g"),
            "hourly_carbon_cost": var(s.carbon_tax * s.carbon_intensity * p_g, "USD", "carbon tax delta theta P_g"),
            "delay_transmission": var(sol["delay_transmission"], "s", "aggregate transmission delay D_tr"),
            "delay_propagation": var(sol["delay_propagation"], "s", "propagation delay D_pr"),
            "delay_processing": var(sol["delay_processing"], "s", "aggregate processing delay D_pc"),
            "latency": var(latency, "s", "per-query latency, mean over the DCs served"),
            "route_latency": var(lat, "s", "per-query latency of route i -> j"),
            "demand": s.demand,
        }
    )
    totals = {
        "energy_cost": (_value(built.costs["energy"]), "USD", "energy cost C_E"),
        "carbon_cost": (_value(built.costs["carbon"]), "USD", "carbon tax C_C"),
        "delay_cost": (_value(built.costs["delay"]), "USD", "delay penalty C_D"),
        "emissions": (float((s.carbon_intensity * p_g).sum(skipna=False)), "kg", "grid CO2 emissions"),
        "water": (float(sol["water"].sum(skipna=False)), "L", "water use"),
        "delay": (float(delay.sum(skipna=False)), "s", "aggregate delay (the paper's sum of D)"),
        "grid_energy": (float(p_g.sum(skipna=False)), "kW h", "grid energy"),
        "facility_energy": (float(p_d.sum(skipna=False)), "kW h", "facility energy"),
        "renewable_energy_used": (float(np.maximum(p_d - p_g, 0).sum(skipna=False)), "kW h", "renewable energy used"),
    }
    for extra in ("unmet", "download"):
        if extra in built.costs:
            totals[f"{extra}_cost"] = (_value(built.costs[extra]), "USD", f"{extra} cost")
    totals["total_cost"] = (
        sum(v for k, (v, _, _) in totals.items() if k.endswith("_cost")),
        "USD",
        "total cost C_E + C_C + C_D (+ extension costs)",
    )
    totals["water_shadow_price"] = (
        water_shadow_price, "USD/L", "marginal cost of one litre less water budget (dual of constraint 6 in the "
        "model's own objective; NaN for a MILP)",
    )
    for name, (value, units, long_name) in totals.items():
        ds[name] = xr.DataArray(value, attrs={"units": units, "long_name": long_name})
    if "unmet" in sol:
        ds["unmet"] = var(sol["unmet"], "1", "unserved fraction q")
    if "active_servers" in sol:
        ds["active_servers"] = var(sol["active_servers"], "1", "active servers n")
    if "placement" in sol:
        z = sol["placement"].broadcast_like(s.time).transpose("dc", "query", "time")  # tight form: kept all day
        downloads = (z - z.shift(time=1).fillna(0.0)).clip(min=0.0)
        ds["placement"] = var(z, "1", "model k placed at DC j in hour t, z")
        ds["downloads"] = var(downloads, "1", "model downloads, z switching on")
    ds.attrs.update(info.attrs())
    ds.attrs.update(
        model=model,
        weights=json.dumps(weights),
        extensions=built.extensions.to_json(),
        scaling=s.attrs.get("scaling", "{}"),
        tie_break=int(tie_break),
        build_seconds=build_seconds,
        n_variables=int(built.model.nvars),
        n_constraints=int(built.model.ncons),
        scenario=s.attrs.get("source", "user scenario"),
    )
    return ds
