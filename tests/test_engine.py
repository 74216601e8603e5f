"""The Keras range test: exact batch losses, the LR ladder really applied, nothing lost, inputs."""

import math
import os
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_same_state, make_model, state
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lrwidget
from lrwidget import data

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


class BatchLossProbe(keras.callbacks.Callback):
    """Computes, independently of Keras's trackers, the loss of each batch before its step.

    It runs after the sweep's callback (which has set the LR), with the weights the step will
    use, on the batch the step will see (the Dataset's batches come in a fixed order).
    """

    def __init__(self, batches):
        super().__init__()
        self.batches = batches
        self.losses, self.lrs = [], []
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        xb, yb = self.batches[self.step % len(self.batches)]
        pred = self.model(xb, training=True)
        self.losses.append(float(LOSS(yb, pred)))
        self.lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
        self.step += 1


def _fixed_batches(x, y, batch_size, n_batches):
    return [
        (x[i * batch_size : (i + 1) * batch_size], y[i * batch_size : (i + 1) * batch_size])
        for i in range(n_batches)
    ]


def test_each_recorded_loss_is_the_true_loss_of_its_batch_not_the_running_mean(digits):
    x, y = digits
    batches = _fixed_batches(x, y, 64, 7)
    ds = tf.data.Dataset.from_tensor_slices((x[: 64 * 7], y[: 64 * 7])).batch(64)
    model = make_model()
    probe = BatchLossProbe(batches)
    # 7 batches cycled over 30 steps: three epochs, as for any small data set.
    r = lrwidget.find_lr(model, ds, start_lr=1e-3, end_lr=1.0, num_steps=30, callbacks=[probe])
    assert len(r) == 30 and r.stop_reason == "completed"
    np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)
    # The running mean Keras logs would differ by far more than the tolerance.
    running = np.concatenate(
        [np.cumsum(c) / np.arange(1, len(c) + 1) for c in np.split(np.array(probe.losses[:28]), 4)]
    )
    assert np.max(np.abs(running - np.array(probe.losses[:28])) / running) > 1e-3


def test_the_lr_of_every_step_is_applied_first_exactly_start_last_exactly_end(digits):
    x, y = digits
    model = make_model()
    probe = BatchLossProbe(_fixed_batches(x, y, 32, 1))
    r = lrwidget.find_lr(
        model,
        x,
        y,
        batch_size=32,
        start_lr=1e-4,
        end_lr=0.5,
        num_steps=40,
        callbacks=[probe],
        diverge_factor=1e9,
    )
    assert r.lrs[0] == 1e-4 and r.lrs[-1] == 0.5
    # The optimizer holds its LR in float32.
    np.testing.assert_array_equal(np.float32(probe.lrs), np.float32(r.lrs))


def test_a_later_sweep_on_the_same_model_applies_its_own_lrs_and_exact_losses(digits):
    """The sweep's compiled step is kept for the next sweep: that one must still step its own
    ladder from its own first iteration (here: another range and length, after more training)."""
    x, y = digits
    batches = _fixed_batches(x, y, 64, 5)
    ds = tf.data.Dataset.from_tensor_slices((x[: 64 * 5], y[: 64 * 5])).batch(64)
    model = make_model()
    kept = []
    for start, end, steps in ((1e-4, 0.1, 20), (1e-3, 1.0, 35), (1e-3, 1.0, 35)):
        model.fit(ds, shuffle=False, verbose=0)
        probe = BatchLossProbe(batches)
        r = lrwidget.find_lr(
            model, ds, start_lr=start, end_lr=end, num_steps=steps, callbacks=[probe]
        )
        assert len(r) == steps and r.stop_reason == "completed"
        np.testing.assert_array_equal(np.float32(probe.lrs), np.float32(r.lrs))
        np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)
        kept.append(model.__dict__["_lrwidget_sweep_step"].functions[1])
    assert kept[0] is kept[1] is kept[2]  # traced once, by the first sweep


def test_a_recompiled_model_gets_a_sweep_step_of_its_new_loss(digits):
    x, y = digits
    batches = _fixed_batches(x, y, 64, 5)
    ds = tf.data.Dataset.from_tensor_slices((x[: 64 * 5], y[: 64 * 5])).batch(64)
    model = make_model()
    lrwidget.find_lr(model, ds, num_steps=10, end_lr=0.1)
    model.compile(optimizer=model.optimizer, loss=lambda yt, yp: 2.0 * LOSS(yt, yp))
    probe = BatchLossProbe(batches)
    r = lrwidget.find_lr(model, ds, num_steps=10, end_lr=0.1, callbacks=[probe])
    np.testing.assert_allclose(r.losses, 2 * np.array(probe.losses), rtol=1e-5)


def test_after_a_sweep_fit_and_evaluate_log_epoch_means_again(digits):
    """Inside the sweep the loss tracker zeroes itself every step; afterwards training and
    evaluation (also ones first traced during the sweep) report the epoch's mean again."""
    x, y = digits
    swept, twin = make_model(), make_model()
    lrwidget.find_lr(swept, x, y, batch_size=64, num_steps=12, validation_data=(x, y))
    for m in (swept, twin):
        assert m.test_function is None and m.train_function is None
    means = [m.evaluate(x, y, batch_size=64, verbose=0) for m in (swept, twin)]
    assert means[0] == means[1]
    logs = [
        m.fit(x, y, batch_size=64, shuffle=False, verbose=0).history["loss"] for m in (swept, twin)
    ]
    assert logs[0] == logs[1]


def test_linear_mode(digits):
    x, y = digits
    r = lrwidget.find_lr(
        make_model(), x, y, batch_size=128, start_lr=0.001, end_lr=0.01, num_steps=20, mode="linear"
    )
    np.testing.assert_allclose(np.diff(r.lrs), 0.009 / 19)
    assert r.meta["mode"] == "linear"


OPTIMIZERS = {
    "sgd_nesterov": lambda: keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "adam": lambda: keras.optimizers.Adam(1e-3),
    "adamw": lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.01),
    "rmsprop": lambda: keras.optimizers.RMSprop(1e-3, momentum=0.5),
    "schedule": lambda: keras.optimizers.SGD(
        keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.5),
        momentum=0.9,
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_sweep_restores_model_and_optimizer_bitwise(digits, name):
    x, y = digits
    model = make_model(OPTIMIZERS[name](), dropout=True, batchnorm=True)
    model.fit(x, y, batch_size=128, epochs=1, verbose=0)  # real momenta, BN stats, seeds
    optimizer = model.optimizer
    schedule = optimizer._learning_rate
    before = state(model)
    r = lrwidget.find_lr(model, x, y, batch_size=64, num_steps=60, end_lr=100.0)
    assert len(r) > 5
    assert model.optimizer is optimizer and optimizer._learning_rate is schedule
    assert_same_state(before, state(model))
    if name == "schedule":
        # The user's schedule drives training again, not the sweep's LR.
        expected = float(schedule(optimizer.iterations))
        assert float(optimizer.learning_rate) == pytest.approx(expected)
        model.fit(x[:64], y[:64], batch_size=64, epochs=1, verbose=0)
        assert float(optimizer.learning_rate) == pytest.approx(
            float(schedule(optimizer.iterations))
        )


def test_a_sweep_is_invisible_to_the_training_that_follows(digits):
    """Sweep then fit gives bitwise the weights of fit alone, even for an optimizer that was not
    built yet before the sweep (its momenta are put back to their fresh values)."""
    x, y = digits
    twins = [make_model(keras.optimizers.Adam(1e-3), dropout=True, batchnorm=True) for _ in "ab"]
    lrwidget.find_lr(twins[0], x, y, batch_size=64, num_steps=30)
    for m in twins:
        keras.utils.set_random_seed(7)
        m.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    assert_same_state(state(twins[1]), state(twins[0]))


class Boom(keras.callbacks.Callback):
    def __init__(self, at, exc):
        super().__init__()
        self.at, self.exc = at, exc

    def on_train_batch_end(self, batch, logs=None):
        if self.at == 0:
            raise self.exc
        self.at -= 1


@pytest.mark.parametrize("exc", [RuntimeError("user callback failed"), KeyboardInterrupt()])
def test_exceptions_mid_sweep_propagate_after_the_model_is_restored(digits, exc):
    x, y = digits
    model = make_model(keras.optimizers.Adam(1e-3))
    model.fit(x, y, batch_size=256, epochs=1, verbose=0)
    model.compile(optimizer=model.optimizer, loss=LOSS, steps_per_execution=3)
    before = state(model)
    with pytest.raises(type(exc)):
        lrwidget.find_lr(model, x, y, batch_size=64, num_steps=40, callbacks=[Boom(5, exc)])
    assert_same_state(before, state(model))
    assert model.steps_per_execution == 3 and not model.stop_training


def test_stop_event_ends_the_sweep_after_the_current_batch(digits):
    x, y = digits
    stop = threading.Event()
    seen = []

    def on_point(step, lr, loss):
        seen.append((step, lr, loss))
        if step == 7:
            stop.set()

    model = make_model()
    before = state(model)
    r = lrwidget.find_lr(
        model, x, y, batch_size=64, num_steps=50, on_point=on_point, stop_event=stop
    )
    assert r.stop_reason == "stopped" and len(r) == 8
    assert [s for s, _, _ in seen] == list(range(8))
    np.testing.assert_array_equal([lr for _, lr, _ in seen], r.lrs)
    np.testing.assert_array_equal([loss for _, _, loss in seen], r.losses)
    # fit() built the optimizer during the sweep; the model's own weights are untouched.
    after = state(model)
    assert all(np.array_equal(after[k], v) for k, v in before.items() if k.startswith("model/"))


def test_divergence_stops_the_sweep_and_is_recorded(digits):
    x, y = digits
    r = lrwidget.find_lr(
        make_model(), x, y, batch_size=64, start_lr=1e-3, end_lr=1e4, num_steps=200
    )
    assert r.stop_reason in ("diverged", "non_finite")
    assert len(r) < 200 and r.useful < len(r)
    assert r.candidates and all(c.lr < r.lrs[r.useful] for c in r.candidates)


def test_nan_loss_at_the_first_batch(digits):
    x, y = digits
    model = make_model()
    model.compile(optimizer="sgd", loss=lambda yt, yp: keras.ops.log(keras.ops.mean(yp) * 0 - 1))
    before = state(model)
    r = lrwidget.find_lr(model, x, y, batch_size=64, num_steps=20)
    assert r.stop_reason == "non_finite" and len(r) == 1 and np.isnan(r.losses[0])
    assert r.candidates == [] and r.suggestion is None
    after = state(model)
    assert all(np.array_equal(after[k], v) for k, v in before.items() if k.startswith("model/"))


def test_steps_per_execution_still_gives_one_lr_per_step(digits):
    x, y = digits
    model = make_model()
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss=LOSS, steps_per_execution=4)
    probe = BatchLossProbe(_fixed_batches(x, y, 32, 1))
    r = lrwidget.find_lr(model, x, y, batch_size=32, num_steps=24, callbacks=[probe])
    assert len(r) == 24 and len(probe.lrs) == 24
    np.testing.assert_array_equal(np.float32(probe.lrs), np.float32(r.lrs))
    assert model.steps_per_execution == 4


def test_validation_mode_records_the_validation_loss_after_each_step(digits):
    x, y = digits
    xv, yv = x[-300:], y[-300:]

    class ValProbe(keras.callbacks.Callback):
        losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(LOSS(yv, self.model(xv, training=False))))

    probe = ValProbe()
    r = lrwidget.find_lr(
        make_model(),
        x[:-300],
        y[:-300],
        batch_size=64,
        num_steps=25,
        validation_data=(xv, yv),
        callbacks=[probe],
    )
    np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)
    assert not np.allclose(r.losses, r.train_losses)
    assert r.meta["validation"] and r.meta["validation_size"] == 300


class SubsetLossProbe(keras.callbacks.Callback):
    """The loss on ``(xv, yv)`` after each step, computed independently of the sweep."""

    def __init__(self, xv, yv):
        super().__init__()
        self.xv, self.yv, self.losses = xv, yv, []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(LOSS(self.yv, self.model(self.xv, training=False))))


def test_validation_subset_is_fixed_and_sized(digits):
    x, y = digits
    # A Dataset is read in its own order: the subset is its first 120 samples, at every step.
    probe = SubsetLossProbe(x[:120], y[:120])
    r = lrwidget.find_lr(
        make_model(),
        x,
        y,
        batch_size=64,
        num_steps=12,
        validation_data=tf.data.Dataset.from_tensor_slices((x, y)).batch(50),
        validation_size=120,
        callbacks=[probe],
    )
    assert r.meta["validation_size"] == 120 and len(r) == 12
    np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)


def test_validation_arrays_sorted_by_class_are_measured_on_a_mixed_subset(digits):
    x, y = digits
    order = np.argsort(y, kind="stable")
    xv, yv = x[order], y[order]  # class 0 first, then 1, ...
    xs, ys, _ = data.validation_subset((xv, yv), 120)
    assert len(np.unique(ys)) == 10  # the seeded draw (tests/test_data.py)
    probe = SubsetLossProbe(xs, ys)
    r = lrwidget.find_lr(
        make_model(),
        x,
        y,
        batch_size=64,
        num_steps=12,
        validation_data=(xv, yv),
        validation_size=120,
        callbacks=[probe],
    )
    assert r.meta["validation_size"] == 120 and len(r) == 12
    np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)


def test_default_length_is_one_epoch_but_at_least_the_minimum_steps(digits):
    x, y = digits
    least = data.DEFAULT_MIN_STEPS
    # 10 per epoch; an end_lr low enough that no early stop can hide a wrong length.
    small = lrwidget.find_lr(make_model(), x[:640], y[:640], batch_size=64, end_lr=1e-2)
    assert small.meta["num_steps"] == least and small.meta["steps_done"] == least
    assert len(small) == least and small.stop_reason == "completed"
    per_epoch = math.ceil(len(x) / 4)  # 450
    assert per_epoch > least
    big = lrwidget.find_lr(make_model(), x, y, batch_size=4, end_lr=1e-3)
    assert big.meta["num_steps"] == per_epoch
    assert len(big) == per_epoch and big.stop_reason == "completed"


def _gen(x, y, n):
    for i in range(n):
        yield x[i * 32 : (i + 1) * 32], y[i * 32 : (i + 1) * 32]


def test_generators_and_pydatasets(digits):
    x, y = digits
    r = lrwidget.find_lr(make_model(), _gen(x, y, 50), num_steps=20, end_lr=1e-2)
    assert len(r) == 20 and r.stop_reason == "completed" and r.meta["data"] == "generator"
    short = lrwidget.find_lr(make_model(), _gen(x, y, 12), num_steps=20, end_lr=1e-2)
    assert len(short) == 12 and short.stop_reason == "data_exhausted"

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            return x[i * 32 : (i + 1) * 32], y[i * 32 : (i + 1) * 32]

    r = lrwidget.find_lr(make_model(), Batches(), num_steps=15, end_lr=1e-2)
    assert len(r) == 15 and r.stop_reason == "completed"


def test_datasets_are_cycled_and_infinite_ones_need_num_steps(digits):
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices((x[:160], y[:160])).batch(32)  # 5 batches
    r = lrwidget.find_lr(make_model(), ds, num_steps=13, end_lr=1e-2)
    assert len(r) == 13 and r.stop_reason == "completed"
    with pytest.raises(ValueError, match="num_steps"):
        lrwidget.find_lr(make_model(), ds.repeat())
    r = lrwidget.find_lr(make_model(), ds.repeat(), num_steps=11, end_lr=1e-2)
    assert len(r) == 11


def _bad_calls(x, y, ds):
    uncompiled = make_model(compile=False)
    return [
        (dict(model=uncompiled), "compile"),
        (dict(start_lr=0), "start_lr"),
        (dict(start_lr=-1e-3), "start_lr"),
        (dict(end_lr=1e-8), "end_lr"),
        (dict(end_lr=float("inf")), "end_lr"),
        (dict(num_steps=3), "num_steps"),
        (dict(mode="cosine"), "mode"),
        (dict(batch_size=0), "batch_size"),
        (dict(x=np.where(x > 0.5, np.nan, x)), "NaN"),
        (dict(x=x[:0], y=y[:0]), "empty"),
        (dict(y=y[:10]), "y"),
        (dict(x=ds, y=y), "y must be None"),
        (dict(x=ds, y=None, batch_size=32), "batch_size must be None"),
        (dict(x="data.csv", y=None), "not supported"),
        (dict(validation_data=[1, 2, 3]), "validation_data"),
        (dict(validation_size=0), "validation_size"),
        (dict(spacing=0.5), "spacing"),
        (dict(beta=1.0), "beta"),
    ]


def test_bad_input_is_refused_before_anything_changes(digits, tmp_path, monkeypatch):
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    model = make_model()
    model.fit(x[:64], y[:64], batch_size=32, verbose=0)
    before = state(model)
    monkeypatch.chdir(tmp_path)
    for overrides, message in _bad_calls(x, y, ds):
        kwargs = dict(model=model, x=x, y=y, batch_size=32) | overrides
        with pytest.raises((ValueError, TypeError), match=message):
            lrwidget.find_lr(**kwargs)
            pytest.fail(f"no error for {overrides}")
        assert_same_state(before, state(model))
    assert os.listdir(tmp_path) == []


def test_nothing_is_written_to_the_working_directory(digits, tmp_path, monkeypatch):
    x, y = digits
    monkeypatch.chdir(tmp_path)
    lrwidget.find_lr(make_model(), x, y, batch_size=64, num_steps=15)
    assert os.listdir(tmp_path) == []


def test_metadata_describes_the_sweep(digits):
    x, y = digits
    r = lrwidget.find_lr(
        make_model(keras.optimizers.Adam()), x, y, batch_size=64, num_steps=15, end_lr=1e-2
    )
    meta = r.meta
    assert meta["optimizer"] == "Adam" and meta["batch_size"] == 64
    assert meta["start_lr"] == 1e-7 and meta["end_lr"] == 1e-2 and meta["num_steps"] == 15
    assert meta["keras"] == keras.__version__ and meta["seconds"] > 0


@given(
    hnp.arrays(
        st.sampled_from([np.float16, np.float32, np.float64]),
        st.integers(1, 40),
        elements=st.one_of(
            st.floats(width=16), st.sampled_from([math.nan, math.inf, -math.inf, 6e4, -6e4])
        ),
    )
)
def test_the_finite_check_on_data_agrees_with_isfinite_even_where_the_sum_overflows(a):
    assert data._all_finite(a) == bool(np.isfinite(a).all())


def test_finite_data_whose_sum_overflows_is_accepted(digits):
    x, y = digits
    big = np.full((len(x), 64), 3e38, np.float32)
    assert not np.isfinite(big.sum())
    r = lrwidget.find_lr(make_model(), big, y, batch_size=64, num_steps=12)
    assert len(r) >= 1  # refused before, had the check trusted the sum alone


def test_the_engine_runs_a_constant_ladder_and_returns_raw_arrays_only_on_a_claimed_model(digits):
    from lrwidget.keras_engine import run_ladder
    from lrwidget.keras_state import exclusive

    x, y = digits
    model = make_model()
    model.fit(x[:64], y[:64], verbose=0)
    before = state(model)
    plan = data.plan_fit(x, y, batch_size=32, num_steps=25)
    validation = data.validation_subset((x[:100], y[:100]), 100)
    with pytest.raises(RuntimeError, match="claimed"):
        run_ladder(model, plan, np.full(25, 0.05))
    seen = []

    def on_step(step, train_loss, val_loss):
        seen.append((step, val_loss is not None))
        return "enough" if step == 19 else None

    with exclusive(model):
        run = run_ladder(
            model,
            plan,
            np.full(25, 0.05),
            validation=validation,
            validate=[4, 19, 24],
            on_step=on_step,
        )
    assert run.stop_reason == "enough" and len(run) == 20 and (run.lrs == 0.05).all()
    assert run.val_index.tolist() == [4, 19] and np.isfinite(run.val_losses).all()
    assert seen == [(i, i in (4, 19)) for i in range(20)]
    assert np.isfinite(run.train_losses).all() and run.steps_per_call == 1
    assert_same_state(before, state(model))


def test_a_sweep_far_longer_than_its_default_says_a_longer_sweep_reads_lower(digits):
    x, y = digits  # 1,797 samples in batches of 32: the default length is 300 steps
    model = make_model()
    long = lrwidget.find_lr(model, x, y, batch_size=32, num_steps=600, end_lr=10.0)
    assert long.meta["default_steps"] == 300
    assert long.suggestion is not None
    assert any("a longer sweep reads a lower LR" in n for n in long.notes)
    default = lrwidget.find_lr(model, x, y, batch_size=32, end_lr=10.0)
    assert not any("longer" in n for n in default.notes)
