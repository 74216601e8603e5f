"""The chart's answers to the front end's events: each ends in a pick, or puts the chart back.

:class:`FrontEndEvents` is a part of :class:`lrwidget.chart.LRChart` (a mixin): the figure and
the controls call these methods (their callbacks), and they call the chart's own ``pick``,
``pick_range`` and ``_draw_selection``. No widgets are made here; Save image stays with the
chart's pictures.
"""

from __future__ import annotations

from . import selection
from .selection import is_lr


class FrontEndEvents:
    """Drags of the handles, the "pick a range" box, the menu and the slider, and writes into
    marks only the chart draws, as :class:`~lrwidget.chart.LRChart` answers them."""

    # Each takes the lock: _syncing and the drag state are only read once another thread's
    # redraw is done.
    def _on_drag(self, x: float):
        # The LR follows the pointer; the handle itself is the user's until release, so only
        # the rule and the controls move.
        with self._lock:
            if self.swept_range is None or not is_lr(x):
                return
            self._dragged_lr = self._clamp(x)
            self.selected_lr = self._dragged_lr

    def _on_range_drag(self, index, x: float):
        with self._lock:
            moved = selection.move_end(self.selected_range, index, x, self.swept_range)
            if moved is not None:
                self._dragged_range = moved
                self.selected_range = moved

    def _on_range_drag_end(self, index, x: float):
        current = self.selected_range
        if current is None or index not in (0, 1):
            self.pick_range(None, None)  # refused: puts the handles back
            return
        ends = list(current)
        ends[index] = x
        self.pick_range(*ends, ends=(index,))

    def _on_range_box(self, change):
        with self._lock:
            if self._syncing:
                return
            if not change["new"]:
                self.selected_range = None
            elif self.selected_range is None:
                picked = selection.default_range(self.swept_range, self.selected_lr)
                if picked is None:  # nothing to pick in yet
                    self._draw_selection()
                    return
                self.selected_range = picked

    def _on_control(self, change):
        # The menu and the slider pick exactly the LR they show (the menu's None: no candidate).
        with self._lock:
            if not self._syncing and change["new"] is not None:
                self.pick(change["new"], snap=False)

    def _on_foreign_write(self, change_or_mark):
        with self._lock:
            if self._syncing:
                return
            if change_or_mark is self.marks.handle and self._dragged_lr is not None:
                return  # the browser syncs the handle it is dragging
            if change_or_mark is self.marks.range_handles and self._dragged_range is not None:
                return
            self._draw_selection()
