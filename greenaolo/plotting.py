"""Plot conventions shared by every figure, and the registry that redraws a figure from its dataset.

One seaborn theme, one figure width (a two-column paper's full width), PNG and PDF side by side, and one
colour per method across every figure (:data:`METHOD_COLORS`). A figure function takes only a Dataset
(read from disk) and returns a matplotlib Figure; it is registered under the name stored in the dataset's
``figure`` attribute, so ``greenaolo plot DATASET`` redraws any figure from its dataset alone.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
import xarray as xr  # noqa: E402

from greenaolo.io import atomic_path  # noqa: E402

__all__ = ["FIGSIZE", "METHOD_COLORS", "draw", "register", "save_figure", "set_theme"]

#: Full text width of a two-column IEEE paper (7.16 in) by a third of it in height.
FIGSIZE = (7.16, 2.6)
DPI = 200
_palette = sns.color_palette("colorblind", 10)
#: One colour per method, the same in every figure.
METHOD_COLORS: dict[str, tuple[float, float, float]] = {
    "M0": _palette[0],
    "M1": _palette[1],
    "M2": _palette[2],
    "M3": _palette[4],
    "lexicographic": _palette[7],
    "SDRL": _palette[3],
    "SAC": _palette[9],
    "oracle": (0.0, 0.0, 0.0),
    "random": _palette[5],
    "heuristic": _palette[8],
}
MODEL_LABELS = {"M0": "M0 Green-LLM", "M1": "M1 Energy-LLM", "M2": "M2 Carbon-LLM", "M3": "M3 Hybrid-LLM"}

_REGISTRY: dict[str, Callable[[xr.Dataset], plt.Figure]] = {}


def set_theme() -> None:
    """The one theme every figure uses."""
    sns.set_theme(context="paper", style="whitegrid", palette=list(METHOD_COLORS.values()), font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": DPI, "savefig.bbox": "tight", "pdf.fonttype": 42})


def register(name: str) -> Callable:
    """Decorator: register a figure function under ``name`` (the dataset's ``figure`` attribute)."""

    def wrap(fn: Callable[[xr.Dataset], plt.Figure]) -> Callable[[xr.Dataset], plt.Figure]:
        _REGISTRY[name] = fn
        return fn

    return wrap


def _load_figure_modules() -> None:
    # Figure functions live beside the packages they draw; importing registers them.
    import greenaolo.aolo.figures  # noqa: F401
    import greenaolo.greenllm.figures  # noqa: F401


def draw(ds: xr.Dataset) -> plt.Figure:
    """Draw the figure a dataset names in its ``figure`` attribute."""
    _load_figure_modules()
    name = ds.attrs.get("figure")
    if name not in _REGISTRY:
        raise KeyError(f"no figure registered as {name!r}; known figures: {sorted(_REGISTRY)}")
    set_theme()
    return _REGISTRY[name](ds)


def save_figure(fig: plt.Figure, stem: str, output_dir: str | os.PathLike = "figures") -> list[Path]:
    """Save ``fig`` as ``output_dir/stem.png`` and ``.pdf``, each written atomically, and close it."""
    paths = []
    for ext in ("pdf", "png"):  # PNG last: it is the Makefile's target, so it marks a complete figure
        path = Path(output_dir) / f"{stem}.{ext}"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext)
        paths.append(path)
    plt.close(fig)
    return paths
