"""Every notebook runs top to bottom in a real kernel (fast mode) and is committed clean."""

import sys
import types
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def outputs(nb, mime):
    """Every output of the given MIME type, in cell order."""
    return [
        out["data"][mime]
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if mime in out.get("data", {})
    ]


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {"quickstart.ipynb", "cifar10_article.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
    assert "widgets" not in nb.metadata  # saved widget state is output too


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_runs_headless_in_fast_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("LRWIDGET_FAST", "1")  # the kernel inherits it: tiny data, 2 epochs
    nb = nbformat.read(path, as_version=4)
    # Any cell error raises CellExecutionError; the notebook's files land in tmp_path.
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    text = "".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []))
    assert "Colab" not in text  # the install cell is skipped outside Colab
    assert len(outputs(nb, WIDGET_VIEW)) >= 2  # the finder and a bqplot chart were displayed
    if path.name == "quickstart.ipynb":
        assert "selected:" in text and (tmp_path / "sweep.json").is_file()
        assert "Trials(" in text and "winner=" in text  # the trials ran and named a winner
    if path.name == "cifar10_article.ipynb":
        assert "STAND-IN, not CIFAR-10" in text  # fast mode never downloads
        (table,) = outputs(nb, "text/markdown")
        assert "86.7 %" in table and table.count("\n| ") == 5  # header, rule, three arms


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_colab_cells_install_a_wheel_beside_them_or_the_name_and_keep_colabs_ipywidgets(
    path, tmp_path, monkeypatch
):
    nb = nbformat.read(path, as_version=4)
    text = "\n".join(cell.source for cell in nb.cells)
    # No badge or install line may point at a repository location the project does not have.
    assert "github.com" not in text and "git+" not in text
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    install = TransformerManager().transform_cell(code[0])
    asked = []

    class Shell:  # what get_ipython() returns: records the %pip line, {names} expanded
        def run_line_magic(self, magic, line):
            asked.append((magic, line.format(**sys._getframe(1).f_locals)))

    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))

    def run():
        exec(install, {"get_ipython": Shell})
        return asked.pop()

    assert run() == ("pip", 'install -q lrwidget "ipywidgets<8"')  # no wheel: the name
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "lrwidget-0.1.0-py3-none-any.whl").touch()
    assert run() == ("pip", 'install -q dist/lrwidget-0.1.0-py3-none-any.whl "ipywidgets<8"')
    (tmp_path / "lrwidget-0.1.0-py3-none-any.whl").touch()  # uploaded beside the notebook
    assert run() == ("pip", 'install -q lrwidget-0.1.0-py3-none-any.whl "ipywidgets<8"')
