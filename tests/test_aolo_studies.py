"""Trained runs on disk and the four SDRL-vs-SAC studies, on tiny agents (seconds, not minutes)."""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
import pytest
import torch
import yaml
from scipy import stats
from typer.testing import CliRunner

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.evaluation import evaluate
from greenaolo.aolo.heuristics import POLICIES, policy_rng
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.aolo.runs import ensure_runs, load_model, load_runs, profile_algorithms, profile_seeds, run_paths
from greenaolo.options import ALGORITHMS
from greenaolo.aolo.studies import (
    E_AC_PJ,
    E_MAC_PJ,
    SENSITIVITY,
    actor_energy_study,
    carbon_comparison_study,
    convergence_study,
    sensitivity_study,
    t_interval,
)
from greenaolo.cli import app
from greenaolo.io import dataset_units_problems, read_dataset

N_EVAL = 60


@pytest.fixture(scope="session")
def tiny_hyperparams(small_hyperparams):
    return lambda: small_hyperparams(learning_starts=60, profile={
        "gradient_updates": 120, "eval_every": 60, "n_eval": N_EVAL, "seeds": [0, 1]})


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_hyperparams):
    runs_dir = tmp_path_factory.mktemp("runs")
    paths = ensure_runs(runs_dir, profile="quick", seeds=[0, 1], hyperparams=tiny_hyperparams(), progress=False)
    return runs_dir, paths


def test_t_interval_matches_the_textbook_formula():
    x = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    mean, half = t_interval(x)
    assert mean == pytest.approx(5.0)
    assert half == pytest.approx(stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / np.sqrt(5))
    assert np.isnan(t_interval(np.array([3.0]))[1])


def test_runs_are_written_once_and_retrained_when_stale(runs, tmp_path, tiny_hyperparams):
    runs_dir, paths = runs
    assert len(paths) == 4
    for algorithm in ("sac", "sdrl"):
        for seed in (0, 1):
            nc, model = run_paths(runs_dir, algorithm, seed)
            assert nc.is_file() and model.is_file()
            ds = read_dataset(nc)
            assert ds.attrs["algorithm"] == algorithm and ds.attrs["seed"] == seed and ds.attrs["figure"] == "aolo_run"
            assert json.loads(ds.attrs["hyperparams"]) == tiny_hyperparams()
    stamps = [p.stat().st_mtime_ns for p in paths]
    ensure_runs(runs_dir, profile="quick", seeds=[0, 1], hyperparams=tiny_hyperparams(), progress=False)
    assert [p.stat().st_mtime_ns for p in paths] == stamps  # current runs are not retrained
    # A copy of one run with different hyperparameters is stale and retrained.
    stale_dir = tmp_path / "stale"
    stale_dir.mkdir()
    for f in run_paths(runs_dir, "sac", 0):
        (stale_dir / f.name).write_bytes(f.read_bytes())
    hp = tiny_hyperparams()
    hp["common"]["tau"] = 0.01
    ensure_runs(stale_dir, profile="quick", seeds=[0], algorithms=["sac"], hyperparams=hp, progress=False)
    assert json.loads(read_dataset(stale_dir / "sac_default_seed0.nc").attrs["hyperparams"])["common"]["tau"] == 0.01
    # Another agent's settings, the profile's seeds and agent list are not the run's: it stays current.
    other = tiny_hyperparams()
    other["ppo"]["n_epochs"] = 3
    other["profiles"]["quick"].update(seeds=[0, 1, 2], algorithms=["sac", "ppo"])
    ensure_runs(runs_dir, profile="quick", seeds=[0, 1], hyperparams=other, progress=False)
    assert [p.stat().st_mtime_ns for p in paths] == stamps
    budget_dir = tmp_path / "budget"  # the budget is (a copy: the module's runs stay as they are)
    budget_dir.mkdir()
    for f in (*run_paths(runs_dir, "sac", 0), *run_paths(runs_dir, "sac", 1)):
        (budget_dir / f.name).write_bytes(f.read_bytes())
    other["profiles"]["quick"]["eval_every"] = 30
    copied = [run_paths(budget_dir, "sac", s)[0] for s in (0, 1)]
    before = [p.stat().st_mtime_ns for p in copied]
    ensure_runs(budget_dir, profile="quick", seeds=[0], algorithms=["sac"], hyperparams=other, progress=False)
    assert copied[0].stat().st_mtime_ns != before[0] and copied[1].stat().st_mtime_ns == before[1]
    assert not list(stale_dir.glob(".*.tmp"))


def test_saved_model_acts_as_its_final_evaluation_says(runs):
    runs_dir, _ = runs
    ds = read_dataset(run_paths(runs_dir, "sdrl", 1)[0])
    model = load_model(runs_dir, "sdrl", 1)
    cfg = AoloConfig.from_dict(json.loads(ds.attrs["config"]))
    from greenaolo.aolo.training import evaluate_model

    again = evaluate_model(model, cfg, evaluation_requests(cfg, N_EVAL), method="sdrl")
    assert float(again.carbon_g) == pytest.approx(float(ds.carbon_g), rel=1e-12)


def test_load_runs_stacks_and_refuses_unequal_seeds(runs):
    _, paths = runs
    stacked = load_runs(paths)
    assert dict(stacked.sizes)["algorithm"] == 2 and dict(stacked.sizes)["seed"] == 2
    assert stacked.curve_carbon_g.dims == ("algorithm", "seed", "step")
    assert list(stacked.step.values) == [0, 60, 120]
    assert stacked.attrs["n_eval"] == N_EVAL and set(json.loads(stacked.attrs["hyperparams"])) == {"sac", "sdrl"}
    assert json.loads(stacked.attrs["hyperparams"])["sdrl"]["popsan_kwargs"]["hidden_sizes"] == [32, 16]  # its settings
    with pytest.raises(ValueError, match="runs missing"):
        load_runs(paths[:3])


def test_convergence_study_bands_and_references(runs):
    _, paths = runs
    ds = convergence_study(paths)
    sac = ds.curve_carbon_g.sel(algorithm="sac").values  # (seed, step)
    mean, half = t_interval(sac, axis=0)
    np.testing.assert_allclose(ds.curve_carbon_g_mean.sel(algorithm="sac"), mean)
    np.testing.assert_allclose(ds.curve_carbon_g_ci95.sel(algorithm="sac"), half)
    cfg = AoloConfig()
    requests = evaluation_requests(cfg, N_EVAL)
    oracle = evaluate(*POLICIES["oracle"](requests, cfg), requests, cfg, method="oracle")
    assert float(ds.ref_carbon_g.sel(policy="oracle")) == pytest.approx(float(oracle.carbon_g))
    # Nothing beats the oracle on a request it serves within both constraints: checked per request on the
    # runs' final evaluations (the curves hold only means, which violations can pull below the oracle's).
    best = evaluate(*POLICIES["oracle"](requests, cfg), requests, cfg, method="oracle").carbon.values
    for path in paths:
        run = read_dataset(path)
        served = (run.qoe_ok.values == 1) & (run.latency_ok.values == 1)
        assert served.sum() >= N_EVAL // 10, path  # never vacuous
        assert np.all(run.carbon.values[served] >= best[served] * (1 - 1e-12)), path


def test_carbon_comparison_reduction_is_computed_per_seed(runs):
    runs_dir, paths = runs
    ds = carbon_comparison_study(paths)
    c = {(a, s): float(read_dataset(run_paths(runs_dir, a, s)[0]).carbon_g) for a in ("sac", "sdrl") for s in (0, 1)}
    per_seed = [1 - c["sdrl", s] / c["sac", s] for s in (0, 1)]
    np.testing.assert_allclose(ds.reduction_per_seed, per_seed)
    assert float(ds.reduction_mean) == pytest.approx(np.mean(per_seed))
    assert float(ds.reduction_ci95) == pytest.approx(stats.t.ppf(0.975, 1) * np.std(per_seed, ddof=1) / np.sqrt(2))
    assert float(ds.reduction_of_means) == pytest.approx(1 - (c["sdrl", 0] + c["sdrl", 1]) / (c["sac", 0] + c["sac", 1]))
    assert ds.attrs["paper_reduction"] == pytest.approx(0.1877)
    # The four terms add up to the total, for agents and references alike.
    terms = sum(ds[f"final_{t}"] for t in ("carbon_inference_operational", "carbon_inference_embodied",
                                           "carbon_communication_operational", "carbon_communication_embodied"))
    np.testing.assert_allclose(terms, ds.final_carbon_g, rtol=1e-12)


def test_sensitivity_points_against_direct_evaluation(runs):
    runs_dir, paths = runs
    ds = sensitivity_study(runs_dir, paths, n_requests=N_EVAL, progress=False)
    cfg = AoloConfig()
    # The oracle at a QoE threshold of 0.9 for every request, evaluated by hand.
    requests = evaluation_requests(cfg, N_EVAL)
    requests["qoe_threshold"] = np.full(N_EVAL, 0.9)
    direct = evaluate(*POLICIES["oracle"](requests, cfg, policy_rng(0)), requests, cfg, method="oracle")
    assert float(ds.qoe_threshold_ref_carbon_g.sel(policy="oracle", qoe_threshold_value=0.9)) == pytest.approx(
        float(direct.carbon_g))
    # At the training setting (475 g/kWh, P_max = 20 W) an agent scores its own final evaluation.
    for a in ("sac", "sdrl"):
        final = float(read_dataset(run_paths(runs_dir, a, 1)[0]).carbon_g)
        assert float(ds.carbon_intensity_agent_carbon_g.sel(algorithm=a, seed=1, carbon_intensity_value=475.0)) == \
            pytest.approx(final)
        assert float(ds.p_max_agent_carbon_g.sel(algorithm=a, seed=1, p_max_value=20.0)) == pytest.approx(final)
    # One task per sweep on Dask workers (the default): the serial reference's numbers to the bit.
    xr.testing.assert_identical(ds, sensitivity_study(runs_dir, paths, n_requests=N_EVAL, progress=False, scheduler="serial"))
    # The oracle is never beaten by a method that meets every constraint.
    for name in SENSITIVITY:
        oracle = ds[f"{name}_ref_carbon_g"].sel(policy="oracle")
        feasible = (ds[f"{name}_agent_qoe_violation_rate"] == 0) & (ds[f"{name}_agent_latency_violation_rate"] == 0)
        assert bool(((ds[f"{name}_agent_carbon_g"] >= oracle - 1e-12) | ~feasible).all()), name


def test_actor_energy_counts(runs):
    runs_dir, paths = runs
    ds = actor_energy_study(runs_dir, paths, n_requests=N_EVAL)
    macs_sac = 5 * 32 + 32 * 32 + 32 * 2  # trunk obs -> 32 -> 32 and mean head 32 -> 2
    assert float(ds.macs.sel(algorithm="sac", seed=0)) == macs_sac
    assert float(ds.acs.sel(algorithm="sac", seed=0)) == 0
    assert float(ds.energy_pj.sel(algorithm="sac", seed=0)) == pytest.approx(macs_sac * E_MAC_PJ)
    # SDRL's accumulates recounted with the original (plain) loops on the same requests.
    model = load_model(runs_dir, "sdrl", 0)
    net = model.policy.actor.mu
    net.set_fast(False)
    cfg = AoloConfig()
    from greenaolo.aolo.env import observation

    obs = torch.as_tensor(observation(evaluation_requests(cfg, N_EVAL), cfg))
    with torch.no_grad():
        enc = net.encoder(obs)  # (batch, 50, T): the original loops' encoder
        rates, layer_counts = net.snn.rates_and_counts(enc.permute(2, 0, 1))
    counts = [float(enc.sum())] + [float(c) for c in layer_counts]
    fan_out = [32, 16, 20]
    synaptic = sum(c * f for c, f in zip(counts[:-1], fan_out)) / N_EVAL
    acs = synaptic + 50 * 5
    macs = 2 * (32 + 16 + 20) * 5 + 4 * 50 + 20
    assert float(ds.acs.sel(algorithm="sdrl", seed=0)) == pytest.approx(acs)
    assert float(ds.macs.sel(algorithm="sdrl", seed=0)) == macs
    assert float(ds.energy_pj.sel(algorithm="sdrl", seed=0)) == pytest.approx(macs * E_MAC_PJ + acs * E_AC_PJ)
    rates = ds.spike_rate.sel(algorithm="sdrl", seed=0).values
    assert ((rates >= 0) & (rates <= 1)).all() and np.isnan(ds.spike_rate.sel(algorithm="sac")).all()


def test_actor_energy_counts_the_deterministic_twins(runs, tiny_hyperparams):
    """TD3's MLP actor (no trunk nor log-std) against PopSAN-TD3's spikes, beside SAC and SDRL."""
    runs_dir, paths = runs
    more = ensure_runs(runs_dir, profile="quick", seeds=[0, 1], algorithms=["td3", "sdrl_td3"],
                       hyperparams=tiny_hyperparams(), progress=False, scheduler="serial")
    ds = actor_energy_study(runs_dir, [*paths, *more], n_requests=N_EVAL)
    assert list(ds.algorithm.values) == ["sac", "sdrl", "td3", "sdrl_td3"]  # each spiking agent after its twin
    assert float(ds.macs.sel(algorithm="td3", seed=1)) == 5 * 32 + 32 * 32 + 32 * 2
    spiking = ds.sel(algorithm="sdrl_td3", seed=1)
    assert float(spiking.macs) == 2 * (32 + 16 + 20) * 5 + 4 * 50 + 20 and float(spiking.acs) > 50 * 5
    assert np.isfinite(ds.spike_rate.sel(algorithm="sdrl_td3")).all() and np.isnan(ds.spike_rate.sel(algorithm="td3")).all()


def test_the_makefile_trains_the_seeds_the_hyperparameter_file_lists(tmp_path):
    """Make reads the seeds from agents.yaml (their one home); a file with other seeds changes what it trains."""
    import subprocess
    from pathlib import Path

    from greenaolo.notebooks import spec

    root = Path(__file__).resolve().parent.parent

    def make_seeds(profile: str, hyperparams: Path | None = None) -> list[int]:
        extra = [f"AOLO_HYPERPARAMS={hyperparams}"] if hyperparams else []
        out = subprocess.run(["make", "--no-print-directory", "-s", "seeds", f"PROFILE={profile}", *extra], cwd=root,
                             capture_output=True, text=True, check=True).stdout
        return [int(s) for s in out.split()]

    for profile in ("quick", "full"):
        assert make_seeds(profile) == profile_seeds(profile)
        agents = subprocess.run(["make", "--no-print-directory", "-s", "agents", f"PROFILE={profile}"], cwd=root,
                                capture_output=True, text=True, check=True).stdout.split()
        assert agents == profile_algorithms(profile), profile
    assert profile_algorithms("full") == list(ALGORITHMS) and "sdrl_td3" not in profile_algorithms("quick")
    other = tmp_path / "agents.yaml"
    other.write_text((root / "greenaolo/aolo/hyperparams/agents.yaml").read_text().replace("seeds: [0, 1]}", "seeds: [3, 7]}"))
    assert make_seeds("quick", other) == [3, 7]
    n_seeds = spec("aolo_convergence").param("n_seeds")
    assert profile_seeds("full") == list(range(n_seeds.default))
    assert profile_seeds("quick") == list(range(int(n_seeds.quick)))


def test_the_makefile_trains_each_run_file_with_its_algorithm_variant_and_seed(tmp_path):
    """A run file's name is ALGORITHM_VARIANT_seedN; the rule must split it from the right (sdrl_td3 holds a "_")."""
    import re
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    wanted = {(a, v, s) for a in ALGORITHMS for v in ("default", "tuned") for s in (0, 12)}
    targets = [str(tmp_path / f"{a}_{v}_seed{s}.nc") for a, v, s in sorted(wanted)]
    out = subprocess.run(["make", "--no-print-directory", "-n", "-s", "PROFILE=full", f"AOLO_RUNS={tmp_path}", *targets],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    trained = {(a, v, int(s)) for a, s, v in re.findall(r"aolo train (\S+) (\S+) --variant (\S+)", out)}
    assert trained == wanted


def test_cli_train_writes_a_run(tmp_path, tiny_hyperparams):
    hp_path = tmp_path / "hp.yaml"
    hp = tiny_hyperparams()
    hp["profiles"]["quick"]["gradient_updates"] = 70
    hp_path.write_text(yaml.safe_dump(hp))
    result = CliRunner().invoke(app, ["aolo", "train", "sac", "3", "--profile", "quick", "--runs-dir", str(tmp_path),
                                      "--hyperparams", str(hp_path), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "sac (default) seed 3" in result.output and (tmp_path / "sac_default_seed3.zip").is_file()
    bad = CliRunner().invoke(app, ["aolo", "train", "a2c", "0", "--runs-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "a2c" in bad.output


def test_a_run_file_redraws_its_learning_curve(runs, tmp_path):
    runs_dir, _ = runs
    target = tmp_path / "data" / "sdrl_default_seed0.nc"
    target.parent.mkdir()
    target.write_bytes(run_paths(runs_dir, "sdrl", 0)[0].read_bytes())
    result = CliRunner().invoke(app, ["plot", str(target)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sdrl_default_seed0.png").stat().st_size > 10_000  # in the figures tree, named after the dataset


def test_every_study_variable_has_units_and_a_name(runs):
    runs_dir, paths = runs
    for ds in (convergence_study(paths), carbon_comparison_study(paths),
               sensitivity_study(runs_dir, paths, n_requests=N_EVAL, progress=False),
               actor_energy_study(runs_dir, paths, n_requests=N_EVAL)):
        assert all("long_name" in var.attrs for var in ds.data_vars.values())
        assert dataset_units_problems(ds) == []
