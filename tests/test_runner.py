"""How the runner paces the live view: no widgets and no Keras, a sweep that is a plain loop."""

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


def loop_sweep(seconds):
    """A sweep of steps of about ``STEP_SECONDS`` that runs for at least ``seconds``."""

    def sweep(on_start, on_point, stop_event):
        n = int(seconds / STEP_SECONDS) + 1
        lrs = np.geomspace(1e-5, 1.0, n)
        on_start(lrs, AnalysisSettings())
        started, losses = time.perf_counter(), []
        for step in range(n):
            time.sleep(STEP_SECONDS)
            losses.append(1.0)
            on_point(step, float(lrs[step]), 1.0)
            if time.perf_counter() - started >= seconds:
                break
        return SweepResult(lrs=lrs[: len(losses)], losses=losses, stop_reason="completed")

    return sweep


def run_timing_updates(sweep, update_seconds):
    """Run ``sweep`` with live updates that each take ``update_seconds``; (elapsed, costs)."""
    costs = []

    def update(live):
        began = time.perf_counter()
        time.sleep(update_seconds)
        costs.append(time.perf_counter() - began)

    runner = SweepRunner(sweep, on_start=update, on_update=update, on_end=lambda *_: None)
    started = time.perf_counter()
    runner.start(background=True, block=True)
    return time.perf_counter() - started, costs


def test_slow_live_updates_are_spaced_to_take_at_most_their_share_of_the_sweep():
    # 5 ms an update would be 5 % of the sweep at ten a second.
    elapsed, costs = run_timing_updates(loop_sweep(2.0), update_seconds=0.005)
    assert len(costs) >= 3
    # Each update waits cost / share from its start before the next may start; only the last
    # one's wait can reach past the end of the sweep.
    assert sum(costs) - costs[-1] <= runner_module.UPDATE_SHARE * elapsed
    assert len(costs) < elapsed / runner_module.UPDATE_INTERVAL / 3


def test_cheap_live_updates_still_come_about_ten_a_second():
    elapsed, costs = run_timing_updates(loop_sweep(1.0), update_seconds=0.0)
    assert elapsed / (2 * runner_module.UPDATE_INTERVAL) - 1 <= len(costs)
    assert len(costs) <= elapsed / runner_module.UPDATE_INTERVAL + 2


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
