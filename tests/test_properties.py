"""Property-based tests of the analysis: any curve gives an answer, never an exception."""

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lrwidget import analysis
from lrwidget.result import SweepResult

losses = st.lists(
    st.one_of(
        st.floats(min_value=-1e6, max_value=1e6),
        st.sampled_from([math.nan, math.inf, -math.inf, 0.0]),
    ),
    min_size=0,
    max_size=60,
)
spacing = st.floats(min_value=1.0, max_value=5.0)
tolerance = st.floats(min_value=0.0, max_value=3.0)


def _lrs(n, lo=1e-6, hi=10.0):
    return analysis.lr_ladder(lo, hi, n, "exp") if n else np.zeros(0)


@settings(max_examples=300, deadline=None)
@given(losses, spacing, tolerance, st.booleans())
def test_minima_are_sorted_inside_the_range_spaced_and_never_an_open_end(
    curve, spacing, tolerance, open_end
):
    lrs = _lrs(len(curve))
    smoothed = analysis.smooth(curve)
    minima = analysis.find_minima(
        lrs, smoothed, tolerance=tolerance, spacing=spacing, open_end=open_end
    )
    for c in minima:
        assert lrs[0] <= c.lr <= lrs[-1] and c.lr == lrs[c.index]
        assert math.isfinite(c.loss) and c.loss == smoothed[c.index] and c.label == "minimum"
        assert not (open_end and c.index == len(curve) - 1)
    for a, b in itertools.pairwise(minima):
        assert b.lr >= spacing * a.lr and b.index > a.index


@settings(max_examples=300, deadline=None)
@given(losses, spacing, tolerance, st.booleans())
def test_candidates_are_points_of_the_descent_spaced_and_clear_of_an_unknown_edge(
    curve, spacing, tolerance, diverged
):
    lrs = _lrs(len(curve))
    smoothed = analysis.smooth(curve)
    cands = analysis.find_candidates(
        lrs, smoothed, diverged=diverged, spacing=spacing, tolerance=tolerance
    )
    shape = analysis.descent(lrs, smoothed, diverged=diverged, tolerance=tolerance)
    if shape is None or not shape.fell:
        assert cands == []
        return
    labels = [c.label for c in cands]
    assert len(set(labels)) == len(labels) and set(labels) <= {"careful", "suggested"}
    for c in cands:
        assert c.lr == lrs[c.index] and c.loss == smoothed[c.index] and math.isfinite(c.loss)
        assert shape.top <= c.index < shape.low  # on the way down, never the lowest point
        if not shape.turned_up:  # the edge is unknown: stay clear of where the data ends
            assert c.lr * analysis.CLEARANCE <= lrs[shape.low] * (1 + 1e-12)
            assert c.index < len(curve) - 1
    by = {c.label: c for c in cands}
    if "careful" in by and "suggested" in by:
        assert by["careful"].lr < by["suggested"].lr
    for a, b in itertools.pairwise(cands):
        assert b.lr >= spacing * a.lr * (1 - 1e-12) and b.index > a.index


@settings(max_examples=200, deadline=None)
@given(losses, st.booleans(), st.sampled_from(["completed", "stopped", "running"]))
def test_range_notes_are_a_list_of_sentences_and_none_while_running(curve, diverged, reason):
    lrs = _lrs(len(curve))
    notes = analysis.range_notes(lrs, analysis.smooth(curve), diverged=diverged, stop_reason=reason)
    assert isinstance(notes, list) and all(isinstance(n, str) and n for n in notes)
    if reason == "running":
        assert notes == []


@settings(max_examples=300, deadline=None)
@given(losses, st.sampled_from(sorted(analysis.SUGGESTERS)))
def test_every_rule_returns_none_or_a_positive_lr_within_reach(curve, rule):
    lrs = _lrs(len(curve))
    lr = analysis.suggest(lrs, analysis.smooth(curve), rule)
    if lr is not None:
        assert math.isfinite(lr) and 0 < lr <= lrs[-1]


@settings(max_examples=200, deadline=None)
@given(losses, st.floats(min_value=0.0, max_value=0.999), st.floats(min_value=1.01, max_value=100))
def test_smoothing_and_divergence_accept_any_curve(curve, beta, factor):
    smoothed = analysis.smooth(curve, beta)
    assert smoothed.shape == (len(curve),)
    n = analysis.useful_length(curve, smoothed, factor)
    assert 0 <= n <= len(curve)
    # Everything before the cut is finite: the cut is at the first non-finite loss at latest.
    assert np.isfinite(smoothed[:n]).all()


@settings(max_examples=100, deadline=None)
@given(losses.filter(len))
def test_a_result_of_any_curve_round_trips_through_json(curve):
    r = SweepResult(lrs=_lrs(len(curve)), losses=curve, stop_reason="completed")
    back = SweepResult.from_dict(r.to_dict())
    np.testing.assert_array_equal(back.losses, np.where(np.isfinite(curve), curve, np.nan))
    assert back.candidates == r.candidates and back.suggestion == r.suggestion
    assert back.minima == r.minima and back.notes == r.notes


@given(st.integers(2, 500), st.floats(1e-9, 1.0), st.floats(1.001, 1e6))
def test_ladders_are_increasing_and_pinned(n, start, ratio):
    end = start * ratio
    for mode in analysis.MODES:
        lrs = analysis.lr_ladder(start, end, n, mode)
        assert lrs[0] == start and lrs[-1] == end and (np.diff(lrs) >= 0).all()


def _minima_by_hand(values):
    """Local minima the slow, obvious way: walk the plateaus one by one."""
    w = [v if math.isfinite(v) else math.inf for v in values]
    found, i = [], 0
    while i < len(w):
        j = i
        while j + 1 < len(w) and w[j + 1] == w[i]:
            j += 1
        left = w[i - 1] if i > 0 else math.inf
        right = w[j + 1] if j + 1 < len(w) else math.inf
        if math.isfinite(w[i]) and w[i] < left and w[i] < right:
            found.append(i)
        i = j + 1
    return found


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([0.0, 1.0, 2.0, 3.0, math.nan, math.inf]), max_size=40))
def test_vectorised_minima_match_the_obvious_walk(curve):
    assert analysis.local_minima(curve).tolist() == _minima_by_hand(curve)


@settings(max_examples=200, deadline=None)
@given(losses, st.floats(min_value=0.0, max_value=0.999))
def test_vectorised_smoothing_matches_the_live_smoother(curve, beta):
    live = analysis.Smoother(beta)
    expected = np.array([live.update(v) for v in curve], dtype=np.float64)
    expected[~np.isfinite(expected)] = np.nan
    np.testing.assert_allclose(analysis.smooth(curve, beta), expected, rtol=1e-9, atol=1e-9)


finite_or_not = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6), st.sampled_from([math.nan, math.inf, -math.inf])
)


@settings(max_examples=500, deadline=None)
@given(finite_or_not, finite_or_not, finite_or_not, st.floats(min_value=1.0, max_value=10.0))
def test_the_live_divergence_check_on_floats_agrees_with_the_array_rule(loss, smooth, best, k):
    as_arrays = analysis.is_diverged(np.array([loss]), np.array([smooth]), np.array([best]), k)
    assert analysis.is_diverged(loss, smooth, best, k) == bool(as_arrays[0])


@settings(max_examples=300, deadline=None)
@given(losses, st.sampled_from([0.0, 0.5, 0.9, 0.98]))
def test_a_reading_smooths_the_head_adaptively_and_keeps_the_one_way_tail(curve, beta):
    lrs = _lrs(len(curve))
    reading = analysis.read_curve(lrs, curve, beta=beta)
    live = analysis.smooth(curve, beta)
    head = reading.useful
    assert head == analysis.useful_length(curve, live)
    np.testing.assert_array_equal(
        reading.smoothed[:head], analysis.smooth_adaptive(curve[:head]).values
    )
    np.testing.assert_array_equal(reading.smoothed[head:], live[head:])


finite_curves = st.lists(st.floats(min_value=-1e3, max_value=1e3), min_size=0, max_size=80)


@settings(max_examples=300, deadline=None)
@given(finite_curves)
def test_adaptive_smoothing_of_a_finite_curve_is_finite_with_nonnegative_errors(curve):
    out = analysis.smooth_adaptive(curve)
    assert len(out.values) == len(out.stderr) == len(out.noise) == len(curve)
    assert np.isfinite(out.values).all() and (out.stderr >= 0).all() and (out.noise >= 0).all()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=3, max_value=300),
    st.floats(min_value=-10, max_value=10),
    st.floats(min_value=-0.1, max_value=0.1),
)
def test_adaptive_smoothing_leaves_a_straight_line_as_it_is(n, start, slope):
    line = start + slope * np.arange(n)
    np.testing.assert_allclose(analysis.smooth_adaptive(line).values, line, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=2, max_value=200),
    st.floats(min_value=-0.5, max_value=0.5),
    st.integers(min_value=1, max_value=40),
)
def test_the_local_slope_of_a_straight_line_is_its_slope(n, slope, half):
    line = 3.0 + slope * np.arange(n)
    np.testing.assert_allclose(analysis.local_slope(line, half), slope, atol=1e-9)
