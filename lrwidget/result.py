"""The record of one sweep: raw arrays, settings and metadata; everything else is derived.

Smoothing, the divergence cut, candidates and the suggestion are recomputed from the raw
losses and the stored analysis settings, so a saved file cannot disagree with itself and a
change of ``spacing`` or ``tolerance`` is one ``with_settings`` call away. Files are JSON.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from . import analysis
from .records import check_header, floats_to_json, json_to_floats, load_json, save_json

FORMAT = "lrwidget.sweep"
FORMAT_VERSION = 1
STOP_REASONS = ("completed", "diverged", "non_finite", "stopped", "data_exhausted", "running")
LONG_SWEEP = 2.0  # a sweep this many times its default length or more gets a note


def length_note(num_steps, default_steps) -> str | None:
    """The note for a sweep of ``num_steps`` steps whose default length (``num_steps=None``:
    one epoch, at least 300 steps) is ``default_steps``: a long sweep reads a lower LR, since
    the model has trained at the small LRs before the large ones come (measured:
    ``docs/trials.md``). None below ``LONG_SWEEP`` times the default, or where either is
    unknown."""
    if not num_steps or not default_steps or num_steps < LONG_SWEEP * default_steps:
        return None
    return (
        f"this sweep ran {num_steps:,} steps, {num_steps / default_steps:.0f}x its default "
        f"length ({default_steps:,}); a longer sweep reads a lower LR (the model has already "
        "trained when the large LRs come): sweep with num_steps=None for the default length, "
        "or try the LRs up to the curve's lowest point (try_lrs)"
    )


@dataclass(frozen=True)
class AnalysisSettings:
    """How a raw curve is read: smoothing, divergence, candidate filter and suggestion rule."""

    beta: float = 0.98
    diverge_factor: float = 4.0
    tolerance: float = 0.25
    spacing: float = 1.2
    rule: str = analysis.DEFAULT_SUGGESTER

    def __post_init__(self):
        checks = {
            "beta": 0 <= self.beta < 1,
            "diverge_factor": self.diverge_factor > 1,
            "tolerance": self.tolerance >= 0,
            "spacing": self.spacing >= 1,
        }
        for name, ok in checks.items():
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and ok):
                raise ValueError(
                    f"{name}={value!r} is out of range; defaults: beta=0.98 (in [0, 1)), "
                    "diverge_factor=4 (> 1), tolerance=0.25 (>= 0), spacing=1.2 (>= 1)"
                )
        if self.rule not in analysis.SUGGESTERS:
            known = sorted(analysis.SUGGESTERS)
            raise ValueError(f"rule must be one of {known}, got {self.rule!r}")


@dataclass(frozen=True, eq=False)
class SweepResult:
    """One LR range test.

    Attributes
    ----------
    lrs : ndarray
        The learning rate used at each recorded step.
    losses : ndarray
        The loss of each step: the true per-batch training loss, or in validation mode the loss
        on the fixed validation subset measured right after the step.
    train_losses : ndarray
        The per-batch training loss (equal to ``losses`` without validation data).
    stop_reason : str
        ``"completed"``, ``"diverged"``, ``"non_finite"``, ``"stopped"`` (on request),
        ``"data_exhausted"`` (the input ran out before ``num_steps``), or ``"running"`` for a
        snapshot taken during a sweep.
    settings : AnalysisSettings
        How the curve is smoothed and read.
    meta : dict
        Range, mode, planned steps, batch size, optimizer, versions, timing (JSON-able).
    """

    lrs: np.ndarray
    losses: np.ndarray
    train_losses: np.ndarray | None = None
    stop_reason: str = "completed"
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        lrs = np.asarray(self.lrs, dtype=np.float64).reshape(-1)
        losses = np.asarray(self.losses, dtype=np.float64).reshape(-1)
        train = losses if self.train_losses is None else self.train_losses
        train = np.asarray(train, dtype=np.float64).reshape(-1)
        if not (len(lrs) == len(losses) == len(train)):
            raise ValueError(
                f"lrs, losses and train_losses must have one value per step; got lengths "
                f"{len(lrs)}, {len(losses)} and {len(train)}"
            )
        if self.stop_reason not in STOP_REASONS:
            raise ValueError(f"stop_reason must be one of {STOP_REASONS}, got {self.stop_reason!r}")
        for name, arr in (("lrs", lrs), ("losses", losses), ("train_losses", train)):
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)

    # --- derived ---------------------------------------------------------------------------
    @cached_property
    def _reading(self) -> analysis.Reading:
        s = self.settings
        reading = analysis.read_curve(
            self.lrs,
            self.losses,
            beta=s.beta,
            diverge_factor=s.diverge_factor,
            tolerance=s.tolerance,
            spacing=s.spacing,
            rule=s.rule,
            stop_reason=self.stop_reason,
        )
        reading.smoothed.flags.writeable = False  # cached and shared, like the raw arrays
        return reading

    @property
    def smoothed(self) -> np.ndarray:
        """The loss smoothed with ``settings.beta``: without lag up to divergence, one-way after."""
        return self._reading.smoothed

    @property
    def useful(self) -> int:
        """Number of leading steps before divergence: the part candidates come from."""
        return self._reading.useful

    @property
    def candidates(self) -> list[analysis.Candidate]:
        """The LRs offered for clicking, sorted by LR: good ones to train at, read from the
        descent of the curve and labelled ``"suggested"`` and ``"careful"``
        (:func:`lrwidget.analysis.find_candidates`); none when the curve never fell. A new list
        each time: changing it changes nothing here."""
        return list(self._reading.candidates)

    @property
    def minima(self) -> list[analysis.Candidate]:
        """The article's minima of the smoothed curve before divergence (``settings.tolerance``
        of the best, ``settings.spacing`` apart; :func:`lrwidget.analysis.find_minima`): where
        the loss bottoms out, the upper edge of the usable range rather than an LR to train
        at. The end of a range that ended while the loss still fell is never one."""
        return list(self._reading.minima)

    @property
    def notes(self) -> list[str]:
        """What the curve says about the range itself, with what to change: the loss never
        fell, or the sweep ended before the loss turned up (e.g. "... pass a larger end_lr,
        e.g. end_lr=100"), or that a sweep well over its default length reads a lower LR
        (:func:`length_note`). Empty for a curve with a full descent, and while running."""
        long = self._length_note()
        said = long and self.suggestion and self.stop_reason != "running"
        return list(self._reading.notes) + ([long] if said else [])

    @property
    def longer_than_default(self) -> bool:
        """Whether the sweep ran ``LONG_SWEEP`` times its default length or more (its notes
        say so: such a sweep reads a lower LR; :func:`length_note`)."""
        return self._length_note() is not None

    def _length_note(self) -> str | None:
        return length_note(self.meta.get("num_steps"), self.meta.get("default_steps"))

    @property
    def lowest(self) -> float | None:
        """The LR where the smoothed curve is lowest before divergence (None while empty)."""
        useful = self.smoothed[: self.useful]
        if not np.isfinite(useful).any():
            return None
        return float(self.lrs[int(np.nanargmin(useful))])

    @property
    def suggestion(self) -> float | None:
        """The LR to start from (rule ``settings.rule``), or None when the curve says nothing."""
        return self._reading.suggestion

    def with_settings(self, **changes) -> SweepResult:
        """The same sweep read with other analysis settings (e.g. ``spacing=1.5``)."""
        return dataclasses.replace(self, settings=dataclasses.replace(self.settings, **changes))

    def __len__(self) -> int:
        return len(self.lrs)

    def __repr__(self) -> str:
        sug = "None" if self.suggestion is None else f"{self.suggestion:.3g}"
        cands = ", ".join(f"{c.lr:.3g}" for c in self.candidates)
        return (
            f"SweepResult({len(self)} steps, stop_reason={self.stop_reason!r}, "
            f"suggestion={sug}, candidates=[{cands}])"
        )

    # --- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-able dict; non-finite losses become ``null``."""

        arr = floats_to_json
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "lrs": arr(self.lrs),
            "losses": arr(self.losses),
            "train_losses": arr(self.train_losses),
            "stop_reason": self.stop_reason,
            "settings": dataclasses.asdict(self.settings),
            "meta": self.meta,
            # Derived values are written for readers in other tools; load() recomputes them.
            "candidates": [dataclasses.asdict(c) for c in self.candidates],
            "minima": [dataclasses.asdict(c) for c in self.minima],
            "suggestion": self.suggestion,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data) -> SweepResult:
        """Rebuild from :meth:`to_dict` output; anything else raises ``ValueError``."""
        check_header(data, FORMAT, FORMAT_VERSION, "sweep")

        def arr(key, required=True):
            value = data.get(key)
            return None if value is None and not required else json_to_floats(value, key)

        lrs, losses, train_losses = arr("lrs"), arr("losses"), arr("train_losses", False)
        if not (np.isfinite(lrs).all() and (lrs > 0).all()):
            raise ValueError("field 'lrs' must hold finite, positive learning rates")
        settings = data.get("settings", {})
        meta = data.get("meta", {})
        if not isinstance(settings, dict) or not isinstance(meta, dict):
            raise ValueError("fields 'settings' and 'meta' must be JSON objects")
        known = {f.name for f in dataclasses.fields(AnalysisSettings)}
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"unknown analysis settings {sorted(unknown)}; known: {sorted(known)}")
        stop_reason = data.get("stop_reason")
        if not isinstance(stop_reason, str):
            raise ValueError("field 'stop_reason' must be a string")
        try:
            return cls(
                lrs=lrs,
                losses=losses,
                train_losses=train_losses,
                stop_reason=stop_reason,
                settings=AnalysisSettings(**settings),
                meta=meta,
            )
        except (TypeError, OverflowError) as exc:  # e.g. a setting of the wrong type
            raise ValueError(f"malformed sweep file: {exc}") from None

    def save(self, path) -> Path:
        """Write the sweep as JSON to ``path`` and return it as a ``Path``."""
        return save_json(self.to_dict(), path)

    @classmethod
    def load(cls, path) -> SweepResult:
        """Read a file written by :meth:`save`. Never unpickles or evaluates anything."""
        return load_json(path, cls.from_dict)
