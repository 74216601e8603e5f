"""The record of trials: short runs at constant LRs from one starting state, and their ranking.

A sweep reads a curve whose every point trained one batch at its own LR; a trial trains
``steps`` batches at one LR, as the user would, from the model's starting state. This module
holds what a set of trials is, without Keras: the raw losses of each trial, and what is derived
from them, recomputed on load so that a file cannot disagree with itself:

* **Divergence** (:func:`divergence_step`): a trial diverged at the first step whose loss is
  not finite, or where the mean loss of the last ``DIVERGE_WINDOW`` steps is above
  ``DIVERGE_FACTOR`` times the first step's loss (the loss at the starting weights, the same
  batch in every trial; a blow-up in the first steps leaves no other clean reference). The
  engine stops the trial there. A diverged trial scores ``inf``.
* **The score** (lower is better): the validation loss after the last step where validation
  data was given, else the mean training loss over the last fifth of the steps. A trial not
  run, or stopped before its end, scores NaN.
* **The noise** of a score, from the trial's own step-to-step scatter: ``s``, the root mean
  square of the second differences of consecutive values divided by ``sqrt(6)`` (the
  standard deviation of one value for independent scatter; a straight trend cancels), over
  the last fifth of the training losses, or over the validation losses of the last
  ``VAL_TAIL`` steps. The noise of a training-loss score (a mean of ``m`` losses) is
  ``s / sqrt(m)``, of a validation score (one value) ``s``.
* **The margin**: (second-best score - best score) / ``hypot(noise of the best, noise of the
  second)``, i.e. the gap in standard errors of the difference. Below ``WITHIN_NOISE`` the
  notes say that either will do.
* **The winner**, the LR to train at: the best, or where trials at smaller LRs score within
  ``WITHIN_NOISE`` standard errors of it, the smallest of those. A short trial favours a
  larger LR (what goes wrong with it, a cliff, overfitting, a late blow-up, shows only over a
  longer run), so a tie goes to the smaller one. Trials with settings of their own (a
  family's members) differ in more than their LR: there the winner is the best.

:func:`default_lrs` chooses the LRs to try from a sweep's reading and :func:`default_steps`
how long each runs. :func:`lrwidget.try_lrs` runs the trials.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from . import analysis
from .records import check_header, floats_to_json, json_to_floats, load_json, save_json
from .style import format_lr

FORMAT = "lrwidget.trials"
FORMAT_VERSION = 1
STOP_REASONS = ("complete", "stopped", "error", "interrupted")
DEFAULT_STEPS = 200  # training steps per trial (measured: benchmarks/trials.py, docs/trials.md)
BUDGET = 4  # after a short sweep, the default trials together cost at most 4 sweeps' steps
MIN_TRIAL = 10  # ... but each runs at least this many (try_lrs refuses fewer: data.MIN_STEPS)
BELOW = 3.0  # the default set reaches down to the suggestion / 3
DIVERGE_FACTOR = 4.0  # diverged: the recent mean loss above 4x the first step's
DIVERGE_WINDOW = 5  # the steps that recent mean takes
LAST_PART = 5  # without validation data, the score averages the last fifth of the steps
VAL_CHECKPOINTS = 4  # validation after each quarter of the steps ...
VAL_TAIL = 5  # ... and after each of the last five steps (the score's noise is read there)
WITHIN_NOISE = 2.0  # a margin below this (in standard errors) is no clear win
SPACING = 1.2  # default LRs closer than x1.2 are the same answer


def validation_steps(steps: int) -> np.ndarray:
    """The steps (1-based: after that many steps) at which a trial of ``steps`` steps measures
    its validation loss: each quarter, and each of the last ``VAL_TAIL`` steps."""
    quarters = {round(steps * k / VAL_CHECKPOINTS) for k in range(1, VAL_CHECKPOINTS)}
    tail = set(range(max(1, steps - VAL_TAIL + 1), steps + 1))
    return np.array(sorted({s for s in quarters if s >= 1} | tail), dtype=np.int64)


def diverged_at(losses, step: int) -> bool:
    """Whether the divergence rule (see the module docstring) fires at ``step`` (0-based),
    given the losses up to it; ``losses`` may be a list or an array. The engine asks after each
    step; :func:`divergence_step` asks for every step of a record."""
    loss = float(losses[step])
    if not math.isfinite(loss):
        return True
    if step + 1 < DIVERGE_WINDOW:
        return False
    recent = float(sum(losses[step + 1 - DIVERGE_WINDOW : step + 1])) / DIVERGE_WINDOW
    return bool(analysis.is_diverged(loss, recent, float(losses[0]), DIVERGE_FACTOR))


def divergence_step(losses) -> int | None:
    """The first step (0-based) at which ``losses`` diverged, or None."""
    losses = np.asarray(losses, dtype=np.float64)
    return next((i for i in range(len(losses)) if diverged_at(losses, i)), None)


def scatter(values) -> float:
    """The step-to-step scatter of consecutive ``values`` (see the module docstring); NaN
    with fewer than three."""
    y = np.asarray(values, dtype=np.float64)
    if len(y) < 3 or not np.isfinite(y).all():
        return math.nan
    second = y[:-2] - 2.0 * y[1:-1] + y[2:]
    return float(np.sqrt(np.mean(second**2) / 6.0))


def default_steps(result, n_lrs: int) -> int:
    """Steps per trial when ``n_lrs`` LRs are tried after the sweep ``result``:
    ``DEFAULT_STEPS``, fewer after a short sweep so that the trials together cost at most
    ``BUDGET`` sweeps' worth of steps (of its planned length), and at least ``MIN_TRIAL``
    (measured: ``docs/trials.md``)."""
    planned = int(result.meta.get("num_steps") or len(result.lrs))
    return max(MIN_TRIAL, min(DEFAULT_STEPS, BUDGET * planned // max(int(n_lrs), 1)))


def default_lrs(result, current_lr: float | None) -> tuple[np.ndarray, str | None]:
    """The LRs to try after the sweep ``result`` and the note that says where they came from.

    The sweep's candidates (its suggestion and the careful one below it), the suggestion /
    ``BELOW``, and ``current_lr`` (the optimizer's LR: the baseline a user would otherwise
    train with); LRs within x``SPACING`` of one kept before are the same answer and dropped
    (the baseline, then the suggestion, are kept first). Nothing above the suggestion: short
    trials rank a too-large LR too well, since what fails with it (a cliff, overfitting, a
    late blow-up) shows only over a longer run (``docs/trials.md``). The exception is a sweep
    twice its default length or more (``result.longer_than_default``): it has trained the
    model through the small LRs and reads too low, so the set reaches up to the curve's
    lowest point too. Where the reading gives no suggestion (a curve within its noise, a sweep
    too short to fall), decades around ``current_lr`` (or the middle of the swept range): /10,
    /3, x1, x3, x10, as tried by hand, and a note saying so (None otherwise).

    Returns
    -------
    (ndarray, str or None)
        The LRs, ascending, and the note.
    """
    if result.suggestion is None:
        centre = current_lr or math.sqrt(float(result.lrs[0]) * float(result.lrs[-1]))
        why = result.notes[0] if result.notes else "its curve never fell beyond its noise"
        said = "the optimizer's LR" if current_lr else "the middle of the swept range"
        note = (
            f"the sweep's reading gives no LR to try ({why}); the trials span {said} "
            f"{format_lr(centre)} /10 to x10 instead, as one would by hand"
        )
        return np.array([centre * f for f in (0.1, 1 / 3, 1.0, 3.0, 10.0)]), note
    found = [result.suggestion, *(c.lr for c in result.candidates), result.suggestion / BELOW]
    if result.longer_than_default and result.lowest is not None:
        found.append(result.lowest)
    if current_lr:
        found.insert(0, current_lr)
    kept: list[float] = []
    for lr in found:
        if all(max(lr, k) / min(lr, k) >= SPACING for k in kept):
            kept.append(float(lr))
    return np.array(sorted(kept)), None


def _label(lr: float, setting: dict | None) -> str:
    if not setting:
        return format_lr(lr)
    values = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in setting.items()
    )
    return f"{format_lr(lr)} · {values}"


def _check_setting(i, setting) -> dict:
    if not isinstance(setting, dict) or not all(isinstance(k, str) for k in setting):
        raise ValueError(f"settings[{i}] must be a dict of setting name -> value, got {setting!r}")
    for name, value in setting.items():
        ok = value is None or isinstance(value, bool | int | float | np.integer | np.floating)
        if not ok or (isinstance(value, float | np.floating) and not math.isfinite(value)):
            raise ValueError(f"settings[{i}][{name!r}] must be a finite number, got {value!r}")
    return dict(setting)


@dataclass(frozen=True, eq=False)
class Trials:
    """Short training runs at constant LRs from one starting state (see the module docstring).

    Attributes
    ----------
    lrs : ndarray
        The LR of each trial, in the order run.
    steps : int
        The training steps planned per trial.
    losses : tuple of ndarray
        Per trial, the true training loss of each step (``losses[i][k]`` after step ``k + 1``);
        shorter when the trial diverged or was stopped, empty when it was not run.
    val_steps : ndarray of int
        The steps (1-based) after which the validation loss is measured; empty without
        validation data.
    val_losses : tuple of ndarray or None
        Per trial, the validation loss after each of ``val_steps`` reached; None without
        validation data.
    settings : tuple of dict or None
        Per trial, the optimizer settings it ran with (e.g. a family's members).
    stop_reason : str
        ``"complete"``, ``"stopped"``, ``"error"`` or ``"interrupted"``.
    meta : dict
        Batch size, optimizer, model, versions, time, ``baseline_lr`` (the optimizer's LR
        before the trials), ``source`` (``"candidates"``, ``"fallback"``, ``"user"``) ...
    """

    lrs: np.ndarray
    steps: int
    losses: tuple
    val_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    val_losses: tuple | None = None
    settings: tuple | None = None
    stop_reason: str = "complete"
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        lrs = np.asarray(self.lrs, dtype=np.float64).reshape(-1)
        if not (len(lrs) and np.isfinite(lrs).all() and (lrs > 0).all()):
            raise ValueError("lrs must hold at least one finite, positive learning rate")
        n = len(lrs)
        if isinstance(self.steps, bool) or not isinstance(self.steps, int | np.integer):
            raise ValueError(f"steps must be an int, got {self.steps!r}")
        steps = int(self.steps)
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        losses = _per_trial(self.losses, n, "losses")
        for i, trial in enumerate(losses):
            if len(trial) > steps:
                raise ValueError(f"losses[{i}] holds {len(trial)} steps, more than steps={steps}")
        val_steps = np.asarray(self.val_steps).reshape(-1)
        if val_steps.dtype.kind == "f" and np.all(np.mod(val_steps, 1) == 0):
            val_steps = val_steps.astype(np.int64)
        if len(val_steps) and (
            val_steps.dtype.kind not in "iu"
            or val_steps[0] < 1
            or val_steps[-1] > steps
            or (np.diff(val_steps) <= 0).any()
        ):
            raise ValueError(f"val_steps must be increasing steps in 1..{steps}, got {val_steps}")
        val_steps = val_steps.astype(np.int64)
        val_losses = self.val_losses
        if (val_losses is None) != (len(val_steps) == 0):
            raise ValueError("val_losses must be given exactly when val_steps is not empty")
        if val_losses is not None:
            val_losses = _per_trial(val_losses, n, "val_losses")
            for i, (trial, vals) in enumerate(zip(losses, val_losses, strict=True)):
                if len(vals) > int((val_steps <= len(trial)).sum()):
                    raise ValueError(f"val_losses[{i}] holds more values than val_steps reached")
        settings = self.settings
        if settings is not None:
            if isinstance(settings, dict | str) or len(settings) != n:
                raise ValueError(f"settings must hold one dict per LR ({n}), got {settings!r}")
            settings = tuple(_check_setting(i, s) for i, s in enumerate(settings))
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {STOP_REASONS}, got {self.stop_reason!r}")
        if not isinstance(self.meta, dict):
            raise ValueError(f"meta must be a dict, got {type(self.meta).__name__}")
        lrs.flags.writeable = val_steps.flags.writeable = False
        for name, value in (
            ("lrs", lrs),
            ("steps", steps),
            ("losses", losses),
            ("val_steps", val_steps),
            ("val_losses", val_losses),
            ("settings", settings),
        ):
            object.__setattr__(self, name, value)

    # --- derived ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.lrs)

    @property
    def score_kind(self) -> str:
        """What ranks the trials."""
        if self.val_losses is not None:
            return "validation loss"
        return "training loss (mean of the last fifth)"

    @property
    def outcomes(self) -> list[str]:
        """Per trial: ``"complete"``, ``"diverged"``, ``"partial"`` (stopped before its end) or
        ``"not run"``."""
        return list(self._ranking[0])

    @cached_property
    def _ranking(self) -> tuple[tuple, np.ndarray, np.ndarray]:
        """``(outcomes, scores, noise)``, read once: the record never changes."""
        outcomes = []
        for trial in self.losses:
            if not len(trial):
                outcomes.append("not run")
            elif divergence_step(trial) is not None:
                outcomes.append("diverged")
            else:
                outcomes.append("complete" if len(trial) == self.steps else "partial")
        pairs = [self._score_and_noise(i, o) for i, o in enumerate(outcomes)]
        scores = np.array([p[0] for p in pairs], dtype=np.float64).reshape(-1)
        noise = np.array([p[1] for p in pairs], dtype=np.float64).reshape(-1)
        scores.flags.writeable = noise.flags.writeable = False
        return tuple(outcomes), scores, noise

    def _tail(self) -> int:
        return max(3, round(self.steps / LAST_PART))

    def _score_and_noise(self, i: int, outcome: str) -> tuple[float, float]:
        if outcome == "diverged":
            return math.inf, math.nan
        if outcome != "complete":
            return math.nan, math.nan
        if self.val_losses is None:
            tail = self.losses[i][-self._tail() :]
            return float(np.mean(tail)), scatter(tail) / math.sqrt(len(tail))
        vals = self.val_losses[i]
        if len(vals) < len(self.val_steps):
            return math.nan, math.nan
        if not math.isfinite(vals[-1]):
            return math.inf, math.nan
        return float(vals[-1]), scatter(vals[len(vals) - self._val_run() :])

    def _val_run(self) -> int:
        """How many of the last validation steps are consecutive steps."""
        gaps = np.diff(self.val_steps)[::-1]
        return 1 + int(np.argmax(gaps != 1)) if (gaps != 1).any() else len(self.val_steps)

    def _ranked(self) -> tuple[np.ndarray, np.ndarray]:
        return self._ranking[1], self._ranking[2]

    @property
    def scores(self) -> np.ndarray:
        """Per trial, what ranks it (lower is better): inf for a diverged trial, NaN for one
        not run or not finished."""
        return self._ranked()[0]

    @property
    def noise(self) -> np.ndarray:
        """Per trial, the standard error of its score (NaN where there is none)."""
        return self._ranked()[1]

    @property
    def best_index(self) -> int | None:
        """The index of the best score; None when no trial finished without diverging."""
        scores = self.scores
        finite = np.isfinite(scores)
        return int(np.argmin(np.where(finite, scores, np.inf))) if finite.any() else None

    @property
    def best(self) -> float | None:
        """The LR that scored best; None when no trial finished without diverging."""
        index = self.best_index
        return None if index is None else float(self.lrs[index])

    @property
    def winner_index(self) -> int | None:
        """The index of the trial to train with (see the module docstring): the best, or the
        smallest LR within ``WITHIN_NOISE`` standard errors of it. None like ``best_index``."""
        if self.settings is not None:
            return self.best_index
        return self.smallest_within(WITHIN_NOISE)

    def smallest_within(self, k: float) -> int | None:
        """The index of the smallest LR whose score lies within ``k`` standard errors of the
        best's (k = 0: the best; :attr:`winner_index` uses ``WITHIN_NOISE``)."""
        best = self.best_index
        if best is None:
            return None
        scores, noise = self._ranked()
        tied = [
            i
            for i in range(len(self))
            if np.isfinite(scores[i])
            and scores[i] - scores[best] <= k * math.hypot(noise[i], noise[best])
        ]
        return min([best, *tied], key=lambda i: (self.lrs[i], scores[i]))

    @property
    def winner(self) -> float | None:
        """The LR to train at: the best, or the smallest LR within its noise (None when no trial
        finished without diverging)."""
        index = self.winner_index
        return None if index is None else float(self.lrs[index])

    @property
    def margin(self) -> float | None:
        """How far the best is ahead of the second best, in standard errors of the difference
        of their scores (see the module docstring): inf when every other trial diverged; None
        with fewer than two trials scored or no noise to measure by."""
        scores, noise = self._ranked()
        best = self.best_index
        scored = [i for i in range(len(self)) if i != best and not math.isnan(scores[i])]
        if best is None or not scored:
            return None
        second = min(scored, key=lambda i: scores[i])
        gap = scores[second] - scores[best]
        if math.isinf(gap):
            return math.inf
        unit = math.hypot(noise[best], noise[second])
        if math.isnan(unit):
            return None
        if unit == 0:
            return 0.0 if gap == 0 else math.inf
        return float(gap / unit)

    @property
    def labels(self) -> list[str]:
        """One label per trial: its LR, and its settings when it has any."""
        settings = self.settings or (None,) * len(self)
        return [_label(lr, s) for lr, s in zip(self.lrs.tolist(), settings, strict=True)]

    @property
    def notes(self) -> list[str]:
        """Plain sentences on how to read the ranking."""
        outcomes, labels, scores = self.outcomes, self.labels, self.scores
        if self.val_losses is None:
            first = self.steps - self._tail() + 1
            notes = [f"ranked by the mean training loss over steps {first}-{self.steps}"]
        else:
            notes = [f"ranked by the validation loss after step {self.steps}"]
        source = self.meta.get("source_note")
        if isinstance(source, str) and source:
            notes.append(source)
        unfinished = [
            lab for lab, o in zip(labels, outcomes, strict=True) if o in ("partial", "not run")
        ]
        if self.stop_reason != "complete" and unfinished:
            done = sum(o in ("complete", "diverged") for o in outcomes)
            notes.append(
                f"{self.stop_reason}: {done} of {len(self)} trials finished; "
                f"not finished: {', '.join(unfinished)}"
            )
        diverged = [lab for lab, s in zip(labels, scores, strict=True) if math.isinf(s)]
        if diverged and len(diverged) == sum(o != "not run" and o != "partial" for o in outcomes):
            notes.append("every trial diverged: try smaller learning rates")
        elif diverged:
            notes.append(f"diverged: {', '.join(diverged)}")
        self._ranking_notes(notes, labels, scores)
        return notes

    def _ranking_notes(self, notes, labels, scores):
        best, margin = self.best_index, self.margin
        if best is None:
            return
        if margin is not None and margin < WITHIN_NOISE:
            second = min(
                (i for i in range(len(self)) if i != best and np.isfinite(scores[i])),
                key=lambda i: scores[i],
            )
            notes.append(
                f"the best two ({labels[best]}, {labels[second]}) are within their noise "
                f"(margin {margin:.1f}): either will do"
            )
        winner = self.winner_index
        if winner != best:
            notes.append(
                f"the winner is {labels[winner]}, the smallest LR within the noise of the best "
                f"({labels[best]}): a short trial favours a larger LR"
            )
        if len(set(self.lrs.tolist())) > 1 and self.settings is None:
            lr = self.lrs[best]
            if lr == self.lrs.max():
                notes.append("the best is the largest LR tried: a larger one may do better")
            elif lr == self.lrs.min():
                notes.append("the best is the smallest LR tried: a smaller one may do better")

    def __repr__(self) -> str:
        best = "None" if self.best is None else format_lr(self.best)
        winner = "None" if self.winner is None else format_lr(self.winner)
        margin = self.margin
        said = "None" if margin is None else f"{margin:.1f}"
        return (
            f"Trials({len(self)} LRs x {self.steps} steps, stop_reason={self.stop_reason!r}, "
            f"best={best}, winner={winner}, margin={said})"
        )

    # --- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-able dict; non-finite numbers become ``null``."""
        margin = self.margin
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "lrs": floats_to_json(self.lrs),
            "steps": self.steps,
            "losses": [floats_to_json(t) for t in self.losses],
            "val_steps": self.val_steps.tolist(),
            "val_losses": None
            if self.val_losses is None
            else [floats_to_json(v) for v in self.val_losses],
            "settings": None
            if self.settings is None
            else [_json_setting(s) for s in self.settings],
            "stop_reason": self.stop_reason,
            "meta": self.meta,
            # Derived, for readers in other tools; load() recomputes them.
            "score_kind": self.score_kind,
            "outcomes": self.outcomes,
            "scores": floats_to_json(self.scores),
            "best": self.best,
            "winner": self.winner,
            "margin": margin if margin is not None and math.isfinite(margin) else None,
            "labels": self.labels,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data) -> Trials:
        """Rebuild from :meth:`to_dict` output; anything else raises ``ValueError``."""
        check_header(data, FORMAT, FORMAT_VERSION, "trials")
        lrs = json_to_floats(data.get("lrs"), "lrs")
        steps = data.get("steps")
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise ValueError(f"field 'steps' must be an int, got {steps!r}")
        losses = _json_per_trial(data, "losses")
        val_steps = data.get("val_steps")
        if not isinstance(val_steps, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) for s in val_steps
        ):
            raise ValueError("field 'val_steps' must be a list of ints")
        val_losses = None if data.get("val_losses") is None else _json_per_trial(data, "val_losses")
        settings = data.get("settings")
        if settings is not None and not isinstance(settings, list):
            raise ValueError("field 'settings' must be a list of objects or null")
        stop_reason, meta = data.get("stop_reason"), data.get("meta", {})
        if not isinstance(stop_reason, str) or not isinstance(meta, dict):
            raise ValueError("field 'stop_reason' must be a string and 'meta' an object")
        try:
            return cls(
                lrs=lrs,
                steps=steps,
                losses=losses,
                val_steps=np.array(val_steps, dtype=np.int64),
                val_losses=val_losses,
                settings=None if settings is None else tuple(settings),
                stop_reason=stop_reason,
                meta=meta,
            )
        except (TypeError, OverflowError) as exc:
            raise ValueError(f"malformed trials file: {exc}") from None

    def save(self, path) -> Path:
        """Write the trials as JSON to ``path`` and return it as a ``Path``."""
        return save_json(self.to_dict(), path)

    @classmethod
    def load(cls, path) -> Trials:
        """Read a file written by :meth:`save`. Never unpickles or evaluates anything."""
        return load_json(path, cls.from_dict)


def _per_trial(values, n: int, name: str) -> tuple:
    if isinstance(values, str | bytes | dict) or not hasattr(values, "__len__") or len(values) != n:
        raise ValueError(f"{name} must hold one array per LR ({n})")
    out = []
    for i, v in enumerate(values):
        arr = np.array(v, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(f"{name}[{i}] must be a 1-D array of losses, got shape {arr.shape}")
        arr.flags.writeable = False
        out.append(arr)
    return tuple(out)


def _json_per_trial(data, name: str) -> list:
    value = data.get(name)
    if not isinstance(value, list):
        raise ValueError(f"field {name!r} must be a list of lists of numbers")
    return [json_to_floats(v, f"{name}[{i}]") for i, v in enumerate(value)]


def _json_setting(setting: dict) -> dict:
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in setting.items()}
