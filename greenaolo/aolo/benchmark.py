"""The AOLO agent benchmark: every agent, default and tuned, against the oracle, with few-run statistics; and
what the tuning studies say of the published 18.77%.

:func:`benchmark_study` reads the trained runs (``runs.load_runs``, one variant at a time) and reports per
agent and variant the interquartile mean (IQM) and the mean of the gap to the oracle over seeds, each with
a 95% percentile-bootstrap interval (:mod:`greenaolo.aolo.statistics`), violation rates, performance
profiles of the per-request gap, SDRL's reduction against SAC (``1 - IQM(C_SDRL) / IQM(C_SAC)``) and the
probability that an SDRL run beats a SAC run. :func:`tuning_study` reads the Optuna studies
(:mod:`greenaolo.aolo.tuning`): each trial, the best value so far, the parameters' importances, and the
fraction of one agent's configurations whose carbon would make the other, tuned, look 18.77% better
(``docs/aolo.md#tuning``).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from greenaolo.aolo import carbon as cm
from greenaolo.aolo.config import PAPER_REDUCTION, AoloConfig
from greenaolo.aolo.evaluation import evaluate, evaluate_oracle, gap_to_oracle
from greenaolo.aolo.heuristics import HEURISTICS, POLICIES, policy_rng
from greenaolo.aolo.oracle import best_power, oracle
from greenaolo.aolo.requests import Requests, evaluation_requests
from greenaolo.aolo.runs import load_runs, run_paths
from greenaolo.aolo.statistics import bootstrap_interval, iqm, probability_of_improvement, proportion_interval, run_profile
from greenaolo.io import read_dataset
from greenaolo.options import ALGORITHMS, EVALUATION_SEED, SPIKING_TWINS, VARIANTS

__all__ = ["GAP_THRESHOLDS", "ablation_variants", "benchmark_study", "benchmark_table", "explains_table", "gap_parts", "per_request_gap",
           "spiking_table", "tuned_reference_gaps", "tuning_study"]

#: The thresholds of the performance profiles: the per-request relative gap to the oracle.
GAP_THRESHOLDS = np.round(np.linspace(0.0, 0.5, 51), 4)


def per_request_gap(run: xr.Dataset, oracle_carbon: np.ndarray) -> np.ndarray:
    """Each evaluation request's relative carbon gap to the oracle, ``C / C* - 1``; a request whose QoE or
    latency constraint the run violated gets ``+inf`` (it never counts as within a threshold: its lower
    carbon is not an answer the service may give)."""
    gap = gap_to_oracle(run.carbon.values, oracle_carbon)
    ok = (run.qoe_ok.values == 1) & (run.latency_ok.values == 1)
    return np.where(ok, gap, np.inf)


def gap_parts(kappa, p_trans, requests: Requests, cfg: AoloConfig) -> dict[str, float]:
    """Where a policy's carbon gap to the oracle comes from, on ``requests``: ``length``, the gap its answer
    lengths would leave at the best power for them (:func:`~greenaolo.aolo.oracle.best_power`), and
    ``power``, the rest (its power against the best for its lengths); both relative to the oracle's mean
    carbon, so they add up to the gap. ``excess_words``: the mean answer length above the oracle's."""
    kappa, p_trans = np.asarray(kappa, float), np.asarray(p_trans, float)
    kappa_best, p_best = oracle(requests, cfg)
    gain, intensity = requests["gain"], requests["intensity"]
    c_best = cm.carbon(kappa_best, p_best, gain, intensity, cfg).total.mean()
    c_length = cm.carbon(kappa, best_power(kappa, requests, cfg), gain, intensity, cfg).total.mean()
    c_policy = cm.carbon(kappa, p_trans, gain, intensity, cfg).total.mean()
    return {"length": float(c_length / c_best - 1.0), "power": float((c_policy - c_length) / c_best),
            "excess_words": float(np.mean(kappa - kappa_best))}


def _runs_by_variant(paths: dict[str, Sequence[str | Path]]) -> dict[str, xr.Dataset]:
    out = {}
    for variant, files in paths.items():
        if variant not in VARIANTS:
            raise ValueError(f"variant={variant!r} is unknown: expected one of {VARIANTS}")
        if files:
            out[variant] = load_runs(files)
    if not out:
        raise ValueError("no runs given")
    return out


def benchmark_study(paths: dict[str, Sequence[str | Path]], *, n_bootstrap: int = 2000, seed: int = 0) -> xr.Dataset:
    """Every agent of every variant on the fixed evaluation requests, with IQMs, bootstrap intervals,
    performance profiles, violation rates and each spiking agent against its plain twin.

    :param paths: ``{"default": [...], "tuned": [...]}``: each variant's run datasets (every agent with the
        same seeds, trained with one profile).
    :param n_bootstrap: bootstrap resamples per interval.
    :param seed: seed of the bootstrap resampling.
    """
    runs = _runs_by_variant(paths)
    variants = [v for v in VARIANTS if v in runs]
    first = runs[variants[0]]
    for key in ("profile", "gradient_updates", "config"):
        values = {v: runs[v].attrs.get(key) for v in variants}
        if len({json.dumps(x, sort_keys=True, default=str) for x in values.values()}) != 1 or None in values.values():
            raise ValueError(f"the variants' runs differ in {key} ({', '.join(values)}): train them with one profile "
                             "and one environment configuration")
    cfg = AoloConfig.from_dict(json.loads(first.attrs["config"]))
    algorithms = [a for a in ALGORITHMS if all(a in r.algorithm.values for r in runs.values())]
    seeds = sorted(set.intersection(*(set(int(s) for s in r.seed.values) for r in runs.values())))
    if len(seeds) < 2:
        raise ValueError(f"every variant needs the same seeds, at least two; they share {seeds}")
    n_eval = int(first.attrs["n_eval"])
    requests = evaluation_requests(cfg, n_eval, EVALUATION_SEED)
    best = evaluate_oracle(requests, cfg)
    shape = (len(variants), len(algorithms), len(seeds))
    per_run = {k: np.full(shape, np.nan) for k in ("carbon_g", "gap_to_oracle", "qoe_violation_rate",
                                                   "latency_violation_rate", "steps_per_second", "train_seconds",
                                                   "length_gap", "power_gap", "excess_words")}
    profile = np.full((*shape, len(GAP_THRESHOLDS)), np.nan)
    files = {(v, Path(p).name): p for v in variants for p in paths[v]}
    for iv, variant in enumerate(variants):
        r = runs[variant]
        for ia, algorithm in enumerate(algorithms):
            for js, s in enumerate(seeds):
                cell = r.sel(algorithm=algorithm, seed=s)
                for key in ("carbon_g", "gap_to_oracle", "qoe_violation_rate", "latency_violation_rate",
                            "steps_per_second", "train_seconds"):
                    per_run[key][iv, ia, js] = float(cell[key])
                run = read_dataset(files[(variant, run_paths("", algorithm, s, variant)[0].name)])
                profile[iv, ia, js] = run_profile(per_request_gap(run, best.carbon.values), GAP_THRESHOLDS)
                parts = gap_parts(run.kappa.values, run.p_trans.values, requests, cfg)
                per_run["length_gap"][iv, ia, js] = parts["length"]
                per_run["power_gap"][iv, ia, js] = parts["power"]
                per_run["excess_words"][iv, ia, js] = parts["excess_words"]
    dims = ("variant", "agent", "seed")
    coords = {"variant": variants, "agent": algorithms, "seed": seeds, "tau": GAP_THRESHOLDS}
    units = {"carbon_g": ("g", "mean carbon (CO2e) per request"), "gap_to_oracle": ("1", "relative carbon gap to the oracle"),
             "qoe_violation_rate": ("1", "QoE violation rate"), "latency_violation_rate": ("1", "latency violation rate"),
             "steps_per_second": ("s-1", "training environment steps per second"),
             "train_seconds": ("s", "training wall time"),
             "length_gap": ("1", "gap to the oracle left by the answer lengths at the best power for them"),
             "power_gap": ("1", "gap to the oracle from the power, against the best for the answer lengths"),
             "excess_words": ("1", "mean answer length above the oracle's (words)")}
    out = xr.Dataset(coords=coords)
    out["tau"].attrs.update(units="1", long_name="threshold on the per-request gap to the oracle")
    for key, values in per_run.items():
        out[key] = (dims, values, {"units": units[key][0], "long_name": units[key][1]})
    out["profile"] = ((*dims, "tau"), profile, {"units": "1", "long_name": "fraction of requests within tau of the oracle"})

    def summarise(name: str, values: np.ndarray, statistic, label: str) -> None:
        point = statistic(values, axis=-1)
        ci = np.array([[bootstrap_interval(statistic, row, n_resamples=n_bootstrap, seed=seed) for row in per_variant]
                       for per_variant in values])
        u, ln = units.get(name.split("_", 1)[1], ("1", name))
        out[name] = (("variant", "agent"), point, {"units": u, "long_name": f"{label} of the {ln} over seeds"})
        out[f"{name}_low"] = (("variant", "agent"), ci[..., 0], {"units": u, "long_name": "95% bootstrap interval, low"})
        out[f"{name}_high"] = (("variant", "agent"), ci[..., 1], {"units": u, "long_name": "95% bootstrap interval, high"})

    summarise("iqm_gap_to_oracle", per_run["gap_to_oracle"], iqm, "IQM")
    summarise("mean_gap_to_oracle", per_run["gap_to_oracle"], np.mean, "mean")
    summarise("iqm_carbon_g", per_run["carbon_g"], iqm, "IQM")
    for key in ("length_gap", "power_gap", "excess_words"):
        summarise(f"mean_{key}", per_run[key], np.mean, "mean")
    for key in ("qoe_violation_rate", "latency_violation_rate"):
        summarise(f"mean_{key}", per_run[key], np.mean, "mean")
    # Performance profiles: the mean over runs, with a bootstrap band over runs at each threshold.
    out["profile_mean"] = (("variant", "agent", "tau"), profile.mean(axis=2),
                           {"units": "1", "long_name": "fraction of requests within tau of the oracle, mean over seeds"})
    band = np.empty((*profile.shape[:2], len(GAP_THRESHOLDS), 2))
    for iv in range(len(variants)):
        for ia in range(len(algorithms)):
            for k in range(len(GAP_THRESHOLDS)):
                band[iv, ia, k] = bootstrap_interval(np.mean, profile[iv, ia, :, k], n_resamples=n_bootstrap // 4, seed=seed)
    out["profile_low"] = (("variant", "agent", "tau"), band[..., 0], {"units": "1", "long_name": "95% bootstrap band, low"})
    out["profile_high"] = (("variant", "agent", "tau"), band[..., 1], {"units": "1", "long_name": "95% bootstrap band, high"})
    # Each spiking agent against its plain twin (SDRL against SAC: the paper's claim), per variant.
    pairs = [(spiking, plain) for spiking, plain in SPIKING_TWINS.items() if {spiking, plain} <= set(algorithms)]
    if pairs:

        def reduction(c_spiking, c_plain, axis=-1):
            return 1.0 - iqm(c_spiking, axis) / iqm(c_plain, axis)

        shape = (len(variants), len(pairs))
        red, poi = np.empty(shape), np.empty(shape)
        red_ci, poi_ci = np.empty((*shape, 2)), np.empty((*shape, 2))
        for iv in range(len(variants)):
            for ip, (spiking, plain) in enumerate(pairs):
                c_spiking = per_run["carbon_g"][iv, algorithms.index(spiking)]
                c_plain = per_run["carbon_g"][iv, algorithms.index(plain)]
                red[iv, ip] = reduction(c_spiking, c_plain)
                red_ci[iv, ip] = bootstrap_interval(reduction, c_spiking, c_plain, n_resamples=n_bootstrap, seed=seed)
                poi[iv, ip] = probability_of_improvement(c_spiking, c_plain)
                poi_ci[iv, ip] = bootstrap_interval(probability_of_improvement, c_spiking, c_plain,
                                                    n_resamples=n_bootstrap, seed=seed)
        out = out.assign_coords(spiking=[p[0] for p in pairs])
        out["spiking"].attrs.update(long_name="agent with a spiking (PopSAN) actor")
        out["twin"] = ("spiking", [p[1] for p in pairs], {"long_name": "its twin with a plain MLP actor"})
        dims = ("variant", "spiking")
        out["spiking_reduction"] = (dims, red, {"units": "1", "long_name": "1 - IQM(C_spiking) / IQM(C_twin)"})
        out["spiking_reduction_low"] = (dims, red_ci[..., 0], {"units": "1", "long_name": "95% bootstrap interval, low"})
        out["spiking_reduction_high"] = (dims, red_ci[..., 1], {"units": "1", "long_name": "95% bootstrap interval, high"})
        out["spiking_improvement_probability"] = (dims, poi, {"units": "1",
                                                              "long_name": "P(a spiking run emits less than a twin's run)"})
        out["spiking_improvement_probability_low"] = (dims, poi_ci[..., 0], {"units": "1", "long_name": "95% bootstrap interval, low"})
        out["spiking_improvement_probability_high"] = (dims, poi_ci[..., 1], {"units": "1", "long_name": "95% bootstrap interval, high"})
    # The oracle and the heuristics on the same requests.
    policies = list(POLICIES)
    ref = [evaluate(*POLICIES[name](requests, cfg, policy_rng(EVALUATION_SEED)), requests, cfg, method=name)
           for name in policies]
    out = out.assign_coords(policy=policies)
    out["ref_carbon_g"] = ("policy", [float(d.carbon_g) for d in ref], {"units": "g", "long_name": "mean carbon (CO2e) per request"})
    out["ref_gap_to_oracle"] = ("policy", [gap_to_oracle(d.carbon_g, best.carbon_g) for d in ref],
                                {"units": "1", "long_name": "relative carbon gap to the oracle"})
    out["ref_qoe_violation_rate"] = ("policy", [float(d.qoe_violation_rate) for d in ref], {"units": "1", "long_name": "QoE violation rate"})
    out["ref_latency_violation_rate"] = ("policy", [float(d.latency_violation_rate) for d in ref],
                                         {"units": "1", "long_name": "latency violation rate"})
    out.attrs.update(profile=first.attrs["profile"], gradient_updates=int(first.attrs["gradient_updates"]),
                     config=first.attrs["config"], evaluation_requests=n_eval, evaluation_seed=EVALUATION_SEED,
                     n_bootstrap=n_bootstrap, bootstrap_seed=seed, paper_reduction=PAPER_REDUCTION,
                     heuristics=", ".join(HEURISTICS),
                     statistics="IQM = trim_mean(0.25); percentile bootstrap over seeds, each agent resampled on its own "
                                "(scipy.stats.bootstrap; rliable does not import with pandas 3)")
    for variant in variants:
        out.attrs[f"hyperparams_{variant}"] = runs[variant].attrs.get("hyperparams", "")
    return out


def tuning_study(storage_dir: str | Path, algorithms: Sequence[str] | None = None, *, trials: int | None = None,
                 reference_gap: dict[str, float] | None = None, reference_source: str = "best trial") -> xr.Dataset:
    """The tuning studies as data: each finished trial's state, validation cost, carbon gap to the oracle
    and violation rates; the best cost so far; each parameter's importance (Optuna's PED-ANOVA, on complete
    trials); and the 18.77% question.

    "Could tuning explain 18.77%?": a SAC configuration would show SDRL's published reduction if
    ``1 - (1 + g_SDRL) / (1 + g_i) >= 0.1877``, with ``g_i`` its validation gap to the oracle and ``g_SDRL``
    tuned SDRL's (``reference_gap["sdrl"]``: the tuned runs' IQM on the evaluation requests when given, else
    the best trial's); likewise an SDRL configuration against tuned SAC. Gaps to the oracle make the two
    request sets comparable. The fraction is over complete trials, with its exact (Clopper-Pearson) interval;
    pruned configurations (stopped for being worse than the median so far) are reported apart, as the
    fraction's range if all or none of them would qualify.

    :param algorithms: the studies to read (default: every algorithm with a journal in ``storage_dir``).
    :param trials: the first ``trials`` finished trials of each study (default: each study's own budget, the
        ``trials`` its last ``tune`` asked for; the same for every algorithm keeps the budgets equal).
    :raises FileNotFoundError: no study in ``storage_dir`` (or one of ``algorithms`` missing).
    """
    import optuna

    from greenaolo.aolo.tuning import best_trial, journal_path, load_study, study_trials

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if algorithms is None:
        algorithms = [a for a in ALGORITHMS if journal_path(storage_dir, a).is_file()]
        if not algorithms:
            raise FileNotFoundError(f"no tuning study in {storage_dir}: run `make tune` (or `greenaolo aolo tune ALGORITHM`)")
    algorithms = list(algorithms)
    studies = {a: load_study(storage_dir, a) for a in algorithms}
    limits = {a: trials or s.user_attrs.get("trials") for a, s in studies.items()}
    records = {a: study_trials(s, limits[a]) for a, s in studies.items()}
    for a, r in records.items():
        if trials is None and limits[a] and len(r) < int(limits[a]):
            # A journal cut at a line boundary still parses: it is the study's own budget that shows it is short.
            raise ValueError(
                f"{journal_path(storage_dir, a)}: {len(r)} finished trials, but the study asked for {limits[a]}: an "
                f"interrupted `make tune` or a truncated file; run `greenaolo aolo tune {a}` to finish it, or "
                "choose how many trials to read (trials=N)")
    n = max(len(r) for r in records.values())
    shape = (len(algorithms), n)
    fields = {"value": np.full(shape, np.nan), "gap_to_oracle": np.full(shape, np.nan),
              "qoe_violation_rate": np.full(shape, np.nan), "latency_violation_rate": np.full(shape, np.nan),
              "steps_per_second": np.full(shape, np.nan), "last_step": np.full(shape, np.nan)}
    state = np.full(shape, "", dtype=object)
    for ia, a in enumerate(algorithms):
        for j, r in enumerate(records[a]):
            for key in fields:
                fields[key][ia, j] = getattr(r, key)
            state[ia, j] = r.state
    out = xr.Dataset(coords={"algorithm": list(algorithms), "trial": np.arange(n)})
    out["trial"].attrs.update(units="1", long_name="trial, in the order it finished")
    labels = {"value": ("1", "validation cost (-mean reward)"), "gap_to_oracle": ("1", "validation carbon gap to the oracle"),
              "qoe_violation_rate": ("1", "validation QoE violation rate"),
              "latency_violation_rate": ("1", "validation latency violation rate"),
              "steps_per_second": ("s-1", "training environment steps per second"),
              "last_step": ("1", "last environment step trained (pruned trials stop early)")}
    for key, values in fields.items():
        out[f"trial_{key}"] = (("algorithm", "trial"), values, {"units": labels[key][0], "long_name": labels[key][1]})
    out["trial_state"] = (("algorithm", "trial"), state.astype(str), {"long_name": "complete or pruned"})
    complete = state == "complete"
    best_so_far = np.where(complete, fields["value"], np.inf)
    best_so_far = np.minimum.accumulate(best_so_far, axis=1)
    out["best_value_so_far"] = (("algorithm", "trial"), np.where(np.isfinite(best_so_far), best_so_far, np.nan),
                                {"units": "1", "long_name": "best validation cost of the complete trials so far"})
    # Importances (PED-ANOVA, built into Optuna, on the complete trials of each study), over the union of parameter names.
    importances: dict[str, dict[str, float]] = {}
    for a, s in studies.items():
        kept = [t for t in sorted(s.trials, key=lambda t: t.number) if t.state.name in ("COMPLETE", "PRUNED")][:limits[a]]
        done = optuna.create_study(direction="minimize")
        done.add_trials([t for t in kept if t.state.name == "COMPLETE"])
        try:
            importances[a] = optuna.importance.get_param_importances(
                done, evaluator=optuna.importance.PedAnovaImportanceEvaluator())
        except (ValueError, RuntimeError):  # too few trials, or a single configuration
            importances[a] = {}
    params = sorted({p for imp in importances.values() for p in imp})
    out = out.assign_coords(parameter=params)
    out["importance"] = (("algorithm", "parameter"),
                         np.array([[importances[a].get(p, np.nan) for p in params] for a in algorithms]).reshape(len(algorithms), len(params)),
                         {"units": "1", "long_name": "PED-ANOVA importance of the parameter to the validation cost (Optuna)"})
    # Best trial of each study, and the 18.77% question.
    best = {a: best_trial(studies[a], limits[a]) for a in algorithms}
    out["best_gap_to_oracle"] = ("algorithm", [float(best[a].user_attrs["gap_to_oracle"]) for a in algorithms],
                                 {"units": "1", "long_name": "best trial's validation carbon gap to the oracle"})
    reference = dict(reference_gap or {})
    for a in algorithms:
        reference.setdefault(a, float(best[a].user_attrs["gap_to_oracle"]))
    out["reference_gap"] = ("algorithm", [reference[a] for a in algorithms],
                            {"units": "1", "long_name": f"tuned agent's carbon gap to the oracle ({reference_source})"})
    if {"sac", "sdrl"} <= set(algorithms):
        pairs = (("sac", "sdrl"), ("sdrl", "sac"))  # (configurations of, against the tuned)
        for config_of, tuned in pairs:
            ia = algorithms.index(config_of)
            gaps = fields["gap_to_oracle"][ia][complete[ia]]
            shows = 1.0 - (1.0 + reference[tuned]) / (1.0 + gaps) >= PAPER_REDUCTION
            k, m = int(shows.sum()), int(gaps.size)
            pruned = int((state[ia] == "pruned").sum())
            low, high = proportion_interval(k, m)
            name = f"{config_of}_configs_above_tuned_{tuned}"
            out[name] = ((), k / m if m else np.nan,
                         {"units": "1", "long_name": f"fraction of complete {config_of.upper()} trials whose carbon would "
                                                     f"make tuned {tuned.upper()} look 18.77% better"})
            out[f"{name}_low"] = ((), low, {"units": "1", "long_name": "95% Clopper-Pearson interval, low"})
            out[f"{name}_high"] = ((), high, {"units": "1", "long_name": "95% Clopper-Pearson interval, high"})
            out[f"{name}_count"] = ((), k, {"units": "1", "long_name": "complete trials that would"})
            out[f"{name}_complete"] = ((), m, {"units": "1", "long_name": "complete trials"})
            out[f"{name}_pruned"] = ((), pruned, {"units": "1", "long_name": "pruned trials (not counted)"})
            # Pruned configurations were stopped for being worse than the median so far: counted as none or all
            # qualifying, they bound the fraction over every finished trial.
            out[f"{name}_range_low"] = ((), k / (m + pruned) if m + pruned else np.nan,
                                        {"units": "1", "long_name": "fraction over every finished trial, no pruned one qualifying"})
            out[f"{name}_range_high"] = ((), (k + pruned) / (m + pruned) if m + pruned else np.nan,
                                         {"units": "1", "long_name": "fraction over every finished trial, every pruned one qualifying"})
            out[f"{name}_threshold_gap"] = ((), (1.0 + reference[tuned]) / (1.0 - PAPER_REDUCTION) - 1.0,
                                            {"units": "1", "long_name": "gap to the oracle at or above which a configuration would"})
        draws = Path(storage_dir) / RANDOM_DRAWS
        if journal_path(draws, "sac").is_file():
            out = out.merge(random_draw_shares(load_study(draws, "sac"), reference["sdrl"]))
    first = studies[algorithms[0]].user_attrs
    out.attrs.update(paper_reduction=PAPER_REDUCTION, reference_source=reference_source,
                     budget=json.dumps(first.get("budget", {}), sort_keys=True), tuning_profile=str(first.get("profile", "")),
                     validation_seed=int(first.get("validation_seed", -1)),
                     trials_per_algorithm=json.dumps({a: len(records[a]) for a in algorithms}),
                     wall_seconds=json.dumps({a: round(float(studies[a].user_attrs.get("wall_seconds", np.nan)), 1)
                                              for a in algorithms}))
    return out


#: Where, beside the tuning studies, the random draws of SAC configurations live (a study of its own).
RANDOM_DRAWS = "random"
#: The violation bound of a qualifying draw: QoE and latency violation rates at most this (the tuned agents').
VIOLATION_BOUND = 0.01
#: Learning-rate ranges the share of qualifying draws is given over: the draws that fall in each are a random
#: sample of it (a log-uniform draw restricted to a sub-range is log-uniform on it).
LEARNING_RATE_RANGES = {"the study's, 1e-5 to 3e-3": (1e-5, 3e-3), "narrower, 1e-4 to 3e-3": (1e-4, 3e-3),
                        "wider, 1e-6 to 1e-2": (1e-6, 1e-2)}


def random_draw_shares(study, reference_gap: float) -> xr.Dataset:
    """The 18.77% question over independent random draws of SAC configurations (``greenaolo aolo tune sac
    --random-learning-rate``): the share whose validation gap to the oracle would make tuned SDRL (gap
    ``reference_gap``) look 18.77% better, counting only draws within :data:`VIOLATION_BOUND`, with its
    Clopper-Pearson interval, per learning-rate range (:data:`LEARNING_RATE_RANGES`)."""
    from greenaolo.aolo.tuning import study_trials

    records = [r for r in study_trials(study) if r.state == "complete"]
    lr = np.array([r.params["learning_rate"] for r in records])
    gap = np.array([r.gap_to_oracle for r in records])
    calm = np.array([max(r.qoe_violation_rate, r.latency_violation_rate) <= VIOLATION_BOUND for r in records])
    threshold = (1.0 + reference_gap) / (1.0 - PAPER_REDUCTION) - 1.0
    shows = (gap >= threshold) & calm
    names = list(LEARNING_RATE_RANGES)
    values = {key: [] for key in ("share", "low", "high", "count", "draws", "violating")}
    for name in names:
        low, high = LEARNING_RATE_RANGES[name]
        inside = (lr >= low) & (lr <= high)
        k, m = int(shows[inside].sum()), int(inside.sum())
        lo, hi = proportion_interval(k, m)
        values["share"].append(k / m if m else np.nan)
        values["low"].append(lo)
        values["high"].append(hi)
        values["count"].append(k)
        values["draws"].append(m)
        values["violating"].append(int((inside & ~calm & (gap >= threshold)).sum()))
    labels = {"share": "share of random SAC draws that would make tuned SDRL look 18.77% better (within the violation bound)",
              "low": "95% Clopper-Pearson interval, low", "high": "95% Clopper-Pearson interval, high",
              "count": "draws that would", "draws": "draws in the learning-rate range",
              "violating": "draws above the gap but outside the violation bound (not counted)"}
    ds = xr.Dataset({f"random_sac_{key}": ("lr_range", np.array(v, float), {"units": "1", "long_name": labels[key]})
                     for key, v in values.items()}, coords={"lr_range": names})
    ds["random_sac_threshold_gap"] = ((), threshold, {"units": "1", "long_name": "gap to the oracle a draw must reach"})
    ds["random_sac_violation_bound"] = ((), VIOLATION_BOUND, {"units": "1", "long_name": "violation bound of a qualifying draw"})
    return ds


def ablation_variants(s: dict) -> dict[str, dict]:
    """The ablation of an agent's tuned settings ``s``: ``"tuned"``, then one variant per option the tuning
    spaces added for reaching the oracle (issue 29) that the agent has, with that option alone switched the
    other way: one gradient step per
    environment step where the tuned settings take more or fewer, four where they take one; the learning rate
    constant where it anneals, annealed to 0.1 of itself where constant; the exploration noise (TD3, DDPG)
    constant where it anneals, annealed to 0 where constant; the other answer range. Each variant is named
    "<option> on" or "<option> off" (what it is, not what it changed from)."""
    out = {"tuned": copy.deepcopy(s)}

    def variant(option: str, on: bool, **changes) -> None:
        v = copy.deepcopy(s)
        for key, value in changes.items():
            if value is None:
                v.pop(key, None)
            else:
                v[key] = value
        out[f"{option} {'on' if on else 'off'}"] = v

    if "train_freq" in s:  # off-policy
        one = int(s["gradient_steps"]) == int(s["train_freq"])
        variant("updates per step", one, gradient_steps=4 * int(s["train_freq"]) if one else int(s["train_freq"]))
    constant = float(s.get("learning_rate_final", 1.0)) == 1.0
    variant("annealed learning rate", constant, learning_rate_final=0.1 if constant else None)
    if "action_noise_std" in s:
        steady = "action_noise_final" not in s
        variant("annealed noise", steady, action_noise_final=0.0 if steady else None, action_noise_decay_steps=None)
    useful = bool(s.get("useful_kappa_range", False))
    variant("useful answer range", not useful, useful_kappa_range=not useful)
    return out


def tuned_reference_gaps(paths: Sequence[str | Path]) -> dict[str, float]:
    """Each algorithm's gap to the oracle over its (tuned) runs: the IQM over seeds, the reference of
    :func:`tuning_study`'s 18.77% question."""
    runs = load_runs(paths)
    return {str(a): float(iqm(runs.gap_to_oracle.sel(algorithm=a).values)) for a in runs.algorithm.values}


def benchmark_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per (agent, variant) of :func:`benchmark_study`'s dataset: the gap to the oracle (IQM and mean
    with their 95% intervals, %), the mean gap's two parts (:func:`gap_parts`, %) and the mean answer length
    above the oracle's, violation rates (%) and training steps per second (median over seeds); then the oracle
    and the heuristics."""
    rows = []
    for variant in ds.variant.values:
        for agent in ds.agent.values:
            cell = ds.sel(variant=variant, agent=agent)
            rows.append({
                "method": f"{agent} ({variant})",
                "gap IQM %": float(cell.iqm_gap_to_oracle) * 100,
                "IQM 95% interval %": f"[{float(cell.iqm_gap_to_oracle_low) * 100:.2f}, {float(cell.iqm_gap_to_oracle_high) * 100:.2f}]",
                "gap mean %": float(cell.mean_gap_to_oracle) * 100,
                "mean 95% interval %": f"[{float(cell.mean_gap_to_oracle_low) * 100:.2f}, {float(cell.mean_gap_to_oracle_high) * 100:.2f}]",
                "QoE violations %": float(cell.mean_qoe_violation_rate) * 100,
                "latency violations %": float(cell.mean_latency_violation_rate) * 100,
                "of it: length %": float(cell.mean_length_gap) * 100,
                "of it: power %": float(cell.mean_power_gap) * 100,
                "words above oracle": float(cell.mean_excess_words),
                "steps/s (median)": float(np.median(cell.steps_per_second)),
            })
    for policy in ds.policy.values:
        cell = ds.sel(policy=policy)
        rows.append({"method": str(policy), "gap IQM %": float(cell.ref_gap_to_oracle) * 100,
                     "gap mean %": float(cell.ref_gap_to_oracle) * 100,
                     "QoE violations %": float(cell.ref_qoe_violation_rate) * 100,
                     "latency violations %": float(cell.ref_latency_violation_rate) * 100})
    return pd.DataFrame(rows).set_index("method").round(3)


def spiking_table(ds: xr.Dataset) -> pd.DataFrame:
    """Each spiking agent against its plain twin, per variant: the reduction of the IQM carbon and
    P(spiking < twin), with 95% intervals; the published reduction beside SDRL against SAC."""
    if "spiking_reduction" not in ds:
        return pd.DataFrame()
    from greenaolo.aolo.figures import AGENT_LABELS

    rows = []
    for variant in ds.variant.values:
        for spiking in ds.spiking.values:
            cell = ds.sel(variant=variant, spiking=spiking)
            rows.append({"variant": str(variant),
                         "spiking vs plain": f"{AGENT_LABELS[str(spiking)]} vs {AGENT_LABELS[str(cell.twin.values)]}",
                         "reduction %": float(cell.spiking_reduction) * 100,
                         "95% interval %": f"[{float(cell.spiking_reduction_low) * 100:.2f}, "
                                           f"{float(cell.spiking_reduction_high) * 100:.2f}]",
                         "P(spiking < plain)": float(cell.spiking_improvement_probability),
                         "P 95% interval": f"[{float(cell.spiking_improvement_probability_low):.2f}, "
                                           f"{float(cell.spiking_improvement_probability_high):.2f}]",
                         "paper %": float(ds.attrs["paper_reduction"]) * 100 if str(spiking) == "sdrl" else np.nan,
                         "seeds": ds.sizes["seed"]})
    return pd.DataFrame(rows).set_index(["variant", "spiking vs plain"]).round(3)


def explains_table(ds: xr.Dataset) -> pd.DataFrame:
    """:func:`tuning_study`'s answer to "could tuning explain 18.77%?", one row per direction."""
    rows = []
    for config_of, tuned in (("sac", "sdrl"), ("sdrl", "sac")):
        name = f"{config_of}_configs_above_tuned_{tuned}"
        if name not in ds:
            continue
        rows.append({"configurations of": config_of.upper(), "against tuned": tuned.upper(),
                     "tuned gap %": float(ds.reference_gap.sel(algorithm=tuned)) * 100,
                     "would show 18.77% if gap >= %": float(ds[f"{name}_threshold_gap"]) * 100,
                     "fraction %": float(ds[name]) * 100,
                     "95% interval %": f"[{float(ds[f'{name}_low']) * 100:.1f}, {float(ds[f'{name}_high']) * 100:.1f}]",
                     "count": int(ds[f"{name}_count"]), "complete": int(ds[f"{name}_complete"]),
                     "pruned (not counted)": int(ds[f"{name}_pruned"]),
                     "with pruned, range %": f"[{float(ds[f'{name}_range_low']) * 100:.1f}, "
                                             f"{float(ds[f'{name}_range_high']) * 100:.1f}]"})
    return pd.DataFrame(rows).round(2)
