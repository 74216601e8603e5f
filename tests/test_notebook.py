"""Where notebooks run: Colab's display, and a sweep in the cell's own thread that still draws
live and answers the front end (Stop, picks, Jupyter's interrupt).

The last tests start a real IPython kernel and talk to it as a front end does: widget messages
on the shell channel while a cell is busy, and an interrupt."""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
import types
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import assert_same_state, make_model, state

from lrwidget import notebook
from lrwidget import runner as runner_module
from lrwidget.chart import LRChart
from lrwidget.notebook import WIDGET_VIEW
from lrwidget.widget import LRFinderWidget

MANAGER_URL = "https://colab.example/custom-widget-manager.js"


@pytest.fixture
def colab(monkeypatch):
    """A stand-in ``google.colab`` that records each request to enable the widget manager."""
    monkeypatch.setattr(notebook, "_colab_url", None)  # a fresh process, as far as we know
    calls = []
    output = types.SimpleNamespace(_widgets=types.SimpleNamespace(_installed_url=None))

    def enable():
        calls.append("enable_custom_widget_manager")
        output._widgets._installed_url = MANAGER_URL

    output.enable_custom_widget_manager = enable
    package = types.ModuleType("google.colab")
    package.output = output
    monkeypatch.setitem(sys.modules, "google.colab", package)
    return types.SimpleNamespace(calls=calls, output=output)


def test_outside_colab_the_bundle_names_the_widget_and_carries_no_metadata(comms, monkeypatch):
    monkeypatch.setattr(notebook, "_colab_url", None)
    chart = LRChart()
    data, metadata = chart._repr_mimebundle_()
    assert data[WIDGET_VIEW] == {"version_major": 2, "version_minor": 0, "model_id": chart.model_id}
    assert data["text/plain"].startswith("LRChart(") and metadata == {}


def test_in_colab_the_bundle_carries_the_custom_widget_manager_enabled_once(comms, colab):
    first, second = LRChart(), LRChart()
    bundles = [first._repr_mimebundle_(), second._repr_mimebundle_(), first._repr_mimebundle_()]
    expected = {WIDGET_VIEW: {"colab": {"custom_widget_manager": {"url": MANAGER_URL}}}}
    assert [metadata for _, metadata in bundles] == [expected] * 3
    assert colab.calls == ["enable_custom_widget_manager"]  # once per process


def test_displaying_goes_through_the_same_bundle_on_every_ipywidgets(comms, colab, monkeypatch):
    shown = []
    monkeypatch.setattr(
        "IPython.display.display", lambda *a, **kw: shown.append((a, kw)), raising=True
    )
    chart = LRChart()
    chart._ipython_display_()  # what IPython calls first where ipywidgets 7 defines it
    ((args, kwargs),) = shown
    assert args[0][WIDGET_VIEW]["model_id"] == chart.model_id and kwargs["raw"] is True
    assert kwargs["metadata"][WIDGET_VIEW]["colab"]["custom_widget_manager"]["url"] == MANAGER_URL


def test_a_colab_that_changed_its_api_still_displays_the_widget(comms, colab):
    def broken():
        raise RuntimeError("colab changed")

    colab.output.enable_custom_widget_manager = broken
    data, metadata = LRChart()._repr_mimebundle_()  # never raises
    assert WIDGET_VIEW in data and metadata == {}


# --- sweeps in the cell's thread, with the front end stood in for ------------------------------


@pytest.fixture
def digits_small(digits):
    x, y = digits
    return x[:512], y[:512]


@contextmanager
def front_end_that(act):
    """Replaces the kernel's message queue: each poll the widget makes calls ``act(n)``."""
    polls = []

    @contextmanager
    def answering():
        def poll():
            polls.append(threading.current_thread())
            act(len(polls))

        yield poll

    saved = runner_module.answering_front_end
    runner_module.answering_front_end = answering
    try:
        yield polls
    finally:
        runner_module.answering_front_end = saved


def built_model():
    """A model whose optimizer state exists already, so that all of it can be compared."""
    model = make_model()
    model.optimizer.build(model.trainable_variables)
    return model


def click(button):
    """A click as the browser sends it."""
    msg = {"method": "custom", "content": {"event": "click"}}
    button._handle_msg({"content": {"data": msg}, "buffers": []})


def test_a_sweep_in_the_cells_thread_draws_live_and_returns_its_result(comms, digits_small):
    x, y = digits_small
    finder = LRFinderWidget(make_model(), x, y, batch_size=16, num_steps=300, end_lr=1e-2)
    with front_end_that(lambda n: None) as polls:
        result = finder.run(background=False)
    assert result is finder.result and len(result) == 300 and not finder.running
    assert polls and set(polls) == {threading.main_thread()}  # answered from this thread
    raw_line = finder.chart.marks.raw[0]
    assert len(updates(raw_line, "y")) >= 2  # drawn while it ran, not only at the end


def updates(widget, key):
    return [d for d, _ in widget.comm.sent if key in d.get("state", {})]


def test_stop_and_a_pick_during_a_cell_thread_sweep_are_answered(comms, digits_small):
    x, y = digits_small
    model = built_model()
    before = state(model)
    finder = LRFinderWidget(model, x, y, batch_size=16, num_steps=2000, end_lr=1e-2)

    picked = []

    def act(n):
        if n == 2:  # what a pick on the chart ends in: an LR swept so far
            picked.append(float(finder.result.lrs[-1]))
            finder.pick(picked[0], snap=False)
        if n == 3:
            click(finder.stop_button)

    with front_end_that(act):
        result = finder.run(background=False)
    assert result.stop_reason == "stopped" and len(result) < 2000
    assert finder.selected_lr == picked[0]  # the pick survives the sweep's end
    assert_same_state(before, state(model))


def test_waiting_for_a_background_sweep_in_a_cell_answers_stop(comms, digits_small):
    x, y = digits_small
    finder = LRFinderWidget(make_model(), x, y, batch_size=16, num_steps=5000, end_lr=1e-2)
    with front_end_that(lambda n: n == 3 and click(finder.stop_button)) as polls:
        result = finder.run(block=True, background=True)
    assert result.stop_reason == "stopped" and len(result) < 5000
    assert set(polls) == {threading.main_thread()}  # the waiting cell, not the sweep thread


def test_an_interrupt_in_the_cells_thread_restores_the_model_and_frees_the_widget(
    comms, digits_small
):
    import keras

    class Interrupt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 5:
                raise KeyboardInterrupt

    x, y = digits_small
    model = built_model()
    before = state(model)
    finder = LRFinderWidget(model, x, y, batch_size=16, num_steps=200, callbacks=[Interrupt()])
    with pytest.raises(KeyboardInterrupt):
        finder.run(background=False)
    assert_same_state(before, state(model))
    assert not finder.running and not finder.run_button.disabled and finder.stop_button.disabled


def test_in_colab_run_sweeps_in_the_cells_thread_and_the_button_in_a_thread(
    comms, colab, digits_small
):
    x, y = digits_small
    finder = LRFinderWidget(make_model(), x, y, batch_size=16, num_steps=40, end_lr=1e-2)
    seen = []
    with front_end_that(lambda n: seen.append(n)):
        result = finder.run()  # Colab's default: this cell's thread, result returned
    assert result.stop_reason == "completed" and len(result) == 40 and seen
    click(finder.run_button)  # a click is handled between cells: a thread
    assert finder.runner.background
    finder.wait()
    assert finder.result is not result and not finder.running


# --- a real kernel, driven as a front end drives it --------------------------------------------

# The real-kernel sweeps end by a Stop or an interrupt, never by running out: on two busy cores
# a live update can take tens of ms, and the runner then spaces them seconds apart (its
# UPDATE_SHARE), so a short plan could end before the test has seen its three redraws.
STEPS = 40_000

SETUP = """
import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
sys.path.insert(0, {tests!r})
from conftest import make_model, state
import numpy as np
from sklearn.datasets import load_digits
import lrwidget
x, y = load_digits(return_X_y=True)
x = (x / 16.0).astype("float32")
model = make_model()
model.optimizer.build(model.trainable_variables)
before = state(model)
def same():
    after = state(model)
    return all(np.array_equal(before[k], after[k]) for k in before)
finder = lrwidget.LRFinderWidget(model, x, y, batch_size=16, num_steps={steps}, end_lr=1e-2)
print(finder.stop_button.model_id, finder.progress.model_id)
"""


class Kernel:
    """A real IPython kernel and a client that reads its messages as a front end would."""

    def __init__(self):
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3")
        self.iopub: queue.Queue = queue.Queue()

    def execute(self, code: str) -> str:
        return self.client.execute(code)

    def messages(self, timeout: float):
        """iopub messages until ``timeout`` seconds pass without one."""
        while True:
            try:
                yield self.client.get_iopub_msg(timeout=timeout)
            except queue.Empty:
                return

    def _next(self, get, deadline: float, what: str) -> dict:
        """The next message from ``get`` (the client's iopub or shell reader) before
        ``deadline``; at the deadline, an AssertionError saying what was awaited."""
        left = deadline - time.monotonic()
        try:
            if left <= 0:
                raise queue.Empty
            return get(timeout=left)
        except queue.Empty:
            raise AssertionError(f"timed out waiting for {what}") from None

    def run(self, code: str, timeout: float = 120) -> str:
        """Execute ``code``, wait for it, and return what it printed (raises on an error)."""
        msg_id = self.execute(code)
        out = []
        deadline = time.monotonic() + timeout
        what = f"the cell {code!r} to end ({timeout:.0f} s)"
        while True:
            msg = self._next(self.client.get_iopub_msg, deadline, what)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind == "error":
                raise AssertionError(f"{content['ename']}: {content['evalue']}")
            elif kind == "status" and content["execution_state"] == "idle":
                return "".join(out)

    def click(self, model_id: str):
        data = {"method": "custom", "content": {"event": "click"}}
        msg = self.client.session.msg("comm_msg", {"comm_id": model_id, "data": data})
        self.client.shell_channel.send(msg)

    def wait_for_progress(self, msg_id: str, count: int, timeout: float = 120) -> int:
        """Wait until the cell ``msg_id`` has sent ``count`` updates of the progress bar, each
        a live redraw (about ten a second); returns how many it saw. Fails, saying so, when
        the cell ends first (e.g. a sweep stopped after its first step) or at the timeout."""
        seen = 0
        deadline = time.monotonic() + timeout
        while seen < count:
            what = f"{count} live updates of the progress bar from the running cell (saw {seen})"
            msg = self._next(self.client.get_iopub_msg, deadline, f"{what}, {timeout:.0f} s")
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            content = msg["content"]
            if msg["msg_type"] == "status" and content["execution_state"] == "idle":
                raise AssertionError(f"the cell ended before sending {what}")
            if msg["msg_type"] == "error":
                raise AssertionError(f"the cell failed ({content['ename']}) before {what}")
            seen += (
                msg["msg_type"] == "comm_msg"
                and content.get("comm_id") == self.progress_id
                and "value" in content["data"].get("state", {})
            )
        return seen

    def reply(self, msg_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        what = f"the reply to request {msg_id} ({timeout:.0f} s)"
        while True:
            msg = self._next(self.client.get_shell_msg, deadline, what)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel():
    k = Kernel()
    setup = SETUP.format(tests=str(Path(__file__).parent), steps=STEPS)
    k.stop_id, k.progress_id = k.run(setup).split()[-2:]
    yield k
    k.close()


def test_in_a_real_kernel_a_busy_cell_draws_live_and_a_stop_click_ends_the_sweep(kernel):
    cell = kernel.execute("result = finder.run(background=False)")
    # Updates sent while the cell runs carry the cell as their parent: Colab draws those.
    assert kernel.wait_for_progress(cell, 3) == 3
    queued = kernel.execute("ran_after = (finder.running, len(finder.result))")
    kernel.click(kernel.stop_id)
    reply = kernel.reply(cell)
    assert reply["status"] == "ok"
    assert kernel.reply(queued)["status"] == "ok"  # a cell queued meanwhile runs afterwards
    out = kernel.run("print(json.dumps([result.stop_reason, len(result), same(), ran_after]))")
    reason, steps, restored, (running_then, steps_then) = json.loads(out)
    assert reason == "stopped" and steps < STEPS and restored
    assert running_then is False and steps_then == steps


def test_in_a_real_kernel_waiting_on_a_background_sweep_answers_stop(kernel):
    cell = kernel.execute("result = finder.run(block=True, background=True)")
    assert kernel.wait_for_progress(cell, 3) == 3  # the cell waits, the sweep draws
    kernel.click(kernel.stop_id)
    assert kernel.reply(cell)["status"] == "ok"
    out = kernel.run("print(json.dumps([result.stop_reason, len(result), same()]))")
    reason, steps, restored = json.loads(out)
    assert reason == "stopped" and steps < STEPS and restored


def test_in_a_real_kernel_the_interrupt_button_stops_a_cell_sweep_and_restores(kernel):
    # stop_on_error=False: ipykernel 6 would otherwise drop the requests queued after it.
    cell = kernel.client.execute("finder.run(background=False)", stop_on_error=False)
    assert kernel.wait_for_progress(cell, 3) == 3
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(cell)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    out = kernel.run("print(json.dumps([finder.running, same(), finder.run_button.disabled]))")
    assert json.loads(out) == [False, True, False]


def test_in_a_real_kernel_the_interrupt_button_stops_the_sweep_a_blocking_run_waits_for(kernel):
    cell = kernel.client.execute("finder.run(block=True, background=True)", stop_on_error=False)
    assert kernel.wait_for_progress(cell, 3) == 3  # the cell waits, the sweep draws
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(cell)
    assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
    # The sweep ended with the cell: nothing runs on, the model is back, the curve is kept.
    out = kernel.run(
        "import time\nsteps = len(finder.result)\ntime.sleep(1.0)\n"
        "print(json.dumps([finder.running, same(), steps, len(finder.result), "
        "finder.result.stop_reason, bool(finder.result.meta.get('interrupted')), "
        "finder.progress_text.value]))"
    )
    running, restored, steps, steps_later, reason, interrupted, progress = json.loads(out)
    assert running is False and restored
    assert 0 < steps == steps_later < STEPS
    assert reason == "stopped" and interrupted and progress.endswith("· interrupted")


def test_outside_a_kernels_cell_thread_polling_does_nothing():
    # Scripts and background threads have no kernel queue to poll (this test has no kernel).
    seen = []
    worker = threading.Thread(target=lambda: seen.append(notebook.in_kernel_thread()))
    worker.start()
    worker.join()
    assert seen == [False] and not notebook.in_kernel_thread()
    with notebook.answering_front_end() as poll:
        assert poll() is None


def test_in_a_real_kernel_a_drawn_sweep_redraws_the_picture_a_saved_notebook_keeps(kernel):
    def updates_of(cell):
        found = []
        for msg in kernel.messages(timeout=20):
            if msg["parent_header"].get("msg_id") != cell:
                continue
            if msg["msg_type"] == "update_display_data":
                found.append(msg["content"]["data"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return found
        return found

    kernel.run("from IPython.display import display\ndisplay(finder)")
    # A sweep of this test's own (on a model of its own), drawn in the finder.
    kernel.run(
        "drawn_sweep = lrwidget.find_lr(make_model(), x[:256], y[:256], batch_size=16, "
        "num_steps=20, end_lr=1e-2)"
    )
    drawn = updates_of(kernel.execute("finder.chart.set_results([drawn_sweep])"))
    assert drawn and "image/png" in drawn[-1] and WIDGET_VIEW in drawn[-1]
    # A pick does not rebuild the output (JupyterLab would rebuild the widget's views)...
    pick = "finder.pick(float(drawn_sweep.lrs[len(drawn_sweep) // 2]))"
    assert updates_of(kernel.execute(pick)) == []
    # ... Save image does, so the notebook keeps what was saved.
    kernel.run("import os, tempfile\nos.chdir(tempfile.mkdtemp())")  # where the file goes
    saved = updates_of(kernel.execute("finder.chart.controls.save_button.click()"))
    assert saved and "image/png" in saved[-1]
