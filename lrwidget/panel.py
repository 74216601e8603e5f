"""A plot panel: a bqplot figure with an x and a y scale, and the drawing rules every panel keeps.

:class:`PlotPanel` is what the loss-vs-LR chart (:mod:`lrwidget.figure`) and the trials'
loss-vs-step panel (:mod:`lrwidget.trials_live`) are drawn in. It owns the figure, its two
scales and axes, and the rules of drawing a line into it: long lines thinned for display
(the full data stays in Python), a line with no finite point drawn as no line at all, a
running line's NaN tail kept out of the SVG, the loss window's tick format, and the toolbar's
zoom reset kept in line with the kernel. It decides nothing about picks: a panel's owner
wires its marks' events.
"""

from __future__ import annotations

import math
import threading

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from .sync import hold_sync, set_array

MAX_DISPLAY_POINTS = 2000  # per line; the full data stays in Python
LEGEND_STYLE = {
    "fill": "var(--jp-layout-color1, white)",
    "fill-opacity": 0.9,
    "stroke": "var(--jp-border-color1, #bdbdbd)",
}
# Left: room for the loss ticks; right: for "1e+1"; top: bqplot's toolbar (shown on hover,
# 28 px tall, from half the top margin down) stays above the plot, off labels and the legend.
MARGIN = {"top": 58, "bottom": 45, "left": 66, "right": 40}


def thin_index(n: int, limit: int = MAX_DISPLAY_POINTS) -> np.ndarray:
    """At most ``limit`` indices spread evenly over ``range(n)``, first and last included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def loss_format(lo: float, hi: float) -> str:
    """The y axis' tick format for a loss window: fixed point with the digits a tenth of the
    window needs (".2~f" for 1.2 .. 1.5), SI prefixes for huge losses."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return ".3~g"
    if max(abs(lo), abs(hi)) >= 1e5:
        return ".3~s"
    return f".{min(max(0, -math.floor(math.log10(span / 10))), 6)}~f"


def draw_line(line: bq.Lines, x, y, limit: int = MAX_DISPLAY_POINTS):
    """Draw ``y`` against ``x`` into ``line``, thinned to ``limit`` points (NaN: a gap).

    A line with no finite point has no path: bqplot would write ``d="null"`` and put its label
    at an undefined height. Nothing is drawn instead."""
    idx = thin_index(len(x), limit)
    x = np.asarray(x, dtype=np.float64)[idx]
    y = np.asarray(y, dtype=np.float32)[idx]
    drawn = (x, y) if np.isfinite(y).any() else (np.zeros(0), np.zeros(0, np.float32))
    with line.hold_sync():
        set_array(line, "x", drawn[0])
        set_array(line, "y", drawn[1])


def partial(values, n: int, planned: int) -> np.ndarray:
    """A running line's ``n`` values so far spread over the whole plan (``planned`` points; NaN:
    not yet), so that the x grid goes out once. bqplot places each line's (hidden) label at its
    last point, where NaN is an invalid SVG transform: the last point repeats the newest value
    instead, a lone point with no segment to draw."""
    full = np.full(planned, np.nan)
    full[:n] = np.asarray(values, dtype=np.float64)[:n]
    if 0 < n < planned:
        full[-1] = full[n - 1]
    return full


class PlotPanel:
    """A figure with an x scale (log or linear), a loss scale, their axes and the zoom reset.

    Parameters
    ----------
    x_scale : bqplot.Scale
        The x scale (the LR chart's log scale, a step panel's linear one).
    x_label, y_label : str
        The axes' titles.
    lock : threading.RLock
        Held while the toolbar's reset puts the scales back.
    css_class : str
        The figure's CSS class (the browser tests find it by that).
    height : str
        The figure's CSS height.
    x_tick_format : str, optional
        The x axis' d3 tick format.
    """

    def __init__(
        self,
        *,
        x_scale: bq.Scale,
        x_label: str,
        y_label: str,
        lock: threading.RLock,
        css_class: str,
        height: str = "380px",
        x_tick_format: str | None = None,
    ):
        self.lock = lock
        self.x_scale = x_scale
        self.y_scale = bq.LinearScale()
        self.home_x: tuple[float, float] | None = None  # where the toolbar's reset goes back to
        self.x_axis = bq.Axis(scale=x_scale, label=x_label)
        if x_tick_format is not None:
            self.x_axis.tick_format = x_tick_format
        # No fixed format: d3 picks the digits the tick spacing needs (no repeated ticks).
        self.y_axis = bq.Axis(
            scale=self.y_scale, orientation="vertical", label=y_label, label_offset="48px"
        )
        self.figure = bq.Figure(
            marks=[],
            axes=[self.x_axis, self.y_axis],
            animation_duration=0,
            legend_location="top-right",
            legend_style=LEGEND_STYLE,
            fig_margin=dict(MARGIN),
            # "auto", not "100%": the figure's 2 px margins then stay inside the output area.
            layout=widgets.Layout(width="auto", height=height),
        )
        self.figure.add_class(css_class)
        self.figure.observe(ZoomReset(self).on_interaction, "interaction")

    @property
    def xy(self) -> dict:
        """The scales of a data mark."""
        return {"x": self.x_scale, "y": self.y_scale}

    @property
    def panning(self) -> bool:
        """True while the toolbar's pan/zoom is on: clicks and drags move the view then."""
        return isinstance(self.figure.interaction, bq.PanZoom)

    def set_marks(self, marks: list[bq.Mark]):
        """Show these marks, in this drawing order (sent only when it changed)."""
        if self.figure.marks != marks:
            self.figure.marks = marks

    def show_x(self, lo: float, hi: float):
        """Show this range on the x axis."""
        with self.x_scale.hold_sync():
            self.x_scale.min, self.x_scale.max = float(lo), float(hi)

    def set_y_window(self, window: tuple[float, float] | None):
        """Show this loss range on the y axis (None: leave it), its ticks with as many digits
        as their spacing needs (never d3's "2.3528e+0", which runs into the axis label)."""
        if window is None:
            return
        with hold_sync(self.y_scale, self.y_axis):
            self.y_scale.min, self.y_scale.max = window
            self.y_axis.tick_format = loss_format(*window)


class ZoomReset:
    """Keeps bqplot's toolbar in line with the kernel (:meth:`on_interaction`)."""

    def __init__(self, panel: PlotPanel):
        self.panel = panel
        self._homes: dict[str, list] = {}  # PanZoom model id -> the scales' home

    def on_interaction(self, change):
        """bqplot's toolbar: its PanZoom button makes a PanZoom in the browser that lists every
        mark's scales (the shared x scale once per mark, which multiplies a wheel notch's zoom,
        and a [0, 1] scale too); it gets the two data scales, once each. Its Reset puts the
        scales back in the browser only and closes the PanZoom: the kernel's scales then go
        back too, or they would keep the zoomed range."""
        pz = change["new"]
        if not isinstance(pz, bq.PanZoom) or pz.comm is None:
            return
        key = pz.model_id
        if key not in self._homes:  # when the browser took its snapshot
            self._homes[key] = [(s, s.min, s.max) for s in (self.panel.x_scale, self.panel.y_scale)]
            pz.observe(self._one_scale_each, "scales")  # the browser may send them after this
            pz.comm.on_close(lambda _msg: self._reset(self._homes.pop(key, [])))
        self._one_scale_each({"owner": pz})

    def _one_scale_each(self, change):
        scales = {"x": [self.panel.x_scale], "y": [self.panel.y_scale]}
        if change["owner"].scales != scales:
            change["owner"].scales = scales

    def _reset(self, home):
        with self.panel.lock:
            for scale, lo, hi in home:
                if scale is self.panel.x_scale and self.panel.home_x is not None:
                    lo, hi = self.panel.home_x  # the x home, also if it changed meanwhile
                if (scale.min, scale.max) == (lo, hi):
                    scale.send_state(["min", "max"])  # the browser may hold other values
                else:
                    with scale.hold_sync():
                        scale.min, scale.max = lo, hi
