"""Nothing is lost while the kernel stays busy: one sweep per model, no training under a sweep,
one writer per widget trait, and Run / Stop / result in any interleaving.

Threads are interleaved with events, not sleeps: a callback holds the sweep inside a batch
until the main thread has done what the test is about."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
from conftest import assert_same_state, make_model, state
from traitlets import All

import lrwidget
from lrwidget import notebook, takeover
from lrwidget.result import SweepResult
from lrwidget.widget import LRFinderWidget


@pytest.fixture
def data(digits):
    x, y = digits
    return x[:512], y[:512]


def built_model():
    model = make_model()
    model.optimizer.build(model.trainable_variables)
    return model


class Hold(keras.callbacks.Callback):
    """Holds the sweep after batch ``batch`` until ``release`` is set; ``reached`` says it is
    there."""

    def __init__(self, batch=3):
        super().__init__()
        self.batch = batch
        self.reached, self.release = threading.Event(), threading.Event()

    def on_train_batch_end(self, batch, logs=None):
        if batch == self.batch:
            self.reached.set()
            assert self.release.wait(60), "the test never released the sweep"


def test_training_the_model_from_another_thread_during_a_sweep_is_refused(comms, data):
    x, y = data
    model = built_model()
    before = state(model)
    hold = Hold()
    finder = LRFinderWidget(model, x, y, batch_size=16, num_steps=30, end_lr=1e-2, callbacks=[hold])
    finder.run()
    assert hold.reached.wait(60)
    try:
        for call in (
            lambda: model.fit(x, y, epochs=1, verbose=0),
            lambda: model.train_on_batch(x[:16], y[:16]),
            lambda: model.evaluate(x, y, verbose=0),
            lambda: model.test_on_batch(x[:16], y[:16]),
        ):
            with pytest.raises(RuntimeError, match="sweep is running on this model") as err:
                call()
            assert "finder.stop()" in str(err.value) and "finder.wait()" in str(err.value)
    finally:
        hold.release.set()
    finder.wait()
    assert finder.result.stop_reason == "completed" and len(finder.result) == 30
    assert finder.error is None
    assert_same_state(before, state(model))  # nothing was trained, nothing was undone
    # Afterwards the model is the user's again, with its own methods.
    assert not {"fit", "evaluate"} & set(vars(model))
    model.fit(x, y, epochs=1, verbose=0)


def test_a_second_sweep_on_the_same_model_is_refused_while_the_first_runs(comms, data):
    x, y = data
    model = built_model()
    before = state(model)
    hold = Hold()
    first = LRFinderWidget(model, x, y, batch_size=16, num_steps=30, callbacks=[hold])
    second = LRFinderWidget(model, x, y, batch_size=16, num_steps=30, end_lr=1e-2)
    first.run()
    assert hold.reached.wait(60)
    try:
        with pytest.raises(RuntimeError, match="already running on model"):
            second.run(block=True)
        assert not second.running and "already running" in second.status.value
        with pytest.raises(RuntimeError, match="already running on model"):
            lrwidget.find_lr(model, x, y, batch_size=16, num_steps=30)
    finally:
        hold.release.set()
    first.wait()
    assert first.error is None and len(first.result) > 4
    assert_same_state(before, state(model))
    free_again = second.run(block=True)
    assert free_again.stop_reason == "completed" and len(free_again) == 30


class Slow(keras.callbacks.Callback):
    """Sleeps after every batch and says when batch ``at`` is done: a sweep long enough to be
    replaced while it runs."""

    def __init__(self, at=3, seconds=0.02):
        super().__init__()
        self.at, self.seconds, self.reached = at, seconds, threading.Event()

    def on_train_batch_end(self, batch, logs=None):
        if batch >= self.at:
            self.reached.set()
        threading.Event().wait(self.seconds)


def test_a_new_finder_on_the_model_stops_the_sweep_of_the_one_it_replaces(comms, data):
    # Re-running the cell `finder = LRFinderWidget(model, ...)` during a sweep: the old view is
    # gone, so the new finder stops the old sweep, and the model is free and bitwise restored.
    x, y = data
    model = built_model()
    before = state(model)
    slow = Slow()
    old = LRFinderWidget(model, x, y, batch_size=16, num_steps=5000, callbacks=[slow])
    old.run()
    assert slow.reached.wait(60) and old.running
    new = LRFinderWidget(model, x, y, batch_size=16, num_steps=30)
    assert not old.runner.running  # stopped before the constructor returned
    assert_same_state(before, state(model))
    assert "stopped the sweep of the finder on model" in new.chart.status_text
    old.wait(60)
    assert old.result.stop_reason == "stopped" and len(old.result) < 5000
    assert "replaced this one" in old.chart.status_text
    result = new.run(block=True)  # the model is free: no refusal
    assert result.stop_reason in ("completed", "diverged") and len(result) > 10
    assert "stopped the sweep" not in new.chart.status_text  # said once, until the next Run


def test_a_finder_refused_by_another_ones_sweep_says_how_and_its_second_click_stops_it(comms, data):
    x, y = data
    model = built_model()
    before = state(model)
    slow = Slow()
    waiting = LRFinderWidget(model, x, y, batch_size=16, num_steps=30)  # made before the sweep
    running = LRFinderWidget(model, x, y, batch_size=16, num_steps=5000, callbacks=[slow])
    running.run()
    assert slow.reached.wait(60)
    try:
        with pytest.raises(RuntimeError, match=r"stop_other=True") as refused:
            waiting.run()
        assert "another LRFinderWidget" in str(refused.value) and running.runner.running
        waiting.run_button.click()  # the button: refused, and it offers to stop the other one
        assert waiting.run_button.description == "Stop other & run"
        assert "Stop other & run" in waiting.chart.status_text
        waiting.run_button.click()  # the second click stops the other sweep and starts this one
        assert waiting.run_button.description == "Run"
        assert waiting.wait(60) and waiting.result.stop_reason in ("completed", "diverged")
    finally:
        running.stop()
    running.wait(60)
    assert running.result.stop_reason == "stopped"
    assert "stopped by another LRFinderWidget" in running.chart.status_text
    assert_same_state(before, state(model))


def test_running_a_cell_again_stops_the_sweeps_of_the_finders_its_last_run_made(
    comms, data, monkeypatch
):
    # A cell that builds its model too: the new finder sweeps another model, but the old
    # finder's view went with the cell's output, so its sweep is stopped all the same.
    x, y = data
    cell = {"now": ("cell-a", "run-1")}
    monkeypatch.setattr(takeover, "running_cell", lambda: cell["now"])
    old_model = built_model()
    before = state(old_model)
    slow = Slow()
    old = LRFinderWidget(old_model, x, y, batch_size=16, num_steps=5000, callbacks=[slow])
    old.run()
    assert slow.reached.wait(60)
    # A second finder made by the same run of the cell is no replacement: nothing stops.
    twin = LRFinderWidget(built_model(), x, y, batch_size=16, num_steps=30)
    assert old.runner.running and twin.chart.status_text == "press Run to start the sweep"
    cell["now"] = ("cell-b", "run-2")  # another cell: nothing stops either
    LRFinderWidget(built_model(), x, y, batch_size=16, num_steps=30)
    assert old.runner.running

    cell["now"] = ("cell-a", "run-3")  # the first cell run again
    new = LRFinderWidget(built_model(), x, y, batch_size=16, num_steps=30)
    assert not old.runner.running
    assert "stopped the sweep of the finder this cell made before" in new.chart.status_text
    old.wait(60)
    assert old.result.stop_reason == "stopped" and "replaced this one" in old.chart.status_text
    assert_same_state(before, state(old_model))


def test_closing_a_finder_stops_its_sweep(comms, data):
    x, y = data
    model = built_model()
    before = state(model)
    slow = Slow()
    finder = LRFinderWidget(model, x, y, batch_size=16, num_steps=5000, callbacks=[slow])
    finder.run()
    assert slow.reached.wait(60)
    finder.close()
    assert finder.runner.join(60)
    assert finder.runner.result.stop_reason == "stopped" and len(finder.runner.result) < 5000
    assert_same_state(before, state(model))


@pytest.fixture
def kernel_loop(monkeypatch):
    """A stand-in for the kernel's event loop that never runs anything by itself: work handed
    to the kernel's thread waits until the main thread polls (here: ``finder.wait``)."""
    handed = []

    class Loop:
        def add_callback(self, fn):
            handed.append(fn)

    monkeypatch.setattr(notebook, "_kernel_loop", lambda: Loop())
    return handed


def test_only_the_kernels_thread_writes_what_the_front_end_writes(comms, data, kernel_loop):
    x, y = data
    hold = Hold(batch=20)
    finder = LRFinderWidget(built_model(), x, y, batch_size=16, num_steps=200, callbacks=[hold])
    chart = finder.chart
    writers: dict[str, set] = {}

    def record(name):
        def on_change(change):
            writers.setdefault(name, set()).add(threading.current_thread().name)

        return on_change

    watched = {
        "dropdown": chart.controls.candidate_menu,
        "slider": chart.controls.slider,
        "handle": chart.marks.handle,
        "rule": chart.marks.rule,
        "catcher": chart.marks.click_area,
        "x_scale": chart.x_scale,
        "y_scale": chart.y_scale,
    }
    for name, w in watched.items():
        w.observe(record(name), All)
    chart.observe(record("selected_lr"), "selected_lr")

    finder.run()
    assert hold.reached.wait(60)
    # Mid-sweep, with live redraws queued for the kernel's thread, the user edits the slider.
    lrs = finder.result.lrs
    edits = [float(lrs[5]), float(lrs[12]), float(lrs[17])]
    for lr in edits:
        chart.controls.slider.set_state({"value": lr})  # what the front end sends
        finder.wait(0.01)  # the kernel's thread catches up with the sweep's redraws
    hold.release.set()
    finder.wait()

    main = threading.main_thread().name
    assert writers and all(names == {main} for names in writers.values()), writers
    assert kernel_loop, "the sweep thread handed its redraws over"
    # The user's last edit is the selection, and every control shows it.
    assert finder.selected_lr == pytest.approx(edits[-1])
    lr = finder.selected_lr
    assert chart.controls.slider.value == pytest.approx(lr)
    assert list(chart.marks.rule.x) == [lr, lr] and list(chart.marks.handle.x) == [lr]


def test_stop_pressed_the_moment_a_sweep_counts_as_running_stops_that_sweep(comms, data):
    x, y = data
    finder = LRFinderWidget(built_model(), x, y, batch_size=16, num_steps=200, end_lr=1e-2)
    stop_now = lambda change: change["new"] and finder.stop()  # noqa: E731
    finder.observe(stop_now, "running")
    result = finder.run(block=True)
    assert result.stop_reason == "stopped" and len(result) == 1
    # That Stop was that sweep's: the next one (after a Stop while idle, too) runs its plan.
    finder.unobserve(stop_now, "running")
    finder.stop()
    again = finder.run(block=True)
    assert again.stop_reason == "completed" and len(again) == 200


def test_result_during_a_sweep_is_never_the_previous_sweeps(comms, data):
    x, y = data
    finder = LRFinderWidget(built_model(), x, y, batch_size=16, num_steps=20)
    previous = finder.run(block=True)
    seen = []
    finder.observe(lambda change: change["new"] and seen.append(finder.result), "running")
    finder.run(block=True)
    (during,) = seen
    assert during is not previous and during.stop_reason == "running"


def test_a_results_derived_values_cannot_be_changed_by_whoever_reads_them():
    lrs = np.geomspace(1e-5, 1, 200)
    losses = 2 - np.exp(-(((np.log10(lrs) + 2) / 0.7) ** 2)) + np.where(lrs > 0.3, 50.0, 0.0)
    r = SweepResult(lrs=lrs, losses=losses)
    with pytest.raises(ValueError, match="read-only"):
        r.smoothed[0] = 0.0
    cands = r.candidates
    assert cands
    cands.clear()
    assert r.candidates, "the result's own candidates are untouched"
