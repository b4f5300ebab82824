"""Green-LLM figures and tables, each drawn from its dataset alone (see :mod:`greenaolo.plotting`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as ticker
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from greenaolo.greenllm.model import MODEL_NAMES
from greenaolo.plotting import FIGSIZE, METHOD_COLORS, dc_color, new_figure, register

#: Legend labels of the compared models ("M0 Green-LLM", ...), from the model's own names.
MODEL_LABELS = {m: f"{m} {name}" for m, name in MODEL_NAMES.items()}

__all__ = ["draw_explore", "model_comparison_frame", "scenario_frame"]


def scenario_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Table 1 as a DataFrame (one row per DC), the form written to CSV and LaTeX."""
    return pd.DataFrame(
        {
            "region": ds.dc.values,
            "location": ds.dc_location.values,
            "carbon zone": ds.carbon_zone_code.values,
            "CFE": ds.cfe.values,
            "price $/kWh": [
                f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(ds.price_min.values, ds.price_max.values)
            ],
            "renewables kWh/d": ds.renewable_daily.values.round(1),
            "PUE": ds.pue.values.round(3),
            "mean theta kg/kWh": ds.carbon_intensity_mean.values.round(3),
            "tax $/kg": ds.carbon_tax.values,
        }
    )


@register("greenllm_table1")
def draw_table1(ds: xr.Dataset) -> plt.Figure:
    """Table 1 rendered as a table, above the hourly price, renewables and carbon intensity per DC."""
    frame = scenario_frame(ds)
    fig = plt.figure(figsize=(FIGSIZE[0], FIGSIZE[1] * 2.2))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.1, 1.0], hspace=0.35, wspace=0.35)
    ax = fig.add_subplot(grid[0, :])
    ax.axis("off")
    table = ax.table(cellText=frame.values, colLabels=frame.columns, loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(5.5)
    table.auto_set_column_width(list(range(len(frame.columns))))
    table.scale(1.0, 1.25)
    for col, (name, label) in enumerate(
        [("price", "price ($/kWh)"), ("renewable", "renewables (kWh)"), ("carbon_intensity", "theta (kgCO2/kWh)")]
    ):
        panel = fig.add_subplot(grid[1, col])
        for j, dc in enumerate(ds.dc.values):
            panel.plot(ds.time, ds[name].sel(dc=dc), lw=0.9, color=dc_color(j),
                       label=str(ds.dc_location.sel(dc=dc).values))
        panel.set_xlabel("hour (t)")
        panel.set_ylabel(label)
        panel.set_xticks([0, 6, 12, 18, 23])
    panel.legend(fontsize=5, ncol=1, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return fig


def model_comparison_frame(ds: xr.Dataset) -> pd.DataFrame:
    """Table 2 as a DataFrame (one row per model), rounded as the paper prints it."""
    frame = ds[["energy_cost", "carbon_cost", "delay_cost", "total_cost", "emissions", "water"]].to_dataframe()
    frame = frame.drop(columns=[c for c in frame.columns if c not in ds.data_vars])
    frame.insert(0, "model", ds.model_name.values)
    return frame.round({"energy_cost": 2, "carbon_cost": 2, "delay_cost": 2, "total_cost": 2, "emissions": 1, "water": 0})


@register("greenllm_table2")
def draw_table2(ds: xr.Dataset) -> plt.Figure:
    """Table 2: stacked cost terms per model, beside its emissions, with the solver in the caption."""
    models_run = list(ds.model.values)
    colors = [METHOD_COLORS.get(m, METHOD_COLORS["lexicographic"]) for m in models_run]
    fig, (left, right) = plt.subplots(1, 2, figsize=(FIGSIZE[0], FIGSIZE[1] * 1.2), gridspec_kw={"width_ratios": [2, 1]})
    bottom = np.zeros(len(models_run))
    for term, hatch in (("energy_cost", ""), ("carbon_cost", "xx"), ("delay_cost", "//")):
        values = ds[term].values
        left.bar(models_run, values, bottom=bottom, color=colors, hatch=hatch, edgecolor="white", lw=0.5,
                 label=ds[term].attrs["long_name"])
        bottom += values
    for x, total in enumerate(ds.total_cost.values):
        left.text(x, total, f"{total:.2f}", ha="center", va="bottom", fontsize=6)
    left.set_ylabel("cost ($/day)")
    left.tick_params(axis="x", rotation=45)
    handles = [plt.Rectangle((0, 0), 1, 1, facecolor="0.7", hatch=h, edgecolor="white") for h in ("", "xx", "//")]
    left.legend(handles, ["energy cost", "carbon tax", "delay penalty"], fontsize=6, ncol=3,
                loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    left.set_ylim(0, ds.total_cost.values.max() * 1.12)
    right.bar(models_run, ds.emissions.values, color=colors)
    right.set_ylabel("emissions (kgCO2/day)")
    right.tick_params(axis="x", rotation=45)
    solver = ", ".join(sorted(set(map(str, ds.solver.values))))
    fig.suptitle(f"Green-LLM models on the paper instance (solver: {solver})", fontsize=8)
    fig.tight_layout()
    return fig


def _lines(ax, ds: xr.Dataset, var: str, x: str, models=None, marker="o") -> None:
    for m in models if models is not None else ds.model.values:
        ax.plot(ds[x], ds[var].sel(model=m), marker=marker, ms=3, lw=1.2, color=METHOD_COLORS[str(m)],
                label=MODEL_LABELS.get(str(m), str(m)))


def _label(ax, ds: xr.Dataset, x: str, y: str, xlabel: str | None = None) -> None:
    ax.set_xlabel(xlabel or ds[x].attrs.get("long_name", x))
    ax.set_ylabel(f"{ds[y].attrs['long_name']} ({ds[y].attrs['units']})")


def _panel_letters(axes) -> None:
    for letter, ax in zip("abcdefgh", np.ravel(axes)):
        ax.set_title(f"({letter})", loc="left", fontsize=8, fontweight="bold")


@register("greenllm_fig1")
def draw_fig1(ds: xr.Dataset) -> plt.Figure:
    """Fig. 1: Psi_theta and Psi_Pw against total cost and emissions; hourly cost and emissions."""
    fig, axes = plt.subplots(2, 3, figsize=(FIGSIZE[0], FIGSIZE[1] * 1.9))
    _lines(axes[0, 0], ds, "theta_total_cost", "psi_theta")
    _label(axes[0, 0], ds, "psi_theta", "theta_total_cost", r"$\Psi_\theta$")
    _lines(axes[0, 1], ds, "theta_emissions", "psi_theta")
    _label(axes[0, 1], ds, "psi_theta", "theta_emissions", r"$\Psi_\theta$")
    _lines(axes[0, 2], ds, "theta_hourly_cost", "time", marker=None)
    _label(axes[0, 2], ds, "time", "theta_hourly_cost", rf"hour ($\Psi_\theta$ = {ds.attrs['hourly_psi_theta']:g})")
    _lines(axes[1, 0], ds, "pw_total_cost", "psi_pw")
    _label(axes[1, 0], ds, "psi_pw", "pw_total_cost", r"$\Psi_{P_w}$")
    _lines(axes[1, 1], ds, "pw_emissions", "psi_pw")
    _label(axes[1, 1], ds, "psi_pw", "pw_emissions", r"$\Psi_{P_w}$")
    _lines(axes[1, 2], ds, "pw_hourly_emissions", "time", marker=None)
    _label(axes[1, 2], ds, "time", "pw_hourly_emissions", rf"hour ($\Psi_{{P_w}}$ = {ds.attrs['hourly_psi_pw']:g})")
    axes[0, 0].legend(fontsize=6)
    _panel_letters(axes)
    fig.tight_layout()
    return fig


@register("greenllm_fig2")
def draw_fig2(ds: xr.Dataset) -> plt.Figure:
    """Fig. 2: Psi_tau against cost and emissions; M0's cost over tau x rho; Psi_rho against delay and cost;
    M0's saving over the better of M1 and M2 on the tau x rho grid."""
    fig, axes = plt.subplots(2, 3, figsize=(FIGSIZE[0], FIGSIZE[1] * 1.9))
    _lines(axes[0, 0], ds, "tau_total_cost", "psi_tau")
    _label(axes[0, 0], ds, "psi_tau", "tau_total_cost", r"$\Psi_\tau$")
    _lines(axes[0, 1], ds, "tau_emissions", "psi_tau")
    _label(axes[0, 1], ds, "psi_tau", "tau_emissions", r"$\Psi_\tau$")
    palette = plt.get_cmap("viridis")(np.linspace(0.1, 0.9, ds.sizes["grid_rho"]))
    for color, rho in zip(palette, ds.grid_rho.values):
        axes[0, 2].plot(ds.grid_tau, ds.grid_total_cost.sel(model="M0", grid_rho=rho), marker="o", ms=3,
                        color=color, label=rf"$\Psi_\rho$={rho:g}")
    _label(axes[0, 2], ds, "grid_tau", "grid_total_cost", r"$\Psi_\tau$ (M0)")
    axes[0, 2].legend(fontsize=5)
    _lines(axes[1, 0], ds, "rho_delay", "psi_rho")
    _label(axes[1, 0], ds, "psi_rho", "rho_delay", r"$\Psi_\rho$")
    _lines(axes[1, 1], ds, "rho_total_cost", "psi_rho")
    _label(axes[1, 1], ds, "psi_rho", "rho_total_cost", r"$\Psi_\rho$")
    adv = ds.m0_advantage.transpose("grid_rho", "grid_tau")
    mesh = axes[1, 2].imshow(adv.values, origin="lower", aspect="auto", cmap="Blues",
                             extent=[0, adv.sizes["grid_tau"], 0, adv.sizes["grid_rho"]])
    axes[1, 2].set_xticks(np.arange(adv.sizes["grid_tau"]) + 0.5, [f"{v:g}" for v in adv.grid_tau.values], fontsize=5)
    axes[1, 2].set_yticks(np.arange(adv.sizes["grid_rho"]) + 0.5, [f"{v:g}" for v in adv.grid_rho.values], fontsize=6)
    axes[1, 2].grid(False)
    axes[1, 2].set_xlabel(r"$\Psi_\tau$")
    axes[1, 2].set_ylabel(r"$\Psi_\rho$")
    fig.colorbar(mesh, ax=axes[1, 2], label="M0 saving vs best of M1, M2 (%)")
    axes[0, 0].legend(fontsize=6)
    _panel_letters(axes)
    fig.tight_layout()
    return fig


@register("greenllm_pareto")
def draw_pareto(ds: xr.Dataset) -> plt.Figure:
    """Cost against emissions, one curve per water limit (epsilon-constraint), with M0-M3 marked."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(FIGSIZE[0], FIGSIZE[1] * 1.2))
    colors = plt.get_cmap("viridis")(np.linspace(0.05, 0.95, ds.sizes["water_limit"]))
    for color, w in zip(colors, ds.water_limit.values):
        sel = ds.sel(water_limit=w)
        if not np.isfinite(sel.total_cost.values).any():  # every pair infeasible: counted in the note, not listed
            continue
        left.plot(sel.emissions, sel.total_cost, marker="o", ms=2.5, lw=1, color=color, label=f"water <= {w:,.0f} L")
    for m in ds.model.values:
        left.scatter(ds.model_emissions.sel(model=m), ds.model_total_cost.sel(model=m), s=40, marker="*",
                     color=METHOD_COLORS[str(m)], edgecolor="k", lw=0.4, zorder=5, label=MODEL_LABELS[str(m)])
    left.set_xlabel("emissions (kgCO2/day)")
    left.set_ylabel("total cost ($/day)")
    left.legend(fontsize=5, ncol=2)
    for m in ds.model.values:
        right.scatter(ds.model_water.sel(model=m), ds.model_total_cost.sel(model=m), s=40, marker="*",
                      color=METHOD_COLORS[str(m)], edgecolor="k", lw=0.4, zorder=5)
    points = right.scatter(ds.water.values.ravel(), ds.total_cost.values.ravel(), c=ds.emissions.values.ravel(), s=8,
                           cmap="magma")
    fig.colorbar(points, ax=right, label="emissions (kgCO2/day)")
    right.axvline(ds.attrs["min_water"], color="0.4", ls="--", lw=0.8)
    right.set_xlabel("water (L/day)")
    right.set_ylabel("total cost ($/day)")
    right.set_title(f"{ds.attrs['infeasible_points']} infeasible limit pairs omitted", fontsize=6)
    fig.tight_layout()
    return fig


@register("greenllm_water")
def draw_water(ds: xr.Dataset) -> plt.Figure:
    """Total cost, shadow price of water and emissions against the water budget Z."""
    fig, axes = plt.subplots(1, 3, figsize=FIGSIZE)
    color = METHOD_COLORS["M0"]
    for ax, var in zip(axes, ("total_cost", "water_shadow_price", "emissions")):
        ax.plot(ds.water_budget, ds[var], marker="o", ms=3, color=color)
        ax.axvline(ds.attrs["paper_water_budget"], color="0.3", ls=":", lw=0.8)
        ax.axvline(ds.attrs["unconstrained_water"], color="0.5", ls="--", lw=0.8)
        _label(ax, ds, "water_budget", var, "water budget Z (L)")
    axes[1].set_yscale("symlog", linthresh=1e-3)
    # A shadow price is never negative: no room for negative decades; room above the highest point.
    axes[1].set_ylim(0, max(1e-2, float(ds.water_shadow_price.max()) * 3))
    axes[0].text(ds.attrs["paper_water_budget"], float(ds.total_cost.max()), "paper's Z ", fontsize=6, va="top",
                 ha="right")
    axes[0].text(ds.attrs["unconstrained_water"], float(ds.total_cost.max()), "M0 use ", fontsize=6, va="top", ha="right")
    _panel_letters(axes)
    fig.tight_layout()
    return fig


@register("greenllm_milp")
def draw_milp(ds: xr.Dataset) -> plt.Figure:
    """LP vs MILP variants: (a) cost terms with each MILP's proven bound and gap, (b) solve time against
    instance size, every solve stopped at its limit drawn open and labelled with its gap, (c) with model
    placement, the queries each placed model serves per DC and hour (one panel per query type; blank: not
    placed)."""
    placed = "placement" in ds and ds.sizes.get("placed_variant", 0) > 0
    n_query = ds.sizes["query"] if placed else 0
    fig = plt.figure(figsize=(FIGSIZE[0], FIGSIZE[1] * (2.1 if placed else 1.0)))
    grid = fig.add_gridspec(2 if placed else 1, max(n_query, 2), height_ratios=[1.0, 0.9] if placed else None,
                            hspace=0.75, wspace=0.45)
    half = max(n_query, 2) // 2 + (max(n_query, 2) % 2)
    costs, times = fig.add_subplot(grid[0, :half]), fig.add_subplot(grid[0, half:])
    _milp_costs(costs, ds)
    _milp_times(times, ds)
    _panel_letters([costs, times])
    if placed:
        _milp_placement(fig, grid, ds)
    return fig


def _milp_costs(ax, ds: xr.Dataset) -> None:
    names = [str(v) for v in ds.variant.values]
    y = np.arange(len(names))
    bottom = np.zeros(len(names))
    download = np.nan_to_num(ds.total_cost.values - (ds.energy_cost + ds.carbon_cost + ds.delay_cost).values)
    for values, label, hatch in ((ds.energy_cost.values, "energy C_E (with idle servers)", ""),
                                 (ds.carbon_cost.values, "carbon C_C", "xx"), (ds.delay_cost.values, "delay C_D", "//"),
                                 (download, "model downloads", "..")):
        values = np.nan_to_num(values)
        ax.barh(y, values, left=bottom, hatch=hatch, color=METHOD_COLORS["M0"], edgecolor="white", label=label)
        bottom += values
    total, bound = ds.total_cost.values, ds.cost_bound.values
    # The scale is the LP's: an early incumbent far above it (a time limit hit within seconds) is written out,
    # not drawn.
    right = 1.75 * float(np.nanmin(total)) if np.isfinite(total).any() else 1.0
    for i, (t, b, gap, opt) in enumerate(zip(total, bound, ds.mip_gap.values, ds.optimal.values)):
        if not np.isfinite(t):
            ax.text(0, i, " no incumbent at the time limit", va="center", fontsize=6)
            continue
        note = f"{t:,.1f} $, {_gap_words(gap)}" + ("" if opt else "\n  (time limit)")  # two lines: inside the panel
        if t > right:
            ax.text(0, i, f" beyond the axis ({t / np.nanmin(total):.0f}x the least cost): {note}", va="center",
                    fontsize=5.5, color="0.2",
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5})
            continue
        if np.isfinite(b):
            ax.plot([b, t], [i, i], color="black", lw=1.2, marker="|", ms=7)  # proven bound .. incumbent
        ax.text(t, i, "  " + note, va="center", fontsize=5.5)
    ax.set_yticks(y, names, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlim(0, right)
    ax.set_xlabel("cost ($/day); |-| proven bound to incumbent", fontsize=6)
    ax.legend(fontsize=5, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, frameon=False)


def _gap_words(gap: float) -> str:
    """A MILP gap in words: no proven bound yet (inf or NaN), or its percentage."""
    return f"gap {gap:.2%}" if np.isfinite(gap) else "no proven bound yet"


def _milp_times(ax, ds: xr.Dataset) -> None:
    n = ds.size_n_variables.values
    t = ds.size_solve_seconds.values
    solved = ds.size_optimal.values.astype(bool)
    limit = ds.attrs["time_limit"]
    ax.plot(n, t, color="0.6", lw=0.8, zorder=1)
    ax.scatter(n[solved], t[solved], color=METHOD_COLORS["M0"], s=14, zorder=2,
               label=f"gap <= {ds.attrs['mip_gap_target']:.1%}")
    ax.scatter(n[~solved], t[~solved], facecolor="white", edgecolor=METHOD_COLORS["M0"], s=14, zorder=2,
               label="stopped at the limit, gap")
    for i, (x, y, gap, ok) in enumerate(zip(n, t, ds.size_mip_gap.values, solved)):
        if not ok:
            ax.annotate(f"{gap:.2%}" if np.isfinite(gap) else "no bound", (x, y), fontsize=5, ha="center",
                        xytext=(0, 5 + 6 * (i % 2)),
                        textcoords="offset points")
    ax.axhline(limit, color="0.4", ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xticks(n, [str(v) for v in ds.size.values], rotation=40, fontsize=5, ha="right")
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_ylim(0, limit * 1.35)
    ax.set_xlabel("areas x DCs x hours (log of variables)", fontsize=6)
    ax.set_ylabel("solve time (s)", fontsize=7)
    ax.yaxis.set_label_coords(-0.13, 0.5)  # clear of its tick numbers
    ax.tick_params(axis="y", labelsize=6)
    ax.legend(fontsize=5, loc="lower right", title=ds.attrs["size_variant"], title_fontsize=5)


def _milp_placement(fig, grid, ds: xr.Dataset):
    variant = str(ds.placed_variant.values[0])
    served = ds.served.sel(placed_variant=variant)
    placement = ds.placement.sel(placed_variant=variant)
    top = float(served.max()) or 1.0
    first = None
    for k, query in enumerate(ds["query"].values):
        ax = fig.add_subplot(grid[1, k])
        first = first or ax
        shown = served.sel(query=query).where(placement.sel(query=query) > 0.5).transpose("dc", "time")
        mesh = ax.imshow(shown.values, aspect="auto", cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
        ax.set_facecolor("0.93")
        ax.grid(False)
        downloads = int(round(float(placement.sel(query=query).isel(time=0).sum())))
        ax.set_title(f"{query}: {downloads} DC" + ("" if downloads == 1 else "s"), fontsize=6)
        ax.set_xticks([0, 12, 23])
        ax.set_xlabel("hour", fontsize=6)
        ax.set_yticks(range(ds.sizes["dc"]), [str(d) for d in ds.dc.values] if k == 0 else [], fontsize=5)
    fig.colorbar(mesh, ax=ax, label="queries served / h", fraction=0.08, pad=0.04).ax.tick_params(labelsize=5)
    total = int(round(float(ds.downloads.sel(variant=variant))))
    first.text(-0.35, 1.3, f"(c) {variant}: {total} model downloads in the day, each kept all day (colour: queries it "
               "serves per hour; blank: not placed)", transform=first.transAxes, fontsize=7)
    return first


@register("greenllm_latency")
def draw_latency(ds: xr.Dataset) -> plt.Figure:
    """Per-query latency CDF of each model, beside the paper's aggregate delay per (i, k, t)."""
    fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE, gridspec_kw={"width_ratios": [3, 2]})
    for m in ds.model.values:
        counts = ds.queries.sel(model=m).values
        cdf = np.concatenate([[0.0], np.cumsum(counts) / counts.sum()])
        left.step(ds.bin_edge.values, cdf, where="post", color=METHOD_COLORS[str(m)], label=MODEL_LABELS[str(m)])
    left.set_xlabel("per-query latency (s)")
    left.set_ylabel("fraction of queries")
    left.legend(fontsize=6)
    x = np.arange(ds.sizes["model"])
    right.bar(x - 0.2, ds.mean_latency, width=0.4, color=[METHOD_COLORS[str(m)] for m in ds.model.values],
              label="per-query latency, mean")
    right.bar(x + 0.2, ds.mean_aggregate_delay, width=0.4, color="0.7", label='paper\'s "delay" D, mean')
    right.set_xticks(x, [str(m) for m in ds.model.values])
    right.set_ylabel("seconds")
    right.set_yscale("log")
    right.legend(fontsize=6, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    fig.tight_layout()
    return fig


@register("greenllm_solution")
def draw_solution(ds: xr.Dataset) -> plt.Figure:
    """One solved model (``greenaolo greenllm solve -o``): grid power per DC and hour, and its cost terms."""
    fig, (left, right) = plt.subplots(1, 2, figsize=FIGSIZE, gridspec_kw={"width_ratios": [3, 1]})
    mesh = left.imshow(ds.grid_power.transpose("dc", "time").values, aspect="auto", cmap="magma_r")
    left.set_yticks(range(ds.sizes["dc"]), [str(d) for d in ds.dc.values], fontsize=6)
    left.set_xlabel("hour (t)")
    left.grid(False)
    fig.colorbar(mesh, ax=left, label="grid energy (kWh)")
    terms = ["energy_cost", "carbon_cost", "delay_cost"]
    right.bar(["energy", "carbon", "delay"], [float(ds[t]) for t in terms], color=METHOD_COLORS["M0"])
    right.set_ylabel("cost ($)")
    right.set_title(f"{ds.attrs.get('model', '')}: total {float(ds.total_cost):.2f} $", fontsize=7)
    fig.tight_layout()
    return fig


def draw_explore(view: xr.Dataset) -> Figure:
    """One view of the explorer (:func:`greenaolo.greenllm.explore.explore_view`): the cost terms beside M0's
    baseline, emissions and water against the baseline, and the queries each DC serves per hour.

    Not a dataset figure (it is not registered): the explorer draws it on every slider move, with the object
    API only (no pyplot, no theme set here: :mod:`greenaolo.explorer` says why). An infeasible setting keeps
    the baseline and says why in the title.
    """
    model = view.attrs["model"]
    color = METHOD_COLORS.get(model, METHOD_COLORS["lexicographic"])
    fig = new_figure((FIGSIZE[0], FIGSIZE[1] * 1.25))
    costs, metrics, heat = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1.1, 2.3]})
    terms = ["energy_cost", "carbon_cost", "delay_cost", "total_cost"]
    x = np.arange(len(terms))
    base = view.baseline.sel(term=terms).values
    value = view.value.sel(term=terms).values
    costs.bar(x - 0.2, base, width=0.4, color=METHOD_COLORS["M0"], alpha=0.35, label="M0 baseline")
    costs.bar(x + 0.2, value, width=0.4, color=color, label="this setting")
    costs.set_xticks(x, ["energy", "carbon", "delay", "total"], fontsize=6, rotation=35)
    costs.set_ylabel("cost ($/day)")
    costs.legend(fontsize=5.5, loc="upper left")

    change = 100 * view.change.sel(term=["emissions", "water"]).values
    metrics.axhline(0, color="0.4", lw=0.6)
    if view.attrs["feasible"]:
        metrics.bar([0, 1], change, width=0.6, color=color)
    span = max(5.0, float(np.nanmax(np.abs(change))) * 1.3) if view.attrs["feasible"] else 5.0
    metrics.set_ylim(-span, span)
    metrics.set_xlim(-0.6, 1.6)
    metrics.set_xticks([0, 1], [
        f"{name}\n{float(view.value.sel(term=name)):,.0f} {units}" if view.attrs["feasible"] else name
        for name, units in (("emissions", "kg"), ("water", "L"))
    ], fontsize=5.5)
    metrics.set_ylabel("change vs M0 baseline (%)")

    routed = view.routed.transpose("dc", "time").values
    heat.grid(False)
    if view.attrs["feasible"]:
        mesh = heat.imshow(routed, aspect="auto", cmap="viridis", vmin=0, interpolation="nearest")
        fig.colorbar(mesh, ax=heat, label="queries served per hour", pad=0.02)
    else:
        heat.text(0.5, 0.5, "no feasible allocation", ha="center", va="center", transform=heat.transAxes, fontsize=8)
        heat.set_xlim(-0.5, view.sizes["time"] - 0.5)
        heat.set_ylim(view.sizes["dc"] - 0.5, -0.5)  # as imshow orients the rows
    labels = [f"{dc} ({loc})" for dc, loc in zip(view.dc.values, view.dc_location.values)]
    heat.set_yticks(range(len(labels)), labels, fontsize=5.5)
    heat.set_xticks(range(0, view.sizes["time"], 6))
    heat.set_xlabel("hour (t)")
    heat.set_title("queries routed to each DC", fontsize=7)

    status = (f"solved in {float(view.solve_seconds):.2f} s ({view.attrs['solver']})" if view.attrs["feasible"]
              else view.attrs["message"])
    fig.suptitle(f"{view.attrs['label']}\n{status}", fontsize=7, color="black" if view.attrs["feasible"] else "firebrick")
    fig.tight_layout()
    return fig


@register("greenllm_year")
def draw_year(ds: xr.Dataset) -> plt.Figure:
    """The year study: M0's and M2's emission and cost changes against M1 over the days and by month, the
    DCs that serve the load by season, and what a day-ahead forecast costs against perfect foresight."""
    from greenaolo.greenllm.year import SEASONS, change_against_m1, value_of_information

    fig = plt.figure(figsize=(FIGSIZE[0], FIGSIZE[1] * 3.3))
    grid = fig.add_gridspec(3, 4, hspace=0.6, wspace=0.9)
    axes = [fig.add_subplot(grid[0, :2]), fig.add_subplot(grid[0, 2:]), fig.add_subplot(grid[1, :2]),
            fig.add_subplot(grid[1, 2:]), fig.add_subplot(grid[2, :2]), fig.add_subplot(grid[2, 2]),
            fig.add_subplot(grid[2, 3])]
    models = ["M0", "M2", "M3"]
    month = ds.day.dt.month
    paper_day = np.datetime64("2024-03-24")
    for ax, name in ((axes[0], "emissions"), (axes[1], "total_cost")):
        change = change_against_m1(ds, name)
        data = [change.sel(model=m).dropna("day").values for m in models]
        parts = ax.boxplot(data, orientation="horizontal", widths=0.6, patch_artist=True, showfliers=True,
                           flierprops={"markersize": 2, "alpha": 0.5}, medianprops={"color": "black"})
        for patch, m in zip(parts["boxes"], models):
            patch.set_facecolor(METHOD_COLORS[m])
            patch.set_alpha(0.6)
        ax.set_yticks(range(1, len(models) + 1), [MODEL_LABELS[m] for m in models] if ax is axes[0] else [],
                      fontsize=6)
        ax.axvline(0, color=METHOD_COLORS["M1"], lw=1, ls="--")
        if paper_day in ds.day.values:
            ax.scatter(change.sel(day=paper_day, model=models), range(1, len(models) + 1), marker="*", s=40,
                       color="black", zorder=3, label="2024-03-24 (the paper's day)")
            ax.legend(fontsize=5, loc="lower right")
        ax.set_xlabel(f"{name.replace('_', ' ')} vs M1 (%), one value per day")
        ax.set_ylim(0.1, len(models) + 0.9)  # room for the count above the top box and the legend below the lowest
        less = change < 0
        ax.text(0.02, 0.97, f"below M1 on {int(less.sel(model='M0').sum())} (M0) and {int(less.sel(model='M2').sum())} "
                f"(M2) of {int(change.sel(model='M0').notnull().sum())} days", transform=ax.transAxes, fontsize=5.5,
                va="top")
    for ax, name in ((axes[2], "emissions"), (axes[3], "total_cost")):
        change = change_against_m1(ds, name)
        for m in ("M0", "M2"):
            by_month = change.sel(model=m).groupby(month)
            q = by_month.quantile([0.25, 0.5, 0.75])
            months = q["month"].values
            ax.plot(months, q.sel(quantile=0.5), marker="o", ms=3, lw=1.2, color=METHOD_COLORS[m], label=MODEL_LABELS[m])
            ax.fill_between(months, q.sel(quantile=0.25), q.sel(quantile=0.75), color=METHOD_COLORS[m], alpha=0.2, lw=0)
        ax.axhline(0, color=METHOD_COLORS["M1"], lw=1, ls="--", label=MODEL_LABELS["M1"])
        ax.set_xticks(range(1, 13), list("JFMAMJJASOND"))
        ax.set_xlabel("month of 2024 (median, interquartile range)")
        ax.set_ylabel(f"{name.replace('_', ' ')} vs M1 (%)")
    axes[2].legend(fontsize=5)
    # Which DCs serve the load, by season: each model's share of the queries per DC (perfect foresight).
    season = xr.DataArray([SEASONS[int(m)] for m in month.values], dims="day", coords={"day": ds.day})
    served = ds.served.sel(setting="perfect", model=["M0", "M1", "M2"])
    share = (served.groupby(season).sum() / served.groupby(season).sum().sum("dc"))
    order = [s for s in ("DJF", "MAM", "JJA", "SON") if s in share["group"].values]
    labels, rows = [], []
    for s in order:
        for m in ("M0", "M1", "M2"):
            labels.append(f"{s} {m}")
            rows.append(share.sel(group=s, model=m).values)
    rows = np.array(rows)
    left = np.zeros(len(rows))
    for j, dc in enumerate(ds.dc.values):
        axes[4].barh(range(len(rows)), rows[:, j], left=left, color=dc_color(j), label=str(ds.dc_location.sel(dc=dc).values))
        left += rows[:, j]
    axes[4].set_yticks(range(len(rows)), labels, fontsize=5)
    axes[4].invert_yaxis()
    axes[4].set_xlim(0, 1)
    axes[4].set_xlabel("share of the queries each DC serves (perfect foresight)")
    axes[4].legend(fontsize=5, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.28), frameon=False,
                   handlelength=1, columnspacing=0.8)
    # The value of perfect information: a plan made on a forecast, scored on the actual intensity.
    short = {"persistence": "persistence", "mean7": "7-day mean"}
    for ax, name, unit in ((axes[5], "total_cost", "$"), (axes[6], "emissions", "kg")):
        vpi = value_of_information(ds, name)
        keys = [(m, s) for m in ("M0", "M2") for s in vpi.setting.values]
        data = [vpi.sel(model=m, setting=s).dropna("day").values for m, s in keys]
        parts = ax.boxplot(data, widths=0.6, patch_artist=True, flierprops={"markersize": 2, "alpha": 0.5},
                           medianprops={"color": "black"})
        for patch, (m, _) in zip(parts["boxes"], keys):
            patch.set_facecolor(METHOD_COLORS[m])
            patch.set_alpha(0.6)
        ax.set_xticks(range(1, len(keys) + 1), [f"{m} {short.get(s, s)}" for m, s in keys], fontsize=5, rotation=40,
                      ha="right", rotation_mode="anchor")
        ax.tick_params(axis="y", labelsize=6)
        ax.axhline(0, color="grey", lw=0.8)
        ax.set_ylabel(f"forecast - perfect plan,\nrealised {name.replace('_', ' ')} ({unit})", fontsize=6)
    for letter, ax in zip("abcdefg", axes):
        ax.set_title(f"({letter})", loc="left", fontsize=8, fontweight="bold")
    return fig


@register("greenllm_measured")
def draw_measured(ds: xr.Dataset) -> plt.Figure:
    """The measured years: each comparison's change in emissions and total cost over the days, the seasons,
    the latency each routing costs, and how much the split of demand between areas moves the answer."""
    from greenaolo.greenllm.measured_year import COMPARISONS, savings

    fig = plt.figure(figsize=(FIGSIZE[0], FIGSIZE[1] * 3.4))
    grid = fig.add_gridspec(3, 4, hspace=0.6, wspace=1.0)
    axes = [fig.add_subplot(grid[0, :2]), fig.add_subplot(grid[0, 2:]), fig.add_subplot(grid[1, :2]),
            fig.add_subplot(grid[1, 2]), fig.add_subplot(grid[1, 3]), fig.add_subplot(grid[2, 1:3])]
    labels = list(COMPARISONS)
    colors = [METHOD_COLORS[plan[1]] for plan, _ in COMPARISONS.values()]
    for ax, name in ((axes[0], "emissions"), (axes[1], "total_cost")):
        data = [savings(ds, name, against, plan).dropna("day").values for plan, against in COMPARISONS.values()]
        parts = ax.boxplot(data, orientation="horizontal", widths=0.6, patch_artist=True,
                           flierprops={"markersize": 2, "alpha": 0.4}, medianprops={"color": "black"})
        for patch, color in zip(parts["boxes"], colors):
            patch.set_facecolor(color)
            patch.set_alpha(0.6)
        ax.set_yticks(range(1, len(labels) + 1), labels if ax is axes[0] else [], fontsize=5.5)
        ax.invert_yaxis()
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel(f"{name.replace('_', ' ')} change (%), one value per day")
    # Seasons: the median change of emissions by month, per year, for the carbon-aware plans against local.
    days = pd.DatetimeIndex(ds.day.values)
    for (plan, against), style in ((COMPARISONS["carbon-aware (M0) vs latency-only (local)"], "-"),
                                   (COMPARISONS["carbon-aware (M0) vs cost-only (M1)"], ":")):
        change = savings(ds, "emissions", against, plan)
        for year, marker in zip(sorted(set(days.year)), "os"):
            sub = change.isel(day=np.flatnonzero(days.year == year))
            monthly = sub.groupby(sub.day.dt.month).median()
            axes[2].plot(monthly["month"], monthly, ls=style, marker=marker, ms=3, lw=1.1, color=METHOD_COLORS[plan[1]],
                         label=f"{year}: {'/'.join(plan)} vs {'/'.join(against)}")
    axes[2].axhline(0, color="grey", lw=0.8)
    axes[2].set_xticks(range(1, 13), list("JFMAMJJASOND"))
    axes[2].set_ylabel("emissions change (%), monthly median")
    axes[2].legend(fontsize=5)
    # Latency: the mean round-trip time of each routing's M0 and M2 plans.
    bars = [(r, m) for r in ("local", "local+shift", "regional", "global", "global+shift") for m in ("M0", "M2")
            if not (r == "local" and m == "M2")]
    values = [float(ds.network_latency.sel(routing=r, model=m, setting="perfect").mean()) for r, m in bars]
    axes[3].barh(range(len(bars)), values, color=[METHOD_COLORS[m] for _, m in bars], alpha=0.7)
    axes[3].set_yticks(range(len(bars)), [f"{r} {m}" if r != "local" else "local" for r, m in bars], fontsize=5.5)
    axes[3].invert_yaxis()
    axes[3].set_xlabel("mean round-trip time (ms)")
    # Demand split: each split's median change of M0 against local (emissions), equal split marked.
    if "split_emissions" in ds:
        key = "carbon-aware (M0) vs latency-only (local)"
        values = ds.split_emissions.sel(comparison=key).values
        axes[4].scatter(np.zeros(len(values) - 1), values[1:], s=10, color="grey", label="random splits")
        axes[4].scatter([0], values[:1], s=30, marker="*", color="black", label="equal split")
        axes[4].set_xticks([])
        axes[4].set_ylabel("M0 vs local, median emissions change (%)", fontsize=6)
        axes[4].legend(fontsize=5)
    else:
        axes[4].set_axis_off()
    # How much demand can move in time: median emissions change against local routing, per share.
    if "shift_emissions" in ds:
        for routing, style in (("local+shift", "--"), ("global+shift", "-")):
            for model in ds.shift_model.values:
                axes[5].plot(100 * ds.share, ds.shift_emissions.sel(shift_routing=routing, shift_model=model), ls=style,
                             marker="o", ms=3, color=METHOD_COLORS[str(model)], label=f"{routing} {model}")
        axes[5].axhline(0, color="grey", lw=0.8)
        axes[5].set_xlabel("share of each day's demand that may move in time (%)")
        axes[5].set_ylabel("emissions vs local (%), median", fontsize=6)
        axes[5].legend(fontsize=5, ncol=2)
    else:
        axes[5].set_axis_off()
    for letter, ax in zip("abcdef", axes):
        ax.set_title(f"({letter})", loc="left", fontsize=8, fontweight="bold")
    return fig
