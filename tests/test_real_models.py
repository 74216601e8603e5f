"""The models users fine-tune most, built small and offline, swept as a user would sweep them.

* A KerasHub causal LM (GPT-2's architecture, built from its config with a tiny vocabulary and
  one layer, briefly trained here so that its fine-tuning curve falls and blows up like a
  pretrained model's), fine-tuned with LoRA on dict inputs (``token_ids``, ``padding_mask``)
  with sample weights from the mask, by AdamW with weight-decay exclusions, its optimizer not
  yet built.
* A ``keras.applications`` backbone (MobileNetV3Small, ``weights=None``, no top) frozen with its
  BatchNorm in inference mode under a new head, then unfrozen but for its BatchNorm layers.

Each is swept, run in the widget headless, swept as a family of two (two weight decays for the
LM; two seeds for the frozen backbone, which trace its step once instead of once per decay),
put back bitwise (an optimizer the sweep built has zero slots and iteration 0) and trained
afterwards; nothing lrwidget does with them may warn (``UserWarning``, ``RuntimeWarning``) or
print. The unfrozen backbone's steps take longest to trace (about 5 s each on two CPU cores):
it is swept and trained, the rest is the frozen one's.
"""

from __future__ import annotations

import contextlib
import warnings

import keras
import numpy as np
import pytest
from conftest import assert_same_state, state
from sklearn.datasets import load_digits

import lrwidget
from lrwidget.widget import LRFinderWidget

try:
    import keras_hub
except ImportError:  # the test extra installs it; a leg where no release fits says so
    keras_hub = None
needs_keras_hub = pytest.mark.skipif(
    keras_hub is None,
    reason="keras-hub is not installed (the test extra installs the newest release that fits "
    "this Keras and TensorFlow: pip install -e '.[test]')",
)


@contextlib.contextmanager
def quiet(capfd):
    """Fails the test on a ``UserWarning`` or ``RuntimeWarning`` (what a notebook shows) and
    on anything written to stdout or stderr, TensorFlow's own logging included."""
    capfd.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("error", RuntimeWarning)
        yield
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def _assert_fresh_optimizer(optimizer, learning_rate):
    """An optimizer built by the sweep is as built: iteration 0, every slot zero, its LR."""
    assert optimizer.built
    assert int(keras.ops.convert_to_numpy(optimizer.iterations)) == 0
    lr = optimizer._learning_rate  # the optimizer's own LR variable, not a sweep's schedule
    assert isinstance(lr, keras.Variable)
    assert float(keras.ops.convert_to_numpy(lr)) == pytest.approx(learning_rate)
    for v in optimizer.variables:
        if v is not lr:
            assert not np.any(keras.ops.convert_to_numpy(v)), v.path


def _trainable(model):
    return [v.path for v in model.trainable_variables]


# --- a KerasHub causal LM with LoRA ----------------------------------------------------------

VOCAB, LENGTH, SEQUENCES = 32, 12, 96


def _token_data(stride, seed):
    """Sequences counting up by ``stride`` (mod the vocabulary), padded after a random length:
    the inputs as a dict, the next tokens, and sample weights that are the padding mask."""
    rng = np.random.default_rng(seed)
    start = rng.integers(1, VOCAB, SEQUENCES)
    lengths = rng.integers(LENGTH // 2, LENGTH + 2, SEQUENCES)
    ids = (start[:, None] + stride * np.arange(LENGTH + 1)) % (VOCAB - 1) + 1
    mask = (np.arange(LENGTH + 1) < lengths[:, None]).astype("int32")
    ids = (ids * mask).astype("int32")
    x = {"token_ids": ids[:, :-1], "padding_mask": mask[:, :-1]}
    return x, ids[:, 1:], mask[:, 1:].astype("float32")


def _gpt2_backbone():
    return keras_hub.models.GPT2Backbone(
        vocabulary_size=VOCAB,
        num_layers=1,
        num_heads=2,
        hidden_dim=16,
        intermediate_dim=32,
        max_sequence_length=LENGTH,
        dropout=0.0,
    )


@pytest.fixture(scope="module")
def pretrained_lm():
    """The weights of the tiny causal LM after a short training on sequences counting by 1."""
    keras.utils.set_random_seed(0)
    model = keras_hub.models.GPT2CausalLM(backbone=_gpt2_backbone(), preprocessor=None)
    model.compile(
        optimizer=keras.optimizers.Adam(3e-2),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    x, y, sw = _token_data(stride=1, seed=1)
    model.fit(x, y, sample_weight=sw, batch_size=16, epochs=6, verbose=0, shuffle=False)
    return model.get_weights()


def _lora_lm(weights, weight_decay=0.01):
    """The pretrained LM with LoRA on, compiled as for fine-tuning; its optimizer not built."""
    keras.utils.set_random_seed(0)
    model = keras_hub.models.GPT2CausalLM(backbone=_gpt2_backbone(), preprocessor=None)
    model.set_weights(weights)
    model.backbone.enable_lora(rank=4)
    optimizer = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        weighted_metrics=["accuracy"],
    )
    assert not optimizer.built
    return model


def _first_batch_loss(model, x, y, sw, batch_size):
    """The first batch's loss, from the model's output in numpy: the weighted cross-entropy
    summed over the tokens and divided by their number (Keras's reduction with weights)."""
    xb = {k: v[:batch_size] for k, v in x.items()}
    logits = keras.ops.convert_to_numpy(model(xb, training=False)).astype("float64")
    logits -= logits.max(-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, y[:batch_size, :, None], -1)[..., 0]
    return float((nll * sw[:batch_size]).sum() / nll.size)


LM_SWEEP = dict(batch_size=16, num_steps=30, start_lr=1e-4, end_lr=10.0)


@needs_keras_hub
def test_a_lora_causal_lm_on_dict_inputs_sweeps_restores_bitwise_and_trains(pretrained_lm, capfd):
    x, y, sw = _token_data(stride=2, seed=2)
    model = _lora_lm(pretrained_lm)
    lora = _trainable(model)
    assert lora and all("lora" in p or p.endswith("bias") for p in lora)
    weights = [np.array(w, copy=True) for w in model.get_weights()]
    excluded = [model.optimizer._use_weight_decay(v) for v in model.trainable_variables]
    first_loss = _first_batch_loss(model, x, y, sw, 16)

    with quiet(capfd):
        r = lrwidget.find_lr(model, x, y, sample_weight=sw, **LM_SWEEP)

    assert r.meta["data"] == "arrays" and len(r) >= 20
    # KerasHub batches arrays in order: the first point is the first 16 sequences' loss, with
    # their padding weighted out.
    assert r.losses[0] == pytest.approx(first_loss, rel=1e-5)
    assert r.suggestion is not None and r.suggestion < r.lrs[len(r) - 1]
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(after, before, strict=True)
    _assert_fresh_optimizer(model.optimizer, 1e-3)
    assert _trainable(model) == lora
    assert [model.optimizer._use_weight_decay(v) for v in model.trainable_variables] == excluded

    # Trained afterwards at the suggested LR: only the LoRA weights move, and the loss falls.
    model.optimizer.learning_rate = r.suggestion
    start = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0)[0]
    model.fit(x, y, sample_weight=sw, batch_size=16, epochs=3, verbose=0, shuffle=False)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 3 * 6
    assert model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0)[0] < start
    frozen = [v.path for v in model.non_trainable_variables]
    moved = {
        v.path
        for v, w in zip(model.variables, weights, strict=True)
        if not np.array_equal(keras.ops.convert_to_numpy(v), w)
    }
    assert moved and moved <= set(lora) and not moved & set(frozen)


@needs_keras_hub
def test_the_widget_sweeps_a_lora_causal_lm_headless_and_applies_its_pick(
    pretrained_lm, comms, capfd
):
    x, y, sw = _token_data(stride=2, seed=2)
    model = _lora_lm(pretrained_lm)
    weights = [np.array(w, copy=True) for w in model.get_weights()]
    with quiet(capfd):
        finder = LRFinderWidget(model, x, y, sample_weight=sw, **LM_SWEEP)
        result = finder.run(block=True)
    assert result is finder.result and len(result) >= 20
    assert finder.selected_lr == pytest.approx(result.suggestion)
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(after, before, strict=True)
    _assert_fresh_optimizer(model.optimizer, 1e-3)
    finder.apply()
    lr = keras.ops.convert_to_numpy(model.optimizer.learning_rate)
    assert float(lr) == pytest.approx(finder.selected_lr, rel=1e-6)


@needs_keras_hub
def test_a_weight_decay_family_of_a_lora_causal_lm_puts_the_user_s_decay_back(pretrained_lm, capfd):
    x, y, sw = _token_data(stride=2, seed=2)
    model = _lora_lm(pretrained_lm)
    model.optimizer.build(model.trainable_variables)
    before = state(model)
    excluded = [model.optimizer._use_weight_decay(v) for v in model.trainable_variables]
    with quiet(capfd):
        family = lrwidget.find_lr_family(
            model, x, y, sample_weight=sw, vary={"weight_decay": [0.0, 0.1]}, **LM_SWEEP
        )
    assert family.complete and len(family) == 2
    assert all(len(r) >= 20 for r in family.results)
    assert_same_state(before, state(model))
    assert model.optimizer.weight_decay == 0.01
    assert [model.optimizer._use_weight_decay(v) for v in model.trainable_variables] == excluded


# --- a keras.applications backbone, frozen, then unfrozen -------------------------------------

SIDE, IMAGES = 32, 256


@pytest.fixture(scope="module")
def images():
    """scikit-learn's digits as 32x32 RGB images in [0, 255] (MobileNetV3 rescales itself)."""
    x, y = load_digits(return_X_y=True)
    x = x[:IMAGES].reshape(-1, 8, 8) * (255.0 / 16.0)
    x = np.kron(x, np.ones((SIDE // 8, SIDE // 8)))
    return np.repeat(x[..., None], 3, axis=-1).astype("float32"), y[:IMAGES].astype("int32")


def _frozen_mobilenet():
    """MobileNetV3Small without its top, frozen, called with ``training=False`` (its BatchNorm
    in inference mode for good) under a new head; compiled, the optimizer not built."""
    keras.utils.set_random_seed(0)
    base = keras.applications.MobileNetV3Small(
        input_shape=(SIDE, SIDE, 3), include_top=False, weights=None, pooling="avg"
    )
    base.trainable = False
    inputs = keras.Input((SIDE, SIDE, 3))
    features = base(inputs, training=False)
    outputs = keras.layers.Dense(10)(keras.layers.Dropout(0.2)(features))
    model = keras.Model(inputs, outputs)
    _compile(model, 1e-3)
    return model, base


def _compile(model, learning_rate):
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate, weight_decay=1e-4),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )


def _batchnorm_statistics(base):
    return [
        np.array(keras.ops.convert_to_numpy(v), copy=True)
        for layer in base.layers
        if isinstance(layer, keras.layers.BatchNormalization)
        for v in (layer.moving_mean, layer.moving_variance)
    ]


IMAGE_SWEEP = dict(batch_size=32, num_steps=24, start_lr=1e-4, end_lr=10.0)


def test_a_frozen_backbone_under_a_new_head_sweeps_in_a_family_and_the_widget_and_trains(
    images, comms, capfd
):
    x, y = images
    model, base = _frozen_mobilenet()
    head = _trainable(model)
    assert len(head) == 2  # the new Dense layer only
    weights = [np.array(w, copy=True) for w in model.get_weights()]
    statistics = _batchnorm_statistics(base)

    with quiet(capfd):
        r = lrwidget.find_lr(model, x, y, **IMAGE_SWEEP)
    assert len(r) >= 10 and np.isfinite(r.losses).all()
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(after, before, strict=True)
    _assert_fresh_optimizer(model.optimizer, 1e-3)
    assert _trainable(model) == head and not base.trainable

    before = state(model)
    with quiet(capfd):
        family = lrwidget.find_lr_family(model, x, y, vary={"seed": [1, 2]}, **IMAGE_SWEEP)
        finder = LRFinderWidget(model, x, y, **IMAGE_SWEEP)
        widget_result = finder.run(block=True)
    assert family.complete and len(family) == 2 and family.is_seed_family
    assert len(widget_result) >= 10
    assert_same_state(before, state(model))

    model.fit(x, y, batch_size=32, epochs=1, verbose=0)
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == IMAGES // 32
    # BatchNorm stays in inference mode in training too: its statistics never moved.
    for before, after in zip(statistics, _batchnorm_statistics(base), strict=True):
        np.testing.assert_array_equal(after, before, strict=True)


def test_the_unfrozen_backbone_sweeps_restores_bitwise_and_trains(images, capfd):
    x, y = images
    model, base = _frozen_mobilenet()
    # Unfrozen as Keras's fine-tuning guides do it, BatchNorm left frozen: Keras 3 trains a
    # trainable BatchNorm's statistics even inside a call with training=False.
    base.trainable = True
    for layer in base.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    _compile(model, 1e-4)  # a change of trainable takes a compile
    trainable = _trainable(model)
    assert len(trainable) > 50
    weights = [np.array(w, copy=True) for w in model.get_weights()]
    trainable_values = [np.array(v.numpy(), copy=True) for v in model.trainable_variables]
    statistics = _batchnorm_statistics(base)

    with quiet(capfd):
        r = lrwidget.find_lr(model, x, y, **IMAGE_SWEEP)
    assert len(r) >= 10 and r.losses[0] == pytest.approx(np.log(10), rel=0.5)
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(after, before, strict=True)
    _assert_fresh_optimizer(model.optimizer, 1e-4)
    assert _trainable(model) == trainable

    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 2 * IMAGES // 32
    moved = [
        not np.array_equal(v.numpy(), w)
        for v, w in zip(model.trainable_variables, trainable_values, strict=True)
    ]
    assert all(moved[-2:]) and sum(moved) > len(moved) / 2  # the head and the backbone trained
    for before, after in zip(statistics, _batchnorm_statistics(base), strict=True):
        np.testing.assert_array_equal(after, before, strict=True)
