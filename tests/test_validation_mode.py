"""Validation mode on a model that has been evaluated before: each point is the validation loss
after that step alone, on every Keras the package supports.

Before Keras 3.15, ``test_on_batch`` does not reset the loss tracker. A validation run measures
with a test function of its own, traced during the run with the loss tracker zeroing itself: it
keeps the training batch's loss out of the recorded validation loss. A model whose test step
was traced before the sweep (``evaluate`` or ``test_on_batch`` on the same input structure)
would otherwise lend the sweep that traced step, without the zeroing; a fresh model's test step
is traced during the sweep and hides the difference, so these tests trace it first.

The user's own test function is neither traced anew nor reused, and is put back on every path:
afterwards the model tests exactly as one never swept.
"""

import threading

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_same_state, make_model, state

import lrwidget
from lrwidget.keras_state import SweepStep

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


def _validation_run(model, x, y, xv, yv, run, **kwargs):
    if run == "sweep":
        kwargs = {"num_steps": 12, "start_lr": 1e-3, "end_lr": 0.3, **kwargs}
        return lrwidget.find_lr(
            model, x, y, batch_size=64, validation_data=(xv, yv), validation_size=len(xv), **kwargs
        )
    return lrwidget.try_lrs(
        model,
        x,
        y,
        lrs=[1e-3, 0.1],
        steps=10,
        batch_size=64,
        validation_data=(xv, yv),
        validation_size=len(xv),
        **kwargs,
    )


def _user_calls(model, x, y):
    """What a user might run after a sweep: test_on_batch (which, before Keras 3.15, goes on
    from the running mean), then evaluate."""
    out = [
        model.test_on_batch(x[i : i + n], y[i : i + n])
        for i, n in ((0, 200), (200, 200), (400, 50))
    ]
    out.append(model.test_on_batch(x[400:450], y[400:450]))
    out.append(model.evaluate(x[:500], y[:500], batch_size=100, verbose=0))
    return np.array(out)


@pytest.mark.parametrize(
    "run, how", [("sweep", "evaluate"), ("sweep", "test_on_batch"), ("trials", "evaluate")]
)
def test_after_a_validation_run_the_user_s_test_on_batch_gives_what_an_unswept_model_gives(
    digits, run, how
):
    x, y = digits
    xv, yv = x[-200:], y[-200:]
    swept, untouched = _evaluated_model(xv, yv, how), _evaluated_model(xv, yv, how)
    for a, b in zip(swept.weights, untouched.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    _validation_run(swept, x[:-200], y[:-200], xv, yv, run)
    np.testing.assert_array_equal(_user_calls(swept, x, y), _user_calls(untouched, x, y))


class RaiseAt(keras.callbacks.Callback):
    def __init__(self, step, exc):
        super().__init__()
        self.step, self.exc = step, exc

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.step:
            raise self.exc


@pytest.mark.parametrize("end", ["completed", "stopped", "error", "interrupt"])
@pytest.mark.parametrize("evaluated", [True, False])
def test_a_validation_sweep_puts_the_user_s_test_function_back_however_it_ends(
    digits, end, evaluated
):
    x, y = digits
    xv, yv = x[-100:], y[-100:]
    model = _evaluated_model(xv, yv, "evaluate") if evaluated else make_model()
    own = model.test_function
    assert (own is not None) == evaluated
    stop = threading.Event()
    kwargs = {
        "stopped": {"on_point": lambda step, lr, loss: step == 3 and stop.set()},
        "error": {"callbacks": [RaiseAt(3, RuntimeError("callback failed"))]},
        "interrupt": {"callbacks": [RaiseAt(3, KeyboardInterrupt())]},
    }.get(end, {})
    raised = {"error": RuntimeError, "interrupt": KeyboardInterrupt}.get(end)
    if raised is None:
        r = _validation_run(model, x[:-100], y[:-100], xv, yv, "sweep", stop_event=stop, **kwargs)
        assert r.stop_reason == end
    else:
        with pytest.raises(raised):
            _validation_run(model, x[:-100], y[:-100], xv, yv, "sweep", **kwargs)
    assert model.test_function is own
    assert "test_step" not in model.__dict__


def test_the_next_validation_sweep_reuses_the_sweep_s_own_test_function(digits):
    x, y = digits
    xv, yv = x[-100:], y[-100:]
    model = _evaluated_model(xv, yv, "evaluate")
    own = model.test_function
    _validation_run(model, x[:-100], y[:-100], xv, yv, "sweep")
    kept = model.__dict__[SweepStep.ATTRIBUTE].test_function
    assert kept is not None and kept is not own
    _validation_run(model, x[:-100], y[:-100], xv, yv, "sweep")
    assert model.__dict__[SweepStep.ATTRIBUTE].test_function is kept
    assert model.test_function is own
