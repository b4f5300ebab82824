"""Plot conventions shared by every figure: one theme, one colour per method, saving, the figure registry.

One seaborn theme, one figure width (a two-column paper's full width), PNG and PDF side by side, and one
colour per method across every figure (:data:`METHOD_COLORS`). A figure function takes only a Dataset
(read from disk) and returns a matplotlib Figure; it is registered under the name stored in the dataset's
``figure`` attribute (:func:`register`), so :func:`greenaolo.figures.draw` (and ``greenaolo plot DATASET``)
redraws any figure from its dataset alone. This module imports neither paper's figures: they import it.

The backend is the caller's: in a Jupyter kernel (JupyterLab, or papermill's headless runs) it is the
inline backend, so a notebook shows its figure with ``display(fig)``; ``greenaolo plot`` uses Agg.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import seaborn as sns
import xarray as xr

from greenaolo import io

__all__ = ["FIGSIZE", "METHOD_COLORS", "REGISTRY", "SCREEN_DPI", "dc_color", "new_figure", "register", "save_figure", "set_theme"]

#: Full text width of a two-column IEEE paper (7.16 in) by a third of it in height.
FIGSIZE = (7.16, 2.6)
DPI = 200
#: Pixels per inch of a figure shown on screen (the explorers' images): FIGSIZE is 716 pixels wide.
SCREEN_DPI = 100
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
    "TD3": _palette[6],
    "DDPG": (0.30, 0.30, 0.30),  # a dark grey of its own (the palette's grey is the lexicographic orders')
    "PPO": (0.0, 0.40, 0.40),  # a dark teal of its own (the palette's green is M2's)
    # The spiking TD3 and DDPG: their twin's hue, deeper (TD3's pale pink) or bluer (DDPG's grey has no hue).
    "PopSAN-TD3": (0.72, 0.25, 0.58),
    "PopSAN-DDPG": (0.42, 0.45, 0.75),
    "oracle": (0.0, 0.0, 0.0),
    "random": _palette[5],
    "heuristic": _palette[8],
}

def dc_color(index: int) -> tuple[float, float, float]:
    """The colour of the ``index``-th data centre, the same in every figure (tab10: ten distinct colours)."""
    return tuple(plt.get_cmap("tab10")(int(index) % 10)[:3])


#: Figure functions by the name a dataset's ``figure`` attribute gives (:func:`register` fills it;
#: :func:`greenaolo.figures.draw` reads it).
REGISTRY: dict[str, Callable[[xr.Dataset], plt.Figure]] = {}
#: What a figure file records of its dataset's provenance.
FIGURE_PROVENANCE = ("greenaolo_version", "git_commit", "installed_from", "created", "profile", "seeds", "figure")


def set_theme() -> None:
    """The one theme every figure uses."""
    sns.set_theme(context="paper", style="whitegrid", palette=list(METHOD_COLORS.values()), font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": DPI, "savefig.bbox": "tight", "pdf.fonttype": 42})


def new_figure(figsize: tuple[float, float] = FIGSIZE) -> Figure:
    """A figure on its own Agg canvas, outside pyplot (no figure manager, not shown by the inline backend):
    what the explorers draw into, on whatever thread a widget's callback runs (:mod:`greenaolo.explorer`).

    :param figsize: width and height (inches).
    """
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def register(name: str) -> Callable:
    """Decorator: register a figure function under ``name`` (the dataset's ``figure`` attribute)."""

    def wrap(fn: Callable[[xr.Dataset], plt.Figure]) -> Callable[[xr.Dataset], plt.Figure]:
        REGISTRY[name] = fn
        return fn

    return wrap


def save_figure(
    fig: plt.Figure, stem: str, output_dir: str | os.PathLike = "figures", *, provenance: Mapping[str, object] | None = None,
) -> list[Path]:
    """Save ``fig`` as ``output_dir/stem.png`` and ``.pdf`` and close it (so a notebook shows it once, where it
    calls ``display(fig)``).

    The pair is written as a set: each file to a temporary name first, then both renamed, PDF before PNG (the
    PNG is the Makefile's target), so an interrupted save leaves the old pair or nothing new, never a PDF
    without its PNG.

    :param provenance: the dataset's attributes (or :func:`greenaolo.io.provenance`), stored in the PNG's
        text chunks and the PDF's ``Subject``, so a figure file says which code and run made it.
    """
    meta = {k: str(v) for k, v in (provenance or io.provenance()).items() if k in FIGURE_PROVENANCE}
    paths = [Path(output_dir) / f"{stem}.{ext}" for ext in ("pdf", "png")]
    with contextlib.ExitStack() as stack:
        tmps = [stack.enter_context(io.atomic_path(path, commit=False)) for path in paths]
        fig.savefig(tmps[0], format="pdf", metadata={"Creator": f"greenaolo {meta.get('greenaolo_version', '')}",
                                                      "Subject": json.dumps(meta, sort_keys=True)})
        fig.savefig(tmps[1], format="png", metadata=meta)
        for tmp, path in zip(tmps, paths):
            io.commit_path(tmp, path)
    plt.close(fig)
    return paths
