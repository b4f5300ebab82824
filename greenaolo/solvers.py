"""Choosing and running the solver for a linopy model, honestly.

Gurobi is used when ``gurobipy`` is installed, a licence can be had, and the model fits that licence; else
HiGHS, with a :class:`SolverFallbackWarning` that says why. The pip wheel of gurobipy carries a
size-limited licence (at most 2,000 variables and 2,000 linear constraints) that fails only at optimize
(error 10010) while linopy reports Gurobi as available; we read the licence first (``LicenseID`` 0 means
the pip licence, ``LicenseExpiration`` its end date) and compare the model's size before solving.

A solve that does not end optimal (time limit, infeasible, unbounded, unknown) raises :class:`SolveError`,
unless the caller asks for non-optimal results, which are then marked ``optimal = 0`` in their attributes.

A MILP solve can be handed a start: a function that solves the model's LP relaxations on the same solver
object (warm-started) and returns values for some variables, which the solver completes into its first
incumbent. The MIP's progress (time, incumbent, bound) is recorded as it runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import functools
import json
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import linopy
import numpy as np
import xarray as xr

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
    "relative_gap",
    "solve",
    "time_to_gap",
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
    #: The best proven bound on the objective (the objective itself for an LP).
    bound: float = math.nan
    #: MIP progress as (seconds since the solve began, incumbent, bound), one row per change; empty for LPs
    #: and for Gurobi. Not part of :meth:`attrs` (see :func:`progress_json`).
    progress: tuple[tuple[float, float, float], ...] = ()

    def merge(self, later: SolveInfo) -> SolveInfo:
        """Combine with a later solve of the same model (a tie-break or a lexicographic phase): the later
        solve's termination and gap, this one's objective, bound and progress (the primary optimum), the
        summed time."""
        return dataclasses.replace(
            later,
            objective=self.objective,
            bound=self.bound,
            progress=self.progress,
            optimal=self.optimal and later.optimal,
            solve_seconds=self.solve_seconds + later.solve_seconds,
            n_solves=self.n_solves + later.n_solves,
        )

    def attrs(self) -> dict[str, str | int | float]:
        out = dataclasses.asdict(self)
        out["optimal"] = int(self.optimal)
        out["mip_progress"] = progress_json(out.pop("progress"))
        return out


def progress_json(progress) -> str:
    """MIP progress as JSON ``[[seconds, incumbent, bound], ...]`` (``null`` for none yet), netCDF-safe."""
    return json.dumps([[None if not math.isfinite(v) else round(v, 6) for v in row] for row in progress])


def relative_gap(incumbent: float, bound: float) -> float:
    """HiGHS's and Gurobi's relative MIP gap ``|incumbent - bound| / |incumbent|`` (inf without an incumbent)."""
    if not (math.isfinite(incumbent) and math.isfinite(bound)):
        return math.inf
    return abs(incumbent - bound) / max(abs(incumbent), 1e-10)


def time_to_gap(progress, gap: float) -> float:
    """Seconds until the recorded progress first proved a relative gap of at most ``gap`` (inf if never)."""
    for seconds, incumbent, bound in progress:
        if relative_gap(incumbent, bound) <= gap:
            return seconds
    return math.inf


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


def _bound(model: linopy.Model, solver: str) -> float:
    sm = model.solver_model
    try:
        return float(sm.getInfo().mip_dual_bound) if solver == "highs" else float(sm.ObjBound)
    except Exception:  # the solver returned no bound
        return float("nan")


def _mip_gap(model: linopy.Model, solver: str) -> float:
    if not model.variables.integers and not model.variables.binaries:
        return 0.0
    sm = model.solver_model
    try:
        return float(sm.getInfo().mip_gap) if solver == "highs" else float(sm.MIPGap)
    except Exception:  # the solver returned no gap (e.g. no incumbent)
        return float("nan")


#: A MILP start (see :func:`solve`): given ``resolve``, which solves the model as it stands (the caller may
#: relax or fix variables first, and must restore them) and returns its objective or ``None`` if not optimal,
#: return values for some variables, or ``None`` for no start.
Start = Callable[[Callable[[], "float | None"]], "Mapping[str, xr.DataArray] | None"]


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
    start: Start | None = None,
) -> SolveInfo:
    """Solve ``model`` with the chosen solver and check how it ended.

    :param solver: ``"auto"``, ``"highs"`` or ``"gurobi"`` (:func:`choose_solver`).
    :param time_limit: seconds, the start's LP solves included; ``None`` for no limit.
    :param threads: solver threads; ``None`` for the solver's default (recorded as 0).
    :param seed: solver random seed.
    :param mip_gap: relative MIP gap for models with integer variables.
    :param allow_suboptimal: return a non-optimal solve (e.g. a time limit with an incumbent), marked
        ``optimal=False``, instead of raising.
    :param solution_limit: stop a MILP after this many improving solutions (a limit that does not depend on
        the machine's speed, unlike ``time_limit``); ``None`` for none.
    :param start: a MILP start (:data:`Start`), run on the solver object the MILP then runs on (so its LP
        solves are warm-started); its values are handed to the solver, which completes them into an
        incumbent (HiGHS ``setSolution``, Gurobi ``Start``). Ignored for an LP.
    :raises SolveError: the solve did not end optimal (and ``allow_suboptimal`` is off, or there is no
        solution at all).
    """
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time_limit={time_limit!r} is out of range: expected seconds > 0 or None")
    if threads is not None and not (isinstance(threads, int) and threads >= 1):
        raise ValueError(f"threads={threads!r} is out of range: expected an integer >= 1 or None")
    name, licence = choose_solver(model, solver)
    version = highs_version() if name == "highs" else gurobi_licence().version
    is_mip = bool(model.variables.integers or model.variables.binaries)
    start = start if is_mip else None
    started = time.perf_counter()
    extra = {"env": _gurobi_env()} if name == "gurobi" else {}
    linopy_log = logging.getLogger("linopy")
    level = linopy_log.level
    linopy_log.setLevel(logging.ERROR)  # its "Optimization potentially failed" block: SolveError says it here
    progress: list[tuple[float, float, float]] = []
    try:
        # What linopy's Model.solve does before building, then the build, the start and the run by hand.
        model.constraints.sanitize_zeros()
        model.constraints.sanitize_infinities()
        model.solver = None  # closes any previous solver (and its Gurobi licence)
        built = linopy.solvers.Solver.from_name(
            name, model=model, io_api="direct",
            options=_options(name, time_limit, threads, seed, mip_gap, solution_limit),
            track_updates=start is not None, set_names=False, **extra,
        )
        if start is not None:
            _run_start(built, model, name, start, started, time_limit)
        deadline = math.inf if time_limit is None else started + time_limit
        if name == "highs" and is_mip:
            _record_progress(built.solver_model, progress, started, deadline)
        result = built.solve()
        if result.status.termination_condition == "user_interrupt" and time.perf_counter() >= deadline:
            result = _time_limited(built)  # our deadline (see _record_progress), reported as HiGHS's would be
        model.assign_result(result, solver=built)
        status, condition = model.status, model.termination_condition
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
    if progress and name == "highs":
        progress = _main_search_bounds(progress)
        info = model.solver_model.getInfo()  # the final state, as the solver reports it
        progress.append((seconds, float(info.objective_function_value), float(info.mip_dual_bound)))
    return SolveInfo(
        solver=name,
        solver_version=version,
        licence=licence,
        termination=str(condition),
        optimal=optimal,
        objective=float(model.objective.value),
        mip_gap=_mip_gap(model, name),
        bound=_bound(model, name) if is_mip else float(model.objective.value),
        seed=int(seed),
        threads=int(threads or 0),
        solve_seconds=seconds,
        progress=tuple(progress),
    )


def _run_start(built, model: linopy.Model, name: str, start: Start, started: float, time_limit) -> None:
    """Run ``start`` on the built solver, push the restored model back to it, and hand it the values."""

    def resolve() -> float | None:
        if time_limit is not None and time.perf_counter() - started >= time_limit:
            return None  # out of time: no more LPs for the start
        built.solve(model, assign=True)
        return float(model.objective.value) if model.termination_condition == "optimal" else None

    values = start(resolve)
    built.update(model)  # the start relaxed or fixed variables and restored them: the solver must follow
    model.reset_solution()
    if time_limit is not None:
        remaining = max(time_limit - (time.perf_counter() - started), 1e-3)
        _native_option(built.solver_model, name, "time_limit", remaining)
    if not values:
        return
    labels = np.concatenate([np.asarray(model.variables[v].labels).ravel() for v in values])
    data = np.concatenate([np.asarray(values[v].transpose(*model.variables[v].labels.dims)).ravel()
                           for v in values]).astype(float)
    vlabels = model.variables.label_index.vlabels
    column = np.full(int(vlabels.max()) + 1, -1)
    column[vlabels] = np.arange(len(vlabels))
    keep = labels >= 0
    cols, data = column[labels[keep]], data[keep]
    if name == "highs":
        built.solver_model.setSolution(len(cols), cols.astype(np.int32), data)
    else:
        variables = built.solver_model.getVars()
        built.solver_model.setAttr("Start", [variables[c] for c in cols], data.tolist())


def _time_limited(built) -> linopy.constants.Result:
    """The result of a HiGHS MIP interrupted at the deadline, as linopy reports a time limit: the incumbent."""
    from linopy.constants import Result, Solution, Status

    highs = built.solver_model
    values = np.asarray(highs.getSolution().col_value, dtype=float)
    primal = np.full(built.model._xCounter, np.nan)
    primal[built.model.variables.label_index.vlabels] = values
    solution = Solution(primal, np.array([], dtype=float), float(highs.getInfo().objective_function_value))
    return Result(Status.from_termination_condition("time_limit"), solution, highs, "highs")


def _native_option(solver_model, name: str, option: str, value: float) -> None:
    if name == "highs":
        solver_model.setOptionValue(option, float(value))
    else:
        solver_model.setParam({"time_limit": "TimeLimit"}[option], float(value))


def _record_progress(highs, progress: list, started: float, deadline: float) -> None:
    """Append (seconds, incumbent, bound, HiGHS's own clock) to ``progress`` whenever HiGHS's MIP incumbent or
    bound changes; interrupt the solve at ``deadline``. HiGHS's own time limit starts again with the main
    search, after the start has been completed; the deadline holds for the whole solve."""

    def record(event) -> None:
        if time.perf_counter() >= deadline:
            event.interrupt()
        out = event.data_out
        row = (float(out.mip_primal_bound), float(out.mip_dual_bound))
        if not progress or progress[-1][1:3] != row:
            progress.append((time.perf_counter() - started, *row, float(out.running_time)))

    highs.cbMipInterrupt.subscribe(record)
    highs.cbMipImprovingSolution.subscribe(record)


def _main_search_bounds(progress: list) -> list[tuple[float, float, float]]:
    """(seconds, best incumbent so far, best bound so far) of the main search. HiGHS completes a start by a
    sub-MIP that reports through the same callbacks, with its own clock (reset when the main search begins)
    and its own bound (that of the start's fixed values, not a bound of the model): bounds before the clock's
    last reset are dropped; incumbents are complete solutions and are kept."""
    clocks = [row[3] for row in progress]
    main = max((i for i in range(1, len(clocks)) if clocks[i] < clocks[i - 1]), default=0)
    out, incumbent, bound = [], math.inf, -math.inf
    for i, (seconds, primal, dual, _) in enumerate(progress):
        incumbent = min(incumbent, primal)
        if i >= main:
            bound = max(bound, dual)  # a bound, once proven, stays proven (a restart may report a weaker one)
        out.append((seconds, incumbent, bound))
    return out
