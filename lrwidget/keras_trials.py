"""Trials on a Keras 3 model: a short run at each of a few constant LRs, from one starting state.

A trial is a family member with a constant ladder: each runs through the same engine
(:func:`~lrwidget.keras_engine.run_ladder`) as a sweep, from the same
:class:`~lrwidget.keras_state.StartState` (weights, optimizer slots and iteration, the dropout
streams, the RNGs that order the batches), with the traced step reused per optimizer setting,
and the model put back bitwise after each, after a Stop and after an error. The record,
its scores and its notes are :class:`lrwidget.trials.Trials`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

import keras
import numpy as np

from .data import MIN_STEPS, count_samples, plan_fit, validation_subset
from .family import SEED
from .family import _check_value as check_value
from .keras_engine import OptimizerSettings, build, check_momentum, optimizer_settings, run_ladder
from .keras_state import StartState, current_lr, exclusive, lr_owner
from .keras_sweep import check_model
from .result import SweepResult
from .selection import check_lr
from .trials import (
    DEFAULT_STEPS,
    Trials,
    default_lrs,
    default_steps,
    diverged_at,
    validation_steps,
)

OnPoint = Callable[[int, int, float], object]
OnTrialEnd = Callable[[int, np.ndarray, "np.ndarray | None"], object]


def _check_steps(steps) -> int | None:
    if steps is None:
        return None
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < MIN_STEPS:
        raise ValueError(
            f"steps must be an int >= {MIN_STEPS} (training steps per trial), got {steps!r}; "
            f"None: {DEFAULT_STEPS}, fewer after a short sweep"
        )
    return int(steps)


def resolve_lrs(lrs, baseline: float | None) -> tuple[np.ndarray, str, str | None]:
    """``(lrs, source, note)``: the LRs given, or the default set from a sweep's reading."""
    if isinstance(lrs, SweepResult):
        chosen, note = default_lrs(lrs, baseline)
        return chosen, "fallback" if note else "candidates", note
    if isinstance(lrs, str | bytes) or not isinstance(lrs, Sequence | np.ndarray):
        raise TypeError(
            "lrs must be a list of learning rates (e.g. lrs=[1e-3, 3e-3, 1e-2]) or the "
            f"SweepResult of a sweep (its reading chooses them), got {type(lrs).__name__}"
        )
    checked = [check_lr(v, f"lrs[{i}]") for i, v in enumerate(np.asarray(lrs).tolist())]
    if not checked:
        raise ValueError("lrs is empty: give at least one learning rate")
    return np.array(checked), "user", None


def check_settings(model, settings, n: int) -> tuple[list[str], tuple | None]:
    """``(names, settings)``: the optimizer settings of each trial, checked before anything
    changes (one dict per LR; optimizer settings by their Keras name, and ``seed``)."""
    if settings is None:
        return [], None
    if isinstance(settings, dict | str) or not isinstance(settings, Sequence):
        raise TypeError(f"settings must be a list of dicts, one per LR, got {settings!r}")
    if len(settings) != n:
        raise ValueError(f"settings holds {len(settings)} dicts for {n} LRs: give one per LR")
    known = optimizer_settings(model.optimizer)
    checked = []
    for i, setting in enumerate(settings):
        if not isinstance(setting, dict):
            raise TypeError(f"settings[{i}] must be a dict (e.g. {{'weight_decay': 1e-4}})")
        for name in setting:
            if name != SEED and name not in known:
                optimizer = type(lr_owner(model.optimizer)).__name__
                raise ValueError(
                    f"settings[{i}][{name!r}]: a trial can set the {optimizer} settings {known} "
                    "and seed; batch_size and num_steps are the same for every trial"
                )
        checked.append({k: check_value(k, v) for k, v in setting.items()})
    momenta = [s["momentum"] for s in checked if "momentum" in s]
    check_momentum(model.optimizer, momenta, "settings")
    names = sorted({k for s in checked for k in s if k != SEED})
    return names, tuple(checked)


def try_lrs(
    model,
    x,
    y=None,
    *,
    lrs,
    steps: int | None = None,
    batch_size: int | None = None,
    validation_data=None,
    validation_size: int = 512,
    sample_weight=None,
    settings=None,
    seed: int = 0,
    callbacks=None,
    on_start: Callable[[np.ndarray, int], object] | None = None,
    on_point: OnPoint | None = None,
    on_trial_end: OnTrialEnd | None = None,
    stop_event: threading.Event | None = None,
) -> Trials:
    """Train ``model`` for ``steps`` steps at each LR of ``lrs``, each time from its starting
    state, rank the LRs by what they trained, and put the model back exactly as it was.

    Parameters
    ----------
    model : keras.Model
        A compiled model. Its variables, its optimizer's variables, iteration, LR (or
        schedule) and settings are bitwise the same afterwards, whatever happens.
    x, y, batch_size, sample_weight
        The data, as for :func:`lrwidget.find_lr` (a Python generator only for one trial:
        every trial reads the data again).
    lrs : list of float or SweepResult
        The LRs to try, or a sweep whose reading chooses them
        (:func:`lrwidget.trials.default_lrs`: its candidates, the suggestion / 3 and the
        optimizer's LR as the baseline).
    steps : int, optional
        Training steps per trial. Default ``trials.DEFAULT_STEPS`` (200); after a short sweep
        given as ``lrs``, fewer, so that the trials cost at most four sweeps' worth of steps
        (:func:`lrwidget.trials.default_steps`).
    validation_data : tuple or Dataset, optional
        If given, the trials are ranked by the loss on a fixed subset of ``validation_size``
        samples after the last step (measured also after each quarter and each of the last
        five steps); otherwise by the mean training loss over the last fifth of the steps.
    settings : list of dict, optional
        One dict of optimizer settings per LR (e.g. a family's members, to try each member's
        pick with its own settings); the user's own are put back afterwards.
    seed : int
        Keras's global RNGs are seeded with it before every trial, so that every trial sees
        the same batches in the same order and the same dropout masks (a ``seed`` in a
        trial's settings gives that trial another order and stream).
    callbacks : list of keras.callbacks.Callback, optional
        Extra callbacks for every trial's ``fit``.
    on_start : callable, optional
        ``on_start(lrs, steps)`` after the checks, before the first trial.
    on_point : callable, optional
        ``on_point(trial, step, loss)`` after each step (``step`` 0-based, ``loss`` the
        batch's training loss), from the training thread.
    on_trial_end : callable, optional
        ``on_trial_end(trial, losses, val_losses)`` after each trial that ran to its end or
        diverged (not a stopped one).
    stop_event : threading.Event, optional
        Set it to end after the current step: the finished trials are kept, the stopped one
        keeps its losses unscored, ``stop_reason`` is ``"stopped"``.

    Returns
    -------
    Trials

    Raises
    ------
    ValueError, TypeError
        For bad arguments, before anything changes. An exception (or KeyboardInterrupt) in a
        trial is raised after the model is restored, with the trials so far as its ``trials``
        attribute (``stop_reason`` ``"error"`` or ``"interrupted"``).
    """
    check_model(model)
    steps = _check_steps(steps)
    baseline = current_lr(model.optimizer)
    sweep = lrs if isinstance(lrs, SweepResult) else None
    lrs, source, note = resolve_lrs(lrs, baseline)
    if steps is None:
        steps = DEFAULT_STEPS if sweep is None else default_steps(sweep, len(lrs))
    names, settings = check_settings(model, settings, len(lrs))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    plan = plan_fit(x, y, batch_size=batch_size, num_steps=steps, sample_weight=sample_weight)
    if plan.kind == "generator" and len(lrs) > 1:
        raise TypeError(
            "every trial reads the data again, and a Python generator yields it once: pass "
            "arrays, a tf.data.Dataset or a keras.utils.PyDataset"
        )
    validation = validation_subset(validation_data, validation_size)
    meta = {
        "baseline_lr": baseline,
        "source": source,
        "source_note": note,
        "seed": int(seed),
        "batch_size": plan.batch_size,
        "data": plan.kind,
        "validation_size": None if validation is None else count_samples(validation[0]),
        "optimizer": type(model.optimizer).__name__,
        "model": model.name,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
    }
    run = _TrialRun(model, plan, lrs, steps, settings, validation, int(seed), meta)
    with exclusive(model):
        build(model, plan)
        return run.all(names, callbacks, (on_start, on_point, on_trial_end, stop_event))


class _TrialRun:
    """The trials of one ``try_lrs`` call and what they recorded so far."""

    def __init__(self, model, plan, lrs, steps, settings, validation, seed, meta):
        self.model, self.plan, self.lrs, self.steps = model, plan, lrs, steps
        self.settings, self.validation, self.seed, self.meta = settings, validation, seed, meta
        self.val_steps = validation_steps(steps) if validation is not None else np.zeros(0, int)
        self.losses: list[list[float]] = [[] for _ in lrs]
        self.vals: list[list[float]] = [[] for _ in lrs]
        self.runs: list = []
        self.started = time.perf_counter()

    def record(self, stop_reason: str) -> Trials:
        meta = {
            **self.meta,
            "steps_per_call": [r.steps_per_call for r in self.runs],
            "step_seconds": next(
                (r.step_seconds for r in reversed(self.runs) if r.step_seconds), None
            ),
            "seconds": round(time.perf_counter() - self.started, 3),
            "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        return Trials(
            lrs=self.lrs,
            steps=self.steps,
            losses=tuple(np.array(t) for t in self.losses),
            val_steps=self.val_steps,
            val_losses=None if self.validation is None else tuple(np.array(v) for v in self.vals),
            settings=self.settings,
            stop_reason=stop_reason,
            meta=meta,
        )

    def _on_step(self, trial: int, on_point):
        losses, vals = self.losses[trial], self.vals[trial]

        def on_step(step, train_loss, val_loss):
            losses.append(train_loss)
            if val_loss is not None:
                vals.append(val_loss)
            if on_point is not None:
                on_point(trial, step, train_loss)
            return "diverged" if diverged_at(losses, step) else None

        return on_step

    def all(self, names, callbacks, hooks) -> Trials:
        on_start, on_point, on_trial_end, stop_event = hooks
        stop_event = stop_event or threading.Event()
        start = StartState(self.model)
        optimizer = OptimizerSettings(self.model, names)
        validate = (self.val_steps - 1).tolist()
        stop_reason = "complete"
        try:
            if on_start is not None:
                on_start(self.lrs.copy(), self.steps)
            for i, lr in enumerate(self.lrs.tolist()):
                if stop_event.is_set():
                    stop_reason = "stopped"
                    break
                setting = self.settings[i] if self.settings else {}
                optimizer.apply(setting)
                start.rewind(setting.get(SEED, self.seed), stream=setting.get(SEED, 0))
                run = run_ladder(
                    self.model,
                    self.plan,
                    np.full(self.steps, lr),
                    validation=self.validation,
                    validate=validate,
                    on_step=self._on_step(i, on_point),
                    callbacks=callbacks,
                    stop_event=stop_event,
                )
                optimizer.done()
                self.runs.append(run)
                if run.stop_reason == "stopped":
                    stop_reason = "stopped"
                    break
                if on_trial_end is not None:
                    vals = None if self.validation is None else np.array(self.vals[i])
                    on_trial_end(i, np.array(self.losses[i]), vals)
        except KeyboardInterrupt as exc:
            exc.trials = self.record("interrupted")
            raise
        except Exception as exc:
            exc.trials = self.record("error")
            raise
        finally:
            optimizer.restore()
            start.restore()
        return self.record(stop_reason)
