"""The AOLO benchmark and tuning studies (greenaolo.aolo.benchmark) against numbers computed by hand from
the runs and trials they read."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from scipy import stats

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.benchmark import (GAP_THRESHOLDS, benchmark_study, benchmark_table, explains_table, gap_parts,
                                      per_request_gap, spiking_table, tuned_reference_gaps, tuning_study)
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.evaluation import evaluate
from greenaolo.aolo.oracle import best_power, oracle
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.aolo.runs import ensure_runs, load_runs
from greenaolo.aolo.config import PAPER_REDUCTION
from greenaolo.aolo.tuning import journal_path
from greenaolo.io import read_dataset, write_dataset

SEEDS = [0, 1, 2, 3]
AGENTS = ["sac", "sdrl", "ppo", "td3", "sdrl_td3"]  # two spiking agents with their twins


@pytest.fixture(scope="module")
def variant_runs(tmp_path_factory, small_hyperparams):
    hp = small_hyperparams(learning_starts=40, profile={"gradient_updates": 80, "eval_every": 40, "n_eval": 60,
                                                         "seeds": SEEDS})
    hp["ppo"].update(n_steps=40, batch_size=20, net_arch=[16, 16])
    tuned = json.loads(json.dumps(hp))
    tuned["common"]["learning_rate"] = 3e-3  # another configuration: the "tuned" runs differ
    runs_dir = tmp_path_factory.mktemp("runs")
    return {variant: ensure_runs(runs_dir, profile="quick", seeds=SEEDS, algorithms=AGENTS, variant=variant,
                                 hyperparams=h, progress=False, scheduler="serial")
            for variant, h in (("default", hp), ("tuned", tuned))}


@pytest.fixture(scope="module")
def benchmark(variant_runs):
    return benchmark_study(variant_runs, n_bootstrap=300)


def test_benchmark_summaries_are_the_statistics_of_the_runs(benchmark, variant_runs):
    ds = benchmark
    assert list(ds.variant.values) == ["default", "tuned"] and list(ds.agent.values) == ["sac", "sdrl", "td3", "ppo", "sdrl_td3"]
    for variant, paths in variant_runs.items():
        runs = load_runs(paths)
        for agent in AGENTS:
            gaps = runs.gap_to_oracle.sel(algorithm=agent).values
            middle = np.sort(gaps)[1:3]  # IQM of 4 runs: the middle two
            cell = ds.sel(variant=variant, agent=agent)
            assert float(cell.iqm_gap_to_oracle) == pytest.approx(middle.mean())
            assert float(cell.mean_gap_to_oracle) == pytest.approx(gaps.mean())
            assert cell.iqm_gap_to_oracle_low <= cell.iqm_gap_to_oracle <= cell.iqm_gap_to_oracle_high
            assert float(cell.mean_qoe_violation_rate) == pytest.approx(runs.qoe_violation_rate.sel(algorithm=agent).mean())
    c = {v: load_runs(p).carbon_g for v, p in variant_runs.items()}
    assert list(ds.spiking.values) == ["sdrl", "sdrl_td3"] and list(ds.twin.values) == ["sac", "td3"]
    for variant in ("default", "tuned"):
        for spiking, plain in (("sdrl", "sac"), ("sdrl_td3", "td3")):
            x, y = c[variant].sel(algorithm=spiking).values, c[variant].sel(algorithm=plain).values
            cell = ds.sel(variant=variant, spiking=spiking)
            assert float(cell.spiking_reduction) == pytest.approx(1 - np.sort(x)[1:3].mean() / np.sort(y)[1:3].mean())
            pairs = [(a < b) + 0.5 * (a == b) for a in x for b in y]  # every spiking run against every twin's run
            assert float(cell.spiking_improvement_probability) == pytest.approx(np.mean(pairs))
            assert cell.spiking_reduction_low <= cell.spiking_reduction <= cell.spiking_reduction_high
    assert float(ds.ref_gap_to_oracle.sel(policy="oracle")) == 0.0
    assert float(ds.ref_gap_to_oracle.sel(policy="max-length-max-power")) > 0.5  # the longest answers cost most


def test_performance_profiles_count_requests_within_the_threshold(benchmark, variant_runs):
    cfg = AoloConfig()
    requests = evaluation_requests(cfg, 60)
    best = evaluate(*oracle(requests, cfg), requests, cfg, method="oracle")
    run = read_dataset(variant_runs["tuned"][1 * len(SEEDS) + 2])  # sdrl, seed 2
    assert run.attrs["algorithm"] == "sdrl" and run.attrs["seed"] == 2
    gap = run.carbon.values / best.carbon.values - 1
    ok = (run.qoe_ok.values == 1) & (run.latency_ok.values == 1)
    np.testing.assert_array_equal(per_request_gap(run, best.carbon.values), np.where(ok, gap, np.inf))
    for k in (0, 10, 50):
        tau = GAP_THRESHOLDS[k]
        expected = np.mean(ok & (gap <= tau))
        assert float(benchmark.profile.sel(variant="tuned", agent="sdrl", seed=2).isel(tau=k)) == pytest.approx(expected)
    profile = benchmark.profile_mean.values
    assert (np.diff(profile, axis=-1) >= 0).all() and profile.max() <= 1


def test_gap_parts_split_the_gap_into_lengths_and_power():
    cfg = AoloConfig()
    requests = evaluation_requests(cfg, 200)
    kappa_best, p_best = oracle(requests, cfg)
    c_best = cm.carbon(kappa_best, p_best, requests["gain"], requests["intensity"], cfg).total.mean()
    rng = np.random.default_rng(0)
    longer = np.minimum(kappa_best + 100, cfg.kappa_max)  # long enough that the latency budget asks for more power
    p_any = rng.uniform(cfg.p_min, cfg.p_max, kappa_best.shape)
    # The oracle's own actions: no gap at all.
    assert gap_parts(kappa_best, p_best, requests, cfg) == {"length": 0.0, "power": 0.0, "excess_words": 0.0}
    # The oracle's lengths at any power: all of the gap is the power's.
    parts = gap_parts(kappa_best, p_any, requests, cfg)
    c_any = cm.carbon(kappa_best, p_any, requests["gain"], requests["intensity"], cfg).total.mean()
    assert parts["length"] == 0.0 and parts["power"] == pytest.approx(c_any / c_best - 1) and parts["power"] > 0
    # Longer answers at the best power for them: all of it is the lengths'; at any power the two add up.
    p_longer = best_power(longer, requests, cfg)
    assert (p_longer > p_best * 1.01).any() and (p_longer == p_best).any()
    parts = gap_parts(longer, p_longer, requests, cfg)
    c_longer = cm.carbon(longer, p_longer, requests["gain"], requests["intensity"], cfg).total.mean()
    assert parts["power"] == 0.0 and parts["length"] == pytest.approx(c_longer / c_best - 1) and parts["length"] > 0
    assert parts["excess_words"] == pytest.approx(np.mean(longer - kappa_best))
    parts = gap_parts(longer, p_any, requests, cfg)
    c_both = cm.carbon(longer, p_any, requests["gain"], requests["intensity"], cfg).total.mean()
    assert parts["length"] + parts["power"] == pytest.approx(c_both / c_best - 1)
    assert parts["length"] == pytest.approx(c_longer / c_best - 1)
    # The best power for a length never emits more than any other power meeting the same latency.
    meets = cm.meets_latency(cm.latency(longer, p_any, requests["gain"], cfg), requests["latency_budget"])
    c_at = lambda p: cm.carbon(longer, p, requests["gain"], requests["intensity"], cfg).total  # noqa: E731
    assert (c_at(p_longer)[meets] <= c_at(p_any)[meets] * (1 + 1e-9)).all()


def test_benchmark_records_each_runs_gap_parts(benchmark, variant_runs):
    cfg = AoloConfig()
    requests = evaluation_requests(cfg, 60)
    run = read_dataset(variant_runs["default"][0])  # sac, seed 0
    parts = gap_parts(run.kappa.values, run.p_trans.values, requests, cfg)
    cell = benchmark.sel(variant="default", agent="sac", seed=0)
    assert float(cell.length_gap) == pytest.approx(parts["length"]) and float(cell.excess_words) == pytest.approx(parts["excess_words"])
    assert float(cell.length_gap + cell.power_gap) == pytest.approx(float(cell.gap_to_oracle))


def test_benchmark_tables_and_dataset_on_disk(benchmark, tmp_path):
    path = tmp_path / "aolo_benchmark.nc"
    write_dataset(benchmark, path, profile="quick", figure="aolo_benchmark", parameters={}, seeds=SEEDS)
    ds = read_dataset(path)
    table = benchmark_table(ds)
    assert table.loc["sdrl (tuned)", "gap IQM %"] == pytest.approx(float(ds.iqm_gap_to_oracle.sel(variant="tuned", agent="sdrl")) * 100, abs=1e-3)
    assert "oracle" in table.index
    versus = spiking_table(ds)
    assert list(versus.index) == [(v, pair) for v in ("default", "tuned") for pair in ("SDRL vs SAC", "PopSAN-TD3 vs TD3")]
    assert versus["paper %"].iloc[0] == pytest.approx(18.77) and np.isnan(versus["paper %"].iloc[1])


def _trial(number, gap, state="COMPLETE", value=None):
    """A finished trial as the objective would leave it."""
    attrs = {"seed": 1000 + number, "gap_to_oracle": gap, "carbon_g": 0.4 * (1 + gap), "qoe_violation_rate": 0.0,
             "latency_violation_rate": 0.0, "steps_per_second": 100.0, "hyperparams": json.dumps({"tau": 0.01})}
    cost = 1.0 + gap if value is None else value
    if state == "PRUNED":
        return optuna.trial.create_trial(state=optuna.trial.TrialState.PRUNED, params={"tau": 0.01 * (number + 1)},
                                         distributions={"tau": optuna.distributions.FloatDistribution(0.001, 1)},
                                         intermediate_values={2000: cost}, user_attrs={k: attrs[k] for k in ("seed", "hyperparams")})
    return optuna.trial.create_trial(value=cost, params={"tau": 0.01 * (number + 1)},
                                     distributions={"tau": optuna.distributions.FloatDistribution(0.001, 1)},
                                     intermediate_values={10000: cost}, user_attrs=attrs)


@pytest.fixture
def studies_dir(tmp_path):
    """Two hand-made studies: SAC's gaps 10, 5, 40, 50, 28% and one pruned; SDRL's 60, 6% and one pruned."""
    for algorithm, trials in (("sac", [_trial(0, 0.10), _trial(1, 0.05), _trial(2, 0.40), _trial(3, 0.3, "PRUNED"),
                                       _trial(4, 0.50), _trial(5, 0.28)]),
                              ("sdrl", [_trial(0, 0.60), _trial(1, 0.06), _trial(2, 0.9, "PRUNED")])):
        storage = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(str(journal_path(tmp_path, algorithm))))
        study = optuna.create_study(study_name=algorithm, storage=storage, direction="minimize")
        study.add_trials(trials)
        study.set_user_attr("budget", {"updates": 9000})
    return tmp_path


def test_tuning_study_answers_the_18_77_question_by_hand(studies_dir):
    ds = tuning_study(studies_dir)
    assert list(ds.algorithm.values) == ["sac", "sdrl"]
    # Against tuned SDRL (its best trial: 6%), a SAC configuration would show 18.77% from a gap of
    # 1.06 / 0.8123 - 1 = 30.5%: 40% and 50% do, 28% does not (it is 18.77% above, but "18.77% less" is
    # relative to SAC's carbon), of 5 complete trials; the pruned one is not counted.
    threshold = 1.06 / (1 - PAPER_REDUCTION) - 1
    assert float(ds.sac_configs_above_tuned_sdrl_threshold_gap) == pytest.approx(threshold)
    assert float(ds.sac_configs_above_tuned_sdrl) == 0.4
    assert (int(ds.sac_configs_above_tuned_sdrl_count), int(ds.sac_configs_above_tuned_sdrl_complete),
            int(ds.sac_configs_above_tuned_sdrl_pruned)) == (2, 5, 1)
    low, high = stats.binomtest(2, 5).proportion_ci(method="exact")
    assert (float(ds.sac_configs_above_tuned_sdrl_low), float(ds.sac_configs_above_tuned_sdrl_high)) == pytest.approx((low, high))
    # Against tuned SAC (5%): 1.05 / 0.8123 - 1 = 29.3%; SDRL's 60% does, its 6% does not.
    assert float(ds.sdrl_configs_above_tuned_sac) == 0.5
    # Counting the pruned trial as not qualifying, then as qualifying: 2 of 6, 3 of 6.
    assert (float(ds.sac_configs_above_tuned_sdrl_range_low), float(ds.sac_configs_above_tuned_sdrl_range_high)) == \
        pytest.approx((2 / 6, 3 / 6))
    # The best value so far runs over complete trials only, in the order they finished.
    np.testing.assert_allclose(ds.best_value_so_far.sel(algorithm="sac").values, [1.10, 1.05, 1.05, 1.05, 1.05, 1.05])
    assert list(ds.trial_state.sel(algorithm="sac").values) == ["complete"] * 3 + ["pruned"] + ["complete"] * 2
    # With the tuned runs' gaps as the reference instead, and the first three trials only.
    ds = tuning_study(studies_dir, trials=3, reference_gap={"sdrl": 0.2, "sac": 0.0}, reference_source="runs")
    assert float(ds.sac_configs_above_tuned_sdrl_threshold_gap) == pytest.approx(1.2 / (1 - PAPER_REDUCTION) - 1)
    assert int(ds.sac_configs_above_tuned_sdrl_complete) == 3 and float(ds.sac_configs_above_tuned_sdrl) == 0.0
    table = explains_table(ds)
    assert list(table["configurations of"]) == ["SAC", "SDRL"]


def test_tuning_study_without_studies_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="make tune"):
        tuning_study(tmp_path)


def test_tuned_reference_is_the_iqm_over_runs(variant_runs):
    gaps = tuned_reference_gaps(variant_runs["tuned"])
    runs = load_runs(variant_runs["tuned"])
    assert gaps["sac"] == pytest.approx(np.sort(runs.gap_to_oracle.sel(algorithm="sac").values)[1:3].mean())


def test_tuning_figure_keeps_far_off_configurations_on_the_axis(studies_dir):
    """A configuration that violates its constraints can emit far less than the oracle (PPO's collapsed
    policies): panel (c) draws it hollow at the axis' floor, labelled with its gap, and does not stretch the
    axis to it."""
    import matplotlib.pyplot as plt

    from greenaolo.aolo.figures import TUNING_GAP_FLOOR, draw_tuning

    ds = tuning_study(studies_dir)
    ds["trial_gap_to_oracle"].loc[{"algorithm": "sac", "trial": 0}] = -0.88
    ds["trial_qoe_violation_rate"].loc[{"algorithm": "sac", "trial": 0}] = 1.0
    fig = draw_tuning(ds)
    ax = fig.axes[2]
    assert ax.get_title(loc="left").startswith("(c)")
    assert ax.get_ylim()[0] == pytest.approx(TUNING_GAP_FLOOR * 100)
    points = [(c.get_offsets(), c.get_facecolors()) for c in ax.collections if len(c.get_offsets())]
    ys = np.concatenate([o[:, 1] for o, _ in points])
    assert ys.min() >= TUNING_GAP_FLOOR * 100  # every configuration inside the axis
    hollow = [o for o, face in points if len(face) == 0 or np.allclose(face[:, 3], 0)]
    assert sum(len(o) for o in hollow) == 1 and hollow[0][0, 1] == pytest.approx(TUNING_GAP_FLOOR * 100 + 2)
    assert [t.get_text() for t in ax.texts if t.get_text().endswith("%") and t.get_text().startswith("-")] == ["-88%"]
    plt.close(fig)


def test_random_draw_shares_count_by_hand_per_learning_rate_range():
    """Six draws, counted by hand: a draw qualifies when its gap reaches (1 + g_SDRL) / (1 - 0.1877) - 1 and its
    violation rates are within the bound; each learning-rate range counts the draws inside it."""
    import optuna

    from greenaolo.aolo.benchmark import random_draw_shares

    reference = 0.07
    threshold = (1 + reference) / (1 - 0.1877) - 1  # 0.3172...
    draws = [  # learning rate, gap, QoE violation rate
        (2e-6, 0.50, 0.0),    # qualifies; only in the wider range
        (2e-5, 0.40, 0.0),    # qualifies; study's and wider
        (3e-5, 0.40, 0.10),   # above the gap but violates: not counted
        (5e-4, 0.10, 0.0),    # below the gap
        (2e-3, threshold, 0.0),  # exactly at the gap: qualifies
        (5e-3, 0.90, 0.0),    # qualifies; only in the wider range
    ]
    study = optuna.create_study()
    dist = {"learning_rate": optuna.distributions.FloatDistribution(1e-6, 1e-2, log=True)}
    for i, (lr, gap, qoe) in enumerate(draws):
        study.add_trial(optuna.trial.create_trial(
            params={"learning_rate": lr}, distributions=dist, value=1.0,
            user_attrs={"gap_to_oracle": gap, "qoe_violation_rate": qoe, "latency_violation_rate": 0.0, "seed": i}))
    ds = random_draw_shares(study, reference)
    got = {str(r): (int(ds.random_sac_count.sel(lr_range=r)), int(ds.random_sac_draws.sel(lr_range=r)))
           for r in ds.lr_range.values}
    assert got == {"the study's, 1e-5 to 3e-3": (2, 4), "narrower, 1e-4 to 3e-3": (1, 2), "wider, 1e-6 to 1e-2": (4, 6)}
    assert int(ds.random_sac_violating.sel(lr_range="the study's, 1e-5 to 3e-3")) == 1
    assert float(ds.random_sac_share.sel(lr_range="wider, 1e-6 to 1e-2")) == pytest.approx(4 / 6)
    from scipy.stats import binomtest

    ci = binomtest(4, 6).proportion_ci(method="exact")
    assert float(ds.random_sac_low.sel(lr_range="wider, 1e-6 to 1e-2")) == pytest.approx(ci.low)
    assert float(ds.random_sac_high.sel(lr_range="wider, 1e-6 to 1e-2")) == pytest.approx(ci.high)


def test_the_ablation_switches_one_option_at_a_time():
    from greenaolo.aolo.benchmark import ablation_variants

    ddpg = {"learning_rate": 1e-3, "train_freq": 2, "gradient_steps": 8, "learning_starts": 100,
            "action_noise_std": 0.1, "action_noise_final": 0.01, "useful_kappa_range": True}
    v = ablation_variants(ddpg)
    assert list(v) == ["tuned", "updates per step off", "annealed learning rate on", "annealed noise off",
                       "useful answer range off"]
    assert v["tuned"] == ddpg
    assert v["updates per step off"] == {**ddpg, "gradient_steps": 2}  # one per environment step
    assert v["annealed learning rate on"] == {**ddpg, "learning_rate_final": 0.1}
    assert v["annealed noise off"] == {k: x for k, x in ddpg.items() if k != "action_noise_final"}
    assert v["useful answer range off"] == {**ddpg, "useful_kappa_range": False}
    sac = {"learning_rate": 1e-3, "train_freq": 4, "gradient_steps": 4, "learning_rate_final": 0.3}
    v = ablation_variants(sac)
    assert list(v) == ["tuned", "updates per step on", "annealed learning rate off", "useful answer range on"]
    assert v["updates per step on"]["gradient_steps"] == 16 and "learning_rate_final" not in v["annealed learning rate off"]
    assert list(ablation_variants({"learning_rate": 3e-4, "n_steps": 64})) == [
        "tuned", "annealed learning rate on", "useful answer range on"]  # PPO
    assert sac == {"learning_rate": 1e-3, "train_freq": 4, "gradient_steps": 4, "learning_rate_final": 0.3}  # untouched
