"""Run by tests/test_family.py in a subprocess with KERAS_BACKEND set (one backend a process).

Sweeps a weight-decay family and a momentum family on a trained model, stops a family in its
second member, and prints, as JSON, what the test asserts: whether the members' first losses
agree, whether the settings changed the later losses, whether the model and optimizer came
back bitwise and the optimizer's own settings with them.
"""

import json
import os
import sys
import threading

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from conftest import make_model, state  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import lrwidget  # noqa: E402

SHORT = dict(batch_size=64, num_steps=30, start_lr=1e-3, end_lr=1.0)


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def family_case(model, x, y, vary):
    before = state(model)
    fam = lrwidget.find_lr_family(model, x, y, vary=vary, **SHORT)
    first, second = fam.results
    return {
        "members": len(fam),
        "first_losses_agree": bool(first.losses[0] == second.losses[0]),
        "later_losses_differ": float(np.abs(first.losses[3:] - second.losses[3:]).max()),
        "restored": same(before, state(model)),
    }


def main():
    x, y = load_digits(return_X_y=True)
    x, y = (x / 16.0).astype("float32"), y.astype("int32")
    model = make_model()
    model.fit(x[:256], y[:256], batch_size=64, verbose=0)
    out = {"backend": keras.backend.backend()}
    out["weight_decay"] = family_case(model, x, y, {"weight_decay": [0.0, 0.5]})
    # Again, on the steps traced the first time: the same curves, bit for bit.
    again = family_case(model, x, y, {"weight_decay": [0.0, 0.5]})
    out["repeat_identical"] = again == out["weight_decay"]
    out["momentum"] = family_case(model, x, y, {"momentum": [0.0, 0.9]})
    out["own_settings_back"] = model.optimizer.weight_decay is None and (
        model.optimizer.momentum == 0.9
    )
    before, stop, member = state(model), threading.Event(), []

    def on_point(step, lr, loss):
        if member[-1] == 1 and step == 4:
            stop.set()

    fam = lrwidget.find_lr_family(
        model,
        x,
        y,
        vary={"weight_decay": [0.0, 1e-3, 1e-2]},
        on_member=lambda i, m: member.append(i),
        on_point=on_point,
        stop_event=stop,
        **SHORT,
    )
    out["stopped"] = {"kept": len(fam), "restored": same(before, state(model))}
    model.fit(x[:64], y[:64], verbose=0)  # trains as compiled afterwards
    print(json.dumps(out))


if __name__ == "__main__":
    main()
