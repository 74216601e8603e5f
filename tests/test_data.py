"""What the user passes, turned into the sweep's inputs: the validation subset (a fixed, seeded draw
from arrays: sorted data must not give one class; a Dataset read in its own order up to the
size asked for), and which inputs Keras is asked to shuffle."""

import numpy as np
import pytest
import tensorflow as tf
from conftest import make_model

from lrwidget.data import batches_arrays_itself, fit_arguments, plan_fit, validation_subset

CLASSES, PER_CLASS = 10, 100


def sorted_by_class():
    """1,000 samples whose labels come in blocks of one class; x[i] = i, to trace each one."""
    x = np.arange(CLASSES * PER_CLASS, dtype="float32")[:, None]
    y = np.repeat(np.arange(CLASSES), PER_CLASS).astype("int32")
    return x, y


def test_validation_subset_of_sorted_labels_mixes_classes():
    x, y = sorted_by_class()
    xs, ys, ws = validation_subset((x, y), 100)
    assert len(xs) == len(ys) == 100 and ws is None
    # A draw of 100 from 1,000 meets nearly every class; the first 100 would be class 0 only.
    assert len(np.unique(ys)) >= 8
    # Samples, not only labels, are drawn: each x keeps its own label, and none comes twice.
    idx = xs[:, 0].astype(int)
    np.testing.assert_array_equal(ys, y[idx])
    assert len(np.unique(idx)) == 100
    assert idx.max() >= 500  # from all over the data, not its first half


def test_validation_subset_of_arrays_is_the_same_draw_every_time():
    x, y = sorted_by_class()
    w = np.linspace(0.5, 2.0, len(y)).astype("float32")
    first = validation_subset((x, y, w), 100)
    second = validation_subset((x, y, w), 100)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    xs, ys, ws = first
    np.testing.assert_array_equal(ws, w[xs[:, 0].astype(int)])  # weights follow their samples


def test_validation_subset_of_nested_arrays_takes_the_same_samples_from_each():
    x, y = sorted_by_class()
    inputs = {"a": x, "b": 10 * x}
    xs, ys, _ = validation_subset((inputs, y), 50)
    np.testing.assert_array_equal(xs["b"], 10 * xs["a"])
    np.testing.assert_array_equal(ys, y[xs["a"][:, 0].astype(int)])
    assert len(np.unique(ys)) >= 5


def test_validation_subset_larger_than_the_data_is_all_of_it():
    x, y = sorted_by_class()
    xs, ys, _ = validation_subset((x[:30], y[:30]), 512)
    assert sorted(xs[:, 0].astype(int).tolist()) == list(range(30))


def test_validation_subset_of_a_dataset_is_its_first_samples_the_same_every_time():
    x, y = sorted_by_class()
    rng = np.random.default_rng(1)
    order = rng.permutation(len(y))  # a Dataset keeps its own order: shuffled here
    ds = tf.data.Dataset.from_tensor_slices((x[order], y[order])).batch(50)
    xs, ys, ws = validation_subset(ds, 120)
    assert len(xs) == len(ys) == 120 and ws is None  # three batches read, cut to the size
    np.testing.assert_array_equal(xs[:, 0].astype(int), order[:120])
    np.testing.assert_array_equal(ys, y[order[:120]])
    again = validation_subset(ds, 120)
    np.testing.assert_array_equal(again[0], xs)
    np.testing.assert_array_equal(again[1], ys)


def test_validation_subset_of_a_dataset_with_weights_keeps_them():
    x, y = sorted_by_class()
    w = np.linspace(0.5, 2.0, len(y)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(64)
    xs, ys, ws = validation_subset(ds, 70)
    assert len(ws) == 70
    np.testing.assert_array_equal(ws, w[:70])


@pytest.mark.parametrize("size", [0, -1, 1.5, True, None])
def test_validation_size_must_be_a_positive_int(size):
    x, y = sorted_by_class()
    with pytest.raises(ValueError, match="validation_size must be a positive int"):
        validation_subset((x, y), size)


def test_validation_data_of_another_kind_is_a_type_error_naming_what_it_takes():
    with pytest.raises(TypeError, match=r"validation_data must be \(x_val, y_val"):
        validation_subset("not data", 10)
    assert validation_subset(None, 10) is None


def test_keras_shuffles_arrays_and_is_never_told_to_shuffle_what_it_cannot():
    x, y = sorted_by_class()
    x = np.repeat(x, 64, axis=1)  # the digits model's 64 features
    model = make_model()
    assert fit_arguments(plan_fit(x, y, batch_size=32), model)["shuffle"] is True
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    assert fit_arguments(plan_fit(dataset), model)["shuffle"] is False


def test_a_keras_hub_model_batches_arrays_itself_so_the_sweep_does_not_ask_keras_to_shuffle():
    keras_hub = pytest.importorskip("keras_hub", reason="keras-hub is not installed")

    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=16,
        num_layers=1,
        num_heads=1,
        hidden_dim=8,
        intermediate_dim=8,
        max_sequence_length=4,
    )
    model = keras_hub.models.GPT2CausalLM(backbone=backbone, preprocessor=None)
    assert batches_arrays_itself(model) and not batches_arrays_itself(backbone)
    ids = np.ones((8, 4), "int32")
    plan = plan_fit({"token_ids": ids, "padding_mask": ids}, ids, batch_size=4)
    assert fit_arguments(plan, model)["shuffle"] is False
    assert plan.fit_kwargs["shuffle"] is True  # the plan itself is left as it was


def test_the_plan_knows_the_default_length_where_the_data_has_one():
    x, y = np.zeros((100, 2), "float32"), np.zeros(100, "int32")
    assert plan_fit(x, y, batch_size=32, num_steps=900).default_steps == 300  # at least 300
    big = np.zeros((20_000, 2), "float32")
    assert plan_fit(big, batch_size=32, num_steps=50).default_steps == 625  # one epoch
    ds = tf.data.Dataset.from_tensor_slices((big, np.zeros(20_000))).batch(50)
    assert plan_fit(ds, num_steps=50).default_steps == 400
    assert plan_fit(ds.repeat(), num_steps=50).default_steps is None  # infinite: unknown
