"""The busy cell's queue reader reaches into ipykernel's private attributes: it is used only on
a kernel that has every one of them, and any other kernel falls back to the slower path, with a
warning that says what it cannot do. (Real ipykernel 6 and 7 kernels: tests/test_notebook.py.)"""

from __future__ import annotations

import functools
import threading
from types import SimpleNamespace

import numpy as np
import pytest

from lrwidget import notebook
from lrwidget.result import AnalysisSettings, SweepResult
from lrwidget.runner import SweepRunner


def handler(*args):
    return None


def ipykernel7():
    """What the reader touches on ipykernel 7: the inproc socket the shell channel thread
    forwards to, shell_main, the shell stream, the session and the comm handlers."""
    socket = SimpleNamespace(recv_multipart=handler)
    manager = SimpleNamespace(_shell_channel_to_main=SimpleNamespace(to_socket=socket))
    return SimpleNamespace(
        shell_channel_thread=SimpleNamespace(manager=manager),
        shell_main=handler,
        shell_stream=SimpleNamespace(socket=socket),
        session=SimpleNamespace(feed_identities=handler, deserialize=handler),
        shell_handlers={kind: handler for kind in notebook.WIDGET_MESSAGES},
    )


def ipykernel6():
    """The same on ipykernel 6: the shell socket itself, schedule_dispatch and dispatch_shell."""
    return SimpleNamespace(
        schedule_dispatch=handler,
        dispatch_shell=handler,
        shell_stream=SimpleNamespace(socket=SimpleNamespace(recv_multipart=handler)),
        session=SimpleNamespace(feed_identities=handler, deserialize=handler),
        shell_handlers={kind: handler for kind in notebook.WIDGET_MESSAGES},
    )


KERNELS = {"ipykernel 7": ipykernel7, "ipykernel 6": ipykernel6}
TOUCHED = {
    "ipykernel 7": [
        "shell_channel_thread.manager",
        "shell_channel_thread.manager._shell_channel_to_main",
        "shell_channel_thread.manager._shell_channel_to_main.to_socket",
        "shell_channel_thread.manager._shell_channel_to_main.to_socket.recv_multipart",
        "shell_main",
        "shell_stream",
        "session.feed_identities",
        "session.deserialize",
        "shell_handlers",
        "shell_handlers[comm_msg]",
    ],
    "ipykernel 6": [
        "schedule_dispatch",
        "dispatch_shell",
        "shell_stream",
        "shell_stream.socket",
        "shell_stream.socket.recv_multipart",
        "session",
        "shell_handlers[comm_open]",
        "shell_handlers[comm_close]",
    ],
}


def without(kernel, path: str):
    """``kernel`` with the attribute (or handler) at ``path`` removed."""
    *parents, last = path.split(".")
    owner = functools.reduce(getattr, parents, kernel)
    if last.endswith("]"):
        name, key = last[:-1].split("[")
        del getattr(owner, name)[key]
    else:
        delattr(owner, last)
    return kernel


@pytest.mark.parametrize("version", sorted(KERNELS))
def test_a_kernel_with_every_attribute_is_read(version):
    kernel = KERNELS[version]()
    assert notebook._ShellQueue.supports(kernel)
    queue = notebook._ShellQueue(kernel)
    assert queue.socket is not None


@pytest.mark.parametrize("version, path", [(v, p) for v in sorted(TOUCHED) for p in TOUCHED[v]])
def test_a_kernel_missing_any_attribute_the_reader_touches_is_not_read(version, path):
    kernel = without(KERNELS[version](), path)
    assert not notebook._ShellQueue.supports(kernel)
    with pytest.raises(ValueError, match="cannot read"):
        notebook._ShellQueue(kernel)


def test_a_sweep_in_the_cell_of_an_unknown_kernel_runs_warns_and_still_stops(monkeypatch):
    kernel = without(ipykernel7(), "shell_channel_thread.manager._shell_channel_to_main")
    monkeypatch.setattr(notebook, "_kernel", lambda: kernel)
    lrs, stop_at = np.geomspace(1e-4, 1.0, 200), 20

    def sweep(on_start, on_point, stop_event):
        on_start(lrs, AnalysisSettings())
        for step, lr in enumerate(lrs):
            on_point(step, float(lr), 1.0)
            if step == stop_at:  # Stop from another thread: finder.stop(), say
                stopper = threading.Thread(target=runner.stop)
                stopper.start()
                stopper.join()
            if stop_event.is_set():
                return SweepResult(
                    lrs=lrs[: step + 1], losses=np.ones(step + 1), stop_reason="stopped"
                )
        return SweepResult(lrs=lrs, losses=np.ones(len(lrs)))

    ended = []
    runner = SweepRunner(
        sweep, on_start=handler, on_update=handler, on_end=lambda r, e: ended.append((r, e))
    )
    with pytest.warns(RuntimeWarning, match="cannot read this kernel's shell queue"):
        result = runner.start(background=False)
    assert result.stop_reason == "stopped" and len(result) == stop_at + 1
    assert ended == [(result, None)] and not runner.running
