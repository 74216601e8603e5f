"""A short sweep is read with its smoothing capped for its length, in the result and live.

``find_lr``'s ``beta`` is the user's upper bound: a sweep of ``n`` steps smooths over at most
``n / 10`` of them (``analysis.effective_beta``), and the result says which beta it used.
"""

import math

import keras
import pytest
from conftest import make_model

import lrwidget
from lrwidget import analysis


@pytest.mark.parametrize(("num_steps", "beta"), [(20, 0.98), (100, 0.98), (100, 0.5)])
def test_a_sweep_reports_and_uses_the_beta_capped_for_its_length(digits, num_steps, beta):
    x, y = digits
    started = []
    r = lrwidget.find_lr(
        make_model(),
        x,
        y,
        batch_size=64,
        num_steps=num_steps,
        end_lr=1.0,
        beta=beta,
        on_start=lambda lrs, settings: started.append(settings),
    )
    used = r.settings.beta
    # The EMA's time constant, 1 / (1 - beta) steps, is at most a tenth of the sweep...
    assert 1.0 / (1.0 - used) <= num_steps / 10 + 1e-9
    # ...and the user's beta is kept where it already averages over fewer steps.
    assert used == min(beta, analysis.effective_beta(beta, num_steps))
    assert (used < beta) == (1.0 / (1.0 - beta) > num_steps / 10)
    assert [s.beta for s in started] == [used]


def test_a_short_sweep_stops_at_the_first_step_its_own_beta_calls_diverged(digits):
    x, y = digits
    r = lrwidget.find_lr(make_model(), x, y, batch_size=64, num_steps=60, start_lr=1e-3, end_lr=1e4)
    assert r.stop_reason == "diverged" and r.settings.beta < 0.98
    smoother, best, first = analysis.Smoother(r.settings.beta), math.inf, None
    for step, loss in enumerate(r.losses):
        smoothed = smoother.update(loss)
        best = min(best, smoothed)
        if analysis.is_diverged(loss, smoothed, best, r.settings.diverge_factor):
            first = step
            break
    assert first == len(r) - 1


def test_a_family_and_the_widget_pass_the_capped_beta_on(digits, comms):
    x, y = digits
    model = make_model(keras.optimizers.SGD(0.01, momentum=0.9))
    family = lrwidget.find_lr_family(
        model, x, y, batch_size=64, num_steps=30, end_lr=1.0, vary={"momentum": [0.8, 0.9]}
    )
    capped = analysis.effective_beta(0.98, 30)
    assert [m.settings.beta for m in family.results] == [capped, capped]
    finder = lrwidget.LRFinderWidget(model, x, y, batch_size=64, num_steps=30, end_lr=1.0)
    assert finder.run(block=True).settings.beta == capped
