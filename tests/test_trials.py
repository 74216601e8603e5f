"""Trials: the record's ranking on cases whose answer is known, its JSON, the default LRs, and
try_lrs on Keras: the same batches for every trial, the model bitwise as before afterwards
(after all trials, a Stop, an error), bad input refused before anything changes."""

import json
import math
import random
import threading

import keras
import numpy as np
import pytest
from conftest import assert_same_state, make_model, state
from hypothesis import given, settings
from hypothesis import strategies as st

import lrwidget
from lrwidget import trials as trials_module
from lrwidget.result import SweepResult
from lrwidget.trials import Trials, default_lrs, default_steps, divergence_step, validation_steps

STEPS = 100


def noisy(level, sd, steps=STEPS, seed=0, slope=0.0):
    """Losses scattered around a line, with a known standard deviation."""
    rng = np.random.default_rng(seed)
    return level + slope * np.arange(steps) + sd * rng.standard_normal(steps)


# --- the record: ranking, margin, notes ------------------------------------------------------
def test_the_lowest_mean_over_the_last_fifth_wins_and_the_margin_is_the_gap_in_standard_errors():
    sd, levels = 0.1, (2.0, 1.0, 1.5)
    t = Trials(
        lrs=[1e-3, 1e-2, 1e-1],
        steps=STEPS,
        losses=[noisy(v, sd, seed=i) for i, v in enumerate(levels)],
    )
    assert t.best == 1e-2 and t.best_index == 1
    tail = STEPS // 5
    np.testing.assert_allclose(t.scores, [np.mean(x[-tail:]) for x in t.losses])
    # The noise of each score is the standard error of a mean of 20 losses of sd 0.1.
    np.testing.assert_allclose(t.noise, sd / math.sqrt(tail), rtol=0.4)
    expected = (1.5 - 1.0) / (sd * math.sqrt(2 / tail))
    assert expected / 1.6 < t.margin < expected * 1.6
    assert t.score_kind.startswith("training loss")
    assert t.notes[0] == f"ranked by the mean training loss over steps {STEPS - tail + 1}-{STEPS}"


def test_a_steady_fall_is_not_taken_for_noise():
    """Second differences cancel a straight trend: a falling loss with little scatter has a
    small noise, so a small gap is still a clear win."""
    falling = [noisy(v, 0.01, seed=i, slope=-0.01) for i, v in enumerate((3.0, 3.1))]
    t = Trials(lrs=[1e-2, 2e-2], steps=STEPS, losses=falling)
    assert t.noise.max() < 0.01 and t.margin > 10


def test_two_trials_within_their_noise_are_said_to_be_either():
    t = Trials(lrs=[1e-2, 3e-2], steps=STEPS, losses=[noisy(1.0, 0.3, seed=s) for s in (1, 2)])
    assert t.margin < trials_module.WITHIN_NOISE
    assert any("within their noise" in n and "either will do" in n for n in t.notes)


def test_a_smaller_lr_within_the_noise_of_the_best_wins_and_the_notes_say_why():
    sd = 0.1
    tail = STEPS // 5
    unit = sd * math.sqrt(2 / tail)  # the standard error of a difference of two scores
    levels = (1.0 + 1.0 * unit, 1.0, 1.0 + 10 * unit)  # 1e-3 within noise, 1e-1 clearly worse
    t = Trials(lrs=[1e-3, 1e-2, 1e-1], steps=STEPS,
               losses=[noisy(v, sd, seed=i) for i, v in enumerate(levels)])  # fmt: skip
    assert t.best == 1e-2 and t.winner == 1e-3 and t.winner_index == 0
    assert any("the winner is 1.0e-3, the smallest LR within the noise" in n for n in t.notes)
    assert "winner=1.0e-3" in repr(t) and t.to_dict()["winner"] == 1e-3


def test_a_clear_best_wins_and_trials_with_their_own_settings_are_ranked_by_score_alone():
    sd = 0.1
    unit = sd * math.sqrt(2 / (STEPS // 5))
    clear = (1.0 + 10 * unit, 1.0)
    t = Trials(lrs=[1e-3, 1e-2], steps=STEPS,
               losses=[noisy(v, sd, seed=i) for i, v in enumerate(clear)])  # fmt: skip
    assert t.winner == t.best == 1e-2
    tied = [noisy(v, sd, seed=i) for i, v in enumerate((1.0 + unit, 1.0))]
    members = Trials(lrs=[1e-3, 1e-2], steps=STEPS, losses=tied,
                     settings=[{"weight_decay": 0.1}, {"weight_decay": 0.0}])  # fmt: skip
    assert members.winner == members.best == 1e-2


def test_a_diverged_trial_scores_inf_and_when_every_trial_diverges_there_is_no_best():
    blowup = np.concatenate([noisy(2.0, 0.05, steps=10), np.geomspace(3, 1e4, 10)])
    fine = noisy(1.0, 0.05)
    t = Trials(lrs=[1e-2, 10.0], steps=STEPS, losses=[fine, blowup])
    assert t.outcomes == ["complete", "diverged"] and math.isinf(t.scores[1])
    assert t.best == t.winner == 1e-2 and t.margin == math.inf
    assert any(n.startswith("diverged: 1.0e1") for n in t.notes)
    nan_trial = np.array([2.0, 2.1, np.nan])
    gone = Trials(lrs=[1.0, 10.0], steps=STEPS, losses=[blowup, nan_trial])
    assert gone.best is gone.winner is None and gone.margin is None and np.isinf(gone.scores).all()
    assert any("every trial diverged" in n for n in gone.notes)


def test_the_divergence_rule_fires_where_the_recent_mean_passes_four_times_the_first_loss():
    losses = [1.0] * 10 + [4.5] * 10
    # The mean of the last five passes 4 x 1.0 when all five are at 4.5 (index 14), not before.
    assert divergence_step(losses) == 14
    assert divergence_step([1.0, 2.0, math.inf]) == 2
    assert divergence_step([1.0] * 30) is None


def test_a_stopped_set_keeps_finished_trials_scored_and_the_rest_unscored():
    t = Trials(
        lrs=[1e-3, 1e-2, 1e-1],
        steps=STEPS,
        losses=[noisy(1.0, 0.1), noisy(0.8, 0.1)[:40], []],
        stop_reason="stopped",
    )
    assert t.outcomes == ["complete", "partial", "not run"]
    assert np.isfinite(t.scores[0]) and np.isnan(t.scores[1:]).all()
    assert t.best == 1e-3 and t.margin is None
    assert any(n.startswith("stopped: 1 of 3 trials finished") for n in t.notes)


def test_with_validation_the_last_validation_loss_ranks_and_its_noise_comes_from_the_last_steps():
    val_steps = validation_steps(STEPS)
    assert val_steps[-1] == STEPS and len(val_steps) == 3 + trials_module.VAL_TAIL
    vals = [noisy(v, 0.02, steps=len(val_steps), seed=i) for i, v in enumerate((0.9, 0.5))]
    train = [noisy(1.0, 0.1), noisy(2.0, 0.1)]  # the training loss says the opposite
    t = Trials(lrs=[1e-2, 1e-1], steps=STEPS, losses=train, val_steps=val_steps, val_losses=vals)
    assert t.best == 1e-1 and t.scores[1] == vals[1][-1]
    assert t.score_kind == "validation loss"
    assert 0 < t.noise[1] < 0.1 and t.margin > 2


def test_labels_name_each_lr_and_its_settings():
    t = Trials(
        lrs=[3.2e-3, 1e-2],
        steps=10,
        losses=[[], []],
        settings=[{"weight_decay": 0.01}, {"weight_decay": 0.0001}],
    )
    assert t.labels == ["3.2e-3 · weight_decay=0.01", "1.0e-2 · weight_decay=0.0001"]


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"lrs": []}, "lrs"),
        ({"lrs": [0.1, -1.0]}, "lrs"),
        ({"steps": 0}, "steps"),
        ({"steps": True}, "steps"),
        ({"losses": [[1.0]]}, "losses"),
        ({"losses": [[1.0] * 11, []]}, "losses\\[0\\]"),
        ({"val_steps": [5, 3]}, "val_steps"),
        ({"val_steps": [11], "val_losses": [[], []]}, "val_steps"),
        ({"val_steps": [2]}, "val_losses"),
        ({"settings": [{"momentum": math.nan}, {}]}, "settings\\[0\\]"),
        ({"stop_reason": "done"}, "stop_reason"),
    ],
)
def test_a_malformed_record_is_refused_naming_the_field(changes, named):
    fields = dict(lrs=[0.1, 1.0], steps=10, losses=[[1.0, 0.9], []])
    with pytest.raises(ValueError, match=named):
        Trials(**{**fields, **changes})


# --- JSON --------------------------------------------------------------------------------------
loss_values = st.one_of(st.floats(-10, 10), st.just(math.nan), st.just(math.inf))


@st.composite
def records(draw):
    n = draw(st.integers(1, 4))
    steps = draw(st.integers(5, 30))
    lrs = draw(st.lists(st.floats(1e-6, 10), min_size=n, max_size=n))
    losses = [draw(st.lists(loss_values, max_size=steps)) for _ in range(n)]
    val_steps, val_losses = np.zeros(0, int), None
    if draw(st.booleans()):
        val_steps = validation_steps(steps)
        val_losses = [
            draw(st.lists(loss_values, max_size=int((val_steps <= len(t)).sum()))) for t in losses
        ]
    setting = st.dictionaries(st.sampled_from(["weight_decay", "momentum"]), st.floats(0, 1))
    settings_ = draw(st.one_of(st.none(), st.lists(setting, min_size=n, max_size=n)))
    return Trials(
        lrs=lrs,
        steps=steps,
        losses=losses,
        val_steps=val_steps,
        val_losses=val_losses,
        settings=settings_,
        stop_reason=draw(st.sampled_from(trials_module.STOP_REASONS)),
        meta={"batch_size": 32},
    )


def _same(a: Trials, b: Trials):
    np.testing.assert_array_equal(a.lrs, b.lrs)
    assert a.steps == b.steps and a.stop_reason == b.stop_reason and a.meta == b.meta
    for x, y in zip(a.losses, b.losses, strict=True):
        # NaN and inf are both written as null: the same to every reading of the record.
        np.testing.assert_array_equal(np.where(np.isfinite(x), x, np.nan), y)
    np.testing.assert_array_equal(a.val_steps, b.val_steps)
    assert (a.val_losses is None) == (b.val_losses is None)
    assert a.settings == b.settings
    np.testing.assert_array_equal(a.scores, b.scores)
    assert a.best == b.best and a.winner == b.winner and a.notes == b.notes
    assert a.labels == b.labels
    assert a.margin == b.margin or (a.margin is None) == (b.margin is None) and a.margin != a.margin


@settings(max_examples=60, deadline=None)
@given(records())
def test_a_record_survives_its_json_round_trip(t):
    back = Trials.from_dict(json.loads(json.dumps(t.to_dict(), allow_nan=False)))
    _same(t, back)


def test_save_and_load_write_strict_json(tmp_path):
    t = Trials(lrs=[1e-2, 1.0], steps=STEPS, losses=[noisy(1.0, 0.1), [2.0, math.nan]])
    path = t.save(tmp_path / "trials.json")
    assert "NaN" not in path.read_text()
    _same(t, Trials.load(path))


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda d: d.update(format="lrwidget.sweep"), "not an lrwidget trials"),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(steps="100"), "'steps'"),
        (lambda d: d.update(lrs=[0.01, "a"]), "'lrs'"),
        (lambda d: d.update(losses=[[1.0], [True]]), "losses\\[1\\]"),
        (lambda d: d.update(val_steps=[1.5]), "'val_steps'"),
        (lambda d: d.update(settings={"momentum": 1}), "'settings'"),
        (lambda d: d.update(settings=[1, 2]), "settings\\[0\\]"),
        (lambda d: d.update(meta=[]), "'meta'"),
        (lambda d: d.update(lrs=[10**400, 1.0]), "too large"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_field(tmp_path, edit, named):
    data = Trials(lrs=[1e-2, 1.0], steps=10, losses=[[1.0, 0.5], []]).to_dict()
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=named):
        Trials.load(path)


def test_non_standard_json_and_broken_text_are_refused(tmp_path):
    path = tmp_path / "bad.json"
    text = json.dumps(Trials(lrs=[1e-2], steps=10, losses=[[1.0]]).to_dict())
    path.write_text(text.replace("[1.0]", "[NaN]"))
    with pytest.raises(ValueError, match="not valid JSON"):
        Trials.load(path)
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(ValueError, match="not valid JSON"):
        Trials.load(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(list(Trials(lrs=[1.0], steps=5, losses=[[1.0]]).to_dict())), json_values)
def test_any_field_replaced_by_any_json_loads_or_is_refused_with_a_value_error(field, value):
    data = Trials(lrs=[1e-2, 1.0], steps=10, losses=[[1.0, 0.5], []]).to_dict()
    data[field] = value
    try:
        Trials.from_dict(data)
    except ValueError:
        pass


# --- the default LRs ---------------------------------------------------------------------------
def _sweep(curve):
    lrs = np.geomspace(1e-5, 1, 300)
    return SweepResult(lrs=lrs, losses=curve(lrs))


def test_the_default_set_holds_the_readings_lrs_and_the_baseline_no_two_within_20_percent():
    rng = np.random.default_rng(0)
    result = _sweep(lambda lrs: 2 - np.exp(-((np.log10(lrs) + 2) ** 2)) + rng.normal(0, 0.01, 300))
    assert result.suggestion is not None
    lrs, note = default_lrs(result, 0.05)
    assert note is None and 0.05 in lrs and result.suggestion in lrs
    assert all(min(abs(lrs / c.lr - 1)) < 0.2 for c in result.candidates)
    assert (lrs[1:] / lrs[:-1] >= trials_module.SPACING).all()


def test_after_a_sweep_twice_its_default_length_the_set_reaches_the_curves_lowest_point():
    rng = np.random.default_rng(0)
    curve = _sweep(lambda lrs: 2 - np.exp(-((np.log10(lrs) + 2) ** 2)) + rng.normal(0, 0.01, 300))
    long = SweepResult(curve.lrs, curve.losses, meta={"num_steps": 1500, "default_steps": 300})
    usual = SweepResult(curve.lrs, curve.losses, meta={"num_steps": 300, "default_steps": 300})
    assert long.longer_than_default and not usual.longer_than_default
    assert long.lowest == pytest.approx(1e-2, rel=0.3) and long.lowest > 2 * long.suggestion
    extended, _ = default_lrs(long, 0.05)
    plain, _ = default_lrs(usual, 0.05)
    assert long.lowest in extended and long.lowest not in plain
    assert set(plain) <= set(extended) and plain.max() <= max(usual.suggestion, 0.05)


def test_a_reading_with_no_answer_gives_decades_around_the_current_lr_and_says_so():
    flat = _sweep(lambda lrs: 2 + np.random.default_rng(1).normal(0, 0.05, len(lrs)))
    assert flat.suggestion is None
    lrs, note = default_lrs(flat, 0.01)
    np.testing.assert_allclose(lrs, [1e-3, 0.01 / 3, 0.01, 0.03, 0.1])
    assert "no LR to try" in note and "/10 to x10" in note


@pytest.mark.parametrize(
    ("planned", "n_lrs", "steps"),
    [(300, 4, 200), (None, 4, 200), (300, 5, 200), (150, 4, 150), (40, 4, 40), (40, 5, 32)],
)
def test_trials_after_a_short_sweep_cost_at_most_four_sweeps(planned, n_lrs, steps):
    """200 steps each, fewer where that would cost more than four sweeps' worth (None: the
    sweep's length is its number of points, here 300)."""
    result = _sweep(lambda lrs: 2 - np.exp(-((np.log10(lrs) + 2) ** 2)))
    if planned is not None:
        result = SweepResult(lrs=result.lrs, losses=result.losses, meta={"num_steps": planned})
    assert default_steps(result, n_lrs) == steps
    assert steps * n_lrs <= trials_module.BUDGET * (planned or len(result))


def test_a_tiny_sweep_still_gets_trials_long_enough_to_score():
    lrs = np.geomspace(1e-3, 1, 10)
    result = SweepResult(lrs=lrs, losses=2 - lrs, meta={"num_steps": 10})
    assert default_steps(result, 5) == trials_module.MIN_TRIAL >= lrwidget.data.MIN_STEPS


# --- try_lrs on Keras --------------------------------------------------------------------------
SHORT = dict(batch_size=32, steps=20)


def trained_model(optimizer=None, **kwargs):
    """A model whose optimizer has momenta and a step count (so a lost update would show)."""
    model = make_model(optimizer, **kwargs)
    rng = np.random.default_rng(0)
    model.fit(rng.random((128, 64), "float32"), rng.integers(0, 10, 128), verbose=0)
    return model


def _rng_states():
    return random.getstate(), np.random.get_state()  # noqa: NPY002


def _assert_same_rng(before):
    after = _rng_states()
    assert after[0] == before[0]
    for a, b in zip(after[1], before[1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_after_all_trials_the_model_its_optimizer_lr_and_the_rngs_are_as_before(digits):
    x, y = digits
    model = trained_model(dropout=True, batchnorm=True)
    before, lr_variable = state(model), model.optimizer._learning_rate
    rngs = _rng_states()
    t = lrwidget.try_lrs(model, x, y, lrs=[1e-3, 0.05], **SHORT)
    assert t.stop_reason == "complete" and t.outcomes == ["complete", "complete"]
    assert [len(v) for v in t.losses] == [20, 20]
    assert_same_state(before, state(model))
    assert model.optimizer._learning_rate is lr_variable
    _assert_same_rng(rngs)
    assert t.meta["baseline_lr"] == pytest.approx(0.01) and t.meta["source"] == "user"


def test_an_optimizer_on_a_schedule_gets_it_back_and_its_lr_now_is_the_baseline(digits):
    x, y = digits
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    model = trained_model(keras.optimizers.SGD(schedule))
    before = state(model)
    t = lrwidget.try_lrs(model, x, y, lrs=[1e-3, 1e-2], **SHORT)
    assert t.outcomes == ["complete", "complete"]
    assert model.optimizer._learning_rate is schedule
    assert t.meta["baseline_lr"] == pytest.approx(float(schedule(model.optimizer.iterations)))
    assert_same_state(before, state(model))


def test_every_trial_sees_the_same_batches_in_the_same_order_and_the_same_dropout(digits):
    x, y = digits
    model = make_model(dropout=True)
    t = lrwidget.try_lrs(model, x, y, lrs=[0.05, 0.05, 0.2], **SHORT)
    np.testing.assert_array_equal(t.losses[0], t.losses[1])  # same LR: the same run, bitwise
    assert t.losses[2][0] == t.losses[0][0]  # the same first batch at the same start
    # Not so by accident: another seed shuffles (and drops) otherwise.
    other = lrwidget.try_lrs(model, x, y, lrs=[0.05], seed=1, **SHORT)
    assert not np.array_equal(other.losses[0], t.losses[0])


def test_trials_run_in_groups_once_the_step_time_is_known_with_the_same_losses(digits):
    x, y = digits
    model = make_model()
    first = lrwidget.try_lrs(model, x, y, lrs=[0.02, 0.1], batch_size=32, steps=60)
    again = lrwidget.try_lrs(model, x, y, lrs=[0.02, 0.1], batch_size=32, steps=60)
    assert first.meta["steps_per_call"][0] == 1 and max(again.meta["steps_per_call"]) > 1
    for a, b in zip(first.losses, again.losses, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def test_a_stop_keeps_finished_trials_and_restores_the_model(digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    stop = threading.Event()

    def on_point(trial, step, loss):
        if (trial, step) == (1, 5):
            stop.set()

    t = lrwidget.try_lrs(
        model, x, y, lrs=[1e-3, 1e-2, 0.1], on_point=on_point, stop_event=stop, **SHORT
    )
    assert t.stop_reason == "stopped" and t.outcomes == ["complete", "partial", "not run"]
    assert len(t.losses[1]) == 6 and np.isfinite(t.scores[0]) and t.best == 1e-3
    assert_same_state(before, state(model))


class FailAt(keras.callbacks.Callback):
    def __init__(self, call, error):
        super().__init__()
        self.call, self.error, self.calls = call, error, 0

    def on_train_batch_end(self, batch, logs=None):
        self.calls += 1
        if self.calls == self.call:
            raise self.error


@pytest.mark.parametrize(
    ("error", "reason"), [(RuntimeError("boom"), "error"), (KeyboardInterrupt(), "interrupted")]
)
def test_an_error_mid_trial_restores_the_model_and_carries_the_finished_trials(
    digits, error, reason
):
    x, y = digits
    model = trained_model(dropout=True)
    before, rngs = state(model), _rng_states()
    with pytest.raises(type(error)) as caught:
        lrwidget.try_lrs(
            model, x, y, lrs=[1e-3, 1e-2, 0.1], callbacks=[FailAt(20 + 7, error)], **SHORT
        )
    t = caught.value.trials
    assert t.stop_reason == reason and t.outcomes == ["complete", "partial", "not run"]
    assert t.best == 1e-3
    assert_same_state(before, state(model))
    _assert_same_rng(rngs)
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)


def test_an_unbuilt_optimizer_is_left_with_zero_slots_and_iteration_zero(digits):
    x, y = digits
    model = make_model(keras.optimizers.Adam(1e-3))
    assert not model.optimizer.built
    lrwidget.try_lrs(model, x, y, lrs=[1e-3, 1e-2], **SHORT)
    assert int(model.optimizer.iterations.numpy()) == 0
    slots = [v for v in model.optimizer.variables if "iteration" not in v.path]
    slots = [v for v in slots if "learning_rate" not in v.path]
    assert slots and all(not np.any(v.numpy()) for v in slots)


def test_a_tiny_and_a_huge_lr_lose_to_a_middle_one(digits):
    x, y = digits
    model = make_model(keras.optimizers.SGD(0.01, momentum=0.9))
    t = lrwidget.try_lrs(model, x, y, lrs=[1e-5, 0.05, 50.0], batch_size=32, steps=60)
    assert t.best == 0.05 and t.scores[0] > t.scores[1]
    assert t.outcomes[2] == "diverged" and len(t.losses[2]) < 60
    assert divergence_step(t.losses[2]) == len(t.losses[2]) - 1  # stopped where the rule fires


def test_a_sweep_chooses_the_lrs_and_validation_data_ranks_them(digits):
    x, y = digits
    model = make_model()
    sweep = lrwidget.find_lr(model, x, y, batch_size=32, num_steps=100, end_lr=10.0)
    expected, _ = default_lrs(sweep, 0.01)
    t = lrwidget.try_lrs(model, x, y, lrs=sweep, validation_data=(x[:200], y[:200]), **SHORT)
    np.testing.assert_allclose(t.lrs, expected, rtol=1e-6)
    assert t.meta["source"] in ("candidates", "fallback") and t.score_kind == "validation loss"
    assert all(len(v) == len(validation_steps(20)) for v in t.val_losses)


def test_trials_chosen_by_a_short_sweep_default_to_its_step_budget(digits):
    x, y = digits
    model = make_model()
    sweep = lrwidget.find_lr(model, x, y, batch_size=32, num_steps=30, end_lr=10.0)
    t = lrwidget.try_lrs(model, x, y, lrs=sweep, batch_size=32)
    assert t.steps == default_steps(sweep, len(t.lrs)) < trials_module.DEFAULT_STEPS
    assert sum(len(v) for v in t.losses) <= trials_module.BUDGET * 30
    chosen = lrwidget.try_lrs(model, x, y, lrs=[0.01], batch_size=32)  # no sweep: the default
    assert chosen.steps == trials_module.DEFAULT_STEPS


def test_each_trial_runs_with_its_own_settings_and_the_users_come_back(digits):
    x, y = digits
    model = trained_model(keras.optimizers.AdamW(1e-3, weight_decay=0.004))
    before = state(model)
    settings_ = [{"weight_decay": 0.0}, {"weight_decay": 0.5}]
    t = lrwidget.try_lrs(model, x, y, lrs=[1e-2, 1e-2], settings=settings_, **SHORT)
    assert t.losses[0][0] == t.losses[1][0] and not np.array_equal(t.losses[0], t.losses[1])
    assert t.labels == ["1.0e-2 · weight_decay=0", "1.0e-2 · weight_decay=0.5"]
    assert model.optimizer.weight_decay == 0.004
    assert_same_state(before, state(model))


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        (dict(lrs=[]), "lrs is empty"),
        (dict(lrs=[1e-2, -1.0]), "lrs\\[1\\]"),
        (dict(lrs="0.1"), "list of learning rates"),
        (dict(lrs=[1e-2], steps=3), "steps"),
        (dict(lrs=[1e-2], settings=[{}, {}]), "one per LR"),
        (dict(lrs=[1e-2], settings=[{"beta_1": 0.9}]), "settings\\[0\\]\\['beta_1'\\]"),
        (dict(lrs=[1e-2], settings=[{"batch_size": 16}]), "batch_size"),
        (dict(lrs=[1e-2], seed=-1), "seed"),
    ],
)
def test_bad_arguments_are_refused_before_anything_changes(digits, kwargs, named):
    x, y = digits
    model = trained_model()
    before = state(model)
    with pytest.raises((ValueError, TypeError), match=named):
        lrwidget.try_lrs(model, x, y, batch_size=32, **kwargs)
    assert_same_state(before, state(model))


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_trials_restore_and_share_batches_on_other_backends(backend):
    import importlib.util
    import os
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (CI installs it: see .ci/run)")
    script = Path(__file__).with_name("trials_backend_check.py")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend and out["outcomes"] == ["complete"] * 3, out
    assert out["same_batches"] and out["same_first"] and out["restored"], out
    assert out["weight_decay_back"], out
