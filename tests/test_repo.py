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


# --- the layers ---------------------------------------------------------------------------
# Every module of lrwidget/, its layer, the lrwidget modules it may import and the packages it
# must not import (lazy imports inside functions included). An import always points to a
# strictly lower layer: data flows one way, analysis -> engine -> result -> view.
KERAS = {"keras", "tensorflow", "jax", "torch"}
VIEW = {"ipywidgets", "bqplot", "matplotlib"}
RULES = {
    # 0: foundations, importing no other lrwidget module
    "smoothing": (0, set(), KERAS | VIEW),  # the smoothed curve and its noise level
    "selection": (0, set(), KERAS | VIEW),  # what a pick may be: LR traits, clamp, snap
    "style": (0, set(), KERAS | VIEW),  # colours, LR format, loss window, labels, points
    "notebook": (0, set(), KERAS | VIEW),  # Colab, the display bundle, the busy cell's queue
    "sync": (0, set(), KERAS | {"matplotlib"}),  # widget writes: hold_sync, watched marks
    "failure": (0, set(), KERAS | VIEW),  # why a sweep failed: the cause line, the report
    "records": (0, set(), KERAS | VIEW),  # the records' shared strict JSON
    # 1: reading a curve
    "analysis": (1, {"smoothing"}, KERAS | VIEW),  # LR ladders, candidates, suggestion rules
    "data": (1, set(), VIEW),
    "keras_state": (1, set(), VIEW),  # every reach into Keras internals; the starting state
    "marked": (1, {"selection", "style"}, KERAS | VIEW),  # candidates, minima, menu: whose
    # 2: the record, Keras internals, drawing parts
    "result": (2, {"analysis", "records"}, KERAS | VIEW),
    "trials": (2, {"analysis", "records", "style"}, KERAS | VIEW),  # the trials' record
    "keras_engine": (2, {"data", "keras_state"}, VIEW),  # runs a ladder of LRs: raw arrays
    "image": (2, {"style"}, KERAS | {"ipywidgets", "bqplot"}),
    "controls": (2, set(), KERAS | {"bqplot", "matplotlib"}),
    "figure": (3, {"panel", "selection", "style", "sync"}, KERAS | {"matplotlib"}),
    "events": (2, {"selection"}, KERAS | VIEW),  # the chart's answers to front-end events
    "panel": (2, {"sync"}, KERAS | {"matplotlib"}),  # a plot panel: figure, scales, line rules
    # 3: the engine and what runs it
    "keras_sweep": (
        3,
        {"analysis", "data", "keras_engine", "keras_state", "result", "selection"},
        VIEW,
    ),
    "schedules": (3, {"keras_state", "selection", "style"}, VIEW),
    "runner": (3, {"notebook", "result"}, KERAS | VIEW),
    "family": (3, {"data", "records", "result", "trials"}, KERAS | VIEW),  # a family: pick, spread
    # 4: a family on Keras, and drawn live into a chart
    "family_live": (4, {"family", "result", "runner", "style"}, KERAS | VIEW),
    "run_view": (4, {"result", "runner"}, KERAS | VIEW),  # what the finder shows; one sweep
    "applying": (4, {"controls", "schedules", "style"}, VIEW),  # Apply; schedules from a pick
    "trials_live": (4, {"panel", "runner", "style", "trials"}, KERAS | {"matplotlib"}),
    "keras_family": (
        4,
        {"data", "family", "keras_engine", "keras_state", "keras_sweep", "result"},
        VIEW,
    ),
    "keras_trials": (  # try_lrs: short runs at constant LRs
        4,
        {"data", "family", "keras_engine", "keras_state", "keras_sweep", "result", "selection"}
        | {"trials"},
        VIEW,
    ),
    "takeover": (4, {"notebook", "runner"}, KERAS | VIEW),  # one sweep per model; re-run cells
    # 4: the chart
    "chart": (
        4,
        {"controls", "events", "family", "figure", "image", "notebook", "result", "selection"}
        | {"style", "sync", "marked"},
        KERAS,
    ),
    # 5: what a user calls
    "widget": (
        5,
        {"chart", "keras_sweep", "notebook", "result", "runner", "schedules", "selection"}
        | {"style", "sync", "family_live", "keras_family", "failure", "takeover"}
        | {"applying", "controls", "family", "keras_trials", "run_view", "trials_live"},
        KERAS,
    ),
    "article": (5, {"chart", "data", "keras_sweep", "result"}, VIEW),
    "cli": (
        5,
        {"chart", "data", "family", "image", "keras_family", "keras_sweep", "keras_trials"}
        | {"result", "style", "trials"},
        set(),
    ),
    "__main__": (6, {"cli"}, KERAS | VIEW),
    # The public names, loaded on first use (importlib); the TYPE_CHECKING imports name them.
    "__init__": (
        6,
        {"analysis", "article", "chart", "family", "keras_family", "keras_sweep", "result"}
        | {"keras_trials", "trials", "widget"},
        set(),
    ),
}
PACKAGE = ROOT / "lrwidget"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))


def _resolve(name: str) -> str:
    """The lrwidget module that ``lrwidget.<name>`` names: a module of the package, or the
    package itself (``__init__``) for a name it exports."""
    return name if (PACKAGE / f"{name}.py").is_file() else "__init__"


def imports_of(source: str) -> tuple[set[str], set[str]]:
    """``(lrwidget modules, top-level packages)`` that ``source`` imports, in every form:
    ``import lrwidget.x``, ``from lrwidget import x``, ``from lrwidget.x import y``,
    ``from . import x``, ``from .x import y``, and inside functions too."""
    ours, theirs = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                head, _, rest = alias.name.partition(".")
                if head == "lrwidget":
                    ours.add(_resolve(rest.partition(".")[0]) if rest else "__init__")
                else:
                    theirs.add(head)
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level == 0 and module.partition(".")[0] != "lrwidget":
                theirs.add(module.partition(".")[0])
                continue
            inside = module.partition(".")[2] if node.level == 0 else module
            if inside:  # from lrwidget.x import y, from .x import y
                ours.add(_resolve(inside.partition(".")[0]))
            else:  # from lrwidget import x, from . import x
                ours |= {_resolve(alias.name) for alias in node.names}
    return ours, theirs


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module in MODULES:
        ours, _ = imports_of((PACKAGE / f"{module}.py").read_text())
        graph[module] = ours - {module}
    return graph


def test_the_import_parser_sees_every_form():
    source = (
        "import lrwidget.style\n"
        "import lrwidget\n"
        "from lrwidget import result\n"
        "from lrwidget.figure import LossPlot\n"
        "from . import analysis, show\n"
        "from .sync import hold_sync\n"
        "def later():\n"
        "    from .image import render\n"
        "    import numpy.linalg\n"
    )
    ours, theirs = imports_of(source)
    expected = {"style", "__init__", "result", "figure", "analysis", "sync", "image"}
    assert ours == expected and theirs == {"numpy"}


def test_every_module_has_a_rule():
    assert sorted(RULES) == MODULES


@pytest.mark.parametrize("module", MODULES)
def test_a_module_imports_only_what_its_rule_allows_and_only_lower_layers(module):
    layer, allowed, banned = RULES[module]
    ours, theirs = imports_of((PACKAGE / f"{module}.py").read_text())
    ours.discard(module)
    assert ours <= allowed, f"lrwidget/{module}.py imports {sorted(ours - allowed)}"
    upward = {m for m in ours if RULES[m][0] >= layer}
    assert not upward, f"lrwidget/{module}.py (layer {layer}) imports {sorted(upward)}"
    assert not theirs & banned, f"lrwidget/{module}.py imports {sorted(theirs & banned)}"


def test_the_import_graph_has_no_cycle():
    graph, done, path = import_graph(), set(), []

    def visit(module):
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        path.append(module)
        for dep in sorted(graph[module]):
            visit(dep)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_no_class_over_400_lines_and_no_function_body_over_80():
    too_long = []
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                size = node.end_lineno - node.lineno + 1
                if size > 400:
                    too_long.append(f"{path.name}: class {node.name}, {size} lines")
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = node.body
                doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                first = body[1] if doc and len(body) > 1 else body[0]
                size = node.end_lineno - first.lineno + 1
                if size > 80:
                    too_long.append(f"{path.name}: {node.name}(), a body of {size} lines")
    assert not too_long, too_long


def test_the_readme_is_for_users():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 160
    first_person = re.findall(r"\b(I|I'm|I've|me|my|we|We|our|Our)\b", text)
    assert not first_person, first_person
    for link in re.findall(r"\]\((docs/[^)#]+)", text):  # every page it links to exists
        assert (ROOT / link).is_file(), link


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


def test_the_command_lines_progress_line_loads_no_widgets():
    code = (
        "import io, sys\n"
        "from lrwidget.cli import Progress\n"
        "p = Progress(io.StringIO())\n"
        "p.start([1e-3, 1e-2]); p.point(0, 1e-3, 2.0); p.close()\n"
        "print(sorted(m for m in ('bqplot', 'ipywidgets', 'matplotlib') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.split() == ["[]"], proc.stderr[-2000:]
