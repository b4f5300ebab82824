"""Solving the Green-LLM model: weights and limits, the tie-break among alternative optima, and the
lexicographic procedure (``docs/greenllm.md#objectives``, ``#a8``, ``#lexicographic``).

Alternative optima (``docs/greenllm.md#a8``): when an objective leaves a cost term unpriced (M1 and M2 ignore the
delay; a delay-only phase ignores the grid power), the solution, and so the reported "total cost",
depends on the solver. We break ties deliberately: after the primary solve, the primary objective is held
within a relative ``1e-6`` of its optimum (:func:`relaxed_bound`, the one home of that bound: the explorer
and the year study use it too) and the unweighted total ``C_E + C_C + C_D`` is minimised.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence

import linopy
import numpy as np
import xarray as xr

from greenaolo import solvers

from greenaolo.greenllm.diagnosis import InfeasibleError, infeasibility_reasons
from greenaolo.greenllm.model import METRICS, MODELS, OBJECTIVES, TIE_BREAK_TOLERANCE, Extensions, GreenLLMModel, build_model, placement_start
from greenaolo.greenllm.results import results

__all__ = ["check_weights", "model_weights", "needs_tie_break", "relaxed_bound", "solve", "solve_lexicographic"]


def _solve_or_explain(
    built: GreenLLMModel, limits: Mapping[str, float] | None, start: solvers.Start | None = None, **options,
) -> solvers.SolveInfo:
    """:func:`greenaolo.solvers.solve`; an infeasible model raises :class:`InfeasibleError` with the reasons."""
    try:
        return solvers.solve(built.model, start=start, **options)
    except solvers.SolveError as err:
        if "infeasible" not in str(err):
            raise
        if limits:
            raise InfeasibleError(f"no allocation meets the limits {dict(limits)} with every constraint ({err})") from None
        reasons = infeasibility_reasons(built.scenario, built.extensions)
        why = "; ".join(reasons) if reasons else "no single constraint family explains it (they conflict jointly)"
        raise InfeasibleError(f"the model is infeasible: {why}") from None


def _weighted(built: GreenLLMModel, weights: Mapping[str, float]) -> linopy.LinearExpression:
    terms = {**built.costs, **built.metrics}
    expr = sum(w * terms[name] for name, w in weights.items() if w != 0)
    # Extension costs (unmet demand, downloads) are always priced in full.
    for extra in ("unmet", "download"):
        if extra in built.costs:
            expr = expr + built.costs[extra]
    return expr


def _total(built: GreenLLMModel) -> linopy.LinearExpression:
    return _weighted(built, dict.fromkeys(OBJECTIVES, 1.0))


def check_weights(weights: Sequence[float] | Mapping[str, float]) -> dict[str, float]:
    """Weights as ``{name: w}`` over :data:`OBJECTIVES` and :data:`METRICS`, checked."""
    if not isinstance(weights, Mapping):
        if len(weights) != 3:
            raise ValueError(f"weights={tuple(weights)!r} must have 3 entries (energy, carbon, delay)")
        weights = dict(zip(OBJECTIVES, weights))
    for name, w in weights.items():
        if name not in OBJECTIVES + METRICS:
            raise ValueError(f"weight for {name!r} is unknown: expected names in {OBJECTIVES + METRICS}")
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"weight for {name}={w!r} is out of range: expected a finite number >= 0")
    if sum(weights.values()) == 0:
        raise ValueError(f"weights={dict(weights)!r} are all zero: at least one must be positive")
    return {name: float(w) for name, w in weights.items()}


def _add_limits(built: GreenLLMModel, limits: Mapping[str, float] | None) -> None:
    """Upper limits on cost terms or metrics (the epsilon-constraint method): ``f <= limit``."""
    terms = {**built.costs, **built.metrics}
    for name, value in (limits or {}).items():
        if name not in OBJECTIVES + METRICS:
            raise ValueError(f"limit on {name!r} is unknown: expected names in {OBJECTIVES + METRICS}")
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"limit on {name}={value!r} is out of range: expected a finite number >= 0")
        built.model.add_constraints(terms[name] <= float(value), name=f"limit_{name}")


def relaxed_bound(value: float, tolerance: float = TIE_BREAK_TOLERANCE) -> float:
    """The bound that holds an objective at its optimum ``value`` while ties are broken (and a lexicographic
    phase's bound): ``value + tolerance * |value|``, plus a small absolute slack that guards value == 0. The
    one home of this formula: :func:`solve`, the explorer and the year study's re-solved LP all use it."""
    return value + tolerance * abs(value) + 1e-9


def model_weights(model: str) -> dict[str, float]:
    """The weights of a compared model M0-M3 over :data:`OBJECTIVES` (``docs/greenllm.md#objectives``).

    :raises ValueError: an unknown model.
    """
    if model not in MODELS:
        raise ValueError(f"model={model!r} is unknown: expected one of {tuple(MODELS)}")
    return dict(zip(OBJECTIVES, MODELS[model]))


def needs_tie_break(weights: Mapping[str, float]) -> bool:
    """Whether an objective leaves ties to break: some cost term has weight zero, so optima can differ in it
    (``docs/greenllm.md#a8``)."""
    return any(weights.get(o, 0.0) == 0 for o in OBJECTIVES)


def _bound(built: GreenLLMModel, expr: linopy.LinearExpression, value: float, tolerance: float, name: str) -> None:
    """Keep ``expr <= relaxed_bound(value, tolerance)``."""
    built.model.add_constraints(expr <= relaxed_bound(value, tolerance), name=name)


def solve(
    scenario: xr.Dataset,
    model: str | Sequence[float] | Mapping[str, float] = "M0",
    *,
    limits: Mapping[str, float] | None = None,
    extensions: Extensions | None = None,
    solver: str = "auto",
    tie_break: bool = True,
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    mip_gap: float = 1e-4,
    allow_suboptimal: bool = False,
) -> xr.Dataset:
    """Solve a weighted Green-LLM model and return the result Dataset (see :func:`results`).

    :param scenario: the scenario Dataset.
    :param model: ``"M0"``, ``"M1"``, ``"M2"``, ``"M3"``, weights ``(w_energy, w_carbon, w_delay)``, or a
        mapping of weights over the cost terms and the metrics ``emissions`` and ``water``
        (``{"emissions": 1}`` minimises emissions).
    :param limits: upper limits ``{name: value}`` on cost terms ($) or metrics (kgCO2, L), as in the
        epsilon-constraint method.
    :param extensions: optional MILP extension (``docs/greenllm.md#milp``); off by default.
    :param solver: ``"auto"``, ``"highs"`` or ``"gurobi"`` (:func:`greenaolo.solvers.solve`).
    :param tie_break: resolve alternative optima (``docs/greenllm.md#a8``) by minimising the total cost among them; only
        runs a second solve when some weight is zero.
    :param time_limit: seconds per solve; hitting it raises :class:`greenaolo.solvers.SolveError`.
    :param threads: solver threads; ``None`` for the solver's default.
    :param seed: solver random seed.
    :param mip_gap: relative MIP gap (MILP extension only).
    :param allow_suboptimal: return a time-limited MILP's incumbent, marked ``optimal = 0`` in the
        attributes, instead of raising :class:`greenaolo.solvers.SolveError`.
    """
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(f"model={model!r} is unknown: expected one of {sorted(MODELS)} or 3 weights")
        weights, label = model_weights(model), model
    else:
        weights, label = check_weights(model), "weighted"
    started = time.perf_counter()
    built = build_model(scenario, extensions)
    _add_limits(built, limits)
    build_seconds = time.perf_counter() - started
    objective = _weighted(built, weights)
    built.model.add_objective(objective)
    options = dict(
        solver=solver, time_limit=time_limit, threads=threads, seed=seed, mip_gap=mip_gap,
        allow_suboptimal=allow_suboptimal,
    )
    info = _solve_or_explain(built, limits, placement_start(built), **options)
    shadow = _water_shadow_price(built)  # the dual of this model's own objective, before any tie-break
    if tie_break and needs_tie_break(weights):
        _bound(built, objective, info.objective, TIE_BREAK_TOLERANCE, "tie_break_primary")
        built.model.add_objective(_total(built), overwrite=True)
        info = info.merge(solvers.solve(built.model, **{**options, "solver": info.solver}))
    ds = results(built, info, model=label, weights=weights, build_seconds=build_seconds, tie_break=tie_break,
                 water_shadow_price=shadow)
    ds.attrs["limits"] = json.dumps(dict(limits or {}))
    return ds


def solve_lexicographic(
    scenario: xr.Dataset,
    order: Sequence[str] = ("energy", "delay", "carbon"),
    *,
    tolerance: float = 1e-3,
    extensions: Extensions | None = None,
    solver: str = "auto",
    tie_break: bool = True,
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    mip_gap: float = 1e-4,
) -> xr.Dataset:
    """Lexicographic optimisation (the likely Algorithm 1, ``docs/greenllm.md#lexicographic``).

    For phase p = 1..3, minimise ``order[p]`` subject to constraints 1-12 and
    ``f_q <= (1 + tolerance) f_q*`` for every earlier phase q. With ``tie_break``, a last solve keeps the
    final objective within ``1e-6`` of its optimum and minimises the total cost (``docs/greenllm.md#a8``).

    :param order: a permutation of ``("energy", "carbon", "delay")``, highest priority first.
    :param tolerance: epsilon of the phase constraints (the authors use 0.001); in [0, 1].
    """
    order = tuple(order)
    if sorted(order) != sorted(OBJECTIVES):
        raise ValueError(f"order={order!r} must be a permutation of {OBJECTIVES}")
    if not 0 <= tolerance <= 1:
        raise ValueError(f"tolerance={tolerance!r} is out of range: expected a number in [0, 1]")
    started = time.perf_counter()
    built = build_model(scenario, extensions)
    build_seconds = time.perf_counter() - started
    options = dict(solver=solver, time_limit=time_limit, threads=threads, seed=seed, mip_gap=mip_gap)
    info = None
    phase_optima = {}
    for phase, name in enumerate(order):
        built.model.add_objective(built.costs[name], overwrite=True)
        step = _solve_or_explain(built, None, **options) if phase == 0 else solvers.solve(built.model, **options)
        info = step if info is None else info.merge(step)
        options["solver"] = info.solver
        phase_optima[name] = step.objective
        is_last = phase == len(order) - 1
        if not is_last:
            _bound(built, built.costs[name], step.objective, tolerance, f"lexicographic_{name}")
            continue
        shadow = _water_shadow_price(built)  # the last phase's dual, before the tie-break
        if tie_break:
            _bound(built, built.costs[name], step.objective, TIE_BREAK_TOLERANCE, "tie_break_primary")
            built.model.add_objective(_total(built), overwrite=True)
            info = info.merge(solvers.solve(built.model, **options))
    ds = results(built, info, model="lexicographic", weights=None, build_seconds=build_seconds, tie_break=tie_break,
                 water_shadow_price=shadow)
    ds.attrs["lexicographic_order"] = ",".join(order)
    ds.attrs["lexicographic_tolerance"] = tolerance
    ds.attrs["phase_optima"] = json.dumps(phase_optima)
    return ds


def _water_shadow_price(built: GreenLLMModel) -> float:
    """-dual of the water budget of the last LP solved ($/L); 0 when the budget is slack."""
    if built.model.variables.integers or built.model.variables.binaries:
        return float("nan")
    try:
        return float(-np.asarray(built.model.constraints["water_budget"].dual).sum()) + 0.0  # no -0.0
    except (KeyError, AttributeError, TypeError):
        return float("nan")
