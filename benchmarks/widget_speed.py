"""What the widget costs: sweep time with the live chart against headless find_lr, and the
bytes the chart sends to the front end.

Alternates the two arms on the same model, data and steps (the model is restored after every
sweep, so each arm starts from the same weights); the widget's messages go to a comm that
records them instead of a browser. Goals: time ratio <= 1.03, <= 2 MB for a 2,000-step sweep.

    python benchmarks/widget_speed.py [--steps 2000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
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

    def headless_in_thread():
        # The widget sweeps in a background thread; this arm prices the thread on its own.
        out = []
        thread = threading.Thread(target=lambda: out.append(headless()))
        thread.start()
        thread.join()
        return out[0]

    def widget():
        for c in comms.values():
            c.sent.clear()
        return finder.run(block=True)

    def sent_by_widget():
        """(bytes, messages) the widget's last sweep sent: JSON text plus binary buffers."""
        sent = [m for c in comms.values() for m in c.sent]
        size = sum(len(json.dumps(data, default=str)) + sum(sizes) for data, sizes in sent)
        return size, len(sent)

    headless(), widget()  # warm-up: tracing, first messages
    arms = {"headless": headless, "headless_thread": headless_in_thread, "widget": widget}
    times = {name: [] for name in arms}
    traffic = []
    for _ in range(args.repeats):
        for name, arm in arms.items():
            started = time.perf_counter()
            result = arm()
            times[name].append(time.perf_counter() - started)
            assert len(result) == args.steps, f"{name} ran {len(result)} steps ({result})"
        traffic.append(sent_by_widget())

    ratios = [w / h for w, h in zip(times["widget"], times["headless"], strict=True)]
    thread_ratios = [
        t / h for t, h in zip(times["headless_thread"], times["headless"], strict=True)
    ]
    med = {k: statistics.median(v) for k, v in times.items()}
    sent = statistics.median(b for b, _ in traffic)
    messages = statistics.median(m for _, m in traffic)
    print(f"\n{args.steps}-step sweep, {args.repeats} alternating pairs, median of each\n")
    print("| arm | median time (s) | sent to front end |")
    print("| --- | ---: | ---: |")
    print(f"| headless find_lr | {med['headless']:.2f} | - |")
    print(f"| headless find_lr in a thread | {med['headless_thread']:.2f} | - |")
    print(
        f"| LRFinderWidget | {med['widget']:.2f} | {sent / 1e6:.2f} MB in {messages:.0f} messages |"
    )
    print(
        f"\nmedian time ratio widget/headless: {statistics.median(ratios):.3f} "
        f"(pairs: {', '.join(f'{r:.3f}' for r in ratios)}); goal <= 1.03"
    )
    print(
        f"of which the thread alone, headless in a thread / headless: "
        f"{statistics.median(thread_ratios):.3f}"
    )
    print(f"bytes per sweep: {sent / 1e6:.2f} MB; goal <= 2 MB")
    command = (
        f"python benchmarks/widget_speed.py --steps {args.steps} --repeats {args.repeats} "
        f"--batch-size {args.batch_size}"
    )
    print(f"\ncommand: {command}")
    print(f"python {sys.version.split()[0]}, keras {keras.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main()
