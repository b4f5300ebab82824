"""Training as data: one (algorithm, seed, config) -> a dataset with its curve, evaluation and settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from greenaolo.aolo.training import agent, load_hyperparams, train
from greenaolo.aolo.env import AoloEnv


@pytest.fixture
def tiny_hyperparams(small_hyperparams):
    return small_hyperparams(learning_starts=50, batch_size=32, profile={
        "gradient_updates": 150, "eval_every": 50, "n_eval": 50, "seeds": [0]})


def test_sac_and_sdrl_share_everything_but_the_actor():
    hp = load_hyperparams()
    sac, sdrl = agent("sac", AoloEnv(), 0, hp), agent("sdrl", AoloEnv(), 0, hp)
    for name in ("gamma", "tau", "batch_size", "buffer_size", "learning_starts", "train_freq", "gradient_steps"):
        assert getattr(sac, name) == getattr(sdrl, name), name
    assert str(sac.ent_coef) == str(sdrl.ent_coef) == "auto"
    assert type(sac.policy.critic) is type(sdrl.policy.critic)
    assert [p.shape for p in sac.policy.critic.parameters()] == [p.shape for p in sdrl.policy.critic.parameters()]
    assert type(sac.policy.actor).__name__ == "Actor" and type(sdrl.policy.actor).__name__ == "PopSANActor"
    with pytest.raises(ValueError, match="algorithm='a2c' is unknown"):
        agent("a2c", AoloEnv(), 0, hp)


@pytest.mark.parametrize("algorithm", ["sdrl", "sdrl_td3"])
def test_short_runs_leave_popsan_uncompiled(algorithm, monkeypatch):
    from greenaolo.aolo.popsan import COMPILE_ENV
    from greenaolo.aolo.training import COMPILE_MIN_STEPS

    monkeypatch.setenv(COMPILE_ENV, "1")  # compiling is the default outside the tests
    hp = load_hyperparams()

    def compiles(steps, hyperparams=hp):
        return agent(algorithm, AoloEnv(), 0, hyperparams, steps=steps).policy.actor.mu.compile

    assert compiles(None) and compiles(COMPILE_MIN_STEPS)
    assert not compiles(COMPILE_MIN_STEPS - 1) and not compiles(300)
    asked = json.loads(json.dumps(hp))
    asked[algorithm]["popsan_kwargs"]["compile"] = True
    assert compiles(300, asked)  # what the settings say wins
    assert "compile" not in hp[algorithm]["popsan_kwargs"]  # the caller's settings are left alone


@pytest.mark.parametrize("algorithm", ["sac", "sdrl"])
def test_train_returns_curve_evaluation_and_exact_settings(algorithm, tiny_hyperparams):
    hp = tiny_hyperparams
    ds = train(algorithm, 3, hyperparams=hp, progress=False)
    assert list(ds.step.values) == [0, 50, 100, 150]
    assert ds.curve_carbon_g.sizes["step"] == 4 and ds.carbon.sizes["request"] == 50
    assert float(ds.carbon_g) == pytest.approx(float(ds.curve_carbon_g[-1]))
    assert float(ds.gap_to_oracle) == pytest.approx(float(ds.carbon_g) / float(ds.oracle_carbon_g) - 1)
    assert float(ds.gap_to_oracle) > -1e-9  # nothing beats the oracle
    assert ds.attrs["algorithm"] == algorithm and ds.attrs["seed"] == 3
    assert json.loads(ds.attrs["hyperparams"]) == hp
    again = train(algorithm, 3, hyperparams=hp, progress=False)
    np.testing.assert_array_equal(ds.curve_carbon_g.values, again.curve_carbon_g.values)  # deterministic


def test_a_profile_names_distinct_known_agents(tmp_path):
    from greenaolo.aolo.training import HyperparameterError, validate_hyperparams

    hp = load_hyperparams()
    for bad in (["sac", "a2c"], ["sac", "sac"], [], "sac"):
        hp["profiles"]["quick"]["algorithms"] = bad
        with pytest.raises(HyperparameterError, match=r"profiles.quick.algorithms=.* is invalid: expected a list of distinct agents"):
            validate_hyperparams(hp, "x.yaml")
    del hp["profiles"]["quick"]["algorithms"]  # optional: every agent
    from greenaolo.aolo.runs import profile_algorithms
    from greenaolo.options import ALGORITHMS

    assert profile_algorithms("quick", validate_hyperparams(hp, "x.yaml")) == list(ALGORITHMS)


def test_bad_training_arguments():
    with pytest.raises(ValueError, match="profile='huge' is unknown"):
        train("sac", 0, profile="huge", progress=False)
    with pytest.raises(ValueError, match="updates=-5 is out of range"):
        train("sac", 0, updates=-5, progress=False)


@pytest.mark.parametrize("algorithm, train_freq, gradient_steps, learning_starts", [
    ("sac", 1, 1, 20), ("sac", 4, 8, 30), ("td3", 8, 2, 21), ("ddpg", 2, 3, 0), ("sdrl", 4, 1, 10)])
def test_every_run_makes_its_budget_of_gradient_updates(algorithm, train_freq, gradient_steps, learning_starts,
                                                         small_hyperparams):
    """The budget is gradient updates (docs/aolo.md#compute-bound): whatever the updates per environment step
    and warm-up, a run makes the budget rounded up to one training call, and its curve is evaluated at every
    ``eval_every`` updates and at the budget."""
    hp = small_hyperparams(learning_starts=learning_starts, train_freq=train_freq, gradient_steps=gradient_steps,
                           compile=False, profile={"gradient_updates": 48, "eval_every": 16, "n_eval": 20, "seeds": [0]})
    ds, model = train(algorithm, 0, hyperparams=hp, progress=False, return_model=True)
    calls = -(-48 // gradient_steps)
    assert model._n_updates == calls * gradient_steps  # hand count: ceil(48 / gradient_steps) training calls
    assert model.num_timesteps == ds.attrs["environment_steps"]
    assert model.num_timesteps == train_freq * (learning_starts // train_freq + calls)
    assert list(ds.step.values) == [0, 16, 32, 48] and ds.attrs["gradient_updates"] == 48


def test_ppo_trains_its_budget_in_environment_steps(small_hyperparams):
    hp = small_hyperparams(profile={"gradient_updates": 96, "eval_every": 32, "n_eval": 20, "seeds": [0]})
    hp["ppo"].update(n_steps=32, batch_size=16)
    ds, model = train("ppo", 0, hyperparams=hp, progress=False, return_model=True)
    assert model.num_timesteps == 96 and list(ds.step.values) == [0, 32, 64, 96]


def test_learning_rate_and_noise_anneal_over_the_run(small_hyperparams):
    """``learning_rate_final``: the rate falls linearly to that fraction of itself by the run's end;
    ``action_noise_final`` without decay steps: the noise reaches it at the run's last environment step."""
    from greenaolo.aolo.training import AnnealedNormalActionNoise

    hp = small_hyperparams(learning_rate_final=0.1, profile={"gradient_updates": 40, "eval_every": 20, "n_eval": 20,
                                                           "seeds": [0]})
    hp["td3"].update(action_noise_std=0.2, action_noise_final=0.05)
    _, model = train("td3", 0, hyperparams=hp, progress=False, return_model=True)
    lr = hp["common"]["learning_rate"]
    assert model.lr_schedule(1.0) == pytest.approx(lr) and model.lr_schedule(0.5) == pytest.approx(0.55 * lr)
    # the last training call ran at the end of the run (progress remaining 0): the final rate
    assert model.critic.optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * lr)
    noise = model.action_noise
    assert isinstance(noise, AnnealedNormalActionNoise) and noise.steps == model.num_timesteps == noise.draws
    assert noise._sigma[0] == pytest.approx(0.05 + 0.15 / model.num_timesteps)  # the last draw's, one step short


def test_the_useful_range_is_an_agent_setting_on_the_same_task(small_hyperparams):
    """``useful_kappa_range`` in an agent's settings: it observes and acts in the useful range; its run records
    the task's configuration (the same for every agent) and scores against the same oracle."""
    from greenaolo.aolo.config import AoloConfig

    hp = small_hyperparams(profile={"gradient_updates": 20, "eval_every": 20, "n_eval": 40, "seeds": [0]})
    plain = train("ddpg", 0, hyperparams=hp, progress=False)
    hp["ddpg"]["useful_kappa_range"] = True
    ds, model = train("ddpg", 0, hyperparams=hp, progress=False, return_model=True)
    assert model.get_env().envs[0].unwrapped.config.useful_kappa_range
    assert ds.attrs["config"] == plain.attrs["config"] == AoloConfig().to_json()
    assert float(ds.oracle_carbon_g) == float(plain.oracle_carbon_g)
    low, high = AoloConfig(useful_kappa_range=True).action_kappa_range
    assert ((ds.kappa >= low) & (ds.kappa <= high)).all() and not np.array_equal(ds.kappa, plain.kappa)
    with pytest.raises(ValueError, match="useful_kappa_range=True but the environment's is False"):
        agent("ddpg", AoloEnv(), 0, hp)
