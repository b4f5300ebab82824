"""Green-LLM explorer: the paper instance re-solved for one setting of the Psi factors, fast enough for sliders.

:func:`explore_view` returns one :class:`xarray.Dataset` per setting (Psi factors of
:class:`~greenaolo.greenllm.scenario.Scaling`, a water budget, a model M0-M3 or weights): the cost terms,
emissions and water beside M0's baseline (M0 at ``Scaling()``), and the queries each DC serves per hour.
The notebook ``notebooks/explore_greenllm.ipynb`` puts sliders over it; :func:`greenaolo.greenllm.figures.
draw_explore` draws it.

Why not :func:`greenaolo.greenllm.optimise.solve` per slider move: building the linopy model takes about 0.35 s
and extracting the results 0.1 s, against 0.1 s for HiGHS itself (M1 and M2 solve twice, for their
tie-break), so a move would cost 0.6-1.1 s. The model's structure does not change with the Psi factors, only its numbers, and
those are exact sums of monomials of the factors (a coefficient of x in the power balance is
``PUE (tau_in h + tau_out f) lambda``, so it scales with ``Psi_tau Psi_lambda``). :class:`ParametricLP`
builds the model three times at chosen factors with :func:`~greenaolo.greenllm.model.build_model` itself,
solves for each monomial's part, and checks the result on a fourth build, so the model stays defined in
one place: a change in ``model.py`` that breaks the assumed dependence fails at once, not silently. A
re-solve is then one HiGHS run on arrays (two for the tie-break of M1/M2, as ``solve`` does it). An
infeasible setting is explained by :func:`greenaolo.greenllm.diagnosis.infeasibility_reasons`.

Measured side by side (2026-12-06, 14 settings under M0 and M1, 2 cores): a view takes 0.13 s (median; at most
0.23 s) this way against 0.56 s (at most 0.91 s) through ``solve``: 4.4x. A slider release answered in about a
tenth of a second feels immediate; half a second to a second does not, so :class:`ParametricLP` stays, with
the tie-break, weights and totals of :mod:`~greenaolo.greenllm.optimise` and :mod:`~greenaolo.greenllm.model`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse
import xarray as xr

from greenaolo.greenllm.diagnosis import infeasibility_reasons
from greenaolo.greenllm.model import METRICS, MODELS, OBJECTIVES, GreenLLMModel, build_model, total_cost
from greenaolo.greenllm.optimise import check_weights, model_weights, solve
from greenaolo.greenllm.lp_arrays import ArrayLP, coefficients, lp_arrays
from greenaolo.greenllm.scenario import Scaling, apply_scaling, paper_scenario
from greenaolo.greenllm.points import SUMMARY
from greenaolo.solvers import SolveError, SolverFallbackWarning

__all__ = ["MODEL_CHOICES", "SLIDERS", "REPORTED", "ParametricLP", "explore_table", "explore_view"]

#: The reported totals, in the order of the table and the figure: (units, label), as every point reports them.
REPORTED: dict[str, tuple[str, str]] = {
    name: SUMMARY[name] for name in ("energy_cost", "carbon_cost", "delay_cost", "total_cost", "emissions", "water")
}
#: The model dropdown: the compared models (docs/greenllm.md#objectives), or ``"weights"`` for weights of one's own.
MODEL_CHOICES = (*MODELS, "weights")
#: Slider ranges of the Psi factors, (low, high, step); 1 is the paper instance.
SLIDERS: dict[str, tuple[float, float, float]] = {
    "theta": (0.0, 3.0, 0.05),
    "pw": (0.0, 3.0, 0.05),
    "tau": (0.1, 3.0, 0.05),
    "rho": (0.0, 5.0, 0.1),
    "price": (0.1, 3.0, 0.05),
    "demand": (0.1, 4.0, 0.05),
    "water": (0.1, 2.0, 0.01),
}

# Which monomials of the Psi factors each piece of the LP is a sum of (model.py, docs/greenllm.md#lp):
# A: full allocation and the P_g terms are constant, resource use ~ lambda, power balance and water ~
# tau lambda, the delay cap ~ lambda (transmission, processing) + 1 (propagation); b: capacities and caps
# constant, renewables ~ Psi_Pw, the water budget ~ Psi_water; the cost and metric vectors as named.
DEPENDENCE: dict[str, tuple[str, ...]] = {
    "A": ("1", "demand", "tau*demand"),
    "b": ("1", "pw", "water"),
    "lb": ("1",),
    "ub": ("1",),
    "energy": ("price",),
    "carbon": ("theta",),
    "delay": ("rho", "rho*demand"),
    "emissions": ("theta",),
    "water": ("tau*demand",),
}
#: Factors of the three builds: powers of two, so the scaled coefficients (and their differences) are exact.
PROBES = (
    Scaling(),
    Scaling(demand=2.0, pw=2.0, water=4.0, price=2.0, theta=2.0, rho=2.0),
    Scaling(tau=2.0, pw=4.0, water=2.0, price=4.0, theta=4.0, rho=4.0),
)
#: Factors of the build that checks the fitted dependence (none of them 1 or a probe's value).
CHECK = Scaling(theta=1.37, pw=0.61, tau=1.23, rho=0.77, price=1.11, demand=0.89, water=1.7)
CHECK_RTOL = 1e-9


def _monomial(name: str, scaling: Scaling) -> float:
    """The value of a monomial such as ``"tau*demand"`` at ``scaling`` (``"1"`` is 1)."""
    return float(np.prod([getattr(scaling, f) for f in name.split("*") if f != "1"]))


class ParametricLP:
    """The paper LP (``build_model`` on ``paper_scenario(seed)``) with its numbers as functions of the Psi
    factors: :meth:`data` gives the matrix, bounds and the cost and metric vectors at any
    :class:`Scaling` without building the model again.

    :param seed: seed of the paper instance (42 is the paper's).
    :raises RuntimeError: the model's numbers do not depend on the factors as :data:`DEPENDENCE` says (a
        change in ``model.py``); the check build names the piece that differs.
    """

    def __init__(self, seed: int = 42) -> None:
        self.seed = int(seed)
        self.base = paper_scenario(self.seed)
        built = build_model(self.base)
        mats = built.model.matrices
        arrays = lp_arrays(built.model)
        self.n_cols = arrays["A"].shape[1]
        self.sense = arrays["sense"]
        alloc = built.model.variables["allocation"].labels
        #: Column of x[i,j,k,t], dims (area, dc, query, time).
        self.allocation_columns = alloc.transpose("area", "dc", "query", "time").values
        self.water_row = int(np.searchsorted(mats.clabels, int(built.model.constraints["water_budget"].labels)))
        samples = [self._sample(built)] + [self._sample(build_model(apply_scaling(self.base, p))) for p in PROBES[1:]]
        self._parts = {name: self._fit(name, [s[name] for s in samples]) for name in DEPENDENCE}
        self._check(self._sample(build_model(apply_scaling(self.base, CHECK))))

    def _sample(self, built: GreenLLMModel) -> dict[str, object]:
        arrays = lp_arrays(built.model)
        costs = {name: coefficients(built.costs[name], self.n_cols) for name in OBJECTIVES}
        metrics = {name: coefficients(built.metrics[name], self.n_cols) for name in ("emissions", "water")}
        return {**{name: arrays[name] for name in ("A", "b", "lb", "ub")}, **costs, **metrics}

    def _fit(self, name: str, samples: list) -> list:  # of CSR matrices for "A", of vectors otherwise
        """Each monomial's part of one piece, from its values at the probes (least squares, exact here)."""
        design = np.array([[_monomial(m, p) for m in DEPENDENCE[name]] for p in PROBES])
        if np.linalg.matrix_rank(design) < design.shape[1]:
            raise RuntimeError(f"the probes cannot separate the monomials of {name!r}")
        weights = np.linalg.pinv(design)  # (monomials, probes)
        if name == "A":
            first = samples[0]
            for other in samples[1:]:
                if not (np.array_equal(first.indptr, other.indptr) and np.array_equal(first.indices, other.indices)):
                    raise RuntimeError("the model's matrix changes its sparsity with the Psi factors")
            data = weights @ np.stack([s.data for s in samples])
            return [scipy.sparse.csr_array((d, first.indices, first.indptr), shape=first.shape) for d in data]
        return list(weights @ np.stack(samples))

    def _check(self, sample: dict[str, object]) -> None:
        fitted = self.data(CHECK)
        for name in DEPENDENCE:
            want, got = sample[name], fitted[name]
            error = abs(got - want).max() if np.shape(got) == np.shape(want) else np.inf
            if not error <= CHECK_RTOL * abs(want).max():
                raise RuntimeError(
                    f"the model's {name!r} does not depend on the Psi factors as DEPENDENCE says "
                    f"({', '.join(DEPENDENCE[name])}); update greenaolo/greenllm/explore.py with model.py"
                )

    def data(self, scaling: Scaling) -> dict[str, object]:
        """The LP's pieces at ``scaling``: ``A`` (CSR), ``b``, ``lb``, ``ub`` and the vectors ``energy``,
        ``carbon``, ``delay`` (cost terms, $) and ``emissions`` (kgCO2), ``water`` (L) over the columns.

        :param scaling: the Psi factors.
        """
        out: dict[str, object] = {}
        for name, monomials in DEPENDENCE.items():
            factors = [_monomial(m, scaling) for m in monomials]
            out[name] = functools.reduce(lambda a, b: a + b, (f * part for f, part in zip(factors, self._parts[name])))
        return out

    def routed(self, x: np.ndarray, scaling: Scaling) -> np.ndarray:
        """Queries each DC serves per hour, (dc, time): ``sum_{i,k} x[i,j,k,t] lambda[i,k,t]``.

        :param x: the solution over the columns.
        :param scaling: the Psi factors (Psi_lambda scales the demand).
        """
        demand = self.base.demand.transpose("area", "query", "time").values * scaling.demand
        return np.einsum("ijkt,ikt->jt", x[self.allocation_columns], demand)


def _weights(model: str, weights: Sequence[float] | Mapping[str, float] | None) -> dict[str, float]:
    if model not in MODEL_CHOICES:
        raise ValueError(f"model={model!r} is unknown: expected one of {MODEL_CHOICES}")
    if model == "weights":
        if weights is None:
            raise ValueError("model='weights' needs weights=(w_energy, w_carbon, w_delay)")
        return check_weights(weights)
    return model_weights(model)


def _effective(scaling: Scaling, water_litres: float | None, base_budget: float) -> Scaling:
    """``scaling`` with an absolute water budget (litres) turned into its Psi_water."""
    if water_litres is None:
        return scaling
    if not np.isfinite(water_litres) or water_litres < 0:
        raise ValueError(f"water_litres={water_litres!r} is out of range: expected a finite number >= 0")
    return dataclasses.replace(scaling, water=float(water_litres) / base_budget)


@functools.lru_cache(maxsize=4)
def _parametric(seed: int) -> ParametricLP:
    return ParametricLP(seed)


def _solve_fast(lp: ParametricLP, scaling: Scaling, weights: Mapping[str, float]) -> tuple[np.ndarray | None, str]:
    """Solve as :func:`~greenaolo.greenllm.optimise.solve` does (with its tie-break); ``(x, "")`` or
    ``(None, HiGHS's status)``."""
    data = lp.data(scaling)
    return ArrayLP(data, lp.sense).solve({name: data[name] for name in (*OBJECTIVES, *METRICS)}, weights)


def _terms(data: Mapping[str, object], x: np.ndarray) -> dict[str, float]:
    out = {f"{name}_cost": float(data[name] @ x) for name in OBJECTIVES}
    out["total_cost"] = total_cost(out, "_cost")
    out["emissions"] = float(data["emissions"] @ x)
    out["water"] = float(data["water"] @ x)
    return out


def _describe(scaling: Scaling, model: str, weights: Mapping[str, float], budget: float) -> str:
    changed = [f"Psi_{f.name}={getattr(scaling, f.name):g}" for f in dataclasses.fields(scaling)
               if f.name != "water" and getattr(scaling, f.name) != 1.0]
    name = model if model != "weights" else "weights " + "/".join(f"{weights.get(o, 0):g}" for o in OBJECTIVES)
    return ", ".join([name, *changed, f"water budget {budget:,.0f} L"])


@functools.lru_cache(maxsize=8)
def _baseline(seed: int, solver: str) -> tuple[float, ...]:
    view = _compute(Scaling(), "M0", None, None, seed, solver)
    return tuple(float(view.value.sel(term=t)) for t in REPORTED)


def explore_view(
    scaling: Scaling | None = None,
    model: str = "M0",
    *,
    weights: Sequence[float] | Mapping[str, float] | None = None,
    water_litres: float | None = None,
    seed: int = 42,
    solver: str = "highs",
) -> xr.Dataset:
    """One setting of the paper instance, solved: its totals beside M0's baseline, and the hourly load per DC.

    With ``solver="highs"`` the LP is re-solved from :class:`ParametricLP` (a tenth of a second or two);
    any other solver goes through :func:`~greenaolo.greenllm.optimise.solve` (the same numbers, slower). A
    setting with no feasible allocation is not an error: the view's ``message`` says why in one line,
    and its values are NaN.

    :param scaling: the Psi factors; ``None`` means all 1 (the paper instance).
    :param model: ``"M0"`` .. ``"M3"``, or ``"weights"`` to use ``weights``.
    :param weights: ``(w_energy, w_carbon, w_delay)`` or a mapping over the cost terms and the metrics
        ``emissions`` and ``water`` (:func:`~greenaolo.greenllm.optimise.solve`); used with ``model="weights"``,
        ignored otherwise.
    :param water_litres: an absolute water budget Z (L), overriding ``scaling.water``; ``None`` keeps it.
    :param seed: seed of the paper instance.
    :param solver: ``"highs"`` (fast path), ``"auto"`` or ``"gurobi"``.
    :returns: Dataset with ``value`` and ``baseline`` on ``term`` (:data:`REPORTED`), ``change`` (value /
        baseline - 1), ``routed`` (dc, time) and ``solve_seconds``; attributes ``feasible``, ``message``
        (why not, one line; ``""`` when feasible), ``label`` (the setting), ``status`` (one line: the
        setting and its solve time or ``message``), ``model``, ``weights``, ``scaling``, ``water_budget``
        (L), ``seed``, ``solver``.
    :raises ValueError: an unknown model, missing or invalid weights, or a negative water budget.
    """
    view = _compute(scaling or Scaling(), model, weights, water_litres, int(seed), solver)
    baseline = np.array(_baseline(int(seed), solver))
    view["baseline"] = ("term", baseline, {"units": "various (see term_units)", "long_name": "M0 at Scaling() (the paper instance)"})
    with np.errstate(divide="ignore", invalid="ignore"):
        view["change"] = ("term", view.value.values / baseline - 1.0, {"units": "1", "long_name": "value / baseline - 1"})
    return view


def _compute(scaling: Scaling, model: str, weights: Sequence[float] | Mapping[str, float] | None,
             water_litres: float | None, seed: int, solver: str) -> xr.Dataset:
    w = _weights(model, weights)
    base = paper_scenario(seed) if solver != "highs" else _parametric(seed).base  # built once per seed
    started = time.perf_counter()
    scaling = _effective(scaling, water_litres, float(base.water_budget))
    budget = float(base.water_budget) * scaling.water
    message = ""
    if solver == "highs":
        lp = _parametric(seed)
        x, status = _solve_fast(lp, scaling, w)
        if x is not None:
            values = _terms(lp.data(scaling), x)
            routed = lp.routed(x, scaling)
    else:
        try:
            result = solve(apply_scaling(base, scaling), w, solver=solver)
        except SolveError as exc:  # an infeasible model's message names the constraint that cannot hold
            x, status, message = None, str(exc), str(exc)
        else:
            x = result.allocation
            values = {t: float(result[t]) for t in REPORTED}
            routed = (result.allocation * result.demand).sum(["area", "query"]).transpose("dc", "time").values
    if x is None and not message:
        if "infeasible" in status.lower():
            with warnings.catch_warnings():  # its least-water LP may fall back to HiGHS: irrelevant here
                warnings.simplefilter("ignore", SolverFallbackWarning)
                reasons = infeasibility_reasons(apply_scaling(base, scaling))
            message = "the model is infeasible: " + ("; ".join(reasons) or "no single constraint family explains it")
        else:  # e.g. a time limit: say what the solver said
            message = f"no optimal solution: HiGHS ended {status}"
    if x is None:
        values = dict.fromkeys(REPORTED, np.nan)
        routed = np.full((base.sizes["dc"], base.sizes["time"]), np.nan)
    seconds = time.perf_counter() - started
    label = _describe(scaling, model, w, budget)
    ds = xr.Dataset(
        {
            "value": ("term", [values[t] for t in REPORTED], {"units": "various (see term_units)", "long_name": "this setting"}),
            "routed": (("dc", "time"), routed, {"units": "h-1", "long_name": "queries served per hour, summed over areas and query types"}),
            "solve_seconds": ((), seconds, {"units": "s", "long_name": "time to compute this view"}),
        },
        coords={
            "term": ("term", list(REPORTED)),
            "term_units": ("term", [u for u, _ in REPORTED.values()]),
            "term_label": ("term", [label for _, label in REPORTED.values()]),
            "dc": base.dc.values,
            "dc_location": ("dc", base.dc_location.values),
            "time": base.time.values,
        },
    )
    ds.attrs.update(
        feasible=int(x is not None), message=message, label=label,
        status=f"{label}: " + (message or f"solved in {seconds:.2f} s ({solver})"), model=model,
        weights=json.dumps(w), scaling=scaling.to_json(), water_budget=budget, seed=seed, solver=solver,
    )
    return ds


def explore_table(view: xr.Dataset) -> pd.DataFrame:
    """The view's totals as a table: this setting, M0's baseline and the change in percent, one row per term.

    :param view: a Dataset of :func:`explore_view`.
    """
    index = [f"{label} ({units})" for label, units in zip(view.term_label.values, view.term_units.values)]
    return pd.DataFrame(
        {"this setting": view.value.values, "M0 baseline": view.baseline.values, "change (%)": 100 * view.change.values},
        index=pd.Index(index, name=view.attrs["label"]),
    ).round(2)
