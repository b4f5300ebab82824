"""The notebooks: their parameters, validation, where they live, and running them with papermill.

Each notebook in ``notebooks/`` has a cell tagged ``parameters`` whose names and defaults match its
:class:`NotebookSpec` here (a test checks it), and calls :func:`check_parameters` right after it, so a wrong
name or an out-of-range value stops the notebook at once with a message that names the parameter, the
value and the valid range. The ``quick`` profile runs the same code as ``full`` on smaller inputs.

The notebooks ship inside the wheel (package ``greenaolo.notebook_files``, mapped from ``notebooks/`` in
``pyproject.toml``); in a source checkout they are read from ``notebooks/`` itself (:func:`notebook_dir`).
A notebook's own metadata names its spec (``metadata.greenaolo.notebook``), so an edited copy under any
name runs with the same parameter checks (:func:`resolve_notebook`).
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from greenaolo.options import EVALUATION_SEED, MAX_REQUESTS, PROFILES, SOLVERS

__all__ = [
    "NOTEBOOKS",
    "NotebookNotFoundError",
    "NotebookSpec",
    "Param",
    "completed",
    "ParameterCapWarning",
    "ParameterError",
    "check_parameters",
    "copy_notebooks",
    "notebook_dir",
    "resolve_notebook",
    "run_notebook",
]

PACKAGE = Path(__file__).resolve().parent
#: Where the notebooks sit in an installed wheel (package data) ...
PACKAGED_NOTEBOOKS = PACKAGE / "notebook_files"
#: ... and in a source checkout (an editable install reads them here too).
SOURCE_NOTEBOOKS = PACKAGE.parent / "notebooks"
#: The kernel every notebook names: ipykernel's own ``python3`` kernelspec, as ``make setup`` installs it.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def notebook_dir() -> Path:
    """The folder holding the package's notebooks: the wheel's package data, else the checkout's ``notebooks/``."""
    return PACKAGED_NOTEBOOKS if PACKAGED_NOTEBOOKS.is_dir() else SOURCE_NOTEBOOKS


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type, or out of range."""


class ParameterCapWarning(UserWarning):
    """A parameter given explicitly was reduced to the quick profile's cap."""


class NotebookNotFoundError(ParameterError):
    """No notebook of that name, or the path is not a readable greenaolo notebook."""


@dataclass(frozen=True)
class Param:
    """One notebook parameter.

    :param name: its name in the ``parameters`` cell.
    :param type: ``int``, ``float``, ``str`` or ``bool``.
    :param default: the value in the ``parameters`` cell.
    :param help: one line on what it does.
    :param low: smallest valid value (numbers).
    :param high: largest valid value (numbers).
    :param choices: the valid values (strings).
    :param quick: the largest value the ``quick`` profile uses (numbers); ``None`` for no cap.
    :param validator: a further check of the value (strings), raising ValueError with the valid range.
    """

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    quick: float | None = None
    validator: Callable[[Any], Any] | None = None

    def valid_range(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(repr, self.choices))
        if self.type is bool:
            return "True or False"
        if self.type is str:
            return "any text"
        low = "-inf" if self.low is None else repr(self.low)
        high = "inf" if self.high is None else repr(self.high)
        return f"{self.type.__name__} in [{low}, {high}]"

    def convert(self, value: Any) -> Any:
        """Parse a string from the command line (or pass a typed value) and check it."""
        if isinstance(value, str) and self.type is not str:
            text = value.strip()
            try:
                if self.type is bool:
                    if text.lower() not in ("true", "false", "1", "0"):
                        raise ValueError
                    value = text.lower() in ("true", "1")
                else:
                    value = self.type(text)
            except ValueError:
                raise ParameterError(
                    f"parameter {self.name}={value!r} is not a {self.type.__name__}: valid range is {self.valid_range()}"
                ) from None
        return self.check(value)

    def check(self, value: Any) -> Any:
        ok_type = isinstance(value, self.type) and not (self.type is not bool and isinstance(value, bool))
        if self.type is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok_type = float(value), True
        if not ok_type:
            raise ParameterError(
                f"parameter {self.name}={value!r} has type {type(value).__name__}: valid range is {self.valid_range()}"
            )
        if self.type is float and not math.isfinite(value):
            raise ParameterError(f"parameter {self.name}={value!r} is not finite: valid range is {self.valid_range()}")
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"parameter {self.name}={value!r} is invalid: valid range is {self.valid_range()}")
        if self.type in (int, float) and (
            (self.low is not None and value < self.low) or (self.high is not None and value > self.high)
        ):
            raise ParameterError(f"parameter {self.name}={value!r} is out of range: valid range is {self.valid_range()}")
        if self.validator is not None:
            try:
                self.validator(value)
            except ValueError as err:
                raise ParameterError(f"parameter {err}") from None
        return value


COMMON = (
    Param("profile", str, "", "quick runs the same code on smaller inputs ('' means the profile make reproduce "
          "last ran here, else quick)", choices=("", *PROFILES)),
    Param("output_dir", str, "", "where the figure goes; its dataset goes to OUTPUT_DIR/data ('' means "
          "GREENAOLO_OUTPUT_DIR, else the checkout's figures/, else ./figures)"),
)
SOLVER = Param("solver", str, "auto", "linear-programming solver", choices=SOLVERS)
SEED = Param("seed", int, 42, "seed of the scenario generator (42 is the paper's)", low=0, high=2**32 - 1)
RUNS_DIR = Param("runs_dir", str, "", "folder of the trained AOLO runs ('' means OUTPUT_DIR/data/aolo_runs)")
N_SEEDS = Param("n_seeds", int, 10, "training seeds per algorithm (seeds 0 .. n_seeds-1)", low=2, high=20, quick=2)
PROCESSES = Param("processes", int, 0, "local Dask worker processes for sweeps (0: every core; 1: serial)",
                  low=0, high=256)
def _check_scheduler(value: str) -> None:
    from greenaolo.tasks import check_scheduler

    check_scheduler(value)


SCHEDULER = Param("scheduler", str, "", "where sweeps run: '' (local workers), 'serial', or a Dask scheduler "
                  "address such as tcp://host:8786", validator=_check_scheduler)


@dataclass(frozen=True)
class NotebookSpec:
    """A notebook: its name (file stem), what it shows, the paper's claim, its parameters.

    :param kind: ``"figure"`` (writes a dataset and draws its figure; one Make rule each) or
        ``"exploration"`` (widgets over library functions, for a person in JupyterLab).
    """

    name: str
    title: str
    claim: str
    params: tuple[Param, ...] = field(default_factory=tuple)
    kind: str = "figure"

    @property
    def path(self) -> Path:
        return notebook_dir() / f"{self.name}.ipynb"

    @property
    def all_params(self) -> tuple[Param, ...]:
        return COMMON + self.params

    def param(self, name: str) -> Param:
        for p in self.all_params:
            if p.name == name:
                return p
        valid = ", ".join(p.name for p in self.all_params)
        raise ParameterError(f"notebook {self.name!r} has no parameter {name!r}: valid parameters are {valid}")


NOTEBOOKS: dict[str, NotebookSpec] = {
    spec.name: spec
    for spec in (
        NotebookSpec(
            "greenllm_table1",
            "Green-LLM Table 1: the scenario (DCs, regions, carbon zones, prices, renewables, PUE)",
            "Nine Google Cloud US regions with on-site renewables, time-of-use prices and hourly carbon intensity.",
            (SEED,),
        ),
        NotebookSpec(
            "greenllm_fig1",
            "Green-LLM Fig. 1: varying carbon intensity theta and renewables P_w",
            "Effective cost and carbon reduction requires joint, time-aware multi-objective optimization.",
            (SEED, SOLVER, PROCESSES, SCHEDULER,
             Param("n_points", int, 10, "points per Psi sweep (0.1 to 1.9)", low=2, high=100, quick=3),
             Param("hourly_psi_theta", float, 1.2, "Psi_theta of the hourly cost panel", low=0.0, high=10.0),
             Param("hourly_psi_pw", float, 1.0, "Psi_Pw of the hourly emissions panel", low=0.0, high=10.0)),
        ),
        NotebookSpec(
            "greenllm_fig2",
            "Green-LLM Fig. 2: varying token energy tau and delay penalty rho",
            "M0 is robust in managing inference workloads where large token sizes and delay penalties coexist.",
            (SEED, SOLVER, PROCESSES, SCHEDULER,
             Param("n_points", int, 10, "points per Psi sweep", low=2, high=100, quick=2)),
        ),
        NotebookSpec(
            "greenllm_pareto",
            "Beyond the paper: the cost / emissions / water Pareto front (epsilon-constraint)",
            "Not in the paper: how far M0-M3 sit from the cost-emissions-water trade-off frontier.",
            (SEED, SOLVER, PROCESSES, SCHEDULER,
             Param("n_emissions", int, 10, "emissions limits", low=2, high=100, quick=3),
             Param("n_water", int, 6, "water limits", low=2, high=100, quick=2)),
        ),
        NotebookSpec(
            "greenllm_water",
            "Beyond the paper: water as a binding constraint",
            "Not in the paper: the paper's water budget never binds; what does water cost when it does?",
            (SEED, SOLVER, PROCESSES, SCHEDULER,
             Param("n_points", int, 16, "water budgets swept", low=2, high=200, quick=4)),
        ),
        NotebookSpec(
            "greenllm_milp",
            "Beyond the paper: the MILP extension (integer servers, model placement) against the LP",
            "Not in the paper: what integer servers with idle power and model downloads add, proven to a gap, what "
            "they cost to solve as instances grow, and where the models sit over the day.",
            (SEED, SOLVER, PROCESSES, SCHEDULER,
             Param("time_limit", float, 60.0, "seconds per MILP solve", low=1.0, high=3600.0, quick=4.0),
             Param("n_sizes", int, 6, "instance sizes of the solve-time study (the first of MILP_SIZES)", low=1, high=6,
                   quick=2)),
        ),
        NotebookSpec(
            "greenllm_latency",
            "Beyond the paper: per-query latency distributions",
            "Not in the paper: the aggregate \"delay\" hides the latency a query actually sees.",
            (SEED, SOLVER, Param("bins", int, 60, "histogram bins", low=5, high=1000)),
        ),
        NotebookSpec(
            "greenllm_year",
            "Green-LLM over 2024: every day's hourly carbon intensity, perfect foresight against day-ahead forecasts",
            "Effective cost and carbon reduction requires joint, time-aware multi-objective optimization "
            "(Fig. 1, shown on one day, with the day's carbon intensity known in advance).",
            (SEED, PROCESSES, SCHEDULER,
             Param("n_days", int, 366, "days of 2024, spread evenly over the year (366: every day)", low=2, high=366,
                   quick=4),
             Param("afresh", bool, False, "draw the synthetic inputs anew per day, seeded by the date (YYYYMMDD)")),
        ),
        NotebookSpec(
            "greenllm_measured",
            "Carbon-aware routing of LLM inference on measured inputs: 2023 and 2024, twelve zones on four continents",
            "Not in the paper: the field's open question, answered on public measurements (about 38% less "
            "operational carbon, DynamoLLM; \"limited benefits\" on real grids, Sukprasert et al., EuroSys 2024).",
            (PROCESSES, SCHEDULER,
             Param("n_days", int, 366, "days per year, spread evenly over it (366: every day)", low=1, high=366,
                   quick=3),
             Param("llm", str, "Llama 3.1 8B Instruct", "ML.ENERGY model (nickname)"),
             Param("gpu", str, "H100", "GPU of the measurement (H100 or B200)"),
             Param("n_splits", int, 8, "random splits of the demand between areas (sensitivity)", low=0, high=100,
                   quick=1),
             Param("split_days", int, 12, "days per year the demand splits are run on", low=1, high=366, quick=1)),
        ),
        NotebookSpec(
            "aolo_carbon_model",
            "AOLO: the carbon model of one wireless LLM request, and the exact per-request optimum",
            "Carbon spans inference and wireless delivery, operational and embodied; both the output length "
            "and the transmit power matter.",
            (Param("seed", int, EVALUATION_SEED, "seed of the fixed evaluation set", low=0, high=2**32 - 1),
             Param("n_requests", int, 1000, "evaluation requests", low=10, high=MAX_REQUESTS, quick=200)),
        ),
        NotebookSpec(
            "aolo_measured",
            "AOLO on measured inference energy: the carbon breakdown and the oracle's decisions for measured "
            "models and GPUs (ML.ENERGY Benchmark v3)",
            "Not a published figure: how the split between computation and communication moves when the "
            "inference energy is measured instead of assumed.",
            (Param("seed", int, EVALUATION_SEED, "seed of the fixed evaluation set", low=0, high=2**32 - 1),
             Param("n_requests", int, 1000, "evaluation requests", low=10, high=MAX_REQUESTS, quick=200)),
        ),
        NotebookSpec(
            "aolo_convergence",
            "AOLO: SDRL and SAC learning curves (evaluation reward and carbon per request against steps)",
            "SDRL (PopSAN actor) converges to a lower-carbon policy than the benchmark SAC.",
            (RUNS_DIR, N_SEEDS, SCHEDULER),
        ),
        NotebookSpec(
            "aolo_carbon_comparison",
            "AOLO: overall carbon per request by method, in four terms, and SDRL's reduction against SAC",
            "SDRL has an 18.77% lower overall carbon footprint than SAC.",
            (RUNS_DIR, N_SEEDS, SCHEDULER),
        ),
        NotebookSpec(
            "aolo_sweeps",
            "AOLO: carbon per request against QoE threshold, latency budget, grid carbon intensity and P_max",
            "Not a published figure: how the learned policies and the oracle move with the setting.",
            (RUNS_DIR, N_SEEDS, SCHEDULER,
             Param("n_requests", int, 1000, "evaluation requests per sweep point", low=10, high=100_000, quick=200)),
        ),
        NotebookSpec(
            "aolo_actor_energy",
            "AOLO: estimated energy per actor inference, ANN (MACs) against SNN (spike-driven accumulates)",
            "The spiking actor is the energy-efficient choice (the paper's motivation for SDRL).",
            (RUNS_DIR, N_SEEDS, SCHEDULER,
             Param("n_requests", int, 1000, "evaluation requests the spike rates are counted on", low=10,
                   high=100_000, quick=200)),
        ),
        NotebookSpec(
            "aolo_tuning",
            "AOLO: the Optuna tuning studies of every agent, and whether tuning alone could explain 18.77%",
            "Not a published figure: SDRL's 18.77% against SAC, set beside the spread of results over the "
            "hyperparameters tried.",
            (Param("studies_dir", str, "", "folder of the studies' journal files ('' means the package's "
                   "hyperparams/studies, written by make tune)"),
             Param("trials", int, 0, "the first TRIALS finished trials of each study (0: all)", low=0, high=100_000),
             RUNS_DIR, N_SEEDS, SCHEDULER),
        ),
        NotebookSpec(
            "aolo_benchmark",
            "AOLO: every agent, default and tuned, against the oracle: IQM, bootstrap intervals, profiles",
            "SDRL's overall carbon is 18.77% lower than SAC's; here every agent is tuned with the same budget.",
            (RUNS_DIR, N_SEEDS, SCHEDULER,
             Param("n_bootstrap", int, 2000, "bootstrap resamples per interval", low=100, high=100_000, quick=200)),
        ),
        NotebookSpec(
            "greenllm_table2",
            "Green-LLM Table 2: the compared models M0-M3 and the lexicographic orders",
            "M0 (Green-LLM) has the lowest total cost; lexicographic orders trade the three costs "
            "without manual weights.",
            (SEED, Param("tolerance", float, 1e-3, "lexicographic tolerance epsilon", low=0.0, high=1.0), SOLVER),
        ),
        NotebookSpec(
            "explore_greenllm",
            "Explore Green-LLM: re-solve the paper instance as you move the scaling factors, the water budget "
            "and the model",
            "Not a figure: a place to try the model's sensitivities by hand.",
            (SEED, Param("solver", str, "highs", "linear-programming solver", choices=SOLVERS)),
            kind="exploration",
        ),
        NotebookSpec(
            "explore_aolo",
            "Explore AOLO: one request's optimum, carbon breakdown and the trained agents' choices",
            "Not a figure: a place to see how the optimal answer length and power move with the request.",
            (RUNS_DIR,),
            kind="exploration",
        ),
    )
}


def spec(name: str) -> NotebookSpec:
    if name not in NOTEBOOKS:
        raise NotebookNotFoundError(f"unknown notebook {name!r}: valid notebooks are {', '.join(sorted(NOTEBOOKS))}")
    return NOTEBOOKS[name]


def check_parameters(notebook: str, **values: Any) -> dict[str, Any]:
    """Validate a notebook's parameters and return the values the run uses (call it right after the
    ``parameters`` cell). In the ``quick`` profile, a parameter with a ``quick`` cap is reduced to it, so
    the same code runs smaller; the returned dict is what the dataset records.

    :raises ParameterError: for an unknown notebook or parameter, a wrong type or an out-of-range value.
    """
    from greenaolo import paths

    s = spec(notebook)
    checked = {name: s.param(name).convert(value) for name, value in values.items()}
    if checked.get("profile") == "":
        checked["profile"] = paths.default_profile()
    if checked.get("output_dir") == "":
        try:
            checked["output_dir"] = str(paths.output_dir())
        except ValueError as err:
            raise ParameterError(f"parameter output_dir='': {err}") from None
    if checked.get("profile") == "quick":
        for name, value in checked.items():
            cap = s.param(name).quick
            if cap is not None:
                checked[name] = type(value)(min(value, cap))
    return checked


def capped_parameters(notebook: str, given: Mapping[str, Any], profile: str) -> list[str]:
    """What the ``quick`` profile reduces of the parameters given explicitly, in words (empty if nothing).

    :raises ParameterError: for a bad parameter.
    """
    s = spec(notebook)
    return _capped(s, given, check_parameters(s.name, **given, profile=profile), profile)


def _capped(s: NotebookSpec, given: Mapping[str, Any], params: Mapping[str, Any], profile: str) -> list[str]:
    """The notes of :func:`capped_parameters`, from parameters already checked (``params``)."""
    notes = []
    for name in given:
        value = s.param(name).convert(given[name])
        if params[name] != value:
            notes.append(f"{name}={value!r} is capped to {params[name]!r} in the {profile} profile "
                         "(the full profile runs it as given)")
    return notes


def resolve_notebook(notebook: str | os.PathLike) -> tuple[NotebookSpec, Path]:
    """The spec and the file of a notebook given by name (``greenllm_table1``) or by path (an edited copy).

    A path's spec is the one its metadata names (``metadata.greenaolo.notebook``), else its file stem's.

    :raises NotebookNotFoundError: for an unknown name, a missing file, or a file that is not a greenaolo
        notebook.
    """
    text = os.fspath(notebook)
    if not text.endswith(".ipynb") and os.sep not in text and "/" not in text:
        if text not in NOTEBOOKS:
            raise NotebookNotFoundError(
                f"unknown notebook {text!r}: valid notebooks are {', '.join(sorted(NOTEBOOKS))} "
                "(or give the path of a .ipynb file)")
        s = NOTEBOOKS[text]
        if not s.path.is_file():
            raise NotebookNotFoundError(f"notebook {text!r} is not installed: {s.path} does not exist")
        return s, s.path
    path = Path(text)
    if not path.is_file():
        raise NotebookNotFoundError(f"notebook {text!r} does not exist (or is not a file)")
    import json

    try:
        metadata = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, UnicodeDecodeError, ValueError, AttributeError):
        raise NotebookNotFoundError(f"{text} is not a readable notebook (not JSON)") from None
    name = (metadata.get("greenaolo") or {}).get("notebook", path.stem) if isinstance(metadata, dict) else path.stem
    if name not in NOTEBOOKS:
        raise NotebookNotFoundError(
            f"{text} is not a greenaolo notebook: its metadata names no notebook and {path.stem!r} is none of "
            f"{', '.join(sorted(NOTEBOOKS))}")
    return NOTEBOOKS[name], path


def run_notebook(
    notebook: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    *,
    profile: str = "full",
    output_dir: str | os.PathLike | None = None,
    executed_dir: str | os.PathLike = "build/notebooks",
    progress: bool = True,
) -> Path:
    """Execute one notebook with papermill (kernel ``python3``), after validating its parameters.

    :param notebook: a notebook's name, or the path of a copy (``greenaolo notebooks --copy``), edited or not.
    :param output_dir: where figures and datasets go (``None``: :func:`greenaolo.paths.output_dir`).
    :returns: the path of the executed notebook (``executed_dir/STEM.ipynb``).
    :raises NotebookNotFoundError: before anything is written, if the notebook cannot be found.
    :raises ParameterError: before anything is written, for a bad parameter or a folder that cannot be written.
    """
    import nbformat
    import papermill

    from greenaolo.io import atomic_path, check_writable, provenance

    from greenaolo import paths

    s, source = resolve_notebook(notebook)
    if output_dir is None:
        try:
            output_dir = paths.output_dir()
        except ValueError as err:
            raise ParameterError(f"output_dir: {err}") from None
    output_dir = Path(output_dir).resolve()
    given = dict(parameters or {})
    params = check_parameters(s.name, **given, profile=profile, output_dir=str(output_dir))
    for message in _capped(s, given, params, profile):
        warnings.warn(ParameterCapWarning(message), stacklevel=2)
    for option, folder in (("output_dir", output_dir), ("executed_dir", executed_dir)):
        try:
            check_writable(folder)
        except OSError as err:
            raise ParameterError(f"{option}: {err}") from None
    executed = Path(executed_dir) / f"{source.stem}.ipynb"
    with tempfile.TemporaryFile(mode="w+") as kernel_log, tempfile.TemporaryDirectory(prefix="greenaolo-") as sockets:
        local = {"kernel_manager_class": _local_kernel_manager(kernel_log, sockets)} if os.name == "posix" else {}
        try:
            nb = papermill.execute_notebook(
                str(source),
                str(executed),
                parameters=params,
                kernel_name=KERNELSPEC["name"],
                progress_bar=progress,
                cwd=str(Path.cwd()),
                **local,
            )
        except KeyboardInterrupt:
            _mark_unfinished(executed, "interrupted")
            raise  # the kernel's complaints about it are noise
        except papermill.PapermillExecutionError:
            _mark_unfinished(executed, "failed")
            raise  # the cell's error is in the notebook
        except BaseException:
            kernel_log.seek(0)
            sys.stderr.write(kernel_log.read()[-5000:])  # why the kernel died, if it did
            raise
    # The executed notebook records the code's provenance, as its dataset and figure do.
    nb.metadata.setdefault("greenaolo", {}).update(provenance=provenance(), status="completed")
    # Tie the executed notebook to the dataset it wrote (its creation stamp), so the report never pairs a
    # notebook with a dataset another run wrote later.
    dataset = Path(output_dir) / "data" / f"{s.name}.nc"
    if s.kind == "figure" and dataset.is_file():
        from greenaolo.io import read_dataset

        nb.metadata["greenaolo"]["dataset_created"] = str(read_dataset(dataset).attrs.get("created", ""))
    with atomic_path(executed) as tmp:
        nbformat.write(nb, tmp)
    return executed


def _mark_unfinished(executed: Path, status: str) -> None:
    """Record in an executed notebook that it did not finish (``metadata.greenaolo.status`` and papermill's
    own ``exception``), so no reader takes it for a complete run: papermill records an interrupted run's
    cells as completed. A notebook papermill never wrote is left absent."""
    import nbformat

    from greenaolo.io import atomic_path

    try:
        nb = nbformat.read(executed, as_version=4)
    except (OSError, ValueError):
        return
    nb.metadata.setdefault("greenaolo", {})["status"] = status
    nb.metadata.setdefault("papermill", {})["exception"] = True
    with atomic_path(executed) as tmp:
        nbformat.write(nb, tmp)


def _local_kernel_manager(stderr: IO[str], sockets: str) -> type:
    """A kernel manager whose kernel talks over local (IPC) sockets in the folder ``sockets`` (its own, so
    kernels started at once in one folder never share a socket) instead of TCP on localhost, so it does not
    print its warning about unencrypted TCP on every run; the kernel writes its stderr to ``stderr``, so an
    interrupted run does not end in the kernel's traceback (POSIX only)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        @default("ip")
        def _default_ip(self) -> str:
            return os.path.join(sockets, "kernel")

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            kw["stderr"] = stderr
            await super()._async_launch_kernel(kernel_cmd, **kw)

    return LocalKernelManager


def copy_notebooks(destination: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Copy every notebook into ``destination`` (created if needed), where a user can open and edit them.

    :param overwrite: replace notebooks already there; otherwise an existing one is an error and nothing
        is copied.
    :raises FileExistsError: if a notebook is already there and ``overwrite`` is false, or ``destination``
        is a file.
    """
    dest = Path(destination)
    if dest.exists() and not dest.is_dir():
        raise FileExistsError(f"{dest} exists and is not a folder")
    sources = [NOTEBOOKS[name].path for name in sorted(NOTEBOOKS)]
    missing = [src for src in sources if not src.is_file()]
    if missing:
        raise FileNotFoundError(f"{missing[0]} is missing: the package's notebooks are incomplete (reinstall it)")
    targets = [dest / src.name for src in sources]
    clashes = [t for t in targets if t.exists()]
    if clashes and not overwrite:
        raise FileExistsError(
            f"{clashes[0]} exists ({len(clashes)} of the {len(targets)} notebooks are already in {dest}): "
            "use --force to overwrite them")
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    done: list[Path] = []
    try:
        for src, target in zip(sources, targets):
            shutil.copyfile(src, target)
            done.append(target)
    except BaseException:
        for target in done if not clashes else []:  # never remove a user's file we were told to overwrite
            target.unlink(missing_ok=True)
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        raise
    return targets


def defaults_in_notebook(notebook: str) -> dict[str, Any]:
    """The parameters papermill finds in the notebook's ``parameters`` cell, with their defaults."""
    import ast

    import papermill

    found = papermill.inspect_notebook(str(spec(notebook).path))
    return {name: ast.literal_eval(info["default"]) for name, info in found.items()}


def figure_notebooks() -> list[str]:
    """The names of the figure and table notebooks (those ``make reproduce`` runs), sorted."""
    return sorted(name for name, s in NOTEBOOKS.items() if s.kind == "figure")


def params_table(names: Sequence[str] | None = None) -> list[tuple[str, str, str, str, str]]:
    """(notebook, parameter, type, default, valid range) rows for ``greenaolo notebooks``."""
    rows = []
    for name in names or sorted(NOTEBOOKS):
        for p in spec(name).all_params:
            valid = p.valid_range() + (f"; quick profile: at most {p.quick!r}" if p.quick is not None else "")
            rows.append((name, p.name, p.type.__name__, repr(p.default), valid))
    return rows


def notebook_source(path: str | os.PathLike) -> str:
    """What makes a notebook's figure: its cells' types, sources and tags, as JSON (not outputs, execution
    counts or metadata, which JupyterLab rewrites on save)."""
    import json

    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = [[c["cell_type"], "".join(c["source"]), sorted(c.get("metadata", {}).get("tags", []))] for c in nb["cells"]]
    return json.dumps(cells, indent=0) + "\n"


def write_source(notebook: str | os.PathLike, target: str | os.PathLike) -> bool:
    """Write :func:`notebook_source` to ``target`` only when it changed (the Makefile's stamp of a notebook);
    returns whether it wrote."""
    text = notebook_source(notebook)
    target = Path(target)
    try:
        if target.read_text(encoding="utf-8") == text:
            return False
    except OSError:
        pass
    from greenaolo.io import atomic_path

    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return True


def completed(nb) -> bool:
    """Whether an executed notebook (an ``nbformat`` node) ran to its end: :func:`run_notebook` records
    ``metadata.greenaolo.status = "completed"`` only then (papermill alone records an interrupted run as
    completed)."""
    return nb.metadata.get("greenaolo", {}).get("status") == "completed"


if __name__ == "__main__":  # python -m greenaolo.notebooks source NOTEBOOK TARGET (the Makefile's stamp)
    if len(sys.argv) != 4 or sys.argv[1] != "source":
        sys.exit("usage: python -m greenaolo.notebooks source NOTEBOOK TARGET")
    write_source(sys.argv[2], sys.argv[3])
