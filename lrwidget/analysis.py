"""Pure numpy analysis of an LR range test: ladders, smoothing, divergence, candidates, suggestions.

Nothing here knows about Keras or widgets, so every rule can be tested, benchmarked and reused
on a saved curve. All functions take plain arrays and never raise on odd curves (NaN, inf,
flat, monotone, one point): an empty answer or ``None`` says "nothing to suggest".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .smoothing import (  # noqa: F401
    Smoother,
    chance_dip,
    effective_beta,
    local_slope,
    smooth,
    smooth_adaptive,
)

MODES = ("exp", "linear")


@dataclass(frozen=True)
class Candidate:
    """A learning rate marked on the curve: a candidate to train with, or one of its minima.

    Attributes
    ----------
    lr : float
        The learning rate (always one the sweep used).
    loss : float
        The smoothed loss there.
    index : int
        The step of the sweep (index into ``lrs``/``losses``).
    label : str
        What it is. Candidates (:func:`find_candidates`, ``SweepResult.candidates``):
        ``"suggested"`` (the suggestion's point) or ``"careful"`` (below it, the suggestion /
        ``CAREFUL``). Minima (:func:`find_minima`, ``SweepResult.minima``): ``"minimum"``. Empty
        when built by hand (the default, so ``Candidate(lr, loss, index)`` still works).
    """

    lr: float
    loss: float
    index: int
    label: str = ""


def lr_ladder(start_lr: float, end_lr: float, num_steps: int, mode: str = "exp") -> np.ndarray:
    """The learning rate of each step: ``start_lr`` exactly at the first, ``end_lr`` at the last.

    ``"exp"`` multiplies by the same factor each step (evenly spaced on a log axis), which is
    what a range test over several decades needs; ``"linear"`` adds the same amount.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    if num_steps == 1:
        return np.array([float(start_lr)])
    t = np.linspace(0.0, 1.0, num_steps)
    if mode == "exp":
        lrs = start_lr * (end_lr / start_lr) ** t
    else:
        lrs = start_lr + (end_lr - start_lr) * t
    # Pin the ends: exp/log round-off must not move the range the user asked for.
    lrs[0], lrs[-1] = start_lr, end_lr
    return lrs


def is_diverged(loss, smoothed, best, factor: float):
    """The divergence rule: a non-finite loss, or the smoothed loss above ``factor`` x its best.

    For a negative best (some losses go below zero) "x factor" would mean "smaller", so the
    rule then compares the rise above the best with ``factor`` times its magnitude. Takes
    floats (the live check after each step) or arrays (a whole curve) alike.
    """
    if all(type(v) is float for v in (loss, smoothed, best)):
        # The live check runs once a step: plain floats, no numpy (a few microseconds less).
        if not (math.isfinite(loss) and math.isfinite(smoothed)):
            return True
        if best >= 0:
            return smoothed > factor * best
        return smoothed - best > factor * abs(best)
    loss, smoothed, best = (np.asarray(v, dtype=np.float64) for v in (loss, smoothed, best))
    with np.errstate(invalid="ignore", over="ignore"):
        rise = np.where(best >= 0, smoothed > factor * best, smoothed - best > factor * abs(best))
        return ~np.isfinite(loss) | ~np.isfinite(smoothed) | rise


def divergence_index(losses, smoothed, factor: float = 4.0) -> int | None:
    """First step at which the divergence rule fires, or ``None`` if it never does."""
    smoothed = np.asarray(smoothed, dtype=np.float64)
    best = np.minimum.accumulate(np.where(np.isfinite(smoothed), smoothed, np.inf))
    hits = np.flatnonzero(is_diverged(losses, smoothed, best, factor))
    return int(hits[0]) if len(hits) else None


def useful_length(losses, smoothed, factor: float = 4.0) -> int:
    """How many leading points are before divergence (the part worth analysing)."""
    idx = divergence_index(losses, smoothed, factor)
    return len(losses) if idx is None else idx


def local_minima(values) -> np.ndarray:
    """Indices of local minima of a curve, plateaus counted once (at their first point).

    The ends count when the curve rises away from them, so a curve that is still falling when
    the sweep stopped has its last point as a minimum. Non-finite values are never minima.
    """
    v = np.asarray(values, dtype=np.float64)
    if len(v) == 0:
        return np.zeros(0, dtype=int)
    # Treat non-finite points as +inf: a minimum next to a blow-up is still a minimum. Then
    # compare runs of equal values, so a plateau is judged by where it comes from and goes.
    w = np.where(np.isfinite(v), v, np.inf)
    starts = np.flatnonzero(np.concatenate(([True], w[1:] != w[:-1])))
    runs = w[starts]
    left = np.concatenate(([np.inf], runs[:-1]))
    right = np.concatenate((runs[1:], [np.inf]))
    return starts[np.isfinite(runs) & (runs < left) & (runs < right)]


def find_minima(
    lrs, smoothed, *, tolerance: float = 0.25, spacing: float = 1.2, open_end: bool = False
) -> list[Candidate]:
    """The article's minima of the smoothed curve, filtered and spaced (labelled ``"minimum"``).

    They show where the loss bottoms out: the upper edge of the usable range, not an LR to
    train at (training there is typically far worse than at :func:`find_candidates`' LRs).

    Parameters
    ----------
    lrs, smoothed : array_like
        The learning rates and the smoothed loss, already cut where the sweep diverged.
    tolerance : float
        Drop minima whose loss is above the global minimum by more than this fraction of the
        curve's descent (its highest point before the global minimum, minus that minimum): a
        dip on the flat start or high up the curve is no minimum.
    spacing : float
        Walking from low LR to high, keep a minimum only if its LR is at least ``spacing`` times
        the previously kept one (1.2 = 20 % apart; 0.012 and 0.01 are the same answer).
    open_end : bool
        The curve goes on, unseen, past its last point (the sweep ended without diverging).
        Then a last point lower than the one before is where the range ended while the loss
        was still falling, not a minimum, and it is left out.

    Returns
    -------
    list of Candidate
        Sorted by LR.
    """
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance}")
    _check_spacing(spacing)
    lrs, smoothed, valid = _valid(lrs, smoothed)
    if not np.isfinite(valid).any():
        return []
    lowest = int(np.nanargmin(valid))
    best = valid[lowest]
    limit = best + tolerance * (np.nanmax(valid[: lowest + 1]) - best)
    kept: list[Candidate] = []
    for i in local_minima(valid):
        if smoothed[i] > limit or (open_end and i == len(valid) - 1):
            continue
        if kept and lrs[i] < spacing * kept[-1].lr:
            continue
        kept.append(Candidate(float(lrs[i]), float(smoothed[i]), int(i), "minimum"))
    return kept


def _check_spacing(spacing):
    if spacing < 1 or not math.isfinite(spacing):
        raise ValueError(f"spacing must be a finite number >= 1, got {spacing}")


def _valid(lrs, smoothed):
    """Both arrays as float64 of the same length, and the curve with unusable points as NaN."""
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    n = min(len(lrs), len(smoothed))
    lrs, smoothed = lrs[:n], smoothed[:n]
    ok = np.isfinite(smoothed) & np.isfinite(lrs) & (lrs > 0)
    return lrs, smoothed, np.where(ok, smoothed, np.nan)


# How a curve is read for the suggestion and candidates; the factors were measured in
# benchmarks/suggestion.py (docs/suggestion.md).
FELL = 0.02  # a curve "fell" if its descent is over 2 % of its loss level (and beyond its noise)
BOTTOM = 0.1  # the bottom of a curve starts where the loss is within 10 % of its fall
BACKOFF = 3.0  # the default suggestion: the LR where the bottom starts, divided by 3
NOISY = 3.0  # a note says so when the noise leaves the bottom's start uncertain by more than 3x
CAREFUL = 1.5  # the careful candidate: the suggestion / 1.5
CLEARANCE = 3.0  # where the curve never turned up, candidates stay 3x below its end


@dataclass(frozen=True)
class Descent:
    """Where a curve falls: see :func:`descent`."""

    top: int  # index of the highest point before the lowest
    low: int  # index of the lowest point
    depth: float  # smoothed[top] - smoothed[low]
    fell: bool  # depth is over FELL of the loss level and over what noise gives by chance
    turned_up: bool  # the curve diverged after its lowest point, or rose clearly from it
    significance: float = math.inf  # depth / its standard error (inf when none was given)
    needed: float = 0.0  # the significance a fall needs on a curve of this length


def descent(
    lrs, smoothed, *, diverged: bool = False, tolerance: float = 0.25, stderr=None
) -> Descent | None:
    """Read the descent of a smoothed curve (cut at divergence), or ``None`` for an empty one.

    ``diverged``: the sweep blew up right after these points. Without that, the curve has
    "turned up" only if it rose after its lowest point by ``tolerance`` of its descent (the
    same tolerance that drops minima "far above the best"). ``stderr``: the standard error of
    each smoothed point (:func:`smooth_adaptive`); with it, the curve "fell" only if its fall is
    more than :func:`chance_dip` standard errors, which noise alone does not reach.
    """
    _, _, valid = _valid(lrs, smoothed)
    if not np.isfinite(valid).any():
        return None
    low = int(np.nanargmin(valid))
    top = int(np.nanargmax(valid[: low + 1]))
    depth = float(valid[top] - valid[low])
    scale = max(abs(valid[top]), abs(valid[low]))
    rise = float(np.nanmax(valid[low:]) - valid[low])
    significance, needed = math.inf, 0.0
    if stderr is not None:
        err = math.hypot(float(stderr[top]), float(stderr[low]))
        significance = depth / err if err > 0 else math.inf
        needed = chance_dip(int(np.isfinite(valid).sum()))
    return Descent(
        top=top,
        low=low,
        depth=depth,
        fell=depth > FELL * scale and significance > needed,
        turned_up=bool(diverged or (depth > 0 and rise >= tolerance * depth)),
        significance=significance,
        needed=needed,
    )


def find_candidates(
    lrs,
    smoothed,
    *,
    diverged: bool = False,
    spacing: float = 1.2,
    tolerance: float = 0.25,
    careful: float = CAREFUL,
    clearance: float = CLEARANCE,
    stderr=None,
    rule: str | None = None,
) -> list[Candidate]:
    """The LRs to offer for clicking: the suggestion, and a careful one below it.

    ``"suggested"``: the point of the sweep nearest the suggestion (``rule``, by default
    ``DEFAULT_SUGGESTER``); ``"careful"``: that LR divided by ``careful``. None above the
    suggestion: it already sits close to where a larger LR stops training well (measured:
    a bold choice at 1.5x trained far worse on fine-tuning). Each is a point of the sweep from
    the top of the descent to before the lowest point (``clearance`` times before it where the
    curve did not turn up, since its edge is then unknown: never the end of a range that ended
    too early). A curve that never fell (:func:`descent`) has none. A careful candidate closer
    than ``spacing`` to the suggested one is dropped.

    Measured (``benchmarks/suggestion.py``, docs/suggestion.md): a click on any of them trains
    about as well as the suggestion; the minima of :func:`find_minima` train far worse.

    Parameters
    ----------
    lrs, smoothed : array_like
        The learning rates and the smoothed loss, already cut where the sweep diverged.
    diverged : bool
        The sweep diverged right after these points (so the curve turned up).
    spacing, tolerance : float
        As for :func:`find_minima`; ``tolerance`` also decides whether the curve turned up.
    careful, clearance : float
        The factors above (both > 1; defaults ``CAREFUL``, ``CLEARANCE``).
    stderr : array_like, optional
        The standard error of each smoothed point: with it, a fall within the noise is none.
    rule : str, optional
        The suggestion rule the candidates centre on (a key of ``SUGGESTERS``).

    Returns
    -------
    list of Candidate
        Sorted by LR, labelled ``"careful"`` and ``"suggested"`` (at most one each).
    """
    _check_spacing(spacing)
    for name, value in (("careful", careful), ("clearance", clearance)):
        if not (math.isfinite(value) and value > 1):
            raise ValueError(f"{name} must be a finite number > 1, got {value}")
    lrs, smoothed, valid = _valid(lrs, smoothed)
    shape = descent(lrs, valid, diverged=diverged, tolerance=tolerance, stderr=stderr)
    if shape is None or not shape.fell or shape.low - shape.top < 2:
        return []
    center = suggest(lrs, valid, rule or DEFAULT_SUGGESTER)
    top, low = shape.top, shape.low
    edge = lrs[low] if shape.turned_up else lrs[low] / clearance
    idx = np.arange(len(valid))
    on_descent = (idx >= top) & (idx < low) & np.isfinite(valid) & (lrs < edge)
    if center is None or not on_descent.any():
        return []
    log_lr = np.log10(np.where(on_descent, lrs, np.nan))
    inside = lrs[on_descent]

    def at(lr):
        """The point of the descent nearest to ``lr`` on a log axis; None outside the descent."""
        if not inside.min() / spacing <= lr <= inside.max() * spacing:
            return None
        return int(np.nanargmin(np.abs(log_lr - math.log10(lr))))

    picks = [(at(center), "suggested"), (at(center / careful), "careful")]
    kept: list[Candidate] = []
    for i, label in picks:
        if i is None or any(
            i == c.index or max(lrs[i], c.lr) < spacing * min(lrs[i], c.lr) for c in kept
        ):
            continue
        kept.append(Candidate(float(lrs[i]), float(smoothed[i]), int(i), label))
    return sorted(kept, key=lambda c: c.lr)


# --- Suggestion rules ------------------------------------------------------------------------
# Each takes (lrs, smoothed) cut at divergence and returns one LR or None. The benchmark in
# benchmarks/suggestion.py compares them on real tasks; DEFAULT_SUGGESTER is its winner
# (benchmarks/RESULTS.md, "Suggestion rule").


def _clean(lrs, smoothed, *alongside):
    """The points with a finite smoothed loss and a positive LR (and the same points of each
    array ``alongside``), as float64."""
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    n = min(len(lrs), len(smoothed), *(len(a) for a in alongside))
    ok = np.isfinite(smoothed[:n]) & np.isfinite(lrs[:n]) & (lrs[:n] > 0)
    return tuple(np.asarray(a, dtype=np.float64)[:n][ok] for a in (lrs, smoothed, *alongside))


def suggest_minimum(lrs, smoothed, divisor: float = 10.0) -> float | None:
    """The LR of the lowest smoothed loss divided by ``divisor`` (the classic "min / 10")."""
    lrs, smoothed = _clean(lrs, smoothed)
    if len(lrs) == 0:
        return None
    return float(lrs[np.argmin(smoothed)] / divisor)


def suggest_steepest(lrs, smoothed, window: float = 0.1) -> float | None:
    """The LR where the smoothed loss falls fastest per decade of LR, before the minimum.

    The slope is that of a straight line through ``window`` of the curve's points around each
    point: the curve keeps to the data, and its point-to-point slope is as noisy as they are.
    """
    lrs, smoothed = _clean(lrs, smoothed)
    end = int(np.argmin(smoothed)) + 1 if len(lrs) else 0
    if end < 3:
        return None
    per_step = local_slope(smoothed, round(window * len(lrs)))[:end]
    slope = per_step / np.gradient(np.log10(lrs[:end]))
    if not np.isfinite(slope).any():
        return None
    return float(lrs[int(np.nanargmin(slope))])


def suggest_valley(lrs, smoothed) -> float | None:
    """A point inside the longest descending stretch of the curve (in the spirit of fastai's
    "valley"): the longest decreasing subsequence is found, and the LR halfway along it is
    returned, which sits past the noisy start and well before the blow-up."""
    lrs, smoothed = _clean(lrs, smoothed)
    if len(lrs) < 3:
        return None
    start, end = longest_descent(smoothed)
    return float(lrs[(start + end) // 2])


def longest_descent(values) -> tuple[int, int]:
    """Where the longest strictly decreasing subsequence of ``values`` starts and ends."""
    n = len(values)
    # length[i]: longest strictly decreasing subsequence ending at i; start[i]: where it began.
    length = np.ones(n, dtype=int)
    start = np.arange(n)
    for i in range(1, n):
        higher = np.flatnonzero(values[:i] > values[i])
        if len(higher):
            j = higher[np.argmax(length[higher])]
            length[i], start[i] = length[j] + 1, start[j]
    end = int(np.argmax(length))
    return int(start[end]), end


def suggest_from_candidates(lrs, smoothed, divisor: float = 4.0) -> float | None:
    """The best of the article's minima (:func:`find_minima`) divided by ``divisor``: backed
    off from the edge where the loss turns, since the minimum itself sits close to divergence.
    (The rule's name, ``"candidate/4"``, is older than the split of minima and candidates.)"""
    minima = find_minima(lrs, smoothed)
    if not minima:
        return None
    best = min(minima, key=lambda c: c.loss)
    return float(best.lr / divisor)


def _bottom(smoothed, fraction: float):
    """``(top, low, level)``: the highest point before the lowest, the lowest, and the level
    within ``fraction`` of the fall above the lowest (where the bottom starts); None if flat."""
    if len(smoothed) < 3:
        return None
    low = int(np.argmin(smoothed))
    top = int(np.argmax(smoothed[: low + 1]))
    if top == low:
        return None
    return top, low, smoothed[low] + fraction * (smoothed[top] - smoothed[low])


def _first_at_or_below(values, level, start: int) -> int:
    return start + int(np.argmax(values[start:] <= level))


def suggest_bottom(
    lrs, smoothed, fraction: float = BOTTOM, divisor: float = BACKOFF
) -> float | None:
    """Where the curve reaches its bottom, backed off: the first LR at which the smoothed loss
    is within ``fraction`` of its whole fall from the minimum, divided by ``divisor``.

    Read from the level of the curve, not its slope, so it holds both where the loss drops
    late and steeply (training from scratch: the bottom starts just past the drop) and where
    it falls slowly over decades (fine-tuning: the bottom starts near its end), and a flat,
    noisy bottom does not move it the way it moves the lowest point.
    """
    lrs, smoothed = _clean(lrs, smoothed)
    bottom = _bottom(smoothed, fraction)
    if bottom is None:
        return None
    top, _, level = bottom
    reached = lrs[_first_at_or_below(smoothed, level, top)]
    # The point of the sweep nearest to it, so that the suggestion is one of the LRs swept.
    return float(lrs[np.argmin(np.abs(np.log(lrs) - math.log(reached / divisor)))])


def bottom_uncertainty(lrs, smoothed, stderr, fraction: float = BOTTOM, z: float = 2.0):
    """How far the start of the curve's bottom (see :func:`suggest_bottom`) could move within
    the noise: the first LRs at which the smoothed curve, ``z`` standard errors below and above
    itself, comes within ``fraction`` of its fall; ``None`` when there is no bottom to read."""
    lrs, smoothed, stderr = _clean(lrs, smoothed, stderr)
    bottom = _bottom(smoothed, fraction)
    if bottom is None:
        return None
    top, low, level = bottom
    early = _first_at_or_below(smoothed[: low + 1] - z * stderr[: low + 1], level, top)
    upper = smoothed[: low + 1] + z * stderr[: low + 1]
    # Where even the lowest point's upper bound stays above the level, the bottom may start as
    # late as the lowest point (not at the top, where argmax of no match would put it).
    late = _first_at_or_below(upper, level, top) if (upper[top:] <= level).any() else low
    return float(lrs[early]), float(lrs[max(early, late)])


# The default and the rules a user may ask for by name (rule=...): fastai's ("valley",
# "steepest", "minimum/10") and "candidate/4", the article's minima backed off by 4, with which
# docs/article.md reproduces the article (benchmarks/article_repro.py).
SUGGESTERS = {
    "bottom/3": suggest_bottom,
    "valley": suggest_valley,
    "steepest": suggest_steepest,
    "minimum/10": suggest_minimum,
    "candidate/4": suggest_from_candidates,
}
DEFAULT_SUGGESTER = "bottom/3"


def suggest(lrs, smoothed, rule: str = DEFAULT_SUGGESTER) -> float | None:
    """The one LR to start from, by the named rule (see ``SUGGESTERS``)."""
    if rule not in SUGGESTERS:
        raise ValueError(f"rule must be one of {sorted(SUGGESTERS)}, got {rule!r}")
    return SUGGESTERS[rule](lrs, smoothed)


def range_notes(
    lrs,
    smoothed,
    *,
    diverged: bool = False,
    stop_reason: str = "completed",
    tolerance: float = 0.25,
    stderr=None,
) -> list[str]:
    """What the curve says about the swept range itself: empty when it shows a full descent.

    Two cases are named, each with what to change: the loss never fell (then there is no
    candidate; after a Stop, only that it was stopped too early), and the sweep ended before
    the loss turned up, so where it turns (the upper
    edge of the usable LRs) is unknown and no candidate is offered near the end. A running
    sweep (``stop_reason="running"``) gets no note: its curve is not done.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    if stop_reason == "running" or len(lrs) < 3:
        return []
    shape = descent(lrs, smoothed, diverged=diverged, tolerance=tolerance, stderr=stderr)
    if shape is None:
        return []
    noise = shape.significance <= shape.needed
    if not shape.fell and stop_reason == "stopped":  # not a failure: the user ended it early
        fall = (
            f"beyond its batch-to-batch noise (a fall of {shape.significance:.1f} standard "
            f"errors, {shape.needed:.1f} needed)"
            if noise
            else f"by {FELL:.0%} of its level"
        )
        return [
            f"stopped at lr {lrs[-1]:.3g}, before the loss fell {fall}, so there is no LR to "
            "train at yet: Run again and let the sweep go further (or start it at a larger "
            "start_lr)"
        ]
    if not shape.fell and noise:
        return [
            f"the loss never fell beyond what its batch-to-batch noise gives by chance (a fall of "
            f"{shape.significance:.1f} standard errors, {shape.needed:.1f} needed): the curve "
            "shows no LR to train at; sweep more steps (num_steps=...) or with a larger "
            "batch_size"
        ]
    if not shape.fell:
        return [
            f"the loss never fell (by under {FELL:.0%} of its level): the curve shows no LR to "
            "train at; sweep more steps (num_steps=...), or from a smaller start_lr if the "
            "loss rose from the first steps"
        ]
    if shape.turned_up:
        return []
    end = f"{lrs[-1]:.3g}"
    if stop_reason == "completed":
        return [
            f"the loss had not turned up by end_lr={end}: the range ended too early, so the "
            f"upper edge of the usable LRs is unknown; pass a larger end_lr, e.g. "
            f"end_lr={lrs[-1] * 10:.3g}"
        ]
    why = {"stopped": "was stopped", "data_exhausted": "ran out of data"}.get(stop_reason, "ended")
    return [
        f"the sweep {why} at lr {end} before the loss turned up, so the upper edge of the "
        "usable LRs is unknown; run the whole range, or a larger end_lr"
    ]


class Reading:
    """What a range-test curve says; see :func:`read_curve`.

    The smoothed curve and the divergence cut are read at once; the candidates, suggestion,
    minima and notes each when first asked for, since the live chart, which re-reads the
    growing curve several times a second, draws only the curve and the candidates.
    """

    def __init__(self, lrs, losses, *, beta, diverge_factor, tolerance, spacing, rule, stop_reason):
        lrs = np.asarray(lrs, dtype=np.float64)
        losses = np.asarray(losses, dtype=np.float64)
        live = smooth(losses, beta)
        useful = useful_length(losses, live, diverge_factor)
        head = smooth_adaptive(losses[:useful])
        self.smoothed: np.ndarray = np.concatenate([head.values, live[useful:]])
        self.stderr: np.ndarray = head.stderr
        self.useful: int = useful
        self._head = lrs[:useful], self.smoothed[:useful]
        self._diverged = useful < len(losses)
        self._tolerance, self._spacing, self._rule = tolerance, spacing, rule
        self._stop_reason = stop_reason

    @cached_property
    def candidates(self) -> list[Candidate]:
        return find_candidates(
            *self._head,
            diverged=self._diverged,
            spacing=self._spacing,
            tolerance=self._tolerance,
            stderr=self.stderr,
            rule=self._rule,
        )

    @cached_property
    def suggestion(self) -> float | None:
        # A curve that never fell says nothing about what to train at: no suggestion (the notes
        # say why) rather than the start of the range, which the steepest rule would pick.
        shape = descent(
            *self._head, diverged=self._diverged, tolerance=self._tolerance, stderr=self.stderr
        )
        fell = self._stop_reason == "running" or (shape is not None and shape.fell)
        return suggest(*self._head, self._rule) if fell else None

    @cached_property
    def minima(self) -> list[Candidate]:
        return find_minima(
            *self._head,
            tolerance=self._tolerance,
            spacing=self._spacing,
            open_end=not self._diverged,
        )

    @cached_property
    def notes(self) -> list[str]:
        notes = range_notes(
            *self._head,
            diverged=self._diverged,
            stop_reason=self._stop_reason,
            tolerance=self._tolerance,
            stderr=self.stderr,
        )
        if notes or self.suggestion is None:
            return notes
        reach = bottom_uncertainty(*self._head, self.stderr)
        if reach is not None and reach[1] > NOISY * reach[0]:
            notes.append(
                f"the curve is too noisy to read closely: it reaches its bottom somewhere between "
                f"lr {reach[0]:.2g} and {reach[1]:.2g} (x{reach[1] / reach[0]:.1f}), so the "
                "suggestion may move as much between runs; a larger batch_size or more steps "
                "(num_steps=...) would narrow it"
            )
        return notes


def read_curve(
    lrs,
    losses,
    *,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    tolerance: float = 0.25,
    spacing: float = 1.2,
    rule: str = DEFAULT_SUGGESTER,
    stop_reason: str = "completed",
) -> Reading:
    """Read a whole curve: where it diverged, its smoothed form, candidates, minima, suggestion
    and notes on the range (``stop_reason`` as in ``SweepResult``; it only shapes the notes).

    Divergence is judged by the one-way EMA, exactly as the sweep judged it live. The part
    before it is smoothed without lag (:func:`smooth_centered`) and everything else comes from
    that; the diverged tail keeps the one-way EMA, which is what stopped the sweep.
    """
    return Reading(
        lrs,
        losses,
        beta=beta,
        diverge_factor=diverge_factor,
        tolerance=tolerance,
        spacing=spacing,
        rule=rule,
        stop_reason=stop_reason,
    )
