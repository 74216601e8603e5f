"""Which suggestion rule gives the best LR to start from, and do the candidates train well?

For each task (data that ships with scikit-learn, no download), optimizer and seed:

1. build the model from a fixed seed and run ``lrwidget.find_lr`` with its defaults
   (1e-7 -> 10, one epoch but at least 100 steps, batch 32, training loss), or with each
   ``--sweep-steps`` length;
2. apply every rule in ``lrwidget.analysis.SUGGESTERS`` to that same curve, cut at divergence
   (``rule(lrs[:useful], smoothed[:useful])``, exactly what ``SweepResult.suggestion`` does),
   and read its candidates (``SweepResult.candidates``, what the chart offers for clicking)
   and the article's minima (``SweepResult.minima``);
3. train from the same initial weights and optimizer state for a fixed budget (200 steps)
   at every suggested LR, every candidate and minimum, and at every LR of a log grid
   (1e-4 .. 1 in half-decades), with the same shuffling, and evaluate on a held-out 30 % split.

A rule is scored against the best LR of the grid for the same case: the held-out loss ratio
(``loss(suggestion) / min over grid``, 1.0 = as good as the grid's best, below 1 = better) and
the accuracy gap in points. A training that blows up (non-finite loss) counts as a loss of
infinity, and so does a rule that suggests nothing. The summary ranks the rules per case by
held-out loss and averages the ranks.

The candidates are scored by regret, as in issue 10: accuracy short of the grid's best (0.01
= one point), or for regression the relative excess error (held-out MSE / the grid's best - 1,
capped at 1, which a blow-up also counts). A click on a candidate is scored by the mean over
the candidates of the sweep and by the worst of them, next to the rules on the same sweeps.

    python benchmarks/suggestion.py            # 4 tasks x {SGD+momentum, Adam} x 2 seeds
    python benchmarks/suggestion.py --quick    # 1 seed
    python benchmarks/suggestion.py --sweep-steps 100,300 --variants   # the README's tables
"""

from __future__ import annotations

import argparse
import json
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


def variants(sweep) -> dict[str, list[float]]:
    """Other ways to pick the LRs offered for clicking, read from the same curve (measured
    with ``--variants``; the README says why the default won)."""
    n = sweep.useful
    lrs, head = sweep.lrs[:n], sweep.smoothed[:n]
    diverged = n < len(sweep)

    def cands(factor):
        found = analysis.find_candidates(lrs, head, diverged=diverged, careful=factor, bold=factor)
        return [c.lr for c in found]

    minima = analysis.find_minima(lrs, head, open_end=False)
    spaced = []
    for lr in sorted(c.lr / 10 for c in sweep.minima):
        if not spaced or lr >= 1.2 * spaced[-1]:
            spaced.append(lr)
    return {
        "factor 2 (careful = steepest / 2, bold = steepest * 2)": cands(2.0),
        "factor 3": cands(3.0),
        "minima, the open end kept (before)": [c.lr for c in minima],
        "minima / 10": spaced,
    }


def run_case(task: Task, opt_name: str, seed: int, sweep_steps, with_variants=False) -> dict:
    """Sweep (once per length), then train at every grid LR and every LR the sweeps offer."""
    x_tr, x_te, y_tr, y_te = task.data
    keras.utils.set_random_seed(seed)
    model = task.build()
    model.compile(optimizer=OPTIMIZERS[opt_name](), loss=task.loss, metrics=task.metrics)
    model.optimizer.build(model.trainable_variables)
    state = [(v, np.array(v.numpy())) for v in [*model.variables, *model.optimizer.variables]]

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
    best_loss, best_acc = grid[best][0], max(acc for _, acc in grid)

    def regret(lr):
        """Accuracy short of the grid's best, or relative excess error (capped at 1)."""
        loss, acc = score(lr)
        if task.metrics:
            return best_acc - (acc if math.isfinite(acc) else 0.0)
        return min(loss / best_loss - 1.0, 1.0)

    sweeps = []
    for steps in sweep_steps:
        for v, value in state:  # every sweep starts from the initial weights, like training
            v.assign(value)
        keras.utils.set_random_seed(seed)
        sweep = lrwidget.find_lr(model, x_tr, y_tr, batch_size=BATCH, num_steps=steps)
        n = sweep.useful
        suggested = {
            rule: fn(sweep.lrs[:n], sweep.smoothed[:n]) for rule, fn in analysis.SUGGESTERS.items()
        }
        sets = {
            "candidates": [c.lr for c in sweep.candidates],
            "minima": [c.lr for c in sweep.minima],
        }
        if with_variants:
            sets.update(variants(sweep))
        sweeps.append(
            {
                "steps": sweep.meta["num_steps"],
                "lr_min": float(sweep.lrs[:n][np.nanargmin(sweep.smoothed[:n])]),
                "rules": {
                    rule: (lr, *score(lr)) if lr is not None else (None, math.inf, math.nan)
                    for rule, lr in suggested.items()
                },
                "rule_regret": {
                    rule: None if lr is None else regret(lr) for rule, lr in suggested.items()
                },
                "sets": {name: [regret(lr) for lr in lrs] for name, lrs in sets.items()},
                "labels": [c.label for c in sweep.candidates],
                "notes": sweep.notes,
            }
        )
    return {
        "best_lr": float(GRID[best]),
        "best_loss": best_loss,
        "best_acc": best_acc,
        "sweeps": sweeps,
    }


def ranks(values: list[float]) -> list[float]:
    """Average ranks (1 = smallest), ties sharing their mean rank."""
    order = sorted(values)
    return [order.index(v) + (order.count(v) + 1) / 2 for v in values]


def _mean(values):
    values = list(values)
    return statistics.mean(values) if values else math.nan


def click_table(sweeps, rules):
    """Regret of a click on each offered LR, side by side with the rules, on the same sweeps."""
    sug = analysis.DEFAULT_SUGGESTER
    with_cands = [s for s in sweeps if s["sets"]["candidates"]]
    # Where the suggestion itself trains well: the comparison without its rare failures.
    typical = [s for s in with_cands if s["rule_regret"][sug] is not None]
    typical = [s for s in typical if s["rule_regret"][sug] <= 0.1]

    def rows():
        """(name, sweep -> the regrets of its picks) for every rule and every set of LRs."""
        for rule in rules:
            name = f"rule {rule}" + (" (the suggestion)" if rule == sug else "")
            yield (
                name,
                lambda s, r=rule: [] if s["rule_regret"][r] is None else [s["rule_regret"][r]],
            )
        for key in sweeps[0]["sets"]:
            name = "**a click on a candidate**" if key == "candidates" else f"a click on: {key}"
            yield name, lambda s, k=key: s["sets"][k]

    def mean_click(group, picks):
        got = [picks(s) for s in group if picks(s)]
        return _mean(_mean(g) for g in got), got

    base, _ = mean_click(
        with_cands, lambda s: [s["rule_regret"][sug]] if s["rule_regret"][sug] is not None else []
    )
    base_typical, _ = mean_click(typical, lambda s: [s["rule_regret"][sug]])
    print(
        f"\nRegret of a click, over the {len(with_cands)} of {len(sweeps)} sweeps that have "
        "candidates (accuracy short of the grid's best, or relative excess error; 0.01 = "
        "one point; mean over sweeps of the mean click, the worst and the best click of each "
        f"sweep). Last two columns: the {len(typical)} of these sweeps where the suggestion "
        "itself is within 0.1 of the grid's best.\n"
    )
    print(
        "| pick | LRs per sweep | mean regret | worst click | best click | x the suggestion "
        "| typical sweeps: mean | x the suggestion |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, picks in rows():
        mean, got = mean_click(with_cands, picks)
        if not got:
            continue
        none = len(with_cands) - len(got)
        name += f", {none} sweeps without any" if none else ""
        count = _mean(len(picks(s)) for s in with_cands)
        worst, best = _mean(max(g) for g in got), _mean(min(g) for g in got)
        typ, _ = mean_click(typical, picks)
        spread = f"{worst:.3f} | {best:.3f}" if count > 1 else "- | -"
        print(
            f"| {name} | {count:.2f} | {mean:.3f} | {spread} | {mean / base:.2f} "
            f"| {typ:.3f} | {typ / base_typical:.2f} |"
        )
    labels = {}
    for s in with_cands:
        for label, regret in zip(s["labels"], s["sets"]["candidates"], strict=True):
            labels.setdefault(label, []).append(regret)
    print(
        "\nBy label, mean regret (sweeps): "
        + ", ".join(f"{k} {_mean(v):.3f} ({len(v)})" for k, v in sorted(labels.items()))
        + f"; two or more candidates in {sum(len(s['labels']) >= 2 for s in sweeps)} of "
        f"{len(sweeps)} sweeps"
    )
    without = [s for s in sweeps if not s["sets"]["candidates"]]
    if without:
        got = [s["rule_regret"][sug] for s in without]
        known = [g for g in got if g is not None]
        notes = sorted({n.split(":")[0] for s in without for n in s["notes"]})
        print(
            f"{len(without)} sweeps have no candidate (their note: {'; '.join(notes)}); "
            f"the suggestion there: mean regret {_mean(known):.3f}"
            + (f", {len(got) - len(known)} without an answer" if len(known) < len(got) else "")
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one seed instead of two")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 2)")
    parser.add_argument(
        "--sweep-steps",
        default=None,
        help="sweep length, or several separated by commas (e.g. 100,300); default: find_lr's",
    )
    parser.add_argument(
        "--variants", action="store_true", help="also score other ways to pick the candidates"
    )
    parser.add_argument("--json", default=None, help="also write every sweep's figures here")
    args = parser.parse_args()
    seeds = range(args.seeds or (1 if args.quick else 2))
    steps = [None] if args.sweep_steps is None else [int(v) for v in args.sweep_steps.split(",")]
    rules = list(analysis.SUGGESTERS)
    started = time.perf_counter()

    results = {}  # (task, optimizer) -> list of per-seed results
    for task in tasks():
        for opt_name in OPTIMIZERS:
            results[task.name, opt_name] = [
                run_case(task, opt_name, s, steps, args.variants) for s in seeds
            ]
            print(f"done: {task.name}, {opt_name} ({time.perf_counter() - started:.0f} s)")

    # The rules' tables: every sweep of a case counts as a case of its own.
    sweeps = {
        key: [
            dict(sw, best_loss=r["best_loss"], best_acc=r["best_acc"], best_lr=r["best_lr"])
            for r in runs
            for sw in r["sweeps"]
        ]
        for key, runs in results.items()
    }
    lengths = sorted({sw["steps"] for runs in sweeps.values() for sw in runs})
    print(
        f"\nHeld-out loss ratio to the best grid LR (median over {len(seeds)} seeds x "
        f"{len(lengths)} sweep lengths, {', '.join(map(str, lengths))} steps; the LR is the "
        "median suggestion; lower is better, 1.00 = the grid's best)\n"
    )
    print("| task | opt | best grid LR | " + " | ".join(rules) + " |")
    print("| --- | --- | ---: | " + " | ".join("---:" for _ in rules) + " |")
    for (task, opt), runs in sweeps.items():
        cells = []
        for rule in rules:
            lrs = [r["rules"][rule][0] for r in runs if r["rules"][rule][0] is not None]
            ratio = statistics.median(r["rules"][rule][1] / r["best_loss"] for r in runs)
            lr = f"{statistics.median(lrs):.2g}" if lrs else "none"
            cells.append(f"{ratio:.2f} ({lr})")
        best_lr = statistics.median(r["best_lr"] for r in runs)
        print(f"| {task} | {opt} | {best_lr:.2g} | " + " | ".join(cells) + " |")

    cases = [r for runs in sweeps.values() for r in runs]
    rank_lists = [ranks([c["rules"][rule][1] for rule in rules]) for c in cases]
    print(f"\nSummary over {len(cases)} cases (tasks x optimizers x seeds x sweep lengths)\n")
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
            f"| {_mean(gaps):.1f} pp |"
        )
    for opt in OPTIMIZERS:
        factors = [
            r["best_lr"] / r["lr_min"] for (_, o), runs in sweeps.items() if o == opt for r in runs
        ]
        print(
            f"\n{opt}: best grid LR / LR at the smoothed minimum: median "
            f"{statistics.median(factors):.3g}"
            f" (range {min(factors):.3g} .. {max(factors):.3g})"
        )
    click_table(cases, rules)
    if args.json:
        rows = [dict(sw, task=t, opt=o) for (t, o), runs in sweeps.items() for sw in runs]
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=float)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
