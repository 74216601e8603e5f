"""The article reproduction's bookkeeping: its RESULTS.md section and its verdicts."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[1] / "benchmarks" / "article_repro.py"
spec = importlib.util.spec_from_file_location("article_repro", SCRIPT)
repro = importlib.util.module_from_spec(spec)
spec.loader.exec_module(repro)


def test_write_section_replaces_only_its_own_section(tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text(
        "# Benchmark results\n\n## Speed\n\nfast\n\n"
        "## Article reproduction\n\nold table\n\n## Suggestion rules\n\nvalley wins\n"
    )
    repro.write_section(path, "new table")
    assert path.read_text() == (
        "# Benchmark results\n\n## Speed\n\nfast\n\n"
        "## Article reproduction\n\nnew table\n\n## Suggestion rules\n\nvalley wins\n"
    )


def test_write_section_appends_to_a_file_without_it_or_creates_the_file(tmp_path):
    other = tmp_path / "other.md"
    other.write_text("# Benchmark results\n\n## Speed\n\nfast\n")
    repro.write_section(other, "table")
    assert other.read_text().endswith("## Speed\n\nfast\n\n## Article reproduction\n\ntable\n")
    missing = tmp_path / "missing.md"
    repro.write_section(missing, "table")
    assert missing.read_text() == "# Benchmark results\n\n## Article reproduction\n\ntable\n"


@pytest.mark.parametrize(
    "diffs, verdict",
    [([3, 4, 5, 4], "faster"), ([-3, -4, -5, -4], "slower"), ([5, -5, 4, -4], "no clear")],
)
def test_a_verdict_needs_a_difference_beyond_two_standard_errors(diffs, verdict):
    assert verdict in repro.compare(diffs, "faster", "slower")


def test_epochs_to_counts_from_one_and_says_never():
    assert repro.epochs_to([0.5, 0.97, 0.99], 0.97) == 2
    assert repro.epochs_to([0.5, 0.9], 0.97) is None
