"""Does a weight-decay family pick a better (LR, weight decay) than one sweep, and how much does
the single sweep's answer move between repeats?

Tasks, models, data, training and scoring are those of ``benchmarks/suggestion.py`` (from
scratch, on data that ships with scikit-learn). For each task and model seed:

- **grid**: train from the same initial weights and shuffling for ``BUDGET`` steps at every
  pair of a weight decay in ``WEIGHT_DECAYS`` (Keras's decoupled decay, ``weight_decay=``)
  and an LR of the half-decade grid (1e-5 .. 3.2); regret is measured against the best pair
  (accuracy short of it, 0.01 = one point);
- **family**: ``lrwidget.find_lr_family(vary={"weight_decay": WEIGHT_DECAYS})`` (300-step
  sweeps), then train at its pick (the member's weight decay and LR);
- **single sweep**: ``lrwidget.find_lr`` at the default weight decay (none), trained there at
  its suggestion; and the best grid LR at no decay (what tuning the LR alone can reach);
- **repeats**: ``find_lr_family(vary={"seed": SEEDS})``, the same sweep with five other batch
  orders: the spread of their suggestions (largest / smallest) and whether the single sweep's
  suggestion (seed 0) falls outside their range.

    python benchmarks/family.py                 # 4 tasks x 2 model seeds, about 10 min on 2 cores
    python benchmarks/family.py --tasks 1 --model-seeds 1   # a quick look
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import keras
from suggestion import BUDGET, GRID, Runner, cases

import lrwidget

WEIGHT_DECAYS = [0.0, 1e-3, 1e-2, 1e-1]
SEEDS = [1, 2, 3, 4, 5]
TASKS = [
    ("digits MLP", "SGD+m"),
    ("digits MLP", "Adam"),
    ("breast cancer MLP", "SGD+m"),
    ("digits CNN", "SGD+m"),
]


class DecayRunner(Runner):
    """``Runner`` with the weight decay as a second setting of each training."""

    def score_at(self, lr: float, weight_decay: float) -> tuple[float, float]:
        key = f"{self.prefix}|{lr:.6g}|wd{weight_decay:g}"
        if key not in self.cache:
            model = self.reset()
            model.optimizer.weight_decay = weight_decay or None
            model.train_function = None  # Keras bakes the decay into the traced step
            model.optimizer.learning_rate.assign(lr)
            model.fit(self.dataset(), steps_per_epoch=BUDGET, epochs=1, shuffle=False, verbose=0)
            model.optimizer.weight_decay = None
            model.train_function = None
            self.cache[key] = self._evaluate(model)
        return tuple(self.cache[key])

    def family(self, vary):
        x_tr, _, y_tr, _ = self.case.data
        model = self.reset()
        return lrwidget.find_lr_family(
            model, x_tr, y_tr, vary=vary, batch_size=self.case.batch, seed=self.seed
        )


def run(case, seed: int) -> dict:
    run = DecayRunner(case, seed, {})
    scores = {(lr, wd): run.score_at(lr, wd) for wd in WEIGHT_DECAYS for lr in GRID}
    best_pair = max(scores, key=lambda k: scores[k][1])
    best_acc = scores[best_pair][1]

    def regret(lr, wd):
        acc = run.score_at(lr, wd)[1]
        return best_acc - (acc if math.isfinite(acc) else 0.0)

    best_lr_alone = max(GRID, key=lambda lr: scores[(lr, 0.0)][1])
    family = run.family({"weight_decay": WEIGHT_DECAYS})
    pick = family.pick
    single = family.results[0]  # weight_decay=0, seed 0: the plain sweep at no decay
    repeats = run.family({"seed": SEEDS})
    sugg = [r.suggestion for r in repeats.results if r.suggestion is not None]
    outside = (
        None
        if single.suggestion is None or not sugg
        else not min(sugg) <= single.suggestion <= max(sugg)
    )
    return {
        "task": f"{case.name} ({case.opt})",
        "seed": seed,
        "best_pair": best_pair,
        "best_acc": best_acc,
        "lr_alone": regret(best_lr_alone, 0.0),
        "pick": None if pick is None else (pick.lr, pick.setting["weight_decay"]),
        "pick_regret": None if pick is None else regret(pick.lr, pick.setting["weight_decay"]),
        "single": single.suggestion,
        "single_regret": None if single.suggestion is None else regret(single.suggestion, 0.0),
        "member_suggestions": [r.suggestion for r in family.results],
        "spread": repeats.spread,
        "outside": outside,
        "family_seconds": family.meta["seconds"],
        "sweep_seconds": [r.meta["seconds"] for r in family.results],
    }


def _fmt(value, spec=".3f"):
    return "-" if value is None else format(value, spec)


def report(rows):
    print(
        f"\nRegret: accuracy short of the best (LR, weight decay) pair of the grid after {BUDGET} "
        f"steps (0.01 = one point); weight decays {WEIGHT_DECAYS}; Keras {keras.__version__}\n"
    )
    print(
        "| task | seed | best pair (LR, wd) | family's pick (LR, wd) | pick's regret | "
        "single sweep at wd 0 | its regret | best LR at wd 0: regret | member suggestions | "
        "repeats' spread | single outside repeats |"
    )
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | --- | ---: | --- |")
    for r in rows:
        pick = "-" if r["pick"] is None else f"{r['pick'][0]:.2g}, {r['pick'][1]:g}"
        members = ", ".join(_fmt(s, ".2g") for s in r["member_suggestions"])
        print(
            f"| {r['task']} | {r['seed']} | {r['best_pair'][0]:.2g}, {r['best_pair'][1]:g} "
            f"| {pick} | {_fmt(r['pick_regret'])} | {_fmt(r['single'], '.2g')} "
            f"| {_fmt(r['single_regret'])} | {r['lr_alone']:.3f} | {members} "
            f"| x{_fmt(r['spread'], '.2f')} | {_fmt(r['outside'], '')} |"
        )

    def mean(key):
        vals = [r[key] for r in rows if r[key] is not None]
        return statistics.mean(vals) if vals else math.nan

    wins = sum(
        r["pick_regret"] is not None
        and r["single_regret"] is not None
        and r["pick_regret"] < r["single_regret"] - 1e-9
        for r in rows
    )
    losses = sum(
        r["pick_regret"] is not None
        and r["single_regret"] is not None
        and r["pick_regret"] > r["single_regret"] + 1e-9
        for r in rows
    )
    outside = [r["outside"] for r in rows if r["outside"] is not None]
    print(
        f"\nMean regret: family's pick {mean('pick_regret'):.3f}, single sweep at wd 0 "
        f"{mean('single_regret'):.3f}, best LR at wd 0 {mean('lr_alone'):.3f}. The pick beats "
        f"the single sweep on {wins} of {len(rows)} cases and loses on {losses}. Repeats' "
        f"spread: median x{statistics.median(r['spread'] or 1.0 for r in rows):.2f}, largest "
        f"x{max(r['spread'] or 1.0 for r in rows):.2f}; the single sweep's suggestion lies "
        f"outside the repeats' range in {sum(outside)} of {len(outside)} cases."
    )
    ratio = [
        r["family_seconds"] / (sum(r["sweep_seconds"]) / len(r["sweep_seconds"])) for r in rows
    ]
    print(
        f"A family of {len(WEIGHT_DECAYS)} members took {statistics.median(ratio):.2f} times "
        "as long as one of its sweeps (median)."
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=len(TASKS), help="the first N tasks")
    parser.add_argument("--model-seeds", type=int, default=2, help="model seeds per task")
    args = parser.parse_args()
    started = time.perf_counter()
    wanted = TASKS[: args.tasks]
    rows = []
    for case in cases(["scratch"]):
        if (case.name, case.opt) not in wanted:
            continue
        for seed in range(args.model_seeds):
            rows.append(run(case, seed))
            print(
                f"done: {case.key} seed {seed} ({time.perf_counter() - started:.0f} s)", flush=True
            )
    report(rows)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
