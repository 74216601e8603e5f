"""Keras glue for using the chosen LR: set it on an optimizer, decay it per epoch, or build a
cyclical schedule from a picked range.

The article trains with the LR found by the range test, multiplied by 0.97 after every epoch;
:class:`EpochDecay` is that schedule as a small Keras callback. The range test was invented to
find the bounds of a cyclical schedule (Smith, 2017); :class:`OneCycle` and :class:`Cyclic`
take those bounds (``LRFinderWidget.selected_range``) and are ordinary, serialisable Keras
``LearningRateSchedule`` objects.
"""

from __future__ import annotations

import math

import keras

from .keras_state import lr_owner, lr_source, uses_schedule
from .selection import check_lr
from .style import format_lr


def _config_repr(schedule) -> str:
    """``OneCycle(max_lr=0.1, total_steps=1000, ...)``: what the schedule was built with."""
    args = ", ".join(f"{name}={value!r}" for name, value in schedule.get_config().items())
    return f"{type(schedule).__name__}({args})"


@keras.saving.register_keras_serializable(package="lrwidget")
class ConstantLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """A schedule that always returns the same LR (what replaces a user's schedule on request).

    An optimizer built on a schedule only accepts another schedule, so this is how a fixed LR
    is given to it.
    """

    def __init__(self, learning_rate: float):
        self.learning_rate = check_lr(learning_rate)

    def __call__(self, step):
        return keras.ops.convert_to_tensor(self.learning_rate, dtype="float32")

    __repr__ = _config_repr

    def get_config(self):
        return {"learning_rate": self.learning_rate}


def _check_steps(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int (a number of steps), got {value!r}")
    return value


def check_range(low, high) -> tuple[float, float]:
    """``(low, high)`` as floats, or a ``ValueError`` naming what is wrong."""
    low, high = check_lr(low), check_lr(high)
    if not low < high:
        raise ValueError(f"the range must have low < high, got ({low:.3g}, {high:.3g})")
    return low, high


@keras.saving.register_keras_serializable(package="lrwidget")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One cycle (Smith 2018, as fastai trains): from ``max_lr / div_factor`` up to ``max_lr``
    over the first ``pct_start`` of ``total_steps``, then cosine down to
    ``max_lr / final_div_factor``.

    Parameters
    ----------
    max_lr : float
        The top of the cycle: the high end of the picked range.
    total_steps : int
        Steps of the whole training (epochs x steps per epoch).
    div_factor : float
        ``max_lr / div_factor`` is where the cycle starts (the low end of the picked range).
    pct_start : float
        Share of the steps spent warming up, in (0, 1).
    final_div_factor : float
        The cycle ends at ``max_lr / final_div_factor``.
    """

    def __init__(self, max_lr, total_steps, div_factor=25.0, pct_start=0.25, final_div_factor=1e4):
        self.max_lr = check_lr(max_lr)
        self.total_steps = _check_steps("total_steps", total_steps)
        if not 0 < pct_start < 1:
            raise ValueError(f"pct_start must be in (0, 1), got {pct_start!r}")
        for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
            if not (isinstance(value, int | float) and value >= 1):
                raise ValueError(f"{name} must be a number >= 1, got {value!r}")
        self.div_factor, self.final_div_factor = float(div_factor), float(final_div_factor)
        self.pct_start = float(pct_start)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        warm = max(self.pct_start * self.total_steps, 1.0)
        start, top = self.max_lr / self.div_factor, self.max_lr
        end = self.max_lr / self.final_div_factor
        up = keras.ops.clip(step / warm, 0.0, 1.0)
        down = keras.ops.clip((step - warm) / max(self.total_steps - warm, 1.0), 0.0, 1.0)
        rising = start + (top - start) * (1 - keras.ops.cos(math.pi * up)) / 2
        falling = end + (top - end) * (1 + keras.ops.cos(math.pi * down)) / 2
        return keras.ops.where(step < warm, rising, falling)

    __repr__ = _config_repr

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "div_factor": self.div_factor,
            "pct_start": self.pct_start,
            "final_div_factor": self.final_div_factor,
        }


@keras.saving.register_keras_serializable(package="lrwidget")
class Cyclic(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's triangular cyclical LR: from ``base_lr`` up to ``max_lr`` over ``step_size``
    steps and back down, again and again.

    Parameters
    ----------
    base_lr, max_lr : float
        The bounds: the picked range.
    step_size : int
        Steps of half a cycle (Smith suggests 2 to 10 epochs' worth).
    """

    def __init__(self, base_lr, max_lr, step_size):
        self.base_lr, self.max_lr = check_range(base_lr, max_lr)
        self.step_size = _check_steps("step_size", step_size)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        phase = step / self.step_size
        position = keras.ops.abs(phase - 2 * keras.ops.floor(phase / 2) - 1)
        return self.base_lr + (self.max_lr - self.base_lr) * (1 - position)

    __repr__ = _config_repr

    def get_config(self):
        return {"base_lr": self.base_lr, "max_lr": self.max_lr, "step_size": self.step_size}


def set_schedule(model, schedule) -> str:
    """Train ``model`` with ``schedule`` from its next step on (its optimizer's LR source)."""
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        raise TypeError(
            f"schedule must be a keras LearningRateSchedule (e.g. finder.one_cycle_schedule(...)), "
            f"got {type(schedule).__name__}"
        )
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("the model has no optimizer: call model.compile(optimizer=...) first")
    lr_owner(optimizer).learning_rate = schedule
    model.train_function = None  # the old LR source is baked into the traced step
    return f"set {type(optimizer).__name__} to train with {type(schedule).__name__}"


def set_learning_rate(model, lr: float, *, replace_schedule: bool = False) -> str:
    """Set ``model.optimizer``'s LR to ``lr`` and say what was done.

    Parameters
    ----------
    model : keras.Model
        A compiled model.
    lr : float
        The new learning rate.
    replace_schedule : bool
        An optimizer built on a ``LearningRateSchedule`` keeps it unless this is True; then
        the schedule is replaced by a constant one (:class:`ConstantLearningRate`).

    Returns
    -------
    str
        A sentence describing the change.

    Raises
    ------
    ValueError
        When the optimizer uses a schedule and ``replace_schedule`` is False (the message
        names both fixes), or the model is not compiled.
    """
    lr = check_lr(lr)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("the model has no optimizer: call model.compile(optimizer=...) first")
    if uses_schedule(optimizer):
        schedule = type(lr_source(optimizer)).__name__
        if not replace_schedule:
            raise ValueError(
                f"the optimizer's LR comes from a {schedule}, which was left unchanged. Either "
                f"rebuild that schedule to start at {format_lr(lr)}, or call "
                f"apply(replace_schedule=True) to replace it with the constant LR {format_lr(lr)}."
            )
        optimizer.learning_rate = ConstantLearningRate(lr)
        model.train_function = None  # the old schedule is baked into the traced step
        return f"replaced the {schedule} with a constant learning rate {format_lr(lr)}"
    optimizer.learning_rate = lr
    return f"set {type(optimizer).__name__} learning rate to {format_lr(lr)}"


class EpochDecay(keras.callbacks.Callback):
    """Start at ``initial_lr`` and multiply the LR by ``factor`` every epoch.

    Epoch ``e`` (counted from 0, as ``fit`` counts it, also with ``initial_epoch``) trains with
    ``initial_lr * factor**e``; the LR used is logged as ``logs["learning_rate"]``.

    Parameters
    ----------
    initial_lr : float
        The LR of the first epoch, e.g. the one picked in the finder.
    factor : float
        The per-epoch multiplier, in (0, 1] (the article uses 0.97).
    """

    def __init__(self, initial_lr: float, factor: float = 0.97):
        super().__init__()
        self.initial_lr = check_lr(initial_lr)
        if isinstance(factor, bool) or not isinstance(factor, int | float):
            raise TypeError(f"factor must be a number, got {type(factor).__name__}")
        if not 0 < factor <= 1:
            raise ValueError(f"factor must be in (0, 1], got {factor!r}")
        self.factor = float(factor)

    def lr_at(self, epoch: int) -> float:
        """The LR of ``epoch``."""
        return self.initial_lr * self.factor**epoch

    def on_train_begin(self, logs=None):
        if uses_schedule(self.model.optimizer):
            raise ValueError(
                "EpochDecay sets the LR each epoch, but this optimizer's LR comes from a "
                "schedule; compile the model with a float learning_rate to use it"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate = self.lr_at(epoch)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.lr_at(epoch)
