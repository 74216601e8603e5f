"""The bqplot figure of the chart: scales, axes and the marks by name.

:class:`LossPlot` draws what it is given (sweeps as :class:`lrwidget.style.Series`, the
selection, the picked range) and turns the front end's events into plain calls of the
callbacks it was built with: it knows no chart and decides nothing about picks.

Hooks for browser tests
-----------------------
The figure has the CSS class ``lrwidget-figure``. Its marks, in drawing order (the order
:meth:`Marks.in_order` gives and ``js/support/chart.ts`` relies on), with ``n`` sweeps shown::

    click_area      invisible Scatter, interactions={"click": "add"}: a click on the plot
                    (the lines let the pointer through: ``controls.LINES_CSS``)
    raw[0 .. n-1]   raw loss Lines, one per sweep (faint)
    smoothed[...]   smoothed loss Lines, one per sweep (bold, legend when n > 1)
    readout         invisible Scatter along the smoothed curves: tooltip LR / smoothed / raw loss
    handle_label    Label: the selected LR, beside the handle
    range_labels    Label: the picked range's two ends, above their handles
    range_strip     the picked range: a shaded strip along the bottom (filled Lines)
    range_edges     the picked range's two edges, dashed, full height
    suggestions     a gold circle per sweep, labelled "suggested"
    minima          the article's minima: a cross each, in its sweep's colour, the lowest of
                    each sweep labelled "minimum"; a click selects that LR exactly
    tried           a square per trial at its LR near the bottom, in the trial's colour (the
                    winner labelled "winner"): a click selects that LR exactly
    range_handles   two triangles at the bottom, draggable along x
    candidates      diamonds, one per candidate, tooltip LR / loss
    rule            a vertical dashed line at the selected LR
    handle          a triangle at the top, draggable along x

The handles carry no text of their own: bqplot redraws every point of a Scatter when its
``names`` change, which would put a handle back where its drag began on each echo from the
kernel. Their labels are Label marks, free to follow the pointer; the handles and the labels
are not clipped at the plot's edges (``apply_clip=False``), so a pick at the end of the range
shows whole.

bqplot 0.13 gives the marks' SVG groups no class: they are the ``g`` children of
``svg.svg-figure > g > g:first-of-type``, in this order, followed by a ``g.g_legend``. The x
scale spans exactly the swept range (``allow_padding=False``); the rule, the handle, the range
marks and the click area use a [0, 1] y scale of their own, so they stay put when the loss
range changes.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import bqplot as bq
import numpy as np

from . import style
from .panel import MAX_DISPLAY_POINTS, PlotPanel, draw_line, loss_format, partial, thin_index
from .selection import to_float
from .sync import WatchedLabel, WatchedLines, WatchedScatter, hold_sync, set_array

__all__ = ["MAX_DISPLAY_POINTS", "LossPlot", "Marks", "log_ticks", "loss_format", "thin_index"]
HANDLE_Y = 0.94  # where the handle sits on the rule, as a fraction of the plot height
RANGE_Y = 0.04  # where the range handles sit, near the bottom
RANGE_STRIP = 0.08  # the range's shaded strip: from the bottom up to this fraction
TRIED_Y = 0.16  # where the trials' markers sit, above the range's strip
LABEL_GAP = 11  # px between a handle and its label
FLIP_SHARE = 0.8  # a label past this share of the x axis is written to the left of its handle


def log_ticks(lo, hi, most: int = 7) -> list[float]:
    """At most ``most`` x ticks from ``lo`` to ``hi``, few enough to read on a narrow notebook:
    powers of ten (every k-th on a very wide range), else 1-2-5 or 1-3 steps, else evenly
    spaced round values (zoomed in). Empty when there is no range: the axis then picks its own."""
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


def element_x(content):
    """The x of a clicked point, from bqplot's element_click content (None if absent)."""
    data = content.get("data") if isinstance(content, dict) else None
    return data.get("x") if isinstance(data, dict) else None


def point_x(content) -> float:
    """The x of a drag event's pointer, from bqplot's drag content (NaN if absent)."""
    point = content.get("point") if isinstance(content, dict) else None
    return to_float(point.get("x")) if isinstance(point, dict) else math.nan


def event_index(content):
    """Which point of a mark an event is about (None if absent)."""
    return content.get("index") if isinstance(content, dict) else None


def _element_click(on_click, snap: bool | None):
    """A mark's element_click handler that reports the clicked point's x to ``on_click``."""

    def clicked(mark, content):
        lr = element_x(content)
        if lr is not None:
            on_click(lr, snap)

    return clicked


TOOLTIP_CLASS = "lrwidget-tooltip"  # controls.TOOLTIP_CSS keeps its box from taking clicks


def _tooltip(fields, formats, labels) -> bq.Tooltip:
    tooltip = bq.Tooltip(fields=fields, formats=formats, labels=labels)
    tooltip.add_class(TOOLTIP_CLASS)
    return tooltip


def _candidate_tooltip(fields, labels) -> bq.Tooltip:
    formats = {"x": ".1e", "y": ".4g", "name": ""}
    return _tooltip(fields, [formats[f] for f in fields], labels)


def _curve_click(on_curve_click):
    """The readout's element_click handler: the clicked point's x and y to ``on_curve_click``."""

    def clicked(mark, content):
        lr = element_x(content)
        if lr is not None:
            data = content["data"]
            on_curve_click(lr, data.get("y"))

    return clicked


def _candidate_click(on_candidate_click):
    """The diamonds' element_click handler: the clicked point's x and index (bqplot sends the
    point's datum, which holds its index)."""

    def clicked(mark, content):
        lr = element_x(content)
        if lr is not None:
            on_candidate_click(lr, content["data"].get("index"))

    return clicked


MINIMUM_TIP = "the article's minimum (where the loss bottoms out; the suggestion trains better)"


def _data_marks(xy: dict, on_click, on_candidate_click, on_minimum_click, on_curve_click) -> dict:
    """The marks that show the sweeps: candidates, suggestions and the hover readout."""
    candidates = bq.Scatter(
        x=[],
        y=[],
        scales=xy,
        marker="diamond",
        default_size=110,
        # A white rim sets the diamonds off the line they sit on, on light and dark themes.
        stroke="white",
        stroke_width=1.5,
        colors=[style.series_color(0)],
        tooltip=_candidate_tooltip(["x", "y"], ["LR", "loss"]),
    )
    # The clicked point's LR and index: the index names the diamond's sweep (two sweeps'
    # candidates may share an LR); while a sweep runs the candidates change under the
    # pointer, and the nearest current one is what the user meant.
    candidates.on_element_click(_candidate_click(on_candidate_click))
    readout = bq.Scatter(
        x=[],
        y=[],
        names=[],
        scales=xy,
        default_size=64,
        opacities=[0.0],
        display_names=False,
        tooltip=_tooltip(
            fields=["x", "y", "name"],
            formats=[".1e", ".4g", ""],
            labels=["LR", "smoothed loss", "raw loss"],
        ),
    )
    # The readout's points lie on the curve: a click there is a click on the plot.
    readout.on_element_click(_curve_click(on_curve_click))
    suggestions = bq.Scatter(
        x=[],
        y=[],
        names=[],
        scales=xy,
        marker="circle",
        default_size=120,
        colors=[style.SUGGESTION_COLOR],
        stroke=style.SUGGESTION_RIM,
        display_names=True,
        tooltip=_tooltip(
            fields=["x", "y"], formats=[".1e", ".4g"], labels=["suggested LR", "loss"]
        ),
    )
    suggestions.on_element_click(_element_click(on_click, False))
    minima = bq.Scatter(
        x=[],
        y=[],
        names=[],
        scales=xy,
        marker="cross",
        default_size=70,
        stroke="white",
        stroke_width=1,
        colors=[style.series_color(0)],
        display_names=True,
        tooltip=_tooltip(fields=["x", "y"], formats=[".1e", ".4g"], labels=[MINIMUM_TIP, "loss"]),
    )
    minima.on_element_click(_candidate_click(on_minimum_click))
    return {
        "candidates": candidates,
        "readout": readout,
        "suggestions": suggestions,
        "minima": minima,
    }


def _tried_mark(unit: dict, on_click) -> bq.Scatter:
    """The trials' markers: one square per trial at its LR (y on the [0, 1] scale)."""
    tried = bq.Scatter(
        x=[],
        y=[],
        names=[],
        scales=unit,
        marker="square",
        default_size=100,
        stroke="white",
        stroke_width=1.5,
        colors=[style.trial_color(0)],
        display_names=True,
        apply_clip=False,
        tooltip=_tooltip(fields=["x", "name"], formats=[".1e", ""], labels=["tried LR", ""]),
    )
    tried.on_element_click(_element_click(on_click, False))
    return tried


def _pick_marks(unit: dict, on_click_area, on_drag, on_drag_end, on_foreign_write) -> dict:
    """The click area, and the rule and handle that show the selected LR."""
    click_area = WatchedScatter(
        x=[],
        y=[],
        scales=unit,
        interactions={"click": "add"},
        opacities=[0.0],
        default_size=1,
        after_front_end=on_click_area,
    )
    rule = WatchedLines(
        x=[1.0, 1.0],
        y=[0.0, 1.0],
        scales=unit,
        colors=[style.SELECTION_COLOR],
        line_style="dashed",
        visible=False,
        after_front_end=on_foreign_write,
    )
    handle = _handle(unit, "triangle-down", [HANDLE_Y], style.SELECTION_COLOR, on_foreign_write)
    handle.on_drag(lambda mark, content: on_drag(point_x(content)))
    handle.on_drag_end(lambda mark, content: on_drag_end(point_x(content)))
    handle_label = _label(unit, style.SELECTION_COLOR, 1, on_foreign_write)
    return {"click_area": click_area, "rule": rule, "handle": handle, "handle_label": handle_label}


def _handle(unit: dict, marker: str, ys: list, color: str, on_foreign_write) -> WatchedScatter:
    """Triangles the user drags along x, one per entry of ``ys``: not clipped at the plot's
    edge, with the candidates' white rim so that they stand out on the dark theme too."""
    return WatchedScatter(
        x=[1.0] * len(ys),
        y=ys,
        scales=unit,
        marker=marker,
        default_size=160,
        drag_size=1.4,
        colors=[color],
        stroke="white",
        enable_move=True,
        restrict_x=True,
        visible=False,
        interactions={},
        apply_clip=False,
        after_front_end=on_foreign_write,
    )


def _label(unit: dict, color: str, n: int, on_foreign_write) -> WatchedLabel:
    """A Label mark of ``n`` texts (the handles' labels): not clipped, no events; what a front
    end writes into it is put back (``on_foreign_write``)."""
    return WatchedLabel(
        after_front_end=on_foreign_write,
        x=[1.0] * n,
        y=[HANDLE_Y] * n,
        text=[""] * n,
        scales=unit,
        colors=[color],
        default_size=12,
        font_weight="bold",
        align="start",
        visible=False,
        apply_clip=False,
        enable_hover=False,
        interactions={},
    )


def _range_marks(unit: dict, on_range_drag, on_range_drag_end, on_foreign_write) -> dict:
    """The picked range: its shaded strip, its dashed edges and its two handles."""
    # Only the edges span the full height: a filled band over the whole plot would take
    # the clicks meant for the plot.
    range_edges = WatchedLines(
        x=[[1.0, 1.0], [1.0, 1.0]],
        y=[[0.0, 1.0], [0.0, 1.0]],
        scales=unit,
        colors=[style.RANGE_COLOR],
        line_style="dashed",
        stroke_width=1,
        visible=False,
        after_front_end=on_foreign_write,
    )
    range_strip = WatchedLines(
        x=[1.0, 1.0, 1.0, 1.0],
        y=[0.0, RANGE_STRIP, RANGE_STRIP, 0.0],
        scales=unit,
        fill="inside",
        fill_colors=[style.RANGE_COLOR],
        fill_opacities=[style.RANGE_OPACITY],
        colors=[style.RANGE_COLOR],
        stroke_width=0,
        visible=False,
        after_front_end=on_foreign_write,
    )
    range_handles = _handle(unit, "triangle-up", [RANGE_Y] * 2, style.RANGE_COLOR, on_foreign_write)
    range_labels = _label(unit, style.RANGE_COLOR, 2, on_foreign_write)
    range_labels.align = "middle"
    range_handles.on_drag(lambda m, c: on_range_drag(event_index(c), point_x(c)))
    range_handles.on_drag_end(lambda m, c: on_range_drag_end(event_index(c), point_x(c)))
    return {
        "range_strip": range_strip,
        "range_edges": range_edges,
        "range_handles": range_handles,
        "range_labels": range_labels,
    }


class Marks:
    """The figure's marks by name (see the module docstring for what each shows)."""

    def __init__(self, **marks):
        self.raw: list[bq.Lines] = []
        self.smoothed: list[bq.Lines] = []
        self.click_area = marks.pop("click_area")
        self.readout = marks.pop("readout")
        self.handle_label = marks.pop("handle_label")
        self.range_labels = marks.pop("range_labels")
        self.range_strip = marks.pop("range_strip")
        self.range_edges = marks.pop("range_edges")
        self.suggestions = marks.pop("suggestions")
        self.minima = marks.pop("minima")
        self.tried = marks.pop("tried")
        self.range_handles = marks.pop("range_handles")
        self.candidates = marks.pop("candidates")
        self.rule = marks.pop("rule")
        self.handle = marks.pop("handle")
        if marks:
            raise TypeError(f"unknown marks {sorted(marks)}")

    def in_order(self) -> list[bq.Mark]:
        """The drawing order: the data under the pick marks, the handle on top."""
        return [
            self.click_area,
            *self.raw,
            *self.smoothed,
            self.readout,
            self.handle_label,
            self.range_labels,
            self.range_strip,
            self.range_edges,
            self.suggestions,
            self.minima,
            self.tried,
            self.range_handles,
            self.candidates,
            self.rule,
            self.handle,
        ]


class LossPlot:
    """The loss-vs-LR figure (:attr:`figure`), its scales and its :attr:`marks`.

    Parameters
    ----------
    lock : threading.RLock
        The chart's lock, held while the plot resets a zoom.
    on_click : callable
        ``on_click(lr, snap)`` for a click on the plot area or the readout (``snap=None``: the
        chart's own setting) or on a suggestion (``False``).
        ``lr`` is what the front end sent: anything.
    on_candidate_click : callable
        ``on_candidate_click(lr, index)`` for a click on a candidate diamond: its x and its
        index among the diamonds, as the front end sent them.
    on_minimum_click : callable
        ``on_minimum_click(lr, index)``: the same for a click on one of the article's minima.
    on_curve_click : callable
        ``on_curve_click(lr, loss)`` for a click on a point of a curve (the readout's points
        lie on the smoothed curves) or anywhere on the plot area (the lines let the pointer
        through; ``loss`` is then the loss at the click's height, NaN if unknown): both as the
        front end sent them, anything.
    on_drag, on_drag_end : callable
        ``on_drag(x)`` while the handle moves, ``on_drag_end(x)`` on release (NaN: no x sent).
    on_range_drag, on_range_drag_end : callable
        The same for the range handles: ``(index, x)``, ``index`` as the front end sent it.
    on_foreign_write : callable
        ``on_foreign_write(mark)`` after the front end wrote into a mark only the chart draws
        (the rule, the handle, the range marks).
    """

    def __init__(
        self,
        *,
        lock: threading.RLock,
        on_click: Callable[[object, bool | None], object],
        on_candidate_click: Callable[[object, object], object],
        on_minimum_click: Callable[[object, object], object],
        on_curve_click: Callable[[object, object], object],
        on_drag: Callable[[float], object],
        on_drag_end: Callable[[float], object],
        on_range_drag: Callable[[object, float], object],
        on_range_drag_end: Callable[[object, float], object],
        on_foreign_write: Callable[[object], object],
    ):
        self.lock = lock
        self._on_click = on_click
        self._on_curve_click = on_curve_click
        self.swept_range: tuple[float, float] | None = None
        # No padding: the x axis spans exactly the swept range (a scale's setting in bqplot
        # 0.12 and 0.13; given to a mark it is silently ignored).
        # "~": no trailing zeros, so a zoomed-in axis still tells 3e-2 from 3.5e-2.
        self.panel = PlotPanel(
            x_scale=bq.LogScale(allow_padding=False),
            x_label="learning rate",
            y_label="loss",
            lock=lock,
            css_class="lrwidget-figure",
            x_tick_format=".2~e",
        )
        panel = self.panel
        self.figure, self.x_scale, self.y_scale = panel.figure, panel.x_scale, panel.y_scale
        self.x_axis, self.y_axis = panel.x_axis, panel.y_axis
        # The legend where the data are not: a sweep starts high on the left (where the loss
        # falls from), while the candidates, the handle and the suggestion lie further right.
        self.figure.legend_location = "bottom-left"
        self.unit_scale = bq.LinearScale(min=0.0, max=1.0)
        xy = panel.xy
        unit = {"x": self.x_scale, "y": self.unit_scale}
        self.marks = Marks(
            **_data_marks(xy, on_click, on_candidate_click, on_minimum_click, on_curve_click),
            **_pick_marks(unit, self._on_click_area, on_drag, on_drag_end, on_foreign_write),
            **_range_marks(unit, on_range_drag, on_range_drag_end, on_foreign_write),
            tried=_tried_mark(unit, on_click),
        )
        self._xy = xy
        self._tooltips = {  # the candidates': finished, overlaid (naming the sweep), live
            "one": self.marks.candidates.tooltip,
            "many": _candidate_tooltip(["name", "x", "y"], ["sweep", "LR", "loss"]),
            "live": _candidate_tooltip(["x", "y"], ["provisional LR", "loss so far"]),
        }
        # The x ticks follow the range shown: set from Python, or zoomed in the browser.
        self.x_scale.observe(self._draw_x_ticks, ["min", "max"])
        self.set_series_count(1)

    # --- the front end's events ---------------------------------------------------------------
    def _on_click_area(self, area):
        # bqplot's "add" interaction appended the clicked point; take it and take it back.
        x, y = area.x, area.y
        if all(a is not None and a.size == 0 for a in (x, y)):
            return  # nothing was added (or this is the reset below, echoed back)
        lr = x[-1] if x is not None and x.ndim == 1 and x.size else None
        height = y[-1] if y is not None and y.ndim == 1 and y.size else None
        with area.hold_sync():
            area.x, area.y = np.zeros(0), np.zeros(0)
        # The lines let clicks through to here: the height says which curve (a family's).
        self._on_curve_click(lr, self.loss_at(height))

    def loss_at(self, height) -> float:
        """The loss at ``height`` on the plot (0: its bottom, 1: its top); NaN when unknown."""
        lo, hi, h = self.y_scale.min, self.y_scale.max, to_float(height)
        if lo is None or hi is None or not math.isfinite(h):
            return math.nan
        return float(lo) + h * (float(hi) - float(lo))

    @property
    def panning(self) -> bool:
        """True while the toolbar's pan/zoom is on: clicks and drags move the view then."""
        return self.panel.panning

    def _draw_x_ticks(self, change=None):
        ticks = log_ticks(self.x_scale.min, self.x_scale.max)
        # As many digits as it takes for no two labels to read the same (deep zooms).
        distinct = (d for d in range(2, 12) if len({f"{t:.{d}e}" for t in ticks}) == len(ticks))
        digits = next(distinct, 12)
        with self.x_axis.hold_sync():
            set_array(self.x_axis, "tick_values", np.array(ticks, dtype=np.float64))
            self.x_axis.tick_format = f".{digits}~e"

    # --- drawing the data ------------------------------------------------------------------
    def set_series_count(self, n: int):
        """Make sure there are ``n`` raw/smoothed line pairs, and put the marks in order."""
        marks = self.marks
        while len(marks.raw) < n:
            color = style.series_color(len(marks.raw))
            raw = bq.Lines(
                x=[],
                y=[],
                scales=self._xy,
                colors=[color],
                opacities=[style.RAW_OPACITY],
                stroke_width=style.RAW_WIDTH,
            )
            smooth = bq.Lines(
                x=[], y=[], scales=self._xy, colors=[color], stroke_width=style.SMOOTH_WIDTH
            )
            marks.raw.append(raw)
            marks.smoothed.append(smooth)
        del marks.raw[n:], marks.smoothed[n:]
        for smooth in marks.smoothed:
            smooth.display_legend = n > 1
        self.panel.set_marks(marks.in_order())

    def draw_curve(self, i: int, lrs, raw, smoothed):
        """Draw sweep ``i``'s curves, thinned to ``MAX_DISPLAY_POINTS`` (NaN: a gap)."""
        draw_line(self.marks.raw[i], lrs, raw)
        draw_line(self.marks.smoothed[i], lrs, smoothed)

    def draw_partial_curve(self, lrs, raw, smoothed, index: int = 0):
        """Draw a running sweep's curves as series ``index``: ``lrs`` is the whole plan,
        ``raw`` its losses so far (NaN after), ``smoothed`` the smoothed losses so far."""
        n, planned = len(smoothed), len(lrs)
        self.draw_curve(index, lrs, partial(raw, n, planned), partial(smoothed, n, planned))

    def add_series(self, label: str, after: int) -> int:
        """Make room for one more curve after the first ``after``, named ``label`` on the
        legend (a family's next member, while it runs); returns its index."""
        self.set_series_count(after + 1)
        self.marks.smoothed[after].labels = [label]
        return after

    def draw_band(self, i: int, lrs, low, high, opacity: float):
        """Draw series ``i``'s raw line as a band from ``low`` to ``high`` (repeats' spread)."""
        line = self.marks.raw[i]
        idx = thin_index(len(lrs))
        with line.hold_sync():
            line.x = np.asarray(lrs, dtype=np.float64)[idx]
            line.y = np.array([np.asarray(low)[idx], np.asarray(high)[idx]], dtype=np.float32)
            line.fill = "between"
            line.fill_colors = [style.series_color(i)]
            line.fill_opacities = [opacity]

    def draw_series(self, shown: list[style.Series]):
        """Draw finished sweeps: both curves of each, the legend, suggestions and readout
        (the candidates and the loss window are the caller's, see :meth:`draw_candidates`)."""
        self.set_series_count(max(1, len(shown)))
        for i, s in enumerate(shown):
            self.draw_curve(i, s.lrs, s.raw, s.smoothed)
            self.marks.smoothed[i].labels = [s.label]
        self.draw_suggestions_and_readout(shown)

    def draw_suggestions_and_readout(self, shown: list[style.Series]):
        """The suggestion markers and the hover readout's points (before divergence)."""
        sx, sy, names, hx, hy, hnames = [], [], [], [], [], []
        per_series = MAX_DISPLAY_POINTS // max(len(shown), 1)
        many = len(shown) > 1  # the readout's tooltip then names the sweep
        for s in shown:
            if s.useful == 0:
                continue
            if s.suggestion is not None:
                sx.append(s.suggestion[0])
                sy.append(s.suggestion[1])
                names.append(s.suggestion_name)
            idx = thin_index(s.useful, per_series)
            hx.append(s.lrs[idx])
            hy.append(s.smoothed[idx])
            hnames += [f"{v:.4g}" + (f"  ({s.label})" if many else "") for v in s.raw[idx]]
        suggestions, readout = self.marks.suggestions, self.marks.readout
        with hold_sync(suggestions, readout):
            suggestions.x, suggestions.y = np.array(sx), np.array(sy)
            suggestions.names = names
            readout.x = np.concatenate(hx) if hx else np.zeros(0)
            readout.y = np.concatenate(hy) if hy else np.zeros(0)
            readout.names = hnames

    def draw_tried(self, lrs, winner: int | None):
        """The trials' markers at ``lrs`` (empty: none), each in its trial's colour, the winner
        (index ``winner``) labelled and larger."""
        mark = self.marks.tried
        n = len(lrs)
        with mark.hold_sync():
            mark.x = np.asarray(lrs, dtype=np.float64)
            mark.y = np.full(n, TRIED_Y)
            mark.colors = [style.trial_color(i) for i in range(n)] or [style.trial_color(0)]
            mark.names = ["winner" if i == winner else "" for i in range(n)]

    def draw_candidates(self, tagged, owners=None, provisional: bool = False):
        """Show candidates; ``tagged`` is a list of ``(Candidate, series index)``, ``owners``
        the legend name of each series when several are shown (the tooltip names it).
        ``provisional``: a running sweep's, drawn grey (they still move). Not hollow: a
        diamond with no fill takes clicks on its rim only."""
        mark = self.marks.candidates
        colors = [style.series_color(i) for _, i in tagged]
        if provisional:
            colors, tooltip = [style.PROVISIONAL_COLOR], self._tooltips["live"]
        else:
            tooltip = self._tooltips["many" if owners else "one"]
        with mark.hold_sync():
            mark.x = np.array([c.lr for c, _ in tagged], dtype=np.float64)
            mark.y = np.array([c.loss for c, _ in tagged], dtype=np.float64)
            mark.colors = colors or [style.series_color(0)]
            mark.names = [owners[i] for _, i in tagged] if owners else []
            mark.display_names = False
            mark.tooltip = tooltip

    def draw_minima(self, tagged):
        """Show the article's minima; ``tagged`` is a list of ``(Candidate, series index)``
        (empty: none shown). The lowest of each sweep is labelled."""
        mark = self.marks.minima
        lowest = {}
        for k, (m, i) in enumerate(tagged):
            if i not in lowest or m.loss < tagged[lowest[i]][0].loss:
                lowest[i] = k
        with mark.hold_sync():
            mark.x = np.array([m.lr for m, _ in tagged], dtype=np.float64)
            mark.y = np.array([m.loss for m, _ in tagged], dtype=np.float64)
            mark.colors = [style.series_color(i) for _, i in tagged] or [style.series_color(0)]
            mark.names = [style.MINIMUM if k in lowest.values() else "" for k in range(len(tagged))]

    def show_x(self, lo: float, hi: float):
        """Show this LR range on the x axis."""
        self.panel.show_x(lo, hi)

    def set_swept_range(self, lo: float, hi: float) -> tuple[float, float]:
        """The swept range (the x axis spans it); returns it, widened if it has no width."""
        lo, hi = float(lo), float(hi)
        if hi <= lo:
            hi = lo * 1.0001
        self.swept_range = self.panel.home_x = (lo, hi)
        self.show_x(lo, hi)
        return self.swept_range

    def set_y_window(self, window: tuple[float, float] | None):
        """Show this loss range on the y axis (None: leave it); see :class:`PlotPanel`."""
        self.panel.set_y_window(window)

    # --- drawing the selection ------------------------------------------------------------
    def pick_marks(self) -> tuple[bq.Mark, ...]:
        """The marks :meth:`draw_selection` and :meth:`draw_range` write."""
        m = self.marks
        return (
            *(m.rule, m.handle, m.handle_label),
            *(m.range_strip, m.range_edges, m.range_handles, m.range_labels),
        )

    def _share(self, lr: float) -> float:
        """Where ``lr`` lies on the x axis shown: 0 at its left end, 1 at its right end."""
        lo, hi = self.x_scale.min, self.x_scale.max
        if not (lo and hi and 0 < lo < hi and lr > 0):
            return 0.5
        return math.log(lr / lo) / math.log(hi / lo)

    def draw_selection(self, lr: float | None, handle_free: bool):
        """The rule, the handle and its label at ``lr`` (hidden for None). The handle's position
        is only written when ``handle_free``: mid-drag it is the user's, and re-sending it would
        fight the drag; the rule and the label follow the LR either way."""
        rule, handle, label = self.marks.rule, self.marks.handle, self.marks.handle_label
        visible = lr is not None
        rule.visible = label.visible = visible
        set_array(rule, "y", np.array([0.0, 1.0]))
        if visible:
            set_array(rule, "x", np.array([lr, lr]))
            flip = self._share(lr) > FLIP_SHARE  # near the right end: written to the left
            label.align = "end" if flip else "start"
            label.x_offset = -LABEL_GAP if flip else LABEL_GAP
            label.y_offset = 4  # centred on the triangle
            set_array(label, "x", np.array([lr]))
            set_array(label, "y", np.array([HANDLE_Y]))
            label.text = [style.format_lr(lr)]
        if handle_free:
            handle.visible = visible
            if visible:
                set_array(handle, "x", np.array([lr]))
                set_array(handle, "y", np.array([HANDLE_Y]))

    def draw_range(self, picked: tuple[float, float] | None, handles_free: bool):
        """The strip, the edges and the two handles at ``picked`` (hidden for None); the
        handles' positions only when ``handles_free`` (see :meth:`draw_selection`)."""
        m = self.marks
        shown = picked is not None
        m.range_strip.visible = m.range_edges.visible = m.range_labels.visible = shown
        set_array(m.range_strip, "y", np.array([0.0, RANGE_STRIP, RANGE_STRIP, 0.0]))
        set_array(m.range_edges, "y", np.array([[0.0, 1.0], [0.0, 1.0]]))
        if picked is None:
            m.range_handles.visible = False
            return
        low, high = picked
        set_array(m.range_strip, "x", np.array([low, low, high, high]))
        set_array(m.range_edges, "x", np.array([[low, low], [high, high]]))
        # Above the handles, centred on them.
        set_array(m.range_labels, "x", np.array([low, high]))
        set_array(m.range_labels, "y", np.array([RANGE_STRIP, RANGE_STRIP]))
        m.range_labels.y_offset = -12
        m.range_labels.text = [style.format_lr(low), style.format_lr(high)]
        if handles_free:
            m.range_handles.visible = True
            set_array(m.range_handles, "x", np.array([low, high]))
            set_array(m.range_handles, "y", np.array([RANGE_Y, RANGE_Y]))
