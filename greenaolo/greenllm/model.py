"""The Green-LLM workload-allocation model in linopy (``docs/greenllm.md#lp``).

The reference model is the LP that produced the v1 results (confirmed by reproduction): the
fraction ``x[i,j,k,t]`` of area i's type-k queries in hour t served by DC j, and the grid power
``P_g[j,t]``. One function per constraint family below, numbered as in ``docs/greenllm.md#constraints``.
:class:`Extensions` adds the optional MILP of ``docs/greenllm.md#milp`` (unmet demand, binary model placement with
download cost, integer active servers with idle power, a per-query latency cap, off-site water on grid
energy only); with every option off, the model is exactly the LP.

Objectives (``docs/greenllm.md#objectives``): the weighted sum ``w_E C_E + w_C C_C + w_D C_D`` (M0 equal
weights, M1 energy only, M2 carbon only, M3 1/4, 1/2, 1/4, or any weights), or the lexicographic
procedure (the likely Algorithm 1, ``docs/greenllm.md#lexicographic``) in any priority order with its tolerance epsilon.

Alternative optima (``docs/greenllm.md#a8``): when an objective leaves a cost term unpriced (M1 and M2 ignore the
delay; a delay-only phase ignores the grid power), the solution, and so the reported "total cost",
depends on the solver. We break ties deliberately: after the primary solve, the primary objective is held
within a relative ``1e-6`` of its optimum and the unweighted total ``C_E + C_C + C_D`` is minimised. So every
model reports, among its own optima, the one that is cheapest overall, whichever solver ran.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import linopy
import numpy as np
import xarray as xr

from greenaolo import checks
from greenaolo import solvers
from greenaolo.greenllm.scenario import validate_scenario

__all__ = [
    "MODELS",
    "METRICS",
    "OBJECTIVES",
    "Extensions",
    "InfeasibleError",
    "build_model",
    "check_weights",
    "infeasibility_reasons",
    "placement_start",
    "solve",
    "solve_lexicographic",
]

OBJECTIVES = ("energy", "carbon", "delay")
#: Physical quantities that can be minimised or limited too: grid emissions (kgCO2) and water (L).
METRICS = ("emissions", "water")
#: The compared models (docs/greenllm.md#objectives): weights on (C_E, C_C, C_D).
MODELS: dict[str, tuple[float, float, float]] = {
    "M0": (1.0, 1.0, 1.0),
    "M1": (1.0, 0.0, 0.0),
    "M2": (0.0, 1.0, 0.0),
    "M3": (0.25, 0.5, 0.25),
}
MODEL_NAMES = {"M0": "Green-LLM", "M1": "Energy-LLM", "M2": "Carbon-LLM", "M3": "Hybrid-LLM"}
TIE_BREAK_TOLERANCE = 1e-6
#: Peak memory per allocation variable of a build and its solve (linopy's arrays, about 150-490 bytes per
#: variable measured with tracemalloc on 20x20 and 40x40 DCs x 24 h, and the solver's copy of the matrix).
BYTES_PER_ALLOCATION = 400
# linopy skips terms whose coefficient is exactly zero; bandwidth is floored like the authors' max(0.001, B).
MIN_BANDWIDTH = 0.001
#: How the MILP extension (docs/greenllm.md#milp) is written (:class:`Extensions`): the same optima, different solve times.
FORMULATIONS = ("tight", "compact")


@dataclass(frozen=True)
class Extensions:
    """Optional MILP extension (``docs/greenllm.md#milp``). Everything off (the default) is the paper's LP.

    :param unmet_penalty: $ per unserved query s; ``None`` keeps full allocation (constraint 8 as an
        equality). When set, a fraction ``q[i,k,t] in [0, max_unmet]`` may go unserved.
    :param max_unmet: largest unserved fraction Gamma per (i, k, t).
    :param download_cost: $ per model download f_dl; ``None`` disables model placement. When set, binary
        ``z[j,k,t]`` says whether DC j hosts the type-k model in hour t, ``x <= z``, and each download
        (``z`` switching on, linearised by ``u >= z[t] - z[t-1]``) costs ``download_cost``. No model is
        placed before the horizon.
    :param servers: number of servers N per DC; ``None`` disables the server model. When set, integer
        ``n[j,t] in {0..N}`` servers are active, the served queries are at most
        ``utilisation * queries_per_server * n``, and IT energy gains ``idle_kw * n``.
    :param queries_per_server: queries one server handles in one hour H.
    :param utilisation: largest utilisation u_max of an active server.
    :param idle_kw: idle power of one active server (kW, so kWh per slot).
    :param latency_cap: cap (s) on the per-query latency ``L[i,k,t]`` (``docs/greenllm.md#latency``); ``None`` for none.
    :param offsite_water_on_grid: ``docs/greenllm.md#a12``: charge off-site water (EWIF) on grid energy only,
        ``W = WUE P_c + EWIF P_g``, instead of the code's ``(WUE/PUE + EWIF) P_d``.
    :param formulation: how the MILP is written, never what it means (``docs/greenllm_milp.md``):
        ``"tight"`` (the default) keeps every model placed from its download to the end of the day (no
        optimum needs to evict one: keeping a model costs nothing); ``"compact"`` is the literal MILP extension (hourly ``z``, ``u >= z[t] - z[t-1]``). Both
        have the same optimal cost; the tight one has 24 times fewer binaries, and its solve starts from an
        incumbent rounded from the LP relaxation (:func:`placement_start`).
    """

    unmet_penalty: float | None = None
    max_unmet: float = 1.0
    download_cost: float | None = None
    servers: int | None = None
    queries_per_server: float = 2000.0
    utilisation: float = 0.9
    idle_kw: float = 0.3
    latency_cap: float | None = None
    offsite_water_on_grid: bool = False
    formulation: str = "tight"

    def __post_init__(self) -> None:
        if self.formulation not in FORMULATIONS:
            raise ValueError(f"Extensions.formulation={self.formulation!r} is unknown: expected one of {FORMULATIONS}")
        # Bounds are far beyond any meaningful value but keep the solver's numbers finite.
        bounds = {
            "unmet_penalty": (0.0, 1e9, False, True),
            "max_unmet": (0.0, 1.0, False, False),
            "download_cost": (0.0, 1e9, False, True),
            "servers": (1, 10**7, True, True),
            "queries_per_server": (1e-9, 1e12, False, False),
            "utilisation": (1e-9, 1.0, False, False),
            "idle_kw": (0.0, 1e6, False, False),
            "latency_cap": (1e-9, 1e6, False, True),
        }
        for name, (low, high, integer, optional) in bounds.items():
            value = getattr(self, name)
            if value is None and optional:
                continue
            object.__setattr__(self, name, checks.number("Extensions", name, value, low, high, integer=integer))
        object.__setattr__(self, "offsite_water_on_grid",
                           checks.boolean("Extensions", "offsite_water_on_grid", self.offsite_water_on_grid))

    @property
    def is_milp(self) -> bool:
        return self.download_cost is not None or self.servers is not None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


@dataclass
class GreenLLMModel:
    """A built model: the linopy model, its scenario, and the cost expressions the objectives use."""

    model: linopy.Model
    scenario: xr.Dataset
    extensions: Extensions
    costs: dict[str, linopy.LinearExpression] = field(default_factory=dict)
    metrics: dict[str, linopy.LinearExpression] = field(default_factory=dict)
    defined: dict[str, linopy.LinearExpression] = field(default_factory=dict)

    @property
    def variables(self) -> linopy.Variables:
        return self.model.variables


# ------------------------------------------------------------------------------------------------------
# Coefficients shared by several constraints.

def _coords(s: xr.Dataset, *dims: str) -> list:
    """The scenario's indexes for ``dims``, in the form linopy wants them."""
    return [s.indexes[d] for d in dims]


def _tokens(s: xr.Dataset) -> xr.DataArray:
    """h_k + f_k: tokens per query (input plus output)."""
    return s.input_tokens + s.output_tokens


def _energy_per_query(s: xr.Dataset) -> xr.DataArray:
    """tau_in_k h_k + tau_out_k f_k (kWh per query), constraint 1."""
    return s.token_energy_in * s.input_tokens + s.token_energy_out * s.output_tokens


def route_latency(s: xr.Dataset) -> xr.DataArray:
    """Per-query latency (s) of one query routed i -> j (``docs/greenllm.md#latency``): RTT + transfer + processing.

    ``d[i,j] + 8 beta (h+f) / (1000 B[i,j]) + v[j,k] (h+f)``, with KB -> kbit -> Mbit conversion that the
    aggregate "delay" of constraint 9 omits.
    """
    tokens = _tokens(s)
    return s.rtt + 8 * s.data_per_token * tokens / (1000 * s.bandwidth) + s.proc_delay * tokens


# ------------------------------------------------------------------------------------------------------
# Constraint families 1-12 (docs/greenllm.md#constraints). The defining equalities (1, 2, 5, 9-11) are
# linopy expressions, not auxiliary variables: the same LP with 13,824 -> 9,936 variables on the paper
# instance, and a faster build.

def it_energy(s: xr.Dataset, x: linopy.Variable) -> linopy.LinearExpression:
    """Constraint 1: ``P_c[j,t] = sum_{i,k} (tau_in h + tau_out f) lambda x`` (kWh per slot)."""
    return (_energy_per_query(s) * s.demand * x).sum(["area", "query"])


def facility_energy(s: xr.Dataset, p_c: linopy.LinearExpression) -> linopy.LinearExpression:
    """Constraint 2: ``P_d[j,t] = PUE_j P_c[j,t]``."""
    return s.pue * p_c


def add_grid_power(m: linopy.Model, s: xr.Dataset) -> linopy.Variable:
    """Constraint 4: ``0 <= P_g[j,t] <= P_max[j,t]`` (as variable bounds)."""
    return m.add_variables(lower=0, upper=s.grid_limit, name="grid_power")


def add_power_balance(m: linopy.Model, s: xr.Dataset, p_d: linopy.LinearExpression, p_g: linopy.Variable) -> None:
    """Constraint 3: ``P_d <= P_g + P_w``: renewables are free, the surplus is curtailed."""
    m.add_constraints(p_d - p_g <= s.renewable, name="power_balance")


def water(
    s: xr.Dataset, p_d: linopy.LinearExpression, p_c: linopy.LinearExpression, p_g: linopy.Variable,
    offsite_on_grid: bool,
) -> linopy.LinearExpression:
    """Constraint 5: ``W[j,t] = (WUE/PUE + EWIF) P_d`` (L): on-site WUE x IT energy plus off-site
    EWIF x facility energy. With ``offsite_on_grid`` (``docs/greenllm.md#a12``): ``W = WUE P_c + EWIF P_g``."""
    if offsite_on_grid:
        return s.wue * p_c + s.ewif * p_g
    return (s.wue / s.pue + s.ewif) * p_d


def add_water_budget(m: linopy.Model, s: xr.Dataset, w: linopy.LinearExpression) -> None:
    """Constraint 6: ``sum_{j,t} W[j,t] <= Z``, the long-term water budget."""
    m.add_constraints(w.sum() <= float(s.water_budget), name="water_budget")


def add_resource_capacity(m: linopy.Model, s: xr.Dataset, x: linopy.Variable) -> None:
    """Constraint 7: ``sum_{i,k} alpha[k,r] (h+f) lambda x <= C[r,j]`` for every j, r, t."""
    use = (s.resource_per_token * _tokens(s) * s.demand * x).sum(["area", "query"])
    m.add_constraints(use <= s.capacity, name="resource_capacity")


def add_full_allocation(m: linopy.Model, s: xr.Dataset, x: linopy.Variable, unmet: linopy.Variable | None) -> None:
    """Constraint 8: ``sum_j x[i,j,k,t] = 1``: every query is served (v1 has no unmet demand).
    With the unmet-demand extension (``docs/greenllm.md#milp``): ``q + sum_j x = 1``."""
    served = x.sum("dc")
    m.add_constraints(served + unmet == 1 if unmet is not None else served == 1, name="full_allocation")


def delay_coefficients(s: xr.Dataset) -> dict[str, xr.DataArray]:
    """Constraints 9-11: the coefficient of x[i,j,k,t] in each aggregate delay component of (i, k, t), in
    seconds, exactly as the authors' code has them.

    9. transmission ``D_tr = sum_j beta lambda x (h+f) / max(0.001, B)`` (KB/Mbps; no unit conversion);
    10. propagation ``D_pr = sum_j d[i,j] x`` (not multiplied by lambda);
    11. processing ``D_pc = sum_j v[j,k] (h+f) lambda x``.
    """
    tokens = _tokens(s)
    return {
        "delay_transmission": s.data_per_token * s.demand * tokens / np.maximum(MIN_BANDWIDTH, s.bandwidth),
        "delay_propagation": s.rtt,
        "delay_processing": s.proc_delay * tokens * s.demand,
    }


def delays(s: xr.Dataset, x: linopy.Variable) -> dict[str, linopy.LinearExpression]:
    """Constraints 9-11: the aggregate delay components ``D_tr``, ``D_pr``, ``D_pc`` of (i, k, t), each
    ``sum_j`` of its :func:`delay_coefficients` times x."""
    return {name: (coefficient * x).sum("dc") for name, coefficient in delay_coefficients(s).items()}


def delay_coefficient(s: xr.Dataset) -> xr.DataArray:
    """Coefficient of x[i,j,k,t] in ``D_tr + D_pr + D_pc`` (constraints 9-11 summed), in seconds."""
    parts = delay_coefficients(s)
    return parts["delay_transmission"] + parts["delay_propagation"] + parts["delay_processing"]


def add_delay_cap(m: linopy.Model, s: xr.Dataset, x: linopy.Variable) -> None:
    """Constraint 12: ``D_tr + D_pr + D_pc <= Delta[i,k]``."""
    m.add_constraints((delay_coefficient(s) * x).sum("dc") <= s.delay_cap, name="delay_cap")


# ------------------------------------------------------------------------------------------------------
# The MILP extensions (docs/greenllm.md#milp).

def add_model_placement(m: linopy.Model, s: xr.Dataset, x: linopy.Variable, download_cost: float) -> linopy.LinearExpression:
    """Binary model placement ``z[j,k,t]``, ``x <= z``, and downloads ``u >= z[t] - z[t-1]`` (z[-1] = 0).
    Returns the download cost ``sum f_dl u``."""
    z = m.add_variables(coords=_coords(s, "dc", "query", "time"), name="placement", binary=True)
    u = m.add_variables(lower=0, upper=1, coords=_coords(s, "dc", "query", "time"), name="download")
    m.add_constraints(x - z <= 0, name="route_needs_placement")
    previous = z.shift(time=1).fillna(0)  # nothing is placed before the horizon
    m.add_constraints(u - z + previous >= 0, name="download_def")
    return download_cost * u.sum()


def add_kept_placement(m: linopy.Model, s: xr.Dataset, x: linopy.Variable, download_cost: float) -> linopy.LinearExpression:
    """Model placement, tight form: binary ``y[j,k]``, the model k downloaded to DC j in the first hour and
    kept all day (``z[j,k,t] = y[j,k]``), ``x[i,j,k,t] <= y[j,k]``; returns the download cost ``f_dl sum y``.

    Same optimum as :func:`add_model_placement`: keeping a model costs nothing, so any placement ``z`` can be
    replaced by ``y = max_t z`` with the same routes and no more downloads (``docs/greenllm_milp.md``)."""
    y = m.add_variables(coords=_coords(s, "dc", "query"), name="placement", binary=True)
    m.add_constraints(x - y <= 0, name="route_needs_placement")
    return download_cost * y.sum()


def add_servers(m: linopy.Model, s: xr.Dataset, x: linopy.Variable, ext: Extensions) -> linopy.Variable:
    """Integer active servers ``n[j,t] in {0..N}``: ``sum_{i,k} lambda x <= u_max H n``. Returns n."""
    n = m.add_variables(lower=0, upper=ext.servers, coords=_coords(s, "dc", "time"), name="active_servers", integer=True)
    load = (s.demand * x).sum(["area", "query"])
    m.add_constraints(load - ext.utilisation * ext.queries_per_server * n <= 0, name="server_capacity")
    return n


#: Placements whose LP-relaxation value exceeds one of these are kept by :func:`placement_start`'s candidates.
START_THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)


def placement_start(built: GreenLLMModel) -> solvers.Start | None:
    """An incumbent for the tight placement MILP from its LP relaxation, handed to the solver as a start.

    Relax every integer variable and solve; each candidate keeps the placements ``y`` whose relaxed value
    exceeds a threshold (:data:`START_THRESHOLDS`) and closes the others; the LP with ``y`` fixed (servers
    still relaxed) prices each candidate, and the cheapest feasible one is the start. The solver completes it
    (the routes, and the integer servers by a small sub-MIP) into its first incumbent. ``None`` (no start)
    unless the model has the tight form's placement.
    """
    if built.extensions.download_cost is None or built.extensions.formulation != "tight":
        return None

    def start(resolve):
        m = built.model
        y = m.variables["placement"]
        m.variables.relax()
        try:
            if resolve() is None:
                return None
            relaxed = y.solution.copy()
            best, best_cost, previous = None, np.inf, None
            for threshold in START_THRESHOLDS:
                candidate = (relaxed > threshold + 1e-9).astype(float)
                if previous is not None and bool((candidate == previous).all()):
                    continue
                previous = candidate
                y.fix(candidate)
                cost = resolve()
                if cost is not None and cost < best_cost:
                    best, best_cost = candidate, cost
            return None if best is None else {"placement": best}
        finally:
            y.unfix()
            m.variables.unrelax()

    return start


# ------------------------------------------------------------------------------------------------------

def build_model(scenario: xr.Dataset, extensions: Extensions | None = None) -> GreenLLMModel:
    """Build the Green-LLM LP (plus the MILP options of ``docs/greenllm.md#milp``) on the scenario's coordinates.

    :param scenario: a scenario Dataset (:mod:`greenaolo.greenllm.scenario`).
    :param extensions: optional MILP extension; ``None`` or ``Extensions()`` builds the paper's LP.
    :returns: the model with its cost expressions ``energy`` (C_E), ``carbon`` (C_C), ``delay`` (C_D) and,
        where enabled, ``unmet`` and ``download``, and the defined quantities (``it_energy``,
        ``facility_energy``, ``water``, the delay components); no objective is set yet.
    """
    s = validate_scenario(scenario)
    n_allocation = s.sizes["area"] * s.sizes["dc"] * s.sizes["query"] * s.sizes["time"]
    checks.memory_guard(f"the model of {s.sizes['area']} areas x {s.sizes['dc']} DCs x {s.sizes['query']} query types x "
                 f"{s.sizes['time']} hours ({n_allocation:,} allocation variables)",
                 BYTES_PER_ALLOCATION * n_allocation, "choose a smaller scenario")
    ext = extensions or Extensions()
    m = linopy.Model(force_dim_names=True)
    x = m.add_variables(lower=0, upper=1, coords=_coords(s, "area", "dc", "query", "time"), name="allocation")
    p_g = add_grid_power(m, s)
    p_c = it_energy(s, x)
    if ext.servers is not None:
        p_c = p_c + ext.idle_kw * add_servers(m, s, x, ext)  # idle power of every active server
    p_d = facility_energy(s, p_c)
    add_power_balance(m, s, p_d, p_g)
    w = water(s, p_d, p_c, p_g, ext.offsite_water_on_grid)
    add_water_budget(m, s, w)
    add_resource_capacity(m, s, x)
    unmet = None
    if ext.unmet_penalty is not None:
        unmet = m.add_variables(lower=0, upper=ext.max_unmet, coords=_coords(s, "area", "query", "time"), name="unmet")
    add_full_allocation(m, s, x, unmet)
    add_delay_cap(m, s, x)
    if ext.latency_cap is not None:
        m.add_constraints((route_latency(s) * x).sum("dc") <= ext.latency_cap, name="latency_cap")

    costs = {
        "energy": (s.price * p_g).sum(),
        "carbon": (s.carbon_tax * s.carbon_intensity * p_g).sum(),
        "delay": (s.delay_penalty * delay_coefficient(s) * x).sum(),
    }
    if unmet is not None:
        costs["unmet"] = (ext.unmet_penalty * s.demand * unmet).sum()
    if ext.download_cost is not None:
        place = add_kept_placement if ext.formulation == "tight" else add_model_placement
        costs["download"] = place(m, s, x, ext.download_cost)
    metrics = {"emissions": (s.carbon_intensity * p_g).sum(), "water": w.sum()}
    defined = {"it_energy": p_c, "facility_energy": p_d, "water": w, **delays(s, x)}
    return GreenLLMModel(model=m, scenario=s, extensions=ext, costs=costs, metrics=metrics, defined=defined)


class InfeasibleError(solvers.SolveError):
    """No allocation satisfies every constraint; the message names the family that cannot hold, where a
    cheap check finds it."""


def _first(where: xr.DataArray) -> dict[str, object]:
    """The coordinates of the first True of ``where``."""
    index = np.argwhere(np.asarray(where))[0]
    return {d: where[d].values[i].item() for d, i in zip(where.dims, index)}


def infeasibility_reasons(scenario: xr.Dataset, extensions: Extensions | None = None) -> list[str]:
    """Necessary conditions of feasibility that fail, in words: demand above the total resource capacity or
    above what the grid and renewables can power, a delay cap no DC meets, a water budget below the least
    water any allocation uses (an LP that minimises water; run only when the cheap checks find nothing).
    An empty list means none of these explains it (the constraints conflict only jointly)."""
    s, ext = scenario, extensions or Extensions()
    served = 1.0 - (ext.max_unmet if ext.unmet_penalty is not None else 0.0)
    reasons = []
    need = (s.resource_per_token * _tokens(s) * s.demand).sum(["area", "query"]) * served
    short = need > s.capacity.sum("dc") * (1 + 1e-9)
    if bool(short.any()):
        at = _first(short)
        reasons.append(
            f"resource capacity (constraint 7): in hour {at['time']} the demand needs {float(need.sel(at)):.4g} units "
            f"of {at['resource']}, above the {float(s.capacity.sel(resource=at['resource']).sum()):.4g} of every "
            "DC together")
    energy = _energy_per_query(s) * s.demand * served
    least = (energy * s.pue.min("dc")).sum(["area", "query"])
    supply = (s.grid_limit + s.renewable).sum("dc")
    if ext.servers is None and bool((least > supply * (1 + 1e-9)).any()):
        at = _first(least > supply * (1 + 1e-9))
        reasons.append(
            f"power balance (constraint 3): in hour {at['time']} serving the demand takes at least "
            f"{float(least.sel(at)):.4g} kWh, above the grid limits and renewables of every DC together "
            f"({float(supply.sel(at)):.4g} kWh)")
    if ext.unmet_penalty is None:
        late = (delay_coefficient(s).min("dc") > s.delay_cap * (1 + 1e-9))
        if bool(late.any()):
            at = _first(late)
            reasons.append(
                f"delay cap (constraint 12): area {at['area']!r}, query {at['query']!r}, hour {at['time']} exceeds "
                f"its cap {float(s.delay_cap.sel(area=at['area'], query=at['query'])):.4g} s at every DC")
    if not reasons:
        loose = s.copy()
        # A budget no allocation can reach (HiGHS treats 1e20 and above as infinite, and says so).
        loose["water_budget"] = xr.DataArray(1e15, attrs=s.water_budget.attrs)
        try:
            least_water = float(solve(loose, {"water": 1.0}, extensions=dataclasses.replace(
                ext, download_cost=None, servers=None), tie_break=False, solver="highs").water)
        except solvers.SolveError:
            return reasons
        if least_water > float(s.water_budget) * (1 + 1e-9):
            reasons.append(
                f"water budget (constraint 6): Z = {float(s.water_budget):.6g} L is below the least water any "
                f"allocation uses, {least_water:.6g} L")
    return reasons


def _solve_or_explain(
    built: GreenLLMModel, limits: Mapping[str, float] | None, start: solvers.Start | None = None, **options,
) -> solvers.SolveInfo:
    """:func:`greenaolo.solvers.solve`; an infeasible model raises :class:`InfeasibleError` with the reasons."""
    try:
        return solvers.solve(built.model, start=start, **options)
    except solvers.SolveError as err:
        if "infeasible" not in str(err):
            raise
        if limits:
            raise InfeasibleError(f"no allocation meets the limits {dict(limits)} with every constraint ({err})") from None
        reasons = infeasibility_reasons(built.scenario, built.extensions)
        why = "; ".join(reasons) if reasons else "no single constraint family explains it (they conflict jointly)"
        raise InfeasibleError(f"the model is infeasible: {why}") from None


def _weighted(built: GreenLLMModel, weights: Mapping[str, float]) -> linopy.LinearExpression:
    terms = {**built.costs, **built.metrics}
    expr = sum(w * terms[name] for name, w in weights.items() if w != 0)
    # Extension costs (unmet demand, downloads) are always priced in full.
    for extra in ("unmet", "download"):
        if extra in built.costs:
            expr = expr + built.costs[extra]
    return expr


def _total(built: GreenLLMModel) -> linopy.LinearExpression:
    return _weighted(built, dict.fromkeys(OBJECTIVES, 1.0))


def check_weights(weights: Sequence[float] | Mapping[str, float]) -> dict[str, float]:
    """Weights as ``{name: w}`` over :data:`OBJECTIVES` and :data:`METRICS`, checked."""
    if not isinstance(weights, Mapping):
        if len(weights) != 3:
            raise ValueError(f"weights={tuple(weights)!r} must have 3 entries (energy, carbon, delay)")
        weights = dict(zip(OBJECTIVES, weights))
    for name, w in weights.items():
        if name not in OBJECTIVES + METRICS:
            raise ValueError(f"weight for {name!r} is unknown: expected names in {OBJECTIVES + METRICS}")
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"weight for {name}={w!r} is out of range: expected a finite number >= 0")
    if sum(weights.values()) == 0:
        raise ValueError(f"weights={dict(weights)!r} are all zero: at least one must be positive")
    return {name: float(w) for name, w in weights.items()}


def _add_limits(built: GreenLLMModel, limits: Mapping[str, float] | None) -> None:
    """Upper limits on cost terms or metrics (the epsilon-constraint method): ``f <= limit``."""
    terms = {**built.costs, **built.metrics}
    for name, value in (limits or {}).items():
        if name not in OBJECTIVES + METRICS:
            raise ValueError(f"limit on {name!r} is unknown: expected names in {OBJECTIVES + METRICS}")
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"limit on {name}={value!r} is out of range: expected a finite number >= 0")
        built.model.add_constraints(terms[name] <= float(value), name=f"limit_{name}")


def relaxed_bound(value: float, tolerance: float = TIE_BREAK_TOLERANCE) -> float:
    """The bound that holds an objective at its optimum ``value`` while ties are broken (and a lexicographic
    phase's bound): ``value + tolerance * |value|``, plus a small absolute slack that guards value == 0. The
    one home of this formula: :func:`solve`, the explorer and the year study's re-solved LP all use it."""
    return value + tolerance * abs(value) + 1e-9


def model_weights(model: str) -> dict[str, float]:
    """The weights of a compared model M0-M3 over :data:`OBJECTIVES` (``docs/greenllm.md#objectives``).

    :raises ValueError: an unknown model.
    """
    if model not in MODELS:
        raise ValueError(f"model={model!r} is unknown: expected one of {tuple(MODELS)}")
    return dict(zip(OBJECTIVES, MODELS[model]))


def needs_tie_break(weights: Mapping[str, float]) -> bool:
    """Whether an objective leaves ties to break: some cost term has weight zero, so optima can differ in it
    (``docs/greenllm.md#a8``)."""
    return any(weights.get(o, 0.0) == 0 for o in OBJECTIVES)


def _bound(built: GreenLLMModel, expr: linopy.LinearExpression, value: float, tolerance: float, name: str) -> None:
    """Keep ``expr <= relaxed_bound(value, tolerance)``."""
    built.model.add_constraints(expr <= relaxed_bound(value, tolerance), name=name)


def solve(
    scenario: xr.Dataset,
    model: str | Sequence[float] | Mapping[str, float] = "M0",
    *,
    limits: Mapping[str, float] | None = None,
    extensions: Extensions | None = None,
    solver: str = "auto",
    tie_break: bool = True,
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    mip_gap: float = 1e-4,
    allow_suboptimal: bool = False,
) -> xr.Dataset:
    """Solve a weighted Green-LLM model and return the result Dataset (see :func:`results`).

    :param scenario: the scenario Dataset.
    :param model: ``"M0"``, ``"M1"``, ``"M2"``, ``"M3"``, weights ``(w_energy, w_carbon, w_delay)``, or a
        mapping of weights over the cost terms and the metrics ``emissions`` and ``water``
        (``{"emissions": 1}`` minimises emissions).
    :param limits: upper limits ``{name: value}`` on cost terms ($) or metrics (kgCO2, L), as in the
        epsilon-constraint method.
    :param extensions: optional MILP extension (``docs/greenllm.md#milp``); off by default.
    :param solver: ``"auto"``, ``"highs"`` or ``"gurobi"`` (:func:`greenaolo.solvers.solve`).
    :param tie_break: resolve alternative optima (``docs/greenllm.md#a8``) by minimising the total cost among them; only
        runs a second solve when some weight is zero.
    :param time_limit: seconds per solve; hitting it raises :class:`greenaolo.solvers.SolveError`.
    :param threads: solver threads; ``None`` for the solver's default.
    :param seed: solver random seed.
    :param mip_gap: relative MIP gap (MILP extension only).
    :param allow_suboptimal: return a time-limited MILP's incumbent, marked ``optimal = 0`` in the
        attributes, instead of raising :class:`greenaolo.solvers.SolveError`.
    """
    if isinstance(model, str):
        if model not in MODELS:
            raise ValueError(f"model={model!r} is unknown: expected one of {sorted(MODELS)} or 3 weights")
        weights, label = model_weights(model), model
    else:
        weights, label = check_weights(model), "weighted"
    started = time.perf_counter()
    built = build_model(scenario, extensions)
    _add_limits(built, limits)
    build_seconds = time.perf_counter() - started
    objective = _weighted(built, weights)
    built.model.add_objective(objective)
    options = dict(
        solver=solver, time_limit=time_limit, threads=threads, seed=seed, mip_gap=mip_gap,
        allow_suboptimal=allow_suboptimal,
    )
    info = _solve_or_explain(built, limits, placement_start(built), **options)
    shadow = _water_shadow_price(built)  # the dual of this model's own objective, before any tie-break
    if tie_break and needs_tie_break(weights):
        _bound(built, objective, info.objective, TIE_BREAK_TOLERANCE, "tie_break_primary")
        built.model.add_objective(_total(built), overwrite=True)
        info = info.merge(solvers.solve(built.model, **{**options, "solver": info.solver}))
    ds = results(built, info, model=label, weights=weights, build_seconds=build_seconds, tie_break=tie_break,
                 water_shadow_price=shadow)
    ds.attrs["limits"] = json.dumps(dict(limits or {}))
    return ds


def solve_lexicographic(
    scenario: xr.Dataset,
    order: Sequence[str] = ("energy", "delay", "carbon"),
    *,
    tolerance: float = 1e-3,
    extensions: Extensions | None = None,
    solver: str = "auto",
    tie_break: bool = True,
    time_limit: float | None = None,
    threads: int | None = None,
    seed: int = 0,
    mip_gap: float = 1e-4,
) -> xr.Dataset:
    """Lexicographic optimisation (the likely Algorithm 1, ``docs/greenllm.md#lexicographic``).

    For phase p = 1..3, minimise ``order[p]`` subject to constraints 1-12 and
    ``f_q <= (1 + tolerance) f_q*`` for every earlier phase q. With ``tie_break``, a last solve keeps the
    final objective within ``1e-6`` of its optimum and minimises the total cost (``docs/greenllm.md#a8``).

    :param order: a permutation of ``("energy", "carbon", "delay")``, highest priority first.
    :param tolerance: epsilon of the phase constraints (the authors use 0.001); in [0, 1].
    """
    order = tuple(order)
    if sorted(order) != sorted(OBJECTIVES):
        raise ValueError(f"order={order!r} must be a permutation of {OBJECTIVES}")
    if not 0 <= tolerance <= 1:
        raise ValueError(f"tolerance={tolerance!r} is out of range: expected a number in [0, 1]")
    started = time.perf_counter()
    built = build_model(scenario, extensions)
    build_seconds = time.perf_counter() - started
    options = dict(solver=solver, time_limit=time_limit, threads=threads, seed=seed, mip_gap=mip_gap)
    info = None
    phase_optima = {}
    for phase, name in enumerate(order):
        built.model.add_objective(built.costs[name], overwrite=True)
        step = _solve_or_explain(built, None, **options) if phase == 0 else solvers.solve(built.model, **options)
        info = step if info is None else info.merge(step)
        options["solver"] = info.solver
        phase_optima[name] = step.objective
        is_last = phase == len(order) - 1
        if not is_last:
            _bound(built, built.costs[name], step.objective, tolerance, f"lexicographic_{name}")
            continue
        shadow = _water_shadow_price(built)  # the last phase's dual, before the tie-break
        if tie_break:
            _bound(built, built.costs[name], step.objective, TIE_BREAK_TOLERANCE, "tie_break_primary")
            built.model.add_objective(_total(built), overwrite=True)
            info = info.merge(solvers.solve(built.model, **options))
    ds = results(built, info, model="lexicographic", weights=None, build_seconds=build_seconds, tie_break=tie_break,
                 water_shadow_price=shadow)
    ds.attrs["lexicographic_order"] = ",".join(order)
    ds.attrs["lexicographic_tolerance"] = tolerance
    ds.attrs["phase_optima"] = json.dumps(phase_optima)
    return ds


def _water_shadow_price(built: GreenLLMModel) -> float:
    """-dual of the water budget of the last LP solved ($/L); 0 when the budget is slack."""
    if built.model.variables.integers or built.model.variables.binaries:
        return float("nan")
    try:
        return float(-np.asarray(built.model.constraints["water_budget"].dual).sum()) + 0.0  # no -0.0
    except (KeyError, AttributeError, TypeError):
        return float("nan")


def _value(expr: linopy.LinearExpression) -> float:
    value = float(expr.solution.sum(skipna=False))
    if not np.isfinite(value):
        raise solvers.SolveError("the solution has missing values: no solution to report")
    return value


def results(
    built: GreenLLMModel,
    info: solvers.SolveInfo,
    *,
    model: str,
    weights: Mapping[str, float] | None,
    build_seconds: float,
    tie_break: bool,
    water_shadow_price: float = float("nan"),
) -> xr.Dataset:
    """The solved model as a Dataset: the decisions, every cost term and the derived metrics.

    Totals (scalars): ``energy_cost``, ``carbon_cost``, ``delay_cost``, ``total_cost`` ($, C_E + C_C + C_D
    evaluated at the solution, as the paper reports every model), ``emissions`` (kgCO2, sum theta P_g),
    ``water`` (L), ``delay`` (s, the paper's aggregate sum of D over (i, k, t)), ``grid_energy``,
    ``facility_energy``, ``renewable_used`` (kWh). Per-query latency (``docs/greenllm.md#latency``): ``latency``
    (area, query, time) is the demand-weighted mean over the DCs served; ``route_latency`` (area, dc, query).
    """
    s = built.scenario
    sol = {name: var.solution for name, var in built.model.variables.items()}
    sol.update({name: expr.solution for name, expr in built.defined.items()})
    x = sol["allocation"]
    p_g = sol["grid_power"]
    p_d = sol["facility_energy"]
    delay = sol["delay_transmission"] + sol["delay_propagation"] + sol["delay_processing"]
    lat = route_latency(s)
    served = x.sum("dc")
    latency = ((lat * x).sum("dc") / served.where(served > 0)).fillna(0.0)

    def var(data, units, long_name):
        return xr.DataArray(data).assign_attrs(units=units, long_name=long_name)

    ds = xr.Dataset(
        {
            "allocation": var(x, "1", "fraction of area i's type-k queries served by DC j in hour t, x"),
            "grid_power": var(p_g, "kW h", "grid energy P_g in the hourly slot"),
            "it_energy": var(sol["it_energy"], "kW h", "IT energy P_c in the hourly slot"),
            "facility_energy": var(p_d, "kW h", "facility energy P_d in the hourly slot"),
            "renewable_used": var(np.maximum(p_d - p_g, 0.0), "kW h", "renewable energy used in the hourly slot"),
            "water_use": var(sol["water"], "L", "water W"),
            "hourly_emissions": var(s.carbon_intensity * p_g, "kg", "grid CO2 emissions theta P_g"),
            "hourly_energy_cost": var(s.price * p_g, "USD", "energy cost c P_g"),
            "hourly_carbon_cost": var(s.carbon_tax * s.carbon_intensity * p_g, "USD", "carbon tax delta theta P_g"),
            "delay_transmission": var(sol["delay_transmission"], "s", "aggregate transmission delay D_tr"),
            "delay_propagation": var(sol["delay_propagation"], "s", "propagation delay D_pr"),
            "delay_processing": var(sol["delay_processing"], "s", "aggregate processing delay D_pc"),
            "latency": var(latency, "s", "per-query latency, mean over the DCs served"),
            "route_latency": var(lat, "s", "per-query latency of route i -> j"),
            "demand": s.demand,
        }
    )
    totals = {
        "energy_cost": (_value(built.costs["energy"]), "USD", "energy cost C_E"),
        "carbon_cost": (_value(built.costs["carbon"]), "USD", "carbon tax C_C"),
        "delay_cost": (_value(built.costs["delay"]), "USD", "delay penalty C_D"),
        "emissions": (float((s.carbon_intensity * p_g).sum(skipna=False)), "kg", "grid CO2 emissions"),
        "water": (float(sol["water"].sum(skipna=False)), "L", "water use"),
        "delay": (float(delay.sum(skipna=False)), "s", "aggregate delay (the paper's sum of D)"),
        "grid_energy": (float(p_g.sum(skipna=False)), "kW h", "grid energy"),
        "facility_energy": (float(p_d.sum(skipna=False)), "kW h", "facility energy"),
        "renewable_energy_used": (float(np.maximum(p_d - p_g, 0).sum(skipna=False)), "kW h", "renewable energy used"),
    }
    for extra in ("unmet", "download"):
        if extra in built.costs:
            totals[f"{extra}_cost"] = (_value(built.costs[extra]), "USD", f"{extra} cost")
    totals["total_cost"] = (
        sum(v for k, (v, _, _) in totals.items() if k.endswith("_cost")),
        "USD",
        "total cost C_E + C_C + C_D (+ extension costs)",
    )
    totals["water_shadow_price"] = (
        water_shadow_price, "USD/L", "marginal cost of one litre less water budget (dual of constraint 6 in the "
        "model's own objective; NaN for a MILP)",
    )
    for name, (value, units, long_name) in totals.items():
        ds[name] = xr.DataArray(value, attrs={"units": units, "long_name": long_name})
    if "unmet" in sol:
        ds["unmet"] = var(sol["unmet"], "1", "unserved fraction q")
    if "active_servers" in sol:
        ds["active_servers"] = var(sol["active_servers"], "1", "active servers n")
    if "placement" in sol:
        z = sol["placement"].broadcast_like(s.time).transpose("dc", "query", "time")  # tight form: kept all day
        downloads = (z - z.shift(time=1).fillna(0.0)).clip(min=0.0)
        ds["placement"] = var(z, "1", "model k placed at DC j in hour t, z")
        ds["downloads"] = var(downloads, "1", "model downloads, z switching on")
    ds.attrs.update(info.attrs())
    ds.attrs.update(
        model=model,
        weights=json.dumps(weights),
        extensions=built.extensions.to_json(),
        scaling=s.attrs.get("scaling", "{}"),
        tie_break=int(tie_break),
        build_seconds=build_seconds,
        n_variables=int(built.model.nvars),
        n_constraints=int(built.model.ncons),
        scenario=s.attrs.get("source", "user scenario"),
    )
    return ds
