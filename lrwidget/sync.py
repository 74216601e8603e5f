"""Writing to widgets with as few messages as possible, and hearing what a front end wrote.

Several changes to a widget go out as one message (:func:`hold_sync`); an array equal to the
one a mark holds is not sent again (:func:`set_array`); a mark lrwidget draws itself reports
every write from the front end (:class:`WatchedScatter`, :class:`WatchedLines`,
:class:`WatchedLabel`), so the chart
can take a click or put back what it alone draws.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack, contextmanager

import bqplot as bq
import numpy as np


@contextmanager
def hold_sync(*widgets):
    """Hold the sync of several widgets: each sends one message with all its changes."""
    with ExitStack() as stack:
        for w in widgets:
            stack.enter_context(w.hold_sync())
        yield


def set_array(mark, name: str, value: np.ndarray):
    """Assign an array trait only when it changed (an equal array must not go over the wire)."""
    old = getattr(mark, name)
    same = (
        old is not None
        and (old.dtype, old.shape) == (value.dtype, value.shape)
        and np.array_equal(old, value, equal_nan=True)
    )
    if not same:
        setattr(mark, name, value)


class _Watched:
    """A mark that calls ``after_front_end(mark)`` after every write from the front end, good
    or bad, even one the library failed to apply."""

    def __init__(self, *, after_front_end: Callable[[object], object], **kwargs):
        self._after_front_end = after_front_end
        super().__init__(**kwargs)

    def set_state(self, sync_data):
        try:
            super().set_state(sync_data)
        finally:
            self._after_front_end(self)


class WatchedScatter(_Watched, bq.Scatter):
    pass


class WatchedLines(_Watched, bq.Lines):
    pass


class WatchedLabel(_Watched, bq.Label):
    pass
