"""The runner with no widgets and no Keras (a sweep that is a plain loop): how it paces the live
view, on a clock of the test's own, and that a Stop ends its own sweep only."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import pytest

from lrwidget import runner as runner_module
from lrwidget.result import AnalysisSettings, SweepResult
from lrwidget.runner import SweepRunner

STEP_SECONDS = 0.001


class FakeClock:
    """The runner's ``time`` module with a ``perf_counter`` that moves only when told: the
    sweep's steps and the view's updates take exactly as long as the test says, on any
    machine, however busy."""

    def __init__(self):
        self.now = 1000.0
        self.monotonic, self.sleep = time.monotonic, time.sleep

    def perf_counter(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(runner_module, "time", fake)
    return fake


def run_with_updates(clock, seconds, update_seconds):
    """A sweep of ``seconds`` in steps of ``STEP_SECONDS`` whose live updates each take
    ``update_seconds``, in the cell's thread; returns (sweep seconds, [(start, cost)])."""
    n = round(seconds / STEP_SECONDS)

    def sweep(on_start, on_point, stop_event):
        lrs = np.geomspace(1e-5, 1.0, n)
        on_start(lrs, AnalysisSettings())
        for step in range(n):
            clock.advance(STEP_SECONDS)
            on_point(step, float(lrs[step]), 1.0)
        return SweepResult(lrs=lrs, losses=np.ones(n), stop_reason="completed")

    updates = []

    def update(live):
        updates.append((clock.now, update_seconds))
        clock.advance(update_seconds)

    runner = SweepRunner(sweep, on_start=update, on_update=update, on_end=lambda *_: None)
    began = clock.now
    result = runner.start(background=False)
    assert len(result) == n
    return clock.now - began, updates


def test_slow_live_updates_are_spaced_to_take_at_most_their_share_of_the_sweep(clock):
    # 5 ms an update would be 5 % of the sweep at ten a second.
    cost = 0.005
    elapsed, updates = run_with_updates(clock, 3.0, update_seconds=cost)
    starts = [t for t, _ in updates]
    gaps = np.diff(starts)
    # From one start to the next: cost / share (0.5 s), reached at the first step after it.
    wait = cost / runner_module.UPDATE_SHARE
    # At 0, 0.5, ... 3.0 s: the sweep's 3 s of steps plus the updates' own 30 ms.
    assert len(updates) == 7
    assert all(wait <= g < wait + STEP_SECONDS + 1e-9 for g in gaps), gaps
    # Only the last one's wait can reach past the end of the sweep.
    assert cost * (len(updates) - 1) <= runner_module.UPDATE_SHARE * elapsed


def test_cheap_live_updates_still_come_about_ten_a_second(clock):
    elapsed, updates = run_with_updates(clock, 1.0, update_seconds=0.0)
    gaps = np.diff([t for t, _ in updates])
    interval = runner_module.UPDATE_INTERVAL
    assert all(interval <= g < interval + STEP_SECONDS + 1e-9 for g in gaps), gaps
    assert len(updates) == 10  # at 0, 0.1, ..., 0.9 s


def test_background_sweeps_of_a_runner_share_one_thread_which_ends_with_the_runner():
    threads = []

    def sweep(on_start, on_point, stop_event):
        threads.append(threading.current_thread())
        return SweepResult(lrs=[1e-3], losses=[1.0], stop_reason="completed")

    runner = SweepRunner(sweep, on_start=print, on_update=print, on_end=lambda *_: None)
    for _ in range(3):
        runner.start(background=True, block=True)
    assert len(threads) == 3 and len(set(threads)) == 1
    assert threads[0] is not threading.main_thread() and threads[0].daemon
    runner.start(background=False)  # the cell's own thread
    assert threads[-1] is threading.main_thread() and not runner.background

    del runner
    gc.collect()
    threads[0].join(10)
    assert not threads[0].is_alive()


def stoppable_sweep(steps=20, stop_at=None):
    """A sweep of ``steps`` steps that honours ``stop_event`` after each one as ``find_lr``
    does; ``stop_at(step)`` runs after each step (a Stop pressed during the sweep)."""

    def sweep(on_start, on_point, stop_event):
        lrs = np.geomspace(1e-5, 1.0, steps)
        on_start(lrs, AnalysisSettings())
        n, reason = 0, "completed"
        for step in range(steps):
            on_point(step, float(lrs[step]), 1.0)
            n = step + 1
            if stop_at is not None:
                stop_at(step)
            if stop_event.is_set():
                reason = "stopped"
                break
        return SweepResult(lrs=lrs[:n], losses=np.ones(n), stop_reason=reason)

    return sweep


def quiet_runner(sweep):
    return SweepRunner(
        sweep, on_start=lambda live: None, on_update=lambda live: None, on_end=lambda *_: None
    )


@pytest.mark.parametrize("background", [False, True], ids=["cell_thread", "background"])
def test_a_stop_ends_only_its_own_sweep_and_the_next_run_completes(background):
    holder = {}
    runner = quiet_runner(stoppable_sweep(stop_at=lambda step: step == 4 and holder["r"].stop()))
    holder["r"] = runner
    first = runner.start(background=background, block=True)
    assert first.stop_reason == "stopped" and len(first) == 5

    runner.sweep = stoppable_sweep()  # no Stop this time
    second = runner.start(background=background, block=True)
    assert second.stop_reason == "completed" and len(second) == 20
    assert runner.result is second and not runner.running


@pytest.mark.parametrize("background", [False, True], ids=["cell_thread", "background"])
def test_stop_while_idle_does_not_stop_the_next_run(background):
    runner = quiet_runner(stoppable_sweep())
    runner.stop()  # before any sweep
    first = runner.start(background=background, block=True)
    assert first.stop_reason == "completed" and len(first) == 20
    runner.stop()  # between two sweeps
    runner.stop()
    second = runner.start(background=background, block=True)
    assert second.stop_reason == "completed" and len(second) == 20


def test_an_interrupt_keeps_the_points_so_far_as_a_stopped_result_and_goes_on_to_the_cell():
    ended = []

    def stop_at(step):
        if step == 6:
            raise KeyboardInterrupt  # Jupyter's interrupt button, in the cell's thread

    runner = SweepRunner(
        stoppable_sweep(stop_at=stop_at),
        on_start=lambda live: None,
        on_update=lambda live: None,
        on_end=lambda result, error: ended.append((result, error)),
    )
    with pytest.raises(KeyboardInterrupt):
        runner.start(background=False)
    ((result, error),) = ended
    assert error is None and runner.error is None and not runner.running
    assert result is runner.result and result.stop_reason == "stopped" and len(result) == 7
    assert result.meta["interrupted"] and result.meta["num_steps"] == 20


def test_a_running_sweep_is_found_by_its_key_and_a_stop_with_a_note_says_why():
    reached, release = threading.Event(), threading.Event()

    def hold(step):
        if step == 2:
            reached.set()
            assert release.wait(10)

    runner = SweepRunner(
        stoppable_sweep(stop_at=hold),
        on_start=lambda live: None,
        on_update=lambda live: None,
        on_end=lambda *_: None,
        key="model-1",
    )
    assert runner_module.running_on("model-1") is None
    runner.start(background=True)
    assert reached.wait(10)
    assert runner_module.running_on("model-1") is runner and runner_module.running_on("x") is None
    runner.stop(note="replaced")
    assert runner.stopping and not runner.join(0.05)  # still in its step
    release.set()
    assert runner.join(10) and runner_module.running_on("model-1") is None
    assert runner.result.stop_reason == "stopped" and runner.stop_note == "replaced"
    runner.start(background=True, block=True)
    assert runner.stop_note is None  # said once, for the sweep it stopped


def test_a_second_runner_on_the_same_key_never_hides_the_one_that_runs():
    reached, release = threading.Event(), threading.Event()

    def hold(step):
        if step == 2:
            reached.set()
            assert release.wait(10)

    first = SweepRunner(
        stoppable_sweep(stop_at=hold),
        on_start=lambda live: None,
        on_update=lambda live: None,
        on_end=lambda *_: None,
        key="model-2",
    )
    first.start(background=True)
    assert reached.wait(10)
    try:
        second = SweepRunner(
            stoppable_sweep(steps=3),
            on_start=lambda live: None,
            on_update=lambda live: None,
            on_end=lambda *_: None,
            key="model-2",
        )
        second.start(background=False)  # e.g. refused by the model's own claim, or done
        assert runner_module.running_on("model-2") is first
    finally:
        release.set()
    assert first.join(10) and runner_module.running_on("model-2") is None
