"""AoloTD3 and AoloDDPG: SB3's TD3 update with the exact gamma = 0 shortcut gives SB3's agent, to the bit."""

from __future__ import annotations


import pytest
import torch
from stable_baselines3 import DDPG, TD3

from greenaolo.aolo import training
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import AoloEnv
from greenaolo.aolo.td3 import AoloDDPG, AoloTD3

SB3_CLASS = {"td3": TD3, "sdrl_td3": TD3, "ddpg": DDPG, "sdrl_ddpg": DDPG}
OURS = {"td3": AoloTD3, "sdrl_td3": AoloTD3, "ddpg": AoloDDPG, "sdrl_ddpg": AoloDDPG}


def trained(monkeypatch, algorithm: str, cls: type, hp: dict, steps: int = 60):
    monkeypatch.setitem(training.MODEL_CLASSES, algorithm, cls)
    model = training.agent(algorithm, AoloEnv(AoloConfig(episode_length=20)), 0, hp)
    assert type(model) is cls
    model.learn(steps)
    model.rng_after = torch.get_rng_state()  # the torch random stream the update left behind
    return model


def assert_same_agent(a, b) -> None:
    named = dict(b.policy.named_parameters())
    for name, p in a.policy.named_parameters():
        assert torch.equal(p, named[name]), name
    for target in ("critic_target", "actor_target"):
        for p, q in zip(getattr(a, target).parameters(), getattr(b, target).parameters()):
            assert torch.equal(p, q), target
    assert (a.replay_buffer.actions == b.replay_buffer.actions).all()


@pytest.mark.parametrize("algorithm", ["td3", "ddpg", "sdrl_td3", "sdrl_ddpg"])
def test_zero_discount_shortcut_trains_sb3s_agent_to_the_bit(monkeypatch, algorithm, small_hyperparams):
    hp = small_hyperparams(compile=False)
    assert hp["common"]["gamma"] == 0 and training.MODEL_CLASSES[algorithm] is OURS[algorithm]
    ours = trained(monkeypatch, algorithm, OURS[algorithm], hp)
    sb3 = trained(monkeypatch, algorithm, SB3_CLASS[algorithm], hp)
    assert ours._n_updates == sb3._n_updates == 60 - 20  # steps after the warm-up
    assert_same_agent(ours, sb3)
    assert torch.equal(ours.rng_after, sb3.rng_after)  # the skipped block's noise is still drawn
    for key in ("train/actor_loss", "train/critic_loss"):
        assert ours.logger.name_to_value[key] == sb3.logger.name_to_value[key], key


def test_zero_discount_shortcut_skips_the_next_state_value(monkeypatch, small_hyperparams):
    """With gamma = 0 the target actor and critics are never evaluated; with gamma > 0, SB3's own update runs."""
    calls = []

    def counting(cls, gamma):
        model = trained(monkeypatch, "td3", cls, small_hyperparams(gamma=gamma), steps=0)
        model.actor_target.register_forward_hook(lambda *args: calls.append(("actor", gamma)))
        model.critic_target.register_forward_hook(lambda *args: calls.append(("critic", gamma)))
        return model.learn(40)

    counting(AoloTD3, 0.0)
    assert calls == []
    ours, sb3 = counting(AoloTD3, 0.9), counting(TD3, 0.9)
    assert calls == [("actor", 0.9), ("critic", 0.9)] * 2 * (40 - 20)  # per gradient step after the warm-up
    assert_same_agent(ours, sb3)
