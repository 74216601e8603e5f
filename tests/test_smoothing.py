"""The curve users read: it follows the data, and a curve of pure noise is not read as a fall."""

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
        assert any("never fell" in note and "noise" in note for note in reading.notes)


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
        assert any("never fell" in note for note in cut.notes)


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
