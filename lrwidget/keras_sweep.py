"""The LR range test on a Keras 3 model: one ``model.fit`` with a callback that steps the LR.

Three things make it correct where other finders are not:

* **The true batch loss.** ``logs["loss"]`` is Keras's running mean over the epoch. The callback
  zeroes the loss tracker (two scalar assigns) before every batch, so the mean it reports after
  the batch is that batch's loss, exactly, at no measurable cost.
* **Nothing lost.** Every model variable (weights, BatchNorm statistics, seed-generator state)
  and optimizer variable (iterations, momenta, the LR) is copied before the sweep and assigned
  back afterwards in a ``finally`` - on completion, divergence, Stop, an exception or
  KeyboardInterrupt. The same model and optimizer objects are kept; nothing is reloaded.
* **One sweep per model.** While a sweep runs, a second sweep of the same model and
  ``fit``/``train_on_batch``/``evaluate``/``test_on_batch`` called on it from another thread
  are refused: the sweep puts the state back when it ends, which would silently undo them.
* **One LR per step.** ``steps_per_execution`` is set to 1 for the sweep; an optimizer built
  on a ``LearningRateSchedule`` gets a temporary schedule that reads the sweep's LR and gets its
  very own schedule object back afterwards.
"""

from __future__ import annotations

import dataclasses
import functools
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
from .schedules import lr_source, uses_schedule

OnPoint = Callable[[int, float, float], object]

# The models being swept, by id, with the thread that sweeps each. A model is claimed before
# its state is copied, so a second sweep can never copy (and later restore) mid-sweep weights.
_sweeping: dict[int, int] = {}
_sweeping_lock = threading.Lock()
# What would change a swept model's state from another thread, only to be undone by restore().
GUARDED_METHODS = ("fit", "train_on_batch", "evaluate", "test_on_batch")


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
    """Stands in for a user's schedule during the sweep: the LR of each step, looked up by the
    optimizer's own iteration count. Being a function of optimizer state (not a variable of
    ours), it is right on every backend, inside compiled and distributed steps alike."""

    def __init__(self, lrs, first_iteration: int):
        self.lrs = np.asarray(lrs, dtype="float32")
        self.first_iteration = first_iteration

    def __call__(self, step):
        index = keras.ops.cast(step, "int32") - self.first_iteration
        index = keras.ops.clip(index, 0, len(self.lrs) - 1)
        return keras.ops.take(keras.ops.convert_to_tensor(self.lrs), index)

    def get_config(self):
        return {"lrs": self.lrs.tolist(), "first_iteration": self.first_iteration}


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
            for name in ("stop_training", "history", "steps_per_execution", "train_function")
        }
        # A schedule (or callable) LR is swapped out for the sweep; keep the very object.
        self.schedule_based = uses_schedule(self.optimizer)
        self._lr_source = lr_source(self.optimizer) if self.schedule_based else None
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
        if self._lr_source is not None:
            self.optimizer.learning_rate = self._lr_source
        for v, value in self._saved.values():
            v.assign(value)
        for name, value in self._attrs.items():
            if name != "train_function":
                setattr(self.model, name, value)
        # The sweep may have traced its own train function (other LR source or
        # steps_per_execution); only the user's own one may stay cached.
        self.model.train_function = self._attrs["train_function"]


class RangeTestCallback(keras.callbacks.Callback):
    """Sets the LR before each batch, records the exact loss after it, stops when it should.

    Parameters
    ----------
    lrs : ndarray
        The LR of each step; the sweep stops after ``len(lrs)`` steps.
    lr_variable : keras.Variable or None
        The optimizer's LR variable, assigned before each step; None when the optimizer reads
        its LR from a schedule (then the sweep's ``_SweepSchedule`` does the stepping).
    validation : tuple or None
        ``(x, y, sample_weight)`` of the fixed validation subset, or None for training loss.
    settings : AnalysisSettings
        Smoothing beta and divergence factor for the live stop rule.
    on_point : callable, optional
        Called as ``on_point(step, lr, loss)`` after each step (from the training thread).
    stop_event : threading.Event, optional
        When set, the sweep ends after the current batch with ``stop_reason="stopped"``.
    snapshot : StateSnapshot, optional
        Completed at the start of training with the state ``fit`` has just built.
    """

    def __init__(
        self,
        lrs,
        lr_variable,
        *,
        validation,
        settings,
        on_point=None,
        stop_event=None,
        snapshot=None,
    ):
        super().__init__()
        self.lrs = lrs
        self.lr_variable = lr_variable
        self.validation = validation
        self.settings = settings
        self.on_point = on_point
        self.stop_event = stop_event
        self.losses: list[float] = []
        self.train_losses: list[float] = []
        self.stop_reason: str | None = None
        self._smoother = analysis.Smoother(settings.beta)
        self._best = math.inf
        self._tracker = None
        self._snapshot = snapshot

    def on_train_begin(self, logs=None):
        # fit() has built the model by now; the optimizer would build inside the first step, too
        # late to copy its fresh state, so build it here as that step would.
        optimizer = self.model.optimizer
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        if self._snapshot is not None:
            self._snapshot.capture()
        self._tracker = next(m for m in self.model.metrics if m.name == "loss")

    def on_train_batch_begin(self, batch, logs=None):
        # On JAX, reading self.model writes the running state back into the variables, so the
        # assignments below reach the next step; elsewhere it is a plain attribute read.
        _ = self.model
        if self.lr_variable is not None:
            self.lr_variable.assign(self.lrs[len(self.losses)])
        # A fresh running mean makes logs["loss"] after this batch the batch loss itself.
        self._tracker.reset_state()

    def on_train_batch_end(self, batch, logs=None):
        step = len(self.losses)
        train_loss = float(logs["loss"])
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
        if self.stop_reason is not None:
            self.model.stop_training = True


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
        Number of batches. Default: one epoch, but at least 100 (small data is cycled).
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
        Extra callbacks for the sweep's ``fit``.
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
    optimizer = model.optimizer
    lr_variable = None if snapshot.schedule_based else optimizer.learning_rate
    callback = RangeTestCallback(
        lrs,
        lr_variable,
        validation=validation,
        settings=settings,
        on_point=on_point,
        stop_event=stop_event,
        snapshot=snapshot,
    )
    if on_start is not None:
        on_start(lrs, settings)
    started = time.perf_counter()
    try:
        if snapshot.schedule_based:
            # The raw step count the schedule is called with: with gradient accumulation the
            # public ``iterations`` counts updates, not steps.
            owner = getattr(optimizer, "inner_optimizer", optimizer)
            first = int(keras.ops.convert_to_numpy(owner._iterations))
            optimizer.learning_rate = _SweepSchedule(lrs, first)
            model.train_function = None
        if model.steps_per_execution != 1:
            model.steps_per_execution = 1
            model.train_function = None
        model.fit(**plan.fit_kwargs, callbacks=[callback, *(callbacks or [])], verbose=0)
    finally:
        snapshot.restore()
    elapsed = time.perf_counter() - started

    n = len(callback.losses)
    meta = {
        **meta,
        "num_steps": plan.num_steps,
        "steps_done": n,
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
