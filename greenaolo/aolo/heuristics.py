"""AOLO's reference heuristics beside the learned agents, and every named policy (the oracle among them).

:data:`HEURISTICS` are the four policies a reader expects beside SAC and SDRL; :data:`POLICIES` adds the
oracle (:mod:`greenaolo.aolo.oracle`). Each policy maps ``(requests, cfg, rng)`` to ``(kappa, P_trans)``;
only the random one draws from ``rng`` (:func:`policy_rng`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.env import decision
from greenaolo.aolo.oracle import energy_efficient_power, oracle, qoe_length
from greenaolo.aolo.requests import Requests

__all__ = [
    "HEURISTICS",
    "POLICIES",
    "Policy",
    "max_length_max_power",
    "min_energy_per_bit",
    "policy_rng",
    "qoe_just_met_fixed_power",
    "random_policy",
]


def random_policy(requests: Requests, cfg: AoloConfig, rng: np.random.Generator | None = None):
    """Uniform actions in [-1, 1]^2 (all kappa draws, then all P draws, from ``rng``), mapped to
    ``(kappa, P_trans)`` by the environment's own :func:`~greenaolo.aolo.env.decision`."""
    rng = rng or np.random.default_rng(0)
    n = len(requests["gain"])
    action = np.stack([rng.uniform(-1.0, 1.0, n), rng.uniform(-1.0, 1.0, n)], axis=-1)
    return decision(action, cfg)


def max_length_max_power(requests: Requests, cfg: AoloConfig, rng=None):
    """The QoE-maximising extreme: kappa_max words at P_max."""
    n = len(requests["gain"])
    return np.full(n, float(cfg.kappa_max)), np.full(n, cfg.p_max)


def qoe_just_met_fixed_power(requests: Requests, cfg: AoloConfig, rng=None, power: float | None = None):
    """The shortest answer meeting QoE, at a fixed power (default: the geometric middle of [P_min, P_max])."""
    power = float(np.sqrt(cfg.p_min * cfg.p_max)) if power is None else power
    return qoe_length(requests["qoe_threshold"], cfg), np.full(len(requests["gain"]), power)


def min_energy_per_bit(requests: Requests, cfg: AoloConfig, rng=None):
    """The shortest answer meeting QoE at the energy-per-bit optimum P_ee, ignoring the latency budget."""
    return (qoe_length(requests["qoe_threshold"], cfg),
            energy_efficient_power(requests["gain"], requests["intensity"], cfg))


Policy = Callable[..., tuple[np.ndarray, np.ndarray]]
HEURISTICS: dict[str, Policy] = {
    "random": random_policy,
    "max-length-max-power": max_length_max_power,
    "qoe-fixed-power": qoe_just_met_fixed_power,
    "min-energy-per-bit": min_energy_per_bit,
}
POLICIES: dict[str, Policy] = {"oracle": lambda requests, cfg, rng=None: oracle(requests, cfg), **HEURISTICS}


def policy_rng(seed: int) -> np.random.Generator:
    """The random policy's generator for evaluation seed ``seed``: a child stream, independent of the
    requests' (the same seed would make the random lengths a function of the distances)."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
