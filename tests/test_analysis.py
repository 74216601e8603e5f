"""The pure-numpy analysis: ladders, smoothing, divergence, candidate minima and suggestions."""

import itertools

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


def test_candidates_are_minima_near_the_best_and_at_least_spacing_apart():
    lrs, loss = _valley()
    cands = analysis.find_candidates(lrs, loss, tolerance=0.25, spacing=1.2)
    assert cands, "a curve with a valley has candidates"
    best = loss.min()
    limit = best + 0.25 * (loss[: loss.argmin() + 1].max() - best)
    for c in cands:
        assert lrs[c.index] == c.lr and loss[c.index] == c.loss
        assert c.loss <= limit
        # a true local minimum of the curve
        assert (
            c.loss <= loss[max(c.index - 1, 0)] and c.loss <= loss[min(c.index + 1, len(loss) - 1)]
        )
    gaps = [b.lr / a.lr for a, b in itertools.pairwise(cands)]
    assert all(g >= 1.2 for g in gaps)
    assert any(c.loss == best for c in cands)  # the global minimum survives here
    # The wiggles on the flat start (loss ~2.3) are minima too, but far above the best.
    assert all(c.lr > 1e-4 for c in cands)


def test_spacing_walks_from_low_to_high_and_keeps_the_first_of_a_cluster():
    lrs = np.array([1.0, 1.05, 1.1, 1.3, 1.35, 2.0])
    loss = np.array([1.0, 0.5, 0.9, 0.5, 0.9, 0.5])  # minima at 1.05, 1.3, 2.0
    got = [c.lr for c in analysis.find_candidates(lrs, loss, tolerance=1.0, spacing=1.2)]
    assert got == [1.05, 1.3, 2.0]
    got = [c.lr for c in analysis.find_candidates(lrs, loss, tolerance=1.0, spacing=1.5)]
    assert got == [1.05, 2.0]


def test_candidate_arguments_are_validated():
    with pytest.raises(ValueError, match="spacing"):
        analysis.find_candidates([1.0], [1.0], spacing=0.5)
    with pytest.raises(ValueError, match="tolerance"):
        analysis.find_candidates([1.0], [1.0], tolerance=-1)


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
    assert len(analysis.find_candidates(lrs, curve)) <= 1


def test_centered_smoothing_finds_the_minimum_where_the_one_way_ema_lags_behind():
    rng = np.random.default_rng(0)
    lrs = np.logspace(-5, 1, 300)
    x = np.log10(lrs)
    true = 2.3 - 1.5 / (1 + np.exp(-3 * (x + 2))) + np.exp(2.5 * (x - 0.3))
    noisy = true + rng.normal(0, 0.15, len(x))
    at = x[np.argmin(true)]
    lag = x[np.argmin(analysis.smooth(noisy))] - at
    centered = x[np.argmin(analysis.smooth_centered(noisy))] - at
    assert lag > 0.5  # the one-way EMA's minimum sits over half a decade too far right
    assert abs(centered) < 0.2


def test_read_curve_cuts_at_divergence_and_reads_the_part_before():
    lrs = np.logspace(-4, 1, 200)
    x = np.log10(lrs)
    losses = 2.3 - 1.5 / (1 + np.exp(-4 * (x + 2))) + np.where(x > 0, np.exp(6 * x) - 1, 0)
    reading = analysis.read_curve(lrs, losses)
    live = analysis.smooth(losses)
    assert reading.useful == analysis.divergence_index(losses, live)
    assert reading.useful < len(lrs)
    np.testing.assert_array_equal(reading.smoothed[reading.useful :], live[reading.useful :])
    assert all(c.index < reading.useful for c in reading.candidates)
    assert reading.suggestion is not None and reading.suggestion < lrs[reading.useful]


def test_effective_beta_caps_the_averaging_window_at_a_tenth_of_the_sweep():
    assert analysis.effective_beta(0.98, 100) == pytest.approx(0.9)
    assert analysis.effective_beta(0.98, 300) == pytest.approx(1 - 1 / 30)
    assert analysis.effective_beta(0.98, 5000) == 0.98
    assert analysis.effective_beta(0.5, 100) == 0.5  # a lighter choice is kept
    assert analysis.effective_beta(0.98, 3) == 0.0  # no averaging at all for a stub
