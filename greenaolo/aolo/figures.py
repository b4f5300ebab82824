"""AOLO figures, each drawn from its dataset alone (see :mod:`greenaolo.plotting`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from greenaolo.aolo.experiments import TERMS
from greenaolo.plotting import FIGSIZE, METHOD_COLORS, register

TERM_COLORS = dict(zip(TERMS, ["#0173b2", "#56b4e9", "#de8f05", "#ece133"]))
POLICY_COLORS = {"oracle": METHOD_COLORS["oracle"], "random": METHOD_COLORS["random"]}


@register("aolo_carbon_model")
def draw_carbon_model(ds: xr.Dataset) -> plt.Figure:
    """(a) the four terms against kappa; (b) carbon against P_trans near and far; (c) energy per bit with its
    minimum P_ee; (d) the oracle's and the heuristics' mean carbon split on the evaluation set."""
    fig, axes = plt.subplots(2, 2, figsize=(FIGSIZE[0], FIGSIZE[1] * 2.0))
    ax = axes[0, 0]
    ax.stackplot(ds.kappa, *[ds[f"vs_kappa_{t[7:]}"] for t in TERMS], labels=list(TERMS.values()),
                 colors=list(TERM_COLORS.values()))
    ax.set_xlabel("output length kappa (words)")
    ax.set_ylabel("carbon per request (gCO2e)")
    ax.set_title(f"(a) at P_ee = {ds.attrs['reference_power']:.2f} W, d = {ds.attrs['reference_distance']:g} m",
                 loc="left", fontsize=7)
    ax.legend(fontsize=6, loc="upper left")

    ax = axes[0, 1]
    colors = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, ds.sizes["distance"]))
    for color, d in zip(colors, ds.distance.values):
        sel = ds.sel(distance=d)
        comm = sel.vs_power_communication_operational + sel.vs_power_communication_embodied
        ax.plot(ds.power, comm, color=color, label=f"d = {d:g} m")
        ax.axvline(float(sel.p_ee), color=color, ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("transmit power P_trans (W)")
    ax.set_ylabel("C_C per request (gCO2e)")
    ax.set_title(f"(b) kappa = {ds.attrs['reference_kappa']} words; dotted: P_ee", loc="left", fontsize=7)
    ax.legend(fontsize=6)

    ax = axes[1, 0]
    for color, d in zip(colors, ds.distance.values):
        sel = ds.sel(distance=d)
        ax.plot(ds.power, sel.energy_per_bit, color=color, label=f"d = {d:g} m")
        i = int(np.argmin(sel.energy_per_bit.values))
        ax.plot(ds.power[i], sel.energy_per_bit[i], "o", color=color, ms=4)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("transmit power P_trans (W)")
    ax.set_ylabel("BS energy per bit (uJ/bit)")
    ax.set_title("(c) interior minimum of (P_0 + Delta_p P) / R", loc="left", fontsize=7)

    ax = axes[1, 1]
    left = np.zeros(ds.sizes["policy"])
    names = [str(p) for p in ds.policy.values]
    for term, symbol in TERMS.items():
        values = ds[f"policy_{term[7:]}"].values
        ax.barh(names, values, left=left, color=TERM_COLORS[term], label=symbol)
        left += values
    for y, (total, q, t) in enumerate(zip(left, ds.policy_qoe_violation_rate.values, ds.policy_latency_violation_rate.values)):
        note = f" {total:.3f} g" + (f"  QoE viol. {q:.0%}" if q > 0 else "") + (f"  lat. viol. {t:.0%}" if t > 0 else "")
        ax.text(total, y, note, va="center", fontsize=6)
    ax.set_xlim(0, left.max() * 1.9)
    ax.invert_yaxis()
    ax.set_xlabel("mean carbon per request (gCO2e)")
    ax.set_title(f"(d) {ds.sizes['request']} evaluation requests", loc="left", fontsize=7)
    fig.tight_layout()
    return fig
