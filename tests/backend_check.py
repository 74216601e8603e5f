"""Run by tests/test_backends.py in a subprocess with KERAS_BACKEND set (one backend a process).

Sweeps a small model with a plain and a schedule-based optimizer (once, then again after more
training and after a recompile, when the sweep's kept compiled step must not go stale) and
prints, as JSON, what the test asserts: the worst relative error of the recorded batch losses
against losses computed independently, whether the LR applied at each step was the planned one,
and whether the model and optimizer came back bitwise.
"""

import gc
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from conftest import make_model, state  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import lrwidget  # noqa: E402

LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


class Probe(keras.callbacks.Callback):
    """Loss of the (single, full) batch and the optimizer's LR, just before each step."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y
        self.losses, self.lrs = [], []

    def on_train_batch_begin(self, batch, logs=None):
        model = self.model
        pred = model(self.x, training=False)  # no Dropout in this model: same as training
        self.losses.append(float(keras.ops.convert_to_numpy(LOSS(self.y, pred))))
        self.lrs.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))


def check(optimizer):
    x, y = load_digits(return_X_y=True)
    x, y = (x[:256] / 16).astype("float32"), y[:256]
    model = make_model(optimizer)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0)  # real optimizer state to restore
    before = state(model)
    probe = Probe(x, y)
    r = lrwidget.find_lr(
        model, x, y, batch_size=256, num_steps=15, start_lr=1e-3, end_lr=0.5, callbacks=[probe]
    )
    after = state(model)
    return {
        "steps": len(r),
        "loss_rel_error": float(np.max(np.abs(np.array(probe.losses) - r.losses) / r.losses)),
        "lrs_applied": bool(np.array_equal(np.float32(probe.lrs), np.float32(r.lrs))),
        "restored": before.keys() == after.keys()
        and all(np.array_equal(before[k], after[k]) for k in before),
    }


def check_later_sweeps(make_optimizer):
    """Training, a sweep, more training, a sweep of another range, the same sweep again, all at
    one batch size. Each sweep must apply its own LRs from its own first iteration, though the
    sweep keeps its compiled step on the model and JAX reuses a traced step for an equal
    function while the old one lives (the user's ``train_function`` does). The probe reads the
    LR outside the compiled step, so each sweep is also run on a fresh twin (same training, no
    step traced before): a step with other LRs would train differently and record other
    losses."""
    x, y = load_digits(return_X_y=True)
    x, y = (x[:256] / 16).astype("float32"), y[:256]

    def trained(epochs):
        model = make_model(make_optimizer())
        for _ in range(epochs):
            model.fit(x, y, batch_size=256, epochs=1, verbose=0)
        return model

    def sweep(model, start, end, callbacks=()):
        return lrwidget.find_lr(
            model, x, y, batch_size=256, num_steps=12, start_lr=start, end_lr=end,
            callbacks=list(callbacks),
        )  # fmt: skip

    model, epochs = trained(0), 0
    worst, applied, restored = 0.0, True, True
    for start, end, train_first in ((1e-4, 0.1, True), (1e-3, 0.5, True), (1e-3, 0.5, False)):
        if train_first:
            model.fit(x, y, batch_size=256, epochs=1, verbose=0)
            epochs += 1
        probe = Probe(x, y)
        before = state(model)
        r = sweep(model, start, end, [probe])
        after = state(model)
        restored &= all(np.array_equal(before[k], after[k]) for k in before)
        applied &= bool(np.array_equal(np.float32(probe.lrs), np.float32(r.lrs)))
        twin = trained(epochs)
        twin.train_function = None
        gc.collect()  # its jitted step is gone: the twin's sweep is traced from scratch
        reference = sweep(twin, start, end)
        for losses in (np.array(probe.losses), reference.losses):
            worst = max(worst, float(np.max(np.abs(losses - r.losses) / r.losses)))
    return {"steps": len(r), "loss_rel_error": worst, "lrs_applied": applied, "restored": restored}


def check_recompiled():
    """A sweep, then ``compile`` with another loss and the same optimizer: the next sweep must
    train on and record the new loss (its own step, not the one kept from the first sweep)."""
    x, y = load_digits(return_X_y=True)
    x, y = (x[:256] / 16).astype("float32"), y[:256]
    model = make_model(keras.optimizers.Adam(1e-3))
    lrwidget.find_lr(model, x, y, batch_size=256, num_steps=12, start_lr=1e-3, end_lr=0.5)
    model.compile(optimizer=model.optimizer, loss=lambda yt, yp: 2.0 * LOSS(yt, yp))
    probe = Probe(x, y)
    before = state(model)
    r = lrwidget.find_lr(
        model, x, y, batch_size=256, num_steps=12, start_lr=1e-3, end_lr=0.5, callbacks=[probe]
    )
    after = state(model)
    doubled = 2 * np.array(probe.losses)
    return {
        "steps": len(r),
        "loss_rel_error": float(np.max(np.abs(doubled - r.losses) / r.losses)),
        "lrs_applied": bool(np.array_equal(np.float32(probe.lrs), np.float32(r.lrs))),
        "restored": all(np.array_equal(before[k], after[k]) for k in before),
    }


if __name__ == "__main__":
    schedule = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.5)
    out = {
        "backend": keras.backend.backend(),
        "adam": check(keras.optimizers.Adam(1e-3)),
        "schedule": check(keras.optimizers.SGD(schedule, momentum=0.9)),
        "later_sweeps": check_later_sweeps(lambda: keras.optimizers.Adam(1e-3)),
        "recompiled": check_recompiled(),
        "later_sweeps_schedule": check_later_sweeps(
            lambda: keras.optimizers.SGD(schedule, momentum=0.9)
        ),
    }
    print(json.dumps(out))
