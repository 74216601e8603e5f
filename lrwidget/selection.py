"""What a pick may be, and where it lands: the learning-rate trait types, the one validator of
a learning rate, clamping into the swept range and snapping to candidates.

Pure: no widgets, no Keras. The chart (:mod:`lrwidget.chart`) turns every way of picking into
a call of :func:`pick_lr` or :func:`pick_range`; the Keras glue checks the LRs it is given with
:func:`check_lr`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

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


RANGE_SNAP_SHARE = 0.012  # a range end snaps within this share of the x axis: ~10 px


def snap_reach(shown: tuple[float, float] | None, share: float = RANGE_SNAP_SHARE) -> float:
    """How near (in decades) a candidate must be for a dropped range end to snap to it:
    ``share`` of the x axis ``shown``, a few pixels; 0 without an axis."""
    if shown is None or not (is_lr(shown[0]) and is_lr(shown[1])):
        return 0.0
    return max(0.0, share * math.log10(shown[1] / shown[0]))


def snap_note(value, landed, shown, fmt) -> str | None:
    """What the status line says of a pick of ``value`` that snapped to ``landed`` further
    than a range end would (:func:`snap_reach` of the axis ``shown``): how far it moved, and
    how to pick where one clicks (``fmt`` writes an LR). None for a pick that stayed near."""
    if landed is None or not is_lr(value):
        return None
    decades = abs(math.log10(landed / to_float(value)))
    if decades <= max(snap_reach(shown), 0.01):
        return None
    return (
        f"snapped {decades:.1f} decades from the click to the candidate {fmt(landed)} (clear "
        "the snap box to pick where you click)"
    )


def pick_range(low, high, swept, candidates, snap: bool, ends=(0, 1), reach=math.inf):
    """Where a range pick lands: both ends clamped into ``swept``, and the ``ends`` named (0:
    low, 1: high) snapped to their nearest candidate when it lies within ``reach`` decades,
    the high end first (one-cycle's peak), unless that leaves no width. None (refused) for
    values that are no LRs, or no width. A range end is where the user drops it: the chart
    passes a reach of a few pixels (:func:`snap_reach`), not the whole axis."""
    if swept is None or not (is_lr(low) and is_lr(high)):
        return None
    low, high = sorted((clamp(to_float(low), swept), clamp(to_float(high), swept)))
    if snap:
        for i in sorted(ends, reverse=True):
            near = nearest(candidates, (low, high)[i])
            if near is not None and abs(math.log10(near.lr / (low, high)[i])) <= reach:
                moved = [low, high]
                moved[i] = near.lr
                if moved[0] < moved[1]:
                    low, high = moved
    return (low, high) if low < high else None


def clamp_range(picked, swept):
    """``picked`` (a validated ``(low, high)`` or None) clamped into ``swept``; a
    ``TraitError`` when no width is left."""
    if picked is None or swept is None:
        return picked
    low, high = (clamp(v, swept) for v in picked)
    if not low < high:
        raise TraitError(f"selected_range {picked!r} has no width inside the swept range {swept}")
    return (low, high)


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


def _name(candidate) -> str:
    """What a held pick calls its candidate: the candidate's label, "candidate" without one."""
    return candidate.label or "candidate"


@dataclass
class LivePick:
    """The pick while a sweep runs, and what became of it when the sweep ended.

    A running sweep's candidates are provisional: they move as the curve grows. A pick that
    lands on one (a click on a diamond, a snapped click or drag, the menu) is held as "that
    candidate" (its label, e.g. ``"suggested"``): it follows the candidate while the sweep
    runs and lands on the final one when it ends. Any other pick during the sweep (snap off,
    the slider, Python) is the user's own number and is kept. :attr:`note` says which happened.
    """

    live: bool = False  # a sweep is running
    label: str | None = None  # the live candidate the pick is held on (None: none)
    lr: float | None = None  # where that candidate was last
    note: str | None = None  # what became of the last pick (during a sweep, once it ended)

    def begin(self):
        self.live, self.label, self.lr, self.note = True, None, None, None

    def picked(self, lr: float | None, candidates, note: str | None = None):
        """After a pick landed on ``lr``: held when the sweep runs and ``lr`` is a candidate's;
        ``note``: what the status line says of it (:func:`snap_note`)."""
        held = next((c for c in candidates if c.lr == lr), None) if self.live else None
        self.label = None if held is None else _name(held)
        self.lr = None if held is None else lr
        self.note = note

    def moved(self, lr: float | None):
        """The selection changed: a held pick that is no longer there is let go."""
        if lr != self.lr:
            self.label = self.lr = None
        self.note = None

    def follow(self, candidates) -> float | None:
        """Where the held pick goes now: the candidate with its label, else the one nearest
        to where it was; None when nothing is held or there is no candidate."""
        if self.label is None:
            return None
        same = [c for c in candidates if _name(c) == self.label]
        near = nearest(same or list(candidates), self.lr)
        return None if near is None else near.lr

    def status(self, selected: str) -> str:
        """The status line's part on the pick (``selected``: the LR written) while a sweep
        runs: a pick held on a candidate follows it to the end of the sweep."""
        held = "" if self.label is None else f" (follows the {self.label} candidate"
        return f"selected {selected}{held}" + (" to the end of the sweep)" if held else "")

    def end(self, selected: float | None, candidates, fmt) -> float | None:
        """The sweep ended with these final ``candidates``: where the pick goes (None: leave
        it), and :attr:`note` says what happened (``fmt`` writes an LR)."""
        was_live, self.live = self.live, False
        target, label = self.follow(candidates), self.label
        self.label = self.lr = None
        if not was_live or selected is None:
            self.note = None
        elif target is not None:
            self.note = f"your pick during the sweep moved to the final {label} LR {fmt(target)}"
        else:
            self.note = f"kept {fmt(selected)}, picked during the sweep"
        return target
