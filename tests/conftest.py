"""Shared fixtures: real data that ships with scikit-learn and tiny Keras models built per test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402
from recording_comm import record_comms  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

# CI replays the same examples every run (a red CI must be reproducible); locally hypothesis
# keeps exploring new ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def comms(monkeypatch):
    """Every widget created in the test gets a RecordingComm (tests/recording_comm.py, on
    ipywidgets 7 and 8 alike) that records what it sends; returns {comm_id: comm}."""
    return record_comms(monkeypatch.setattr)


@pytest.fixture(scope="session")
def digits():
    x, y = load_digits(return_X_y=True)
    return (x / 16.0).astype("float32"), y.astype("int32")


def make_model(optimizer=None, *, dropout=False, batchnorm=False, seed=0, compile=True):
    """A small MLP for the 8x8 digits; optional Dropout/BatchNorm for non-trainable state."""
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((64,)), keras.layers.Dense(32, activation="relu")]
    if batchnorm:
        layers.append(keras.layers.BatchNormalization())
    if dropout:
        layers.append(keras.layers.Dropout(0.3))
    layers.append(keras.layers.Dense(10))
    model = keras.Sequential(layers)
    if compile:
        model.compile(
            optimizer=optimizer or keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    return model


def state(model):
    """Copies of every model and optimizer variable, keyed by path, to compare bitwise."""
    out = {
        f"model/{i}/{v.name}": np.array(v.numpy(), copy=True) for i, v in enumerate(model.variables)
    }
    for i, v in enumerate(model.optimizer.variables):
        out[f"opt/{i}"] = np.array(v.numpy(), copy=True)
    return out


def assert_same_state(before, after):
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(after[key], before[key], err_msg=key, strict=True)
