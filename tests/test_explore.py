"""The two explorers: their views against independent computations, and their notebooks run headless."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import papermill
import pytest
import xarray as xr

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import decision, observation
from greenaolo.aolo.explore import INTENSITY_RANGE, find_runs, one_request, request_ranges
from greenaolo.aolo.explore import explore_table as aolo_table
from greenaolo.aolo.explore import explore_view as aolo_view
from greenaolo.aolo.figures import draw_explore as draw_aolo
from greenaolo.aolo.oracle import oracle
from greenaolo.aolo.runs import load_model
from greenaolo.greenllm import explore as gx
from greenaolo.greenllm.explore import explore_table, explore_view
from greenaolo.greenllm.figures import draw_explore
from greenaolo.greenllm.optimise import solve
from greenaolo.greenllm.scenario import Scaling, apply_scaling, paper_scenario
from matplotlib.figure import Figure

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REPORTED = ["energy_cost", "carbon_cost", "delay_cost", "total_cost", "emissions", "water"]
#: A setting with every Psi factor away from 1, where the water budget binds (5,238 L).
MOVED = Scaling(theta=1.7, pw=0.6, tau=1.15, rho=0.8, price=1.3, demand=1.05, water=0.9)


def _terms(ds: xr.Dataset) -> np.ndarray:
    return np.array([float(ds[t]) for t in REPORTED])


# --- Green-LLM ---------------------------------------------------------------------------------------------

def test_greenllm_view_of_the_paper_instance_is_m0s_published_baseline():
    view = explore_view()
    reference = solve(paper_scenario(42), "M0", solver="highs")
    assert round(float(view.value.sel(term="total_cost")), 2) == 392.08
    np.testing.assert_allclose(view.value.values, _terms(reference), rtol=1e-9)
    np.testing.assert_allclose(view.baseline.values, view.value.values, rtol=0)
    assert np.all(view.change.values == 0) and view.attrs["feasible"] == 1 and view.attrs["message"] == ""
    assert float(view.routed.sum()) == pytest.approx(692_248, abs=1e-6)  # the published total demand
    routed = (reference.allocation * reference.demand).sum(["area", "query"]).transpose("dc", "time")
    np.testing.assert_allclose(view.routed.values, routed.values, atol=1e-6)
    assert view.attrs["water_budget"] == pytest.approx(5820.0, abs=0.05)


@pytest.mark.parametrize("model, weights", [("M1", None), ("weights", (0.5, 2.0, 0.0))], ids=["M1", "weights"])
def test_greenllm_view_equals_solve_away_from_the_paper_instance(model, weights):
    view = explore_view(MOVED, model, weights=weights)
    reference = solve(apply_scaling(paper_scenario(42), MOVED), weights or model, solver="highs")
    np.testing.assert_allclose(view.value.values, _terms(reference), rtol=1e-6)
    assert float(reference.water_shadow_price) > 0  # the water budget binds here
    # A zero weight leaves alternative optima: the totals are unique after the tie-break, the routing need
    # not be; every hour's demand is served either way.
    np.testing.assert_allclose(view.routed.sum("dc").values, reference.demand.sum(["area", "query"]).values, rtol=1e-9)
    np.testing.assert_allclose(view.change.values, view.value.values / view.baseline.values - 1)


def test_greenllm_absolute_water_budget_is_that_many_litres():
    litres = 5_000.0
    view = explore_view(water_litres=litres)
    same = explore_view(Scaling(water=litres / float(paper_scenario(42).water_budget)))
    assert view.attrs["water_budget"] == pytest.approx(litres)
    np.testing.assert_allclose(view.value.values, same.value.values, rtol=1e-12)
    assert "water budget 5,000 L" in view.attrs["label"]


def test_greenllm_infeasible_settings_return_the_reason_not_an_error():
    dry = explore_view(Scaling(water=0.1))
    assert dry.attrs["feasible"] == 0 and np.isnan(dry.value.values).all() and np.isnan(dry.routed.values).all()
    # The least water any allocation needs, computed here: minimise water without the budget.
    least = float(solve(paper_scenario(42).assign(water_budget=1e9), {"water": 1.0}, solver="highs").water)
    assert dry.attrs["message"].startswith("the model is infeasible: water budget (constraint 6): Z = 582.001 L")
    assert dry.attrs["message"].endswith(f"{least:.6g} L")
    crowded = explore_view(Scaling(demand=3.0, water=3.0))
    assert crowded.attrs["message"].startswith("the model is infeasible: delay cap (constraint 12): ")
    assert "\n" not in crowded.attrs["message"] and crowded.attrs["status"].endswith(crowded.attrs["message"])
    assert explore_table(crowded)["this setting"].isna().all()
    fig = draw_explore(crowded)
    assert isinstance(fig, Figure)
    plt.close(fig)


def test_greenllm_bad_choices_raise():
    with pytest.raises(ValueError, match="model='M9' is unknown"):
        explore_view(model="M9")
    with pytest.raises(ValueError, match="needs weights"):
        explore_view(model="weights")
    with pytest.raises(ValueError, match="water_litres=-1"):
        explore_view(water_litres=-1.0)


def test_parametric_lp_refuses_a_dependence_the_model_does_not_have(monkeypatch):
    monkeypatch.setitem(gx.DEPENDENCE, "b", ("1", "pw"))  # forgets that the water budget scales with Psi_water
    with pytest.raises(RuntimeError, match="'b' does not depend on the Psi factors as DEPENDENCE says"):
        gx.ParametricLP(42)


# --- AOLO --------------------------------------------------------------------------------------------------

REQUEST = {"distance": 420.0, "fading": 0.3, "qoe_threshold": 0.8, "latency_budget": 12.0, "intensity": 300.0}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory, write_tiny_runs) -> Path:
    """One untrained tiny agent per paper algorithm, saved as a quick-profile run (conftest.write_tiny_runs)."""
    return write_tiny_runs(tmp_path_factory.mktemp("runs"))


def test_aolo_view_oracle_is_the_oracle_and_is_optimal_on_its_curves():
    cfg = AoloConfig()
    view = aolo_view(**REQUEST, runs_dir=None)
    request = {name: np.array([value]) for name, value in REQUEST.items()}
    request["gain"] = 10.0 ** (-(128.1 + 37.6 * np.log10(REQUEST["distance"] / 1000)) / 10) * REQUEST["fading"]
    kappa, power = oracle(request, cfg)
    best = view.sel(policy="oracle")
    assert float(best.kappa) == kappa[0] and float(best.p_trans) == pytest.approx(power[0], rel=1e-12)
    terms = sum(float(best[t]) for t in ("carbon_inference_operational", "carbon_inference_embodied",
                                         "carbon_communication_operational", "carbon_communication_embodied"))
    assert terms == pytest.approx(float(best.carbon), rel=1e-12)
    assert float(best.carbon) == pytest.approx(
        float(cm.carbon(kappa, power, request["gain"], REQUEST["intensity"], cfg).total[0]), rel=1e-12)
    ok = (view.qoe_ok_vs_kappa * view.latency_ok_vs_kappa).values == 1
    assert float(best.carbon) <= view.carbon_vs_kappa.values[ok].min() + 1e-12
    assert float(best.carbon) <= view.carbon_vs_power.values[view.latency_ok_vs_power.values == 1].min() + 1e-12
    assert list(view.policy.values) == ["oracle"] and view.attrs["runs_message"] == view.attrs["status"]
    assert view.attrs["status"] == "no folder of trained runs given: oracle only"


def test_aolo_view_shows_each_runs_own_choice(runs_dir):
    cfg = AoloConfig()
    view = aolo_view(**REQUEST, runs_dir=runs_dir, profile="quick")
    assert list(view.policy.values) == ["oracle", "SAC seed 0", "SDRL seed 0"] and view.attrs["runs_message"] == ""
    request = one_request(**REQUEST)
    for algorithm, name in (("sac", "SAC seed 0"), ("sdrl", "SDRL seed 0")):
        action, _ = load_model(runs_dir, algorithm, 0).predict(observation(request, cfg), deterministic=True)
        kappa, power = decision(action, cfg)
        chosen = view.sel(policy=name)
        assert float(chosen.kappa) == kappa[0] and float(chosen.p_trans) == pytest.approx(power[0], rel=1e-6)
        c = cm.carbon(kappa, power, request["gain"], request["intensity"], cfg)
        assert float(chosen.carbon) == pytest.approx(float(c.total[0]), rel=1e-6)
        assert int(chosen.qoe_ok) == int(cm.qoe(kappa[0], cfg) >= REQUEST["qoe_threshold"])
    table = aolo_table(view)
    assert list(table.index) == ["oracle", "SAC seed 0", "SDRL seed 0"]
    fig = draw_aolo(view)
    assert isinstance(fig, Figure)
    plt.close(fig)


def test_a_run_trained_in_the_useful_range_is_decoded_in_it(write_tiny_runs, tmp_path):
    """An agent whose settings chose the useful answer range (docs/aolo.md#useful-range) acts in it: the
    explorer decodes its action as its training did, not in the task's whole range."""
    from greenaolo.aolo.runs import model_digest, run_paths
    from greenaolo.io import read_dataset, write_dataset

    folder = write_tiny_runs(tmp_path / "runs")
    path, model_path = run_paths(folder, "sac", 0)
    ds = read_dataset(path).load()
    hp = json.loads(ds.attrs["hyperparams"])
    hp["sac"]["useful_kappa_range"] = True
    ds.attrs.update(hyperparams=json.dumps(hp), model_sha256=model_digest(model_path))
    write_dataset(ds, path, profile="quick", figure="aolo_run", seeds=[0], parameters={"algorithm": "sac"})
    view = aolo_view(**REQUEST, runs_dir=folder, profile="quick")
    useful = AoloConfig(useful_kappa_range=True)
    request = one_request(**REQUEST)
    action, _ = load_model(folder, "sac", 0).predict(observation(request, useful), deterministic=True)
    kappa, _ = decision(action, useful)
    assert float(view.sel(policy="SAC seed 0").kappa) == kappa[0] != decision(action, AoloConfig())[0][0]


def test_aolo_runs_of_another_profile_or_none_say_so_in_one_line(runs_dir, tmp_path):
    runs, message = find_runs(runs_dir, "full")
    assert runs == [] and message == f"the runs in {runs_dir} were trained with the quick profile, not full: oracle only"
    assert find_runs(tmp_path, "full") == ([], f"no trained runs in {tmp_path}: oracle only")
    assert find_runs(runs_dir) == ([("sac", 0), ("sdrl", 0)], "")


def test_aolo_request_ranges_come_from_the_configuration():
    cfg = AoloConfig(carbon_intensity_low=200.0, carbon_intensity_high=600.0)
    ranges = request_ranges(cfg)
    assert ranges["distance"] == (cfg.distance_min, cfg.distance_max, (cfg.distance_min + cfg.distance_max) / 2)
    assert ranges["qoe_threshold"][:2] == (cfg.qoe_threshold_low, cfg.qoe_threshold_high)
    assert ranges["latency_budget"][:2] == (cfg.latency_budget_low, cfg.latency_budget_high)
    assert ranges["intensity"] == (200.0, 600.0, 400.0)
    assert request_ranges()["intensity"] == (*INTENSITY_RANGE, 475.0)  # a fixed intensity gets the sweep's span
    with pytest.raises(ValueError, match="fading=0.0 is out of range"):
        one_request(100.0, 0.0, 0.7, 12.0, 475.0)


# --- the notebooks, headless -------------------------------------------------------------------------------

def _run(name: str, tmp_path: Path, **parameters) -> list[dict]:
    out = tmp_path / f"{name}.ipynb"
    # A cell that never returns fails the test after 3 minutes instead of holding the suite (a cell takes seconds).
    papermill.execute_notebook(str(NOTEBOOKS / f"{name}.ipynb"), str(out), parameters=parameters,
                               kernel_name="python3", progress_bar=False, execution_timeout=180)
    outputs = [o for cell in json.loads(out.read_text())["cells"] for o in cell.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the table
    assert not [o for o in outputs if o["output_type"] == "error"]
    stderr = "".join("".join(o["text"]) for o in outputs if o["output_type"] == "stream" and o["name"] == "stderr")
    assert "Warning" not in stderr, stderr
    return outputs


def _stdout(outputs: list[dict]) -> str:
    """What the notebook printed or showed as plain text (the explorer's status line)."""
    streams = ["".join(o["text"]) for o in outputs if o["output_type"] == "stream" and o["name"] == "stdout"]
    plain = ["".join(o["data"]["text/plain"]) for o in outputs
             if o["output_type"] == "display_data" and set(o["data"]) == {"text/plain"}]
    return "".join(streams + plain)


@pytest.mark.slow
def test_explore_greenllm_notebook_runs_headless(tmp_path):
    outputs = _run("explore_greenllm", tmp_path, output_dir=str(tmp_path))
    assert "M0, water budget 5,820 L: solved in" in _stdout(outputs)


def test_explore_aolo_notebook_runs_headless(tmp_path, runs_dir):
    outputs = _run("explore_aolo", tmp_path, output_dir=str(tmp_path), runs_dir=str(runs_dir), profile="quick")
    assert f"oracle, SAC seed 0, SDRL seed 0 from {runs_dir}" in _stdout(outputs)


def test_a_run_whose_model_is_another_runs_is_left_out_and_said(runs_dir, tmp_path):
    """A training killed after replacing its model but before its dataset leaves a pair that disagrees: the
    dataset records its model's digest, so the explorer leaves that run out and says so."""
    import shutil

    from greenaolo.aolo.runs import is_pair

    folder = tmp_path / "runs"
    shutil.copytree(runs_dir, folder)
    sac, sdrl = (folder / f"{a}_default_seed0" for a in ("sac", "sdrl"))
    assert find_runs(folder) == ([("sac", 0), ("sdrl", 0)], "")
    shutil.copyfile(sdrl.with_suffix(".zip"), sac.with_suffix(".zip"))  # SAC's dataset, another run's model
    assert not is_pair(sac.with_suffix(".nc"), sac.with_suffix(".zip"))
    runs, message = find_runs(folder)
    assert runs == [("sdrl", 0)] and "1 run(s) left out: model and dataset of different runs" in message
