"""The live chart and the static picture show the same sweep the same way: one style, one set
of points (lrwidget.style), drawn by bqplot in one and matplotlib in the other."""

from __future__ import annotations

import numpy as np
import pytest

from lrwidget import image, style
from lrwidget.chart import show
from lrwidget.result import AnalysisSettings, SweepResult


def blowing_up(seed: int, batch_size: int) -> SweepResult:
    """A curve with a valley and a blow-up: the analysis reads it only up to divergence."""
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-5, 1.0, 400)
    t = np.log10(lrs)
    loss = 2.3 - 1.3 / (1 + np.exp(-4 * (t + 2.8)))
    for centre in (-2.0, -1.4, -0.9):
        loss -= 0.12 * np.exp(-((t - centre) ** 2) / 0.02)
    loss += np.where(t > -0.6, 60 * (t + 0.6) ** 2, 0.0) + rng.normal(0, 0.01, 400)
    settings = AnalysisSettings(beta=0.9)
    return SweepResult(lrs=lrs, losses=loss, settings=settings, meta={"batch_size": batch_size})


def artist(ax, gid):
    found = [a for a in [*ax.lines, *ax.collections, *ax.texts] if a.get_gid() == gid]
    assert len(found) == 1, gid
    return found[0]


def test_the_chart_and_the_picture_of_one_result_show_the_same(comms):
    results = [blowing_up(1, 32), blowing_up(2, 128)]
    assert all(r.useful < len(r) for r in results)  # a part past divergence to cut or not
    chart = show(results)  # default labels on both sides
    chart.pick(results[0].candidates[0].lr)
    ax = image.figure(results, selected_lr=chart.selected_lr).axes[0]
    marks = chart.marks

    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [m.labels[0] for m in marks.smoothed] == ["batch 32", "batch 128"]
    for i, r in enumerate(results):
        raw, smoothed = artist(ax, f"raw-{i}"), artist(ax, f"smoothed-{i}")
        for line, mark in ((raw, marks.raw[i]), (smoothed, marks.smoothed[i])):
            assert np.array_equal(line.get_xdata(), mark.x)
            drawn = np.asarray(line.get_ydata(), dtype=np.float64)
            # The same points, cut (NaN) at the same places; the chart sends float32.
            assert np.array_equal(np.isfinite(drawn), np.isfinite(mark.y))
            assert np.allclose(drawn, mark.y, rtol=1e-6, equal_nan=True)
            assert line.get_color() == mark.colors[0] == style.series_color(i)
        assert raw.get_alpha() == marks.raw[i].opacities[0] == style.RAW_OPACITY
        assert raw.get_linewidth() == marks.raw[i].stroke_width
        assert smoothed.get_linewidth() == marks.smoothed[i].stroke_width

        lr, loss = artist(ax, f"suggestion-{i}").get_offsets()[0]
        assert (lr, loss) == pytest.approx((marks.suggestions.x[i], marks.suggestions.y[i]))
        label = artist(ax, f"suggestion-label-{i}").get_text()
        # These two lie close: one label for both, written at the first.
        assert label == marks.suggestions.names[i] == ["suggested (batch 32, batch 128)", ""][i]

        diamonds = np.asarray(artist(ax, f"candidates-{i}").get_offsets())
        mine = np.array([c == style.series_color(i) for c in marks.candidates.colors])
        points = np.column_stack([marks.candidates.x, marks.candidates.y])[mine]
        assert len(points) == len(r.candidates) and np.allclose(diamonds, points)

    assert ax.get_ylim() == pytest.approx((chart.y_scale.min, chart.y_scale.max))
    assert list(artist(ax, "rule").get_xdata()) == list(marks.rule.x)
    assert style.format_lr(chart.selected_lr) in [t.get_text() for t in ax.texts]


def test_the_status_line_names_the_rule_the_suggestion_was_read_by():
    r = blowing_up(0, 32)
    steepest = r.with_settings(rule="steepest")
    for result, rule in ((r, "bottom/3"), (steepest, "steepest")):
        parts = style.status_parts([result], ["batch 32"], 2, result.suggestion)
        line = [p for p in parts if p.startswith("suggestion ")]
        assert line == [f"suggestion {style.format_lr(result.suggestion)} ({rule})"]


def test_the_picture_shows_the_articles_minima_as_the_chart_does_unless_hidden(comms):
    results = [blowing_up(1, 32), blowing_up(2, 128)]
    chart = show(results)
    marks = chart.marks.minima
    ax = image.figure(results, minima=chart.show_minima).axes[0]
    for i, r in enumerate(results):
        assert r.minima  # the article's rule finds some on these curves
        crosses = np.asarray(artist(ax, f"minima-{i}").get_offsets())
        mine = np.array([c == style.series_color(i) for c in marks.colors])
        points = np.column_stack([marks.x, marks.y])[mine]
        assert np.allclose(crosses, [(m.lr, m.loss) for m in sorted(r.minima, key=lambda m: m.lr)])
        assert np.allclose(crosses, points)
        assert artist(ax, f"minima-label-{i}").get_text() == style.MINIMUM
    chart.show_minima = False  # the box under the chart
    assert len(chart.marks.minima.x) == 0
    hidden = image.figure(results, minima=chart._picture()["minima"]).axes[0]
    assert not [a for a in hidden.collections if str(a.get_gid()).startswith("minima")]
