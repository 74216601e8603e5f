"""The learning-rate finder widget: run a sweep in the background, watch it, pick, apply.

:class:`LRFinderWidget` is an :class:`~lrwidget.chart.LRChart` (the chart, the picking and
``selected_lr``) plus Run / Stop / Apply buttons, a progress bar and the sweep thread. The
sweep is :func:`lrwidget.find_lr`, fed through its ``on_start``/``on_point`` hooks; it does
not know the widget exists. :func:`show` draws saved sweeps with the same picking.

Hooks for browser tests: the figure has the CSS class ``lrwidget-figure`` (the order of its
marks is documented in :mod:`lrwidget.chart`), the buttons ``lrwidget-run``, ``lrwidget-stop``
and ``lrwidget-apply``, the status line ``lrwidget-status``.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time

import ipywidgets as widgets
import numpy as np
from traitlets import Bool, observe

from . import analysis
from .chart import LRChart, format_lr, held, y_window
from .keras_sweep import find_lr
from .notebook import answering_front_end, in_colab
from .result import AnalysisSettings, SweepResult
from .schedules import EpochDecay, set_learning_rate

UPDATE_INTERVAL = 0.1  # seconds between chart updates while sweeping (about 10 a second)
POLL_INTERVAL = 0.05  # seconds between looks at the front end's messages while a cell waits
_HOOKS = ("on_start", "on_point", "stop_event")
_SETTINGS = ("beta", "diverge_factor", "tolerance", "spacing", "rule")  # AnalysisSettings'
SWEEP_ARGS = tuple(p for p in inspect.signature(find_lr).parameters if p not in _HOOKS)[3:]


class _LiveCurve:
    """The points of a running sweep, in arrays sized for the whole plan (NaN: not yet).

    Every look at it is a :class:`SweepResult` of the points so far, so the live chart reads
    the curve exactly as the final result will (same smoothing, cut and candidates).
    """

    def __init__(self, lrs, settings: AnalysisSettings):
        self.lrs = np.asarray(lrs, dtype=np.float64)
        self.losses = np.full(len(lrs), np.nan)
        # find_lr lowers beta the same way for the same number of steps.
        beta = analysis.effective_beta(settings.beta, len(lrs))
        self.settings = dataclasses.replace(settings, beta=beta)
        self.n = 0
        self.started = time.perf_counter()

    def add(self, step: int, loss: float):
        self.losses[step] = loss
        self.n = step + 1

    def eta(self) -> float | None:
        if self.n == 0:
            return None
        elapsed = time.perf_counter() - self.started
        return elapsed / self.n * (len(self.lrs) - self.n)

    def snapshot(self) -> SweepResult:
        n = self.n
        return SweepResult(
            lrs=self.lrs[:n],
            losses=self.losses[:n],
            stop_reason="running",
            settings=self.settings,
            meta={"num_steps": len(self.lrs), "steps_done": n},
        )


class LRFinderWidget(LRChart):
    """A live, steerable LR range test on a Keras model.

    Parameters
    ----------
    model : keras.Model
        A compiled model; the sweep leaves it bitwise unchanged (only :meth:`apply` changes
        its learning rate).
    x, y
        The training data, as for :func:`lrwidget.find_lr`.
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

    running = Bool(False, read_only=True, help="True while a sweep runs in the background.")

    def __init__(self, model, x, y=None, **sweep_args):
        unknown = sorted(set(sweep_args) - set(SWEEP_ARGS))
        if unknown:
            raise TypeError(
                f"unknown sweep argument(s) {unknown}; LRFinderWidget takes those of find_lr: "
                f"{', '.join(SWEEP_ARGS)}"
            )
        self.model, self.x, self.y, self.sweep_args = model, x, y, dict(sweep_args)
        self.settings = AnalysisSettings(**{k: v for k, v in sweep_args.items() if k in _SETTINGS})
        self.error: BaseException | None = None
        self._result: SweepResult | None = None
        self._live: _LiveCurve | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._last_draw = 0.0
        self._poll = None  # answers the front end during a sweep in the cell's own thread
        self._last_poll = 0.0
        self._build_sweep_controls()
        super().__init__()
        defaults = inspect.signature(find_lr).parameters
        start = sweep_args.get("start_lr", defaults["start_lr"].default)
        end = sweep_args.get("end_lr", defaults["end_lr"].default)
        with self.x_scale.hold_sync():
            self.x_scale.min, self.x_scale.max = float(start), float(end)
        self._update_buttons()

    # --- construction --------------------------------------------------------------------
    def _build_sweep_controls(self):
        def button(label, icon, css, style, on_click):
            b = widgets.Button(description=label, icon=icon, button_style=style)
            b.add_class(css)
            b.on_click(on_click)
            return b

        self.run_button = button("Run", "play", "lrwidget-run", "primary", self._on_run_click)
        self.stop_button = button("Stop", "stop", "lrwidget-stop", "warning", lambda _: self.stop())
        self.apply_button = button("Apply", "check", "lrwidget-apply", "success", self._on_apply)
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="steps")
        self.progress_text = widgets.Label(value="")

    def _layout_children(self):
        buttons = [self.run_button, self.stop_button, self.apply_button]
        # Wraps rather than clipping the progress text on a narrow notebook.
        controls = widgets.HBox(
            [*buttons, self.progress, self.progress_text],
            layout=widgets.Layout(flex_flow="row wrap", align_items="center"),
        )
        return [controls, *super()._layout_children()]

    # --- the sweep -----------------------------------------------------------------------
    def run(self, block: bool = False, *, background: bool | None = None) -> SweepResult | None:
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

        Returns
        -------
        SweepResult or None
            None when the sweep goes on in the background (see :meth:`wait` and ``result``).

        Raises
        ------
        RuntimeError
            If a sweep is already running.
        """
        if background is None:
            background = not in_colab()
        with self._lock:
            if self.running:
                raise RuntimeError(
                    "a sweep is already running: wait for it (finder.wait()) or stop it "
                    "(finder.stop()) before starting another"
                )
            self.error = None
            self._stop_event = threading.Event()  # before "running": Stop must stop this one
            self._thread = None
            if background:
                self._thread = threading.Thread(
                    target=self._sweep, name="lrwidget-sweep", daemon=True
                )
            self.set_trait("running", True)
        self._update_status()
        if background:
            self._thread.start()
            if not block:
                return None
            self.wait()
        else:
            with answering_front_end() as poll:
                self._poll, self._last_poll = poll, time.perf_counter()
                try:
                    self._sweep()
                finally:
                    self._poll = None
        if self.error is not None:
            raise self.error
        return self._result

    def stop(self):
        """Ask the running sweep to end after the current batch (no-op when none runs).

        The model is restored as after any sweep; the result has ``stop_reason="stopped"``.
        """
        self._stop_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background sweep to end; True if none is running any more.

        In a notebook cell the wait still answers the front end (Stop, picks).
        """
        thread = self._thread
        if thread is None:
            return not self.running
        deadline = None if timeout is None else time.monotonic() + timeout
        with answering_front_end() as poll:
            while thread.is_alive():
                left = POLL_INTERVAL if deadline is None else deadline - time.monotonic()
                if left <= 0:
                    break
                thread.join(min(POLL_INTERVAL, left))
                poll()
        return not self.running

    @property
    def result(self) -> SweepResult | None:
        """The last sweep's result; during a sweep, a snapshot of the points so far
        (``stop_reason="running"``); None before the first sweep."""
        live = self._live
        if self.running and live is not None:
            return live.snapshot()
        return self._result

    def _sweep(self):
        hooks = {"on_start": self._on_start, "on_point": self._on_point}
        result = error = None
        try:
            result = find_lr(
                self.model, self.x, self.y, **self.sweep_args, **hooks, stop_event=self._stop_event
            )
        except Exception as exc:  # kept and shown: an exception must not vanish with the thread
            error = exc
        finally:  # also on KeyboardInterrupt (the interrupt button, in the cell's thread)
            self._finish(result, error)

    def _finish(self, result: SweepResult | None, error: BaseException | None):
        with self._lock:
            try:
                self._live = None
                self.error = error
                if result is not None:
                    self._result = result
                    # The suggestion is pre-selected, unless the user picked during the sweep.
                    self.set_results([result], keep_selection=True)
                    self._draw_progress(len(result), len(result), None)
            except Exception as exc:  # drawing failed: still show it, and never stay "running"
                self.error = exc
            finally:
                self.set_trait("running", False)
                self._update_status()

    def _on_start(self, lrs):
        with self._lock:
            self._live = _LiveCurve(lrs, self.settings)
            self._results = []
            self.selected_lr = None  # a pick on the last curve means nothing on this one
            self._set_series_count(1)
            self._lines[0][1].labels = ["sweep"]
            self._set_range(lrs[0], lrs[-1])
            self._set_candidates([])
            self._draw_live()
            self._last_draw = time.perf_counter()

    def _on_point(self, step, lr, loss):
        live = self._live
        live.add(step, loss)
        now = time.perf_counter()
        if now - self._last_draw >= UPDATE_INTERVAL:
            self._last_draw = now
            self._draw_live()
        if self._poll is not None and now - self._last_poll >= POLL_INTERVAL:
            self._last_poll = now
            self._poll()  # a click on Stop or on the chart, handled between two batches

    def _draw_live(self):
        """Send the curve so far, its candidates, the loss window and the progress."""
        live = self._live
        with self._lock:
            so_far = live.snapshot()
            smoothed = np.full(len(live.lrs), np.nan)
            smoothed[: live.n] = so_far.smoothed
            self._draw_curve(0, live.lrs, live.losses, smoothed)
            window = y_window(so_far.smoothed)
            self._set_y_window([window] if window else [])
            self._set_candidates([(c, 0) for c in so_far.candidates])
            self._draw_progress(live.n, len(live.lrs), live.eta())

    def _draw_progress(self, done: int, total: int, eta: float | None):
        with held(self.progress, self.progress_text):
            self.progress.max = max(total, 1)
            self.progress.value = done
            text = f"{done} / {total}"
            self.progress_text.value = text if eta is None else f"{text} · ETA {eta:.0f} s"

    # --- picking and applying ------------------------------------------------------------
    def apply(self, replace_schedule: bool = False) -> str:
        """Set ``model.optimizer.learning_rate`` to ``selected_lr``.

        Parameters
        ----------
        replace_schedule : bool
            If the optimizer was built on a ``LearningRateSchedule``, it is only replaced (by
            a constant LR) when this is True; otherwise a ``ValueError`` names both fixes.

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
        if self.selected_lr is None:
            raise ValueError("no learning rate selected: run a sweep and pick one first")
        message = set_learning_rate(self.model, self.selected_lr, replace_schedule=replace_schedule)
        self.status.value = message
        return message

    def decay_callback(self, factor: float = 0.97) -> EpochDecay:
        """A Keras callback that starts at ``selected_lr`` and multiplies it by ``factor``
        every epoch (the article's schedule): ``model.fit(..., callbacks=[cb])``."""
        if self.selected_lr is None:
            raise ValueError("no learning rate selected: run a sweep and pick one first")
        return EpochDecay(self.selected_lr, factor)

    # --- buttons and status ----------------------------------------------------------------
    # A click must never raise into the front end: whatever went wrong goes to the status line.
    def _on_run_click(self, _):
        # A click is handled between cells, not in one: the sweep always goes to a thread.
        try:
            self.run(background=True)
        except Exception as exc:
            self.status.value = str(exc)

    def _on_apply(self, _):
        try:
            self.apply()
        except Exception as exc:
            self.status.value = f"not applied: {exc}"

    @observe("running", "selected_lr")
    def _update_buttons(self, change=None):
        with held(self.run_button, self.stop_button, self.apply_button):
            self.run_button.disabled = self.running
            self.stop_button.disabled = not self.running
            self.apply_button.disabled = self.running or self.selected_lr is None

    def _status_parts(self) -> list[str]:
        if self.error is not None:
            return [f"error: {type(self.error).__name__}: {self.error}"]
        if self.running:
            parts = ["running (Stop ends it after the current batch)"]
            if self._thread is not None and in_colab():
                parts.append("Colab draws it when it ends; run finder.run() in a cell to watch")
            return parts + [f"selected {format_lr(self.selected_lr)}"]
        if not self._results:
            return ["press Run to start the sweep"]
        return super()._status_parts()


def show(results, labels=None, **kwargs) -> LRChart:
    """An interactive chart of saved sweeps, with the finder's picking.

    Parameters
    ----------
    results : SweepResult or list of SweepResult
        One sweep, or several to overlay (e.g. two batch sizes, with a legend).
    labels : list of str, optional
        Legend names, one per result.
    **kwargs
        ``snap`` or ``selected_lr`` (see :class:`~lrwidget.chart.LRChart`).

    Returns
    -------
    LRChart
        The chart; it displays as a cell's value (or with ``IPython.display.display``), and
        its ``selected_lr`` holds the pick.
    """
    if isinstance(results, SweepResult):
        results = [results]
    results = list(results)
    for r in results:
        if not isinstance(r, SweepResult):
            raise TypeError(f"show() takes SweepResult objects, got {type(r).__name__}")
    return LRChart(results, labels, **kwargs)
