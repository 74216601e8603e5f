"""A sweep family: one LR range test per setting (weight decay, momentum, batch size, seed ...).

Smith ("A disciplined approach to neural network hyper-parameters", 2018) runs the range test
once per weight decay (or batch size, or momentum), compares the curves and takes the setting
whose curve reaches the lowest loss and stays low to the largest LR, then the LR on that
curve. This module holds what such a family is, without Keras: the check of ``vary`` (which
settings, which values), the members (the product of the values), their labels, and
:class:`SweepFamily`, the record of the sweeps with its pick, spread and notes, saved as JSON.
:func:`lrwidget.find_lr_family` runs one.

The pick's rule (:func:`pick_group`), stated so it can be measured
(``benchmarks/family.py``):

1. Each curve is read before it diverged. ``fall`` is the family's top (the median, over
   the members, of each curve's highest smoothed loss before its lowest) minus the lowest
   smoothed loss of any member; the *low band* is everything within ``PICK_BAND`` (10 %) of
   that fall above the lowest loss.
2. A member's *reach* is the largest LR to which its smoothed curve stays in the low band: the
   end of the run of points in the band that holds its lowest point. A curve that never
   enters the band has no reach.
3. Members that differ only in ``seed`` form one group; a group's reach is the median of its
   members' reaches (no reach counts as 0), its LR the geometric median of their suggestions.
4. The pick is the group with the largest reach among those with a suggestion (a tie goes to
   the lower loss), at that group's LR: the member's own suggestion when it has no repeats.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import MIN_STEPS
from .records import check_header, load_json, save_json
from .result import SweepResult
from .trials import default_steps

FORMAT = "lrwidget.family"
FORMAT_VERSION = 1
SWEEP_ARGS = ("batch_size", "num_steps")  # arguments of the sweep itself
SEED = "seed"  # a repeat with another batch order and dropout stream
NOT_OPTIMIZER = (*SWEEP_ARGS, SEED)
PICK_BAND = 0.1  # the low band: within 10 % of the family's fall above its lowest loss
UNSTABLE = 2.0  # a note warns when repeats' suggestions lie more than x2 apart
# Ranges of well-known optimizer hyperparameters (others need only be finite numbers).
RANGES = {
    "weight_decay": (lambda v: v >= 0, ">= 0 (0: no decay)"),
    "momentum": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "beta_1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "beta_2": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "rho": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "epsilon": (lambda v: v > 0, "> 0"),
    "clipnorm": (lambda v: v > 0, "> 0"),
    "global_clipnorm": (lambda v: v > 0, "> 0"),
    "clipvalue": (lambda v: v > 0, "> 0"),
}
EXAMPLE = "e.g. vary={'weight_decay': [0, 1e-4, 1e-3]}"


def _check_value(name: str, value):
    """``value`` as the member will carry it; raises naming the bad value and the fix."""
    if name in NOT_OPTIMIZER:
        lowest = {"batch_size": 1, "num_steps": MIN_STEPS, SEED: 0}[name]
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise TypeError(f"vary[{name!r}] holds {value!r}: {name} values must be ints")
        if value < lowest:
            raise ValueError(f"vary[{name!r}] holds {value!r}: {name} must be >= {lowest}")
        return int(value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if not isinstance(value, int | float | np.integer | np.floating) or not math.isfinite(value):
        raise TypeError(
            f"vary[{name!r}] holds {value!r}: optimizer settings must be finite numbers"
        )
    ok, what = RANGES.get(name, (lambda v: True, ""))
    if not ok(value):
        raise ValueError(f"vary[{name!r}] holds {value!r}: {name} must be {what}")
    return int(value) if isinstance(value, int | np.integer) else float(value)


def check_vary(vary) -> dict[str, tuple]:
    """``vary`` checked and normalised: each name to a tuple of distinct values.

    Raises ``TypeError``/``ValueError`` naming the bad name or value and the fix. Whether the
    optimizer has each setting is checked by :func:`lrwidget.find_lr_family`.
    """
    if not isinstance(vary, Mapping) or not vary:
        raise ValueError(
            f"vary must be a non-empty dict of name -> list of values ({EXAMPLE}), got {vary!r}"
        )
    checked = {}
    for name, values in vary.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise TypeError(f"vary's keys must be setting names ({EXAMPLE}), got {name!r}")
        if name == "learning_rate":
            raise ValueError(
                "vary['learning_rate']: the sweep itself varies the learning rate; vary other "
                f"settings ({EXAMPLE})"
            )
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise TypeError(f"vary[{name!r}] must be a list of values, got {values!r}")
        values = [_check_value(name, v) for v in values]
        if not values:
            raise ValueError(f"vary[{name!r}] is an empty list: give at least one value")
        if len(set(values)) != len(values):
            raise ValueError(f"vary[{name!r}] = {values!r} repeats a value: give each once")
        checked[name] = tuple(values)
    return checked


def family_members(vary: Mapping[str, tuple]) -> list[dict]:
    """Every combination of the values in ``vary``, in order (the last name varies fastest)."""
    names = list(vary)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*vary.values())]


def format_value(value) -> str:
    """A setting's value as a label writes it: ``1e-4``, ``0.9``, ``0``, ``128``, ``True``."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if value != 0 and abs(value) < 1e-2:
        mantissa, exponent = f"{value:.6e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    return f"{value:.6g}"


def member_label(member: Mapping) -> str:
    """A member's name on the legend, e.g. ``weight_decay=1e-4, seed=1``."""
    return ", ".join(f"{k}={format_value(v)}" for k, v in member.items()) or "sweep"


@dataclass(frozen=True)
class Pick:
    """The family's suggestion: the setting to train with and the LR to train at.

    Attributes
    ----------
    setting : dict
        The picked member's settings (without ``seed``: repeats are one setting).
    lr : float
        The LR to train at: the picked member's suggestion (the geometric median of its
        repeats' suggestions).
    label : str
        The setting as the legend names it.
    reach : float
        The largest LR to which the picked curve stays in the family's low band.
    members : tuple of int
        The indices of the members of the picked setting (one, or its repeats).
    """

    setting: dict
    lr: float
    label: str
    reach: float
    members: tuple


def _head(result: SweepResult):
    """The curve before divergence, finite points only."""
    lrs, smoothed = result.lrs[: result.useful], result.smoothed[: result.useful]
    keep = np.isfinite(smoothed)
    return lrs[keep], smoothed[keep]


def _band(results) -> float | None:
    """The top of the family's low band (see the module docstring), or None without a curve."""
    lows, tops = [], []
    for r in results:
        _, s = _head(r)
        if len(s):
            low = int(np.argmin(s))
            lows.append(float(s[low]))
            tops.append(float(s[: low + 1].max()))
    if not lows:
        return None
    lowest = min(lows)
    return lowest + PICK_BAND * (float(np.median(tops)) - lowest)


def reach(result: SweepResult, level: float) -> float | None:
    """The largest LR to which ``result``'s smoothed curve stays at or below ``level``: the
    end of the run of such points that holds the curve's lowest point (None: never there)."""
    lrs, s = _head(result)
    if not len(s) or s.min() > level:
        return None
    low = int(np.argmin(s))
    end = low
    while end + 1 < len(s) and s[end + 1] <= level:
        end += 1
    return float(lrs[end])


def _geomedian(values) -> float:
    """The median on a log scale: the middle value, or the geometric mean of the middle two."""
    values = sorted(values)
    middle = len(values) // 2
    if len(values) % 2:
        return float(values[middle])
    return math.sqrt(values[middle - 1] * values[middle])


def groups(members) -> dict[tuple, list[int]]:
    """Member indices by setting without ``seed`` (repeats of one setting form one group)."""
    out: dict[tuple, list[int]] = {}
    for i, m in enumerate(members):
        out.setdefault(tuple((k, v) for k, v in m.items() if k != SEED), []).append(i)
    return out


def pick_group(members, results) -> Pick | None:
    """The family's pick by the rule in the module docstring (None: no member suggests)."""
    level = _band(results)
    if level is None:
        return None
    best = None
    for key, indices in groups(members[: len(results)]).items():
        suggested = [results[i].suggestion for i in indices if results[i].suggestion is not None]
        if not suggested:
            continue
        reaches = [reach(results[i], level) or 0.0 for i in indices]
        lowest = float(np.median([_head(results[i])[1].min(initial=np.inf) for i in indices]))
        score = (float(np.median(reaches)), -lowest)
        if best is None or score > best[0]:
            best = (score, key, indices, _geomedian(suggested))
    if best is None:
        return None
    (group_reach, _), key, indices, lr = best
    setting = dict(key)
    label = member_label(setting) if setting else "the repeats' median"
    return Pick(setting, lr, label, group_reach, tuple(indices))


def spread(results) -> float | None:
    """How far the suggestions of ``results`` lie apart, as a factor (largest / smallest);
    None with fewer than two suggestions."""
    lrs = [r.suggestion for r in results if r.suggestion is not None]
    return max(lrs) / min(lrs) if len(lrs) >= 2 else None


@dataclass(frozen=True, eq=False)
class SweepFamily:
    """One LR range test per member of a family (see the module docstring for the pick).

    Attributes
    ----------
    vary : dict
        Setting name -> the tuple of values swept (as passed to ``find_lr_family``).
    members : list of dict
        Every planned member: the product of ``vary``'s values, in sweep order.
    results : list of SweepResult
        One per finished member, in order; fewer than ``members`` when the family was stopped
        or failed (``meta["stop_reason"]`` says which).
    meta : dict
        ``stop_reason`` ("completed", "stopped", "error"), the seed, the time taken.
    """

    vary: dict
    members: list
    results: list
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        vary = check_vary(self.vary)
        planned = family_members(vary)
        members = [dict(m) for m in self.members]
        if members != planned:
            raise ValueError(f"members {members!r} are not the product of vary {vary!r}")
        results = list(self.results)
        if len(results) > len(members) or not all(isinstance(r, SweepResult) for r in results):
            raise ValueError(f"results must be at most {len(members)} SweepResult objects")
        object.__setattr__(self, "vary", vary)
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "results", results)

    @property
    def labels(self) -> list[str]:
        """The finished members' legend names, e.g. ``weight_decay=1e-4``."""
        return [member_label(m) for m in self.members[: len(self.results)]]

    @property
    def complete(self) -> bool:
        """True when every member was swept."""
        return len(self.results) == len(self.members)

    @property
    def is_seed_family(self) -> bool:
        """True when ``seed`` is the only setting varied: repeats of one sweep."""
        return list(self.vary) == [SEED]

    @property
    def pick(self) -> Pick | None:
        """The setting and LR the family suggests (see the module docstring), or None."""
        return pick_group(self.members, self.results)

    def trial_plan(self) -> dict:
        """What a trial after the family runs, as arguments of :func:`lrwidget.try_lrs`.

        ``lrs``: each finished member's suggestion; ``settings``: that member's optimizer
        settings (None when no member has any); ``steps``: what one sweep's default trials
        would run (:func:`lrwidget.trials.default_steps`) after the shortest member's sweep,
        so that the trials cost at most four of its sweeps' worth of steps.

        The batch size and the sweep's length are the trials' own, so they are not carried
        over; a member's ``seed`` is (its batch order and dropout stream). Members without a
        suggestion are left out, and a pair already planned is planned once.
        """
        planned: list[tuple[float, dict]] = []
        for member, result in zip(self.members, self.results, strict=False):
            setting = {k: v for k, v in member.items() if k not in SWEEP_ARGS}
            pair = (float(result.suggestion or 0.0), setting)
            if result.suggestion is not None and pair not in planned:
                planned.append(pair)
        settings = [setting for _, setting in planned]
        return {
            "lrs": [lr for lr, _ in planned],
            "settings": settings if any(settings) else None,
            "steps": min(default_steps(r, len(planned)) for r in self.results) if planned else None,
        }

    @property
    def spread(self) -> float | None:
        """How far the members' suggestions lie apart, as a factor (largest / smallest); for
        a ``seed`` family, how much the answer moves between repeats. None with fewer than two
        suggestions."""
        return spread(self.results)

    @property
    def repeat_spread(self) -> float | None:
        """The largest spread among repeats of one setting (None without ``seed`` in vary)."""
        if SEED not in self.vary:
            return None
        found = [
            spread([self.results[i] for i in indices])
            for indices in groups(self.members[: len(self.results)]).values()
        ]
        found = [s for s in found if s is not None]
        return max(found) if found else None

    @property
    def notes(self) -> list[str]:
        """What to know about the family: members not swept, members with no suggestion, how
        much the suggestion moves between repeats (with what to change)."""
        notes = []
        done, planned = len(self.results), len(self.members)
        if done < planned:
            why = self.meta.get("stop_reason", "stopped")
            notes.append(
                f"{why}: {done} of {planned} members swept; "
                f"not swept: {', '.join(member_label(m) for m in self.members[done:])}"
            )
        for label, r in zip(self.labels, self.results, strict=True):
            if r.suggestion is None:
                why = r.notes[0] if r.notes else "its curve says nothing"
                notes.append(f"{label}: no suggestion ({why})")
        moved = self.repeat_spread
        if moved is not None:
            note = f"the suggestion moves x{moved:.1f} between repeats"
            if moved > UNSTABLE:
                note += ": sweep longer (num_steps=...) or with a larger batch_size"
            notes.append(note)
        return notes

    def __len__(self) -> int:
        return len(self.results)

    def __repr__(self) -> str:
        pick = self.pick
        said = "None" if pick is None else f"{pick.label} at lr {pick.lr:.3g}"
        return f"SweepFamily({len(self)}/{len(self.members)} members, pick={said})"

    # --- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-able dict (each member's sweep as :meth:`SweepResult.to_dict` writes it)."""
        pick = self.pick
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "vary": {k: list(v) for k, v in self.vary.items()},
            "members": self.members,
            "results": [r.to_dict() for r in self.results],
            "meta": self.meta,
            # Derived, for readers in other tools; load() recomputes them.
            "labels": self.labels,
            "pick": None if pick is None else {**pick.setting, "learning_rate": pick.lr},
            "spread": self.spread,
            "notes": self.notes,
        }

    @classmethod
    def from_dict(cls, data) -> SweepFamily:
        """Rebuild from :meth:`to_dict` output; anything else raises ``ValueError``."""
        check_header(data, FORMAT, FORMAT_VERSION, "family")
        results, meta = data.get("results"), data.get("meta", {})
        if not isinstance(results, list) or not isinstance(meta, dict):
            raise ValueError("field 'results' must be a list and 'meta' an object")
        try:
            return cls(
                vary=data.get("vary"),
                members=data.get("members") or [],
                results=[SweepResult.from_dict(r) for r in results],
                meta=meta,
            )
        except TypeError as exc:
            raise ValueError(f"malformed family file: {exc}") from None

    def save(self, path) -> Path:
        """Write the family as JSON to ``path`` and return it as a ``Path``."""
        return save_json(self.to_dict(), path)

    @classmethod
    def load(cls, path) -> SweepFamily:
        """Read a file written by :meth:`save`. Never unpickles or evaluates anything."""
        return load_json(path, cls.from_dict)
