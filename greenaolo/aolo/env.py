"""The AOLO environment: choose the output length and the BS transmit power of each LLM request."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.requests import REQUEST_FIELDS, Requests, sample_requests

__all__ = ["AoloEnv", "decision", "observation", "reward"]


def _unit(value, low: float, high: float):
    """Map [low, high] to [-1, 1] (0 where the range is a point)."""
    if high <= low:
        return np.zeros_like(np.asarray(value, dtype=float))
    return 2.0 * (np.asarray(value, dtype=float) - low) / (high - low) - 1.0


def observation(requests: Requests, cfg: AoloConfig) -> np.ndarray:
    """Observations of a batch of requests, shape (n, 5), float32, clipped to [-1, 1].

    Columns: channel gain in dB (over the span the distances and the 1st-99.9th fading percentiles give),
    distance, QoE threshold, latency budget and carbon intensity, each mapped linearly from its range.
    """
    pl_near, pl_far = cm.path_loss_db(cfg.distance_min), cm.path_loss_db(cfg.distance_max)
    gain_db = 10.0 * np.log10(requests["gain"])
    obs = np.stack(
        [
            _unit(gain_db, -pl_far - 20.0, -pl_near + 8.5),
            _unit(requests["distance"], cfg.distance_min, cfg.distance_max),
            _unit(requests["qoe_threshold"], cfg.qoe_threshold_low, cfg.qoe_threshold_high),
            _unit(requests["latency_budget"], cfg.latency_budget_low, cfg.latency_budget_high),
            _unit(requests["intensity"], cfg.carbon_intensity_low, cfg.carbon_intensity_high),
        ],
        axis=-1,
    )
    return np.clip(obs, -1.0, 1.0).astype(np.float32)


def decision(action, cfg: AoloConfig) -> tuple[np.ndarray, np.ndarray]:
    """Map actions in [-1, 1]^2 (clipped) to ``(kappa, P_trans)``: kappa linear in [kappa_min, kappa_max]
    (or the useful range, ``AoloConfig.action_kappa_range``) and rounded to whole words
    (``docs/aolo.md#a12``); P_trans log-uniform in [P_min, P_max].

    :param action: shape ``(..., 2)``; finite values outside [-1, 1] are clipped, as Gymnasium environments do.
    :raises ValueError: for another shape, or a NaN or infinite entry (it would reach the replay buffer).
    """
    try:
        a = np.asarray(action, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"action={action!r} is not numeric: expected shape (2,), (kappa, P_trans) in [-1, 1]") from None
    if a.ndim == 0 or a.shape[-1] != 2:
        raise ValueError(f"action has shape {a.shape}: expected shape (2,) (or (n, 2)), (kappa, P_trans) in [-1, 1]")
    if not np.isfinite(a).all():
        raise ValueError(f"action={a.tolist()} is not finite: expected (kappa, P_trans) in [-1, 1]")
    a = np.clip(a, -1.0, 1.0)
    u = (a[..., 0] + 1.0) / 2.0
    v = (a[..., 1] + 1.0) / 2.0
    low, high = cfg.action_kappa_range
    kappa = np.rint(low + u * (high - low))
    return kappa, cfg.p_min * (cfg.p_max / cfg.p_min) ** v


def reward(carbon, qoe, qoe_threshold, latency, latency_budget, cfg: AoloConfig, carbon_scale: float):
    """The reward of :class:`AoloEnv` (its docstring), for floats or arrays: ``-C_all / C_ref`` minus, per
    violated constraint, its weight times ``1 + relative shortfall``."""
    qoe_miss = ~np.asarray(cm.meets_qoe(qoe, qoe_threshold))
    late = ~np.asarray(cm.meets_latency(latency, latency_budget))
    return (
        -carbon / carbon_scale
        - cfg.qoe_penalty * qoe_miss * (1.0 + np.maximum(qoe_threshold - qoe, 0.0) / qoe_threshold)
        - cfg.latency_penalty * late * (1.0 + np.maximum(latency - latency_budget, 0.0) / latency_budget)
    )


def action_for(kappa, p, cfg: AoloConfig) -> np.ndarray:
    """The action in [-1, 1]^2 that :func:`decision` maps to ``(kappa, P)`` (the inverse map)."""
    low, high = cfg.action_kappa_range
    u = (np.asarray(kappa, float) - low) / max(high - low, 1)
    v = np.log(np.asarray(p, float) / cfg.p_min) / np.log(cfg.p_max / cfg.p_min)
    return np.stack([2 * u - 1, 2 * v - 1], axis=-1).astype(np.float32)


class AoloEnv(gym.Env):
    """## Description

    One wireless LLM service (``docs/aolo.md#mdp``): each step is one user request. The agent
    picks the answer's length kappa (words) and the base station's downlink transmit power P_trans (W);
    the request's carbon is the LLM inference on a GPU server plus the radio delivery from the BS, each
    operational plus embodied (eq. 16: ``C_all = C_oper,I + C_emb,I + C_oper,C + C_emb,C``, gCO2e).
    Requests are independent, so the optimum is per request (:func:`greenaolo.aolo.oracle.oracle`).

    ## Action space

    ``Box(-1, 1, (2,), float32)``: ``a[0]`` maps linearly to kappa in [kappa_min, kappa_max] = [20, 600]
    words, rounded to a whole word (``docs/aolo.md#a12``); ``a[1]`` maps log-uniformly to P_trans in [P_min, P_max] =
    [0.1, 20] W. Actions outside [-1, 1] are clipped.

    ## Observation space

    ``Box(-1, 1, (5,), float32)``, each entry mapped linearly from its range and clipped:

    | index | observation | range mapped to [-1, 1] |
    |---|---|---|
    | 0 | channel gain g in dB (eq. 6: path loss and Rayleigh fading) | [-PL(d_max) - 20, -PL(d_min) + 8.5] dB |
    | 1 | BS-user distance d | [d_min, d_max] = [50, 500] m |
    | 2 | QoE threshold Q_th | [0.6, 0.9] |
    | 3 | latency budget T_max | [10, 20] s |
    | 4 | carbon intensity I | [I_low, I_high] (475 g/kWh both by default: then 0) |

    ## Rewards

    ``r = -C_all / C_ref - w_Q [Q < Q_th] (1 + (Q_th - Q) / Q_th) - w_T [T > T_max] (1 + (T - T_max) / T_max)``
    with ``C_ref`` the inference carbon of a kappa_max answer at the mean intensity (so ``C_all / C_ref``
    is about 0.1-1), QoE ``Q = 1 - exp(-kappa / 150)`` (eq. 17), latency ``T = t_I + t_C`` (eq. 18) and
    weights ``w_Q = w_T = 1``. A violated constraint always costs more than the carbon it saves. Figures use
    the raw carbon in ``info``, never rewards.

    ## Starting state and episode end

    ``reset`` draws ``episode_length`` (default 50, ``docs/aolo.md#a8``) requests from ``self.np_random``: distance
    U[50, 500] m, fading ``|h|^2 ~ Exp(1)``, Q_th U[0.6, 0.9], T_max U[10, 20] s, intensity U[I_low, I_high].
    The episode is truncated after the last request; it never terminates.

    ## Info

    Every step: the four carbon terms and their total (gCO2e), ``kappa``, ``p_trans``, ``qoe``,
    ``latency``, ``qoe_ok``, ``latency_ok`` and the request (``distance``, ``gain``, ``qoe_threshold``,
    ``latency_budget``, ``intensity``).

    ## Arguments

    ``gymnasium.make("greenaolo/Aolo-v0", config=AoloConfig(...))``; ``config`` (default ``AoloConfig()``)
    holds every parameter, its unit and its source (:mod:`greenaolo.aolo.config`).

    ## Version history

    * v0: first version (the reconstruction of ``docs/aolo.md``, ``docs/aolo.md#a5`` settled in ``AoloConfig``).
    """

    metadata = {"render_modes": []}

    def __init__(self, config: AoloConfig | None = None, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r} is not supported: AoloEnv has no rendering")
        self.config = config or AoloConfig()
        if not isinstance(self.config, AoloConfig):
            raise TypeError(f"config must be an AoloConfig, got {type(self.config).__name__}")
        self.render_mode = render_mode
        self.action_space = spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(5,), dtype=np.float32)
        cfg = self.config
        mean_intensity = 0.5 * (cfg.carbon_intensity_low + cfg.carbon_intensity_high)
        self.carbon_scale = float(
            cm.inference_operational_carbon(cfg.kappa_max, mean_intensity, cfg)
            + cm.inference_embodied_carbon(cfg.kappa_max, cfg)
        )
        if not self.carbon_scale > 0:
            raise ValueError(
                f"the reward's carbon scale is {self.carbon_scale!r}: the configuration gives a kappa_max answer no "
                "inference carbon (carbon intensity and embodied carbon all zero); expected > 0"
            )
        self._requests: Requests | None = None
        self._obs: np.ndarray | None = None
        self._t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        self._requests = sample_requests(self.np_random, self.config.episode_length, self.config)
        self._obs = observation(self._requests, self.config)
        self._t = 0
        return self._obs[0], {}

    def step(self, action):
        if self._requests is None:
            raise RuntimeError("call reset() before step()")
        if self._t >= self.config.episode_length:
            raise RuntimeError("the episode is over (truncated): call reset() before step()")
        cfg, t, req = self.config, self._t, self._requests
        if np.shape(action) != (2,):
            raise ValueError(f"action has shape {np.shape(action)}: expected {self.action_space.shape}, "
                             "(kappa, P_trans) in [-1, 1]")
        kappa, p = decision(action, cfg)
        kappa, p = float(kappa), float(p)
        gain, intensity = float(req["gain"][t]), float(req["intensity"][t])
        threshold, budget = float(req["qoe_threshold"][t]), float(req["latency_budget"][t])
        c = cm.carbon(kappa, p, gain, intensity, cfg)
        total = float(c.total)
        q = float(cm.qoe(kappa, cfg))
        lat = float(cm.latency(kappa, p, gain, cfg))
        qoe_ok, latency_ok = bool(cm.meets_qoe(q, threshold)), bool(cm.meets_latency(lat, budget))
        r = float(reward(total, q, threshold, lat, budget, cfg, self.carbon_scale))
        info = {
            "carbon_inference_operational": float(c.inference_operational),
            "carbon_inference_embodied": float(c.inference_embodied),
            "carbon_communication_operational": float(c.communication_operational),
            "carbon_communication_embodied": float(c.communication_embodied),
            "carbon": total,
            "kappa": kappa,
            "p_trans": p,
            "qoe": q,
            "latency": lat,
            "qoe_ok": qoe_ok,
            "latency_ok": latency_ok,
            **{name: float(req[name][t]) for name in REQUEST_FIELDS},
        }
        self._t += 1
        truncated = self._t >= cfg.episode_length
        obs = self._obs[min(self._t, cfg.episode_length - 1)]
        return obs, r, False, truncated, info
