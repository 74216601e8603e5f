"""Where a pick lands: clamped into the swept range, snapped to a candidate on a log scale."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from traitlets import HasTraits, TraitError

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


@pytest.mark.parametrize(
    "value", [1e-3, 3, np.float32(0.5), np.int64(2), 1e300], ids=lambda v: type(v).__name__
)
def test_any_real_number_that_is_finite_and_positive_is_a_learning_rate(value):
    assert selection.is_lr(value)
    assert selection.check_lr(value) == float(value)
    assert selection.to_float(value) == float(value)


@pytest.mark.parametrize("value", [0, -1e-3, math.nan, math.inf, -math.inf, 0.0])
def test_zero_negative_and_non_finite_numbers_are_refused_with_the_name_and_the_value(value):
    assert not selection.is_lr(value)
    with pytest.raises(ValueError) as raised:
        selection.check_lr(value, "start_lr")
    assert str(raised.value) == f"start_lr must be a finite number > 0, got {value!r}"


@pytest.mark.parametrize("value", [True, np.bool_(True), "1e-3", None, [1e-3], 1j])
def test_what_is_no_real_number_is_a_type_error_naming_the_type(value):
    assert math.isnan(selection.to_float(value)) and not selection.is_lr(value)
    with pytest.raises(TypeError) as raised:
        selection.check_lr(value)
    assert str(raised.value) == f"the learning rate must be a number, got {type(value).__name__}"


def test_a_number_too_large_for_a_float_is_no_learning_rate():
    assert math.isnan(selection.to_float(10**400)) and not selection.is_lr(10**400)


class Picks(HasTraits):
    lr = selection.LearningRate(1e-3, help="an LR")
    span = selection.LearningRateRange(None, allow_none=True, help="a range")


def test_the_learning_rate_trait_stores_floats_and_refuses_bools_zero_and_nan_by_name():
    picks = Picks()
    picks.lr = np.float32(0.25)
    assert picks.lr == 0.25 and type(picks.lr) is float
    picks.lr = 2
    assert picks.lr == 2.0 and type(picks.lr) is float
    with pytest.raises(TraitError, match=r"^lr must be a number, not the bool True$"):
        picks.lr = True
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(TraitError, match=r"^lr must be a finite learning rate > 0, got"):
            picks.lr = bad
    assert picks.lr == 2.0  # a refused value changes nothing


def test_the_range_trait_takes_two_increasing_learning_rates_as_a_tuple_of_floats():
    picks = Picks()
    picks.span = [1e-4, np.float64(1e-2)]
    assert picks.span == (1e-4, 1e-2) and all(type(v) is float for v in picks.span)
    for bad in [(1e-2, 1e-4), (1e-3, 1e-3), (0.0, 1.0), (1e-3, math.inf), (True, 2.0)]:
        with pytest.raises(TraitError, match=r"^span must be \(low, high\) with 0 < low < high"):
            picks.span = bad
    for bad in [(1e-3,), (1e-3, 1e-2, 1e-1), 1e-3, "ab"]:
        with pytest.raises(TraitError) as raised:
            picks.span = bad
        assert str(raised.value).startswith(
            "The 'span' trait of a Picks instance expected a (low, high) pair of learning rates"
            f" with 0 < low < high, not the {type(bad).__name__} {bad!r}"
        )
    assert picks.span == (1e-4, 1e-2)
    picks.span = None
    assert picks.span is None


def test_clamping_keeps_an_lr_inside_the_swept_range_and_leaves_it_alone_without_one():
    assert selection.clamp(5.0, (1e-5, 1.0)) == 1.0
    assert selection.clamp(1e-7, (1e-5, 1.0)) == 1e-5
    assert selection.clamp(1e-3, (1e-5, 1.0)) == 1e-3
    assert selection.clamp(5.0, None) == 5.0


def test_a_pick_before_any_range_or_of_no_lr_is_refused():
    assert selection.pick_lr(1e-3, None, [A, B], snap=True) is None
    assert selection.pick_lr(True, (1e-5, 1.0), [A, B], snap=False) is None
    assert selection.pick_lr(-1.0, (1e-5, 1.0), [A, B], snap=False) is None
    assert selection.pick_lr(4e-3, (1e-5, 1.0), [], snap=True) == pytest.approx(4e-3)
    assert selection.nearest([A, B], 0.0) is None


def test_a_range_pick_is_sorted_clamped_and_snaps_its_high_end_first():
    swept = (1e-5, 1.0)
    assert selection.pick_range(1e-1, 1e-4, swept, [], snap=True) == (1e-4, 1e-1)
    assert selection.pick_range(1e-7, 5.0, swept, [], snap=False) == swept
    # Both ends near b: the high end takes it, and the low end then may not (no width left).
    assert selection.pick_range(9e-3, 1.1e-2, swept, [B], snap=True) == (9e-3, B.lr)
    # Only the end named snaps.
    assert selection.pick_range(1.1e-3, 1.1e-2, swept, [A, B], True, ends=(0,)) == (A.lr, 1.1e-2)
    assert selection.pick_range(1.1e-3, 1.1e-2, swept, [A, B], True) == (A.lr, B.lr)
    assert selection.pick_range(1.1e-3, 1.1e-2, swept, [A, B], False) == (1.1e-3, 1.1e-2)
    # A candidate exactly at the reach still takes the end.
    reach = abs(math.log10(B.lr / 1.1e-2))
    assert selection.pick_range(1e-4, 1.1e-2, swept, [B], True, reach=reach) == (1e-4, B.lr)
    assert selection.pick_range(1e-4, 1.1e-2, swept, [B], True, reach=reach / 2)[1] == 1.1e-2


def test_a_range_pick_with_no_width_or_no_lr_or_no_sweep_is_refused():
    swept = (1e-5, 1.0)
    assert selection.pick_range(2.0, 3.0, swept, [], snap=False) is None  # both clamp to 1.0
    assert selection.pick_range(1e-3, 1e-3, swept, [], snap=False) is None
    assert selection.pick_range(math.nan, 1e-3, swept, [], snap=False) is None
    assert selection.pick_range(1e-4, False, swept, [], snap=False) is None
    assert selection.pick_range(1e-4, -1.0, swept, [], snap=False) is None
    assert selection.pick_range(-1.0, 1e-4, swept, [], snap=False) is None
    assert selection.pick_range(1e-4, 1e-3, None, [], snap=False) is None


def test_the_snap_reach_is_a_share_of_the_axis_shown_and_none_without_one():
    assert selection.snap_reach((1e-6, 1e2)) == pytest.approx(selection.RANGE_SNAP_SHARE * 8)
    assert selection.snap_reach((1e-3, 1e-2), share=0.5) == pytest.approx(0.5)
    for shown in [(1.0, 1.0), (1.0, 1e-3), (0.0, 1.0), (math.nan, 1.0), (1e-3, math.inf)]:
        assert selection.snap_reach(shown) == 0.0


def test_moving_a_range_end_clamps_it_and_refuses_what_leaves_no_width():
    swept = (1e-5, 1.0)
    assert selection.move_end((1e-4, 1e-2), 0, 1e-3, swept) == (1e-3, 1e-2)
    assert selection.move_end((1e-4, 1e-2), 1, 5.0, swept) == (1e-4, 1.0)
    assert selection.move_end((1e-4, 1e-2), 0, 1e-7, swept) == (1e-5, 1e-2)
    assert selection.move_end((1e-4, 1e-2), 0, 2e-2, swept) is None  # crosses the other end
    assert selection.move_end((1e-4, 1e-2), 1, 1e-4, swept) is None  # no width
    assert selection.move_end(None, 0, 1e-3, swept) is None
    assert selection.move_end((1e-4, 1e-2), 2, 1e-3, swept) is None
    assert selection.move_end((1e-4, 1e-2), 0, math.nan, swept) is None


def test_a_new_range_spans_the_decade_below_the_selection():
    swept = (1e-5, 1.0)
    assert selection.default_range(swept, 1e-2) == pytest.approx((1e-3, 1e-2))
    # Near the bottom of the swept range: clamped, still with a width.
    assert selection.default_range(swept, 3e-5) == pytest.approx((1e-5, 3e-5))
    # Nothing selected: the decade below the middle of the range (log scale).
    assert selection.default_range(swept, None) == pytest.approx((10**-3.5, 10**-2.5))
    # A selection at the very bottom leaves no width: the whole swept range.
    assert selection.default_range(swept, 1e-5) == swept
    assert selection.default_range(None, 1e-2) is None
    assert selection.default_range((1e-6, 1e-2), None) == pytest.approx((1e-5, 1e-4))
    assert selection.default_range(swept, 5.0) == pytest.approx((0.5, 1.0))  # clamped too


def test_a_held_pick_follows_the_nearest_candidate_when_its_label_is_gone():
    live = selection.LivePick()
    live.begin()
    unlabelled = [Candidate(2e-3, 0.9, 8), Candidate(9e-3, 0.8, 9)]
    live.picked(2e-3, unlabelled)
    assert live.label == "candidate" and live.lr == 2e-3 and live.note is None
    # It follows the unlabelled candidate, though a labelled one is nearer.
    assert live.follow([Candidate(2.1e-3, 0.9, 8, "careful"), Candidate(9e-3, 0.8, 9)]) == 9e-3
    assert live.follow([Candidate(3e-3, 0.9, 8), Candidate(3e-2, 0.8, 9)]) == 3e-3
    assert live.follow([A, B]) == A.lr  # no unlabelled one left: the nearest of all
    assert live.follow([]) is None
    live.moved(2e-3)  # the selection is still where the pick was: still held
    assert live.label == "candidate" and live.note is None
    live.end(None, [A], str)  # nothing selected at the end: nothing to say
    assert live.note is None
    assert live.label is None and live.lr is None and not live.live
