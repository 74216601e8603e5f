"""The chart's answers to the front end's events: each ends in a pick, or puts the chart back
(or, for Save, writes the picture).

:class:`FrontEndEvents` is a part the chart holds (``chart.events``): the figure and the
controls call its methods (their callbacks), and it calls the chart's public picking API
(``pick``, ``pick_range``, ``redraw_selection``, the ``selected_*`` traits). It owns the state
of a drag in progress and whether the chart is pushing its selection out to the controls. No
widgets are made here; Save image stays with the chart's pictures.
"""

from __future__ import annotations

import math

from . import selection
from .selection import is_lr

# Save writes on the kernel's side (next to the notebook's work, also on a remote or Colab
# machine); the toolbar's save icon downloads the view to the browser instead.
SAVED = (
    "saved {path} (in the kernel's working directory; the toolbar's save icon downloads the "
    "picture through the browser instead)"
)


class FrontEndEvents:
    """Drags of the handles, clicks on diamonds and minima, the "pick a range" box, the menu
    and the slider, and writes into marks only the chart draws, as a chart answers them.

    Parameters
    ----------
    chart : LRChart
        The chart these events are about: its ``lock``, ``swept_range``, ``marks``,
        ``selected_lr`` and ``selected_range``, ``pick``, ``pick_range`` and
        ``redraw_selection``.
    """

    def __init__(self, chart):
        self.chart = chart
        self.dragged_lr: float | None = None  # set by a drag of the handle in progress
        self.dragged_range: tuple[float, float] | None = None  # the same, for the range
        self.syncing = False  # True while the chart pushes its selection out to the controls

    # Each takes the lock: syncing and the drag state are only read once another thread's
    # redraw is done.
    def on_drag(self, x: float):
        # The LR follows the pointer; the handle itself is the user's until release, so only
        # the rule and the controls move.
        chart = self.chart
        with chart.lock:
            if chart.swept_range is None or not is_lr(x):
                return
            self.dragged_lr = selection.clamp(x, chart.swept_range)
            chart.selected_lr = self.dragged_lr

    def on_range_drag(self, index, x: float):
        chart = self.chart
        with chart.lock:
            moved = selection.move_end(chart.selected_range, index, x, chart.swept_range)
            if moved is not None:
                self.dragged_range = moved
                chart.selected_range = moved

    def on_range_drag_end(self, index, x: float):
        current = self.chart.selected_range
        if current is None or index not in (0, 1):
            self.chart.pick_range(None, None)  # refused: puts the handles back
            return
        ends = list(current)
        ends[index] = x
        self.chart.pick_range(*ends, ends=(index,))

    def on_range_box(self, change):
        chart = self.chart
        with chart.lock:
            if self.syncing:
                return
            if not change["new"]:
                chart.selected_range = None
            elif chart.selected_range is None:
                picked = selection.default_range(chart.swept_range, chart.selected_lr)
                if picked is None:  # nothing to pick in yet
                    chart.redraw_selection()
                    return
                chart.selected_range = picked

    def on_control(self, change):
        # The slider picks exactly the LR it shows.
        with self.chart.lock:
            if not self.syncing and change["new"] is not None:
                self.chart.pick(change["new"], snap=False)

    def on_menu(self, change):
        # A menu entry picks its own candidate (or minimum) exactly, of its own sweep.
        chart = self.chart
        with chart.lock:
            if self.syncing or change["new"] is None:
                return
            entry = chart.marked.entry(change["new"])
            if entry is None:
                chart.redraw_selection()  # no such entry: the menu goes back
            else:
                chart.pick(entry[0].lr, snap=False, series=entry[1])

    def on_candidate_click(self, lr, index):
        # That diamond's candidate and sweep when the index still names it, else the nearest.
        self._pick_mark("shown", index, lr, snap_if_missed=True)

    def on_minimum_click(self, lr, index):
        # That minimum's LR exactly and its sweep (else the LR clicked).
        self._pick_mark("minima_shown", index, lr, snap_if_missed=False)

    def _pick_mark(self, marks: str, index, lr, snap_if_missed: bool):
        """Pick point ``index`` of ``chart.marked.<marks>`` exactly, with its sweep, when it
        still lies at ``lr`` (marks move while a sweep runs); else ``lr`` itself."""
        chart = self.chart
        with chart.lock:
            hit = chart.marked.hit(getattr(chart.marked, marks), index, lr)
            if hit is None:
                chart.pick(lr, snap=snap_if_missed)
            else:
                chart.pick(hit[0].lr, snap=False, series=hit[1])

    def on_curve_click(self, lr, loss):
        # The curve's owner (a family member's) says which candidates the click snaps to, and
        # the pick is that member's.
        chart = self.chart
        lr_f, loss_f = selection.to_float(lr), selection.to_float(loss)
        among = series = None
        if chart.curve_owner is not None and is_lr(lr_f) and math.isfinite(loss_f):
            among = chart.curve_owner(lr_f, loss_f)
        if among:
            series = next((i for c, i in chart.marked.shown if c == among[0]), None)
        chart.pick(lr, None, among, series)

    def on_save(self, _button):
        chart = self.chart
        try:
            path = chart.pictures.save_next()
        except Exception as exc:  # a click never raises into the front end
            chart.set_status(f"not saved: {exc}")
            return
        chart.set_status(SAVED.format(path=path))
        chart.refresh_picture()  # and the notebook keeps this picture

    def on_foreign_write(self, change_or_mark):
        chart = self.chart
        with chart.lock:
            if self.syncing:
                return
            if change_or_mark is chart.marks.handle and self.dragged_lr is not None:
                return  # the browser syncs the handle it is dragging
            if change_or_mark is chart.marks.range_handles and self.dragged_range is not None:
                return
            chart.redraw_selection()
