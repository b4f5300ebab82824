"""Bad input gets one clear line that names the parameter, the value and the valid range, and writes nothing."""

from __future__ import annotations

import json
import re
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from greenaolo.cli import app

runner = CliRunner()


def fails_cleanly(args, message, *, cwd=None):
    """The command exits 2 with one line that contains ``message``."""
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output, result.output
    lines = [l for l in result.output.replace("\r", "\n").splitlines() if l.strip() and not l.startswith("Executing")]
    assert len(lines) == 1, result.output  # one line, besides papermill's progress bar
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


# 1. non-finite float parameters --------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_notebook_parameters_are_refused_at_the_check(tmp_path, value):
    fails_cleanly(["run", "greenllm_table2", "-p", "tolerance", value, "--output-dir", tmp_path / "out"],
                  f"parameter tolerance={float(value)!r} is not finite: valid range is float in [0.0, 1.0]")
    assert not (tmp_path / "out").exists()


# 2. the scheduler --------------------------------------------------------------------------------------

@pytest.mark.parametrize("scheduler", ["nosuch", "tcp://host", "host:8786", "tcp://h:99999", " "])
def test_a_bad_scheduler_is_refused_before_any_client(tmp_path, scheduler):
    from greenaolo.tasks import Task, run_tasks

    fails_cleanly(["run", "greenllm_fig2", "--scheduler", scheduler, "--output-dir", tmp_path],
                  f"scheduler={scheduler!r} is invalid: expected '' (local workers), 'serial', 'local' or a Dask")
    with pytest.raises(ValueError, match="is invalid"):
        run_tasks([Task(json.dumps, {"obj": 1})], scheduler=scheduler, store=tmp_path / "points")
    assert not (tmp_path / "points").exists()


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch):
    from greenaolo import tasks

    monkeypatch.setattr(tasks, "CONNECT_SECONDS", 1.0)
    with pytest.raises(tasks.SchedulerError, match=r"cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        tasks.run_tasks([tasks.Task(json.dumps, {"obj": 1})], scheduler="tcp://127.0.0.1:9")


def test_a_cluster_without_workers_says_so_with_what_is_pending():
    from distributed import LocalCluster

    from greenaolo.tasks import Task, TasksStalledWarning, run_tasks

    with LocalCluster(n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=":0") as cluster:
        with warnings.catch_warnings():
            warnings.simplefilter("error", TasksStalledWarning)
            with pytest.raises(TasksStalledWarning, match=r"has no workers; 2 points pending, e.g. .*obj"):
                run_tasks([Task(json.dumps, {"obj": i}) for i in range(2)], scheduler=cluster.scheduler_address,
                          stall_seconds=0.5, progress=False)


# 3. scaling factors and extension values -----------------------------------------------------------------

def test_huge_or_infinite_model_inputs_are_refused():
    fails_cleanly(["greenllm", "solve", "--psi-demand", "1e300"],
                  "psi_demand=1e+300 is out of range: expected a number in [0, 1000]")
    from greenaolo.greenllm.model import Extensions

    with pytest.raises(ValueError, match=r"Extensions.idle_kw=inf is out of range"):
        Extensions(idle_kw=float("inf"))


# 4, 5. greenaolo plot -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from greenaolo.greenllm.studies import scenario_table
    from greenaolo.io import write_dataset

    path = tmp_path_factory.mktemp("figures") / "data" / "greenllm_table1.nc"
    return write_dataset(scenario_table(42), path, profile="quick", figure="greenllm_table1", seeds=[42])


@pytest.mark.parametrize("content, why", [(b"", "empty"), (None, "truncated or not netCDF"),
                                          (b"hello\n", "truncated or not netCDF")])
def test_plot_of_an_unreadable_file_is_one_line(tmp_path, dataset, content, why):
    bad = tmp_path / "bad.nc"
    bad.write_bytes(dataset.read_bytes()[:3000] if content is None else content)
    fails_cleanly(["plot", bad], f"{bad} is not a readable netCDF file ({'empty' if why == 'empty' else ''}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.nc"]


def test_plot_writes_beside_the_dataset_named_after_it(tmp_path, dataset):
    for name in ("a.nc", "b.nc"):
        (tmp_path / name).write_bytes(dataset.read_bytes())
        assert runner.invoke(app, ["plot", str(tmp_path / name)]).exit_code == 0
    assert {p.name for p in tmp_path.glob("*.png")} == {"a.png", "b.png"}  # two plots, two figures
    # In a figures tree, the figure goes where the notebook put it.
    assert runner.invoke(app, ["plot", str(dataset)]).exit_code == 0
    assert (dataset.parent.parent / "greenllm_table1.png").exists()


def test_plot_into_a_folder_that_cannot_be_written_fails_before_drawing(tmp_path, dataset):
    blocker = tmp_path / "file"
    blocker.write_text("")
    fails_cleanly(["plot", dataset, "--output-dir", blocker / "sub"], "or a part of its path, is a file")


# 6. AOLO evaluation size ---------------------------------------------------------------------------------

def test_aolo_evaluate_bounds_the_number_of_requests():
    fails_cleanly(["aolo", "evaluate", "--n-requests", "1000000000"],
                  "n_requests=1000000000 is out of range: expected an integer in [1, 1e+06]")


# 7. AOLO configuration files ------------------------------------------------------------------------------

def test_config_yaml_reads_numbers_written_as_text(tmp_path):
    from greenaolo.aolo.config import AoloConfig

    path = tmp_path / "c.yaml"
    path.write_text("bandwidth: 1e6\nepisode_length: 20\n")
    cfg = AoloConfig.from_yaml(path)
    assert cfg.bandwidth == 1e6 and cfg.episode_length == 20


@pytest.mark.parametrize("content, message", [
    ("bandwidth: fast\n", "c.yaml: AoloConfig.bandwidth='fast' is text, not a number: expected a number in"),
    ("bandwidth: [1\n", "c.yaml: line 2, column 1: not valid YAML"),
    (b"\xff\xfe\x00", "c.yaml is not a UTF-8 text file"),
    (None, "c.yaml is a folder, not a YAML file"),
])
def test_bad_config_files_are_one_line_naming_the_file(tmp_path, content, message):
    path = tmp_path / "c.yaml"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    fails_cleanly(["aolo", "evaluate", "--config", path, "--n-requests", "10"], message)


# 8. numbers from numpy, integers and booleans where the meaning needs them ---------------------------------

def test_numpy_scalars_are_numbers_and_wrong_types_are_type_errors():
    from greenaolo.aolo.config import AoloConfig
    from greenaolo.greenllm.model import Extensions

    cfg = AoloConfig(bandwidth=np.float32(1e6), episode_length=np.int64(20))
    assert json.loads(cfg.to_json())["episode_length"] == 20
    with pytest.raises(TypeError, match="AoloConfig.episode_length=2.5 is not an integer"):
        AoloConfig(episode_length=2.5)
    with pytest.raises(TypeError, match="AoloConfig.streaming='no' has type str: expected True or False"):
        AoloConfig(streaming="no")
    with pytest.raises(TypeError, match="Extensions.servers=2.5 is not an integer"):
        Extensions(servers=2.5)


# 9. the environment's actions ---------------------------------------------------------------------------

@pytest.mark.parametrize("action, message", [
    ([np.nan, 0.0], r"action=\[nan, 0.0\] is not finite"),
    ([0.0, np.inf], r"action=\[0.0, inf\] is not finite"),
    ([0.0, 0.0, 0.0], r"action has shape \(3,\): expected \(2,\)"),
    ([[0.0, 0.0]], r"action has shape \(1, 2\): expected \(2,\)"),
    ("ab", r"action has shape \(\): expected \(2,\)"),
])
def test_the_environment_refuses_non_finite_or_misshapen_actions(action, message):
    import gymnasium

    import greenaolo  # noqa: F401

    env = gymnasium.make("greenaolo/Aolo-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)
    _, reward, *_ = env.step([5.0, -5.0])  # finite values outside [-1, 1] are clipped, as in Gymnasium
    assert np.isfinite(reward)


# 10, 11. hyperparameter files and training budgets -----------------------------------------------------------

@pytest.mark.parametrize("path, value, message", [
    (("profiles", "quick", "eval_every"), 0, "profiles.quick.eval_every=0 is out of range"),
    (("common", "batch_size"), 0, "common.batch_size=0 is out of range"),
    (("common", "learning_rate"), -1e-3, "common.learning_rate=-0.001 is out of range"),
    (("common", "lr"), 1e-3, "unknown key common.lr; valid keys: learning_rate"),
    (("sdrl", "popsan_kwargs", "spike_ts"), 2.5, "sdrl.popsan_kwargs.spike_ts=2.5 is not an integer"),
])
def test_hyperparameter_files_are_checked_before_training(tmp_path, path, value, message):
    import yaml

    from greenaolo.aolo.training import load_hyperparams

    hp = load_hyperparams()
    entry = hp
    for key in path[:-1]:
        entry = entry[key]
    entry[path[-1]] = value
    file = tmp_path / "hp.yaml"
    file.write_text(yaml.safe_dump(hp))
    fails_cleanly(["aolo", "train", "sac", "0", "--profile", "quick", "--hyperparams", file,
                   "--runs-dir", tmp_path / "runs", "--no-progress"], f"{file}: {message}")
    assert not (tmp_path / "runs").exists()


def test_zero_training_steps_is_an_error_not_the_full_budget():
    from greenaolo.aolo.training import train

    with pytest.raises(ValueError, match=r"updates=0 is out of range: expected an integer in \[1"):
        train("sac", 0, updates=0)


# 12. trace files ---------------------------------------------------------------------------------------

def test_unreadable_trace_files_raise_csv_errors_naming_the_file(tmp_path):
    from greenaolo.greenllm.traces import CSVError, load_csv_scenario

    latin = tmp_path / "prices.csv"
    latin.write_bytes("dc,hour,price\nus-central1,0,0.1\xe9\n".encode("latin-1"))
    with pytest.raises(CSVError, match=f"{latin}: not a UTF-8 text file"):
        load_csv_scenario(prices=latin)
    with pytest.raises(CSVError, match=f"{tmp_path}: is a folder, not a CSV file"):
        load_csv_scenario(prices=tmp_path)


def test_prices_in_dollars_per_mwh_get_a_plausibility_warning(tmp_path):
    from greenaolo.greenllm.scenario import paper_scenario
    from greenaolo.greenllm.traces import ImplausibleTraceWarning, load_csv_scenario

    base = paper_scenario(42)
    rows = ["dc,hour,price"] + [f"{dc},{h},{1000 * float(base.price.sel(dc=dc, time=h)):.6f}"
                                for dc in base.dc.values for h in range(base.sizes["time"])]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.warns(ImplausibleTraceWarning, match=r"look like \$/MWh"):
        load_csv_scenario(prices=path)



def test_a_demand_no_trace_can_mean_is_refused_before_the_model(tmp_path):
    from greenaolo.greenllm.scenario import paper_scenario
    from greenaolo.greenllm.traces import CSVError, load_csv_scenario

    base = paper_scenario(42)
    rows = ["area,query,hour,demand"] + [f"{a},{q},{h},1e30" for a in base.area.values for q in base["query"].values
                                         for h in range(base.sizes["time"])]
    path = tmp_path / "demand.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(CSVError, match=r"demand.csv: demand up to 1e\+30 queries per hour, above the 1e\+09"):
        load_csv_scenario(demand=path)


# 13. infeasible settings say which constraint cannot hold ----------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["--psi-demand", "100"], "resource capacity (constraint 7): in hour"),
    (["--psi-water", "0"], "water budget (constraint 6): Z = 0 L is below the least water any allocation uses, 3778"),
])
def test_infeasible_settings_name_the_constraint_family(args, message):
    fails_cleanly(["greenllm", "solve", *args], message)


# 14. options that would be ignored ----------------------------------------------------------------------------

def test_options_that_would_be_ignored_are_errors_or_notes(tmp_path):
    fails_cleanly(["greenllm", "solve", "--model", "M1", "--lexicographic", "energy,delay,carbon"],
                  "--model and --lexicographic exclude each other")
    fails_cleanly(["greenllm", "solve", "--tolerance", "0.1"], "--tolerance applies to --lexicographic only")
    fails_cleanly(["run", "greenllm_table1", "-p", "seed", "1", "-p", "seed", "2"], "parameter seed is given twice")
    from greenaolo.notebooks import capped_parameters

    assert capped_parameters("greenllm_fig1", {"n_points": "50"}, "quick") == [
        "n_points=50 is capped to 3 in the quick profile (the full profile runs it as given)"]
    assert capped_parameters("greenllm_fig1", {"n_points": "50"}, "full") == []


# Faults -------------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("processes", ["1", "0"])  # in the notebook's process, and on local Dask workers
def test_sigint_during_a_run_is_one_line(tmp_path, processes):
    proc = subprocess.Popen([sys.executable, "-m", "greenaolo", "run", "greenllm_fig1", "--profile", "quick",
                             "-p", "processes", processes, "--output-dir", str(tmp_path / "out"),
                             "--executed-dir", str(tmp_path / "ex")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(8)  # the kernel is up and the sweep has started
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2, (out, err)
    assert "Traceback" not in err and "zmq" not in err and "never retrieved" not in err
    assert "error: interrupted: greenllm_fig1 did not finish" in err
    # The state left behind says so: the executed notebook is marked interrupted (papermill alone records every
    # cell completed), no figure was written, and the report refuses the page in one line.
    import nbformat

    from greenaolo.report import ReportError, build_report, finished

    executed = tmp_path / "ex" / "greenllm_fig1.ipynb"
    nb = nbformat.read(executed, as_version=4)
    assert nb.metadata["greenaolo"]["status"] == "interrupted" and nb.metadata["papermill"]["exception"]
    assert not finished(executed)
    assert not (tmp_path / "out" / "greenllm_fig1.png").exists()
    readme = tmp_path / "README.md"
    readme.write_text("## Figures and tables\n| `greenllm_fig1` | `greenllm_fig1` | claim | finding |\n## End\n")
    with pytest.raises(ReportError, match="did not finish \\(interrupted or failed\\): greenllm_fig1"):
        build_report(tmp_path / "ex", tmp_path / "out" / "data", tmp_path / "report", readme=readme)


def test_a_folder_that_cannot_be_written_fails_before_the_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    started = time.perf_counter()
    fails_cleanly(["run", "greenllm_table2", "--output-dir", blocker / "figures"], "or a part of its path, is a file")
    fails_cleanly(["aolo", "train", "sac", "0", "--profile", "quick", "--runs-dir", blocker / "runs"],
                  "or a part of its path, is a file")
    fails_cleanly(["greenllm", "solve", "-o", blocker / "x.nc"], "or a part of its path, is a file")
    assert time.perf_counter() - started < 20  # nothing was solved or trained first


def test_an_interrupted_figure_leaves_no_pdf_without_its_png(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from greenaolo.plotting import save_figure

    fig = plt.figure()
    save_figure(fig, "f", tmp_path)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    fig = plt.figure()
    monkeypatch.setattr(fig, "savefig", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_figure(fig, "f", tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before  # the old pair, untouched


def test_a_failing_cell_is_one_line_naming_the_cell_and_the_error(tmp_path):
    import json as json_

    from greenaolo.notebooks import NOTEBOOKS

    nb = json_.loads(NOTEBOOKS["greenllm_table1"].path.read_text())
    nb["cells"][-1]["source"] = ["1 / 0"]
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json_.dumps(nb))
    result = fails_cleanly(["run", broken, "--profile", "quick", "--output-dir", tmp_path / "out",
                            "--executed-dir", tmp_path / "ex"], "broken.ipynb failed in cell [")
    assert "ZeroDivisionError: division by zero" in result.output and str(tmp_path / "ex") in result.output


def test_unreadable_hyperparameter_files_are_one_line_naming_the_file(tmp_path):
    bad = tmp_path / "hp.yaml"
    bad.write_text("common: [1\n")
    fails_cleanly(["aolo", "train", "sac", "0", "--hyperparams", bad, "--runs-dir", tmp_path / "runs"],
                  f"{bad}: line 2, column 1: not valid YAML")
    fails_cleanly(["aolo", "train", "sac", "0", "--hyperparams", tmp_path, "--runs-dir", tmp_path / "runs"],
                  f"{tmp_path} is a folder, not a YAML file")
    assert not (tmp_path / "runs").exists()


def test_sizes_are_refused_before_allocating_with_the_estimate(monkeypatch):
    """Sizes whose memory would exceed the bound fail at once (not at numpy's MemoryError after minutes), and
    the bound is what the message says."""
    import copy

    from greenaolo import checks
    from greenaolo.aolo.training import HyperparameterError, load_hyperparams, validate_hyperparams
    from greenaolo.greenllm.model import BYTES_PER_ALLOCATION, build_model
    from greenaolo.greenllm.scenario import synthetic_scenario

    started = time.perf_counter()
    with pytest.raises(checks.TooLargeError, match=r"synthetic_scenario\(10000, 10000, 8760, n_query=5\) would need "
                                                   r"about [0-9.,]+ GiB of memory, above the bound of"):
        synthetic_scenario(10000, 10000, 8760)
    hp = load_hyperparams()
    for key, value in (("buffer_size", 10**12), ("net_arch", [100000, 100000])):
        bad = copy.deepcopy(hp)
        bad["common"][key] = value
        with pytest.raises(HyperparameterError, match=r"x.yaml: sac with .* would need about .* GiB"):
            validate_hyperparams(bad, "x.yaml")
    assert time.perf_counter() - started < 5  # refused, not attempted
    # The bound is the stated fraction of the machine's memory: a model just above it is refused, below built.
    small = synthetic_scenario(2, 2, 2)
    n = 2 * 2 * small.sizes["query"] * 2
    monkeypatch.setattr(checks, "memory_bound", lambda: BYTES_PER_ALLOCATION * n - 1)
    with pytest.raises(checks.TooLargeError, match=f"{n:,} allocation variables"):
        build_model(small)
    monkeypatch.setattr(checks, "memory_bound", lambda: BYTES_PER_ALLOCATION * n)
    build_model(small)


def test_outputs_that_are_devices_are_refused_and_links_written_through(tmp_path):
    from greenaolo.io import atomic_path

    if os.path.exists("/dev/full"):
        fails_cleanly(["greenllm", "solve", "-o", "/dev/full"], "is not a regular file")
        assert Path("/dev/full").is_char_device()  # still the device
        with pytest.raises(OSError, match="is not a regular file"):
            with atomic_path("/dev/full") as tmp:
                tmp.write_text("x")
    target = tmp_path / "real.nc"
    link = tmp_path / "link.nc"
    link.symlink_to(target)
    done = subprocess.run([sys.executable, "-m", "greenaolo", "greenllm", "solve", "-o", str(link)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert link.is_symlink() and target.is_file() and "through the link" in done.stdout


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("mount"), reason="mounting a small tmpfs needs root")
def test_a_full_disk_is_named_and_nothing_is_replaced(tmp_path):
    import numpy as np
    import xarray as xr

    from greenaolo.io import DiskFullError, write_dataset

    disk = tmp_path / "small"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        path = disk / "x.nc"
        small = xr.Dataset({"v": ("i", np.zeros(10), {"units": "1"})})
        write_dataset(small, path, profile="quick", figure="x", seeds=[0])
        before = path.read_bytes()
        big = xr.Dataset({"v": ("i", np.random.default_rng(0).random(100_000), {"units": "1"})})  # 800 kB
        with pytest.raises(DiskFullError, match=r"disk full: writing .*x.nc failed .* nothing was replaced"):
            write_dataset(big, path, profile="quick", figure="x", seeds=[0])
        assert path.read_bytes() == before  # the old file, whole
        assert [p.name for p in disk.iterdir()] == ["x.nc"]  # no temporary left
    finally:
        subprocess.run(["umount", str(disk)])


@pytest.mark.slow
def test_a_cluster_without_workers_is_said_in_the_terminal_at_once(tmp_path):
    """`aolo tune` and `run` on a scheduler with no worker say what they wait for within seconds, and how to
    stop; nothing is started until a worker comes."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                  "--port", str(port), "--no-dashboard"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
    address = f"tcp://127.0.0.1:{port}"
    try:
        time.sleep(3)
        for args in (["aolo", "tune", "sac", "--profile", "quick", "--trials", "1", "--storage", str(tmp_path)],
                     ["run", "greenllm_fig2", "--profile", "quick", "--output-dir", str(tmp_path / "out"),
                      "--executed-dir", str(tmp_path / "ex")]):
            started = time.monotonic()
            proc = subprocess.Popen([sys.executable, "-m", "greenaolo", *args, "--scheduler", address],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = proc.stderr.readline()
            elapsed = time.monotonic() - started
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=60)
            assert f"waiting for a worker at {address}" in line and "Ctrl-C" in line, line + err
            assert elapsed < 30, elapsed  # said at once (the rest is the interpreter's start)
            assert proc.returncode == 2 and "nothing was run" in err
            assert not (tmp_path / "sac.journal").exists() and not (tmp_path / "ex").exists()
    finally:
        scheduler.kill()
        scheduler.wait()


@pytest.mark.parametrize("variable, value, message", [
    ("GREENAOLO_SCHEDULER", "bogus", "GREENAOLO_SCHEDULER: scheduler='bogus' is invalid"),
    ("GREENAOLO_TORCH_COMPILE", "maybe", "GREENAOLO_TORCH_COMPILE='maybe' is invalid: expected 0 or 1"),
    ("MPLBACKEND", "nonsense", "MPLBACKEND='nonsense' is not a matplotlib backend"),
    ("GREENAOLO_OUTPUT_DIR", "", "GREENAOLO_OUTPUT_DIR is set but empty"),
])
def test_a_bad_environment_variable_is_one_line_before_any_work(variable, value, message, tmp_path):
    done = subprocess.run([sys.executable, "-m", "greenaolo", "run", "greenllm_table1", "--profile", "quick",
                           "--output-dir", str(tmp_path / "out"), "--executed-dir", str(tmp_path / "ex")],
                          capture_output=True, text=True, timeout=120, env={**os.environ, variable: value})
    assert done.returncode == 2 and done.stderr.strip() == f"error: {done.stderr.strip()[7:]}"
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "ex").exists()


def test_a_day_with_interpolated_hours_says_so_and_the_dataset_records_it(tmp_path):
    from greenaolo.greenllm.carbon import _raw_year
    from greenaolo.greenllm.scenario import paper_scenario

    raw = _raw_year()[1]  # (dc, hour) with NaN where the data has no value
    day = 2  # 2024-01-03
    missing = int(np.isnan(raw[:, day * 24:(day + 1) * 24]).sum())
    assert missing > 0
    assert paper_scenario(42, day="2024-01-03").attrs["carbon_intensity_filled_hours"] == missing
    assert paper_scenario(42, day="2024-03-24").attrs["carbon_intensity_filled_hours"] == 0
    out = tmp_path / "d.nc"
    done = subprocess.run([sys.executable, "-m", "greenaolo", "greenllm", "solve", "--date", "2024-01-03", "--solver",
                           "highs", "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and f"note: {missing} of the day's 216 (DC, hour) carbon intensities are " \
                                   "interpolated" in done.stderr
    import xarray as xr

    with xr.open_dataset(out) as ds:
        assert ds.attrs["carbon_intensity_filled_hours"] == missing


@pytest.mark.parametrize("days, message", [
    (["2024-01-02", "2024-01-02"], "days repeat 2024-01-02: give each day once"),
    (["2024-01-03", "2024-01-02"], "days are not in order (2024-01-03 comes before an earlier day)"),
    ([], "days=[] is empty"),
])
def test_year_study_days_are_refused_when_repeated_unsorted_or_empty(days, message):
    from greenaolo.greenllm.year import year_study

    with pytest.raises(ValueError, match=re.escape(message)):
        year_study(days, scheduler="serial")


def test_a_second_make_reproduce_in_one_checkout_says_so_and_stops(tmp_path):
    """Two make reproduce at once: the second stops at once, naming the lock (nothing of it runs)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".venv" / ".installed").is_file() or not shutil.which("flock"):
        pytest.skip("needs make setup's .venv and flock")
    (root / "build").mkdir(exist_ok=True)
    holder = subprocess.Popen(["flock", str(root / "build" / "reproduce.lock"), "sleep", "30"])
    try:
        time.sleep(0.5)
        started = time.monotonic()
        done = subprocess.run(["make", "--no-print-directory", "reproduce", "PROFILE=quick"], cwd=root,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and "make reproduce is already running in this checkout" in done.stdout
        assert time.monotonic() - started < 20
    finally:
        holder.kill()
        holder.wait()
    bogus = subprocess.run(["make", "--no-print-directory", "reproduce", "PROFILE=nonsense"], cwd=root,
                           capture_output=True, text=True, timeout=60)
    assert bogus.returncode != 0 and "PROFILE=nonsense is not a profile" in bogus.stderr
    assert (root / "build" / "profile").read_text().strip() in ("quick", "full") if (root / "build" / "profile").exists() else True


@pytest.mark.slow
def test_a_long_run_without_a_progress_bar_says_it_is_running(tmp_path, monkeypatch):
    """Without a terminal (make's log) a notebook or a training run prints a line every few seconds while it
    works, so the log never goes quiet."""
    import greenaolo.cli as cli

    monkeypatch.setattr(cli, "HEARTBEAT_SECONDS", 0.5)
    result = runner.invoke(app, ["run", "greenllm_table2", "--profile", "quick", "--output-dir", str(tmp_path / "out"),
                                 "--executed-dir", str(tmp_path / "ex")])
    assert result.exit_code == 0, result.output
    beats = [line for line in result.output.splitlines() if line.startswith("greenllm_table2: running (")]
    assert len(beats) >= 2, result.output
    assert f"figure {tmp_path / 'out' / 'greenllm_table2.png'}" in result.output  # and where the figure went


@pytest.mark.slow
def test_make_reproduce_passes_each_line_on_while_the_notebook_runs(tmp_path):
    """make reproduce in a checkout (here: its files linked into an empty folder, so this checkout's build/
    is left alone) with one notebook of about 20 s, the quick MILP: its "running (8 s)" line arrives while
    it still runs, not with its last line, and no progress bar is drawn into the log."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".venv" / ".installed").is_file() or not shutil.which("flock"):
        pytest.skip("needs make setup's .venv and flock")
    for name in ("Makefile", "pyproject.toml", "requirements.lock", "notebooks", "greenaolo", ".venv"):
        (tmp_path / name).symlink_to(root / name)
    proc = subprocess.Popen(["make", "--no-print-directory", "reproduce", "PROFILE=quick", "FIGURE_NOTEBOOKS=greenllm_milp"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
    arrivals = [(time.monotonic(), line) for line in proc.stdout]
    assert proc.wait(timeout=600) == 0, "".join(line for _, line in arrivals)[-3000:]
    log = "".join(line for _, line in arrivals)
    beats = [at for at, line in arrivals if line.startswith("greenllm_milp: running (")]
    assert beats and arrivals[-1][0] - beats[0] > 3, log
    assert "Executing:" not in log and (tmp_path / "figures" / "greenllm_milp.png").is_file(), log


@pytest.mark.slow
def test_greenaolo_run_starts_without_building_jsonschemas_iri_grammar(tmp_path):
    """papermill's import would build rfc3987_syntax's Lark grammar (0.9 s a notebook); greenaolo run skips it
    and the notebook still runs and validates."""
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom greenaolo.cli import app\n"
            f"r = CliRunner().invoke(app, ['run', 'greenllm_table1', '--profile', 'quick', '--output-dir', {str(tmp_path)!r},"
            f" '--executed-dir', {str(tmp_path / 'ex')!r}, '--no-progress'])\n"
            "print(r.exit_code, 'jsonschema' in sys.modules, 'rfc3987_syntax.syntax_helpers' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["0", "True", "False"], done.stdout + done.stderr[-2000:]
    import nbformat

    nbformat.validate(nbformat.read(tmp_path / "ex" / "greenllm_table1.ipynb", as_version=4))


def test_a_model_save_killed_mid_write_leaves_nothing_the_next_write_keeps(tmp_path):
    """SB3 appends .zip to the temporary name it is given: a save killed mid-write leaves
    .NAME.PID.XXXX.zip; the next write of that model removes it (a live writer's is kept)."""
    from greenaolo.io import atomic_path

    model = tmp_path / "sac_default_seed0.zip"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process id that no longer runs
    stale = tmp_path / f".{model.name}.{dead.pid}.abcd.zip"
    stale.write_bytes(b"half a model")
    live = tmp_path / f".{model.name}.{os.getpid()}.efgh.zip"
    live.write_bytes(b"being written")
    with atomic_path(model) as tmp:
        tmp.write_bytes(b"model")
    assert not stale.exists() and live.exists() and model.read_bytes() == b"model"


@pytest.mark.slow
def test_the_report_never_pairs_a_notebook_with_another_runs_dataset(tmp_path):
    """An executed notebook records the creation stamp of the dataset it wrote; a dataset rewritten later by
    another run is refused by the report, naming both files."""
    import xarray as xr

    from greenaolo.io import read_dataset, write_dataset
    from greenaolo.notebooks import run_notebook
    from greenaolo.report import ReportError, build_report

    out, ex = tmp_path / "out", tmp_path / "ex"
    run_notebook("greenllm_table1", profile="quick", output_dir=out, executed_dir=ex, progress=False)
    dataset = out / "data" / "greenllm_table1.nc"
    ds = read_dataset(dataset)
    time.sleep(1.1)  # a later run: another creation stamp
    write_dataset(xr.Dataset(ds.data_vars), dataset, profile="quick", figure="greenllm_table1", seeds=[42])
    readme = tmp_path / "README.md"
    readme.write_text("## Figures and tables\n| `greenllm_table1` | `greenllm_table1` | claim | finding |\n## End\n")
    with pytest.raises(ReportError, match="greenllm_table1.nc was written by another run than .*greenllm_table1.ipynb"):
        build_report(ex, out / "data", tmp_path / "report", readme=readme)
