"""Training runs on disk: one (algorithm, seed) per file pair, trained once and shared by every AOLO figure.

A run is ``RUNS_DIR/{algorithm}_{variant}_seed{seed}.nc`` (the dataset of :func:`greenaolo.aolo.training.train`:
learning curve, final evaluation, exact settings; ``variant`` is ``default`` or ``tuned``, which
hyperparameters) beside ``{algorithm}_{variant}_seed{seed}.zip`` (the SB3 model, so
the sweeps can evaluate the trained policy again). Both are written atomically, the model first, so a
dataset on disk always has its model. ``make reproduce`` trains the runs as independent processes, one
Make rule each (``make -j2`` runs two seeds side by side); a notebook run on its own trains whatever is
missing or stale through :func:`ensure_runs`, one task per run on :func:`greenaolo.tasks.run_tasks` (local
Dask workers by default, or a cluster), each with one torch thread as the Make rules use, so a run is the
same wherever it trained. The run files are the sweep's store: a re-run trains only what is missing. A run
is stale when its profile, budget, hyperparameters or environment configuration differ from what is asked.
:func:`load_runs` stacks the runs of one variant on ``algorithm`` x ``seed``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any
from pathlib import Path

import torch
import xarray as xr
from stable_baselines3.common.base_class import BaseAlgorithm

from greenaolo.aolo.config import AoloConfig
from greenaolo.aolo.training import MODEL_CLASSES, check_trainable, load_hyperparams, settings, train
from greenaolo.io import atomic_path, read_dataset, write_dataset
from greenaolo.options import ALGORITHMS, PAPER_ALGORITHMS
from greenaolo.tasks import Task, run_tasks

__all__ = ["RUN_FIGURE", "MissingRunsError", "ensure_runs", "load_model", "load_runs", "profile_algorithms", "profile_seeds",
           "recorded_settings", "run_paths", "train_run",
           "train_run_task"]

#: Per-request outcomes whose means :func:`load_runs` keeps.
PER_REQUEST_MEANS = ("carbon_inference_operational", "carbon_inference_embodied", "carbon_communication_operational",
                     "carbon_communication_embodied", "kappa", "p_trans", "qoe", "latency")

#: The ``figure`` attribute of a run's dataset (``greenaolo plot`` draws its learning curve).
RUN_FIGURE = "aolo_run"
#: Set (to anything) to let a notebook opened in JupyterLab train the runs it misses.
TRAIN_IN_LAB_VARIABLE = "GREENAOLO_TRAIN_IN_LAB"
#: Rough wall time of one run per profile on one core (make bench, 2026-12): for the message only.
MINUTES_PER_RUN = {"quick": 0.3, "full": 1.3}


class MissingRunsError(RuntimeError):
    """A notebook opened in JupyterLab would train runs: it says what, how many and how long, and stops."""


def _missing_message(todo: list[tuple[str, int]], runs_dir: str | Path, profile: str, variant: str,
                     hp: dict) -> str:
    minutes = MINUTES_PER_RUN.get(profile, 1.0) * len(todo) / max(1, os.cpu_count() or 1)
    names = ", ".join(sorted({a for a, _ in todo}))
    return (f"{len(todo)} {profile}-profile {variant} runs are missing or stale in {runs_dir} ({names}; seeds "
            f"{sorted({s for _, s in todo})}): training them takes about {minutes:.0f} min on this machine. "
            f"Run `make reproduce PROFILE={profile}` (or `greenaolo run NOTEBOOK --profile {profile}`) in a "
            f"terminal, or set os.environ[{TRAIN_IN_LAB_VARIABLE!r}] = '1' and run this cell again to train here.")


def run_paths(runs_dir: str | Path, algorithm: str, seed: int, variant: str = "default") -> tuple[Path, Path]:
    """The dataset and the model file of one run."""
    check_trainable(algorithm, variant)
    stem = Path(runs_dir) / f"{algorithm}_{variant}_seed{int(seed)}"
    return stem.with_suffix(".nc"), stem.with_suffix(".zip")


def profile_seeds(profile: str, hyperparams: dict | None = None) -> list[int]:
    """The seeds a profile trains (the ``seeds`` of its entry in the hyperparameter file)."""
    return [int(s) for s in _profile_entry(profile, hyperparams)["seeds"]]


def profile_algorithms(profile: str, hyperparams: dict | None = None) -> list[str]:
    """The agents a profile trains (the ``algorithms`` of its entry in the hyperparameter file, in the order of
    :data:`~greenaolo.options.ALGORITHMS`; every agent where it names none)."""
    named = _profile_entry(profile, hyperparams).get("algorithms", ALGORITHMS)
    return [a for a in ALGORITHMS if a in named]


def _profile_entry(profile: str, hyperparams: dict | None) -> dict:
    """A profile's entry in the hyperparameter file (default: the package's), or ``ValueError`` naming the profiles."""
    hp = hyperparams or load_hyperparams()
    if profile not in hp["profiles"]:
        raise ValueError(f"profile={profile!r} is unknown: expected one of {sorted(hp['profiles'])}")
    return hp["profiles"][profile]


def recorded_settings(attrs: Mapping[str, Any], algorithm: str) -> dict:
    """The settings a run of ``algorithm`` was trained with, from the hyperparameters its dataset records."""
    return settings(json.loads(attrs["hyperparams"]), algorithm)


#: The entries of a profile that decide a run (its seeds and its list of agents do not).
_BUDGET = ("gradient_updates", "eval_every", "n_eval")


def _deciding(hp: dict, algorithm: str, profile: str) -> str:
    """What decides a run of ``algorithm`` besides its seed, configuration and variant: its own settings
    (:func:`~greenaolo.aolo.training.settings`: the ``common`` entries it takes and its section) and the
    profile's budget. Another agent's settings, or an agent added to the file, leave its runs current."""
    budget = {k: hp["profiles"][profile][k] for k in _BUDGET}
    return json.dumps({"settings": settings(hp, algorithm), "budget": budget}, sort_keys=True, default=str)


def _expected(profile: str, hp: dict, cfg: AoloConfig, variant: str) -> dict[str, object]:
    return {
        "profile": profile,
        "variant": variant,
        "gradient_updates": int(hp["profiles"][profile]["gradient_updates"]),
        "config": cfg.to_json(),
    }


def model_digest(model: Path) -> str:
    """SHA-256 of a model file: a run's dataset records it (``model_sha256``), so a reader never pairs a
    dataset with another run's model (a run killed between writing its model and its dataset). Cached while
    the file is unchanged (the explorer checks its runs on every slider move)."""
    stat = Path(model).stat()
    return _digest(str(model), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_pair(path: Path, model: Path, attrs: dict | None = None) -> bool:
    """Whether a run's dataset and model belong together: both exist and the dataset records the model's digest."""
    if not (path.is_file() and model.is_file()):
        return False
    if attrs is None:
        try:
            attrs = read_dataset(path).attrs
        except (OSError, ValueError):
            return False
    return attrs.get("model_sha256") == model_digest(model)


def _is_current(path: Path, model: Path, expected: dict[str, object], deciding: str, algorithm: str) -> bool:
    """Whether the run on disk was trained with what ``expected`` and ``deciding`` say (:func:`_deciding` of its
    recorded hyperparameters) and its dataset and model belong together."""
    if not (path.is_file() and model.is_file()):
        return False
    try:
        attrs = read_dataset(path).attrs
        recorded = _deciding(json.loads(attrs.get("hyperparams", "")), algorithm, str(expected["profile"]))
    except (OSError, ValueError, KeyError, TypeError):  # unreadable, or recorded without this agent or profile
        return False
    return (all(attrs.get(k) == v for k, v in expected.items()) and recorded == deciding
            and is_pair(path, model, attrs))


def train_run(
    algorithm: str,
    seed: int,
    runs_dir: str | Path,
    *,
    profile: str = "full",
    config: AoloConfig | None = None,
    hyperparams: dict | None = None,
    variant: str = "default",
    progress: bool = True,
) -> Path:
    """Train one run and write its model and dataset into ``runs_dir``; return the dataset's path.

    :param hyperparams: every agent's hyperparameters (default: the package's of ``variant``).
    """
    cfg = config or AoloConfig()
    hp = hyperparams or load_hyperparams(variant=variant)
    path, model_path = run_paths(runs_dir, algorithm, seed, variant)
    ds, model = train(algorithm, seed, config=cfg, profile=profile, hyperparams=hp, variant=variant,
                      progress=progress, return_model=True)
    with atomic_path(model_path) as tmp:
        model.save(tmp.with_suffix(".zip"))  # SB3 appends ".zip" to names without it
        tmp.with_suffix(".zip").replace(tmp)
    ds.attrs["model_sha256"] = model_digest(model_path)  # ties this dataset to this model file
    write_dataset(ds, path, profile=profile, figure=RUN_FIGURE, seeds=[seed],
                  parameters={"algorithm": algorithm, "variant": variant, "seed": int(seed), "profile": profile})
    return path


def train_run_task(algorithm: str, seed: int, runs_dir: str, profile: str, config: AoloConfig,
                   hyperparams: dict, variant: str = "default") -> dict:
    """One training run as a sweep task: one torch thread (as ``greenaolo aolo train --threads 1``), no
    progress bar (the sweep has one); returns the dataset's path."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        path = train_run(algorithm, seed, runs_dir, profile=profile, config=config, hyperparams=hyperparams,
                         variant=variant, progress=False)
    finally:
        torch.set_num_threads(threads)
    return {"path": str(path)}


def ensure_runs(
    runs_dir: str | Path,
    *,
    profile: str,
    seeds: Sequence[int],
    algorithms: Sequence[str] = PAPER_ALGORITHMS,
    variant: str = "default",
    config: AoloConfig | None = None,
    hyperparams: dict | None = None,
    progress: bool = True,
    scheduler: str | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Train every (algorithm, seed) of ``variant`` whose run is missing or stale; return all the runs'
    dataset paths. In a kernel JupyterLab started (``JPY_SESSION_NAME`` is set), missing runs are not trained
    unless ``GREENAOLO_TRAIN_IN_LAB`` is set: :class:`MissingRunsError` says what, how many and how long.

    :param hyperparams: every agent's hyperparameters (default: the package's of ``variant``).

    :param scheduler: where the missing runs train (:func:`greenaolo.tasks.run_tasks`): ``"serial"``,
        ``"local"`` (default: ``workers`` local processes) or a Dask scheduler address.
    :param workers: local worker processes (``None``: one per core).
    """
    cfg = config or AoloConfig()
    hp = hyperparams or load_hyperparams(variant=variant)
    expected = _expected(profile, hp, cfg, variant)
    jobs = [(a, int(s)) for a in algorithms for s in seeds]
    deciding = {a: _deciding(hp, a, profile) for a in algorithms}
    todo = [(a, s) for a, s in jobs
            if not _is_current(*run_paths(runs_dir, a, s, variant), expected, deciding[a], a)]
    if todo and os.environ.get("JPY_SESSION_NAME") and not os.environ.get(TRAIN_IN_LAB_VARIABLE):
        raise MissingRunsError(_missing_message(todo, runs_dir, profile, variant, hp))
    if todo:
        tasks = [Task(train_run_task, {"algorithm": a, "seed": s, "runs_dir": str(runs_dir), "profile": profile,
                                       "config": cfg, "hyperparams": hp, "variant": variant}) for a, s in todo]
        run_tasks(tasks, scheduler=scheduler, workers=workers, desc=f"training runs ({variant})", progress=progress)
    return [run_paths(runs_dir, a, s, variant)[0] for a, s in jobs]


def load_runs(paths: Sequence[str | Path]) -> xr.Dataset:
    """Stack run datasets of one variant on ``algorithm`` x ``seed``: curves on ``step``, final metrics per run.

    Per-request variables are dropped (the run files keep them); attributes common to every run are kept, with
    ``n_eval`` (the evaluation requests) and ``hyperparams``, each agent's settings as its runs recorded them.

    :raises ValueError: runs of several variants, algorithms with different seeds, an agent's runs with
        different settings, or runs evaluated at different steps or on different numbers of requests.
    """
    rows: dict[str, dict[int, xr.Dataset]] = {}
    requests = set()
    for path in paths:
        ds = read_dataset(path)
        requests.add(int(ds.sizes.get("request", 0)))
        for name in PER_REQUEST_MEANS:
            ds[f"mean_{name}"] = ds[name].mean("request").assign_attrs(
                units=ds[name].attrs["units"], long_name=f"mean {ds[name].attrs['long_name']}")
        ds = ds.drop_vars([v for v in ds.data_vars if "request" in ds[v].dims])
        ds = ds.drop_dims([d for d in ("request",) if d in ds.dims])
        rows.setdefault(ds.attrs["algorithm"], {})[int(ds.attrs["seed"])] = ds
    algorithms = [a for a in ALGORITHMS if a in rows]
    seeds = sorted({s for per in rows.values() for s in per})
    missing = [(a, s) for a in algorithms for s in seeds if s not in rows[a]]
    if missing:
        raise ValueError(f"runs missing for (algorithm, seed) {missing}: every algorithm needs the same seeds")
    steps = {tuple(ds.step.values) for per in rows.values() for ds in per.values()}
    if len(steps) != 1:
        raise ValueError("the runs were evaluated at different steps; retrain them with one profile")
    variants = {ds.attrs.get("variant", "default") for per in rows.values() for ds in per.values()}
    if len(variants) != 1:
        raise ValueError(f"runs of several variants {sorted(variants)}: load each variant's runs on its own")
    if len(requests) != 1:
        raise ValueError(f"the runs were evaluated on different numbers of requests {sorted(requests)}; retrain them "
                         "with one profile")
    # Each agent's settings as its runs recorded them (runs trained before another agent was added record
    # another file, with the same settings for them): one set per agent, or the runs are not one experiment.
    agent_settings = {}
    for a in algorithms:
        recorded = {json.dumps(recorded_settings(rows[a][s].attrs, a), sort_keys=True, default=str) for s in seeds}
        if len(recorded) != 1:
            raise ValueError(f"the runs of {a} were trained with different settings: retrain them with one file")
        agent_settings[a] = json.loads(recorded.pop())
    keep = ("profile", "variant", "gradient_updates", "config")
    per_alg = [
        xr.concat([rows[a][s].drop_attrs(deep=False) for s in seeds], dim=xr.DataArray(seeds, dims="seed", name="seed"))
        for a in algorithms
    ]
    out = xr.concat(per_alg, dim=xr.DataArray(algorithms, dims="algorithm", name="algorithm"))
    first = rows[algorithms[0]][seeds[0]].attrs
    out.attrs = {k: first[k] for k in keep if all(rows[a][s].attrs.get(k) == first[k] for a in algorithms for s in seeds)}
    out.attrs.update(n_eval=requests.pop(), hyperparams=json.dumps(agent_settings, sort_keys=True, default=str))
    out["train_seconds"] = xr.DataArray(
        [[float(rows[a][s].attrs["train_seconds"]) for s in seeds] for a in algorithms], dims=("algorithm", "seed"),
        attrs={"units": "s", "long_name": "training wall time"})
    out["steps_per_second"] = xr.DataArray(
        [[float(rows[a][s].attrs["steps_per_second"]) for s in seeds] for a in algorithms], dims=("algorithm", "seed"),
        attrs={"units": "s-1", "long_name": "training steps per second"})
    return out


def load_model(runs_dir: str | Path, algorithm: str, seed: int, variant: str = "default") -> BaseAlgorithm:
    """The trained SB3 model of one run (CPU), to evaluate: a PopSAN actor runs its eager fast path (the same
    output bits as the compiled one, ``docs/aolo.md#fast-popsan``, without seconds of compilation per
    process and batch size)."""
    from greenaolo.aolo.popsan import PopSAN

    _, model_path = run_paths(runs_dir, algorithm, seed, variant)
    if not model_path.is_file():
        raise FileNotFoundError(f"no trained model at {model_path}: train it with `greenaolo aolo train`")
    model = MODEL_CLASSES[algorithm].load(model_path, device="cpu")
    for module in model.policy.modules():
        if isinstance(module, PopSAN):
            module.compile = False
    return model
