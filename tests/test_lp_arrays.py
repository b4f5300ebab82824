"""ArrayLP, the one re-solvable LP of the explorer and the year studies, against an independent solve.

The reference is SciPy's ``linprog`` on the same arrays, the tie-break done as two separate solves (the primary
optimum, then the least total cost with the primary held at :func:`relaxed_bound`): no code of ArrayLP's.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse

from greenaolo.greenllm.lp_arrays import ArrayLP
from greenaolo.greenllm.model import total_cost
from greenaolo.greenllm.optimise import model_weights, relaxed_bound


def _instance(rng: np.random.Generator, n_sources: int = 3, n_sinks: int = 4):
    """A transport LP: every sink's demand met (=), every source's capacity kept (<=); costs on whole numbers
    from a small set, so the primary optima of single-term objectives are faces, not points (ties)."""
    n = n_sources * n_sinks
    rows, senses, b = [], [], []
    demand = rng.integers(1, 5, n_sinks).astype(float)
    for k in range(n_sinks):
        row = np.zeros(n)
        row[k::n_sinks] = 1.0
        rows.append(row), senses.append("="), b.append(demand[k])
    capacity = rng.integers(3, 8, n_sources).astype(float)
    for s in range(n_sources):
        row = np.zeros(n)
        row[s * n_sinks:(s + 1) * n_sinks] = 1.0
        rows.append(row), senses.append("<"), b.append(capacity[s])
    data = {"A": scipy.sparse.csr_array(np.array(rows)), "b": np.array(b), "lb": np.zeros(n), "ub": np.full(n, np.inf)}
    vectors = {name: rng.integers(0, 3, n).astype(float) for name in ("energy", "carbon", "delay")}
    return data, np.array(senses), vectors


def _linprog(data, sense, cost, extra=None):
    a = data["A"].toarray()
    eq, le = sense == "=", sense == "<"
    a_ub, b_ub = a[le], data["b"][le]
    if extra is not None:
        a_ub, b_ub = np.vstack([a_ub, extra[0]]), np.append(b_ub, extra[1])
    out = scipy.optimize.linprog(cost, A_ub=a_ub, b_ub=b_ub, A_eq=a[eq], b_eq=data["b"][eq],
                                 bounds=list(zip(data["lb"], data["ub"])), method="highs-ds")
    assert out.status == 0
    return out


def _reference(data, sense, vectors, weights):
    """(primary optimum, least total cost on the primary's optimal face, greatest total cost on it)."""
    objective = sum(w * vectors[name] for name, w in weights.items() if w != 0)
    primary = _linprog(data, sense, objective).fun
    face = (objective, relaxed_bound(primary))
    total = total_cost(vectors)
    return primary, _linprog(data, sense, total, face).fun, -_linprog(data, sense, -total, face).fun


@pytest.mark.parametrize("warm", [False, True])
def test_array_lp_solves_and_breaks_ties_as_two_independent_solves(warm):
    rng = np.random.default_rng(3)
    data, sense, _ = _instance(rng)
    lp = ArrayLP(data, sense, warm=warm)
    discriminating = 0
    for _ in range(12):  # new costs each time: the warm solvers go on from their previous bases
        vectors = {name: rng.integers(0, 3, len(data["lb"])).astype(float) for name in ("energy", "carbon", "delay")}
        for model in ("M0", "M1", "M2", "M3"):
            weights = model_weights(model)
            x, status = lp.solve(vectors, weights, key=model)
            assert status == "" and x is not None
            primary, least, greatest = _reference(data, sense, vectors, weights)
            objective = sum(w * vectors[name] for name, w in weights.items() if w != 0)
            # the tie-break may spend the bound's slack (relative 1e-6) of the primary objective, no more
            assert primary - 1e-9 <= objective @ x <= relaxed_bound(primary) + 1e-9
            if model in ("M1", "M2"):  # the models with a weight of 0: ties broken by the least total cost
                assert total_cost(vectors) @ x == pytest.approx(least, abs=1e-6)
                discriminating += greatest > least + 1e-6
    assert discriminating >= 5  # the tie-break decided the answer in many of these instances, not by luck


def test_array_lp_says_why_when_there_is_no_optimum():
    rng = np.random.default_rng(0)
    data, sense, vectors = _instance(rng)
    data = {**data, "b": np.where(sense == "<", 0.0, data["b"])}  # no capacity for a positive demand
    x, status = ArrayLP(data, sense).solve(vectors, model_weights("M0"))
    assert x is None and "infeasible" in status.lower()


def test_a_warm_tie_break_refuses_an_objective_outside_its_row():
    rng = np.random.default_rng(1)
    data, sense, vectors = _instance(rng)
    lp = ArrayLP(data, sense, warm=True, tie_columns=np.arange(4))
    with pytest.raises(ValueError, match="outside tie_columns"):
        lp.solve(vectors, model_weights("M1"), key="M1")
