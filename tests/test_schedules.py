"""The schedules a picked range becomes: what they print."""

from lrwidget import schedules


def test_a_schedule_prints_what_it_was_built_with_and_rebuilds_from_that():
    for schedule in (schedules.OneCycle(0.1, 1000), schedules.Cyclic(1e-3, 1e-2, 50)):
        text = repr(schedule)
        assert text.startswith(type(schedule).__name__ + "(") and "object at" not in text
        rebuilt = eval(text, {type(schedule).__name__: type(schedule)})  # noqa: S307
        assert rebuilt.get_config() == schedule.get_config()
