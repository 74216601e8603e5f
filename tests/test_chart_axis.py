"""The chart's x axis: few enough ticks for a narrow notebook at any zoom, and bqplot's toolbar
(PanZoom, Reset) kept in line with the kernel. The browser side: js/tests/layout.spec.ts."""

from __future__ import annotations

import math

import bqplot as bq
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrwidget.chart import LRChart
from lrwidget.figure import log_ticks, loss_format
from lrwidget.style import y_window


def frontend_update(widget, **state):
    """An ``update`` message as the browser sends it (no arrays here)."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state}}, "buffers": []})


def labels(ticks, digits):
    """The tick labels as d3's ``.{digits}~e`` writes them (trailing zeros dropped)."""
    out = []
    for t in ticks:
        mantissa, exponent = f"{t:.{digits}e}".split("e")
        out.append(f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}")
    return out


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (1e-4, 10.000000000000002, [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]),  # a sweep: powers of 10
        (1e-7, 10.0, [1e-6, 1e-4, 1e-2, 1.0]),  # eight decades: every other power
        (1e-3, 0.09, [1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2]),  # zoomed to two decades: 1-2-5
        (1.1e-3, 0.99, [3e-3, 1e-2, 3e-2, 1e-1, 3e-1]),  # 1-2-5 would be 8: 1-3
    ],
)
def test_x_ticks_are_few_and_round(lo, hi, expected):
    assert log_ticks(lo, hi) == pytest.approx(expected)


@pytest.mark.parametrize("lo, hi", [(0.02, 0.06), (0.0272, 0.0275), (0.027202424, 0.027202429)])
def test_zoomed_in_x_ticks_are_evenly_spaced_and_read_differently(comms, lo, hi):
    chart = LRChart()
    frontend_update(chart.x_scale, min=lo, max=hi)  # a zoom in the browser
    axis = chart.figure.axes[0]
    ticks = list(axis.tick_values)
    assert 2 <= len(ticks) <= 7
    assert all(lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9) for t in ticks)
    assert np.allclose(np.diff(ticks), ticks[1] - ticks[0])
    digits = int(axis.tick_format[1:].split("~")[0])
    assert len(set(labels(ticks, digits))) == len(ticks), labels(ticks, digits)


def test_no_range_no_ticks_of_ours():
    assert log_ticks(None, 1.0) == [] and log_ticks(1.0, 1.0) == [] and log_ticks(0.0, 1.0) == []


def test_the_toolbars_panzoom_zooms_each_data_scale_once_and_its_reset_reaches_the_kernel(comms):
    chart = LRChart()
    chart.plot.set_swept_range(1e-4, 10.0)
    chart.plot.set_y_window((0.5, 2.5))
    home = (chart.x_scale.min, chart.x_scale.max, chart.y_scale.min, chart.y_scale.max)
    unit = chart.marks.rule.scales["y"]
    # The toolbar's PanZoom: made in the browser, set as the figure's interaction, and given
    # every mark's scales (the x scale once per mark), in that order as JupyterLab sends them.
    pz = bq.PanZoom()
    frontend_update(chart.figure, interaction=f"IPY_MODEL_{pz.model_id}")
    ids = {"x": [m.scales["x"] for m in chart.figure.marks], "y": [chart.y_scale, unit, unit]}
    frontend_update(pz, scales={k: [f"IPY_MODEL_{s.model_id}" for s in v] for k, v in ids.items()})
    assert pz.scales == {"x": [chart.x_scale], "y": [chart.y_scale]}

    frontend_update(chart.x_scale, min=0.02, max=0.06)  # zoomed in the browser
    frontend_update(chart.y_scale, min=1.0, max=1.5)
    assert math.isclose(chart.figure.axes[0].tick_values[0], 0.02)

    # Reset: the browser puts its own scales back without a word, closes the PanZoom and
    # sets the interaction back.
    pz.comm.close_callback({"content": {"data": {}}})
    frontend_update(chart.figure, interaction=None)
    assert (chart.x_scale.min, chart.x_scale.max, chart.y_scale.min, chart.y_scale.max) == home
    assert list(chart.figure.axes[0].tick_values) == pytest.approx([1e-4, 1e-3, 1e-2, 0.1, 1.0, 10])


@given(
    lo=st.floats(0.0, 50.0),
    span=st.floats(1e-4, 100.0),
    count=st.sampled_from([4, 5, 8, 10]),
)
def test_loss_ticks_read_distinct_in_fixed_point_whatever_the_window(lo, span, count):
    # d3 puts 'count' ticks or so at round steps; the format must tell them apart, without
    # an exponent (the "2.3528e+0" that ran into the axis label).
    hi = lo + span
    step = 10 ** math.floor(math.log10(span / count))
    ticks = np.arange(math.ceil(lo / step), math.floor(hi / step) + 1) * step
    fmt = loss_format(lo, hi)
    digits = int(fmt[1 : fmt.index("~")])
    written = [f"{t:.{digits}f}" for t in ticks]
    assert len(set(written)) == len(written) and not any("e" in w for w in written)
    assert max(len(w) for w in written) <= 9  # fits the 48 px left of the axis label


def test_a_loss_that_is_never_negative_gets_no_axis_below_zero():
    smoothed = np.array([0.3, 0.2, 0.05, 0.01, 0.004])
    assert y_window(smoothed, smoothed)[0] == 0.0
    assert y_window(smoothed - 1.0)[0] < -1.0  # a loss that can be negative keeps its margin
