"""Promises about the repository itself: the README's commands, no unsafe loading, lint."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^```(?:bash|sh)\n(.+?)\n```", text, flags=re.M | re.S)


def test_readme_opens_with_two_commands_and_ci_runs_the_test_one_verbatim():
    commands = _readme_commands()
    assert len(commands) >= 2
    main_job, tests = commands[0], commands[1]
    assert "python -m lrwidget demo" in main_job
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines(), "the README's test command must appear verbatim in .ci/run"


def test_nothing_in_the_package_unpickles_or_evaluates():
    banned_modules = {"pickle", "cPickle", "dill", "marshal", "shelve"}
    banned_calls = {"eval", "exec", "compile", "__import__"}
    for path in sorted((ROOT / "lrwidget").glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not banned_modules & {n.split(".")[0] for n in names}, path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in banned_calls, f"{path}: {node.func.id}()"


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install ruff)")
def test_ruff_lint_and_format_are_clean():
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run(["ruff", *args], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_importing_the_package_does_not_import_keras_until_a_name_is_used():
    code = (
        "import sys, lrwidget\n"
        "print('keras' in sys.modules)\n"
        "print(callable(lrwidget.analysis.smooth), 'keras' in sys.modules)\n"
        "print(callable(lrwidget.find_lr), 'keras' in sys.modules)\n"
        "print(hasattr(lrwidget, 'nope'), set(lrwidget.__all__) <= set(dir(lrwidget)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["False", "True", "False", "True", "True", "False", "True"], (
        proc.stderr[-2000:]
    )


# What each module may import (DESIGN.md's layers): data flows one way, engine -> result -> view.
FORBIDDEN = {
    "analysis": {"keras", "tensorflow", "ipywidgets", "bqplot", "lrwidget.chart"},
    "result": {"keras", "tensorflow", "ipywidgets", "bqplot", "lrwidget.widget"},
    "keras_sweep": {"ipywidgets", "bqplot", "lrwidget.chart", "lrwidget.widget"},
    "runner": {"keras", "tensorflow", "ipywidgets", "bqplot", "lrwidget.keras_sweep"},
    "notebook": {"keras", "tensorflow", "bqplot"},
    "chart": {"keras", "tensorflow", "lrwidget.keras_sweep", "lrwidget.widget"},
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = "lrwidget." if node.level else ""
            names.add(base + (node.module or ""))
    return names


@pytest.mark.parametrize("module", sorted(FORBIDDEN))
def test_no_module_imports_a_layer_above_it(module):
    found = _imports(ROOT / "lrwidget" / f"{module}.py")
    bad = {n for n in found for f in FORBIDDEN[module] if n == f or n.startswith(f + ".")}
    assert not bad, f"lrwidget/{module}.py imports {sorted(bad)}"


def test_a_saved_sweep_loads_and_draws_without_keras(tmp_path):
    import numpy as np

    from lrwidget.result import SweepResult

    path = tmp_path / "sweep.json"
    lrs = np.geomspace(1e-5, 1, 120)
    SweepResult(lrs=lrs, losses=2 - np.exp(-((np.log10(lrs) + 2) ** 2))).save(path)
    code = (
        "import sys, lrwidget\n"
        f"chart = lrwidget.show(lrwidget.SweepResult.load({str(path)!r}))\n"
        "print(chart.selected_lr is not None, 'keras' in sys.modules, 'tensorflow' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["True", "False", "False"], proc.stderr[-2000:]
