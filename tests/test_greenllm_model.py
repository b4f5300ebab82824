"""The Green-LLM model: the paper's numbers, each constraint family by hand, independent formulations."""

from __future__ import annotations

import json

import warnings

import numpy as np
import pytest
from scipy.optimize import linprog

from greenaolo.greenllm.model import MODELS, Extensions, route_latency
from greenaolo.greenllm.optimise import solve, solve_lexicographic
from greenaolo.greenllm.scenario import synthetic_scenario
from greenaolo.solvers import SolverFallbackWarning


def allocation(ds, dc):
    return float(ds.allocation.sel(dc=dc).sum())


# --- the paper's published baseline (docs/greenllm.md#baseline) ---------------------------------------------

def test_m0_reproduces_the_published_baseline_to_the_cent(m0):
    assert round(float(m0.energy_cost), 2) == 197.63
    assert round(float(m0.carbon_cost), 2) == 5.46
    assert round(float(m0.delay_cost), 2) == 189.00
    assert round(float(m0.total_cost), 2) == 392.08
    assert round(float(m0.emissions), 1) == 336.9
    assert round(float(m0.water)) == 4804
    assert round(float(m0.grid_energy), 1) == 1273.9
    assert round(float(m0.facility_energy), 1) == 4872.3
    assert round(float(m0.renewable_energy_used)) == 3598


def test_m0_baseline_structure(m0, paper):
    # docs/greenllm.md#baseline: the water budget, delay caps and grid limits do not bind; 8 of 648 resource limits do.
    assert float(m0.water) < float(paper.water_budget) - 100
    total_delay = m0.delay_transmission + m0.delay_propagation + m0.delay_processing
    assert bool((total_delay < paper.delay_cap - 1e-3).all())
    assert bool((m0.grid_power < paper.grid_limit - 1).all())
    use = (paper.resource_per_token * (paper.input_tokens + paper.output_tokens) * paper.demand * m0.allocation).sum(
        ["area", "query"]
    )
    assert use.size == 648
    assert int((use >= paper.capacity * (1 - 1e-7)).sum()) == 8
    np.testing.assert_allclose(m0.allocation.sum("dc"), 1.0, atol=1e-7)
    assert m0.attrs["solver"] in ("highs", "gurobi") and m0.attrs["termination"] == "optimal"


# --- each constraint family against values computed by hand -----------------------------------------

def test_single_route_energy_water_delay_by_hand(tiny):
    # 100 queries x (10 x 1e-3 + 20 x 2e-3) kWh = 5 kWh IT (constraint 1); x PUE 1.5 = 7.5 kWh facility (2);
    # 3 kWh renewables leave 4.5 kWh from the grid (3, 4); water (1/1.5 + 0.5) x 7.5 = 8.75 L (5).
    ds = solve(tiny(renewable=3.0), "M0", solver="highs")
    assert float(ds.it_energy.sum()) == pytest.approx(5.0)
    assert float(ds.facility_energy.sum()) == pytest.approx(7.5)
    assert float(ds.grid_energy) == pytest.approx(4.5)
    assert float(ds.renewable_energy_used) == pytest.approx(3.0)
    assert float(ds.water) == pytest.approx(8.75)
    assert float(ds.energy_cost) == pytest.approx(0.45)
    assert float(ds.carbon_cost) == pytest.approx(0.02 * 0.5 * 4.5)
    assert float(ds.emissions) == pytest.approx(2.25)
    # Delays (9-11): 0.004 KB x 100 x 30 / 1000 Mbps; rtt 0.01 (not x lambda); 1e-4 s x 30 x 100.
    assert float(ds.delay_transmission.sum()) == pytest.approx(0.012)
    assert float(ds.delay_propagation.sum()) == pytest.approx(0.01)
    assert float(ds.delay_processing.sum()) == pytest.approx(0.3)
    assert float(ds.delay_cost) == pytest.approx(0.1 * 0.322)
    assert float(ds.total_cost) == pytest.approx(0.45 + 0.045 + 0.0322)
    # Per-query latency (docs/greenllm.md#latency): rtt + 8 beta (h+f) / (1000 B) + v (h+f).
    assert float(ds.latency.sum()) == pytest.approx(0.01 + 8 * 0.004 * 30 / 1e6 + 1e-4 * 30)


def test_renewables_are_used_before_the_grid(tiny):
    # DC d0's grid is dearer but it has 3 kWh of free renewables: it takes 3 / 7.5 of the load (constraint 3).
    ds = solve(tiny(n_dc=2, price=[0.2, 0.1], renewable=[[3.0], [0.0]]), "M0", solver="highs")
    assert allocation(ds, "d0") == pytest.approx(0.4)
    assert float(ds.grid_power.sel(dc="d0").sum()) == pytest.approx(0.0, abs=1e-9)


def test_grid_limit_binds(tiny):
    # Constraint 4: d0 is cheaper but may import only 3 kWh: 7.5 x0 <= 3.
    ds = solve(tiny(n_dc=2, price=[0.1, 0.2], grid_limit=[[3.0], [1e6]]), "M0", solver="highs")
    assert allocation(ds, "d0") == pytest.approx(0.4)


def test_water_budget_binds(tiny):
    # Constraint 6: d0 is cheaper and thirstier: 18.75 x0 + 8.75 (1 - x0) <= 12 gives x0 = 0.325.
    ds = solve(tiny(n_dc=2, price=[0.1, 0.2], wue=[[3.0], [1.0]], water_budget=12.0), "M0", solver="highs")
    assert allocation(ds, "d0") == pytest.approx(0.325)
    assert float(ds.water) == pytest.approx(12.0)


def test_resource_capacity_binds(tiny):
    # Constraint 7: each resource uses 1e-3 x 30 x 100 x0 = 3 x0 units at d0, whose capacity is 0.9.
    capacity = np.array([[0.9, 1e9]] * 3)
    ds = solve(tiny(n_dc=2, price=[0.1, 0.2], capacity=capacity), "M0", solver="highs")
    assert allocation(ds, "d0") == pytest.approx(0.3)


def test_delay_cap_binds(tiny):
    # Constraint 12: d0 is cheaper but 1 s away: 0.312 + 1.0 x0 + 0.01 (1 - x0) <= 0.5.
    ds = solve(tiny(n_dc=2, price=[0.1, 0.2], rtt=[[1.0, 0.01]], delay_cap=0.5), "M0", solver="highs")
    assert allocation(ds, "d0") == pytest.approx(0.178 / 0.99)


def test_full_allocation_and_infeasibility_is_an_error_that_names_the_constraint(tiny):
    from greenaolo.greenllm.diagnosis import InfeasibleError

    # Every route takes at least 0.01 s of RTT plus processing: no DC meets a 0.01 s cap.
    with pytest.raises(InfeasibleError, match=r"delay cap \(constraint 12\): area 'a0', query 'q0', hour 0 exceeds its "
                                              r"cap 0.01 s at every DC"):
        solve(tiny(delay_cap=0.01), "M0", solver="highs")
    # Capacity: 100 queries of 30 tokens need 3 units of each resource per hour; give 2.9 over two DCs.
    with pytest.raises(InfeasibleError, match=r"resource capacity \(constraint 7\): in hour 0 the demand needs 3 units"):
        solve(tiny(n_dc=2, capacity=1.45), "M0", solver="highs")
    # Water: IT energy 100 x (10 x 1e-3 + 20 x 2e-3) = 5 kWh, facility 7.5 kWh, water (1/1.5 + 0.5) x 7.5 = 8.75 L.
    with pytest.raises(InfeasibleError, match=r"water budget \(constraint 6\): Z = 8 L is below the least water any "
                                              r"allocation uses, 8.75 L"):
        solve(tiny(water_budget=8.0), "M0", solver="highs")
    assert float(solve(tiny(water_budget=8.75), "M0", solver="highs").water) == pytest.approx(8.75)


# --- the LP against an independent formulation and brute force --------------------------------------

def _independent_lp(s, weights):
    """Constraints 1-12 written again as one dense LP over (x, P_g) with the definitions substituted."""
    I, J, K, T = (s.sizes[d] for d in ("area", "dc", "query", "time"))
    nx = I * J * K * T
    ix = lambda i, j, k, t: ((i * J + j) * K + k) * T + t  # noqa: E731
    ig = lambda j, t: nx + j * T + t  # noqa: E731
    n = nx + J * T
    v = {name: s[name].values for name in s.data_vars}
    tokens = v["input_tokens"] + v["output_tokens"]
    e_q = v["token_energy_in"] * v["input_tokens"] + v["token_energy_out"] * v["output_tokens"]
    cost = np.zeros(n)
    A_ub, b_ub, A_eq, b_eq = [], [], [], []
    water_row = np.zeros(n)
    for j in range(J):
        for t in range(T):
            cost[ig(j, t)] = weights[0] * v["price"][j, t] + weights[1] * v["carbon_tax"][j] * v["carbon_intensity"][j, t]
            row = np.zeros(n)
            row[ig(j, t)] = -1
            for i in range(I):
                for k in range(K):
                    row[ix(i, j, k, t)] = v["pue"][j] * e_q[k] * v["demand"][i, k, t]
                    water_row[ix(i, j, k, t)] += (v["wue"][j, t] + v["ewif"][j, t] * v["pue"][j]) * e_q[k] * v["demand"][i, k, t]
            A_ub.append(row)
            b_ub.append(v["renewable"][j, t])
            for r in range(3):
                row = np.zeros(n)
                for i in range(I):
                    for k in range(K):
                        row[ix(i, j, k, t)] = v["resource_per_token"][k, r] * tokens[k] * v["demand"][i, k, t]
                A_ub.append(row)
                b_ub.append(v["capacity"][r, j])
    A_ub.append(water_row)
    b_ub.append(float(v["water_budget"]))
    for i in range(I):
        for k in range(K):
            for t in range(T):
                row, dly = np.zeros(n), np.zeros(n)
                for j in range(J):
                    per = (
                        v["data_per_token"][i, k, t] * v["demand"][i, k, t] * tokens[k] / max(0.001, v["bandwidth"][i, j])
                        + v["rtt"][i, j]
                        + v["proc_delay"][j, k] * tokens[k] * v["demand"][i, k, t]
                    )
                    row[ix(i, j, k, t)] = 1
                    dly[ix(i, j, k, t)] = per
                    cost[ix(i, j, k, t)] += weights[2] * v["delay_penalty"][k] * per
                A_eq.append(row)
                b_eq.append(1.0)
                A_ub.append(dly)
                b_ub.append(v["delay_cap"][i, k])
    bounds = [(0, 1)] * nx + [(0, v["grid_limit"][j, t]) for j in range(J) for t in range(T)]
    res = linprog(cost, A_ub=np.array(A_ub), b_ub=b_ub, A_eq=np.array(A_eq), b_eq=b_eq, bounds=bounds, method="highs-ipm")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("model", ["M0", "M3"])
def test_lp_matches_an_independent_dense_formulation(model):
    s = synthetic_scenario(3, 4, 4, n_query=3, seed=11)
    weights = MODELS[model]
    ours = solve(s, model, solver="highs")
    objective = sum(w * float(ours[c]) for w, c in zip(weights, ("energy_cost", "carbon_cost", "delay_cost")))
    assert objective == pytest.approx(_independent_lp(s, weights), rel=1e-6)


def test_lp_matches_brute_force_on_two_dcs(tiny):
    # One decision x0 in [0, 1]; grid power is max(0, P_d - P_w) at the optimum. Grid search to 1e-5.
    s = tiny(n_dc=2, price=[0.3, 0.1], renewable=[[2.0], [1.0]], rtt=[[0.2, 0.05]], pue=[1.2, 1.6])
    ours = float(solve(s, "M0", solver="highs").total_cost)
    x0 = np.linspace(0, 1, 100_001)
    p_d0, p_d1 = 1.2 * 5 * x0, 1.6 * 5 * (1 - x0)
    g0, g1 = np.maximum(0, p_d0 - 2.0), np.maximum(0, p_d1 - 1.0)
    delay = 0.012 + 0.3 + 0.2 * x0 + 0.05 * (1 - x0)
    total = (0.3 + 0.01) * g0 + (0.1 + 0.01) * g1 + 0.1 * delay
    assert ours == pytest.approx(total.min(), abs=1e-4)
    assert ours <= total.min() + 1e-9


# --- objectives, lexicographic, tie-break ------------------------------------------------------------

def test_weights_and_named_models_agree():
    s = synthetic_scenario(2, 3, 3, n_query=2, seed=1)
    named = solve(s, "M3", solver="highs")
    weighted = solve(s, (0.25, 0.5, 0.25), solver="highs")
    assert float(named.total_cost) == pytest.approx(float(weighted.total_cost), rel=1e-7)
    assert weighted.attrs["model"] == "weighted"


@pytest.mark.parametrize(
    "bad,pattern",
    [("M9", "model='M9' is unknown"), ((1, 1), "must have 3 entries"), ((0, 0, 0), "all zero"),
     ((1, -1, 0), "weight for carbon=-1 is out of range")],
)
def test_bad_model_arguments_name_themselves(bad, pattern, tiny):
    with pytest.raises(ValueError, match=pattern):
        solve(tiny(), bad, solver="highs")


def test_lexicographic_respects_every_earlier_phase():
    s = synthetic_scenario(3, 3, 4, n_query=2, seed=5)
    energy_only = float(solve(s, "M1", solver="highs").energy_cost)
    lex = solve_lexicographic(s, ("energy", "delay", "carbon"), tolerance=1e-3, solver="highs")
    assert float(lex.energy_cost) <= energy_only * (1 + 1e-3) + 1e-6
    assert lex.attrs["lexicographic_order"] == "energy,delay,carbon"
    assert lex.attrs["n_solves"] == 4  # three phases and the tie-break
    carbon_first = solve_lexicographic(s, ("carbon", "energy", "delay"), solver="highs")
    assert float(carbon_first.carbon_cost) <= float(lex.carbon_cost) + 1e-9
    with pytest.raises(ValueError, match="must be a permutation"):
        solve_lexicographic(s, ("energy", "energy", "delay"))
    with pytest.raises(ValueError, match="tolerance=2 is out of range"):
        solve_lexicographic(s, tolerance=2)


def test_tie_break_picks_the_cheapest_optimum_and_keeps_the_primary():
    s = synthetic_scenario(3, 3, 4, n_query=2, seed=2)
    plain = solve(s, "M1", solver="highs", tie_break=False)
    broken = solve(s, "M1", solver="highs")
    assert float(broken.energy_cost) == pytest.approx(float(plain.energy_cost), rel=1e-5)
    assert float(broken.total_cost) <= float(plain.total_cost) + 1e-6
    assert broken.attrs["n_solves"] == 2 and plain.attrs["n_solves"] == 1
    # An independent second solve: the least total cost among allocations whose energy cost is within the
    # tolerance of M1's optimum, written here as M0 under an epsilon-constraint on the energy cost.
    optimum = float(plain.energy_cost)
    limit = optimum + 1e-6 * abs(optimum) + 1e-9
    independent = solve(s, "M0", solver="highs", limits={"energy": limit})
    assert float(broken.total_cost) == pytest.approx(float(independent.total_cost), rel=1e-7)
    assert float(independent.total_cost) < float(plain.total_cost) - 1e-3  # the tie-break matters here


# --- the MILP extension (docs/greenllm.md#milp) ----------------------------------------------------------

def test_extensions_that_cost_nothing_reproduce_the_lp():
    s = synthetic_scenario(2, 3, 3, n_query=2, seed=4)
    lp = solve(s, "M0", solver="highs")
    neutral = Extensions(unmet_penalty=1e6, download_cost=0.0, servers=10_000, idle_kw=0.0, utilisation=1.0)
    milp = solve(s, "M0", extensions=neutral, solver="highs")
    assert float(milp.total_cost) == pytest.approx(float(lp.total_cost), rel=1e-6)
    assert float(milp.unmet.sum()) == pytest.approx(0.0, abs=1e-7)
    assert float(solve(s, "M0", extensions=Extensions(), solver="highs").total_cost) == float(lp.total_cost)


def test_unmet_demand_when_serving_costs_more_than_the_penalty(tiny):
    # Serving costs 0.8572 $ for 100 queries; leaving one unserved costs 0.001 $: drop the most allowed.
    ds = solve(tiny(), "M0", extensions=Extensions(unmet_penalty=0.001, max_unmet=0.3), solver="highs")
    assert float(ds.unmet.sum()) == pytest.approx(0.3)
    assert float(ds.unmet_cost) == pytest.approx(0.001 * 100 * 0.3)
    assert float(ds.total_cost) == pytest.approx(0.8572 * 0.7 + 0.03)


def test_integer_servers_round_up_and_add_idle_power(tiny):
    # 100 queries, 30 per server: 4 servers (not 3.33); 4 x 1 kW idle on top of 5 kWh of tokens.
    ext = Extensions(servers=10, queries_per_server=30, utilisation=1.0, idle_kw=1.0)
    ds = solve(tiny(), "M0", extensions=ext, solver="highs")
    assert float(ds.active_servers.sum()) == pytest.approx(4.0)
    assert float(ds.facility_energy.sum()) == pytest.approx(1.5 * 9.0)
    assert ds.attrs["mip_gap"] <= 1e-4


def test_model_placement_pays_one_download(tiny):
    ds = solve(tiny(n_time=3), "M0", extensions=Extensions(download_cost=5.0), solver="highs")
    np.testing.assert_allclose(ds.placement.values.ravel(), 1.0)
    assert float(ds.download_cost) == pytest.approx(5.0)


def test_per_query_latency_cap(tiny):
    s = tiny(n_dc=2, price=[0.1, 0.2], rtt=[[1.0, 0.01]])
    lat = route_latency(s).squeeze()
    ds = solve(s, "M0", extensions=Extensions(latency_cap=0.5), solver="highs")
    x0 = (0.5 - float(lat.sel(dc="d1"))) / float(lat.sel(dc="d0") - lat.sel(dc="d1"))
    assert allocation(ds, "d0") == pytest.approx(x0)
    assert float(ds.latency.max()) == pytest.approx(0.5)


def test_offsite_water_on_grid_energy_only(tiny):
    # docs/greenllm.md#a12: W = WUE P_c + EWIF P_g = 1 x 5 + 0.5 x 4.5.
    ds = solve(tiny(renewable=3.0), "M0", extensions=Extensions(offsite_water_on_grid=True), solver="highs")
    assert float(ds.water) == pytest.approx(5.0 + 0.5 * 4.5)


@pytest.mark.parametrize(
    "kwargs,pattern",
    [({"utilisation": 1.5}, r"Extensions.utilisation=1.5 is out of range: expected a number in \[1e-09, 1\]"),
     ({"servers": 0}, r"Extensions.servers=0 is out of range"),
     ({"unmet_penalty": -1.0}, r"Extensions.unmet_penalty=-1.0 is out of range"),
     ({"idle_kw": float("inf")}, r"Extensions.idle_kw=inf is out of range: expected a number in \[0, 1e\+06\]"),
     ({"download_cost": float("nan")}, r"Extensions.download_cost=nan is out of range")],
)
def test_bad_extension_options_name_themselves(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Extensions(**kwargs)


@pytest.mark.parametrize(
    "kwargs,pattern",
    [({"servers": 2.5}, r"Extensions.servers=2.5 is not an integer: expected an integer in \[1, 1e\+07\]"),
     ({"offsite_water_on_grid": "no"}, r"Extensions.offsite_water_on_grid='no' has type str: expected True or False"),
     ({"idle_kw": "0.3"}, r"Extensions.idle_kw='0.3' is text, not a number")],
)
def test_extension_options_of_the_wrong_type_are_type_errors(kwargs, pattern):
    with pytest.raises(TypeError, match=pattern):
        Extensions(**kwargs)


def test_extensions_accept_numpy_scalars():
    ext = Extensions(servers=np.int64(20), idle_kw=np.float32(0.5), offsite_water_on_grid=np.bool_(True))
    assert (ext.servers, ext.idle_kw, ext.offsite_water_on_grid) == (20, 0.5, True)
    assert type(ext.servers) is int and json.loads(ext.to_json())["servers"] == 20


def test_paper_instance_solution_attributes_record_the_solver(m0, tiny):
    for key in ("solver", "solver_version", "licence", "termination", "mip_gap", "seed", "threads", "scaling"):
        assert key in m0.attrs
    with warnings.catch_warnings():
        warnings.simplefilter("error", SolverFallbackWarning)
        solve(tiny(), "M0", solver="highs")  # an explicit HiGHS request never warns
