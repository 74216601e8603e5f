"""What the chart marks on its curves and lists in its menu, and whose each mark is.

:class:`Marked` is a part the chart holds (``chart.marked``): the candidates as the diamonds
show them, the article's minima, the candidate menu's entries (the candidates by LR, then the
minima while they are shown), each with the index of the sweep it belongs to. Two sweeps'
candidates may share an LR (a family's members on one curve): a diamond or a menu entry names
its sweep, an LR alone does not. Pure Python: no widgets.
"""

from __future__ import annotations

import math

from . import style
from .selection import is_lr, to_float


def is_index(index, n: int) -> bool:
    """Whether a front end's ``index`` names one of ``n`` items."""
    return isinstance(index, int) and not isinstance(index, bool) and 0 <= index < n


OVERLAP_NOTE = (
    "another sweep's candidate lies within a few pixels of this one: the menu lists each "
    "sweep's, named"
)


def _by_lr(tagged: tuple) -> float:
    return tagged[0].lr


class Marked:
    """The candidates and minima shown, as ``(analysis.Candidate, series index)`` pairs."""

    def __init__(self):
        self.shown: list[tuple] = []  # the candidates, as the diamonds show them
        self.candidates: list = []  # the candidates alone, by LR: picks snap to these
        self.minima: list[tuple] = []  # the article's minima, as their crosses show them
        self.show_minima = True
        self.menu: list[tuple] = []  # the menu's entries

    def set_candidates(self, tagged):
        self.shown = list(tagged)
        self.candidates = sorted((c for c, _ in self.shown), key=lambda c: c.lr)
        self._set_menu()

    def set_minima(self, tagged, show: bool):
        self.minima, self.show_minima = list(tagged), bool(show)
        self._set_menu()

    @property
    def minima_shown(self) -> list[tuple]:
        """The minima drawn (none while they are hidden)."""
        return self.minima if self.show_minima else []

    def _set_menu(self):
        self.menu = sorted(self.shown, key=_by_lr) + sorted(self.minima_shown, key=_by_lr)

    def options(self, labels: list[str] | None) -> list[tuple[str, float]]:
        """The menu's ``(label, lr)`` options; ``labels``: the sweeps' legend names when
        several are shown (each entry then says whose it is)."""
        return style.menu_options(self.menu, labels)

    def series_at(self, lr, series: int | None, current: int | None) -> int | None:
        """The sweep a pick at ``lr`` belongs to: ``series`` when the mark picked says so,
        else the sweep whose candidate is at ``lr`` (``current``, the one picked already, when
        several are), else ``current``."""
        if series is not None:
            return series
        owners = [i for c, i in self.shown if c.lr == lr]
        return current if not owners or current in owners else owners[0]

    def menu_entry(self, lr, series: int | None) -> int | None:
        """The menu's entry for a pick at ``lr`` of sweep ``series`` (None: no entry)."""
        at = [k for k, (c, _) in enumerate(self.menu) if c.lr == lr]
        return next((k for k in at if self.menu[k][1] == series), at[0] if at else None)

    def entry(self, index) -> tuple | None:
        """The menu's entry ``index`` as a front end sent it (None: no such entry)."""
        return self.menu[index] if is_index(index, len(self.menu)) else None

    @staticmethod
    def hit(tagged: list[tuple], index, lr) -> tuple | None:
        """The mark clicked: point ``index`` of ``tagged`` when it still lies at ``lr`` (while
        a sweep runs the marks move under the pointer), else None."""
        lr_f = to_float(lr)
        if not is_index(index, len(tagged)) or not is_lr(lr_f):
            return None
        mark = tagged[index]
        return mark if math.isclose(mark[0].lr, lr_f, rel_tol=1e-6) else None

    def overlap_note(self, lr, series: int | None, reach: float) -> str | None:
        """What the status line says of a pick of sweep ``series``'s candidate at ``lr`` when
        another sweep's candidate lies within ``reach`` decades (drawn over or under it)."""
        if series is None or not is_lr(lr):
            return None
        near = [c for c, i in self.shown if i != series and abs(math.log10(c.lr / lr)) <= reach]
        return OVERLAP_NOTE if near else None

    def minimum_note(self, lr) -> list[str]:
        """What a pick at ``lr`` is when it is one of the article's minima shown and no
        candidate (empty otherwise)."""
        on_minimum = any(m.lr == lr for m, _ in self.minima_shown)
        on_candidate = any(c.lr == lr for c in self.candidates)
        return [style.MINIMUM_NOTE] if on_minimum and not on_candidate else []
