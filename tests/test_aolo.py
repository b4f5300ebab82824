"""AOLO: each carbon term by hand, the configuration's checks, the oracle against brute force, the env."""

from __future__ import annotations

import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import greenaolo.aolo  # noqa: F401  (registers greenaolo/Aolo-v0)
from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig, ConfigError
from greenaolo.aolo.env import AoloEnv, action_for, decision, observation
from greenaolo.aolo.evaluation import evaluate
from greenaolo.aolo.heuristics import POLICIES
from greenaolo.aolo.oracle import energy_efficient_power, latency_power, oracle, qoe_length
from greenaolo.aolo.requests import evaluation_requests, sample_requests

CFG = AoloConfig()


# --- each term against a value computed by hand (kappa = 100 words, P = 1 W, d = 100 m, |h|^2 = 1) -----

def test_every_carbon_term_by_hand():
    kappa, p, intensity = 100, 1.0, 475.0
    gain = float(cm.channel_gain(100.0, 1.0))
    assert gain == pytest.approx(10 ** (-(128.1 - 37.6) / 10))  # PL(100 m) = 90.5 dB
    t_i = 0.2 + 1.33 * 100 * 0.02  # 2.86 s
    e_i = 400 * 0.7 * t_i  # 800.8 J
    noise = 10 ** ((-174 - 30) / 10) * 180e3  # W
    r = 180e3 * math.log2(1 + 1.0 * gain / noise)
    t_c = 6400 * 100 / r
    e_c = 130 * (t_i + t_c) + 4.7 * 1.0 * t_c  # streaming: P_0 over the whole link, Delta_p P while sending
    assert float(cm.inference_time(kappa, CFG)) == pytest.approx(2.86)
    assert float(cm.inference_energy(kappa, CFG)) == pytest.approx(800.8)
    assert float(cm.inference_operational_carbon(kappa, intensity, CFG)) == pytest.approx(475 * 1.2 * 800.8 / 3.6e6)
    assert float(cm.inference_embodied_carbon(kappa, CFG)) == pytest.approx(t_i / 1.577e8 * 8.26 * 1500)
    assert float(cm.rate(p, gain, CFG)) == pytest.approx(r)
    assert float(cm.transmission_time(kappa, p, gain, CFG)) == pytest.approx(t_c)
    assert float(cm.bs_power(p, CFG)) == pytest.approx(134.7)
    assert float(cm.communication_energy(kappa, p, gain, CFG)) == pytest.approx(e_c)
    assert float(cm.communication_operational_carbon(kappa, p, gain, intensity, CFG)) == pytest.approx(475 * e_c / 3.6e6)
    assert float(cm.communication_embodied_carbon(kappa, p, gain, CFG)) == pytest.approx((t_i + t_c) / 3.154e8 * 1.5e6)
    assert float(cm.qoe(kappa, CFG)) == pytest.approx(1 - math.exp(-100 / 150))
    assert float(cm.latency(kappa, p, gain, CFG)) == pytest.approx(t_i + t_c)
    total = cm.carbon(kappa, p, gain, intensity, CFG)
    assert float(total.total) == pytest.approx(
        475 * 1.2 * e_i / 3.6e6 + t_i / 1.577e8 * 12390 + 475 * e_c / 3.6e6 + (t_i + t_c) / 3.154e8 * 1.5e6
    )


def test_without_streaming_the_bs_is_charged_only_while_sending():
    cfg = CFG.replace(streaming=False)
    gain = float(cm.channel_gain(100.0, 1.0))
    t_c = float(cm.transmission_time(100, 2.0, gain, cfg))
    assert float(cm.communication_energy(100, 2.0, gain, cfg)) == pytest.approx((130 + 4.7 * 2.0) * t_c)


def test_functions_broadcast_over_arrays():
    kappa = np.array([20, 100, 600])
    gains = cm.channel_gain(np.array([50.0, 200.0, 500.0]), np.ones(3))
    c = cm.carbon(kappa[:, None], np.array([0.1, 1.0, 20.0])[None, :], gains[:, None], 475.0, CFG)
    assert c.total.shape == (3, 3)
    assert np.all(np.diff(c.inference, axis=0) > 0)  # longer answers cost more inference carbon


def test_energy_per_bit_has_an_interior_minimum():
    gain = float(cm.channel_gain(300.0, 1.0))
    p_ee = float(energy_efficient_power(gain, 475.0, CFG))
    assert CFG.p_min < p_ee < CFG.p_max
    grid = np.geomspace(CFG.p_min, CFG.p_max, 20_001)
    c0 = 475 * 130 / 3.6e6 + 1.5e6 / 3.154e8
    per_bit = (c0 + 475 * 4.7 / 3.6e6 * grid) / cm.rate(grid, gain, CFG)
    assert p_ee == pytest.approx(grid[np.argmin(per_bit)], rel=1e-3)


# --- configuration ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "changes,pattern",
    [
        ({"pue": 0.5}, r"AoloConfig.pue=0.5 is out of range: expected a number in \[1, 3\] 1"),
        ({"bandwidth": -1.0}, r"AoloConfig.bandwidth=-1.0 is out of range: expected a number in \[1, 1e\+10\] Hz"),
        ({"gpu_power": float("nan")}, r"AoloConfig.gpu_power=nan is out of range"),
        ({"p_min": 30.0}, r"AoloConfig.p_min=30.0 is above p_max=20.0: expected p_min <= p_max"),
        ({"qoe_threshold_low": 0.95}, r"qoe_threshold_low=0.95 is above qoe_threshold_high=0.9"),
        ({"qoe_threshold_high": 0.99}, r"qoe_threshold_high=0.99 is unreachable: the longest answer \(kappa_max=600\) gives QoE 0.9817"),
    ],
)
def test_every_config_error_names_parameter_value_and_range(changes, pattern):
    with pytest.raises(ConfigError, match=pattern):
        CFG.replace(**changes)


@pytest.mark.parametrize(
    "changes,pattern",
    [
        ({"kappa_min": 2.5}, r"AoloConfig.kappa_min=2.5 is not an integer: expected an integer in \[1, 10000\] words"),
        ({"gpu_power": "400"}, r"AoloConfig.gpu_power='400' is text, not a number: expected a number in"),
        ({"streaming": "yes"}, r"AoloConfig.streaming='yes' has type str: expected True or False"),
    ],
)
def test_config_values_of_the_wrong_type_are_type_errors(changes, pattern):
    with pytest.raises(TypeError, match=pattern):
        CFG.replace(**changes)


def test_config_yaml_round_trip_and_unknown_keys(tmp_path):
    cfg = CFG.replace(bandwidth=1e6, streaming=False, episode_length=1)
    assert AoloConfig.from_yaml(cfg.to_yaml(tmp_path / "c.yaml")) == cfg
    (tmp_path / "bad.yaml").write_text("bandwith: 1.0e6\n")
    with pytest.raises(ConfigError, match=r"unknown AoloConfig parameters \['bandwith'\]"):
        AoloConfig.from_yaml(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        AoloConfig.from_yaml(tmp_path / "list.yaml")
    assert AoloConfig.from_dict(__import__("json").loads(cfg.to_json())) == cfg
    assert all(unit for _, _, unit, _ in AoloConfig.describe())


# --- the oracle ------------------------------------------------------------------------------------------

def test_oracle_matches_brute_force_on_random_requests():
    cfg = CFG
    req = sample_requests(np.random.default_rng(1), 60, cfg)
    # Tighten every other budget to 90% of the transmission time at P_ee, so the latency branch binds
    # (at these SNRs the rate grows only logarithmically with P: P_max buys about 20% more).
    kappa0 = qoe_length(req["qoe_threshold"], cfg)
    t_ee = cm.transmission_time(kappa0, energy_efficient_power(req["gain"], req["intensity"], cfg), req["gain"], cfg)
    tight = np.arange(60) % 2 == 0
    req["latency_budget"] = np.where(tight, cm.inference_time(kappa0, cfg) + 0.9 * t_ee, req["latency_budget"])
    kappa_star, p_star = oracle(req, cfg)
    best_oracle = cm.carbon(kappa_star, p_star, req["gain"], req["intensity"], cfg).total
    kappas = np.arange(cfg.kappa_min, cfg.kappa_max + 1, dtype=float)
    powers = np.geomspace(cfg.p_min, cfg.p_max, 600)
    k, p = np.meshgrid(kappas, powers, indexing="ij")
    binding = infeasible = 0
    for n in range(60):
        g, i = req["gain"][n], req["intensity"][n]
        total = cm.carbon(k, p, g, i, cfg).total
        ok = (cm.qoe(k, cfg) >= req["qoe_threshold"][n]) & (cm.latency(k, p, g, cfg) <= req["latency_budget"][n])
        if not ok.any():  # infeasible: the oracle keeps the QoE and sends at P_max
            assert p_star[n] == cfg.p_max
            infeasible += 1
            continue
        brute = total[ok].min()
        assert best_oracle[n] <= brute * (1 + 1e-9)  # exact: never beaten by the grid
        assert best_oracle[n] >= brute * (1 - 2e-3)  # and within the grid's resolution of it
        binding += p_star[n] > float(energy_efficient_power(g, i, cfg)) * (1 + 1e-6)
    assert binding >= 10 and infeasible < 10  # both branches were exercised


def test_default_scenario_communication_share_and_power_moving_with_the_channel():
    req = sample_requests(np.random.default_rng(0), 5000, CFG)
    kappa, p = oracle(req, CFG)
    ds = evaluate(kappa, p, req, CFG, method="oracle")
    assert 0.10 <= float(ds.communication_share) <= 0.60
    assert float(ds.qoe_violation_rate) == 0
    # The oracle misses a latency budget only where no power can meet it (a deep fade at the cell edge).
    missed = ds.latency_ok.values == 0
    assert missed.mean() < 1e-3
    assert np.all(latency_power(kappa, req["gain"], req["latency_budget"], CFG)[missed] > CFG.p_max)
    near, far = req["distance"] < 150, req["distance"] > 400
    assert np.median(p[far]) > 1.2 * np.median(p[near])
    # P_ee falls as the channel improves.
    gains = cm.channel_gain(np.linspace(50, 500, 10), 1.0)
    assert np.all(np.diff(energy_efficient_power(gains, 475.0, CFG)) > 0)


def test_oracle_beats_every_heuristic_on_every_request_the_heuristic_serves_within_its_constraints():
    req = sample_requests(np.random.default_rng(3), 2000, CFG)
    results = {name: evaluate(*policy(req, CFG, np.random.default_rng(0)), req, CFG, method=name)
               for name, policy in POLICIES.items()}
    oracle = results.pop("oracle")
    for name, ds in results.items():
        served = (ds.qoe_ok.values == 1) & (ds.latency_ok.values == 1)
        assert served.sum() >= 100, name  # the comparison is never vacuous
        assert np.all(ds.carbon.values[served] >= oracle.carbon.values[served] * (1 - 1e-12)), name
    # And where a heuristic meets both constraints on every request, its mean carbon is the oracle's or more.
    fixed = results["qoe-fixed-power"]
    assert float(fixed.qoe_violation_rate) == 0 and float(fixed.carbon_g) >= float(oracle.carbon_g)
    assert float(results["random"].qoe_violation_rate) > 0.1


def test_qoe_length_is_the_shortest_that_meets_qoe():
    thresholds = np.linspace(0.05, 0.98, 500)
    kappa = qoe_length(thresholds, CFG)
    assert np.all(cm.qoe(kappa, CFG) >= thresholds)
    shorter = np.maximum(kappa - 1, CFG.kappa_min)
    assert np.all((cm.qoe(shorter, CFG) < thresholds) | (kappa == CFG.kappa_min))


# --- the environment -------------------------------------------------------------------------------------

def test_env_passes_gymnasium_checks_and_is_registered():
    env = gymnasium.make("greenaolo/Aolo-v0")
    check_env(env.unwrapped)
    assert isinstance(env.unwrapped, AoloEnv)
    with pytest.raises(ValueError, match="render_mode='human' is not supported"):
        AoloEnv(render_mode="human")


def test_same_seed_same_trajectory():
    actions = np.random.default_rng(0).uniform(-1, 1, size=(120, 2)).astype(np.float32)

    def run(seed):
        env = AoloEnv()
        obs, _ = env.reset(seed=seed)
        rows = [obs]
        for action in actions:
            obs, reward, _, truncated, info = env.step(action)
            rows.append(np.r_[obs, reward, info["carbon"]])
            if truncated:
                obs, _ = env.reset()
                rows.append(obs)
        return np.concatenate(rows)

    np.testing.assert_array_equal(run(7), run(7))
    assert not np.array_equal(run(7), run(8))


def test_step_reports_the_carbon_model_and_truncates():
    env = AoloEnv(CFG.replace(episode_length=3))
    env.reset(seed=0)
    req = env._requests
    action = np.array([0.0, 0.5], dtype=np.float32)
    kappa, p = decision(action, CFG)
    _, _, terminated, truncated, info = env.step(action)  # the reward: test_the_reward_is_the_docstrings_formula...
    c = cm.carbon(kappa, p, req["gain"][0], req["intensity"][0], CFG)
    assert info["carbon"] == pytest.approx(float(c.total))
    assert info["carbon_communication_operational"] == pytest.approx(float(c.communication_operational))
    assert info["kappa"] == float(kappa) and info["p_trans"] == pytest.approx(float(p))
    assert not terminated and not truncated
    env.step(action)
    assert env.step(action)[3] is True
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(action)


def test_a_violation_never_pays():
    env = AoloEnv()
    env.reset(seed=4)
    req = {k: v[:1] for k, v in env._requests.items()}
    kappa, p = oracle(req, env.config)
    good = env.step(action_for(kappa, p, env.config)[0])[1]
    env.reset(seed=4)
    short = env.step(np.array([-1.0, float(action_for(kappa, p, env.config)[0, 1])], dtype=np.float32))
    assert short[4]["qoe_ok"] is False and short[1] < good


def test_zero_carbon_scale_is_refused():
    cfg = CFG.replace(carbon_intensity_low=0.0, carbon_intensity_high=0.0, carbon_per_area=0.0)
    with pytest.raises(ValueError, match="carbon scale is 0.0"):
        AoloEnv(cfg)


def test_random_policy_is_independent_of_the_requests():
    from greenaolo.aolo.evaluation import evaluate_policy

    ds = evaluate_policy("random", CFG, n=2000)
    req = evaluation_requests(CFG, 2000)
    assert abs(np.corrcoef(ds.kappa.values, req["distance"])[0, 1]) < 0.1


def test_random_policy_goes_through_the_environments_decision_map(monkeypatch):
    from greenaolo.aolo import heuristics

    req = sample_requests(np.random.default_rng(0), 300, CFG)
    kappa, p = heuristics.random_policy(req, CFG, np.random.default_rng(7))
    rng = np.random.default_rng(7)  # the same stream: every kappa draw, then every power draw
    want = decision(np.stack([rng.uniform(-1, 1, 300), rng.uniform(-1, 1, 300)], axis=-1), CFG)
    np.testing.assert_array_equal(kappa, want[0])
    np.testing.assert_array_equal(p, want[1])
    seen = []
    monkeypatch.setattr(heuristics, "decision", lambda action, cfg: seen.append(action) or decision(action, cfg))
    heuristics.random_policy(req, CFG, np.random.default_rng(7))
    assert len(seen) == 1 and seen[0].shape == (300, 2)  # one map of the actions, the environment's


def test_observation_and_decision_maps():
    req = sample_requests(np.random.default_rng(0), 1000, CFG)
    obs = observation(req, CFG)
    assert obs.dtype == np.float32 and obs.shape == (1000, 5) and np.all(np.abs(obs) <= 1)
    kappa, p = decision(np.array([[-1, -1], [1, 1], [5, -5]]), CFG)
    np.testing.assert_allclose(kappa, [20, 600, 600])
    np.testing.assert_allclose(p, [0.1, 20, 0.1])
    k2, p2 = decision(action_for(np.array([137.0]), np.array([3.3]), CFG), CFG)
    assert k2[0] == 137 and p2[0] == pytest.approx(3.3, rel=1e-5)


def test_cli_evaluate_prints_a_json_summary():
    import json

    from typer.testing import CliRunner

    from greenaolo.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["aolo", "evaluate", "--policy", "oracle", "--n-requests", "300", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert {"carbon_g", "qoe_violation_rate", "latency_violation_rate"} <= set(summary)
    direct = evaluate(*oracle(evaluation_requests(CFG, 300), CFG), evaluation_requests(CFG, 300), CFG, method="o")
    assert summary["carbon_g"] == pytest.approx(float(direct.carbon_g))
    random = json.loads(runner.invoke(app, ["aolo", "evaluate", "--policy", "random", "--json"]).output.splitlines()[-1])
    assert random["carbon_g"] > summary["carbon_g"] and random["qoe_violation_rate"] > 0.1
    bad = runner.invoke(app, ["aolo", "evaluate", "--policy", "sdrl"])
    assert bad.exit_code == 2 and "policy='sdrl' is unknown" in bad.output
    bad = runner.invoke(app, ["aolo", "evaluate", "--n-requests", "0"])
    assert bad.exit_code == 2 and "n_requests=0 is out of range: expected an integer in [1, 1e+06]" in bad.output


def test_cli_evaluate_reads_a_yaml_config(tmp_path):
    from typer.testing import CliRunner

    from greenaolo.cli import app

    path = CFG.replace(streaming=False).to_yaml(tmp_path / "c.yaml")
    result = CliRunner().invoke(app, ["aolo", "evaluate", "--config", str(path), "--json"])
    assert result.exit_code == 0
    assert __import__("json").loads(result.output.splitlines()[-1])["communication_share"] < 0.05
    (tmp_path / "bad.yaml").write_text("pue: 9\n")
    bad = CliRunner().invoke(app, ["aolo", "evaluate", "--config", str(tmp_path / "bad.yaml")])
    assert bad.exit_code == 2 and "AoloConfig.pue=9 is out of range" in bad.output


@pytest.mark.parametrize("case", ["both met", "QoE missed", "late", "both missed"])
def test_the_reward_is_the_docstrings_formula_term_by_term(case):
    """The reward the agents optimise, computed by hand from the environment's docstring with weights that
    differ (w_Q = 2, w_T = 3), so dropping or swapping any term changes it."""
    from greenaolo.aolo.explore import one_request

    cfg = CFG.replace(episode_length=1, qoe_penalty=2.0, latency_penalty=3.0)
    # (distance, fading, Q_th, T_max) and the action: short answers miss a high threshold; the longest answer
    # at the least power over a deep fade at the cell edge is late.
    setting, action = {
        "both met": ((100.0, 1.0, 0.6, 20.0), [0.0, 0.5]),
        "QoE missed": ((100.0, 1.0, 0.9, 20.0), [-0.9, 0.5]),
        "late": ((500.0, 0.01, 0.6, 10.0), [1.0, -1.0]),
        "both missed": ((500.0, 0.01, 0.9, 10.0), [-0.2, -1.0]),
    }[case]
    distance, fading, threshold, budget = setting
    env = AoloEnv(cfg)
    env.reset(seed=0)
    env._requests = one_request(distance, fading, threshold, budget, 475.0)
    _, r, _, _, info = env.step(np.array(action, dtype=np.float32))

    kappa = info["kappa"]
    q = 1.0 - math.exp(-kappa / 150.0)  # eq. (17), kappa_0 = 150 words
    assert info["qoe"] == pytest.approx(q, rel=1e-12)
    c_ref = float(cm.inference_operational_carbon(cfg.kappa_max, 475.0, cfg) + cm.inference_embodied_carbon(cfg.kappa_max, cfg))
    qoe_term = 2.0 * (1.0 + (threshold - q) / threshold) if q < threshold else 0.0
    late_term = 3.0 * (1.0 + (info["latency"] - budget) / budget) if info["latency"] > budget else 0.0
    expected = -info["carbon"] / c_ref - qoe_term - late_term
    assert r == pytest.approx(expected, rel=1e-12, abs=1e-12)
    # Each case provokes exactly the penalties it names.
    assert (qoe_term > 0, late_term > 0) == {"both met": (False, False), "QoE missed": (True, False),
                                             "late": (False, True), "both missed": (True, True)}[case]


def test_the_useful_answer_range_spans_every_optimal_length_and_keeps_the_optimum():
    import numpy as np

    from greenaolo.aolo.config import AoloConfig
    from greenaolo.aolo.env import action_for, decision
    from greenaolo.aolo.oracle import oracle
    from greenaolo.aolo.requests import sample_requests

    useful = AoloConfig(useful_kappa_range=True)
    # Q = 1 - exp(-kappa / 150): Q = 0.6 needs 137.4 words, Q = 0.9 needs 345.4: whole words 138 and 346.
    assert useful.action_kappa_range == (138.0, 346.0) and AoloConfig().action_kappa_range == (20.0, 600.0)
    kappa, _ = decision(np.array([[-1.0, 0.0], [1.0, 0.0]]), useful)
    assert kappa.tolist() == [138.0, 346.0]
    requests = sample_requests(np.random.default_rng(7), 20_000, useful)
    k_useful, p_useful = oracle(requests, useful)
    k_full, p_full = oracle(requests, AoloConfig())
    assert np.array_equal(k_useful, k_full) and np.array_equal(p_useful, p_full)
    assert k_full.min() >= 138 and k_full.max() <= 346
    # Every optimal decision is an action: mapped back and forth, it is the same decision.
    back_k, back_p = decision(action_for(k_useful, p_useful, useful), useful)
    assert np.array_equal(back_k, k_useful) and np.allclose(back_p, p_useful, rtol=1e-5)
    # The default map is untouched: the same action gives the same length as before the option existed.
    assert decision(np.array([0.0, 0.0]), AoloConfig())[0] == 310.0
    # A configuration recorded before the field existed is the default one.
    recorded = {k: v for k, v in AoloConfig().to_dict().items() if k != "useful_kappa_range"}
    import json
    assert AoloConfig().same_as(json.dumps(recorded))


def test_annealed_exploration_noise_falls_linearly_then_stays():
    import pytest

    from greenaolo.aolo.env import AoloEnv
    from greenaolo.aolo.training import AnnealedNormalActionNoise, HyperparameterError, agent, load_hyperparams

    noise = AnnealedNormalActionNoise(2, 0.2, 0.0, 4)
    sigmas = []
    for _ in range(6):
        noise()
        sigmas.append(float(noise._sigma[0]))
    assert sigmas == pytest.approx([0.2, 0.15, 0.1, 0.05, 0.0, 0.0])
    hp = load_hyperparams()
    hp["ddpg"] = {**hp["ddpg"], "action_noise_final": 0.01, "action_noise_decay_steps": 100}
    model = agent("ddpg", AoloEnv(), 0, hp)
    assert isinstance(model.action_noise, AnnealedNormalActionNoise) and model.action_noise.final == 0.01
    hp["ddpg"].pop("action_noise_decay_steps")  # then over the whole run: its steps must be known
    assert agent("ddpg", AoloEnv(), 0, hp, steps=500).action_noise.steps == 500
    with pytest.raises(HyperparameterError, match="decays over the run: pass its environment steps"):
        agent("ddpg", AoloEnv(), 0, hp)
    hp["ddpg"] = {**hp["ddpg"], "action_noise_decay_steps": 100}
    hp["ddpg"].pop("action_noise_final")
    with pytest.raises(HyperparameterError, match="action_noise_decay_steps=100 needs action_noise_final"):
        agent("ddpg", AoloEnv(), 0, hp)
