"""Hyperparameter tuning of the AOLO agents with Optuna: a sampler per algorithm, TPE, a median pruner, resumable.

The rl-baselines3-zoo way (``docs/aolo.md#tuning``): each algorithm's search space is a sampler function in
:mod:`greenaolo.aolo.samplers` (recorded in each study as its distributions), the budget is ``hyperparams/tuning.yaml`` (the
same trials and gradient updates per trial for every algorithm, ``docs/aolo.md#compute-bound``), the sampler is Optuna's TPE and the pruner
its median pruner on the trial's intermediate evaluations. A trial trains one agent (seed ``first_seed +
trial number``, disjoint from the seeds of the final results) with everything the space does not name kept
at its ``agents.yaml`` value, and scores it on *validation* requests (:data:`~greenaolo.options.VALIDATION_SEED`,
apart from the evaluation set): the objective is the mean cost ``-reward``, the carbon over its reference
plus the environment's violation penalties (:func:`greenaolo.aolo.env.reward`), to minimise.

Trials run in parallel the way rl-baselines3-zoo runs them: every worker runs Optuna's own loop on the one
shared study, an Optuna journal file (``STORAGE/<algorithm>.journal``, readable by ``optuna.load_study`` and
optuna-dashboard; its file lock orders the writes of several processes). Workers are Dask worker processes
(:func:`tune`: local ones, or a cluster's whose machines share the storage folder, as dask-jobqueue clusters
share a home directory) or this process (``scheduler="serial"``); the missing trials are split among them, so
the budget is never overshot. The file is the study: a run interrupted at any point resumes from its
finished trials (a trial cut short is marked failed and run again).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import math
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import xarray as xr

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.evaluation import evaluate_oracle, gap_to_oracle
from greenaolo.aolo.requests import evaluation_requests
from greenaolo.aolo.samplers import same_space, sample, space_of
from greenaolo.aolo.training import (EvaluationCallback, HyperparameterError, budgeted_agent, evaluate_model,
                                     load_hyperparams, package_yaml, settings, validate_hyperparams)
from greenaolo.checks import number, read_yaml
from greenaolo.io import atomic_path
from greenaolo.options import EVALUATION_SEED, ALGORITHMS, VALIDATION_SEED

__all__ = ["STUDIES_DIR", "Budget", "TrialRecord", "best_trial", "load_budget", "load_study", "objective",
           "study_trials", "suggest", "tune", "write_tuned"]

#: The package's studies (``make tune`` writes them; the ``aolo_tuning`` notebook reads them).
STUDIES_DIR = str(resources.files("greenaolo.aolo").joinpath("hyperparams", "studies"))
#: The states of a finished trial: what counts towards the budget.
_FINISHED = ("COMPLETE", "PRUNED")


@dataclass(frozen=True)
class Budget:
    """One tuning profile of ``hyperparams/tuning.yaml`` (the same for every algorithm)."""

    trials: int
    updates: int
    eval_every: int
    n_validation: int
    startup_trials: int
    warmup_evaluations: int
    first_seed: int
    sampler_seed: int = 0



def load_budget(profile: str = "full", path: str | None = None) -> Budget:
    """The tuning budget of ``profile``, checked, and its seeds checked disjoint from every profile's final
    seeds in ``agents.yaml``.

    :raises HyperparameterError: a missing profile or key, a value out of range, or overlapping seeds.
    """
    source = path or "hyperparams/tuning.yaml"
    data = read_yaml(path, HyperparameterError) if path else package_yaml("tuning.yaml")[0]
    profiles = data.get("profiles") if isinstance(data, dict) else None
    if not isinstance(profiles, dict) or profile not in profiles:
        raise HyperparameterError(f"{source}: no tuning profile {profile!r}; the file has "
                                  f"{sorted(profiles) if isinstance(profiles, dict) else 'none'}")
    entry = profiles[profile]
    ranges = {"trials": (1, 100_000), "updates": (1, 10**9), "eval_every": (1, 10**9), "n_validation": (1, 100_000),
              "startup_trials": (0, 100_000), "warmup_evaluations": (0, 10**6), "first_seed": (0, 2**31)}
    values: dict[str, int] = {}
    for key, (low, high) in ranges.items():
        if key not in entry:
            raise HyperparameterError(f"{source}: profiles.{profile}.{key} is missing")
        try:
            values[key] = number("", key, entry[key], low, high, integer=True)
        except (TypeError, ValueError) as err:
            raise HyperparameterError(f"{source}: profiles.{profile}.{err}") from None
    unknown = sorted(set(entry) - set(ranges))
    if unknown:
        raise HyperparameterError(f"{source}: unknown key profiles.{profile}.{unknown[0]}; valid: {', '.join(ranges)}")
    try:
        sampler_seed = number("", "sampler_seed", data.get("sampler_seed", 0), 0, 2**31, integer=True)
    except (TypeError, ValueError) as err:
        raise HyperparameterError(f"{source}: {err}") from None
    budget = Budget(**values, sampler_seed=sampler_seed)
    for name, final in load_hyperparams()["profiles"].items():
        if max(final["seeds"]) >= budget.first_seed:
            raise HyperparameterError(f"{source}: profiles.{profile}.first_seed={budget.first_seed} is not above the {name} "
                                      f"profile's final seeds {final['seeds']} (agents.yaml): tuning seeds (first_seed and "
                                      "up) and test seeds must differ")
    # A training seed equal to a request set's seed would train on those very requests (the environment
    # draws its episodes from the seed); keep tuning seeds (first_seed up to a margin for resumed studies) clear.
    for name, seed in (("VALIDATION_SEED", VALIDATION_SEED), ("EVALUATION_SEED", EVALUATION_SEED)):
        if budget.first_seed <= seed < budget.first_seed + 10 * budget.trials + 1000:
            raise HyperparameterError(f"{source}: profiles.{profile}.first_seed={budget.first_seed}: tuning seeds would "
                                      f"reach options.{name}={seed}; choose first_seed below {seed - 10 * budget.trials - 1000} "
                                      f"or above {seed}")
    if budget.eval_every > budget.updates:
        raise HyperparameterError(f"{source}: profiles.{profile}.eval_every={budget.eval_every} is above updates="
                                  f"{budget.updates}: the pruner would see no evaluation")
    return budget


def suggest(trial: Any, hyperparams: dict[str, Any], algorithm: str) -> dict[str, Any]:
    """Every agent's hyperparameters with ``algorithm``'s section set to its full settings, the values its
    sampler (:mod:`greenaolo.aolo.samplers`) draws from ``trial`` overriding them (an Optuna trial or
    ``optuna.trial.FixedTrial``), checked as any hyperparameter file is."""
    chosen = copy.deepcopy(settings(hyperparams, algorithm))
    for key, value in sample(trial, algorithm).items():
        if key == "popsan_kwargs":
            chosen.setdefault(key, {}).update(value)
        else:
            chosen[key] = value
    out = copy.deepcopy(hyperparams)
    out[algorithm] = chosen
    return validate_hyperparams(out, f"the {algorithm} sampler (greenaolo/aolo/samplers.py)")


def _cost(ds: xr.Dataset) -> float:
    return -float(ds.mean_reward)


def objective(trial: Any, algorithm: str, budget: Budget, *, config: AoloConfig | None = None,
              hyperparams: dict | None = None, seed_base: int | None = None,
              resumed: int = 0) -> float:
    """Train one trial's agent for the budget's gradient updates (PPO: environment steps; the environment steps
    are :func:`~greenaolo.aolo.training.environment_steps`) and return its validation cost; reports every
    ``eval_every`` updates to the pruner and raises ``optuna.TrialPruned`` when it says stop. One torch thread.

    The training seed is ``seed_base + trial.number - resumed`` (``seed_base`` defaults to the budget's
    ``first_seed``): a study that held ``resumed`` trials when this run started numbers its new ones from
    ``resumed``, and :func:`tune` passes the seed after the journal's highest, so no two trials share a seed,
    however many run at once.

    The trial's user attributes record its seed, carbon, violation rates, gap to the validation oracle,
    environment steps, environment steps per second and full hyperparameters.
    """
    import optuna
    import torch

    cfg = config or AoloConfig()
    hp = suggest(trial, hyperparams or load_hyperparams(), algorithm)
    requests = evaluation_requests(cfg, budget.n_validation, VALIDATION_SEED)
    best = evaluate_oracle(requests, cfg)
    seed = (budget.first_seed if seed_base is None else seed_base) + trial.number - resumed
    trial.set_user_attr("seed", seed)
    trial.set_user_attr("hyperparams", json.dumps(settings(hp, algorithm), sort_keys=True))

    def report(step: int, outcome: xr.Dataset) -> bool:
        """The pruner's view of an evaluation: whether the trial goes on."""
        trial.report(_cost(outcome), step)
        return not (step >= budget.warmup_evaluations * budget.eval_every and trial.should_prune())

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    # A worker runs many trials of different network sizes; torch stops compiling a function after 8 shapes
    # (and warns): each trial compiles its own PopSAN afresh.
    torch.compiler.reset()
    try:
        model, acting, steps = budgeted_agent(algorithm, cfg, seed, hp, budget.updates)
        started = time.perf_counter()
        callback = EvaluationCallback(acting, requests, budget.eval_every, budget.updates, report,
                                      algorithm=algorithm, at_total=False)
        model.learn(total_timesteps=steps, callback=callback)
        seconds = time.perf_counter() - started
    finally:
        torch.set_num_threads(threads)
    trial.set_user_attr("steps_per_second", model.num_timesteps / seconds)
    trial.set_user_attr("environment_steps", int(model.num_timesteps))
    if callback.stopped:
        raise optuna.TrialPruned(f"pruned at step {model.num_timesteps}")
    ds = evaluate_model(model, acting, requests, method="trial")
    value = _cost(ds)
    trial.report(value, budget.updates)
    for name in ("carbon_g", "qoe_violation_rate", "latency_violation_rate"):
        trial.set_user_attr(name, float(ds[name]))
    trial.set_user_attr("gap_to_oracle", gap_to_oracle(ds.carbon_g, best.carbon_g))
    return value


def journal_path(storage_dir: str | Path, algorithm: str) -> Path:
    """The journal file of ``algorithm``'s study in ``storage_dir``."""
    return Path(storage_dir) / f"{algorithm}.journal"


class DamagedJournalError(HyperparameterError):
    """A study's journal does not parse, or holds another study: named with its line, left untouched."""


def check_journal(path: Path, algorithm: str) -> int:
    """Check a journal before Optuna reads or appends to it: every line a JSON record (a crash can leave a
    partial last line, and Optuna would append onto it), every study in it ``algorithm``'s. Returns the
    number of records.

    :raises DamagedJournalError: names the file, the line and what is wrong; the file is not touched.
    """
    if not path.is_file():
        return 0
    records = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "op_code" not in record:
                    raise ValueError("not an Optuna journal record")
                if not line.endswith(b"\n"):
                    raise ValueError("the last line is cut short (a write was interrupted)")
            except ValueError as err:
                raise DamagedJournalError(
                    f"{path}, line {number}: {err}; the file is left as it is. `greenaolo aolo tune {algorithm} "
                    f"--repair` moves it aside and keeps its first {number - 1} records") from None
            name = record.get("study_name")
            if record["op_code"] == 0 and name != algorithm:  # CREATE_STUDY
                raise DamagedJournalError(
                    f"{path}, line {number}: a study of {name!r}, not {algorithm!r}: this journal belongs to "
                    "another study; give the right file, or another storage folder")
            records += 1
    return records


def repair_journal(path: Path, algorithm: str) -> tuple[int, Path]:
    """Move a damaged journal aside (``NAME.journal.damaged-N``) and write back its records up to the first
    bad line; returns (records kept, where the damaged file went)."""
    keep: list[bytes] = []
    with path.open("rb") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                break
            if not line.endswith(b"\n") or not isinstance(record, dict) or "op_code" not in record:
                break
            if record["op_code"] == 0 and record.get("study_name") != algorithm:
                raise DamagedJournalError(f"{path} holds a study of {record.get('study_name')!r}, not {algorithm!r}: "
                                          "not repaired (it is not this study's journal)")
            keep.append(line)
    n = 1
    while (aside := path.with_name(f"{path.name}.damaged-{n}")).exists():
        n += 1
    path.rename(aside)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(b"".join(keep))
    return len(keep), aside


@contextlib.contextmanager
def study_lock(path: Path) -> Iterator[None]:
    """Hold ``NAME.journal.tuner`` (an OS lock, released when the process ends, so never stale) while one
    tuner runs the study: a second tuner of the same study refuses at once instead of doubling its trials.
    Holding it, an Optuna lock file left by a killed run (``NAME.journal.lock``) is stale: it is removed and
    said, instead of waiting on it forever."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path.with_name(path.name + ".tuner"), "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise HyperparameterError(
                f"another tuner is running the study in {path} (it holds {handle.name}); wait for it or stop it") from None
        stale = path.with_name(path.name + ".lock")
        if stale.exists() or stale.is_symlink():
            warnings.warn(f"removed {stale}: a lock a killed tuning run left behind (no other tuner holds the study)",
                          stacklevel=3)
            stale.unlink()
        yield
    finally:
        handle.close()


def _journal(path: Path, algorithm: str, *, check: bool = True) -> Any:
    """The journal as Optuna storage; checked first (:func:`check_journal`) unless ``check`` is false (a
    worker's, opened while other workers append to it: the tuner checked it before starting them)."""
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path.parent.mkdir(parents=True, exist_ok=True)
    if check:
        check_journal(path, algorithm)
    return JournalStorage(JournalFileBackend(str(path)))


def _sampler(budget: Budget, offset: int = 0) -> Any:
    """TPE seeded with ``sampler_seed + offset``: each worker, and each resumption of a study, draws its own
    stream (a resumed study seeded as the first run would repeat the first run's random startup trials)."""
    import optuna

    return optuna.samplers.TPESampler(n_startup_trials=budget.startup_trials, seed=budget.sampler_seed + offset)


def _pruner(budget: Budget) -> Any:
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=budget.startup_trials, n_warmup_steps=0)


def load_study(storage_dir: str | Path, algorithm: str) -> Any:
    """The Optuna study of ``algorithm`` in ``storage_dir`` (its journal file), to read.

    :raises FileNotFoundError: no study there yet.
    """
    import optuna

    path = journal_path(storage_dir, algorithm)
    if not path.is_file():
        raise FileNotFoundError(f"no tuning study for {algorithm} in {storage_dir}: run `greenaolo aolo tune {algorithm}`")
    return optuna.load_study(study_name=algorithm, storage=_journal(path, algorithm))


class _LearningRateRange:
    """An Optuna trial whose ``learning_rate`` is asked over another range (log-uniform): the random draws'
    wider space (:func:`tune`'s ``random_learning_rate``); every other call goes to the trial."""

    def __init__(self, trial: Any, low: float, high: float) -> None:
        self._trial, self._low, self._high = trial, low, high

    def suggest_float(self, name: str, low: float, high: float, **kwargs: Any) -> float:
        if name == "learning_rate":
            low, high = self._low, self._high
        return self._trial.suggest_float(name, low, high, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)


def _worker_trials(path: str, algorithm: str, budget: Budget, config: AoloConfig, hyperparams: dict,
                   sampler_offset: int, quota: int, seed_base: int, resumed: int, callbacks: tuple = (),
                   learning_rate: tuple[float, float] | None = None) -> int:
    """One worker's Optuna loop on the study's journal: ``quota`` trials (the workers' quotas add up to the
    trials missing); ``sampler_offset`` seeds its sampler (:func:`_sampler`); ``callbacks`` as Optuna's. With
    ``learning_rate`` (low, high): random draws, never pruned, the learning rate over that range."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if learning_rate is None:
        sampler, pruner, wrap = _sampler(budget, sampler_offset), _pruner(budget), (lambda t: t)
    else:
        sampler = optuna.samplers.RandomSampler(seed=budget.sampler_seed + sampler_offset)
        pruner, wrap = optuna.pruners.NopPruner(), (lambda t: _LearningRateRange(t, *learning_rate))
    study = optuna.load_study(study_name=algorithm, storage=_journal(Path(path), algorithm, check=False),
                              sampler=sampler, pruner=pruner)
    study.optimize(lambda t: objective(wrap(t), algorithm, budget, config=config, hyperparams=hyperparams,
                                       seed_base=seed_base, resumed=resumed),
                   n_trials=quota, catch=(), callbacks=list(callbacks), gc_after_trial=False)
    return quota


def tune(
    algorithm: str,
    *,
    profile: str = "full",
    trials: int | None = None,
    storage_dir: str | Path = "build/tuning",
    scheduler: str | None = None,
    workers: int | None = None,
    config: AoloConfig | None = None,
    progress: bool = True,
    budget: Budget | None = None,
    hyperparams: dict | None = None,
    poll_seconds: float = 1.0,
    random_learning_rate: tuple[float, float] | None = None,
) -> Any:
    """Run (or resume) ``algorithm``'s study until it has ``trials`` finished trials; return the study.

    :param trials: finished trials wanted in all (default: the profile's budget); a resumed study runs only
        the rest.
    :param storage_dir: where the journal file lives (created).
    :param scheduler: ``"serial"`` (this process), ``"local"`` (``workers`` local processes: default) or a
        Dask scheduler address; as :func:`greenaolo.tasks.run_tasks`.
    :param random_learning_rate: (low, high): a study of random draws instead (Optuna's random sampler, no
        pruning, the learning rate log-uniform over this range, every other setting from the sampler's space):
        independent configurations scored like trials, for the share of configurations that would show a
        result (``docs/aolo.md#random-draws``). Recorded in the study, so a study is one kind or the other.
    """
    import optuna

    from greenaolo.tasks import resolve_scheduler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    budget = budget or load_budget(profile)
    if trials is not None:
        trials = number("", "trials", trials, 1, 100_000, integer=True)
        budget = Budget(**{**asdict(budget), "trials": trials})
    cfg = config or AoloConfig()
    hp = hyperparams or load_hyperparams()
    scheduler, workers = resolve_scheduler(scheduler, workers)

    with study_lock(journal_path(storage_dir, algorithm)):
        return _tune(algorithm, profile, storage_dir, scheduler, workers, cfg, progress, budget, hp,
                     poll_seconds, random_learning_rate)


def _tune(algorithm: str, profile: str, storage_dir: str | Path, scheduler: str, workers: int | None,
          cfg: AoloConfig, progress: bool, budget: Budget, hp: dict, poll_seconds: float,
          random_learning_rate: tuple[float, float] | None = None) -> Any:
    """:func:`tune`'s work, with the study's lock held."""
    import optuna
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    storage = _journal(journal_path(storage_dir, algorithm), algorithm)
    local = optuna.create_study(study_name=algorithm, storage=storage, direction="minimize", load_if_exists=True)
    fixed_budget = {k: v for k, v in asdict(budget).items() if k != "trials"}
    record = {"profile": profile, "budget": fixed_budget, "config": cfg.to_json(), "space": json.dumps(space_of(algorithm), sort_keys=True),
              "hyperparams": json.dumps(settings(hp, algorithm), sort_keys=True), "validation_seed": VALIDATION_SEED}
    if random_learning_rate is not None:  # (a TPE study records nothing here: the committed journals stay as they are)
        record["random_learning_rate"] = [float(v) for v in random_learning_rate]
    stored = local.user_attrs.get("space")
    if stored is not None and stored != record["space"] and same_space(stored, algorithm):
        local.set_user_attr("space", record["space"])  # a study recorded in the legacy YAML form: the same space
    stored = local.user_attrs.get("config")
    if stored is not None and stored != record["config"] and cfg.same_as(stored):
        local.set_user_attr("config", record["config"])  # recorded before a field was added: the same configuration
    if "random_learning_rate" in local.user_attrs and random_learning_rate is None:
        raise HyperparameterError(f"the study in {journal_path(storage_dir, algorithm)} is one of random draws "
                                  "(--random-learning-rate); choose another storage folder for a TPE study")
    for key, value in record.items():
        if key in local.user_attrs and local.user_attrs[key] != value:
            raise HyperparameterError(
                f"the study in {journal_path(storage_dir, algorithm)} was run with another {key}; "
                "remove that file (or choose another storage folder) to start a new study")
        local.set_user_attr(key, value)
    finished = local.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    bar = tqdm(total=budget.trials, initial=min(len(finished), budget.trials), desc=f"tuning {algorithm}",
               unit="trial", disable=not progress)
    started = time.perf_counter()
    # The budget first, so that a journal cut short (a crash, a truncated copy) still says how many trials it
    # should hold (benchmark.tuning_study checks it); it is written again when the trials are done.
    local.set_user_attr("trials", budget.trials)
    try:
        if len(finished) < budget.trials:
            _run_missing_trials(algorithm, budget, cfg, hp, local, storage, storage_dir, scheduler, workers, bar,
                                poll_seconds, random_learning_rate)
    finally:
        bar.close()
    local.set_user_attr("trials", budget.trials)
    local.set_user_attr("wall_seconds", float(local.user_attrs.get("wall_seconds", 0.0)) + time.perf_counter() - started)
    return local


def _run_missing_trials(algorithm: str, budget: Budget, cfg: AoloConfig, hp: dict, local: Any, storage: Any,
                        storage_dir: str | Path, scheduler: str, workers: int | None, bar: Any,
                        poll_seconds: float, random_learning_rate: tuple[float, float] | None = None) -> None:
    """Run the trials ``local`` (the journal's study) is missing: on this process, or split among Dask workers
    that each run Optuna's loop on the journal, while the bar follows the journal's finished trials."""
    from optuna.trial import TrialState

    from greenaolo.tasks import dask_client

    # A trial that was running when an earlier run was killed will never finish: marked failed (this tuner
    # holds the study's lock, so nobody runs it), it is left out of the finished trials and run again.
    study_id = storage.get_study_id_from_name(algorithm)
    for t in local.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        storage.set_trial_state_values(storage.get_trial_id_from_study_id_trial_number(study_id, t.number),
                                       TrialState.FAIL)
    trials = local.get_trials(deepcopy=False)
    finished = [t for t in trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    remaining = budget.trials - len(finished)
    # Seeds follow the journal's highest, numbered from its trials' count: no two trials share a seed. Each
    # worker's sampler, and each resumption's, draws its own stream (seeded as the first run, a resumed
    # study would repeat the first run's random start-up trials).
    seeds = [int(t.user_attrs["seed"]) for t in trials if "seed" in t.user_attrs]
    seed_base = max(seeds) + 1 if seeds else budget.first_seed
    common = (str(journal_path(storage_dir, algorithm).resolve()), algorithm, budget, cfg, hp)
    offset = 1000 * len(finished)
    start = dict(seed_base=seed_base, resumed=len(trials), learning_rate=random_learning_rate)

    def follow() -> None:
        done = len(local.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
        bar.update(min(done, budget.trials) - bar.n)

    if scheduler == "serial":
        try:
            _worker_trials(*common, sampler_offset=offset, quota=remaining, **start,
                           callbacks=(lambda study, trial: follow(),))
        finally:
            follow()
        return
    client = dask_client(scheduler, workers)
    n = min(remaining, max(1, len(client.scheduler_info()["workers"]) if scheduler != "local" else workers))
    futures = [client.submit(_worker_trials, *common, sampler_offset=offset + i,
                             quota=remaining // n + (i < remaining % n), **start, pure=False)
               for i in range(n)]
    try:
        while not all(f.done() for f in futures) and not any(f.status == "error" for f in futures):
            time.sleep(poll_seconds)
            follow()
        for f in futures:
            f.result()
    finally:
        follow()
        for f in futures:
            f.cancel()


@dataclass(frozen=True)
class TrialRecord:
    """One finished trial, as data."""

    number: int
    state: str
    value: float
    carbon_g: float
    gap_to_oracle: float
    qoe_violation_rate: float
    latency_violation_rate: float
    steps_per_second: float
    last_step: int
    seed: int
    params: dict[str, Any]


def study_trials(study: Any, limit: int | None = None) -> list[TrialRecord]:
    """The first ``limit`` finished trials of ``study`` (complete or pruned), in order; a pruned trial's
    value is its last intermediate value and its carbon and violation rates NaN."""
    out = []
    for t in sorted(study.trials, key=lambda t: t.number):
        if t.state.name not in _FINISHED:
            continue
        last = max(t.intermediate_values) if t.intermediate_values else 0
        a = t.user_attrs
        out.append(TrialRecord(
            number=t.number, state=t.state.name.lower(),
            value=float(t.value) if t.value is not None else float(t.intermediate_values.get(last, math.nan)),
            carbon_g=float(a.get("carbon_g", math.nan)), gap_to_oracle=float(a.get("gap_to_oracle", math.nan)),
            qoe_violation_rate=float(a.get("qoe_violation_rate", math.nan)),
            latency_violation_rate=float(a.get("latency_violation_rate", math.nan)),
            steps_per_second=float(a.get("steps_per_second", math.nan)), last_step=int(last), seed=int(a.get("seed", -1)),
            params=dict(t.params)))
        if limit is not None and len(out) >= limit:
            break
    return out


def best_trial(study: Any, limit: int | None = None) -> Any:
    """The complete trial with the lowest validation cost among the first ``limit`` finished ones.

    :raises ValueError: no trial completed.
    """
    finished = [t for t in sorted(study.trials, key=lambda t: t.number) if t.state.name in _FINISHED][:limit]
    complete = [t for t in finished if t.state.name == "COMPLETE"]
    if not complete:
        raise ValueError(f"no complete trial in the study of {study.study_name}: tune it (longer)")
    return min(complete, key=lambda t: (t.value, t.number))


def write_tuned(path: str | Path, studies: dict[str, Any], *, limit: int | None = None) -> Path:
    """Write (or update) the tuned-hyperparameters file: each algorithm's best trial's full settings, with
    the study's budget, seeds, best value, counts and date (``load_hyperparams(variant="tuned")`` reads it).

    Algorithms not in ``studies`` keep their entry of an existing file.
    """
    import yaml

    path = Path(path)
    data: dict[str, Any] = {}
    if path.is_file():
        data = read_yaml(path, HyperparameterError) or {}
    agents = data.get("agents") or {}
    for algorithm, study in studies.items():
        best = best_trial(study, limit)
        finished = study_trials(study, limit)
        attrs = study.user_attrs
        agents[algorithm] = {
            "date": datetime.date.today().isoformat(),
            "profile": attrs.get("profile"),
            "budget": attrs.get("budget"),
            "validation_seed": attrs.get("validation_seed", VALIDATION_SEED),
            "trials": len(finished),
            "complete": sum(r.state == "complete" for r in finished),
            "pruned": sum(r.state == "pruned" for r in finished),
            "wall_seconds": round(float(attrs.get("wall_seconds", math.nan)), 1),
            "best_trial": best.number,
            "best_seed": int(best.user_attrs["seed"]),
            "best_value": float(best.value),
            "best_carbon_g": float(best.user_attrs["carbon_g"]),
            "best_gap_to_oracle": float(best.user_attrs["gap_to_oracle"]),
            "hyperparams": json.loads(best.user_attrs["hyperparams"]),
        }
    data = {"agents": {a: agents[a] for a in ALGORITHMS if a in agents}}
    header = ("# Tuned hyperparameters of the AOLO agents: the best trial of each algorithm's Optuna study\n"
              "# (greenaolo.aolo.tuning; `make tune` rebuilds this file; budgets in tuning.yaml, spaces in\n"
              "# greenaolo/aolo/samplers.py). `make reproduce` trains the 'tuned' runs from it.\n")
    from greenaolo.io import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110))
    return path
