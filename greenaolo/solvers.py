"""Choosing and running the solver for a linopy model, honestly.

Gurobi is used when ``gurobipy`` is installed, a licence can be had, and the model fits that licence; else
HiGHS, with a :class:`SolverFallbackWarning` that says why. The pip wheel of gurobipy carries a
size-limited licence (at most 2,000 variables and 2,000 linear constraints) that fails only at optimize
(error 10010) while linopy reports Gurobi as available; we read the licence first (``LicenseID`` 0 means
the pip licence, ``LicenseExpiration`` its end date) and compare the model's size before solving.

A solve that does not end optimal (time limit, infeasible, unbounded, unknown) raises :class:`SolveError`,
unless the caller asks for non-optimal results, which are then marked ``optimal = 0`` in their attributes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import linopy

from greenaolo.options import SOLVERS

__all__ = [
    "SIZE_LIMIT",
    "GurobiLicence",
    "SolveError",
    "SolveInfo",
    "SolverFallbackWarning",
    "SolverUnavailableError",
    "choose_solver",
    "gurobi_licence",
    "highs_version",
    "solve",
]

#: Variables and linear constraints the size-limited (pip) Gurobi licence accepts.
SIZE_LIMIT = 2000


class SolverFallbackWarning(UserWarning):
    """Gurobi was not used (not installed, no licence, or the model exceeds the licence); HiGHS ran."""


class SolverUnavailableError(RuntimeError):
    """The solver asked for explicitly cannot solve this model here."""


class SolveError(RuntimeError):
    """The solver did not return an optimal solution."""


@dataclass(frozen=True)
class GurobiLicence:
    """What gurobipy's licence allows on this machine.

    :param kind: ``"full"``, ``"size-limited"`` (the pip wheel's licence) or ``"none"``.
    :param licence_id: Gurobi's ``LicenseID`` parameter (0 for the pip licence).
    :param expiration: ``LicenseExpiration`` as YYYYMMDD, or 0 when unknown.
    :param reason: why Gurobi cannot be used at all, when ``kind == "none"``.
    """

    kind: str
    licence_id: int | None = None
    expiration: int = 0
    version: str = ""
    reason: str = ""

    def fits(self, n_variables: int, n_constraints: int) -> tuple[bool, str]:
        """Whether a model of this size can be solved, and why not."""
        if self.kind == "none":
            return False, self.reason
        if self.kind == "size-limited" and (n_variables > SIZE_LIMIT or n_constraints > SIZE_LIMIT):
            return False, (
                f"the model has {n_variables} variables and {n_constraints} constraints, over the size-limited "
                f"Gurobi licence's {SIZE_LIMIT} / {SIZE_LIMIT} (it would fail with error 10010)"
            )
        return True, ""


@functools.lru_cache(maxsize=1)
def gurobi_licence() -> GurobiLicence:
    """Read gurobipy's licence once per process (a Gurobi environment is started and closed)."""
    try:
        import gurobipy as gp
    except ImportError:
        return GurobiLicence("none", reason="gurobipy is not installed")
    version = ".".join(map(str, gp.gurobi.version()))
    try:
        with gp.Env(empty=True) as env:
            env.setParam("OutputFlag", 0)
            env.start()
            licence_id = int(env.getParam("LicenseID"))
            with gp.Model(env=env) as model:
                expiration = int(model.getAttr("LicenseExpiration") or 0)
    except gp.GurobiError as exc:
        return GurobiLicence("none", version=version, reason=f"no Gurobi licence could be had ({exc})")
    if expiration and expiration < int(_dt.date.today().strftime("%Y%m%d")):
        return GurobiLicence(
            "none", licence_id, expiration, version, reason=f"the Gurobi licence expired on {expiration}"
        )
    kind = "size-limited" if licence_id == 0 else "full"
    return GurobiLicence(kind, licence_id, expiration, version)


@functools.lru_cache(maxsize=1)
def _gurobi_env():
    """One quiet Gurobi environment per process, shared by every solve (no licence banner per solve)."""
    import gurobipy as gp

    env = gp.Env(empty=True)
    env.setParam("OutputFlag", 0)
    env.start()
    return env


@contextlib.contextmanager
def _c_stdout_discarded() -> Iterator[None]:
    """Discard what C code writes to file descriptor 1 inside the block (Python's own stdout is flushed first)."""
    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


@functools.cache
def highs_version() -> str:
    """HiGHS's version. The first ``Highs`` object of a process prints a copyright banner on C's stdout (a
    Jupyter kernel forwards it into the notebook, once per process); it is made here, with that discarded."""
    import highspy

    with _c_stdout_discarded():
        h = highspy.Highs()
    return f"{h.versionMajor()}.{h.versionMinor()}.{h.versionPatch()}"


def choose_solver(model: linopy.Model, requested: str = "auto") -> tuple[str, str]:
    """Pick the solver for ``model``: returns ``(solver, licence kind)``.

    :param requested: ``"auto"`` (Gurobi if it can solve this model, else HiGHS with a
        :class:`SolverFallbackWarning` naming the reason), ``"highs"`` or ``"gurobi"`` (an error if
        impossible).
    :raises SolverUnavailableError: ``"gurobi"`` was asked for and cannot solve this model.
    """
    if requested not in SOLVERS:
        raise ValueError(f"solver={requested!r} is unknown: expected one of {SOLVERS}")
    if requested == "highs":
        return "highs", "open source (MIT)"
    licence = gurobi_licence()
    ok, why = licence.fits(int(model.nvars), int(model.ncons))
    if ok:
        return "gurobi", licence.kind
    if requested == "gurobi":
        raise SolverUnavailableError(f"solver='gurobi' was requested but cannot be used: {why}")
    warnings.warn(f"Gurobi not used, falling back to HiGHS: {why}", SolverFallbackWarning, stacklevel=3)
    return "highs", "open source (MIT)"


@dataclass(frozen=True)
class SolveInfo:
    """What ran and how it ended; ``attrs()`` gives the netCDF-safe attributes of a result."""

    solver: str
    solver_version: str
    licence: str
    termination: str
    optimal: bool
    objective: float
    mip_gap: float
    seed: int
    threads: int
    solve_seconds: float
    n_solves: int = 1

    def merge(self, later: SolveInfo) -> SolveInfo:
        """Combine with a later solve of the same model (a tie-break or a lexicographic phase): the later
        solve's termination and gap, this one's objective (the primary optimum), the summed time."""
        return dataclasses.replace(
            later,
            objective=self.objective,
            optimal=self.optimal and later.optimal,
            solve_seconds=self.solve_seconds + later.solve_seconds,
            n_solves=self.n_solves + later.n_solves,
        )

    def attrs(self) -> dict[str, str | int | float]:
        out = dataclasses.asdict(self)
        out["optimal"] = int(self.optimal)
        return out


def _options(solver: str, time_limit, threads, seed, mip_gap, solution_limit=None) -> dict:
    if solver == "highs":
        opts = {"output_flag": False, "random_seed": seed, "mip_rel_gap": mip_gap}
        if time_limit is not None:
            opts["time_limit"] = float(time_limit)
        if threads is not None:
            opts["threads"] = int(threads)
        if solution_limit is not None:
            opts["mip_max_improving_sols"] = int(solution_limit)
    else:
        opts = {"OutputFlag": 0, "Seed": seed, "MIPGap": mip_gap}
        if time_limit is not None:
            opts["TimeLimit"] = float(time_limit)
        if threads is not None:
            opts["Threads"] = int(threads)
        if solution_limit is not None:
            opts["SolutionLimit"] = int(solution_limit)
    return opts


#: Terminations whose incumbent may be returned (marked non-optimal) when the caller allows it.
SUBOPTIMAL_OK = ("time_limit", "iteration_limit", "terminated_by_limit", "suboptimal")


def _has_solution(model: linopy.Model, solver: str) -> bool:
    """Whether the solver holds a primal solution (an incumbent) with a finite objective."""
    value = model.objective.value
    if value is None or not math.isfinite(value):
        return False
    sm = model.solver_model
    try:
        return int(sm.getInfo().primal_solution_status) == 2 if solver == "highs" else int(sm.SolCount) > 0
    except Exception:  # no solver model to ask (should not happen with io_api="direct")
        return True


def _mip_gap(model: linopy.Model, solver: str) -> float:
    if not model.variables.integers and not model.variables.binaries:
        return 0.0
    sm = model.solver_model
    try:
        return float(sm.getInfo().mip_gap) if solver == "highs" else float(sm.MIPGap)
    except Exception:  # the solver returned no gap (e.g. no incumbent)
        return float("nan")


def solve(
    model: linopy.Model,
    *,
    solver: str = "auto",
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    mip_gap: float = 1e-4,
    allow_suboptimal: bool = False,
    solution_limit: int | None = None,
) -> SolveInfo:
    """Solve ``model`` with the chosen solver and check how it ended.

    :param solver: ``"auto"``, ``"highs"`` or ``"gurobi"`` (:func:`choose_solver`).
    :param time_limit: seconds; ``None`` for no limit.
    :param threads: solver threads; ``None`` for the solver's default (recorded as 0).
    :param seed: solver random seed.
    :param mip_gap: relative MIP gap for models with integer variables.
    :param allow_suboptimal: return a non-optimal solve (e.g. a time limit with an incumbent), marked
        ``optimal=False``, instead of raising.
    :param solution_limit: stop a MILP after this many improving solutions (a limit that does not depend on
        the machine's speed, unlike ``time_limit``); ``None`` for none.
    :raises SolveError: the solve did not end optimal (and ``allow_suboptimal`` is off, or there is no
        solution at all).
    """
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit={time_limit!r} is out of range: expected seconds > 0 or None")
    if threads is not None and not (isinstance(threads, int) and threads >= 1):
        raise ValueError(f"threads={threads!r} is out of range: expected an integer >= 1 or None")
    name, licence = choose_solver(model, solver)
    version = highs_version() if name == "highs" else gurobi_licence().version
    started = time.perf_counter()
    extra = {"env": _gurobi_env()} if name == "gurobi" else {}
    linopy_log = logging.getLogger("linopy")
    level = linopy_log.level
    linopy_log.setLevel(logging.ERROR)  # its "Optimization potentially failed" block: SolveError says it here
    try:
        status, condition = model.solve(
            solver_name=name, io_api="direct", progress=False, **extra,
            **_options(name, time_limit, threads, seed, mip_gap, solution_limit),
        )
    finally:
        linopy_log.setLevel(level)
    seconds = time.perf_counter() - started
    optimal = status == "ok" and condition == "optimal" and _has_solution(model, name)
    if not optimal:
        if not (allow_suboptimal and condition in SUBOPTIMAL_OK and _has_solution(model, name)):
            raise SolveError(
                f"{name} ended with status {status!r}, termination {condition!r}: no optimal solution"
                + ("" if condition not in SUBOPTIMAL_OK or _has_solution(model, name) else " and no incumbent")
            )
    return SolveInfo(
        solver=name,
        solver_version=version,
        licence=licence,
        termination=str(condition),
        optimal=optimal,
        objective=float(model.objective.value),
        mip_gap=_mip_gap(model, name),
        seed=int(seed),
        threads=int(threads or 0),
        solve_seconds=seconds,
    )
