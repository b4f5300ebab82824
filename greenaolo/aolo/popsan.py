"""PopSAN, the population-coded spiking actor of SDRL, as Stable-Baselines3 SAC, TD3 and DDPG policies.

AOLO's SDRL is soft actor-critic whose actor is a PopSAN (Tang, Kumar, Yoo & Michmizos, CoRL 2020); the
pieces below follow the original code (``combra-lab/pop-spiking-deep-rl``, ``popsan_sac/popsan.py`` and, for
the deterministic actor, ``popsan_td3/popsan.py``) as ``docs/aolo.md#popsan`` records it:

* :class:`PopSpikeEncoderRegularSpike`: ``pop_dim`` Gaussian receptive fields per observation
  dimension, means evenly over ``mean_range`` and std ``sqrt(0.15)``, both learned; deterministic
  ("regular") spikes over ``spike_ts`` steps, ``v <- v + A; o = [v > 0.999]; v <- v - 0.999 o``, with a
  straight-through gradient;
* :class:`SpikeMLP`: current-based LIF layers, ``c <- 0.5 c + W o_pre + b``,
  ``v <- 0.75 v (1 - o) + c``, ``o = [v > 0.5]``, rectangular pseudo-gradient ``|v - 0.5| < 0.5``; the
  output population's firing rate over the ``spike_ts`` = 5 steps;
* :class:`PopSpikeDecoder`: a grouped ``Conv1d`` (one learned weighted sum of its own ``pop_dim``
  rates per action dimension), identity output: the pre-tanh mean;
* :class:`PopSANActor`: SB3's SAC ``Actor`` whose mean comes from the PopSAN and whose log-std
  comes from SB3's own ANN trunk (obs -> 256 -> 256 -> act_dim, ReLU, clamped to [-20, 2]);
* :class:`PopSANPolicy`: ``SACPolicy`` that makes that actor, so ``SAC(PopSANPolicy, env)`` is SDRL and
  shares every line of SB3's training code with plain SAC;
* :class:`PopSANTD3Actor`: SB3's TD3 ``Actor`` whose deterministic action is ``tanh(PopSAN(obs))``, PopSAN's
  TD3 actor (``docs/aolo.md#popsan-deterministic``);
* :class:`PopSANTD3Policy`: ``TD3Policy`` whose actor and target actor are that actor, so
  ``TD3(PopSANTD3Policy, env)`` and ``DDPG(PopSANTD3Policy, env)`` are PopSAN's TD3 and DDPG on SB3's code.

Three ways to run the same network, the same spikes to the bit (tested): the original loops
(``fast=False``: time outside, layers inside, one autograd node per operation); the eager fast path
(layer-major, one matrix product per layer over all timesteps, the recurrences as autograd nodes with
hand-written backward); and, by default when a C++ compiler works, that layer-major order with the
original formulas compiled by ``torch.compile`` (one fused kernel per recurrence, backward derived by
AOTAutograd). Matrix products stay ATen's in every path; the decoder runs eagerly.

Learning rates (``docs/aolo.md#popsan-actor``): the PopSAN learns at 1e-4, the log-std net and the critics at 1e-3
(PopSAN's TD3 and DDPG: the PopSAN at 1e-4, the critics at 1e-3). SB3 sets every parameter group's ``lr`` to the
schedule's value at each ``train()``; :class:`ScaledAdam` multiplies each group's ``lr`` by its ``lr_scale`` at the
step, so with ``learning_rate=1e-3`` and ``snn_lr_scale=0.1`` the ratio survives every update.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN, Actor, SACPolicy
from stable_baselines3.td3.policies import Actor as TD3Actor
from stable_baselines3.td3.policies import TD3Policy
from torch import nn

from greenaolo.checks import env_flag
from greenaolo.aolo.neurons import (
    _LIFTrain,
    _layer_major_rates,
    _RegularSpikeTrain,
    _encoder_loop,
    lif_step,
)

__all__ = [
    "CompileFallbackWarning",
    "PopSANActor",
    "PopSANMean",
    "PopSANPolicy",
    "PopSANPolicyMixin",
    "PopSANTD3Actor",
    "PopSANTD3Policy",
    "PopSpikeDecoder",
    "PopSpikeEncoderRegularSpike",
    "LrScaled",
    "ScaledAdam",
    "SpikeMLP",
    "compile_available",
    "lr_scaled",
]

class CompileFallbackWarning(UserWarning):
    """``torch.compile`` does not work on this machine; PopSAN runs its eager fast path (same results)."""


#: ``GREENAOLO_TORCH_COMPILE=0`` turns the compiled path off wherever ``compile`` is left at ``None``.
COMPILE_ENV = "GREENAOLO_TORCH_COMPILE"
_compiled: dict[str, Any] = {}


def compile_available() -> bool:
    """Whether ``torch.compile`` works here: compiles and differentiates a one-line probe once per
    process (a C++ compiler is needed on CPU). On failure, warns once (:class:`CompileFallbackWarning`)
    with the reason and returns ``False`` ever after."""
    if "available" not in _compiled:
        try:
            probe = torch.compile(lambda x: (x * 2.0 + 1.0).relu().sum(), dynamic=False)
            with torch.enable_grad():  # the first forward may come under no_grad (SB3's predict)
                x = torch.ones(3, requires_grad=True)
                probe(x).backward()
            if x.grad is None or not torch.equal(x.grad, torch.full((3,), 2.0)):
                raise RuntimeError("the compiled probe returned a wrong gradient")
            _compiled["available"] = True
        except Exception as err:  # no compiler, unsupported platform, broken toolchain: all fall back
            _compiled["available"] = False
            warnings.warn(f"torch.compile is unavailable ({type(err).__name__}: {str(err).splitlines()[0][:200]}); "
                          "PopSAN uses its eager fast path, with the same results, slower",
                          CompileFallbackWarning, stacklevel=2)
    return bool(_compiled["available"])


def _compiled_rates() -> Callable[..., tuple[torch.Tensor, list[torch.Tensor]]]:
    """:func:`_layer_major_rates` compiled with static shapes (one graph per batch size and grad mode):
    dynamic-shape code ran 2x slower here, and dynamo cannot trace the spike Functions with a dynamic
    batch size (torch 2.13: "lift_tracked_freevar_to_input should not be called on root SubgraphTracer")."""
    if "rates" not in _compiled:
        _compiled["rates"] = torch.compile(_layer_major_rates, dynamic=False)
    return _compiled["rates"]


def _compile_default() -> bool:
    return env_flag(COMPILE_ENV, True)


class PopSpikeEncoderRegularSpike(nn.Module):
    """Population encoder with learnable Gaussian fields and deterministic spikes (``docs/aolo.md#popsan-encoder``).

    :param obs_dim: observation dimensions.
    :param pop_dim: neurons per observation dimension.
    :param spike_ts: timesteps T.
    :param mean_range: the initial means span this interval evenly.
    :param std: the initial standard deviation of every field.
    :param fast: run the spike train as one autograd node (:class:`_RegularSpikeTrain`); ``False`` runs
        the original per-step loop. Both give the same spikes and gradients.
    """

    def __init__(self, obs_dim: int, pop_dim: int = 10, spike_ts: int = 5,
                 mean_range: tuple[float, float] = (-3.0, 3.0), std: float = math.sqrt(0.15), fast: bool = True):
        super().__init__()
        self.obs_dim, self.pop_dim, self.spike_ts, self.fast = obs_dim, pop_dim, spike_ts, fast
        means = torch.linspace(mean_range[0], mean_range[1], pop_dim).repeat(obs_dim, 1)
        self.mean = nn.Parameter(means.unsqueeze(0))  # (1, obs_dim, pop_dim)
        self.std = nn.Parameter(torch.full((1, obs_dim, pop_dim), float(std)))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Spikes of shape (batch, obs_dim * pop_dim, spike_ts)."""
        return self.spike_train(obs).permute(1, 2, 0)

    def stimulus(self, obs: torch.Tensor) -> torch.Tensor:
        """The receptive fields' response ``exp(-(obs - mean)^2 / (2 std^2))``, (batch, obs_dim * pop_dim)."""
        obs = obs.view(-1, self.obs_dim, 1)
        return torch.exp(-0.5 * (obs - self.mean) ** 2 / self.std**2).view(-1, self.obs_dim * self.pop_dim)

    def spike_train(self, obs: torch.Tensor) -> torch.Tensor:
        """Spikes time-major, shape (spike_ts, batch, obs_dim * pop_dim)."""
        stimulus = self.stimulus(obs)
        if self.fast:
            return _RegularSpikeTrain.apply(stimulus, self.spike_ts)
        return _encoder_loop(stimulus, self.spike_ts)


class SpikeMLP(nn.Module):
    """Current-based LIF spiking MLP (``docs/aolo.md#popsan-lif``); returns the output population's firing rate.

    :param in_dim: input neurons (encoder population).
    :param out_dim: output neurons (decoder population).
    :param hidden_sizes: hidden layer widths.
    :param spike_ts: timesteps T.
    :param fast: the fast path: layer by layer, one matrix product per layer over all timesteps and the
        LIF recurrence as one autograd node (:class:`_LIFTrain`). A layer's state at step t depends only on
        its own past and on the layer below up to step t, so this order computes the same spikes as the
        original step-by-step loop (``fast=False``), with 3 instead of 15 matrix products per forward.
    """

    def __init__(self, in_dim: int, out_dim: int, hidden_sizes: tuple[int, ...] = (256, 256), spike_ts: int = 5,
                 fast: bool = True):
        super().__init__()
        sizes = (in_dim, *hidden_sizes, out_dim)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.spike_ts, self.fast = spike_ts, fast

    def forward(self, in_spikes: torch.Tensor) -> torch.Tensor:
        """Output firing rates (batch, out_dim) from input spikes (batch, in_dim, spike_ts)."""
        return self.forward_time_major(in_spikes.permute(2, 0, 1))

    def forward_time_major(self, in_spikes: torch.Tensor) -> torch.Tensor:
        """Output firing rates (batch, out_dim) from input spikes (spike_ts, batch, in_dim)."""
        return self.rates_and_counts(in_spikes, count=False)[0]

    def rates_and_counts(self, in_spikes: torch.Tensor, *, count: bool = True) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Output firing rates from input spikes (spike_ts, batch, in_dim) and, with ``count``, the spikes each
        layer fired over the batch and every timestep (for the energy estimate; ``[]`` without ``count``)."""
        if not self.fast:
            return self._forward_plain(in_spikes, count)
        pre = in_spikes
        counts = []
        for layer in self.layers:
            pre = _LIFTrain.apply(layer(pre))
            if count:
                counts.append(pre.detach().sum())
        return pre.sum(dim=0) / self.spike_ts, counts

    def _forward_plain(self, in_spikes: torch.Tensor, count: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The original loop (``docs/aolo.md#popsan-lif``): time outside, layers inside, a node per operation."""
        batch = in_spikes.shape[1]
        states = [[torch.zeros(batch, layer.out_features, device=in_spikes.device, dtype=in_spikes.dtype) for _ in range(3)]
                  for layer in self.layers]
        rate = torch.zeros(batch, self.layers[-1].out_features, device=in_spikes.device, dtype=in_spikes.dtype)
        counts = [torch.zeros((), device=in_spikes.device, dtype=in_spikes.dtype) for _ in self.layers]
        for step in range(self.spike_ts):
            pre = in_spikes[step]
            for i, layer in enumerate(self.layers):
                current, volt, spike = lif_step(*states[i], layer(pre))
                states[i] = [current, volt, spike]
                counts[i] = counts[i] + spike.detach().sum()
                pre = spike
            rate = rate + pre
        return rate / self.spike_ts, counts if count else []


class PopSpikeDecoder(nn.Module):
    """Population decoder (``docs/aolo.md#popsan-decoder``): per action dimension a weighted sum of its rates."""

    def __init__(self, act_dim: int, pop_dim: int = 10):
        super().__init__()
        self.act_dim, self.pop_dim = act_dim, pop_dim
        self.decoder = nn.Conv1d(act_dim, act_dim, pop_dim, groups=act_dim)

    def forward(self, rates: torch.Tensor) -> torch.Tensor:
        # The grouped Conv1d's arithmetic, written as a product and a sum: with a kernel as wide as its
        # input, the convolution is one weighted sum per group, and oneDNN's convolution costs ~100x
        # more than these two operations at this size. The Conv1d stays as the parameters' home, so
        # state dicts match the original code's.
        weighted = rates.view(-1, self.act_dim, self.pop_dim) * self.decoder.weight[:, 0, :]
        return weighted.sum(dim=-1) + self.decoder.bias


class PopSAN(nn.Module):
    """Encoder -> spiking MLP -> decoder: observation to the pre-tanh action mean.

    :param fast: the layer-major fast path (``False``: the original loops).
    :param compile: on the fast path, run encoder and spiking MLP through ``torch.compile`` when it works
        here (:func:`compile_available`; else the eager fast path, with a warning). ``None`` (default):
        on unless the environment variable ``GREENAOLO_TORCH_COMPILE=0``. Either way the spikes and the
        output are the same bits; gradients agree to float rounding.
    """

    def __init__(self, obs_dim: int, act_dim: int, *, encoder_pop_dim: int = 10, decoder_pop_dim: int = 10,
                 hidden_sizes: tuple[int, ...] = (256, 256), spike_ts: int = 5,
                 mean_range: tuple[float, float] = (-3.0, 3.0), std: float = math.sqrt(0.15), fast: bool = True,
                 compile: bool | None = None):
        super().__init__()
        for name, value in (("obs_dim", obs_dim), ("act_dim", act_dim), ("encoder_pop_dim", encoder_pop_dim),
                            ("decoder_pop_dim", decoder_pop_dim), ("spike_ts", spike_ts)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} is out of range: expected an integer >= 1")
        if compile not in (None, True, False):
            raise ValueError(f"compile={compile!r} is invalid: expected True, False or None")
        self.encoder = PopSpikeEncoderRegularSpike(obs_dim, encoder_pop_dim, spike_ts, mean_range, std, fast)
        self.snn = SpikeMLP(obs_dim * encoder_pop_dim, act_dim * decoder_pop_dim, tuple(hidden_sizes), spike_ts, fast)
        self.decoder = PopSpikeDecoder(act_dim, decoder_pop_dim)
        self.compile = _compile_default() if compile is None else compile

    def set_fast(self, fast: bool) -> None:
        """Switch every piece between the fast path and the original loops (same results)."""
        self.encoder.fast = self.snn.fast = bool(fast)

    @property
    def compiled(self) -> bool:
        """Whether the next forward runs the compiled fast path."""
        return self.compile and self.snn.fast and self.encoder.fast and compile_available()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.compiled:
            layers = self.snn.layers
            rates, _ = _compiled_rates()(self.encoder.stimulus(obs), self.snn.spike_ts,
                                         [layer.weight for layer in layers], [layer.bias for layer in layers])
            return self.decoder(rates)
        return self.decoder(self.snn.forward_time_major(self.encoder.spike_train(obs)))

    def spike_counts(self, obs: torch.Tensor) -> list[torch.Tensor]:
        """Spikes fired on ``obs`` (over the batch and every timestep) by the encoder population and by each
        layer of the spiking MLP, in that order (the same counts on every path; for the energy estimate)."""
        with torch.no_grad():
            spikes = self.encoder.spike_train(obs)
            if self.compiled:
                layers = self.snn.layers
                _, counts = _compiled_rates()(self.encoder.stimulus(obs), self.snn.spike_ts,
                                              [layer.weight for layer in layers], [layer.bias for layer in layers])
            else:
                _, counts = self.snn.rates_and_counts(spikes)
        return [spikes.sum(), *counts]


class PopSANMean:
    """Mixin for an SB3 actor whose ``mu`` head is a :class:`PopSAN` (replacing SB3's, so no unused layer is
    kept), built from ``popsan_kwargs`` and recorded with the actor's constructor parameters (saving, loading)."""

    def __init__(self, *args: Any, popsan_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.popsan_kwargs = dict(popsan_kwargs or {})
        self.mu = PopSAN(self.features_dim, int(self.action_space.shape[0]), **self.popsan_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["popsan_kwargs"] = self.popsan_kwargs
        return data


class PopSANActor(PopSANMean, Actor):
    """SB3 SAC actor with a PopSAN mean and SB3's ANN trunk for the log-std (``docs/aolo.md#popsan-sb3``).

    SB3 builds ``latent_pi`` (obs -> ``net_arch``, ReLU) and the ``log_std`` head; its ``mu`` head is
    replaced by the PopSAN. ``get_action_dist_params`` returns
    ``(PopSAN(obs), clamp(log_std(latent_pi(obs)), -20, 2), {})``; SB3's squashed Gaussian does the rest.

    :param popsan_kwargs: keyword arguments of :class:`PopSAN` (pop sizes, hidden sizes, spike_ts, ...).
    """

    def __init__(self, *args: Any, popsan_kwargs: dict[str, Any] | None = None, **kwargs: Any):
        super().__init__(*args, popsan_kwargs=popsan_kwargs, **kwargs)
        if self.use_sde:
            raise ValueError("PopSANActor does not support gSDE (use_sde=True)")

    def get_action_dist_params(self, obs: PyTorchObs) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
        features = self.extract_features(obs, self.features_extractor)
        mean_actions = self.mu(features)
        log_std = torch.clamp(self.log_std(self.latent_pi(features)), LOG_STD_MIN, LOG_STD_MAX)
        return mean_actions, log_std, {}


class PopSANTD3Actor(PopSANMean, TD3Actor):
    """SB3 TD3 actor whose deterministic action is ``tanh(PopSAN(obs))`` (``docs/aolo.md#popsan-deterministic``).

    PopSAN's own TD3 actor: its decoder's output through tanh, times the action limit; SB3's TD3 actor
    squashes with tanh to [-1, 1] and its policy scales that to the action space, so here the PopSAN replaces
    SB3's whole MLP (``net_arch`` then shapes the critics only) and the tanh stays.

    :param popsan_kwargs: keyword arguments of :class:`PopSAN` (pop sizes, hidden sizes, spike_ts, ...).
    """

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.mu(self.extract_features(obs, self.features_extractor)))


class LrScaled:
    """Mixin for a torch optimizer whose parameter groups carry an ``lr_scale``: each step uses
    ``lr * lr_scale``. SB3 overwrites every group's ``lr`` with the schedule's value at each ``train()``
    (``update_learning_rate``); scaling at the step keeps the groups' ratio through that."""

    def step(self, closure=None):
        saved = [group["lr"] for group in self.param_groups]
        for group in self.param_groups:
            group["lr"] = group["lr"] * group.get("lr_scale", 1.0)
        try:
            return super().step(closure)
        finally:
            for group, lr in zip(self.param_groups, saved):
                group["lr"] = lr


class ScaledAdam(LrScaled, torch.optim.Adam):
    """Adam with per-group ``lr_scale`` (:class:`LrScaled`): SDRL's default actor optimizer."""


def lr_scaled(optimizer_class: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """``optimizer_class`` with per-group ``lr_scale`` (:class:`LrScaled`); Adam gives :class:`ScaledAdam`."""
    if optimizer_class is torch.optim.Adam:
        return ScaledAdam
    if issubclass(optimizer_class, LrScaled):
        return optimizer_class
    return type(f"LrScaled{optimizer_class.__name__}", (LrScaled, optimizer_class), {})


class PopSANPolicyMixin:
    """Mixin for an SB3 actor-critic policy whose actor (and target actor) is made by :attr:`actor_class`, a PopSAN
    actor, and learns with SB3's ``optimizer_class`` with a parameter group per learning rate (:func:`lr_scaled`):
    the PopSAN at ``snn_lr_scale`` times the learning rate, the actor's other parameters, if any (SAC's log-std
    net; TD3's actor has none), at it.

    :param popsan_kwargs: keyword arguments of :class:`PopSAN`.
    :param snn_lr_scale: the PopSAN's learning rate relative to the critics' (and SAC's log-std net's): the
        original 1e-4 / 1e-3 = 0.1.
    """

    actor_class: type[nn.Module]

    def __init__(self, *args: Any, popsan_kwargs: dict[str, Any] | None = None, snn_lr_scale: float = 0.1,
                 **kwargs: Any):
        if not snn_lr_scale > 0:
            raise ValueError(f"snn_lr_scale={snn_lr_scale!r} is out of range: expected a number > 0")
        self.popsan_kwargs = dict(popsan_kwargs or {})
        self.snn_lr_scale = float(snn_lr_scale)
        super().__init__(*args, **kwargs)

    def make_actor(self, features_extractor: nn.Module | None = None) -> nn.Module:
        actor_kwargs = self._update_features_extractor(self.actor_kwargs, features_extractor)
        return self.actor_class(**actor_kwargs, popsan_kwargs=self.popsan_kwargs).to(self.device)

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)
        snn = list(self.actor.mu.parameters())
        snn_ids = {id(p) for p in snn}
        rest = [p for p in self.actor.parameters() if id(p) not in snn_ids]
        groups = [{"params": snn, "lr_scale": self.snn_lr_scale}] + ([{"params": rest, "lr_scale": 1.0}] if rest else [])
        kwargs = {k: v for k, v in self.optimizer_kwargs.items() if k != "lr"}
        self.actor.optimizer = lr_scaled(self.optimizer_class)(groups, lr=lr_schedule(1), **kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(popsan_kwargs=self.popsan_kwargs, snn_lr_scale=self.snn_lr_scale)
        return data


class PopSANPolicy(PopSANPolicyMixin, SACPolicy):
    """``SACPolicy`` with a :class:`PopSANActor`: ``SAC(PopSANPolicy, env, learning_rate=1e-3)`` is SDRL.

    :param popsan_kwargs: keyword arguments of :class:`PopSAN`.
    :param snn_lr_scale: the PopSAN's learning rate relative to the log-std net's and the critics' (the
        original 1e-4 / 1e-3 = 0.1).

    The actor's optimizer is SB3's ``optimizer_class`` (default Adam) with two parameter groups, the PopSAN
    at ``snn_lr_scale`` times the learning rate and the log-std net at it (:class:`PopSANPolicyMixin`).
    """

    actor_class = PopSANActor


class PopSANTD3Policy(PopSANPolicyMixin, TD3Policy):
    """``TD3Policy`` whose actor and target actor are :class:`PopSANTD3Actor`: ``TD3(PopSANTD3Policy, env)`` is
    PopSAN's TD3 and, SB3's DDPG being TD3 with a policy delay of 1 and no target smoothing,
    ``DDPG(PopSANTD3Policy, env)`` its DDPG (``docs/aolo.md#popsan-deterministic``).

    :param popsan_kwargs: keyword arguments of :class:`PopSAN`.
    :param snn_lr_scale: the PopSAN's learning rate relative to the critics' (the original 1e-4 / 1e-3 = 0.1).

    The actor's optimizer is SB3's ``optimizer_class`` (default Adam) with one parameter group, the PopSAN at
    ``snn_lr_scale`` times the learning rate (:class:`PopSANPolicyMixin`); the target actor follows it by
    SB3's Polyak averaging.
    """

    actor_class = PopSANTD3Actor
