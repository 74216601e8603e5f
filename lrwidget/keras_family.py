"""A sweep family on a Keras 3 model: one :func:`~lrwidget.find_lr` per member, one after another.

Each member's optimizer settings are set on the optimizer before its sweep and the user's own
values put back after the family. Keras reads them (``weight_decay``, ``momentum``,
``beta_1`` ...) as Python numbers when it traces the train step, so they are baked into it as
constants: the sweep's traced step is kept per setting (:class:`~lrwidget.keras_state.SweepStep`
holds one per group size; here one such set per distinct setting), so a setting is traced once
per family and again only when it changes, never per step. Every member starts from exactly the
model's starting state: ``find_lr`` restores the model and optimizer bitwise after each member,
and Keras's global RNGs are seeded the same before each (another seed for a ``seed`` member,
whose dropout stream is also moved on).
"""

from __future__ import annotations

import inspect
import random
import threading
import time
from collections.abc import Callable

import keras
import numpy as np

from .data import plan_fit, sample_inputs
from .family import NOT_OPTIMIZER, SEED, SWEEP_ARGS, SweepFamily, check_vary, family_members
from .keras_state import SweepStep, lr_owner
from .keras_sweep import check_sweep_range, find_lr
from .result import SweepResult

_FIND_LR = inspect.signature(find_lr).parameters
# Optimizer arguments a family cannot vary: the LR is what the sweep varies, and these make
# variables when the optimizer is built, or are not settings of the update at all.
NOT_VARIABLE = {
    "learning_rate",
    "name",
    "amsgrad",
    "centered",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
}
SEED_STRIDE = 1_000_003  # how far a seed member moves each dropout stream's counter
_MISSING = object()


def _own_train_step(model):
    """``model.train_step`` as a function of its own: JAX traces it anew."""
    method = model.train_step

    def train_step(*args, **kwargs):
        return method(*args, **kwargs)

    return train_step


def optimizer_settings(optimizer) -> list[str]:
    """The settings of ``optimizer`` a family can vary: its constructor's arguments held as a
    number, a bool or None (e.g. SGD's ``momentum``, ``nesterov``, ``weight_decay``)."""
    owner = lr_owner(optimizer)
    names = set()
    for cls in type(owner).__mro__:
        init = cls.__dict__.get("__init__")
        if init is not None:
            names |= set(inspect.signature(init).parameters)
    return sorted(
        name
        for name in names - NOT_VARIABLE
        if name in dir(owner)
        and (getattr(owner, name) is None or isinstance(getattr(owner, name), int | float))
    )


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
    _check_momentum(model.optimizer, vary)
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


def _check_momentum(optimizer, vary):
    """SGD built with ``momentum=0`` has no momentum variables, so no member can use one."""
    owner = lr_owner(optimizer)
    if isinstance(owner, keras.optimizers.SGD) and owner.momentum == 0:
        moving = [v for v in vary.get("momentum", ()) if v != 0]
        if moving:
            raise ValueError(
                f"vary['momentum'] holds {moving[0]!r}, but this SGD was made with momentum=0, "
                "so it keeps no momentum to use: compile with SGD(momentum=0.9) (any value "
                "but 0; the family puts it back afterwards) to vary momentum"
            )


def _build(model, plan):
    """Build the model and its optimizer with the user's own settings, as the first sweep
    would: a member's settings must not decide which variables the optimizer makes."""
    if not model.built:
        model(sample_inputs(plan))
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)


class _Settings:
    """The optimizer settings and traced steps of the members, and the user's to put back.

    The sweep's traced steps are kept per setting of every optimizer setting (not only the
    varied ones) on the model, next to its :class:`~lrwidget.keras_state.SweepStep`, so that a
    later family with the same settings traces nothing anew.
    """

    ATTRIBUTE = "_lrwidget_family_steps"

    def __init__(self, model, names):
        self.model = model
        self.owner = lr_owner(model.optimizer)
        self.names = names
        self.own = {name: getattr(self.owner, name) for name in names}
        self.every = optimizer_settings(model.optimizer)
        # setting -> (the SweepStep, its traced functions, the JAX train_step they were traced on)
        self.traced: dict[tuple, tuple] = model.__dict__.get(self.ATTRIBUTE) or {}
        object.__setattr__(model, self.ATTRIBUTE, self.traced)
        self.own_key = self._key()
        self._remember()
        self.seeds = [
            v for v in model.variables if v.path.endswith("seed_generator_state")
        ]  # the dropout streams' states
        self.seed_values = [np.array(keras.ops.convert_to_numpy(v.value)) for v in self.seeds]
        # The global states, which set_random_seed reseeds before each member.
        self.rng = (random.getstate(), np.random.get_state())  # noqa: NPY002
        self.own_step = model.__dict__.get("train_step", _MISSING)

    def _key(self) -> tuple:
        """The optimizer's settings now: what a traced step has baked in."""
        return tuple((name, getattr(self.owner, name)) for name in self.every)

    def _remember(self, jax_step=None):
        kept = self.model.__dict__.get(SweepStep.ATTRIBUTE)
        if kept is not None:
            self.traced[self._key()] = (kept, kept.functions, jax_step)

    def _use_traced(self, own: bool):
        """The kept sweep step's functions traced with the settings now (none: trace anew)."""
        kept = self.model.__dict__.get(SweepStep.ATTRIBUTE)
        step, functions, jax_step = self.traced.get(self._key(), (None, None, None))
        if kept is not None:
            kept.functions = functions if step is kept else {}
        if keras.backend.backend() == "jax" and not own:
            # JAX reuses a traced step for an equal function (a model's bound train_step is
            # equal to itself), settings baked in: each setting gets a train_step of its own.
            jax_step = jax_step if step is kept and jax_step else _own_train_step(self.model)
            object.__setattr__(self.model, "train_step", jax_step)
        return jax_step

    def apply(self, member, seed: int):
        """Set ``member``'s optimizer settings and the traced steps that bake them in."""
        values = {**self.own, **{k: v for k, v in member.items() if k in self.names}}
        for name, value in values.items():
            setattr(self.owner, name, value)
        self._put_back_train_step()
        self.jax_step = self._use_traced(own=self._key() == self.own_key)
        keras.utils.set_random_seed(seed)
        for v, value in zip(self.seeds, self.seed_values, strict=True):
            if SEED in member:  # another dropout stream for another repeat
                value = value + np.array([0, SEED_STRIDE * member[SEED]], dtype=value.dtype)
            v.assign(value)

    def done(self):
        self._remember(self.jax_step)

    def _put_back_train_step(self):
        if self.own_step is _MISSING:
            self.model.__dict__.pop("train_step", None)
        else:
            object.__setattr__(self.model, "train_step", self.own_step)

    def restore(self):
        """The user's own settings, traced steps, dropout streams and Python/numpy RNGs."""
        for name, value in self.own.items():
            setattr(self.owner, name, value)
        self._put_back_train_step()
        self._use_traced(own=True)
        for v, value in zip(self.seeds, self.seed_values, strict=True):
            v.assign(value)
        random.setstate(self.rng[0])
        np.random.set_state(self.rng[1])  # noqa: NPY002


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
    _build(model, plan)
    names = [name for name in vary if name not in NOT_OPTIMIZER]
    stop_event = stop_event or threading.Event()
    settings = _Settings(model, names)
    results, started, stop_reason = [], time.perf_counter(), "completed"

    def family(reason):
        meta = {"stop_reason": reason, "seed": seed, "seconds": time.perf_counter() - started}
        return SweepFamily(vary, members, results, meta)

    try:
        for index, member in enumerate(members):
            if stop_event.is_set():
                stop_reason = "stopped"
                break
            settings.apply(member, member.get(SEED, seed))
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
