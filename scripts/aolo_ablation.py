"""What each change buys the best AOLO agent: an ablation over seeds (issue: agents within 1% of the oracle).

Usage: ``python scripts/aolo_ablation.py [--algorithm ddpg] [--seeds 0 1 2 3] [--updates 9000] [--jobs 2]``.

The variants are the agent's committed tuned settings (``hyperparams/tuned.yaml``) and, for each option the
tuning spaces added (updates per environment step, an annealed learning rate, annealed exploration noise, the
useful answer range: ``benchmark.ablation_variants``), those settings with that option alone switched the other
way. Every run makes the same budget of gradient updates (the full profile's unless ``--updates``) and is scored
on the fixed evaluation set (1,000 requests) against the exact oracle. Runs are written one file each to
``build/ablation/`` and skipped when present, so a killed ablation resumes; the summary (interquartile mean of the
gap to the oracle over seeds with its 95% bootstrap interval, violation rates, environment steps and wall time)
goes to ``build/ablation/summary_<algorithm>_<updates>.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "ablation"


def variants(algorithm: str) -> dict[str, dict]:
    from greenaolo.aolo.benchmark import ablation_variants
    from greenaolo.aolo.training import load_hyperparams, settings

    return ablation_variants(settings(load_hyperparams(variant="tuned"), algorithm))


def path_of(algorithm: str, variant: str, seed: int, updates: int) -> Path:
    return OUT / f"{algorithm}_{variant.replace(' ', '-')}_seed{seed}_{updates}u.nc"


def run(algorithm: str, variant: str, seed: int, updates: int) -> str:
    """Train one (variant, seed) and write its evaluation; return the file."""
    import torch

    torch.set_num_threads(1)
    from greenaolo.aolo.training import load_hyperparams, train
    from greenaolo.io import ENGINE, atomic_path

    path = path_of(algorithm, variant, seed, updates)
    if path.exists():
        return str(path)
    hp = load_hyperparams(variant="tuned")
    hp[algorithm] = variants(algorithm)[variant]
    ds = train(algorithm, seed, profile="full", hyperparams=hp, variant="tuned", updates=updates, progress=False)
    ds.attrs["ablation_variant"] = variant
    with atomic_path(path) as tmp:  # a killed run leaves no half-written file to be skipped next time
        ds.to_netcdf(tmp, engine=ENGINE)
    return str(path)


def summary(algorithm: str, seeds: list[int], updates: int) -> dict:
    import numpy as np
    import xarray as xr

    from greenaolo.aolo.statistics import bootstrap_interval, iqm

    out = {}
    for variant in variants(algorithm):
        files = [f for f in (path_of(algorithm, variant, s, updates) for s in seeds) if f.exists()]
        if not files:
            continue
        runs = [xr.open_dataset(f) for f in files]
        gaps = np.array([float(r.gap_to_oracle) for r in runs])
        low, high = bootstrap_interval(iqm, gaps)
        out[variant] = {
            "seeds": len(runs), "iqm_gap": float(iqm(gaps)), "interval": [float(low), float(high)],
            "gaps": gaps.tolist(), "qoe_violation_rate": float(np.mean([float(r.qoe_violation_rate) for r in runs])),
            "latency_violation_rate": float(np.mean([float(r.latency_violation_rate) for r in runs])),
            "environment_steps": int(runs[0].attrs["environment_steps"]),
            "train_seconds": float(np.median([r.attrs["train_seconds"] for r in runs])),
        }
        for r in runs:
            r.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--algorithm", default="ddpg")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--updates", type=int, default=None, help="gradient updates per run (default: the full profile's)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", nargs="+", help="variants to run (default all)")
    args = parser.parse_args()
    from greenaolo.aolo.training import load_hyperparams

    updates = args.updates or int(load_hyperparams()["profiles"]["full"]["gradient_updates"])
    names = list(variants(args.algorithm))
    unknown = sorted(set(args.only or []) - set(names))
    if unknown:
        parser.error(f"--only {unknown[0]!r}: {args.algorithm}'s variants are {names}")
    OUT.mkdir(parents=True, exist_ok=True)
    jobs = [(args.algorithm, v, s, updates) for s in args.seeds for v in (args.only or names)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        for path in pool.map(run, *zip(*jobs)):
            print("done", path, flush=True)
    result = summary(args.algorithm, args.seeds, updates)
    (OUT / f"summary_{args.algorithm}_{updates}u.json").write_text(json.dumps(result, indent=2))
    for variant, r in result.items():
        print(f"{variant:>28}: IQM gap {100 * r['iqm_gap']:+.2f}% [{100 * r['interval'][0]:+.2f}, "
              f"{100 * r['interval'][1]:+.2f}] over {r['seeds']} seeds; QoE violations "
              f"{100 * r['qoe_violation_rate']:.2f}%, latency {100 * r['latency_violation_rate']:.2f}%; "
              f"{r['environment_steps']:,} environment steps, {r['train_seconds']:.0f} s per run")


if __name__ == "__main__":
    sys.exit(main())
