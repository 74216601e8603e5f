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
once per compiled model and group size and kept for the next sweep (see
:class:`lrwidget.keras_state.SweepStep`, with every other reach into Keras internals).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import keras
import numpy as np

from . import analysis
from .data import count_samples, fit_arguments, plan_fit, sample_inputs, validation_subset
from .keras_state import StateSnapshot, SweepStep, exclusive, loss_tracker, raw_iterations
from .result import AnalysisSettings, SweepResult
from .selection import check_lr

OnPoint = Callable[[int, float, float], object]

# A call of the sweep's compiled step runs a group of steps lasting about this long: Keras's
# fixed per-call work is then paid once a group, while Stop and the divergence stop still act
# within this time.
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


class RangeTestCallback(keras.callbacks.Callback):
    """Records the exact loss of each step, measures the step time, stops when it should.

    Parameters
    ----------
    lrs : ndarray
        The LR of each step (applied by the sweep's ``SweepSchedule``); the sweep stops after
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
    record : LossRecord, optional
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


def check_model(model):
    """Refuse what is no compiled Keras model, naming the fix (before anything changes)."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if not getattr(model, "compiled", False) or model.optimizer is None:
        raise ValueError(
            "model is not compiled: call model.compile(optimizer=..., loss=...) before the sweep"
        )


def check_sweep_range(start_lr, end_lr, mode="exp"):
    """Refuse a range a sweep cannot run, naming the argument (before anything changes)."""
    check_lr(start_lr, "start_lr")
    check_lr(end_lr, "end_lr")
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
    check_model(model)
    check_sweep_range(start_lr, end_lr, mode)
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
    tracker = loss_tracker(model)
    step = SweepStep.for_sweep(model, tracker, len(lrs), MAX_GROUP)
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
        first = raw_iterations(model.optimizer)  # the step count the schedule is called with
        step.install(model, tracker, snapshot, lrs, first, group)
        fit_kwargs = fit_arguments(plan, model)  # shuffle only where Keras honours it
        model.fit(**fit_kwargs, callbacks=[callback, *(callbacks or [])], verbose=0)
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
