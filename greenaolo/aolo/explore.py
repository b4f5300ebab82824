"""AOLO explorer: one request, the oracle's exact choice, the trained SAC and SDRL agents' choices, and its carbon.

:func:`explore_view` returns one :class:`xarray.Dataset` per request (distance, fading, QoE threshold,
latency budget, carbon intensity): each method's output length kappa, transmit power P_trans, the four
carbon terms of eq. (16) and whether QoE and latency are met, with the carbon against kappa (at the
oracle's P_trans) and against P_trans (at the oracle's kappa). The agents are the trained runs on disk
(:mod:`greenaolo.aolo.runs`), acting deterministically as in the studies; where there are none, the view
says so and shows the oracle only. The notebook ``notebooks/explore_aolo.ipynb`` puts sliders over it;
:func:`greenaolo.aolo.figures.draw_explore` draws it.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.carbon import TERMS
from greenaolo.aolo.evaluation import evaluate
from greenaolo.aolo.oracle import energy_efficient_power, latency_power, oracle, qoe_length
from greenaolo.aolo.requests import Requests
from greenaolo.options import PAPER_ALGORITHMS as ALGORITHMS
from greenaolo.io import ENGINE

if TYPE_CHECKING:
    from greenaolo.aolo.sac import AoloSAC

__all__ = ["FADING_RANGE", "INTENSITY_RANGE", "explore_table", "explore_view", "find_runs", "one_request",
           "request_ranges"]

#: Slider range of the fading power |h|^2 (Exp(1): its 1st percentile is 0.01, 5 is beyond the 99th).
FADING_RANGE = (0.01, 5.0)
#: Carbon intensity range (gCO2e/kWh) when the configuration fixes it (low == high): the sweep's span.
INTENSITY_RANGE = (100.0, 900.0)
#: Per-method outcomes of :func:`greenaolo.aolo.evaluation.evaluate` the view keeps.
OUTCOMES = (*TERMS, "carbon", "kappa", "p_trans", "qoe", "latency", "qoe_ok", "latency_ok")
LABELS = {"sac": "SAC", "sdrl": "SDRL"}


def request_ranges(cfg: AoloConfig | None = None) -> dict[str, tuple[float, float, float]]:
    """Slider ranges ``(low, high, default)`` of a request's fields: distance, fading, QoE threshold and
    latency budget from the configuration's ranges (default their middle; fading 1, its mean); the carbon
    intensity from ``carbon_intensity_low/high``, or :data:`INTENSITY_RANGE` around a fixed value.

    :param cfg: the configuration (default :class:`AoloConfig`).
    """
    cfg = cfg or AoloConfig()

    def middle(low: float, high: float) -> tuple[float, float, float]:
        return float(low), float(high), float(low + high) / 2

    if cfg.carbon_intensity_low < cfg.carbon_intensity_high:
        intensity = middle(cfg.carbon_intensity_low, cfg.carbon_intensity_high)
    else:
        low, high = min(INTENSITY_RANGE[0], cfg.carbon_intensity_low), max(INTENSITY_RANGE[1], cfg.carbon_intensity_high)
        intensity = (low, high, float(cfg.carbon_intensity_low))
    return {
        "distance": middle(cfg.distance_min, cfg.distance_max),
        "fading": (*FADING_RANGE, 1.0),
        "qoe_threshold": middle(cfg.qoe_threshold_low, cfg.qoe_threshold_high),
        "latency_budget": middle(cfg.latency_budget_low, cfg.latency_budget_high),
        "intensity": intensity,
    }


def one_request(distance: float, fading: float, qoe_threshold: float, latency_budget: float,
                intensity: float) -> Requests:
    """A one-request :data:`~greenaolo.aolo.requests.Requests` dict, its gain from eq. (6).

    :param distance: user distance d (m).
    :param fading: Rayleigh fading power |h|^2.
    :param qoe_threshold: QoE threshold Q_th in [0, 1).
    :param latency_budget: latency budget T_max (s).
    :param intensity: carbon intensity I (gCO2e/kWh).
    :raises ValueError: a value out of its physical range (names it).
    """
    values = {"distance": distance, "fading": fading, "qoe_threshold": qoe_threshold,
              "latency_budget": latency_budget, "intensity": intensity}
    for name, value in values.items():
        low_ok = value > 0 if name in ("distance", "fading", "latency_budget") else value >= 0
        if not np.isfinite(value) or not low_ok or (name == "qoe_threshold" and value >= 1):
            raise ValueError(f"{name}={value!r} is out of range")
    request = {name: np.array([float(value)]) for name, value in values.items()}
    request["gain"] = cm.channel_gain(request["distance"], request["fading"])
    return request


_RUN_NAME = re.compile(r"^(?P<algorithm>[a-z0-9]+)_default_seed(?P<seed>\d+)\.nc$")  # the untuned runs


@functools.lru_cache(maxsize=64)
def _run_attrs(path: str, mtime_ns: int) -> dict[str, str]:
    """A run dataset's attributes (cached while the file is unchanged)."""
    with xr.open_dataset(path, engine=ENGINE) as ds:
        return {key: str(ds.attrs.get(key, "")) for key in ("profile", "config", "hyperparams", "algorithm", "seed", "model_sha256")}


def find_runs(runs_dir: str | Path | None, profile: str | None = None) -> tuple[list[tuple[str, int]], str]:
    """The trained runs in ``runs_dir`` (dataset and model both present), as sorted ``(algorithm, seed)``,
    and a one-line note when there are none to show (else ``""``).

    :param runs_dir: folder of the runs (``{algorithm}_default_seed{N}.nc`` and ``.zip``: SAC's and SDRL's
        untuned runs); ``None`` for none.
    :param profile: keep only runs trained with this profile (``None``: any).
    """
    if runs_dir is None:
        return [], "no folder of trained runs given: oracle only"
    if not Path(runs_dir).is_dir():
        return [], f"no trained runs in {runs_dir}: oracle only"
    from greenaolo.aolo.runs import is_pair

    found, other, mismatched = [], set(), set()
    for path in sorted(Path(runs_dir).glob("*_seed*.nc")):
        match = _RUN_NAME.match(path.name)
        if not match or match["algorithm"] not in ALGORITHMS or not path.with_suffix(".zip").is_file():
            continue
        attrs = _run_attrs(str(path), path.stat().st_mtime_ns)
        if not is_pair(path, path.with_suffix(".zip"), attrs):  # a model of another run (a killed write): not shown
            mismatched.add(path.name)
            continue
        if profile is not None and attrs["profile"] != profile:
            other.add(attrs["profile"])
            continue
        found.append((match["algorithm"], int(match["seed"])))
    found.sort(key=lambda run: (ALGORITHMS.index(run[0]), run[1]))
    if found:
        return found, (f"{len(mismatched)} run(s) left out: model and dataset of different runs "
                       f"({', '.join(sorted(mismatched))}); make reproduce retrains them" if mismatched else "")
    if other:
        return [], (f"the runs in {runs_dir} were trained with the {', '.join(sorted(other))} profile, not "
                    f"{profile}: oracle only")
    return [], f"no trained runs in {runs_dir}: oracle only"


@functools.lru_cache(maxsize=32)
def _agent(runs_dir: str, algorithm: str, seed: int, mtime_ns: int) -> tuple[AoloSAC, AoloConfig]:
    """A trained model and the configuration it observes and acts in (its training's: cached while its file is
    unchanged)."""
    from greenaolo.aolo.runs import load_model, recorded_settings, run_paths
    from greenaolo.aolo.training import acting_config

    path, _ = run_paths(runs_dir, algorithm, seed)
    model = load_model(runs_dir, algorithm, seed)
    attrs = _run_attrs(str(path), mtime_ns)
    cfg = AoloConfig.from_dict(json.loads(attrs["config"]))
    return model, acting_config(cfg, recorded_settings(attrs, algorithm))


def _agent_outcomes(runs_dir: str | Path, runs: list[tuple[str, int]], request: Requests,
                    cfg: AoloConfig) -> list[xr.Dataset]:
    """Each run's deterministic action on ``request``, decoded as in its training and evaluated under ``cfg``
    (the studies' own :func:`greenaolo.aolo.studies.agent_outcome`)."""
    from greenaolo.aolo.runs import run_paths
    from greenaolo.aolo.studies import agent_outcome

    out = []
    for algorithm, seed in runs:
        path, model_path = run_paths(runs_dir, algorithm, seed)
        mtime = max(path.stat().st_mtime_ns, model_path.stat().st_mtime_ns)
        model, train_cfg = _agent(str(runs_dir), algorithm, seed, mtime)
        out.append(agent_outcome(model, request, cfg, train_cfg))
    return out


def explore_view(
    distance: float,
    fading: float,
    qoe_threshold: float,
    latency_budget: float,
    intensity: float,
    *,
    runs_dir: str | Path | None = None,
    profile: str | None = None,
    config: AoloConfig | None = None,
    n_grid: int = 200,
) -> xr.Dataset:
    """One request: the oracle's and every trained agent's choice and carbon, and the carbon around them.

    :param distance: user distance d (m).
    :param fading: Rayleigh fading power |h|^2.
    :param qoe_threshold: QoE threshold Q_th.
    :param latency_budget: latency budget T_max (s).
    :param intensity: carbon intensity I (gCO2e/kWh).
    :param runs_dir: folder of the trained runs; ``None`` or a folder without runs shows the oracle only.
    :param profile: show only runs trained with this profile (``None``: any).
    :param config: the configuration the request is evaluated under (default :class:`AoloConfig`); each
        agent observes and decodes with the configuration it was trained with.
    :param n_grid: points of the carbon-against-P_trans curve.
    :returns: Dataset with, on ``policy`` (``oracle``, then ``SAC seed N``, ``SDRL seed N``; coordinates
        ``algorithm`` and ``seed``, -1 for the oracle), the outcomes of
        :func:`greenaolo.aolo.evaluation.evaluate`; ``carbon_vs_kappa`` with ``qoe_ok_vs_kappa`` and
        ``latency_ok_vs_kappa`` on ``kappa_grid`` (at the oracle's P_trans), ``carbon_vs_power`` with
        ``latency_ok_vs_power`` on ``power_grid`` (at the oracle's kappa); the scalars ``gain``, ``p_ee``,
        ``p_lat`` and ``kappa_qoe``; attributes ``runs_message`` (one line on why no agent is shown,
        ``""`` when some are), ``status`` (one line: what is shown), ``runs_dir``, ``config`` and the request.
    """
    cfg = config or AoloConfig()
    request = one_request(distance, fading, qoe_threshold, latency_budget, intensity)
    kappa, power = oracle(request, cfg)
    outcomes = [evaluate(kappa, power, request, cfg, method="oracle")]
    runs, message = find_runs(runs_dir, profile)
    outcomes += _agent_outcomes(runs_dir, runs, request, cfg) if runs else []
    names = ["oracle", *(f"{LABELS[a]} seed {s}" for a, s in runs)]
    per_method = {
        name: ("policy", [float(ds[name].values[0]) for ds in outcomes], outcomes[0][name].attrs) for name in OUTCOMES
    }

    gain, k_star, p_star = request["gain"][0], float(kappa[0]), float(power[0])
    kappa_grid = np.arange(cfg.kappa_min, cfg.kappa_max + 1, dtype=float)
    power_grid = np.geomspace(cfg.p_min, cfg.p_max, int(n_grid))
    on_kappa = cm.latency(kappa_grid, p_star, gain, cfg)
    on_power = cm.latency(k_star, power_grid, gain, cfg)
    ds = xr.Dataset(
        {
            **per_method,
            "carbon_vs_kappa": ("kappa_grid", cm.carbon(kappa_grid, p_star, gain, intensity, cfg).total,
                                {"units": "g", "long_name": "carbon C_all (CO2e) at the oracle's P_trans"}),
            "qoe_ok_vs_kappa": ("kappa_grid", cm.meets_qoe(cm.qoe(kappa_grid, cfg), qoe_threshold).astype(np.int8),
                                {"units": "1", "long_name": "QoE constraint met"}),
            "latency_ok_vs_kappa": ("kappa_grid", cm.meets_latency(on_kappa, latency_budget).astype(np.int8),
                                    {"units": "1", "long_name": "latency constraint met at the oracle's P_trans"}),
            "carbon_vs_power": ("power_grid", cm.carbon(k_star, power_grid, gain, intensity, cfg).total,
                                {"units": "g", "long_name": "carbon C_all (CO2e) at the oracle's kappa"}),
            "latency_ok_vs_power": ("power_grid", cm.meets_latency(on_power, latency_budget).astype(np.int8),
                                    {"units": "1", "long_name": "latency constraint met at the oracle's kappa"}),
            "gain": ((), float(gain), {"units": "1", "long_name": "channel power gain g (eq. 6)"}),
            "p_ee": ((), float(energy_efficient_power(gain, intensity, cfg)),
                     {"units": "W", "long_name": "energy-per-bit optimal power P_ee"}),
            "p_lat": ((), float(latency_power(k_star, gain, latency_budget, cfg)),
                      {"units": "W", "long_name": "least power meeting the latency budget P_lat (inf: none)"}),
            "kappa_qoe": ((), float(qoe_length(qoe_threshold, cfg)),
                          {"units": "1", "long_name": "shortest output meeting QoE (words)"}),
        },
        coords={
            "policy": ("policy", names),
            "algorithm": ("policy", ["oracle", *(a for a, _ in runs)]),
            "seed": ("policy", [-1, *(s for _, s in runs)]),
            "kappa_grid": ("kappa_grid", kappa_grid, {"units": "1", "long_name": "output length kappa (words)"}),
            "power_grid": ("power_grid", power_grid, {"units": "W", "long_name": "transmit power P_trans"}),
        },
    )
    seeds = {a: [s for b, s in runs if b == a] for a in ALGORITHMS}
    shown = ", ".join(f"{LABELS[a]} seed{'s' * (len(s) > 1)} {', '.join(map(str, s))}" for a, s in seeds.items() if s)
    ds.attrs.update(
        runs_message=message, status=(f"oracle, {shown} from {runs_dir}" + (f"; {message}" if message else "")) if runs else message, runs_dir=str(runs_dir or ""), config=cfg.to_json(), distance=float(distance),
        fading=float(fading), qoe_threshold=float(qoe_threshold), latency_budget=float(latency_budget),
        intensity=float(intensity),
    )
    return ds


def explore_table(view: xr.Dataset) -> pd.DataFrame:
    """The view's methods as a table: kappa, P_trans, the four terms and their total (gCO2e), QoE and
    latency with whether each is met, one row per policy.

    :param view: a Dataset of :func:`explore_view`.
    """
    columns = {"kappa": "kappa (words)", "p_trans": "P_trans (W)", **TERMS, "carbon": "C_all (gCO2e)",
               "qoe": "QoE", "qoe_ok": "QoE met", "latency": "latency (s)", "latency_ok": "latency met"}
    table = pd.DataFrame({label: view[name].values for name, label in columns.items()},
                         index=pd.Index(view.policy.values, name="policy"))
    for flag in ("QoE met", "latency met"):
        table[flag] = table[flag].astype(bool)
    return table.round({"P_trans (W)": 3, **dict.fromkeys(TERMS.values(), 5), "C_all (gCO2e)": 5, "QoE": 3,
                        "latency (s)": 2})
