"""The task runner: independent calls (sweep points, training runs) run serially, on local Dask workers or on yours.

A sweep is a list of :class:`Task` (a picklable function and its keyword parameters; any seed is one of
the parameters, so every point is deterministic). :func:`run_tasks` runs them

* ``scheduler="serial"``: one after the other in this process, the reference;
* ``scheduler=None`` or ``"local"``: on a ``dask.distributed.LocalCluster`` of ``workers`` single-threaded
  worker processes (default: one per core), started once per process and reused;
* ``scheduler="tcp://host:8786"`` (any other string): on that existing Dask cluster, through the same code
  path. Its workers need this package and its dependencies installed at the same version.

Scheduling is Dask's; the runner only submits, gathers and keeps results in the order of the tasks, with
one progress bar for the whole sweep. A failed point does not stop the others: they all finish (and are
stored), then :class:`TaskError` lists each failed point with its parameters and traceback.

With a ``store`` folder, each finished point is written there at once, atomically (a temporary file renamed
into place), as JSON with its result and provenance (worker, host, process, start time, seconds); the
client writes it, so the cluster needs no shared disk. Running the sweep again reads the finished points
back and computes only the others, so a sweep killed halfway resumes. A point's file name is a hash of the
function, its parameters and the package's source code, so a point computed by other code is never reused.
JSON keeps floats exactly (shortest round-trip repr), so stored and fresh results are the same bits.

Other code that needs a Dask client (a benchmark timing the cluster's start-up, the tuner)
gets the same one the runner uses from :func:`dask_client`.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import json
import logging
import os
import socket
import re
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tqdm.auto import tqdm

import greenaolo
from greenaolo.io import atomic_path

if TYPE_CHECKING:
    import distributed

__all__ = [
    "SCHEDULER_ENV",
    "SchedulerError",
    "Task",
    "TaskError",
    "TasksStalledWarning",
    "check_scheduler",
    "resolve_scheduler",
    "close_local_cluster",
    "dask_client",
    "point_path",
    "run_tasks",
    "source_hash",
]

#: Default scheduler when none is passed (``serial``, ``local`` or an address), e.g. for ``make reproduce``.
SCHEDULER_ENV = "GREENAOLO_SCHEDULER"
FORMAT = 1
#: A Dask scheduler's address: protocol, host and port.
ADDRESS = re.compile(r"(tcp|tls)://[^\s:/]+:[0-9]{1,5}")
#: Seconds to connect to a scheduler given by address.
CONNECT_SECONDS = 20.0
#: Seconds without a finished point after which a sweep on a cluster with no workers says so (and keeps waiting).
STALL_SECONDS = 10.0
#: Seconds between the lines :func:`wait_for_workers` prints while a cluster has no worker.
WAIT_SAY_SECONDS = 10.0


class SchedulerError(RuntimeError):
    """The Dask scheduler given by address cannot be reached."""


class TasksStalledWarning(UserWarning):
    """A sweep is waiting on a cluster that has no workers."""


def check_scheduler(scheduler: str | None) -> str | None:
    """Return ``scheduler`` if it is a valid choice (``None`` or ``""``: the default; ``"serial"``, ``"local"``
    or ``tcp://host:port``), else raise a ValueError that says what is valid. Checked before any client is
    built."""
    if scheduler is None or scheduler == "":
        return scheduler
    if not isinstance(scheduler, str):
        raise ValueError(f"scheduler={scheduler!r} is invalid: expected '' (local workers), 'serial', 'local' "
                         "or a Dask scheduler address tcp://host:port")
    text = scheduler.strip()
    if text in ("serial", "local") or ADDRESS.fullmatch(text) and int(text.rsplit(":", 1)[1]) <= 65535:
        return text
    raise ValueError(f"scheduler={scheduler!r} is invalid: expected '' (local workers), 'serial', 'local' or a "
                     "Dask scheduler address tcp://host:port")


@dataclasses.dataclass(frozen=True)
class Task:
    """One point of a sweep: ``fn(**params)``.

    :param fn: a module-level function (Dask pickles it by reference), returning a mapping of numbers,
        strings and numpy arrays.
    :param params: its keyword arguments; plain values or dataclasses (they go into the point's hash and
        its provenance).
    """

    fn: Callable[..., Mapping[str, Any]]
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def function(self) -> str:
        return f"{self.fn.__module__}.{self.fn.__qualname__}"

    @functools.cached_property
    def canonical(self) -> str:
        """The parameters as canonical JSON (the point's identity); ``TypeError`` for values it cannot hold."""
        return _canonical(self.params)

    def describe(self) -> str:
        try:
            return f"{self.function}({self.canonical})"
        except TypeError:
            return f"{self.function}({self.params!r})"


class TaskError(RuntimeError):
    """Some tasks failed; the others finished. ``failures``: (task, traceback) pairs."""

    def __init__(self, failures: Sequence[tuple[Task, str]], n_tasks: int):
        self.failures = list(failures)
        lines = [f"{len(self.failures)} of {n_tasks} sweep points failed (the others finished):"]
        for task, tb in self.failures:
            lines.append(f"--- {task.describe()}\n{tb.rstrip()}")
        super().__init__("\n".join(lines))


def _plain(value: Any) -> Any:
    """A JSON-able form of parameters and results that round-trips the values exactly."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"__dataclass__": type(value).__qualname__, **{f.name: _plain(getattr(value, f.name))
                                                              for f in dataclasses.fields(value)}}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": _plain(value.tolist()), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot store a value of type {type(value).__name__} in a sweep point: {value!r}")


def _restore(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" in value:
            return np.array(value["__ndarray__"], dtype=np.dtype(value["dtype"])).reshape(value["shape"])
        return {k: _restore(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v) for v in value]
    return value


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(_plain(params), sort_keys=True, allow_nan=True, separators=(",", ":"))


_SOURCE_HASH: list[str] = []


def source_hash() -> str:
    """SHA-256 (16 hex digits) of every ``.py``, ``.yaml``, ``.csv`` and ``.gz`` (data) file of the installed package."""
    if not _SOURCE_HASH:
        root = Path(greenaolo.__file__).parent
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.suffix in (".py", ".yaml", ".csv", ".gz") and p.is_file()):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
        _SOURCE_HASH.append(digest.hexdigest()[:16])
    return _SOURCE_HASH[0]


def point_path(store: str | os.PathLike, task: Task) -> Path:
    """Where ``task``'s result lives in ``store``."""
    key = hashlib.sha256(f"{task.function}\n{task.canonical}\n{source_hash()}".encode()).hexdigest()[:24]
    return Path(store) / f"{task.fn.__name__}-{key}.json"


def _execute(task: Task) -> dict[str, Any]:
    """Run one task where it is scheduled; return its result and provenance (as JSON-able values)."""
    started = time.time()
    t0 = time.perf_counter()
    result = task.fn(**task.params)
    seconds = time.perf_counter() - t0
    worker = "serial"
    try:
        from distributed import get_worker

        worker = get_worker().address
    except (ImportError, ValueError):
        pass
    return {
        "result": _plain(dict(result)),
        "provenance": {"worker": worker, "host": socket.gethostname(), "pid": os.getpid(),
                       "started": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
                       "seconds": seconds, "greenaolo_version": greenaolo.__version__},
    }


def _read_point(path: Path, task: Task) -> dict[str, Any] | None:
    """A finished point's record, or ``None`` if it is missing or not a complete record of this task."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (not isinstance(record, dict) or record.get("format") != FORMAT or record.get("function") != task.function
            or record.get("params") != json.loads(task.canonical) or "result" not in record):
        return None
    return record


def _write_point(path: Path, task: Task, record: dict[str, Any]) -> None:
    full = {"format": FORMAT, "function": task.function, "params": json.loads(task.canonical),
            "source_hash": source_hash(), **record}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(full, allow_nan=True, indent=1), encoding="utf-8")


_LOCAL: dict[str, Any] = {}
_REMOTE: dict[str, Any] = {}


def close_local_cluster() -> None:
    """Shut down the local cluster :func:`run_tasks` started, if any, and close its clients of remote
    schedulers."""
    client, cluster = _LOCAL.pop("client", None), _LOCAL.pop("cluster", None)
    _LOCAL.clear()
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()
    while _REMOTE:
        _REMOTE.popitem()[1].close()


atexit.register(close_local_cluster)


def dask_client(scheduler: str | None = None, workers: int | None = None) -> distributed.Client:
    """The Dask client :func:`run_tasks` runs on for ``scheduler`` and ``workers``, connected now.

    The scheduler is resolved as :func:`run_tasks` resolves it (the argument, else the environment variable
    ``GREENAOLO_SCHEDULER``, else a local cluster): ``"local"`` starts (or reuses) this process's
    ``LocalCluster`` of ``workers`` single-threaded processes, an address connects to that scheduler. The
    client is the process's shared one: later sweeps run on it, so callers do not close it;
    :func:`close_local_cluster` (also run at exit) does. For a benchmark timing the cluster's start-up
    apart, or code that needs a client of its own kind of work (the tuner's workers).

    :param scheduler: ``None`` or ``""`` (the default), ``"local"`` or a Dask scheduler address ``tcp://host:port``.
    :param workers: local worker processes (``0`` or ``None``: one per core); ignored with an address.
    :raises ValueError: for an invalid ``scheduler`` or ``workers``, and for ``"serial"`` (it has no client).
    :raises SchedulerError: if the scheduler at that address cannot be reached.
    """
    resolved, workers = resolve_scheduler(scheduler, workers)
    if resolved == "serial":
        if check_scheduler(scheduler) or check_scheduler(os.environ.get(SCHEDULER_ENV)):
            raise ValueError(f"scheduler={resolved!r} runs tasks in this process and has no Dask client: expected "
                             f"'' (local workers), 'local' or a Dask scheduler address tcp://host:port (from "
                             f"{'the argument' if check_scheduler(scheduler) else SCHEDULER_ENV})")
        resolved = "local"  # one worker by default is serial for run_tasks; a client asked for is a local cluster
    return _client(resolved, workers)


def wait_for_workers(scheduler: str, say: Callable[[str], None], *, every: float = WAIT_SAY_SECONDS,
                     timeout: float | None = None) -> int:
    """Before work is sent to the cluster at ``scheduler`` (an address): while it has no worker, say so, at
    once and then every ``every`` seconds (what it waits for, how to stop), so a run never waits without a word.

    :param say: where the lines go (the terminal: ``typer.echo`` to stderr).
    :param timeout: give up after this long (``None``: wait until interrupted).
    :returns: the number of workers found.
    :raises SchedulerError: the scheduler cannot be reached, or ``timeout`` passed with no worker.
    """
    client = _client(scheduler, 0)
    started = last = time.monotonic()
    said = False
    while True:
        workers = len(client.scheduler_info().get("workers", {}))
        if workers:
            if said:
                say(f"{workers} worker(s) connected to {scheduler}: starting")
            return workers
        now = time.monotonic()
        if not said or now - last >= every:
            say(f"waiting for a worker at {scheduler} ({now - started:.0f} s): start one with `dask worker "
                f"{scheduler}`, or press Ctrl-C to stop")
            said, last = True, now
        if timeout is not None and now - started > timeout:
            raise SchedulerError(f"no worker connected to {scheduler} within {timeout:.0f} s")
        time.sleep(0.2)


def _client(scheduler: str, workers: int) -> distributed.Client:
    from distributed import Client, LocalCluster

    if scheduler != "local":
        if scheduler not in _REMOTE or _REMOTE[scheduler].status != "running":
            try:
                _REMOTE[scheduler] = Client(scheduler, set_as_default=False, timeout=CONNECT_SECONDS)
            except (OSError, TimeoutError) as err:
                raise SchedulerError(f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_SECONDS:.0f} s "
                                     f"({type(err).__name__}: {err}); is `dask scheduler` running there?") from None
        return _REMOTE[scheduler]
    if _LOCAL.get("workers") != workers:
        close_local_cluster()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.CRITICAL)
        _LOCAL.update(cluster=cluster, client=Client(cluster, set_as_default=False), workers=workers)
    return _LOCAL["client"]


def resolve_scheduler(scheduler: str | None, workers: int | None) -> tuple[str, int]:
    """Where :func:`run_tasks` runs for ``scheduler`` and ``workers``: ``("serial" | "local" | address,
    workers)`` (the argument, else ``GREENAOLO_SCHEDULER``, else serial for one worker and local otherwise).

    :raises ValueError: for an invalid ``scheduler`` or ``workers``.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise ValueError(f"workers={workers!r} is out of range: expected an integer >= 0 (0: one per core)")
    workers = workers or os.cpu_count() or 1
    scheduler = check_scheduler(scheduler) or check_scheduler(os.environ.get(SCHEDULER_ENV)) or None
    if scheduler is None:
        scheduler = "serial" if workers == 1 else "local"
    return scheduler, workers


def run_tasks(
    tasks: Iterable[Task],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    store: str | os.PathLike | None = None,
    desc: str = "sweep",
    progress: bool = True,
    stall_seconds: float = STALL_SECONDS,
) -> list[dict[str, Any]]:
    """Run every task; return their results in the order of ``tasks``.

    :param scheduler: ``"serial"``, ``"local"`` or a Dask scheduler address; default: the environment
        variable ``GREENAOLO_SCHEDULER``, else ``"serial"`` for ``workers=1`` and ``"local"`` otherwise.
    :param workers: local worker processes (``0`` or ``None``: one per core); ignored with an address.
    :param store: folder of finished points (resume); ``None`` keeps nothing on disk.
    :param stall_seconds: on a cluster, after this long without a finished point and with no worker
        connected, warn (:class:`TasksStalledWarning`) with the points still pending, and keep waiting.
    :returns: each task's result mapping, plus ``"_provenance"`` (worker, host, pid, started, seconds,
        greenaolo_version, and ``stored`` when it was read back from ``store``).
    :raises TaskError: after every other point finished, if any point failed.
    :raises ValueError: for an invalid ``scheduler`` (before anything runs).
    :raises SchedulerError: if the scheduler at that address cannot be reached.
    """
    tasks = list(tasks)
    scheduler, workers = resolve_scheduler(scheduler, workers)
    for i, task in enumerate(tasks):
        try:
            task.canonical  # noqa: B018 - computed once per task, here, so a value the store cannot hold fails before any work
        except TypeError as err:
            raise TypeError(f"task {i} ({task.function}): parameters must be numbers, strings, lists, mappings, "
                            f"numpy arrays or dataclasses of those: {err}") from None
    records: list[dict[str, Any] | None] = [None] * len(tasks)
    paths = [point_path(store, t) for t in tasks] if store is not None else [None] * len(tasks)
    for i, (task, path) in enumerate(zip(tasks, paths)):
        if path is not None and (record := _read_point(path, task)) is not None:
            record["provenance"]["stored"] = str(path)
            records[i] = record
    todo = [i for i, r in enumerate(records) if r is None]
    failures: list[tuple[int, str]] = []
    bar = tqdm(total=len(tasks), initial=len(tasks) - len(todo), desc=desc, unit="point", disable=not progress)

    def finish(i: int, record: dict[str, Any]) -> None:
        if paths[i] is not None:
            _write_point(paths[i], tasks[i], record)
        records[i] = record
        bar.update()

    try:
        if todo and scheduler == "serial":
            for i in todo:
                try:
                    record = _execute(tasks[i])
                except Exception:
                    failures.append((i, traceback.format_exc()))
                    bar.update()
                    continue
                finish(i, record)
        elif todo:
            from distributed import as_completed

            client = _client(scheduler, workers)
            futures = {client.submit(_execute, tasks[i], pure=False, key=f"{desc}-{i}-{time.time_ns()}"): i
                       for i in todo}
            pending = set(futures)
            ready = as_completed(list(futures), loop=client.loop)
            last = time.monotonic()
            try:
                while pending:
                    done = ready.next_batch(block=False)
                    if not done:
                        if time.monotonic() - last > stall_seconds:
                            last = time.monotonic()
                            if not client.scheduler_info().get("workers"):
                                waiting = sorted(futures[f] for f in pending)
                                warnings.warn(TasksStalledWarning(
                                    f"{desc}: no point finished for {stall_seconds:.0f} s and the cluster at "
                                    f"{scheduler} has no workers; {len(waiting)} points pending, e.g. "
                                    f"{tasks[waiting[0]].describe()}. Start workers (dask worker ADDRESS) or "
                                    "interrupt: finished points are kept."), stacklevel=2)
                        time.sleep(0.02)
                        continue
                    last = time.monotonic()
                    for future in done:
                        pending.discard(future)
                        i = futures[future]
                        if future.status == "error":
                            exc = future.exception()
                            tb = "".join(traceback.format_exception(type(exc), exc, future.traceback()))
                            failures.append((i, tb))
                            bar.update()
                            continue
                        finish(i, future.result())
            finally:
                if pending:
                    client.cancel(list(pending))
    finally:
        bar.close()
    if failures:
        raise TaskError([(tasks[i], tb) for i, tb in sorted(failures)], len(tasks))
    out = []
    for record in records:
        assert record is not None
        result = _restore(record["result"])
        result["_provenance"] = record["provenance"]
        out.append(result)
    return out
