"""Validation mode on a model that has been evaluated before: each point is the validation loss
after that step alone, on every Keras the package supports.

Before Keras 3.15, ``test_on_batch`` does not reset the loss tracker. A model whose test step
was traced before the sweep (``evaluate`` or ``test_on_batch`` on the same input structure)
keeps that traced step, so only the sweep's own reset keeps the training batch's loss out of
the recorded validation loss. A fresh model's test step is traced during the sweep and hides
a missing reset; these tests trace it first.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_same_state, make_model, state

import lrwidget

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


class ValidationProbe(keras.callbacks.Callback):
    """The loss on ``(xv, yv)`` after each step, computed from the model's output alone (no
    Keras tracker), after the sweep's own callback has read its point."""

    def __init__(self, xv, yv):
        super().__init__()
        self.xv, self.yv, self.losses = xv, yv, []

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(float(LOSS(self.yv, self.model(self.xv, training=False))))


def _evaluated_model(xv, yv, how):
    """A model whose test step has run on ``(xv, yv)`` before any sweep."""
    model = make_model(keras.optimizers.Adam(1e-3))
    if how == "evaluate":
        model.evaluate(xv, yv, batch_size=len(xv), verbose=0)
    else:
        model.test_on_batch(xv, yv)
    return model


@pytest.mark.parametrize("how", ["evaluate", "test_on_batch"])
def test_after_evaluate_each_recorded_validation_loss_is_that_step_s_own(digits, how):
    x, y = digits
    xv, yv = x[-200:], y[-200:]
    model = _evaluated_model(xv, yv, how)
    model.optimizer.build(model.trainable_variables)
    before = state(model)
    probe = ValidationProbe(xv, yv)
    r = lrwidget.find_lr(
        model,
        x[:-200],
        y[:-200],
        batch_size=64,
        num_steps=20,
        start_lr=1e-3,
        end_lr=1.0,
        validation_data=(xv, yv),
        validation_size=len(xv),
        callbacks=[probe],
    )
    assert len(r) == len(probe.losses) == 20
    np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)
    assert_same_state(before, state(model))
    # The model's own evaluation afterwards is not blended with the sweep's last batch either.
    after = model.evaluate(xv, yv, batch_size=len(xv), verbose=0)
    np.testing.assert_allclose(after, float(LOSS(yv, model(xv, training=False))), rtol=1e-5)


def test_after_evaluate_a_validation_dataset_s_losses_are_each_step_s_own(digits):
    """Validation data given as a Dataset is read into a fixed subset; the model's test step
    traced on that subset's structure before the sweep is the one the sweep reuses."""
    x, y = digits
    xv, yv = x[-120:], y[-120:]
    model = _evaluated_model(xv, yv, "test_on_batch")
    probe = ValidationProbe(xv, yv)
    r = lrwidget.find_lr(
        model,
        tf.data.Dataset.from_tensor_slices((x[:-120], y[:-120])).batch(64),
        num_steps=15,
        start_lr=1e-3,
        end_lr=1.0,
        validation_data=tf.data.Dataset.from_tensor_slices((xv, yv)).batch(40),
        validation_size=len(xv),
        callbacks=[probe],
    )
    np.testing.assert_allclose(r.losses, probe.losses, rtol=1e-5)
    assert not np.allclose(r.losses, r.train_losses)
