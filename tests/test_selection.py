"""Where a pick lands: clamped into the swept range, snapped to a candidate on a log scale."""

import pytest

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
