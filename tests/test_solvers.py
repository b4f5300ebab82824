"""The solver layer: Gurobi where its licence allows the model, HiGHS otherwise, never a silent failure."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from greenaolo import solvers
from greenaolo.greenllm.model import Extensions, build_model
from greenaolo.greenllm.optimise import solve, solve_lexicographic
from greenaolo.greenllm.scenario import synthetic_scenario
from greenaolo.solvers import (
    GurobiLicence,
    SolveError,
    SolverFallbackWarning,
    SolverUnavailableError,
    choose_solver,
    gurobi_licence,
)

GUROBI = gurobi_licence()
needs_gurobi = pytest.mark.skipif(GUROBI.kind == "none", reason=f"Gurobi unusable here: {GUROBI.reason}")
PIP_LICENCE = GurobiLicence("size-limited", 0, 20991231, "13.0.3")


@pytest.fixture
def size_limited(monkeypatch):
    """Pretend the pip wheel's size-limited licence is what this machine has."""
    monkeypatch.setattr(solvers, "gurobi_licence", lambda: PIP_LICENCE)


def small_instances(tiny):
    # Each fits the pip licence (< 2,000 variables and constraints).
    return [synthetic_scenario(2, 2, 3, n_query=2, seed=s) for s in range(3)] + [tiny(n_dc=2, price=[0.1, 0.2])]


@needs_gurobi
@pytest.mark.parametrize("model", ["M0", "M1", "M2", "M3"])
def test_gurobi_and_highs_agree_on_instances_that_fit(model, tiny):
    for s in small_instances(tiny):
        g = solve(s, model, solver="gurobi")
        h = solve(s, model, solver="highs")
        assert g.attrs["solver"] == "gurobi" and h.attrs["solver"] == "highs"
        for term in ("energy_cost", "carbon_cost", "delay_cost", "total_cost"):
            assert float(g[term]) == pytest.approx(float(h[term]), rel=1e-5, abs=1e-7), term


@needs_gurobi
def test_gurobi_and_highs_agree_on_lexicographic_and_milp():
    s = synthetic_scenario(2, 2, 3, n_query=2, seed=9)
    g = solve_lexicographic(s, ("delay", "energy", "carbon"), solver="gurobi")
    h = solve_lexicographic(s, ("delay", "energy", "carbon"), solver="highs")
    assert float(g.total_cost) == pytest.approx(float(h.total_cost), rel=1e-5)
    ext = Extensions(servers=50, queries_per_server=400, idle_kw=0.5)
    g = solve(s, "M0", extensions=ext, solver="gurobi", mip_gap=1e-6)
    h = solve(s, "M0", extensions=ext, solver="highs", mip_gap=1e-6)
    assert float(g.total_cost) == pytest.approx(float(h.total_cost), rel=2e-6)
    assert g.attrs["mip_gap"] <= 1e-6 and h.attrs["mip_gap"] <= 1e-6


def test_auto_falls_back_to_highs_with_a_warning_over_the_licence(size_limited, paper):
    built = build_model(paper)
    assert built.model.nvars > solvers.SIZE_LIMIT
    with pytest.warns(SolverFallbackWarning, match=r"over the size-limited Gurobi licence's 2000 / 2000"):
        assert choose_solver(built.model, "auto") == ("highs", "open source (MIT)")
    with pytest.raises(SolverUnavailableError, match=r"solver='gurobi' was requested but cannot be used"):
        choose_solver(built.model, "gurobi")


def test_auto_picks_gurobi_when_the_model_fits(size_limited, tiny):
    built = build_model(tiny())
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverFallbackWarning)
        assert choose_solver(built.model, "auto") == ("gurobi", "size-limited")


def test_no_licence_is_a_clear_error_when_gurobi_is_asked_for(monkeypatch, tiny):
    monkeypatch.setattr(solvers, "gurobi_licence", lambda: GurobiLicence("none", reason="gurobipy is not installed"))
    built = build_model(tiny())
    with pytest.raises(SolverUnavailableError, match="gurobipy is not installed"):
        choose_solver(built.model, "gurobi")
    with pytest.warns(SolverFallbackWarning, match="gurobipy is not installed"):
        assert choose_solver(built.model, "auto")[0] == "highs"


def test_real_fallback_on_the_paper_instance(m0):
    # Whatever licence is installed, the result names the solver that actually ran and why.
    if GUROBI.kind in ("none", "size-limited"):
        assert m0.attrs["solver"] == "highs"
    assert m0.attrs["licence"] in ("open source (MIT)", "full")


def test_unknown_solver_and_bad_options_name_themselves(tiny):
    built = build_model(tiny())
    with pytest.raises(ValueError, match=r"solver='cplex' is unknown"):
        choose_solver(built.model, "cplex")
    with pytest.raises(ValueError, match=r"time_limit=0 is out of range"):
        solvers.solve(built.model, solver="highs", time_limit=0)
    with pytest.raises(ValueError, match=r"threads=0 is out of range"):
        solvers.solve(built.model, solver="highs", threads=0)


def limited_milp():
    """A small MILP (servers and placement) with its objective, for limits that do not depend on speed."""
    built = build_model(synthetic_scenario(4, 4, 6, seed=0),
                        Extensions(servers=50, queries_per_server=1000, idle_kw=0.5, download_cost=3.0,
                                   formulation="compact"))
    built.model.add_objective(sum(built.costs.values()))
    return built


def test_a_limit_is_never_a_silent_success():
    # HiGHS stops at its first improving solution, far from optimal (a gap of ~98%), on any machine.
    with pytest.raises(SolveError, match="termination 'terminated_by_limit': no optimal solution"):
        solvers.solve(limited_milp().model, solver="highs", threads=1, solution_limit=1)
    s = synthetic_scenario(8, 6, 12, seed=0)
    ext = Extensions(servers=1000, queries_per_server=1000, idle_kw=0.5, download_cost=3.0)
    with pytest.raises(SolveError, match="time_limit|no optimal solution"):  # its root alone takes seconds
        solve(s, "M0", extensions=ext, solver="highs", time_limit=0.05)


def test_licence_kind_matches_what_the_solver_choice_does(paper, tiny):
    small, big = build_model(tiny()).model, build_model(paper).model  # 9,936 variables: over the pip licence
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SolverFallbackWarning)
        choices = choose_solver(small, "auto")[0], choose_solver(big, "auto")[0]
    expected = {"none": ("highs", "highs"), "size-limited": ("gurobi", "highs"), "full": ("gurobi", "gurobi")}
    assert choices == expected[GUROBI.kind], GUROBI
    assert bool(caught) == (choices[1] == "highs")  # every fallback says why
    if GUROBI.kind != "none":
        assert GUROBI.version and GUROBI.licence_id is not None


def test_a_limited_incumbent_is_marked_not_optimal():
    built = limited_milp()
    info = solvers.solve(built.model, solver="highs", threads=1, solution_limit=1, allow_suboptimal=True)
    assert not info.optimal and info.termination == "terminated_by_limit"
    assert info.mip_gap > 1e-3 and np.isfinite(info.objective)
    x = built.model.variables["allocation"].solution
    np.testing.assert_allclose(x.sum("dc"), 1.0, atol=1e-6)  # a feasible incumbent


def test_a_time_limited_incumbent_is_marked_not_optimal():
    s = synthetic_scenario(8, 6, 12, seed=0)
    # The compact form: its incumbents come within 2 s on any machine (the tight form spends them on its start).
    ext = Extensions(servers=1000, queries_per_server=1000, idle_kw=0.5, download_cost=3.0, formulation="compact")
    ds = solve(s, "M0", extensions=ext, solver="highs", time_limit=2.0, allow_suboptimal=True)
    assert ds.attrs["optimal"] == 0 and ds.attrs["termination"] == "time_limit"
    assert np.isfinite(float(ds.total_cost)) and float(ds.total_cost) > 0
    np.testing.assert_allclose(ds.allocation.sum("dc"), 1.0, atol=1e-6)  # a feasible incumbent


def test_infeasible_is_an_error_even_when_suboptimal_is_allowed(tiny):
    with pytest.raises(SolveError, match="the model is infeasible: delay cap"):
        solve(tiny(delay_cap=0.01), "M0", solver="highs", allow_suboptimal=True)


def test_the_linopy_internals_solvers_py_drives_are_there():
    """solvers.solve does by hand what linopy's Model.solve does (to warm-start MILPs and watch progress), so it
    uses linopy internals: pyproject.toml bounds linopy below the next minor version, and this test names what
    changed if an upgrade moves them."""
    import inspect

    import linopy

    needed = {
        "Model.constraints.sanitize_zeros": hasattr(linopy.constraints.Constraints, "sanitize_zeros"),
        "Model.constraints.sanitize_infinities": hasattr(linopy.constraints.Constraints, "sanitize_infinities"),
        "Model.assign_result": hasattr(linopy.Model, "assign_result"),
        "Model.solver (settable)": isinstance(inspect.getattr_static(linopy.Model, "solver", None), property)
        and inspect.getattr_static(linopy.Model, "solver").fset is not None,
        "solvers.Solver.from_name": hasattr(linopy.solvers.Solver, "from_name"),
        "Solver.solve": hasattr(linopy.solvers.Solver, "solve"),
    }
    params = set(inspect.signature(linopy.solvers.Solver.from_name).parameters)
    for name in ("model", "io_api", "options"):
        needed[f"Solver.from_name({name}=...)"] = name in params or "kwargs" in params
    missing = [name for name, ok in needed.items() if not ok]
    assert not missing, (f"linopy {linopy.__version__} no longer has {missing}: greenaolo/solvers.py needs "
                         "updating for it (or keep linopy < 0.11, as pyproject.toml asks)")
