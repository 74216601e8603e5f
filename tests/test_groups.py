"""Steps in groups: once a model's step time is known, a sweep on TensorFlow runs several steps
per call of its compiled step. Nothing the user sees may change but the time it takes."""

import math
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_same_state, make_model, state
from hypothesis import given
from hypothesis import strategies as st

import lrwidget
from lrwidget import keras_state
from lrwidget.keras_sweep import GROUP_SECONDS, MAX_GROUP, group_size


def _dataset(digits, batches=7):
    x, y = digits
    return tf.data.Dataset.from_tensor_slices((x[: 64 * batches], y[: 64 * batches])).batch(64)


def _next_sweep_in_groups_of(model, size):
    """As if the last sweep had measured steps that fit ``size`` to a group."""
    kept = model.__dict__[keras_state.SweepStep.ATTRIBUTE]
    kept.step_seconds = GROUP_SECONDS / (size + 0.5)


def test_group_size_is_one_until_the_step_time_is_known_then_fits_the_group_time():
    assert group_size(None) == 1 and group_size(0.0) == 1 and group_size(math.nan) == 1
    assert group_size(0.001) == 32  # 1 ms steps: the largest group
    assert group_size(0.004) == 8
    assert group_size(0.015) == 2
    assert group_size(0.2) == 1  # a slow model: Stop and divergence act after every step


@given(st.floats(1e-7, 100.0))
def test_group_size_is_the_largest_power_of_two_whose_group_lasts_at_most_the_group_time(step):
    size = group_size(step)
    assert size in [1 << i for i in range(MAX_GROUP.bit_length())]
    assert size == 1 or size * step <= GROUP_SECONDS
    assert size == MAX_GROUP or 2 * size * step > GROUP_SECONDS


def test_a_model_s_first_sweep_runs_a_step_per_call_and_times_it_for_the_next(digits):
    model = make_model()
    first = lrwidget.find_lr(model, _dataset(digits), num_steps=40, end_lr=1.0)
    assert first.meta["steps_per_call"] == 1
    assert 0 < first.meta["step_seconds"] < 1
    second = lrwidget.find_lr(model, _dataset(digits), num_steps=40, end_lr=1.0)
    assert second.meta["steps_per_call"] == group_size(first.meta["step_seconds"])


@pytest.mark.parametrize("num_steps", [37, 64])
def test_a_sweep_in_groups_records_the_same_losses_and_lrs_and_restores_exactly(digits, num_steps):
    """37 steps in groups of 8 ends inside a group: the steps run past the end are dropped."""
    model = make_model(keras.optimizers.Adam(1e-3))
    model.compile(optimizer=model.optimizer, loss=model.loss, steps_per_execution=3)
    kwargs = dict(start_lr=1e-4, end_lr=0.5, num_steps=num_steps)
    one = lrwidget.find_lr(model, _dataset(digits), **kwargs)
    before = state(model)
    _next_sweep_in_groups_of(model, 8)
    grouped = lrwidget.find_lr(model, _dataset(digits), **kwargs)
    assert (one.meta["steps_per_call"], grouped.meta["steps_per_call"]) == (1, 8)
    assert len(grouped) == len(one) == num_steps
    assert grouped.stop_reason == one.stop_reason == "completed"
    np.testing.assert_array_equal(grouped.lrs, one.lrs)
    np.testing.assert_allclose(grouped.losses, one.losses, rtol=1e-6)
    assert_same_state(before, state(model))
    assert model.steps_per_execution == 3 and not model.stop_training


def test_in_groups_the_sweep_still_stops_at_the_step_that_diverged(digits):
    model = make_model()
    kwargs = dict(start_lr=1e-3, end_lr=1e4, num_steps=200)
    one = lrwidget.find_lr(model, _dataset(digits), **kwargs)
    _next_sweep_in_groups_of(model, 16)
    grouped = lrwidget.find_lr(model, _dataset(digits), **kwargs)
    assert grouped.meta["steps_per_call"] == 16
    assert one.stop_reason in ("diverged", "non_finite") and len(one) < 200
    assert (grouped.stop_reason, len(grouped)) == (one.stop_reason, len(one))
    np.testing.assert_allclose(grouped.losses, one.losses, rtol=1e-6)


def test_in_groups_stop_ends_the_sweep_at_the_point_it_is_seen(digits):
    model = make_model()
    lrwidget.find_lr(model, _dataset(digits), num_steps=20, end_lr=1.0)
    stop, seen = threading.Event(), []

    def on_point(step, lr, loss):
        seen.append(step)
        if step == 10:
            stop.set()

    _next_sweep_in_groups_of(model, 8)
    r = lrwidget.find_lr(
        model, _dataset(digits), num_steps=50, end_lr=1.0, on_point=on_point, stop_event=stop
    )
    assert r.meta["steps_per_call"] == 8
    assert r.stop_reason == "stopped" and len(r) == 11 and seen == list(range(11))


@pytest.mark.parametrize("at", [0, 3, 7])
def test_in_groups_a_stop_in_the_first_group_ends_the_sweep_at_that_point(digits, at):
    """The first call of the compiled step runs steps 0-7: a Stop seen while its points are
    read ends the sweep there, and the model is put back."""
    model = make_model()
    lrwidget.find_lr(model, _dataset(digits), num_steps=20, end_lr=1.0)
    before = state(model)
    stop, seen = threading.Event(), []

    def on_point(step, lr, loss):
        seen.append(step)
        if step == at:
            stop.set()

    _next_sweep_in_groups_of(model, 8)
    r = lrwidget.find_lr(
        model, _dataset(digits), num_steps=50, end_lr=1.0, on_point=on_point, stop_event=stop
    )
    assert r.meta["steps_per_call"] == 8
    assert r.stop_reason == "stopped" and len(r) == at + 1 and seen == list(range(at + 1))
    assert_same_state(before, state(model))
    assert not model.stop_training


class BatchCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def test_a_callback_with_batch_hooks_or_the_validation_loss_keeps_a_step_per_call(digits):
    x, y = digits
    model = make_model()
    lrwidget.find_lr(model, _dataset(digits), num_steps=20, end_lr=1.0)
    _next_sweep_in_groups_of(model, 8)
    counter = BatchCounter()
    r = lrwidget.find_lr(model, _dataset(digits), num_steps=30, end_lr=1.0, callbacks=[counter])
    assert r.meta["steps_per_call"] == 1 and counter.batches == 30
    _next_sweep_in_groups_of(model, 8)
    r = lrwidget.find_lr(
        model, _dataset(digits), num_steps=30, end_lr=1.0, validation_data=(x[:100], y[:100])
    )
    assert r.meta["steps_per_call"] == 1 and len(r) == 30
    # A callback without batch hooks leaves the sweep its groups.
    _next_sweep_in_groups_of(model, 8)
    r = lrwidget.find_lr(
        model, _dataset(digits), num_steps=30, end_lr=1.0, callbacks=[keras.callbacks.History()]
    )
    assert r.meta["steps_per_call"] == 8
