"""One sweep per model, and a new finder replacing an old one.

A model has at most one sweep at a time (:func:`lrwidget.runner.running_on`). A finder whose
Run finds another finder's sweep on its model is refused, with how to stop that one
(:func:`free_model`); a finder built on a model another finder sweeps, or by a new run of the
notebook cell that built another finder, stops that one's sweep (:func:`take_over`): the old
view is gone with the cell's output, and its sweep would run on unseen.
"""

from __future__ import annotations

import weakref

from .notebook import running_cell
from .runner import SweepRunner, running_on

STOP_OTHER = "Stop other & run"  # the Run button's label while another sweep holds the model
# How long a finder waits for another finder's sweep to end once told to stop: one batch.
TAKEOVER_WAIT = 30.0  # seconds


class OtherSweepRunning(RuntimeError):
    """Run refused: another finder's sweep runs on the same model."""


def free_model(model, runner: SweepRunner, stop_other: bool):
    """Return once no other finder sweeps ``model``; raise if one does and goes on."""
    other = None if model is None else running_on(id(model))
    if other is None or other is runner:
        return
    name = model.name
    if stop_other:
        other.stop(note=f"stopped by another LRFinderWidget on model {name!r}")
    if other.stopping:  # told to stop: it ends after its current batch
        if other.join(TAKEOVER_WAIT):
            return
        raise OtherSweepRunning(
            f"another LRFinderWidget's sweep on model {name!r} was told to stop but is "
            f"still in its batch after {TAKEOVER_WAIT:.0f} s: Run again once it ends"
        )
    done = other.result  # the points so far
    raise OtherSweepRunning(
        f"a sweep is already running on model {name!r} in another LRFinderWidget "
        f"({len(done)} / {done.meta.get('num_steps', '?')} steps): click "
        f"'{STOP_OTHER}' to stop it (the model is restored) and start this one, or press "
        "Stop under that chart; in code: finder.run(stop_other=True)"
    )


# The runners of the finders each notebook cell made in its last run: cell id -> (request id,
# [weak references to the runners]).
_made_in: dict[str, tuple[str, list[weakref.ref]]] = {}


def take_over(model, runner: SweepRunner) -> str | None:
    """Stop the sweeps a new finder replaces, and wait for them to end (one batch): another
    finder's on ``model`` (one sweep per model), and those of the finders an earlier run of
    this cell made (their views are gone with the cell's output). What happened, for the user."""
    same_model = None if model is None else running_on(id(model))
    earlier: list = []
    cell = running_cell()
    if cell is not None:
        made = _made_in.get(cell[0])
        if made is not None and made[0] == cell[1]:  # another finder of this same run
            made[1].append(weakref.ref(runner))
        else:
            earlier = [ref() for ref in made[1]] if made is not None else []
            _made_in[cell[0]] = (cell[1], [weakref.ref(runner)])
    earlier = [r for r in earlier if r is not None and r.running and r is not same_model]
    said = [] if same_model is None else [_stop_replaced(same_model, f"on model {model.name!r}")]
    said += [_stop_replaced(r, "this cell made before") for r in earlier]
    return "; ".join(said) or None


def _stop_replaced(other: SweepRunner, which: str) -> str:
    other.stop(note=f"stopped: a new LRFinderWidget replaced this one (the finder {which})")
    if other.join(TAKEOVER_WAIT):
        return f"stopped the sweep of the finder {which} (its model is restored)"
    return f"told the sweep of the finder {which} to stop: it ends after its current batch"
