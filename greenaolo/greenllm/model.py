"""The Green-LLM workload-allocation model in linopy: its constraints and build (``docs/greenllm.md#lp``).

Kept apart by job, as PyPSA keeps constraints, expressions and optimisation apart: this module builds the
model; :mod:`~greenaolo.greenllm.optimise` solves it (weights, limits, the tie-break, the lexicographic
procedure), :mod:`~greenaolo.greenllm.diagnosis` says why a model is infeasible, and
:mod:`~greenaolo.greenllm.results` turns a solved model into its dataset.

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
from dataclasses import dataclass, field

import linopy
import numpy as np
import xarray as xr

from greenaolo import checks
from greenaolo import solvers
from greenaolo.greenllm.scenario import validate_scenario

__all__ = [
    "BYTES_PER_ALLOCATION",
    "MODELS",
    "METRICS",
    "MODEL_NAMES",
    "OBJECTIVES",
    "TIE_BREAK_TOLERANCE",
    "Extensions",
    "GreenLLMModel",
    "build_model",
    "placement_start",
    "route_latency",
]

OBJECTIVES = ("energy", "carbon", "delay")


def total_cost(terms, suffix: str = ""):
    """The reported total ``C_E + C_C + C_D`` (``docs/greenllm.md#objectives``) of cost terms keyed by
    :data:`OBJECTIVES` plus ``suffix`` (numbers, arrays or expressions), summed in that order: the one home of
    the total that the solver, the explorer, the year study and the results all report."""
    energy, carbon, delay = (terms[f"{name}{suffix}"] for name in OBJECTIVES)
    return energy + carbon + delay


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
    :param deferrable: share phi of each area's and query type's daily demand that may be served in any hour of
        the horizon (temporal shifting, ``docs/measured.md#temporal``): ``y[i,j,k,t] >= 0`` queries of that pool
        served at DC j in hour t, ``sum_{j,t} y = phi sum_t lambda``, the rest served in its hour
        (``sum_j x = 1 - phi``). Deferred queries use energy, capacity and water like the others and pay the
        per-query transmission and processing delay; the aggregate delay cap (constraint 12) covers the
        on-time queries only. 0 (the default) is the paper's LP.
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
    deferrable: float = 0.0

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
            "deferrable": (0.0, 1.0, False, False),
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

def it_energy(s: xr.Dataset, x: linopy.Variable, deferred: linopy.Variable | None = None) -> linopy.LinearExpression:
    """Constraint 1: ``P_c[j,t] = sum_{i,k} (tau_in h + tau_out f) lambda x`` (kWh per slot), plus the deferred
    queries ``(tau_in h + tau_out f) y`` when demand may move in time (:class:`Extensions`)."""
    p_c = (_energy_per_query(s) * s.demand * x).sum(["area", "query"])
    if deferred is not None:
        p_c = p_c + (_energy_per_query(s) * deferred).sum(["area", "query"])
    return p_c


def add_deferred(m: linopy.Model, s: xr.Dataset, share: float) -> linopy.Variable:
    """Temporal shifting: ``y[i,j,k,t] >= 0`` queries of the movable pool served at DC j in hour t, with
    ``sum_{j,t} y = phi sum_t lambda[i,k,t]`` (every movable query served within the horizon)."""
    y = m.add_variables(lower=0, coords=_coords(s, "area", "dc", "query", "time"), name="deferred")
    m.add_constraints(y.sum(["dc", "time"]) == share * s.demand.sum("time"), name="deferred_balance")
    return y


def deferred_delay_coefficient(s: xr.Dataset) -> xr.DataArray:
    """Delay (s) of one deferred query routed i -> j: constraints 9 and 11 per query,
    ``beta (h+f) / max(0.001, B) + v (h+f)`` (propagation, not counted per query in constraint 10, is left out)."""
    tokens = _tokens(s)
    return s.data_per_token * tokens / np.maximum(MIN_BANDWIDTH, s.bandwidth) + s.proc_delay * tokens


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


def add_resource_capacity(m: linopy.Model, s: xr.Dataset, x: linopy.Variable,
                          deferred: linopy.Variable | None = None) -> None:
    """Constraint 7: ``sum_{i,k} alpha[k,r] (h+f) (lambda x + y) <= C[r,j]`` for every j, r, t (y: deferred queries)."""
    use = (s.resource_per_token * _tokens(s) * s.demand * x).sum(["area", "query"])
    if deferred is not None:
        use = use + (s.resource_per_token * _tokens(s) * deferred).sum(["area", "query"])
    m.add_constraints(use <= s.capacity, name="resource_capacity")


def add_full_allocation(m: linopy.Model, s: xr.Dataset, x: linopy.Variable, unmet: linopy.Variable | None,
                        deferrable: float = 0.0) -> None:
    """Constraint 8: ``sum_j x[i,j,k,t] = 1``: every query is served (v1 has no unmet demand).
    With the unmet-demand extension (``docs/greenllm.md#milp``): ``q + sum_j x = 1``; with a movable share
    phi of the demand, the on-time part is ``1 - phi``."""
    served = x.sum("dc")
    on_time = 1.0 - deferrable
    m.add_constraints(served + unmet == on_time if unmet is not None else served == on_time, name="full_allocation")


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
    deferred = add_deferred(m, s, ext.deferrable) if ext.deferrable > 0 else None
    p_c = it_energy(s, x, deferred)
    if ext.servers is not None:
        p_c = p_c + ext.idle_kw * add_servers(m, s, x, ext)  # idle power of every active server
    p_d = facility_energy(s, p_c)
    add_power_balance(m, s, p_d, p_g)
    w = water(s, p_d, p_c, p_g, ext.offsite_water_on_grid)
    add_water_budget(m, s, w)
    add_resource_capacity(m, s, x, deferred)
    unmet = None
    if ext.unmet_penalty is not None:
        unmet = m.add_variables(lower=0, upper=ext.max_unmet, coords=_coords(s, "area", "query", "time"), name="unmet")
    add_full_allocation(m, s, x, unmet, ext.deferrable)
    add_delay_cap(m, s, x)
    if ext.latency_cap is not None:
        m.add_constraints((route_latency(s) * x).sum("dc") <= ext.latency_cap, name="latency_cap")

    costs = {
        "energy": (s.price * p_g).sum(),
        "carbon": (s.carbon_tax * s.carbon_intensity * p_g).sum(),
        "delay": (s.delay_penalty * delay_coefficient(s) * x).sum(),
    }
    if deferred is not None:
        costs["delay"] = costs["delay"] + (s.delay_penalty * deferred_delay_coefficient(s) * deferred).sum()
    if unmet is not None:
        costs["unmet"] = (ext.unmet_penalty * s.demand * unmet).sum()
    if ext.download_cost is not None:
        place = add_kept_placement if ext.formulation == "tight" else add_model_placement
        costs["download"] = place(m, s, x, ext.download_cost)
    metrics = {"emissions": (s.carbon_intensity * p_g).sum(), "water": w.sum()}
    defined = {"it_energy": p_c, "facility_energy": p_d, "water": w, **delays(s, x)}
    return GreenLLMModel(model=m, scenario=s, extensions=ext, costs=costs, metrics=metrics, defined=defined)
