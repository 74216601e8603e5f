"""How much slower is ``lrwidget.find_lr`` than a plain ``model.fit`` over the same steps?

Measured: wall time of ``find_lr`` over N steps (LR growing 1e-5 -> 1e-2, so the sweep never
stops early) against ``model.fit`` over the same N steps at a constant LR: same compiled model,
same arrays (exactly N batches, so both are one epoch of ``fit(x, y, batch_size, shuffle=True)``),
``verbose=0``. Every variant is traced once before timing; then the variants run in turns,
``--repeats`` times, in a rotating order, and the script prints medians and ratios to plain fit.

Besides the default sweep it times, for context:

* ``find_lr(validation_data=...)``: one extra forward pass over 512 held-out samples per step;
* the naive exact-loss callback: ``model.reset_metrics()`` before every batch;
* with ``--breakdown``: plain fit plus a callback that does one more piece of the sweep's
  per-batch work at a time (empty batch hooks, LR assign, tracker reset, reading the loss).

The model is a small CNN on a synthetic CIFAR-shaped set (32x32x3, 10 classes), batch 128.

    python benchmarks/speed.py            # N=200, 7 repeats
    python benchmarks/speed.py --quick    # N=100, 3 repeats
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrwidget  # noqa: E402

BATCH = 128


def make_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(1e-3, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


class BatchWork(keras.callbacks.Callback):
    """Per-batch work of a range test, switched on piece by piece (``level`` 0-3), or the naive
    exact loss (``reset_metrics()`` instead of resetting the loss tracker alone)."""

    def __init__(self, lrs, level=3, naive=False):
        super().__init__()
        self.lrs, self.level, self.naive, self.step = lrs, level, naive, 0

    def on_train_begin(self, logs=None):
        self.step = 0
        self.tracker = next(m for m in self.model.metrics if m.name == "loss")

    def on_train_batch_begin(self, batch, logs=None):
        if self.level >= 1:
            self.model.optimizer.learning_rate.assign(self.lrs[self.step])
        if self.naive:
            self.model.reset_metrics()
        elif self.level >= 2:
            self.tracker.reset_state()

    def on_train_batch_end(self, batch, logs=None):
        if self.level >= 3:
            float(logs["loss"])
        self.step += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="N (default 200, quick 100)")
    parser.add_argument("--repeats", type=int, default=None, help="default 7, quick 3")
    parser.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    parser.add_argument("--breakdown", action="store_true", help="also time the pieces")
    args = parser.parse_args()
    steps = args.steps or (100 if args.quick else 200)
    repeats = args.repeats or (3 if args.quick else 7)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * BATCH, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, size=steps * BATCH)
    val = (x[:512] + 0.1, y[:512])
    model = make_model()
    init = model.get_weights()
    lrs = lrwidget.analysis.lr_ladder(1e-5, 1e-2, steps)

    def plain(callbacks=()):
        model.optimizer.learning_rate.assign(1e-3)
        model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=True, verbose=0, callbacks=callbacks)

    def sweep(**kw):
        res = lrwidget.find_lr(
            model, x, y, batch_size=BATCH, num_steps=steps, start_lr=1e-5, end_lr=1e-2, **kw
        )
        assert len(res) == steps, (len(res), res.stop_reason)

    variants = {
        "plain fit": plain,
        "find_lr": sweep,
        "find_lr, validation mode (512 samples)": lambda: sweep(validation_data=val),
        "naive: reset_metrics() every batch": lambda: plain([BatchWork(lrs, naive=True)]),
    }
    if args.breakdown:
        names = ["empty batch hooks", "+ LR assign", "+ tracker.reset_state()", "+ float(loss)"]
        for level, name in enumerate(names):
            variants[f"fit + callback: {name}"] = lambda level=level: plain([BatchWork(lrs, level)])

    names = list(variants)
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    for name in names:  # warm-up: trace every function once
        variants[name]()
    for rep in range(repeats):
        order = names[rep % len(names) :] + names[: rep % len(names)]
        for name in order:
            model.set_weights(init)
            start, start_cpu = time.perf_counter(), time.process_time()
            variants[name]()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)

    def ratio(times, name):
        # Each run against the plain fit of the same repeat: robust to slow drifts in load.
        return statistics.median(
            t / b for t, b in zip(times[name], times["plain fit"], strict=True)
        )

    print(f"{steps} steps, batch {BATCH}, small CNN on 32x32x3, {repeats} alternating repeats")
    print("(wall: elapsed time; CPU: this process's user+system time, less hurt by other load)\n")
    print("| variant | wall ms/step | wall ratio | CPU ms/step | CPU ratio |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name in names:
        w, c = (1000 * statistics.median(t[name]) / steps for t in (wall, cpu))
        print(f"| {name} | {w:.1f} | {ratio(wall, name):.3f} | {c:.1f} | {ratio(cpu, name):.3f} |")


if __name__ == "__main__":
    main()
