"""Evaluation of AOLO decisions: each request's carbon, QoE and latency under actions (kappa, P_trans), and means.

:func:`evaluate` scores any actions on given requests; :func:`evaluate_policy` scores a named policy of
:data:`~greenaolo.aolo.heuristics.POLICIES` on the fixed evaluation set.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.heuristics import POLICIES, policy_rng
from greenaolo.aolo.requests import Requests, evaluation_requests
from greenaolo.options import EVALUATION_SEED

__all__ = ["evaluate", "evaluate_oracle", "evaluate_policy", "gap_to_oracle"]


def evaluate_policy(name: str, cfg: AoloConfig, n: int = 1000, seed: int = EVALUATION_SEED) -> xr.Dataset:
    """Evaluate a named policy of :data:`POLICIES` on the evaluation set (randomised policies draw from
    :func:`policy_rng`)."""
    if name not in POLICIES:
        raise ValueError(f"policy={name!r} is unknown: expected one of {sorted(POLICIES)}")
    requests = evaluation_requests(cfg, n, seed)
    kappa, p = POLICIES[name](requests, cfg, policy_rng(seed))
    return evaluate(kappa, p, requests, cfg, method=name)


def evaluate(kappa, p, requests: Requests, cfg: AoloConfig, *, method: str) -> xr.Dataset:
    """Per-request outcome of actions ``(kappa, P)`` on ``requests``, and its means (g CO2e per request).

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
        "carbon_inference_operational": (c.inference_operational, "g", "C_oper,I, CO2e"),
        "carbon_inference_embodied": (np.broadcast_to(c.inference_embodied, kappa.shape), "g", "C_emb,I, CO2e"),
        "carbon_communication_operational": (c.communication_operational, "g", "C_oper,C, CO2e"),
        "carbon_communication_embodied": (c.communication_embodied, "g", "C_emb,C, CO2e"),
        "carbon": (c.total, "g", "C_all = C_I + C_C, CO2e"),
        "kappa": (kappa, "1", "output length kappa (words)"),
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
    ds["carbon_g"] = xr.DataArray(float(c.total.mean()), attrs={"units": "g", "long_name": "mean carbon (CO2e) per request"})
    ds["communication_share"] = xr.DataArray(
        float(c.communication.sum() / c.total.sum()), attrs={"units": "1", "long_name": "C_C / (C_I + C_C)"})
    ds["qoe_violation_rate"] = xr.DataArray(float(1 - qoe_ok.mean()), attrs={"units": "1", "long_name": "QoE violation rate"})
    ds["latency_violation_rate"] = xr.DataArray(
        float(1 - latency_ok.mean()), attrs={"units": "1", "long_name": "latency violation rate"})
    ds.attrs.update(method=method, config=cfg.to_json())
    return ds


def evaluate_oracle(requests: Requests, cfg: AoloConfig) -> xr.Dataset:
    """The exact optimum's outcomes on ``requests`` (:func:`greenaolo.aolo.oracle.oracle`, scored by :func:`evaluate`)."""
    from greenaolo.aolo.oracle import oracle

    return evaluate(*oracle(requests, cfg), requests, cfg, method="oracle")


def gap_to_oracle(carbon, oracle_carbon):
    """The relative carbon gap to the oracle, ``C / C* - 1``: of mean carbons (floats) or per request
    (arrays). The one home of this figure of merit: training, tuning and the benchmark all report it."""
    if np.ndim(carbon) == 0 and np.ndim(oracle_carbon) == 0:
        return float(carbon) / float(oracle_carbon) - 1.0
    return np.asarray(carbon) / np.asarray(oracle_carbon) - 1.0

