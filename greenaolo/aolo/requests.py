"""AOLO requests: each user's channel, QoE threshold, latency budget and carbon intensity, and how they are drawn.

The environment draws each episode's requests with :func:`sample_requests`; every method is evaluated on
the same fixed, seeded set of :func:`evaluation_requests`.
"""

from __future__ import annotations

import numpy as np

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.checks import number
from greenaolo.options import EVALUATION_SEED, MAX_REQUESTS

__all__ = ["REQUEST_FIELDS", "Requests", "evaluation_requests", "sample_requests"]

Requests = dict[str, np.ndarray]
#: Request fields: distance (m), fading |h|^2, gain g, qoe_threshold, latency_budget (s), intensity (g/kWh).
REQUEST_FIELDS = ("distance", "fading", "gain", "qoe_threshold", "latency_budget", "intensity")


def sample_requests(rng: np.random.Generator, n: int, cfg: AoloConfig) -> Requests:
    """Draw ``n`` requests (``docs/aolo.md#mdp``): distance U[d_min, d_max], Rayleigh fading Exp(1), QoE threshold
    and latency budget uniform in their ranges, carbon intensity uniform in its range."""
    distance = rng.uniform(cfg.distance_min, cfg.distance_max, n)
    fading = rng.exponential(1.0, n)
    return {
        "distance": distance,
        "fading": fading,
        "gain": cm.channel_gain(distance, fading),
        "qoe_threshold": rng.uniform(cfg.qoe_threshold_low, cfg.qoe_threshold_high, n),
        "latency_budget": rng.uniform(cfg.latency_budget_low, cfg.latency_budget_high, n),
        "intensity": rng.uniform(cfg.carbon_intensity_low, cfg.carbon_intensity_high, n),
    }


def evaluation_requests(cfg: AoloConfig, n: int = 1000, seed: int = EVALUATION_SEED) -> Requests:
    """The fixed, seeded set of evaluation requests shared by every method (``docs/aolo.md#a10``: 1000 requests).

    :raises ValueError: for ``n`` outside [1, :data:`MAX_REQUESTS`] or a seed outside [0, 2**32 - 1].
    """
    n = number("", "n_requests", n, 1, MAX_REQUESTS, integer=True)
    seed = number("", "seed", seed, 0, 2**32 - 1, integer=True)
    return sample_requests(np.random.default_rng(seed), n, cfg)
