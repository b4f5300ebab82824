"""Hyperparameter tuning (greenaolo.aolo.tuning) and the baseline agents it tunes: search spaces, budgets,
a quick study end to end on local Dask workers and in process, and resuming a study killed halfway."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import optuna
import pytest

from greenaolo.aolo.training import (ACCEPTS, HyperparameterError, agent, environment_steps, load_hyperparams,
                                     settings, train,
                                     validate_hyperparams)
from greenaolo.aolo.env import AoloEnv
from greenaolo.aolo.samplers import space_of
from greenaolo.aolo.tuning import best_trial, journal_path, load_budget, load_study, study_trials, suggest, tune, write_tuned
from greenaolo.options import ALGORITHMS

TINY = {"updates": 120, "eval_every": 40, "n_validation": 50, "startup_trials": 1, "warmup_evaluations": 1}


@pytest.fixture
def budget():
    return replace(load_budget("quick"), **TINY)


def test_settings_take_the_common_entries_each_algorithm_knows():
    hp = load_hyperparams()
    sac, td3, ppo = settings(hp, "sac"), settings(hp, "td3"), settings(hp, "ppo")
    assert sac["learning_rate"] == hp["common"]["learning_rate"] and sac["ent_coef"] == "auto"
    assert td3["tau"] == hp["common"]["tau"] and "ent_coef" not in td3 and td3["action_noise_std"] == 0.1
    # PPO: gamma and the Adam options from common, its own learning rate, batch and network; no replay buffer.
    assert ppo["gamma"] == 0.0 and ppo["optimizer_kwargs"] == {"fused": True}
    assert (ppo["learning_rate"], ppo["batch_size"], ppo["net_arch"]) == (3e-4, 64, [64, 64])
    assert "buffer_size" not in ppo and "tau" not in ppo
    assert set(ppo) <= set(ACCEPTS["ppo"])


@pytest.mark.parametrize("algorithm", ["td3", "ddpg", "ppo"])
def test_baselines_train_through_the_same_code(algorithm, small_hyperparams):
    hp = small_hyperparams(learning_starts=30, profile={"gradient_updates": 80, "eval_every": 40, "n_eval": 30, "seeds": [0]})
    hp["ppo"].update(n_steps=40, batch_size=20, net_arch=[16, 16])
    ds = train(algorithm, 0, hyperparams=hp, progress=False)
    assert ds.attrs["algorithm"] == algorithm and ds.attrs["variant"] == "default"
    assert list(ds.step.values) == [0, 40, 80] and np.isfinite(ds.curve_carbon_g).all()
    model = agent(algorithm, AoloEnv(), 0, hp)
    assert type(model).__name__.lower().removeprefix("aolo") == algorithm  # AoloTD3, AoloDDPG: SB3's with the gamma = 0 shortcut
    if algorithm == "ppo":  # 80 steps are two whole rollouts of 40: both are learnt from, none more is drawn
        ds, model = train(algorithm, 0, hyperparams=hp, progress=False, return_model=True)
        assert model.num_timesteps == 80 and model._n_updates == 2 * model.n_epochs
        hp["profiles"]["quick"]["gradient_updates"] = 70  # a rollout and a part: the part is not learnt from
        ds, model = train(algorithm, 0, hyperparams=hp, progress=False, return_model=True)
        assert model.num_timesteps == 70 and model._n_updates == model.n_epochs


def test_td3_takes_its_action_noise_and_ppo_its_log_std():
    hp = load_hyperparams()
    hp["td3"]["action_noise_std"] = 0.25
    hp["ppo"]["log_std_init"] = -1.5
    td3, ppo = agent("td3", AoloEnv(), 0, hp), agent("ppo", AoloEnv(), 0, hp)
    assert np.allclose(td3.action_noise._sigma, 0.25)
    assert np.allclose(ppo.policy.log_std.detach().numpy(), -1.5)


def test_ppo_entropy_coefficient_must_be_a_number():
    hp = load_hyperparams()
    hp["ppo"]["ent_coef"] = "auto"
    with pytest.raises(HyperparameterError, match="ppo's ent_coef='auto' must be a number"):
        validate_hyperparams(hp, "x.yaml")
    hp["ppo"]["ent_coef"] = 0.0
    hp["ppo"]["tau"] = 0.1  # not a PPO hyperparameter
    with pytest.raises(HyperparameterError, match="unknown key ppo.tau"):
        validate_hyperparams(hp, "x.yaml")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_sampler_draws_valid_settings_within_the_compute_bound(algorithm):
    """Many random draws of each sampler: every one passes the hyperparameter checks and the compute bound
    (docs/aolo.md#compute-bound), gamma is never tuned, and every distribution asked for is drawn from."""
    hp = load_hyperparams()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    names = set()
    for _ in range(60):
        trial = study.ask()
        chosen = settings(suggest(trial, hp, algorithm), algorithm)
        names |= set(trial.params)
        assert chosen["gamma"] == 0.0 and "gamma" not in trial.params
        assert chosen["batch_size"] <= 256 and max(chosen["net_arch"]) <= 256
        if algorithm != "ppo":
            assert 1 <= chosen["gradient_steps"] <= 4 * chosen["train_freq"]  # at most four per environment step
            # the budget is gradient updates: the environment steps make them, whatever the ratio
            steps = environment_steps(algorithm, chosen, 9000)
            calls = steps // chosen["train_freq"] - chosen["learning_starts"] // chosen["train_freq"]
            assert 9000 <= calls * chosen["gradient_steps"] < 9000 + chosen["gradient_steps"]
        if algorithm.startswith("sdrl"):
            assert chosen["popsan_kwargs"]["spike_ts"] <= 5 and max(chosen["popsan_kwargs"]["hidden_sizes"]) <= 256
        study.tell(trial, 0.0)
    assert names == set(space_of(algorithm))


def test_a_spiking_agents_space_is_its_plain_twins_plus_sdrls_popsan_options():
    popsan = set(space_of("sdrl")) - set(space_of("sac"))
    assert popsan == {"snn_lr_scale", "popsan_kwargs.spike_ts", "popsan_kwargs.encoder_pop_dim",
                      "popsan_kwargs.hidden_sizes"}
    for twin in ("td3", "ddpg"):
        spiking = space_of(f"sdrl_{twin}")
        assert set(spiking) == set(space_of(twin)) | popsan
        assert all(spiking[name] == space_of("sdrl")[name] for name in popsan)
        assert all(spiking[name] == space_of(twin)[name] for name in space_of(twin))


def test_gradient_steps_are_updates_per_step_times_the_steps_between_updates():
    hp = load_hyperparams()
    fixed = {"learning_rate": 1e-3, "batch_size": 64, "tau": 0.01, "train_freq": 8, "learning_starts": 100,
             "ent_coef": "auto", "target_entropy": -1.0, "net_arch": "medium", "learning_rate_final": 1.0,
             "useful_kappa_range": False}
    for ratio, steps in ((0.25, 2), (0.5, 4), (1, 8), (2, 16), (4, 32)):
        chosen = settings(suggest(optuna.trial.FixedTrial({**fixed, "updates_per_step": ratio}), hp, "sac"), "sac")
        assert chosen["gradient_steps"] == steps and chosen["net_arch"] == [256, 256]
    fixed["train_freq"] = 1
    assert settings(suggest(optuna.trial.FixedTrial({**fixed, "updates_per_step": 0.25}), hp, "sac"),
                    "sac")["gradient_steps"] == 1  # at least one


def test_the_committed_studies_ran_with_todays_samplers():
    """Each committed study's trials were drawn from exactly the distributions its sampler asks for today, and
    its recorded space (the legacy YAML form) is recognised as the same: the studies resume."""
    from greenaolo.aolo.samplers import same_space
    from greenaolo.aolo.tuning import STUDIES_DIR

    for algorithm in ALGORITHMS:
        study = load_study(STUDIES_DIR, algorithm)
        drawn = {name: optuna.distributions.distribution_to_json(d)
                 for t in study.trials for name, d in t.distributions.items()}
        assert drawn == space_of(algorithm), algorithm
        assert same_space(study.user_attrs["space"], algorithm)
    assert not same_space('{"learning_rate": {"low": 1e-4, "high": 1e-2, "log": true}}', "sac")


def test_tuning_seeds_must_lie_above_the_final_seeds(tmp_path):
    path = tmp_path / "tuning.yaml"
    path.write_text("profiles:\n  quick: {trials: 4, updates: 300, eval_every: 100, n_validation: 100, "
                    "startup_trials: 2, warmup_evaluations: 1, first_seed: 1}\n")
    with pytest.raises(HyperparameterError, match="first_seed=1 is not above"):
        load_budget("quick", str(path))
    assert load_budget("full").first_seed > max(s for p in load_hyperparams()["profiles"].values() for s in p["seeds"])


def test_a_quick_study_on_local_workers_writes_tuned_hyperparameters(tmp_path, budget):
    study = tune("sac", budget=replace(budget, trials=4), storage_dir=tmp_path, scheduler="local", workers=2,
                 progress=False, poll_seconds=0.2)
    records = study_trials(study)
    assert len(records) == 4 and all(r.state in ("complete", "pruned") for r in records)
    assert len({r.seed for r in records}) == 4 and min(r.seed for r in records) >= budget.first_seed
    assert study.user_attrs["budget"]["updates"] == budget.updates and study.user_attrs["validation_seed"] == 20250307
    first = [t.params for t in study.trials]
    # Resumed on the workers to 5: exactly one more trial (each worker has a quota, two workers, one trial
    # missing: an overshoot would make 6), with a fresh seed.
    study = tune("sac", budget=replace(budget, trials=5), storage_dir=tmp_path, scheduler="local", workers=2,
                 progress=False, poll_seconds=0.2)
    assert len(study.trials) == 5 and len({t.user_attrs["seed"] for t in study.trials}) == 5
    assert [t.params for t in study.trials[:4]] == first
    records = study_trials(study)
    best = best_trial(study)
    assert best.value == min(r.value for r in records if r.state == "complete")
    tuned = write_tuned(tmp_path / "tuned.yaml", {"sac": study})
    with pytest.raises(HyperparameterError, match="no tuned hyperparameters for sdrl"):
        load_hyperparams(variant="tuned", tuned=str(tuned))
    import yaml

    data = yaml.safe_load(tuned.read_text())
    entry = data["agents"]["sac"]
    assert entry["best_value"] == best.value and entry["trials"] == 5 and entry["best_seed"] == best.user_attrs["seed"]
    for algorithm in ALGORITHMS[1:]:  # the same entry for every algorithm, to load the file
        data["agents"][algorithm] = dict(entry, hyperparams=settings(load_hyperparams(), algorithm))
    tuned.write_text(yaml.safe_dump(data))
    hp = load_hyperparams(variant="tuned", tuned=str(tuned))
    assert settings(hp, "sac") == entry["hyperparams"]
    assert hp["profiles"] == load_hyperparams()["profiles"]


def _finished(path) -> int:
    if not path.is_file():
        return 0
    study = optuna.load_study(study_name="sac", storage=optuna.storages.JournalStorage(
        optuna.storages.journal.JournalFileBackend(str(path))))
    return sum(t.state.name in ("COMPLETE", "PRUNED") for t in study.trials)


def test_a_killed_study_resumes_from_its_finished_trials(tmp_path):
    """`greenaolo aolo tune` killed after its first trial: the same command finishes the study, keeping it."""
    command = [sys.executable, "-m", "greenaolo", "aolo", "tune", "sac", "--profile", "quick", "--trials", "3",
               "--scheduler", "serial", "--storage", str(tmp_path), "--no-progress"]
    journal = journal_path(tmp_path, "sac")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 240
    while _finished(journal) < 1 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed = load_study(tmp_path, "sac").trials
    first = [t for t in killed if t.state.name in ("COMPLETE", "PRUNED")]
    assert 1 <= len(first) < 3, "the study should have been killed between its first and last trial"
    assert [t.state.name for t in killed[len(first):]] in ([], ["RUNNING"])  # the trial cut short, if any
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "sac: 3 trials" in done.stdout
    study = load_study(tmp_path, "sac")
    finished = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(finished) == 3
    # the trial cut short is failed, not finished nor left running; the finished ones kept as they were
    assert [t.state.name for t in study.trials if t not in finished] == ["FAIL"] * (len(killed) - len(first))
    assert [t.params for t in finished[:len(first)]] == [t.params for t in first]
    # seeds unique; every finished trial has one (a trial killed before it drew its seed has none)
    seeds = [t.user_attrs["seed"] for t in study.trials if "seed" in t.user_attrs]
    assert len(set(seeds)) == len(seeds) and all("seed" in t.user_attrs for t in finished)
    # The resumed run samples anew: seeded as the first run, its random startup trial would repeat trial 0.
    assert finished[len(first)].params != finished[0].params
    # Run again: nothing left to do, the study unchanged.
    subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    assert len(load_study(tmp_path, "sac").trials) == len(study.trials)


def test_a_study_refuses_another_budget(tmp_path, budget):
    tune("ppo", budget=replace(budget, trials=1), storage_dir=tmp_path, scheduler="serial", progress=False,
         hyperparams=_small_ppo())
    with pytest.raises(HyperparameterError, match="another budget"):
        tune("ppo", budget=replace(budget, trials=2, updates=budget.updates * 2), storage_dir=tmp_path, scheduler="serial",
             progress=False, hyperparams=_small_ppo())


def _small_ppo():
    hp = load_hyperparams()
    hp["ppo"].update(n_steps=40, batch_size=20)
    return hp


# --- damaged, foreign and doubled studies ------------------------------------------------------------------

@pytest.fixture
def one_trial_journal(tmp_path, budget):
    """A real one-trial SAC study's journal, and its bytes."""
    tune("sac", budget=replace(budget, trials=1), storage_dir=tmp_path, scheduler="serial", progress=False)
    path = journal_path(tmp_path, "sac")
    return path, path.read_bytes()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_journal_is_named_with_its_line_and_left_untouched(one_trial_journal, budget, damage):
    from greenaolo.aolo.tuning import DamagedJournalError

    path, good = one_trial_journal
    lines = good.count(b"\n")
    bad = good[:-7] if damage == "truncated" else good + b"this is not json\n"
    path.write_bytes(bad)
    where = lines if damage == "truncated" else lines + 1
    for attempt in (lambda: load_study(path.parent, "sac"),
                    lambda: tune("sac", budget=replace(budget, trials=2), storage_dir=path.parent, scheduler="serial",
                                 progress=False)):
        with pytest.raises(DamagedJournalError, match=rf"sac.journal, line {where}: .*left as it is"):
            attempt()
        assert path.read_bytes() == bad  # nothing appended onto the damage


def test_repair_keeps_the_records_before_the_damage_and_moves_the_file_aside(one_trial_journal):
    path, good = one_trial_journal
    path.write_bytes(good + b'{"op_code": 5, "cut')
    done = subprocess.run([sys.executable, "-m", "greenaolo", "aolo", "tune", "sac", "--profile", "quick",
                           "--trials", "1", "--scheduler", "serial", "--storage", str(path.parent), "--no-progress",
                           "--repair"], capture_output=True, text=True, timeout=300)
    # (The study then refuses the CLI's quick budget, which differs from the fixture's tiny one: as it should.)
    records = good.count(b"\n")
    assert f"kept its first {records} records" in done.stderr
    assert path.read_bytes().startswith(good) and (path.parent / "sac.journal.damaged-1").read_bytes().endswith(b'"cut')
    assert len(load_study(path.parent, "sac").trials) == 1


def test_a_journal_of_another_study_is_refused(one_trial_journal):
    from greenaolo.aolo.tuning import DamagedJournalError

    path, good = one_trial_journal
    foreign = journal_path(path.parent, "td3")
    foreign.write_bytes(good)
    with pytest.raises(DamagedJournalError, match="a study of 'sac', not 'td3'"):
        load_study(path.parent, "td3")


def test_a_second_tuner_of_the_same_study_refuses_and_a_stale_lock_is_removed(tmp_path):
    from greenaolo.aolo.tuning import study_lock

    path = journal_path(tmp_path, "sac")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from greenaolo.aolo.tuning import study_lock\n"
        f"with study_lock(Path({str(path)!r})):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        command = [sys.executable, "-m", "greenaolo", "aolo", "tune", "sac", "--profile", "quick", "--trials", "1",
                   "--scheduler", "serial", "--storage", str(tmp_path), "--no-progress"]
        started = time.monotonic()
        second = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert second.returncode != 0 and "another tuner is running the study" in second.stderr
        assert time.monotonic() - started < 60  # refused at once, not after waiting
        assert not path.exists()  # and nothing written
    finally:
        holder.kill()
        holder.wait()
    # The holder was killed: its OS lock went with it. An Optuna lock file it left is stale and removed.
    stale = path.with_name(path.name + ".lock")
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.symlink_to("nowhere")
    with pytest.warns(UserWarning, match="a lock a killed tuning run left behind"):
        with study_lock(path):
            pass
    assert not stale.is_symlink()


def test_a_journal_cut_at_a_line_boundary_is_noticed_by_its_budget(tmp_path, budget):
    """A journal truncated between two records still parses; the tuning figure's reader compares the finished
    trials with the study's own budget (recorded before its trials) and says it is short, instead of silently
    using fewer trials."""
    from greenaolo.aolo.benchmark import tuning_study

    tune("sac", budget=replace(budget, trials=3), storage_dir=tmp_path, scheduler="serial", progress=False)
    journal = journal_path(tmp_path, "sac")
    keep, finished = [], 0
    for line in journal.read_bytes().splitlines(keepends=True):
        keep.append(line)
        record = json.loads(line)
        # a trial finishes in a SET_TRIAL_STATE_VALUES record (op 6), or, copied whole, in its CREATE_TRIAL (op 4)
        if record["op_code"] in (4, 6) and record.get("state") in (1, 2):  # COMPLETE, PRUNED
            finished += 1
            if finished == 1:
                break
    journal.write_bytes(b"".join(keep))
    assert len(study_trials(load_study(tmp_path, "sac"))) == 1  # it parses: nothing else would notice
    with pytest.raises(ValueError, match=r"sac.journal: 1 finished trials, but the study asked for 3"):
        tuning_study(tmp_path, ["sac"])


def test_random_draws_are_never_pruned_and_draw_the_learning_rate_over_their_range(tmp_path, budget):
    """The draws behind the 18.77% question's share: Optuna's random sampler, no pruning (a pruned draw would be
    a draw not scored), the learning rate log-uniform over the range asked, every other setting from the space."""
    # A pruner that would stop every trial at its first evaluation, had the draws one.
    budget = replace(budget, trials=4, startup_trials=0, warmup_evaluations=0)
    study = tune("sac", budget=budget, storage_dir=tmp_path, scheduler="serial", progress=False,
                 random_learning_rate=(1e-6, 1e-2))
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 4
    lr = study.trials[0].distributions["learning_rate"]
    assert (lr.low, lr.high, lr.log) == (1e-6, 1e-2, True)
    assert study.trials[0].distributions["batch_size"].choices == (64, 128, 256)  # the rest: the sampler's space
    assert len({t.params["learning_rate"] for t in study.trials}) == 4
    assert study.user_attrs["random_learning_rate"] == [1e-6, 1e-2]
    with pytest.raises(HyperparameterError, match="is one of random draws"):
        tune("sac", budget=replace(budget, trials=5), storage_dir=tmp_path, scheduler="serial", progress=False)
