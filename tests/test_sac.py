"""AoloSAC: SB3's SAC update with the exact gamma = 0 shortcut gives SB3's agent, to the bit."""

from __future__ import annotations

import hashlib
import inspect

import pytest
import torch
from stable_baselines3 import SAC

from greenaolo.aolo import training
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import AoloEnv
from greenaolo.aolo.sac import AoloSAC




def trained(monkeypatch, algorithm: str, cls: type, hp: dict, steps: int = 60):
    monkeypatch.setitem(training.MODEL_CLASSES, algorithm, cls)
    model = training.agent(algorithm, AoloEnv(AoloConfig(episode_length=20)), 0, hp)
    assert type(model) is cls
    model.learn(steps)
    return model


def assert_same_agent(a, b) -> None:
    named = dict(b.policy.named_parameters())
    for name, p in a.policy.named_parameters():
        assert torch.equal(p, named[name]), name
    for p, q in zip(a.critic_target.parameters(), b.critic_target.parameters()):
        assert torch.equal(p, q)
    assert torch.equal(a.log_ent_coef, b.log_ent_coef)
    assert (a.replay_buffer.actions == b.replay_buffer.actions).all()


@pytest.mark.parametrize("algorithm", ["sac", "sdrl"])
def test_zero_discount_shortcut_trains_sb3s_agent_to_the_bit(monkeypatch, algorithm, small_hyperparams):
    hp = small_hyperparams(compile=False)
    assert hp["common"]["gamma"] == 0
    ours, sb3 = trained(monkeypatch, algorithm, AoloSAC, hp), trained(monkeypatch, algorithm, SAC, hp)
    assert ours._n_updates == sb3._n_updates == 60 - 20  # steps after the warm-up
    assert_same_agent(ours, sb3)
    for key in ("train/actor_loss", "train/critic_loss", "train/ent_coef", "train/ent_coef_loss"):
        assert ours.logger.name_to_value[key] == sb3.logger.name_to_value[key], key


def test_zero_discount_shortcut_skips_the_next_state_value(monkeypatch, small_hyperparams):
    """With gamma = 0 the target critics are never evaluated; with gamma > 0, SB3's own update runs."""
    calls = []

    def counting(cls, gamma):
        model = trained(monkeypatch, "sac", cls, small_hyperparams(gamma=gamma, compile=False), steps=0)
        model.critic_target.register_forward_hook(lambda *args: calls.append(gamma))
        return model.learn(40)

    counting(AoloSAC, 0.0)
    assert calls == []
    ours, sb3 = counting(AoloSAC, 0.9), counting(SAC, 0.9)
    assert calls == [0.9] * 2 * (40 - 20)  # one target evaluation per gradient step, after the warm-up
    assert_same_agent(ours, sb3)


@pytest.mark.parametrize("update, module, digest_name", [
    ("SAC.train", "sac", "SB3_SAC_TRAIN_SHA256"), ("TD3.train", "td3", "SB3_TD3_TRAIN_SHA256")])
def test_the_copied_updates_are_sb3s_current_ones(update, module, digest_name):
    """:class:`AoloSAC` copies SB3's ``SAC.train`` and :class:`~greenaolo.aolo.td3.ZeroDiscountTD3` its ``TD3.train``
    (DDPG's too); if SB3 changes one, this says so before anything subtler fails."""
    import importlib

    import stable_baselines3
    from stable_baselines3 import DDPG, TD3

    from greenaolo.aolo.sac import SB3_VERSION

    assert DDPG.train is TD3.train  # SB3's DDPG trains with TD3's update, so ours does too
    cls, method = update.split(".")
    source = inspect.getsource(getattr(getattr(stable_baselines3, cls), method))
    expected = getattr(importlib.import_module(f"greenaolo.aolo.{module}"), digest_name)
    assert hashlib.sha256(source.encode()).hexdigest() == expected, (
        f"stable-baselines3 {stable_baselines3.__version__}'s {update} differs from {SB3_VERSION}'s, which "
        f"greenaolo/aolo/{module}.py copies: compare the two, carry the change into the copy, then update "
        f"SB3_VERSION, {digest_name} and the pin in pyproject.toml")
