"""AOLO studies: the functions the AOLO notebooks call to produce each figure's dataset."""

from __future__ import annotations

import numpy as np
import xarray as xr

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.oracle import EVALUATION_SEED, POLICIES, energy_efficient_power, evaluation_requests, policy_rng

__all__ = ["TERMS", "carbon_model_study"]

#: The four terms of eq. (16), in stacking order, with their symbols.
TERMS = {
    "carbon_inference_operational": "C_oper,I",
    "carbon_inference_embodied": "C_emb,I",
    "carbon_communication_operational": "C_oper,C",
    "carbon_communication_embodied": "C_emb,C",
}


def _terms(breakdown: cm.CarbonBreakdown, dims: tuple[str, ...], shape) -> dict:
    return {
        name: (dims, np.broadcast_to(np.asarray(value, dtype=float), shape).copy(), {"units": "gCO2e", "long_name": symbol})
        for (name, symbol), value in zip(TERMS.items(), breakdown)
    }


def carbon_model_study(
    cfg: AoloConfig | None = None, *, n_requests: int = 1000, seed: int = EVALUATION_SEED, reference_kappa: int = 200,
    reference_distance: float = 250.0, distances: tuple[float, ...] = (50.0, 150.0, 300.0, 500.0),
) -> xr.Dataset:
    """The carbon model's anatomy (``docs/aolo.md#carbon-model``):

    * ``vs_kappa_*``: the four terms against kappa at P_ee for a user at ``reference_distance`` (mean fading);
    * ``vs_power_*``: the four terms and the latency against P_trans for a ``reference_kappa``-word answer,
      at each of ``distances``;
    * ``energy_per_bit`` against P_trans at each distance, and ``p_ee`` its minimiser (with embodied carbon);
    * ``policy_*``: the mean four terms of the oracle and of each heuristic on the evaluation set, and their
      violation rates.
    """
    cfg = cfg or AoloConfig()
    intensity = 0.5 * (cfg.carbon_intensity_low + cfg.carbon_intensity_high)
    kappa = np.arange(cfg.kappa_min, cfg.kappa_max + 1, 10, dtype=float)
    gain_ref = float(cm.channel_gain(reference_distance, 1.0))
    p_ref = float(energy_efficient_power(gain_ref, intensity, cfg))
    power = np.geomspace(cfg.p_min, cfg.p_max, 200)
    dist = np.asarray(distances, dtype=float)
    gains = cm.channel_gain(dist, 1.0)[:, None]

    vs_kappa = _terms(cm.carbon(kappa, p_ref, gain_ref, intensity, cfg), ("kappa",), kappa.shape)
    vs_power = _terms(cm.carbon(reference_kappa, power[None, :], gains, intensity, cfg), ("distance", "power"),
                      (len(dist), len(power)))
    data = {f"vs_kappa_{k[7:]}": v for k, v in vs_kappa.items()}
    data.update({f"vs_power_{k[7:]}": v for k, v in vs_power.items()})
    data["vs_power_latency"] = (("distance", "power"), cm.latency(reference_kappa, power[None, :], gains, cfg),
                                {"units": "s", "long_name": "latency t_I + t_C"})
    data["energy_per_bit"] = (("distance", "power"), cm.energy_per_bit(power[None, :], gains, cfg) * 1e6,
                              {"units": "uJ/bit", "long_name": "BS energy per bit (P_0 + Delta_p P) / R"})
    data["p_ee"] = (("distance",), energy_efficient_power(gains[:, 0], intensity, cfg),
                    {"units": "W", "long_name": "carbon-optimal power P_ee"})

    requests = evaluation_requests(cfg, n_requests, seed)
    rows = {name: [] for name in (*TERMS, "qoe_violation_rate", "latency_violation_rate")}
    for name, policy in POLICIES.items():
        k, p = policy(requests, cfg, policy_rng(seed))
        c = cm.carbon(k, p, requests["gain"], requests["intensity"], cfg)
        for term, value in zip(TERMS, c):
            rows[term].append(float(np.mean(value)))
        rows["qoe_violation_rate"].append(float(np.mean(~cm.meets_qoe(cm.qoe(k, cfg), requests["qoe_threshold"]))))
        rows["latency_violation_rate"].append(float(np.mean(
            ~cm.meets_latency(cm.latency(k, p, requests["gain"], cfg), requests["latency_budget"]))))
    for term, symbol in TERMS.items():
        data[f"policy_{term[7:]}"] = (("policy",), rows[term], {"units": "gCO2e", "long_name": f"mean {symbol} per request"})
    for rate in ("qoe_violation_rate", "latency_violation_rate"):
        data[f"policy_{rate}"] = (("policy",), rows[rate], {"units": "1", "long_name": rate.replace("_", " ")})
    k_star, p_star = POLICIES["oracle"](requests, cfg)
    data["oracle_p_trans"] = (("request",), p_star, {"units": "W", "long_name": "oracle P_trans"})
    data["request_distance"] = (("request",), requests["distance"], {"units": "m", "long_name": "BS-user distance"})
    data["request_fading"] = (("request",), requests["fading"], {"units": "1", "long_name": "fading |h|^2"})

    ds = xr.Dataset(
        data,
        coords={
            "kappa": ("kappa", kappa, {"units": "words", "long_name": "output length kappa"}),
            "power": ("power", power, {"units": "W", "long_name": "transmit power P_trans"}),
            "distance": ("distance", dist, {"units": "m", "long_name": "BS-user distance"}),
            "policy": list(POLICIES),
            "request": np.arange(n_requests),
        },
    )
    ds.attrs.update(config=cfg.to_json(), reference_kappa=reference_kappa, reference_distance=reference_distance,
                    reference_power=p_ref, evaluation_seed=seed)
    return ds
