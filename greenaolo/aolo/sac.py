"""Stable-Baselines3's SAC with one exact shortcut for AOLO's zero discount; SAC and SDRL both train with it.

AOLO's requests are independent, so an action never changes a later state and both agents train with
``gamma = 0`` (``docs/aolo.md#a9``; ``hyperparams/agents.yaml``). SB3's update still computes the next
state's value, the TD target's ``r + (1 - d) * gamma * (min_i Q'_i(s', a') - alpha * log pi(a'|s'))``, with
one forward of the actor and of both target critics on the next observations, then multiplies it by
``gamma = 0``. :class:`AoloSAC` skips that dead computation when ``gamma == 0`` and nothing else:

* the target is the reward: for a finite next value, ``r + (1 - d) * 0 * v`` is ``r`` or ``r + (-0.0)``,
  the same number, so the critic loss and every gradient are the same bits;
* the skipped actor forward would have drawn one standard-normal sample of the action's shape (the
  squashed Gaussian's ``rsample``); :class:`AoloSAC` draws it the same way, so the random stream, and with
  it every later sample, stays SB3's;
* the target critics are still Polyak-averaged, so saved models are SB3's too.

A short run of either agent with :class:`AoloSAC` ends with the same parameters, to the bit, as with SB3's
``SAC`` (tested). With ``gamma != 0`` or gSDE, :meth:`AoloSAC.train` is SB3's own. The saving is one
actor forward and two critic forwards per gradient step: for SDRL a PopSAN forward over T = 5 timesteps.
"""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F

__all__ = ["AoloSAC", "SB3_SAC_TRAIN_SHA256", "SB3_VERSION"]

#: The Stable-Baselines3 release whose ``SAC.train`` :meth:`AoloSAC.train` copies (pyproject pins the range),
#: and the SHA-256 of that method's source: a test fails, naming both, the day SB3's update changes.
SB3_VERSION = "2.9.2"
SB3_SAC_TRAIN_SHA256 = "0ac7abe1c18ba7fe1b8a5bbf2b301b6fff4f4573aa02c4342187a953600ce50c"


class AoloSAC(SAC):
    """SB3 ``SAC`` that skips the next-state value when ``gamma == 0`` (exact; see the module docstring).

    The loop below is SB3 2.9.2's ``SAC.train`` with the ``th.no_grad()`` target block replaced; everything
    else (entropy coefficient, critic and actor updates, Polyak averaging, logging) is SB3's, line for line.
    """

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        if self.gamma != 0 or self.use_sde:
            return super().train(gradient_steps, batch_size)
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)

        ent_coef_losses, ent_coefs = [], []
        actor_losses, critic_losses = [], []
        for gradient_step in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)  # type: ignore[union-attr]
            actions_pi, log_prob = self.actor.action_log_prob(replay_data.observations)
            log_prob = log_prob.reshape(-1, 1)

            ent_coef_loss = None
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = th.exp(self.log_ent_coef.detach())
                assert isinstance(self.target_entropy, float)
                ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                ent_coef_losses.append(ent_coef_loss.item())
            else:
                ent_coef = self.ent_coef_tensor
            ent_coefs.append(ent_coef.item())
            if ent_coef_loss is not None and self.ent_coef_optimizer is not None:
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()

            with th.no_grad():
                # gamma = 0: the TD target is the reward. Draw the next action's noise as SB3's sample would
                # (Normal.rsample of the action's shape), so the random stream is unchanged.
                th.distributions.Normal(th.zeros_like(actions_pi), th.ones_like(actions_pi)).rsample()
                target_q_values = replay_data.rewards

            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = 0.5 * sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            assert isinstance(critic_loss, th.Tensor)
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            q_values_pi = th.cat(self.critic(replay_data.observations, actions_pi), dim=1)
            min_qf_pi, _ = th.min(q_values_pi, dim=1, keepdim=True)
            actor_loss = (ent_coef * log_prob - min_qf_pi).mean()
            actor_losses.append(actor_loss.item())
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()

            if gradient_step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if len(ent_coef_losses) > 0:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))
