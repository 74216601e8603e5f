"""How much slower is ``lrwidget.find_lr`` than a plain ``model.fit`` over the same steps?

For each model: ``find_lr`` over N steps against ``model.fit`` over the same N batches: same
compiled model, same arrays (exactly N batches, so both are one epoch of
``fit(x, y, batch_size, shuffle=True)``), ``verbose=0``, the same LR (see ``LR``). The sweep
stops itself after its last step; so does the fit (a callback sets ``stop_training`` before
its last batch), because a fit that runs its data to the end spends 30-50 ms more here after
the last batch, which would hide that much of the sweep's cost. Both are run before timing:
the first sweep on a model runs one step per call of its compiled step and measures the step
time; the second traces the step that runs the group of steps per call the sweep then uses
(TensorFlow only). Their extra time over the later sweeps, mostly tracing, is reported apart.
Then ``--repeats`` rounds of fit, find_lr, find_lr, fit (every other round the mirror image),
each side of a round counting its faster run (this VM stalls now and then, for up to
seconds). Where the sweep runs groups, it is also compared with fit on a twin compiled with the
same ``steps_per_execution`` ("fit, grouped"): the sweep's own overhead, apart from what
grouping gains.
Reported: the median over the rounds of find_lr's time over fit's, with the range; the median
extra time per step in microseconds; the extra time of the median step (the median interval
between two calls, per step, which a stall can hardly move: the steadiest figure of per-step
cost, though it leaves out what a sweep costs once); the same in CPU time (this process's
user + system time, less hurt by other load than the wall time).

The family row times ``lrwidget.find_lr_family`` with a weight decay per member (``FAMILY``)
over the same steps, per member (its time divided by its members), against the same fit: a
member's per-step cost is a sweep's, and its setting is traced once, in the warm-up run.

Three models on the TensorFlow backend, with steps from about as short as TensorFlow's get
here to about 15 ms (the table gives the step time measured), and the shortest on JAX and on
torch. Each backend runs in its own process with ``KERAS_BACKEND`` set (a backend is chosen at
import).

    python benchmarks/speed.py                   # the table; a few minutes
    python benchmarks/speed.py --quick           # fewer steps and repeats
    python benchmarks/speed.py --breakdown       # also: what each piece of per-batch work
                                                 # costs (MLP)
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import time

FAMILY = [0.0, 1e-4]  # the family row's weight decays: a setting per member, traced once each
# name: (input shape, filters of the two conv layers or None for an MLP, batch size). The MLP's
# step is about as short as a TensorFlow step gets here; "cnn" is the small CNN and
# "cnn-large" the one the README measured before.
SIZES = {
    "mlp": ((28, 28, 1), None, 16),
    "cnn": ((28, 28, 1), (16, 32), 32),
    "cnn-large": ((32, 32, 3), (16, 32), 128),
}
# (backend, size, steps) in the order of the table; a run takes a second or two here.
RUNS = [
    ("tensorflow", "mlp", 800),
    ("tensorflow", "cnn", 250),
    ("tensorflow", "cnn-large", 60),
    ("jax", "mlp", 800),
    ("torch", "mlp", 800),
]
# Both arms train at this LR (the sweep from LR to 1.001 LR): a step's time depends on the
# LR here (the large model's is ~10 % shorter at 1e-5 than at 1e-3), so a sweep over a wide
# range would be timed on other arithmetic than the fit it is compared with.
LR = 1e-3


def make_model(keras, size):
    shape, filters, _ = SIZES[size]
    keras.utils.set_random_seed(0)
    if filters is None:
        body = [keras.layers.Flatten(), keras.layers.Dense(64, activation="relu")]
    else:
        body = [
            keras.layers.Conv2D(filters[0], 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(filters[1], 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
        ]
    model = keras.Sequential([keras.Input(shape), *body, keras.layers.Dense(10)])
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

    class StopAfterLastBatch(keras.callbacks.Callback):
        # No batch-end hook: on JAX and torch that would turn off fit's asynchronous dispatch.
        def on_train_batch_begin(self, batch, logs=None):
            if batch >= steps - self.model.steps_per_execution:
                self.model.stop_training = True

    class Clock(keras.callbacks.Callback):
        """When each call of fit's compiled step begins: the median interval, per step, is the
        time of a step with no stall in it, which a stall can hardly move (no batch-end hook).
        A sweep measures the same itself (``meta["step_seconds"]``): a callback with batch
        hooks would keep it at one step per call."""

        def on_train_begin(self, logs=None):
            self.marks = []

        def on_train_batch_begin(self, batch, logs=None):
            self.marks.append((time.perf_counter(), batch))

        def median_step(self):
            marks = self.marks[2:]  # past the first calls' warm-up
            per_step = [
                (t1 - t0) / (b1 - b0) for (t0, b0), (t1, b1) in itertools.pairwise(marks) if b1 > b0
            ]
            return float(np.median(per_step))

    clock = Clock()
    # A twin compiled to run as many steps per call as the sweep does (known after its first
    # run): what fit itself costs that way, to tell the sweep's own overhead from the gain.
    twin = make_model(keras, size)
    last = {}

    def plain(callbacks=(), on=model):
        on.optimizer.learning_rate = LR
        callbacks = [*callbacks, clock, StopAfterLastBatch()]
        on.fit(x, y, batch_size=batch, shuffle=True, verbose=0, callbacks=callbacks)
        return clock.median_step()

    def sweep():
        res = lrwidget.find_lr(
            model, x, y, batch_size=batch, num_steps=steps, start_lr=LR, end_lr=LR * 1.001
        )
        assert len(res) == steps, (len(res), res.stop_reason)
        last["group"] = res.meta["steps_per_call"]
        return res.meta["step_seconds"]

    def family():
        fam = lrwidget.find_lr_family(
            model,
            x,
            y,
            vary={"weight_decay": FAMILY},
            batch_size=batch,
            num_steps=steps,
            start_lr=LR,
            end_lr=LR * 1.001,
        )
        assert [len(r) for r in fam.results] == [steps] * len(FAMILY), fam
        return statistics.median(r.meta["step_seconds"] or float("nan") for r in fam.results)

    arms = {"fit": plain, "find_lr": sweep, "find_lr_family, per member": family}
    members = {"find_lr_family, per member": len(FAMILY)}
    if breakdown and size == "mlp":
        lrs = lrwidget.analysis.lr_ladder(LR, LR * 1.001, steps)
        for name, cbs in breakdown_callbacks(keras, lrs).items():
            arms[name] = lambda cbs=cbs: plain(cbs)

    def timed(arm):
        (twin if arm == "fit, grouped" else model).set_weights(init)
        start, start_cpu = time.perf_counter(), time.process_time()
        step = arms[arm]()
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        n = members.get(arm, 1)  # a family's time per member: one sweep's worth
        return wall / n, cpu / n, float("nan") if step is None else step

    timed("fit")  # traces fit's step (the family's members trace theirs in the warm-up below)
    first = timed("find_lr")[0]  # the first sweep on this model: one step per call
    second = timed("find_lr")[0]  # the second: in groups where the backend allows, traced here
    group = last["group"]
    pairs = [("fit", "find_lr")]
    if group > 1:
        twin.compile(
            optimizer=model.optimizer.__class__.from_config(model.optimizer.get_config()),
            loss=model.loss,
            steps_per_execution=group,
        )
        arms["fit, grouped"] = lambda: plain(on=twin)
        pairs.append(("fit, grouped", "find_lr"))
    pairs += [("fit", arm) for arm in arms if arm not in ("fit", "find_lr", "fit, grouped")]
    for arm in arms:
        timed(arm)
    results = {pair: [] for pair in pairs}
    for rep in range(repeats):
        for base, arm in pairs:
            # base, arm, arm, base (or the mirror image): a drift or a cost of running first
            # falls on both sides alike. Each side counts its faster run: a stall (this VM
            # has them, up to seconds) only ever adds time, and rarely hits both runs.
            order = (base, arm, arm, base) if rep % 2 == 0 else (arm, base, base, arm)
            runs = [(a, timed(a)) for a in order]
            both = [
                tuple(min(t[i] for a, t in runs if a == name) for i in range(3))
                for name in (arm, base)
            ]
            results[(base, arm)].append(both)
    out = {"size": size, "steps": steps, "batch": batch, "group": group, "arms": {}}
    for (base, arm), quads in results.items():
        wall = [t[0] / b[0] for t, b in quads]
        out["arms"][f"{arm} / {base}"] = {
            "fit_ms": 1000 * statistics.median(b[0] for _, b in quads) / steps,
            "ratio": statistics.median(wall),
            "ratio_min": min(wall),
            "ratio_max": max(wall),
            "extra_us": statistics.median((t[0] - b[0]) / steps * 1e6 for t, b in quads),
            "cpu_ratio": statistics.median(t[1] / b[1] for t, b in quads),
            "cpu_extra_us": statistics.median((t[1] - b[1]) / steps * 1e6 for t, b in quads),
            "step_extra_us": statistics.median((t[2] - b[2]) * 1e6 for t, b in quads),
        }
    sweeps = [t[0] for t, _ in results[("fit", "find_lr")]]
    out["first_sweep_extra_s"] = first - statistics.median(sweeps)
    out["second_sweep_extra_s"] = second - statistics.median(sweeps)
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
    parser.add_argument("--repeats", type=int, default=None, help="rounds a row (default 9)")
    parser.add_argument("--quick", action="store_true", help="a third of the steps, 3 rounds")
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

    print(f"find_lr against model.fit over the same batches; {repeats} rounds a row")
    print("(a round: fit, find_lr, find_lr, fit or the mirror image, each side's faster run;")
    print("ratio: median over the rounds, [min-max]; CPU: this process's user + system time;")
    print("'fit, grouped': fit compiled with as many steps per call as the sweep ran)")
    print("; ".join(dict.fromkeys(r["versions"] for r in results)), f"; {os.cpu_count()} CPUs\n")
    print(
        "| backend | model, batch | steps | steps per call | against | its ms/step | ratio "
        "| extra µs/step | median step: extra µs | CPU ratio | extra CPU µs/step "
        "| first, second sweep: extra s |"
    )
    print("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        shape, filters, _ = SIZES[r["size"]]
        kind = "MLP 64" if filters is None else f"CNN {filters[0]}-{filters[1]}"
        model = f"{kind} on {'x'.join(map(str, shape))}, batch {r['batch']}"
        for pair, a in r["arms"].items():
            arm, base = pair.split(" / ")
            main_row = pair == "find_lr / fit"
            label = model if arm == "find_lr" else f"{model}: {arm}"
            first = r["first_sweep_extra_s"], r["second_sweep_extra_s"]
            first = f"{first[0]:+.2f}, {first[1]:+.2f}" if main_row else ""
            print(
                f"| {r['backend']} | {label} | {r['steps']} | {r['group']} | {base} "
                f"| {a['fit_ms']:.2f} "
                f"| **{a['ratio']:.3f}** [{a['ratio_min']:.2f}-{a['ratio_max']:.2f}] "
                f"| {a['extra_us']:+.0f} | {a['step_extra_us']:+.1f} | {a['cpu_ratio']:.3f} "
                f"| {a['cpu_extra_us']:+.0f} | {first} |"
            )


if __name__ == "__main__":
    main()
