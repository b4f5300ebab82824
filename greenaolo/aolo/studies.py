"""AOLO studies: the functions the AOLO notebooks call to produce each figure's dataset.

:func:`carbon_model_study` needs no training: the carbon model's anatomy, the oracle and the heuristics.
The other four take trained runs (:mod:`greenaolo.aolo.runs`) and return the dataset of one of the
learned-agent figures (SDRL against SAC, issue 7). Every method is measured on the same fixed, seeded
evaluation requests (:func:`greenaolo.aolo.requests.evaluation_requests`) with deterministic actions; the
oracle and the heuristics are computed on the same requests as reference lines. Intervals over seeds are
two-sided 95% Student-t intervals (:func:`t_interval`): with the few seeds of a profile (2 quick, 10 full) they are wide, and the figures say so
rather than hide it.

* :func:`carbon_model_study`: the four carbon terms against kappa and P_trans, the energy per bit, and the
  oracle beside the heuristics (``docs/aolo.md#carbon-model``);
* :func:`convergence_study`: evaluation reward and carbon against training steps;
* :func:`carbon_comparison_study`: the final carbon per request in its four terms, and SDRL's reduction
  against SAC (``docs/aolo.md#reduction``: ``(C_SAC - C_SDRL) / C_SAC``, published 18.77%);
* :func:`sensitivity_study`: carbon against the QoE threshold, the latency budget, the grid carbon
  intensity and the maximum transmit power (:data:`SENSITIVITY`);
* :func:`actor_energy_study`: energy per actor inference, ANN multiply-accumulates against SNN
  accumulates counted from the trained PopSANs' real spikes (``docs/aolo.md#actor-energy``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import xarray as xr

if TYPE_CHECKING:
    import pandas as pd
from scipy import stats

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.carbon import TERMS
from greenaolo.aolo.config import PAPER_REDUCTION, AoloConfig
from greenaolo.aolo.env import decision, observation
from greenaolo.aolo.evaluation import evaluate
from greenaolo.aolo.heuristics import HEURISTICS, POLICIES, policy_rng
from greenaolo.aolo.oracle import energy_efficient_power
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.aolo.runs import load_model, load_runs
from greenaolo.aolo.training import acting_config, mean_reward
from greenaolo.options import EVALUATION_SEED, SPIKING_TWINS

__all__ = [
    "E_AC_PJ",
    "E_MAC_PJ",
    "PAPER_REDUCTION",
    "SENSITIVITY",
    "ACTOR_ENERGY_AGENTS",
    "actor_energy_study",
    "agent_outcome",
    "by_variant",
    "carbon_comparison_study",
    "carbon_model_study",
    "convergence_study",
    "reduction_table",
    "reference_policies",
    "sensitivity_points",
    "sensitivity_study",
    "t_interval",
]

#: Energy of one 32-bit floating-point multiply-accumulate and of one accumulate at 45 nm, in pJ:
#: multiply 3.7 pJ + add 0.9 pJ, and add 0.9 pJ (M. Horowitz, "Computing's energy problem (and what we
#: can do about it)", ISSCC 2014). The values the SNN literature uses (``docs/aolo.md#actor-energy``).
E_MAC_PJ = 4.6
E_AC_PJ = 0.9


def t_interval(values, axis: int = -1, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Mean and half-width of the two-sided Student-t interval along ``axis`` (NaN half-width for n < 2)."""
    x = np.asarray(values, dtype=float)
    n = x.shape[axis]
    mean = x.mean(axis=axis)
    if n < 2:
        return mean, np.full_like(mean, np.nan)
    sem = x.std(axis=axis, ddof=1) / np.sqrt(n)
    return mean, stats.t.ppf(0.5 + level / 2, n - 1) * sem


# --- the carbon model, the oracle and the heuristics (no training) -------------------------------------

def _terms(breakdown: cm.CarbonBreakdown, dims: tuple[str, ...], shape) -> dict:
    return {
        name: (dims, np.broadcast_to(np.asarray(value, dtype=float), shape).copy(), {"units": "g", "long_name": f"{symbol}, CO2e"})
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
    for policy in POLICIES.values():
        k, p = policy(requests, cfg, policy_rng(seed))
        c = cm.carbon(k, p, requests["gain"], requests["intensity"], cfg)
        for term, value in zip(TERMS, c):
            rows[term].append(float(np.mean(value)))
        rows["qoe_violation_rate"].append(float(np.mean(~cm.meets_qoe(cm.qoe(k, cfg), requests["qoe_threshold"]))))
        rows["latency_violation_rate"].append(float(np.mean(
            ~cm.meets_latency(cm.latency(k, p, requests["gain"], cfg), requests["latency_budget"]))))
    for term, symbol in TERMS.items():
        data[f"policy_{term[7:]}"] = (("policy",), rows[term], {"units": "g", "long_name": f"mean {symbol} (CO2e) per request"})
    for rate in ("qoe_violation_rate", "latency_violation_rate"):
        data[f"policy_{rate}"] = (("policy",), rows[rate], {"units": "1", "long_name": rate.replace("_", " ")})
    k_star, p_star = POLICIES["oracle"](requests, cfg)
    data["oracle_p_trans"] = (("request",), p_star, {"units": "W", "long_name": "oracle P_trans"})
    data["request_distance"] = (("request",), requests["distance"], {"units": "m", "long_name": "BS-user distance"})
    data["request_fading"] = (("request",), requests["fading"], {"units": "1", "long_name": "fading |h|^2"})

    ds = xr.Dataset(
        data,
        coords={
            "kappa": ("kappa", kappa, {"units": "1", "long_name": "output length kappa (words)"}),
            "power": ("power", power, {"units": "W", "long_name": "transmit power P_trans"}),
            "distance": ("distance", dist, {"units": "m", "long_name": "BS-user distance"}),
            "policy": list(POLICIES),
            "request": np.arange(n_requests),
        },
    )
    ds.attrs.update(config=cfg.to_json(), reference_kappa=reference_kappa, reference_distance=reference_distance,
                    reference_power=p_ref, evaluation_seed=seed)
    return ds


# --- the learned agents ---------------------------------------------------------------------------------

def _config(runs: xr.Dataset) -> AoloConfig:
    if "config" not in runs.attrs:
        raise ValueError("the runs were trained with different environment configurations")
    return AoloConfig.from_dict(json.loads(runs.attrs["config"]))


def _n_eval(runs: xr.Dataset) -> int:
    return int(runs.attrs["n_eval"])


def _summary(ds: xr.Dataset, requests, cfg: AoloConfig) -> dict[str, float]:
    out = {term: float(ds[term].mean()) for term in TERMS}
    out.update(carbon_g=float(ds.carbon_g), reward=mean_reward(ds, requests, cfg), kappa=float(ds.kappa.mean()),
               p_trans=float(ds.p_trans.mean()), qoe_violation_rate=float(ds.qoe_violation_rate),
               latency_violation_rate=float(ds.latency_violation_rate))
    return out


SUMMARY_ATTRS = {
    **{term: ("g", f"mean {symbol} (CO2e) per request") for term, symbol in TERMS.items()},
    "carbon_g": ("g", "mean carbon (CO2e) per request"),
    "reward": ("1", "mean reward"),
    "kappa": ("1", "mean output length kappa (words)"),
    "p_trans": ("W", "mean transmit power P_trans"),
    "qoe_violation_rate": ("1", "QoE violation rate"),
    "latency_violation_rate": ("1", "latency violation rate"),
}


def reference_policies(cfg: AoloConfig, requests, seed: int) -> xr.Dataset:
    """The oracle's and the heuristics' outcomes on ``requests`` (one row per ``policy``)."""
    rows = {}
    for name, policy in POLICIES.items():
        k, p = policy(requests, cfg, policy_rng(seed))
        rows[name] = _summary(evaluate(k, p, requests, cfg, method=name), requests, cfg)
    return xr.Dataset(
        {f"ref_{key}": ("policy", [rows[n][key] for n in rows], {"units": u, "long_name": ln})
         for key, (u, ln) in SUMMARY_ATTRS.items()},
        coords={"policy": list(rows)},
    )


def agent_outcome(model, requests, cfg: AoloConfig, train_cfg: AoloConfig):
    """Deterministic actions of ``model`` (observed and decoded as in training, ``train_cfg``) evaluated
    under ``cfg``; the power is capped at ``cfg.p_max`` when the sweep lowers it."""
    actions, _ = model.predict(observation(requests, train_cfg), deterministic=True)
    kappa, p = decision(actions, train_cfg)
    p = np.clip(p, cfg.p_min, cfg.p_max)
    return evaluate(kappa, p, requests, cfg, method="agent")


def by_variant(study: Callable[[Sequence[str | Path]], xr.Dataset],
               paths: Mapping[str, Sequence[str | Path]]) -> xr.Dataset:
    """``study`` of each variant's runs, stacked on ``variant`` (the oracle's and heuristics' ``ref_*``,
    the same for every variant, once); each variant's hyperparameters in ``hyperparams_<variant>``."""
    parts = {variant: study(files) for variant, files in paths.items()}
    first = next(iter(parts.values()))
    refs = [name for name in first.data_vars if name.startswith("ref_")]
    out = xr.concat([ds.drop_vars(refs).drop_attrs(deep=False) for ds in parts.values()],
                    dim=xr.DataArray(list(parts), dims="variant", name="variant"))
    out = out.merge(first[refs])
    out.attrs = {k: v for k, v in first.attrs.items() if k not in ("hyperparams", "variant")}
    for variant, ds in parts.items():
        out.attrs[f"hyperparams_{variant}"] = ds.attrs.get("hyperparams", "")
    return out


def convergence_study(paths: Sequence[str | Path] | Mapping[str, Sequence[str | Path]]) -> xr.Dataset:
    """Evaluation reward, carbon and violation rates against training steps, per algorithm and seed,
    with the mean and 95% t-interval over seeds, and the oracle's and heuristics' values for reference.

    :param paths: the runs of one variant, or ``{variant: runs}`` (then stacked on ``variant``: :func:`by_variant`).
    """
    if isinstance(paths, Mapping):
        return by_variant(convergence_study, paths)
    runs = load_runs(paths)
    cfg = _config(runs)
    seed = EVALUATION_SEED
    requests = evaluation_requests(cfg, _n_eval(runs), seed)
    out = runs[[v for v in runs.data_vars if v.startswith("curve_")] + ["train_seconds", "steps_per_second"]]
    for name in ("curve_reward", "curve_carbon_g"):
        mean, half = t_interval(runs[name].transpose("algorithm", "step", "seed").values)
        out[f"{name}_mean"] = (("algorithm", "step"), mean, runs[name].attrs)
        out[f"{name}_ci95"] = (("algorithm", "step"), half, {**runs[name].attrs, "long_name": "95% t half-width"})
    out = out.merge(reference_policies(cfg, requests, seed))
    out.attrs.update(runs.attrs)
    out.attrs["evaluation_requests"] = len(requests["gain"])
    return out


def carbon_comparison_study(paths: Sequence[str | Path] | Mapping[str, Sequence[str | Path]]) -> xr.Dataset:
    """Final carbon per request by method in its four terms, and SDRL's reduction against SAC (of one
    variant's runs, or of ``{variant: runs}`` stacked on ``variant``: :func:`by_variant`).

    The reduction is computed per seed, ``1 - C_SDRL,s / C_SAC,s`` (seed ``s`` of both agents sees the
    same environment stream), and summarised by its mean and 95% t-interval; the reduction of the mean
    carbon, ``1 - mean(C_SDRL) / mean(C_SAC)``, is reported beside it, and the published 18.77% as an
    attribute for the table.
    """
    if isinstance(paths, Mapping):
        return by_variant(carbon_comparison_study, paths)
    runs = load_runs(paths)
    cfg = _config(runs)
    seed = EVALUATION_SEED
    requests = evaluation_requests(cfg, _n_eval(runs), seed)
    finals = {
        **{term: runs[f"mean_{term}"] for term in TERMS},
        "carbon_g": runs.carbon_g, "kappa": runs.mean_kappa, "p_trans": runs.mean_p_trans,
        "qoe_violation_rate": runs.qoe_violation_rate, "latency_violation_rate": runs.latency_violation_rate,
        "gap_to_oracle": runs.gap_to_oracle,
    }
    out = xr.Dataset()
    for key, da in finals.items():
        units, long_name = SUMMARY_ATTRS.get(key, ("1", "relative carbon gap to the oracle"))
        out[f"final_{key}"] = da.transpose("algorithm", "seed").assign_attrs(units=units, long_name=long_name)
        mean, half = t_interval(out[f"final_{key}"].values, axis=1)
        out[f"final_{key}_mean"] = ("algorithm", mean, {"units": units, "long_name": f"{long_name}, mean over seeds"})
        out[f"final_{key}_ci95"] = ("algorithm", half, {"units": units, "long_name": "95% t half-width over seeds"})
    out = out.merge(reference_policies(cfg, requests, seed))
    if {"sac", "sdrl"} <= set(runs.algorithm.values):
        c_sac = runs.carbon_g.sel(algorithm="sac").values
        c_sdrl = runs.carbon_g.sel(algorithm="sdrl").values
        per_seed = 1.0 - c_sdrl / c_sac
        mean, half = t_interval(per_seed)
        out["reduction_per_seed"] = ("seed", per_seed, {"units": "1", "long_name": "1 - C_SDRL / C_SAC per seed"})
        out["reduction_mean"] = ((), float(mean), {"units": "1", "long_name": "SDRL's reduction against SAC, mean over seeds"})
        out["reduction_ci95"] = ((), float(half), {"units": "1", "long_name": "95% t half-width of the reduction"})
        out["reduction_of_means"] = ((), float(1.0 - c_sdrl.mean() / c_sac.mean()),
                                     {"units": "1", "long_name": "1 - mean(C_SDRL) / mean(C_SAC)"})
    out.attrs.update(runs.attrs)
    out.attrs.update(paper_reduction=PAPER_REDUCTION, evaluation_requests=len(requests["gain"]))
    return out


#: The sensitivity study's four sweeps: name -> (request or config, values, units, long_name). QoE
#: threshold and latency budget are set on the requests (inside the range the agents were trained on,
#: which they observe); carbon intensity and P_max change the configuration the agents were not trained
#: for (see :func:`sensitivity_study`).
SENSITIVITY = {
    "qoe_threshold": ("request", (0.6, 0.675, 0.75, 0.825, 0.9), "1", "QoE threshold Q_th"),
    "latency_budget": ("request", (10.0, 12.5, 15.0, 17.5, 20.0), "s", "latency budget T_max"),
    "carbon_intensity": ("config", (100.0, 300.0, 475.0, 700.0, 900.0), "g/(kW h)", "grid CO2e intensity I"),
    "p_max": ("config", (1.0, 2.0, 5.0, 10.0, 20.0), "W", "maximum transmit power P_max"),
}


_SENSITIVITY_KEYS = ("carbon_g", "qoe_violation_rate", "latency_violation_rate")


def sensitivity_points(runs_dir: str, paths: Sequence[str], name: str, n_requests: int) -> dict[str, np.ndarray]:
    """One sweep of :data:`SENSITIVITY` (a task of :func:`sensitivity_study`): for each value, the
    references' (``ref_*``: policy x value) and every trained agent's (``agent_*``: algorithm x seed x
    value) outcomes."""
    runs = load_runs(paths)
    train_cfg = _config(runs)
    seed = EVALUATION_SEED
    n = int(n_requests)
    algorithms, seeds = [str(a) for a in runs.algorithm.values], [int(s) for s in runs.seed.values]
    models = {(a, s): load_model(runs_dir, a, s, runs.attrs["variant"]) for a in algorithms for s in seeds}
    # Each agent observes and acts as it was trained (its own action range: training.acting_config).
    agent_settings = json.loads(runs.attrs["hyperparams"])
    acting = {a: acting_config(train_cfg, agent_settings[a]) for a in algorithms}
    methods = ["oracle", *HEURISTICS]
    kind, values, _, _ = SENSITIVITY[name]
    ref = {key: np.empty((len(methods), len(values))) for key in _SENSITIVITY_KEYS}
    agent = {key: np.empty((len(algorithms), len(seeds), len(values))) for key in _SENSITIVITY_KEYS}
    for j, value in enumerate(values):
        if kind == "request":
            cfg = train_cfg
            requests = evaluation_requests(cfg, n, seed)
            requests[name] = np.full(n, float(value))
        else:
            changes = ({"carbon_intensity_low": value, "carbon_intensity_high": value}
                       if name == "carbon_intensity" else {"p_max": value})
            cfg = train_cfg.replace(**changes)
            requests = evaluation_requests(cfg, n, seed)
        for i, method in enumerate(methods):
            k, p = POLICIES[method](requests, cfg, policy_rng(seed))
            ds = evaluate(k, p, requests, cfg, method=method)
            for key in ref:
                ref[key][i, j] = float(ds[key])
        for ia, a in enumerate(algorithms):
            for js, s in enumerate(seeds):
                ds = agent_outcome(models[a, s], requests, cfg, acting[a])
                for key in agent:
                    agent[key][ia, js, j] = float(ds[key])
    return {**{f"ref_{k}": v for k, v in ref.items()}, **{f"agent_{k}": v for k, v in agent.items()}}


def sensitivity_study(runs_dir: str | Path, paths: Sequence[str | Path], *, n_requests: int | None = None,
                      progress: bool = True, scheduler: str | None = None, workers: int | None = None) -> xr.Dataset:
    """Carbon per request against each sweep of :data:`SENSITIVITY`, for the oracle, the heuristics and every
    trained agent (per seed; mean and 95% t-interval over seeds).

    The agents are the trained runs, not retrained per point. A swept QoE threshold or latency budget is
    set on every evaluation request; both lie in the ranges the agents were trained on and observe. A
    swept carbon intensity or P_max is a setting the agents never saw (the default trains at a constant
    475 gCO2e/kWh and P_max = 20 W): their actions are decoded as in training and the power capped at the
    swept P_max, while the oracle and the heuristics re-optimise for it. The gap between the agents and the
    oracle along those two sweeps is therefore what a policy trained once loses when the setting moves.

    Each sweep is one task of :func:`greenaolo.tasks.run_tasks` (:func:`sensitivity_points`; a task loads the
    trained models once, so the workers need ``runs_dir`` on their disk).
    """
    from greenaolo.tasks import Task, run_tasks

    runs = load_runs(paths)
    n = int(n_requests or _n_eval(runs))
    algorithms, seeds = [str(a) for a in runs.algorithm.values], [int(s) for s in runs.seed.values]
    methods = ["oracle", *HEURISTICS]
    tasks = [Task(sensitivity_points, {"runs_dir": str(runs_dir), "paths": [str(p) for p in paths], "name": name,
                                       "n_requests": n}) for name in SENSITIVITY]
    results = run_tasks(tasks, scheduler=scheduler, workers=workers, desc="sweeps", progress=progress)
    data: dict[str, tuple] = {}
    coords: dict[str, tuple] = {}
    for (name, (_, values, units, long_name)), result in zip(SENSITIVITY.items(), results):
        dim = f"{name}_value"
        coords[dim] = (dim, list(values), {"units": units, "long_name": long_name})
        for key in _SENSITIVITY_KEYS:
            u = "g" if key == "carbon_g" else "1"
            agent = result[f"agent_{key}"]
            data[f"{name}_ref_{key}"] = (("policy", dim), result[f"ref_{key}"], {"units": u, "long_name": f"reference {key}"})
            data[f"{name}_agent_{key}"] = (("algorithm", "seed", dim), agent, {"units": u, "long_name": f"agent {key}"})
            mean, half = t_interval(agent, axis=1)
            data[f"{name}_agent_{key}_mean"] = (("algorithm", dim), mean, {"units": u, "long_name": f"agent {key}, mean over seeds"})
            data[f"{name}_agent_{key}_ci95"] = (("algorithm", dim), half, {"units": u, "long_name": "95% t half-width"})
    out = xr.Dataset(data, coords={**coords, "policy": methods, "algorithm": algorithms, "seed": seeds})
    out.attrs.update(runs.attrs)
    out.attrs.update(evaluation_requests=n, sweeps=", ".join(SENSITIVITY))
    return out


def _ann_macs(model) -> int:
    """Multiply-accumulates of an MLP actor's deterministic action: every linear layer of the actor but SAC's
    log-std head (SAC: trunk and mean head; TD3 and DDPG: their MLP)."""
    actor = model.policy.actor
    skip = getattr(actor, "log_std", None)
    layers = [m for m in actor.modules() if isinstance(m, torch.nn.Linear) and m is not skip]
    return int(sum(m.in_features * m.out_features for m in layers))


#: The agents the actor energy figure counts: each spiking agent beside its plain twin.
ACTOR_ENERGY_AGENTS = tuple(a for pair in SPIKING_TWINS.items() for a in reversed(pair))


def actor_energy_study(runs_dir: str | Path, paths: Sequence[str | Path], *, n_requests: int | None = None) -> xr.Dataset:
    """Estimated energy of one deterministic actor inference: each plain agent's ANN against its spiking twin's
    SNN (:data:`ACTOR_ENERGY_AGENTS` found in ``paths``: SAC and SDRL, TD3 and PopSAN-TD3, DDPG and PopSAN-DDPG).

    ANN: multiply-accumulates ``sum fan_in * fan_out`` of the actor's layers (SB3's deterministic action needs
    no log-std). SNN, per inference, from the trained PopSAN's spikes on the evaluation
    requests: synaptic accumulates ``sum_t sum_layers spikes_in * fan_out`` (the encoder's spikes feed the
    first layer), neuron updates (two multiply-accumulates per LIF neuron and step: the decays of ``c`` and
    ``v``), the encoder (four operations per receptive field, counted as multiply-accumulates, plus one
    accumulate per field and step) and the decoder (one multiply-accumulate per output neuron). Energies
    use :data:`E_MAC_PJ` and :data:`E_AC_PJ`. This counts arithmetic only, on hardware that skips zero
    inputs; memory access, which dominates on real chips, is left out for both (``docs/aolo.md#a3``: not part of the
    service carbon of the 18.77%).
    """
    runs = load_runs(paths)
    cfg = _config(runs)
    n = int(n_requests or _n_eval(runs))
    obs = torch.as_tensor(observation(evaluation_requests(cfg, n, EVALUATION_SEED), cfg))
    seeds = [int(s) for s in runs.seed.values]
    algorithms = [a for a in ACTOR_ENERGY_AGENTS if a in runs.algorithm.values]
    keys = ("macs", "acs", "energy_pj")
    values = {k: np.full((len(algorithms), len(seeds)), np.nan) for k in keys}
    rates = np.full((len(algorithms), len(seeds), 4), np.nan)
    layer_names = ["encoder", "hidden 1", "hidden 2", "output"]
    for ia, algorithm in enumerate(algorithms):
        for js, seed in enumerate(seeds):
            model = load_model(runs_dir, algorithm, seed, runs.attrs["variant"])
            if algorithm not in SPIKING_TWINS:
                macs, acs = _ann_macs(model), 0.0
            else:
                net = model.policy.actor.mu
                enc, snn = net.encoder, net.snn
                counts = [float(c) / n for c in net.spike_counts(obs)]
                sizes = [enc.obs_dim * enc.pop_dim] + [layer.out_features for layer in snn.layers]
                rates[ia, js] = [c / (size * snn.spike_ts) for c, size in zip(counts, sizes)]
                fan_outs = [layer.out_features for layer in snn.layers]
                synaptic = sum(c * f for c, f in zip(counts[:-1], fan_outs))
                neurons = sum(sizes[1:]) * snn.spike_ts
                encoder_fields = enc.obs_dim * enc.pop_dim
                macs = 2 * neurons + 4 * encoder_fields + sizes[-1]
                acs = synaptic + encoder_fields * snn.spike_ts
            values["macs"][ia, js] = macs
            values["acs"][ia, js] = acs
            values["energy_pj"][ia, js] = macs * E_MAC_PJ + acs * E_AC_PJ
    units = {"macs": ("1", "multiply-accumulates per inference"), "acs": ("1", "accumulates per inference"),
             "energy_pj": ("pJ", "estimated energy per actor inference")}
    data = {k: (("algorithm", "seed"), v, {"units": units[k][0], "long_name": units[k][1]}) for k, v in values.items()}
    for k, v in values.items():
        mean, half = t_interval(v, axis=1)
        data[f"{k}_mean"] = ("algorithm", mean, {"units": units[k][0], "long_name": f"{units[k][1]}, mean over seeds"})
        data[f"{k}_ci95"] = ("algorithm", half, {"units": units[k][0], "long_name": "95% t half-width"})
    data["spike_rate"] = (("algorithm", "seed", "layer"), rates,
                          {"units": "1", "long_name": "PopSAN firing rate (spikes per neuron per time step; NaN for an MLP actor)"})
    out = xr.Dataset(data, coords={"algorithm": algorithms, "seed": seeds, "layer": layer_names})
    out.attrs.update(runs.attrs)
    out.attrs.update(e_mac_pj=E_MAC_PJ, e_ac_pj=E_AC_PJ, evaluation_requests=n,
                     energy_source="M. Horowitz, Computing's energy problem, ISSCC 2014 (45 nm, 32-bit float)")
    return out


def reduction_table(ds: xr.Dataset) -> "pd.DataFrame":
    """:func:`carbon_comparison_study`'s SDRL-against-SAC numbers (%), one row per variant, beside the paper's."""
    import pandas as pd

    variants = [str(v) for v in ds.variant.values] if "variant" in ds.dims else [str(ds.attrs.get("variant", "runs"))]
    rows = []
    for variant in variants:
        cell = ds.sel(variant=variant) if "variant" in ds.dims else ds
        rows.append({"variant": variant, "SDRL reduction vs SAC, mean over seeds": float(cell.reduction_mean) * 100,
                     "95% t half-width": float(cell.reduction_ci95) * 100,
                     "reduction of the mean carbon": float(cell.reduction_of_means) * 100,
                     "paper": float(ds.attrs["paper_reduction"]) * 100, "seeds": ds.sizes["seed"]})
    return pd.DataFrame(rows).set_index("variant").round(2)
