"""What a finder's pick becomes: the optimizer's LR (Apply), or a schedule.

Two parts the finder holds, each reading the pick from the finder it is given:
:class:`Applier` (``finder.applier``) sets the picked LR, and the picked member's settings,
into the optimizer, for ``finder.apply`` and the Apply button (which on a schedule-based
optimizer first explains, then offers to replace the schedule); :class:`PickSchedules`
(``finder.schedules``) builds one-cycle and cyclical schedules over the picked range and the
article's per-epoch decay from the picked LR (:mod:`lrwidget.schedules`).
"""

from __future__ import annotations

from .controls import REPLACE_SCHEDULE
from .schedules import (
    Cyclic,
    EpochDecay,
    OneCycle,
    set_learning_rate,
    set_schedule,
    uses_schedule,
)
from .style import format_lr

NO_LR = "no learning rate selected: run a sweep and pick one first"
NO_RANGE = (
    "no range picked: tick 'pick a range' and drag its two handles, or set "
    "finder.selected_range = (low, high)"
)


RUNNING = (
    "a sweep is running (or trials are) and will restore the model's LR when it ends; apply "
    "after it (finder.wait())"
)


class Applier:
    """Apply: the finder's pick into its model's optimizer.

    Parameters
    ----------
    finder : LRFinderWidget
        Its ``model``, ``running``, ``selected_lr``, ``member.setting``, ``chart`` (the status
        line) and ``buttons`` (Apply's label).
    apply_settings : callable
        ``apply_settings(model, setting) -> str``: sets a family member's optimizer settings
        (:func:`lrwidget.keras_family.apply_settings`) and says what it did.
    """

    def __init__(self, finder, apply_settings):
        self.finder = finder
        self.apply_settings = apply_settings
        self.applied: float | None = None  # the LR Apply last set (None: none, or a schedule)
        self.message = ""  # what Apply last did, for the status line

    def apply(self, replace_schedule: bool = False, schedule=None) -> str:
        """See :meth:`lrwidget.LRFinderWidget.apply`."""
        f = self.finder
        if f.running:
            raise RuntimeError(RUNNING)
        if schedule is not None:
            message = set_schedule(f.model, schedule)
        else:
            if f.selected_lr is None:
                raise ValueError(NO_LR)
            message = set_learning_rate(f.model, f.selected_lr, replace_schedule=replace_schedule)
            if f.member.setting:
                message += self.apply_settings(f.model, f.member.setting)
        self.applied = None if schedule is not None else f.selected_lr
        self.message = message
        f.chart.update_status()
        return message

    def status_parts(self) -> list[str]:
        """What the optimizer holds since Apply, beside the run's summary: Apply's message
        while the selection is what was applied, else the LR applied."""
        if not self.message:
            return []
        if self.applied is None or self.applied == self.finder.chart.selected_lr:
            return [self.message]
        return [f"applied {format_lr(self.applied)} (the optimizer's LR; Apply sets the selection)"]

    def click(self, _button):
        """Apply's click: never raises. On a schedule-based optimizer the first click explains;
        the button then offers to replace the schedule, and only that second click does."""
        f = self.finder
        replace = f.buttons.replace_offered
        try:
            self.apply(replace_schedule=replace)
        except Exception as exc:
            f.chart.set_status(f"not applied: {exc}")
            if not replace and f.model is not None and uses_schedule(f.model.optimizer):
                f.chart.set_status(
                    f"not applied: the optimizer's LR comes from a schedule, kept as it is. "
                    f"Click '{REPLACE_SCHEDULE}' to train at a constant "
                    f"{format_lr(f.selected_lr)} instead, or rebuild the schedule to start "
                    "there (finder.apply(replace_schedule=True) does the former in code).",
                )
                f.buttons.offer_replace(True)
            return
        f.buttons.offer_replace(False)


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
