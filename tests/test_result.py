"""SweepResult: derived values, JSON round trip, and refusing malformed or foreign files."""

import dataclasses
import itertools
import json
import re

import numpy as np
import pytest

from lrwidget import SweepResult, analysis
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


def _lasting(num_steps, default_steps):
    r = _result()
    return SweepResult(r.lrs, r.losses, stop_reason="non_finite",
                       meta={"num_steps": num_steps, "default_steps": default_steps})  # fmt: skip


@pytest.mark.parametrize(
    ("num_steps", "default_steps", "said"),
    [
        (1500, 300, True),
        (600, 300, True),
        (599, 300, False),
        (300, 300, False),
        (40, 300, False),
        (1500, None, False),
        (None, 300, False),
    ],  # fmt: skip
)
def test_a_sweep_twice_its_default_length_or_more_says_that_a_longer_sweep_reads_lower(
    num_steps, default_steps, said
):
    notes = _lasting(num_steps, default_steps).notes
    assert any("a longer sweep reads a lower LR" in n for n in notes) is said
    if said:
        assert f"{num_steps:,} steps" in notes[-1] and "try_lrs" in notes[-1]


def test_the_length_note_survives_a_round_trip_and_needs_an_answer_to_qualify(tmp_path):
    r = _lasting(1500, 300)
    back = SweepResult.load(r.save(tmp_path / "long.json"))
    assert back.notes == r.notes and len(r.notes) == 1
    flat = SweepResult(r.lrs, np.full(len(r), 2.0), meta=dict(r.meta))
    assert flat.suggestion is None and not any("longer" in n for n in flat.notes)


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


def _file(**fields):
    """A valid sweep file's text with ``fields`` changed (a value of ``...`` removes one)."""
    data = {
        "format": "lrwidget.sweep",
        "version": 1,
        "lrs": [1e-3, 1e-2],
        "losses": [1.0, 0.5],
        "stop_reason": "completed",
    }
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not ...})


def test_the_valid_file_the_malformed_cases_start_from_loads(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(_file())
    assert len(SweepResult.load(path)) == 2


# Each message names the field at fault (pytest.raises matches it with re.search).
@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "not an lrwidget sweep"),
        ('{"format": "something.else"}', "not an lrwidget sweep"),
        (_file(format=...), "not an lrwidget sweep"),
        (_file(version=99), "unsupported sweep file version 99"),
        (_file(version=...), "unsupported sweep file version None"),
        (_file(lrs="x"), "field 'lrs' must be a list of numbers"),
        (_file(lrs=...), "field 'lrs' must be a list of numbers"),
        (_file(lrs=[1e-3, True]), "field 'lrs' must be a list of numbers"),
        (_file(losses=[True, 1.0]), "field 'losses' must be a list of numbers"),
        (_file(losses=...), "field 'losses' must be a list of numbers"),
        (_file(train_losses=["a", 1]), "field 'train_losses' must be a list of numbers"),
        (_file(lrs=[-1, 1]), "field 'lrs' must hold finite, positive"),
        (_file(lrs=[0, 1]), "field 'lrs' must hold finite, positive"),
        # JSON has no infinity, but 1e999 overflows to one when read; null is NaN.
        (_file(lrs=[1e-3, 0.25]).replace("0.25", "1e999"), "field 'lrs' must hold finite, pos"),
        (_file(lrs=[1e-3, None]), "field 'lrs' must hold finite, positive"),
        (_file(lrs=[1e-3]), "lrs, losses and train_losses must have one value per step"),
        (_file(train_losses=[1.0]), "lrs, losses and train_losses must have one value per step"),
        (_file(stop_reason=...), "field 'stop_reason' must be a string"),
        (_file(stop_reason=3), "field 'stop_reason' must be a string"),
        (_file(stop_reason="exploded"), "stop_reason must be one of"),
        (_file(settings=[]), "fields 'settings' and 'meta' must be JSON objects"),
        (_file(meta="x"), "fields 'settings' and 'meta' must be JSON objects"),
        (_file(settings={"beta": 7}), r"beta=7 is out of range"),
        (_file(settings={"spacing": 0.5}), r"spacing=0.5 is out of range"),
        (_file(settings={"beta": [1]}), r"malformed sweep file: .*'<=' not supported"),
        (_file(settings={"rule": "magic"}), "rule must be one of"),
        (_file(settings={"evil": 1}), r"unknown analysis settings \['evil'\]"),
        # An integer too large for a float (401 digits) is a ValueError too, not an
        # OverflowError.
        (_file(lrs=[1e-3, 10**400]), "field 'lrs' holds a number too large for a float"),
        (_file(losses=[1, -(10**400)]), "field 'losses' holds a number too large for a float"),
        (_file(settings={"spacing": 10**400}), "malformed sweep file: .*too large"),
        (_file().replace("1.0", "NaN"), r"not valid JSON \(non-standard JSON constant NaN\)"),
        (
            _file().replace("1.0", "Infinity"),
            r"not valid JSON \(non-standard JSON constant Infinity\)",
        ),
        ("[" * 100000, "not valid JSON"),
    ],
)
def test_malformed_files_raise_value_error_saying_what_is_wrong(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError) as err:
        SweepResult.load(path)
    # Which file, then the message itself (not a longer one that merely contains it).
    assert re.match(f"{re.escape(str(path))}: {message}", str(err.value)), str(err.value)


def test_a_non_finite_lr_is_refused_from_a_dict_too():
    data = json.loads(_file())
    data["lrs"] = [1e-3, float("inf")]
    with pytest.raises(ValueError, match="field 'lrs' must hold finite, positive"):
        SweepResult.from_dict(data)
    data["lrs"] = [1e-3, float("nan")]
    with pytest.raises(ValueError, match="field 'lrs' must hold finite, positive"):
        SweepResult.from_dict(data)


def test_non_finite_losses_are_kept_as_nan(tmp_path):
    path = tmp_path / "nan.json"
    path.write_text(_file(losses=[1.0, None], stop_reason="non_finite"))
    back = SweepResult.load(path)
    assert back.losses[0] == 1.0 and np.isnan(back.losses[1])


def test_truncated_file_is_a_value_error(tmp_path):
    text = json.dumps(_result().to_dict())
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    with pytest.raises(ValueError, match="not valid JSON"):
        SweepResult.load(path)


def test_binary_garbage_is_a_value_error(tmp_path):
    path = tmp_path / "bin.json"
    path.write_bytes(b"\x80\x04\x95pickle")
    with pytest.raises(ValueError, match="not valid JSON.*can't decode byte 0x80"):
        SweepResult.load(path)


def test_a_sweep_stopped_before_the_loss_fell_offers_no_suggestion_and_says_why():
    rng = np.random.default_rng(0)
    lrs = np.geomspace(1e-6, 1e-3, 272)  # stopped at 272 of 1,500 planned steps
    flat = 2.3 + rng.normal(0, 0.01, len(lrs))
    r = SweepResult(lrs=lrs, losses=flat, stop_reason="stopped", meta={"num_steps": 1500})
    assert r.suggestion is None and r.candidates == []
    # Said as a Stop, not as a failed sweep (issue 22): no "never fell", no "num_steps".
    (note,) = r.notes
    assert note.startswith("stopped at lr 0.001, before the loss fell") and "Run again" in note


# --- what mutation testing found unchecked (docs/mutation.md) ------------------------------


DEFAULTS = "defaults: beta=0.98 (in [0, 1)), diverge_factor=4 (> 1), tolerance=0.25 (>= 0), "


@pytest.mark.parametrize(
    "setting, value",
    [
        ("beta", 1.0),
        ("beta", -0.01),
        ("diverge_factor", 1.0),
        ("tolerance", -0.01),
        ("spacing", 0.99),
        ("spacing", float("nan")),
        ("tolerance", float("inf")),
        ("beta", True),
    ],
)
def test_analysis_settings_just_outside_their_range_are_refused_with_the_defaults(setting, value):
    with pytest.raises(ValueError) as err:
        AnalysisSettings(**{setting: value})
    message = str(err.value)
    assert message.startswith(f"{setting}={value!r} is out of range; {DEFAULTS}")
    assert message.endswith("spacing=1.2 (>= 1)")


def test_analysis_settings_at_the_edges_of_their_range_are_accepted():
    edges = AnalysisSettings(beta=0.0, diverge_factor=1.001, tolerance=0.0, spacing=1.0)
    assert (edges.beta, edges.tolerance, edges.spacing) == (0.0, 0.0, 1.0)
    assert AnalysisSettings(beta=0.999, diverge_factor=1.5).diverge_factor == 1.5


def test_an_unknown_rule_is_refused_with_the_known_ones():
    with pytest.raises(ValueError) as err:
        AnalysisSettings(rule="magic")
    assert str(err.value) == (f"rule must be one of {sorted(analysis.SUGGESTERS)}, got 'magic'")


def test_any_array_like_becomes_a_flat_read_only_float_array():
    r = SweepResult(lrs=[[1], [2], [3]], losses=np.array([[3, 2, 1]]), train_losses=[[4], [5], [6]])
    for name in ("lrs", "losses", "train_losses"):
        arr = getattr(r, name)
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float64 and arr.shape == (3,)
        assert not arr.flags.writeable
    assert r.lrs.tolist() == [1.0, 2.0, 3.0] and r.train_losses.tolist() == [4.0, 5.0, 6.0]


def test_the_repr_shows_length_stop_reason_suggestion_and_candidates():
    r = _result()
    cands = ", ".join(f"{c.lr:.3g}" for c in r.candidates)
    assert repr(r) == (
        f"SweepResult(120 steps, stop_reason='non_finite', suggestion={r.suggestion:.3g}, "
        f"candidates=[{cands}])"
    )
    assert len(r.candidates) >= 2 and ", " in cands
    flat = SweepResult(lrs=[1e-3, 1e-2], losses=[1.0, 1.0], stop_reason="stopped")
    assert (
        repr(flat) == "SweepResult(2 steps, stop_reason='stopped', suggestion=None, candidates=[])"
    )


def test_the_dict_holds_the_raw_arrays_and_the_derived_values_for_other_tools():
    r = _result(train_losses=np.linspace(3, 1, 120))
    d = r.to_dict()
    assert d["format"] == "lrwidget.sweep" and d["version"] == 1
    assert d["lrs"] == r.lrs.tolist() and d["losses"][-1] is None  # NaN as null
    assert d["train_losses"] == r.train_losses.tolist()
    assert d["stop_reason"] == "non_finite" and d["meta"] == {"k": 1}
    assert d["settings"] == dataclasses.asdict(r.settings)
    assert d["candidates"] == [dataclasses.asdict(c) for c in r.candidates] != []
    assert d["minima"] == [dataclasses.asdict(c) for c in r.minima] != []
    assert d["suggestion"] == r.suggestion is not None and d["notes"] == r.notes
    json.dumps(d, allow_nan=False)  # strict JSON as it stands


def test_a_sweep_that_cannot_be_written_as_strict_json_is_refused_before_a_file_exists(tmp_path):
    r = _result()
    bad = SweepResult(lrs=r.lrs, losses=r.losses, meta={"step_seconds": float("nan")})
    path = tmp_path / "sweep.json"
    with pytest.raises(ValueError, match="JSON compliant"):
        bad.save(path)  # a file load() would refuse is never written
    assert not path.exists()
