"""The ``lrwidget`` command line: demo, find on a saved model, one-line errors."""

import io
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from conftest import make_model

from lrwidget import SweepResult
from lrwidget.cli import Progress, main


def widget_state(html: str) -> dict:
    """The embedded widget state of a page written by ipywidgets' embed_minimal_html."""
    script = re.search(
        r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', html, re.S
    )
    assert script, "no widget state in the page"
    return json.loads(script.group(1))["state"]


@pytest.fixture
def saved(tmp_path, digits):
    """A compiled, trained model saved as .keras and the digits as .npz."""
    x, y = digits
    model_path, data_path = tmp_path / "model.keras", tmp_path / "data.npz"
    model = make_model()
    model.fit(x[:64], y[:64], verbose=0)  # as users save: trained, optimizer state and all
    model.save(model_path)
    np.savez(data_path, pixels=x[:400], labels=y[:400])
    return model_path, data_path


def test_demo_writes_a_loadable_sweep_and_a_standalone_chart(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["demo", "--out-dir", str(out), "--num-steps", "40"]) == 0
    stdout, stderr = capsys.readouterr()

    result = SweepResult.load(out / "sweep.json")
    assert 10 <= len(result) <= 40 and result.meta["validation"] is True
    assert f"suggestion: {result.suggestion:.2e}" in stdout
    assert stderr.splitlines()[-1].startswith("sweep ") and f"{len(result)}/40" in stderr

    assert (out / "sweep.png").read_bytes().startswith(b"\x89PNG")
    assert "data:image/png;base64," in (out / "sweep.html").read_text()  # seen offline too
    state = widget_state((out / "sweep.html").read_text())
    models = {m["model_name"] for m in state.values()}
    assert {"FigureModel", "LinesModel", "LogScaleModel"} <= models
    # The smoothed curve travels in the page: its points count matches the sweep.
    lines = [m["state"] for m in state.values() if m["model_name"] == "LinesModel"]
    assert any(line.get("x", {}).get("shape") == [len(result)] for line in lines)


def test_find_sweeps_a_saved_model_and_leaves_its_file_alone(saved, tmp_path, capsys):
    model_path, data_path = saved
    before = model_path.read_bytes()
    argv = ["find", str(model_path), str(data_path), "--x-key", "pixels", "--y-key", "labels"]
    argv += ["--num-steps", "30", "--val-split", "0.25", "--out-dir", str(tmp_path / "o")]
    assert main(argv) == 0
    assert model_path.read_bytes() == before
    result = SweepResult.load(tmp_path / "o" / "sweep.json")
    assert result.meta["num_steps"] == 30 and result.meta["validation"] is True
    assert (tmp_path / "o" / "sweep.html").is_file()
    assert "candidates:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "required: COMMAND"),
        (["bogus"], "invalid choice: 'bogus'"),
        (["demo", "--batch-size", "0"], "--batch-size: must be > 0"),
        (["demo", "--start-lr", "abc"], "--start-lr: expected a float"),
        (["demo", "--start-lr", "1", "--end-lr", "0.1"], "--end-lr (0.1) must be larger"),
        (["find", "missing.keras", "DATA"], "no such model file: missing.keras"),
        (["find", "MODEL", "missing.npz"], "no such data file: missing.npz"),
        (["find", "MODEL", "DATA", "--val-split", "1"], "--val-split: must be in [0, 1)"),
        (["find", "MODEL", "DATA", "--x-key", "x"], "has no array 'x' (it has: pixels, labels)"),
        (["find", "MODEL", "DATA", "--x-key", "pixels"], "has no array 'y'"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(argv, message, saved, capsys):
    paths = dict(zip(("MODEL", "DATA"), map(str, saved), strict=True))
    argv = [paths.get(a, a) for a in argv]
    assert main(argv) == 2
    stdout, stderr = capsys.readouterr()
    assert stdout == ""
    assert len(stderr.splitlines()) == 1 and stderr.startswith("lrwidget: error: ")
    assert message in stderr


def test_a_failing_sweep_is_one_line_and_exit_1(tmp_path, digits, capsys):
    model_path, data_path = tmp_path / "m.keras", tmp_path / "d.npz"
    make_model(compile=False).save(model_path)
    np.savez(data_path, x=digits[0][:100], y=digits[1][:100])
    assert main(["find", str(model_path), str(data_path)]) == 1
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and "lrwidget: error: model is not compiled" in stderr


def test_progress_shows_where_an_early_stop_ended():
    stream = io.StringIO()
    progress = Progress(stream)
    progress.start(np.geomspace(1e-4, 1, 100))
    for step in range(37):  # diverged at step 36
        progress.point(step, 0.5, float("inf") if step == 36 else 2.0)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 4 and lines[-1].startswith("sweep  37/100  lr 5.0e-1  loss inf")


def test_progress_prints_every_tenth_with_rate_and_eta_when_not_a_terminal():
    stream = io.StringIO()
    progress = Progress(stream)
    progress.start(np.geomspace(1e-4, 1, 50))
    for step in range(50):
        progress.point(step, 0.1, 1.5)
    progress.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("sweep  5/50  lr 1.0e-1  loss 1.5  ")
    assert "steps/s  ETA" in lines[0] and lines[-1].endswith("ETA 0 s")


def test_progress_on_a_terminal_is_a_live_bar_with_rate_and_time_left():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(stream)
    progress.start(np.geomspace(1e-4, 1, 40))
    for step in range(40):
        progress.point(step, 0.01, 0.75)
    progress.close()
    out = stream.getvalue()
    assert "40/40" in out and "lr 1.0e-2" in out and "loss 0.75" in out and "steps/s" in out


def test_the_module_entry_point_exits_2_without_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "lrwidget", "find", str(tmp_path / "no.keras"), "d.npz"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    # Exactly one line: no traceback, and TensorFlow (with its start-up log) is not even loaded.
    assert proc.stderr == f"lrwidget: error: no such model file: {tmp_path / 'no.keras'}\n"


def test_the_report_names_each_candidate_and_says_when_the_range_ended_too_early(tmp_path):
    from lrwidget.cli import _report

    lrs = np.logspace(-7, 1, 100)
    losses = 2.3 - 1.5 / (1 + np.exp(-2 * (np.log10(lrs) + 1)))  # still falling at 10
    out = io.StringIO()
    _report(SweepResult(lrs=lrs, losses=losses), tmp_path, out)
    text = out.getvalue()
    assert "(suggested, loss" in text and "(careful, loss" in text
    assert "note: the loss had not turned up by end_lr=10" in text and "end_lr=100" in text


def test_try_prints_a_line_per_trial_and_the_winner_and_writes_the_record(tmp_path, capsys):
    from lrwidget import Trials

    out = tmp_path / "out"
    argv = ["demo", "--out-dir", str(out), "--num-steps", "60", "--try", "20"]
    assert main(argv) == 0
    stdout, stderr = capsys.readouterr()

    sweep = SweepResult.load(out / "sweep.json")
    trials = Trials.load(out / "trials.json")
    assert trials.steps == 20 and trials.meta["source"] in ("candidates", "fallback")
    # The trials are those the sweep's reading proposes, the optimizer's own LR among them.
    assert trials.meta["baseline_lr"] == pytest.approx(0.01)
    assert any(abs(lr / 0.01 - 1) < 1e-6 for lr in trials.lrs)
    if sweep.suggestion is not None:
        assert any(abs(lr / sweep.suggestion - 1) < 1e-6 for lr in trials.lrs)
    lines = [line for line in stdout.splitlines() if line.startswith("trial ")]
    assert len(lines) == len(trials)
    for label, line in zip(trials.labels, lines, strict=True):
        assert line.startswith(f"trial {label} ") and "validation loss" in line
    winner = next(line for line in stdout.splitlines() if line.startswith("winner: "))
    assert winner.startswith(f"winner: {trials.labels[trials.winner_index]}")
    assert f"{len(trials) * 20}/{len(trials) * 20}" in stderr  # the trials' own progress
    assert (out / "trials.png").read_bytes().startswith(b"\x89PNG")


def test_try_after_a_family_runs_each_members_suggestion_with_its_settings(tmp_path, capsys):
    from lrwidget import SweepFamily, Trials

    out = tmp_path / "out"
    argv = ["demo", "--out-dir", str(out), "--num-steps", "60", "--try", "15"]
    assert main([*argv, "--vary", "momentum=0,0.9"]) == 0
    family = SweepFamily.load(out / "family.json")
    trials = Trials.load(out / "trials.json")
    plan = family.trial_plan()
    assert list(trials.lrs) == pytest.approx(plan["lrs"])
    assert [dict(s) for s in trials.settings] == plan["settings"]
    assert {s["momentum"] for s in plan["settings"]} <= {0, 0.9}
    assert trials.steps == 15  # --try's steps, not the plan's
    assert "winner: " in capsys.readouterr().out


@pytest.mark.parametrize(("steps", "message"), [("0", "--try: must be > 0"), ("5", "at least 10")])
def test_try_with_a_bad_step_count_is_one_line_and_exit_2_before_any_sweep(steps, message, capsys):
    assert main(["demo", "--try", steps]) == 2
    stdout, stderr = capsys.readouterr()
    assert message in stderr and stdout == ""


def test_a_winner_within_the_noise_of_the_best_is_named_with_the_best_beside_it(tmp_path):
    from lrwidget.cli import _report_trials
    from lrwidget.trials import Trials

    rng = np.random.default_rng(0)
    tail_sd = 0.1 * np.sqrt(2 / 20)  # the standard error of a difference of two 20-step means
    levels = (1.0 + tail_sd, 1.0)  # the smaller LR one standard error behind: a tie
    losses = [v + 0.1 * rng.standard_normal(100) for v in levels]
    trials = Trials(lrs=[1e-3, 1e-2], steps=100, losses=losses)
    assert trials.winner == 1e-3 and trials.best == 1e-2
    out = io.StringIO()
    _report_trials(trials, tmp_path, out)
    winner = next(line for line in out.getvalue().splitlines() if line.startswith("winner: "))
    assert winner == "winner: 1.0e-3, the smallest LR within the noise of the best (1.0e-2)"
    assert Trials.load(tmp_path / "trials.json").winner == 1e-3
