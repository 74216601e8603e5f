"""Where the widget runs: Colab's widget manager, display on ipywidgets 7 and 8, and answering
the front end while a cell is busy.

No Keras and no bqplot here; :mod:`lrwidget.chart` and :mod:`lrwidget.widget` use it.

* **Colab** draws a third-party widget only through its custom widget manager: it must be
  enabled (once per process) and the display message must name it in its metadata.
* **ipywidgets 7** (what Colab ships) displays through ``_ipython_display_`` and has no
  ``_repr_mimebundle_``; :class:`NotebookDisplay` gives both versions the same bundle.
* **A busy cell** does not hear the front end: a click on Stop waits in the kernel's queue
  until the cell ends. :func:`answering_front_end` hands out a function that handles the
  widget messages queued meanwhile and holds back everything else (a cell queued after this
  one runs after it), so a sweep run in the cell's own thread still answers Stop and picks.
  :class:`_ShellQueue` reads the kernel's shell queue itself, in the cell's own thread, on
  ipykernel 6 (Colab's) and 7. It reaches into ipykernel's private attributes: a kernel that
  lacks any of them gets the slower path (Stop from Python still works; clicks wait for the
  cell's end) and a warning that says so. docs/where-it-runs.md tells why no library does it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import sys
import threading
import uuid
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_MESSAGES = ("comm_open", "comm_msg", "comm_close")
EVENTS_PER_POLL = 20  # front-end messages handled per call; a burst of drag events fits

_colab_url: str | None = None  # Colab's widget manager, once enabled in this process


def in_colab() -> bool:
    """True inside a Google Colab runtime (its ``google.colab`` package is loaded there)."""
    return "google.colab" in sys.modules


def enable_colab_widgets() -> bool:
    """Turn on Colab's custom widget manager, once per process; a no-op elsewhere.

    Returns True when it is enabled. Never raises: if Colab's API moved, the widget simply
    relies on the notebook's own widget manager.
    """
    global _colab_url
    if _colab_url is not None:
        return True
    if not in_colab():
        return False
    try:
        from google.colab import output

        output.enable_custom_widget_manager()
        _colab_url = output._widgets._installed_url or None
    except Exception:  # any failure here must not break displaying the widget
        return False
    return _colab_url is not None


def display_metadata() -> dict:
    """The display message's metadata: Colab's widget manager when it is enabled, else none."""
    if not enable_colab_widgets():
        return {}
    return {WIDGET_VIEW: {"colab": {"custom_widget_manager": {"url": _colab_url}}}}


class NotebookDisplay:
    """Mixin for a widget shown on its own: the same mime bundle on ipywidgets 7 and 8, with
    Colab's metadata where it runs in Colab, so it displays there without a manual step.

    A class that defines ``static_png()`` (bytes, or None when there is nothing to draw) also
    puts a picture of itself in the bundle, for wherever widgets cannot render (GitHub,
    nbviewer, a notebook reopened without a kernel); :meth:`refresh_static` redraws that
    picture in every output that shows this widget, so a saved notebook keeps its last state.
    """

    _display_id: str | None = None

    def static_png(self) -> bytes | None:
        return None

    def _repr_mimebundle_(self, **kwargs):
        text = repr(self)
        data = {
            "text/plain": text if len(text) <= 110 else text[:110] + "…",
            WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": self.model_id},
        }
        png = self.static_png()
        if png:
            data["image/png"] = base64.b64encode(png).decode("ascii")
        return data, display_metadata()

    def _ipython_display_(self, **kwargs):
        # ipywidgets 7 defines this, and IPython prefers it to _repr_mimebundle_: route it there.
        from IPython.display import display

        if self._display_id is None:
            self._display_id = uuid.uuid4().hex
        data, metadata = self._repr_mimebundle_()
        display(data, metadata=metadata, raw=True, display_id=self._display_id)

    def refresh_static(self):
        """Redraw the picture in the outputs that show this widget (in a kernel, once shown)."""
        if self._display_id is None or _kernel_loop() is None:
            return
        from IPython.display import update_display

        data, metadata = self._repr_mimebundle_()
        update_display(data, metadata=metadata, raw=True, display_id=self._display_id)


def _kernel():
    """The running ipykernel, when called from the thread that runs its cells; else None."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return getattr(get_ipython(), "kernel", None)


def running_cell() -> tuple[str, str] | None:
    """``(cell id, request id)`` of the notebook cell the kernel is running in this thread
    (JupyterLab and Notebook 7 send the cell's id with each request); None where unknown."""
    kernel = _kernel()
    try:
        parent = kernel.get_parent("shell") if kernel is not None else None
    except Exception:  # an ipykernel without it: unknown
        return None
    if not isinstance(parent, dict):
        return None
    cell = (parent.get("metadata") or {}).get("cellId")
    request = (parent.get("header") or {}).get("msg_id")
    return (cell, request) if isinstance(cell, str) and isinstance(request, str) else None


def in_kernel_thread() -> bool:
    """True in the thread that runs a Jupyter kernel's cells (where its queue can be polled)."""
    return _kernel() is not None


class _ShellQueue:
    """The kernel's shell queue, read while the cell that owns the kernel runs.

    Shell messages wait on a socket that the kernel's event loop reads, and a busy cell never
    lets that loop run. This reads the socket itself: widget messages are handled at once, as
    the kernel would; the rest (a cell queued meanwhile, completion requests) is handed back
    to the kernel when the sweep ends, in order, to run once the cell is done.

    ipykernel 7 forwards the main shell's messages from its shell channel thread through an
    inproc socket (or, without that thread, reads the shell socket) and runs each as a task of
    ``shell_main``; ipykernel 6 reads the shell socket into ``schedule_dispatch``'s queue.
    """

    def __init__(self, kernel):
        if not self.supports(kernel):
            raise ValueError("lrwidget cannot read this kernel's shell queue")
        self.kernel = kernel
        self.held_back: list = []  # messages for the kernel to handle once the cell is done
        self.socket = _shell_socket(kernel)
        self._hand_back = _hand_back(kernel)

    @staticmethod
    def supports(kernel) -> bool:
        """True when ``kernel`` has every attribute :meth:`poll` and :meth:`close` use."""
        session = getattr(kernel, "session", None)
        handlers = getattr(kernel, "shell_handlers", None)
        return (
            callable(getattr(_shell_socket(kernel), "recv_multipart", None))
            and _hand_back(kernel) is not None
            and getattr(kernel, "shell_stream", None) is not None
            and callable(getattr(session, "feed_identities", None))
            and callable(getattr(session, "deserialize", None))
            and isinstance(handlers, dict)
            and all(callable(handlers.get(kind)) for kind in WIDGET_MESSAGES)
        )

    def poll(self, limit: int = EVENTS_PER_POLL):
        import zmq

        kernel = self.kernel
        for _ in range(limit):
            try:
                frames = self.socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                idents, parts = kernel.session.feed_identities(frames, copy=False)
                # The header alone: a full read records the signature, and the kernel refuses
                # to read a message twice (the held ones are read again when the cell is done).
                kind = kernel.session.deserialize(parts, content=False, copy=False)["header"]
                kind = kind["msg_type"]
            except Exception:
                kind = None  # not ours to judge: the kernel will see it later
            if kind not in WIDGET_MESSAGES:
                self.held_back.append(frames)
                continue
            try:
                msg = kernel.session.deserialize(parts, content=True, copy=False)
                kernel.shell_handlers[kind](kernel.shell_stream, idents, msg)
            except Exception:  # a failing handler must not end the sweep
                log.exception("lrwidget: a widget message failed")

    def close(self):
        held_back, self.held_back = self.held_back, []
        for frames in held_back:
            self._hand_back(frames)


def _shell_socket(kernel):
    """The socket the cell thread's shell messages arrive on (None: not one known): ipykernel 7
    forwards them from its shell channel thread through an inproc socket; ipykernel 6 (and 7
    without that thread) reads the shell socket."""
    thread = getattr(kernel, "shell_channel_thread", None)
    if thread is not None:
        forward = getattr(getattr(thread, "manager", None), "_shell_channel_to_main", None)
        return getattr(forward, "to_socket", None)
    return getattr(getattr(kernel, "shell_stream", None), "socket", None)


def _hand_back(kernel) -> Callable[[list], object] | None:
    """How a held-back message goes back to the kernel (None: no way known): ipykernel 7 runs
    each as a task of ``shell_main``, ipykernel 6 queues it with ``schedule_dispatch``."""
    if callable(getattr(kernel, "shell_main", None)):

        def to_shell_main(frames):
            asyncio.get_event_loop().create_task(kernel.shell_main(None, frames))

        return to_shell_main
    schedule, dispatch = (getattr(kernel, n, None) for n in ("schedule_dispatch", "dispatch_shell"))
    if callable(schedule) and callable(dispatch):
        return lambda frames: schedule(dispatch, frames)
    return None


CANNOT_ANSWER = (
    "lrwidget cannot read this kernel's shell queue (it knows ipykernel 6 and 7): while this "
    "cell runs, clicks on Stop and on the chart wait until it ends. finder.stop() and the "
    "interrupt button still work; finder.run(background=True) keeps the kernel free instead."
)


@contextmanager
def answering_front_end() -> Iterator[Callable[[], None]]:
    """Yield ``poll()``, which handles the front-end messages queued for the kernel (button
    clicks, picks on the chart) and the work handed to this thread by
    :func:`call_in_kernel_thread`, and returns. Call it now and then while the cell is busy.

    Outside a kernel's cell thread (a script, a background thread) ``poll`` only does the
    handed-over work that is waiting.
    """
    kernel = _kernel()
    if kernel is None:
        yield run_pending
    elif not _ShellQueue.supports(kernel):
        warnings.warn(CANNOT_ANSWER, RuntimeWarning, stacklevel=3)
        yield run_pending
    else:
        queue = _ShellQueue(kernel)

        def both():
            queue.poll()
            run_pending()

        try:
            yield both
        finally:
            queue.close()


# --- one writer: work handed to the kernel's thread --------------------------------------------
_pending: deque[Callable[[], object]] = deque()


def _kernel_loop():
    """The kernel's event loop (it runs in the cell thread), or None outside a kernel."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return getattr(getattr(get_ipython(), "kernel", None), "io_loop", None)


def call_in_kernel_thread(fn: Callable[[], object]):
    """Run ``fn`` in the thread that runs the kernel's cells, the one thread that writes what
    the front end can write too: now when called there; otherwise as soon as that thread is
    free (its event loop) or polls (a cell waiting on a sweep). Outside a kernel there is no
    front end to race with, and ``fn`` runs now."""
    loop = _kernel_loop()
    if loop is None or threading.current_thread() is threading.main_thread():
        fn()
        return
    _pending.append(fn)
    loop.add_callback(run_pending)


def run_pending():
    """Run the work handed to this thread so far, in order (call it in the kernel's thread)."""
    while True:
        try:
            fn = _pending.popleft()
        except IndexError:
            return
        try:
            fn()
        except Exception:  # one failing refresh must not keep the others from running
            log.exception("lrwidget: a refresh failed")
