"""The loss-vs-LR chart and the ways to pick a learning rate on it (no Keras, no threads).

:class:`LRChart` draws one or more sweeps (raw loss faint, smoothed loss bold, the candidate
LRs as diamonds, the suggestion as a gold circle) and owns the values every way of picking
ends in: ``selected_lr`` and ``selected_range``. It holds a :class:`~lrwidget.figure.LossPlot`
(the bqplot figure; its marks by name are ``chart.marks``) and the
:class:`~lrwidget.controls.PickControls` under it (``chart.controls``).
:func:`show` draws saved sweeps with it; :class:`lrwidget.LRFinderWidget` holds one and feeds
it a live sweep (:meth:`LRChart.draw_live` may run in the sweep's thread: it writes only
what the front end never writes; everything else runs in the kernel's thread).

Picking: a click on a candidate selects it; a click anywhere else in the plot area selects the
nearest candidate in log space (or the exact LR with ``snap=False``); a click on a suggestion
selects it exactly; dragging the handle moves the LR and snaps on release; the candidate menu
and the log slider under the chart stay in sync. The ends of a picked range snap only to a
candidate a few pixels away. While a sweep runs its candidates are provisional (grey): a pick
on one follows that candidate and lands on its final LR when the sweep ends; any other pick
made meanwhile is kept, and the status line says which happened
(:class:`lrwidget.selection.LivePick`). Values from the front end that are no learning rate
are refused (the chart goes back to the current selection), picks outside the swept range are
clamped (:mod:`lrwidget.selection`) while a value set from Python outside it is refused with
the range in the message, and what a front end writes into the rule,
the handle (outside a drag), the range marks or the slider's bounds is put back.

Hooks for browser tests: the CSS classes ``lrwidget-figure`` (the figure; the order of its
marks is documented in :mod:`lrwidget.figure`), ``lrwidget-save`` and ``lrwidget-status``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import ipywidgets as widgets
import numpy as np
from traitlets import Bool, Int, TraitError, observe, validate

from . import image, selection, style
from .controls import PickControls
from .events import FrontEndEvents
from .family import SweepFamily
from .figure import LossPlot
from .marked import Marked
from .notebook import NotebookDisplay, enable_colab_widgets
from .result import SweepResult
from .selection import LearningRate, LearningRateRange
from .style import format_lr
from .sync import hold_sync

__all__ = ["LRChart", "format_lr", "show"]

OUTSIDE = 1e-9  # how far past the swept range a value may be and count as rounding
PANNING = (
    "pan/zoom is on: clicks and drags move the view, not the pick; click the toolbar's "
    "pan/zoom button again to pick (the menu and the slider still pick)"
)


class LRChart(NotebookDisplay, widgets.VBox):
    """An interactive loss-vs-LR chart of saved sweeps, with picking.

    Parameters
    ----------
    results : SweepResult or list of SweepResult
        The sweeps to draw, overlaid (e.g. two batch sizes); may be empty.
    labels : list of str, optional
        Legend names, one per result (default: :func:`lrwidget.style.default_labels`).
    snap : bool
        Initial value of the ``snap`` trait.
    show_minima : bool
        Initial value of the ``show_minima`` trait.
    selected_lr : float, optional
        Initial selection (default: the first result's suggestion).
    status_parts : callable, optional
        ``status_parts(chart)``: the parts of the status line (default:
        :meth:`default_status_parts`); a widget holding this chart says its own.
    on_picture : callable, optional
        Redraws the notebook's static picture of the widget shown (default: this chart's),
        when a sweep is drawn or saved; never on a pick (JupyterLab rebuilds a widget's
        views on each update of its output, which loses the keyboard focus).
    curve_owner : callable, optional
        ``curve_owner(lr, loss)`` for a click on a point of a curve: the candidates that click
        snaps to (a family member's, whose curve it is), or None for every candidate shown.
        The pick itself is :meth:`pick`'s.
    picture_extra : callable, optional
        ``picture_extra()``: more of :func:`lrwidget.image.figure`'s arguments for the
        pictures (a finder's trials), read with the chart's.
    """

    selected_lr = LearningRate(
        None,
        allow_none=True,
        help="The chosen learning rate: set by clicking, dragging, the menu or the slider, or "
        "from Python. Must be finite and > 0 and, once there is a sweep, inside the swept "
        "range (picks on the chart are clamped into it). None: nothing chosen yet.",
    )
    selected_range = LearningRateRange(
        None,
        allow_none=True,
        help="A picked LR range (low, high), e.g. the bounds of a one-cycle or cyclical "
        "schedule: drag the two triangles at the bottom ('pick a range' on). Clamped into the "
        "swept range; an end dropped within a few pixels of a candidate snaps to it. None: no "
        "range picked.",
    )
    picked_series = Int(
        None,
        allow_none=True,
        help="The index of the sweep shown the pick belongs to (see Marked.series_at); a "
        "family's view reads its member from it. Set by the chart.",
    )
    show_minima = Bool(
        True,
        help="Draw the article's minima (crosses) and list them in the menu after the "
        "candidates: the 'article's minima' box. The suggestion trains better than they do.",
    )
    snap = Bool(
        True,
        help="Snap picks on the plot (click anywhere, end of a drag) to the nearest candidate "
        "minimum, nearest on the log scale. Off: take the exact LR under the pointer.",
    )

    def __init__(
        self,
        results=(),
        labels=None,
        *,
        snap=True,
        selected_lr=None,
        show_minima=True,
        status_parts: Callable[[LRChart], list[str]] | None = None,
        on_picture: Callable[[], object] | None = None,
        curve_owner: Callable[[float, float], list | None] | None = None,
        picture_extra: Callable[[], dict] = dict,
        **kwargs,
    ):
        enable_colab_widgets()
        self.lock = threading.RLock()  # held by whatever reads or writes the chart's state
        # The front end's drags, menu, slider and foreign writes (lrwidget/events.py).
        self.events = events = FrontEndEvents(self)
        # The candidates and minima shown, the menu's entries, whose each is (marked.py).
        self.marked = Marked()
        self._drawn: tuple = ()  # what the diamonds were last drawn with
        self._live_pick = selection.LivePick()  # a pick made while a sweep runs
        self._results: list[SweepResult] = []
        self._labels: list[str] = []
        self._status_parts = status_parts or type(self).default_status_parts
        self.refresh_picture = on_picture or self.refresh_static  # a Save, a drawing
        self.pictures = image.Pictures(self._picture, lambda: _image_stem(self._results))
        self.curve_owner = curve_owner  # the candidates a click on a curve snaps to
        self._picture_extra = picture_extra
        self.plot = LossPlot(
            lock=self.lock,
            on_click=self.pick,
            on_candidate_click=events.on_candidate_click,
            on_minimum_click=events.on_minimum_click,
            on_curve_click=events.on_curve_click,
            on_drag=events.on_drag,
            on_drag_end=self.pick,
            on_range_drag=events.on_range_drag,
            on_range_drag_end=events.on_range_drag_end,
            on_foreign_write=events.on_foreign_write,
        )
        self.controls = PickControls(
            on_value=events.on_control,
            on_menu=events.on_menu,
            on_range_box=events.on_range_box,
            on_save=events.on_save,
            on_foreign_write=events.on_foreign_write,
        )
        plot = self.plot
        self.figure, self.x_scale, self.y_scale = plot.figure, plot.x_scale, plot.y_scale
        self.marks = plot.marks  # by name: marks.handle, marks.candidates, marks.raw[i] ...
        self.status = self.controls.status  # the status line (status_text: as plain text)
        parts = [self.figure, self.controls.row, self.status, self.controls.css]
        super().__init__(children=parts, **kwargs)
        widgets.link((self, "snap"), (self.controls.snap_box, "value"))
        widgets.link((self, "show_minima"), (self.controls.minima_box, "value"))
        self.add_class("lrwidget")
        self.figure.observe(lambda _change: self.update_status(), "interaction")
        self.set_status("no sweep yet")
        self.snap = snap
        self.show_minima = show_minima
        if results is not None and not isinstance(results, list | tuple):
            results = [results]
        if results:
            self.set_results(results, labels)
        if selected_lr is not None:
            self.selected_lr = selected_lr

    # --- parts ---------------------------------------------------------------------------
    @property
    def status_text(self) -> str:
        """What the status line says, as plain text."""
        return self.controls.status_text

    @property
    def results(self) -> list[SweepResult]:
        """The sweeps shown (a copy)."""
        return list(self._results)

    @property
    def swept_range(self) -> tuple[float, float] | None:
        """The LR range of the sweeps shown (the x axis): picks are clamped into it."""
        return self.plot.swept_range

    # What a drag of the handle (of a range handle) in progress has set (None outside one).
    dragged_lr = property(lambda self: self.events.dragged_lr)
    dragged_range = property(lambda self: self.events.dragged_range)

    # --- status ---------------------------------------------------------------------------
    def set_status(self, text: str, detail: str | None = None):
        """Show ``text`` in the status line (wrapped; ``detail`` on hover)."""
        self.controls.set_status(text, detail)

    def update_status(self):
        hint = [PANNING] if self.plot.panning else []  # clicks pick nothing then: say so
        self.set_status(" · ".join(hint + self._status_parts(self)))

    def default_status_parts(self) -> list[str]:
        """The status line of the sweeps shown: how they ended, the suggestion, the pick."""
        n = len(self.marked.candidates)
        return style.status_parts(self._results, self._labels, n, self.selected_lr) + self.notes()

    def notes(self) -> list[str]:
        """The status line's notes on the pick: a minimum's, a far snap's, an overlap's."""
        return self.marked.minimum_note(self.selected_lr) + [n for n in [self._live_pick.note] if n]

    def live_status_parts(self) -> list[str]:
        """The status line's part on the pick while a sweep runs: its candidates are
        provisional, and a pick on one follows it to the final one."""
        n = len(self.marked.candidates)
        parts = [style.plural(n, "provisional candidate")] if n else []
        return [*parts, self._live_pick.status(format_lr(self.selected_lr))]

    # --- drawing -------------------------------------------------------------------------
    def set_results(
        self, results, labels=None, *, keep_selection: bool = False, picture: bool = True
    ):
        """Draw these sweeps (replacing what is shown) and pre-select the first suggestion,
        unless ``keep_selection`` and something is selected already (then it is only clamped
        into the new range). ``picture=False`` leaves redrawing the static picture (slow: it
        is matplotlib) to the caller."""
        results = list(results)
        shown = style.series(results, labels)
        with self.lock:
            self._results = results
            self._labels = [s.label for s in shown]
            self.plot.draw_series(shown)
            lrs = [r.lrs for r in results if len(r)]
            if self._live_pick.live and self.swept_range is not None:
                # A live sweep's end: the axis keeps its plan (no jump when it diverged early,
                # no axis of no width after one step).
                lrs.append(np.array(self.swept_range))
            if lrs:
                self._set_swept_range(min(a.min() for a in lrs), max(a.max() for a in lrs))
            self.plot.set_y_window(style.joint_window(s.window for s in shown))
            self._set_candidates([(c, i) for i, s in enumerate(shown) for c in s.candidates])
            self._set_minima([(m, i) for i, s in enumerate(shown) for m in s.minima])
            # A pick held on a live candidate lands on the final one (LivePick says so).
            held = self._live_pick.end(self.selected_lr, self.marked.candidates, format_lr)
            note = self._live_pick.note
            suggestion = results[0].suggestion if results else None
            if held is not None:
                self.selected_lr = held
            elif suggestion is not None and not (keep_selection and self.selected_lr is not None):
                self.selected_lr = suggestion
            self._live_pick.note = note
            self.redraw_selection()
        if picture:
            self.refresh_picture()

    def show_range(self, lo: float, hi: float):
        """Show this LR range on the x axis before there is any data (kernel thread)."""
        self.plot.show_x(lo, hi)

    def begin_live(self, lrs):
        """Make ready for a live sweep over ``lrs``: no sweep shown, no pick (kernel thread)."""
        with self.lock:
            self._results, self._labels = [], []
            self._live_pick.begin()
            self.plot.set_series_count(1)
            self.marks.smoothed[0].labels = ["sweep"]
            self._set_swept_range(lrs[0], lrs[-1])
            self.plot.draw_suggestions_and_readout([])
            self._set_minima([])  # the article's rule reads a finished curve
            # A pick on the last curve means nothing on this one.
            self.selected_lr = self.selected_range = None
            self.redraw_selection()

    def draw_live(self, live, series: int = 0, candidates: bool = True):
        """Draw a running sweep's curve (as ``series``) and, with ``candidates``, its
        candidates so far; returns the snapshot read.

        Called from the sweep's thread: it writes data marks only, which the front end never
        writes; :meth:`refresh_live` does the rest in the kernel's thread.
        """
        so_far = live.snapshot()
        with self.lock:
            if candidates:
                self._set_candidates([(c, 0) for c in so_far.candidates], provisional=True)
            if live.n and series < len(self.marks.raw):
                self.plot.draw_partial_curve(live.lrs, live.losses, so_far.smoothed, series)
        return so_far

    def refresh_live(self, so_far):
        """The loss window, the menu and the selection for a live snapshot (kernel thread)."""
        with self.lock:
            self.plot.set_y_window(style.result_window(so_far))
            moved = self._live_pick.follow(self.marked.candidates)  # a pick held on a candidate
            if moved is not None and moved != self.selected_lr:
                self._live_pick.lr = moved
                self.selected_lr = moved
            self.redraw_selection()

    def _set_swept_range(self, lo: float, hi: float):
        """The swept LR range: the x axis, the slider, and the bounds of the selection."""
        with self.lock:
            self.plot.set_swept_range(lo, hi)
            if self.selected_lr is not None:
                self.selected_lr = self._clamp(self.selected_lr)
            if self.selected_range is not None:
                low, high = (self._clamp(v) for v in self.selected_range)
                self.selected_range = (low, high) if low < high else None
            self.redraw_selection()  # the slider's bounds

    def _set_candidates(self, tagged, provisional: bool = False):
        """Show candidates; ``tagged`` is a list of ``(Candidate, series index)``;
        ``provisional``: a running sweep's."""
        tagged = list(tagged)
        owners = list(self._labels) if len(self._results) > 1 else None
        if (tagged, owners, provisional) == self._drawn:
            return
        self._drawn = (tagged, owners, provisional)
        self.marked.set_candidates(tagged)
        self.plot.draw_candidates(tagged, owners, provisional)

    @observe("show_minima")
    def _set_minima(self, tagged):
        """Show the article's minima (``(minimum, series index)`` pairs; the box ticked or
        cleared: the same) while ``show_minima``. The picture follows at the next drawing."""
        with self.lock:
            minima = self.marked.minima if isinstance(tagged, dict) else tagged
            self.marked.set_minima(minima, self.show_minima)
            self.plot.draw_minima(self.marked.minima_shown)
            self.redraw_selection()

    def redraw_selection(self):
        """Push the selection out to the rule, handle, range marks, controls and status.

        Writes only what differs, so it also puts back whatever something else changed.
        """
        events = self.events
        with self.lock:
            lr = self.selected_lr
            if events.dragged_lr is not None and lr != events.dragged_lr:
                events.dragged_lr = None  # the selection moved on (Python, a new sweep): drag over
            picked = self.selected_range
            events.syncing = True
            try:
                with hold_sync(*self.plot.pick_marks(), *self.controls.widgets()):
                    self.plot.draw_selection(lr, handle_free=events.dragged_lr is None)
                    self.plot.draw_range(picked, handles_free=events.dragged_range is None)
                    overlay = len(self._results) > 1  # the menu says whose candidate each is
                    options = self.marked.options(self._labels if overlay else None)
                    entry = self.marked.menu_entry(lr, self.picked_series)
                    self.controls.show(lr, self.swept_range, options, picked is not None, entry)
            finally:
                events.syncing = False
            self.update_status()

    # --- the selection -------------------------------------------------------------------
    def _clamp(self, lr: float) -> float:
        return selection.clamp(lr, self.swept_range)

    @validate("selected_lr")
    def _check_selected_lr(self, proposal):
        return _inside(proposal["value"], self.swept_range)  # picks are clamped before

    @validate("selected_range")
    def _check_selected_range(self, proposal):
        return selection.clamp_range(proposal["value"], self.swept_range)

    @observe("selected_lr", "selected_range")
    def _selected_changed(self, change):
        if change["name"] == "selected_range" and self.events.dragged_range != change["new"]:
            self.events.dragged_range = None  # moved on from elsewhere: any drag is over
        if change["name"] == "selected_lr":
            self._live_pick.moved(change["new"])
            self.picked_series = self.marked.series_at(change["new"], None, self.picked_series)
        self.redraw_selection()

    @observe("picked_series", "snap")
    def _series_changed(self, change):
        self.redraw_selection()  # the menu shows that sweep's entry; the status the snap

    def nearest_candidate(self, lr: float):
        """The candidate closest to ``lr`` on a log scale, or None when there is none."""
        return selection.nearest(self.marked.candidates, lr)

    def pick(self, lr, snap: bool | None = None, candidates=None, series=None) -> bool:
        """Select ``lr`` as a front-end pick does: snapped (default: the ``snap`` trait) to the
        nearest of ``candidates`` (default: every candidate shown) and clamped into the swept
        range; ``series``: the sweep it belongs to, when the mark picked says so (see
        ``picked_series``). A value that is no learning rate, or a pick before any data, is
        refused: returns False and puts the chart back as it was."""
        with self.lock:
            self.events.dragged_lr = None  # any pick ends a drag (also one whose end got lost)
            snap = self.snap if snap is None else snap
            among = self.marked.candidates if candidates is None else list(candidates)
            landed = selection.pick_lr(lr, self.swept_range, among, snap)
            if landed is not None:
                self.selected_lr = landed
                if series is not None and self.picked_series == series:
                    self.picked_series = None  # its observers hear of this pick of that sweep
                self.picked_series = self.marked.series_at(landed, series, self.picked_series)
                shown = (self.x_scale.min, self.x_scale.max)
                note = selection.snap_note(lr, landed, shown, format_lr) if snap else None
                note = note or self.marked.overlap_note(landed, series, selection.snap_reach(shown))
                self._live_pick.picked(landed, among, note)
            self.redraw_selection()  # also when unchanged: the front end may show another value
        return landed is not None

    def pick_range(self, low, high, snap: bool | None = None, ends=(0, 1)) -> bool:
        """Select ``(low, high)`` as a front-end pick does: clamped into the swept range, and
        the ``ends`` given (0: low, 1: high; a drag snaps only the end it moved) snapped to a
        candidate only within a few pixels (:func:`lrwidget.selection.snap_reach`) and unless
        that leaves no width. Values that are not learning rates with low < high are refused
        (returns False)."""
        with self.lock:
            self.events.dragged_range = None
            snap = self.snap if snap is None else snap
            reach = selection.snap_reach((self.x_scale.min, self.x_scale.max))
            picked = selection.pick_range(
                low, high, self.swept_range, self.marked.candidates, snap, ends, reach
            )
            if picked is not None:
                self.selected_range = picked
            self.redraw_selection()
        return picked is not None

    # --- pictures ------------------------------------------------------------------------
    def _picture(self) -> dict | None:
        """What the picture shows, read at once (None before any sweep)."""
        with self.lock:
            return _picture_of(self) if self._results else None

    def save_image(self, path="lr_finder.png") -> Path:
        """Save the chart as it is now (sweeps, candidates, suggestion, pick, range) as a PNG
        or SVG picture, by ``path``'s suffix; returns the path."""
        return self.pictures.save(path)

    def static_png(self) -> bytes | None:
        """The chart as a PNG (None before any sweep): the picture a saved notebook keeps."""
        return self.pictures.png()

    # The front end's other events are answered by self.events (lrwidget/events.py).


def _picture_of(chart) -> dict:
    """:func:`lrwidget.image.figure`'s arguments for what ``chart`` shows."""
    return {
        "results": list(chart.results),
        "labels": list(chart._labels),
        "selected_lr": chart.selected_lr,
        "selected_range": chart.selected_range,
        "minima": chart.show_minima,
        **chart._picture_extra(),
    }


def _image_stem(results) -> str:
    """Save's file name: after the model swept (``lr_finder_sequential``), one file per chart
    (``-2``, ``-3``... when taken)."""
    model = results[0].meta.get("model") if results else None
    return "lr_finder" if not model else f"lr_finder_{model}"


def _inside(lr, swept):
    """``selected_lr`` as set from Python: refused outside the swept range, not moved."""
    if lr is None or swept is None:
        return lr
    if not swept[0] * (1 - OUTSIDE) <= lr <= swept[1] * (1 + OUTSIDE):
        raise TraitError(
            f"selected_lr {lr!r} is outside the swept range {format_lr(swept[0])} .. "
            f"{format_lr(swept[1])}: pick an LR inside it, or sweep a wider range "
            "(start_lr=..., end_lr=...)"
        )
    return selection.clamp(lr, swept)  # only rounding's worth


def show(results, labels=None, **kwargs) -> LRChart:
    """An interactive chart of saved sweeps, with the finder's picking (no Keras needed).

    Parameters
    ----------
    results : SweepResult, list of SweepResult or SweepFamily
        One sweep, or several to overlay (e.g. two batch sizes, with a legend), or a family's
        members (legend: ``weight_decay=1e-4`` ...).
    labels : list of str, optional
        Legend names, one per result.
    **kwargs
        ``snap``, ``selected_lr`` or ``show_minima`` (see :class:`LRChart`).

    Returns
    -------
    LRChart
        The chart; it displays as a cell's value (or with ``IPython.display.display``), and
        its ``selected_lr`` holds the pick.
    """
    if isinstance(results, SweepResult):
        results = [results]
    if isinstance(results, SweepFamily):
        labels = results.labels if labels is None else labels
        results = results.results
    results = list(results)
    for r in results:
        if not isinstance(r, SweepResult):
            raise TypeError(f"show() takes SweepResult objects, got {type(r).__name__}")
    return LRChart(results, labels, **kwargs)
