"""The figure and table notebooks: their parameters, validation, and running them with papermill.

Each notebook in ``notebooks/`` has a cell tagged ``parameters`` whose names and defaults match its
:class:`NotebookSpec` here (a test checks it), and calls :func:`check_parameters` right after it, so a wrong
name or an out-of-range value stops the notebook at once with a message that names the parameter, the
value and the valid range. The ``quick`` profile runs the same code as ``full`` on smaller inputs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["NOTEBOOKS", "Param", "ParameterError", "NotebookSpec", "check_parameters", "run_notebook"]

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"


class ParameterError(ValueError):
    """A notebook parameter is unknown, of the wrong type, or out of range."""


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
    """

    name: str
    type: type
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    quick: float | None = None

    def valid_range(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(map(repr, self.choices))
        if self.type is bool:
            return "True or False"
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
        if self.choices is not None and value not in self.choices:
            raise ParameterError(f"parameter {self.name}={value!r} is invalid: valid range is {self.valid_range()}")
        if self.type in (int, float) and (
            (self.low is not None and value < self.low) or (self.high is not None and value > self.high)
        ):
            raise ParameterError(f"parameter {self.name}={value!r} is out of range: valid range is {self.valid_range()}")
        return value


COMMON = (
    Param("profile", str, "full", "quick runs the same code on smaller inputs", choices=("quick", "full")),
    Param("output_dir", str, "figures", "where the figure goes; its dataset goes to OUTPUT_DIR/data"),
)
SOLVER = Param("solver", str, "auto", "linear-programming solver", choices=("auto", "highs", "gurobi"))
SEED = Param("seed", int, 42, "seed of the scenario generator (42 is the paper's)", low=0, high=2**32 - 1)
RUNS_DIR = Param("runs_dir", str, "", "folder of the trained AOLO runs ('' means OUTPUT_DIR/data/aolo_runs)")
N_SEEDS = Param("n_seeds", int, 5, "training seeds per algorithm (seeds 0 .. n_seeds-1)", low=2, high=20, quick=2)
PROCESSES = Param("processes", int, 0, "local Dask worker processes for sweeps (0: every core; 1: serial)",
                  low=0, high=256)
SCHEDULER = Param("scheduler", str, "", "where sweeps run: '' (local workers), 'serial', or a Dask scheduler "
                  "address such as tcp://host:8786")


@dataclass(frozen=True)
class NotebookSpec:
    """A figure or table notebook: its name (file stem), what it shows, the paper's claim, its parameters."""

    name: str
    title: str
    claim: str
    params: tuple[Param, ...] = field(default_factory=tuple)

    @property
    def path(self) -> Path:
        return NOTEBOOK_DIR / f"{self.name}.ipynb"

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
            "Not in the paper: what integer servers with idle power and model downloads add, and what they cost to solve.",
            (SEED, SOLVER, PROCESSES, SCHEDULER,
             Param("time_limit", float, 60.0, "seconds per MILP solve", low=1.0, high=3600.0, quick=3.0)),
        ),
        NotebookSpec(
            "greenllm_latency",
            "Beyond the paper: per-query latency distributions",
            "Not in the paper: the aggregate \"delay\" hides the latency a query actually sees.",
            (SEED, SOLVER, Param("bins", int, 60, "histogram bins", low=5, high=1000)),
        ),
        NotebookSpec(
            "aolo_carbon_model",
            "AOLO: the carbon model of one wireless LLM request, and the exact per-request optimum",
            "Carbon spans inference and wireless delivery, operational and embodied; both the output length "
            "and the transmit power matter.",
            (Param("seed", int, 20250306, "seed of the fixed evaluation set", low=0, high=2**32 - 1),
             Param("n_requests", int, 1000, "evaluation requests", low=10, high=1_000_000, quick=200)),
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
            "greenllm_table2",
            "Green-LLM Table 2: the compared models M0-M3 and the lexicographic orders",
            "M0 (Green-LLM) has the lowest total cost; lexicographic orders trade the three costs "
            "without manual weights.",
            (SEED, Param("tolerance", float, 1e-3, "lexicographic tolerance epsilon", low=0.0, high=1.0), SOLVER),
        ),
    )
}


def spec(name: str) -> NotebookSpec:
    if name not in NOTEBOOKS:
        raise ParameterError(f"unknown notebook {name!r}: valid notebooks are {', '.join(sorted(NOTEBOOKS))}")
    return NOTEBOOKS[name]


def check_parameters(notebook: str, **values: Any) -> dict[str, Any]:
    """Validate a notebook's parameters and return the values the run uses (call it right after the
    ``parameters`` cell). In the ``quick`` profile, a parameter with a ``quick`` cap is reduced to it, so
    the same code runs smaller; the returned dict is what the dataset records.

    :raises ParameterError: for an unknown notebook or parameter, a wrong type or an out-of-range value.
    """
    s = spec(notebook)
    checked = {name: s.param(name).convert(value) for name, value in values.items()}
    if checked.get("profile") == "quick":
        for name, value in checked.items():
            cap = s.param(name).quick
            if cap is not None:
                checked[name] = type(value)(min(value, cap))
    return checked


def run_notebook(
    notebook: str,
    parameters: Mapping[str, Any] | None = None,
    *,
    profile: str = "full",
    output_dir: str | os.PathLike = "figures",
    executed_dir: str | os.PathLike = "build/notebooks",
    progress: bool = True,
) -> Path:
    """Execute one notebook with papermill (kernel ``python3``), after validating its parameters.

    :returns: the path of the executed notebook (``executed_dir/NAME.ipynb``).
    """
    import papermill

    s = spec(notebook)
    params = check_parameters(notebook, **dict(parameters or {}), profile=profile, output_dir=str(output_dir))
    executed = Path(executed_dir) / f"{notebook}.ipynb"
    executed.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(s.path),
        str(executed),
        parameters=params,
        kernel_name="python3",
        progress_bar=progress,
        cwd=str(Path.cwd()),
    )
    return executed


def defaults_in_notebook(notebook: str) -> dict[str, Any]:
    """The parameters papermill finds in the notebook's ``parameters`` cell, with their defaults."""
    import ast

    import papermill

    found = papermill.inspect_notebook(str(spec(notebook).path))
    return {name: ast.literal_eval(info["default"]) for name, info in found.items()}


def params_table(names: Sequence[str] | None = None) -> list[tuple[str, str, str, str, str]]:
    """(notebook, parameter, type, default, valid range) rows for ``greenaolo notebooks``."""
    rows = []
    for name in names or sorted(NOTEBOOKS):
        for p in spec(name).all_params:
            valid = p.valid_range() + (f"; quick profile: at most {p.quick!r}" if p.quick is not None else "")
            rows.append((name, p.name, p.type.__name__, repr(p.default), valid))
    return rows
