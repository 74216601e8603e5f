"""Hostile front ends: random and malformed values for every synced trait and custom event.

Whatever a front end sends must never raise out of lrwidget's code nor leave ``selected_lr``
invalid or out of step with what the chart shows. Messages go in the way the kernel's comm
handler feeds them: ``Widget.set_state`` for ``update`` messages (arrays as binary buffers, as
bqplot sends them) and ``Widget._handle_custom_msg`` for ``custom`` ones (bqplot's
element_click, drag and drag_end; a Button's click).

The comm layer logs what a message handler raises, so an exception never takes the kernel
down; what counts as a bug here is an exception raised in lrwidget's code (or by a library
that lrwidget's code called), or a state left inconsistent. A library refusing a value on its
own (traitlets validation, bqplot failing to decode a malformed buffer) is its normal, logged
refusal, and the widget must be consistent after it.
"""

from __future__ import annotations

import math
import os
import traceback

import ipywidgets
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ipywidgets.widgets.widget import CallbackDispatcher
from traitlets import Bool, CFloat, CInt, Enum, Float, Int, List, TraitError, Tuple, Unicode
from traittypes import Array

import lrwidget
from lrwidget.chart import LRChart, format_lr
from lrwidget.result import AnalysisSettings, SweepResult
from lrwidget.widget import LRFinderWidget

PACKAGE_DIR = os.path.dirname(lrwidget.__file__)


def valley() -> SweepResult:
    """A saved sweep with three candidate minima (no Keras needed)."""
    lrs = np.geomspace(1e-5, 1.0, 300)
    t = np.log10(lrs)
    loss = 2.3 - 1.3 / (1 + np.exp(-4 * (t + 2.8)))
    for centre in (-2.0, -1.4, -0.9):
        loss -= 0.12 * np.exp(-((t - centre) ** 2) / 0.02)
    settings = AnalysisSettings(beta=0.9)
    return SweepResult(lrs=lrs, losses=loss, stop_reason="completed", settings=settings)


RESULT = valley()
LO, HI = float(RESULT.lrs.min()), float(RESULT.lrs.max())
CANDIDATE_LRS = [c.lr for c in RESULT.candidates]
MENU_LRS = CANDIDATE_LRS + [m.lr for m in RESULT.minima]  # the menu lists the minima after


def build_chart():
    return lrwidget.show(RESULT)


def build_finder():
    # No model: a hostile Run click starts a sweep that fails at once and shows the error.
    finder = LRFinderWidget(None, None)
    finder.chart.set_results([RESULT])
    return finder


def chart_of(w) -> LRChart:
    """The chart of a finder (which holds one), or the chart itself."""
    return w.chart if isinstance(w, LRFinderWidget) else w


# --- the widget tree and its front-end-writable traits ---------------------------------------


def widget_tree(root) -> list[ipywidgets.Widget]:
    """Every widget reachable from ``root`` through its traits (marks, scales, layouts, ...)."""
    seen: dict[int, ipywidgets.Widget] = {}

    def visit(value):
        if isinstance(value, ipywidgets.Widget):
            if id(value) in seen:
                return
            seen[id(value)] = value
            for name in value.trait_names():
                if name != "comm":
                    visit(getattr(value, name, None))
        elif isinstance(value, list | tuple):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)

    visit(root)
    return list(seen.values())


def writable(widget) -> list[str]:
    """The synced traits a front end writes: all but ipywidgets' own protocol fields
    (``_model_name``, ``_dom_classes``, ``_options_labels``, ...), which no widget view edits."""
    return sorted(
        name
        for name, trait in widget.traits(sync=True).items()
        if not name.startswith("_") and not trait.read_only
    )


# --- hostile values ----------------------------------------------------------------------------

SPECIAL = [math.nan, math.inf, -math.inf, 0, 0.0, -0.0, -1, -1e-3, 1e308, 5e-324, 2**64, -(2**70)]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(SPECIAL),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["nan", "inf", "0.01", "1e-3x", "", "IPY_MODEL_nope", "drag_end"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
DTYPES = ["float64", "float32", "int32", "int64", "uint8", "bool"]


@st.composite
def binary_arrays(draw):
    """An array as bqplot's front end sends one: dtype, shape and a binary buffer; the shape
    may disagree with the buffer, the dtype may be odd, the values anything."""
    dtype = draw(st.sampled_from(["float64", "float64", *DTYPES]))
    n = draw(st.integers(0, 4))
    values = draw(st.lists(st.sampled_from(SPECIAL) | st.floats(), min_size=n, max_size=n))
    with np.errstate(all="ignore"):  # NaN or 1e308 cast to an integer: garbage, as wanted
        data = np.array(values, dtype=np.float64).astype(dtype)
    shape = draw(st.sampled_from([[n], [n], [n], [], [1, n], [n + 1], [2, 2]]))
    return {"dtype": dtype, "shape": shape, "value": memoryview(data.tobytes())}


floats = st.sampled_from(SPECIAL) | st.floats()
number_lists = st.lists(floats, max_size=4)


def plausible(trait) -> st.SearchStrategy:
    """Values of the right type but hostile content (the kind a buggy view would send), and
    now and then anything at all."""
    if isinstance(trait, Array):
        # Not [[]]: bqplot 0.13 cannot send an empty object array back (array_to_json raises
        # before any observer runs), a bug of its own that no lrwidget code can catch.
        ragged = st.lists(number_lists.filter(len), max_size=3)
        typed = binary_arrays() | number_lists | ragged
    elif isinstance(trait, Bool):
        typed = st.booleans()
    elif isinstance(trait, Float | CFloat):
        typed = floats | st.integers(-(2**70), 2**70)
    elif isinstance(trait, Int | CInt):
        typed = st.integers(-(2**40), 2**40) | st.sampled_from([-1, 0, 1, 2, 3])
    elif isinstance(trait, Enum):
        typed = st.sampled_from(list(trait.values)) | st.text(max_size=4)
    elif isinstance(trait, Unicode):
        typed = st.text(max_size=8)
    elif isinstance(trait, List | Tuple):
        typed = number_lists | st.lists(st.text(max_size=4), max_size=3)
    else:
        typed = json_values
    return st.one_of(typed, typed, typed, json_values)


def lr_values():
    """LR-ish values: inside, outside and at the edges of the range, and garbage."""
    return st.one_of(
        st.floats(LO, HI),
        st.sampled_from([LO, HI, *CANDIDATE_LRS]),
        st.floats(1e-12, 1e6),
        scalars,
    )


@st.composite
def custom_contents(draw):
    """A custom message: a known or unknown event with bad, missing or huge fields."""
    event = draw(
        st.sampled_from(
            ["element_click", "drag", "drag_end", "drag_start", "click", "hover", "legend_click"]
        )
        | st.text(max_size=8)
    )
    content = {"event": event}
    point = st.fixed_dictionaries({}, optional={"x": lr_values(), "y": scalars}) | json_values
    data = (
        st.fixed_dictionaries(
            {},
            optional={
                "x": lr_values(),
                "y": scalars,
                "index": st.integers(-(2**40), 2**40) | scalars,
            },
        )
        | json_values
    )
    for key, strategy in [("point", point), ("data", data), ("index", scalars), ("origin", point)]:
        if draw(st.booleans()):
            content[key] = draw(strategy)
    return content


# --- driving it ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def callbacks_raise(monkeypatch):
    """Let exceptions out of widget callbacks (ipywidgets only logs them) so they are seen."""

    def call(self, *args, **kwargs):
        value = None
        for callback in self.callbacks:
            result = callback(*args, **kwargs)
            value = result if result is not None else value
        return value

    monkeypatch.setattr(CallbackDispatcher, "__call__", call)


def check_not_ours(exc: BaseException):
    """Fail when ``exc`` was raised in, or under, lrwidget's own code; a TraitError is a
    refusal (set_state rolls the message back), whoever raised it."""
    if isinstance(exc, TraitError):
        return
    frames = traceback.extract_tb(exc.__traceback__)
    # lrwidget's set_state wrapper (which only adds a clean-up) passes library errors through.
    ours = [f for f in frames if f.filename.startswith(PACKAGE_DIR) and f.name != "set_state"]
    if ours:
        raise AssertionError(f"lrwidget raised into the front end: {exc!r}") from exc


def deliver(action, *args):
    try:
        action(*args)
    except Exception as exc:
        check_not_ours(exc)


def check_consistent(finder_or_chart):
    lr = finder_or_chart.selected_lr
    assert finder_or_chart.snap is chart_of(finder_or_chart).snap
    w = chart_of(finder_or_chart)
    assert w.selected_lr == lr  # a finder shows its chart's choice
    assert w.swept_range == (LO, HI)
    assert lr is None or (type(lr) is float and math.isfinite(lr) and LO <= lr <= HI), lr
    assert w.controls.snap_box.value is w.snap
    assert len(w.marks.click_area.x) == 0  # every click on the plot is taken back
    slider = w.controls.slider
    assert (slider.min, slider.max, slider.base) == (math.log10(LO), math.log10(HI), 10.0)
    check_range_consistent(w)
    if lr is None:
        assert not w.marks.rule.visible
        return
    assert (
        w.marks.rule.visible
        and list(w.marks.rule.x) == [lr, lr]
        and list(w.marks.rule.y) == [0.0, 1.0]
    )
    assert slider.value == pytest.approx(lr, rel=1e-12)
    assert w.controls.candidate_menu.value == (lr if lr in MENU_LRS else None)
    if w.controls.candidate_menu.index is not None:
        assert w.controls.candidate_menu.options[w.controls.candidate_menu.index][1] == lr
    # The label follows the LR, also mid-drag (it is no part of the dragged handle).
    assert list(w.marks.handle_label.text) == [format_lr(lr)]
    assert list(w.marks.handle_label.x) == [lr]
    if w.dragged_lr is None:  # mid-drag, the handle is the user's
        assert w.marks.handle.visible and list(w.marks.handle.x) == [lr]
    else:
        assert w.dragged_lr == lr


def check_range_consistent(w):
    picked = w.selected_range
    assert w.controls.range_box.value is (picked is not None)
    if picked is None:
        assert not w.marks.range_strip.visible and not w.marks.range_edges.visible
        return
    low, high = picked
    assert type(low) is float and type(high) is float and LO <= low < high <= HI, picked
    assert w.marks.range_strip.visible and list(w.marks.range_strip.x) == [low, low, high, high]
    assert w.marks.range_edges.visible and w.marks.range_edges.x.tolist() == [
        [low, low],
        [high, high],
    ]
    if w.dragged_range is None:  # mid-drag, the handles are the user's
        assert w.marks.range_handles.visible and list(w.marks.range_handles.x) == [low, high]


def core(w) -> list[ipywidgets.Widget]:
    """The widgets lrwidget reads or writes itself (drawn more often than layouts and styles)."""
    c = chart_of(w)
    parts = [c.figure, *c.figure.marks, c.x_scale, c.y_scale, *c.figure.axes]
    parts += [
        c.controls.candidate_menu,
        c.controls.slider,
        c.controls.snap_box,
        c.controls.range_box,
    ]
    if isinstance(w, LRFinderWidget):
        parts += [w.run_button, w.stop_button, w.apply_button, w.progress]
    return parts


def send(w, tree, data):
    """One message (or a Python-side assignment) chosen by hypothesis."""
    kind = data.draw(st.sampled_from(["state", "state", "state", "custom", "legit", "python"]))
    pool = tree if data.draw(st.sampled_from(["core", "core", "core", "all"])) == "all" else core(w)
    labels = [f"{type(x).__name__}#{i}" for i, x in enumerate(pool)]  # short reports
    target = pool[labels.index(data.draw(st.sampled_from(labels)))]
    if kind == "state":
        names = writable(target)
        if not names:
            return
        keys = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        traits = target.traits()
        state = {k: data.draw(plausible(traits[k])) for k in keys}
        deliver(target.set_state, state)
    elif kind == "custom":
        deliver(target._handle_custom_msg, data.draw(custom_contents()), [])
    elif kind == "legit":  # moves the state around so hostile input meets every state
        lr = data.draw(st.floats(LO / 10, HI * 10))
        events = ["drag", "drag_end", "click", "slider", "pick", "range", "range_drag"]
        event = data.draw(st.sampled_from(events))
        if event in ("drag", "drag_end"):
            content = {"event": event, "point": {"x": lr, "y": 0.9}, "index": 0}
            deliver(chart_of(w).marks.handle._handle_custom_msg, content, [])
        elif event == "click":
            deliver(chart_of(w).marks.click_area.set_state, {"x": [lr], "y": [0.5]})
        elif event == "slider":
            deliver(chart_of(w).controls.slider.set_state, {"value": lr})
        elif event == "range":
            deliver(chart_of(w).controls.range_box.set_state, {"value": data.draw(st.booleans())})
        elif event == "range_drag":
            kind = data.draw(st.sampled_from(["drag", "drag_end"]))
            content = {
                "event": kind,
                "point": {"x": lr, "y": 0.04},
                "index": data.draw(st.integers(0, 1)),
            }
            deliver(chart_of(w).marks.range_handles._handle_custom_msg, content, [])
        else:
            assert w.pick(lr)
    else:
        value = data.draw(lr_values())
        before = w.selected_lr
        try:
            w.selected_lr = value
        except TraitError:
            assert w.selected_lr == before  # refused: unchanged


COMMON = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@COMMON
@given(data=st.data())
def test_hostile_front_end_never_breaks_the_chart(data):
    chart = build_chart()
    tree = widget_tree(chart)
    check_consistent(chart)
    for _ in range(data.draw(st.integers(5, 30))):
        send(chart, tree, data)
        check_consistent(chart)


@COMMON
@given(data=st.data())
def test_hostile_front_end_never_breaks_the_finder(data):
    finder = build_finder()
    tree = widget_tree(finder)
    try:
        for _ in range(data.draw(st.integers(5, 30))):
            send(finder, tree, data)
            check_consistent(finder)
    finally:
        try:
            finder.wait(30)
        except TypeError:  # a Run click without a model: wait() raises the sweep's error
            assert isinstance(finder.error, TypeError)
    assert not finder.running
    if finder.error is not None:  # a Run click without a model: shown, not raised
        assert "error: TypeError" in finder.status.value


def test_the_tree_covers_every_part_of_the_chart():
    finder = build_finder()
    tree = widget_tree(finder)
    chart = finder.chart
    parts = [
        chart.figure,
        chart.x_scale,
        chart.y_scale,
        chart.marks.click_area,
        chart.marks.candidates,
        chart.marks.rule,
        chart.marks.handle,
        chart.controls.candidate_menu,
        chart.controls.slider,
        chart.controls.snap_box,
        finder.run_button,
        finder.stop_button,
        finder.apply_button,
        finder.progress,
        *chart.figure.axes,
        *chart.marks.raw,
        *chart.marks.smoothed,
    ]
    assert all(any(p is w for w in tree) for p in parts)
    assert {"x", "y", "selected"} <= set(writable(chart.marks.click_area))
    assert {"min", "max", "value", "base"} <= set(writable(chart.controls.slider))
    assert "index" in writable(chart.controls.candidate_menu)


def test_bools_are_no_learning_rates():
    chart = build_chart()
    before = chart.selected_lr
    for bad in (True, False, np.bool_(True)):
        with pytest.raises(TraitError, match="bool"):
            chart.selected_lr = bad
        assert chart.pick(bad) is False
    assert chart.selected_lr == before
    chart.selected_lr = np.float32(0.01)  # numpy numbers are fine
    assert type(chart.selected_lr) is float and chart.selected_lr == pytest.approx(0.01)


def test_a_foreign_write_to_the_selection_marks_is_put_back():
    chart = build_chart()
    lr = chart.selected_lr
    chart.marks.rule.set_state({"x": [0.5, 0.5], "visible": False})
    chart.marks.handle.set_state({"x": [math.nan], "names": ["hacked"]})
    chart.controls.slider.set_state({"min": -2.0})  # also clamps the value: a pick at 1e-2
    chart.controls.slider.set_state({"base": 0.0})
    assert chart.selected_lr == max(lr, 1e-2)
    check_consistent(chart)


def test_a_lost_drag_end_does_not_freeze_the_handle():
    chart = build_chart()
    drag = {"event": "drag", "point": {"x": 2e-3, "y": 0.9}, "index": 0}
    chart.marks.handle._handle_custom_msg(drag, [])
    assert chart.selected_lr == pytest.approx(2e-3) and chart.dragged_lr is not None
    chart.selected_lr = 4e-2  # from Python: the drag is over, the handle follows
    assert list(chart.marks.handle.x) == [4e-2] and chart.dragged_lr is None
    chart.marks.handle._handle_custom_msg(drag, [])
    chart.set_results([RESULT])  # a new result pre-selects its suggestion
    assert list(chart.marks.handle.x) == [RESULT.suggestion]


def test_an_lrchart_without_data_refuses_every_pick():
    chart = LRChart()
    for content in (
        {"event": "drag_end", "point": {"x": 0.01}},
        {"event": "drag", "point": {"x": 0.01}},
        {"event": "element_click", "data": {"x": 0.01, "index": 0}},
    ):
        target = (
            chart.marks.candidates if content["event"] == "element_click" else chart.marks.handle
        )
        target._handle_custom_msg(content, [])
    chart.marks.click_area.set_state({"x": [0.01], "y": [0.5]})
    chart.controls.slider.set_state({"value": 0.01})
    assert chart.selected_lr is None and not chart.marks.rule.visible
