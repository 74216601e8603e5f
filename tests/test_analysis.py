"""The pure-numpy analysis: ladders, smoothing, divergence, candidate minima and suggestions."""

import itertools
import warnings

import numpy as np
import pytest

from lrwidget import analysis


def test_exp_ladder_hits_both_ends_exactly_and_is_geometric():
    lrs = analysis.lr_ladder(1e-7, 10.0, 137, "exp")
    assert lrs[0] == 1e-7 and lrs[-1] == 10.0 and len(lrs) == 137
    ratios = lrs[1:] / lrs[:-1]
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)


def test_linear_ladder_has_constant_increments():
    lrs = analysis.lr_ladder(0.001, 0.1, 50, "linear")
    assert lrs[0] == 0.001 and lrs[-1] == 0.1
    np.testing.assert_allclose(np.diff(lrs), (0.1 - 0.001) / 49, rtol=1e-9)


def test_ladder_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        analysis.lr_ladder(1e-3, 1.0, 10, "cosine")


def test_smoothing_is_debiased_and_matches_the_incremental_smoother():
    # A constant curve stays constant only if the EMA is debiased (no pull towards zero).
    np.testing.assert_allclose(analysis.smooth(np.full(20, 3.0)), 3.0)
    rng = np.random.default_rng(1)
    losses = rng.uniform(1, 2, 3000)
    for beta in (0.0, 0.3, 0.9, 0.98, 0.999):
        s = analysis.Smoother(beta)
        expected = [s.update(v) for v in losses]
        np.testing.assert_allclose(analysis.smooth(losses, beta), expected, rtol=1e-10)
    # ... and it really averages: the smoothed curve is much less noisy than the raw one.
    assert np.std(np.diff(analysis.smooth(losses))) < 0.2 * np.std(np.diff(losses))


def test_smoothing_turns_everything_after_a_non_finite_loss_into_nan():
    out = analysis.smooth([1.0, 1.0, np.inf, 1.0])
    assert np.isfinite(out[:2]).all() and np.isnan(out[2:]).all()


def test_divergence_fires_at_factor_times_the_best_smoothed_loss():
    losses = np.array([4.0, 2.0, 1.0, 1.0, 3.9, 4.5, 9.0])
    smoothed = losses.copy()  # beta=0: no smoothing, so the threshold is easy to read
    assert analysis.divergence_index(losses, smoothed, factor=4.0) == 5
    assert analysis.divergence_index(losses, smoothed, factor=10.0) is None
    assert analysis.divergence_index([1.0, np.nan], [1.0, np.nan]) == 1


def test_divergence_with_negative_losses_uses_the_rise_above_the_best():
    assert not analysis.is_diverged(-1.5, -1.5, -2.0, 4.0)
    assert analysis.is_diverged(7.0, 7.0, -2.0, 4.0)


def test_local_minima_count_plateaus_once_and_a_still_falling_end():
    v = [5, 3, 3, 3, 4, 2, 6, 1]
    assert analysis.local_minima(v).tolist() == [1, 5, 7]
    assert analysis.local_minima([np.nan, 1.0, np.nan]).tolist() == [1]


def _valley(n=400):
    """A textbook range-test curve: flat, a bumpy descent to a valley at lr~0.1, then a blow-up."""
    lrs = np.logspace(-6, 1, n)
    x = np.log10(lrs)
    loss = 2.3 - 1.8 / (1 + np.exp(-3 * (x + 3))) + 0.05 * np.sin(8 * x) + np.exp(3 * (x - 0.0))
    return lrs, loss


def test_minima_are_the_articles_minima_near_the_best_and_at_least_spacing_apart():
    lrs, loss = _valley()
    minima = analysis.find_minima(lrs, loss, tolerance=0.25, spacing=1.2)
    assert minima, "a curve with a valley has minima"
    best = loss.min()
    limit = best + 0.25 * (loss[: loss.argmin() + 1].max() - best)
    for c in minima:
        assert lrs[c.index] == c.lr and loss[c.index] == c.loss and c.label == "minimum"
        assert c.loss <= limit
        # a true local minimum of the curve
        assert (
            c.loss <= loss[max(c.index - 1, 0)] and c.loss <= loss[min(c.index + 1, len(loss) - 1)]
        )
    gaps = [b.lr / a.lr for a, b in itertools.pairwise(minima)]
    assert all(g >= 1.2 for g in gaps)
    assert any(c.loss == best for c in minima)  # the global minimum survives here
    # The wiggles on the flat start (loss ~2.3) are minima too, but far above the best.
    assert all(c.lr > 1e-4 for c in minima)


def test_spacing_walks_from_low_to_high_and_keeps_the_first_of_a_cluster():
    lrs = np.array([1.0, 1.05, 1.1, 1.3, 1.35, 2.0])
    loss = np.array([1.0, 0.5, 0.9, 0.5, 0.9, 0.5])  # minima at 1.05, 1.3, 2.0
    got = [c.lr for c in analysis.find_minima(lrs, loss, tolerance=1.0, spacing=1.2)]
    assert got == [1.05, 1.3, 2.0]
    got = [c.lr for c in analysis.find_minima(lrs, loss, tolerance=1.0, spacing=1.5)]
    assert got == [1.05, 2.0]


def test_the_end_of_a_range_that_ended_while_the_loss_still_fell_is_never_a_minimum():
    lrs = np.logspace(-5, 1, 100)
    x = np.log10(lrs)
    loss = 2.3 - 0.2 * (x + 5) + 0.05 * np.sin(6 * x)  # falls, with dips on the way...
    loss[-10:] = loss[-11] - 0.05 * np.arange(1, 11)  # ...and without any in its last steps
    open_ended = analysis.find_minima(lrs, loss, tolerance=1.0, open_end=True)
    closed = analysis.find_minima(lrs, loss, tolerance=1.0, open_end=False)
    assert closed[-1].index == len(lrs) - 1  # the article's rule takes the end...
    assert all(c.index < len(lrs) - 1 for c in open_ended)  # ...the open end is left out
    assert [c for c in closed if c.index < len(lrs) - 1] == open_ended
    assert len(open_ended) >= 2  # the dips on the way still count


def test_candidate_arguments_are_validated():
    for find in (analysis.find_minima, analysis.find_candidates):
        with pytest.raises(ValueError, match="spacing"):
            find([1.0], [1.0], spacing=0.5)
    with pytest.raises(ValueError, match="tolerance"):
        analysis.find_minima([1.0], [1.0], tolerance=-1)
    for name in ("careful", "clearance"):
        with pytest.raises(ValueError, match=name):
            analysis.find_candidates([1.0], [1.0], **{name: 1.0})


def _descent_curve(n=200, steep_at=-3.0, low_at=-1.0, lo=-6.0, hi=1.0):
    """Flat at 2.3, a descent steepest at 10**steep_at, lowest near 10**low_at, then a rise."""
    lrs = np.logspace(lo, hi, n)
    x = np.log10(lrs)
    fall = 1.5 / (1 + np.exp(-3 * (x - steep_at)))
    return lrs, 2.3 - fall + 2.0 * np.maximum(x - low_at, 0) ** 2


def test_candidates_are_the_suggestion_and_a_careful_point_below_it():
    lrs, loss = _descent_curve()
    cands = analysis.find_candidates(lrs, loss, diverged=True)
    assert [c.label for c in cands] == ["careful", "suggested"]
    careful, suggested = cands
    assert suggested.lr == analysis.suggest(lrs, loss)  # the default rule, a point of the sweep
    step = lrs[1] / lrs[0]  # the ladder's factor: candidates snap to a point of the sweep
    assert suggested.lr / careful.lr == pytest.approx(analysis.CAREFUL, rel=step - 1)
    low = int(np.argmin(loss))
    for c in cands:
        assert c.lr == lrs[c.index] and c.loss == loss[c.index]
        assert c.index < low and c.lr * analysis.CLEARANCE <= lrs[low]
    # None of them is a minimum: the minima sit where the loss bottoms out.
    assert all(m.lr > 3 * suggested.lr for m in analysis.find_minima(lrs, loss))


def test_the_suggestion_is_where_the_curve_reaches_its_bottom_divided_by_three():
    lrs, loss = _descent_curve()
    low = int(np.argmin(loss))
    target = loss[low] + analysis.BOTTOM * (loss[: low + 1].max() - loss[low])
    first = int(np.argmax(loss <= target))  # the bottom starts here
    step = lrs[1] / lrs[0]  # the suggestion is the point of the sweep nearest to it
    assert analysis.suggest_bottom(lrs, loss) == pytest.approx(
        lrs[first] / analysis.BACKOFF, rel=step - 1
    )
    # A slow fall over decades (fine-tuning) is read near its end, not where it is steepest.
    x = np.log10(lrs)
    slow = 2.0 - 0.3 * np.clip(x + 6, 0, 5) + 3.0 * np.maximum(x + 0.5, 0) ** 2
    bottom_lr = analysis.suggest_bottom(lrs, slow) * analysis.BACKOFF
    assert 10**-1.6 < bottom_lr < 10**-0.9
    assert analysis.suggest_steepest(lrs, slow) < bottom_lr / 10


def test_an_abrupt_drop_gets_its_suggestion_on_the_flat_stretch_before_it():
    lrs = np.logspace(-6, 1, 300)
    x = np.log10(lrs)
    loss = 2.3 - 2 * np.clip((x + 2.2) / 0.2, 0, 1) + 5 * np.maximum(x + 2, 0)  # 0.2 decades
    cands = analysis.find_candidates(lrs, loss, diverged=True)
    assert [c.label for c in cands] == ["careful", "suggested"]
    assert cands[1].lr == analysis.suggest(lrs, loss) < 10**-2.2  # before the drop begins


def test_a_curve_that_never_fell_has_no_candidates_and_a_note_saying_so():
    rng = np.random.default_rng(0)
    lrs = np.logspace(-7, 1, 100)
    x = np.log10(lrs)
    loss = 2.30 + 0.002 * rng.standard_normal(100) + 0.1 * np.maximum(x + 1, 0)  # flat, then up
    smoothed = analysis.smooth_adaptive(loss).values
    assert analysis.find_minima(lrs, smoothed)  # the article's rule still finds dips
    assert analysis.find_candidates(lrs, smoothed) == []
    notes = analysis.range_notes(lrs, smoothed)
    assert len(notes) == 1 and "never fell" in notes[0] and "num_steps" in notes[0]


def test_a_range_that_ended_while_the_loss_still_fell_offers_nothing_near_its_end():
    lrs, loss = _descent_curve(steep_at=-1.0, low_at=5.0, lo=-7.0, hi=1.0)  # no turn by 10
    cands = analysis.find_candidates(lrs, loss)
    assert cands and all(c.lr * analysis.CLEARANCE <= lrs[-1] for c in cands)
    notes = analysis.range_notes(lrs, loss, stop_reason="completed")
    assert len(notes) == 1
    assert "end_lr=10" in notes[0] and "too early" in notes[0] and "end_lr=100" in notes[0]
    assert "stopped" in analysis.range_notes(lrs, loss, stop_reason="stopped")[0]
    assert analysis.range_notes(lrs, loss, stop_reason="running") == []  # not done yet
    # The same curve, diverging right after: it turned up, so the range was wide enough.
    assert analysis.range_notes(lrs, loss, diverged=True) == []


def test_a_full_descent_gets_no_note():
    lrs, loss = _descent_curve()
    assert analysis.range_notes(lrs, loss) == []  # completed, and it turned up by itself


def test_the_suggestion_ignores_a_blip_on_the_flat_start():
    lrs, loss = _descent_curve(n=100, lo=-7.0)
    clean, clean_steepest = analysis.suggest(lrs, loss), analysis.suggest_steepest(lrs, loss)
    loss = loss.copy()
    loss[0] += 0.15  # one high first point: the steepest "fall" of all, between two points
    assert analysis.suggest(lrs, loss) == pytest.approx(clean, rel=0.25)
    # The slope is read over a tenth of the curve, so the blip does not fool it either.
    assert analysis.suggest_steepest(lrs, loss) == pytest.approx(clean_steepest, rel=0.25)
    suggested = [c for c in analysis.find_candidates(lrs, loss) if c.label == "suggested"]
    assert suggested[0].lr == pytest.approx(clean, rel=0.25)


def test_spacing_drops_candidates_closer_than_it_keeping_the_suggested_one():
    lrs, loss = _descent_curve()
    cands = analysis.find_candidates(lrs, loss, diverged=True, spacing=2.0)
    assert [c.label for c in cands] == ["suggested"]


@pytest.mark.parametrize("rule", sorted(analysis.SUGGESTERS))
def test_every_rule_suggests_an_lr_inside_the_descent(rule):
    lrs, loss = _valley()
    lr = analysis.suggest(lrs, loss, rule)
    assert lr is not None
    # The descent runs from ~1e-4 to the valley at ~1e-1 on this curve.
    assert 1e-5 < lr < 0.5


def test_steepest_finds_the_fastest_fall_per_decade():
    lrs = np.logspace(-5, 0, 101)
    x = np.log10(lrs)
    loss = 1 / (1 + np.exp(4 * (x + 2.5)))  # steepest at lr = 10**-2.5
    assert analysis.suggest_steepest(lrs, loss) == pytest.approx(10**-2.5, rel=0.05)


@pytest.mark.parametrize("curve", [[], [1.0], [np.nan, np.nan], [1.0, 1.0, 1.0], [np.inf] * 5])
def test_degenerate_curves_give_no_error(curve):
    lrs = np.logspace(-3, 0, len(curve))
    for rule in analysis.SUGGESTERS:
        analysis.suggest(lrs, curve, rule)
    assert len(analysis.find_minima(lrs, curve)) <= 1
    assert analysis.find_candidates(lrs, curve) == []
    assert isinstance(analysis.range_notes(lrs, curve), list)


def test_the_read_curve_finds_the_minimum_where_the_one_way_ema_lags_behind():
    rng = np.random.default_rng(0)
    lrs = np.logspace(-5, 1, 300)
    x = np.log10(lrs)
    true = 2.3 - 1.5 / (1 + np.exp(-3 * (x + 2))) + np.exp(2.5 * (x - 0.3))
    noisy = true + rng.normal(0, 0.15, len(x))
    at = x[np.argmin(true)]
    lag = x[np.argmin(analysis.smooth(noisy))] - at
    reading = analysis.read_curve(lrs, noisy)
    read = x[np.argmin(reading.smoothed[: reading.useful])] - at
    assert lag > 0.5  # the one-way EMA's minimum sits over half a decade too far right
    assert abs(read) < 0.2


def test_read_curve_cuts_at_divergence_and_reads_the_part_before():
    lrs = np.logspace(-4, 1, 200)
    x = np.log10(lrs)
    losses = 2.3 - 1.5 / (1 + np.exp(-4 * (x + 2))) + np.where(x > 0, np.exp(6 * x) - 1, 0)
    reading = analysis.read_curve(lrs, losses)
    live = analysis.smooth(losses)
    assert reading.useful == analysis.divergence_index(losses, live)
    assert reading.useful < len(lrs)
    np.testing.assert_array_equal(reading.smoothed[reading.useful :], live[reading.useful :])
    assert reading.candidates and reading.minima
    assert all(c.index < reading.useful for c in [*reading.candidates, *reading.minima])
    assert reading.notes == []  # it diverged: the curve turned up
    assert reading.suggestion is not None and reading.suggestion < lrs[reading.useful]


def test_effective_beta_caps_the_averaging_window_at_a_tenth_of_the_sweep():
    assert analysis.effective_beta(0.98, 100) == pytest.approx(0.9)
    assert analysis.effective_beta(0.98, 300) == pytest.approx(1 - 1 / 30)
    assert analysis.effective_beta(0.98, 5000) == 0.98
    assert analysis.effective_beta(0.5, 100) == 0.5  # a lighter choice is kept
    assert analysis.effective_beta(0.98, 3) == 0.0  # no averaging at all for a stub


def test_minima_are_spaced_from_the_previous_kept_one():
    lrs = np.array([1.0, 1.05, 1.1, 1.3, 1.4, 1.5, 1.6])
    smoothed = np.array([1.0, 0.5, 0.9, 0.5, 0.9, 0.5, 0.9])  # minima at 1.05, 1.3 and 1.5
    got = [c.lr for c in analysis.find_minima(lrs, smoothed, tolerance=1.0, spacing=1.2)]
    # 1.5 is 1.43x the first kept minimum but only 1.15x the one kept before it: dropped.
    assert got == [1.05, 1.3]


def test_minima_exactly_spacing_apart_are_both_kept():
    lrs = np.array([0.5, 1.0, 1.1, 1.2, 1.3])
    smoothed = np.array([1.0, 0.5, 0.9, 0.5, 0.9])  # minima at 1.0 and 1.2: ratio 1.2
    got = [c.lr for c in analysis.find_minima(lrs, smoothed, tolerance=1.0, spacing=1.2)]
    assert got == [1.0, 1.2]  # "at least 20 % larger": 1.2 itself counts
    got = [c.lr for c in analysis.find_minima(lrs, smoothed, tolerance=1.0, spacing=1.21)]
    assert got == [1.0]


def test_minima_far_above_the_best_are_dropped_by_the_tolerance_of_the_descent():
    lrs = np.geomspace(1e-4, 1.0, 7)
    # Highest point before the best: 3.0; best 1.0; a tolerance of 0.25 allows up to 1.5.
    smoothed = np.array([3.0, 1.4, 2.0, 1.6, 2.0, 1.0, 2.0])
    minima = analysis.find_minima(lrs, smoothed, tolerance=0.25, spacing=1.2)
    assert [c.index for c in minima] == [1, 5]  # 1.4 is within, 1.6 is not
    assert [c.index for c in analysis.find_minima(lrs, smoothed, tolerance=0.3)] == [1, 3, 5]
    assert [c.index for c in analysis.find_minima(lrs, smoothed, tolerance=0.0)] == [5]


def test_local_minima_of_an_empty_or_one_point_curve():
    empty = analysis.local_minima([])
    assert empty.shape == (0,) and empty.dtype.kind == "i"
    assert analysis.local_minima([1.0]).tolist() == [0]  # nothing either side is higher


def test_local_minima_count_a_start_that_rises_away():
    assert analysis.local_minima([1.0, 2.0, 3.0]).tolist() == [0]
    assert analysis.local_minima([1.0, 1.0, 2.0]).tolist() == [0]  # a plateau at the start
    assert analysis.local_minima([3.0, 2.0, 2.0]).tolist() == [1]  # ... and at the end


def test_find_minima_defaults_are_a_quarter_of_the_descent_and_20_percent_apart():
    lrs = np.array([1.0, 1.05, 1.1, 1.3, 1.4])
    smoothed = np.array([3.0, 1.0, 2.0, 1.4, 2.0])  # 1.4 is within a quarter of the descent
    assert [c.lr for c in analysis.find_minima(lrs, smoothed)] == [1.05, 1.3]
    smoothed[3] = 1.6  # no longer
    assert [c.lr for c in analysis.find_minima(lrs, smoothed)] == [1.05]


def test_the_descent_for_the_tolerance_is_measured_up_to_the_lowest_point_only():
    lrs = np.geomspace(1e-3, 1.0, 5)
    smoothed = np.array([2.0, 1.5, 1.8, 1.0, 5.0])  # a blow-up right after the best
    # The descent is 2.0 - 1.0: 1.5 is half of it above the best, outside a tolerance of 0.25.
    assert [c.index for c in analysis.find_minima(lrs, smoothed, tolerance=0.25)] == [3]


# --- Pinned by mutation testing (docs/mutation.md) ---------------------------------------------


def test_a_noisier_bottom_is_never_read_as_less_uncertain():
    lrs = np.geomspace(1e-4, 1.0, 9)
    smoothed = np.array([3.0, 2.9, 2.6, 2.0, 1.6, 1.3, 1.1, 1.0, 1.4])  # level: 1.0 + 0.2
    spans = []
    for se in (0.0, 0.01, 0.05, 0.1, 0.25, 1.0):
        early, late = analysis.bottom_uncertainty(lrs, smoothed, np.full(9, se))
        spans.append(late / early)
    assert spans == sorted(spans), spans
    # Two standard errors above itself the curve never comes within 10 % of its fall: the
    # bottom may start as late as the lowest point.
    assert analysis.bottom_uncertainty(lrs, smoothed, np.full(9, 0.25)) == (lrs[4], lrs[7])


TOO_EARLY = (
    "the loss had not turned up by end_lr=0.1: the range ended too early, so the upper edge of "
    "the usable LRs is unknown; pass a larger end_lr, e.g. end_lr=1"
)


def test_range_notes_say_in_whole_what_to_change_for_a_range_that_ended_too_early():
    lrs = np.geomspace(1e-4, 1e-1, 4)
    falling = [3.0, 2.0, 1.5, 1.0]
    assert analysis.range_notes(lrs, falling) == [TOO_EARLY]  # "completed" is the default
    for reason, why in [("stopped", "was stopped"), ("data_exhausted", "ran out of data")] + [
        ("failed", "ended")
    ]:
        assert analysis.range_notes(lrs, falling, stop_reason=reason) == [
            f"the sweep {why} at lr 0.1 before the loss turned up, so the upper edge of the "
            "usable LRs is unknown; run the whole range, or a larger end_lr"
        ]
    # Three points are enough to read; the end is the last LR, written with 3 digits.
    assert analysis.range_notes(np.geomspace(1e-3, 0.0123456, 3), [3.0, 2.0, 1.0]) == [
        "the loss had not turned up by end_lr=0.0123: the range ended too early, so the upper "
        "edge of the usable LRs is unknown; pass a larger end_lr, e.g. end_lr=0.123"
    ]
    assert analysis.range_notes(lrs[:2], [3.0, 1.0]) == []


def test_range_notes_read_a_rise_of_a_quarter_of_the_descent_as_turned_up():
    lrs = np.geomspace(1e-4, 1e-1, 4)
    rose = [3.0, 1.0, 1.5, 1.6]  # 0.6 back up after a fall of 2.0: over a quarter
    assert analysis.range_notes(lrs, rose) == []
    assert analysis.range_notes(lrs, rose, tolerance=0.5) == [TOO_EARLY]


def test_a_fall_under_two_percent_is_no_fall_however_clearly_it_beats_the_noise():
    lrs = np.geomspace(1e-4, 1e-1, 4)
    barely = [2.0, 1.99, 1.985, 1.98]
    message = (
        "the loss never fell (by under 2% of its level): the curve shows no LR to train at; "
        "sweep more steps (num_steps=...), or from a smaller start_lr if the loss rose from the "
        "first steps"
    )
    assert analysis.range_notes(lrs, barely) == [message]
    assert analysis.range_notes(lrs, barely, stderr=[1e-4] * 4) == [message]


def test_a_fall_within_the_noise_gets_the_note_with_its_standard_errors():
    lrs = np.geomspace(1e-4, 1e-1, 4)
    # A fall of 2.0 over hypot(0.4, 0.5) = 0.64 is 3.1 standard errors; 4 points need 3.8.
    notes = analysis.range_notes(lrs, [3.0, 2.0, 1.5, 1.0], stderr=[0.4, 0.3, 0.3, 0.5])
    assert notes == [
        "the loss never fell beyond what its batch-to-batch noise gives by chance (a fall of "
        "3.1 standard errors, 3.8 needed): the curve shows no LR to train at; sweep more steps "
        "(num_steps=...) or with a larger batch_size"
    ]


def test_descent_reads_the_top_the_low_and_the_significance_of_the_fall():
    lrs = np.geomspace(1e-4, 1e-1, 4)
    shape = analysis.descent(lrs, [3.0, 2.0, 1.0, 2.0], stderr=[0.3, 0.1, 0.4, 0.1])
    assert shape == analysis.Descent(
        top=0,
        low=2,
        depth=2.0,
        fell=True,
        turned_up=True,
        significance=2.0 / 0.5,  # over hypot(0.3, 0.4): the errors at the top and the low
        needed=analysis.chance_dip(4),
    )
    # Only the finite points count towards the length; a zero error is an infinite significance.
    shape = analysis.descent(lrs, [3.0, np.nan, 1.0, 2.0], stderr=[0.0, 0.1, 0.0, 0.1])
    assert shape.needed == analysis.chance_dip(3) and shape.significance == np.inf
    # Without errors nothing is needed, and a rising curve has neither a fall nor a turn.
    rising = analysis.descent(lrs[:3], [1.0, 2.0, 3.0])
    assert (rising.top, rising.low, rising.depth, rising.needed) == (0, 0, 0.0, 0.0)
    assert not rising.fell and not rising.turned_up
    assert analysis.descent(lrs, [np.nan] * 4) is None


def test_the_top_of_a_descent_is_the_highest_point_before_the_lowest_not_after():
    lrs = np.geomspace(1e-4, 1e-1, 5)
    shape = analysis.descent(lrs, [2.0, 3.0, 1.0, 9.0, 1.5])
    assert (shape.top, shape.low, shape.depth) == (1, 2, 2.0)


def test_a_fall_of_exactly_a_quarter_turns_up_and_one_of_two_percent_of_a_negative_loss_is_none():
    lrs = np.geomspace(1e-4, 1e-1, 3)
    assert analysis.descent(lrs, [2.0, 1.0, 1.25]).turned_up  # exactly tolerance * depth
    assert not analysis.descent(lrs, [2.0, 1.0, 1.2]).turned_up
    assert not analysis.descent(lrs, [2.0, 1.0, 1.2], tolerance=0.25).turned_up
    assert analysis.descent(lrs, [2.0, 1.0, 1.2], diverged=True).turned_up
    assert not analysis.descent(lrs, [2.0, 1.0, 1.3], tolerance=0.5).turned_up
    # A small fall turns up by a small rise too: the tolerance is a share of the depth.
    assert analysis.descent(lrs, [1.5, 1.0, 1.2]).turned_up
    # 1 % below -1.0: the scale is the loss's size, not its sign.
    assert not analysis.descent(lrs, [-1.0, -1.01, -1.0]).fell
    assert analysis.descent(lrs, [-1.0, -1.03, -1.0]).fell
    assert analysis.descent(lrs, [2.0, 1.95, 1.96]).fell  # 2.5 % of 2.0
    assert not analysis.descent(lrs, [50.0, 49.0, 49.5]).fell  # exactly 2 % is not over it
    assert not analysis.descent(lrs, [50.0, 49.5, 49.6]).fell


@pytest.mark.parametrize("as_array", [False, True])
def test_divergence_fires_strictly_above_factor_times_a_positive_best(as_array):
    def diverged(loss, smoothed, best, factor=4.0):
        if as_array:
            arrays = (np.array([v]) for v in (loss, smoothed, best))
            return bool(analysis.is_diverged(*arrays, factor)[0])
        return analysis.is_diverged(loss, smoothed, best, factor)

    assert not diverged(1.0, 8.0, 2.0) and diverged(1.0, 8.5, 2.0)  # 4 x 2.0, not 4 / 2.0
    assert not diverged(1.0, 1.9, 0.5) and diverged(1.0, 2.2, 0.5)  # 4 x 0.5, not 0.5 + 4 x 0.5
    # A negative best: the rise above it against factor x its size (-2 + 4 x 2 = 6).
    assert not diverged(6.0, 6.0, -2.0) and diverged(6.5, 6.5, -2.0)
    assert not diverged(-1.0, -1.0, -0.5, 3.0) and diverged(1.5, 1.5, -0.5, 3.0)
    # Any non-finite loss or smoothed loss is a divergence.
    for loss, smoothed in [(np.nan, 1.0), (1.0, np.inf), (np.inf, 1.0), (1.0, np.nan)]:
        assert diverged(loss, smoothed, 1.0)


def test_the_live_divergence_check_on_floats_answers_a_plain_bool():
    assert analysis.is_diverged(1.0, 1.0, 1.0, 4.0) is False
    assert analysis.is_diverged(1.0, 9.0, 1.0, 4.0) is True
    assert analysis.is_diverged(np.nan, 1.0, 1.0, 4.0) is True


def test_divergence_on_arrays_with_infinities_and_huge_losses_warns_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = analysis.is_diverged(
            np.array([1.0, 1.0, np.inf]),
            np.array([np.inf, 1e308, np.inf]),
            np.array([np.inf, 1e308, -np.inf]),
            4.0,
        )
    assert got.tolist() == [True, False, True]
    assert analysis.divergence_index([1.0, 2.0, 20.0], [1.0, 2.0, 20.0]) == 2


def test_the_useful_length_uses_the_factor_given_and_four_by_default():
    losses = [1.0, 1.0, 4.5, 6.0]
    assert analysis.useful_length(losses, losses) == 2
    assert analysis.useful_length(losses, losses, 5.0) == 3
    assert analysis.useful_length(losses, losses, 10.0) == 4


def _falling_on_powers_of_two(rise=None):
    """A straight fall from 3 to 1 over LRs 1, 2, 4, ... 2048 (exact in binary), optionally
    followed by one more point ``rise`` above the lowest."""
    lrs, loss = 2.0 ** np.arange(12), np.linspace(3.0, 1.0, 12)
    if rise is not None:
        lrs, loss = np.append(lrs, 4096.0), np.append(loss, 1.0 + rise)
    return lrs, loss


def test_candidates_stay_clearance_times_below_the_end_of_a_curve_that_never_turned_up():
    lrs, loss = _falling_on_powers_of_two()
    # The suggestion: the bottom starts at 1024, / 3 is nearest 256; careful 256 / 1.5 -> 128.
    expected = [(128.0, "careful"), (256.0, "suggested")]
    for clearance in (2.0, 4.0):  # edges 1024 and 512: both candidates are below them
        got = analysis.find_candidates(lrs, loss, clearance=clearance)
        assert [(c.lr, c.label) for c in got] == expected
    # At 8 the edge is 256 itself, which is no longer offered (nor 128, a suggestion's careful
    # partner with no suggestion): nothing.
    assert analysis.find_candidates(lrs, loss, clearance=8.0) == []
    # A wider spacing lets the careful one reach past the last point offered: it alone stays.
    got = analysis.find_candidates(lrs, loss, clearance=8.0, spacing=1.5)
    assert [(c.lr, c.label) for c in got] == [(128.0, "careful")]
    # Diverged right after, the curve turned up: the edge is the lowest point, not 8x below.
    got = analysis.find_candidates(lrs, loss, clearance=8.0, diverged=True)
    assert [(c.lr, c.label) for c in got] == expected


def test_a_rise_of_a_quarter_of_the_fall_is_a_turn_for_the_candidates_too():
    lrs, loss = _falling_on_powers_of_two(rise=0.7)  # 0.7 after a fall of 2.0
    got = analysis.find_candidates(lrs, loss, clearance=8.0)
    assert [(c.lr, c.label) for c in got] == [(128.0, "careful"), (256.0, "suggested")]
    assert analysis.find_candidates(lrs, loss, clearance=8.0, tolerance=0.5) == []


def test_candidates_exactly_spacing_apart_are_both_kept():
    lrs, loss = _falling_on_powers_of_two()
    got = analysis.find_candidates(lrs, loss, spacing=2.0)  # 128 and 256: 2x apart
    assert [c.lr for c in got] == [128.0, 256.0]


def test_candidates_centre_on_the_rule_asked_for():
    lrs, loss = _falling_on_powers_of_two()
    got = analysis.find_candidates(lrs, loss, rule="steepest")
    assert analysis.suggest(lrs, loss, "steepest") == 128.0
    assert [(c.lr, c.label) for c in got] == [(64.0, "careful"), (128.0, "suggested")]


def test_a_descent_of_two_steps_offers_its_top_and_one_of_one_step_nothing():
    lrs = np.array([1.0, 2.0, 4.0, 8.0, 16.0]) * 1e-3
    got = analysis.find_candidates(lrs[:4], [3.0, 2.0, 1.0, 4.0], diverged=True)
    assert [(c.lr, c.index, c.label) for c in got] == [(1e-3, 0, "suggested")]
    assert analysis.find_candidates(lrs, [2.9, 3.0, 1.0, 4.0, 5.0], diverged=True) == []


def test_a_rule_with_nothing_to_say_gives_no_candidates_rather_than_an_error():
    # Cleaned of its NaNs the curve is 3, 1, 4: too short before its lowest point for the slope.
    lrs = np.geomspace(1e-4, 1.0, 5)
    loss = [3.0, np.nan, np.nan, 1.0, 4.0]
    assert analysis.suggest(lrs, loss, "steepest") is None
    assert analysis.find_candidates(lrs, loss, diverged=True, rule="steepest") == []


def test_candidate_factor_messages_name_the_factor_and_the_value():
    for name in ("careful", "clearance"):
        message = rf"^{name} must be a finite number > 1, got 0.5$"
        with pytest.raises(ValueError, match=message):
            analysis.find_candidates([1.0], [1.0], **{name: 0.5})
    with pytest.raises(ValueError, match=r"^spacing must be a finite number >= 1, got 0.5$"):
        analysis.find_candidates([1.0], [1.0], spacing=0.5)
    assert analysis.find_candidates([1.0], [1.0], spacing=1.0) == []  # 1 itself is allowed


def test_the_ladder_is_exponential_by_default_and_one_step_is_the_start():
    decades = [1e-3, 1e-2, 1e-1, 1.0]
    np.testing.assert_allclose(analysis.lr_ladder(1e-3, 1.0, 4), decades, rtol=1e-12)
    np.testing.assert_array_equal(analysis.lr_ladder(1e-3, 1.0, 1), [1e-3])
    np.testing.assert_array_equal(analysis.lr_ladder(1e-3, 1.0, 2), [1e-3, 1.0])
    with pytest.raises(ValueError, match=r"^num_steps must be >= 1, got 0$"):
        analysis.lr_ladder(1e-3, 1.0, 0)


def test_steepest_is_per_decade_so_a_straight_fall_on_a_linear_ladder_reads_late():
    lrs = np.linspace(0.01, 1.0, 100)  # equal steps of LR: a step is a far larger share early
    loss = np.where(lrs < 0.8, 2.0 - lrs, 1.2 + 3.0 * (lrs - 0.8))
    assert 0.5 < analysis.suggest_steepest(lrs, loss) < 0.8
    # Three points up to the lowest are enough; two are not.
    assert analysis.suggest_steepest([1e-3, 1e-2, 1e-1, 1.0], [3.0, 2.0, 1.0, 5.0]) == 1e-3
    assert analysis.suggest_steepest([1e-3, 1e-2, 1e-1], [3.0, 1.0, 5.0]) is None


def test_the_bottom_starts_at_the_first_point_at_or_within_a_tenth_of_the_fall():
    lrs = 3.0 ** np.arange(4) * 1e-6
    # The level is 1.0 + 0.1 * (2.0 - 1.0) = 1.1 exactly: 1.1 itself has reached it.
    assert analysis.suggest_bottom(lrs, [2.0, 1.5, 1.1, 1.0], divisor=1.0) == lrs[2]
    assert analysis.suggest_bottom(lrs, [2.0, 1.5, 1.1, 1.0]) == lrs[1]  # / 3, a point swept
    # Three points are a curve; the top is before the lowest, never the blow-up after it.
    assert analysis.suggest_bottom([1.0, 2.0, 4.0], [2.0, 1.0, 9.0], divisor=1.0) == 2.0
    # A point below the level before the top (a dip on the flat start) is not the bottom.
    curve = [1.02, 3.0, 2.0, 1.05, 1.0]
    assert analysis.suggest_bottom(3.0 ** np.arange(5), curve, divisor=1.0) == 27.0


def test_the_simple_rules_by_their_numbers():
    lrs, loss = [1.0, 2.0, 4.0], [3.0, 1.0, 2.0]
    assert analysis.suggest_minimum(lrs, loss) == 0.2  # the lowest / 10
    assert analysis.suggest_from_candidates(lrs, loss) == 0.5  # the best minimum / 4
    assert analysis.suggest_valley(lrs, [3.0, 2.0, 1.0]) == 2.0  # halfway along 3 points
    assert analysis.suggest_valley(np.arange(1.0, 8.0), [5, 4, 3, 2, 1, 6, 7]) == 3.0
    with pytest.raises(ValueError, match=r"^rule must be one of \['bottom/3', 'candidate/4', "):
        analysis.suggest(lrs, loss, "x")
    with pytest.raises(ValueError, match=r", 'valley'\], got 'x'$"):
        analysis.suggest(lrs, loss, "x")


def test_the_longest_descent_is_strictly_decreasing():
    assert analysis.longest_descent(np.array([3.0, 3.0, 3.0, 3.0, 5.0, 4.0])) == (4, 5)
    assert analysis.longest_descent(np.array([2.0, 1.0])) == (0, 1)
    assert analysis.longest_descent(np.array([5.0, 4.0, 9.0, 3.0, 2.0])) == (0, 4)


def test_unusable_points_and_uneven_lengths_are_left_out_of_every_reading():
    # LR 0, a negative LR or an infinite one is no point of the curve, whatever its loss.
    for lrs in ([0.0, 1.0, 2.0], [-1.0, 1.0, 2.0]):
        assert analysis.suggest_minimum(lrs, [0.5, 1.0, 2.0]) == 0.1, lrs
        assert [c.lr for c in analysis.find_minima(lrs, [0.5, 1.0, 2.0])] == [1.0], lrs
    assert analysis.suggest_minimum([1.0, 2.0, np.inf], [2.0, 1.0, 0.5]) == 0.2
    assert [c.lr for c in analysis.find_minima([1.0, 2.0, np.inf], [2.0, 1.0, 0.5])] == [2.0]
    # The longer array is cut to the shorter one.
    assert analysis.suggest_minimum([1.0, 2.0, 4.0, 8.0], [3.0, 1.0, 2.0]) == 0.2
    assert [c.lr for c in analysis.find_minima([1.0, 2.0, 4.0, 8.0], [3.0, 1.0, 2.0])] == [2.0]
    reach = analysis.bottom_uncertainty([1.0, 2.0, 4.0, 8.0], [3.0, 2.0, 1.0, 2.0], [0.0] * 3)
    assert reach == (4.0, 4.0)


def test_read_curve_knows_a_sweep_that_diverged_from_one_that_ran_out_of_range():
    lrs = np.geomspace(1e-5, 1.0, 101)
    falling = np.linspace(3.0, 1.0, 100)
    ran_out = analysis.read_curve(lrs[:100], falling)
    assert ran_out.useful == 100 and len(ran_out.notes) == 1 and "too early" in ran_out.notes[0]
    assert ran_out.minima == []  # the open end is no minimum
    blew_up = analysis.read_curve(lrs, np.append(falling, np.inf))
    assert blew_up.useful == 100 and blew_up.notes == []
    assert [m.index for m in blew_up.minima] == [99]  # it turned up right after its end
    assert [c.label for c in blew_up.candidates] == ["careful", "suggested"]  # 1.2 apart or more


def test_read_curve_judges_divergence_by_the_beta_and_factor_it_is_given():
    lrs = np.geomspace(1e-5, 1.0, 60)
    losses = np.concatenate([np.linspace(3.0, 1.0, 50), np.full(10, 4.5)])
    assert analysis.read_curve(lrs, losses, beta=0.0).useful == 50  # 4.5 > 4 x 1.0 at once
    assert analysis.read_curve(lrs, losses, beta=0.0, diverge_factor=5.0).useful == 60
    assert analysis.read_curve(lrs, losses, beta=0.9).useful > 50  # the average lags


def test_the_bottom_is_uncertain_by_two_standard_errors_either_side_by_default():
    lrs = np.geomspace(1e-4, 1.0, 9)
    smoothed = np.array([3.0, 2.9, 2.6, 2.0, 1.6, 1.3, 1.1, 1.0, 1.4])  # level 1.2
    stderr = np.full(9, 0.15)  # 1.6 is 0.4 above the level: under 2 errors, within 3
    assert analysis.bottom_uncertainty(lrs, smoothed, stderr)[0] == lrs[5]
    assert analysis.bottom_uncertainty(lrs, smoothed, stderr, z=3.0)[0] == lrs[4]


def test_the_upper_band_reaching_the_level_exactly_has_reached_it():
    lrs = 2.0 ** np.arange(4)
    # Level 1.0 + 0.25 * 4.0 = 2.0; 1.5 + 2 * 0.25 = 2.0 exactly, at the point before the lowest.
    got = analysis.bottom_uncertainty(lrs, [5.0, 1.5, 1.0, 3.0], [0, 0.25, 1.0, 0], fraction=0.25)
    assert got == (2.0, 2.0)


def test_a_descent_of_one_step_offers_nothing_even_where_spacing_would_reach_it():
    got = analysis.find_candidates(
        [1.0, 2.0, 3.0, 4.0, 5.0], [2.9, 3.0, 1.0, 4.0, 5.0], spacing=2.0
    )
    assert got == []


def test_a_suggestion_exactly_spacing_above_the_last_point_offered_snaps_to_it():
    lrs, loss = _falling_on_powers_of_two()
    # The edge is 2048 / 8 = 256, so 128 is the last point offered; the suggestion, 256, is
    # exactly 2x above it, so with a spacing of 2 it snaps there (and its careful one with it).
    got = analysis.find_candidates(lrs, loss, clearance=8.0, spacing=2.0)
    assert [(c.lr, c.label) for c in got] == [(128.0, "suggested")]


def test_a_suggestion_exactly_spacing_below_the_top_snaps_to_the_top():
    lrs = 2.0 ** np.arange(6)
    loss = [2.9, 3.0, 1.0, 0.9, 0.85, 4.0]  # a drop right after the top, at LR 2
    assert analysis.suggest(lrs, loss) == 1.0  # bottom at 4, / 3 nearest 1: before the top
    got = analysis.find_candidates(lrs, loss, spacing=2.0)
    assert [(c.lr, c.label) for c in got] == [(2.0, "suggested")]
    assert analysis.find_candidates(lrs, loss, spacing=1.9) == []


def test_a_stopped_sweep_whose_loss_had_not_fallen_yet_says_it_was_stopped_not_that_it_failed():
    lrs = np.geomspace(1e-7, 1e-5, 200)
    flat = 2.3 + np.random.default_rng(0).normal(0, 0.01, 200)
    (stopped,) = analysis.range_notes(lrs, analysis.smooth(flat, 0.9), stop_reason="stopped")
    assert (
        stopped.startswith("stopped at lr 1e-05, before the loss fell") and "Run again" in stopped
    )
    assert "never fell" not in stopped and "num_steps" not in stopped
    (completed,) = analysis.range_notes(lrs, analysis.smooth(flat, 0.9))
    assert "never fell" in completed  # a sweep that ran its course did fail to show one
