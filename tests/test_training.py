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
        "total_timesteps": 150, "eval_every": 50, "n_eval": 50, "seeds": [0]})


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
    with pytest.raises(ValueError, match="total_timesteps=-5 is out of range"):
        train("sac", 0, total_timesteps=-5, progress=False)
