"""Green-LLM figures and tables, each drawn from its dataset alone (see :mod:`greenaolo.plotting`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from greenaolo.plotting import FIGSIZE, METHOD_COLORS, register

__all__ = ["model_comparison_frame", "scenario_frame"]


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
        for dc in ds.dc.values:
            panel.plot(ds.time, ds[name].sel(dc=dc), lw=0.9, label=str(ds.dc_location.sel(dc=dc).values))
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
