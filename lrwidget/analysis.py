"""Pure numpy analysis of an LR range test: ladders, smoothing, divergence, candidates, suggestions.

Nothing here knows about Keras or widgets, so every rule can be tested, benchmarked and reused
on a saved curve. All functions take plain arrays and never raise on odd curves (NaN, inf,
flat, monotone, one point): an empty answer or ``None`` says "nothing to suggest".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MODES = ("exp", "linear")


@dataclass(frozen=True)
class Candidate:
    """A candidate learning rate: a minimum of the smoothed loss curve.

    Attributes
    ----------
    lr : float
        The learning rate at the minimum.
    loss : float
        The smoothed loss there.
    index : int
        The step of the sweep (index into ``lrs``/``losses``).
    """

    lr: float
    loss: float
    index: int


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


class Smoother:
    """Incremental debiased exponential moving average (the same numbers as :func:`smooth`).

    The engine feeds it one loss per step to decide divergence live; :func:`smooth` redoes the
    whole curve for display and analysis. Debiasing divides by ``1 - beta**n`` so the first
    values are not dragged towards zero.
    """

    def __init__(self, beta: float = 0.98):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must be in [0, 1), got {beta}")
        self.beta = beta
        self._avg = 0.0
        self._n = 0

    def update(self, loss: float) -> float:
        """Add one loss and return the smoothed value (NaN once any loss was not finite)."""
        self._n += 1
        self._avg = self.beta * self._avg + (1.0 - self.beta) * float(loss)
        return self._avg / (1.0 - self.beta**self._n)


def effective_beta(beta: float, num_steps: int, window: float = 0.1) -> float:
    """``beta``, lowered where needed so the EMA averages over at most ``window`` of the sweep.

    The EMA's time constant is ``1 / (1 - beta)`` steps: 50 at 0.98, half of a 100-step sweep,
    which flattens a short curve into a ramp and lets a blow-up leak far back into the valley.
    Capped at a tenth of the sweep: 0.9 for 100 steps, 0.967 for 300, 0.98 from 500 steps on.
    """
    cap = 1.0 - 1.0 / max(window * num_steps, 1.0)
    return float(min(beta, cap))


def smooth(losses, beta: float = 0.98) -> np.ndarray:
    """Debiased EMA of ``losses``; a non-finite loss makes every later value NaN."""
    losses = np.asarray(losses, dtype=np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        out = _ema(losses, beta) / (1.0 - beta ** np.arange(1, len(losses) + 1))
    out[~np.isfinite(out)] = np.nan
    return out


def _ema(x: np.ndarray, beta: float) -> np.ndarray:
    """``y[t] = beta * y[t-1] + (1 - beta) * x[t]`` from ``y[-1] = 0``, without a Python loop
    per point (the live chart re-reads the whole curve ten times a second).

    Within a block, ``y[s+k] = beta**k * (beta * y[s-1] + (1-beta) * cumsum(x * beta**-k))``;
    blocks are short enough that ``beta**-k`` stays below 1e4, which keeps the rounding error
    near 1e-12 of the loss.
    """
    if beta == 0.0:  # no averaging; still, a non-finite loss poisons everything after it
        y = x.copy()
        bad = np.flatnonzero(~np.isfinite(x))
        if len(bad):
            y[bad[0] :] = np.nan
        return y
    y = np.empty_like(x)
    block = max(1, int(4.0 / -math.log10(beta)))
    carry = 0.0
    for start in range(0, len(x), block):
        chunk = x[start : start + block]
        k = np.arange(len(chunk))
        y[start : start + len(chunk)] = beta**k * (
            beta * carry + (1.0 - beta) * np.cumsum(chunk * beta**-k)
        )
        carry = y[start + len(chunk) - 1]
    return y


def smooth_centered(losses, beta: float = 0.98) -> np.ndarray:
    """Zero-lag smoothing: the debiased EMA of :func:`smooth`, run forward and then backward.

    A one-way EMA trails the curve by about ``beta / (1 - beta)`` steps (49 at 0.98): on a
    300-step sweep that moves the minimum some 0.7 decades to the right, towards divergence.
    Running it back over its own output cancels the shift. Use it on the finite part of a
    curve (cut at divergence); a non-finite value would spread NaN both ways.
    """
    forward = smooth(losses, beta)
    return smooth(forward[::-1], beta)[::-1]


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


def find_candidates(
    lrs, smoothed, *, tolerance: float = 0.25, spacing: float = 1.2
) -> list[Candidate]:
    """Candidate LRs: the article's minima of the smoothed curve, filtered and spaced.

    Parameters
    ----------
    lrs, smoothed : array_like
        The learning rates and the smoothed loss, already cut where the sweep diverged.
    tolerance : float
        Drop minima whose loss is above the global minimum by more than this fraction of the
        curve's descent (its highest point before the global minimum, minus that minimum): a
        dip on the flat start or high up the curve is no candidate.
    spacing : float
        Walking from low LR to high, keep a minimum only if its LR is at least ``spacing`` times
        the previously kept one (1.2 = 20 % apart; 0.012 and 0.01 are the same answer).

    Returns
    -------
    list of Candidate
        Sorted by LR.
    """
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance}")
    if spacing < 1 or not math.isfinite(spacing):
        raise ValueError(f"spacing must be a finite number >= 1, got {spacing}")
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    n = min(len(lrs), len(smoothed))
    lrs, smoothed = lrs[:n], smoothed[:n]
    ok = np.isfinite(smoothed) & np.isfinite(lrs) & (lrs > 0)
    if not ok.any():
        return []
    valid = np.where(ok, smoothed, np.nan)
    lowest = int(np.nanargmin(valid))
    best = valid[lowest]
    limit = best + tolerance * (np.nanmax(valid[: lowest + 1]) - best)
    kept: list[Candidate] = []
    for i in local_minima(valid):
        if smoothed[i] > limit:
            continue
        if kept and lrs[i] < spacing * kept[-1].lr:
            continue
        kept.append(Candidate(lr=float(lrs[i]), loss=float(smoothed[i]), index=int(i)))
    return kept


# --- Suggestion rules ------------------------------------------------------------------------
# Each takes (lrs, smoothed) cut at divergence and returns one LR or None. The benchmark in
# benchmarks/suggestion.py compares them on real tasks; DEFAULT_SUGGESTER is its winner
# (benchmarks/RESULTS.md, "Suggestion rule").


def _clean(lrs, smoothed):
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    n = min(len(lrs), len(smoothed))
    ok = np.isfinite(smoothed[:n]) & np.isfinite(lrs[:n]) & (lrs[:n] > 0)
    return lrs[:n][ok], smoothed[:n][ok]


def suggest_minimum(lrs, smoothed, divisor: float = 10.0) -> float | None:
    """The LR of the lowest smoothed loss divided by ``divisor`` (the classic "min / 10")."""
    lrs, smoothed = _clean(lrs, smoothed)
    if len(lrs) == 0:
        return None
    return float(lrs[np.argmin(smoothed)] / divisor)


def suggest_steepest(lrs, smoothed) -> float | None:
    """The LR where the smoothed loss falls fastest per decade of LR, before the minimum."""
    lrs, smoothed = _clean(lrs, smoothed)
    end = int(np.argmin(smoothed)) + 1 if len(lrs) else 0
    if end < 3:
        return None
    slope = np.gradient(smoothed[:end], np.log10(lrs[:end]))
    if not np.isfinite(slope).any():
        return None
    return float(lrs[int(np.nanargmin(slope))])


def suggest_valley(lrs, smoothed) -> float | None:
    """A point inside the longest descending stretch of the curve (in the spirit of fastai's
    "valley"): the longest decreasing subsequence is found, and the LR halfway along it is
    returned, which sits past the noisy start and well before the blow-up."""
    lrs, smoothed = _clean(lrs, smoothed)
    n = len(lrs)
    if n < 3:
        return None
    # length[i]: longest strictly decreasing subsequence ending at i; start[i]: where it began.
    length = np.ones(n, dtype=int)
    start = np.arange(n)
    for i in range(1, n):
        higher = np.flatnonzero(smoothed[:i] > smoothed[i])
        if len(higher):
            j = higher[np.argmax(length[higher])]
            length[i], start[i] = length[j] + 1, start[j]
    end = int(np.argmax(length))
    return float(lrs[(start[end] + end) // 2])


def suggest_from_candidates(lrs, smoothed, divisor: float = 4.0) -> float | None:
    """The best candidate minimum's LR divided by ``divisor``: the article's minima, backed off
    from the edge where the loss turns, since the minimum itself sits close to divergence."""
    cands = find_candidates(lrs, smoothed)
    if not cands:
        return None
    best = min(cands, key=lambda c: c.loss)
    return float(best.lr / divisor)


def suggest_descent(lrs, smoothed, fraction: float = 1 / 3) -> float | None:
    """The first LR at which the smoothed loss has made ``fraction`` of its whole descent.

    The descent runs from the highest point before the minimum down to the minimum; the first
    tenth of the curve is skipped, where the debiased average still rests on a few batches and
    one lucky batch can pose as the minimum. Reading where the drop is well under way, rather
    than where it ends, keeps the answer clear of the smoothing lag and of the blow-up edge.
    """
    lrs, smoothed = _clean(lrs, smoothed)
    warm = len(lrs) // 10
    lrs, smoothed = lrs[warm:], smoothed[warm:]
    if len(lrs) < 3:
        return None
    low = int(np.argmin(smoothed))
    high = int(np.argmax(smoothed[: low + 1]))
    if high == low:
        return None
    target = smoothed[high] - fraction * (smoothed[high] - smoothed[low])
    return float(lrs[high + int(np.argmax(smoothed[high : low + 1] <= target))])


SUGGESTERS = {
    "valley": suggest_valley,
    "steepest": suggest_steepest,
    "minimum/10": suggest_minimum,
    "candidate/4": suggest_from_candidates,
    "descent/3": suggest_descent,
}
DEFAULT_SUGGESTER = "steepest"


def suggest(lrs, smoothed, rule: str = DEFAULT_SUGGESTER) -> float | None:
    """The one LR to start from, by the named rule (see ``SUGGESTERS``)."""
    if rule not in SUGGESTERS:
        raise ValueError(f"rule must be one of {sorted(SUGGESTERS)}, got {rule!r}")
    return SUGGESTERS[rule](lrs, smoothed)


@dataclass(frozen=True)
class Reading:
    """What a range-test curve says; see :func:`read_curve`."""

    smoothed: np.ndarray
    useful: int
    candidates: list
    suggestion: float | None


def read_curve(
    lrs,
    losses,
    *,
    beta: float = 0.98,
    diverge_factor: float = 4.0,
    tolerance: float = 0.25,
    spacing: float = 1.2,
    rule: str = DEFAULT_SUGGESTER,
) -> Reading:
    """Read a whole curve: where it diverged, its smoothed form, candidates and suggestion.

    Divergence is judged by the one-way EMA, exactly as the sweep judged it live. The part
    before it is smoothed without lag (:func:`smooth_centered`) and candidates and suggestion
    come from that; the diverged tail keeps the one-way EMA, which is what stopped the sweep.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    losses = np.asarray(losses, dtype=np.float64)
    live = smooth(losses, beta)
    useful = useful_length(losses, live, diverge_factor)
    smoothed = np.concatenate([smooth_centered(losses[:useful], beta), live[useful:]])
    head_lrs, head = lrs[:useful], smoothed[:useful]
    return Reading(
        smoothed=smoothed,
        useful=useful,
        candidates=find_candidates(head_lrs, head, tolerance=tolerance, spacing=spacing),
        suggestion=suggest(head_lrs, head, rule),
    )
