"""The widget, driven the way the front end drives it: comm messages into the widgets.

Front-end events are fed through ``Widget._handle_msg`` with the message shapes bqplot's
JavaScript sends, the same in 0.12 and 0.13 (``update`` with binary buffers for arrays;
``custom`` for element_click, drag and drag_end), and what goes back is counted on a recording
comm (the ``comms`` fixture in conftest.py: the same on ipywidgets 7 and 8).
"""

from __future__ import annotations

import math
import threading
import time

import bqplot as bq
import keras
import numpy as np
import pytest
from sklearn.datasets import load_digits
from traitlets import TraitError

import lrwidget
from lrwidget import failure, style
from lrwidget import runner as runner_module
from lrwidget.chart import LRChart, show
from lrwidget.figure import HANDLE_Y, MAX_DISPLAY_POINTS, RANGE_Y
from lrwidget.result import AnalysisSettings, SweepResult
from lrwidget.style import format_lr
from lrwidget.widget import LRFinderWidget

# --- the front end, simulated ----------------------------------------------------------------


def updates(widget, key):
    """The state updates the kernel sent for ``widget`` that carry ``key`` (not the echoes
    ipywidgets 8 sends back for front-end updates; ipywidgets 7 sends none)."""
    return [
        (d, sizes)
        for d, sizes in widget.comm.sent
        if d.get("method") == "update" and key in d.get("state", {})
    ]


def frontend_update(widget, **state):
    """An ``update`` message as the browser sends it (arrays as binary buffers)."""
    paths, buffers = [], []
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            paths.append([key, "value"])
            buffers.append(memoryview(value.tobytes()))
            state[key] = {"dtype": str(value.dtype), "shape": list(value.shape), "value": None}
    msg = {"method": "update", "state": state, "buffer_paths": paths}
    widget._handle_msg({"content": {"data": msg}, "buffers": buffers})


def frontend_event(mark, content):
    """A ``custom`` message (bqplot's element_click, drag, drag_end)."""
    mark._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def click_candidate(chart, index):
    x, y = chart.marks.candidates.x, chart.marks.candidates.y
    data = {"x": float(x[index]), "y": float(y[index]), "index": index}
    frontend_event(chart.marks.candidates, {"event": "element_click", "data": data})


def click_plot(chart, lr, y=0.5):
    """A click on the plot area: bqplot's 'add' interaction appends the point and syncs x/y."""
    c = chart.marks.click_area
    frontend_update(c, x=np.append(c.x, lr).astype(np.float64), y=np.append(c.y, y))


def drag(chart, lr, end=False):
    point = {"x": lr, "y": HANDLE_Y}
    if end:  # the browser first syncs the moved point, then reports the end of the drag
        if isinstance(lr, float):
            frontend_update(chart.marks.handle, x=np.array([lr]))
        frontend_event(chart.marks.handle, {"event": "drag_end", "point": point, "index": 0})
    else:
        origin = {"x": 100, "y": 10}
        frontend_event(
            chart.marks.handle, {"event": "drag", "origin": origin, "point": point, "index": 0}
        )


# --- saved curves (no Keras) -----------------------------------------------------------------


def valley_result(n=400, seed=0, batch_size=None, blow_up=True) -> SweepResult:
    """A curve that falls from 2.3 into a valley with three dips (candidates), then blows up."""
    rng = np.random.default_rng(seed)
    lrs = np.geomspace(1e-5, 1.0, n)
    t = np.log10(lrs)  # -5 .. 0
    loss = 2.3 - 1.3 / (1 + np.exp(-4 * (t + 2.8)))
    for centre in (-2.0, -1.4, -0.9):
        loss -= 0.12 * np.exp(-((t - centre) ** 2) / 0.02)
    if blow_up:
        loss += np.where(t > -0.6, 60 * (t + 0.6) ** 2, 0.0)
    loss += rng.normal(0, 0.01, n)
    meta = {"batch_size": batch_size} if batch_size else {}
    settings = AnalysisSettings(beta=0.9)
    return SweepResult(lrs=lrs, losses=loss, stop_reason="completed", settings=settings, meta=meta)


@pytest.fixture
def saved():
    r = valley_result()
    assert len(r.candidates) >= 2, "the fixture curve must have several candidates"
    return r


def test_candidate_click_selects_it_with_label_and_rule(comms, saved):
    chart = show(saved)
    assert chart.selected_lr == pytest.approx(saved.suggestion)  # pre-selected
    target = saved.candidates[1]
    click_candidate(chart, 1)
    assert chart.selected_lr == target.lr
    assert chart.marks.handle_label.text[0] == format_lr(target.lr)
    assert list(chart.marks.rule.x) == [target.lr, target.lr]
    assert chart.controls.candidate_menu.value == target.lr
    assert f"selected {format_lr(target.lr)}" in chart.status.value


def test_click_anywhere_snaps_in_log_space_or_takes_exact_lr(comms, saved):
    chart = show(saved)
    a, b = saved.candidates[0].lr, saved.candidates[1].lr
    geo_mid = math.sqrt(a * b)
    click_plot(chart, geo_mid * 0.9)  # nearer to a on a log axis
    assert chart.selected_lr == a
    assert len(chart.marks.click_area.x) == 0  # the added point is taken back
    click_plot(chart, geo_mid * 1.1)
    assert chart.selected_lr == b
    chart.snap = False
    assert chart.controls.snap_box.value is False  # the checkbox follows the trait
    click_plot(chart, 3.3e-3)
    assert chart.selected_lr == pytest.approx(3.3e-3)
    assert chart.controls.candidate_menu.value is None  # not a candidate


def test_drag_follows_pointer_and_snaps_on_release(comms, saved):
    chart = show(saved)
    target = saved.candidates[0]
    handle_msgs = len(updates(chart.marks.handle, "x"))
    drag(chart, target.lr * 1.05)
    assert chart.selected_lr == pytest.approx(target.lr * 1.05)  # follows, not snapped yet
    assert chart.marks.rule.x[0] == pytest.approx(target.lr * 1.05)
    assert len(updates(chart.marks.handle, "x")) == handle_msgs  # the handle is left to the user
    drag(chart, target.lr * 1.05, end=True)
    assert chart.selected_lr == target.lr
    assert chart.marks.handle.x[0] == target.lr
    assert updates(chart.marks.handle, "x")[-1][1] == [8]  # the snapped position went back


def test_mid_drag_the_kernel_sends_the_handle_nothing_while_its_label_follows(comms, saved):
    # bqplot redraws a Scatter's points on any change of its names: a label written into the
    # dragged handle put it back where the drag began on every echo.
    chart = show(saved)
    sent = len(chart.marks.handle.comm.sent)
    for factor in (1.1, 1.3, 1.6):
        drag(chart, saved.candidates[0].lr * factor)
        assert list(chart.marks.handle_label.x) == [chart.selected_lr]
        assert chart.marks.handle_label.text == [format_lr(chart.selected_lr)]
    assert chart.marks.handle.comm.sent[sent:] == []
    # The range handles too.
    frontend_update(chart.controls.range_box, value=True)
    sent = len(chart.marks.range_handles.comm.sent)
    low = chart.selected_range[0]
    point = {"x": low * 1.3, "y": RANGE_Y}
    frontend_event(chart.marks.range_handles, {"event": "drag", "point": point, "index": 0})
    assert chart.selected_range[0] == pytest.approx(low * 1.3)
    assert chart.marks.range_labels.text[0] == format_lr(low * 1.3)
    assert chart.marks.range_handles.comm.sent[sent:] == []


def test_live_candidates_are_provisional_and_a_pick_on_one_lands_on_the_final_one(comms, saved):
    chart = LRChart()
    chart.begin_live(saved.lrs)
    live = runner_module.LiveSweep(saved.lrs, saved.settings)
    shown = []
    for i, loss in enumerate(saved.losses):
        live.add(i, loss)
        if i % 20 == 19:
            chart.refresh_live(chart.draw_live(live))
            if chart.marks.candidates.x.size:
                shown.append(list(chart.marks.candidates.x))
    assert shown, "the live curve should show candidates before it ends"
    mark = chart.marks.candidates
    assert mark.colors == [style.PROVISIONAL_COLOR]  # grey, whatever the sweep's colour
    assert "provisional" in " ".join(chart.live_status_parts())
    # Back to an early state, then a click on a live diamond: held on that candidate.
    chart.begin_live(saved.lrs)
    live = runner_module.LiveSweep(saved.lrs, saved.settings)
    clicked = None
    for i, loss in enumerate(saved.losses):
        live.add(i, loss)
        if i % 10 == 9:
            chart.refresh_live(chart.draw_live(live))
            if clicked is None and chart.marks.candidates.x.size:
                click_candidate(chart, 0)
                clicked = chart.nearest_candidate(chart.selected_lr)
                assert chart.selected_lr == clicked.lr  # exactly the diamond's LR
                assert "follows the" in " ".join(chart.live_status_parts())
    chart.set_results([saved], keep_selection=True)
    final = next(c for c in saved.candidates if c.label == clicked.label)
    assert chart.selected_lr == final.lr
    assert mark.colors == [style.series_color(0)] * len(saved.candidates)
    assert "moved to the final" in chart.status_text


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.01, 0.0, "0.01x", None])
def test_bad_front_end_values_are_refused(comms, saved, bad):
    chart = show(saved)
    before = chart.selected_lr
    frontend_event(
        chart.marks.handle, {"event": "drag_end", "point": {"x": bad, "y": 0}, "index": 0}
    )
    frontend_event(chart.marks.handle, {"event": "drag", "point": {"x": bad}, "index": 0})
    frontend_event(chart.marks.handle, {"event": "drag_end"})  # malformed
    if isinstance(bad, float):
        click_plot(chart, bad)
    frontend_event(chart.marks.candidates, {"event": "element_click", "data": {"index": 99}})
    frontend_event(chart.marks.candidates, {"event": "element_click", "data": {"index": "1"}})
    frontend_event(chart.marks.candidates, {"event": "element_click", "data": None})
    assert chart.selected_lr == before
    assert chart.marks.handle.x[0] == before and chart.marks.rule.x[0] == before
    assert chart.marks.handle_label.text[0] == format_lr(before)


def test_picks_past_the_range_are_clamped_and_python_values_outside_it_refused(comms, saved):
    chart = show(saved)
    chart.snap = False
    drag(chart, 50.0, end=True)
    assert chart.selected_lr == saved.lrs[-1]
    click_plot(chart, 1e-9)
    assert chart.selected_lr == saved.lrs[0]
    chart.selected_lr = float(saved.lrs[-1]) * (1 + 1e-12)  # rounding's worth: clamped
    assert chart.selected_lr == saved.lrs[-1]
    with pytest.raises(TraitError, match=r"outside the swept range 1.0e-5 .. 1.0e0: pick"):
        chart.selected_lr = 5.0  # from Python: said, not silently moved to the end
    assert chart.selected_lr == saved.lrs[-1]
    for bad in (math.nan, math.inf, -1.0, 0.0, "0.1", [0.1]):
        with pytest.raises(TraitError):
            chart.selected_lr = bad
    assert chart.selected_lr == saved.lrs[-1]  # unchanged by the refused values
    assert "finite" in LRChart.class_traits()["selected_lr"].help


def test_the_slider_steps_a_twentieth_of_a_decade_and_pan_zoom_says_clicks_do_not_pick(
    comms, saved
):
    import bqplot as bq

    chart = show(saved)
    assert chart.controls.slider.step == pytest.approx(0.05)  # ArrowRight: x1.12, not x1.02
    panzoom = bq.PanZoom()
    chart.figure.interaction = panzoom  # the toolbar's pan/zoom button
    assert chart.status_text.startswith("pan/zoom is on: clicks and drags move the view")
    click_candidate(chart, 1)  # picks made otherwise keep the hint until pan/zoom is off
    assert chart.status_text.startswith("pan/zoom is on")
    chart.figure.interaction = None
    panzoom.close()
    assert "pan/zoom" not in chart.status_text and "selected" in chart.status_text


def test_dropdown_and_log_slider_stay_in_sync(comms, saved):
    chart = show(saved)
    frontend_update(chart.controls.candidate_menu, index=1)  # the dropdown syncs its index
    assert chart.selected_lr == saved.candidates[1].lr
    assert chart.controls.slider.value == pytest.approx(saved.candidates[1].lr)
    assert chart.marks.handle.x[0] == saved.candidates[1].lr
    frontend_update(chart.controls.slider, value=2.0e-4)  # typed or moved: exact, no snapping
    assert chart.selected_lr == pytest.approx(2.0e-4)
    assert chart.controls.candidate_menu.value is None
    assert chart.marks.handle_label.text[0] == "2.0e-4"
    click_candidate(chart, 0)
    assert chart.controls.candidate_menu.value == saved.candidates[0].lr
    assert format_lr(saved.candidates[0].lr) in chart.controls.candidate_menu.label


def test_y_range_shows_the_valley_not_the_blow_up(comms):
    r = valley_result(blow_up=True)
    chart = show(r)
    start = float(np.nanmedian(r.smoothed[:20]))
    assert r.losses.max() > 20  # the blow-up is there
    assert chart.y_scale.max < start + 0.5  # yet the axis stops a bit above the start
    assert chart.y_scale.max > start
    assert chart.y_scale.min < np.nanmin(r.smoothed[: r.useful])


def test_long_sweeps_are_thinned_for_display_only(comms):
    r = valley_result(n=20_000, blow_up=False)
    chart = show(r)
    for raw, smooth in zip(chart.marks.raw, chart.marks.smoothed, strict=True):
        assert len(raw.x) == len(raw.y) == len(smooth.y) <= MAX_DISPLAY_POINTS
        assert raw.x[0] == r.lrs[0] and raw.x[-1] == r.lrs[-1]
    sent = sum(sum(sizes) for d, sizes in updates(chart.marks.raw[0], "y"))
    assert 0 < sent <= MAX_DISPLAY_POINTS * (8 + 4)  # x float64, y float32, once
    assert len(r.lrs) == 20_000  # the data itself is whole


def test_show_overlays_several_results_with_a_legend(comms):
    a, b = valley_result(seed=1, batch_size=32), valley_result(seed=2, batch_size=128)
    chart = lrwidget.show([a, b])
    marks = chart.figure.marks
    # The documented order (lrwidget/figure.py): click area, raws, smooths, readout, the
    # handles' labels, range strip, its edges, suggestions, the article's minima, trials'
    # squares, range handles, candidates, rule, handle.
    assert marks == chart.marks.in_order()
    assert len(marks) == 1 + 2 + 2 + 12
    assert marks[0] is chart.marks.click_area and marks[-12:] == [
        chart.marks.readout,
        chart.marks.handle_label,
        chart.marks.range_labels,
        chart.marks.range_strip,
        chart.marks.range_edges,
        chart.marks.suggestions,
        chart.marks.minima,
        chart.marks.tried,
        chart.marks.range_handles,
        chart.marks.candidates,
        chart.marks.rule,
        chart.marks.handle,
    ]
    # Each sweep's suggestion is marked and named for its owner: these two lie close, so
    # their labels are written once, not over each other.
    assert list(chart.marks.suggestions.x) == [a.suggestion, b.suggestion]
    assert list(chart.marks.suggestions.names) == ["suggested (batch 32, batch 128)", ""]
    # The candidates' tooltips name their sweep, and so does the readout's.
    assert list(chart.marks.candidates.names) == ["batch 32"] * len(a.candidates) + [
        "batch 128"
    ] * len(b.candidates)
    assert "sweep" in chart.marks.candidates.tooltip.labels
    assert chart.marks.readout.names[0].endswith("(batch 32)")
    smooth = marks[3:5]
    assert [m.labels for m in smooth] == [["batch 32"], ["batch 128"]]
    assert all(m.display_legend for m in smooth)
    assert smooth[0].colors != smooth[1].colors
    assert len(chart.marks.candidates.x) == len(a.candidates) + len(b.candidates)
    assert len(set(chart.marks.candidates.colors)) == 2
    assert "lrwidget-figure" in chart.figure._dom_classes
    # Far apart, each keeps its own label.
    far = valley_result(seed=3, batch_size=64)
    far_lrs = far.lrs * 300  # the same curve, 2.5 decades to the right
    far = SweepResult(lrs=far_lrs, losses=far.losses, settings=far.settings, meta=far.meta)
    names = list(lrwidget.show([a, far]).marks.suggestions.names)
    assert names == ["suggested (batch 32)", "suggested (batch 64)"]
    # Sweeps of two optimizers at one batch size are told apart by their optimizer.
    a.meta.update(optimizer="SGD"), b.meta.update(optimizer="Adam", batch_size=32)
    legend = [m.labels for m in lrwidget.show([a, b]).marks.smoothed]
    assert legend == [["SGD"], ["Adam"]]
    plotted = show(a)  # one sweep, not in a list
    assert isinstance(plotted, LRChart) and plotted.selected_lr == pytest.approx(a.suggestion)
    with pytest.raises(TypeError):
        show([a, "not a result"])


# --- live sweeps on a real model ---------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.data / 16.0).astype("float32"), d.target.astype("int32")


def tiny_model(lr=0.01, schedule=False):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)]
    )
    if schedule:
        lr = keras.optimizers.schedules.ExponentialDecay(lr, decay_steps=10, decay_rate=0.9)
    model.compile(
        keras.optimizers.SGD(lr, momentum=0.9),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


class At(keras.callbacks.Callback):
    """Runs ``action`` in the sweep thread once per sweep, after batch ``batch``."""

    def __init__(self, batch, action):
        super().__init__()
        self.batch, self.action, self.done = batch, action, False

    def on_train_begin(self, logs=None):
        self.done = False

    def on_train_batch_end(self, batch, logs=None):
        if not self.done and batch >= self.batch:
            self.done = True
            self.action()


def test_live_sweep_streams_coalesced_and_ends_on_the_suggestion(comms, digits, monkeypatch):
    x, y = digits
    # Each step takes at least 4 ms, so the sweep outlasts many update intervals however fast
    # the machine: the live updates under test cannot all fall into one interval.
    pace = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: time.sleep(0.004))
    finder = LRFinderWidget(
        tiny_model(), x, y, batch_size=16, num_steps=400, start_lr=1e-4, callbacks=[pace]
    )
    seen_live = []
    finder.chart.marks.candidates.observe(lambda ch: seen_live.append(finder.running), "x")
    started = time.perf_counter()
    result = finder.run(block=True)
    elapsed = time.perf_counter() - started

    assert result is finder.result and len(result) > 50
    raw_updates = updates(finder.chart.marks.raw[0], "y")
    # Coalesced by time: about 10 a second, far fewer than points, plus the start and the end.
    assert 2 <= len(raw_updates) <= elapsed / runner_module.UPDATE_INTERVAL + 3
    assert len(raw_updates) < len(result) / 5
    first, *live, last = raw_updates
    assert "x" in first[0]["state"]  # the planned LR grid goes once, at the start
    assert live and all(sizes == [400 * 4] for _, sizes in live)  # then only y, float32
    assert True in seen_live  # candidates were drawn while the sweep ran
    assert finder.selected_lr == pytest.approx(result.suggestion)
    assert finder.progress.value == len(result) and "ETA" not in finder.progress_text.value
    assert result.stop_reason in finder.status.value
    assert not finder.running and not finder.run_button.disabled and finder.stop_button.disabled


class StopDuring(keras.callbacks.Callback):
    """Holds the sweep thread in step ``step`` until ``request`` (run in another thread, as the
    kernel handles a Stop click) has returned: the stop arrives while that batch is running."""

    def __init__(self, step, request):
        super().__init__()
        self.step, self.request, self.seen = step, request, 0

    def on_train_batch_begin(self, batch, logs=None):
        if self.seen == self.step:
            clicker = threading.Thread(target=self.request)
            clicker.start()
            clicker.join(60)
            assert not clicker.is_alive()
        self.seen += 1


def test_stop_ends_the_sweep_within_one_batch_and_restores_the_weights(comms, digits):
    x, y = digits
    model = tiny_model()
    before = [w.copy() for w in model.get_weights()]
    at = 20

    def click_stop():  # the Stop button's click as the front end sends it
        frontend_event(finder.stop_button, {"event": "click"})

    finder = LRFinderWidget(
        model, x, y, batch_size=16, num_steps=5000, callbacks=[StopDuring(at, click_stop)]
    )
    assert finder.run() is None  # returns at once
    assert finder.wait(60)
    result = finder.result
    assert result.stop_reason == "stopped"
    assert len(result) == at + 1  # the batch under way when Stop came is the last one
    after = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    assert "stopped" in finder.status.value


def test_a_pick_made_during_the_sweep_is_kept_and_a_new_sweep_starts_without_one(comms, digits):
    x, y = digits
    finder = LRFinderWidget(tiny_model(), x, y, batch_size=16, num_steps=120, start_lr=1e-4)

    def slide_to(lr):  # the user moves the LR slider while the sweep runs
        return lambda: finder.chart.controls.slider.set_state({"value": lr})

    finder.sweep_args["callbacks"] = [StopDuring(60, slide_to(3e-3))]
    result = finder.run(block=True)
    assert result.suggestion is not None and result.suggestion != pytest.approx(3e-3)
    assert finder.selected_lr == pytest.approx(3e-3)  # the user's pick, not the suggestion

    seen_at_start = []
    finder.sweep_args["callbacks"] = [At(0, lambda: seen_at_start.append(finder.selected_lr))]
    finder.run(block=True)
    assert seen_at_start == [None]  # the old pick was cleared for the new curve
    assert finder.selected_lr == pytest.approx(finder.result.suggestion)


def test_second_run_is_refused_while_one_runs(comms, digits):
    x, y = digits
    release, holding = threading.Event(), threading.Event()

    def hold():
        holding.set()
        release.wait(60)

    finder = LRFinderWidget(
        tiny_model(), x, y, batch_size=16, num_steps=60, callbacks=[At(5, hold)]
    )
    finder.run()
    try:
        assert holding.wait(60)
        assert finder.running and finder.run_button.disabled and not finder.stop_button.disabled
        assert finder.apply_button.disabled
        with pytest.raises(RuntimeError, match="already running"):
            finder.run()
        finder.run_button.click()  # the button path never raises into the front end
        assert "already running" in finder.status.value
        partial = finder.result
        assert partial.stop_reason == "running" and len(partial) >= 6
        with pytest.raises(RuntimeError, match="sweep is running"):
            finder.apply()
    finally:
        release.set()
    assert finder.wait(60) and finder.result.stop_reason != "running"


def test_exception_in_the_sweep_thread_is_kept_and_shown(comms, digits):
    x, y = digits

    def boom():
        raise ValueError("boom in batch 3")

    model = tiny_model()
    before = [w.copy() for w in model.get_weights()]
    finder = LRFinderWidget(model, x, y, batch_size=16, num_steps=50, callbacks=[At(3, boom)])
    finder.run()
    with pytest.raises(ValueError, match="boom in batch 3"):
        finder.wait(60)  # waiting in a cell says the sweep failed, not only finder.error
    assert isinstance(finder.error, ValueError) and "boom in batch 3" in str(finder.error)
    assert "ValueError: boom in batch 3" in finder.status.value
    shown = "".join(o.get("text", "") for o in finder.messages.outputs)
    assert "The sweep failed: ValueError: boom in batch 3" in shown  # under Run, in full
    assert not finder.running and not finder.run_button.disabled
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    with pytest.raises(ValueError, match="boom"):
        finder.run(block=True)  # a script sees the error raised


def test_a_wrong_input_shape_is_named_in_the_status_line_and_shown_in_full_under_run(comms, digits):
    x, y = digits
    model = tiny_model()
    before = [w.copy() for w in model.get_weights()]
    finder = LRFinderWidget(model, x[:, :63], y, batch_size=16, num_steps=50)  # 64 inputs
    finder.run_button.click()
    with pytest.raises(ValueError, match="expected axis -1"):
        finder.wait(60)
    status = finder.chart.status_text
    # The cause (Keras's second line), not the last line of its message (its arguments).
    assert "expected axis -1 of input shape to have value 64" in status and "(None, 63)" in status
    assert "kwargs" not in status and "\x1b" not in status
    shown = "".join(o.get("text", "") for o in finder.messages.outputs)
    assert shown.startswith("The sweep failed: ValueError: Input 0") and "Arguments" in shown
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    finder.sweep_args["num_steps"] = 10**6
    finder.x = x  # fixed: the next Run clears the error and its message
    finder.run()
    finder.stop()
    assert finder.wait(60) and finder.error is None and finder.messages.outputs == ()


def test_an_error_is_named_by_its_first_line_that_says_what_is_wrong():
    graph_error = RuntimeError(
        "Graph execution error:\n\nDetected at node loss/Sparse defined at (most recent call "
        'last):\n  File "/x.py", line 12, in <module>\n\n  File "/y.py", line 3, in f\n\n'
        "Received a label value of 12 which is outside the valid range of [0, 10).\n"
        "\t [[{{node loss/Sparse}}]] [Op:__inference_step_394]"
    )
    assert failure.cause(graph_error).startswith("Received a label value of 12")
    assert failure.cause(ValueError("plain")) == "plain"
    assert failure.cause(KeyError()) == "KeyError"
    long = failure.cause(ValueError("x" * 1000))
    assert len(long) == failure.CAUSE_CHARS and long.endswith("…")


def test_an_uncompiled_model_is_refused_when_the_finder_is_built(digits):
    x, y = digits
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match=r"not compiled: call model.compile\(optimizer"):
        LRFinderWidget(model, x, y)
    with pytest.raises(TypeError, match="keras.Model, got str"):
        LRFinderWidget("model.keras", x, y)


def test_an_interrupted_cell_sweep_shows_its_curve_as_stopped_and_can_be_saved(
    comms, digits, tmp_path
):
    x, y = digits
    model = tiny_model()
    before = [w.copy() for w in model.get_weights()]

    def interrupt():  # what Jupyter's interrupt button does to a busy cell
        raise KeyboardInterrupt

    finder = LRFinderWidget(
        model, x, y, batch_size=16, num_steps=400, callbacks=[At(40, interrupt)]
    )
    with pytest.raises(KeyboardInterrupt):
        finder.run(background=False)
    assert not finder.running and finder.error is None
    assert finder.result.stop_reason == "stopped" and finder.result.meta["interrupted"]
    assert "ETA" not in finder.progress_text.value
    assert finder.progress_text.value.endswith("· interrupted")
    status = finder.chart.status_text
    assert "interrupted" in status and "press Run to start" not in status
    assert finder.save_image(tmp_path / "partial.png").read_bytes().startswith(b"\x89PNG")
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_an_interrupted_family_in_the_cells_thread_keeps_its_finished_members(comms, digits):
    x, y = digits
    model = tiny_model()
    before = [w.copy() for w in model.get_weights()]
    calls = []

    def interrupt():  # in the second member: what Jupyter's interrupt does to a busy cell
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    finder = LRFinderWidget(
        model,
        x,
        y,
        vary={"weight_decay": [0.0, 0.01, 0.1]},
        batch_size=16,
        num_steps=60,
        callbacks=[At(20, interrupt)],
    )
    with pytest.raises(KeyboardInterrupt):  # not an AttributeError from the view
        finder.run(background=False)
    family = finder.result
    assert family.labels == ["weight_decay=0"] and family.meta["interrupted"]
    assert family.meta["stop_reason"] == "stopped" and not finder.running
    assert finder.progress_text.value.endswith("· interrupted")
    assert "running" not in finder.chart.status_text
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


def test_unknown_sweep_argument_is_refused(digits):
    x, y = digits
    with pytest.raises(TypeError, match="unknown sweep argument"):
        LRFinderWidget(tiny_model(), x, y, batch_sise=16)
    with pytest.raises(TypeError, match="on_point"):
        LRFinderWidget(tiny_model(), x, y, on_point=print)


def test_apply_sets_the_optimizer_lr(comms, digits):
    x, y = digits
    model = tiny_model(lr=0.01)
    finder = LRFinderWidget(model, x, y)
    with pytest.raises(ValueError, match="no learning rate selected"):
        finder.apply()
    finder.apply_button.click()
    assert "not applied" in finder.status.value
    finder.selected_lr = 0.05
    finder.apply_button.click()
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)
    assert "learning rate to 5.0e-2" in finder.chart.status_text  # as the chart writes LRs


def test_after_apply_and_another_pick_the_status_says_what_the_optimizer_holds(comms, digits):
    x, y = digits
    model = tiny_model(lr=0.01)
    finder = LRFinderWidget(model, x, y)
    finder.chart.set_results([valley_result()])
    summary = finder.chart.status_text.split(" · ")[0]  # the sweep's summary comes first
    finder.selected_lr = 0.068
    finder.apply()
    assert "learning rate to 6.8e-2" in finder.status_text
    assert finder.status_text.startswith(summary)  # kept beside Apply's message
    finder.selected_lr = 0.044  # another pick, not applied
    assert float(model.optimizer.learning_rate) == pytest.approx(0.068)
    assert "selected 4.4e-2" in finder.status_text and "applied 6.8e-2" in finder.status_text
    assert finder.status_text.startswith(summary)
    finder.selected_lr = 0.068  # back on what was applied: Apply's own words again
    assert "learning rate to 6.8e-2" in finder.status_text


def test_apply_never_replaces_a_schedule_silently(comms, digits):
    x, y = digits
    model = tiny_model(schedule=True)
    schedule = model.optimizer._learning_rate
    finder = LRFinderWidget(model, x, y)
    finder.selected_lr = 0.05
    with pytest.raises(ValueError, match="replace_schedule=True"):
        finder.apply()
    assert model.optimizer._learning_rate is schedule
    message = finder.apply(replace_schedule=True)
    assert "ExponentialDecay" in message
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)  # retraced with the new LR
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05)


def test_decay_callback_multiplies_by_factor_each_epoch(comms, digits):
    x, y = digits
    model = tiny_model()
    finder = LRFinderWidget(model, x, y)
    finder.selected_lr = 0.1
    seen = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate))
    )
    model.fit(
        x[:64], y[:64], batch_size=32, epochs=3, verbose=0,
        callbacks=[finder.decay_callback(factor=0.97), record],
    )  # fmt: skip
    assert seen == pytest.approx([0.1, 0.097, 0.1 * 0.97**2], rel=1e-6)


def test_learning_rates_are_written_one_way_everywhere():
    # As d3 writes ".1e" on the axis and in the tooltips: no zero-padded exponent.
    assert [format_lr(v) for v in (0.0055, 12.0, 1e-7, None)] == ["5.5e-3", "1.2e1", "1.0e-7", "-"]


def test_a_picked_range_is_drawn_snapped_and_becomes_a_schedule_that_trains(comms, digits):
    x, y = digits
    model = tiny_model()
    saved = valley_result()
    finder = LRFinderWidget(model, x, y, batch_size=32)
    finder.chart.set_results([saved])
    chart = finder.chart
    with pytest.raises(ValueError, match="no range picked"):
        finder.one_cycle_schedule(100)
    frontend_update(chart.controls.range_box, value=True)  # the user ticks "pick a range"
    low, high = finder.selected_range
    assert (
        low < high
        and chart.marks.range_strip.visible
        and list(chart.marks.range_handles.x) == [low, high]
    )
    # Dragging the high end a little past the last candidate snaps it there on release.
    top = saved.candidates[-1].lr
    point = {"x": top * 1.05, "y": RANGE_Y}
    frontend_event(chart.marks.range_handles, {"event": "drag", "point": point, "index": 1})
    assert finder.selected_range[1] == pytest.approx(top * 1.05)  # follows the pointer
    frontend_event(chart.marks.range_handles, {"event": "drag_end", "point": point, "index": 1})
    low, high = finder.selected_range
    assert high == top and list(chart.marks.range_strip.x) == [low, low, high, high]
    with pytest.raises(TraitError):
        finder.selected_range = (high, low)  # refused: no width
    assert finder.selected_range == (low, high)

    one_cycle = finder.one_cycle_schedule(200)
    assert float(one_cycle(0)) == pytest.approx(low, rel=1e-5)
    assert float(one_cycle(50)) == pytest.approx(high, rel=1e-5)  # the top after a quarter
    config = keras.optimizers.schedules.serialize(one_cycle)
    assert keras.optimizers.schedules.deserialize(config).get_config() == one_cycle.get_config()
    cyclic = finder.cyclic_schedule(10)
    assert [float(cyclic(s)) for s in (0, 10, 20)] == pytest.approx([low, high, low], rel=1e-5)

    finder.apply(schedule=one_cycle)
    model.fit(x[:96], y[:96], batch_size=32, epochs=1, verbose=0)
    step = int(model.optimizer.iterations.numpy())
    assert step == 3 and float(model.optimizer.learning_rate) == pytest.approx(
        float(one_cycle(step)), rel=1e-5
    )


def test_the_chart_saves_as_png_or_svg_and_a_bad_suffix_is_named(comms, tmp_path, monkeypatch):
    saved = valley_result()
    chart = lrwidget.show(saved)
    with pytest.raises(ValueError, match="nothing to save yet"):
        LRChart().save_image(tmp_path / "empty.png")
    png = chart.save_image(tmp_path / "chart.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert b"<svg" in chart.save_image(tmp_path / "chart.svg").read_bytes()
    with pytest.raises(ValueError, match=r"must end in \.png or \.svg"):
        chart.save_image(tmp_path / "chart.jpg")
    # The picture shows the pick: another pick, another picture.
    chart.pick(saved.candidates[0].lr)
    assert chart.save_image(tmp_path / "other.png").read_bytes() != png
    # The Save button writes into the kernel's working directory and says where.
    monkeypatch.chdir(tmp_path)
    chart.controls.save_button.click()
    assert (tmp_path / "lr_finder.png").is_file()
    assert f"saved {tmp_path / 'lr_finder.png'} (in the kernel's working" in chart.status_text


def test_each_chart_saves_to_a_file_of_its_own_named_after_the_model(comms, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    first, second = lrwidget.show(valley_result()), lrwidget.show(valley_result(seed=1))
    first.controls.save_button.click()
    second.controls.save_button.click()  # another chart: another file, the first one kept
    written = (tmp_path / "lr_finder.png").read_bytes()
    assert (tmp_path / "lr_finder-2.png").read_bytes() != written
    first.pick(first.results[0].candidates[0].lr)
    first.controls.save_button.click()  # the same chart again: its own file, updated
    assert (tmp_path / "lr_finder.png").read_bytes() != written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lr_finder-2.png", "lr_finder.png"]

    # A sweep of a model names the file after it (find_lr records the model's name).
    swept = valley_result()
    swept = SweepResult(lrs=swept.lrs, losses=swept.losses, meta={"model": "my cnn/2"})
    named = lrwidget.show(swept)
    named.controls.save_button.click()
    assert (tmp_path / "lr_finder_my_cnn_2.png").is_file()
    assert f"saved {tmp_path / 'lr_finder_my_cnn_2.png'}" in named.status_text


def test_a_displayed_chart_carries_a_picture_of_its_last_state(comms):
    import base64

    data, _ = LRChart()._repr_mimebundle_()
    assert "image/png" not in data  # nothing to draw yet
    data, _ = lrwidget.show(valley_result())._repr_mimebundle_()
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"start_lr": 1e-2, "end_lr": 1e-5}, "end_lr"),
        ({"start_lr": -1.0}, "start_lr"),
        ({"end_lr": float("nan")}, "end_lr"),
        ({"mode": "cosine"}, "mode"),
    ],
)
def test_a_range_the_sweep_cannot_run_is_refused_when_the_widget_is_built(digits, args, message):
    x, y = digits
    with pytest.raises((ValueError, TypeError), match=message):
        LRFinderWidget(tiny_model(), x, y, **args)


def test_a_pick_at_the_end_of_the_range_writes_its_label_to_the_left_unclipped(comms, saved):
    chart = show(saved)
    label, handle = chart.marks.handle_label, chart.marks.handle
    chart.selected_lr = saved.lrs[-1]  # the right end of the axis
    assert label.align == "end" and label.x_offset < 0
    chart.selected_lr = saved.lrs[0]
    assert label.align == "start" and label.x_offset > 0
    assert not handle.apply_clip and not label.apply_clip  # not cut in half at the edge
    assert not chart.marks.range_handles.apply_clip and not chart.marks.range_labels.apply_clip


def test_the_x_axis_keeps_the_planned_range_when_a_live_sweep_ends_early(comms, saved):
    chart = LRChart()
    chart.begin_live(saved.lrs)
    n = len(saved) // 2  # diverged halfway
    early = SweepResult(
        lrs=saved.lrs[:n], losses=saved.losses[:n], stop_reason="diverged", settings=saved.settings
    )
    chart.set_results([early], keep_selection=True)
    assert (chart.x_scale.min, chart.x_scale.max) == (saved.lrs[0], saved.lrs[-1])
    show_only = show(early)  # a saved sweep on its own spans its own points
    assert show_only.x_scale.max == saved.lrs[n - 1]


def test_every_line_of_the_lr_chart_lets_clicks_through_to_the_plot_and_the_handles(comms):
    chart = lrwidget.show(valley_result())
    css = chart.controls.css.value
    # The raw and smoothed lines, the rule and the range's edges and strip are bqplot Lines:
    # their paths take no pointer, so a click on them is a click on the plot (which picks)
    # and the range handle under the rule can be grabbed.
    for part in ("g.curve > path.line", "g.curve > path.area"):
        assert f".lrwidget-figure {part}" in css
    assert "pointer-events: none" in css.split("g.curve > path.line")[1]
    assert all(isinstance(m, bq.Lines) for m in (*chart.marks.raw, chart.marks.rule))
    assert ".lrwidget-trials" not in css  # the trials' lines are clicked
    # The handles (the last mark; the range's, fourth from the end) show a resize cursor.
    marks = chart.marks.in_order()
    assert marks[-1] is chart.marks.handle and marks[-4] is chart.marks.range_handles
    assert "nth-last-child(2) path.dot" in css and "nth-last-child(5) path.dot" in css
    assert "cursor: ew-resize" in css


def test_the_articles_minima_are_drawn_clickable_listed_after_the_candidates_and_hideable(comms):
    result = valley_result()
    minima = sorted(result.minima, key=lambda m: m.lr)
    assert minima and result.candidates
    chart = lrwidget.show(result)
    mark, menu = chart.marks.minima, chart.controls.candidate_menu
    assert list(mark.x) == [m.lr for m in minima] and list(mark.y) == [m.loss for m in minima]
    assert mark.marker != chart.marks.candidates.marker
    lowest = min(range(len(minima)), key=lambda k: minima[k].loss)
    assert [n for n in mark.names if n] == [style.MINIMUM] and mark.names[lowest] == "minimum"
    # The menu: the candidates by LR, then the minima, each named.
    lrs = [lr for _, lr in menu.options]
    n = len(result.candidates)
    assert lrs == sorted(c.lr for c in result.candidates) + [m.lr for m in minima]
    assert all(text.startswith("minimum") for text, _ in menu.options[n:])
    # A click on a minimum picks its LR exactly, the status line says what it is.
    k = len(minima) - 1
    data = {"x": float(mark.x[k]), "y": float(mark.y[k]), "index": k}
    frontend_event(mark, {"event": "element_click", "data": data})
    assert chart.selected_lr == minima[k].lr
    assert (
        style.MINIMUM_NOTE in chart.status_text and "suggestion trains better" in chart.status_text
    )
    assert menu.index == n + k
    chart.pick(result.candidates[0].lr)
    assert style.MINIMUM_NOTE not in chart.status_text
    # Hidden: not drawn, not in the menu; shown again, both back.
    chart.controls.minima_box.value = False
    assert not chart.show_minima and len(mark.x) == 0 and len(menu.options) == n
    chart.show_minima = True
    assert chart.controls.minima_box.value and len(mark.x) == len(minima)
    assert not lrwidget.show(result, show_minima=False).marks.minima.x.size


def test_a_click_that_snaps_far_says_how_far_the_pick_moved_and_how_to_pick_there(comms):
    result = valley_result()
    chart = lrwidget.show(result)
    lo = chart.swept_range[0]
    click_plot(chart, lo * 1.5)  # far left of every candidate: snapping moves it far
    target = chart.nearest_candidate(lo * 1.5)
    assert chart.selected_lr == target.lr
    decades = math.log10(target.lr / (lo * 1.5))
    assert f"snapped {decades:.1f} decades from the click" in chart.status_text
    assert "clear the snap box to pick where you click" in chart.status_text
    click_plot(chart, target.lr * 1.01)  # next to a candidate: no word about it
    assert chart.selected_lr == target.lr and "snapped" not in chart.status_text
    chart.snap = False
    click_plot(chart, lo * 1.5)
    assert chart.selected_lr == pytest.approx(lo * 1.5) and "snapped" not in chart.status_text


def test_the_finders_status_reads_as_plain_text(comms):
    finder = LRFinderWidget(tiny_model(), np.zeros((4, 64), "float32"), np.zeros(4, "int32"))
    assert finder.status_text == finder.chart.status_text == "press Run to start the sweep"
    assert "<" not in finder.status_text


def test_the_legend_sits_in_the_corner_the_curves_leave_free(comms):
    a, b = valley_result(seed=1, batch_size=32), valley_result(seed=2, batch_size=128)
    chart = lrwidget.show([a, b])
    assert chart.figure.legend_location == "bottom-left"
    lo, hi = chart.swept_range
    left = lo * (hi / lo) ** 0.25  # the left quarter of the axis
    middle = (chart.y_scale.min + chart.y_scale.max) / 2
    for mark in (*chart.marks.raw, *chart.marks.smoothed):
        x, y = np.asarray(mark.x), np.asarray(mark.y, dtype=np.float64)
        assert (y[x < left] > middle).all()  # nothing drawn in the bottom-left corner
    for mark in (chart.marks.candidates, chart.marks.suggestions, chart.marks.minima):
        assert (np.asarray(mark.x) > left).all()
