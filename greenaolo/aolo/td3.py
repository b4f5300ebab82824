"""Stable-Baselines3's TD3 and DDPG with the exact shortcut :mod:`greenaolo.aolo.sac` takes for AOLO's zero discount.

With ``gamma = 0`` (``docs/aolo.md#a9``) SB3's TD3 update still computes the TD target's next value,
``r + (1 - d) * gamma * min_i Q'_i(s', clip(pi'(s') + noise))``: one forward of the target actor (for the
spiking agents a PopSAN over T timesteps) and of the target critics per gradient step, multiplied by 0.
:class:`AoloTD3` and :class:`AoloDDPG` skip it when ``gamma == 0`` and nothing else:

* the target is the reward (for a finite next value, ``r + (1 - d) * 0 * q`` is ``r`` or ``r + (-0.0)``, the
  same number), so every loss and gradient is the same bits;
* the target-smoothing noise SB3 draws there (``normal_`` on a copy of the actions; DDPG draws it too) is still
  drawn, so the random stream, and every later sample, stays SB3's;
* the target networks are still Polyak-averaged, so saved models are SB3's too.

A short run of TD3, DDPG and their spiking versions with these classes ends with the same parameters, to the
bit, as with SB3's own (tested). With ``gamma != 0`` :meth:`train` is SB3's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import DDPG, TD3
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F

__all__ = ["AoloDDPG", "AoloTD3", "SB3_TD3_TRAIN_SHA256"]

#: The SHA-256 of the source of SB3's ``TD3.train`` (release :data:`greenaolo.aolo.sac.SB3_VERSION`), which
#: :meth:`ZeroDiscountTD3.train` copies: a test fails the day SB3's update changes.
SB3_TD3_TRAIN_SHA256 = "4f3638f813b0efba78224a5bf37c407f045c868efa60fcbefc717c02b5ddbc78"


class ZeroDiscountTD3:
    """The TD3 update (DDPG's too: SB3's DDPG is TD3 with one critic, no policy delay and no target clipping)
    without the next-state value when ``gamma == 0``. SB3 2.9.2's ``TD3.train`` line for line otherwise."""

    def train(self: Any, gradient_steps: int, batch_size: int = 100) -> None:
        if self.gamma != 0:
            return super().train(gradient_steps, batch_size)  # type: ignore[misc]
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])

        actor_losses, critic_losses = [], []
        for _ in range(gradient_steps):
            self._n_updates += 1
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)

            with th.no_grad():
                # gamma = 0 (and gamma ** n = 0 for n-step replay): the TD target is the reward. The smoothing
                # noise is drawn as SB3 draws it, so the random stream is unchanged.
                replay_data.actions.clone().data.normal_(0, self.target_policy_noise)
                target_q_values = replay_data.rewards

            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            assert isinstance(critic_loss, th.Tensor)
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            if self._n_updates % self.policy_delay == 0:
                actor_loss = -self.critic.q1_forward(replay_data.observations, self.actor(replay_data.observations)).mean()
                actor_losses.append(actor_loss.item())
                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()

                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.actor.parameters(), self.actor_target.parameters(), self.tau)
                polyak_update(self.critic_batch_norm_stats, self.critic_batch_norm_stats_target, 1.0)
                polyak_update(self.actor_batch_norm_stats, self.actor_batch_norm_stats_target, 1.0)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if len(actor_losses) > 0:
            self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))


class AoloTD3(ZeroDiscountTD3, TD3):
    """SB3 ``TD3`` without the next-state value when ``gamma == 0`` (exact; see the module docstring)."""


class AoloDDPG(ZeroDiscountTD3, DDPG):
    """SB3 ``DDPG`` without the next-state value when ``gamma == 0`` (exact; see the module docstring)."""
