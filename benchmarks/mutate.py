"""Mutation testing of one module against a chosen selection of tests, with mutmut.

    pip install mutmut==3.8.1
    python benchmarks/mutate.py lrwidget/result.py tests/test_result.py
    python benchmarks/mutate.py lrwidget/analysis.py tests/test_analysis.py \
        tests/test_smoothing.py -k "not real_sweep"

Everything after the module is handed to pytest as the test selection: files or node ids
first, then any pytest option (``tests/test_result.py -k "repr or malformed"``). The checkout
is never touched: ``lrwidget/``, ``tests/`` and ``pyproject.toml`` are copied into a
temporary folder, mutmut is configured there to mutate only MODULE and to run only the
selected tests, and each mutant counts as killed at the first failing test. The summary
printed at the end gives how many mutants were killed, survived, timed out or were reached by
no selected test, and the diff of each one not killed; ``--json PATH`` writes it too,
``--fail-above PCT`` exits 1 when more than PCT % were not killed. docs/mutation.md keeps the
last run on each pure module and why each survivor is harmless.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KILLED = {"killed"}


def _copy_checkout(to: Path):
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".hypothesis")
    for name in ("lrwidget", "tests"):
        shutil.copytree(ROOT / name, to / name, ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", to / "pyproject.toml")


def _config(module: str, tests: list[str]) -> str:
    def lines(values):
        return "".join(f"\n    {v}" for v in values)

    return (
        "[mutmut]\n"
        f"source_paths={lines([module])}\n"
        f"also_copy={lines(['lrwidget'])}\n"
        f"pytest_add_cli_args_test_selection={lines(tests)}\n"
    )


def _mutmut(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "mutmut", *args], cwd=cwd, env=env, text=True, **kw
    )


def _diff(name: str, cwd: Path) -> str:
    shown = _mutmut(["show", name], cwd, capture_output=True).stdout
    return "\n".join(line for line in shown.splitlines() if re.match(r"^[-+](?![-+])", line))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", help="the file to mutate, e.g. lrwidget/result.py")
    parser.add_argument("tests", nargs="+", help="pytest's test selection, e.g. tests/test_x.py")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the summary here")
    parser.add_argument("--fail-above", type=float, metavar="PCT", help="exit 1 above this")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args, extra = parser.parse_known_args(argv)  # -k EXPR and other pytest options
    tests = args.tests + extra
    if not (ROOT / args.module).is_file():
        parser.error(f"no such module: {args.module}")

    work = Path(tempfile.mkdtemp(prefix="lrwidget-mutate-"))
    try:
        _copy_checkout(work)
        (work / "setup.cfg").write_text(_config(args.module, tests))
        started = time.monotonic()
        log = work / "mutmut.log"
        with log.open("w") as out:
            run = _mutmut(
                ["run", "--max-children", str(args.max_children)],
                work,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        seconds = time.monotonic() - started
        listing = _mutmut(["results", "--all", "true"], work, capture_output=True).stdout
        statuses = dict(re.findall(r"^\s*(\S+): (.+?)\s*$", listing, flags=re.M))
        if run.returncode != 0 or not statuses:
            tail = log.read_text()[-3000:]
            print(f"mutmut failed (exit {run.returncode}); the end of its log:\n{tail}")
            return 2
        counts: dict[str, int] = {}
        for status in statuses.values():
            counts[status] = counts.get(status, 0) + 1
        not_killed = {name: s for name, s in statuses.items() if s not in KILLED}
        share = 100 * len(not_killed) / len(statuses)
        summary = {
            "module": args.module,
            "tests": tests,
            "mutants": len(statuses),
            "counts": counts,
            "not_killed_percent": round(share, 1),
            "seconds": round(seconds, 1),
            "not_killed": {
                name: {"status": s, "diff": _diff(name, work)} for name, s in not_killed.items()
            },
        }
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    for name, info in summary["not_killed"].items():
        print(f"--- {name}: {info['status']}\n{info['diff']}")
    print(
        f"{args.module} against {shlex.join(tests)}: {summary['mutants']} mutants, "
        + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + f"; {share:.1f} % not killed; {seconds:.0f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    if args.fail_above is not None and share > args.fail_above:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
