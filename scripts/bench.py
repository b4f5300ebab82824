"""Benchmarks (``make bench``): medians over repeats, ratios measured within one run.

Green-LLM:
  1. build and solve time of the paper instance (M0) per solver (Gurobi only where its licence allows the
     model; the reason is printed otherwise), and on a small instance both solvers can take, their ratio;
  2. HiGHS solve time against instance size, up to at least a million variables (``--max-variables``).
  3. the MILP extension (``docs/greenllm.md#milp``; last, or alone with ``--only milp``): per variant, time to
     a proven 1% and 0.1% gap with HiGHS on 2 threads, the compact (literal) formulation against the tight
     one, run alternately (median of ``--milp-repeats``), their ratios, and each run's gap over time.
AOLO:
  4. environment steps per second, raw and through ``gymnasium.make`` (target: over 20,000 raw);
  5. SAC and SDRL training steps per second and their ratio, measured in one run: in this process (2 torch
     threads), alone at one thread, and two processes side by side at one thread each (as ``make -j2`` trains).
  6. every agent's (SAC, SDRL, TD3, DDPG, PPO) training steps per second at its default and its tuned settings
     (also alone: ``--only agents``), and each one's ratio to default SAC.
Green-LLM measured (``--only measured``): seconds per plan fresh against reused, and both measured years on
two local workers.
Green-LLM year (``--only year``):
  7. seconds per day-solve (one model and information setting of one day: its plan, tie-break included, scored
     on the actual intensity) with a fresh linopy build per plan and with the reused LP, days interleaved in one
     run, and their ratio; the year study's wall time on 2 local Dask workers (366 days, ``--year-days``).

Results are printed and written to ``build/bench/bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

from tqdm.auto import tqdm

from greenaolo.greenllm.model import build_model
from greenaolo.greenllm.optimise import solve
from greenaolo.greenllm.scenario import paper_scenario, synthetic_scenario
from greenaolo.solvers import SolverFallbackWarning, gurobi_licence

warnings.simplefilter("ignore", SolverFallbackWarning)

#: (areas N, DCs M, hours T) with 5 query types: variables = 5 N M T + M T.
SIZES = [(9, 9, 24), (20, 20, 24), (30, 30, 48), (40, 40, 72), (50, 50, 80)]


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def paper_instance(repeats: int) -> dict:
    s = paper_scenario()
    build, built = timed(lambda: build_model(s), repeats)
    rows = {"variables": int(built.model.nvars), "constraints": int(built.model.ncons), "build_s": build}
    licence = gurobi_licence()
    fits, why = licence.fits(rows["variables"], rows["constraints"])
    for solver in ("highs", "gurobi"):
        if solver == "gurobi" and not fits:
            rows["gurobi"] = f"skipped: {why}"
            continue
        results = [solve(s, "M0", solver=solver) for _ in range(repeats)]
        rows[f"{solver}_solve_s"] = statistics.median(r.attrs["solve_seconds"] for r in results)
        rows[f"{solver}_total_cost"] = float(results[0].total_cost)
    small = synthetic_scenario(3, 3, 24, n_query=2, seed=0)
    both = {}
    for solver in ("highs", "gurobi"):
        if solver == "gurobi" and licence.kind == "none":
            both["gurobi"] = f"skipped: {licence.reason}"
            continue
        both[f"{solver}_solve_s"] = statistics.median(
            solve(small, "M0", solver=solver).attrs["solve_seconds"] for _ in range(repeats)
        )
    if "gurobi_solve_s" in both:
        both["gurobi_over_highs"] = both["gurobi_solve_s"] / both["highs_solve_s"]
    rows["small_instance_3x3x24"] = both
    return rows


def scaling(max_variables: int, repeats: int) -> list[dict]:
    rows = []
    sizes = [size for size in SIZES if 5 * size[0] * size[1] * size[2] <= max_variables * 1.01]
    for n, m, t in tqdm(sizes, desc="HiGHS scaling", unit="instance"):
        s = synthetic_scenario(n, m, t, seed=0)
        start = time.perf_counter()
        result = solve(s, "M0", solver="highs")
        rows.append(
            {
                "areas": n, "dcs": m, "hours": t,
                "variables": int(result.attrs["n_variables"]), "constraints": int(result.attrs["n_constraints"]),
                "build_s": result.attrs["build_seconds"], "solve_s": result.attrs["solve_seconds"],
                "wall_s": time.perf_counter() - start,
            }
        )
        tqdm.write(json.dumps(rows[-1]))
    return rows


def milp_speed(repeats: int, time_limit: float, scenario=None, variants=None) -> dict:
    """Per MILP variant and formulation: median seconds to a proven 1% and 0.1% gap (``inf``: not within
    ``time_limit``), the final gap, cost and bound, and every run's progress ``[seconds, incumbent, bound]``.
    The formulations run alternately (compact, tight, compact, ...) so that load on the machine hits both alike;
    ``compact_over_tight`` is the ratio of the medians (``inf`` when only the tight one got there)."""
    import dataclasses
    import math

    from greenaolo.greenllm.studies import MILP_VARIANTS
    from greenaolo.solvers import time_to_gap

    s = paper_scenario() if scenario is None else scenario
    report = {}
    for name in variants or [n for n, e in MILP_VARIANTS.items() if e is not None]:
        runs = {"compact": [], "tight": []}
        for _ in tqdm(range(repeats), desc=f"MILP {name}", unit="round"):
            for formulation in runs:
                ext = dataclasses.replace(MILP_VARIANTS[name], formulation=formulation)
                ds = solve(s, "M0", extensions=ext, solver="highs", threads=2, time_limit=time_limit, mip_gap=1e-3,
                           allow_suboptimal=True)
                progress = [(t, math.inf if p is None else p, -math.inf if b is None else b)
                            for t, p, b in json.loads(ds.attrs["mip_progress"])]
                runs[formulation].append({
                    "to_1pct_s": time_to_gap(progress, 1e-2), "to_0.1pct_s": time_to_gap(progress, 1e-3),
                    "final_gap": ds.attrs["mip_gap"], "total_cost": float(ds.total_cost), "bound": ds.attrs["bound"],
                    "solve_s": ds.attrs["solve_seconds"], "progress": json.loads(ds.attrs["mip_progress"]),
                })
        row = {}
        for formulation, done in runs.items():
            row[formulation] = {key: statistics.median(r[key] for r in done)
                                for key in ("to_1pct_s", "to_0.1pct_s", "final_gap", "total_cost", "bound", "solve_s")}
            row[formulation]["runs"] = done
        for key in ("to_1pct_s", "to_0.1pct_s"):
            old, new = row["compact"][key], row["tight"][key]
            row[f"compact_over_tight_{key[3:-2]}"] = old / new if math.isfinite(new) else math.nan
        report[name] = row
    return {"time_limit_s": time_limit, "repeats": repeats, "threads": 2, "variants": report}


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value != float("inf") else "not reached"


def print_milp(m: dict) -> None:
    print(f"\nMILP extension, paper instance, HiGHS 2 threads, limit {m['time_limit_s']:g} s, median of {m['repeats']}:")
    for name, row in m["variants"].items():
        for formulation in ("compact", "tight"):
            r = row[formulation]
            print(f"  {name:>20} {formulation:>7}: 1% gap {_seconds(r['to_1pct_s']):>12}, 0.1% gap "
                  f"{_seconds(r['to_0.1pct_s']):>12}, final gap {r['final_gap']:.2%}, cost {r['total_cost']:.2f} "
                  f"(bound {r['bound']:.2f})")
        print(f"  {'':>20} compact/tight time ratio: to 1% x{row['compact_over_tight_1pct']:.2f}, "
              f"to 0.1% x{row['compact_over_tight_0.1pct']:.2f} (inf: the compact one never got there)")


def env_speed(repeats: int, steps: int = 20_000) -> dict:
    import gymnasium
    import numpy as np

    import greenaolo.aolo  # noqa: F401
    from greenaolo.aolo.env import AoloEnv

    def rate(env) -> float:
        env.reset(seed=0)
        actions = np.random.default_rng(0).uniform(-1, 1, size=(steps, 2)).astype(np.float32)
        start = time.perf_counter()
        for action in actions:
            if env.step(action)[3]:
                env.reset()
        return steps / (time.perf_counter() - start)

    raw = [rate(AoloEnv()) for _ in range(repeats)]
    made = [rate(gymnasium.make("greenaolo/Aolo-v0")) for _ in range(repeats)]
    return {"raw_steps_per_s": statistics.median(raw), "make_steps_per_s": statistics.median(made),
            "wrapper_overhead_ratio": statistics.median(raw) / statistics.median(made)}


def timing_hyperparams() -> dict:
    """The agents' hyperparameters with a short warm-up: time the gradient phase, not the random steps."""
    import copy

    from greenaolo.aolo.training import load_hyperparams

    hp = copy.deepcopy(load_hyperparams())
    hp["common"]["learning_starts"] = 50
    return hp


def interleaved_rates(runs: dict[str, tuple[str, dict]], repeats: int, steps: int) -> dict[str, float]:
    """Median training steps per second of each named (algorithm, hyperparameters): one untimed run of each
    first (compilation, once per process and batch size, is not training speed), then ``repeats`` rounds
    interleaved so load on the machine hits all alike, ``steps`` each (an on-policy agent at least two rollouts)."""
    from greenaolo.aolo.training import ON_POLICY, settings, train

    def length(algorithm: str, hp: dict) -> int:  # an on-policy agent learns once per rollout: time two of them
        return max(steps, 2 * int(settings(hp, algorithm).get("n_steps", 0))) if ON_POLICY[algorithm] else steps

    for algorithm, hp in runs.values():
        train(algorithm, 0, hyperparams=hp, updates=100, progress=False)
    rates = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (algorithm, hp) in runs.items():
            rates[name].append(train(algorithm, 0, hyperparams=hp, updates=length(algorithm, hp), progress=False)
                               .attrs["steps_per_second"])
    return {name: statistics.median(v) for name, v in rates.items()}


def training_speed(repeats: int, steps: int = 400) -> dict:
    """Training steps per second of SAC, SDRL (compiled fast path, the default where ``torch.compile``
    works), SDRL on the eager fast path and SDRL on the original loops (:func:`interleaved_rates`), at the
    configured batch size and at 256 (``docs/aolo.md#a9``); and SAC and SDRL with one torch thread, in a fresh
    process alone and in two processes side by side (:func:`side_by_side_speed`)."""
    import copy

    from greenaolo.aolo.popsan import compile_available

    base = timing_hyperparams()
    report = {}
    for batch in sorted({int(base["common"]["batch_size"]), 256}):
        hp = copy.deepcopy(base)
        hp["common"]["batch_size"] = batch
        plain, eager = copy.deepcopy(hp), copy.deepcopy(hp)
        plain["sdrl"].setdefault("popsan_kwargs", {})["fast"] = False
        eager["sdrl"].setdefault("popsan_kwargs", {})["compile"] = False
        med = interleaved_rates({"sac": ("sac", hp), "sdrl": ("sdrl", hp), "sdrl_eager": ("sdrl", eager),
                                 "sdrl_plain": ("sdrl", plain)}, repeats, steps)
        report[f"batch_{batch}"] = {
            "sac_steps_per_s": med["sac"], "sdrl_steps_per_s": med["sdrl"], "sdrl_eager_steps_per_s": med["sdrl_eager"],
            "sdrl_plain_steps_per_s": med["sdrl_plain"],
            "sdrl_over_sac": med["sdrl"] / med["sac"], "sdrl_eager_over_sac": med["sdrl_eager"] / med["sac"],
            "sdrl_plain_over_sac": med["sdrl_plain"] / med["sac"], "fast_over_plain": med["sdrl"] / med["sdrl_plain"],
        }
    # One torch thread, in a fresh process (switching this process to one thread after compiling at two cut the
    # compiled SDRL's speed by a third in a trial): alone, and two processes side by side as make -j2 trains.
    report["one_thread"] = _sac_sdrl(one_thread_speed(repeats, steps))
    report["side_by_side"] = _sac_sdrl(side_by_side_speed(repeats, steps))
    report["configured_batch"] = int(base["common"]["batch_size"])
    report["torch_threads"] = torch_threads()
    report["compiled"] = compile_available()
    return report


def agent_speed(repeats: int, steps: int = 1000, algorithms=None, variants=("default", "tuned")) -> dict:
    """Training environment steps per second of every agent at its own settings, default and tuned
    (``hyperparams/agents.yaml``, ``tuned.yaml``: batch, network, training frequency, gradient steps), in
    this process at one torch thread, rounds interleaved (:func:`interleaved_rates`); the warm-up is cut to 50
    random steps so the timing is of the learning phase. Also each one's ratio to default SAC."""
    import copy

    import torch

    from greenaolo.aolo.training import load_hyperparams
    from greenaolo.options import ALGORITHMS

    runs = {}
    for variant in variants:
        hp = copy.deepcopy(load_hyperparams(variant=variant))
        for section in ("common", *ALGORITHMS):
            if "learning_starts" in (hp[section] or {}):
                hp[section]["learning_starts"] = 50
        for algorithm in algorithms or ALGORITHMS:
            runs[f"{algorithm}/{variant}"] = (algorithm, hp)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        rates = interleaved_rates(runs, repeats, steps)
    finally:
        torch.set_num_threads(threads)
    reference = rates.get("sac/default")
    return {name: {"steps_per_s": rate, "over_default_sac": rate / reference if reference else float("nan")}
            for name, rate in rates.items()}


def sweep_speed(n_points: int = 10, n_noop: int = 200) -> dict:
    """The sweep runner: Fig. 2's Psi_tau sweep (3 models x ``n_points``, one HiGHS thread per solve) serial
    against 2 local Dask workers, in one run; the runner's overhead per task (``n_noop`` tasks that do
    nothing) serial and on the workers. The local cluster is started before timing (its start-up is
    reported on its own)."""
    import numpy as np

    from greenaolo.greenllm.studies import psi_sweep
    from greenaolo.tasks import Task, close_local_cluster, dask_client, run_tasks

    values = np.round(np.linspace(0.1, 1.0, n_points), 4)
    close_local_cluster()
    start = time.perf_counter()
    dask_client("local", 2)
    startup = time.perf_counter() - start
    serial_s, _ = timed(lambda: psi_sweep("tau", values, scheduler="serial"), 1)
    local_s, _ = timed(lambda: psi_sweep("tau", values, scheduler="local", processes=2), 1)
    noop = [Task(dict, {"i": i}) for i in range(n_noop)]
    noop_serial, _ = timed(lambda: run_tasks(noop, scheduler="serial", progress=False), 3)
    noop_local, _ = timed(lambda: run_tasks(noop, scheduler="local", workers=2, progress=False), 3)
    close_local_cluster()
    return {"points": 3 * n_points, "serial_s": serial_s, "local_2_workers_s": local_s,
            "speedup": serial_s / local_s, "cluster_startup_s": startup,
            "overhead_per_task_serial_ms": noop_serial / n_noop * 1e3,
            "overhead_per_task_local_ms": noop_local / n_noop * 1e3}


def year_speed(sample_days: int, study_days: int, workers: int = 2) -> dict:
    """Seconds per day-solve, fresh build against the reused LP, on ``sample_days`` days spread over 2024
    (each day timed both ways, one after the other, so load hits both alike; the reused LP is built once,
    before timing, as a sweep worker builds it once, and starts cold on the first day, as a chunk does); then
    the year study over ``study_days`` days on ``workers`` local Dask workers, with the cluster started first
    (its start-up reported on its own)."""
    import numpy as np

    from greenaolo.greenllm.year import ReusedLP, fresh_day, reused_day, study_days as spread, year_study
    from greenaolo.tasks import close_local_cluster, dask_client

    scenario = paper_scenario()
    start = time.perf_counter()
    lp = ReusedLP(scenario)
    lp_build = time.perf_counter() - start
    fresh, reused = [], []
    for day in tqdm(spread(sample_days), desc="year: fresh vs reused", unit="day"):
        for method, out in ((lambda day=day: reused_day(lp, day), reused), (lambda day=day: fresh_day(scenario, day), fresh)):
            start = time.perf_counter()
            result = method()
            plans = int(np.isfinite(result["total_cost"]).sum())
            out.append((time.perf_counter() - start) / plans)
    close_local_cluster()
    start = time.perf_counter()
    dask_client("local", workers)
    startup = time.perf_counter() - start
    start = time.perf_counter()
    days = spread(study_days)
    year_study(days, processes=workers, scheduler="local")
    wall = time.perf_counter() - start
    close_local_cluster()
    return {"sample_days": sample_days, "fresh_s_per_day_solve": statistics.median(fresh),
            "reused_s_per_day_solve": statistics.median(reused),
            "fresh_over_reused": statistics.median(f / r for f, r in zip(fresh, reused)),
            "reused_lp_build_s": lp_build, "study_days": study_days, "workers": workers,
            "study_wall_s": wall, "cluster_startup_s": startup, "load_average": list(os.getloadavg())}


def measured_speed(sample_days: int, workers: int = 2) -> dict:
    """The measured study (``docs/measured.md#year``): seconds per plan, a fresh build against the reused LP, on
    ``sample_days`` days (each plan timed both ways one after the other); then every day of 2023 and 2024 on
    ``workers`` local Dask workers in one study (the cluster started first, its start-up reported on its own)."""
    import numpy as np

    from greenaolo.greenllm.measured import measured_scenario
    from greenaolo.greenllm.measured_year import measured_days, measured_year_study
    from greenaolo.greenllm.optimise import solve
    from greenaolo.greenllm.year import ReusedLP
    from greenaolo.tasks import close_local_cluster, dask_client

    fresh, reused = [], []
    lp = ReusedLP(measured_scenario("2024-01-01"))
    for day in tqdm(measured_days(n_days=sample_days), desc="measured: fresh vs reused", unit="day"):
        scenario = measured_scenario(day)
        theta, price = scenario.carbon_intensity.values, scenario.price.values
        for model in ("M0", "M1"):
            start = time.perf_counter()
            lp.plan(model, theta, price=price)
            reused.append(time.perf_counter() - start)
            start = time.perf_counter()
            solve(scenario, model, solver="highs", threads=1)
            fresh.append(time.perf_counter() - start)
    close_local_cluster()
    start = time.perf_counter()
    dask_client("local", workers)
    startup = time.perf_counter() - start
    start = time.perf_counter()
    ds = measured_year_study(measured_days(), processes=workers, scheduler="local")
    wall = time.perf_counter() - start
    close_local_cluster()
    plans = int(np.isfinite(ds.total_cost.values).sum())
    return {"sample_days": sample_days, "fresh_s_per_plan": statistics.median(fresh),
            "reused_s_per_plan": statistics.median(reused),
            "fresh_over_reused": statistics.median(f / r for f, r in zip(fresh, reused)),
            "days": int(ds.sizes["day"]), "plans": plans, "workers": workers, "study_wall_s": wall,
            "cluster_startup_s": startup, "load_average": list(os.getloadavg())}


def _fresh_process(algorithms: list[str], repeats: int, steps: int):
    """A fresh Python process, one torch thread, printing :func:`interleaved_rates` of ``algorithms`` (with
    :func:`timing_hyperparams`) as JSON on its last line."""
    import subprocess
    import sys

    code = ("import json, sys, torch; torch.set_num_threads(1); sys.path.insert(0, sys.argv[1]); import bench; "
            "hp = bench.timing_hyperparams(); print(json.dumps(bench.interleaved_rates("
            "{a: (a, hp) for a in sys.argv[2].split(',')}, int(sys.argv[3]), int(sys.argv[4]))))")
    return subprocess.Popen([sys.executable, "-c", code, str(Path(__file__).parent), ",".join(algorithms),
                             str(repeats), str(steps)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _rates_of(proc) -> dict[str, float]:
    """The rates a :func:`_fresh_process` printed, once it ends; its error output if it failed."""
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"timing process failed (exit {proc.returncode}): {err.strip()[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def one_thread_speed(repeats: int, steps: int) -> dict:
    """SAC and SDRL (:func:`interleaved_rates`) with one torch thread, in a fresh process."""
    return _rates_of(_fresh_process(["sac", "sdrl"], repeats, steps))


def side_by_side_speed(repeats: int, steps: int) -> dict:
    """SAC and SDRL as ``make -j2`` trains the runs: two processes of one algorithm side by side, one torch
    thread each, each timing ``steps`` after an untimed warm-up run (compilation); the algorithms alternate
    ``repeats`` times. Returns the median over rounds of the two processes' mean steps per second."""
    rates: dict[str, list[float]] = {"sac": [], "sdrl": []}
    for _ in range(repeats):
        for algorithm in rates:
            procs = [_fresh_process([algorithm], 1, steps) for _ in range(2)]
            rates[algorithm].append(statistics.mean(_rates_of(proc)[algorithm] for proc in procs))
    return {name: statistics.median(v) for name, v in rates.items()}


def _sac_sdrl(med: dict[str, float]) -> dict[str, float]:
    return {"sac_steps_per_s": med["sac"], "sdrl_steps_per_s": med["sdrl"], "sdrl_over_sac": med["sdrl"] / med["sac"]}


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="repeats per timing (median reported)")
    parser.add_argument("--max-variables", type=int, default=1_000_000, help="largest scaling instance")
    parser.add_argument("--output", type=Path, default=Path("build/bench/bench.json"))
    parser.add_argument("--only", choices=("greenllm", "aolo", "agents", "sweep", "year", "measured", "milp"),
                        help="run one part of the benchmarks")
    parser.add_argument("--year-days", type=int, default=366, help="days of the timed year study (366: all)")
    parser.add_argument("--year-sample", type=int, default=8, help="days timed fresh against reused")
    parser.add_argument("--milp-repeats", type=int, default=3, help="MILP runs per variant and formulation")
    parser.add_argument("--milp-time-limit", type=float, default=60.0, help="seconds per MILP solve")
    args = parser.parse_args()
    report = {}

    def write() -> None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(report, indent=2))

    if args.only == "milp":  # 3 variants x 2 formulations x repeats x up to the limit (about 10 minutes)
        report["milp"] = milp_speed(args.milp_repeats, args.milp_time_limit)
        print_milp(report["milp"])
        return write()
    if args.only in (None, "sweep"):
        report["sweep"] = w = sweep_speed()
        print(f"Sweep runner: Fig. 2's Psi_tau sweep ({w['points']} solves) serial {w['serial_s']:.1f} s, 2 local Dask "
              f"workers {w['local_2_workers_s']:.1f} s: speed-up x{w['speedup']:.2f} (one run; cluster start-up "
              f"{w['cluster_startup_s']:.1f} s, not included); overhead per task {w['overhead_per_task_serial_ms']:.2f} ms "
              f"serial, {w['overhead_per_task_local_ms']:.2f} ms on the workers (median of 3, no-op tasks)")
        if args.only == "sweep":
            return write()
    if args.only in (None, "year"):
        report["greenllm_year"] = y = year_speed(args.year_sample, args.year_days)
        print(f"Green-LLM year: {y['fresh_s_per_day_solve']:.3f} s per day-solve with a fresh build, "
              f"{y['reused_s_per_day_solve']:.4f} s with the reused LP: fresh/reused = {y['fresh_over_reused']:.1f} "
              f"(median over {y['sample_days']} days timed both ways in one run; the reused LP's one build "
              f"{y['reused_lp_build_s']:.2f} s)")
        print(f"Green-LLM year study: {y['study_days']} days x 4 models x 3 settings in {y['study_wall_s']:.0f} s on "
              f"{y['workers']} local Dask workers (cluster start-up {y['cluster_startup_s']:.1f} s, not included; "
              f"load average {y['load_average'][0]:.1f} at the end)")
        if args.only == "year":
            return write()
    if args.only in (None, "measured"):
        report["greenllm_measured"] = m = measured_speed(args.year_sample)
        print(f"Green-LLM measured: {m['fresh_s_per_plan']:.3f} s per plan with a fresh build, {m['reused_s_per_plan']:.4f} s "
              f"with the reused LP: fresh/reused = {m['fresh_over_reused']:.1f} (median over {m['sample_days']} days x "
              f"M0, M1, timed both ways in one run)")
        print(f"Green-LLM measured study: {m['days']} days of 2023-2024, {m['plans']} plans, in {m['study_wall_s']:.0f} s "
              f"on {m['workers']} local Dask workers (cluster start-up {m['cluster_startup_s']:.1f} s, not included; load "
              f"average {m['load_average'][0]:.1f} at the end)")
        if args.only == "measured":
            return write()
    if args.only in (None, "aolo"):
        report["aolo_env"] = env_speed(args.repeats)
        e = report["aolo_env"]
        print(f"AOLO env: {e['raw_steps_per_s']:,.0f} steps/s raw, {e['make_steps_per_s']:,.0f} through gymnasium.make "
              f"(median of {args.repeats}; wrappers cost x{e['wrapper_overhead_ratio']:.2f})")
        report["aolo_training"] = t = training_speed(min(args.repeats, 3))
        o, b = t["one_thread"], t["side_by_side"]
        print(f"AOLO training, batch {t['configured_batch']}, one torch thread, one process alone: SAC "
              f"{o['sac_steps_per_s']:.1f} steps/s, SDRL {o['sdrl_steps_per_s']:.1f}: SDRL/SAC = {o['sdrl_over_sac']:.2f}")
        print(f"AOLO training, batch {t['configured_batch']}, two processes side by side, one thread each (as make -j2 "
              f"trains the runs): SAC {b['sac_steps_per_s']:.1f} steps/s, SDRL {b['sdrl_steps_per_s']:.1f}: "
              f"SDRL/SAC = {b['sdrl_over_sac']:.2f}")
        for key, r in t.items():
            if not key.startswith("batch_"):
                continue
            mark = " (configured)" if key == f"batch_{t['configured_batch']}" else ""
            print(f"AOLO training, {key.replace('_', ' ')}{mark}: SAC {r['sac_steps_per_s']:.1f} steps/s, "
                  f"SDRL {r['sdrl_steps_per_s']:.1f} ({'compiled' if t['compiled'] else 'torch.compile unavailable'}; "
                  f"eager fast path {r['sdrl_eager_steps_per_s']:.1f}, original loops {r['sdrl_plain_steps_per_s']:.1f}); "
                  f"SDRL/SAC = {r['sdrl_over_sac']:.2f} (eager {r['sdrl_eager_over_sac']:.2f}, original loops "
                  f"{r['sdrl_plain_over_sac']:.2f}); SDRL/original = {r['fast_over_plain']:.2f} "
                  f"(median of {min(args.repeats, 3)}, {t['torch_threads']} threads)")
    if args.only in (None, "aolo", "agents"):
        report["aolo_agents"] = a = agent_speed(min(args.repeats, 3))
        print("AOLO agents at their own settings (one torch thread, learning phase, median of "
              f"{min(args.repeats, 3)} interleaved rounds): " + "; ".join(
                  f"{name} {r['steps_per_s']:.0f} steps/s (x{r['over_default_sac']:.2f} default SAC)" for name, r in a.items()))
    if args.only in ("aolo", "agents"):
        return write()
    report.update(paper_instance=paper_instance(args.repeats), highs_scaling=scaling(args.max_variables, 1))
    write()
    p = report["paper_instance"]
    print(f"\nGreen-LLM paper instance: {p['variables']} variables, {p['constraints']} constraints")
    print(f"  build (median of {args.repeats}): {p['build_s']:.2f} s")
    print(f"  HiGHS solve: {p['highs_solve_s']:.2f} s (total cost {p['highs_total_cost']:.2f})")
    print(f"  Gurobi: {p.get('gurobi', '%.2f s' % p.get('gurobi_solve_s', float('nan')))}")
    print(f"  3x3x24 instance (fits the pip licence): {p['small_instance_3x3x24']}")
    print("\nHiGHS solve time against size:")
    print(f"  {'variables':>10} {'constraints':>11} {'build s':>8} {'solve s':>8}")
    for row in report["highs_scaling"]:
        print(f"  {row['variables']:>10} {row['constraints']:>11} {row['build_s']:>8.2f} {row['solve_s']:>8.2f}")
    if args.only is None:  # last: the longest part
        report["milp"] = milp_speed(args.milp_repeats, args.milp_time_limit)
        write()
        print_milp(report["milp"])
    print(f"\nwritten to {args.output}")


if __name__ == "__main__":
    main()
