"""Green-LLM experiments: the functions the notebooks call to produce each table's and figure's dataset.

Each function returns an :class:`xarray.Dataset` with ``units`` and ``long_name`` on every variable; the
notebooks write it with :func:`greenaolo.io.write_dataset` and draw it with :mod:`greenaolo.plotting`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence

import numpy as np
import xarray as xr
from tqdm.auto import tqdm

from greenaolo.greenllm.model import MODEL_NAMES, MODELS, OBJECTIVES, solve, solve_lexicographic
from greenaolo.greenllm.scenario import paper_scenario

__all__ = ["LEXICOGRAPHIC_ORDERS", "compare_models", "scenario_table"]

#: The six priority orders of the notebook's lexicographic runs (F11).
LEXICOGRAPHIC_ORDERS: tuple[tuple[str, str, str], ...] = tuple(itertools.permutations(OBJECTIVES))
_ABBREV = {"energy": "E", "carbon": "C", "delay": "D"}
REPORTED = {
    "energy_cost": ("$", "energy cost C_E"),
    "carbon_cost": ("$", "carbon tax C_C"),
    "delay_cost": ("$", "delay penalty C_D"),
    "total_cost": ("$", "total cost C_E + C_C + C_D"),
    "emissions": ("kgCO2", "grid emissions"),
    "water": ("L", "water use"),
    "delay": ("s", "aggregate delay (sum of D)"),
}


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
            "price_mean": s.price.mean("time").assign_attrs(units="$/kWh", long_name="mean electricity price"),
            "price_min": s.price.min("time").assign_attrs(units="$/kWh", long_name="lowest hourly price"),
            "price_max": s.price.max("time").assign_attrs(units="$/kWh", long_name="highest hourly price"),
            "renewable_daily": s.renewable.sum("time").assign_attrs(units="kWh", long_name="daily on-site renewables"),
            "carbon_intensity_mean": s.carbon_intensity.mean("time").assign_attrs(
                units="kgCO2/kWh", long_name="mean life-cycle grid carbon intensity"
            ),
            "pue": s.pue,
            "cfe": s.cfe,
            "base_price": s.base_price,
            "carbon_tax": s.carbon_tax,
            "price": s.price,
            "renewable": s.renewable,
            "carbon_intensity": s.carbon_intensity,
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
