"""The task runner (greenaolo.tasks): serial against local Dask workers, resume after a kill, failures, the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from greenaolo.greenllm.studies import psi_sweep
from greenaolo.tasks import Task, TaskError, point_path, run_tasks
from task_functions import fails_at, noisy_point, slow_logged

TESTS = Path(__file__).parent


def _strip(results):
    return [{k: v for k, v in r.items() if k != "_provenance"} for r in results]


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(_strip(a), _strip(b)):
        assert x.keys() == y.keys()
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], strict=True)


def test_serial_and_two_local_workers_give_the_same_bits():
    tasks = [Task(noisy_point, {"x": x, "seed": s}) for x in (0.1, 1.0 / 3.0, 7.0) for s in (0, 1)]
    serial = run_tasks(tasks, scheduler="serial", progress=False)
    local = run_tasks(tasks, scheduler="local", workers=2, progress=False)
    _assert_same(serial, local)
    np.testing.assert_array_equal(serial[1]["draws"], np.random.default_rng(1).standard_normal(5) * 0.1)
    assert {r["_provenance"]["worker"] for r in serial} == {"serial"}
    workers = {r["_provenance"]["worker"] for r in local}
    assert all(w.startswith("tcp://") for w in workers)
    assert [r["label"] for r in local] == [f"x={t.params['x']}" for t in tasks]  # task order kept


def test_green_llm_sweep_serial_and_on_two_workers_is_the_same_dataset():
    kwargs = dict(models=("M0", "M1"), seed=42)
    serial = psi_sweep("theta", [0.5, 1.5], scheduler="serial", **kwargs)
    local = psi_sweep("theta", [0.5, 1.5], scheduler="local", processes=2, **kwargs)
    timing = [v for v in serial.data_vars if "point_" in v or v.endswith("solve_seconds")]
    xr.testing.assert_identical(serial.drop_vars(timing), local.drop_vars(timing))
    assert set(np.unique(serial.theta_point_worker.values)) == {"serial"}
    assert all(str(w).startswith("tcp://") for w in local.theta_point_worker.values.ravel())
    assert (local.theta_point_seconds > 0).all()


def test_stored_points_are_read_back_bit_for_bit_and_not_recomputed(tmp_path):
    log = tmp_path / "log.txt"
    tasks = [Task(slow_logged, {"x": x, "log": str(log), "seconds": 0.0}) for x in range(4)]
    first = run_tasks(tasks, scheduler="serial", store=tmp_path / "store", progress=False)
    assert len(log.read_text().splitlines()) == 4
    again = run_tasks(tasks, scheduler="local", workers=2, store=tmp_path / "store", progress=False)
    assert len(log.read_text().splitlines()) == 4  # nothing ran again
    _assert_same(first, again)
    assert all("stored" in r["_provenance"] for r in again)
    record = json.loads(point_path(tmp_path / "store", tasks[2]).read_text())
    assert record["params"] == {"x": 2, "log": str(log), "seconds": 0.0} and record["result"] == {"y": 4.0}
    noisy = [Task(noisy_point, {"x": 1.0 / 3.0, "seed": 3})]
    fresh = run_tasks(noisy, scheduler="serial", store=tmp_path / "store", progress=False)
    stored = run_tasks(noisy, scheduler="serial", store=tmp_path / "store", progress=False)
    _assert_same(fresh, stored)
    assert stored[0]["draws"].dtype == np.float64 and isinstance(stored[0]["count"], int)


def test_a_half_written_point_is_never_read_back(tmp_path):
    log = tmp_path / "log.txt"
    tasks = [Task(slow_logged, {"x": x, "log": str(log), "seconds": 0.0}) for x in range(3)]
    run_tasks(tasks, scheduler="serial", store=tmp_path, progress=False)
    path = point_path(tmp_path, tasks[1])
    path.write_text(path.read_text()[: len(path.read_text()) // 2])  # truncated, as a crash mid-write would
    other = point_path(tmp_path, tasks[2])
    record = json.loads(other.read_text())
    record["params"]["x"] = 99  # a file under this name that is not this task's record
    other.write_text(json.dumps(record))
    (tmp_path / ".leftover.json.tmp").write_text("{")
    results = run_tasks(tasks, scheduler="serial", store=tmp_path, progress=False)
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["0", "1", "2", "1", "2"]
    assert [r["y"] for r in results] == [0.0, 1.0, 4.0]
    assert json.loads(path.read_text())["result"] == {"y": 1.0}


@pytest.mark.parametrize("scheduler", ["serial", "local"])
def test_a_failed_point_is_reported_with_its_parameters_and_the_rest_finish(tmp_path, scheduler):
    tasks = [Task(fails_at, {"x": float(x), "bad": 2.0}) for x in range(5)]
    with pytest.raises(TaskError) as info:
        run_tasks(tasks, scheduler=scheduler, workers=2, store=tmp_path, progress=False)
    message = str(info.value)
    assert "1 of 5 sweep points failed" in message
    assert "task_functions.fails_at" in message and '"x":2.0' in message
    assert "ZeroDivisionError: point x=2.0 is broken on purpose" in message and "Traceback" in message
    assert [t.params["x"] for t, _ in info.value.failures] == [2.0]
    done = sorted(json.loads(p.read_text())["params"]["x"] for p in tmp_path.glob("*.json"))
    assert done == [0.0, 1.0, 3.0, 4.0]


def test_a_sweep_killed_halfway_resumes_without_redoing_finished_points(tmp_path):
    log, store = tmp_path / "log.txt", tmp_path / "store"
    n, seconds = 8, 0.4
    script = tmp_path / "sweep.py"
    script.write_text(textwrap.dedent(f"""
        from greenaolo.tasks import Task, run_tasks
        from task_functions import slow_logged
        if __name__ == "__main__":
            run_tasks([Task(slow_logged, {{"x": x, "log": {str(log)!r}, "seconds": {seconds}}}) for x in range({n})],
                      scheduler="serial", store={str(store)!r}, progress=False)
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(script)], env=env)
    deadline = time.monotonic() + 120
    while len(list(store.glob("*.json"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    finished = {json.loads(p.read_text())["params"]["x"] for p in store.glob("*.json")}
    assert 3 <= len(finished) < n
    ran_before = len(log.read_text().splitlines())
    tasks = [Task(slow_logged, {"x": x, "log": str(log), "seconds": seconds}) for x in range(n)]
    results = run_tasks(tasks, scheduler="local", workers=2, store=store, progress=False)
    reran = [int(line.split()[0]) for line in log.read_text().splitlines()[ran_before:]]
    assert sorted(reran) == sorted(set(range(n)) - finished)  # only the unfinished points ran again
    assert [r["y"] for r in results] == [float(x) ** 2 for x in range(n)]
    assert not list(store.glob(".*.tmp"))


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="workers=-1 is out of range"):
        run_tasks([], workers=-1)
    with pytest.raises(TypeError, match=r"task 0 \(builtins.dict\): parameters must be .* type object"):
        run_tasks([Task(dict, {"a": object()})], scheduler="serial", progress=False)
    with pytest.raises(TaskError, match="cannot store a value of type set in a sweep point"):
        run_tasks([Task(dict, {"a": [1, 2]}), Task(_returns_a_set)], scheduler="serial", progress=False)


def _returns_a_set() -> dict:
    return {"a": {1, 2}}


def test_an_existing_cluster_by_its_address_gives_the_serial_results():
    from distributed import LocalCluster

    tasks = [Task(noisy_point, {"x": 2.5, "seed": s}) for s in range(4)]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_tasks(tasks, scheduler=cluster.scheduler_address, progress=False)
        assert {r["_provenance"]["worker"] for r in remote} == set(cluster.scheduler_info["workers"])
        from greenaolo.tasks import close_local_cluster

        close_local_cluster()
    _assert_same(remote, run_tasks(tasks, scheduler="serial", progress=False))


def test_cli_scheduler_option_is_the_notebook_parameter():
    from typer.testing import CliRunner

    from greenaolo.cli import app

    result = CliRunner().invoke(app, ["run", "greenllm_table1", "--scheduler", "tcp://nowhere:8786", "--profile", "quick"])
    assert result.exit_code != 0
    assert "no parameter 'scheduler'" in result.output  # table 1 has no sweep; sweep notebooks take it
    result = CliRunner().invoke(app, ["run", "greenllm_fig2", "-p", "scheduler", "serial"])
    assert result.exit_code != 0 and "set scheduler with --scheduler" in result.output


def test_dask_client_is_the_client_the_runner_uses_and_serial_has_none(monkeypatch):
    from greenaolo.tasks import SCHEDULER_ENV, close_local_cluster, dask_client

    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    with pytest.raises(ValueError, match=r"scheduler='serial' runs tasks in this process and has no Dask client"):
        dask_client("serial")
    with pytest.raises(ValueError, match=r"scheduler='nowhere' is invalid"):
        dask_client("nowhere")
    monkeypatch.setenv(SCHEDULER_ENV, "serial")
    with pytest.raises(ValueError, match=rf"no Dask client.*from {SCHEDULER_ENV}"):
        dask_client()
    monkeypatch.delenv(SCHEDULER_ENV)
    try:
        client = dask_client(workers=1)  # one worker is serial for run_tasks; a client asked for is local
        assert client is dask_client("local", 1)
        workers = set(client.scheduler_info()["workers"])
        assert len(workers) == 1
        result = run_tasks([Task(noisy_point, {"x": 1.0, "seed": 0})], scheduler="local", workers=1, progress=False)
        assert result[0]["_provenance"]["worker"] in workers
    finally:
        close_local_cluster()
