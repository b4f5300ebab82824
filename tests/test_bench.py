"""``make bench``'s entry points run and report what they say, at tiny sizes (the benchmarks themselves are
not timed tests: only their plumbing is checked here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench", ROOT / "scripts" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module
    spec.loader.exec_module(module)
    return module


def test_paper_instance_and_scaling_report_sizes_and_times(bench):
    p = bench.paper_instance(1)
    assert (p["variables"], round(p["highs_total_cost"], 2)) == (9936, 392.08)
    assert p["build_s"] > 0 and p["highs_solve_s"] > 0
    rows = bench.scaling(20_000, 1)  # the first size only: 9 x 9 x 24
    assert [(r["areas"], r["dcs"], r["hours"]) for r in rows] == [(9, 9, 24)]
    assert rows[0]["variables"] == 5 * 9 * 9 * 24 + 9 * 24


def test_env_speed_counts_steps(bench):
    e = bench.env_speed(1, steps=200)
    assert e["raw_steps_per_s"] > 0 and e["wrapper_overhead_ratio"] == pytest.approx(
        e["raw_steps_per_s"] / e["make_steps_per_s"])


def test_sweep_speed_times_serial_and_local_workers(bench):
    w = bench.sweep_speed(n_points=2, n_noop=4)
    assert w["points"] == 6 and w["speedup"] == pytest.approx(w["serial_s"] / w["local_2_workers_s"])
    assert w["overhead_per_task_serial_ms"] > 0 and w["cluster_startup_s"] > 0


def test_interleaved_rates_and_their_ratio(bench, small_hyperparams):
    hp = small_hyperparams(compile=False)
    rates = bench.interleaved_rates({"sac": ("sac", hp), "sdrl": ("sdrl", hp)}, repeats=1, steps=40)
    assert set(rates) == {"sac", "sdrl"} and min(rates.values()) > 0
    assert bench._sac_sdrl(rates)["sdrl_over_sac"] == pytest.approx(rates["sdrl"] / rates["sac"])


def test_agent_speed_reports_each_agent_and_variant(bench):
    a = bench.agent_speed(1, steps=60, algorithms=["sac", "td3"], variants=("default",))
    assert set(a) == {"sac/default", "td3/default"}
    assert a["sac/default"]["over_default_sac"] == 1.0 and a["td3/default"]["steps_per_s"] > 0
