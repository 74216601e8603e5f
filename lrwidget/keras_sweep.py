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

The sweep is the engine's run of a rising ladder (:func:`lrwidget.keras_engine.run_ladder`,
shared with families and trials): its per-step cost is at most fit's, nothing runs eagerly
per batch but Python (reading the loss, the stop checks, ``on_point``), and on TensorFlow
steps run in groups once a model's step time is known (:func:`group_size`). The sweep's
compiled step (the stand-in schedule and the self-zeroing tracker baked in) is traced once
per compiled model and group size and kept for the next sweep (see
:class:`lrwidget.keras_state.SweepStep`, with every other reach into Keras internals).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from datetime import datetime, timezone

import keras
import numpy as np

from . import analysis
from .data import count_samples, plan_fit, validation_subset
from .keras_engine import GROUP_SECONDS, MAX_GROUP, group_size, run_ladder
from .keras_state import exclusive
from .result import AnalysisSettings, SweepResult
from .selection import check_lr

OnPoint = Callable[[int, float, float], object]
__all__ = [
    "GROUP_SECONDS",
    "MAX_GROUP",
    "check_model",
    "check_sweep_range",
    "find_lr",
    "group_size",
]


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
    """The sweep itself, on a model this thread has claimed: the engine's run of the rising
    ladder, with the divergence rule and ``on_point`` on each step's loss."""
    on_start, on_point, stop_event = hooks
    smoother, best = analysis.Smoother(settings.beta), [math.inf]

    def on_step(step, train_loss, val_loss):
        loss = train_loss if val_loss is None else val_loss
        smoothed = smoother.update(loss)
        if math.isfinite(smoothed):
            best[0] = min(best[0], smoothed)
        if on_point is not None:
            on_point(step, float(lrs[step]), loss)
        if not math.isfinite(loss):
            return "non_finite"
        if analysis.is_diverged(loss, smoothed, best[0], settings.diverge_factor):
            return "diverged"
        return None

    if on_start is not None:
        on_start(lrs, settings)
    run = run_ladder(
        model,
        plan,
        lrs,
        validation=validation,
        on_step=on_step,
        callbacks=callbacks,
        stop_event=stop_event,
    )
    meta = {
        **meta,
        "num_steps": plan.num_steps,
        "default_steps": plan.default_steps,
        "steps_done": len(run),
        "steps_per_call": run.steps_per_call,
        "step_seconds": run.step_seconds,
        "batch_size": plan.batch_size,
        "data": plan.kind,
        "validation": validation is not None,
        "validation_size": None if validation is None else count_samples(validation[0]),
        "optimizer": type(model.optimizer).__name__,
        "model": model.name,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "tensorflow": _tf_version(),
        "seconds": round(run.seconds, 3),
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return SweepResult(
        lrs=run.lrs,
        losses=run.train_losses if validation is None else run.val_losses,
        train_losses=run.train_losses,
        stop_reason=run.stop_reason,
        settings=settings,
        meta=meta,
    )


def _tf_version():
    try:
        import tensorflow as tf

        return tf.__version__
    except ImportError:
        return None
