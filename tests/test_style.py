"""How a sweep is shown: the LR format, the loss window, legend names, suggestion labels, the
candidate menu and the status line, pinned as pure functions (no widget is built here)."""

import math

import numpy as np
import pytest

from lrwidget import style
from lrwidget.analysis import Candidate
from lrwidget.result import SweepResult

LRS = np.geomspace(1e-5, 1.0, 200)
# Falls from 2.3 to about 0.5 around 1e-3, then rises from 0.1 on: one suggestion.
T = np.log10(LRS)
LOSS = 2.3 - 1.8 / (1 + np.exp(-3 * (T + 3))) + np.where(T > -1, 3 * (T + 1) ** 2, 0.0)


def sweep(shift=1.0, **meta):
    return SweepResult(lrs=LRS * shift, losses=LOSS, meta=meta)


@pytest.mark.parametrize(
    ("lr", "text"),
    [(0.031623, "3.2e-2"), (1.0, "1.0e0"), (12345.0, "1.2e4"), (9.96e-3, "1.0e-2"), (None, "-")],
)
def test_an_lr_is_written_with_two_digits_and_a_bare_exponent(lr, text):
    assert style.format_lr(lr) == text


def test_a_count_takes_the_plural_except_for_one():
    assert [style.plural(n, "step") for n in (0, 1, 2)] == ["0 steps", "1 step", "2 steps"]


def test_series_colours_are_distinct_and_cycle_after_the_last():
    n = len(style.COLORS)
    assert len({style.series_color(i) for i in range(n)}) == n
    assert style.series_color(n) == style.series_color(0)
    assert style.series_color(n + 2) == style.COLORS[2]


def test_the_loss_window_spans_the_minimum_to_the_level_fallen_from_and_clips_the_blow_up():
    smoothed = [2.0, 1.8, 1.0, 0.5, 4.0, 9.0]  # falls from 2.0 to 0.5, then blows up to 9
    low, high = style.y_window(smoothed)
    span = 2.0 - 0.5
    assert low == pytest.approx(0.5 - 0.1 * span)
    assert high == pytest.approx(2.0 + 0.15 * span)  # 9.0 is clipped, not shown


def test_the_loss_window_makes_room_for_the_raw_losses_below_the_smoothed_minimum():
    smoothed = [2.0, 1.0]
    raw = [2.1, 0.2, *([1.0] * 198)]  # the lowest 1 % of the raw losses is left out ...
    assert style.y_window(smoothed, raw)[0] == pytest.approx(1.0 - 0.1 * 1.0)
    raw = [2.1, *([0.5] * 99)]  # ... but a bulk of raw losses below the curve is shown
    low, high = style.y_window(smoothed, raw)
    assert low == pytest.approx(0.5 - 0.1 * 1.5)
    assert high == pytest.approx(2.0 + 0.15 * 1.5)


def test_a_loss_that_is_never_negative_gets_no_axis_below_zero_but_a_negative_one_does():
    assert style.y_window([1.0, 0.01])[0] == 0.0
    low, _ = style.y_window([-1.0, -2.0])
    assert low == pytest.approx(-2.0 - 0.1 * 1.0)


def test_a_flat_curve_still_gets_a_window_of_some_height():
    low, high = style.y_window([2.0, 2.0, 2.0])
    assert (low, high) == pytest.approx((2.0 - 0.02, 2.0 + 0.03))  # a tenth of the level
    low, high = style.y_window([0.0, 0.0])
    assert (low, high) == pytest.approx((0.0, 0.15))  # no level either: a span of 1


def test_non_finite_losses_are_left_out_of_the_window_and_none_finite_gives_none():
    assert style.y_window([np.nan, 2.0, np.inf, 1.0]) == style.y_window([2.0, 1.0])
    assert style.y_window([np.nan, np.inf]) is None
    assert style.y_window([2.0, 1.0], [np.nan, np.nan]) == style.y_window([2.0, 1.0])


def test_the_joint_window_holds_every_window_and_skips_none():
    assert style.joint_window([(1.0, 3.0), None, (0.5, 2.0)]) == (0.5, 3.0)
    assert style.joint_window([None, None]) is None
    assert style.joint_window([]) is None


def test_a_sweeps_window_is_read_before_its_divergence():
    r = sweep()
    assert style.result_window(r) == style.y_window(r.smoothed[: r.useful], r.losses[: r.useful])
    assert style.result_window(r)[1] < float(np.max(r.losses))


def test_legend_names_say_what_tells_overlaid_sweeps_apart():
    sgd, adam = sweep(optimizer="SGD", batch_size=32), sweep(optimizer="Adam", batch_size=32)
    assert style.default_labels([sgd, adam]) == ["SGD", "Adam"]
    small, big = sweep(optimizer="Adam", batch_size=32), sweep(optimizer="Adam", batch_size=64)
    assert style.default_labels([small, big]) == ["batch 32", "batch 64"]
    both = sweep(optimizer="SGD", batch_size=64)
    assert style.default_labels([small, both]) == ["Adam, batch 32", "SGD, batch 64"]
    a, b = sweep(model="cnn"), sweep(model="mlp")
    assert style.default_labels([a, b]) == ["cnn", "mlp"]


def test_legend_names_are_always_distinct_and_a_single_sweep_is_sweep_1():
    assert style.default_labels([sweep(optimizer="SGD")]) == ["sweep 1"]
    same = [sweep(optimizer="SGD"), sweep(optimizer="SGD")]
    assert style.default_labels(same) == ["sweep 1", "sweep 2"]
    three = [sweep(optimizer="SGD"), sweep(optimizer="Adam"), sweep(optimizer="SGD")]
    assert style.default_labels(three) == ["SGD (1)", "Adam", "SGD (3)"]
    # A setting some sweep does not record cannot tell them apart.
    assert style.default_labels([sweep(optimizer="SGD"), sweep()]) == ["sweep 1", "sweep 2"]


def test_the_suggestion_sits_on_the_smoothed_curve_at_its_lr():
    r = sweep()
    lr, y = style.suggestion_point(r)
    assert lr == r.suggestion
    i = int(np.argmin(np.abs(np.log(r.lrs) - math.log(lr))))
    assert y == pytest.approx(r.smoothed[i])  # a swept LR: the point itself
    flat = SweepResult(lrs=LRS, losses=np.full(200, 2.3))
    assert flat.suggestion is None and style.suggestion_point(flat) is None


def test_each_series_carries_its_colour_curves_candidates_and_suggestion_name():
    one = style.series([sweep()])
    assert [s.suggestion_name for s in one] == [style.SUGGESTED]
    far = style.series([sweep(), sweep(shift=100.0)], labels=["low", "high"])
    assert [s.label for s in far] == ["low", "high"]
    assert [s.color for s in far] == style.COLORS[:2]
    assert [s.suggestion_name for s in far] == ["suggested (low)", "suggested (high)"]
    assert far[1].suggestion[0] == pytest.approx(100 * far[0].suggestion[0])
    assert far[0].candidates == tuple(sweep().candidates)


def test_suggestions_close_together_share_one_label():
    near = style.series([sweep(), sweep(shift=1.05)], labels=["SGD", "Adam"])
    assert [s.suggestion_name for s in near] == ["suggested (SGD, Adam)", ""]


def test_series_refuses_a_label_count_that_does_not_match():
    with pytest.raises(ValueError, match="got 1 labels for 2 results"):
        style.series([sweep(), sweep()], labels=["only one"])


CAREFUL = Candidate(2.1e-2, 0.4123, 10, "careful")
SUGGESTED = Candidate(3.2e-2, 0.41, 20, "suggested")


def test_a_menu_option_gives_the_label_the_lr_the_loss_and_whose_it_is():
    assert style.candidate_option(SUGGESTED) == "suggested  3.2e-2  (loss 0.41)"
    assert style.candidate_option(CAREFUL, "SGD") == "careful  2.1e-2  (loss 0.412)  · SGD"
    assert style.candidate_option(Candidate(1e-3, 1.0, 3)) == "1.0e-3  (loss 1)"


def test_menu_options_name_each_candidates_own_sweep():
    entries = [(CAREFUL, 0), (SUGGESTED, 1)]
    options = style.menu_options(entries, labels=["SGD", "Adam"])
    assert options == [
        ("careful  2.1e-2  (loss 0.412)  · SGD", CAREFUL.lr),
        ("suggested  3.2e-2  (loss 0.41)  · Adam", SUGGESTED.lr),
    ]
    assert style.menu_options([(CAREFUL, 0)])[0][0] == style.candidate_option(CAREFUL)


def test_the_status_line_of_one_sweep_says_how_it_ended_its_suggestion_rule_and_pick():
    r = sweep()
    parts = style.status_parts([r], ["sweep 1"], 2, 1e-3)
    assert parts[0] == "completed after 200 steps"
    assert parts[1] == f"suggestion {style.format_lr(r.suggestion)} (bottom/3)"
    assert parts[-2:] == ["2 candidates", "selected 1.0e-3"]
    assert parts[2:-2] == list(r.notes)


def test_the_status_line_of_an_overlay_counts_the_sweeps_and_names_whose_suggestion():
    a, b = sweep(), sweep(shift=10.0)
    parts = style.status_parts([a, b], ["SGD", "Adam"], 1, None)
    assert parts == [
        "2 sweeps",
        f"suggestion {style.format_lr(a.suggestion)} (of SGD)",
        "1 candidate",
        "selected -",
    ]
    assert style.status_parts([], [], 0, None) == ["no sweep shown"]


def test_a_loss_not_finite_from_the_first_batch_gets_advice_in_the_status_line():
    nan = SweepResult(lrs=[1e-5], losses=[np.nan], stop_reason="non_finite")
    parts = style.status_parts([nan], ["sweep 1"], 0, None)
    assert parts[:2] == ["non_finite after 1 step", style.NOT_FINITE_ADVICE]
    late = SweepResult(lrs=LRS[:3], losses=[2.3, 2.2, np.nan], stop_reason="non_finite")
    assert style.NOT_FINITE_ADVICE not in style.status_parts([late], ["sweep 1"], 0, None)


def test_the_window_leaves_out_exactly_the_lowest_percent_of_the_raw_losses():
    raw = np.linspace(1.0, 3.0, 101)  # percentiles: 1 % at 1.02, 2 % at 1.04
    low, _ = style.y_window([3.0, 2.0], raw)
    assert low == pytest.approx(1.02 - 0.1 * (3.0 - 1.02))


def test_a_sweeps_window_reads_neither_the_losses_after_divergence_nor_only_the_smoothed_curve():
    rng = np.random.default_rng(0)
    noisy = LOSS + rng.normal(0, 0.2, len(LOSS))
    r = SweepResult(lrs=LRS, losses=noisy)
    assert style.result_window(r)[0] < style.y_window(r.smoothed[: r.useful])[0]  # raw lows
    # After a blow-up, losses that fall back low again are not the valley.
    late = np.concatenate([LOSS[:150], [50.0] * 10, [1e-3] * 40])
    r = SweepResult(lrs=LRS, losses=late)
    assert r.useful < 160
    assert style.result_window(r)[0] > 0.1


def test_series_draw_each_sweeps_own_points():
    a, b = sweep(), sweep(shift=100.0)
    shown = style.series([a, b])
    for s, r in zip(shown, (a, b), strict=True):
        assert s.lrs is r.lrs and s.raw is r.losses and s.smoothed is r.smoothed
        assert s.useful == r.useful and s.window == style.result_window(r)


def test_suggestions_merge_within_fifteen_percent_of_each_axis_and_no_further():
    # Half a decade apart on a 5.5-decade axis (0.09 of it): one label.
    half = style.series([sweep(), sweep(shift=10**0.5)], labels=["a", "b"])
    assert [s.suggestion_name for s in half] == ["suggested (a, b)", ""]
    # The same LRs, the losses apart by 0.3 and by 0.45 of a window about 2.5 high.
    for shift, merged in ((0.3, True), (0.45, False)):
        up = SweepResult(lrs=LRS, losses=LOSS + shift)
        names = [s.suggestion_name for s in style.series([sweep(), up], labels=["a", "b"])]
        assert names == (["suggested (a, b)", ""] if merged else ["suggested (a)", "suggested (b)"])


def test_a_label_merged_into_another_is_no_owner_and_a_sweep_without_suggestion_is_skipped():
    # a, b half a decade apart (merged), c a decade from a (apart) though near b: c keeps its own.
    chain = [sweep(), sweep(shift=10**0.5), sweep(shift=10.0)]
    names = [s.suggestion_name for s in style.series(chain, labels=["a", "b", "c"])]
    assert names == ["suggested (a, b)", "", "suggested (c)"]
    flat = SweepResult(lrs=LRS, losses=np.full(200, 2.3))
    shown = style.series([flat, sweep(), sweep(shift=1.05)], labels=["flat", "a", "b"])
    assert [s.suggestion_name for s in shown] == ["suggested (flat)", "suggested (a, b)", ""]


def test_in_an_overlay_a_lone_suggestion_is_named_after_its_sweep():
    flat = SweepResult(lrs=LRS, losses=np.full(200, 2.3))
    shown = style.series([flat, sweep()], labels=["flat", "a"])
    assert shown[1].suggestion_name == "suggested (a)"


def test_a_merged_suggestion_label_too_long_for_the_chart_says_how_many_sweeps():
    labels = ["weight_decay=0", "weight_decay=1e-3", "weight_decay=0.01"]
    shown = style.series([sweep(), sweep(shift=1.05), sweep(shift=1.1)], labels=labels)
    assert [s.suggestion_name for s in shown] == ["suggested (3 sweeps)", "", ""]
    assert len(shown[0].suggestion_name) <= style.MERGED_CHARS + len("suggested ()")
    two = style.series([sweep(), sweep(shift=1.05)], labels=labels[:2])
    assert len(", ".join(labels[:2])) > style.MERGED_CHARS  # 33 characters: too long too
    assert two[0].suggestion_name == "suggested (2 sweeps)"


def test_a_sweep_without_a_suggestion_says_so_in_words_not_a_dash():
    flat = SweepResult(lrs=LRS, losses=np.full(200, 2.3), stop_reason="stopped")
    assert flat.suggestion is None
    parts = style.status_parts([flat], ["sweep"], 0, None)
    assert not any("suggestion -" in p for p in parts)
    rule = flat.settings.rule
    assert f"no suggestion yet: the loss has not fallen enough to read ({rule})" in parts
