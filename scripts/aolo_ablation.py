"""What each change buys the best AOLO agent: an ablation over seeds (issue: agents within 1% of the oracle).

Usage: ``python scripts/aolo_ablation.py [--algorithm ddpg] [--seeds 0 1 2 3] [--steps 10000] [--jobs 2]``.

Each variant is the agent's committed tuned settings (``hyperparams/tuned.yaml``) with one change, or all of
them: more gradient steps per environment step (the environment is a one-step bandit, gamma = 0, so repeated
updates bootstrap nothing), exploration noise annealed to zero, and the action's answer length spanning only
the lengths some request needs (``AoloConfig.useful_kappa_range``, ``docs/aolo.md#useful-range``: the optimum
is unchanged). Every run trains ``--steps`` environment steps and is scored on the fixed evaluation set
(1,000 requests) against the exact oracle. Runs are written one file each to ``build/ablation/`` and skipped
when present, so a killed ablation resumes; the summary (interquartile mean of the gap to the oracle over
seeds with its 95% bootstrap interval, violation rates, wall time) goes to ``build/ablation/summary.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "ablation"

#: name -> (AoloConfig changes, hyperparameter changes of the agent's section).
VARIANTS: dict[str, tuple[dict, dict]] = {
    "tuned": ({}, {}),
    "gradient steps 4": ({}, {"gradient_steps": 4}),
    "noise annealed to 0": ({}, {"action_noise_final": 0.0, "action_noise_decay_steps": 8000}),
    "useful answer range": ({"useful_kappa_range": True}, {}),
    "useful range and gradient steps 4": ({"useful_kappa_range": True}, {"gradient_steps": 4}),
    "all three": ({"useful_kappa_range": True},
                  {"gradient_steps": 4, "action_noise_final": 0.0, "action_noise_decay_steps": 8000}),
}


def run(algorithm: str, variant: str, seed: int, steps: int) -> str:
    """Train one (variant, seed) and write its evaluation; return the file."""
    import torch

    torch.set_num_threads(1)
    from greenaolo.aolo.config import AoloConfig
    from greenaolo.aolo.training import load_hyperparams, train
    from greenaolo.io import ENGINE, atomic_path

    path = OUT / f"{algorithm}_{variant.replace(' ', '-')}_seed{seed}_{steps}.nc"
    if path.exists():
        return str(path)
    config_changes, hp_changes = VARIANTS[variant]
    hp = load_hyperparams(variant="tuned")
    hp[algorithm] = {**hp.get(algorithm, {}), **hp_changes}
    ds = train(algorithm, seed, config=AoloConfig(**config_changes), profile="full", hyperparams=hp, variant="tuned",
               updates=steps, progress=False)
    ds.attrs["ablation_variant"] = variant
    with atomic_path(path) as tmp:  # a killed run leaves no half-written file to be skipped next time
        ds.to_netcdf(tmp, engine=ENGINE)
    return str(path)


def summary(algorithm: str, seeds: list[int], steps: int) -> dict:
    import numpy as np
    import xarray as xr

    from greenaolo.aolo.statistics import bootstrap_interval, iqm

    out = {}
    for variant in VARIANTS:
        files = [OUT / f"{algorithm}_{variant.replace(' ', '-')}_seed{s}_{steps}.nc" for s in seeds]
        files = [f for f in files if f.exists()]
        if not files:
            continue
        runs = [xr.open_dataset(f) for f in files]
        gaps = np.array([float(r.gap_to_oracle) for r in runs])
        low, high = bootstrap_interval(iqm, gaps)
        out[variant] = {
            "seeds": len(runs), "iqm_gap": float(iqm(gaps)), "interval": [float(low), float(high)],
            "gaps": gaps.tolist(), "qoe_violation_rate": float(np.mean([float(r.qoe_violation_rate) for r in runs])),
            "latency_violation_rate": float(np.mean([float(r.latency_violation_rate) for r in runs])),
            "train_seconds": float(np.median([r.attrs["train_seconds"] for r in runs])),
        }
        for r in runs:
            r.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithm", default="ddpg")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), help="variants to run (default all)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    variants = args.only or list(VARIANTS)
    jobs = [(args.algorithm, v, s, args.steps) for s in args.seeds for v in variants]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for path in pool.map(run, *zip(*jobs)):
            print("done", path, flush=True)
    result = summary(args.algorithm, args.seeds, args.steps)
    (OUT / f"summary_{args.algorithm}_{args.steps}.json").write_text(json.dumps(result, indent=2))
    for variant, r in result.items():
        print(f"{variant:>22}: IQM gap {100 * r['iqm_gap']:+.2f}% [{100 * r['interval'][0]:+.2f}, {100 * r['interval'][1]:+.2f}] "
              f"over {r['seeds']} seeds; QoE violations {100 * r['qoe_violation_rate']:.2f}%, latency "
              f"{100 * r['latency_violation_rate']:.2f}%; {r['train_seconds']:.0f} s per run")


if __name__ == "__main__":
    sys.exit(main())
