"""Why a sweep failed, in words: the line of an error that names the cause, and the full
report shown under Run. Pure: no widgets, no Keras."""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Lines of Keras's and TensorFlow's messages that say where, not what: "Exception encountered
# when calling ...", "Graph execution error:", "Detected at node ... defined at ...", the
# frames ('File "..."'), the arguments received ("• inputs=...") and the node ("[[{{node").
_WHERE = re.compile(
    r"^(Exception encountered when calling|Graph execution error|Detected at node|File \"|"
    r"Traceback \(most recent call last\)|•|\[\[)"
)
CAUSE_CHARS = 300  # the status line's share of a long cause; the full text is under Run


def cause(error: BaseException) -> str:
    """The line of an error's message that says what is wrong: the first that is not where it
    happened (Keras opens with the layer's call, ends with its arguments; TensorFlow's graph
    errors open with the node and its frames)."""
    text = _ANSI.sub("", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("Arguments received by"):
            break
        if not _WHERE.match(line):
            return line if len(line) <= CAUSE_CHARS else line[: CAUSE_CHARS - 1] + "…"
    return lines[0] if lines else type(error).__name__


def report(error: BaseException) -> str:
    """A sweep's error in full, for the area under Run."""
    text = _ANSI.sub("", str(error)).strip()
    return (
        f"The sweep failed: {type(error).__name__}: {cause(error)}\n\n{text}\n\n"
        "The model is as it was before the sweep. finder.error holds the exception; "
        "finder.wait() and finder.run(block=True) raise it.\n"
    )
