"""What the finder shows: one interface for each kind of run it draws, and the single sweep's.

A finder (:class:`lrwidget.LRFinderWidget`) holds a list of views, one per kind of run it can
start: a single sweep (:class:`SweepView`, here) or a family
(:class:`lrwidget.family_live.FamilyLive`), then the trials
(:class:`lrwidget.trials_live.TrialsLive`). It runs one at a time through its runner and hands
every step of that run to the view that started it, without knowing which kind it is. A view
(:class:`RunView`) knows its engine call, its live record, how it draws itself while it runs
and once it has ended (an interrupt and an error included), its progress prefix and its part
of the status line.

Threads, as for the runner (:mod:`lrwidget.runner`): ``run``, ``live``, ``draw_live`` and
``ended`` run in the run's thread and write data marks only; ``begin``, ``refresh_live`` and
``show_end`` run in the kernel's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from .result import SweepResult
from .runner import NOTHING_TO_TRY, Ending, LiveSweep, ending


class Member:
    """The settings the pick belongs to, beside its LR (a family member's; None for one
    sweep). Shared by the views of one finder: whichever picks a member sets it."""

    def __init__(self):
        self.setting: dict | None = None


class RunView(Protocol):
    """One kind of run, drawn into the finder's chart (or a panel of its own).

    Attributes
    ----------
    record
        The last record shown (None before any): a :class:`~lrwidget.SweepResult`, a
        :class:`~lrwidget.SweepFamily` or a :class:`~lrwidget.Trials`.
    """

    record: object

    def run(self, **hooks) -> object:
        """Run the engine with the runner's hooks (``on_start``, ``on_point``, ``stop_event``);
        returns the record (the run's thread)."""

    def live(self, *started) -> object:
        """The live record, from the arguments of the engine's ``on_start``."""

    def begin(self, live) -> None:
        """Make room for the run starting (kernel thread)."""

    def draw_live(self, live) -> object:
        """Draw the points so far (the run's thread; data marks only); returns what
        :meth:`refresh_live` needs."""

    def refresh_live(self, so_far) -> None:
        """Everything else a live update changes: windows, selection (kernel thread)."""

    def ended(self, record, error: BaseException | None) -> object:
        """The record to show for a run that returned ``record`` or raised ``error`` (the
        run's thread); kept as :attr:`record` when not None."""

    def show_end(self, record) -> Ending | None:
        """Draw the ended run and select its pick (kernel thread); None: nothing to say."""

    def clear(self) -> None:
        """Forget what is shown: a run of a view before this one made it stale."""

    def to_try(self) -> dict:
        """A sweep view's default trials: the arguments of
        :meth:`lrwidget.trials_live.TrialsLive.prepare` (a ``ValueError`` before any sweep)."""

    def curve_candidates(self, lr: float, loss: float) -> list | None:
        """For a click on a curve of the LR chart at ``(lr, loss)``: the candidates it snaps to
        when the curve is this view's and says which (a family member's), else None."""

    def progress_prefix(self) -> str:
        """What the progress text starts with while it runs (``member 2/4 · ``)."""

    def live_status_parts(self) -> list[str]:
        """The status line's parts while it runs."""

    def status_parts(self) -> list[str]:
        """The status line's parts once it has ended (empty: nothing to say)."""


class SweepView:
    """One sweep, drawn live into ``chart`` (:class:`~lrwidget.chart.LRChart`).

    Parameters
    ----------
    chart : LRChart
        Draws the curve, its candidates and its suggestion, and holds the pick.
    engine : callable
        ``engine(**hooks)`` runs the sweep (the finder's ``find_lr`` call) and returns a
        :class:`~lrwidget.SweepResult`.
    """

    def __init__(self, chart, engine: Callable[..., SweepResult]):
        self.chart = chart
        self.engine = engine
        self.record: SweepResult | None = None

    def run(self, **hooks) -> SweepResult:
        return self.engine(**hooks)

    def live(self, lrs, settings) -> LiveSweep:
        return LiveSweep(lrs, settings)

    def begin(self, live: LiveSweep):
        self.chart.begin_live(live.lrs)

    def draw_live(self, live: LiveSweep) -> SweepResult:
        return self.chart.draw_live(live)

    def refresh_live(self, so_far: SweepResult):
        self.chart.refresh_live(so_far)

    def ended(self, record, error):
        if record is not None:
            self.record = record
        return record

    def show_end(self, record: SweepResult | None) -> Ending | None:
        if record is None:
            return None
        # The suggestion is pre-selected, unless the user picked during the sweep.
        self.chart.set_results([record], keep_selection=True, picture=False)
        return ending(record)

    def clear(self):
        self.record = None

    def curve_candidates(self, lr: float, loss: float) -> list | None:
        return None  # one curve: every candidate shown is its own

    def to_try(self) -> dict:
        """The sweep itself: its reading chooses the LRs (:func:`lrwidget.trials.default_lrs`)
        and the steps (:func:`lrwidget.trials.default_steps`)."""
        if self.record is None or not len(self.record):
            raise ValueError(NOTHING_TO_TRY)
        return {"lrs": self.record}

    def progress_prefix(self) -> str:
        return ""

    def live_status_parts(self) -> list[str]:
        return self.chart.live_status_parts()

    def status_parts(self) -> list[str]:
        chart = self.chart
        if not chart.results:
            return ["press Run to start the sweep"]
        notes = []
        if chart.results[0].meta.get("interrupted"):
            notes.append("interrupted (Jupyter's interrupt): the curve so far is kept")
        return notes + chart.default_status_parts()
