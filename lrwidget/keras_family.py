"""A sweep family on a Keras 3 model: one :func:`~lrwidget.find_lr` per member, one after another.

Each member's optimizer settings are set on the optimizer before its sweep and the user's own
values put back after the family. Keras reads them (``weight_decay``, ``momentum``,
``beta_1`` ...) as Python numbers when it traces the train step, so they are baked into it as
constants: the traced steps are kept per setting
(:class:`~lrwidget.keras_engine.OptimizerSettings`), so a setting is traced once per family and
again only when it changes, never per step. Every member starts from the model's starting state
(:class:`~lrwidget.keras_state.StartState`): its variables bitwise, and Keras's global RNGs
seeded the same before each (another seed for a ``seed`` member, whose dropout stream is also
moved on).
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable

import keras

from .data import plan_fit
from .family import NOT_OPTIMIZER, SEED, SWEEP_ARGS, SweepFamily, check_vary, family_members
from .keras_engine import OptimizerSettings, build, check_momentum, optimizer_settings
from .keras_state import StartState, exclusive, lr_owner
from .keras_sweep import check_sweep_range, find_lr
from .result import SweepResult

_FIND_LR = inspect.signature(find_lr).parameters


def check_family(model, x, y, vary, kwargs):
    """Everything ``find_lr_family`` can refuse, refused before anything changes; returns
    ``(vary, members)``, checked."""
    unknown = sorted(set(kwargs) - set(_FIND_LR))
    if unknown:
        raise TypeError(f"unknown argument(s) {unknown} for find_lr_family (see find_lr)")
    if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None:
        raise ValueError("model must be a compiled keras.Model (model.compile(optimizer=...))")
    vary = check_vary(vary)
    both = sorted(set(vary) & set(kwargs))
    if both:
        raise ValueError(f"{both[0]} is given both in vary and as an argument: give it once")
    settings = optimizer_settings(model.optimizer)
    for name in vary:
        if name not in NOT_OPTIMIZER and name not in settings:
            raise ValueError(
                f"vary[{name!r}]: {type(lr_owner(model.optimizer)).__name__} has no setting "
                f"{name!r}; it can vary {settings} and the sweep's batch_size, num_steps, seed"
            )
    check_momentum(model.optimizer, vary.get("momentum", ()), "vary['momentum']")
    check_sweep_range(
        kwargs.get("start_lr", _FIND_LR["start_lr"].default),
        kwargs.get("end_lr", _FIND_LR["end_lr"].default),
        kwargs.get("mode", _FIND_LR["mode"].default),
    )
    members = family_members(vary)
    for args in sorted({tuple((k, m[k]) for k in SWEEP_ARGS if k in m) for m in members}):
        plan = plan_fit(
            x,
            y,
            batch_size=dict(args).get("batch_size", kwargs.get("batch_size")),
            num_steps=dict(args).get("num_steps", kwargs.get("num_steps")),
            sample_weight=kwargs.get("sample_weight"),
        )
        if plan.kind == "generator":
            raise TypeError(
                "a family sweeps the data once per member, and a Python generator yields it "
                "once: pass arrays, a tf.data.Dataset or a keras.utils.PyDataset"
            )
    return vary, members, plan


def find_lr_family(
    model,
    x,
    y=None,
    *,
    vary,
    seed: int = 0,
    on_member: Callable[[int, dict], object] | None = None,
    on_member_end: Callable[[int, SweepResult], object] | None = None,
    stop_event: threading.Event | None = None,
    **find_lr_kwargs,
) -> SweepFamily:
    """One LR range test per member of a family, each from the model's starting state.

    A family of K members costs about K sweeps (each is a full :func:`lrwidget.find_lr`, at
    its per-step cost); the train step is traced once per distinct optimizer setting.

    Parameters
    ----------
    model : keras.Model
        A compiled model. Its variables, its optimizer's variables, LR and settings are the
        same afterwards (bitwise), also after a Stop or an exception in any member.
    x, y
        The data, as for ``find_lr`` (not a Python generator: each member reads it again).
    vary : dict
        Setting name -> list of values; several names sweep their product. A name is an
        optimizer setting by its Keras name (``weight_decay``, ``momentum``, ``beta_1``, ...),
        a sweep argument (``batch_size``, ``num_steps``), or ``seed``: the same sweep repeated
        with another batch order and dropout stream, to measure how stable the answer is.
    seed : int
        Keras's global RNGs are seeded with it before each member (so every member sees the
        same batch order), or with the member's own ``seed``. Python's and numpy's global
        RNG states are put back afterwards.
    on_member : callable, optional
        ``on_member(index, member)`` before each member's sweep.
    on_member_end : callable, optional
        ``on_member_end(index, result)`` after each member that finished (not a stopped one).
    stop_event : threading.Event, optional
        Set it to end the family after the current batch; the members finished before are
        kept (the stopped member is not).
    **find_lr_kwargs
        Any other argument of :func:`lrwidget.find_lr` (``start_lr``, ``end_lr``,
        ``batch_size``, ``num_steps``, ``on_start``, ``on_point``, ...), for every member.

    Returns
    -------
    SweepFamily

    Raises
    ------
    ValueError, TypeError
        For bad ``vary`` (an unknown name, a setting the optimizer lacks, an empty list, a
        negative weight decay, a batch size of 0 ...), before anything changes. An exception
        in a member is raised after the model is restored, with the family of the members
        finished before it as its ``family`` attribute.
    """
    vary, members, plan = check_family(model, x, y, vary, find_lr_kwargs)
    hooks = (on_member, on_member_end, stop_event or threading.Event())
    # Claimed for the whole family: no other thread can sweep or train it between members.
    with exclusive(model, runs=True):
        build(model, plan)
        return _members(model, x, y, vary, members, seed, hooks, find_lr_kwargs)


def _members(model, x, y, vary, members, seed, hooks, find_lr_kwargs) -> SweepFamily:
    """The members' sweeps, one after another, on a model claimed for them."""
    on_member, on_member_end, stop_event = hooks
    names = [name for name in vary if name not in NOT_OPTIMIZER]
    start, settings = StartState(model), OptimizerSettings(model, names)
    results, started, stop_reason = [], time.perf_counter(), "completed"

    def family(reason):
        meta = {"stop_reason": reason, "seed": seed, "seconds": time.perf_counter() - started}
        return SweepFamily(vary, members, results, meta)

    try:
        for index, member in enumerate(members):
            if stop_event.is_set():
                stop_reason = "stopped"
                break
            settings.apply(member)
            start.rewind(member.get(SEED, seed), stream=member.get(SEED, 0))
            if on_member is not None:
                on_member(index, dict(member))
            args = {**find_lr_kwargs, **{k: member[k] for k in SWEEP_ARGS if k in member}}
            result = find_lr(model, x, y, stop_event=stop_event, **args)
            settings.done()
            if result.stop_reason == "stopped":
                stop_reason = "stopped"
                break
            results.append(result)
            if on_member_end is not None:
                on_member_end(index, result)
    except Exception as exc:
        exc.family = family("error")
        raise
    finally:
        settings.restore()
        start.restore()
    return family(stop_reason)


def apply_settings(model, member: dict) -> str:
    """Set ``member``'s optimizer settings on ``model``'s optimizer for training, and say so:
    ``"; weight_decay=0.0001 set; not set: batch_size=64 (...)"``. ``batch_size``,
    ``num_steps`` and ``seed`` are no optimizer settings: they are for the user's own ``fit``
    call. The next ``fit`` traces its step anew, since Keras bakes these settings into it."""
    owner = lr_owner(model.optimizer)
    done = {k: v for k, v in member.items() if k not in NOT_OPTIMIZER}
    skipped = {k: v for k, v in member.items() if k in NOT_OPTIMIZER}
    for name, value in done.items():
        setattr(owner, name, value)
    message = ""
    if done:
        model.train_function = None
        message += "; " + ", ".join(f"{k}={v}" for k, v in done.items()) + " set"
    if skipped:
        listed = ", ".join(f"{k}={v}" for k, v in skipped.items())
        message += f"; not set: {listed} (pass it to your own fit call)"
    return message
