"""The MILP extension (docs/greenllm.md#milp): the tight formulation has the literal (compact) model's optima.

Proof by enumeration on instances small enough to list every hourly placement, by the compact formulation
solved to a 1e-6 gap on small ones, and by Gurobi on one within its pip licence.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math

import linopy
import numpy as np
import pytest
import xarray as xr

from greenaolo import solvers
from greenaolo.greenllm.model import Extensions, build_model, placement_start
from greenaolo.greenllm.optimise import solve
from greenaolo.greenllm.scenario import synthetic_scenario

GUROBI = solvers.gurobi_licence()
needs_gurobi = pytest.mark.skipif(GUROBI.kind == "none", reason=f"Gurobi unavailable: {GUROBI.reason}")
SERVERS = dict(servers=8, queries_per_server=250.0, utilisation=0.9, idle_kw=0.4)  # 3,000 queries an hour: ~14 servers


def brute_force_placement(s, download_cost: float) -> float:
    """The placement MILP by enumeration: every hourly placement ``z[j,k,t]`` (2^(J K T) of them),
    each priced as M0's LP with ``x[i,j,k,t] = 0`` wherever ``z[j,k,t] = 0`` (the paper's LP alone, no MILP
    code; one warm-started HiGHS model) plus ``download_cost`` per switch-on (``z[-1] = 0``)."""
    built = build_model(s)
    m, x = built.model, built.model.variables["allocation"]
    m.add_objective(built.costs["energy"] + built.costs["carbon"] + built.costs["delay"])
    lp = linopy.solvers.Solver.from_name("highs", model=m, io_api="direct", options={"output_flag": False},
                                         track_updates=True)
    upper = x.upper.copy()
    shape = (s.sizes["dc"], s.sizes["query"], s.sizes["time"])
    best = math.inf
    for bits in itertools.product((0.0, 1.0), repeat=int(np.prod(shape))):
        z = np.array(bits).reshape(shape)
        placed = xr.DataArray(z, coords={"dc": s.dc.values, "query": s["query"].values, "time": s.time.values})
        x.update(upper=upper * placed)
        lp.solve(m, assign=True)
        if m.termination_condition == "optimal":
            downloads = np.clip(np.diff(z, axis=2, prepend=0.0), 0, None).sum()
            best = min(best, m.objective.value + download_cost * downloads)
    return best


@pytest.mark.parametrize("shape,cost", [((2, 2, 2), 0.02), ((2, 1, 3), 0.3)])
def test_tight_placement_equals_brute_force_over_hourly_placements(shape, cost):
    # 2 DCs x (query types, hours): 256 and 64 hourly placements, each an LP.
    n_dc, n_query, n_time = shape
    s = synthetic_scenario(2, n_dc, n_time, n_query=n_query, seed=n_time)
    expected = brute_force_placement(s, cost)
    for formulation in ("tight", "compact"):
        ds = solve(s, "M0", extensions=Extensions(download_cost=cost, formulation=formulation), solver="highs",
                   mip_gap=1e-9)
        assert float(ds.total_cost) == pytest.approx(expected, rel=1e-7), formulation


@pytest.mark.parametrize("seed", [3, 4])
@pytest.mark.parametrize("variant", ["placement", "servers + placement", "servers"])
def test_tight_equals_compact_without_a_time_limit(variant, seed):
    s = synthetic_scenario(3, 3, 6, n_query=2, seed=seed)
    ext = {"placement": Extensions(download_cost=0.05),
           "servers + placement": Extensions(download_cost=0.05, **SERVERS),
           "servers": Extensions(**SERVERS)}[variant]
    out = {f: solve(s, "M0", extensions=dataclasses.replace(ext, formulation=f), solver="highs", mip_gap=1e-7)
           for f in ("tight", "compact")}
    assert float(out["tight"].total_cost) == pytest.approx(float(out["compact"].total_cost), rel=1e-6)
    for ds in out.values():
        assert ds.attrs["optimal"] == 1
    if "placement" in variant:
        # The tight form keeps each model from its one download to the end of the day.
        tight = out["tight"]
        assert float(tight.downloads.sum()) == pytest.approx(float(tight.placement.isel(time=0).sum()))
        assert bool((tight.placement.diff("time") == 0).all())
        assert float(tight.download_cost) == pytest.approx(0.05 * float(tight.downloads.sum()))


@needs_gurobi
def test_gurobi_and_highs_agree_on_the_tight_milp_within_the_licence():
    s = synthetic_scenario(3, 3, 6, n_query=2, seed=5)
    ext = Extensions(download_cost=0.05, **SERVERS)
    g = solve(s, "M0", extensions=ext, solver="gurobi", mip_gap=1e-6)
    h = solve(s, "M0", extensions=ext, solver="highs", mip_gap=1e-6)
    assert g.attrs["n_variables"] <= solvers.SIZE_LIMIT and g.attrs["n_constraints"] <= solvers.SIZE_LIMIT
    assert float(g.total_cost) == pytest.approx(float(h.total_cost), rel=2e-6)
    assert g.attrs["mip_gap"] <= 1e-6 and h.attrs["mip_gap"] <= 1e-6


def test_the_start_is_a_placement_the_lp_can_serve():
    s = synthetic_scenario(3, 3, 6, n_query=2, seed=3)
    built = build_model(s, Extensions(download_cost=0.05, **SERVERS))
    built.model.add_objective(built.costs["energy"] + built.costs["carbon"] + built.costs["delay"]
                              + built.costs["download"])
    calls = []

    def resolve():
        calls.append(1)
        try:
            return solvers.solve(built.model, solver="highs").objective
        except solvers.SolveError:  # a candidate that closes every DC of some query type
            return None

    values = placement_start(built)(resolve)
    y = values["placement"]
    assert set(np.unique(y.values)) <= {0.0, 1.0} and y.dims == ("dc", "query")
    assert len(calls) >= 2  # the relaxation, then at least one candidate
    assert not built.model.variables.fixed and not built.model._relaxed_registry  # the model is restored
    assert placement_start(build_model(s, Extensions(download_cost=0.05, formulation="compact"))) is None
    assert placement_start(build_model(s, Extensions(**SERVERS))) is None


def test_progress_is_monotone_and_ends_at_the_reported_gap():
    s = synthetic_scenario(3, 3, 6, n_query=2, seed=4)
    ds = solve(s, "M0", extensions=Extensions(download_cost=0.05, **SERVERS), solver="highs", mip_gap=1e-6)
    progress = [(t, math.inf if p is None else p, -math.inf if b is None else b)
                for t, p, b in json.loads(ds.attrs["mip_progress"])]
    times, incumbents, bounds = map(np.array, zip(*progress))
    assert (times[1:] >= times[:-1]).all() and (incumbents[1:] <= incumbents[:-1]).all()
    assert (bounds[1:] >= bounds[:-1]).all()
    assert incumbents[-1] == pytest.approx(ds.attrs["objective"], rel=1e-6)  # stored to 6 decimals
    assert solvers.relative_gap(incumbents[-1], bounds[-1]) <= 1e-6
    assert solvers.time_to_gap(progress, 1e-6) <= ds.attrs["solve_seconds"] + 1e-5  # stored to 6 decimals
    assert solvers.time_to_gap([(1.0, math.inf, 0.0), (2.0, 10.0, 9.0), (3.0, 10.0, 9.95)], 0.01) == 3.0
    assert math.isinf(solvers.time_to_gap([(1.0, 10.0, 9.0)], 0.01))


def test_progress_drops_the_bound_of_the_start_completion_and_keeps_the_best_bound():
    inf = math.inf
    rows = [(0.1, inf, -inf, 0.0), (0.2, 50.0, 49.9, 0.1),  # HiGHS completing the start: its own bound
            (0.3, 50.0, -inf, 0.01), (0.4, 50.0, 45.0, 0.1),  # the main search (its clock starts again)
            (0.5, 49.0, 44.0, 0.2), (0.6, 49.0, 48.0, 0.3)]  # a restart reports a weaker bound
    out = solvers._main_search_bounds(rows)
    assert [row[2] for row in out] == [-inf, -inf, -inf, 45.0, 45.0, 48.0]
    assert [row[1] for row in out] == [inf, 50.0, 50.0, 50.0, 49.0, 49.0]
    assert [row[0] for row in out] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


@pytest.mark.slow
def test_the_time_limit_covers_the_start_and_its_completion(paper):
    ext = Extensions(servers=40, queries_per_server=500.0, idle_kw=0.3, download_cost=0.5)
    ds = solve(paper, "M0", extensions=ext, solver="highs", threads=2, time_limit=6.0, allow_suboptimal=True)
    assert ds.attrs["termination"] == "time_limit" and ds.attrs["optimal"] == 0
    assert ds.attrs["solve_seconds"] < 6.0 + 1.0
    assert np.isfinite(float(ds.total_cost))
    np.testing.assert_allclose(ds.allocation.sum("dc"), 1.0, atol=1e-6)


def test_unknown_formulation_names_itself():
    with pytest.raises(ValueError, match=r"Extensions.formulation='loose' is unknown: expected one of \('tight', 'compact'\)"):
        Extensions(formulation="loose")


def test_bench_milp_entry_point_at_a_tiny_size(capsys):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "scripts"))
    import bench

    s = synthetic_scenario(3, 3, 6, n_query=2, seed=4)
    out = bench.milp_speed(1, 20.0, scenario=s, variants=["servers + placement"])
    row = out["variants"]["servers + placement"]
    for formulation in ("compact", "tight"):
        to_1, to_01, solve_s = (row[formulation][k] for k in ("to_1pct_s", "to_0.1pct_s", "solve_s"))
        assert to_1 <= to_01 and (to_01 == float("inf") or to_01 <= solve_s + 1e-5)  # progress is rounded to 1e-6 s
        assert row[formulation]["runs"][0]["progress"]
    assert row["compact"]["total_cost"] == pytest.approx(row["tight"]["total_cost"], rel=1e-3)
    assert row["compact_over_tight_1pct"] > 0
    bench.print_milp(out)
    assert "compact/tight time ratio" in capsys.readouterr().out
