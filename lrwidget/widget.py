"""The learning-rate finder widget: run a sweep, watch it, pick, apply.

:class:`LRFinderWidget` wires two parts and adds the buttons: an :class:`~lrwidget.chart.LRChart`
(the chart, every way of picking, ``selected_lr``) and a :class:`~lrwidget.runner.SweepRunner`
(the sweep in a thread or in the cell, Stop, the live curve), which runs
:func:`lrwidget.find_lr` and knows no widgets.

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
marks is documented in :mod:`lrwidget.figure`), the buttons ``lrwidget-run``, ``lrwidget-stop``
and ``lrwidget-apply``, the status line ``lrwidget-status``, the error area
``lrwidget-messages``.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect

import ipywidgets as widgets
from traitlets import Bool, link, observe, validate

from .chart import LRChart
from .failure import cause, report
from .family_live import FamilyLive
from .keras_family import apply_settings, check_family, find_lr_family
from .keras_sweep import check_model, check_sweep_range, find_lr
from .notebook import NotebookDisplay, call_in_kernel_thread, in_colab
from .result import AnalysisSettings, SweepResult
from .runner import ALREADY_RUNNING, LiveCurve, SweepRunner
from .schedules import (
    Cyclic,
    EpochDecay,
    OneCycle,
    set_learning_rate,
    set_schedule,
    uses_schedule,
)
from .selection import LearningRate, LearningRateRange
from .style import format_lr
from .sync import hold_sync
from .takeover import STOP_OTHER, OtherSweepRunning, free_model, take_over

_FIND_LR = inspect.signature(find_lr).parameters
HOOKS = ("on_start", "on_point", "stop_event")  # the widget's own
# find_lr's keyword-only arguments: everything but the model, the data and the hooks.
SWEEP_ARGS = tuple(
    name for name, p in _FIND_LR.items() if p.kind is p.KEYWORD_ONLY and name not in HOOKS
)
SETTINGS = tuple(f.name for f in dataclasses.fields(AnalysisSettings))
REPLACE_SCHEDULE = "Replace schedule"
NO_LR = "no learning rate selected: run a sweep and pick one first"


class _Schedules:
    """The schedules a finder makes from its pick (``selected_range``, ``selected_lr``)."""

    def one_cycle_schedule(self, total_steps: int, **kwargs) -> OneCycle:
        """A one-cycle schedule over ``selected_range``: up from its low end to its high end
        in the first quarter of ``total_steps``, then cosine down (see
        :class:`~lrwidget.schedules.OneCycle`; ``pct_start`` and ``final_div_factor`` are
        passed on). Train with it: ``finder.apply(schedule=...)``."""
        low, high = self._range_or_raise()
        return OneCycle(high, total_steps, div_factor=high / low, **kwargs)

    def cyclic_schedule(self, step_size: int) -> Cyclic:
        """Smith's triangular cyclical schedule between the ends of ``selected_range``, half a
        cycle every ``step_size`` steps (see :class:`~lrwidget.schedules.Cyclic`)."""
        low, high = self._range_or_raise()
        return Cyclic(low, high, step_size)

    def _range_or_raise(self) -> tuple[float, float]:
        if self.selected_range is None:
            raise ValueError(
                "no range picked: tick 'pick a range' and drag its two handles, or set "
                "finder.selected_range = (low, high)"
            )
        return self.selected_range

    def decay_callback(self, factor: float = 0.97) -> EpochDecay:
        """A Keras callback that starts at ``selected_lr`` and multiplies it by ``factor``
        every epoch (the article's schedule): ``model.fit(..., callbacks=[cb])``."""
        if self.selected_lr is None:
            raise ValueError(NO_LR)
        return EpochDecay(self.selected_lr, factor)


class LRFinderWidget(_Schedules, NotebookDisplay, widgets.VBox):
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
        self.model, self.x, self.y, self.sweep_args = model, x, y, dict(sweep_args)
        AnalysisSettings(**{k: v for k, v in sweep_args.items() if k in SETTINGS})  # validates
        if vary is not None:
            check_family(model, x, y, vary, self.sweep_args)
        self.runner = SweepRunner(
            self._find_lr,
            on_start=self._on_start,
            on_update=self._on_update,
            on_end=self._on_end,
            on_claim=lambda: self.set_trait("running", True),
            key=None if model is None else id(model),
        )
        self._notice = take_over(model, self.runner)  # said in the status line until a Run
        # This widget is the one shown: its status line and its picture.
        self.chart = LRChart(status_parts=self._status_parts, on_picture=self.refresh_static)
        # A family's members, drawn into the chart; None for one sweep.
        self.family = None if vary is None else FamilyLive(self.chart, vary)
        self.run_button = _button("Run", "play", "lrwidget-run", "primary", self._on_run_click)
        self.stop_button = _button("Stop", "stop", "lrwidget-stop", "warning", self._on_stop)
        self.apply_button = _button("Apply", "check", "lrwidget-apply", "success", self._on_apply)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="steps")
        # A fixed width: the row wraps (or not) the same for "12 / 300 · ETA 9 s" and
        # "300 / 300 · completed", so the chart does not jump between states.
        self.progress_text = widgets.Label(value="", layout=widgets.Layout(width="17em"))
        controls = widgets.HBox(
            [
                self.run_button,
                self.stop_button,
                self.apply_button,
                self.progress,
                self.progress_text,
            ],
            # Wraps rather than clipping the progress text on a narrow notebook.
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        # A sweep's error in full, next to the button that started it.
        self.messages = widgets.Output(layout=widgets.Layout(max_height="240px", overflow="auto"))
        self.messages.add_class("lrwidget-messages")
        super().__init__(children=[controls, self.messages, self.chart])
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
        """The chart as a PNG (None before any sweep); see :meth:`LRChart.save_image`."""
        return self.chart.static_png()

    def save_image(self, path="lr_finder.png"):
        """Save the chart as a PNG or SVG picture (by ``path``'s suffix); returns the path."""
        return self.chart.save_image(path)

    @property
    def figure(self):
        """The bqplot figure."""
        return self.chart.figure

    @property
    def status(self) -> widgets.HTML:
        """The status line under the chart (``chart.status_text`` reads it as plain text)."""
        return self.chart.status

    # --- the sweep -----------------------------------------------------------------------
    def run(
        self, block: bool = False, *, background: bool | None = None, stop_other: bool = False
    ) -> SweepResult | None:
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
        SweepResult or None
            None when the sweep goes on in the background (see :meth:`wait` and ``result``);
            an error it ends with is then shown under Run, and :meth:`wait` raises it.

        Raises
        ------
        RuntimeError
            If a sweep is already running (this widget's, or another one on the same model:
            then an ``OtherSweepRunning`` that says how to stop it).
        """
        if background is None:
            background = not in_colab()
        try:
            if self.running:  # the last sweep's end is not drawn yet: it is not over
                raise RuntimeError(ALREADY_RUNNING)
            free_model(self.model, self.runner, stop_other)
        except RuntimeError as exc:
            self.chart.set_status(str(exc))
            raise
        self._notice = None
        self.messages.outputs = ()
        return self.runner.start(background=background, block=block)

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
    def result(self) -> SweepResult | None:
        """The last sweep's result; during a sweep, a snapshot of the points so far
        (``stop_reason="running"``); None before the first sweep."""
        return self.runner.result

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the last sweep, or None."""
        return self.runner.error

    def _find_lr(self, **hooks) -> SweepResult:
        # Reads sweep_args when the sweep starts: a change between runs counts.
        if self.family is not None:
            family_args = self.family.start()
            return find_lr_family(
                self.model, self.x, self.y, **family_args, **self.sweep_args, **hooks
            )
        return find_lr(self.model, self.x, self.y, **self.sweep_args, **hooks)

    # Called in the sweeping thread: data goes out from here, the rest is handed over.
    def _on_start(self, live: LiveCurve):
        begin = self.chart.begin_live if self.family is None else self.family.begin_member
        call_in_kernel_thread(functools.partial(begin, live.lrs))
        self._on_update(live)

    def _on_update(self, live: LiveCurve):
        view = self.chart if self.family is None else self.family
        so_far = view.draw_live(live)
        self._draw_progress(live.n, len(live.lrs), live.eta())
        call_in_kernel_thread(functools.partial(view.refresh_live, so_far))

    def _on_end(self, result: SweepResult | None, error: BaseException | None):
        if self.family is not None:  # the members finished before an error are kept
            result = result if error is None else getattr(error, "family", None)
        call_in_kernel_thread(functools.partial(self._show_end, result, error))

    def _show_end(self, result: SweepResult | None, error: BaseException | None = None):
        try:
            if error is not None:
                self.messages.append_stderr(report(error))
            if self.family is not None:  # drawn, its pick selected; its last member: progress
                result = self.family.show_family(result)
            elif result is not None:
                # The suggestion is pre-selected, unless the user picked during the sweep.
                self.chart.set_results([result], keep_selection=True, picture=False)
            if result is not None:
                planned = result.meta.get("num_steps", len(result))
                why = "interrupted" if result.meta.get("interrupted") else result.stop_reason
                self._draw_progress(len(result), planned, None, why)
        finally:  # never stay "running", even if drawing failed
            self.set_trait("running", False)
            self.chart.update_status()
        if result is not None:
            self.refresh_static()  # last: Run is ready again before matplotlib draws

    @property
    def selected(self) -> dict:
        """``{"learning_rate": ...}``, with a family's picked member's settings."""
        return {"learning_rate": self.selected_lr} if self.family is None else self.family.selected

    def _draw_progress(self, done: int, total: int, eta: float | None, ended: str | None = None):
        """``done / total`` steps, then the time left or, once over, why it ended."""
        with hold_sync(self.progress, self.progress_text):
            self.progress.max = max(total, 1)
            self.progress.value = done
            text = f"{done} / {total}"
            if self.family is not None:
                text = self.family.progress_prefix() + text
            if ended is not None:
                text += f" · {ended}"
            elif eta is not None:
                text += f" · ETA {eta:.0f} s"
            self.progress_text.value = text

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
        if self.running:
            raise RuntimeError(
                "a sweep is running and will restore the model's LR when it ends; "
                "apply after it (finder.wait())"
            )
        if schedule is not None:
            message = set_schedule(self.model, schedule)
            self.chart.set_status(message)
            return message
        if self.selected_lr is None:
            raise ValueError(NO_LR)
        message = set_learning_rate(self.model, self.selected_lr, replace_schedule=replace_schedule)
        if self.family is not None and self.family.member:
            message += apply_settings(self.model, self.family.member)
        self.chart.set_status(message)
        return message

    # --- buttons and status ----------------------------------------------------------------
    # A click must never raise into the front end: whatever went wrong goes to the status line.
    def _on_run_click(self, _):
        # A click is handled between cells, not in one: the sweep always goes to a thread.
        stop_other = self.run_button.description == STOP_OTHER
        self._offer_stop_other(False)
        try:
            self.run(background=True, stop_other=stop_other)
        except Exception as exc:
            self.chart.set_status(str(exc))
            self.messages.outputs = ()
            self.messages.append_stderr(f"not started: {exc}\n")
            self._offer_stop_other(isinstance(exc, OtherSweepRunning))

    def _offer_stop_other(self, on: bool):
        with self.run_button.hold_sync():
            self.run_button.description = STOP_OTHER if on else "Run"
            self.run_button.button_style = "danger" if on else "primary"

    def _on_stop(self, _):
        self.stop()

    def _on_apply(self, _):
        # On a schedule-based optimizer the first click explains; the button then offers to
        # replace the schedule, and only that second click does.
        replace = self.apply_button.description == REPLACE_SCHEDULE
        try:
            self.apply(replace_schedule=replace)
        except Exception as exc:
            self.chart.set_status(f"not applied: {exc}")
            if not replace and self.model is not None and uses_schedule(self.model.optimizer):
                self.chart.set_status(
                    f"not applied: the optimizer's LR comes from a schedule, kept as it is. "
                    f"Click '{REPLACE_SCHEDULE}' to train at a constant "
                    f"{format_lr(self.selected_lr)} instead, or rebuild the schedule to start "
                    "there (finder.apply(replace_schedule=True) does the former in code).",
                )
                self._offer_replace(True)
            return
        self._offer_replace(False)

    def _offer_replace(self, on: bool):
        with self.apply_button.hold_sync():
            self.apply_button.description = REPLACE_SCHEDULE if on else "Apply"
            self.apply_button.button_style = "danger" if on else "success"

    @observe("running", "selected_lr")
    def _update_buttons(self, change=None):
        if change is not None:
            self._offer_replace(False)  # a new choice is applied plainly first
        with hold_sync(self.run_button, self.stop_button, self.apply_button):
            self.run_button.disabled = self.running
            self.stop_button.disabled = not self.running
            self.apply_button.disabled = self.running or self.selected_lr is None
        if change is not None and change["name"] == "running":
            self.chart.update_status()

    def _status_parts(self, chart: LRChart) -> list[str]:
        if self.error is not None:
            return [f"error: {type(self.error).__name__}: {cause(self.error)}", "details above"]
        if self.running:
            parts = ["running (Stop ends it after the current batch)"]
            if self.runner.background and in_colab():
                parts.append("Colab draws it when it ends; run finder.run() in a cell to watch")
            return parts + chart.live_status_parts()
        notes = [n for n in (self._notice, self.runner.stop_note) if n]
        if self.family is not None:
            return notes + self.family.status_parts()
        if not chart.results:
            return [*notes, "press Run to start the sweep"]
        if chart.results[0].meta.get("interrupted"):
            notes.append("interrupted (Jupyter's interrupt): the curve so far is kept")
        return notes + chart.default_status_parts()


def _button(label, icon, css, style, on_click):
    b = widgets.Button(description=label, icon=icon, button_style=style)
    b.add_class(css)
    b.on_click(on_click)
    return b
