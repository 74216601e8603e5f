"""A static picture of the chart, drawn with matplotlib: to save as PNG or SVG, and to show the
chart's last state where widgets cannot render (GitHub, nbviewer, a notebook reopened without a
kernel, the command line's offline page).

It draws what the chart draws, from the same :func:`lrwidget.style.series`: raw loss faint,
smoothed loss bold, the candidates as diamonds, the article's minima as crosses (unless
``minima=False``), the suggestion as a gold circle, the pick as a dashed crimson rule and a
picked range as a shaded band. No Keras, no widgets.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from . import style

FORMATS = ("png", "svg")


def figure(
    results,
    labels=None,
    *,
    selected_lr: float | None = None,
    selected_range: tuple[float, float] | None = None,
    trials=None,
    minima: bool = True,
):
    """The chart of ``results`` (a list of :class:`~lrwidget.SweepResult`) as a matplotlib
    ``Figure``, not yet rendered; with ``trials`` (a :class:`~lrwidget.Trials`), a square at
    each tried LR on the chart and a second panel under it: each trial's loss per step.
    ``minima``: draw the article's minima (as the chart does while its box is ticked)."""
    from matplotlib.figure import Figure  # lazily: only pictures need it

    shown = style.series(results, labels)
    if trials is None:
        fig = Figure(figsize=(8, 4), dpi=110, layout="constrained")
        ax = fig.subplots()
    else:
        fig = Figure(figsize=(8, 6.5), dpi=110, layout="constrained")
        ax, steps_ax = fig.subplots(2, 1, height_ratios=[3, 2])
        _draw_tried(ax, trials)
        draw_trials(steps_ax, trials)
    for i, s in enumerate(shown):
        _draw_series(ax, i, s, legend=len(shown) > 1, minima=minima)
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


def _draw_tried(ax, trials):
    """A square at each tried LR near the chart's bottom (``tried``), in the trial's colour."""
    ax.scatter(
        trials.lrs,
        [0.16] * len(trials),  # as the chart's TRIED_Y, in axes fraction
        transform=ax.get_xaxis_transform(),
        marker="s",
        s=55,
        c=[style.trial_color(i) for i in range(len(trials))],
        edgecolors="white",
        zorder=4,
        gid="tried",
    )


def _draw_series(ax, i: int, s: style.Series, legend: bool, minima: bool = True):
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
    if minima and s.minima:
        ax.scatter(
            [m.lr for m in s.minima],
            [m.loss for m in s.minima],
            marker="P",
            s=50,
            color=s.color,
            edgecolors="white",
            zorder=3,
            gid=f"minima-{i}",
        )
        lowest = min(s.minima, key=lambda m: m.loss)
        ax.annotate(
            style.MINIMUM,
            (lowest.lr, lowest.loss),
            textcoords="offset points",
            xytext=(5, 6),
            color=s.color,
            fontsize="small",
            gid=f"minima-label-{i}",
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
    trial dotted), its validation checkpoints as dots, in the trial's colour (the widget's
    trials panel draws the same lines: :mod:`lrwidget.trials_live`)."""
    winner = trials.winner_index
    for i, (label, losses, outcome) in enumerate(
        zip(trials.labels, trials.losses, trials.outcomes, strict=True)
    ):
        if not len(losses):
            continue
        color = style.trial_color(i)  # as its line in the widget and its square on the chart
        steps = range(1, len(losses) + 1)
        width = style.BEST_WIDTH if i == winner else style.TRIAL_WIDTH
        name = f"{label} (winner)" if i == winner else label
        line = ":" if outcome == "diverged" else "-"
        ax.plot(steps, losses, line, color=color, linewidth=width, label=name, gid=f"trial-{i}")
        if trials.val_losses is not None and len(trials.val_losses[i]):
            reached = trials.val_steps[: len(trials.val_losses[i])]
            ax.plot(reached, trials.val_losses[i], "o", color=color, ms=3, gid=f"trial-val-{i}")
    window = style.trials_window(trials.losses, trials.outcomes)
    if window is not None:
        ax.set_ylim(*window)
    ax.set_xlabel("step")
    validated = trials.val_losses is not None
    ax.set_ylabel("loss (line: training, dots: validation)" if validated else "training loss")
    ax.set_title(f"trials at a constant LR, ranked by {trials.score_kind}", fontsize="medium")
    if len(trials):
        ax.legend(loc="upper right", fontsize="small")
    ax.grid(True, which="major", alpha=0.3)


def trials_png(trials) -> bytes:
    """The trials' picture (see :func:`draw_trials`) as PNG bytes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.5), dpi=110, layout="constrained")
    draw_trials(fig.subplots(), trials)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


NOTHING_YET = "nothing to save yet: run a sweep (or show a saved one) first"


class Pictures:
    """The pictures of a view: a file saved on request, Save's file (one per view, chosen on
    its first use) and the PNG a saved notebook keeps.

    Parameters
    ----------
    content : callable
        ``content()``: the keyword arguments of :func:`figure` for what the view shows now,
        read at once; None when there is nothing to draw yet.
    stem : callable
        ``stem()``: the file name Save starts from (``lr_finder_sequential``).
    """

    def __init__(self, content, stem):
        self.content, self.stem = content, stem
        self.path: Path | None = None  # Save's file

    def save(self, path) -> Path:
        """Write the picture to ``path`` (PNG or SVG by its suffix); returns the path."""
        content = self.content()
        if content is None:
            raise ValueError(NOTHING_YET)
        return save(path, **content)

    def png(self) -> bytes | None:
        """The picture as PNG bytes (None: nothing to draw yet)."""
        content = self.content()
        return None if content is None else render(**content)

    def save_next(self) -> Path:
        """Save's click: the same file every time, a free one the first time."""
        self.path = self.path or free_path(self.stem()).resolve()
        return self.save(self.path)
