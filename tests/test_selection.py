"""Where a pick lands: clamped into the swept range, snapped to a candidate on a log scale."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrwidget import selection
from lrwidget.analysis import Candidate

A, B = Candidate(1e-3, 1.0, 10, "careful"), Candidate(1e-2, 0.8, 40, "suggested")


def test_a_click_snaps_to_the_candidate_nearest_on_a_log_scale_not_a_linear_one():
    # 4e-3 is 2.5x below b but 4x above a: nearer b on the log axis the chart draws, though
    # nearer a in plain distance (3e-3 against 6e-3).
    assert selection.nearest([A, B], 4e-3) is B
    assert selection.pick_lr(4e-3, (1e-5, 1.0), [A, B], snap=True) == B.lr
    # ... and 2.5e-3 is nearer a on both.
    assert selection.pick_lr(2.5e-3, (1e-5, 1.0), [A, B], snap=True) == A.lr


def test_without_snapping_a_pick_lands_where_it_was_made_clamped_into_the_range():
    assert selection.pick_lr(4e-3, (1e-5, 1.0), [A, B], snap=False) == pytest.approx(4e-3)
    assert selection.pick_lr(5.0, (1e-5, 1.0), [A, B], snap=False) == 1.0
    assert selection.pick_lr(float("nan"), (1e-5, 1.0), [A, B], snap=True) is None
    assert selection.nearest([], 4e-3) is None


def test_a_range_end_lands_where_it_is_dropped_unless_a_candidate_is_a_few_pixels_away():
    swept = (1e-5, 1.0)
    reach = selection.snap_reach(swept)  # 1.2 % of 5 decades: ~10 px on an 850 px axis
    assert reach == pytest.approx(0.06)
    # Dropped far from both candidates: exactly where they were dropped.
    picked = selection.pick_range(1e-4, 1e-1, swept, [A, B], snap=True, reach=reach)
    assert picked == pytest.approx((1e-4, 1e-1), rel=1e-12)
    # Dropped a few pixels past a candidate: on it.
    picked = selection.pick_range(1e-4, B.lr * 1.05, swept, [A, B], snap=True, reach=reach)
    assert picked == (pytest.approx(1e-4), B.lr)
    assert selection.snap_reach(None) == 0.0


@given(
    drop=st.floats(min_value=1e-9, max_value=1e3, allow_nan=False),
    end=st.sampled_from([0, 1]),
    shown=st.tuples(st.floats(1e-6, 1e-3), st.floats(1e-2, 10.0)),
)
def test_a_dropped_range_end_moves_at_most_the_snap_reach(drop, end, shown):
    swept = (1e-5, 1.0)
    reach = selection.snap_reach(shown)
    ends = [3e-4, 0.5]
    ends[end] = drop
    picked = selection.pick_range(*ends, swept, [A, B], snap=True, ends=(end,), reach=reach)
    if picked is None:  # no width left once clamped
        return
    clamped = selection.clamp(drop, swept)
    landed = picked[0] if clamped < ends[1 - end] else picked[1]
    assert abs(math.log10(landed / clamped)) <= reach + 1e-12


def test_a_pick_on_a_live_candidate_follows_it_and_lands_on_the_final_one():
    live = selection.LivePick()
    live.begin()
    early = [Candidate(1.3e-3, 1.0, 5, "careful"), Candidate(2e-3, 0.9, 8, "suggested")]
    live.picked(2e-3, early)  # a click on the live "suggested" diamond
    assert live.label == "suggested"
    later = [Candidate(4e-3, 0.8, 20, "careful"), Candidate(6e-3, 0.7, 25, "suggested")]
    assert live.follow(later) == 6e-3  # the same candidate, not the nearest one
    final = [Candidate(1.4e-2, 0.5, 60, "careful"), Candidate(2.1e-2, 0.4, 70, "suggested")]
    assert live.end(2e-3, final, str) == 2.1e-2
    assert "final suggested LR 0.021" in live.note and not live.live


def test_an_exact_pick_during_the_sweep_is_kept_and_said_so():
    live = selection.LivePick()
    live.begin()
    live.picked(3.3e-3, [A, B])  # the slider, or snap off: no candidate's LR
    assert live.label is None
    assert live.end(3.3e-3, [B], "{:.1e}".format) is None
    assert live.note == "kept 3.3e-03, picked during the sweep"
    # A pick held on a candidate that the user then moves away from is let go.
    live.begin()
    live.picked(A.lr, [A, B])
    live.moved(5e-3)
    assert live.label is None and live.follow([A, B]) is None
    # Outside a sweep nothing is held and nothing is said.
    done = selection.LivePick()
    done.picked(A.lr, [A, B])
    assert done.end(A.lr, [A, B], str) is None and done.note is None
