"""What the widget costs: sweep time with the live chart against headless find_lr, and the
bytes the chart sends to the front end.

The same model, data and steps in every arm (the model is restored after every sweep, so each
arm starts from the same weights); the widget's messages go to a comm that records them instead
of a browser. ``--repeats`` rounds of headless, widget, widget, headless (every other round the
mirror image), so a drift or a cost of running first falls on both sides alike; each side
counts its faster run (this VM stalls now and then, for up to seconds, and a stall only ever
adds time); the ratio is the median over the rounds, also in CPU time (this process's user +
system time). The time the widget spends in its live updates is also measured directly, as a
share of the sweep: it is what the widget adds, and far less noisy than a ratio of two wall
times. Goals: time ratio <= 1.03, <= 2 MB for a 2,000-step sweep.

    python benchmarks/widget_speed.py [--steps 2000] [--repeats 7] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np
from sklearn.datasets import load_digits

import lrwidget

# The tests' recording comm: the one place that knows how ipywidgets 7 and 8 open a comm.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from recording_comm import record_comms  # noqa: E402


def make_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
    )
    model.compile(
        keras.optimizers.SGD(0.01, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--batch-size", type=int, default=16, help="16: ~1.5 ms steps, the worst case for overhead"
    )
    args = parser.parse_args(argv)

    comms = record_comms()
    d = load_digits()
    x, y = (d.data / 16.0).astype("float32"), d.target
    model = make_model()
    # A range that does not diverge within the steps, so every sweep runs them all.
    sweep = dict(batch_size=args.batch_size, num_steps=args.steps, start_lr=1e-6, end_lr=0.05)
    finder = lrwidget.LRFinderWidget(model, x, y, **sweep)

    def headless():
        return lrwidget.find_lr(model, x, y, **sweep)

    def widget():
        for c in comms.values():
            c.sent.clear()
        return finder.run(block=True)

    def sent_by_widget():
        """(bytes, messages) the widget's last sweep sent: JSON text plus binary buffers."""
        sent = [m for c in comms.values() for m in c.sent]
        size = sum(len(json.dumps(data, default=str)) + sum(sizes) for data, sizes in sent)
        return size, len(sent)

    # Time spent in the live updates, in the sweeping thread (outside a kernel the work the
    # widget hands to the kernel's thread runs there too, so it is counted).
    spent = []
    for hook in ("on_start", "on_update"):
        original = getattr(finder.runner, hook)

        def timed_hook(live, original=original):
            began = time.perf_counter()
            original(live)
            spent.append(time.perf_counter() - began)

        setattr(finder.runner, hook, timed_hook)

    def timed(arm):
        spent.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = arms[arm]()
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        assert len(result) == args.steps, f"{arm} ran {len(result)} steps ({result})"
        return wall, cpu, sum(spent), len(spent)

    arms = {"headless": headless, "widget": widget}
    for arm in arms:  # warm-up: tracing, first messages
        timed(arm)
    rounds = {"widget": []}
    traffic, updates = [], []
    for rep in range(args.repeats):
        for arm, store in rounds.items():
            order = ("headless", arm, arm, "headless")
            runs = [(a, timed(a)) for a in (order if rep % 2 == 0 else order[::-1])]
            base = [t for a, t in runs if a == "headless"]
            mine = [t for a, t in runs if a == arm]
            store.append(
                (
                    min(t[0] for t in mine) / min(t[0] for t in base),
                    min(t[1] for t in mine) / min(t[1] for t in base),
                    statistics.median(t[0] for t in base),
                )
            )
            if arm == "widget":
                traffic.append(sent_by_widget())
                updates += [(t[2] / t[0], t[3]) for t in mine]

    def summary(arm):
        wall = [r[0] for r in rounds[arm]]
        cpu = statistics.median(r[1] for r in rounds[arm])
        return f"**{statistics.median(wall):.3f}** [{min(wall):.2f}-{max(wall):.2f}] | {cpu:.3f}"

    headless_s = statistics.median(r[2] for r in rounds["widget"])
    sent = statistics.median(b for b, _ in traffic)
    messages = statistics.median(m for _, m in traffic)
    share = statistics.median(s for s, _ in updates)
    count = statistics.median(n for _, n in updates)
    print(
        f"\n{args.steps}-step sweep at batch {args.batch_size}, "
        f"{1000 * headless_s / args.steps:.2f} ms a step headless; {args.repeats} rounds\n"
    )
    print("| arm / headless find_lr | wall time, median [rounds] | CPU time |")
    print("| --- | ---: | ---: |")
    print(f"| LRFinderWidget | {summary('widget')} |")
    print(
        f"\nthe widget's live updates: {count:.0f} a sweep, {100 * share:.2f} % of its time "
        f"(median); sent to the front end: {sent / 1e6:.2f} MB in {messages:.0f} messages"
    )
    print("goals: widget / headless <= 1.03, <= 2 MB a sweep")
    command = (
        f"python benchmarks/widget_speed.py --steps {args.steps} --repeats {args.repeats} "
        f"--batch-size {args.batch_size}"
    )
    print(f"\ncommand: {command}")
    print(f"python {sys.version.split()[0]}, keras {keras.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
