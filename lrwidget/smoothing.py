"""Smoothing a range-test curve: the live one-way EMA, and the adaptive fit the curve is read by.

The sweep decides divergence live with a debiased exponential moving average (:class:`Smoother`,
:func:`smooth`). A finished or growing curve is read through :func:`smooth_adaptive`, a local
straight-line fit whose window widens where the losses only scatter and narrows where the curve
bends, so the line users read keeps to the data. Pure numpy.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np


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


# A window is widened while its estimate stays within GAMMA standard errors of every narrower
# window's (the intersection-of-confidence-intervals rule): wide on flat, noisy stretches, narrow
# where the curve bends, so the smoothed curve follows the data through a drop and a minimum.
GAMMA = 2.0
NOISE_WINDOW = 31  # points over which the batch-to-batch noise is measured
HALF_WIDTH_FILTER = 5
CLIP, CLIP_HALF_WIDTH = 3.0, 4  # outliers: beyond 3 noise levels of the 9-point median


@dataclass(frozen=True)
class Smoothed:
    """A curve smoothed by :func:`smooth_adaptive`.

    Attributes
    ----------
    values : ndarray
        The smoothed loss.
    stderr : ndarray
        The standard error of each smoothed value, from the local noise and its window.
    noise : ndarray
        The batch-to-batch noise around each point (a robust standard deviation).
    """

    values: np.ndarray
    stderr: np.ndarray
    noise: np.ndarray


def noise_level(losses, window: int = NOISE_WINDOW) -> np.ndarray:
    """The batch-to-batch noise of a curve at each point, as a robust standard deviation.

    Read from second differences, which cancel a straight trend, so a steep descent is not
    taken for noise: their median absolute value over blocks of ``window`` points, scaled to a
    standard deviation (robust to the odd outlier batch), drawn straight between the blocks.
    """
    y = np.asarray(losses, dtype=np.float64)
    n = len(y)
    if n < 3:
        return np.zeros(n)
    second = np.abs(y[:-2] - 2.0 * y[1:-1] + y[2:]) / math.sqrt(6.0)
    blocks = max(1, len(second) // window)
    edges = np.linspace(0, len(second), blocks + 1).astype(int)
    level = [1.4826 * np.median(second[a:b]) for a, b in itertools.pairwise(edges)]
    centres = (edges[:-1] + edges[1:]) / 2.0
    return np.interp(np.arange(n) - 1.0, centres, level)


def _running_median(x, half: int) -> np.ndarray:
    """Median over ``2 * half + 1`` points; near the ends, over the first or last full window
    (padding the data instead would let one end value outvote the rest)."""
    x = np.asarray(x)
    width = min(2 * half + 1, len(x))
    medians = np.median(np.lib.stride_tricks.sliding_window_view(x, width), axis=1)
    lead = (width - 1) // 2
    return np.pad(medians, (lead, len(x) - len(medians) - lead), mode="edge")


def _squares(k):
    """Sum of t**2 for t = 1..k (k >= 0)."""
    return k * (k + 1) * (2 * k + 1) / 6.0


def _local_line(cy, cty, idx, a, b):
    """Value at ``idx`` of the straight line fitted to the points ``a..b`` around it, the factor
    by which that fit scales the noise's variance, and the line's slope per point (from the
    running sums ``cy``, ``cty``)."""
    p, q = a - idx, b - idx  # offsets of the window's ends, p <= 0 <= q
    s0 = q - p + 1.0
    s1 = (p + q) * s0 / 2.0
    s2 = _squares(q) + _squares(-p)
    sy = cy[b + 1] - cy[a]
    sty = (cty[b + 1] - cty[a]) - idx * sy
    det = s0 * s2 - s1 * s1
    return (s2 * sy - s1 * sty) / det, s2 / det, (s0 * sty - s1 * sy) / det


def _running_sums(y):
    idx = np.arange(len(y), dtype=np.float64)
    return idx, np.concatenate(([0.0], np.cumsum(y))), np.concatenate(([0.0], np.cumsum(idx * y)))


def local_slope(values, half: int) -> np.ndarray:
    """The slope per point of the straight line fitted to ``half`` points on either side of
    each point (fewer near the ends): a derivative that one noisy point cannot swing."""
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 2:
        return np.zeros(len(y))
    idx, cy, cty = _running_sums(y)
    ints = np.arange(len(y))
    half = max(1, int(half))
    a, b = np.maximum(ints - half, 0), np.minimum(ints + half, len(y) - 1)
    return _local_line(cy, cty, idx, a, b)[2]


def smooth_adaptive(losses, *, gamma: float = GAMMA) -> Smoothed:
    """Smooth a finite curve with a local straight-line fit whose width adapts to the data.

    At each point windows of growing half-width (1, 2, 4, 5, 8, 11, ... points) are fitted; the
    widest one kept is the last whose estimate still agrees, within ``gamma`` standard errors,
    with every narrower window's. Where the losses scatter and the curve is straight the window
    grows (more averaging); where it bends (a sharp drop, the minimum, a blow-up) it stays
    narrow, so the curve keeps to the data. The fit is symmetric, so it has no lag, and it only
    sees the points it is given: cut the curve at divergence first.
    """
    y = np.asarray(losses, dtype=np.float64)
    n = len(y)
    noise = noise_level(y)
    if n < 3:
        return Smoothed(y.copy(), noise.copy(), noise)
    # An outlier batch is clipped to the local median +- CLIP noise levels: one batch must not
    # drag a window's line (a sharp drop or a blow-up moves the median with it, so it is kept).
    # Only where the median window is centred: near the ends it is not the local level.
    inner = slice(CLIP_HALF_WIDTH, n - CLIP_HALF_WIDTH)
    median = _running_median(y, CLIP_HALF_WIDTH)[inner]
    y = y.copy()
    y[inner] = np.clip(y[inner], median - CLIP * noise[inner], median + CLIP * noise[inner])
    idx, cy, cty = _running_sums(y)
    width = np.ones(n, dtype=int)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    ints = np.arange(n)
    alive = ints  # the points whose window may still grow
    for h in _half_widths(n):
        a = np.maximum(alive - h, 0)
        b = np.minimum(alive + h, n - 1)
        est, factor, _ = _local_line(cy, cty, idx[alive], a, b)
        se = noise[alive] * np.sqrt(factor)
        lower[alive] = np.maximum(lower[alive], est - gamma * se)
        upper[alive] = np.minimum(upper[alive], est + gamma * se)
        alive = alive[lower[alive] <= upper[alive]]
        width[alive] = h
        if not len(alive):
            break
    # A window cut short at a lone point is a noise spike, not a bend: a bend spans many points.
    width = _running_median(width, HALF_WIDTH_FILTER).astype(int)
    values, factor, _ = _local_line(
        cy, cty, idx, np.maximum(ints - width, 0), np.minimum(ints + width, n - 1)
    )
    return Smoothed(values, noise * np.sqrt(factor), noise)


def _half_widths(n: int) -> list[int]:
    """1, 2, 4, 5, 8, 11, 16, 22, ...: powers of sqrt(2) rounded down, up to half the curve."""
    out, h = [], 1.0
    while int(h) <= max(1, (n - 1) // 2):
        if not out or int(h) > out[-1]:
            out.append(int(h))
        h *= math.sqrt(2.0)
    return out


def chance_dip(n: int) -> float:
    """How many standard errors the deepest dip of ``n`` points of pure noise may reach.

    The largest of ``n`` normal values lies near ``sqrt(2 ln n)`` standard deviations; a dip
    is the difference of a high and a low point, so twice that, plus a half for the heavier
    tails of batch losses. It is 6.6 for 100 points, 7.9 for 1,000.
    """
    return 2.0 * math.sqrt(2.0 * math.log(max(n, 2))) + 0.5
