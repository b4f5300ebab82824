"""The exact per-request optimum of AOLO (the oracle): the shortest answer meeting QoE at the carbon-optimal power.

The problem P1 (``docs/aolo.md#problem``) separates per request: the carbon and the latency both
grow with the output length kappa, and the QoE constraint bounds kappa from below, so the optimal length
is the smallest that meets QoE, ``kappa* = max(kappa_min, ceil(Q^-1(Q_th)))``. For that kappa the
P-dependent carbon is ``D (c_0 + c_1 P) / R(P)`` (the BS's static and load-dependent power, plus its
embodied carbon per second, over the rate), quasi-convex in P with its minimum P_ee at the root of
``c_1 (1 + aP) ln(1 + aP) = a (c_0 + c_1 P)``; the latency budget asks for ``P >= P_lat``. So
``P* = clip(max(P_ee, P_lat), P_min, P_max)``. Where no power meets the budget, the oracle keeps the QoE
and minimises the latency excess with P_max (such requests count as latency violations for every policy).
"""

from __future__ import annotations

import numpy as np

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.requests import Requests

__all__ = ["best_power", "energy_efficient_power", "latency_power", "oracle", "qoe_length"]


def qoe_length(threshold, cfg: AoloConfig) -> np.ndarray:
    """The smallest whole kappa in [kappa_min, kappa_max] with ``Q(kappa) >= threshold`` (kappa_max if none)."""
    kappa = np.ceil(cm.qoe_inverse(threshold, cfg) - 1e-9)
    kappa = np.where(cm.qoe(kappa, cfg) < threshold, kappa + 1, kappa)  # guard the float edge
    return np.clip(kappa, cfg.kappa_min, cfg.kappa_max)


def energy_efficient_power(gain, intensity, cfg: AoloConfig, iterations: int = 80) -> np.ndarray:
    """P_ee: the power in [P_min, P_max] minimising the BS carbon per bit ``(c_0 + c_1 P) / R(P)``.

    ``c_0 = I P_0 / 3.6e6 + C_BS,emb / LT_BS`` and ``c_1 = I Delta_p / 3.6e6`` (g/s and g/(s W)). The root
    of ``h(P) = c_1 (1 + aP) ln(1 + aP) - a (c_0 + c_1 P)``, increasing in P, by bisection in log(P).
    """
    gain, intensity = np.broadcast_arrays(np.asarray(gain, float), np.asarray(intensity, float))
    a = gain / cfg.noise_power
    c0 = intensity * cfg.bs_static_power / cm.J_PER_KWH + cfg.bs_embodied / cfg.bs_lifetime
    c1 = intensity * cfg.bs_power_slope / cm.J_PER_KWH

    def h(p):
        return c1 * (1 + a * p) * np.log1p(a * p) - a * (c0 + c1 * p)

    lo = np.full(a.shape, np.log(cfg.p_min))
    hi = np.full(a.shape, np.log(cfg.p_max))
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        positive = h(np.exp(mid)) > 0
        hi = np.where(positive, mid, hi)
        lo = np.where(positive, lo, mid)
    p = np.exp(0.5 * (lo + hi))
    p = np.where(h(cfg.p_min) >= 0, cfg.p_min, p)
    return np.where(h(cfg.p_max) <= 0, cfg.p_max, p)


def latency_power(kappa, gain, budget, cfg: AoloConfig) -> np.ndarray:
    """P_lat: the least power meeting ``t_I + t_C <= T_max`` (inf where even infinite power cannot)."""
    slack = budget - cm.inference_time(kappa, cfg)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        needed_rate = cm.payload_bits(kappa, cfg) / slack
        p = (np.exp2(needed_rate / cfg.bandwidth) - 1.0) * cfg.noise_power / gain
    return np.where(slack > 0, p, np.inf)


def best_power(kappa, requests: Requests, cfg: AoloConfig) -> np.ndarray:
    """The carbon-optimal power for answers of length ``kappa``: ``clip(max(P_ee, P_lat(kappa)), P_min, P_max)``
    (for any kappa, not only the oracle's: the power half of a policy's gap to the oracle)."""
    p_ee = energy_efficient_power(requests["gain"], requests["intensity"], cfg)
    p_lat = latency_power(kappa, requests["gain"], requests["latency_budget"], cfg)
    return np.clip(np.maximum(p_ee, p_lat), cfg.p_min, cfg.p_max)


def oracle(requests: Requests, cfg: AoloConfig) -> tuple[np.ndarray, np.ndarray]:
    """The exact per-request optimum ``(kappa*, P*)`` of P1 (see the module docstring)."""
    kappa = qoe_length(requests["qoe_threshold"], cfg)
    return kappa, best_power(kappa, requests, cfg)
