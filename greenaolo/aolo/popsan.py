"""PopSAN, the population-coded spiking actor of SDRL, as a Stable-Baselines3 SAC policy.

AOLO's SDRL is soft actor-critic whose actor is a PopSAN (Tang, Kumar, Yoo & Michmizos, CoRL 2020); the
pieces below follow the original code (``combra-lab/pop-spiking-deep-rl``, ``popsan_sac/popsan.py``) as
``papers/aolo.md`` section 8 records it:

* :class:`PopSpikeEncoderRegularSpike` (8.2): ``pop_dim`` Gaussian receptive fields per observation
  dimension, means evenly over ``mean_range`` and std ``sqrt(0.15)``, both learned; deterministic
  ("regular") spikes over ``spike_ts`` steps, ``v <- v + A; o = [v > 0.999]; v <- v - 0.999 o``, with a
  straight-through gradient;
* :class:`SpikeMLP` (8.3): current-based LIF layers, ``c <- 0.5 c + W o_pre + b``,
  ``v <- 0.75 v (1 - o) + c``, ``o = [v > 0.5]``, rectangular pseudo-gradient ``|v - 0.5| < 0.5``; the
  output population's firing rate over the ``spike_ts`` = 5 steps;
* :class:`PopSpikeDecoder` (8.4): a grouped ``Conv1d`` (one learned weighted sum of its own ``pop_dim``
  rates per action dimension), identity output: the pre-tanh mean;
* :class:`PopSANActor` (8.5-8.6): SB3's SAC ``Actor`` whose mean comes from the PopSAN and whose log-std
  comes from SB3's own ANN trunk (obs -> 256 -> 256 -> act_dim, ReLU, clamped to [-20, 2]);
* :class:`PopSANPolicy`: ``SACPolicy`` that makes that actor, so ``SAC(PopSANPolicy, env)`` is SDRL and
  shares every line of SB3's training code with plain SAC.

Learning rates (8.5): the PopSAN learns at 1e-4 and the log-std net at 1e-3. SB3 sets every parameter
group's ``lr`` to the schedule's value at each ``train()``; :class:`ScaledAdam` multiplies each group's
``lr`` by its ``lr_scale`` at the step, so with ``learning_rate=1e-3`` and ``snn_lr_scale=0.1`` the
ratio survives every update.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN, Actor, SACPolicy
from torch import nn

__all__ = [
    "PopSANActor",
    "PopSANPolicy",
    "PopSpikeDecoder",
    "PopSpikeEncoderRegularSpike",
    "ScaledAdam",
    "SpikeMLP",
]

# Section 8.1, the original module-level constants.
ENCODER_REGULAR_VTH = 0.999
NEURON_VTH = 0.5
NEURON_CDECAY = 0.5
NEURON_VDECAY = 0.75
SPIKE_PSEUDO_GRAD_WINDOW = 0.5


class _RegularSpike(torch.autograd.Function):
    """Encoder spike ``[v > 0.999]`` with a straight-through gradient (8.2)."""

    @staticmethod
    def forward(ctx, volt: torch.Tensor) -> torch.Tensor:
        return volt.gt(ENCODER_REGULAR_VTH).float()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        return grad_output


class _RectSpike(torch.autograd.Function):
    """LIF spike ``[v > 0.5]`` with the rectangular pseudo-gradient ``1[|v - 0.5| < 0.5]`` (8.3)."""

    @staticmethod
    def forward(ctx, volt: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(volt)
        return volt.gt(NEURON_VTH).float()

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (volt,) = ctx.saved_tensors
        return grad_output * ((volt - NEURON_VTH).abs() < SPIKE_PSEUDO_GRAD_WINDOW).float()


class PopSpikeEncoderRegularSpike(nn.Module):
    """Population encoder with learnable Gaussian receptive fields and deterministic spikes (8.2).

    :param obs_dim: observation dimensions.
    :param pop_dim: neurons per observation dimension.
    :param spike_ts: timesteps T.
    :param mean_range: the initial means span this interval evenly.
    :param std: the initial standard deviation of every field.
    """

    def __init__(self, obs_dim: int, pop_dim: int = 10, spike_ts: int = 5,
                 mean_range: tuple[float, float] = (-3.0, 3.0), std: float = math.sqrt(0.15)):
        super().__init__()
        self.obs_dim, self.pop_dim, self.spike_ts = obs_dim, pop_dim, spike_ts
        means = torch.linspace(mean_range[0], mean_range[1], pop_dim).repeat(obs_dim, 1)
        self.mean = nn.Parameter(means.unsqueeze(0))  # (1, obs_dim, pop_dim)
        self.std = nn.Parameter(torch.full((1, obs_dim, pop_dim), float(std)))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Spikes of shape (batch, obs_dim * pop_dim, spike_ts)."""
        obs = obs.view(-1, self.obs_dim, 1)
        stimulus = torch.exp(-0.5 * (obs - self.mean) ** 2 / self.std**2).view(-1, self.obs_dim * self.pop_dim)
        volt = torch.zeros_like(stimulus)
        spikes = []
        for _ in range(self.spike_ts):
            volt = volt + stimulus
            spike = _RegularSpike.apply(volt)
            volt = volt - spike * ENCODER_REGULAR_VTH
            spikes.append(spike)
        return torch.stack(spikes, dim=-1)


class SpikeMLP(nn.Module):
    """Current-based LIF spiking MLP (8.3); returns the output population's firing rate.

    :param in_dim: input neurons (encoder population).
    :param out_dim: output neurons (decoder population).
    :param hidden_sizes: hidden layer widths.
    :param spike_ts: timesteps T.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_sizes: tuple[int, ...] = (256, 256), spike_ts: int = 5):
        super().__init__()
        sizes = (in_dim, *hidden_sizes, out_dim)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.spike_ts = spike_ts
        #: Spike counts of the last forward call, per layer (for the energy estimate of issue 7).
        self.last_spike_counts: list[torch.Tensor] = []

    def forward(self, in_spikes: torch.Tensor) -> torch.Tensor:
        batch = in_spikes.shape[0]
        states = [[torch.zeros(batch, layer.out_features, device=in_spikes.device) for _ in range(3)]
                  for layer in self.layers]
        rate = torch.zeros(batch, self.layers[-1].out_features, device=in_spikes.device)
        counts = [torch.zeros((), device=in_spikes.device) for _ in self.layers]
        for step in range(self.spike_ts):
            pre = in_spikes[:, :, step]
            for i, layer in enumerate(self.layers):
                current, volt, spike = states[i]
                current = current * NEURON_CDECAY + layer(pre)
                volt = volt * NEURON_VDECAY * (1.0 - spike) + current
                spike = _RectSpike.apply(volt)
                states[i] = [current, volt, spike]
                counts[i] = counts[i] + spike.detach().sum()
                pre = spike
            rate = rate + pre
        self.last_spike_counts = counts
        return rate / self.spike_ts


class PopSpikeDecoder(nn.Module):
    """Population decoder (8.4): per action dimension a learned weighted sum of its ``pop_dim`` rates."""

    def __init__(self, act_dim: int, pop_dim: int = 10):
        super().__init__()
        self.act_dim, self.pop_dim = act_dim, pop_dim
        self.decoder = nn.Conv1d(act_dim, act_dim, pop_dim, groups=act_dim)

    def forward(self, rates: torch.Tensor) -> torch.Tensor:
        return self.decoder(rates.view(-1, self.act_dim, self.pop_dim)).view(-1, self.act_dim)


class PopSAN(nn.Module):
    """Encoder -> spiking MLP -> decoder: observation to the pre-tanh action mean."""

    def __init__(self, obs_dim: int, act_dim: int, *, encoder_pop_dim: int = 10, decoder_pop_dim: int = 10,
                 hidden_sizes: tuple[int, ...] = (256, 256), spike_ts: int = 5,
                 mean_range: tuple[float, float] = (-3.0, 3.0), std: float = math.sqrt(0.15)):
        super().__init__()
        self.encoder = PopSpikeEncoderRegularSpike(obs_dim, encoder_pop_dim, spike_ts, mean_range, std)
        self.snn = SpikeMLP(obs_dim * encoder_pop_dim, act_dim * decoder_pop_dim, tuple(hidden_sizes), spike_ts)
        self.decoder = PopSpikeDecoder(act_dim, decoder_pop_dim)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.snn(self.encoder(obs)))


class PopSANActor(Actor):
    """SB3 SAC actor with a PopSAN mean and SB3's ANN trunk for the log-std (8.5, 8.6).

    SB3 builds ``latent_pi`` (obs -> ``net_arch``, ReLU) and the ``log_std`` head; its ``mu`` head is
    replaced by the PopSAN, so no unused layer is kept. ``get_action_dist_params`` returns
    ``(PopSAN(obs), clamp(log_std(latent_pi(obs)), -20, 2), {})``; SB3's squashed Gaussian does the rest.

    :param popsan_kwargs: keyword arguments of :class:`PopSAN` (pop sizes, hidden sizes, spike_ts, ...).
    """

    def __init__(self, *args: Any, popsan_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.use_sde:
            raise ValueError("PopSANActor does not support gSDE (use_sde=True)")
        self.popsan_kwargs = dict(popsan_kwargs or {})
        act_dim = int(self.action_space.shape[0])
        self.mu = PopSAN(self.features_dim, act_dim, **self.popsan_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["popsan_kwargs"] = self.popsan_kwargs
        return data

    def get_action_dist_params(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        features = self.extract_features(obs, self.features_extractor)
        mean_actions = self.mu(features)
        log_std = torch.clamp(self.log_std(self.latent_pi(features)), LOG_STD_MIN, LOG_STD_MAX)
        return mean_actions, log_std, {}


class ScaledAdam(torch.optim.Adam):
    """Adam whose parameter groups carry an ``lr_scale``: each step uses ``lr * lr_scale``.

    SB3 overwrites every group's ``lr`` with the schedule's value at each ``train()``
    (``update_learning_rate``); scaling at the step keeps the groups' ratio through that.
    """

    def step(self, closure=None):
        saved = [group["lr"] for group in self.param_groups]
        for group in self.param_groups:
            group["lr"] = group["lr"] * group.get("lr_scale", 1.0)
        try:
            return super().step(closure)
        finally:
            for group, lr in zip(self.param_groups, saved):
                group["lr"] = lr


class PopSANPolicy(SACPolicy):
    """``SACPolicy`` with a :class:`PopSANActor`: ``SAC(PopSANPolicy, env, learning_rate=1e-3)`` is SDRL.

    :param popsan_kwargs: keyword arguments of :class:`PopSAN`.
    :param snn_lr_scale: the PopSAN's learning rate relative to the log-std net's and the critics' (the
        original 1e-4 / 1e-3 = 0.1).
    """

    def __init__(self, *args: Any, popsan_kwargs: dict[str, Any] | None = None, snn_lr_scale: float = 0.1,
                 **kwargs: Any):
        if not snn_lr_scale > 0:
            raise ValueError(f"snn_lr_scale={snn_lr_scale!r} is out of range: expected a number > 0")
        self.popsan_kwargs = dict(popsan_kwargs or {})
        self.snn_lr_scale = float(snn_lr_scale)
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: nn.Module | None = None) -> PopSANActor:
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return PopSANActor(**actor_kwargs, popsan_kwargs=self.popsan_kwargs).to(self.device)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        snn = list(self.actor.mu.parameters())
        snn_ids = {id(p) for p in snn}
        rest = [p for p in self.actor.parameters() if id(p) not in snn_ids]
        kwargs = {k: v for k, v in self.optimizer_kwargs.items() if k != "lr"}
        self.actor.optimizer = ScaledAdam(
            [{"params": snn, "lr_scale": self.snn_lr_scale}, {"params": rest, "lr_scale": 1.0}],
            lr=lr_schedule(1), **kwargs,
        )

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(popsan_kwargs=self.popsan_kwargs, snn_lr_scale=self.snn_lr_scale)
        return data
