"""Draw any figure from its dataset: the registry of both papers' figure functions, by the dataset's name.

Each paper's figure module registers its functions with :func:`greenaolo.plotting.register`; this module
imports both (it sits above them: they import :mod:`greenaolo.plotting`, never this module) and looks the
dataset's ``figure`` attribute up.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import xarray as xr

import greenaolo.aolo.figures  # noqa: F401  (registers AOLO's figures)
import greenaolo.greenllm.figures  # noqa: F401  (registers Green-LLM's figures)
from greenaolo.plotting import REGISTRY, set_theme

__all__ = ["draw", "figure_names"]


def figure_names() -> list[str]:
    """Every registered figure's name."""
    return sorted(REGISTRY)


def draw(ds: xr.Dataset) -> plt.Figure:
    """Draw the figure a dataset names in its ``figure`` attribute.

    :raises KeyError: no figure is registered under that name.
    """
    name = ds.attrs.get("figure")
    if name not in REGISTRY:
        raise KeyError(f"no figure registered as {name!r}; known figures: {figure_names()}")
    set_theme()
    return REGISTRY[name](ds)
