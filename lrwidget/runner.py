"""Running one sweep at a time for a view: in a background thread or in the cell's own thread,
with Stop and a live curve. No widgets and no Keras: the sweep is any callable that takes
``find_lr``'s hooks, and the view hears about it through three plain callbacks.

Which thread calls what:

* ``on_claim()`` runs in the caller of :meth:`SweepRunner.start` once the new sweep counts as
  running, before it starts: a Stop from then on stops it.
* ``on_start(live)``, ``on_update(live)`` (paced, see ``UPDATE_INTERVAL``) and
  ``on_end(result, error)`` run in the sweeping thread: the background thread, or the cell's.
  ``on_end`` runs however the sweep ends, a ``KeyboardInterrupt`` included.
* In the cell's thread, the front end is answered between batches (:mod:`lrwidget.notebook`);
  a cell that waits for a background sweep (:meth:`SweepRunner.wait`) answers it too.
* Jupyter's interrupt button raises ``KeyboardInterrupt`` in a cell-thread sweep: the sweep's
  points so far become its result (``stop_reason="stopped"``, ``meta["interrupted"]``), shown
  like a Stop's, and the interrupt goes on to the cell.

A runner started with a ``key`` (the widget passes its model's id) is findable while it runs:
:func:`running_on` finds the runner sweeping a model, so that a new finder on the same model
can stop an old one whose view is gone (a re-run cell).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
import weakref
from collections.abc import Callable

import numpy as np

from .notebook import answering_front_end, run_pending
from .result import AnalysisSettings, SweepResult

# Live updates come at most UPDATE_INTERVAL apart, and further apart when they are slow: a
# redraw (reading the curve so far, sending it) grows with the curve, and redraws may take at
# most UPDATE_SHARE of the sweep's time, which on small, fast steps is what a sweep costs extra
# (benchmarks/widget_speed.py measures it; docs/speed.md).
UPDATE_INTERVAL = 0.1  # seconds
UPDATE_SHARE = 0.01
POLL_INTERVAL = 0.05  # seconds between looks at the front end while a cell is busy
ALREADY_RUNNING = (
    "a sweep is already running: wait for it (finder.wait()) or stop it (finder.stop()) "
    "before starting another"
)

NOTHING_TO_TRY = "nothing to try yet: run a sweep first, or pass the LRs (try_lrs(lrs=[...]))"


# The runners sweeping now, by their key (a model's id): weak, a runner is never kept alive here.
_running: dict[object, weakref.ref] = {}
_running_lock = threading.Lock()


def running_on(key) -> SweepRunner | None:
    """The runner whose sweep on ``key`` is running now, or None."""
    with _running_lock:
        ref = _running.get(key)
    runner = None if ref is None else ref()
    return runner if runner is not None and runner.running else None


def eta(started: float, done: int, planned: int) -> float | None:
    """Seconds left at the pace so far, for ``done`` of ``planned`` points begun at ``started``
    (a ``time.perf_counter()``); None before the first point."""
    if done == 0:
        return None
    return (time.perf_counter() - started) / done * (planned - done)


class LiveCurve:
    """A running line's points on any x axis (LRs, steps), in arrays sized for its whole plan
    (NaN: not yet). No reading: what the points mean is its owner's."""

    def __init__(self, x):
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.full(len(self.x), np.nan)
        self.n = 0

    @property
    def planned(self) -> int:
        return len(self.x)

    def add(self, i: int, value: float):
        """Point ``i`` (0-based) is ``value``; the points so far end there."""
        self.y[i] = value
        self.n = i + 1


class LiveSweep:
    """A running sweep: a :class:`LiveCurve` over its LR plan. Every look at it
    (:meth:`snapshot`) is a :class:`SweepResult` of the points so far, read with the settings
    the sweep reported, so the live view reads the curve exactly as the final result will.

    It is the runner's default live record (see :class:`SweepRunner`): built from ``find_lr``'s
    ``on_start(lrs, settings)``, fed by its ``on_point(step, lr, loss)``.
    """

    def __init__(self, lrs, settings: AnalysisSettings):
        self.curve = LiveCurve(lrs)
        self.settings = settings
        self.started = time.perf_counter()

    @property
    def lrs(self) -> np.ndarray:
        return self.curve.x

    @property
    def losses(self) -> np.ndarray:
        return self.curve.y

    @property
    def n(self) -> int:
        return self.curve.n

    @property
    def planned(self) -> int:
        return self.curve.planned

    def add(self, step: int, loss: float):
        self.curve.add(step, loss)

    def point(self, step: int, lr: float, loss: float):
        """``find_lr``'s ``on_point``."""
        self.curve.add(step, loss)

    def eta(self) -> float | None:
        """Seconds left at the pace so far (None before the first point)."""
        return eta(self.started, self.n, self.planned)

    def snapshot(self, stop_reason: str = "running", **meta) -> SweepResult:
        """The points so far, as a result that ended with ``stop_reason``."""
        n = self.n
        return SweepResult(
            lrs=self.lrs[:n],
            losses=self.losses[:n],
            stop_reason=stop_reason,
            settings=self.settings,
            meta={"num_steps": self.planned, "steps_done": n, **meta},
        )

    def interrupted(self, exc: BaseException):
        """What an interrupt keeps, as a Stop keeps it and marked ``interrupted``: the record
        the run returned when the interrupt stopped it (a sweep or a family, ``exc.record``),
        else the points so far (None before any)."""
        record = getattr(exc, "record", None)
        if record is not None:
            return dataclasses.replace(record, meta={**record.meta, "interrupted": True})
        return self.snapshot("stopped", interrupted=True) if self.n else None


@dataclasses.dataclass(frozen=True)
class Ending:
    """How a run ended, for the progress line: ``done`` of ``planned`` steps, and ``why``."""

    done: int
    planned: int
    why: str


def ending(result: SweepResult) -> Ending:
    """A sweep's progress at its end: steps done of planned, and how it ended."""
    planned = result.meta.get("num_steps", len(result))
    why = "interrupted" if result.meta.get("interrupted") else result.stop_reason
    return Ending(len(result), planned, why)


def _interrupt_keeping(record) -> KeyboardInterrupt:
    """The interrupt of a cell that waited for a background run, carrying the record the
    run returned when it stopped (``record``), for the live record's ``interrupted``."""
    exc = KeyboardInterrupt()
    exc.record = record
    return exc


def _serve(jobs: queue.SimpleQueue):
    """A sweep thread's loop: run each job handed over, until None. It holds no reference to
    its runner between jobs, so a runner that is gone can end it (``weakref.finalize``)."""
    while True:
        job = jobs.get()
        if job is None:
            return
        job()
        del job


class SweepRunner:
    """Runs ``sweep(on_start=, on_point=, stop_event=)`` (e.g. a ``find_lr`` partial), one at
    a time, and reports to a view.

    Parameters
    ----------
    sweep : callable
        Runs the sweep (or any run that takes these hooks: trials) and returns its record.
    on_claim, on_start, on_update, on_end : callable
        See the module docstring.
    key : hashable, optional
        What the sweep claims (a model's id): :func:`running_on` finds this runner by it
        while it runs.
    live : callable
        ``live(*args)`` builds the live record from the arguments of the run's ``on_start``
        (default: :class:`LiveSweep`, for ``find_lr``). A live record has ``n`` and
        ``planned`` (points done and planned), ``point(*args)`` (the run's ``on_point``),
        ``eta()``, ``snapshot()`` (the record so far) and ``interrupted(exc)`` (what
        Jupyter's interrupt keeps, or None).
    """

    def __init__(
        self,
        sweep: Callable[..., object],
        *,
        on_start: Callable[[object], object],
        on_update: Callable[[object], object],
        on_end: Callable[[object, BaseException | None], object],
        on_claim: Callable[[], object] = lambda: None,
        key=None,
        live: Callable[..., object] = LiveSweep,
    ):
        self.sweep = sweep
        self.make_live = live
        self.key = key
        self.stop_note: str | None = None  # why the last sweep was stopped, if not by Stop
        self.on_claim = on_claim
        self.on_start, self.on_update, self.on_end = on_start, on_update, on_end
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._running = False
        self._result = None  # the last run's record
        self._live = None  # the running sweep's live record
        # Background sweeps run in one thread kept for this runner: TensorFlow's start-up cost
        # in a new thread is then paid once, not on every Run.
        self._thread: threading.Thread | None = None
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._background = False
        self._ended = threading.Event()
        weakref.finalize(self, self._jobs.put, None)  # ends the thread with the runner
        self._stop_event = threading.Event()
        self._poll: Callable[[], None] | None = None
        self._next_update = self._last_poll = 0.0

    @property
    def running(self) -> bool:
        """True from :meth:`start` until the sweep has ended and ``on_end`` has run."""
        return self._running

    @property
    def background(self) -> bool:
        """True if the running (or last) sweep runs in the background thread."""
        return self._background

    @property
    def result(self):
        """The last sweep's result; during a sweep, a snapshot of the points so far
        (``stop_reason="running"``, an empty sweep before the first); None before any sweep."""
        with self._lock:
            if not self._running:
                return self._result
            live = self._live
        if live is None:
            return SweepResult(lrs=[], losses=[], stop_reason="running")
        return live.snapshot()

    def start(self, *, background: bool, block: bool = False) -> object:
        """Start a sweep; see :meth:`lrwidget.LRFinderWidget.run`. Raises ``RuntimeError`` if
        one runs already (nothing is changed then)."""
        with self._lock:
            if self._running:
                raise RuntimeError(ALREADY_RUNNING)
            # All of a new sweep's state exists before it counts as running: a Stop from
            # then on stops this sweep, and ``result`` never shows the previous one.
            self._running, self.error, self._live = True, None, None
            self._stop_event, self._ended = threading.Event(), threading.Event()
            self._background, self.stop_note = background, None
            self._interrupted = False
        self._register(True)
        try:
            self.on_claim()
        except BaseException:
            with self._lock:
                self._running = False
            self._register(False)
            raise
        if background:
            self._sweep_thread().put(self._run)
            if not block:
                return None
            self.wait()
        else:
            with answering_front_end() as poll:
                self._poll, self._last_poll = poll, time.perf_counter()
                try:
                    self._run()
                finally:
                    self._poll = None
        if self.error is not None:
            raise self.error
        return self._result

    def _sweep_thread(self) -> queue.SimpleQueue:
        """The queue of this runner's sweep thread, started on first use."""
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=_serve, args=(self._jobs,), name="lrwidget-sweep", daemon=True
            )
            self._thread.start()
        return self._jobs

    def _register(self, on: bool):
        if self.key is None:
            return
        with _running_lock:
            held = _running.get(self.key)
            held = None if held is None else held()
            if on and (held is None or not held.running):  # a running one keeps its key
                _running[self.key] = weakref.ref(self)
            elif not on and held is self:
                del _running[self.key]

    def stop(self, note: str | None = None):
        """End the running sweep after the current batch (no-op when none runs); ``note``
        says why, when it was not the user's Stop (kept in ``stop_note`` until the next)."""
        with self._lock:
            if self._running and note is not None:
                self.stop_note = note
            self._stop_event.set()

    @property
    def stopping(self) -> bool:
        """True while a sweep runs that was asked to stop."""
        return self._running and self._stop_event.is_set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the running sweep's thread to be done with it, answering nothing (its end
        is drawn later, in the kernel's thread); True if it is."""
        return self._ended.wait(timeout) if self._running else True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background sweep to end; True if none is running any more. In a
        notebook cell the wait answers the front end (Stop, picks) meanwhile."""
        ended = self._ended
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with answering_front_end() as poll:
                while self._background and not ended.is_set():
                    left = POLL_INTERVAL if deadline is None else deadline - time.monotonic()
                    if left <= 0:
                        break
                    ended.wait(min(POLL_INTERVAL, left))
                    poll()
        except KeyboardInterrupt:
            # Jupyter's interrupt of the cell that waits ends the run it waits for, as it
            # does a run in the cell's own thread: a Stop after the batch in flight, the
            # record kept and marked, then the interrupt goes on to the cell.
            with self._lock:
                if self._running and self._background:
                    self._interrupted = True
            self._stop_event.set()
            ended.wait()
            run_pending()
            raise
        run_pending()  # what the sweep handed this thread at its end
        return not self.running

    # --- in the sweeping thread ----------------------------------------------------------
    def _run(self):
        result = error = None
        ended = self._ended  # this sweep's: the next may start as soon as running is False
        try:
            result = self.sweep(
                on_start=self._on_start, on_point=self._on_point, stop_event=self._stop_event
            )
            if self._interrupted and self._live is not None:
                result = self._live.interrupted(_interrupt_keeping(result))
        except Exception as exc:  # kept and shown: an exception must not vanish with a thread
            error = exc
        except BaseException as exc:  # the interrupt button, in the cell's thread: a Stop, raise
            live = self._live
            if live is not None:
                result = live.interrupted(exc)
            raise
        finally:
            with self._lock:
                self._result = result if result is not None else self._result
                self.error = error
                self._live = None
            try:
                self.on_end(result, error)
            finally:
                with self._lock:
                    self._running = False
                self._register(False)
                ended.set()

    def _on_start(self, *started):
        live = self.make_live(*started)
        with self._lock:
            self._live = live
        self._paced(self.on_start, live, time.perf_counter())

    def _on_point(self, *point):
        live = self._live
        live.point(*point)
        now = time.perf_counter()
        if now >= self._next_update:
            self._paced(self.on_update, live, now)
        if self._poll is not None and now - self._last_poll >= POLL_INTERVAL:
            self._last_poll = now
            self._poll()  # a click on Stop or on the chart, handled between two batches

    def _paced(self, update, live, began):
        update(live)
        done = time.perf_counter()
        cost = done - began
        # From one start to the next, cost / (cost + gap) <= UPDATE_SHARE.
        self._next_update = done + max(UPDATE_INTERVAL, cost / UPDATE_SHARE - cost)
