"""The schedules a finder makes from its pick: one-cycle and cyclical over the picked range, the
article's per-epoch decay from the picked LR.

:class:`PickSchedules` is a part the finder holds (``finder.schedules``); it reads the pick
from the object it is given (anything with ``selected_lr`` and ``selected_range``: the
finder) and builds the Keras schedules of :mod:`lrwidget.schedules`. No widgets.
"""

from __future__ import annotations

from .schedules import Cyclic, EpochDecay, OneCycle

NO_LR = "no learning rate selected: run a sweep and pick one first"
NO_RANGE = (
    "no range picked: tick 'pick a range' and drag its two handles, or set "
    "finder.selected_range = (low, high)"
)


class PickSchedules:
    """Schedules from ``picker.selected_range`` and ``picker.selected_lr``."""

    def __init__(self, picker):
        self.picker = picker

    def one_cycle(self, total_steps: int, **kwargs) -> OneCycle:
        """A one-cycle schedule over ``selected_range``: up from its low end to its high end
        in the first quarter of ``total_steps``, then cosine down (see
        :class:`~lrwidget.schedules.OneCycle`; ``pct_start`` and ``final_div_factor`` are
        passed on). Train with it: ``finder.apply(schedule=...)``."""
        low, high = self.picked_range()
        return OneCycle(high, total_steps, div_factor=high / low, **kwargs)

    def cyclic(self, step_size: int) -> Cyclic:
        """Smith's triangular cyclical schedule between the ends of ``selected_range``, half a
        cycle every ``step_size`` steps (see :class:`~lrwidget.schedules.Cyclic`)."""
        low, high = self.picked_range()
        return Cyclic(low, high, step_size)

    def decay(self, factor: float = 0.97) -> EpochDecay:
        """A Keras callback that starts at ``selected_lr`` and multiplies it by ``factor``
        every epoch (the article's schedule): ``model.fit(..., callbacks=[cb])``."""
        if self.picker.selected_lr is None:
            raise ValueError(NO_LR)
        return EpochDecay(self.picker.selected_lr, factor)

    def picked_range(self) -> tuple[float, float]:
        """``selected_range``; a ``ValueError`` that says how to pick one when there is none."""
        if self.picker.selected_range is None:
            raise ValueError(NO_RANGE)
        return self.picker.selected_range
