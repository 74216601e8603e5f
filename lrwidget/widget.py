"""The learning-rate finder widget: run a sweep, watch it, try a few LRs, pick, apply.

:class:`LRFinderWidget` wires its parts and adds the buttons: an
:class:`~lrwidget.chart.LRChart` (the chart, every way of picking, ``selected_lr``), a
:class:`~lrwidget.runner.SweepRunner` (one run at a time in a thread or in the cell, Stop,
paced live updates; it knows no widgets) and its views (:mod:`lrwidget.run_view`): the sweep's
(one sweep, or a family with ``vary=``) and the trials' (:mod:`lrwidget.trials_live`). Run
starts the sweep view's run, Try (``try_lrs``) the trials view's; the finder hands every step of
a run to the view that started it and never asks which kind it is.

One writer per trait: the sweeping thread only publishes data (the curves, the candidate
markers, the progress); everything the front end can write too (the selection, the dropdown,
the slider, the handle, the axes) is refreshed in the kernel's own thread
(:func:`lrwidget.notebook.call_in_kernel_thread`).

A new finder replaces the old one: made on a model whose sweep another finder runs, or by a
notebook cell run again (JupyterLab and Notebook 7 say which cell runs), it stops the old
finder's sweep and waits for its batch (the model is restored as after any Stop). That is
what re-running the finder's cell means: the old view is gone with the cell's output, and
nothing else could reach its sweep. A finder made before the other sweep started does not
stop it by itself: its Run is refused with a message that names the other sweep, and the
button then offers "Stop other & run" (``run(stop_other=True)``). Closing a finder
(``finder.close()``) stops its sweep too. (A finder is never garbage-collected while it
sweeps or while its front-end model is open: ipywidgets keeps every open widget.)

Errors: a sweep's error is shown under the buttons in full (``lrwidget-messages``) and its
cause in the status line; ``run(block=True)``, a sweep in the cell's thread and :meth:`wait`
raise it.

Hooks for browser tests: the figure has the CSS class ``lrwidget-figure`` (the order of its
marks is documented in :mod:`lrwidget.figure`), the buttons ``lrwidget-run``, ``lrwidget-stop``,
``lrwidget-apply`` and ``lrwidget-try``, the status line ``lrwidget-status``, the error area
``lrwidget-messages``, the trials' panel ``lrwidget-trials`` (in ``lrwidget-trials-box``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import ipywidgets as widgets
from traitlets import Bool, link, observe, validate

from .applying import Applier, PickSchedules
from .chart import LRChart
from .controls import RunControls
from .failure import cause, report
from .family import SweepFamily
from .family_live import FamilyLive
from .keras_family import apply_settings, check_family, find_lr_family
from .keras_sweep import check_model, check_sweep_range, find_lr
from .keras_trials import try_lrs as keras_try_lrs
from .notebook import NotebookDisplay, call_in_kernel_thread, in_colab
from .result import AnalysisSettings, SweepResult
from .run_view import Ending, Member, RunView, SweepView
from .runner import ALREADY_RUNNING, SweepRunner
from .schedules import Cyclic, EpochDecay, OneCycle
from .selection import LearningRate, LearningRateRange
from .takeover import STOP_OTHER, OtherSweepRunning, free_model, take_over
from .trials_live import TrialsLive

_FIND_LR = inspect.signature(find_lr).parameters
HOOKS = ("on_start", "on_point", "stop_event")  # the widget's own
# find_lr's keyword-only arguments: everything but the model, the data and the hooks.
SWEEP_ARGS = tuple(
    name for name, p in _FIND_LR.items() if p.kind is p.KEYWORD_ONLY and name not in HOOKS
)
SETTINGS = tuple(f.name for f in dataclasses.fields(AnalysisSettings))
# The finder's arguments that its trials take too (the data's batch size, validation ...).
TRY_ARGS = set(inspect.signature(keras_try_lrs).parameters) & set(SWEEP_ARGS)


class LRFinderWidget(NotebookDisplay, widgets.VBox):
    """A live, steerable LR range test on a Keras model.

    Parameters
    ----------
    model : keras.Model
        A compiled model; the sweep leaves it bitwise unchanged (only :meth:`apply` changes
        its learning rate). If another finder's sweep runs on it (its cell was re-run), that
        sweep is stopped. None makes a finder without a model (its Run reports that).
    x, y
        The training data, as for :func:`lrwidget.find_lr`.
    vary : dict, optional
        Sweep a family (:func:`lrwidget.find_lr_family`, about K sweeps' time for K members)
        into one chart; see :class:`lrwidget.family_live.FamilyLive`.
    **sweep_args
        Any other argument of :func:`lrwidget.find_lr` (``batch_size``, ``start_lr``,
        ``end_lr``, ``num_steps``, ``validation_data``, ``callbacks``, ...), except the
        hooks ``on_start``, ``on_point`` and ``stop_event``, which the widget uses itself.

    Examples
    --------
    >>> finder = LRFinderWidget(model, x_train, y_train, batch_size=128)
    >>> finder            # doctest: +SKIP  (displays the chart; click Run, or:)
    >>> finder.run(block=True)
    >>> finder.selected_lr, finder.apply()
    """

    selected_lr = LearningRate(
        None,
        allow_none=True,
        help="The chosen learning rate, as the chart holds it (clicks, drags, dropdown, "
        "slider, or set from Python: validated by the chart, refused outside the swept range). "
        "None: none yet.",
    )
    selected_range = LearningRateRange(
        None,
        allow_none=True,
        help="The picked LR range (low, high), as the chart holds it; the bounds of "
        "one_cycle_schedule() and cyclic_schedule(). None: no range picked.",
    )
    snap = Bool(True, help="Snap picks on the plot to the nearest candidate (see LRChart.snap).")
    running = Bool(
        False,
        read_only=True,
        help="True from run() until the sweep has ended and the chart shows its result.",
    )

    def __init__(self, model, x, y=None, *, vary=None, **sweep_args):
        start, end = _check_args(model, x, y, vary, sweep_args)
        self.model, self.x, self.y, self.sweep_args = model, x, y, dict(sweep_args)
        # The runner runs the active view's run and feeds that view (see run_view.py).
        self.runner = SweepRunner(
            lambda **hooks: self._active.run(**hooks),
            on_start=self._on_start,
            on_update=self._on_update,
            on_end=self._on_end,
            on_claim=lambda: self.set_trait("running", True),
            key=None if model is None else id(model),
            live=lambda *started: self._active.live(*started),
        )
        self._notice = take_over(model, self.runner)  # said in the status line until a Run
        # This widget is the one shown: its status line and its picture.
        self.chart = LRChart(
            status_parts=self._status_parts,
            on_picture=self.refresh_static,
            curve_owner=self._curve_owner,
            picture_extra=lambda: self.trials_view.picture(),
        )
        self.member = Member()  # the settings of the pick's member, beside selected_lr
        self.schedules = PickSchedules(self)
        self.applier = Applier(self, apply_settings)
        # What the finder shows, one view per kind of run: the sweep (one, or a family).
        sweep: RunView = (
            SweepView(self.chart, self._find_lr)
            if vary is None
            else FamilyLive(self.chart, vary, self._find_lr_family, self.member)
        )
        self.trials_view = TrialsLive(self.chart, self._try_lrs, self.member)
        self.views: list[RunView] = [sweep, self.trials_view]
        self._active: RunView = sweep  # the view whose run runs (or ran last)
        self.buttons = RunControls(
            on_run=self._on_run_click,
            on_stop=lambda _: self.stop(),
            on_apply=lambda b: self.applier.click(b),
            on_try=self._on_try_click,
            stop_other=STOP_OTHER,
        )
        b = self.buttons
        for name in ("run_button", "stop_button", "apply_button", "try_button", "progress"):
            setattr(self, name, getattr(b, name))  # by name for tests, as before
        self.progress_text = b.progress_text
        # A sweep's error in full, next to the button that started it.
        self.messages = widgets.Output(layout=widgets.Layout(max_height="240px", overflow="auto"))
        self.messages.add_class("lrwidget-messages")
        super().__init__(children=[b.row, self.messages, self.chart, self.trials_view.box])
        self.add_class("lrwidget")
        link((self.chart, "snap"), (self, "snap"))
        self.chart.observe(self._chart_selected, ["selected_lr", "selected_range"])
        self.chart.show_range(float(start), float(end))
        self._update_buttons()
        self.chart.update_status()

    # --- the choice lives in the chart ----------------------------------------------------
    @validate("selected_lr", "selected_range")
    def _through_chart(self, proposal):
        # The chart validates and clamps (traitlets skips this for None: see _to_chart).
        name = proposal["trait"].name
        setattr(self.chart, name, proposal["value"])
        return getattr(self.chart, name)

    @observe("selected_lr", "selected_range")
    def _to_chart(self, change):
        setattr(self.chart, change["name"], change["new"])

    def _chart_selected(self, change):
        setattr(self, change["name"], change["new"])

    def pick(self, lr, snap: bool | None = None) -> bool:
        """Select ``lr`` as a front-end pick does; see :meth:`LRChart.pick`."""
        return self.chart.pick(lr, snap)

    def static_png(self) -> bytes | None:
        """The chart and the trials as a PNG (None before any sweep); see :meth:`save_image`."""
        return self.chart.static_png()

    def save_image(self, path="lr_finder.png"):
        """Save the chart (and the trials under it) as a PNG or SVG picture, by ``path``'s
        suffix; returns the path."""
        return self.chart.save_image(path)

    @property
    def figure(self):
        """The bqplot figure."""
        return self.chart.figure

    @property
    def status(self) -> widgets.HTML:
        """The status line under the chart (``chart.status_text`` reads it as plain text)."""
        return self.chart.status

    status_text = property(lambda self: self.chart.status_text, doc="The status, as plain text.")

    # --- the sweep -----------------------------------------------------------------------
    def run(
        self, block: bool = False, *, background: bool | None = None, stop_other: bool = False
    ) -> SweepResult | SweepFamily | None:
        """Start a sweep.

        Parameters
        ----------
        block : bool
            Wait for the sweep to end and return its result; an exception in the sweep is then
            raised here too. While it waits, the cell still answers Stop and picks.
        background : bool, optional
            Where the sweep runs. True: in a background thread, so the kernel stays free for
            other cells. False: in this cell's own thread; the call returns when the sweep
            ends, the chart draws live meanwhile and Stop, picks and Jupyter's interrupt button
            are answered between batches (an interrupt restores the model and raises
            ``KeyboardInterrupt``). Default: True, except in Colab, which does not draw widget
            updates sent from a background thread.
        stop_other : bool
            If another finder's sweep runs on the same model, stop it (the model is restored)
            and start this one, instead of refusing.

        Returns
        -------
        SweepResult, SweepFamily (with ``vary=``) or None
            None when the sweep goes on in the background (see :meth:`wait` and ``result``);
            an error it ends with is then shown under Run, and :meth:`wait` raises it.

        Raises
        ------
        RuntimeError
            If a sweep is already running (this widget's, or another one on the same model:
            then an ``OtherSweepRunning`` that says how to stop it).
        """
        return self._start(self.views[0], block, background, stop_other)

    def _start(self, view: RunView, block: bool, background: bool | None, stop_other: bool):
        """Run ``view``'s run through the runner; what a later view drew from the last one
        is cleared."""
        if background is None:
            background = not in_colab()
        try:
            if self.running:  # the last run's end is not drawn yet: it is not over
                raise RuntimeError(ALREADY_RUNNING)
            free_model(self.model, self.runner, stop_other)
        except RuntimeError as exc:
            self.chart.set_status(str(exc))
            raise
        self._notice = None
        self.messages.outputs = ()
        self._active = view
        for later in self.views[self.views.index(view) + 1 :]:
            later.clear()
        return self.runner.start(background=background, block=block)

    def try_lrs(self, lrs=None, steps=None, block=False, *, background=None):
        """Train a short run at each of a few LRs from the model's state, drawn live under the
        chart; the winner is selected and the model is put back as it was.

        Parameters
        ----------
        lrs : list of float, optional
            The LRs to try. Default: what the last sweep's reading proposes
            (:func:`lrwidget.trials.default_lrs`); after a family, each member's suggestion with
            that member's settings (the trials' winner becomes the family's pick).
        steps : int, optional
            Per trial. Default: 200, fewer after a short sweep or family members' sweeps
            (:func:`lrwidget.trials.default_steps`, :meth:`~lrwidget.SweepFamily.trial_plan`).
        block, background
            As for :meth:`run`: Stop ends the trials (the finished ones are kept), and so does
            Jupyter's interrupt in the cell's thread.

        Returns
        -------
        Trials or None
            The trials (also ``finder.trials``); None while they go on in the background.
        """
        plan = self.views[0].to_try() if lrs is None else {"lrs": list(lrs)}
        self.trials_view.prepare(**{**plan, "steps": plan.get("steps") if steps is None else steps})
        return self._start(self.trials_view, block, background, stop_other=False)

    @property
    def trials(self):
        """The last trials' record (:class:`~lrwidget.Trials`), or None."""
        return self.trials_view.record

    def stop(self):
        """Ask the running sweep to end after the current batch (no-op when none runs).

        The model is restored as after any sweep; the result has ``stop_reason="stopped"``.
        """
        self.runner.stop()

    def close(self):
        """Close the widget and its views; a sweep it runs stops after its current batch (the
        model is restored)."""
        runner = getattr(self, "runner", None)  # None: closed before it was built
        if runner is not None:
            runner.stop(note="stopped: the widget was closed")
        super().close()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background sweep to end and its result to be drawn; True if none is
        running any more. In a notebook cell the wait answers the front end (Stop, picks).

        Raises the exception that ended the sweep, if one did (it stays in ``error``)."""
        self.runner.wait(timeout)
        if self.error is not None and not self.running:
            raise self.error
        return not self.running

    @property
    def result(self) -> SweepResult | SweepFamily | None:
        """The last sweep's result (a family's: a ``SweepFamily``); during a sweep, a snapshot
        of the points so far (``stop_reason="running"``); None before the first sweep."""
        sweep = self.views[0]
        if self.running and self._active is sweep:
            return self.runner.result
        return sweep.record

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the last sweep, or None."""
        return self.runner.error

    # The engines, reading sweep_args when the run starts: a change between runs counts.
    def _find_lr(self, **hooks) -> SweepResult:
        return find_lr(self.model, self.x, self.y, **self.sweep_args, **hooks)

    def _find_lr_family(self, **hooks):
        return find_lr_family(self.model, self.x, self.y, **self.sweep_args, **hooks)

    def _try_lrs(self, **kwargs):
        shared = {k: v for k, v in self.sweep_args.items() if k in TRY_ARGS}
        return keras_try_lrs(self.model, self.x, self.y, **shared, **kwargs)

    # Called in the sweeping thread: data goes out from here, the rest is handed over.
    def _on_start(self, live):
        call_in_kernel_thread(functools.partial(self._active.begin, live))
        self._on_update(live)

    def _on_update(self, live):
        view = self._active
        so_far = view.draw_live(live)
        self._draw_progress(live.n, live.planned, live.eta())
        call_in_kernel_thread(functools.partial(view.refresh_live, so_far))

    def _on_end(self, result, error: BaseException | None):
        record = self._active.ended(result, error)  # e.g. the members finished before an error
        call_in_kernel_thread(functools.partial(self._show_end, self._active, record, error))

    def _show_end(self, view: RunView, record, error: BaseException | None = None):
        try:
            if error is not None:
                self.messages.append_stderr(report(error))
            ended: Ending | None = view.show_end(record)  # drawn, its pick selected
            if ended is not None:
                self._draw_progress(ended.done, ended.planned, None, ended.why)
        finally:  # never stay "running", even if drawing failed
            self.set_trait("running", False)
            self.chart.update_status()
        if record is not None:
            self.refresh_static()  # last: Run is ready again before matplotlib draws

    def _curve_owner(self, lr: float, loss: float) -> list | None:
        """The candidates a click on a curve of the chart snaps to: the first view's that owns
        that curve (a family member's), else None (every candidate shown)."""
        owned = (view.curve_candidates(lr, loss) for view in self.views)
        return next((c for c in owned if c is not None), None)

    @property
    def family(self) -> FamilyLive | None:
        """The family view when the finder sweeps a family (``vary=``), else None."""
        return next((v for v in self.views if isinstance(v, FamilyLive)), None)

    # --- schedules from the pick (lrwidget/pick_schedules.py) ---------------------------------
    def one_cycle_schedule(self, total_steps: int, **kwargs) -> OneCycle:
        """A one-cycle schedule over ``selected_range``; see :meth:`PickSchedules.one_cycle`."""
        return self.schedules.one_cycle(total_steps, **kwargs)

    def cyclic_schedule(self, step_size: int) -> Cyclic:
        """A triangular cyclical schedule over ``selected_range``; see
        :meth:`PickSchedules.cyclic`."""
        return self.schedules.cyclic(step_size)

    def decay_callback(self, factor: float = 0.97) -> EpochDecay:
        """A per-epoch decay from ``selected_lr``; see :meth:`PickSchedules.decay`."""
        return self.schedules.decay(factor)

    @property
    def selected(self) -> dict:
        """``{"learning_rate": ...}``, with the picked member's settings (a family's)."""
        return {"learning_rate": self.selected_lr, **(self.member.setting or {})}

    def _draw_progress(self, done: int, total: int, eta: float | None, ended: str | None = None):
        """``done / total`` steps, then the time left or, once over, why it ended."""
        after = ended if ended is not None else None if eta is None else f"ETA {eta:.0f} s"
        self.buttons.draw_progress(done, total, self._active.progress_prefix(), after)

    # --- picking and applying ------------------------------------------------------------
    def apply(self, replace_schedule: bool = False, schedule=None) -> str:
        """Set ``model.optimizer.learning_rate`` to ``selected_lr``, or to ``schedule``.

        Parameters
        ----------
        replace_schedule : bool
            If the optimizer was built on a ``LearningRateSchedule``, it is only replaced (by
            a constant LR) when this is True; otherwise a ``ValueError`` names both fixes.
        schedule : keras.optimizers.schedules.LearningRateSchedule, optional
            Train with this instead, e.g. ``finder.one_cycle_schedule(total_steps)``.

        Returns
        -------
        str
            What was done (also shown in the status line).
        """
        return self.applier.apply(replace_schedule, schedule)

    # --- buttons and status ----------------------------------------------------------------
    # A click must never raise into the front end: whatever went wrong goes to the status line.
    def _on_run_click(self, _):
        # A click is handled between cells, not in one: the sweep always goes to a thread.
        stop_other = self.buttons.stop_other_offered
        self.buttons.offer_stop_other(False)
        self._click_start(lambda: self.run(background=True, stop_other=stop_other))

    def _on_try_click(self, _):
        self._click_start(lambda: self.try_lrs(background=True))

    def _click_start(self, start):
        try:
            start()
        except Exception as exc:
            self.chart.set_status(str(exc))
            self.messages.outputs = ()
            self.messages.append_stderr(f"not started: {exc}\n")
            self.buttons.offer_stop_other(isinstance(exc, OtherSweepRunning))

    @observe("running", "selected_lr")
    def _update_buttons(self, change=None):
        if change is not None:
            self.buttons.offer_replace(False)  # a new choice is applied plainly first
        swept = self.views[0].record is not None
        self.buttons.show_running(self.running, self.selected_lr is not None, swept)
        if change is not None and change["name"] == "running":
            self.chart.update_status()

    def _status_parts(self, chart: LRChart) -> list[str]:
        if self.error is not None:
            return [f"error: {type(self.error).__name__}: {cause(self.error)}", "details above"]
        if self.running:
            parts = ["running (Stop ends it after the current batch)"]
            if self.runner.background and in_colab():
                parts.append("Colab draws it when it ends; run finder.run() in a cell to watch")
            return parts + self._active.live_status_parts()
        notes = [n for n in (self._notice, self.runner.stop_note) if n]
        shown = [part for view in self.views for part in view.status_parts()]
        return notes + shown + self.applier.status_parts()


def _check_args(model, x, y, vary, sweep_args) -> tuple[float, float]:
    """Everything the finder's constructor refuses, before anything is made; the LR range."""
    unknown = sorted(set(sweep_args) - set(SWEEP_ARGS))
    if unknown:
        raise TypeError(
            f"unknown sweep argument(s) {unknown}; LRFinderWidget takes those of find_lr: "
            f"{', '.join(SWEEP_ARGS)}"
        )
    start = sweep_args.get("start_lr", _FIND_LR["start_lr"].default)
    end = sweep_args.get("end_lr", _FIND_LR["end_lr"].default)
    check_sweep_range(start, end, sweep_args.get("mode", _FIND_LR["mode"].default))
    if model is not None:
        check_model(model)
    AnalysisSettings(**{k: v for k, v in sweep_args.items() if k in SETTINGS})  # validates
    if vary is not None:
        check_family(model, x, y, vary, dict(sweep_args))
    return start, end
