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
  ``Trials.winner`` (no validation data: ranked by the mean training loss over the last fifth,
  the smallest LR within noise of the best), beside ``Trials.best`` (the best score alone);
- the by-hand trio: the default LR / 10, x1 and x10, each trained for the trials' steps and
  the best kept by the same measure ("by trials"), and the best of the three by the long
  training below ("oracle", what knowing the answer would give);
- every pick is then scored by training from the same initial state for ``LONG`` steps (three
  times the longest trial or more, so a trial cannot replay its score) with a tf.data order of
  its own, and evaluated on the held-out 30 %; regret is measured against the best LR of the
  half-decade grid (1e-5 .. 3.2) trained the same way, as in the suggestion benchmark:
  accuracy short of the best (0.01 = one point), for regression the relative excess MSE
  capped at 1; a method with no answer scores the default LR (what the user then trains at);
- the default set ranked by the validation loss (trained on the first 80 % of the training
  split, validated on the rest), as a user with validation data gets it;
- Prodigy (LR-free, d0 = 1e-6) for ``LONG`` steps;
- the grid's best LR trained again on another order of the batches ("replicate"): the regret
  of a pick that is the best LR, which is the measure's own noise (the grid's best is the
  best of twelve noisy scores), the floor under any method's mean;
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
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from suggestion import DEFAULT_LR, GRID, GROUPS, Runner, cases, regret_against  # noqa: E402

import lrwidget  # noqa: E402
from lrwidget import analysis  # noqa: E402
from lrwidget.trials import Trials, default_lrs, default_steps  # noqa: E402

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

    def replicate(self) -> float:
        """Regret of the grid's best LR (the one regret is measured against) trained again on
        another order of the batches: the measure's own noise, which no pick beats on average."""
        if self.case.classify:
            best = max(range(len(GRID)), key=lambda i: self.grid[i][1])
        else:
            best = min(range(len(GRID)), key=lambda i: self.grid[i][0])
        return self.regret(self.run.score(GRID[best], order=1))

    # --- trials ----------------------------------------------------------------------------
    def _trial_key(self, lr: float) -> str:
        return f"trial|{self.run.prefix}|{TRIAL_MAX}|{_key(lr)}"

    def try_lrs(self, lrs, steps: int):
        """``lrwidget.try_lrs`` on the case's model from its initial state, at the default LR."""
        x_tr, _, y_tr, _ = self.case.data
        model = self.run.reset()
        model.optimizer.learning_rate.assign(self.current)  # what the user would train at
        return lrwidget.try_lrs(model, x_tr, y_tr, lrs=lrs, steps=steps,
                                batch_size=self.case.batch, seed=self.seed)  # fmt: skip

    def pool(self, lrs) -> dict[str, np.ndarray]:
        """The per-step training losses of a ``TRIAL_MAX``-step trial at each LR (cached)."""
        missing = sorted({_key(lr) for lr in lrs if self._trial_key(lr) not in self.cache})
        if missing:
            got = self.try_lrs([float(k) for k in missing], TRIAL_MAX)
            for lr, losses in zip(missing, got.losses, strict=True):
                self.cache[self._trial_key(float(lr))] = [float(v) for v in losses]
        return {_key(lr): np.asarray(self.cache[self._trial_key(lr)], float) for lr in lrs}

    def trials(self, lrs, steps: int) -> Trials:
        """The ``Trials`` record of equal ``steps``-step trials at ``lrs``, read from the pool."""
        pool = self.pool(lrs)
        losses = tuple(pool[_key(lr)][:steps] for lr in lrs)
        return Trials(lrs=np.asarray(lrs, float), steps=steps, losses=losses)

    def validated(self, lrs, steps: int) -> tuple[float | None, float | None]:
        """The (best, winner) of trials ranked by the validation loss: trained on the first
        80 % of the training split, validated on the rest (cached)."""
        key = f"val|{self.run.prefix}|{steps}|{','.join(_key(lr) for lr in lrs)}"
        if key not in self.cache:
            x_tr, _, y_tr, _ = self.case.data
            cut = int(0.8 * len(x_tr))  # train_test_split shuffled them already
            model = self.run.reset()
            model.optimizer.learning_rate.assign(self.current)
            got = lrwidget.try_lrs(model, x_tr[:cut], y_tr[:cut], lrs=list(lrs), steps=steps,
                                   batch_size=self.case.batch, seed=self.seed,
                                   validation_data=(x_tr[cut:], y_tr[cut:]))  # fmt: skip
            self.cache[key] = [got.best, got.winner]
        return tuple(self.cache[key])

    def halving(self, lrs, first: int) -> tuple[float | None, int]:
        """Successive halving (Jamieson & Talwalkar 2016): every LR for ``first`` steps, then
        the better half (rounded up) for twice as many steps in all, and so on until one is
        left or the runs reach ``TRIAL_MAX`` steps. Returns the winner and the steps spent."""
        alive, steps, spent, done = list(lrs), first, 0, {}
        while True:
            steps = min(steps, TRIAL_MAX)
            ran = self.trials(alive, steps)
            spent += sum(len(t) - done.get(lr, 0) for lr, t in zip(alive, ran.losses, strict=True))
            done = {lr: len(t) for lr, t in zip(alive, ran.losses, strict=True)}
            scores = np.where(np.isnan(ran.scores), np.inf, ran.scores)
            order = [alive[i] for i in np.argsort(scores, kind="stable")]
            if len(alive) == 1 or steps >= TRIAL_MAX:
                return (order[0] if np.isfinite(scores).any() else None), spent
            alive, steps = order[: math.ceil(len(alive) / 2)], steps * 2


def trio(current: float) -> list[float]:
    """What a user tries by hand without a finder: the default LR / 10, x1, x10."""
    return [current / 10, current, current * 10]


def grid_cost(case, steps: int) -> int:
    """Steps of a half-decade grid over the sweep's range, each LR trained for ``steps``."""
    start, end = case.sweep.get("start_lr", 1e-7), case.sweep.get("end_lr", 10.0)
    return (round(2 * math.log10(end / start)) + 1) * steps


# --- One case and seed -----------------------------------------------------------------------


def evaluate(cr: CaseRun, steps: int | None) -> dict:
    """Every method's regret on one case and seed, the trials run for real by ``try_lrs``
    (``steps`` None: the library's default length)."""
    sweep = cr.sweep()
    lrs, note = default_lrs(sweep, cr.current)
    real = cr.try_lrs(sweep, steps)  # lrs=SweepResult: try_lrs reads its default set itself
    assert np.allclose(np.sort(real.lrs), np.sort(lrs)), (real.lrs, lrs)
    steps = real.steps
    replayed = cr.trials(list(real.lrs), steps)
    drift = max(
        (float(np.max(np.abs(a - b))) if len(a) == len(b) and len(a) else math.inf)
        for a, b in zip(real.losses, replayed.losses, strict=True)
    )
    hand = cr.trials(trio(cr.current), steps)
    val_best, val_winner = cr.validated(list(real.lrs), steps)
    ran = sum(len(t) for t in real.losses)
    return {
        "case": cr.case.key,
        "group": cr.case.group,
        "task": cr.case.name,
        "opt": cr.case.opt,
        "seed": cr.seed,
        "sweep_steps": len(sweep.lrs),
        "planned": sweep.meta["num_steps"],
        "suggestion": sweep.suggestion,
        "set": [float(v) for v in real.lrs],
        "fallback": note is not None,
        "winner": real.winner,
        "margin": real.margin,
        "drift": drift,
        "trial_steps": ran,
        "best": float(GRID[int(np.argmin([loss for loss, _ in cr.grid]))]),
        "grid_steps": grid_cost(cr.case, steps),
        "regret": {
            "suggestion": cr.long(sweep.suggestion),
            "winner": cr.long(real.winner),
            "best score": cr.long(real.best),
            "validated": cr.long(val_winner),
            "validated, best score": cr.long(val_best),
            "default": cr.long(None),
            "hand": cr.long(hand.best),
            "hand (oracle)": min(cr.long(lr) for lr in hand.lrs),
            "prodigy": cr.prodigy(),
            "set (oracle)": min(cr.long(lr) for lr in real.lrs),
            "replicate": cr.replicate(),
        },
    }


def length_study(cr: CaseRun, steps: int | None) -> list[dict]:
    """The suggestion and the trials' winner from sweeps of several lengths."""
    out = []
    for length in LENGTH_STUDY:
        sweep = cr.sweep(length)
        lrs, _ = default_lrs(sweep, cr.current)
        winner = cr.trials(list(lrs), steps or default_steps(sweep, len(lrs))).best
        out.append(
            {
                "case": cr.case.key,
                "seed": cr.seed,
                "length": length,
                "suggestion": sweep.suggestion,
                "winner": winner,
                "best": float(GRID[int(np.argmin([loss for loss, _ in cr.grid]))]),
                "regret": {"suggestion": cr.long(sweep.suggestion), "winner": cr.long(winner)},
                "notes": sweep.notes,
            }
        )
    return out


# --- Tables ----------------------------------------------------------------------------------

METHODS = {
    "suggestion": "the suggestion",
    "winner": "**the trials' winner**",
    "best score": "the trials' best score alone (Trials.best: no tie to the smaller LR)",
    "validated": "the trials' winner with validation data (a fifth of the training split)",
    "validated, best score": "the same, the best validation score alone",
    "default": "the optimizer's default LR",
    "hand": "by hand: default /10, x1, x10, best by its trials",
    "hand (oracle)": "by hand, best of the three by the long run (oracle)",
    "prodigy": "Prodigy (LR-free, d0 = 1e-6)",
    "set (oracle)": "the default set's best by the long run (oracle)",
    "replicate": "the grid's best LR trained again on another order of the batches (noise)",
}


def _fmt(values) -> str:
    values = list(values)
    return f"{statistics.mean(values):.3f} ({statistics.median(values):.3f})" if values else "-"


def summary(rows, steps):
    """Mean (median) regret of every method per group and seed set, the cost, the targets."""
    length = f"{steps} steps" if steps else "the default length (trials.default_steps)"
    print(f"\n#### Regret after {LONG} steps, mean (median); trials of {length}\n")
    sets = [(g, name, seeds) for g in GROUPS for name, seeds in SEED_SETS.items()]
    sets = [(g, n, s) for g, n, s in sets if any(r["group"] == g and r["seed"] in s for r in rows)]
    print("| method | " + " | ".join(f"{g}, {n}" for g, n, _ in sets) + " |")
    print("| --- |" + " ---: |" * len(sets))
    pick = {(g, n): [r for r in rows if r["group"] == g and r["seed"] in s] for g, n, s in sets}
    for key, label in METHODS.items():
        cells = [_fmt(r["regret"][key] for r in pick[g, n]) for g, n, _ in sets]
        print(f"| {label} | " + " | ".join(cells) + " |")
    lines = {
        "cases x seeds": lambda rs: str(len(rs)),
        "default sets falling back to decades around the default LR": lambda rs: str(
            sum(r["fallback"] for r in rs)
        ),
        "LRs tried, mean": lambda rs: f"{statistics.mean(len(r['set']) for r in rs):.1f}",
        "trials' steps in sweeps' worth, mean (max)": lambda rs: "{:.2f} ({:.2f})".format(
            statistics.mean(r["trial_steps"] / r["planned"] for r in rs),
            max(r["trial_steps"] / r["planned"] for r in rs),
        ),
        "sweep + trials, steps, mean": lambda rs: (
            f"{statistics.mean(r['sweep_steps'] + r['trial_steps'] for r in rs):.0f}"
        ),
        "half-decade grid over the sweep's range x the trials' steps": lambda rs: (
            f"{statistics.mean(r['grid_steps'] for r in rs):.0f}"
        ),
    }
    for label, get in lines.items():
        print(f"| {label} | " + " | ".join(get(pick[g, n]) for g, n, _ in sets) + " |")
    print(
        "\nDone-when targets (the winner's mean regret; in brackets the mean of the paired "
        "differences, winner minus the other, and its standard error over the runs):\n"
    )
    for g, n, _ in sets:
        rs = pick[g, n]
        mean = {k: statistics.mean(r["regret"][k] for r in rs) for k in METHODS}
        worth = max(r["trial_steps"] / r["planned"] for r in rs)
        checks = {
            "<= 0.005": (mean["winner"] <= 0.005, _spread(rs, "winner")),
            "< default": (mean["winner"] < mean["default"], _spread(rs, "winner", "default")),
            "< by hand": (mean["winner"] < mean["hand"], _spread(rs, "winner", "hand")),
            "< by hand (oracle)": (
                mean["winner"] < mean["hand (oracle)"],
                _spread(rs, "winner", "hand (oracle)"),
            ),
            "<= Prodigy + 0.005": (
                mean["winner"] <= mean["prodigy"] + 0.005,
                _spread(rs, "winner", "prodigy"),
            ),
            "<= 4 sweeps": (worth <= 4, ""),
        }
        said = ", ".join(f"{k} {'yes' if ok else 'NO'}{how}" for k, (ok, how) in checks.items())
        print(f"- {g}, {n}: {mean['winner']:.3f}: {said}")


def _spread(rows, method: str, other: str | None = None) -> str:
    """`` (mean ± standard error)`` of ``method``'s regret, or of its paired difference from
    ``other``'s, over ``rows``: how far the benchmark's noise reaches."""
    d = [r["regret"][method] - (r["regret"][other] if other else 0.0) for r in rows]
    error = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else math.nan
    return f" ({statistics.mean(d):+.3f} ± {error:.3f})"


def task_table(rows):
    print(
        "\n| group | task | opt | seeds | best grid LR | suggestion | set | winner | "
        "regret: suggestion / winner / best score / validated / default / by hand / Prodigy | "
        "real run vs cached trials |"
    )
    print("| --- | --- | --- | --- | ---: | ---: | --- | ---: | --- | ---: |")
    for case in dict.fromkeys(r["case"] for r in rows):
        for name, seeds in SEED_SETS.items():
            rs = [r for r in rows if r["case"] == case and r["seed"] in seeds]
            if not rs:
                continue
            r0 = rs[0]
            sug = [r["suggestion"] for r in rs if r["suggestion"]]
            won = [r["winner"] for r in rs if r["winner"]]
            regrets = " / ".join(
                f"{statistics.mean(r['regret'][k] for r in rs):.3f}"
                for k in (
                    "suggestion",
                    "winner",
                    "best score",
                    "validated",
                    "default",
                    "hand",
                    "prodigy",
                )  # fmt: skip
            )
            print(
                f"| {r0['group']} | {r0['task']} | {r0['opt']} | {name} "
                f"| {statistics.median(r['best'] for r in rs):.2g} "
                f"| {_lrs(sug)} | {statistics.mean(len(r['set']) for r in rs):.1f} LRs "
                f"| {_lrs(won)} | {regrets} | {max(r['drift'] for r in rs):.1g} |"
            )


def length_table(rows):
    print(
        "\n| task | seeds | sweep steps | suggestion (median) | regret | winner (median) | "
        "regret | best grid LR | a note says a longer sweep lowers the answer |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    groups = [(c, n, s, length) for c in dict.fromkeys(r["case"] for r in rows)
              for n, s in SEED_SETS.items() for length in LENGTH_STUDY]  # fmt: skip
    for case, name, seeds, length in groups:
        rs = [r for r in rows if r["case"] == case and r["length"] == length and r["seed"] in seeds]
        if rs:
            said = sum(any("longer" in n for n in r["notes"]) for r in rs)
            print(
                f"| {case.split('|', 1)[1]} | {name} | {length} "
                f"| {_lrs([r['suggestion'] for r in rs if r['suggestion']])} "
                f"| {statistics.mean(r['regret']['suggestion'] for r in rs):.3f} "
                f"| {_lrs([r['winner'] for r in rs if r['winner']])} "
                f"| {statistics.mean(r['regret']['winner'] for r in rs):.3f} "
                f"| {statistics.median(r['best'] for r in rs):.2g} | {said} of {len(rs)} |"
            )


def _lrs(values) -> str:
    return f"{statistics.median(values):.2g}" if values else "none"


# --- The study that chose the default set and steps (read from the cached pool) -----------------


def _around(current: float) -> list[float]:
    """Where the reading gives no LR: decades around the default LR, as the library does."""
    return [current * f for f in (0.1, 1 / 3, 1.0, 3.0, 10.0)]


def _ruled(make):
    def rule(sweep, current):
        s = sweep.suggestion
        return _around(current) if s is None else sorted(set(make(sweep, s, current)))

    return rule


def _bottom(sweep) -> float:
    """Where the smoothed curve reaches its bottom (the suggestion before its division)."""
    n = sweep.useful
    return analysis.suggest_bottom(sweep.lrs[:n], sweep.smoothed[:n], divisor=1.0)


def _first(sweep, s, current):
    """The first default set: the current LR, the candidates and the curve's lowest point."""
    return [current, *(c.lr for c in sweep.candidates), sweep.lowest]


RULES = {
    "library (trials.default_lrs)": lambda sweep, current: list(default_lrs(sweep, current)[0]),
    "first version: default LR, candidates, the curve's lowest point": _ruled(_first),
    "default LR, candidates": _ruled(lambda w, s, d: [d, *(c.lr for c in w.candidates)]),
    "default LR, s/3, s/1.5, s": _ruled(lambda w, s, d: [d, s / 3, s / 1.5, s]),
    "default LR, s/3, s": _ruled(lambda w, s, d: [d, s / 3, s]),
    "s/3, s/1.5, s": _ruled(lambda w, s, d: [s / 3, s / 1.5, s]),
    "default LR, s/1.5, s, 3s": _ruled(lambda w, s, d: [d, s / 1.5, s, 3 * s]),
    "default LR, s, 3s, 10s": _ruled(lambda w, s, d: [d, s, 3 * s, 10 * s]),
    "default LR, s/3, s, 3s, 10s": _ruled(lambda w, s, d: [d, s / 3, s, 3 * s, 10 * s]),
    "s/3, s, 3s, 10s": _ruled(lambda w, s, d: [s / 3, s, 3 * s, 10 * s]),
    "default LR, s, bottom, 3 bottom": _ruled(lambda w, s, d: [d, s, _bottom(w), 3 * _bottom(w)]),
}
STUDY_STEPS = (50, 100, 150, 200)
TIE_STUDY = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0)  # the winner's tie threshold, in standard errors


def tie_study(runs: list[CaseRun]):
    """Mean regret of the default set's winner for each tie threshold (from the cache)."""
    print("\n#### The winner's tie threshold: mean regret with the default set and steps\n")
    sets = [(g, n, s) for g in GROUPS for n, s in SEED_SETS.items()]
    sets = [(g, n, s) for g, n, s in sets if any(c.case.group == g and c.seed in s for c in runs)]
    print(
        "| within k standard errors of the best | "
        + " | ".join(f"{g}, {n}" for g, n, _ in sets)
        + " |"
    )
    print("| ---: |" + " ---: |" * len(sets))
    for k in TIE_STUDY:
        cells = []
        for g, _, seeds in sets:
            regrets = []
            for c in (c for c in runs if c.case.group == g and c.seed in seeds):
                sweep = c.sweep()
                lrs = list(default_lrs(sweep, c.current)[0])
                ran = c.trials(lrs, default_steps(sweep, len(lrs)))
                won = ran.smallest_within(k)  # Trials.winner with another threshold
                regrets.append(c.long(None if won is None else float(ran.lrs[won])))
            cells.append(f"{statistics.mean(regrets):.3f}")
        print(f"| {k:g} | " + " | ".join(cells) + " |")


def study(runs: list[CaseRun]):
    """Mean regret of each candidate default set at each trial length, equal runs and halving."""
    print("\n#### The default set and steps: mean regret of the winner (trials' steps in sweeps)\n")
    sets = [(g, n, s) for g in GROUPS for n, s in SEED_SETS.items()]
    sets = [(g, n, s) for g, n, s in sets if any(c.case.group == g and c.seed in s for c in runs)]
    print("| set | trials | " + " | ".join(f"{g}, {n}" for g, n, _ in sets) + " |")
    print("| --- | --- |" + " ---: |" * len(sets))

    def line(name, label, pick):
        cells = []
        for g, _, seeds in sets:
            got = [(c, *pick(c)) for c in runs if c.case.group == g and c.seed in seeds]
            worth = max(spent / c.sweep().meta["num_steps"] for c, _, spent in got)
            mean = statistics.mean(c.long(lr) for c, lr, _ in got)
            cells.append(f"{mean:.3f} ({worth:.1f})")
        print(f"| {name} | {label} | " + " | ".join(cells) + " |")

    for name, rule in RULES.items():
        for steps in STUDY_STEPS:
            for how, pick in (("best score", lambda t: t.best), ("winner", lambda t: t.winner)):

                def equal(c, rule=rule, steps=steps, pick=pick):
                    lrs = rule(c.sweep(), c.current)
                    return pick(c.trials(lrs, steps)), steps * len(lrs)

                line(name, f"{steps} steps each, {how}", equal)
        line(name, "halving from 50", lambda c, r=rule: c.halving(r(c.sweep(), c.current), 50))


# --- Main ------------------------------------------------------------------------------------


def load(path) -> dict:
    if path and os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save(cache: dict, path):
    if path:
        with open(f"{path}.tmp", "w") as f:
            json.dump(cache, f)
        os.replace(f"{path}.tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", default=",".join(GROUPS), help="comma-separated groups")
    parser.add_argument("--cache", default=None, help="a JSON file of sweeps, scores and trials")
    parser.add_argument("--quick", action="store_true", help="one case per group, seed 0 only")
    parser.add_argument("--study", action="store_true", help="also the tables that chose the set")
    parser.add_argument(
        "--steps", type=int, default=None, help="steps per trial (default: the library's)"
    )
    parser.add_argument("--json", default=None, help="also write every row here")
    args = parser.parse_args()
    groups = [g.strip() for g in args.groups.split(",")]
    if set(groups) - set(GROUPS):
        parser.error(f"--groups: unknown {sorted(set(groups) - set(GROUPS))}; known: {GROUPS}")
    if args.steps is not None and (not 1 <= args.steps <= TRIAL_MAX or LONG < 3 * args.steps):
        parser.error(f"--steps must be in 1..{TRIAL_MAX} (the long runs are {LONG} steps)")
    cache, started = load(args.cache), time.perf_counter()
    seeds = (0,) if args.quick else tuple(s for ss in SEED_SETS.values() for s in ss)
    chosen, seen = [], set()
    for case in cases(groups):
        if not args.quick or case.group not in seen:
            chosen.append(case)
            seen.add(case.group)
    runs, rows, lengths = [], [], []
    for case in chosen:
        for seed in seeds:
            cr = CaseRun(case, seed, cache)
            runs.append(cr)
            rows.append(evaluate(cr, args.steps))
            if case.key in LENGTH_CASES:
                lengths += length_study(cr, args.steps)
            save(cache, args.cache)
        print(f"done: {case.key} ({time.perf_counter() - started:.0f} s)", flush=True)
    print(f"\nKeras {keras.__version__}, {keras.backend.backend()}; long runs {LONG} steps")
    summary(rows, args.steps)
    task_table(rows)
    if lengths:
        length_table(lengths)
    if args.study:
        tie_study(runs)
        study(runs)
        save(cache, args.cache)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "lengths": lengths}, f, indent=1, default=float)
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
