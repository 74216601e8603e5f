"""Does the suggestion give a good LR to train at, on the work users bring, against what they
would do without a finder?

Three groups of tasks, all on data that ships with scikit-learn (no download):

- ``scratch``: models trained from scratch (digits MLP and CNN, breast cancer MLP, diabetes
  MLP on a standardised target) with SGD + momentum and Adam;
- ``poor default``: from scratch, where the optimizer's default LR is a poor choice: plain SGD
  without momentum, a regression target left in its own units, a batch of 512, a short sweep
  over a wide range;
- ``fine-tuning``: a CNN backbone pretrained inside the benchmark on digits 0-4, then a new
  head fine-tuned on digits 5-9: the whole network with Adam, the whole network with SGD +
  Nesterov momentum, and the head alone (backbone frozen) with Adam.

For each case (task, optimizer, seed): build the model from a fixed seed, run
``lrwidget.find_lr`` (its defaults: 1e-7 -> 10, one epoch but at least 300 steps; most
tasks are also swept at 100 steps, to show what a short sweep reads), then train from the same
initial weights and shuffling for ``BUDGET``
steps at every LR of a half-decade grid (1e-5 .. 3.2), at every LR a rule or a candidate
offers, at the optimizer's default LR, and once with an LR-free optimizer (Prodigy, Adam form,
d0 = 1e-6, written from Mishchenko & Defazio 2024 in this file only); then evaluate on a
held-out 30 % split.

Regret: accuracy short of the best grid LR (0.01 = one point), or for regression the relative
excess error (held-out MSE / the grid's best - 1, capped at 1; a blow-up counts 1). A rule that
suggests nothing scores the regret of the optimizer's default LR (what the user then trains
with) and is counted. Peers' rules run on the curve as those tools smooth it (a one-way EMA).
The seed spread of a rule on a task is the largest over the smallest LR it suggested across the
seeds (a factor).

    python benchmarks/suggestion.py                       # all groups
    python benchmarks/suggestion.py --groups fine-tuning  # one group
    python benchmarks/suggestion.py --cache .bench-cache.json   # reuse sweeps and trainings

Every sweep and training is seeded, so a cached figure is the one a fresh run computes; the
cache only saves time when rules change.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn import datasets  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import lrwidget  # noqa: E402
from lrwidget import analysis, smoothing  # noqa: E402
from lrwidget.data import plan_fit  # noqa: E402
from lrwidget.result import AnalysisSettings, SweepResult  # noqa: E402

BATCH = 32
BUDGET = 200  # training steps per LR
GRID = 10.0 ** np.arange(-5.0, 0.51, 0.5)  # 1e-5 .. 3.2, half-decades
GROUPS = ("scratch", "poor default", "fine-tuning")
XENT = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def sgd_momentum(lr):
    return keras.optimizers.SGD(lr, momentum=0.9)


def sgd_nesterov(lr):
    return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)


def sgd(lr):
    return keras.optimizers.SGD(lr)


def adam(lr):
    return keras.optimizers.Adam(lr)


DEFAULT_LR = {sgd_momentum: 0.01, sgd_nesterov: 0.01, sgd: 0.01, adam: 1e-3}  # Keras's defaults


@dataclass
class Case:
    """One task with one optimizer: what is swept and trained, and how."""

    name: str
    opt: str
    group: str
    data: tuple  # x_train, x_test, y_train, y_test
    build: Callable[[], keras.Model]
    optimizer: Callable[[float], keras.optimizers.Optimizer]
    loss: object
    classify: bool = True
    batch: int = BATCH
    sweep_steps: tuple = (100, None)  # None: find_lr's default length (300 steps here)
    sweep: dict = field(default_factory=dict)  # other find_lr arguments

    @property
    def key(self) -> str:
        return f"{self.group}|{self.name}|{self.opt}"


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


def _backbone():
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
        ],
        name="backbone",
    )


def _cnn():
    return keras.Sequential([_backbone(), keras.layers.Dense(10)])


def _images(a):
    return a.reshape(-1, 8, 8, 1) if a.ndim == 2 else a


def _pretrained_backbone(x, y) -> list[np.ndarray]:
    """A backbone trained on digits 0-4 (every sample of them), as a user's pretrained model."""
    keras.utils.set_random_seed(1234)
    model = keras.Sequential([_backbone(), keras.layers.Dense(5)])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=XENT, metrics=["accuracy"])
    model.fit(_images(x), y, batch_size=32, epochs=40, verbose=0)
    return model.layers[0].get_weights()


def cases(groups) -> list[Case]:
    digits = datasets.load_digits()
    x_d = (digits.data / 16.0).astype("float32")
    d = _split(x_d, digits.target)
    d_img = tuple(_images(a) for a in d)
    cancer = _scaled(*datasets.load_breast_cancer(return_X_y=True))
    diabetes = datasets.load_diabetes()
    b_tr, b_te, by_tr, by_te = _scaled(diabetes.data, diabetes.target, stratify=False)
    mean, std = by_tr.mean(), by_tr.std()  # standardised: MSE 1.0 = predicting the mean
    bxent = keras.losses.BinaryCrossentropy(from_logits=True)
    out = []
    for opt, make in (("SGD+m", sgd_momentum), ("Adam", adam)):
        out += [
            Case("digits MLP", opt, "scratch", d, lambda: _mlp(64, 10, 64), make, XENT),
            Case("digits CNN", opt, "scratch", d_img, _cnn, make, XENT),
            Case("breast cancer MLP", opt, "scratch", cancer, lambda: _mlp(30, 1, 32), make, bxent),
            Case(
                "diabetes MLP",
                opt,
                "scratch",
                (b_tr, b_te, (by_tr - mean) / std, (by_te - mean) / std),
                lambda: _mlp(10, 1, 32),
                make,
                "mse",
                classify=False,
            ),
        ]
    poor = dict(group="poor default", sweep_steps=(None,))
    out += [
        Case("digits MLP", "SGD", data=d, build=lambda: _mlp(64, 10, 64), optimizer=sgd, loss=XENT,
             group="poor default", sweep_steps=(100, None)),
        Case("diabetes MLP, target in its units", "Adam", data=(b_tr, b_te, by_tr, by_te),
             build=lambda: _mlp(10, 1, 32), optimizer=adam, loss="mse", classify=False, **poor),
        Case("digits MLP, batch 512", "SGD+m", data=d, build=lambda: _mlp(64, 10, 64),
             optimizer=sgd_momentum, loss=XENT, batch=512, **poor),
        Case("breast cancer MLP, 40-step sweep 1e-6..100", "SGD", data=cancer,
             build=lambda: _mlp(30, 1, 32), optimizer=sgd, loss=bxent,
             sweep={"num_steps": 40, "start_lr": 1e-6, "end_lr": 100.0}, **poor),
    ]  # fmt: skip
    if "fine-tuning" in groups:
        low = digits.target < 5
        pretrained = _pretrained_backbone(x_d[low], digits.target[low])
        f_tr, f_te, fy_tr, fy_te = _split(x_d[~low], digits.target[~low] - 5)
        f = (_images(f_tr), _images(f_te), fy_tr, fy_te)

        def tuned(frozen):
            def build():
                backbone = _backbone()
                backbone.set_weights(pretrained)
                backbone.trainable = not frozen
                return keras.Sequential([backbone, keras.layers.Dense(5)])

            return build

        tune = dict(group="fine-tuning", data=f, loss=XENT)
        out += [
            Case("whole network", "Adam", build=tuned(False), optimizer=adam, **tune),
            Case("whole network", "SGD+Nesterov", build=tuned(False), optimizer=sgd_nesterov,
                 **tune),
            Case("head only (backbone frozen)", "Adam", build=tuned(True), optimizer=adam, **tune),
        ]  # fmt: skip
    return [c for c in out if c.group in groups]


# --- What a user of another tool gets -----------------------------------------------------------


def ema(losses, beta=0.98, debias=True):
    """The one-way EMA other finders record (fastai and Lightning debias it, torch-lr-finder
    does not, starting from the first loss)."""
    out, avg = [], 0.0
    for i, v in enumerate(np.asarray(losses, dtype=np.float64)):
        if debias:
            avg = beta * avg + (1 - beta) * v
            out.append(avg / (1 - beta ** (i + 1)))
        else:
            avg = v if i == 0 else beta * avg + (1 - beta) * v
            out.append(avg)
    return np.array(out)


def peer_steepest(sweep):
    """torch-lr-finder's and Lightning's suggestion: the most negative gradient of the smoothed
    loss over the step index, 10 steps skipped at the start and 5 (1 for Lightning) at the end."""
    lrs, loss = sweep.lrs, ema(sweep.losses, 0.95, debias=False)
    lo, hi = 10, len(loss) - 5
    if hi - lo < 3 or not np.isfinite(loss[lo:hi]).any():
        return None
    grad = np.gradient(np.where(np.isfinite(loss[lo:hi]), loss[lo:hi], np.inf))
    return float(lrs[lo + int(np.nanargmin(np.where(np.isfinite(grad), grad, np.inf)))])


def peer_valley(sweep):
    """fastai's ``valley``: the longest stretch of decreasing loss (on its debiased EMA), and the
    LR between its first and second third."""
    lrs, loss = sweep.lrs, ema(sweep.losses)
    n = int(np.sum(np.isfinite(loss)))
    if n < 3:
        return None
    start, end = analysis.longest_descent(loss[:n])
    third = (end - start) / 3
    return float(lrs[start + int(third) + int(third / 2)])


def peer_minimum(sweep):
    """fastai's ``minimum``: the LR of the lowest debiased-EMA loss, divided by 10."""
    loss = ema(sweep.losses)
    if not np.isfinite(loss).any():
        return None
    return float(sweep.lrs[int(np.nanargmin(loss))] / 10)


PEERS = {
    "steepest (torch-lr-finder, Lightning)": peer_steepest,
    "valley (fastai)": peer_valley,
    "minimum/10 (fastai)": peer_minimum,
}


# --- Does the curve follow the data? ------------------------------------------------------------


def running_median(y, k=9):
    padded = np.pad(y, k // 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, k), axis=1)


def previous_curve(sweep):
    """The curve lrwidget drew before the adaptive smoother: the debiased EMA with its window
    capped at a tenth of the sweep, run forward and back over the part before divergence."""
    head = sweep.losses[: sweep.useful]
    beta = sweep.settings.beta
    return analysis.smooth(analysis.smooth(head, beta)[::-1], beta)[::-1]


def follows(sweep, curve) -> dict:
    """How well ``curve`` (the smoothed head) keeps to the raw losses: the share of points
    within two robust standard deviations of the batch noise of a 9-point running median,
    whether its minimum is, and how far its minimum lies from the running median's (decades)."""
    raw = sweep.losses[: sweep.useful]
    median = running_median(raw)
    inside = np.abs(curve - median) <= 2 * smoothing.noise_level(raw)
    low = int(np.argmin(curve))
    log_lr = np.log10(sweep.lrs[: sweep.useful])
    return {
        "inside": float(inside.mean()),
        "min_inside": bool(inside[low]),
        "min_shift": float(log_lr[low] - log_lr[int(np.argmin(median))]),
    }


# --- Training ------------------------------------------------------------------------------------


def train_prodigy(model, loss, dataset, steps, d0=1e-6, beta1=0.9, beta2=0.999, eps=1e-8):
    """Prodigy, Adam form (Mishchenko & Defazio, ICML 2024, Algorithm 4), with LR factor 1:
    the step size d grows from ``d0`` towards an estimate of the distance to the solution."""
    weights = model.trainable_variables
    x0 = [tf.constant(w) for w in weights]
    m = [tf.Variable(tf.zeros_like(w)) for w in weights]
    v = [tf.Variable(tf.zeros_like(w)) for w in weights]
    s = [tf.Variable(tf.zeros_like(w)) for w in weights]
    r = tf.Variable(0.0)
    d = tf.Variable(d0)
    root = math.sqrt(beta2)

    @tf.function
    def step(x, y):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True))
        grads = tape.gradient(value, weights)
        dk = d.read_value()
        dot = tf.add_n(
            [tf.reduce_sum(g * (a - w)) for g, a, w in zip(grads, x0, weights, strict=True)]
        )
        r.assign(root * r + (1 - root) * dk**2 * dot)
        for g, mi, vi, si in zip(grads, m, v, s, strict=True):
            mi.assign(beta1 * mi + (1 - beta1) * dk * g)
            vi.assign(beta2 * vi + (1 - beta2) * dk**2 * g**2)
            si.assign(root * si + (1 - root) * dk**2 * g)
        norm = tf.add_n([tf.reduce_sum(tf.abs(si)) for si in s])
        d.assign(tf.maximum(dk, tf.math.divide_no_nan(r, norm)))
        for w, mi, vi in zip(weights, m, v, strict=True):
            w.assign_sub(dk * mi / (tf.sqrt(vi) + dk * eps))

    for x, y in dataset.take(steps):
        step(x, y)


class Runner:
    """Trains one case's model from its initial state; remembers every score (and sweep).

    ``budget``: training steps per score (a budget other than ``BUDGET`` is part of the key)."""

    def __init__(self, case: Case, seed: int, cache: dict, budget: int = BUDGET):
        self.case, self.seed, self.cache, self.budget = case, seed, cache, budget
        self.prefix = f"{case.key}|{seed}"
        self._scored = self.prefix if budget == BUDGET else f"{self.prefix}|{budget} steps"
        self._model = None

    @property
    def model(self):
        if self._model is None:
            keras.utils.set_random_seed(self.seed)
            model = self.case.build()
            loss = self.case.loss
            metrics = (
                [keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]
                if isinstance(loss, keras.losses.BinaryCrossentropy)
                else ["accuracy"]
                if self.case.classify
                else []
            )
            model.compile(optimizer=self.case.optimizer(1e-3), loss=loss, metrics=metrics)
            model.optimizer.build(model.trainable_variables)
            self._state = [
                (v, np.array(v.numpy())) for v in [*model.variables, *model.optimizer.variables]
            ]
            self._model = model
        return self._model

    def reset(self):
        model = self.model
        for v, value in self._state:
            v.assign(value)
        return model

    def dataset(self, order: int = 0):
        """The training split, shuffled by the seed (``order``: another order of the same data)."""
        x_tr, _, y_tr, _ = self.case.data
        data = tf.data.Dataset.from_tensor_slices((x_tr, y_tr))
        shuffled = data.shuffle(len(x_tr), seed=self.seed + 1000 * order)
        return shuffled.repeat().batch(self.case.batch)

    def _evaluate(self, model):
        _, x_te, _, y_te = self.case.data
        out = model.evaluate(x_te, y_te, batch_size=256, verbose=0, return_dict=True)
        loss = out["loss"] if math.isfinite(out["loss"]) else math.inf
        return [loss, out.get("accuracy", math.nan)]

    def score(self, lr, order: int = 0) -> tuple[float, float]:
        """(held-out loss, accuracy) after ``self.budget`` steps at ``lr`` (``order``: trained
        on another order of the batches, a replicate of the same score)."""
        key = f"{self._scored}|{lr:.6g}" + (f"|order {order}" if order else "")
        if key not in self.cache:
            model = self.reset()
            model.optimizer.learning_rate.assign(lr)
            model.fit(
                self.dataset(order), steps_per_epoch=self.budget, epochs=1, shuffle=False, verbose=0
            )
            self.cache[key] = self._evaluate(model)
        return tuple(self.cache[key])

    def prodigy(self) -> tuple[float, float]:
        key = f"{self._scored}|prodigy"
        if key not in self.cache:
            model = self.reset()
            loss = keras.losses.MeanSquaredError() if self.case.loss == "mse" else self.case.loss
            keras.utils.set_random_seed(self.seed)
            train_prodigy(model, loss, self.dataset(), self.budget)
            self.cache[key] = self._evaluate(model)
        return tuple(self.cache[key])

    def sweep(self, steps) -> SweepResult:
        x_tr, _, y_tr, _ = self.case.data
        kwargs = {"num_steps": steps, **self.case.sweep}
        planned = plan_fit(x_tr, y_tr, batch_size=self.case.batch, num_steps=kwargs["num_steps"])
        default = plan_fit(x_tr, y_tr, batch_size=self.case.batch)  # num_steps=None
        key = f"sweep|{self.prefix}|{planned.num_steps}"
        if key not in self.cache:
            model = self.reset()
            keras.utils.set_random_seed(self.seed)
            got = lrwidget.find_lr(model, x_tr, y_tr, batch_size=self.case.batch, **kwargs)
            self.cache[key] = {
                "lrs": got.lrs.tolist(),
                "losses": got.losses.tolist(),
                "stop_reason": got.stop_reason,
                "beta": got.settings.beta,
                "num_steps": got.meta["num_steps"],
            }
        raw = self.cache[key]
        return SweepResult(
            raw["lrs"],
            raw["losses"],
            stop_reason=raw["stop_reason"],
            settings=AnalysisSettings(beta=raw["beta"]),
            meta={"num_steps": raw["num_steps"], "default_steps": default.num_steps},
        )


def regret_against(case: Case, grid: list) -> Callable[[tuple], float]:
    """Regret of a (held-out loss, accuracy) score against the best of the ``grid``'s scores:
    accuracy short of the best, or for regression the relative excess loss capped at 1."""
    best_loss = min(loss for loss, _ in grid)
    best_acc = max(acc for _, acc in grid) if case.classify else math.nan

    def regret(scored):
        loss, acc = scored
        if case.classify:
            return best_acc - (acc if math.isfinite(acc) else 0.0)
        return min(loss / best_loss - 1.0, 1.0)

    return regret


def run_case(case: Case, seed: int, cache: dict) -> list[dict]:
    """Every sweep of the case, each with the regret of every pick on it."""
    run = Runner(case, seed, cache)
    grid = [run.score(lr) for lr in GRID]
    best = min(range(len(GRID)), key=lambda i: grid[i][0])
    regret = regret_against(case, grid)
    default = regret(run.score(DEFAULT_LR[case.optimizer]))
    out = []
    for steps in case.sweep_steps:
        sweep = run.sweep(steps)
        picks = {"lrwidget": sweep.suggestion}
        picks.update({name: rule(sweep) for name, rule in PEERS.items()})
        n = sweep.useful
        for name, rule in analysis.SUGGESTERS.items():
            picks[f"ours: {name}"] = rule(sweep.lrs[:n], sweep.smoothed[:n])
        out.append(
            {
                "case": case.key,
                "task": case.name,
                "opt": case.opt,
                "group": case.group,
                "seed": seed,
                "steps": sweep.meta["num_steps"],
                "best_lr": float(GRID[best]),
                "picks": picks,
                "regret": {
                    k: None if lr is None else regret(run.score(lr)) for k, lr in picks.items()
                },
                "default": default,
                "prodigy": regret(run.prodigy()),
                "candidates": [c.lr for c in sweep.candidates],
                "candidate_regret": [regret(run.score(c.lr)) for c in sweep.candidates],
                "notes": sweep.notes,
                "fit": {
                    "now": follows(sweep, sweep.smoothed[: sweep.useful]),
                    "before": follows(sweep, previous_curve(sweep)),
                },
            }
        )
    return out


# --- Tables --------------------------------------------------------------------------------------


def _mean(values):
    values = list(values)
    return statistics.mean(values) if values else math.nan


def _spread(lrs):
    lrs = [lr for lr in lrs if lr]
    return max(lrs) / min(lrs) if len(lrs) > 1 else math.nan


def group_table(group: str, rows: list[dict]):
    """Mean regret of every pick over the group's sweeps; a rule without an answer scores the
    default LR (what the user then trains at)."""
    with_cands = [r for r in rows if r["candidates"]]
    print(f"\n#### {group}: {len(rows)} sweeps ({len(with_cands)} with candidates)\n")
    print("| pick | mean regret | worst | no answer | sweeps with candidates: mean |")
    print("| --- | ---: | ---: | ---: | ---: |")

    def line(name, get):
        vals = [get(r) for r in rows]
        none = sum(v is None for v in vals)
        got = [r["default"] if v is None else v for r, v in zip(rows, vals, strict=True)]
        cand = [r["default"] if get(r) is None else get(r) for r in with_cands]
        print(f"| {name} | {_mean(got):.3f} | {max(got):.3f} | {none} | {_mean(cand):.3f} |")

    for name in rows[0]["regret"]:
        label = "**lrwidget's suggestion**" if name == "lrwidget" else name
        line(label, lambda r, k=name: r["regret"][k])
    line("a click on a candidate (mean of the sweep's)", lambda r: _mean(r["candidate_regret"])
         if r["candidate_regret"] else None)  # fmt: skip
    line("the optimizer's default LR", lambda r: r["default"])
    line("Prodigy (LR-free, d0 = 1e-6)", lambda r: r["prodigy"])


def fit_table(rows: list[dict]):
    """How the smoothed curve keeps to the data, now and with the smoothing used before."""
    print(
        "\nThe smoothed curve against the raw losses (9-point running median +- 2 robust "
        "standard deviations of the batch noise), over the part before divergence:\n"
    )
    print(
        "| group | curve | points inside the band | minimum inside | median shift of the minimum |"
    )
    print("| --- | --- | ---: | ---: | ---: |")
    for group in GROUPS:
        got = [r["fit"] for r in rows if r["group"] == group]
        for which in ("before", "now"):
            if got:
                fit = [g[which] for g in got]
                print(
                    f"| {group} | {which} | {_mean(f['inside'] for f in fit):.1%} "
                    f"| {sum(f['min_inside'] for f in fit)} of {len(fit)} "
                    f"| {statistics.median(abs(f['min_shift']) for f in fit):.2f} decades |"
                )


def task_table(rows: list[dict]):
    """Per task: regret of the suggestion, the default and Prodigy, and the seed spread."""
    print(
        "\n| group | task | opt | steps | best grid LR | suggestion (median) | regret | "
        "spread over seeds | 'too noisy' notes | default LR's regret | Prodigy's regret | "
        "candidates' regret |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    keys = sorted({(r["case"], r["steps"]) for r in rows}, key=lambda k: [r["case"] for r in
                  rows].index(k[0]))  # fmt: skip
    for case, steps in keys:
        rs = [r for r in rows if r["case"] == case and r["steps"] == steps]
        lrs = [r["picks"]["lrwidget"] for r in rs]
        known = [lr for lr in lrs if lr is not None]
        med = f"{statistics.median(known):.2g}" if known else "none"
        med += f" ({len(lrs) - len(known)} none)" if len(known) < len(lrs) else ""
        sug = [r["default"] if r["regret"]["lrwidget"] is None else r["regret"]["lrwidget"]
               for r in rs]  # fmt: skip
        cands = [_mean(r["candidate_regret"]) for r in rs if r["candidate_regret"]]
        r0 = rs[0]
        print(
            f"| {r0['group']} | {r0['task']} | {r0['opt']} | {steps} "
            f"| {statistics.median(r['best_lr'] for r in rs):.2g} | {med} | {_mean(sug):.3f} "
            f"| x{_spread(known):.1f} "
            f"| {sum(any('too noisy' in n for n in r['notes']) for r in rs)} of {len(rs)} "
            f"| {_mean(r['default'] for r in rs):.3f} "
            f"| {_mean(r['prodigy'] for r in rs):.3f} | {_mean(cands):.3f} |"
        )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default=",".join(GROUPS), help="comma-separated groups")
    parser.add_argument("--seeds", type=int, default=None, help="seeds (default 2 scratch, 3)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="seeds from this one on (3: fresh seeds)"
    )
    parser.add_argument("--cache", default=None, help="a JSON file of sweeps and scores to reuse")
    parser.add_argument("--json", default=None, help="also write every sweep's figures here")
    args = parser.parse_args()
    groups = [g.strip() for g in args.groups.split(",")]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"--groups: unknown {sorted(unknown)}; known: {', '.join(GROUPS)}")
    cache = {}
    if args.cache and os.path.exists(args.cache):
        with open(args.cache) as f:
            cache = json.load(f)
    started = time.perf_counter()
    rows = []
    for case in cases(groups):
        seeds = args.seeds or (2 if case.group == "scratch" else 3)
        for seed in range(args.first_seed, args.first_seed + seeds):
            rows += run_case(case, seed, cache)
            if args.cache:
                with open(args.cache, "w") as f:
                    json.dump(cache, f)
        print(f"done: {case.key} ({time.perf_counter() - started:.0f} s)", flush=True)

    print(
        f"\nRegret (accuracy short of the best grid LR, 0.01 = one point; regression: relative "
        f"excess MSE capped at 1) after {BUDGET} steps; Keras {keras.__version__}\n"
    )
    for group in groups:
        group_rows = [r for r in rows if r["group"] == group]
        lengths = sorted({r["steps"] for r in group_rows})
        if len(lengths) > 1:
            group_table(f"{group}, all lengths", group_rows)
        for steps in lengths:
            group_table(
                f"{group}, {steps}-step sweeps", [r for r in group_rows if r["steps"] == steps]
            )
    task_table(rows)
    fit_table(rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=float)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
