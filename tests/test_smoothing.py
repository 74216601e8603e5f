"""The curve users read: it follows the data, and a curve of pure noise is not read as a fall."""

import warnings

import numpy as np
import pytest

from lrwidget import analysis, smoothing


def running_median(y, k=9):
    padded = np.pad(y, k // 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, k), axis=1)


def sharp_drop_and_blow_up(n=400, noise=0.1, seed=0):
    """Flat at 2.3, a drop to 0.3 within half a decade at 1e-3, a bottom, a blow-up past 0.1."""
    rng = np.random.default_rng(seed)
    lrs = np.logspace(-6, 1, n)
    x = np.log10(lrs)
    true = 2.3 - 2.0 / (1 + np.exp(-12 * (x + 3))) + np.where(x > -1, np.expm1(4 * (x + 1)), 0)
    return lrs, true, true + noise * rng.standard_normal(n)


def test_the_smoothed_curve_stays_in_the_noise_band_of_the_data_and_bottoms_where_it_does():
    lrs, true, losses = sharp_drop_and_blow_up()
    reading = analysis.read_curve(lrs, losses)
    head = reading.useful
    assert head < len(lrs)  # the blow-up was judged a divergence
    raw = losses[:head]
    band = 2 * smoothing.noise_level(raw)  # two robust standard deviations of the batches
    inside = np.abs(reading.smoothed[:head] - running_median(raw)) <= band
    assert inside.mean() >= 0.95
    low = int(np.argmin(reading.smoothed[:head]))
    assert inside[low]
    # The smoothed minimum is where the data bottom out, not pulled towards the blow-up.
    bottom = np.log10(lrs[np.argmin(true)])
    assert abs(np.log10(lrs[low]) - bottom) < 0.3
    # Through the drop it keeps the step's depth: a wide average would round it off.
    at_drop = np.abs(np.log10(lrs) + 3) < 0.1
    np.testing.assert_allclose(reading.smoothed[at_drop], true[at_drop], atol=0.25)


def test_what_follows_the_divergence_never_leaks_into_the_curve_before_it():
    lrs, _, losses = sharp_drop_and_blow_up()
    reading = analysis.read_curve(lrs, losses)
    wilder = losses.copy()
    wilder[reading.useful + 1 :] *= 50  # a far worse blow-up after the cut
    again = analysis.read_curve(lrs, wilder)
    assert again.useful == reading.useful
    np.testing.assert_array_equal(
        again.smoothed[: again.useful], reading.smoothed[: reading.useful]
    )


def test_smoothing_averages_more_where_the_losses_scatter_more():
    rng = np.random.default_rng(3)
    flat = 2.0 + rng.standard_normal(600) * np.where(np.arange(600) < 300, 0.02, 0.3)
    out = smoothing.smooth_adaptive(flat)
    quiet, loud = out.noise[50:250].mean(), out.noise[350:550].mean()
    assert loud / quiet == pytest.approx(15, rel=0.3)  # the noise level is measured locally
    # Both stretches come out flat: the loud one is averaged over more points.
    assert np.std(out.values[350:550]) < 0.1 * 0.3
    assert np.std(out.values[50:250]) < 0.1 * 0.02 * 15


@pytest.mark.parametrize("noise", [0.6, 0.3, 0.1])  # like batches of 8, 32 and 256
@pytest.mark.parametrize("stop", [40, 100, 270, 1000])
def test_a_curve_of_pure_noise_gets_no_suggestion_and_no_candidates(noise, stop):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        lrs = np.geomspace(1e-6, 1e-4, 1500)[:stop]
        losses = 2.3 + noise * rng.standard_normal(stop)
        reading = analysis.read_curve(lrs, losses, stop_reason="stopped")
        assert reading.suggestion is None, (seed, reading.suggestion)
        assert reading.candidates == []
        assert any(
            "before the loss fell beyond its batch-to-batch noise" in note for note in reading.notes
        )


def test_a_real_fall_as_noisy_as_a_small_batch_still_counts():
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-5, 1.0, 150)
    x = np.log10(lrs)
    losses = 2.3 - 0.5 / (1 + np.exp(-3 * (x + 2))) + 0.3 * rng.standard_normal(150)
    reading = analysis.read_curve(lrs, losses)
    assert reading.suggestion is not None and reading.candidates
    assert reading.notes == [] or "too early" in reading.notes[0]


def test_the_chance_dip_grows_slowly_with_the_length_of_the_curve():
    assert smoothing.chance_dip(100) == pytest.approx(6.57, abs=0.01)
    assert smoothing.chance_dip(1000) == pytest.approx(7.93, abs=0.01)
    assert smoothing.chance_dip(0) == smoothing.chance_dip(2)


@pytest.mark.parametrize("batch_size", [8, 32, 128])
def test_a_real_sweep_stopped_on_its_flat_start_gets_no_suggestion(digits, batch_size):
    import keras
    from conftest import make_model

    import lrwidget
    from lrwidget.result import SweepResult

    x, y = digits
    # Plain SGD at LRs this small barely moves the weights: the losses are batch noise only.
    model = make_model(keras.optimizers.SGD(1e-6))
    full = lrwidget.find_lr(
        model, x, y, batch_size=batch_size, start_lr=1e-7, end_lr=1e-5, num_steps=300
    )
    assert full.stop_reason == "completed" and len(full) == 300
    for stop in (40, 120, 300):
        cut = SweepResult(
            lrs=full.lrs[:stop], losses=full.losses[:stop], stop_reason="stopped", meta=full.meta
        )
        assert cut.suggestion is None and cut.candidates == [], (stop, cut.suggestion)
        assert any(note.startswith("stopped at lr") for note in cut.notes)


def test_a_noisy_reading_of_the_bottom_says_so_and_a_clean_one_does_not():
    lrs = np.logspace(-6, 1, 300)
    x = np.log10(lrs)
    slow = 2.3 - 0.25 * np.clip(x + 6, 0, 6) + 2 * np.maximum(x, 0) ** 2  # a long, slow fall
    rng = np.random.default_rng(0)
    noisy = analysis.read_curve(lrs, slow + 0.4 * rng.standard_normal(300))
    reach = analysis.bottom_uncertainty(
        lrs[: noisy.useful], noisy.smoothed[: noisy.useful], noisy.stderr
    )
    assert noisy.suggestion is not None and reach[1] > 3 * reach[0]
    assert any("too noisy" in note and "batch_size" in note for note in noisy.notes)
    clean = analysis.read_curve(lrs, slow + 0.01 * rng.standard_normal(300))
    assert clean.suggestion is not None and clean.notes == []


# --- Pinned by mutation testing (docs/mutation.md) ---------------------------------------------


def test_noise_level_is_the_standard_deviation_of_white_noise():
    rng = np.random.default_rng(0)
    level = smoothing.noise_level(0.2 * rng.standard_normal(200_000))
    assert np.mean(level) == pytest.approx(0.2, rel=0.03)
    # A straight trend adds nothing: second differences cancel it.
    trend = np.linspace(5.0, -5.0, 200_000)
    np.testing.assert_allclose(
        smoothing.noise_level(trend + 0.2 * rng.standard_normal(200_000)).mean(), 0.2, rtol=0.03
    )


def test_noise_level_of_three_points_is_their_second_difference_and_of_fewer_is_zero():
    expected = 1.4826 * 2.0 / np.sqrt(6.0)  # |0 - 2 * 1 + 0| / sqrt(6), as a robust sd
    np.testing.assert_allclose(smoothing.noise_level([0.0, 1.0, 0.0]), [expected] * 3)
    np.testing.assert_array_equal(smoothing.noise_level([1.0, 2.0]), [0.0, 0.0])
    assert smoothing.noise_level([]).shape == (0,)


def test_noise_level_is_measured_over_blocks_of_31_points_and_drawn_straight_between_them():
    # Alternating +-1 for 32 points, then +-3: two blocks of 31 second differences.
    y = np.array([(-1.0) ** i * (1.0 if i < 32 else 3.0) for i in range(64)])
    level = smoothing.noise_level(y)
    quiet = 1.4826 * 4.0 / np.sqrt(6.0)
    # Flat up to the first block's centre (second difference 15.5, point 16.5)...
    np.testing.assert_allclose(level[:17], quiet)
    # ...straight to the second's (point 47.5): halfway at point 32...
    assert level[32] == pytest.approx(2 * quiet)
    assert level[17] == pytest.approx(quiet + 2 * quiet * 0.5 / 31)
    # ...then flat again.
    np.testing.assert_allclose(level[48:], 3 * quiet)
    # A curve too short for two blocks has one level throughout.
    short = smoothing.noise_level(y[:40])
    np.testing.assert_allclose(short, short[0])
    # A wider block merges the two.
    np.testing.assert_allclose(smoothing.noise_level(y, window=62), smoothing.noise_level(y)[32])


def test_running_median_uses_the_first_and_last_full_window_near_the_ends():
    np.testing.assert_array_equal(smoothing._running_median([9, 0, 0, 0, 0], 1), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(
        smoothing._running_median([1, 2, 3, 4, 5, 6, 7], 2), [3, 3, 3, 4, 5, 5, 5]
    )
    # Shorter than a window: the median of all of it.
    np.testing.assert_array_equal(smoothing._running_median([1, 2, 3, 4], 5), [2.5] * 4)
    np.testing.assert_array_equal(smoothing._running_median([4, 1, 2], 1), [2, 2, 2])


def test_local_slope_with_one_point_either_side_is_the_central_difference():
    spike = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    np.testing.assert_allclose(smoothing.local_slope(spike, 1), [0, 0, 0.5, 0, -0.5, 0, 0])
    # Less than one point either side means one.
    np.testing.assert_allclose(smoothing.local_slope(spike, 0), smoothing.local_slope(spike, 1))
    # Two points either side: the least-squares slope sum(t * y) / sum(t**2) = 1 / 10.
    np.testing.assert_allclose(smoothing.local_slope(spike, 2)[[2, 3, 4]], [0.1, 0.0, -0.1])


def test_local_slope_of_a_line_is_its_slope_everywhere_and_of_a_parabola_its_derivative():
    t = np.arange(30.0)
    for half in (1, 3, 10):
        np.testing.assert_allclose(smoothing.local_slope(3.0 - 0.5 * t, half), -0.5)
        # A symmetric window reads a parabola's derivative exactly.
        inner = slice(half, 30 - half)
        np.testing.assert_allclose(smoothing.local_slope(t**2, half)[inner], 2 * t[inner])
    np.testing.assert_array_equal(smoothing.local_slope([0.0, 1.0], 1), [1.0, 1.0])
    np.testing.assert_array_equal(smoothing.local_slope([3.0], 1), [0.0])
    assert smoothing.local_slope([], 1).shape == (0,)


def test_smooth_adaptive_keeps_a_straight_line_and_fits_three_points_with_one():
    line = np.linspace(3.0, 1.0, 50)
    out = smoothing.smooth_adaptive(line)
    np.testing.assert_allclose(out.values, line, atol=1e-12)
    np.testing.assert_array_equal(out.stderr, 0.0)
    # Three points: the middle one is the mean of all three, the ends lines through two.
    out = smoothing.smooth_adaptive([0.0, 3.0, 0.0])
    np.testing.assert_allclose(out.values, [0.0, 1.0, 0.0], atol=1e-12)
    noise = 1.4826 * 6.0 / np.sqrt(6.0)
    np.testing.assert_allclose(out.noise, noise)
    np.testing.assert_allclose(out.stderr, noise * np.sqrt([1.0, 1 / 3, 1.0]))
    # Two points are returned as they are.
    out = smoothing.smooth_adaptive([2.0, 1.0])
    np.testing.assert_array_equal(out.values, [2.0, 1.0])
    np.testing.assert_array_equal(out.stderr, [0.0, 0.0])


def test_smooth_adaptive_clips_a_lone_outlier_inside_the_curve():
    rng = np.random.default_rng(0)
    flat = 2.0 + 0.1 * rng.standard_normal(200)
    spiked = flat.copy()
    spiked[100] += 50.0
    clean, out = smoothing.smooth_adaptive(flat), smoothing.smooth_adaptive(spiked)
    # Clipped to 3 noise levels above the local median, the batch moves nothing by much.
    assert np.abs(out.values - clean.values).max() < 0.05
    np.testing.assert_array_equal(out.noise, clean.noise)


def test_smooth_adaptive_does_not_clip_the_last_or_first_points():
    rng = np.random.default_rng(0)
    flat = 2.0 + 0.1 * rng.standard_normal(200)
    clean = smoothing.smooth_adaptive(flat).values
    for i in (0, 3, -4, -1):
        jumped = flat.copy()
        jumped[i] += 5.0  # at an end a jump may be the start of a blow-up: it is kept
        assert smoothing.smooth_adaptive(jumped).values[i] - clean[i] > 0.3, i


def test_chance_dip_of_two_points_or_fewer():
    assert smoothing.chance_dip(2) == pytest.approx(2 * np.sqrt(2 * np.log(2)) + 0.5)
    assert smoothing.chance_dip(1) == smoothing.chance_dip(2) == smoothing.chance_dip(-5)


def test_smooth_adaptive_clips_a_lone_low_outlier_too():
    rng = np.random.default_rng(1)
    flat = 2.0 + 0.1 * rng.standard_normal(200)
    dipped = flat.copy()
    dipped[60] -= 50.0  # one batch far below: no minimum to read there
    clean, out = smoothing.smooth_adaptive(flat), smoothing.smooth_adaptive(dipped)
    assert np.abs(out.values - clean.values).max() < 0.05


def test_smooth_adaptive_reads_integer_losses_as_floats():
    rng = np.random.default_rng(2)
    counts = rng.integers(90, 110, 120)
    counts[50] = 400  # clipped to a fractional value, which an integer array would truncate
    out = smoothing.smooth_adaptive(counts)
    np.testing.assert_array_equal(out.values, smoothing.smooth_adaptive(counts * 1.0).values)
    assert smoothing.smooth_adaptive([3, 2]).values.dtype == np.float64


def test_the_live_smoother_takes_a_beta_in_zero_to_one_excluding_one():
    assert smoothing.Smoother().beta == 0.98
    assert smoothing.Smoother(0.0).beta == 0.0
    for beta in (1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match=rf"^beta must be in \[0, 1\), got {beta}$"):
            smoothing.Smoother(beta)


def test_without_averaging_a_non_finite_loss_still_poisons_everything_after_it():
    np.testing.assert_array_equal(
        smoothing.smooth([1.0, 2.0, np.inf, 3.0, np.nan, 4.0], beta=0.0),
        [1.0, 2.0, np.nan, np.nan, np.nan, np.nan],
    )
    np.testing.assert_array_equal(smoothing.smooth([1.0, 2.0], beta=0.0), [1.0, 2.0])


def test_smoothing_a_blow_up_past_the_largest_float_warns_nothing():
    losses = [1.0, 1e308, 1e308, np.inf, -np.inf, 2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for beta in (0.0, 0.5, 0.98):
            out = smoothing.smooth(losses, beta)
            assert out[0] == 1.0 and np.isnan(out[3:]).all(), beta


def test_the_window_half_widths_grow_by_about_the_square_root_of_two_up_to_half_the_curve():
    assert smoothing._half_widths(2) == smoothing._half_widths(3) == [1]
    assert smoothing._half_widths(5) == [1, 2]
    # int(sqrt(2) ** k): 3 and 6 are never tried (the docstrings list the rounded values).
    assert smoothing._half_widths(44) == [1, 2, 4, 5, 8, 11, 16]
    assert smoothing._half_widths(45) == [1, 2, 4, 5, 8, 11, 16, 22]


def test_a_curve_of_two_points_has_no_noise_to_read():
    out = smoothing.smooth_adaptive([2.0, 1.0])
    np.testing.assert_array_equal(out.noise, [0.0, 0.0])
    assert out.values is not out.noise and out.stderr is not out.noise
