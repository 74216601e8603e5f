"""Sweep families: the check of ``vary``, members from one starting state, settings that take
effect in the compiled step, bitwise restore after a family, a Stop and an error, the pick."""

import threading
import time

import keras
import numpy as np
import pytest
from conftest import assert_same_state, make_model, state

import lrwidget
from lrwidget import family
from lrwidget.family import SweepFamily, check_vary, family_members, member_label
from lrwidget.marked import OVERLAP_NOTE
from lrwidget.result import SweepResult

SHORT = dict(batch_size=64, num_steps=30, start_lr=1e-3, end_lr=1.0)


def trained_model(optimizer=None, **kwargs):
    """A model whose optimizer is built and has momenta (so a lost update would show)."""
    model = make_model(optimizer, **kwargs)
    model.optimizer.build(model.trainable_variables)
    rng = np.random.default_rng(0)
    model.fit(rng.random((128, 64), "float32"), rng.integers(0, 10, 128), verbose=0)
    return model


# --- the check of vary, before anything changes ----------------------------------------------
@pytest.mark.parametrize(
    ("vary", "named"),
    [
        ({"nope": [1, 2]}, "'nope'"),
        ({"beta_1": [0.9]}, "'beta_1'"),  # SGD has no beta_1
        ({"weight_decay": []}, "empty list"),
        ({"weight_decay": [0, -1e-4]}, "-0.0001"),
        ({"batch_size": [32, 0]}, "holds 0"),
        ({"momentum": [0.5, 1.5]}, "1.5"),
        ({"learning_rate": [0.1]}, "learning_rate"),
        ({}, "non-empty"),
    ],
)
def test_bad_vary_is_refused_naming_the_value_before_anything_changes(digits, vary, named):
    x, y = digits
    model = trained_model()
    before = state(model)
    with pytest.raises((ValueError, TypeError), match=named):
        lrwidget.find_lr_family(model, x, y, vary=vary, **SHORT)
    assert_same_state(before, state(model))
    assert model.optimizer.weight_decay is None and model.optimizer.momentum == 0.9


def test_an_unbuilt_model_is_built_with_the_users_momentum_before_a_member_sets_its_own(digits):
    x, y = digits
    model = make_model()  # neither the model nor its optimizer built
    fam = lrwidget.find_lr_family(model, x, y, vary={"momentum": [0.0, 0.9]}, **SHORT)
    assert len(fam) == 2 and model.optimizer.momentum == 0.9


def test_momentum_cannot_be_varied_on_an_sgd_made_without_it(digits):
    x, y = digits
    model = make_model(keras.optimizers.SGD(0.01))
    with pytest.raises(ValueError, match="holds 0.9.*SGD.momentum=0.9."):
        lrwidget.find_lr_family(model, x, y, vary={"momentum": [0.0, 0.9]}, **SHORT)
    assert not model.optimizer.built


def test_a_generator_is_refused_because_each_member_reads_the_data_again(digits):
    x, y = digits
    batches = ((x[i : i + 32], y[i : i + 32]) for i in range(0, 320, 32))
    with pytest.raises(TypeError, match="generator"):
        lrwidget.find_lr_family(
            trained_model(), batches, vary={"weight_decay": [0, 1e-3]}, num_steps=10
        )


def test_members_are_the_product_of_the_values_and_labelled_by_their_settings():
    vary = check_vary({"weight_decay": [0, 1e-4], "momentum": [0.5, 0.9]})
    members = family_members(vary)
    assert members == [
        {"weight_decay": 0, "momentum": 0.5},
        {"weight_decay": 0, "momentum": 0.9},
        {"weight_decay": 1e-4, "momentum": 0.5},
        {"weight_decay": 1e-4, "momentum": 0.9},
    ]
    assert member_label(members[3]) == "weight_decay=1e-4, momentum=0.9"
    assert member_label({"weight_decay": 0.02, "seed": 3}) == "weight_decay=0.02, seed=3"


# --- the sweeps ------------------------------------------------------------------------------
def test_every_member_starts_from_the_same_state_and_its_weight_decay_takes_effect(digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    fam = lrwidget.find_lr_family(model, x, y, vary={"weight_decay": [0, 0.5]}, **SHORT)
    assert fam.labels == ["weight_decay=0", "weight_decay=0.5"]
    plain, decayed = fam.results
    # Same weights, same first batch: the same first loss, bit for bit.
    assert plain.losses[0] == decayed.losses[0]
    # The decay is in the compiled step: the next losses differ.
    assert np.abs(plain.losses[2:] - decayed.losses[2:]).max() > 1e-4
    assert_same_state(before, state(model))
    assert model.optimizer.weight_decay is None  # the user's own value is back


def test_a_momentum_member_runs_with_its_momentum_and_the_users_comes_back(digits):
    x, y = digits
    model = trained_model()
    fam = lrwidget.find_lr_family(model, x, y, vary={"momentum": [0.0, 0.9]}, **SHORT)
    still, moving = fam.results
    assert still.losses[0] == moving.losses[0]
    assert np.abs(still.losses[3:] - moving.losses[3:]).max() > 1e-3
    assert model.optimizer.momentum == 0.9


def test_a_setting_is_traced_once_not_once_per_member(digits):
    x, y = digits
    model = trained_model()
    traces, at_member = [], []
    train_step = model.train_step

    def counting(data):
        traces.append(1)  # Python runs here only while tracing
        return train_step(data)

    model.train_step = counting
    lrwidget.find_lr_family(
        model,
        x,
        y,
        vary={"weight_decay": [0, 0.1], "num_steps": [20, 30]},
        on_member=lambda i, m: at_member.append(len(traces)),
        batch_size=64,
        start_lr=1e-3,
        end_lr=1.0,
    )
    at_member.append(len(traces))
    per_member = np.diff(at_member)
    assert per_member[2] > 0  # a new weight decay: traced again
    assert per_member[3] == 0  # the same weight decay, a longer sweep: its step reused
    # A later family with the same settings traces nothing anew.
    before = len(traces)
    lrwidget.find_lr_family(
        model, x, y, vary={"weight_decay": [0, 0.1]}, num_steps=30, batch_size=64, start_lr=1e-3
    )
    assert len(traces) == before


def test_batch_size_and_num_steps_are_sweep_arguments(digits):
    x, y = digits
    model = trained_model()
    fam = lrwidget.find_lr_family(
        model,
        x,
        y,
        vary={"batch_size": [32, 128], "num_steps": [12, 20]},
        start_lr=1e-3,
        end_lr=1e-2,
        diverge_factor=1e9,
    )
    assert [r.meta["batch_size"] for r in fam.results] == [32, 32, 128, 128]
    assert [len(r) for r in fam.results] == [12, 20, 12, 20]


def test_seed_members_see_another_batch_order_and_the_same_seed_repeats_exactly(digits):
    x, y = digits
    model = trained_model(dropout=True)
    before = state(model)
    fam = lrwidget.find_lr_family(model, x, y, vary={"seed": [0, 1, 2]}, **SHORT)
    firsts = [r.losses[0] for r in fam.results]
    assert len(set(firsts)) == 3
    again = lrwidget.find_lr_family(model, x, y, vary={"seed": [1]}, **SHORT)
    np.testing.assert_array_equal(again.results[0].losses, fam.results[1].losses)
    assert any("between repeats" in note for note in fam.notes)
    assert fam.spread is None or fam.spread >= 1
    assert_same_state(before, state(model))


def test_a_stop_in_member_two_keeps_member_one_and_restores_everything(digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    stop, member = threading.Event(), []

    def on_point(step, lr, loss):
        if member[-1] == 1 and step == 5:
            stop.set()

    fam = lrwidget.find_lr_family(
        model,
        x,
        y,
        vary={"weight_decay": [0, 1e-3, 1e-2]},
        on_member=lambda i, m: member.append(i),
        on_point=on_point,
        stop_event=stop,
        **SHORT,
    )
    assert member == [0, 1] and len(fam.results) == 1 and fam.meta["stop_reason"] == "stopped"
    assert any("1 of 3 members swept" in n for n in fam.notes)
    assert_same_state(before, state(model))
    assert model.optimizer.weight_decay is None


def test_an_error_in_member_three_restores_everything_and_carries_the_finished_two(digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    member = []

    def on_point(step, lr, loss):
        if member[-1] == 2 and step == 3:
            raise RuntimeError("boom in member 3")

    with pytest.raises(RuntimeError, match="boom") as info:
        lrwidget.find_lr_family(
            model,
            x,
            y,
            vary={"weight_decay": [0, 1e-3, 1e-2]},
            on_member=lambda i, m: member.append(i),
            on_point=on_point,
            **SHORT,
        )
    kept = info.value.family
    assert kept.labels == ["weight_decay=0", "weight_decay=1e-3"]
    assert kept.meta["stop_reason"] == "error"
    assert_same_state(before, state(model))
    assert model.optimizer.weight_decay is None
    # The model still trains as the user compiled it (their own traced step is back).
    model.fit(x[:64], y[:64], verbose=0)


def test_no_other_thread_can_sweep_the_model_between_members_and_nothing_nests_in_one(digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    refused = []

    def elsewhere():
        try:
            lrwidget.find_lr(model, x, y, **SHORT)
        except RuntimeError as exc:
            refused.append(str(exc))

    def on_member(index, member):
        if index == 1:  # before the second member: the family still holds the model
            other = threading.Thread(target=elsewhere)
            other.start()
            other.join()

    class Nested(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            try:
                lrwidget.find_lr(model, x, y, **SHORT)
            except RuntimeError as exc:
                refused.append(str(exc))

    fam = lrwidget.find_lr_family(
        model,
        x,
        y,
        vary={"weight_decay": [0, 1e-3]},
        on_member=on_member,
        callbacks=[Nested()],
        **SHORT,
    )
    assert fam.complete and len(refused) == 3
    assert all("already running on model" in r for r in refused)
    assert_same_state(before, state(model))
    lrwidget.find_lr(model, x, y, **SHORT)  # free again afterwards


def test_a_family_saves_and_loads_with_the_same_pick_and_shows_as_an_overlay(digits, tmp_path):
    x, y = digits
    fam = lrwidget.find_lr_family(trained_model(), x, y, vary={"weight_decay": [0, 1e-2]}, **SHORT)
    back = SweepFamily.load(fam.save(tmp_path / "family.json"))
    assert back.labels == fam.labels and back.members == fam.members
    assert back.pick == fam.pick and back.spread == fam.spread
    for a, b in zip(back.results, fam.results, strict=True):
        np.testing.assert_array_equal(a.losses, b.losses)
    chart = lrwidget.show(back)
    assert len(chart.results) == 2 and chart._labels == fam.labels


def test_a_file_that_is_no_family_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"format": "lrwidget.sweep"}')
    with pytest.raises(ValueError, match="not an lrwidget family"):
        SweepFamily.load(path)
    path.write_text(
        '{"format": "lrwidget.family", "version": 1, "vary": {"seed": [0]}, '
        '"members": [{"seed": 5}], "results": []}'
    )
    with pytest.raises(ValueError, match="not the product"):
        SweepFamily.load(path)


# --- the pick and the spread, on curves made to order -----------------------------------------
LRS = np.geomspace(1e-4, 10, 200)


def curve(bottom, low_from, low_to, top=2.3):
    """A loss that falls from ``top`` to ``bottom`` at ``low_from`` and blows up past
    ``low_to`` (log-LR positions)."""
    t = np.log10(LRS)
    fall = 1 / (1 + np.exp(-(t - np.log10(low_from)) * 8))
    rise = np.exp(np.clip((t - np.log10(low_to)) * 6, None, 3))
    return top - (top - bottom) * fall + (rise - 1) * 0.3


def result(losses):
    return SweepResult(lrs=LRS, losses=losses, stop_reason="completed")


def test_the_pick_is_the_low_curve_that_stays_low_to_the_largest_lr():
    members = family_members(check_vary({"weight_decay": [0, 1e-4, 1e-3]}))
    results = [
        result(curve(0.30, 1e-2, 0.1)),  # low, but blows up early
        result(curve(0.31, 1e-2, 1.0)),  # as low, and stays low ten times further
        result(curve(0.80, 1e-2, 5.0)),  # stays longest, but never gets low
    ]
    pick = family.pick_group(members, results)
    assert pick.setting == {"weight_decay": 1e-4} and pick.members == (1,)
    assert pick.lr == results[1].suggestion
    assert family.spread(results) >= 1


def test_repeats_of_a_setting_are_picked_together_at_their_median_suggestion():
    members = family_members(check_vary({"seed": [0, 1, 2]}))
    results = [result(curve(0.3, low, 1.0)) for low in (3e-3, 1e-2, 3e-2)]
    fam = SweepFamily(check_vary({"seed": [0, 1, 2]}), members, results)
    suggestions = sorted(r.suggestion for r in results)
    assert fam.pick.lr == pytest.approx(suggestions[1])
    assert fam.pick.setting == {} and fam.pick.members == (0, 1, 2)
    assert fam.pick.label == "the repeats' median"
    assert fam.repeat_spread == pytest.approx(suggestions[2] / suggestions[0])
    assert fam.spread > family.UNSTABLE
    assert any("moves x" in n and "sweep longer" in n for n in fam.notes)


def test_a_member_with_a_flat_curve_gets_a_note_and_is_never_picked():
    members = family_members(check_vary({"weight_decay": [0, 1e-2]}))
    flat = result(2.3 + 0.001 * np.random.default_rng(0).standard_normal(len(LRS)))
    fam = SweepFamily({"weight_decay": [0, 1e-2]}, members, [result(curve(0.3, 1e-2, 1.0)), flat])
    assert fam.pick.setting == {"weight_decay": 0}
    assert any(n.startswith("weight_decay=0.01: no suggestion") for n in fam.notes)


def test_the_trial_plan_tries_each_members_pick_for_four_of_its_shortest_sweeps_worth():
    from lrwidget import trials

    vary = check_vary({"weight_decay": [0, 1e-2, 1e-1]})
    members = family_members(vary)
    curves = [curve(0.3, 1e-2, 1.0), curve(0.3, 1e-3, 0.1), curve(0.3, 1e-2, 1.0)]
    planned = (40, 30, 40)  # the sweeps' planned lengths: the second is the shortest
    results = [
        SweepResult(lrs=LRS, losses=c, stop_reason="completed", meta={"num_steps": n})
        for c, n in zip(curves, planned, strict=True)
    ]
    plan = SweepFamily(vary, members, results).trial_plan()
    assert plan["lrs"] == [r.suggestion for r in results]
    assert plan["settings"] == [{"weight_decay": w} for w in (0, 1e-2, 1e-1)]
    assert plan["steps"] == trials.BUDGET * 30 // 3  # four sweeps' worth of the shortest, in all
    assert plan["steps"] * len(plan["lrs"]) <= trials.BUDGET * min(planned)
    # Default-length sweeps: the trials' own default; a seed family has no optimizer settings.
    seeds = check_vary({"seed": [0, 1]})
    long = [SweepResult(lrs=LRS, losses=curves[0], meta={"num_steps": 300})] * 2
    plan = SweepFamily(seeds, family_members(seeds), long).trial_plan()
    assert plan["steps"] == trials.DEFAULT_STEPS and plan["settings"] == [{"seed": 0}, {"seed": 1}]
    batches = check_vary({"batch_size": [16, 32]})
    plan = SweepFamily(batches, family_members(batches), long).trial_plan()
    assert plan["settings"] is None and len(plan["lrs"]) == 1  # one pick: batch size is not tried


def test_unknown_optimizer_settings_are_listed_in_the_refusal(digits):
    x, y = digits
    model = trained_model(keras.optimizers.Adam(1e-3))
    with pytest.raises(ValueError, match="beta_1") as info:
        lrwidget.find_lr_family(model, x, y, vary={"momentum": [0.9]}, **SHORT)
    assert "Adam has no setting 'momentum'" in str(info.value)


# --- the command line ------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path, digits):
    x, y = digits
    model_path, data_path = tmp_path / "model.keras", tmp_path / "data.npz"
    model = make_model()
    model.fit(x[:64], y[:64], verbose=0)
    model.save(model_path)
    np.savez(data_path, x=x[:400], y=y[:400])
    return model_path, data_path


def test_the_command_line_sweeps_a_family_prints_a_line_per_member_and_writes_it(
    saved, tmp_path, capsys
):
    from lrwidget.cli import main

    model_path, data_path = saved
    out = tmp_path / "out"
    argv = ["find", str(model_path), str(data_path), "--num-steps", "30", "--out-dir", str(out)]
    assert main([*argv, "--vary", "weight_decay=0,1e-4,1e-3"]) == 0
    stdout, stderr = capsys.readouterr()
    fam = SweepFamily.load(out / "family.json")
    assert fam.labels == ["weight_decay=0", "weight_decay=1e-4", "weight_decay=1e-3"]
    lines = stdout.splitlines()
    for label, line in zip(fam.labels, lines, strict=False):
        assert line.startswith(label + " ") and "suggestion" in line
    assert any(line.startswith("pick: ") for line in lines)
    assert "member 3/3" in stderr
    assert (out / "family.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("vary", "message"),
    [
        ("weight_decay=", "empty list"),
        ("weight_decay=0,-1", "holds -1"),
        ("batch_size=0,32", "holds 0"),
        ("weight_decay", "NAME=V1"),
    ],
)
def test_bad_vary_on_the_command_line_is_one_line_and_exit_2(saved, vary, message, capsys):
    from lrwidget.cli import main

    model_path, data_path = saved
    assert main(["find", str(model_path), str(data_path), "--vary", vary]) == 2
    stderr = capsys.readouterr().err
    assert len(stderr.strip().splitlines()) == 1 and message in stderr


def test_the_command_line_silences_tensorflows_start_up_lines_unless_the_user_set_the_level(
    saved, tmp_path
):
    import os
    import subprocess
    import sys

    model_path, data_path = saved
    argv = [sys.executable, "-m", "lrwidget", "find", str(model_path), str(data_path)]
    argv += ["--num-steps", "20", "--out-dir", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "oneDNN" not in quiet.stderr and "absl" not in quiet.stderr
    assert "cuda" not in quiet.stderr.lower()
    assert all(line.startswith("sweep ") for line in quiet.stderr.strip().splitlines())
    loud = subprocess.run(
        argv, capture_output=True, text=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"}
    )
    assert loud.returncode == 0 and "oneDNN" in loud.stderr


# --- the widget ------------------------------------------------------------------------------
def curve_point(result, lr):
    """A point on ``result``'s smoothed curve at ``lr``, as a click on it reports it."""
    head = result.useful
    loss = np.interp(np.log(lr), np.log(result.lrs[:head]), result.smoothed[:head])
    return {"data": {"x": float(lr), "y": float(loss)}, "index": 0}


def test_the_widget_sweeps_a_family_into_one_chart_and_a_click_picks_a_member(comms, digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    finder = lrwidget.LRFinderWidget(
        model, x, y, vary={"weight_decay": [0, 0.05], "batch_size": [32, 64]}, **SHORT_WIDGET
    )
    progress = []
    finder.progress_text.observe(lambda ch: progress.append(ch["new"]), "value")
    fam = finder.run(block=True)
    assert isinstance(fam, SweepFamily) and len(fam) == 4
    assert_same_state(before, state(model))
    # One line per member, each in its own colour, named on the legend.
    chart = finder.chart
    assert [m.labels[0] for m in chart.marks.smoothed] == fam.labels
    assert len({m.colors[0] for m in chart.marks.smoothed}) == 4
    assert all(m.display_legend for m in chart.marks.smoothed)
    assert any(p.startswith("member 2/4 · ") for p in progress)
    # The family's pick is selected: its member and its LR.
    assert finder.selected == {"learning_rate": fam.pick.lr, **fam.pick.setting}
    assert finder.selected_lr == fam.pick.lr
    # A click on a point of the third member's curve picks that member.
    third = fam.results[2]
    lr = third.lrs[third.useful // 2]
    chart.marks.readout._handle_msg(
        {
            "content": {
                "data": {
                    "method": "custom",
                    "content": {"event": "element_click", **curve_point(third, lr)},
                }
            },
            "buffers": [],
        }
    )
    assert finder.selected["weight_decay"] == 0.05 and finder.selected["batch_size"] == 32
    assert finder.selected["learning_rate"] == finder.selected_lr
    assert finder.selected_lr in [c.lr for c in third.candidates] or not third.candidates
    assert "pick " in chart.status_text and "weight_decay=0.05, batch_size=32" in chart.status_text
    message = finder.apply()
    assert model.optimizer.weight_decay == 0.05
    assert float(model.optimizer.learning_rate) == pytest.approx(finder.selected_lr)
    assert "not set: batch_size=32" in message


SHORT_WIDGET = dict(num_steps=30, start_lr=1e-3, end_lr=1.0)


def test_stop_in_the_widget_ends_the_family_and_keeps_the_finished_members(comms, digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    # Each step takes at least 2 ms, so that a member outlasts the polls below however fast
    # the machine and however busy the thread that polls.
    pace = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: time.sleep(0.002))
    vary = {"weight_decay": [0, 1e-3, 1e-2]}
    finder = lrwidget.LRFinderWidget(
        model, x, y, vary=vary, batch_size=64, num_steps=3000, callbacks=[pace]
    )
    finder.run()
    ticks = threading.Event()
    for _ in range(4800):  # the second member under way; up to 4 minutes on a loaded machine
        if finder.family.index == 1 and finder.result is not None and len(finder.result) > 5:
            break
        ticks.wait(0.05)
    assert finder.family.index == 1, "the second member never started: the test cannot stop it"
    finder.stop()
    assert finder.wait(60)
    fam = finder.result
    assert isinstance(fam, SweepFamily) and fam.labels == ["weight_decay=0"]
    assert fam.meta["stop_reason"] == "stopped"
    assert_same_state(before, state(model))
    assert len(finder.chart.marks.smoothed) == 1 and "stopped" in finder.progress_text.value


def test_a_seed_family_is_drawn_as_its_median_with_a_band_and_says_its_spread(comms, digits):
    x, y = digits
    finder = lrwidget.LRFinderWidget(
        trained_model(), x, y, vary={"seed": [0, 1, 2]}, batch_size=64, **SHORT_WIDGET
    )
    fam = finder.run(block=True)
    chart = finder.chart
    assert len(chart.marks.smoothed) == 1
    assert chart.marks.smoothed[0].labels == ["median of 3 repeats"]
    band = chart.marks.raw[0]
    assert band.fill == "between" and np.asarray(band.y).shape[0] == 2
    assert np.all(np.asarray(band.y)[0] <= np.asarray(band.y)[1])
    if fam.spread is not None:
        assert f"x{fam.spread:.2g} between repeats" in chart.status_text


def test_the_widget_refuses_bad_vary_before_anything_changes(digits):
    x, y = digits
    model = trained_model()
    with pytest.raises(ValueError, match="-0.1"):
        lrwidget.LRFinderWidget(model, x, y, vary={"weight_decay": [-0.1]})


# --- every backend -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("backend", "package"), [("jax", "jax"), ("torch", "torch"), ("tensorflow", "tensorflow")]
)
def test_a_family_takes_its_settings_and_restores_on_every_backend(backend, package):
    import importlib.util
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed (CI installs it: see .ci/run)")
    script = Path(__file__).with_name("family_backend_check.py")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend
    for case in ("weight_decay", "momentum"):
        got = out[case]
        assert got["members"] == 2 and got["first_losses_agree"] and got["restored"], got
        assert got["later_losses_differ"] > 1e-4, got  # the setting took effect in the step
    assert out["own_settings_back"] and out["repeat_identical"]
    assert out["stopped"] == {"kept": 1, "restored": True}


def test_the_widget_sweeps_a_family_in_the_cells_own_thread_too(comms, digits):
    x, y = digits
    model = trained_model()
    before = state(model)
    finder = lrwidget.LRFinderWidget(
        model, x, y, vary={"weight_decay": [0, 1e-2]}, batch_size=64, **SHORT_WIDGET
    )
    fam = finder.run(block=True, background=False)
    assert fam.labels == ["weight_decay=0", "weight_decay=0.01"]
    assert [m.labels[0] for m in finder.chart.marks.smoothed] == fam.labels
    assert not finder.running and finder.progress_text.value.startswith("member 2/2 · ")
    assert_same_state(before, state(model))


# --- properties --------------------------------------------------------------------------------
def test_any_valid_vary_gives_the_product_of_its_values_and_survives_json():
    import json

    from hypothesis import given, settings
    from hypothesis import strategies as st

    values = {
        "weight_decay": st.floats(0, 1, allow_nan=False),
        "momentum": st.floats(0, 1, allow_nan=False),
        "batch_size": st.integers(1, 4096),
        "seed": st.integers(0, 2**31),
    }
    vary = st.dictionaries(
        st.sampled_from(sorted(values)),
        st.just(None),
        min_size=1,
        max_size=3,
    ).flatmap(
        lambda d: st.fixed_dictionaries(
            {k: st.lists(values[k], min_size=1, max_size=3, unique=True) for k in d}
        )
    )

    @settings(max_examples=50, deadline=None)
    @given(vary)
    def check(v):
        checked = check_vary(v)
        members = family_members(checked)
        assert len(members) == int(np.prod([len(x) for x in v.values()]))
        fam = SweepFamily(checked, members, [], {"stop_reason": "stopped"})
        back = SweepFamily.from_dict(json.loads(json.dumps(fam.to_dict())))
        assert back.members == members and back.vary == checked and back.pick is None

    check()


def frontend_update(widget, **state):
    """An ``update`` message as the browser sends it (no arrays)."""
    widget._handle_msg({"content": {"data": {"method": "update", "state": state}}, "buffers": []})


def element_click(mark, x, y, index):
    """bqplot's element_click on point ``index`` of ``mark``, as the browser sends it."""
    content = {"event": "element_click", "data": {"x": x, "y": y, "index": index}}
    mark._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def shared_lr_family_finder(comms):
    """A finder showing a weight-decay family whose last two members share every candidate LR
    (made to order: no sweep runs)."""
    model = make_model(keras.optimizers.AdamW(1e-3, weight_decay=0.004))
    finder = lrwidget.LRFinderWidget(
        model,
        np.zeros((8, 64), "float32"),
        np.zeros(8, "int32"),
        vary={"weight_decay": [0, 1e-3, 1e-2]},
        start_lr=1e-4,
        end_lr=10.0,
    )
    vary = check_vary({"weight_decay": [0, 1e-3, 1e-2]})
    low, shared = curve(0.3, 3e-3, 0.05), curve(0.5, 1e-2, 1.0)
    fam = SweepFamily(vary, family_members(vary), [result(low), result(shared), result(shared)])
    finder.family.ended(fam, None)
    finder.family.show_end(fam)
    return model, finder, fam


def test_a_menu_entry_of_a_member_picks_that_member_where_two_share_its_lr(comms):
    model, finder, fam = shared_lr_family_finder(comms)
    menu = finder.chart.controls.candidate_menu
    shared_lr = fam.results[2].candidates[0].lr
    assert shared_lr == fam.results[1].candidates[0].lr
    for wd in (1e-2, 1e-3, 1e-2):
        label = member_label({"weight_decay": wd})
        k = next(
            k for k, (text, lr) in enumerate(menu.options) if lr == shared_lr and label in text
        )
        frontend_update(menu, index=k)  # the dropdown syncs its index
        assert finder.selected == {"learning_rate": shared_lr, "weight_decay": wd}
        assert menu.index == k and label in menu.label  # the menu still reads that member
    finder.apply()
    assert float(model.optimizer.weight_decay) == pytest.approx(1e-2)
    assert float(model.optimizer.learning_rate) == pytest.approx(shared_lr)


def test_a_click_on_a_members_diamond_picks_that_member_where_two_share_its_lr(comms):
    model, finder, fam = shared_lr_family_finder(comms)
    diamonds = finder.chart.marks.candidates
    xs = list(np.asarray(diamonds.x))
    shared_lr = fam.results[2].candidates[0].lr
    at = [k for k, x in enumerate(xs) if x == shared_lr]
    assert len(at) == 2  # one diamond per member, at the same LR
    for k, wd in zip([at[1], at[0], at[1]], [1e-2, 1e-3, 1e-2], strict=True):
        element_click(diamonds, shared_lr, float(diamonds.y[k]), k)
        assert finder.selected == {"learning_rate": shared_lr, "weight_decay": wd}
        # The other member's diamond lies under this one: the status line says where to find it.
        assert OVERLAP_NOTE in finder.chart.status_text
    alone = xs.index(fam.results[0].candidates[0].lr)  # member 0's: no other diamond near
    element_click(diamonds, xs[alone], float(diamonds.y[alone]), alone)
    assert finder.selected["weight_decay"] == 0 and OVERLAP_NOTE not in finder.chart.status_text


def test_a_click_on_the_plot_at_a_members_raw_line_picks_that_member(comms):
    model, finder, fam = shared_lr_family_finder(comms)
    chart = finder.chart
    finder.snap = False
    area = chart.marks.click_area
    lr = 3e-2  # where member 0's curve lies far below the others'
    for member, wd in ((0, 0), (1, 1e-3), (0, 0)):
        raw = float(np.interp(np.log(lr), np.log(LRS), fam.results[member].losses))
        height = (raw - chart.y_scale.min) / (chart.y_scale.max - chart.y_scale.min)
        # bqplot's "add" interaction appends the clicked point and syncs x and y.
        area.set_state({"x": [lr], "y": [height]})
        assert finder.selected == {"learning_rate": pytest.approx(lr), "weight_decay": wd}
        assert len(area.x) == 0  # the added point is taken back


def test_a_family_stopped_in_member_two_shows_member_twos_steps_not_member_ones(comms):
    from lrwidget.runner import LiveSweep

    model, finder, fam = shared_lr_family_finder(comms)
    view = finder.family
    view.on_member(1, fam.members[1])  # member 2 runs...
    live = LiveSweep(LRS, fam.results[0].settings)
    for step in range(37):
        live.add(step, 2.0)
    view.draw_live(live)  # ...and is stopped after 37 of its 200 steps
    stopped = SweepFamily(fam.vary, fam.members, fam.results[:1], {"stop_reason": "stopped"})
    ended = view.show_end(stopped)
    assert (ended.done, ended.planned, ended.why) == (37, len(LRS), "stopped")
    assert view.progress_prefix() == "member 2/3 · "
    # Stopped once member 1 had finished and before member 2 drew a step: 0 of member 2's.
    view.on_member(1, fam.members[1])
    ended = view.show_end(stopped)
    assert (ended.done, ended.planned) == (0, len(fam.results[0]))
