"""The explorers' widgets: controls over a view function, whose figure is redrawn as PNG bytes on every move.

Why it is built this way, not with ``interactive_output`` and ``display(fig)``: with ipykernel >= 7 and
JupyterLab >= 4.4 (its ``commsOverSubshells`` setting, on by default), a widget's callback runs sometimes on
the kernel's main thread and sometimes on a ``subshell-...`` thread. pyplot's figure manager, the inline
backend's queue of figures to show, ``Output`` capture (routed by the message being handled) and matplotlib's
mathtext parser are global state that a second thread corrupts: moved sliders gave transparent images,
half-drawn figures and ``ParseException`` tracebacks (ipympl issues 610 and 622, jupyterlab issue 19719;
plopp's pull request 597 documents the same workarounds). So an :class:`Explorer`

- draws with matplotlib's object API: the draw functions build a :class:`matplotlib.figure.Figure` on an
  Agg canvas (:func:`greenaolo.plotting.new_figure`), never registered with pyplot, rendered here to PNG
  bytes and shown by an :class:`ipywidgets.Image` whose ``value`` is set in place (a trait change is one
  comm message, whichever thread sends it);
- shows its text in :class:`ipywidgets.HTML` widgets, never through an ``Output`` widget;
- holds one lock over compute, draw and render, so two moves never draw at once (mathtext, the font cache);
  a move that arrives while another draws waits and then draws the newest setting;
- sets the theme once, when it is built (on the thread that runs the cell), never inside a callback.

It holds whatever the user's JupyterLab settings are (comms on subshells or not), so it needs no
``overrides.json``. ``tests/test_browser.py`` moves the sliders in a real JupyterLab in Chromium and checks
every figure against the same setting drawn alone.
"""

from __future__ import annotations

import html
import io
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from greenaolo.plotting import SCREEN_DPI, set_theme

__all__ = ["Explorer", "render_png"]


def render_png(fig: Figure, dpi: float = SCREEN_DPI) -> bytes:
    """A figure as PNG bytes on a white background, without pyplot (safe on any thread while the caller
    holds the explorer's lock).

    :param fig: a figure built by :func:`greenaolo.plotting.new_figure`.
    :param dpi: pixels per inch of the image.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white", metadata={"Software": None})
    return buffer.getvalue()


class Explorer:
    """Controls over ``view``; on every change the view is computed, drawn by ``draw`` and shown as an image,
    with its one-line status and its table.

    :param controls: the widgets by the keyword of ``view`` each sets (``FloatSlider``, ``Dropdown``, ...).
    :param view: computes a view (an :class:`xarray.Dataset` with a ``status`` attribute) from the controls'
        values, given as keywords.
    :param draw: draws a view into a :class:`matplotlib.figure.Figure` (object API, no pyplot).
    :param table: the view as a table (shown under the figure), or ``None``.
    :param layout: arranges the controls (a widget holding them); default one column.
    """

    def __init__(
        self,
        controls: Mapping[str, Any],
        view: Callable[..., Any],
        draw: Callable[[Any], Figure],
        table: Callable[[Any], pd.DataFrame] | None = None,
        *,
        layout: Any = None,
    ) -> None:
        import ipywidgets as widgets

        set_theme()
        self.controls = dict(controls)
        self._view, self._draw, self._table = view, draw, table
        self._lock = threading.RLock()
        self.image = widgets.Image(format="png", layout={"max_width": "100%"})
        self.status = widgets.HTML()
        self.details = widgets.HTML()
        box = layout if layout is not None else widgets.VBox(list(self.controls.values()))
        self.widget = widgets.VBox([box, self.status, self.image, self.details])
        self.widget.add_class("greenaolo-explorer")
        for control in self.controls.values():
            control.observe(self._changed, names="value")
        self.update()

    def values(self) -> dict[str, Any]:
        """The controls' current values, by keyword."""
        return {name: control.value for name, control in self.controls.items()}

    def render(self, values: Mapping[str, Any]) -> tuple[Any, bytes]:
        """The view at ``values`` and its figure as PNG bytes (what :meth:`update` shows), under the lock."""
        with self._lock:
            result = self._view(**values)
            return result, render_png(self._draw(result))

    def update(self) -> None:
        """Compute, draw and show the controls' current setting; a move that arrives meanwhile is drawn next,
        and an older setting is never shown over a newer one (all of it under the lock)."""
        with self._lock:
            while True:
                values = self.values()
                try:
                    result, png = self.render(values)
                except Exception as err:  # noqa: BLE001 - shown in one line in the page, as the views' messages are
                    self.status.value = (f'<span style="color:firebrick">{html.escape(type(err).__name__)}: '
                                         f'{html.escape(str(err))}</span>')
                    return
                if values == self.values():
                    break
            self.image.value = png
            setting = html.escape(json.dumps(values, sort_keys=True), quote=True)
            thread = html.escape(threading.current_thread().name, quote=True)  # main or a subshell's: tests read it
            self.status.value = (f'<span class="greenaolo-status" data-setting="{setting}" data-thread="{thread}">'
                                 f'{html.escape(result.attrs["status"])}</span>')
            if self._table is not None:
                self.details.value = self._table(result).to_html(border=0, classes="greenaolo-table")

    def _changed(self, change: Mapping[str, Any]) -> None:
        self.update()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def static(self) -> tuple[Any, ...]:
        """The current setting as plain outputs, its status line, its PNG image and its table
        (``display(*explorer.static())``), so a page read without a kernel (the report) shows them."""
        from IPython.display import Image, Pretty

        result, png = self.render(self.values())
        table = (self._table(result),) if self._table is not None else ()
        return (Pretty(result.attrs["status"]), Image(data=png, format="png"), *table)
