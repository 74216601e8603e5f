"""The engine every run goes through: a ladder of LRs, one per step, run by one ``model.fit``.

A sweep's ladder rises; a trial's is constant. :func:`run_ladder` runs either and returns raw
arrays (:class:`LadderRun`): each step's true training loss, the validation loss after the
steps asked for, why it stopped, how long it took. It reads nothing into them: the caller's
``on_step`` hook (called after every step, from the training thread) draws, decides
divergence and may end the run. The model is put back bitwise after every run
(:class:`~lrwidget.keras_state.StateSnapshot`), whatever happens.

On TensorFlow, once a model's step time is known, one call of the compiled step runs a group
of steps lasting about ``GROUP_SECONDS`` (each step writing its loss into a buffer read once a
call), so that Keras's fixed cost per call falls on the group; see :func:`group_size`.

:class:`OptimizerSettings` sets a family member's (or a trial's) optimizer settings for its
run and keeps the traced steps per setting, since Keras bakes settings into the traced step.
"""

from __future__ import annotations

import inspect
import itertools
import math
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import keras
import numpy as np

from .data import FitPlan, sample_inputs
from .keras_state import (
    StateSnapshot,
    SweepStep,
    claimed_here,
    loss_tracker,
    lr_owner,
    raw_iterations,
)

# A call of the compiled step runs a group of steps lasting about this long: Keras's fixed
# per-call work is then paid once a group, while Stop and the divergence stop still act within
# this time.
GROUP_SECONDS = 0.05
MAX_GROUP = 32
# Callback hooks that expect a call per batch; a callback that has one keeps the run at one
# step per call.
BATCH_HOOKS = ("on_batch_begin", "on_batch_end", "on_train_batch_begin", "on_train_batch_end")

# on_step(step, train_loss, val_loss) -> a stop reason, or None to go on
OnStep = Callable[[int, float, "float | None"], "str | None"]


def group_size(step_seconds: float | None) -> int:
    """Steps per call of the compiled step, for a model whose steps take ``step_seconds``.

    The largest power of two (at most ``MAX_GROUP``) whose group lasts at most ``GROUP_SECONDS``;
    1 while the step time is unknown (a model's first run measures it), so that a slow model
    never runs long groups.
    """
    if step_seconds is None or not step_seconds > 0:
        return 1
    steps = min(MAX_GROUP, max(1, int(GROUP_SECONDS / step_seconds)))
    return 1 << (steps.bit_length() - 1)


def groups_allowed(model, validation, callbacks) -> bool:
    """Whether a run may take several steps per call: on TensorFlow, unless something needs a
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


@dataclass(frozen=True, eq=False)
class LadderRun:
    """What one run of a ladder recorded, raw.

    Attributes
    ----------
    lrs : ndarray
        The LR of each step run (the ladder's first ``len(train_losses)``).
    train_losses : ndarray
        The true training loss of each step's batch.
    val_index : ndarray of int
        The steps (0-based) after which the validation loss was measured.
    val_losses : ndarray
        The validation loss after each of them (a non-finite training loss is copied).
    stop_reason : str
        ``"completed"``, ``"stopped"`` (the stop event), ``"data_exhausted"``, or the reason
        ``on_step`` returned (e.g. ``"diverged"``).
    steps_per_call : int
        Steps run per call of the compiled step.
    step_seconds : float or None
        The median time of a step, measured by this run (None when it was too short).
    seconds : float
        The run's wall time, ``fit`` and restore included.
    """

    lrs: np.ndarray
    train_losses: np.ndarray
    val_index: np.ndarray
    val_losses: np.ndarray
    stop_reason: str
    steps_per_call: int
    step_seconds: float | None
    seconds: float

    def __len__(self) -> int:
        return len(self.train_losses)


class LadderCallback(keras.callbacks.Callback):
    """Reads the exact loss of each step, measures the step time, stops when it should.

    Parameters
    ----------
    num_steps : int
        The run stops after this many steps.
    tracker : keras.metrics.Metric
        The model's loss tracker, zeroed inside each step, so ``logs["loss"]`` is the batch's.
    validation : tuple or None
        ``(x, y, sample_weight)`` of the fixed validation subset.
    validate : collection of int or None
        The steps (0-based) after which to measure the validation loss; None: every step.
    on_step : callable, optional
        ``on_step(step, train_loss, val_loss)`` after each step; a string it returns ends the
        run with that stop reason.
    stop_event : threading.Event, optional
        When set, the run ends after the current step (or the point being read of the current
        group) with ``"stopped"``.
    snapshot : StateSnapshot, optional
        Completed at the start of training with the state ``fit`` has just built.
    record : LossRecord, optional
        Where a compiled step that runs a group of steps per call writes each step's loss.
    """

    def __init__(
        self,
        num_steps,
        tracker,
        *,
        validation=None,
        validate=None,
        on_step=None,
        stop_event=None,
        snapshot=None,
        record=None,
    ):
        super().__init__()
        self.num_steps = num_steps
        self.validation = validation
        self.validate = None if validate is None else frozenset(validate)
        self.on_step = on_step
        self.stop_event = stop_event
        self.train_losses: list[float] = []
        self.val_index: list[int] = []
        self.val_losses: list[float] = []
        self.stop_reason: str | None = None
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
            # Points after a stop were trained (the group ran on) but are not the run's.
            for loss in self._record.read(len(self.train_losses)).tolist():
                self._add(loss)
                if self.stop_reason is not None:
                    break
        self._calls.append((time.perf_counter(), len(self.train_losses)))
        if self.stop_reason is not None:
            self.model.stop_training = True

    def _add(self, train_loss: float):
        step = len(self.train_losses)
        val_loss = None
        if self.validation is not None and (self.validate is None or step in self.validate):
            val_loss = train_loss
            if math.isfinite(train_loss):
                x, y, sw = self.validation
                # Keras before 3.15 does not reset the loss tracker in test_on_batch, so without
                # this the validation loss would be blended with the training batch's.
                self._tracker.reset_state()
                val_loss = float(self.model.test_on_batch(x, y, sw, return_dict=True)["loss"])
            self.val_index.append(step)
            self.val_losses.append(val_loss)
        self.train_losses.append(train_loss)
        reason = None if self.on_step is None else self.on_step(step, train_loss, val_loss)
        if reason is not None:
            self.stop_reason = reason
        elif step + 1 >= self.num_steps:
            self.stop_reason = "completed"
        elif self.stop_event is not None and self.stop_event.is_set():
            self.stop_reason = "stopped"

    def step_seconds(self) -> float | None:
        """The median time of a step between calls, past the first two (warm-up); None if the
        run was too short to tell."""
        calls = self._calls[2:]
        times = [
            (t1 - t0) / (n1 - n0) for (t0, n0), (t1, n1) in itertools.pairwise(calls) if n1 > n0
        ]
        return float(np.median(times)) if len(times) >= 3 else None


def run_ladder(
    model,
    plan: FitPlan,
    lrs,
    *,
    validation=None,
    validate: Collection[int] | None = None,
    on_step: OnStep | None = None,
    callbacks=None,
    stop_event: threading.Event | None = None,
) -> LadderRun:
    """Train ``model`` one step per LR of ``lrs`` and put it back exactly as it was.

    Parameters
    ----------
    model : keras.Model
        A compiled model, claimed by this thread (:func:`lrwidget.keras_state.exclusive`).
        An unbuilt one is built first, with a batch of the data (its fresh weights are then
        what the run restores).
    plan : FitPlan
        The data's ``fit`` call (:func:`lrwidget.data.plan_fit`), at least ``len(lrs)`` steps.
    lrs : ndarray
        The LR of each step: the run ends after ``len(lrs)`` steps.
    validation : tuple, optional
        ``(x, y, sample_weight)``, the fixed validation subset
        (:func:`lrwidget.data.validation_subset`).
    validate : collection of int, optional
        The steps (0-based) after which to measure the validation loss; None: every step.
    on_step : callable, optional
        ``on_step(step, train_loss, val_loss)`` after every step (``val_loss`` None where not
        measured); a string it returns ends the run with that stop reason.
    callbacks : list of keras.callbacks.Callback, optional
        More callbacks for the ``fit`` (one with batch hooks keeps a step per call).
    stop_event : threading.Event, optional
        Set it (from any thread) to end the run after the current step.

    Returns
    -------
    LadderRun
    """
    if not claimed_here(model):
        raise RuntimeError("run_ladder needs the model claimed: with keras_state.exclusive(model)")
    lrs = np.asarray(lrs, dtype=np.float64)
    if not model.built:
        # Keras would build it inside the first step, after which its fresh weights are gone.
        model(sample_inputs(plan))
    snapshot = StateSnapshot(model)
    tracker = loss_tracker(model)
    step = SweepStep.for_sweep(model, tracker, len(lrs), MAX_GROUP)
    allowed = groups_allowed(model, validation, callbacks or [])
    group = group_size(step.step_seconds) if allowed else 1
    callback = LadderCallback(
        len(lrs),
        tracker,
        validation=validation,
        validate=validate,
        on_step=on_step,
        stop_event=stop_event,
        snapshot=snapshot,
        record=step.record if group > 1 else None,
    )
    started = time.perf_counter()
    try:
        first = raw_iterations(model.optimizer)  # the step count the schedule is called with
        step.install(model, tracker, snapshot, lrs, first, group)
        model.fit(**plan.fit_kwargs, callbacks=[callback, *(callbacks or [])], verbose=0)
        step.functions[group] = model.train_function
        step_seconds = callback.step_seconds()
        if allowed and step_seconds is not None:
            step.step_seconds = step_seconds
    finally:
        snapshot.restore()
    n = len(callback.train_losses)
    return LadderRun(
        lrs=lrs[:n],
        train_losses=np.array(callback.train_losses, dtype=np.float64),
        val_index=np.array(callback.val_index, dtype=np.int64),
        val_losses=np.array(callback.val_losses, dtype=np.float64),
        stop_reason=callback.stop_reason or "data_exhausted",
        steps_per_call=group,
        step_seconds=step_seconds,
        seconds=time.perf_counter() - started,
    )


# --- optimizer settings per run ------------------------------------------------------------
# Optimizer arguments no run can vary: the LR is what the ladder varies, and these make
# variables when the optimizer is built, or are not settings of the update at all.
NOT_VARIABLE = {
    "learning_rate",
    "name",
    "amsgrad",
    "centered",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
}
_MISSING = object()


def optimizer_settings(optimizer) -> list[str]:
    """The settings of ``optimizer`` a run can vary: its constructor's arguments held as a
    number, a bool or None (e.g. SGD's ``momentum``, ``nesterov``, ``weight_decay``)."""
    owner = lr_owner(optimizer)
    names = set()
    for cls in type(owner).__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None:
            names |= set(inspect.signature(init).parameters)
    return sorted(
        name
        for name in names - NOT_VARIABLE
        if name in dir(owner)
        and (getattr(owner, name) is None or isinstance(getattr(owner, name), int | float))
    )


def check_momentum(optimizer, values, where: str) -> None:
    """SGD built with ``momentum=0`` has no momentum variables, so no run can use one of
    ``values`` (the momenta asked for in the argument ``where``)."""
    owner = lr_owner(optimizer)
    if isinstance(owner, keras.optimizers.SGD) and owner.momentum == 0:
        moving = [v for v in values if v != 0]
        if moving:
            raise ValueError(
                f"{where} holds {moving[0]!r}, but this SGD was made with momentum=0, "
                "so it keeps no momentum to use: compile with SGD(momentum=0.9) (any value "
                "but 0; it is put back afterwards) to vary momentum"
            )


def build(model, plan: FitPlan) -> None:
    """Build the model and its optimizer with the user's own settings, as a first run would:
    a run's settings must not decide which variables the optimizer makes."""
    if not model.built:
        model(sample_inputs(plan))
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


def _own_train_step(model):
    """``model.train_step`` as a function of its own: JAX traces it anew."""
    method = model.train_step

    def train_step(*args, **kwargs):
        return method(*args, **kwargs)

    return train_step


class OptimizerSettings:
    """Each run's optimizer settings, the traced steps that bake them in, and the user's own
    settings to put back.

    The traced steps are kept per setting of every optimizer setting (not only the varied
    ones) on the model, next to its :class:`~lrwidget.keras_state.SweepStep`, so that a setting
    is traced once, and a later family or trials with the same settings trace nothing anew.
    """

    ATTRIBUTE = "_lrwidget_family_steps"

    def __init__(self, model, names):
        self.model = model
        self.owner = lr_owner(model.optimizer)
        self.names = list(names)
        self.own = {name: getattr(self.owner, name) for name in self.names}
        self.every = optimizer_settings(model.optimizer)
        # setting -> (the SweepStep, its traced functions, the JAX train_step they were traced on)
        self.traced: dict[tuple, tuple] = model.__dict__.get(self.ATTRIBUTE) or {}
        object.__setattr__(model, self.ATTRIBUTE, self.traced)
        self.own_key = self._key()
        self._remember()
        self.own_step = model.__dict__.get("train_step", _MISSING)
        self.jax_step = None

    def _key(self) -> tuple:
        """The optimizer's settings now: what a traced step has baked in."""
        return tuple((name, getattr(self.owner, name)) for name in self.every)

    def _remember(self, jax_step=None):
        kept = self.model.__dict__.get(SweepStep.ATTRIBUTE)
        if kept is not None:
            self.traced[self._key()] = (kept, kept.functions, jax_step)

    def _use_traced(self, own: bool):
        """The kept step's functions traced with the settings now (none: trace anew)."""
        kept = self.model.__dict__.get(SweepStep.ATTRIBUTE)
        step, functions, jax_step = self.traced.get(self._key(), (None, None, None))
        if kept is not None:
            kept.functions = functions if step is kept else {}
        if keras.backend.backend() == "jax" and not own:
            # JAX reuses a traced step for an equal function (a model's bound train_step is
            # equal to itself), settings baked in: each setting gets a train_step of its own.
            jax_step = jax_step if step is kept and jax_step else _own_train_step(self.model)
            object.__setattr__(self.model, "train_step", jax_step)
        return jax_step

    def apply(self, setting: dict):
        """Set ``setting``'s optimizer settings (others: the user's) and their traced steps."""
        values = {**self.own, **{k: v for k, v in setting.items() if k in self.names}}
        for name, value in values.items():
            setattr(self.owner, name, value)
        self._put_back_train_step()
        self.jax_step = self._use_traced(own=self._key() == self.own_key)

    def done(self):
        """Keep the steps the run just traced for its setting."""
        self._remember(self.jax_step)

    def _put_back_train_step(self):
        if self.own_step is _MISSING:
            self.model.__dict__.pop("train_step", None)
        else:
            object.__setattr__(self.model, "train_step", self.own_step)

    def restore(self):
        """The user's own settings and traced steps."""
        for name, value in self.own.items():
            setattr(self.owner, name, value)
        self._put_back_train_step()
        self._use_traced(own=True)
