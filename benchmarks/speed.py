"""How much slower is ``lrwidget.find_lr`` than a plain ``model.fit`` over the same steps?

For each model size: ``find_lr`` over N steps (LR growing 1e-5 -> 1e-2, so the sweep never
stops early) against ``model.fit`` over the same N batches at a constant LR: same compiled
model, same arrays (exactly N batches, so both are one epoch of
``fit(x, y, batch_size, shuffle=True)``), ``verbose=0``. Both are run once before timing (the
first sweep's extra time, e.g. tracing its own step, is reported apart); then they run in
pairs, ``--repeats`` times, the order swapped every pair. Reported: the median ratio of the two
runs of a pair and the range over the pairs, the median extra time per step in microseconds,
and the same ratio in CPU time (this process's user + system time, less hurt by other load).

Three CNN sizes on the TensorFlow backend (the issue's 1, 4 and 16 ms steps; the table gives
the step time measured) and the small one on JAX and on torch. Each backend runs in its own
process with ``KERAS_BACKEND`` set (a backend is chosen at import).

    python benchmarks/speed.py                   # the table; a few minutes
    python benchmarks/speed.py --quick           # fewer steps and repeats
    python benchmarks/speed.py --breakdown       # also: what each piece of per-batch work
                                                 # costs (small model)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time

# name: (input shape, filters of the two conv layers, batch size)
SIZES = {
    "small": ((28, 28, 1), (4, 8), 16),
    "medium": ((28, 28, 1), (16, 32), 32),
    "large": ((32, 32, 3), (16, 32), 128),
}
# (backend, size, steps) in the order of the table; a run takes a second or two here.
RUNS = [
    ("tensorflow", "small", 600),
    ("tensorflow", "medium", 250),
    ("tensorflow", "large", 80),
    ("jax", "small", 600),
    ("torch", "small", 60),
]


def make_model(keras, size):
    shape, (f1, f2), _ = SIZES[size]
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Conv2D(f1, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(f2, 3, activation="relu"),
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


def breakdown_callbacks(keras, lrs):
    """Plain fit plus one more piece of a range test's per-batch work at a time (the way
    lrwidget 0.1 did it: eager ops in the callback)."""

    class BatchWork(keras.callbacks.Callback):
        def __init__(self, level):
            super().__init__()
            self.level, self.step = level, 0

        def on_train_begin(self, logs=None):
            self.step = 0
            self.tracker = next(m for m in self.model.metrics if m.name == "loss")
            self.optimizer = self.model.optimizer

        def on_train_batch_begin(self, batch, logs=None):
            if self.level >= 2:
                self.optimizer.learning_rate.assign(lrs[self.step])
            if self.level >= 3:
                self.tracker.reset_state()

        def on_train_batch_end(self, batch, logs=None):
            if self.level >= 1:
                float(logs["loss"])
            self.step += 1

    names = ["empty batch hooks", "+ float(logs['loss'])", "+ LR assign", "+ tracker reset"]
    return {f"fit + callback: {name}": [BatchWork(level)] for level, name in enumerate(names)}


def time_size(keras, size, steps, repeats, breakdown):
    """Time find_lr (and the breakdown arms) against fit on one model; a dict of results."""
    import numpy as np

    import lrwidget

    shape, _, batch = SIZES[size]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(steps * batch, *shape)).astype("float32")
    y = rng.integers(0, 10, size=steps * batch)
    model = make_model(keras, size)
    init = model.get_weights()

    def plain(callbacks=()):
        model.optimizer.learning_rate = 1e-3
        model.fit(x, y, batch_size=batch, shuffle=True, verbose=0, callbacks=callbacks)

    def sweep():
        res = lrwidget.find_lr(
            model, x, y, batch_size=batch, num_steps=steps, start_lr=1e-5, end_lr=1e-2
        )
        assert len(res) == steps, (len(res), res.stop_reason)

    arms = {"fit": plain, "find_lr": sweep}
    if breakdown and size == "small":
        lrs = lrwidget.analysis.lr_ladder(1e-5, 1e-2, steps)
        for name, cbs in breakdown_callbacks(keras, lrs).items():
            arms[name] = lambda cbs=cbs: plain(cbs)

    def timed(arm):
        model.set_weights(init)
        start, start_cpu = time.perf_counter(), time.process_time()
        arms[arm]()
        return time.perf_counter() - start, time.process_time() - start_cpu

    timed("fit")  # traces fit's step
    first = timed("find_lr")[0]  # the first sweep on this model
    for arm in arms:
        timed(arm)
    others = list(arms)[1:]
    times = {arm: [] for arm in others}
    base = {arm: [] for arm in others}
    for rep in range(repeats):
        for arm in others:
            # A pair: fit and the arm, in swapped order every other repeat.
            order = ("fit", arm) if rep % 2 == 0 else (arm, "fit")
            pair = {a: timed(a) for a in order}
            base[arm].append(pair["fit"])
            times[arm].append(pair[arm])
    out = {"size": size, "steps": steps, "batch": batch, "arms": {}}
    for arm in others:
        pairs = list(zip(times[arm], base[arm], strict=True))
        wall = [t[0] / b[0] for t, b in pairs]
        out["arms"][arm] = {
            "fit_ms": 1000 * statistics.median(b[0] for b in base[arm]) / steps,
            "ratio": statistics.median(wall),
            "ratio_min": min(wall),
            "ratio_max": max(wall),
            "extra_us": statistics.median((t[0] - b[0]) / steps * 1e6 for t, b in pairs),
            "cpu_ratio": statistics.median(t[1] / b[1] for t, b in pairs),
        }
    out["first_sweep_extra_s"] = first - statistics.median(t[0] for t in times["find_lr"])
    return out


def child(backend, steps_scale, repeats, breakdown):
    """Time this process's backend's rows of RUNS; one JSON line each."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    assert keras.backend.backend() == backend, keras.backend.backend()
    for size, steps in ((s, n) for b, s, n in RUNS if b == backend):
        steps = max(20, int(steps * steps_scale))
        out = time_size(keras, size, steps, repeats, breakdown)
        version = importlib.import_module(backend).__version__
        out |= {"backend": backend, "versions": f"Keras {keras.__version__}, {backend} {version}"}
        print(json.dumps(out), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=None, help="pairs per size (default 9)")
    parser.add_argument("--quick", action="store_true", help="a third of the steps, 3 pairs")
    parser.add_argument("--breakdown", action="store_true", help="also time the pieces")
    parser.add_argument("--backends", default="tensorflow,jax,torch", help="comma-separated")
    parser.add_argument("--child", metavar="BACKEND", help=argparse.SUPPRESS)
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 9)
    scale = 1 / 3 if args.quick else 1.0
    if args.child:
        child(args.child, scale, repeats, args.breakdown)
        return

    wanted = args.backends.split(",")
    results = []
    for backend in dict.fromkeys(b for b, _, _ in RUNS if b in wanted):
        cmd = [sys.executable, __file__, "--child", backend, "--repeats", str(repeats)]
        cmd += ["--quick"] * args.quick + ["--breakdown"] * args.breakdown
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{backend}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        results += [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]

    print(f"find_lr against model.fit over the same batches; {repeats} alternating pairs a row")
    print("(ratio: median of the pairs, [min-max]; CPU: this process's user + system time)")
    print("; ".join(dict.fromkeys(r["versions"] for r in results)), f"; {os.cpu_count()} CPUs\n")
    print(
        "| backend | model, batch | steps | fit ms/step | find_lr / fit | extra µs/step "
        "| CPU ratio | first sweep: extra s |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        shape, filters, _ = SIZES[r["size"]]
        model = f"{r['size']} CNN {'x'.join(map(str, shape))} {filters}, batch {r['batch']}"
        for arm, a in r["arms"].items():
            label = model if arm == "find_lr" else f"{model}: {arm}"
            first = f"{r['first_sweep_extra_s']:+.2f}" if arm == "find_lr" else ""
            print(
                f"| {r['backend']} | {label} | {r['steps']} | {a['fit_ms']:.2f} "
                f"| **{a['ratio']:.3f}** [{a['ratio_min']:.2f}-{a['ratio_max']:.2f}] "
                f"| {a['extra_us']:+.0f} | {a['cpu_ratio']:.3f} "
                f"| {first} |"
            )


if __name__ == "__main__":
    main()
