"""The fault matrix: whatever happens during a sweep, the model and optimizer come back bitwise.

Each case ends in a sane SweepResult or a clear error. README's "Fault matrix" table lists them;
the cases already covered elsewhere (user exception, KeyboardInterrupt, Stop, NaN at the first
batch, schedules, steps_per_execution, generators, PyDataset, Dropout/BatchNorm) live in
test_engine.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_same_state, make_model, state

import lrwidget

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _trained(model, digits):
    x, y = digits
    model.fit(x, y, batch_size=256, epochs=1, verbose=0)
    return model


def test_inf_loss_stops_with_non_finite(digits):
    x, y = digits
    model = _trained(make_model(), digits)
    model.compile(optimizer=model.optimizer, loss=lambda yt, yp: 1.0 / (keras.ops.mean(yp) * 0.0))
    before = state(model)
    r = lrwidget.find_lr(model, x, y, batch_size=64, num_steps=20)
    assert r.stop_reason == "non_finite" and len(r) == 1 and np.isinf(r.losses[0])
    assert_same_state(before, state(model))


def test_divergence_within_the_first_steps(digits):
    x, y = digits
    model = _trained(make_model(keras.optimizers.SGD()), digits)
    before = state(model)
    r = lrwidget.find_lr(model, x, y, batch_size=64, start_lr=1e3, end_lr=1e5, num_steps=50)
    assert r.stop_reason in ("diverged", "non_finite") and len(r) <= 4
    assert r.useful == len(r) - 1
    assert_same_state(before, state(model))


def test_mixed_precision_with_loss_scale_optimizer(digits):
    x, y = digits
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = make_model(keras.optimizers.Adam(1e-3))
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        _trained(model, digits)
        before = state(model)
        r = lrwidget.find_lr(model, x, y, batch_size=64, num_steps=30, end_lr=1.0)
        assert len(r) >= 10 and np.isfinite(r.losses[: r.useful]).all()
        assert_same_state(before, state(model))
    finally:
        keras.mixed_precision.set_global_policy("float32")


class LRProbe(keras.callbacks.Callback):
    """The LR the optimizer will use for each step (runs after the sweep has set it)."""

    def __init__(self):
        super().__init__()
        self.lrs = []

    def on_train_batch_begin(self, batch, logs=None):
        self.lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


@pytest.mark.parametrize("schedule", [False, True], ids=["variable_lr", "schedule"])
def test_gradient_accumulation(digits, schedule):
    x, y = digits
    lr = keras.optimizers.schedules.ExponentialDecay(0.05, 10, 0.5) if schedule else 0.01
    model = _trained(make_model(keras.optimizers.SGD(lr, gradient_accumulation_steps=2)), digits)
    before = state(model)
    probe = LRProbe()
    r = lrwidget.find_lr(model, x, y, batch_size=64, num_steps=20, end_lr=1.0, callbacks=[probe])
    assert len(r) == 20 and r.stop_reason == "completed"
    np.testing.assert_array_equal(np.float32(probe.lrs), np.float32(r.lrs))
    assert_same_state(before, state(model))


def test_multi_input_multi_output_with_loss_weights(digits):
    x, y = digits
    keras.utils.set_random_seed(0)
    a, b = keras.Input((32,), name="a"), keras.Input((32,), name="b")
    h = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([a, b]))
    outs = {
        "digit": keras.layers.Dense(10, name="digit")(h),
        "big": keras.layers.Dense(1, name="big")(h),
    }
    model = keras.Model({"a": a, "b": b}, outs)
    model.compile(
        keras.optimizers.Adam(1e-3),
        loss={"digit": LOSS, "big": "binary_crossentropy"},
        loss_weights={"digit": 1.0, "big": 0.5},
    )
    inputs = {"a": x[:, :32], "b": x[:, 32:]}
    targets = {"digit": y, "big": (y >= 5).astype("float32")[:, None]}
    model.fit(inputs, targets, batch_size=256, epochs=1, verbose=0)
    before = state(model)
    bce = keras.losses.BinaryCrossentropy()

    def weighted(digit, big):
        out = model(inputs, training=True)
        return digit * float(LOSS(y, out["digit"])) + big * float(bce(targets["big"], out["big"]))

    class WeightedLossProbe(keras.callbacks.Callback):
        """The weighted sum on the whole data with the weights the next step starts from."""

        losses, unweighted = [], []

        def on_train_batch_begin(self, batch, logs=None):
            self.losses.append(weighted(1.0, 0.5))
            self.unweighted.append(weighted(1.0, 1.0))

    probe = WeightedLossProbe()
    r = lrwidget.find_lr(
        model, inputs, targets, batch_size=len(y), num_steps=12, end_lr=0.1, callbacks=[probe]
    )
    assert len(r) == 12 and r.stop_reason == "completed"
    # One full batch a step: the recorded loss is the weighted sum Keras trains on...
    np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)
    # ... which the loss weights change by far more than that tolerance.
    assert not np.allclose(r.losses, probe.unweighted, rtol=1e-3)
    assert_same_state(before, state(model))
    keras.utils.set_random_seed(0)


def test_sample_weights_are_in_the_recorded_loss(digits):
    x, y = digits
    x, y = x[:256], y[:256]
    w = np.where(y < 5, 2.0, 0.5).astype("float32")
    model = make_model(keras.optimizers.SGD(1e-3))
    pred = model(x)
    expected = float(LOSS(y, pred, sample_weight=w))
    r = lrwidget.find_lr(model, x, y, sample_weight=w, batch_size=256, num_steps=10, end_lr=1e-6)
    assert r.losses[0] == pytest.approx(expected, rel=1e-5)
    assert r.losses[0] != pytest.approx(float(LOSS(y, pred)), rel=1e-3)


def test_a_model_that_is_not_built_yet(digits):
    x, y = digits

    def unbuilt():
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)]
        )
        model.compile(keras.optimizers.Adam(1e-3), LOSS)
        return model

    model, twin = unbuilt(), unbuilt()
    assert not model.built
    gen = ((x[i : i + 64], y[i : i + 64]) for i in range(0, 64 * 15, 64))
    r = lrwidget.find_lr(model, gen, num_steps=15, end_lr=1e-2)
    assert len(r) == 15 and r.stop_reason == "completed"  # the peeked batch was not lost
    # The weights are the freshly built ones, as if the sweep had never trained them.
    twin(x[:1])
    for a, b in zip(model.variables, twin.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(model.optimizer.iterations) == 0


def test_non_repeating_dataset_shorter_than_num_steps_is_cycled(digits):
    x, y = digits
    ds = tf.data.Dataset.from_tensor_slices((x[:96], y[:96])).batch(32)
    model = make_model()
    r = lrwidget.find_lr(model, ds, num_steps=10, end_lr=1e-2)
    assert len(r) == 10 and r.stop_reason == "completed"


def test_mirrored_strategy_reaches_every_replica():
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("distributed_check.py"))],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {
        "replicas": 2,
        "steps": 20,
        "lr_on_every_replica": True,
        "replicas_agree": True,
        "finite": True,
        "restored": True,
    }
