"""Trials in the widget: Try after a sweep, each trial drawn live under the chart in the colour
of its square on the chart, the winner selected, picks by a click on a line or a square, Stop,
an error and Jupyter's interrupt keeping the finished trials, a family's members tried with
their own settings, and the static picture of it all.

Front-end events are fed as bqplot sends them (``Widget._handle_msg``), as in test_widget.py.
"""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
from conftest import assert_same_state, make_model, state

from lrwidget import image, style
from lrwidget import runner as runner_module
from lrwidget.runner import LiveCurve
from lrwidget.trials import Trials
from lrwidget.trials_live import LiveTrials
from lrwidget.widget import LRFinderWidget

SWEEP = dict(batch_size=32, num_steps=40, start_lr=1e-4, end_lr=1.0)
STEPS = 12  # per trial: short, the tests are about the view


def trained_model(**kwargs):
    """A model whose optimizer is built and has momenta (a lost restore would show)."""
    model = make_model(**kwargs)
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 64), "float32"), rng.integers(0, 10, 64), verbose=0)
    return model


def frontend_event(mark, content):
    mark._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


class Armed(keras.callbacks.Callback):
    """Runs ``action`` once, at the ``at``-th training batch after it is armed (``armed.set()``),
    so the sweep before the trials runs untouched."""

    def __init__(self, at, action):
        super().__init__()
        self.at, self.action, self.armed, self.seen = at, action, threading.Event(), 0

    def on_train_batch_end(self, batch, logs=None):
        if self.armed.is_set():
            self.seen += 1
            if self.seen == self.at:
                self.action()


class Pace(keras.callbacks.Callback):
    """Sleeps after every batch while ``seconds`` > 0: a run long enough to be seen live."""

    seconds = 0.0

    def on_train_batch_end(self, batch, logs=None):
        if self.seconds:
            threading.Event().wait(self.seconds)


@pytest.fixture
def swept(comms, digits):
    """A finder after a sweep, and the model's state before anything ran; ``finder.pace``
    slows its later runs."""
    x, y = digits
    model = trained_model()
    before = state(model)
    pace = Pace()
    finder = LRFinderWidget(model, x, y, callbacks=[pace], **SWEEP)
    finder.pace = pace
    assert finder.try_button.disabled  # nothing to try before a sweep
    finder.run(block=True)
    assert not finder.try_button.disabled
    return finder, model, before


def test_try_draws_each_trial_live_under_the_chart_and_selects_the_winner(swept, monkeypatch):
    finder, model, before = swept
    # Outside a kernel the panel's first drawing runs in the trials' thread and counts as an
    # update's cost, which would space the next ones seconds apart: updates every 0.1 s here.
    monkeypatch.setattr(runner_module, "UPDATE_SHARE", 1.0)
    trials_view = finder.trials_view
    assert not trials_view.shown and trials_view.box.layout.height == "0px"  # folded
    assert "lrwidget-try" in finder.try_button._dom_classes
    assert "lrwidget-trials" in trials_view.figure._dom_classes
    drawn, progress = [], []
    finder.progress_text.observe(lambda ch: progress.append(ch["new"]), "value")

    def seen(change):  # a line's points while the trials run: drawn as they come
        if finder.running:
            drawn.append(int(np.isfinite(change["new"]).sum()))

    trials_view.panel.figure.observe(
        lambda ch: [ln.observe(seen, "y") for ln in ch["new"]], "marks"
    )
    finder.pace.seconds = 0.02  # a few live updates per trial
    trials = finder.try_lrs(steps=STEPS, block=True)
    finder.pace.seconds = 0.0
    assert_same_state(before, state(model))

    assert isinstance(trials, Trials) and finder.trials is trials and trials.steps == STEPS
    assert len(trials) >= 2 and trials.meta["source"] in ("candidates", "fallback")
    assert any(0 < n < STEPS for n in drawn), drawn  # lines drawn while their trial ran
    assert any(p.startswith("trials · ") and "ETA" in p for p in progress)
    assert trials_view.shown and trials_view.box.children == (trials_view.figure,)
    lines, squares = trials_view.lines, finder.chart.marks.tried
    assert len(lines) == len(trials) and list(squares.x) == list(trials.lrs)
    for i, (line, losses) in enumerate(zip(lines, trials.losses, strict=True)):
        assert line.colors[0] == squares.colors[i] == style.trial_color(i)
        assert np.allclose(line.y, losses, rtol=1e-6) and list(line.x) == list(
            range(1, len(losses) + 1)
        )
    won = trials.winner_index
    assert won is not None and finder.selected_lr == trials.winner
    assert lines[won].stroke_width == style.BEST_WIDTH and "(winner)" in lines[won].labels[0]
    assert list(squares.names).count("winner") == 1 and squares.names[won] == "winner"
    status = finder.chart.status_text
    assert f"winner {trials.labels[won]}" in status and trials.score_kind in status
    if won != trials.best_index:
        assert f"the best, {trials.labels[trials.best_index]}, is within its noise" in status
    elif trials.margin is not None and np.isfinite(trials.margin):
        assert f"{trials.margin:.1f}x its noise" in status
    assert finder.progress_text.value.endswith(f"· {trials.stop_reason}")
    # Apply sets the winner; a new sweep makes the trials stale and clears them.
    finder.apply()
    assert float(model.optimizer.learning_rate) == pytest.approx(trials.winner)
    finder.run(block=True)
    assert finder.trials is None and not trials_view.shown
    assert len(squares.x) == 0 and "winner" not in finder.chart.status_text


def test_a_click_on_a_trials_line_or_its_square_selects_that_lr_exactly(swept):
    finder, _, _ = swept
    trials = finder.try_lrs(lrs=[2e-3, 3e-2, 0.2], steps=STEPS, block=True)
    assert trials.meta["source"] == "user" and list(trials.lrs) == [2e-3, 3e-2, 0.2]
    lines = finder.trials_view.lines
    for i in (2, 0):
        frontend_event(lines[i], {"event": "element_click", "data": {"index": 0}})
        assert finder.selected_lr == trials.lrs[i]  # read back from the kernel's trait
    squares = finder.chart.marks.tried
    data = {"x": float(squares.x[1]), "y": float(squares.y[1]), "index": 1}
    frontend_event(squares, {"event": "element_click", "data": data})
    assert finder.selected_lr == trials.lrs[1]  # no snapping to a candidate
    assert not finder.trials_view.pick_trial(7) and finder.selected_lr == trials.lrs[1]


def test_stop_ends_the_trials_keeps_the_finished_ones_and_restores_the_model(swept):
    finder, model, before = swept
    finder.try_lrs(lrs=[1e-3, 1e-2, 1e-1], steps=400)
    for _ in range(1200):  # until the second trial has begun
        live = finder.runner.result
        if isinstance(live, Trials) and len(live.losses[1]) > 3:
            break
        threading.Event().wait(0.05)
    finder.stop()
    assert finder.wait(120)
    trials = finder.trials
    assert trials.stop_reason == "stopped" and len(trials.losses[0]) == 400
    assert 0 < len(trials.losses[1]) < 400 and len(trials.losses[2]) == 0
    assert_same_state(before, state(model))
    assert finder.progress_text.value.endswith("· stopped") and not finder.running
    assert len(finder.trials_view.lines) == 3


def test_an_error_in_a_trial_is_shown_and_keeps_the_trials_before_it(comms, digits):
    x, y = digits
    model = trained_model()
    before = state(model)

    def fail():
        raise RuntimeError("broken in the second trial")

    armed = Armed(STEPS + 3, fail)
    finder = LRFinderWidget(model, x, y, callbacks=[armed], **SWEEP)
    finder.run(block=True)
    armed.armed.set()
    with pytest.raises(RuntimeError, match="broken in the second trial"):
        finder.try_lrs(lrs=[1e-3, 1e-2], steps=STEPS, block=True)
    assert_same_state(before, state(model))
    assert finder.trials.stop_reason == "error" and len(finder.trials.losses[0]) == STEPS
    assert "broken in the second trial" in finder.chart.status_text and not finder.running


def test_jupyters_interrupt_of_trials_in_the_cells_thread_keeps_the_finished_ones(comms, digits):
    x, y = digits
    model = trained_model()
    before = state(model)

    def interrupt():  # what Jupyter's interrupt button does to a busy cell
        raise KeyboardInterrupt

    armed = Armed(STEPS + 3, interrupt)
    finder = LRFinderWidget(model, x, y, callbacks=[armed], **SWEEP)
    finder.run(block=True, background=False)
    armed.armed.set()
    with pytest.raises(KeyboardInterrupt):
        finder.try_lrs(lrs=[1e-3, 1e-2], steps=STEPS, background=False)
    assert_same_state(before, state(model))
    assert not finder.running and finder.error is None
    trials = finder.trials
    assert trials.stop_reason == "interrupted" and len(trials.losses[0]) == STEPS
    assert finder.progress_text.value.endswith("· interrupted")
    assert finder.result is not None and finder.result.stop_reason == "completed"  # the sweep


def test_a_family_tries_each_members_pick_with_its_settings_and_the_winner_is_selected(
    comms, digits
):
    x, y = digits
    model = trained_model()
    before = state(model)
    vary = {"weight_decay": [0.0, 0.05]}
    finder = LRFinderWidget(model, x, y, vary=vary, **SWEEP)
    family = finder.run(block=True)
    trials = finder.try_lrs(steps=STEPS, block=True)
    assert_same_state(before, state(model))
    picks = [r.suggestion for r in family.results]
    assert list(trials.lrs) == [float(p) for p in picks if p is not None]
    assert [s["weight_decay"] for s in trials.settings] == [0.0, 0.05][: len(trials)]
    best = trials.winner_index
    assert best == trials.best_index  # trials with settings of their own: the best wins
    assert finder.selected == {"learning_rate": trials.winner, **trials.settings[best]}
    message = finder.apply()
    assert model.optimizer.weight_decay == trials.settings[best]["weight_decay"]
    assert "weight_decay" in message
    # A click on the other trial's line selects that member with its LR.
    other = 1 - best if len(trials) == 2 else best
    frontend_event(finder.trials_view.lines[other], {"event": "element_click", "data": {}})
    assert finder.selected == {"learning_rate": trials.lrs[other], **trials.settings[other]}
    # Try with no steps: the family's plan, four of its sweeps' worth (of 40 steps) in all.
    applied = state(model)
    again = finder.try_lrs(block=True)
    assert again.steps == family.trial_plan()["steps"] == min(200, 4 * 40 // len(again))
    assert_same_state(applied, state(model))


def test_try_before_any_sweep_is_refused_with_how_to_fix_and_nothing_runs(comms, digits):
    x, y = digits
    finder = LRFinderWidget(trained_model(), x, y, **SWEEP)
    with pytest.raises(ValueError, match=r"run a sweep first, or pass the LRs"):
        finder.try_lrs()
    assert not finder.running and finder.trials is None
    finder._on_try_click(finder.try_button)  # a click says so in the status line
    assert "run a sweep first" in finder.chart.status_text


def test_the_picture_draws_the_trials_under_the_chart_as_the_panel_does(swept, tmp_path):
    finder, _, _ = swept
    trials = finder.try_lrs(lrs=[1e-3, 1e-2], steps=STEPS, block=True)
    fig = image.figure(**finder.chart.pictures.content())
    chart_ax, steps_ax = fig.axes[:2]
    tried = [c for c in chart_ax.collections if c.get_gid() == "tried"]
    assert len(tried) == 1 and np.allclose(tried[0].get_offsets()[:, 0], trials.lrs)
    for i, line in enumerate(finder.trials_view.lines):
        (drawn,) = [a for a in steps_ax.lines if a.get_gid() == f"trial-{i}"]
        assert np.allclose(drawn.get_ydata(), line.y, rtol=1e-6)
        assert drawn.get_color() == line.colors[0]
        assert drawn.get_linewidth() == line.stroke_width
    assert steps_ax.get_ylim() == pytest.approx(
        (finder.trials_view.panel.y_scale.min, finder.trials_view.panel.y_scale.max)
    )
    assert finder.static_png().startswith(b"\x89PNG")
    assert finder.save_image(tmp_path / "trials.png").read_bytes().startswith(b"\x89PNG")


# --- the live record, no Keras -----------------------------------------------------------------
def test_live_trials_count_steps_over_all_trials_and_snapshot_as_a_record():
    live = LiveTrials([1e-3, 1e-2], 5)
    assert (live.n, live.planned, live.eta()) == (0, 10, None)
    for step in range(5):
        live.point(0, step, 2.0 - 0.1 * step)
    live.point(1, 0, 2.0)
    assert (live.n, live.trial) == (6, 1) and live.eta() is not None
    kept = live.snapshot()
    assert [len(v) for v in kept.losses] == [5, 1] and kept.stop_reason == "stopped"
    assert kept.meta["steps_done"] == 6
    engine_kept = Trials(lrs=[1e-3, 1e-2], steps=5, losses=([1.0], []), stop_reason="interrupted")
    exc = KeyboardInterrupt()
    assert live.interrupted(exc).stop_reason == "interrupted"  # the points so far
    exc.trials = engine_kept
    assert live.interrupted(exc) is engine_kept  # what the engine kept, when it did


def test_a_live_curve_takes_any_x_axis():
    steps = LiveCurve(np.arange(1, 6))
    steps.add(2, 0.5)
    assert steps.n == 3 and steps.planned == 5 and np.isnan(steps.y[:2]).all()
    lrs = LiveCurve(np.geomspace(1e-4, 1, 3))
    lrs.add(0, 1.0)
    assert lrs.x[0] == pytest.approx(1e-4) and lrs.n == 1
