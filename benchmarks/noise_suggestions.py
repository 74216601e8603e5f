"""How often a curve of pure noise gets a suggestion: curves of n points with no trend at all
(normal noise, Student-t with 3 degrees of freedom, gamma-distributed losses), read as a sweep
stopped there. Each suggestion here is a false alarm.

    python benchmarks/noise_suggestions.py
"""

import numpy as np

from lrwidget import analysis

KINDS = {
    "normal": lambda rng, n: 2.3 + 0.3 * rng.standard_normal(n),
    "Student-t, 3 dof": lambda rng, n: 2.3 + 0.2 * rng.standard_t(3, n),
    "gamma (shape 2)": lambda rng, n: rng.gamma(2.0, 1.15, n),
}


def main():
    rng = np.random.default_rng(0)
    print("| points | noise | curves | with a suggestion |")
    print("| ---: | --- | ---: | ---: |")
    total = alarms = 0
    for n in (30, 100, 300, 1000, 3000):
        lrs = np.geomspace(1e-6, 1e-4, n)
        for kind, draw in KINDS.items():
            curves = 300 if n < 1000 else 100
            got = sum(
                analysis.read_curve(lrs, draw(rng, n), stop_reason="stopped").suggestion is not None
                for _ in range(curves)
            )
            print(f"| {n} | {kind} | {curves} | {got} |")
            total, alarms = total + curves, alarms + got
    print(f"\n{alarms} of {total} curves of pure noise got a suggestion")


if __name__ == "__main__":
    main()
