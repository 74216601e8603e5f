"""Which suggestion rule gives the best LR to start from? Measured on small real tasks.

For each task (data that ships with scikit-learn, no download), optimizer and seed:

1. build the model from a fixed seed and run ``lrwidget.find_lr`` with its defaults
   (1e-7 -> 10, one epoch but at least 100 steps, batch 32, training loss);
2. apply every rule in ``lrwidget.analysis.SUGGESTERS`` to that same curve, cut at divergence
   (``rule(lrs[:useful], smoothed[:useful])``, exactly what ``SweepResult.suggestion`` does);
3. train from the same initial weights and optimizer state for a fixed budget (200 steps)
   at every suggested LR and at every LR of a log grid (1e-4 .. 1 in half-decades), with the
   same shuffling, and evaluate on a held-out 30 % split.

A rule is scored against the best LR of the grid for the same case: the held-out loss ratio
(``loss(suggestion) / min over grid``, 1.0 = as good as the grid's best, below 1 = better) and
the accuracy gap in points. A training that blows up (non-finite loss) counts as a loss of
infinity, and so does a rule that suggests nothing. The summary ranks the rules per case by
held-out loss and averages the ranks.

    python benchmarks/suggestion.py            # 4 tasks x {SGD+momentum, Adam} x 2 seeds
    python benchmarks/suggestion.py --quick    # 1 seed
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import lrwidget  # noqa: E402
from lrwidget import analysis  # noqa: E402

BATCH = 32
BUDGET = 200  # training steps per LR: 5 epochs of digits, 16 of breast cancer
GRID = 10.0 ** np.arange(-4.0, 0.01, 0.5)  # 1e-4 .. 1, half-decades
OPTIMIZERS = {
    "SGD+m": lambda: keras.optimizers.SGD(1e-3, momentum=0.9),
    "Adam": lambda: keras.optimizers.Adam(1e-3),
}


@dataclass
class Task:
    name: str
    data: tuple  # x_train, x_test, y_train, y_test
    build: Callable[[], keras.Model]
    loss: str
    metrics: list


def _split(x, y, stratify=True):
    return train_test_split(x, y, test_size=0.3, random_state=0, stratify=y if stratify else None)


def _scaled(x, y, stratify=True):
    x_tr, x_te, y_tr, y_te = _split(x, y, stratify)
    scaler = StandardScaler().fit(x_tr)
    return scaler.transform(x_tr), scaler.transform(x_te), y_tr, y_te


def _mlp(inputs, outputs, width):
    return keras.Sequential(
        [
            keras.Input((inputs,)),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(outputs),
        ]
    )


def _cnn():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(10),
        ]
    )


def tasks() -> list[Task]:
    digits = datasets.load_digits()
    x_d = (digits.data / 16.0).astype("float32")
    d_tr, d_te, dy_tr, dy_te = _split(x_d, digits.target)
    cancer = datasets.load_breast_cancer()
    diabetes = datasets.load_diabetes()
    b_tr, b_te, by_tr, by_te = _scaled(diabetes.data, diabetes.target, stratify=False)
    mean, std = by_tr.mean(), by_tr.std()  # a standardised target: MSE 1.0 = predicting the mean
    xent = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return [
        Task(
            "digits MLP",
            (d_tr, d_te, dy_tr, dy_te),
            lambda: _mlp(64, 10, 64),
            xent,
            ["accuracy"],
        ),
        Task(
            "digits CNN",
            tuple(a.reshape(-1, 8, 8, 1) if a.ndim == 2 else a for a in (d_tr, d_te, dy_tr, dy_te)),
            _cnn,
            xent,
            ["accuracy"],
        ),
        Task(
            "breast cancer MLP",
            _scaled(cancer.data, cancer.target),
            lambda: _mlp(30, 1, 32),
            keras.losses.BinaryCrossentropy(from_logits=True),
            [keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")],
        ),
        Task(
            "diabetes MLP (regression)",
            (b_tr, b_te, (by_tr - mean) / std, (by_te - mean) / std),
            lambda: _mlp(10, 1, 32),
            "mse",
            [],
        ),
    ]


def run_case(task: Task, opt_name: str, seed: int, sweep_steps: int | None) -> dict:
    """Sweep once, then train at every grid LR and every suggestion; held-out loss/accuracy."""
    x_tr, x_te, y_tr, y_te = task.data
    keras.utils.set_random_seed(seed)
    model = task.build()
    model.compile(optimizer=OPTIMIZERS[opt_name](), loss=task.loss, metrics=task.metrics)
    model.optimizer.build(model.trainable_variables)
    state = [(v, np.array(v.numpy())) for v in [*model.variables, *model.optimizer.variables]]

    keras.utils.set_random_seed(seed)
    sweep = lrwidget.find_lr(model, x_tr, y_tr, batch_size=BATCH, num_steps=sweep_steps)
    n = sweep.useful
    suggested = {
        rule: fn(sweep.lrs[:n], sweep.smoothed[:n]) for rule, fn in analysis.SUGGESTERS.items()
    }
    lr_min = float(sweep.lrs[:n][np.nanargmin(sweep.smoothed[:n])])

    scores = {}  # lr -> (held-out loss, accuracy)

    def score(lr):
        key = float(f"{lr:.6g}")
        if key not in scores:
            for v, value in state:
                v.assign(value)
            model.optimizer.learning_rate.assign(lr)
            data = tf.data.Dataset.from_tensor_slices((x_tr, y_tr))
            data = data.shuffle(len(x_tr), seed=seed).repeat().batch(BATCH)
            model.fit(data, steps_per_epoch=BUDGET, epochs=1, shuffle=False, verbose=0)
            out = model.evaluate(x_te, y_te, batch_size=256, verbose=0, return_dict=True)
            loss = out["loss"] if math.isfinite(out["loss"]) else math.inf
            scores[key] = (loss, out.get("accuracy", math.nan))
        return scores[key]

    grid = [score(lr) for lr in GRID]
    best = min(range(len(GRID)), key=lambda i: grid[i][0])
    rules = {
        rule: (lr, *score(lr)) if lr is not None else (None, math.inf, math.nan)
        for rule, lr in suggested.items()
    }
    return {
        "best_lr": float(GRID[best]),
        "best_loss": grid[best][0],
        "best_acc": max(acc for _, acc in grid),
        "lr_min": lr_min,
        "rules": rules,
    }


def ranks(values: list[float]) -> list[float]:
    """Average ranks (1 = smallest), ties sharing their mean rank."""
    order = sorted(values)
    return [order.index(v) + (order.count(v) + 1) / 2 for v in values]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed instead of two")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 2)")
    parser.add_argument("--sweep-steps", type=int, default=None, help="default: find_lr's")
    args = parser.parse_args()
    seeds = range(args.seeds or (1 if args.quick else 2))
    rules = list(analysis.SUGGESTERS)
    started = time.perf_counter()

    results = {}  # (task, optimizer) -> list of per-seed results
    for task in tasks():
        for opt_name in OPTIMIZERS:
            results[task.name, opt_name] = [
                run_case(task, opt_name, s, args.sweep_steps) for s in seeds
            ]
            print(f"done: {task.name}, {opt_name} ({time.perf_counter() - started:.0f} s)")

    print(f"\nHeld-out loss ratio to the best grid LR (median over {len(seeds)} seeds; the LR")
    print("is the median suggestion; lower is better, 1.00 = the grid's best)\n")
    print("| task | opt | best grid LR | " + " | ".join(rules) + " |")
    print("| --- | --- | ---: | " + " | ".join("---:" for _ in rules) + " |")
    for (task, opt), runs in results.items():
        cells = []
        for rule in rules:
            lrs = [r["rules"][rule][0] for r in runs if r["rules"][rule][0] is not None]
            ratio = statistics.median(r["rules"][rule][1] / r["best_loss"] for r in runs)
            lr = f"{statistics.median(lrs):.2g}" if lrs else "none"
            cells.append(f"{ratio:.2f} ({lr})")
        best_lr = statistics.median(r["best_lr"] for r in runs)
        print(f"| {task} | {opt} | {best_lr:.2g} | " + " | ".join(cells) + " |")

    cases = [r for runs in results.values() for r in runs]
    rank_lists = [ranks([c["rules"][rule][1] for rule in rules]) for c in cases]
    print(f"\nSummary over {len(cases)} cases (tasks x optimizers x seeds)\n")
    print(
        "| rule | mean rank | median loss ratio | worst loss ratio | cases > 1.5x "
        "| no answer | mean acc gap |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, rule in enumerate(rules):
        ratios = [c["rules"][rule][1] / c["best_loss"] for c in cases]
        answered = [c for c in cases if c["rules"][rule][0] is not None]
        # Accuracy gap in points, over the classification cases where the rule answered.
        gaps = [100 * (c["best_acc"] - c["rules"][rule][2]) for c in answered if c["best_acc"] >= 0]
        print(
            f"| {rule} | {statistics.mean(r[i] for r in rank_lists):.2f} "
            f"| {statistics.median(ratios):.2f} | {max(ratios):.3g} "
            f"| {sum(r > 1.5 for r in ratios)} | {len(cases) - len(answered)} "
            f"| {statistics.mean(gaps):.1f} pp |"
        )
    for opt in OPTIMIZERS:
        factors = [
            r["best_lr"] / r["lr_min"] for (_, o), runs in results.items() if o == opt for r in runs
        ]
        print(
            f"\n{opt}: best grid LR / LR at the smoothed minimum: median "
            f"{statistics.median(factors):.3g}"
            f" (range {min(factors):.3g} .. {max(factors):.3g})"
        )
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
