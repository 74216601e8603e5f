"""How a sweep is shown, wherever it is shown: the live chart, the static picture, the terminal.

Colours, line weights, the LR format, the loss window, the legend names and the points each
sweep is drawn with (:func:`series`) are decided here once, so that the chart
(:mod:`lrwidget.figure`), the picture (:mod:`lrwidget.image`) and the command line cannot
disagree. Pure numpy: no widgets, no matplotlib, no Keras.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
SELECTION_COLOR = "crimson"
SUGGESTION_COLOR = "#f2b01e"  # gold: apart from every series colour, on light and dark themes
SUGGESTION_RIM = "#333333"
PROVISIONAL_COLOR = "#8a8a8a"  # a running sweep's candidates, grey: they still move
RANGE_COLOR = "#7f7f7f"
RANGE_OPACITY = 0.3  # the picked range's shading: still seen on the dark theme
# The raw loss is faint by its width, not by transparency: at 0.85 the first colour still
# contrasts 3:1 with a white and with a dark (#111) background.
RAW_OPACITY = 0.85
RAW_WIDTH = 1.0
SMOOTH_WIDTH = 2.5
SUGGESTED = "suggested"  # the suggestion's label
MINIMUM = "minimum"  # the article's minima's label on the chart and the picture
# What the article's minima are, for their tooltip and the status line when one is picked
# (benchmarks/RESULTS.md, "a click on what a sweep offers": mean regret 0.194 vs 0.069).
MINIMUM_NOTE = (
    "an article's minimum: where the smoothed loss bottoms out, the LRs the article picks "
    "from; the suggestion trains better (on 26 benchmark sweeps a minimum trained 19 "
    "accuracy points short of the best LR on average, the suggestion 7)"
)
NOT_FINITE_ADVICE = (
    "the loss was NaN or inf from the first batch, before any LR could matter: look for NaN "
    "or inf in the inputs and targets, and check that the loss fits the model's output (e.g. "
    "from_logits)"
)


def format_lr(lr: float | None) -> str:
    """The label of an LR: two significant digits, written as the chart's axis and tooltips
    write it (d3's ``.1e``), e.g. ``3.2e-2`` (``-`` for None)."""
    if lr is None:
        return "-"
    mantissa, exponent = f"{lr:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# Trials: apart from the sweeps' first colours, the selection's crimson and the suggestion's gold.
TRIAL_COLORS = ["#2ca02c", "#9467bd", "#17becf", "#e377c2", "#8c564b", "#bcbd22", "#7f7f7f"]
TRIAL_WIDTH = 1.5
BEST_WIDTH = 3.0  # the best trial's line


def trial_color(i: int) -> str:
    """The colour of the ``i``-th trial: its line and its marker on the LR chart."""
    return TRIAL_COLORS[i % len(TRIAL_COLORS)]


def trials_window(losses, outcomes=None) -> tuple[float, float] | None:
    """The loss window of the trials' lines: from their lowest losses (all but the lowest 1 %)
    to the highest loss of the first tenth of each trial that did not diverge (``outcomes``:
    per trial, "diverged" or another word), so a diverged trial runs off the top instead of
    squashing the others flat; None without any finite loss."""
    outcomes = outcomes or [None] * len(losses)
    kept = [
        np.asarray(v, dtype=np.float64)
        for v, outcome in zip(losses, outcomes, strict=True)
        if len(v) and outcome != "diverged"
    ]
    kept = [k[np.isfinite(k)] for k in kept]
    kept = [k for k in kept if len(k)]
    if not kept:
        return None
    bottom = min(float(np.percentile(k, 1)) for k in kept)
    top = max(float(k[: max(1, len(k) // 10)].max()) for k in kept)
    span = top - bottom or abs(top) * 0.1 or 1.0
    low = bottom - 0.05 * span
    return (max(low, 0.0) if bottom >= 0 else low), top + 0.1 * span


def trials_status(trials) -> list[str]:
    """The status line's parts on a :class:`~lrwidget.Trials` record: the winner, the best's
    margin over the next in noise units, and the record's notes."""
    n = sum(1 for losses in trials.losses if len(losses))
    parts = [f"tried {plural(n, 'LR')} for {trials.steps} steps ({trials.score_kind})"]
    best, winner = trials.best_index, trials.winner_index
    if winner is None:
        parts.append("no winner")
    else:
        won = f"winner {trials.labels[winner]}"
        if winner != best:
            won += f" (the best, {trials.labels[best]}, is within its noise)"
        elif trials.margin is not None and np.isfinite(trials.margin):
            won += f", ahead of the next by {trials.margin:.1f}x its noise"
        parts.append(won)
    return parts + list(trials.notes)


def series_color(i: int) -> str:
    """The colour of the ``i``-th sweep shown (its lines and its candidates)."""
    return COLORS[i % len(COLORS)]


def y_window(smoothed, raw=None) -> tuple[float, float] | None:
    """The loss range worth looking at: from the lowest loss to a bit above the level the
    curve falls from (its highest smoothed point before the minimum). What rises above it
    later, the blow-up at high LRs, is clipped instead of squashing the valley flat; the
    bottom leaves room for the raw losses around the minimum (all but the lowest 1 %)."""
    s = np.asarray(smoothed, dtype=np.float64)
    s = s[np.isfinite(s)]
    if len(s) == 0:
        return None
    low = int(np.argmin(s))
    bottom, top = float(s[low]), float(s[: low + 1].max())
    if raw is not None:
        r = np.asarray(raw, dtype=np.float64)
        r = r[np.isfinite(r)]
        if len(r):
            bottom = min(bottom, float(np.percentile(r, 1)))
    span = top - bottom or abs(top) * 0.1 or 1.0
    low = bottom - 0.1 * span
    if bottom >= 0:  # a loss that is never negative gets no axis below 0
        low = max(low, 0.0)
    return low, top + 0.15 * span


def result_window(result) -> tuple[float, float] | None:
    """:func:`y_window` of a sweep's part before divergence."""
    head = result.useful
    return y_window(result.smoothed[:head], result.losses[:head])


def joint_window(windows) -> tuple[float, float] | None:
    """The smallest window holding every window given (None among them is skipped)."""
    windows = [w for w in windows if w is not None]
    if not windows:
        return None
    return min(w[0] for w in windows), max(w[1] for w in windows)


LABEL_KEYS = (("optimizer", "{}"), ("batch_size", "batch {}"), ("model", "{}"))


def default_labels(results) -> list[str]:
    """Legend names: for overlaid sweeps, what tells them apart among their optimizer, batch
    size and model (e.g. "SGD" and "Adam", or "Adam, batch 32"); else "sweep i". Always
    distinct: a name shared by several sweeps gets their number."""
    n = len(results)
    metas = [r.meta if isinstance(r.meta, dict) else {} for r in results]
    differ = [
        (key, fmt)
        for key, fmt in LABEL_KEYS
        if n > 1 and all(m.get(key) for m in metas) and len({str(m[key]) for m in metas}) > 1
    ]
    labels = [", ".join(fmt.format(m[key]) for key, fmt in differ) for m in metas]
    labels = [label or f"sweep {i + 1}" for i, label in enumerate(labels)]
    return [
        f"{label} ({i + 1})" if labels.count(label) > 1 else label for i, label in enumerate(labels)
    ]


def suggestion_point(result) -> tuple[float, float] | None:
    """Where the suggestion sits: its LR and the smoothed loss there (interpolated on the log
    axis over the part before divergence); None without a suggestion."""
    head = result.useful
    if result.suggestion is None or head == 0:
        return None
    lrs, smoothed = result.lrs[:head], result.smoothed[:head]
    y = float(np.interp(np.log(result.suggestion), np.log(lrs), smoothed))
    return float(result.suggestion), y


@dataclass(frozen=True)
class Series:
    """One sweep as it is drawn: both curves over every step (the smoothed one as the analysis
    defines it past divergence too; the loss window is read before it), its candidates, its
    suggestion and the names on the legend and the suggestion."""

    label: str
    color: str
    lrs: np.ndarray
    raw: np.ndarray
    smoothed: np.ndarray
    useful: int  # steps before divergence: the hover readout and the window cover these
    candidates: tuple  # analysis.Candidate, sorted by LR
    suggestion: tuple[float, float] | None  # (lr, smoothed loss)
    suggestion_name: str
    window: tuple[float, float] | None
    minima: tuple = ()  # the article's minima (analysis.Candidate labelled "minimum"), by LR


MERGED_CHARS = 28  # a merged suggestion label names its sweeps up to this length


def merge_near_names(shown: list[Series], near: float = 0.15) -> list[Series]:
    """``shown`` with the suggestion labels that would overlap written once: a suggestion
    within ``near`` of the axes (of the log LR span and of the loss window) of an earlier one
    leaves its label to that one, e.g. "suggested (SGD, Adam)"."""
    points = [s.suggestion for s in shown]
    lrs = [s.lrs for s in shown if len(s.lrs)]
    window = joint_window(s.window for s in shown)
    if sum(p is not None for p in points) < 2 or not lrs or window is None:
        return shown
    decades = float(np.log10(max(a.max() for a in lrs) / min(a.min() for a in lrs))) or 1.0
    height = (window[1] - window[0]) or 1.0
    owner = list(range(len(shown)))  # whose label each suggestion's is written in
    for j, pj in enumerate(points):
        for i, pi in enumerate(points[:j]):
            if pi is None or pj is None or owner[i] != i:
                continue
            if abs(np.log10(pj[0] / pi[0])) < near * decades and abs(pj[1] - pi[1]) < near * height:
                owner[j] = i
                break
    out = []
    for i, s in enumerate(shown):
        group = [shown[j].label for j in range(len(shown)) if owner[j] == i]
        names = ", ".join(group)  # too long to sit on the chart: how many (the legend says who)
        names = names if len(names) <= MERGED_CHARS else f"{len(group)} sweeps"
        out.append(replace(s, suggestion_name=f"{SUGGESTED} ({names})" if group else ""))
    return out


def series(results, labels=None) -> list[Series]:
    """What to draw for each of ``results`` (``labels`` default: :func:`default_labels`)."""
    results = list(results)
    labels = default_labels(results) if labels is None else [str(label) for label in labels]
    if len(labels) != len(results):
        raise ValueError(f"got {len(labels)} labels for {len(results)} results")
    many = len(results) > 1
    shown = [
        Series(
            label=label,
            color=series_color(i),
            lrs=r.lrs,
            raw=r.losses,
            smoothed=r.smoothed,
            useful=r.useful,
            candidates=tuple(r.candidates),
            suggestion=suggestion_point(r),
            suggestion_name=f"{SUGGESTED} ({label})" if many else SUGGESTED,
            window=result_window(r),
            minima=tuple(sorted(r.minima, key=lambda c: c.lr)),
        )
        for i, (r, label) in enumerate(zip(results, labels, strict=True))
    ]
    # Suggestions close together would write their labels over each other.
    return merge_near_names(shown)


def candidate_option(candidate, owner: str | None = None) -> str:
    """A candidate as the menu under the chart lists it, e.g. ``suggested  3.2e-2  (loss
    0.41)``, followed by whose it is when several sweeps are shown."""
    text = f"{format_lr(candidate.lr)}  (loss {candidate.loss:.3g})"
    if candidate.label:
        text = f"{candidate.label}  {text}"
    if owner is not None:
        text += f"  · {owner}"
    return text


def menu_options(entries, labels=None) -> list[tuple[str, float]]:
    """The candidate menu's ``(label, lr)`` options for its ``(candidate, series index)``
    entries, in their order; ``labels``, when several sweeps are shown, their legend names
    (each option then says whose it is)."""
    return [(candidate_option(c, labels[i] if labels else None), c.lr) for c, i in entries]


def status_parts(results, labels, n_candidates: int, selected_lr) -> list[str]:
    """The status line of the sweeps shown: how they ended, the suggestion, the pick."""
    if not results:
        return ["no sweep shown"]
    parts = []
    first = results[0]
    if len(results) == 1:
        parts.append(f"{first.stop_reason} after {plural(len(first), 'step')}")
        if first.useful == 0 and first.stop_reason == "non_finite":
            parts.append(NOT_FINITE_ADVICE)
        # The rule is named: bottom/3 serves fine-tuning and training from scratch alike,
        # and rule=... (e.g. "steepest") reads the same curve another way.
        rule = first.settings.rule
        if first.suggestion is None:  # e.g. a sweep stopped before the loss fell
            parts.append(f"no suggestion yet: the loss has not fallen enough to read ({rule})")
        else:
            parts.append(f"suggestion {format_lr(first.suggestion)} ({rule})")
        parts += first.notes  # e.g. the range ended too early, and how to widen it
    else:
        parts.append(f"{len(results)} sweeps")
        parts.append(f"suggestion {format_lr(first.suggestion)} (of {labels[0]})")
    parts.append(plural(n_candidates, "candidate"))
    parts.append(f"selected {format_lr(selected_lr)}")
    return parts
