"""SweepResult: derived values, JSON round trip, and refusing malformed or foreign files."""

import itertools
import json

import numpy as np
import pytest

from lrwidget import SweepResult
from lrwidget.result import AnalysisSettings


def _result(**kw):
    lrs = np.logspace(-5, 0, 120)
    x = np.log10(lrs)
    losses = 2.3 - 2 / (1 + np.exp(-3 * (x + 3))) + np.exp(4 * x) + 0.01 * np.cos(40 * x)
    losses[-1] = np.nan
    return SweepResult(lrs=lrs, losses=losses, stop_reason="non_finite", meta={"k": 1}, **kw)


def test_derived_values_follow_the_settings():
    r = _result()
    assert r.useful == len(r) - 1  # the NaN at the end is cut off
    assert r.candidates and r.suggestion is not None
    assert all(c.index < r.useful for c in r.candidates)
    wide = r.with_settings(spacing=10.0)
    assert len(wide.candidates) <= len(r.candidates)
    assert all(b.lr / a.lr >= 10 for a, b in itertools.pairwise(wide.candidates))
    np.testing.assert_array_equal(wide.losses, r.losses)


def test_arrays_are_read_only_and_lengths_checked():
    r = _result()
    with pytest.raises(ValueError):
        r.losses[0] = 1.0
    with pytest.raises(ValueError, match="one value per step"):
        SweepResult(lrs=[1e-3, 1e-2], losses=[1.0])


def test_save_and_load_round_trip_keeps_nan_and_everything_derived(tmp_path):
    r = _result(settings=AnalysisSettings(beta=0.9, spacing=1.5))
    path = r.save(tmp_path / "sweep.json")
    text = path.read_text()
    assert "NaN" not in text  # strict JSON: NaN is written as null
    back = SweepResult.load(path)
    np.testing.assert_array_equal(back.lrs, r.lrs)
    np.testing.assert_array_equal(back.losses, r.losses)  # NaN == NaN here
    assert back.settings == r.settings and back.meta == r.meta
    assert back.stop_reason == "non_finite"
    assert back.candidates == r.candidates and back.suggestion == r.suggestion


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "not an lrwidget sweep"),
        ('{"format": "something.else"}', "not an lrwidget sweep"),
        ('{"format": "lrwidget.sweep", "version": 99}', "version"),
        ('{"format": "lrwidget.sweep", "version": 1, "lrs": "x"}', "'lrs'"),
        ('{"format": "lrwidget.sweep", "version": 1, "lrs": [1], "losses": [true]}', "losses"),
        ('{"format": "lrwidget.sweep", "version": 1, "lrs": [-1], "losses": [1]}', "positive"),
        (
            '{"format": "lrwidget.sweep", "version": 1, "lrs": [1], "losses": [1], '
            '"stop_reason": "completed", "settings": {"beta": 7}}',
            "beta",
        ),
        (
            '{"format": "lrwidget.sweep", "version": 1, "lrs": [1], "losses": [1], '
            '"stop_reason": "completed", "settings": {"evil": 1}}',
            "unknown",
        ),
        ('{"format": "lrwidget.sweep", "version": 1, "lrs": [1], "losses": [NaN]}', "JSON"),
        ("[" * 100000, "JSON"),
    ],
)
def test_malformed_files_raise_value_error_saying_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        SweepResult.load(path)


def test_truncated_file_is_a_value_error(tmp_path):
    text = json.dumps(_result().to_dict())
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="not valid JSON"):
        SweepResult.load(path)


def test_binary_garbage_is_a_value_error(tmp_path):
    path = tmp_path / "bin.json"
    path.write_bytes(b"\x80\x04\x95pickle")
    with pytest.raises(ValueError):
        SweepResult.load(path)
