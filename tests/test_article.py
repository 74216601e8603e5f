"""The article's LRFinder API runs on lrwidget's engine."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_same_state, make_model, state

from lrwidget.article import LRFinder
from lrwidget.data import DEFAULT_MIN_STEPS


def test_find_matches_the_article_and_restores_the_model(digits):
    x, y = digits
    model = make_model()
    before = state(model)
    finder = LRFinder(model)
    finder.find(x, y, start_lr=1e-5, end_lr=1.0, batch_size=64, epochs=1)
    steps = DEFAULT_MIN_STEPS  # 29 batches a pass, cycled to the minimum
    assert finder.result.meta["num_steps"] == steps
    assert len(finder.lrs) == len(finder.losses) == steps
    assert finder.lrs[0] == 1e-5
    assert len(finder.candidates) >= 2, finder.result  # a digits MLP's curve offers a choice
    assert all(b.lr >= 1.2 * a.lr for a, b in itertools.pairwise(finder.candidates))
    assert finder.candidates == finder.result.candidates
    assert finder.suggestion == finder.result.suggestion
    model_part = {k: v for k, v in before.items() if k.startswith("model/")}
    assert_same_state(model_part, {k: v for k, v in state(model).items() if k in model_part})


def test_find_generator_with_a_test_generator_is_validation_mode(digits):
    x, y = digits
    train = tf.data.Dataset.from_tensor_slices((x[:1500], y[:1500])).batch(50)
    test = tf.data.Dataset.from_tensor_slices((x[1500:], y[1500:])).batch(50)
    finder = LRFinder(make_model())
    # An end_lr low enough that the sweep runs its plan: 30 batches a pass, two passes.
    finder.find_generator(train, 1e-4, 1e-2, test_generator=test, epochs=2)
    assert finder.result.meta["num_steps"] == 60
    assert len(finder.losses) == len(finder.lrs) == 60
    assert finder.result.stop_reason == "completed"
    assert finder.result.meta["validation"]
    assert not np.allclose(finder.losses, finder.result.train_losses)


def test_find_generator_needs_steps_for_a_python_generator(digits):
    x, y = digits
    gen = ((x[i : i + 32], y[i : i + 32]) for i in range(0, 1024, 32))
    finder = LRFinder(make_model())
    with pytest.raises(ValueError, match="steps_per_epoch is required"):
        finder.find_generator(gen, 1e-4, 1.0)
    finder.find_generator(gen, 1e-4, 1.0, steps_per_epoch=20)
    assert len(finder.lrs) == 20


def test_reading_before_a_sweep_and_bad_epochs_are_clear_errors(digits):
    finder = LRFinder(make_model())
    with pytest.raises(RuntimeError, match="find"):
        _ = finder.lrs
    with pytest.raises(ValueError, match="epochs"):
        finder.find(*digits, 1e-5, 1.0, epochs=0)


def test_plot_loss_shows_the_widget(digits):
    finder = LRFinder(make_model(keras.optimizers.Adam()))
    finder.find(*digits, 1e-5, 1.0, batch_size=128)
    chart = finder.plot_loss()
    assert chart.selected_lr == pytest.approx(finder.suggestion)
