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


def test_candidates_are_trainable_points_of_the_descent_and_minima_stay_available():
    r = _result()
    labels = [c.label for c in r.candidates]
    assert "suggested" in labels and len(r.candidates) >= 2  # more than one choice
    assert r.suggestion in [c.lr for c in r.candidates]  # the pre-selected LR is a diamond
    assert r.minima and all(m.label == "minimum" for m in r.minima)
    # Every candidate sits well below where the loss bottoms out.
    assert max(c.lr for c in r.candidates) * 3 <= min(m.lr for m in r.minima)
    assert r.notes == []  # the sweep blew up: the range was wide enough


def _still_falling(stop_reason="completed"):
    lrs = np.logspace(-7, 1, 100)
    x = np.log10(lrs)
    losses = 2.3 - 1.5 / (1 + np.exp(-2 * (x + 1)))  # still falling at end_lr=10
    return SweepResult(lrs=lrs, losses=losses, stop_reason=stop_reason)


def test_a_sweep_that_ended_before_the_loss_turned_up_says_how_to_widen_the_range():
    r = _still_falling()
    assert r.useful == len(r)  # never diverged
    assert len(r.notes) == 1 and "end_lr=100" in r.notes[0]
    assert r.candidates and all(c.lr * 3 <= r.lrs[-1] for c in r.candidates)
    assert all(c.index < len(r) - 1 for c in r.minima)  # the open end is not a minimum
    assert "was stopped" in _still_falling("stopped").notes[0]
    assert _still_falling("running").notes == []
    r.notes.append("mine")  # a copy: the result does not change
    assert len(r.notes) == 1


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
    assert back.minima == r.minima and back.notes == r.notes


def test_a_file_written_before_minima_and_notes_existed_loads_and_is_read_anew(tmp_path):
    r = _still_falling()
    old = r.to_dict()
    # What version 1 wrote before: the article's minima as "candidates", no labels, no notes.
    del old["minima"], old["notes"]
    old["candidates"] = [{"lr": 10.0, "loss": 0.8, "index": 99}]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    back = SweepResult.load(path)
    assert back.candidates == r.candidates and back.candidates[-1].lr < 10.0 / 3
    assert back.notes == r.notes and back.minima == r.minima


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


def test_a_sweep_stopped_before_the_loss_fell_offers_no_suggestion_and_says_why():
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-6, 1e-3, 272)  # stopped at 272 of 1,500 planned steps
    flat = 2.3 + rng.normal(0, 0.01, len(lrs))
    r = SweepResult(lrs=lrs, losses=flat, stop_reason="stopped", meta={"num_steps": 1500})
    assert r.suggestion is None and r.candidates == []
    assert any("never fell" in note for note in r.notes)
