"""A static picture of the chart, drawn with matplotlib: to save as PNG or SVG, and to show the
chart's last state where widgets cannot render (GitHub, nbviewer, a notebook reopened without a
kernel, the command line's offline page).

It draws what the widget draws, from the same results: raw loss faint, smoothed loss bold, the
candidates as diamonds, the suggestion as a gold circle, the pick as a dashed crimson rule and
a picked range as a grey band. No Keras, no widgets.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

FORMATS = ("png", "svg")


def render(
    results,
    labels=None,
    *,
    selected_lr: float | None = None,
    selected_range: tuple[float, float] | None = None,
    fmt: str = "png",
) -> bytes:
    """The chart of ``results`` (a list of :class:`~lrwidget.SweepResult`) as PNG or SVG bytes."""
    from matplotlib.figure import Figure  # lazily: only pictures need it

    from .chart import COLORS, SELECTION_COLOR, SUGGESTION_COLOR, format_lr, y_window

    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    results = list(results)
    labels = list(labels) if labels is not None else [f"sweep {i + 1}" for i in range(len(results))]
    fig = Figure(figsize=(8, 4), dpi=110, layout="constrained")
    ax = fig.subplots()
    windows = []
    for i, r in enumerate(results):
        color = COLORS[i % len(COLORS)]
        head = r.useful
        ax.plot(r.lrs, r.losses, color=color, alpha=0.45, linewidth=1)
        label = labels[i] if len(results) > 1 else None
        ax.plot(r.lrs[:head], r.smoothed[:head], color=color, linewidth=2.5, label=label)
        cands = r.candidates
        if cands:
            ax.scatter(
                [c.lr for c in cands],
                [c.loss for c in cands],
                marker="D",
                s=45,
                color=color,
                edgecolors="white",
                zorder=3,
            )
        if r.suggestion is not None and head:
            y = float(np.interp(np.log(r.suggestion), np.log(r.lrs[:head]), r.smoothed[:head]))
            ax.scatter(
                [r.suggestion], [y], marker="o", s=70, color=SUGGESTION_COLOR, edgecolors="#333333"
            )
            ax.annotate("suggested", (r.suggestion, y), textcoords="offset points", xytext=(6, -12))
        window = y_window(r.smoothed[:head], r.losses[:head])
        if window is not None:
            windows.append(window)
    if selected_range is not None:
        ax.axvspan(*selected_range, color="#7f7f7f", alpha=0.18, linewidth=0)
    if selected_lr is not None:
        ax.axvline(selected_lr, color=SELECTION_COLOR, linestyle="--", linewidth=1.5)
        ax.annotate(
            format_lr(selected_lr),
            (selected_lr, 1.0),
            xycoords=("data", "axes fraction"),
            textcoords="offset points",
            xytext=(4, -12),
            color=SELECTION_COLOR,
        )
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("loss")
    if windows:
        ax.set_ylim(min(w[0] for w in windows), max(w[1] for w in windows))
    if len(results) > 1:
        ax.legend(loc="upper right")
    ax.grid(True, which="major", alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt)
    return buffer.getvalue()


def save(path, results, labels=None, **kwargs) -> Path:
    """Write the picture to ``path``; its suffix (``.png`` or ``.svg``) says which."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(
            f"path {str(path)!r} must end in .png or .svg (the picture's format), "
            f"e.g. 'lr_finder.png'"
        )
    path.write_bytes(render(results, labels, fmt=fmt, **kwargs))
    return path
