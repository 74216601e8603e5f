"""What a pick may be, and where it lands: the learning-rate trait types, the one validator of
a learning rate, clamping into the swept range and snapping to candidates.

Pure: no widgets, no Keras. The chart (:mod:`lrwidget.chart`) turns every way of picking into
a call of :func:`pick_lr` or :func:`pick_range`; the Keras glue checks the LRs it is given with
:func:`check_lr`.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from traitlets import Float, TraitError, TraitType


def to_float(value) -> float:
    """``value`` as a float; NaN for anything that is not a real number (bools included)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def is_lr(value) -> bool:
    """True for a learning rate: a real number (not a bool), finite and > 0."""
    lr = to_float(value)
    return math.isfinite(lr) and lr > 0


def check_lr(value, name: str = "the learning rate") -> float:
    """``value`` as a float when it is a learning rate (:func:`is_lr`); otherwise a
    ``TypeError`` (not a number) or a ``ValueError`` (not finite, or not > 0) naming ``name``."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not is_lr(value):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class LearningRate(Float):
    """A learning rate: a real number (not a bool), finite and > 0, stored as a float."""

    info_text = "a learning rate (a finite real number > 0, not a bool)"

    def validate(self, obj, value):
        if isinstance(value, bool | np.bool_):
            raise TraitError(f"{self.name} must be a number, not the bool {value!r}")
        if isinstance(value, numbers.Real):
            value = float(value)  # numpy scalars too
        value = super().validate(obj, value)
        if not is_lr(value):
            raise TraitError(f"{self.name} must be a finite learning rate > 0, got {value!r}")
        return value


class LearningRateRange(TraitType):
    """A range of learning rates ``(low, high)`` with ``0 < low < high``, both finite."""

    info_text = "a (low, high) pair of learning rates with 0 < low < high"

    def validate(self, obj, value):
        if not isinstance(value, list | tuple) or len(value) != 2:
            self.error(obj, value)
        low, high = (to_float(v) for v in value)
        if not (is_lr(low) and is_lr(high) and low < high):
            raise TraitError(
                f"{self.name} must be (low, high) with 0 < low < high, both finite; got {value!r}"
            )
        return (low, high)


def clamp(lr: float, swept: tuple[float, float] | None) -> float:
    """``lr`` clamped into the swept range (as is when there is none yet)."""
    if swept is None:
        return lr
    return min(max(lr, swept[0]), swept[1])


def nearest(candidates, lr: float):
    """The candidate closest to ``lr`` on a log scale, or None when there is none."""
    if not candidates or not is_lr(lr):
        return None
    return min(candidates, key=lambda c: abs(math.log(c.lr / lr)))


def pick_lr(value, swept, candidates, snap: bool) -> float | None:
    """Where a pick of ``value`` lands: clamped into ``swept``, then on the nearest candidate
    when ``snap``. None (refused) for a value that is no LR, or before there is a range."""
    if swept is None or not is_lr(value):
        return None
    lr = clamp(to_float(value), swept)
    near = nearest(candidates, lr) if snap else None
    return near.lr if near is not None else lr


def pick_range(low, high, swept, candidates, snap: bool, ends=(0, 1)):
    """Where a range pick lands: both ends clamped into ``swept``, and the ``ends`` named (0:
    low, 1: high) snapped to their nearest candidate, the high end first (one-cycle's peak),
    unless that leaves no width. None (refused) for values that are no LRs, or no width."""
    if swept is None or not (is_lr(low) and is_lr(high)):
        return None
    low, high = sorted((clamp(to_float(low), swept), clamp(to_float(high), swept)))
    if snap:
        for i in sorted(ends, reverse=True):
            near = nearest(candidates, (low, high)[i])
            if near is not None:
                moved = [low, high]
                moved[i] = near.lr
                if moved[0] < moved[1]:
                    low, high = moved
    return (low, high) if low < high else None


def move_end(picked, index, x, swept) -> tuple[float, float] | None:
    """``picked`` with its end ``index`` (0: low, 1: high) moved to ``x``, clamped into
    ``swept``; None when there is no range, ``index`` or ``x`` is bad, or no width is left."""
    if picked is None or index not in (0, 1) or not is_lr(x):
        return None
    ends = list(picked)
    ends[index] = clamp(to_float(x), swept)
    return (ends[0], ends[1]) if ends[0] < ends[1] else None


def default_range(swept, selected_lr: float | None) -> tuple[float, float] | None:
    """Where a new range starts: a decade below the selection up to it (one-cycle's usual
    span), or the whole swept range when that has no width; None before there is a range."""
    if swept is None:
        return None
    lo, hi = swept
    top = selected_lr or math.sqrt(lo * hi)
    low, high = clamp(top / 10, swept), clamp(top, swept)
    return (low, high) if low < high else (lo, hi)
