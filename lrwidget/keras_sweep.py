"""The LR range test on a Keras 3 model: one ``model.fit`` whose compiled step sweeps the LR.

Three things make it correct where other finders are not:

* **The true batch loss.** ``logs["loss"]`` is Keras's running mean over the epoch. During the
  sweep the loss tracker zeroes itself inside the compiled step, just before it adds the batch,
  so the mean logged after each batch is that batch's loss, exactly.
* **Nothing lost.** Every model variable (weights, BatchNorm statistics, seed-generator state)
  and optimizer variable (iterations, momenta, the LR) is copied before the sweep and assigned
  back afterwards in a ``finally`` - on completion, divergence, Stop, an exception or
  KeyboardInterrupt. The same model and optimizer objects are kept; nothing is reloaded.
* **One sweep per model.** While a sweep runs, a second sweep of the same model and
  ``fit``/``train_on_batch``/``evaluate``/``test_on_batch`` called on it from another thread
  are refused: the sweep puts the state back when it ends, which would silently undo them.
* **One LR per step.** The optimizer reads its LR from a stand-in schedule that looks the
  step's LR up by the optimizer's own iteration count, so each step has its own LR however
  many steps one call of the compiled step runs; afterwards the optimizer gets its very own LR
  variable or schedule object back, and the model its own ``steps_per_execution``.

The sweep's per-step cost is at most fit's: nothing runs eagerly per batch but the callback's
Python (reading the loss, the stop checks, ``on_point``). On TensorFlow, once a model's step
time is known, one call of the compiled step runs a group of steps lasting about
``GROUP_SECONDS`` (each step writing its loss into a buffer read once per call), so Keras's
fixed per-call cost falls on the group instead of each step; see :func:`group_size`. The
sweep's compiled step (the stand-in schedule and the self-zeroing tracker baked in) is traced
once per compiled model and group size and kept for the next sweep; see :class:`_SweepStep`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import keras
import numpy as np

from . import analysis
from .data import count_samples, plan_fit, sample_inputs, validation_subset
from .result import AnalysisSettings, SweepResult

OnPoint = Callable[[int, float, float], object]

# The models being swept, by id, with the thread that sweeps each. A model is claimed before
# its state is copied, so a second sweep can never copy (and later restore) mid-sweep weights.
_sweeping: dict[int, int] = {}
_sweeping_lock = threading.Lock()
# What would change a swept model's state from another thread, only to be undone by restore().
GUARDED_METHODS = ("fit", "train_on_batch", "evaluate", "test_on_batch")

# A call of the sweep's compiled step runs a group of steps lasting about this long: Keras's
# per-call work (0.1-1 ms on a 2-core CPU, `python benchmarks/speed.py`) is then paid once a
# group, while Stop and the divergence stop still act within this time.
GROUP_SECONDS = 0.05
MAX_GROUP = 32
# Callback hooks that expect a call per batch; a callback that has one keeps the sweep at one
# step per call.
BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")


def group_size(step_seconds: float | None) -> int:
    """Steps per call of the sweep's compiled step, for a model whose steps take ``step_seconds``.

    The largest power of two (at most ``MAX_GROUP``) whose group lasts at most ``GROUP_SECONDS``;
    1 while the step time is unknown (a model's first sweep measures it), so that a slow model
    never runs long groups.
    """
    if step_seconds is None or not step_seconds > 0:
        return 1
    steps = min(MAX_GROUP, max(1, int(GROUP_SECONDS / step_seconds)))
    return 1 << (steps.bit_length() - 1)


@contextmanager
def exclusive(model) -> Iterator[None]:
    """Claim ``model`` for a sweep in this thread; raises ``RuntimeError`` if one runs already.

    Meanwhile the methods in ``GUARDED_METHODS`` refuse calls from any other thread (the
    sweep's own ``fit`` and validation ``test_on_batch`` run in this one).
    """
    owner = threading.get_ident()
    with _sweeping_lock:
        if id(model) in _sweeping:
            raise RuntimeError(
                f"a sweep is already running on model {model.name!r}: stop it (finder.stop(), "
                "or set the stop_event passed to find_lr) or wait for it (finder.wait()) "
                "before starting another"
            )
        _sweeping[id(model)] = owner
    shadowed = {name: model.__dict__.get(name) for name in GUARDED_METHODS}
    try:
        for name in GUARDED_METHODS:
            object.__setattr__(model, name, _refuse_elsewhere(model, name, owner))
        yield
    finally:
        for name, own in shadowed.items():
            if own is None:
                object.__delattr__(model, name)
            else:  # the user's own instance attribute, put back as it was
                object.__setattr__(model, name, own)
        with _sweeping_lock:
            del _sweeping[id(model)]


def _refuse_elsewhere(model, name: str, owner: int):
    method = getattr(model, name)

    @functools.wraps(method)
    def guarded(*args, **kwargs):
        if threading.get_ident() != owner:
            raise RuntimeError(
                f"model.{name}() refused: an lrwidget sweep is running on this model in another "
                f"thread, and it puts every weight back when it ends, which would undo this "
                f"{name}(). Stop the sweep (finder.stop()) or wait for it (finder.wait()) first."
            )
        return method(*args, **kwargs)

    return guarded


class _SweepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Stands in for the optimizer's LR (variable or schedule) during the sweep: the LR of each
    step, looked up by the optimizer's own iteration count inside the compiled step. Being a
    function of optimizer state, it is right on every backend, in compiled and distributed steps
    alike, and it costs no eager op per step.

    The ladder (padded with its last LR up to ``capacity`` steps) and the iteration of its
    first step live in variables, so that a step traced for one sweep serves later ones too.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.ladder = keras.Variable(
            np.zeros(self.capacity, "float32"), trainable=False, name="lrwidget_ladder"
        )
        self.first = keras.Variable(0, dtype="int32", trainable=False, name="lrwidget_first")

    def load(self, lrs, first_iteration: int):
        """Point the schedule at a new sweep (two eager assigns, once per sweep)."""
        ladder = np.full(self.capacity, lrs[-1], dtype="float32")
        ladder[: len(lrs)] = lrs
        self.ladder.assign(ladder)
        self.first.assign(first_iteration)

    def __call__(self, step):
        index = keras.ops.cast(step, "int32") - self.first
        index = keras.ops.clip(index, 0, self.capacity - 1)
        return keras.ops.take(self.ladder, index)

    def get_config(self):
        return {"capacity": self.capacity}


def _capacity(num_steps: int) -> int:
    # Powers of two from 256: sweeps of similar length share one traced step. Room for a last
    # group's steps past the end, which run (at the last LR) and are dropped.
    return max(256, 1 << (num_steps + MAX_GROUP - 1).bit_length())


class _LossRecord:
    """Each step's loss, written inside the compiled step and read once per call of it: a call
    that runs a group of steps returns only the last one's ``logs``. TensorFlow only (where the
    sweep runs groups), so it holds TensorFlow variables and writes with TensorFlow's ops."""

    def __init__(self, capacity: int):
        import tensorflow as tf

        self.values = tf.Variable(tf.zeros(capacity), trainable=False, name="lrwidget_losses")
        self.count = tf.Variable(0, trainable=False, name="lrwidget_count")

    def write(self, loss):
        """Append ``loss`` (inside the compiled step)."""
        import tensorflow as tf

        index = tf.minimum(self.count, self.values.shape[0] - 1)
        loss = tf.reshape(tf.cast(loss, tf.float32), (1,))
        # An in-place scatter: a functional slice update copies the buffer, 60 µs a step here.
        self.values.scatter_update(tf.IndexedSlices(loss, tf.reshape(index, (1,))))
        self.count.assign_add(1)

    def read(self, start: int) -> np.ndarray:
        """The losses written from step ``start`` on (eager: two reads per call)."""
        return self.values.numpy()[start : int(self.count.numpy())]


class _SweepStep:
    """The sweep's own compiled train step, kept on the model for later sweeps.

    Kept as a plain attribute that Keras neither tracks nor saves, and reused while the model
    is compiled the same way: same optimizer and loss tracker (``compile`` makes new ones), same
    variables (``quantize`` or a changed ``trainable`` flag makes new lists), same
    ``jit_compile`` and ``run_eagerly``, a ladder long enough. One traced function per group
    size (steps per call), and the step time measured by the last sweep that chooses it.

    During a sweep (:meth:`install`) the optimizer reads its LR from the sweep's schedule and
    the loss tracker zeroes itself before adding each batch (and, in groups, records it).
    """

    ATTRIBUTE = "_lrwidget_sweep_step"

    def __init__(self, model, tracker, capacity):
        self.key = self._key(model, tracker)
        self.schedule = _SweepSchedule(capacity)
        tensorflow = keras.backend.backend() == "tensorflow"
        self.record = _LossRecord(capacity) if tensorflow else None
        self.functions = {}  # steps per call -> the traced train function
        self.step_seconds = None

    @staticmethod
    def _key(model, tracker):
        return (
            model.optimizer,
            tracker,
            tuple(id(v) for v in model.trainable_variables),
            tuple(id(v) for v in model.non_trainable_variables),
            getattr(model, "jit_compile", None),
            getattr(model, "run_eagerly", None),
        )

    @classmethod
    def for_sweep(cls, model, tracker, num_steps):
        """The kept step if it serves this sweep, else a new one (traced by the sweep's fit)."""
        kept = model.__dict__.get(cls.ATTRIBUTE)
        key = cls._key(model, tracker)
        if (
            kept is None
            or kept.schedule.capacity < num_steps
            or kept.key[0] is not key[0]
            or kept.key[1] is not key[1]
            or kept.key[2:] != key[2:]
        ):
            kept = cls(model, tracker, _capacity(num_steps))
            object.__setattr__(model, cls.ATTRIBUTE, kept)
        return kept

    def install(self, model, tracker, snapshot, lrs, first_iteration, group):
        """Set the sweep up to run ``group`` steps per call; every change is undone by
        ``snapshot.restore()``. Attributes are set past Keras's ``__setattr__`` (no tracking);
        the optimizer's ``learning_rate`` setter would untrack an LR variable when given a
        schedule and refuse a variable after one."""
        self.schedule.load(lrs, first_iteration)
        record = self.record if group > 1 else None
        if record is not None:
            record.count.assign(0)
        owner = snapshot.lr_owner
        _set_for_sweep(snapshot, owner, "_learning_rate", self.schedule)
        if keras.backend.backend() == "jax":
            # A jitted JAX step gets the optimizer's variables as arguments and bakes any other
            # in as a constant: the ladder and first iteration must travel with them. (This also
            # keeps JAX from reusing the user's traced step: it reuses one traced for an equal
            # function, and a model's bound train_step is equal to itself, while the old jitted
            # one lives and the arguments have the same shapes.)
            variables = (self.schedule.ladder, self.schedule.first)
            for v in variables:
                owner._track_variable(v)
            snapshot.undo.append(lambda: [owner._untrack_variable(v) for v in variables])
        _set_for_sweep(snapshot, tracker, "update_state", _zeroing_update_state(tracker, record))
        model.steps_per_execution = group
        model.train_function = self.functions.get(group)  # None: fit traces the sweep's own


_MISSING = object()


def _set_for_sweep(snapshot, obj, name, value):
    """Set ``obj.name`` past Keras's ``__setattr__`` (nothing tracked); restore undoes it."""
    old = obj.__dict__.get(name, _MISSING)

    def undo():
        if old is _MISSING:
            obj.__dict__.pop(name, None)
        else:
            object.__setattr__(obj, name, old)

    snapshot.undo.append(undo)
    object.__setattr__(obj, name, value)


def _zeroing_update_state(tracker, record=None):
    """``tracker.update_state`` that zeroes the tracker first: inside the compiled step, the
    mean it then holds is the batch's loss alone (the same value as resetting it eagerly before
    each batch, without the eager ops). With a ``record``, that mean is also written to it."""
    update_state = tracker.update_state

    def zero_then_update(*args, **kwargs):
        tracker.reset_state()
        out = update_state(*args, **kwargs)
        if record is not None:
            record.write(tracker.result())
        return out

    return zero_then_update


class StateSnapshot:
    """Bitwise copies of a model's and its optimizer's state, to put back after the sweep.

    Variables that do not exist yet (an unbuilt model or optimizer is built by the first
    ``fit``) are captured by :meth:`capture` when called again once they exist, before any step;
    ``restore`` then returns them to their freshly built values.
    """

    def __init__(self, model):
        self.model = model
        self.optimizer = model.optimizer
        self._saved: dict[int, tuple] = {}
        self._attrs = {
            name: getattr(model, name, None)
            for name in (
                "stop_training",
                "history",
                "steps_per_execution",
                "train_function",
                "test_function",
            )
        }
        # The optimizer that reads the LR (a LossScaleOptimizer's inner one).
        self.lr_owner = getattr(self.optimizer, "inner_optimizer", self.optimizer)
        self.undo: list[Callable[[], object]] = []  # the sweep's other changes, undone last first
        self.capture()

    def _variables(self):
        yield from self.model.variables
        yield from self.optimizer.variables
        # LossScaleOptimizer keeps its inner optimizer's state apart.
        inner = getattr(self.optimizer, "inner_optimizer", None)
        if inner is not None:
            yield from inner.variables

    def capture(self):
        """Copy every variable not copied yet."""
        for v in self._variables():
            if id(v) not in self._saved:
                self._saved[id(v)] = (v, np.array(keras.ops.convert_to_numpy(v.value), copy=True))

    def restore(self):
        """Assign every saved value back and undo the sweep's changes to the model's settings."""
        while self.undo:
            self.undo.pop()()
        for v, value in self._saved.values():
            v.assign(value)
        # The functions traced during the sweep have its LR and zeroing tracker baked in; only
        # the user's own ones may stay cached.
        for name, value in self._attrs.items():
            setattr(self.model, name, value)


class RangeTestCallback(keras.callbacks.Callback):
    """Records the exact loss of each step, measures the step time, stops when it should.

    Parameters
    ----------
    lrs : ndarray
        The LR of each step (applied by the sweep's ``_SweepSchedule``); the sweep stops after
        ``len(lrs)`` steps.
    tracker : keras.metrics.Metric
        The model's loss tracker, zeroed inside each step, so ``logs["loss"]`` is the batch's.
    validation : tuple or None
        ``(x, y, sample_weight)`` of the fixed validation subset, or None for training loss.
    settings : AnalysisSettings
        Smoothing beta and divergence factor for the live stop rule.
    on_point : callable, optional
        Called as ``on_point(step, lr, loss)`` after each step (from the training thread).
    stop_event : threading.Event, optional
        When set, the sweep ends after the current batch (or the point being read of the
        current group) with ``stop_reason="stopped"``.
    snapshot : StateSnapshot, optional
        Completed at the start of training with the state ``fit`` has just built.
    record : _LossRecord, optional
        Where a compiled step that runs a group of steps per call writes each step's loss; read
        after each call. None: one step per call, its loss read from ``logs``.
    """

    def __init__(
        self,
        lrs,
        tracker,
        *,
        validation,
        settings,
        on_point=None,
        stop_event=None,
        snapshot=None,
        record=None,
    ):
        super().__init__()
        self.lrs = lrs
        self.validation = validation
        self.settings = settings
        self.on_point = on_point
        self.stop_event = stop_event
        self.losses: list[float] = []
        self.train_losses: list[float] = []
        self.stop_reason: str | None = None
        self._smoother = analysis.Smoother(settings.beta)
        self._best = math.inf
        self._tracker = tracker
        self._snapshot = snapshot
        self._record = record
        self._calls: list[tuple[float, int]] = []  # (time, steps done) after each call

    def on_train_begin(self, logs=None):
        # fit() has built the model by now; the optimizer would build inside the first step, too
        # late to copy its fresh state, so build it here as that step would.
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        if self._snapshot is not None:
            self._snapshot.capture()

    # Nothing per batch before the step: the LR is stepped and the tracker zeroed inside it.
    # After it, nothing but Python on values fit has already read (its logs hold floats), or
    # one read of the record per group; on JAX, ``self.model`` (which writes the running state
    # back into the variables) is only read for validation and to stop.

    def on_train_batch_end(self, batch, logs=None):
        if self._record is None:
            self._add(float(logs["loss"]))
        else:
            # Points after a stop were trained (the group ran on) but are not the sweep's.
            for loss in self._record.read(len(self.losses)).tolist():
                self._add(loss)
                if self.stop_reason is not None:
                    break
        self._calls.append((time.perf_counter(), len(self.losses)))
        if self.stop_reason is not None:
            self.model.stop_training = True

    def _add(self, train_loss: float):
        step = len(self.losses)
        loss = train_loss
        if self.validation is not None and math.isfinite(train_loss):
            x, y, sw = self.validation
            # Keras before 3.15 does not reset the loss tracker in test_on_batch, so without
            # this the "validation" loss would be blended with the training batch's.
            self._tracker.reset_state()
            loss = float(self.model.test_on_batch(x, y, sw, return_dict=True)["loss"])
        self.train_losses.append(train_loss)
        self.losses.append(loss)
        smoothed = self._smoother.update(loss)
        if math.isfinite(smoothed):
            self._best = min(self._best, smoothed)
        if self.on_point is not None:
            self.on_point(step, float(self.lrs[step]), loss)

        if not math.isfinite(loss):
            self.stop_reason = "non_finite"
        elif analysis.is_diverged(loss, smoothed, self._best, self.settings.diverge_factor):
            self.stop_reason = "diverged"
        elif step + 1 >= len(self.lrs):
            self.stop_reason = "completed"
        elif self.stop_event is not None and self.stop_event.is_set():
            self.stop_reason = "stopped"

    def step_seconds(self) -> float | None:
        """The median time of a step between calls, past the first two (warm-up); None if the
        sweep was too short to tell."""
        calls = self._calls[2:]
        times = [
            (t1 - t0) / (n1 - n0) for (t0, n0), (t1, n1) in itertools.pairwise(calls) if n1 > n0
        ]
        return float(np.median(times)) if len(times) >= 3 else None


def _groups_allowed(model, validation, callbacks) -> bool:
    """Whether the sweep may run several steps per call: on TensorFlow, unless something needs a
    call per step (the validation loss, a callback with batch hooks) or a replica would write
    the loss record (a distribution strategy)."""
    if keras.backend.backend() != "tensorflow" or validation is not None or model.run_eagerly:
        return False
    base = keras.callbacks.Callback
    if any(getattr(type(cb), h) is not getattr(base, h) for cb in callbacks for h in BATCH_HOOKS):
        return False
    import tensorflow as tf

    return (
        model.distribute_strategy is tf.distribute.get_strategy()
        and not tf.distribute.has_strategy()
    )


def _loss_tracker(model):
    tracker = next((m for m in model.metrics if m.name == "loss"), None)
    if tracker is None or not hasattr(tracker, "reset_state"):
        raise ValueError(
            "the model has no loss tracker (a metric named 'loss' in model.metrics), so the "
            "sweep cannot read each batch's loss"
        )
    return tracker


def _check_model(model):
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError(
            "model is not compiled: call model.compile(optimizer=..., loss=...) before the sweep"
        )


def _check_range(start_lr, end_lr, mode):
    for name, value in (("start_lr", start_lr), ("end_lr", end_lr)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if end_lr <= start_lr:
        raise ValueError(f"end_lr ({end_lr}) must be larger than start_lr ({start_lr})")
    if mode not in analysis.MODES:
        raise ValueError(f"mode must be 'exp' or 'linear', got {mode!r}")


def find_lr(
    model,
    x,
    y=None,
    *,
    batch_size: int | None = None,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int | None = None,
    mode: str = "exp",
    validation_data=None,
    validation_size: int = 512,
    sample_weight=None,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    tolerance: float = 0.25,
    spacing: float = 1.2,
    rule: str = analysis.DEFAULT_SUGGESTER,
    callbacks=None,
    on_start: Callable[[np.ndarray, AnalysisSettings], object] | None = None,
    on_point: OnPoint | None = None,
    stop_event: threading.Event | None = None,
) -> SweepResult:
    """Run an LR range test on ``model`` and put the model back exactly as it was.

    The LR grows from ``start_lr`` to ``end_lr`` over ``num_steps`` batches; after each batch
    the true loss of that batch is recorded. The sweep stops early when the smoothed loss
    exceeds ``diverge_factor`` times its best or a loss is not finite.

    Parameters
    ----------
    model : keras.Model
        A compiled model. Its variables, its optimizer's variables and LR (or schedule) are
        bitwise the same afterwards, whatever happens during the sweep.
    x, y : arrays, tf.data.Dataset, keras.utils.PyDataset or generator
        As for ``model.fit``; ``y`` (and ``batch_size``) only with arrays.
    batch_size : int, optional
        For array input (default 32).
    start_lr, end_lr : float
        The first step uses exactly ``start_lr``, the last exactly ``end_lr``.
    num_steps : int, optional
        Number of batches. Default: one epoch, but at least 300 (small data is cycled).
        Required for generators and infinite Datasets.
    mode : {"exp", "linear"}
        How the LR grows between the ends.
    validation_data : tuple or Dataset, optional
        If given, each point's loss is the loss on a fixed subset of ``validation_size``
        samples, measured right after the step (the article's advice). Extra cost: one forward
        pass over the subset per step, about ``validation_size / (3 * batch_size)`` training
        steps' worth (e.g. 512 samples at batch 128 roughly doubles the sweep's time).
    validation_size : int
        Samples in the validation subset (default 512).
    sample_weight : array, optional
        Per-sample weights for array input.
    beta : float
        The debiased EMA's factor (default 0.98), lowered for short sweeps so that it averages
        over at most a tenth of the steps (0.9 for 100 steps; see
        :func:`~lrwidget.analysis.effective_beta`). The result's ``settings.beta`` is the one used.
    diverge_factor, tolerance, spacing, rule
        Divergence stop, candidate filter and spacing, suggestion rule; see
        :mod:`lrwidget.analysis`.
    callbacks : list of keras.callbacks.Callback, optional
        Extra callbacks for the sweep's ``fit``. One with batch hooks keeps the sweep at one
        step per call of the compiled step, so that it sees every batch.
    on_start : callable, optional
        ``on_start(lrs, settings)`` once the arguments are checked and the model is claimed,
        with the planned LR of every step and the analysis settings the result will carry
        (``beta`` already capped for the sweep's length).
    on_point : callable, optional
        ``on_point(step, lr, loss)`` after every step, e.g. to draw the curve live.
    stop_event : threading.Event, optional
        Set it (from any thread) to end the sweep after the current batch.

    Returns
    -------
    SweepResult
    """
    _check_model(model)
    _check_range(start_lr, end_lr, mode)
    settings = AnalysisSettings(beta, diverge_factor, tolerance, spacing, rule)  # validates
    plan = plan_fit(x, y, batch_size=batch_size, num_steps=num_steps, sample_weight=sample_weight)
    settings = dataclasses.replace(settings, beta=analysis.effective_beta(beta, plan.num_steps))
    validation = validation_subset(validation_data, validation_size)
    lrs = analysis.lr_ladder(float(start_lr), float(end_lr), plan.num_steps, mode)
    hooks = (on_start, on_point, stop_event)
    meta = {"start_lr": float(start_lr), "end_lr": float(end_lr), "mode": mode}
    with exclusive(model):
        return _sweep(model, plan, lrs, settings, validation, callbacks, hooks, meta)


def _sweep(model, plan, lrs, settings, validation, callbacks, hooks, meta) -> SweepResult:
    """The sweep itself, on a model this thread has claimed."""
    on_start, on_point, stop_event = hooks
    if not model.built:
        # Keras would build it inside the first step, after which its fresh weights are gone;
        # built here, they are what the sweep restores.
        model(sample_inputs(plan))
    snapshot = StateSnapshot(model)
    tracker = _loss_tracker(model)
    step = _SweepStep.for_sweep(model, tracker, len(lrs))
    allowed = _groups_allowed(model, validation, callbacks or [])
    group = group_size(step.step_seconds) if allowed else 1
    callback = RangeTestCallback(
        lrs,
        tracker,
        validation=validation,
        settings=settings,
        on_point=on_point,
        stop_event=stop_event,
        snapshot=snapshot,
        record=step.record if group > 1 else None,
    )
    if on_start is not None:
        on_start(lrs, settings)
    started = time.perf_counter()
    try:
        # The raw step count the schedule is called with: with gradient accumulation the
        # public ``iterations`` counts updates, not steps.
        first = int(keras.ops.convert_to_numpy(snapshot.lr_owner._iterations))
        step.install(model, tracker, snapshot, lrs, first, group)
        model.fit(**plan.fit_kwargs, callbacks=[callback, *(callbacks or [])], verbose=0)
        step.functions[group] = model.train_function
        step_seconds = callback.step_seconds()
        if allowed and step_seconds is not None:
            step.step_seconds = step_seconds
    finally:
        snapshot.restore()
    elapsed = time.perf_counter() - started

    n = len(callback.losses)
    meta = {
        **meta,
        "num_steps": plan.num_steps,
        "steps_done": n,
        "steps_per_call": group,
        "step_seconds": step_seconds,
        "batch_size": plan.batch_size,
        "data": plan.kind,
        "validation": validation is not None,
        "validation_size": None if validation is None else count_samples(validation[0]),
        "optimizer": type(model.optimizer).__name__,
        "model": model.name,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "tensorflow": _tf_version(),
        "seconds": round(elapsed, 3),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return SweepResult(
        lrs=lrs[:n],
        losses=np.array(callback.losses),
        train_losses=np.array(callback.train_losses),
        stop_reason=callback.stop_reason or "data_exhausted",
        settings=settings,
        meta=meta,
    )


def _tf_version():
    try:
        import tensorflow as tf

        return tf.__version__
    except ImportError:
        return None
