"""How far below the bottom of the curve to train: the trade-off across the suggestion
benchmark's groups, read from its cache (no training).

    python benchmarks/suggestion.py --cache C          # seeds 0-2 (fills C)
    python benchmarks/suggestion.py --cache C --first-seed 3 --seeds 3
    python benchmarks/backoff.py C

For every cached sweep it reads the bottom the default rule reads (the first LR within 10 %
of the fall above the minimum) and scores "bottom / k" for several k, the library's
suggestion and the previous analysis's rule (steepest on the centred EMA). A pick is scored
by interpolating the cached grid scores on the log LR axis (the suggestion benchmark trains
at the exact LR instead, so its figures differ a little). Regret as in that benchmark:
accuracy points short of the best grid LR, or the relative excess MSE capped at 1; no answer
scores the optimizer's default LR. Groups: fine-tuning at the default 300 steps, a poor default
LR, and from scratch, each on seeds 0-2 and fresh seeds 3-5.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import defaultdict

import numpy as np

from lrwidget import analysis
from lrwidget.result import AnalysisSettings, SweepResult

GRID = 10.0 ** np.arange(-5.0, 0.51, 0.5)
DEFAULT = {"SGD+m": 0.01, "SGD+Nesterov": 0.01, "SGD": 0.01, "Adam": 1e-3}
DIVISORS = (2, 3, 4, 6, 8)


def scorer(cache: dict, prefix: str, classify: bool):
    """Regret of an LR, interpolated between the cached grid scores; None without a grid."""
    grid = [cache.get(f"{prefix}|{lr:.6g}") for lr in GRID]
    if any(g is None for g in grid):
        return None
    losses = np.array([g[0] for g in grid], dtype=np.float64)
    accs = np.array([g[1] for g in grid], dtype=np.float64)
    best_loss = float(np.min(losses))
    best_acc = float(np.nanmax(accs)) if classify else math.nan
    x = np.log10(GRID)

    def regret(lr: float) -> float:
        at = float(np.clip(math.log10(lr), x[0], x[-1]))
        if classify:
            return best_acc - float(np.interp(at, x, np.nan_to_num(accs)))
        finite = np.isfinite(losses)
        loss = float(np.interp(at, x[finite], losses[finite]))
        return min(loss / best_loss - 1.0, 1.0)

    return regret


def previous_rule(r: SweepResult) -> float | None:
    """The previous analysis: steepest descent on a forward-backward EMA of the head."""
    n, beta = r.useful, r.settings.beta
    centred = analysis.smooth(analysis.smooth(r.losses[:n], beta)[::-1], beta)[::-1]
    return analysis.suggest_steepest(r.lrs[:n], centred)


def picks(r: SweepResult) -> dict[str, float | None]:
    """Every pick scored, on one sweep; the divisors only where the library answers."""
    out = {"suggestion (bottom/3)": r.suggestion, "previous (steepest, centred EMA)": None}
    if r.suggestion is not None:
        out["previous (steepest, centred EMA)"] = previous_rule(r)
    n = r.useful
    bottom = analysis.suggest_bottom(r.lrs[:n], r.smoothed[:n], divisor=1.0)
    for k in DIVISORS:
        out[f"bottom/{k}"] = None if r.suggestion is None or bottom is None else bottom / k
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cache", help="the JSON cache of benchmarks/suggestion.py")
    cache = json.load(open(parser.parse_args().cache))
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for key, raw in cache.items():
        if not key.startswith("sweep|"):
            continue
        _, group, task, opt, seed, steps = key.split("|")
        if group == "fine-tuning" and steps != "300":
            continue
        regret = scorer(cache, f"{group}|{task}|{opt}|{seed}", "diabetes" not in task)
        if regret is None:
            continue
        r = SweepResult(
            raw["lrs"],
            raw["losses"],
            stop_reason=raw["stop_reason"],
            settings=AnalysisSettings(beta=raw["beta"]),
        )
        column = f"{group}, {'seeds 0-2' if int(seed) < 3 else 'fresh 3-5'}"
        for name, lr in picks(r).items():
            table[name][column].append(regret(lr if lr else DEFAULT[opt]))
    columns = sorted({c for row in table.values() for c in row})
    print("| pick | " + " | ".join(columns) + " |")
    print("| --- |" + " ---: |" * len(columns))
    for name, row in table.items():
        cells = [f"{np.mean(row[c]):.3f} ({len(row[c])})" for c in columns]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
