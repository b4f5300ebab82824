"""Requests, the exact per-request optimum (the oracle), reference heuristics, and their evaluation.

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

from collections.abc import Callable

import numpy as np
import xarray as xr

from greenaolo.aolo import carbon as cm
from greenaolo.checks import number
from greenaolo.options import EVALUATION_SEED, MAX_REQUESTS
from greenaolo.aolo.config import AoloConfig

__all__ = [
    "HEURISTICS",
    "POLICIES",
    "Requests",
    "energy_efficient_power",
    "evaluate",
    "evaluate_policy",
    "evaluation_requests",
    "latency_power",
    "policy_rng",
    "oracle",
    "sample_requests",
]

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


def oracle(requests: Requests, cfg: AoloConfig) -> tuple[np.ndarray, np.ndarray]:
    """The exact per-request optimum ``(kappa*, P*)`` of P1 (see the module docstring)."""
    kappa = qoe_length(requests["qoe_threshold"], cfg)
    p_ee = energy_efficient_power(requests["gain"], requests["intensity"], cfg)
    p_lat = latency_power(kappa, requests["gain"], requests["latency_budget"], cfg)
    return kappa, np.clip(np.maximum(p_ee, p_lat), cfg.p_min, cfg.p_max)


# --- heuristics a reader expects beside learned agents ---------------------------------------------------

def random_policy(requests: Requests, cfg: AoloConfig, rng: np.random.Generator | None = None):
    """Uniform actions in [-1, 1]^2 mapped as the environment maps them (kappa linear, P log-uniform)."""
    rng = rng or np.random.default_rng(0)
    n = len(requests["gain"])
    kappa = np.rint(cfg.kappa_min + rng.uniform(0, 1, n) * (cfg.kappa_max - cfg.kappa_min))
    p = cfg.p_min * (cfg.p_max / cfg.p_min) ** rng.uniform(0, 1, n)
    return kappa, p


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






def evaluation_requests(cfg: AoloConfig, n: int = 1000, seed: int = EVALUATION_SEED) -> Requests:
    """The fixed, seeded set of evaluation requests shared by every method (``docs/aolo.md#a10``: 1000 requests).

    :raises ValueError: for ``n`` outside [1, :data:`MAX_REQUESTS`] or a seed outside [0, 2**32 - 1].
    """
    n = number("", "n_requests", n, 1, MAX_REQUESTS, integer=True)
    seed = number("", "seed", seed, 0, 2**32 - 1, integer=True)
    return sample_requests(np.random.default_rng(seed), n, cfg)


def policy_rng(seed: int) -> np.random.Generator:
    """The random policy's generator for evaluation seed ``seed``: a child stream, independent of the
    requests' (the same seed would make the random lengths a function of the distances)."""
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])


def evaluate_policy(name: str, cfg: AoloConfig, n: int = 1000, seed: int = EVALUATION_SEED) -> xr.Dataset:
    """Evaluate a named policy of :data:`POLICIES` on the evaluation set (randomised policies draw from
    :func:`policy_rng`)."""
    if name not in POLICIES:
        raise ValueError(f"policy={name!r} is unknown: expected one of {sorted(POLICIES)}")
    requests = evaluation_requests(cfg, n, seed)
    kappa, p = POLICIES[name](requests, cfg, policy_rng(seed))
    return evaluate(kappa, p, requests, cfg, method=name)


def evaluate(kappa, p, requests: Requests, cfg: AoloConfig, *, method: str) -> xr.Dataset:
    """Per-request outcome of actions ``(kappa, P)`` on ``requests``, and its means (gCO2e per request).

    Variables on ``request``: the four carbon terms, the total, kappa, P_trans, QoE, latency and whether
    each constraint held; scalars: their means and the violation rates. ``method`` names the policy.
    """
    kappa = np.asarray(kappa, dtype=float)
    p = np.asarray(p, dtype=float)
    c = cm.carbon(kappa, p, requests["gain"], requests["intensity"], cfg)
    q = cm.qoe(kappa, cfg)
    t = cm.latency(kappa, p, requests["gain"], cfg)
    qoe_ok = cm.meets_qoe(q, requests["qoe_threshold"])
    latency_ok = cm.meets_latency(t, requests["latency_budget"])
    per_request = {
        "carbon_inference_operational": (c.inference_operational, "gCO2e", "C_oper,I"),
        "carbon_inference_embodied": (np.broadcast_to(c.inference_embodied, kappa.shape), "gCO2e", "C_emb,I"),
        "carbon_communication_operational": (c.communication_operational, "gCO2e", "C_oper,C"),
        "carbon_communication_embodied": (c.communication_embodied, "gCO2e", "C_emb,C"),
        "carbon": (c.total, "gCO2e", "C_all = C_I + C_C"),
        "kappa": (kappa, "words", "output length kappa"),
        "p_trans": (p, "W", "BS transmit power P_trans"),
        "qoe": (q, "1", "QoE Q(kappa)"),
        "latency": (t, "s", "end-to-end latency t_I + t_C"),
        "qoe_ok": (qoe_ok.astype(np.int8), "1", "QoE constraint met"),
        "latency_ok": (latency_ok.astype(np.int8), "1", "latency constraint met"),
    }
    ds = xr.Dataset(
        {name: ("request", np.asarray(v), {"units": u, "long_name": ln}) for name, (v, u, ln) in per_request.items()},
        coords={"request": np.arange(len(kappa))},
    )
    ds["carbon_g"] = xr.DataArray(float(c.total.mean()), attrs={"units": "gCO2e", "long_name": "mean carbon per request"})
    ds["communication_share"] = xr.DataArray(
        float(c.communication.sum() / c.total.sum()), attrs={"units": "1", "long_name": "C_C / (C_I + C_C)"})
    ds["qoe_violation_rate"] = xr.DataArray(float(1 - qoe_ok.mean()), attrs={"units": "1", "long_name": "QoE violation rate"})
    ds["latency_violation_rate"] = xr.DataArray(
        float(1 - latency_ok.mean()), attrs={"units": "1", "long_name": "latency violation rate"})
    ds.attrs.update(method=method, config=cfg.to_json())
    return ds
