"""A static picture of the chart, drawn with matplotlib: to save as PNG or SVG, and to show the
chart's last state where widgets cannot render (GitHub, nbviewer, a notebook reopened without a
kernel, the command line's offline page).

It draws what the chart draws, from the same :func:`lrwidget.style.series`: raw loss faint,
smoothed loss bold, the candidates as diamonds, the suggestion as a gold circle, the pick as a
dashed crimson rule and a picked range as a shaded band. No Keras, no widgets.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np

from . import style

FORMATS = ("png", "svg")


def figure(
    results,
    labels=None,
    *,
    selected_lr: float | None = None,
    selected_range: tuple[float, float] | None = None,
):
    """The chart of ``results`` (a list of :class:`~lrwidget.SweepResult`) as a matplotlib
    ``Figure``, not yet rendered."""
    from matplotlib.figure import Figure  # lazily: only pictures need it

    shown = style.series(results, labels)
    fig = Figure(figsize=(8, 4), dpi=110, layout="constrained")
    ax = fig.subplots()
    for i, s in enumerate(shown):
        _draw_series(ax, i, s, legend=len(shown) > 1)
    if selected_range is not None:
        ax.axvspan(*selected_range, color=style.RANGE_COLOR, alpha=style.RANGE_OPACITY, linewidth=0)
    if selected_lr is not None:
        ax.axvline(
            selected_lr, color=style.SELECTION_COLOR, linestyle="--", linewidth=1.5, gid="rule"
        )
        ax.annotate(
            style.format_lr(selected_lr),
            (selected_lr, 1.0),
            xycoords=("data", "axes fraction"),
            textcoords="offset points",
            xytext=(4, -12),
            color=style.SELECTION_COLOR,
        )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    window = style.joint_window(s.window for s in shown)
    if window is not None:
        ax.set_ylim(*window)
    if len(shown) > 1:
        ax.legend(loc="upper right")
    ax.grid(True, which="major", alpha=0.3)
    return fig


def _draw_series(ax, i: int, s: style.Series, legend: bool):
    """Sweep ``i``'s artists, each with a ``gid`` that names it (``raw-0``, ``suggestion-0``)."""
    ax.plot(
        s.lrs,
        s.raw,
        color=s.color,
        alpha=style.RAW_OPACITY,
        linewidth=style.RAW_WIDTH,
        gid=f"raw-{i}",
    )
    label = s.label if legend else None
    ax.plot(
        s.lrs,
        s.smoothed,
        color=s.color,
        linewidth=style.SMOOTH_WIDTH,
        label=label,
        gid=f"smoothed-{i}",
    )
    if s.candidates:
        ax.scatter(
            [c.lr for c in s.candidates],
            [c.loss for c in s.candidates],
            marker="D",
            s=45,
            color=s.color,
            edgecolors="white",
            zorder=3,
            gid=f"candidates-{i}",
        )
    if s.suggestion is not None:
        ax.scatter(
            [s.suggestion[0]],
            [s.suggestion[1]],
            marker="o",
            s=70,
            color=style.SUGGESTION_COLOR,
            edgecolors=style.SUGGESTION_RIM,
            zorder=4,
            gid=f"suggestion-{i}",
        )
        ax.annotate(
            s.suggestion_name,
            s.suggestion,
            textcoords="offset points",
            xytext=(6, -12),
            gid=f"suggestion-label-{i}",
        )


def render(results, labels=None, *, fmt: str = "png", **selection) -> bytes:
    """The picture of ``results`` as PNG or SVG bytes (``selection``: ``selected_lr`` and
    ``selected_range``, see :func:`figure`)."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    buffer = io.BytesIO()
    figure(results, labels, **selection).savefig(buffer, format=fmt)
    return buffer.getvalue()


def free_path(stem: str, suffix: str = ".png", folder=".") -> Path:
    """A file in ``folder`` that does not exist yet: ``stem.png``, else ``stem-2.png``, ..."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", stem).strip("._") or "lr_finder"
    n = 1
    while True:
        path = Path(folder) / f"{stem}{'' if n == 1 else f'-{n}'}{suffix}"
        if not path.exists():
            return path
        n += 1


def save(path, results, labels=None, **selection) -> Path:
    """Write the picture to ``path``; its suffix (``.png`` or ``.svg``) says which."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(
            f"path {str(path)!r} must end in .png or .svg (the picture's format), "
            f"e.g. 'lr_finder.png'"
        )
    path.write_bytes(render(results, labels, fmt=fmt, **selection))
    return path


def draw_trials(ax, trials) -> None:
    """Each trial's training loss against its step on ``ax`` (the winner bold, a diverged
    trial dotted), its validation checkpoints as dots, in the trial's series colour."""
    best = trials.best_index
    for i, (label, losses, outcome) in enumerate(
        zip(trials.labels, trials.losses, trials.outcomes, strict=True)
    ):
        if not len(losses):
            continue
        color = style.series_color(i)
        steps = range(1, len(losses) + 1)
        width = style.SMOOTH_WIDTH if i == best else style.RAW_WIDTH
        name = f"{label} (best)" if i == best else label
        line = ":" if outcome == "diverged" else "-"
        ax.plot(steps, losses, line, color=color, linewidth=width, label=name, gid=f"trial-{i}")
        if trials.val_losses is not None and len(trials.val_losses[i]):
            reached = trials.val_steps[: len(trials.val_losses[i])]
            ax.plot(reached, trials.val_losses[i], "o", color=color, ms=3, gid=f"trial-val-{i}")
    window = _trials_window(trials)
    if window is not None:
        ax.set_ylim(*window)
    ax.set_xlabel("step")
    validated = trials.val_losses is not None
    ax.set_ylabel("loss (line: training, dots: validation)" if validated else "training loss")
    ax.set_title(f"trials at a constant LR, ranked by {trials.score_kind}", fontsize="medium")
    if len(trials):
        ax.legend(loc="upper right", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)


def _trials_window(trials) -> tuple[float, float] | None:
    """From the lowest losses (all but the lowest 1 %) to the highest loss of the first tenth
    of the trials that did not diverge: a diverged trial runs off the top instead of squashing
    the others flat."""
    kept = [
        np.asarray(losses, dtype=np.float64)
        for losses, outcome in zip(trials.losses, trials.outcomes, strict=True)
        if len(losses) and outcome != "diverged"
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


def trials_png(trials) -> bytes:
    """The trials' picture (see :func:`draw_trials`) as PNG bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.5), dpi=110, layout="constrained")
    draw_trials(fig.subplots(), trials)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
