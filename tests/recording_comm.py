"""A stand-in for the kernel's comms that records what widgets send, on ipywidgets 7 and 8.

The one place the tests (and ``benchmarks/widget_speed.py``) depend on how ipywidgets opens a
widget's comm:

* ipywidgets 7 (and 8.0.0 - 8.0.4) calls ``ipykernel.comm.Comm(...)`` in ``Widget.open``; its
  ``Widget.comm`` trait takes only instances of that class, and it sends only through a comm
  whose ``kernel`` is set;
* ipywidgets 8.0.5+ calls ``comm.create_comm(...)``; 8.1 goes through its own shim,
  ``ipywidgets.comm.create_comm``, which falls back to ipykernel's Comm before ipykernel 6.18.

The messages (``update`` with ``buffer_paths`` and binary buffers, ``custom``) and
``Widget._handle_msg`` are the same in both, and so is bqplot's array serialization (0.12, 0.13).
"""

from __future__ import annotations

import uuid

import ipywidgets
from ipywidgets.widgets import widget as widget_module
from traitlets import Instance

if isinstance(ipywidgets.Widget.class_traits()["comm"], Instance):
    from ipykernel.comm import Comm as _Base  # ipywidgets 7: Widget.comm is typed
else:
    _Base = object


class RecordingComm(_Base):
    """Stands in for a kernel comm: records every message sent to the front end as
    ``(data, buffer sizes in bytes)``; opens, receives and closes nothing."""

    kernel = True  # ipywidgets 7 sends only through a comm that has a kernel

    def __init__(self, *args, **kwargs):  # no super(): ipykernel's Comm would publish an open
        self.comm_id = uuid.uuid4().hex
        self.sent: list[tuple[dict, list[int]]] = []

    def send(self, data=None, metadata=None, buffers=None):
        sizes = [memoryview(b).nbytes for b in buffers or []]
        self.sent.append((data, sizes))

    def on_msg(self, callback):
        pass

    def on_close(self, callback):
        self.close_callback = callback  # a test closes it as the browser does: close_callback(msg)

    def close(self, *args, **kwargs):
        pass


def _factories() -> list[tuple[object, str]]:
    """Where this ipywidgets looks up the function that opens a widget's comm."""
    found = []
    if hasattr(widget_module, "Comm"):  # ipywidgets 7, 8.0.0 - 8.0.4: Comm(...)
        found.append((widget_module, "Comm"))
    shim = getattr(widget_module, "comm", None)  # ipywidgets 8.1: ipywidgets.comm.create_comm
    if shim is not None and hasattr(shim, "create_comm"):
        found.append((shim, "create_comm"))
    try:
        import comm  # ipywidgets 8.0.5+: from comm import create_comm (absent with ipywidgets 7)
    except ImportError:
        pass
    else:
        found.append((comm, "create_comm"))
    return found


def record_comms(setattr=setattr) -> dict[str, RecordingComm]:
    """From now on every new widget gets a :class:`RecordingComm`; returns the live
    ``{comm_id: comm}`` of those made. Pass ``monkeypatch.setattr`` to undo it after a test."""
    made: dict[str, RecordingComm] = {}

    def create_comm(*args, **kwargs):
        c = RecordingComm(*args, **kwargs)
        made[c.comm_id] = c
        return c

    for module, name in _factories():
        setattr(module, name, create_comm)
    return made
