"""A sweep family drawn live into one chart, and which member a pick belongs to (no Keras).

:class:`FamilyLive` is what :class:`lrwidget.LRFinderWidget` holds when it is given
``vary=``: the members' curves appear one after another in one chart, each in its own colour
with a legend naming it (``weight_decay=1e-4``); the finished members stay drawn while the
next one runs. For a family of repeats (``vary={"seed": [...]}``) the finished repeats are
drawn as their median curve with a band from the lowest to the highest of their smoothed
curves instead of one line each. A click on a point of a member's curve picks that member and
that LR, snapped to that member's candidates; any other pick of an LR that is one member's
candidate picks that member.

Threads as for one sweep: :meth:`FamilyLive.draw_live` runs in the sweep's thread and writes
the running member's data marks only; everything else runs in the kernel's thread.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from . import selection, style
from .family import SEED, SweepFamily, check_vary, family_members, member_label
from .figure import thin_index
from .result import SweepResult
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
    """Draws a family into ``chart`` (an :class:`~lrwidget.chart.LRChart`) as it is swept.

    Parameters
    ----------
    chart : LRChart
        The chart to draw into; its ``selected_lr`` stays the LR of the pick.
    vary : dict
        As for :func:`lrwidget.find_lr_family` (checked here too).
    """

    def __init__(self, chart, vary):
        self.chart = chart
        self.vary = check_vary(vary)
        self.members = family_members(self.vary)
        self.repeats = list(self.vary) == [SEED]
        self.finished: list[SweepResult] = []
        self.index = -1  # the member running (or last run)
        self.family: SweepFamily | None = None  # the last family swept
        self.member: dict | None = None  # the picked member's settings
        self._shown: list[tuple[dict, SweepResult]] = []  # per series: its setting, its result
        self._clicked = False  # a curve was clicked: its member holds for the pick that follows
        chart.observe(self._on_lr, "selected_lr")
        chart.marks.readout.on_element_click(self._on_curve_click)

    # --- the sweep's hooks (the sweep's thread) ---------------------------------------------------
    def start(self) -> dict:
        """A new family: nothing finished yet. Returns the arguments of
        :func:`lrwidget.find_lr_family` that feed this view."""
        self.finished, self.index, self.family, self.member = [], -1, None, None
        return {"vary": self.vary, "on_member": self.on_member, "on_member_end": self.on_member_end}

    def on_member(self, index: int, member: dict):
        self.index = index

    def on_member_end(self, index: int, result: SweepResult):
        self.finished.append(result)

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
            self._draw_band(0, median.lrs, low, high)
            self._shown = [({}, median)]
            return 1
        labels = [member_label(m) for m in self.members[: len(results)]]
        chart.set_results(results, labels, keep_selection=keep_selection, picture=False)
        self._shown = [
            ({k: v for k, v in m.items() if k != SEED or not self.repeats}, r)
            for m, r in zip(self.members, results, strict=False)
        ]
        return len(results)

    def _draw_band(self, i, lrs, low, high):
        line = self.chart.marks.raw[i]
        idx = thin_index(len(lrs))
        with line.hold_sync():
            line.x = np.asarray(lrs, dtype=np.float64)[idx]
            line.y = np.array([low[idx], high[idx]], dtype=np.float32)
            line.fill = "between"
            line.fill_colors = [style.series_color(i)]
            line.fill_opacities = [BAND_OPACITY]

    def begin_member(self, lrs):
        """Show the finished members and make room for the one starting (kernel thread)."""
        chart, plot, index = self.chart, self.chart.plot, self.index
        with plot.lock:
            finished = list(self.finished[:index])
            if not finished:
                chart.begin_live(lrs)
            n = self._draw_finished(finished)
            plot.set_series_count(n + 1)
            chart.marks.smoothed[n].labels = [member_label(self.members[index])]
            self._running_series = n

    def draw_live(self, live):
        """Draw the running member's curve so far (the sweep's thread); returns the snapshot."""
        so_far = live.snapshot()
        plot = self.chart.plot
        with plot.lock:
            i = getattr(self, "_running_series", None)
            if live.n and i is not None and i < len(plot.marks.raw):
                plot.draw_partial_curve(live.lrs, live.losses, so_far.smoothed, index=i)
        return so_far

    def refresh_live(self, so_far):
        """The loss window over the finished members and the running one (kernel thread)."""
        windows = [style.result_window(r) for _, r in self._shown] + [style.result_window(so_far)]
        self.chart.plot.set_y_window(style.joint_window(windows))

    def show_family(self, family: SweepFamily | None) -> SweepResult | None:
        """Draw a finished (or stopped) family and select its pick (kernel thread); returns
        its last member's sweep, stopped if the family was, for the progress line."""
        self._running_series = None
        if family is None:
            return None
        self.family = family
        with self.chart.plot.lock:
            self._draw_finished(family.results, keep_selection=False)
            pick = family.pick
            if pick is not None:
                self.chart.selected_lr = pick.lr
                self.member = dict(pick.setting)
        if not family.results:
            return None
        last = family.results[-1]
        stopped = family.meta.get("stop_reason") == "stopped"
        return dataclasses.replace(last, stop_reason="stopped") if stopped else last

    # --- which member a pick belongs to -------------------------------------------------------
    def _on_curve_click(self, mark, content):
        """A click on a point of a curve (the readout's points lie on them): that member, and
        the LR snapped to that member's candidates."""
        data = content.get("data") if isinstance(content, dict) else None
        if not isinstance(data, dict) or not self._shown:
            return
        lr, loss = selection.to_float(data.get("x")), selection.to_float(data.get("y"))
        if not (selection.is_lr(lr) and np.isfinite(loss)):
            return
        setting, result = min(self._shown, key=lambda shown: _distance(shown[1], lr, loss))
        landed = selection.pick_lr(lr, self.chart.swept_range, result.candidates, self.chart.snap)
        if landed is None:
            return
        self._clicked = True
        try:
            self.member = dict(setting)
            self.chart.selected_lr = landed
        finally:
            self._clicked = False

    def _on_lr(self, change):
        if self._clicked or change["new"] is None:
            return
        owners = [s for s, r in self._shown if any(c.lr == change["new"] for c in r.candidates)]
        if owners:
            self.member = dict(owners[0])

    @property
    def selected(self) -> dict:
        """The picked member's settings and ``learning_rate``."""
        return {"learning_rate": self.chart.selected_lr, **(self.member or {})}

    def status_parts(self) -> list[str]:
        """The status line of the family shown: members, pick, spread, notes, the selection."""
        family = self.family
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
        return parts


def _distance(result: SweepResult, lr: float, loss: float) -> float:
    """How far ``(lr, loss)`` lies from ``result``'s smoothed curve, in loss, at that LR."""
    head = result.useful
    if head == 0:
        return np.inf
    lrs, smoothed = result.lrs[:head], result.smoothed[:head]
    if not lrs[0] <= lr <= lrs[-1]:
        return np.inf
    return abs(float(np.interp(np.log(lr), np.log(lrs), smoothed)) - loss)
