"""No warning a notebook would show, and nothing printed, on any input form the README lists.

A notebook shows ``UserWarning`` and ``RuntimeWarning`` from anywhere; a ``DeprecationWarning``
raised inside Keras or TensorFlow is hidden there (and out of lrwidget's hands), so it is left
alone. Each sweep runs with the other two turned into errors and stdout/stderr captured at the
file-descriptor level, where TensorFlow's own logging would land.

Not covered, on purpose: a generator that runs dry before ``num_steps`` ends the sweep with
``stop_reason="data_exhausted"`` and Keras's own "Your input ran out of data" warning, which
is true there.
"""

import contextlib
import itertools
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import make_model

import lrwidget

N, BATCH = 320, 32


@contextlib.contextmanager
def quiet(capfd):
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)
        yield
    assert capfd.readouterr() == ("", "")


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y, infinite=False, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.infinite = x, y, infinite

    @property
    def num_batches(self):
        return None if self.infinite else len(self.x) // BATCH

    def __len__(self):
        return len(self.x) // BATCH

    def __getitem__(self, i):
        i %= len(self)
        return self.x[i * BATCH : (i + 1) * BATCH], self.y[i * BATCH : (i + 1) * BATCH]


def _batches(x, y):
    """A Python generator of batches, cycling for ever."""
    while True:
        for i in range(len(x) // BATCH):
            yield x[i * BATCH : (i + 1) * BATCH], y[i * BATCH : (i + 1) * BATCH]


def _dict_model():
    """Two named inputs, as a model fed a dict (``{"a": ..., "b": ...}``)."""
    keras.utils.set_random_seed(0)
    a, b = keras.Input((32,), name="a"), keras.Input((32,), name="b")
    hidden = keras.layers.Dense(16, activation="relu")(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(10)(hidden))
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _as_dict(x):
    return {"a": x[:, :32], "b": x[:, 32:]}


def _dataset(x, y, weights=None):
    parts = (x, y) if weights is None else (x, y, weights)
    return tf.data.Dataset.from_tensor_slices(parts).batch(BATCH)


# Each form: (the model, the arguments of find_lr after the model).
FORMS = {
    "arrays": lambda x, y: (make_model(), (x, y), dict(batch_size=BATCH)),
    "arrays with sample weights": lambda x, y: (
        make_model(),
        (x, y),
        dict(batch_size=BATCH, sample_weight=np.linspace(0.5, 1.5, len(x), dtype="float32")),
    ),
    "dict arrays": lambda x, y: (_dict_model(), (_as_dict(x), y), dict(batch_size=BATCH)),
    "arrays, one epoch cycled to the default length": lambda x, y: (
        make_model(),
        (x[:64], y[:64]),
        dict(batch_size=BATCH, num_steps=None),
    ),
    "Dataset": lambda x, y: (make_model(), (_dataset(x, y),), {}),
    "Dataset with sample weights": lambda x, y: (
        make_model(),
        (_dataset(x, y, np.ones(len(x), "float32")),),
        {},
    ),
    "infinite Dataset": lambda x, y: (make_model(), (_dataset(x, y).repeat(),), {}),
    "dict Dataset": lambda x, y: (_dict_model(), (_dataset(_as_dict(x), y),), {}),
    "PyDataset": lambda x, y: (make_model(), (Batches(x, y),), {}),
    "infinite PyDataset": lambda x, y: (make_model(), (Batches(x, y, infinite=True),), {}),
    "generator": lambda x, y: (make_model(), (_batches(x, y),), {}),
    "iterator": lambda x, y: (
        make_model(),
        (itertools.cycle(zip(*_split(x, y), strict=True)),),
        {},
    ),
    "validation arrays": lambda x, y: (
        make_model(),
        (x, y),
        dict(batch_size=BATCH, validation_data=(x[:100], y[:100])),
    ),
    "validation Dataset": lambda x, y: (
        make_model(),
        (x, y),
        dict(batch_size=BATCH, validation_data=_dataset(x[:100], y[:100])),
    ),
    "validation PyDataset": lambda x, y: (
        make_model(),
        (x, y),
        dict(batch_size=BATCH, validation_data=Batches(x[:96], y[:96])),
    ),
    "validation generator": lambda x, y: (
        make_model(),
        (x, y),
        dict(batch_size=BATCH, validation_data=_batches(x[:96], y[:96])),
    ),
    "dict validation arrays": lambda x, y: (
        _dict_model(),
        (_as_dict(x), y),
        dict(batch_size=BATCH, validation_data=(_as_dict(x[:100]), y[:100])),
    ),
}


def _split(x, y):
    n = len(x) // BATCH
    return np.split(x[: n * BATCH], n), np.split(y[: n * BATCH], n)


@pytest.mark.parametrize("form", list(FORMS))
def test_a_sweep_on_each_input_form_warns_of_nothing_and_prints_nothing(digits, capfd, form):
    x, y = digits
    model, args, kwargs = FORMS[form](x[:N], y[:N])
    kwargs = {"num_steps": 12, "end_lr": 1.0, **kwargs}
    with quiet(capfd):
        r = lrwidget.find_lr(model, *args, **kwargs)
    expected = kwargs["num_steps"] or lrwidget.data.DEFAULT_MIN_STEPS
    assert len(r) == expected and r.stop_reason == "completed"


def test_a_family_and_the_widget_on_a_dataset_warn_of_nothing_and_print_nothing(
    digits, capfd, comms
):
    x, y = digits
    model = make_model(keras.optimizers.SGD(0.01, momentum=0.9))
    data = _dataset(x[:N], y[:N])
    with quiet(capfd):
        family = lrwidget.find_lr_family(
            model, data, vary={"momentum": [0.8, 0.9]}, num_steps=12, end_lr=1.0
        )
        finder = lrwidget.LRFinderWidget(model, data, num_steps=12, end_lr=1.0)
        result = finder.run(block=True)
    assert family.complete and len(result) == 12
