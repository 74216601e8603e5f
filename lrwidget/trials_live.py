"""Trials drawn live: each trial's loss against its step in a panel under the LR chart, a marker
at each tried LR on the chart, and the winner selected (no Keras).

:class:`TrialsLive` is the finder's view of trials (a :class:`~lrwidget.run_view.RunView`):
:meth:`lrwidget.LRFinderWidget.try_lrs` runs :func:`lrwidget.try_lrs` through the finder's
runner and this view draws it. The panel (CSS class ``lrwidget-trials``) is a
:class:`~lrwidget.panel.PlotPanel` with a linear step axis, one line per trial in the colour of
that trial's square on the LR chart (:func:`lrwidget.style.trial_color`); it unfolds (in
``box``, which the finder shows under the chart) with the first trial. When the trials end,
the winner is drawn bold, named "winner" on the chart and selected, with its settings when the
trials were a family's members. A click on a trial's line
or on its square selects that trial's LR through the chart's ``pick``, exactly (no snapping).

Threads as for a sweep: :meth:`TrialsLive.draw_live` runs in the run's thread and writes the
running trial's line only; everything else runs in the kernel's thread.
"""

from __future__ import annotations

import dataclasses
import time

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from . import style
from .panel import PlotPanel, draw_line, partial
from .runner import Ending, LiveCurve, eta
from .trials import Trials

PANEL_HEIGHT = "260px"


class LiveTrials:
    """Running trials: one :class:`~lrwidget.runner.LiveCurve` per trial over its steps, built
    from :func:`lrwidget.try_lrs`'s ``on_start(lrs, steps)`` and fed by its
    ``on_point(trial, step, loss)``; the runner's live record for trials."""

    def __init__(self, lrs, steps: int, settings=None):
        self.lrs = np.asarray(lrs, dtype=np.float64)
        self.steps = int(steps)
        self.settings = settings
        self.curves = [LiveCurve(np.arange(1, self.steps + 1)) for _ in self.lrs]
        self.trial = 0  # the trial running
        self.started = time.perf_counter()

    @property
    def n(self) -> int:
        return sum(c.n for c in self.curves)

    @property
    def planned(self) -> int:
        return len(self.curves) * self.steps

    def point(self, trial: int, step: int, loss: float):
        self.trial = trial
        self.curves[trial].add(step, loss)

    def eta(self) -> float | None:
        return eta(self.started, self.n, self.planned)

    def snapshot(self, stop_reason: str = "stopped", **meta) -> Trials:
        """The trials so far as a record (the running one unscored: ``stop_reason`` is not
        ``"complete"``)."""
        return Trials(
            lrs=self.lrs,
            steps=self.steps,
            losses=tuple(c.y[: c.n].copy() for c in self.curves),
            settings=self.settings,
            stop_reason=stop_reason,
            meta={"num_steps": self.planned, "steps_done": self.n, **meta},
        )

    def interrupted(self, exc: BaseException) -> Trials | None:
        """What Jupyter's interrupt keeps: the record the engine put on the exception, else
        the trials so far."""
        kept = getattr(exc, "trials", None)
        if kept is None and getattr(exc, "record", None) is not None:  # a stopped run's
            kept = dataclasses.replace(exc.record, stop_reason="interrupted")
        return kept if kept is not None else self.snapshot("interrupted")


class TrialsLive:
    """Trials drawn into a panel of their own and onto ``chart``.

    Parameters
    ----------
    chart : LRChart
        The LR chart: the trials' squares are drawn on it, and every pick goes through its
        ``pick``.
    engine : callable
        ``engine(lrs=, steps=, settings=, **hooks)`` runs the trials (the finder's
        :func:`lrwidget.try_lrs` call) and returns a :class:`~lrwidget.Trials`.
    member : lrwidget.run_view.Member
        Where the picked trial's settings are kept (shared with the finder's other views).
    """

    def __init__(self, chart, engine, member):
        self.chart = chart
        self.engine = engine
        self.picked = member
        self.record: Trials | None = None
        self.plan: dict = {}  # the next run's lrs, steps and settings (see :meth:`prepare`)
        self.panel = PlotPanel(
            x_scale=bq.LinearScale(),
            x_label="training step (trial at a constant LR)",
            y_label="loss",
            lock=chart.lock,
            css_class="lrwidget-trials",
            height=PANEL_HEIGHT,
            x_tick_format="d",
        )
        self.figure = self.panel.figure
        # What the finder shows under the chart: the panel, folded away (no height) until the
        # first trial. Not hidden, nor added later: bqplot lays out a figure drawn while it has
        # no size with negative sizes (console errors), and does not lay it out again.
        self.box = widgets.VBox([self.figure], layout=widgets.Layout(overflow="hidden"))
        self.box.add_class("lrwidget-trials-box")
        self._fold(True)
        self.lines: list[bq.Lines] = []
        chart.observe(self._on_lr, "selected_lr")

    # --- the run ----------------------------------------------------------------------------
    def prepare(self, lrs, steps: int | None = None, settings=None):
        """The next run: ``lrs`` (a list, or a sweep whose reading chooses them), ``steps`` per
        trial (None: the engine's default) and one settings dict per LR (a family's members':
        a pick of that trial selects them)."""
        self.plan = {"lrs": lrs, "steps": steps, "settings": settings}

    def run(self, **hooks) -> Trials:
        return self.engine(**self.plan, **hooks)

    def live(self, lrs, steps) -> LiveTrials:
        return LiveTrials(lrs, steps, self.plan.get("settings"))

    def begin(self, live: LiveTrials):
        """One empty line per trial, the squares on the chart, the panel shown (kernel
        thread)."""
        with self.chart.lock:
            self.record = None
            self._make_lines(len(live.lrs), live.snapshot().labels)
            self.panel.show_x(1, max(live.steps, 2))
            self.chart.plot.draw_tried(live.lrs, None)
            self._fold(False)

    def _make_lines(self, n: int, labels: list[str], empty: bool = True):
        while len(self.lines) < n:
            i = len(self.lines)
            line = bq.Lines(
                x=[],
                y=[],
                scales=self.panel.xy,
                colors=[style.trial_color(i)],
                stroke_width=style.TRIAL_WIDTH,
                display_legend=True,
            )
            line.on_element_click(lambda _mark, _content, i=i: self.pick_trial(i))
            self.lines.append(line)
        del self.lines[n:]
        for line, label in zip(self.lines, labels, strict=True):
            line.labels = [label]
            line.stroke_width, line.line_style = style.TRIAL_WIDTH, "solid"
            if empty:
                with line.hold_sync():
                    line.x, line.y = np.zeros(0), np.zeros(0)
        self.panel.set_marks(list(self.lines))

    def draw_live(self, live: LiveTrials):
        """The running trial's line so far (the run's thread); returns its trials so far."""
        t = live.trial
        curve = live.curves[t]
        if t < len(self.lines) and curve.n:
            draw_line(self.lines[t], curve.x, partial(curve.y, curve.n, curve.planned))
        return [c.y[: c.n] for c in live.curves]

    def refresh_live(self, so_far):
        """The loss window over the trials so far (kernel thread)."""
        self.panel.set_y_window(style.trials_window(so_far))

    def ended(self, record, error):
        if error is not None:
            record = getattr(error, "trials", None)
        if record is not None:
            self.record = record
        return record

    def show_end(self, trials: Trials | None) -> Ending | None:
        """Draw the trials' final lines, mark the winner and select it (kernel thread)."""
        if trials is None:
            return None
        winner = trials.winner_index
        with self.chart.lock:
            self._make_lines(len(trials), trials.labels, empty=False)
            for i, (line, losses) in enumerate(zip(self.lines, trials.losses, strict=True)):
                draw_line(line, np.arange(1, len(losses) + 1), losses)
                line.line_style = "dotted" if trials.outcomes[i] == "diverged" else "solid"
                if i == winner:
                    line.stroke_width = style.BEST_WIDTH
                    line.labels = [f"{trials.labels[i]} (winner)"]
            self.panel.set_y_window(style.trials_window(trials.losses, trials.outcomes))
            self.chart.plot.draw_tried(trials.lrs, winner)
            if winner is not None:
                self.pick_trial(winner)
        planned = len(trials) * trials.steps
        done = sum(len(losses) for losses in trials.losses)
        return Ending(done, planned, trials.stop_reason)

    def clear(self):
        """Hide the panel and the squares: a new sweep makes these trials stale."""
        self.record = None
        with self.chart.lock:
            self._make_lines(0, [])
            self.chart.plot.draw_tried([], None)
            self._fold(True)

    def _fold(self, folded: bool):
        self.box.layout.height = "0px" if folded else None

    @property
    def shown(self) -> bool:
        """True while the panel is unfolded (from the first trial until a new sweep)."""
        return self.box.layout.height != "0px"

    # --- picks ----------------------------------------------------------------------------
    def pick_trial(self, i) -> bool:
        """Select trial ``i``'s LR (and its member's settings) through the chart's pick."""
        trials = self.record
        if trials is None or not isinstance(i, int | np.integer) or not 0 <= i < len(trials):
            return False
        self._set_member(int(i))
        return self.chart.pick(float(trials.lrs[i]), snap=False)

    def _set_member(self, i: int):
        if self.record is not None and self.record.settings is not None:
            self.picked.setting = dict(self.record.settings[i])

    def _on_lr(self, change):
        # A pick of a tried LR (its square, the menu) selects that trial's member too.
        trials, lr = self.record, change["new"]
        if trials is None or lr is None or trials.settings is None:
            return
        hits = np.flatnonzero(trials.lrs == lr)
        if len(hits):
            self._set_member(int(hits[0]))

    def curve_candidates(self, lr: float, loss: float) -> list | None:
        return None  # the trials draw no curve on the LR chart

    def progress_prefix(self) -> str:
        return "trials · "

    def live_status_parts(self) -> list[str]:
        return ["trying LRs: each trial trains from the same start at one LR"]

    def status_parts(self) -> list[str]:
        return [] if self.record is None else style.trials_status(self.record)

    def picture(self) -> dict:
        """What the static picture adds for the trials shown (nothing before any)."""
        return {} if self.record is None else {"trials": self.record}
