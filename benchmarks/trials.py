"""Try before you commit: do short trials at the LRs a sweep proposes pick an LR that trains
well, against the suggestion, the optimizer's default LR, what a user does by hand and an
LR-free optimizer?

The tasks, seeds, sweeps and Prodigy are those of ``benchmarks/suggestion.py`` (imported, not
copied): fine-tuning a pretrained CNN (whole network with Adam and with SGD + Nesterov, the head
alone), from scratch (digits MLP and CNN, breast cancer, diabetes; SGD + momentum and Adam), and
tasks where the optimizer's default LR is poor. Each case is swept once at its default length
(``find_lr``'s: one epoch but at least 300 steps; the 40-step sweep of its case by design).

For each case and seed, from the same initial state:

- the sweep (``lrwidget.find_lr``) and its suggestion;
- the default trial set (``trials.default_lrs`` of the sweep and the optimizer's default LR)
  run by ``lrwidget.try_lrs`` for the default number of steps; the trials' winner is
  ``Trials.best`` (no validation data: the mean training loss over the last fifth);
- the by-hand trio: the default LR / 10, x1 and x10, each trained for the trials' steps and
  the best kept by the same measure ("by trials"), and the best of the three by the long
  training below ("oracle", what knowing the answer would give);
- every pick is then scored by training from the same initial state for ``LONG`` steps (three
  times the longest trial or more, so a trial cannot replay its score) with a tf.data order of
  its own, and evaluated on the held-out 30 %; regret is measured against the best LR of the
  half-decade grid (1e-5 .. 3.2) trained the same way, as in the suggestion benchmark:
  accuracy short of the best (0.01 = one point), for regression the relative excess MSE
  capped at 1; a method with no answer scores the default LR (what the user then trains at);
- Prodigy (LR-free, d0 = 1e-6) for ``LONG`` steps;
- the cost: the sweep's steps plus the trials', against a half-decade grid over the sweep's
  range trained for the trials' steps, and the trials' steps in sweeps' worth (of the planned
  sweep length).

Trials are cached per LR at ``TRIAL_MAX`` steps: a trial at a constant LR from the same state
and batches is a prefix of a longer one, so any shorter trial, any other set of LRs from the
cached pool and successive halving are read from the cache without training (the ``--study``
tables that chose the default set and steps). The default set is then run for real through
``try_lrs`` and checked against its cached prefixes.

    python benchmarks/trials.py --cache .bench-cache.json            # seeds 0-2 and 3-5
    python benchmarks/trials.py --cache .bench-cache.json --quick    # one case per group, seed 0
    python benchmarks/trials.py --cache .bench-cache.json --study    # + the tuning tables

The sweeps share their cache keys with ``benchmarks/suggestion.py``; long scores are keyed by
their budget, so both benchmarks can share one cache file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from suggestion import DEFAULT_LR, GRID, GROUPS, Runner, cases, regret_against  # noqa: E402

import lrwidget  # noqa: E402

LONG = 600  # steps of the training that scores a pick: at least 3x the longest trial
TRIAL_MAX = 200  # trials are cached at this length; shorter ones are prefixes
SEED_SETS = {"seeds 0-2": (0, 1, 2), "fresh seeds 3-5": (3, 4, 5)}
LENGTH_STUDY = (300, 1500, 2500)  # the sweep-length study's sweeps (digits MLP)
LENGTH_CASES = ("scratch|digits MLP|SGD+m", "scratch|digits MLP|Adam")


def _key(lr: float) -> str:
    return f"{lr:.6g}"


class CaseRun:
    """One case and seed: its sweep, its long scores and its cached trials."""

    def __init__(self, case, seed: int, cache: dict):
        self.case, self.seed, self.cache = case, seed, cache
        self.run = Runner(case, seed, cache, budget=LONG)
        self.current = DEFAULT_LR[case.optimizer]
        self.grid = [self.run.score(lr) for lr in GRID]
        self.regret = regret_against(case, self.grid)

    def sweep(self, steps=None):
        return self.run.sweep(steps)

    def long(self, lr: float | None) -> float:
        """Regret of training at ``lr`` for ``LONG`` steps; the default LR's when None."""
        return self.regret(self.run.score(self.current if lr is None else lr))

    def prodigy(self) -> float:
        return self.regret(self.run.prodigy())

    # --- trials ----------------------------------------------------------------------------
    def _trial_key(self, lr: float) -> str:
        return f"trial|{self.run.prefix}|{TRIAL_MAX}|{_key(lr)}"

    def _fresh_model(self):
        model = self.run.reset()
        model.optimizer.learning_rate.assign(self.current)  # what the user would train at
        keras.utils.set_random_seed(self.seed)
        return model

    def try_lrs(self, lrs, steps: int):
        """Run ``lrwidget.try_lrs`` on the case's model from its initial state."""
        x_tr, _, y_tr, _ = self.case.data
        model = self._fresh_model()
        return lrwidget.try_lrs(model, x_tr, y_tr, lrs=list(lrs), steps=steps,
                                batch_size=self.case.batch)  # fmt: skip

    def pool(self, lrs) -> dict[str, np.ndarray]:
        """The per-step training losses of a ``TRIAL_MAX``-step trial at each LR (cached)."""
        missing = sorted({_key(lr) for lr in lrs if self._trial_key(lr) not in self.cache})
        if missing:
            got = self.try_lrs([float(k) for k in missing], TRIAL_MAX)
            for lr, losses in zip(got.lrs, got.losses, strict=True):
                self.cache[self._trial_key(lr)] = np.asarray(losses, dtype=float).tolist()
        return {_key(lr): np.asarray(self.cache[self._trial_key(lr)]) for lr in lrs}

    def trials(self, lrs, steps: int):
        """The ``Trials`` record of equal ``steps``-step trials at ``lrs``, read from the pool."""
        from lrwidget.trials import Trials

        pool = self.pool(lrs)
        return Trials(
            lrs=np.asarray(lrs, dtype=float),
            steps=steps,
            losses=tuple(pool[_key(lr)][:steps] for lr in lrs),
            val_steps=np.array([], dtype=int),
            val_losses=None,
        )

    def halving(self, lrs, first: int, keep: float = 0.5):
        """Successive halving: every LR for ``first`` steps, the better ``keep`` of them on for
        as many steps again (doubling), until one is left. Returns (winner, steps spent)."""
        alive, steps, spent = list(lrs), first, 0
        done = dict.fromkeys(alive, 0)
        while True:
            for lr in alive:
                spent += max(0, min(steps, TRIAL_MAX) - done[lr])
                done[lr] = min(steps, TRIAL_MAX)
            scored = self.trials(alive, min(steps, TRIAL_MAX)).scores
            order = [alive[i] for i in np.argsort(np.where(np.isnan(scored), np.inf, scored))]
            if len(alive) <= 2 or steps >= TRIAL_MAX:
                return order[0], spent
            alive, steps = order[: max(2, math.ceil(len(alive) * keep))], steps * 2


def trio(current: float) -> list[float]:
    return [current / 10, current, current * 10]


def grid_cost(case, steps: int) -> int:
    """Steps of a half-decade grid over the sweep's range, each LR trained for ``steps``."""
    start, end = case.sweep.get("start_lr", 1e-7), case.sweep.get("end_lr", 10.0)
    return (round(2 * math.log10(end / start)) + 1) * steps


def load(path):
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save(cache, path):
    if path:
        with open(f"{path}.tmp", "w") as f:
            json.dump(cache, f)
        os.replace(f"{path}.tmp", path)


def warm(groups, seeds, cache, path):
    """Train what needs no trials: the long grid, Prodigy and the sweeps."""
    started = time.perf_counter()
    for case in cases(groups):
        for seed in seeds:
            cr = CaseRun(case, seed, cache)
            cr.prodigy()
            cr.sweep()
            if case.key in LENGTH_CASES and seed in SEED_SETS["seeds 0-2"]:
                for steps in LENGTH_STUDY:
                    cr.sweep(steps)
            save(cache, path)
        print(f"warm: {case.key} ({time.perf_counter() - started:.0f} s)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default=",".join(GROUPS), help="comma-separated groups")
    parser.add_argument("--cache", default=None, help="a JSON file of sweeps, scores and trials")
    parser.add_argument("--warm", action="store_true", help="only train what needs no trials")
    parser.add_argument("--quick", action="store_true", help="one case per group, seed 0")
    args = parser.parse_args()
    groups = [g.strip() for g in args.groups.split(",")]
    cache = load(args.cache)
    seeds = (0,) if args.quick else tuple(s for ss in SEED_SETS.values() for s in ss)
    if args.warm:
        warm(groups, seeds, cache, args.cache)


if __name__ == "__main__":
    main()
