"""The loss-vs-LR chart and the ways to pick a learning rate on it (no Keras, no threads).

:class:`LRChart` draws one or more sweeps (raw loss faint, smoothed loss bold, the candidate
LRs as diamonds, the suggestion as a gold circle) and owns the values every way of picking
ends in: ``selected_lr`` and ``selected_range``.
:func:`show` draws saved sweeps with it; :class:`lrwidget.LRFinderWidget` holds one and feeds
it a live sweep (:meth:`LRChart.draw_live` may run in the sweep's thread: it writes only
what the front end never writes; everything else runs in the kernel's thread).

Hooks for browser tests
-----------------------
The bqplot figure has the CSS class ``lrwidget-figure``. With ``n`` sweeps shown,
``figure.marks`` is, in drawing order::

    [0]          click catcher: invisible Scatter, interactions={"click": "add"}
    [1 .. n]     raw loss Lines, one per sweep (faint)
    [n+1 .. 2n]  smoothed loss Lines, one per sweep (bold, legend when n > 1)
    [2n+1]       hover readout: invisible Scatter along the smoothed curves, tooltip LR / smoothed
                 loss / raw loss (a click on it picks like a click on the plot)
    [2n+2]       picked range: a shaded strip along the bottom (filled Lines), hidden without one
    [2n+3]       picked range: its two edges, dashed, full height (a filled band over the whole
                 plot would take the clicks meant for the plot)
    [-5]         suggestion: a circle per sweep labelled "suggested", kept whatever is picked
    [-4]         range handles: Scatter with two triangles at the bottom, draggable along x
    [-3]         candidates: Scatter of diamonds, one point per candidate, tooltip LR/loss
    [-2]         selection rule: vertical dashed Lines at selected_lr
    [-1]         handle: Scatter with one triangle at the top, draggable along x,
                 labelled with the selected LR (e.g. "3.2e-02")

bqplot 0.13 gives the marks' SVG groups no class of their own: they are the ``g`` children of
``svg.svg-figure > g > g:first-of-type``, in this order, followed by a ``g.g_legend``. So the
candidates are the third-last of them (points: ``g.object_grp``) and the handle the last one
(see js/support/chart.ts). The x scale sets ``allow_padding=False``: the x axis spans exactly the
swept range. Candidates and the handle share the figure's log x scale; the rule and handle use
a private [0, 1] y scale, so they do not move when the loss range changes.

Picking: a click on a candidate selects it; a click anywhere else in the plot area selects the
nearest candidate in log space (or the exact LR with ``snap=False``); dragging the handle moves
the LR and snaps on release; the candidate dropdown and the log slider under the chart stay in
sync. Values from the front end that are not finite or not positive are refused (the chart
goes back to the current selection), values outside the swept range are clamped, and what a
front end writes into the rule, the handle (outside a drag) or the slider's bounds is put back.
"""

from __future__ import annotations

import html
import math
import numbers
import re
import threading
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from pathlib import Path

import bqplot as bq
import ipywidgets as widgets
import numpy as np
from traitlets import Bool, Float, TraitError, TraitType, observe, validate

from .analysis import Candidate
from .notebook import NotebookDisplay, enable_colab_widgets

MAX_DISPLAY_POINTS = 2000  # per series; the full data stays in Python
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
SELECTION_COLOR = "crimson"
SUGGESTION_COLOR = "#f2b01e"  # gold: apart from every series colour, on light and dark themes
RANGE_COLOR = "#7f7f7f"
HANDLE_Y = 0.94  # where the handle sits on the rule, as a fraction of the plot height
RANGE_Y = 0.04  # where the range handles sit, near the bottom
RANGE_STRIP = 0.08  # the range's shaded strip: from the bottom up to this fraction


def format_lr(lr: float | None) -> str:
    """The label of an LR: two significant digits, written as the chart's axis and tooltips
    write it (d3's ``.1e``), e.g. ``3.2e-2`` (``-`` for None)."""
    if lr is None:
        return "-"
    mantissa, exponent = f"{lr:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def log_ticks(lo, hi, most: int = 7) -> list[float]:
    """At most ``most`` x ticks from ``lo`` to ``hi``, few enough to read on a 600 px notebook
    (d3 puts 15 on a five-decade sweep, and they run into each other): powers of ten (every
    k-th on a very wide range), else 1-2-5 or 1-3 steps, else evenly spaced round values
    (zoomed in). Empty when there is no range: the axis then picks its own."""
    if lo is None or hi is None or not (0 < lo < hi < math.inf):
        return []
    first, last = math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9)
    if last - first + 1 >= 3:
        k = math.ceil((last - first + 1) / most)
        return [10.0**e for e in range(first, last + 1) if e % k == 0]
    for mantissas in ((1, 2, 5), (1, 3)):
        ticks = [m * 10.0**e for e in range(first - 1, last + 1) for m in mantissas]
        ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if 3 <= len(ticks) <= most:
            return ticks
    span = math.floor(math.log10(hi - lo))
    for step in sorted(m * 10.0**e for e in range(span - 2, span + 1) for m in (1, 2, 5)):
        ticks = [i * step for i in range(math.ceil(lo / step), math.floor(hi / step) + 1)]
        if len(ticks) <= most:
            return ticks
    return []


def thin_index(n: int, limit: int = MAX_DISPLAY_POINTS) -> np.ndarray:
    """At most ``limit`` indices spread evenly over ``range(n)``, first and last included."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, limit).round().astype(int))


def y_window(smoothed, raw=None) -> tuple[float, float] | None:
    """The loss range worth looking at: from the lowest loss to a bit above the level the
    curve falls from (its highest smoothed point before the minimum). What rises above it
    later, the blow-up at high LRs, is clipped instead of squashing the valley flat; the
    bottom leaves room for the raw losses around the minimum (all but the lowest 1 %)."""
    s = np.asarray(smoothed, dtype=np.float64)
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return None
    low = int(np.argmin(s))
    bottom, top = float(s[low]), float(s[: low + 1].max())
    if raw is not None:
        r = np.asarray(raw, dtype=np.float64)
        r = r[np.isfinite(r)]
        if len(r):
            bottom = min(bottom, float(np.percentile(r, 1)))
    span = top - bottom or abs(top) * 0.1 or 1.0
    return bottom - 0.1 * span, top + 0.15 * span


@contextmanager
def held(*ws):
    """Hold the sync of several widgets: each sends one message with all its changes."""
    with ExitStack() as stack:
        for w in ws:
            stack.enter_context(w.hold_sync())
        yield


def _set_array(mark, name, value):
    """Assign an array trait only when it changed (an equal array must not go over the wire)."""
    old = getattr(mark, name)
    same = (
        old is not None
        and (old.dtype, old.shape) == (value.dtype, value.shape)
        and np.array_equal(old, value, equal_nan=True)
    )
    if not same:
        setattr(mark, name, value)


class LearningRate(Float):
    """A learning rate: any real number but a bool (``True`` is no LR), stored as a float."""

    info_text = "a learning rate (a real number, not a bool)"

    def validate(self, obj, value):
        if isinstance(value, bool | np.bool_):
            raise TraitError(f"{self.name} must be a number, not the bool {value!r}")
        if isinstance(value, numbers.Real):
            value = float(value)  # numpy scalars too
        return super().validate(obj, value)


class LearningRateRange(TraitType):
    """A range of learning rates ``(low, high)`` with ``0 < low < high``, both finite."""

    info_text = "a (low, high) pair of learning rates with 0 < low < high"

    def validate(self, obj, value):
        if not isinstance(value, list | tuple) or len(value) != 2:
            self.error(obj, value)
        low, high = (_to_float(v) for v in value)
        if not all(math.isfinite(v) and v > 0 for v in (low, high)) or not low < high:
            raise TraitError(
                f"{self.name} must be (low, high) with 0 < low < high, both finite; got {value!r}"
            )
        return (low, high)


class _FrontEndWrites:
    """Mixin for a mark lrwidget draws itself: after every write from the front end, good or
    bad, even one the library failed to apply or echo, ``after_front_end(mark)`` runs."""

    after_front_end = None

    def set_state(self, sync_data):
        try:
            super().set_state(sync_data)
        finally:
            if self.after_front_end is not None:
                self.after_front_end(self)


class _OwnScatter(_FrontEndWrites, bq.Scatter):
    pass


class _OwnLines(_FrontEndWrites, bq.Lines):
    pass


class LRChart(NotebookDisplay, widgets.VBox):
    """An interactive loss-vs-LR chart of saved sweeps, with picking.

    Parameters
    ----------
    results : SweepResult or list of SweepResult
        The sweeps to draw, overlaid (e.g. two batch sizes); may be empty.
    labels : list of str, optional
        Legend names, one per result (default: "batch N" from the metadata, or "sweep i").
    snap : bool
        Initial value of the ``snap`` trait.
    selected_lr : float, optional
        Initial selection (default: the first result's suggestion).
    """

    selected_lr = LearningRate(
        None,
        allow_none=True,
        help="The chosen learning rate: set by clicking, dragging, the dropdown or the slider, "
        "or from Python. Must be finite and > 0; clamped into the swept range. None: nothing "
        "chosen yet.",
    )
    selected_range = LearningRateRange(
        None,
        allow_none=True,
        help="A picked LR range (low, high), e.g. the bounds of a one-cycle or cyclical "
        "schedule: drag the two triangles at the bottom ('pick a range' on). Clamped into the "
        "swept range, snapped to candidates like selected_lr. None: no range picked.",
    )
    snap = Bool(
        True,
        help="Snap picks on the plot (click anywhere, end of a drag) to the nearest candidate "
        "minimum, nearest on the log scale. Off: take the exact LR under the pointer.",
    )

    def __init__(self, results=(), labels=None, *, snap=True, selected_lr=None, **kwargs):
        enable_colab_widgets()
        self._lock = threading.RLock()
        self._syncing = False  # True while we push the selection out to the controls
        # The LR a drag in progress has set; while it is the selection, the handle is the user's.
        self._drag_lr: float | None = None
        self._range_drag: tuple[float, float] | None = None  # the same, for the range handles
        self._range: tuple[float, float] | None = None
        self._candidates: list[Candidate] = []  # sorted by LR
        self._shown: list[tuple[Candidate, int]] = []  # what the candidate mark shows
        self._results: list = []
        self._labels: list[str] = []  # one per result: the legend's names
        # What the status line says; the finder that holds this chart puts its own here.
        self.status_parts: Callable[[], list[str]] = self.default_status_parts
        # Called when a sweep is drawn or the user saves the image: the widget shown in the
        # notebook redraws its static picture (the finder, when it holds this). Not on every
        # pick: JupyterLab rebuilds a widget's views on each update of its output, which
        # loses the keyboard focus and leaves bqplot's tooltips behind.
        self.picture_changed: Callable[[], None] = self.refresh_static
        self._build_figure()
        self._build_controls()
        super().__init__(children=self._layout_children(), **kwargs)
        self.add_class("lrwidget")
        self.snap = snap
        if results is not None and not isinstance(results, list | tuple):
            results = [results]
        if results:
            self.set_results(results, labels)
        if selected_lr is not None:
            self.selected_lr = selected_lr

    # --- construction --------------------------------------------------------------------
    def _build_figure(self):
        # No padding: the x axis spans exactly the swept range (a scale's setting in bqplot 0.12
        # and 0.13; given to a mark it is silently ignored).
        self.x_scale = bq.LogScale(allow_padding=False)
        self.y_scale = bq.LinearScale()
        unit = bq.LinearScale(min=0.0, max=1.0)
        self._catcher = _OwnScatter(
            x=[],
            y=[],
            scales={"x": self.x_scale, "y": unit},
            interactions={"click": "add"},
            opacities=[0.0],
            default_size=1,
        )
        self._catcher.after_front_end = self._on_catcher_click
        self._cand_mark = bq.Scatter(
            x=[],
            y=[],
            scales={"x": self.x_scale, "y": self.y_scale},
            marker="diamond",
            default_size=110,
            # A white rim sets the diamonds off the line they sit on, on light and dark themes.
            stroke="white",
            stroke_width=1.5,
            colors=[COLORS[0]],
            tooltip=bq.Tooltip(fields=["x", "y"], formats=[".1e", ".4g"], labels=["LR", "loss"]),
        )
        self._cand_mark.on_element_click(self._on_candidate_click)
        self._rule = _OwnLines(
            x=[1.0, 1.0],
            y=[0.0, 1.0],
            scales={"x": self.x_scale, "y": unit},
            colors=[SELECTION_COLOR],
            line_style="dashed",
            visible=False,
        )
        self._handle = _OwnScatter(
            x=[1.0],
            y=[HANDLE_Y],
            scales={"x": self.x_scale, "y": unit},
            marker="triangle-down",
            default_size=160,
            colors=[SELECTION_COLOR],
            enable_move=True,
            restrict_x=True,
            names=[""],
            display_names=True,
            visible=False,
            interactions={},
        )
        self._handle.on_drag(self._on_drag)
        self._handle.on_drag_end(self._on_drag_end)
        xy = {"x": self.x_scale, "y": self.y_scale}
        self._hover = bq.Scatter(
            x=[],
            y=[],
            names=[],
            scales=xy,
            default_size=64,
            opacities=[0.0],
            display_names=False,
            tooltip=bq.Tooltip(
                fields=["x", "y", "name"],
                formats=[".1e", ".4g", ""],
                labels=["LR", "smoothed loss", "raw loss"],
            ),
        )
        self._hover.on_element_click(self._on_hover_click)
        self._suggest_mark = bq.Scatter(
            x=[],
            y=[],
            names=[],
            scales=xy,
            marker="circle",
            default_size=120,
            colors=[SUGGESTION_COLOR],
            stroke="#333333",
            display_names=True,
            tooltip=bq.Tooltip(
                fields=["x", "y"], formats=[".1e", ".4g"], labels=["suggested LR", "loss"]
            ),
        )
        self._suggest_mark.on_element_click(self._on_suggestion_click)
        self._band_edges = _OwnLines(
            x=[[1.0, 1.0], [1.0, 1.0]],
            y=[[0.0, 1.0], [0.0, 1.0]],
            scales={"x": self.x_scale, "y": unit},
            colors=[RANGE_COLOR],
            line_style="dashed",
            stroke_width=1,
            visible=False,
        )
        self._band = _OwnLines(
            x=[1.0, 1.0, 1.0, 1.0],
            y=[0.0, RANGE_STRIP, RANGE_STRIP, 0.0],
            scales={"x": self.x_scale, "y": unit},
            fill="inside",
            fill_colors=[RANGE_COLOR],
            fill_opacities=[0.18],
            colors=[RANGE_COLOR],
            stroke_width=0,
            visible=False,
        )
        self._range_handles = _OwnScatter(
            x=[1.0, 1.0],
            y=[RANGE_Y, RANGE_Y],
            scales={"x": self.x_scale, "y": unit},
            marker="triangle-up",
            default_size=140,
            colors=[RANGE_COLOR],
            enable_move=True,
            restrict_x=True,
            names=["", ""],
            display_names=True,
            visible=False,
            interactions={},
        )
        self._range_handles.on_drag(self._on_range_drag)
        self._range_handles.on_drag_end(self._on_range_drag_end)
        self._band.after_front_end = self._on_foreign_write
        self._band_edges.after_front_end = self._on_foreign_write
        self._range_handles.after_front_end = self._on_foreign_write
        # Only _draw_selection draws these: what a front end writes into them is put back.
        self._rule.after_front_end = self._on_foreign_write
        self._handle.after_front_end = self._on_foreign_write
        self._lines: list[tuple[bq.Lines, bq.Lines]] = []
        axes = [
            # "~": no trailing zeros, so a zoomed-in axis still tells 3e-2 from 3.5e-2.
            bq.Axis(scale=self.x_scale, label="learning rate", tick_format=".2~e"),
            # No fixed format: d3 picks the digits the tick spacing needs (no repeated ticks).
            bq.Axis(scale=self.y_scale, orientation="vertical", label="loss", label_offset="48px"),
        ]
        self._x_axis = axes[0]  # ours to draw ticks on, whatever a front end writes to axes
        self.figure = bq.Figure(
            marks=[],
            axes=axes,
            animation_duration=0,
            legend_location="top-right",
            legend_style={
                "fill": "var(--jp-layout-color1, white)",
                "fill-opacity": 0.9,
                "stroke": "var(--jp-border-color1, #bdbdbd)",
            },
            fig_margin={"top": 30, "bottom": 45, "left": 66, "right": 40},  # room for "1e+1"
            # "auto", not "100%": stretched to the box, its 2 px margins inside it (100 % and
            # margins stuck out 4 px past the output area).
            layout=widgets.Layout(width="auto", height="380px"),
        )
        self.figure.add_class("lrwidget-figure")
        # The x ticks follow the range shown: set from Python, or zoomed in the browser.
        self.x_scale.observe(self._draw_x_ticks, ["min", "max"])
        self.figure.observe(self._on_interaction, "interaction")  # the toolbar's PanZoom
        self._set_series_count(1)

    def _on_interaction(self, change):
        """bqplot's toolbar: its PanZoom button makes a PanZoom in the browser that lists every
        mark's scales (the shared x scale once per mark: a wheel notch zoomed ten times over,
        and the rule's [0, 1] scale too); it gets the two data scales, once each. Its Reset
        puts the scales back in the browser only (``set_state``, never synced) and closes the
        PanZoom: then the kernel's scales go back too, or they would keep the zoomed range."""
        pz = change["new"]
        if not isinstance(pz, bq.PanZoom) or pz.comm is None:
            return
        if getattr(pz, "_lrwidget_home", None) is None:  # when the browser took its snapshot
            pz._lrwidget_home = [(s, s.min, s.max) for s in (self.x_scale, self.y_scale)]
            pz.observe(self._one_scale_each, "scales")  # the browser may send them after this
            pz.comm.on_close(lambda _msg: self._zoom_reset(pz._lrwidget_home))
        self._one_scale_each({"owner": pz})

    def _one_scale_each(self, change):
        scales = {"x": [self.x_scale], "y": [self.y_scale]}
        if change["owner"].scales != scales:
            change["owner"].scales = scales

    def _zoom_reset(self, home):
        with self._lock:
            for scale, lo, hi in home:
                if scale is self.x_scale and self._range is not None:
                    lo, hi = self._range  # the swept range, also if it changed meanwhile
                if (scale.min, scale.max) == (lo, hi):
                    scale.send_state(["min", "max"])  # the browser may hold other values
                else:
                    with scale.hold_sync():
                        scale.min, scale.max = lo, hi

    def _draw_x_ticks(self, change=None):
        ticks = log_ticks(self.x_scale.min, self.x_scale.max)
        # As many digits as it takes for no two labels to read the same (deep zooms).
        distinct = (d for d in range(2, 12) if len({f"{t:.{d}e}" for t in ticks}) == len(ticks))
        digits = next(distinct, 12)
        axis = self._x_axis
        with axis.hold_sync():
            _set_array(axis, "tick_values", np.array(ticks, dtype=np.float64))
            axis.tick_format = f".{digits}~e"

    def _build_controls(self):
        self._snap_box = widgets.Checkbox(description="snap to candidates", indent=False)
        widgets.link((self, "snap"), (self._snap_box, "value"))
        self._range_box = widgets.Checkbox(description="pick a range", indent=False)
        self._range_box.layout = widgets.Layout(width="auto")
        self._range_box.observe(self._on_range_box, "value")
        self._save_button = widgets.Button(
            description="Save image", icon="download", layout=widgets.Layout(width="auto")
        )
        self._save_button.add_class("lrwidget-save")
        self._save_button.on_click(self._on_save)
        self._chooser = widgets.Dropdown(description="candidate", options=[], value=None)
        self._chooser.observe(self._on_chooser, "value")
        self._slider = widgets.FloatLogSlider(
            description="LR",
            min=-7,
            max=1,
            step=0.01,
            value=1e-3,
            readout_format=".1e",
            continuous_update=False,
            disabled=True,  # until there is a range to pick in
            readout=False,  # until something is selected: 1e-3 here would be no one's choice
            layout=widgets.Layout(flex="1 1 300px", min_width="220px", max_width="480px"),
        )
        self._slider.observe(self._on_slider, "value")
        self._slider.observe(self._on_foreign_write, ["min", "max", "base"])
        self._snap_box.layout = widgets.Layout(width="auto")
        self._chooser.layout = widgets.Layout(flex="0 1 auto", min_width="200px")
        # HTML, not Label: a long message (an error's cause, a fix to type) wraps, not clips.
        self.status = widgets.HTML(layout=widgets.Layout(width="auto"))  # stretched, as the chart
        self.status.add_class("lrwidget-status")
        self.set_status("no sweep yet")

    def set_status(self, text: str, detail: str | None = None):
        """Show ``text`` in the status line (wrapped; ``detail`` on hover)."""
        title = "" if detail is None else f' title="{html.escape(detail)}"'
        self.status.value = (
            f'<div style="white-space: normal; line-height: 1.4"{title}>{html.escape(text)}</div>'
        )

    @property
    def status_text(self) -> str:
        """What the status line says, as plain text."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.status.value))

    def _layout_children(self):
        # Wraps on a narrow notebook instead of squeezing the slider to its knob.
        picking = widgets.HBox(
            [self._chooser, self._slider, self._snap_box, self._range_box, self._save_button],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        return [self.figure, picking, self.status]

    def _set_series_count(self, n: int):
        """Make sure there are ``n`` raw/smoothed line pairs, and put the marks in order."""
        while len(self._lines) < n:
            color = COLORS[len(self._lines) % len(COLORS)]
            scales = {"x": self.x_scale, "y": self.y_scale}
            # Faint by its 1 px, not by much transparency: at 0.85 the first colour, blended
            # into the plot, still contrasts 3:1 with white and with JupyterLab Dark's #111
            # (at 0.45: 1.9:1 and 1.7:1, all but lost in the dark theme).
            raw = bq.Lines(
                x=[], y=[], scales=scales, colors=[color], opacities=[0.85], stroke_width=1
            )
            smooth = bq.Lines(x=[], y=[], scales=scales, colors=[color], stroke_width=2.5)
            self._lines.append((raw, smooth))
        del self._lines[n:]
        for _, smooth in self._lines:
            smooth.display_legend = n > 1
        raws = [raw for raw, _ in self._lines]
        smooths = [smooth for _, smooth in self._lines]
        marks = [
            self._catcher,
            *raws,
            *smooths,
            self._hover,
            self._band,
            self._band_edges,
            self._suggest_mark,
            self._range_handles,
            self._cand_mark,
            self._rule,
            self._handle,
        ]
        if self.figure.marks != marks:
            self.figure.marks = marks

    # --- drawing -------------------------------------------------------------------------
    def set_results(
        self, results, labels=None, *, keep_selection: bool = False, picture: bool = True
    ):
        """Draw these sweeps (replacing what is shown) and pre-select the first suggestion,
        unless ``keep_selection`` and something is selected already (then it is only clamped
        into the new range). ``picture=False`` leaves redrawing the static picture (slow: it
        is matplotlib) to the caller."""
        results = list(results)
        if labels is None:
            labels = [_default_label(r, i, len(results)) for i, r in enumerate(results)]
        if len(labels) != len(results):
            raise ValueError(f"got {len(labels)} labels for {len(results)} results")
        with self._lock:
            self._results = results
            self._labels = [str(label) for label in labels]
            self._set_series_count(max(1, len(results)))
            for i, r in enumerate(results):
                self._draw_curve(i, r.lrs, r.losses, r.smoothed)
                self._lines[i][1].labels = [str(labels[i])]
            lrs = [r.lrs for r in results if len(r)]
            if lrs:
                self._set_range(min(a.min() for a in lrs), max(a.max() for a in lrs))
            windows = [y_window(r.smoothed[: r.useful], r.losses[: r.useful]) for r in results]
            self._set_y_window([w for w in windows if w is not None])
            self._set_candidates([(c, i) for i, r in enumerate(results) for c in r.candidates])
            self._draw_suggestions_and_readout(results)
            suggestion = results[0].suggestion if results else None
            if suggestion is not None and not (keep_selection and self.selected_lr is not None):
                self.selected_lr = suggestion
            self._draw_selection()
        if picture:
            self.picture_changed()

    @property
    def results(self) -> list:
        """The sweeps shown (a copy)."""
        return list(self._results)

    def show_range(self, lo: float, hi: float):
        """Show this LR range on the x axis before there is any data (kernel thread)."""
        with self.x_scale.hold_sync():
            self.x_scale.min, self.x_scale.max = float(lo), float(hi)

    def begin_live(self, lrs):
        """Make ready for a live sweep over ``lrs``: no sweep shown, no pick (kernel thread)."""
        with self._lock:
            self._results, self._labels = [], []
            self._set_series_count(1)
            self._lines[0][1].labels = ["sweep"]
            self._set_range(lrs[0], lrs[-1])
            self._draw_suggestions_and_readout([])
            # A pick on the last curve means nothing on this one.
            self.selected_lr = None
            self.selected_range = None
            self._draw_selection()

    def draw_live(self, live):
        """Draw a running sweep's curve and candidates so far, and return the snapshot read.

        Called from the sweep's thread: it writes data marks only, which the front end never
        writes; :meth:`refresh_live` does the rest in the kernel's thread.
        """
        so_far = live.snapshot()
        with self._lock:
            self._set_candidates([(c, 0) for c in so_far.candidates])
            n = live.n
            if n == 0:
                return so_far
            raw = live.losses.copy()
            smoothed = np.full(len(live.lrs), np.nan)
            smoothed[:n] = so_far.smoothed
            # The arrays span the whole plan (the LR grid goes out once) and NaN is a gap. But
            # bqplot places each line's (hidden) label at its last point, and a NaN there is an
            # invalid SVG transform: the last point repeats the newest value instead, a lone
            # point with no segment to draw.
            raw[-1], smoothed[-1] = raw[n - 1], smoothed[n - 1]
            self._draw_curve(0, live.lrs, raw, smoothed)
        return so_far

    def refresh_live(self, so_far):
        """The loss window, the dropdown and the selection for a live snapshot (kernel thread)."""
        with self._lock:
            window = y_window(so_far.smoothed[: so_far.useful], so_far.losses[: so_far.useful])
            self._set_y_window([window] if window else [])
            self._draw_selection()

    def _draw_suggestions_and_readout(self, results):
        """The suggestion markers and the hover readout's points, for finished sweeps."""
        sx, sy, names, hx, hy, hnames = [], [], [], [], [], []
        per_series = MAX_DISPLAY_POINTS // max(len(results), 1)
        for i, r in enumerate(results):
            head = r.useful
            if head == 0:
                continue
            lrs, smoothed, raw = r.lrs[:head], r.smoothed[:head], r.losses[:head]
            if r.suggestion is not None:
                sx.append(r.suggestion)
                sy.append(float(np.interp(np.log(r.suggestion), np.log(lrs), smoothed)))
                owner = f" ({self._labels[i]})" if len(results) > 1 else ""
                names.append(f"suggested{owner}")
            idx = thin_index(head, per_series)
            hx.append(lrs[idx])
            hy.append(smoothed[idx])
            hnames += [f"{v:.4g}" for v in raw[idx]]
        with held(self._suggest_mark, self._hover):
            self._suggest_mark.x, self._suggest_mark.y = np.array(sx), np.array(sy)
            self._suggest_mark.names = names
            self._hover.x = np.concatenate(hx) if hx else np.zeros(0)
            self._hover.y = np.concatenate(hy) if hy else np.zeros(0)
            self._hover.names = hnames

    def _draw_curve(self, i, lrs, raw, smoothed):
        """Draw sweep ``i``'s curves, thinned to ``MAX_DISPLAY_POINTS`` (NaN: a gap)."""
        idx = thin_index(len(lrs))
        raw_line, smooth_line = self._lines[i]
        x = np.asarray(lrs, dtype=np.float64)[idx]
        for line, y in ((raw_line, raw), (smooth_line, smoothed)):
            with line.hold_sync():
                _set_array(line, "x", x)
                _set_array(line, "y", np.asarray(y, dtype=np.float32)[idx])

    def _set_range(self, lo: float, hi: float):
        """The swept LR range: the x axis, the slider, and the bounds of ``selected_lr``."""
        lo, hi = float(lo), float(hi)
        if hi <= lo:
            hi = lo * 1.0001
        with self._lock:
            self._range = (lo, hi)
            with self.x_scale.hold_sync():
                self.x_scale.min, self.x_scale.max = lo, hi
            if self.selected_lr is not None:
                self.selected_lr = self._clamp(self.selected_lr)
            if self.selected_range is not None:
                low, high = (self._clamp(v) for v in self.selected_range)
                self.selected_range = (low, high) if low < high else None
            self._draw_selection()  # the slider's bounds

    def _set_y_window(self, windows):
        if not windows:
            return
        lo, hi = min(w[0] for w in windows), max(w[1] for w in windows)
        with self.y_scale.hold_sync():
            self.y_scale.min, self.y_scale.max = lo, hi

    def _set_candidates(self, tagged):
        """Show candidates; ``tagged`` is a list of ``(Candidate, series index)``."""
        tagged = list(tagged)
        if tagged == self._shown:
            return
        self._shown = tagged
        cands = [c for c, _ in tagged]
        self._candidates = sorted(cands, key=lambda c: c.lr)
        with self._cand_mark.hold_sync():
            self._cand_mark.x = np.array([c.lr for c in cands], dtype=np.float64)
            self._cand_mark.y = np.array([c.loss for c in cands], dtype=np.float64)
            self._cand_mark.colors = [COLORS[i % len(COLORS)] for _, i in tagged] or [COLORS[0]]

    def _draw_selection(self):
        """Push ``selected_lr`` out to the rule, handle, label, dropdown, slider and status.

        Writes only what differs, so it also puts back whatever something else changed.
        """
        with self._lock:
            lr = self.selected_lr
            visible = lr is not None
            if self._drag_lr is not None and lr != self._drag_lr:
                self._drag_lr = None  # the selection moved on (Python, a new sweep): drag over
            self._syncing = True
            try:
                marks = (self._rule, self._handle, self._band, self._band_edges)
                controls = (self._range_handles, self._chooser, self._slider, self._range_box)
                with held(*marks, *controls):
                    self._rule.visible = visible
                    _set_array(self._rule, "y", np.array([0.0, 1.0]))
                    if self._range is not None:
                        self._set_slider_bounds(*self._range)
                    # No number to read when nothing is picked; nothing to slide before a range.
                    self._slider.readout = visible
                    self._slider.disabled = self._range is None
                    if visible:
                        _set_array(self._rule, "x", np.array([lr, lr]))
                        self._slider.value = lr
                        self._handle.names = [format_lr(lr)]  # mid-drag too: no stale label
                    if self._drag_lr is None:  # mid-drag the handle's position is the user's
                        self._handle.visible = visible
                        if visible:
                            _set_array(self._handle, "x", np.array([lr]))
                            _set_array(self._handle, "y", np.array([HANDLE_Y]))
                    self._draw_range()
                    options = tuple((self._option_label(c), c.lr) for c in self._candidates)
                    if tuple(self._chooser.options) != options:
                        self._chooser.options = options
                    self._chooser.value = lr if any(c.lr == lr for c in self._candidates) else None
            finally:
                self._syncing = False
            self.update_status()

    def _draw_range(self):
        """The band and its two handles at ``selected_range`` (hidden without one)."""
        picked = self.selected_range
        self._range_box.value = picked is not None
        self._band.visible = self._band_edges.visible = picked is not None
        _set_array(self._band, "y", np.array([0.0, RANGE_STRIP, RANGE_STRIP, 0.0]))
        _set_array(self._band_edges, "y", np.array([[0.0, 1.0], [0.0, 1.0]]))
        if picked is None:
            self._range_handles.visible = False
            return
        low, high = picked
        _set_array(self._band, "x", np.array([low, low, high, high]))
        _set_array(self._band_edges, "x", np.array([[low, low], [high, high]]))
        self._range_handles.names = [format_lr(low), format_lr(high)]
        if self._range_drag is None:  # mid-drag the handles' positions are the user's
            self._range_handles.visible = True
            _set_array(self._range_handles, "x", np.array([low, high]))
            _set_array(self._range_handles, "y", np.array([RANGE_Y, RANGE_Y]))

    def _option_label(self, c: Candidate) -> str:
        label = f"{format_lr(c.lr)}  (loss {c.loss:.3g})"
        if getattr(c, "label", ""):
            label = f"{c.label}  {label}"
        if len(self._results) > 1:  # an overlay: say whose candidate it is
            owner = next((i for cand, i in self._shown if cand == c), None)
            if owner is not None:
                label += f"  · {self._labels[owner]}"
        return label

    def _set_slider_bounds(self, lo: float, hi: float):
        """Put the log slider's exponent range (and base) on the swept range."""
        bounds = (math.log10(lo), math.log10(hi), 10.0)
        s = self._slider
        if (s.min, s.max, s.base) != bounds:
            # Validated together at the end, so a bound never crosses the old other one.
            with s.hold_trait_notifications():
                s.min, s.max, s.base = bounds

    def default_status_parts(self) -> list[str]:
        """The status line of the sweeps shown: how they ended, the suggestion, the pick."""
        if not self._results:
            return ["no sweep shown"]
        parts = []
        first = self._results[0]
        if len(self._results) == 1:
            parts.append(f"{first.stop_reason} after {plural(len(first), 'step')}")
            parts.append(f"suggestion {format_lr(first.suggestion)}")
            parts += first.notes  # e.g. the range ended too early, and how to widen it
        else:
            parts.append(f"{len(self._results)} sweeps")
            parts.append(f"suggestion {format_lr(first.suggestion)} (of {self._labels[0]})")
        parts.append(plural(len(self._candidates), "candidate"))
        parts.append(f"selected {format_lr(self.selected_lr)}")
        return parts

    def update_status(self):
        self.set_status(" · ".join(self.status_parts()))

    # --- the selection -------------------------------------------------------------------
    @validate("selected_lr")
    def _check_selected_lr(self, proposal):
        lr = proposal["value"]
        if lr is None:
            return None
        if not (math.isfinite(lr) and lr > 0):
            raise TraitError(f"selected_lr must be a finite learning rate > 0, got {lr!r}")
        return self._clamp(lr)

    def _clamp(self, lr: float) -> float:
        """``lr`` clamped into the swept range (as is before any data)."""
        if self._range is None:
            return lr
        return min(max(lr, self._range[0]), self._range[1])

    @validate("selected_range")
    def _check_selected_range(self, proposal):
        picked = proposal["value"]
        if picked is None or self._range is None:
            return picked
        low, high = (self._clamp(v) for v in picked)
        if not low < high:
            raise TraitError(
                f"selected_range {picked!r} has no width inside the swept range {self._range}"
            )
        return (low, high)

    @observe("selected_lr", "selected_range")
    def _selected_changed(self, change):
        if change["name"] == "selected_range" and self._range_drag != change["new"]:
            self._range_drag = None  # moved on from elsewhere: any drag is over
        self._draw_selection()

    @observe("snap")
    def _snap_changed(self, change):
        self.update_status()

    def nearest_candidate(self, lr: float) -> Candidate | None:
        """The candidate closest to ``lr`` on a log scale, or None when there is none."""
        if not self._candidates or not (math.isfinite(lr) and lr > 0):
            return None
        return min(self._candidates, key=lambda c: abs(math.log(c.lr / lr)))

    def pick(self, lr, snap: bool | None = None) -> bool:
        """Select ``lr`` as a front-end pick does: snapped (default: the ``snap`` trait) and
        clamped into the swept range. A value that is not a finite positive number, or a pick
        before any data, is refused: returns False and puts the chart back as it was."""
        with self._lock:
            self._drag_lr = None  # any pick ends a drag (also one whose end got lost)
            lr = _to_float(lr)
            if self._range is None or not (math.isfinite(lr) and lr > 0):
                self._draw_selection()
                return False
            lr = self._clamp(lr)
            nearest = self.nearest_candidate(lr) if (self.snap if snap is None else snap) else None
            self.selected_lr = nearest.lr if nearest is not None else lr
            self._draw_selection()  # also when unchanged: the front end may show another value
        return True

    def pick_range(self, low, high, snap: bool | None = None, ends=(0, 1)) -> bool:
        """Select ``(low, high)`` as a front-end pick does: clamped into the swept range, and
        the ``ends`` given (0: low, 1: high; a drag snaps only the end it moved) snapped to the
        nearest candidate unless that leaves no width. Values that are not finite positive
        numbers with low < high are refused (returns False)."""
        with self._lock:
            self._range_drag = None
            low, high = _to_float(low), _to_float(high)
            ok = all(math.isfinite(v) and v > 0 for v in (low, high))
            if self._range is None or not ok:
                self._draw_selection()
                return False
            low, high = sorted((self._clamp(low), self._clamp(high)))
            if self.snap if snap is None else snap:
                # Each end to its nearest candidate, the high end first (one-cycle's peak),
                # unless that would leave the range no width.
                for i in sorted(ends, reverse=True):
                    near = self.nearest_candidate((low, high)[i])
                    if near is not None:
                        ends = [low, high]
                        ends[i] = near.lr
                        if ends[0] < ends[1]:
                            low, high = ends
            if not low < high:
                self._draw_selection()
                return False
            self.selected_range = (low, high)
            self._draw_selection()
        return True

    def _default_range(self) -> tuple[float, float] | None:
        """Where a new range starts: a decade below the selection up to it (one-cycle's
        usual span), or the middle of the swept range."""
        if self._range is None:
            return None
        lo, hi = self._range
        top = self.selected_lr or math.sqrt(lo * hi)
        low, high = self._clamp(top / 10), self._clamp(top)
        if not low < high:
            low, high = lo, hi
        return (low, high)

    # --- pictures ------------------------------------------------------------------------
    def save_image(self, path="lr_finder.png") -> Path:
        """Save the chart as it is now (sweeps, candidates, suggestion, pick, range) as a PNG
        or SVG picture, by ``path``'s suffix; returns the path."""
        from . import image

        with self._lock:
            results, labels = list(self._results), list(self._labels)
        if not results:
            raise ValueError("nothing to save yet: run a sweep (or show a saved one) first")
        return image.save(
            path,
            results,
            labels,
            selected_lr=self.selected_lr,
            selected_range=self.selected_range,
        )

    def static_png(self) -> bytes | None:
        """The chart as a PNG (None before any sweep): the picture a saved notebook keeps."""
        from . import image

        with self._lock:
            results, labels = list(self._results), list(self._labels)
        if not results:
            return None
        return image.render(
            results, labels, selected_lr=self.selected_lr, selected_range=self.selected_range
        )

    def _on_save(self, _):
        try:
            path = self.save_image()
        except Exception as exc:  # a click never raises into the front end
            self.set_status(f"not saved: {exc}")
            return
        self.set_status(f"saved {path.resolve()}")
        self.picture_changed()  # and the notebook keeps this picture

    # --- front-end events (each ends in pick) --------------------------------------------
    def _on_candidate_click(self, mark, content):
        # The clicked point's LR, not its index: while a sweep runs the candidates change
        # under the pointer, and the nearest current one is what the user meant.
        lr = _element_x(content)
        if lr is not None:
            self.pick(lr, snap=True)

    def _on_catcher_click(self, catcher):
        # bqplot's "add" interaction appended the clicked point; take it and take it back.
        x, y = catcher.x, catcher.y
        if all(a is not None and a.size == 0 for a in (x, y)):
            return  # nothing was added (or this is our own reset echoing back)
        lr = x[-1] if x is not None and x.ndim == 1 and x.size else None
        with catcher.hold_sync():
            catcher.x, catcher.y = np.zeros(0), np.zeros(0)
        self.pick(lr)

    def _on_drag(self, mark, content):
        # The LR follows the pointer; the handle itself is the user's until release, so only
        # the rule and the controls move (re-sending the handle mid-drag would fight the drag).
        lr = _point_x(content)
        with self._lock:
            if self._range is None or not (math.isfinite(lr) and lr > 0):
                return
            self._drag_lr = self._clamp(lr)
            self.selected_lr = self._drag_lr

    def _on_drag_end(self, mark, content):
        self.pick(_point_x(content))

    def _on_hover_click(self, mark, content):
        # The readout's points lie on the curve: a click there is a click on the plot.
        lr = _element_x(content)
        if lr is not None:
            self.pick(lr)

    def _on_suggestion_click(self, mark, content):
        lr = _element_x(content)
        if lr is not None:
            self.pick(lr, snap=False)

    def _on_range_box(self, change):
        with self._lock:
            if self._syncing:
                return
            if change["new"] and self.selected_range is None:
                picked = self._default_range()
                if picked is None:  # nothing to pick in yet
                    self._draw_selection()
                    return
                self.selected_range = picked
            elif not change["new"]:
                self.selected_range = None

    def _on_range_drag(self, mark, content):
        x = _point_x(content)
        index = content.get("index") if isinstance(content, dict) else None
        with self._lock:
            current = self.selected_range
            if current is None or index not in (0, 1) or not (math.isfinite(x) and x > 0):
                return
            ends = list(current)
            ends[index] = self._clamp(x)
            if ends[0] < ends[1]:
                self._range_drag = (ends[0], ends[1])
                self.selected_range = self._range_drag

    def _on_range_drag_end(self, mark, content):
        current = self.selected_range
        x = _point_x(content)
        index = content.get("index") if isinstance(content, dict) else None
        if current is None or index not in (0, 1):
            self.pick_range(math.nan, math.nan)  # puts the handles back
            return
        ends = list(current)
        ends[index] = x
        self.pick_range(*ends, ends=(index,))

    def _on_chooser(self, change):
        # Under the lock: _syncing is only ours to read once another thread's redraw is done.
        with self._lock:
            if not self._syncing and change["new"] is not None:
                self.pick(change["new"], snap=False)

    def _on_slider(self, change):
        with self._lock:
            if not self._syncing:
                self.pick(change["new"], snap=False)

    def _on_foreign_write(self, change_or_mark):
        with self._lock:
            if self._syncing:
                return
            if change_or_mark is self._handle and self._drag_lr is not None:
                return  # the browser syncs the handle it is dragging
            if change_or_mark is self._range_handles and self._range_drag is not None:
                return
            self._draw_selection()


def _to_float(value) -> float:
    """``value`` as a float; NaN for anything that is not a real number (bools included)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _element_x(content):
    """The x of a clicked point, from bqplot's element_click content (None if absent)."""
    data = content.get("data") if isinstance(content, dict) else None
    return data.get("x") if isinstance(data, dict) else None


def _point_x(content) -> float:
    point = content.get("point") if isinstance(content, dict) else None
    return _to_float(point.get("x")) if isinstance(point, dict) else math.nan


def _default_label(result, i: int, n: int) -> str:
    batch = result.meta.get("batch_size") if isinstance(result.meta, dict) else None
    if batch and n > 1:
        return f"batch {batch}"
    return f"sweep {i + 1}"


def show(results, labels=None, **kwargs) -> LRChart:
    """An interactive chart of saved sweeps, with the finder's picking (no Keras needed).

    Parameters
    ----------
    results : SweepResult or list of SweepResult
        One sweep, or several to overlay (e.g. two batch sizes, with a legend).
    labels : list of str, optional
        Legend names, one per result.
    **kwargs
        ``snap`` or ``selected_lr`` (see :class:`LRChart`).

    Returns
    -------
    LRChart
        The chart; it displays as a cell's value (or with ``IPython.display.display``), and
        its ``selected_lr`` holds the pick.
    """
    from .result import SweepResult

    if isinstance(results, SweepResult):
        results = [results]
    results = list(results)
    for r in results:
        if not isinstance(r, SweepResult):
            raise TypeError(f"show() takes SweepResult objects, got {type(r).__name__}")
    return LRChart(results, labels, **kwargs)
