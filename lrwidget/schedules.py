"""Keras glue for using the chosen LR: set it on an optimizer, or decay it per epoch.

The article trains with the LR found by the range test, multiplied by 0.97 after every epoch;
:class:`EpochDecay` is that schedule as a small Keras callback.
"""

from __future__ import annotations

import math

import keras


def _check_lr(lr) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float):
        raise TypeError(f"the learning rate must be a number, got {type(lr).__name__}")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a finite number > 0, got {lr!r}")
    return float(lr)


def lr_source(optimizer):
    """Where the optimizer reads its LR from: a variable, a schedule or a callable.

    A LossScaleOptimizer keeps it on its inner optimizer.
    """
    return getattr(getattr(optimizer, "inner_optimizer", optimizer), "_learning_rate", None)


def uses_schedule(optimizer) -> bool:
    """True when the optimizer's LR comes from a schedule or callable, not a variable."""
    return not isinstance(lr_source(optimizer), keras.Variable)


@keras.saving.register_keras_serializable(package="lrwidget")
class ConstantLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """A schedule that always returns the same LR (what replaces a user's schedule on request).

    An optimizer built on a schedule only accepts another schedule, so this is how a fixed LR
    is given to it.
    """

    def __init__(self, learning_rate: float):
        self.learning_rate = _check_lr(learning_rate)

    def __call__(self, step):
        return keras.ops.convert_to_tensor(self.learning_rate, dtype="float32")

    def get_config(self):
        return {"learning_rate": self.learning_rate}


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
    lr = _check_lr(lr)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        raise ValueError("the model has no optimizer: call model.compile(optimizer=...) first")
    if uses_schedule(optimizer):
        schedule = type(lr_source(optimizer)).__name__
        if not replace_schedule:
            raise ValueError(
                f"the optimizer's LR comes from a {schedule}, which was left unchanged. Either "
                f"rebuild that schedule to start at {lr:.2e}, or call "
                f"apply(replace_schedule=True) to replace it with the constant LR {lr:.2e}."
            )
        optimizer.learning_rate = ConstantLearningRate(lr)
        model.train_function = None  # the old schedule is baked into the traced step
        return f"replaced the {schedule} with a constant learning rate {lr:.2e}"
    optimizer.learning_rate = lr
    return f"set {type(optimizer).__name__} learning rate to {lr:.2e}"


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
        self.initial_lr = _check_lr(initial_lr)
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
