"""A sweep family drawn live into one chart, and which member a pick belongs to (no Keras).

:class:`FamilyLive` is what :class:`lrwidget.LRFinderWidget` holds when it is given
``vary=``: the members' curves appear one after another in one chart, each in its own colour
with a legend naming it (``weight_decay=1e-4``); the finished members stay drawn while the
next one runs. For a family of repeats (``vary={"seed": [...]}``) the finished repeats are
drawn as their median curve with a band from the lowest to the highest of their smoothed
curves instead of one line each. A click on a point of a member's curve (the smoothed or the
raw one), or anywhere on the plot, picks the member whose curve is nearest at that height and
that LR, snapped to that member's candidates; any other pick of an LR that is one member's
candidate picks that member.

Threads as for one sweep: :meth:`FamilyLive.draw_live` runs in the sweep's thread and writes
the running member's data marks only; everything else runs in the kernel's thread.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import style
from .family import SEED, SweepFamily, check_vary, family_members, member_label
from .result import SweepResult
from .runner import NOTHING_TO_TRY, Ending, LiveSweep, ending
from .style import format_lr

BAND_OPACITY = 0.25  # the repeats' band


def median_result(results: list[SweepResult]) -> tuple[SweepResult, np.ndarray, np.ndarray]:
    """Repeats of one sweep as one: their per-step median loss over the steps all of them
    reached, and the lowest and highest of their smoothed curves there (the band)."""
    n = min(len(r) for r in results)
    median = SweepResult(
        lrs=results[0].lrs[:n],
        losses=np.median([r.losses[:n] for r in results], axis=0),
        stop_reason="completed",
        settings=results[0].settings,
        meta=dict(results[0].meta),
    )
    smoothed = np.array([r.smoothed[:n] for r in results])
    return median, smoothed.min(axis=0), smoothed.max(axis=0)


class FamilyLive:
    """Draws a family into ``chart`` (an :class:`~lrwidget.chart.LRChart`) as it is swept: the
    family's :class:`~lrwidget.run_view.RunView`.

    Parameters
    ----------
    chart : LRChart
        The chart to draw into; its ``selected_lr`` stays the LR of the pick.
    vary : dict
        As for :func:`lrwidget.find_lr_family` (checked here too).
    engine : callable
        ``engine(vary=, on_member=, on_member_end=, **hooks)`` runs the family (the finder's
        ``find_lr_family`` call) and returns a :class:`~lrwidget.SweepFamily`.
    member : lrwidget.run_view.Member
        Where the picked member's settings are kept (``member.setting``: the finder's, shared
        by its views).
    """

    def __init__(self, chart, vary, engine, member):
        self.chart = chart
        self.vary = check_vary(vary)
        self.engine = engine
        self.members = family_members(self.vary)
        self.repeats = list(self.vary) == [SEED]
        self.finished: list[SweepResult] = []
        self.index = -1  # the member running (or last run)
        self.record: SweepFamily | None = None  # the last family shown
        self.picked = member
        self._shown: list[tuple[dict, SweepResult]] = []  # per series: its setting, its result
        self._running_series: int | None = None  # the running member's series
        self._live_steps = (0, 0)  # the running member's steps so far, of planned
        chart.observe(self._on_series, "picked_series")

    @property
    def family(self) -> SweepFamily | None:
        """The last family shown."""
        return self.record

    @property
    def member(self) -> dict | None:
        """The picked member's settings (None: none picked)."""
        return self.picked.setting

    # --- the run (the sweep's thread) ----------------------------------------------------------
    def run(self, **hooks) -> SweepFamily:
        self.finished, self.index, self.record, self.picked.setting = [], -1, None, None
        self._live_steps = (0, 0)
        return self.engine(
            vary=self.vary, on_member=self.on_member, on_member_end=self.on_member_end, **hooks
        )

    def live(self, lrs, settings) -> LiveSweep:
        return LiveSweep(lrs, settings)

    def on_member(self, index: int, member: dict):
        self.index, self._live_steps = index, (0, 0)

    def on_member_end(self, index: int, result: SweepResult):
        self.finished.append(result)

    def ended(self, record, error):
        """The family to show: the one returned, the members finished before an error, or,
        after Jupyter's interrupt (a member's points so far), the finished ones as stopped."""
        if error is not None:
            record = getattr(error, "family", None)
        elif isinstance(record, SweepResult):  # interrupted: the runner kept the member's points
            meta = {"stop_reason": "stopped", "interrupted": True}
            record = SweepFamily(self.vary, self.members, list(self.finished), meta)
        if record is not None:
            self.record = record
        return record

    def progress_prefix(self) -> str:
        """``member 2/4 · `` while a family runs (empty before)."""
        if self.index < 0:
            return ""
        return f"member {self.index + 1}/{len(self.members)} · "

    # --- drawing -------------------------------------------------------------------------------
    def _draw_finished(self, results, *, keep_selection=True):
        """Draw finished members (kernel thread): one line each, or the repeats' median and
        band; returns the number of series drawn."""
        chart = self.chart
        if not results:
            return 0
        if self.repeats and len(results) > 1:
            median, low, high = median_result(results)
            label = f"median of {len(results)} repeats"
            chart.set_results([median], [label], keep_selection=keep_selection, picture=False)
            chart.plot.draw_band(0, median.lrs, low, high, BAND_OPACITY)
            self._shown = [({}, median)]
            return 1
        labels = [member_label(m) for m in self.members[: len(results)]]
        chart.set_results(results, labels, keep_selection=keep_selection, picture=False)
        self._shown = [
            ({k: v for k, v in m.items() if k != SEED or not self.repeats}, r)
            for m, r in zip(self.members, results, strict=False)
        ]
        return len(results)

    def begin(self, live):
        """Show the finished members and make room for the one starting (kernel thread)."""
        chart, index = self.chart, self.index
        with chart.lock:
            finished = list(self.finished[:index])
            if not finished:
                chart.begin_live(live.lrs)
                self._shown = []
            n = self._draw_finished(finished)
            self._running_series = chart.plot.add_series(member_label(self.members[index]), n)

    def draw_live(self, live):
        """Draw the running member's curve so far (the sweep's thread); returns the snapshot."""
        self._live_steps = (live.n, len(live.lrs))
        i = self._running_series
        if i is None:
            return live.snapshot()
        return self.chart.draw_live(live, series=i, candidates=False)

    def refresh_live(self, so_far):
        """The loss window over the finished members and the running one (kernel thread)."""
        windows = [style.result_window(r) for _, r in self._shown] + [style.result_window(so_far)]
        self.chart.plot.set_y_window(style.joint_window(windows))

    def show_end(self, family: SweepFamily | None) -> Ending | None:
        """Draw a finished (or stopped) family and select its pick (kernel thread); its last
        member's progress, stopped if the family was."""
        self._running_series = None
        if family is None:
            return None
        with self.chart.lock:
            self._draw_finished(family.results, keep_selection=False)
            pick = family.pick
            if pick is not None:
                settings = [setting for setting, _ in self._shown]
                series = settings.index(pick.setting) if pick.setting in settings else None
                self.chart.pick(pick.lr, snap=False, series=series)
                self.picked.setting = dict(pick.setting)
        if not family.results:
            return None
        last = ending(family.results[-1])
        interrupted = family.meta.get("interrupted")
        if not interrupted and family.meta.get("stop_reason") != "stopped":
            return last
        if self.index >= len(family.results):  # ended in a member not finished: its steps
            done, planned = self._live_steps
            last = dataclasses.replace(last, done=done, planned=planned or last.planned)
        return dataclasses.replace(last, why="interrupted" if interrupted else "stopped")

    def clear(self):
        self.record = None

    def to_try(self) -> dict:
        """Each finished member's suggestion with that member's optimizer settings, for the
        steps of :meth:`lrwidget.SweepFamily.trial_plan`; a pick of a trial picks those
        settings."""
        plan = self.record.trial_plan() if self.record is not None else {"lrs": []}
        if not plan["lrs"]:
            raise ValueError(NOTHING_TO_TRY)
        return plan

    # --- which member a pick belongs to -------------------------------------------------------
    def curve_candidates(self, lr: float, loss: float) -> list | None:
        """A click on a point of a curve: that member is picked, and the click snaps to its
        candidates (None when no member's curve is shown)."""
        if not self._shown:
            return None
        setting, result = min(self._shown, key=lambda shown: _distance(shown[1], lr, loss))
        self.picked.setting = dict(setting)
        return list(result.candidates)

    def _on_series(self, change):
        # The chart says whose the pick is: the member of the diamond, menu entry or curve
        # picked, or the member whose candidate is at the LR picked (the picked member when
        # several are); None leaves the member as it is.
        i = change["new"]
        if i is not None and 0 <= i < len(self._shown):
            self.picked.setting = dict(self._shown[i][0])

    @property
    def selected(self) -> dict:
        """The picked member's settings and ``learning_rate``."""
        return {"learning_rate": self.chart.selected_lr, **(self.member or {})}

    def live_status_parts(self) -> list[str]:
        return self.chart.live_status_parts()

    def status_parts(self) -> list[str]:
        """The status line of the family shown: members, pick, spread, notes, the selection."""
        family = self.record
        if family is None:
            return ["press Run to sweep the family"]
        parts = [f"{len(family)}/{len(family.members)} members"]
        pick = family.pick
        if pick is not None:
            parts.append(f"pick {pick.label} at {format_lr(pick.lr)}")
        if family.spread is not None:
            what = "between repeats" if self.repeats else "between members"
            parts.append(f"suggestion spread x{family.spread:.2g} {what}")
        parts += family.notes
        chosen = member_label(self.member) if self.member else ""
        parts.append(f"selected {format_lr(self.chart.selected_lr)} {chosen}".rstrip())
        return parts + self.chart.notes()


def _distance(result: SweepResult, lr: float, loss: float) -> float:
    """How far ``(lr, loss)`` lies from ``result``'s curves (the smoothed one or the raw
    one, whichever is nearer), in loss, at that LR."""
    head = result.useful
    if head == 0:
        return np.inf
    lrs = result.lrs[:head]
    if not lrs[0] <= lr <= lrs[-1]:
        return np.inf
    near = [
        abs(float(np.interp(np.log(lr), np.log(lrs), curve[:head])) - loss)
        for curve in (result.smoothed, result.losses)
    ]
    return min((d for d in near if np.isfinite(d)), default=np.inf)
