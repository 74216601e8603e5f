"""Every reach into Keras internals the sweep needs, in one place.

Keras 3 offers no public way to do what the sweep must: give the optimizer a stand-in LR
source inside the compiled step, zero the loss tracker there, write each step's loss from it,
copy and put back every variable, and keep other threads off a model being swept. What this
module touches that Keras does not document: ``optimizer._learning_rate`` (the LR variable or
schedule), ``optimizer._iterations`` (the raw step count), ``optimizer._track_variable`` and
``_untrack_variable`` (JAX), ``model.train_function`` and attributes set past Keras's
``__setattr__``. The engine (:mod:`lrwidget.keras_engine`) and :mod:`lrwidget.schedules` use
it; nothing here knows about a run's plan or its record. :class:`StartState` is the state every
run of a family or of trials starts from, as one object.
"""

from __future__ import annotations

import functools
import math
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import keras
import numpy as np

# The models being swept, by id, with the thread that sweeps each. A model is claimed before
# its state is copied, so a second sweep can never copy (and later restore) mid-sweep weights.
_sweeping: dict[int, list] = {}  # id(model) -> [owner thread, whether one run may nest]
_sweeping_lock = threading.Lock()
# What would change a swept model's state from another thread, only to be undone by restore().
GUARDED_METHODS = ("fit", "train_on_batch", "evaluate", "test_on_batch")


@contextmanager
def exclusive(model, *, runs: bool = False) -> Iterator[None]:
    """Claim ``model`` for a sweep in this thread; raises ``RuntimeError`` if one runs already.

    Meanwhile the methods in ``GUARDED_METHODS`` refuse calls from any other thread (the
    sweep's own ``fit`` and validation ``test_on_batch`` run in this one). ``runs=True``
    claims it for a series of runs (a family's members): each may claim it again in this
    thread, one at a time, and no other thread can claim it between them.
    """
    owner = threading.get_ident()
    with _sweeping_lock:
        held = _sweeping.get(id(model))
        nested = held is not None and held[0] == owner and held[1]
        if held is not None and not nested:
            raise RuntimeError(
                f"a sweep is already running on model {model.name!r}: stop it (finder.stop(), "
                "or set the stop_event passed to find_lr) or wait for it (finder.wait()) "
                "before starting another"
            )
        if nested:
            held[1] = False  # a run inside the series: nothing nests in it
        else:
            _sweeping[id(model)] = [owner, runs]
    if nested:
        try:
            yield
        finally:
            held[1] = True
        return
    shadowed = {name: model.__dict__.get(name) for name in GUARDED_METHODS}
    try:
        for name in GUARDED_METHODS:
            object.__setattr__(model, name, _refuse_elsewhere(model, name, owner))
        yield
    finally:
        for name, own in shadowed.items():
            if own is None:
                object.__delattr__(model, name)
            else:  # the user's own instance attribute, put back as it was
                object.__setattr__(model, name, own)
        with _sweeping_lock:
            del _sweeping[id(model)]


def claimed_here(model) -> bool:
    """Whether this thread holds ``model``'s claim (:func:`exclusive`)."""
    with _sweeping_lock:
        held = _sweeping.get(id(model))
        return held is not None and held[0] == threading.get_ident()


def _refuse_elsewhere(model, name: str, owner: int):
    method = getattr(model, name)

    @functools.wraps(method)
    def guarded(*args, **kwargs):
        if threading.get_ident() != owner:
            raise RuntimeError(
                f"model.{name}() refused: an lrwidget sweep is running on this model in another "
                f"thread, and it puts every weight back when it ends, which would undo this "
                f"{name}(). Stop the sweep (finder.stop()) or wait for it (finder.wait()) first."
            )
        return method(*args, **kwargs)

    return guarded


class SweepSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Stands in for the optimizer's LR (variable or schedule) during the sweep: the LR of each
    step, looked up by the optimizer's own iteration count inside the compiled step. Being a
    function of optimizer state, it is right on every backend, in compiled and distributed steps
    alike, and it costs no eager op per step.

    The ladder (padded with its last LR up to ``capacity`` steps) and the iteration of its
    first step live in variables, so that a step traced for one sweep serves later ones too.
    """

    def __init__(self, capacity: int):
        self.capacity = int(capacity)
        self.ladder = keras.Variable(
            np.zeros(self.capacity, "float32"), trainable=False, name="lrwidget_ladder"
        )
        self.first = keras.Variable(0, dtype="int32", trainable=False, name="lrwidget_first")

    def load(self, lrs, first_iteration: int):
        """Point the schedule at a new sweep (two eager assigns, once per sweep)."""
        ladder = np.full(self.capacity, lrs[-1], dtype="float32")
        ladder[: len(lrs)] = lrs
        self.ladder.assign(ladder)
        self.first.assign(first_iteration)

    def __call__(self, step):
        index = keras.ops.cast(step, "int32") - self.first
        index = keras.ops.clip(index, 0, self.capacity - 1)
        return keras.ops.take(self.ladder, index)

    def get_config(self):
        return {"capacity": self.capacity}


def _capacity(num_steps: int, room: int) -> int:
    # Powers of two from 256: sweeps of similar length share one traced step. ``room`` for a
    # last group's steps past the end, which run (at the last LR) and are dropped.
    return max(256, 1 << (num_steps + room - 1).bit_length())


class LossRecord:
    """Each step's loss, written inside the compiled step and read once per call of it: a call
    that runs a group of steps returns only the last one's ``logs``. TensorFlow only (where the
    sweep runs groups), so it holds TensorFlow variables and writes with TensorFlow's ops."""

    def __init__(self, capacity: int):
        import tensorflow as tf

        self.values = tf.Variable(tf.zeros(capacity), trainable=False, name="lrwidget_losses")
        self.count = tf.Variable(0, trainable=False, name="lrwidget_count")

    def write(self, loss):
        """Append ``loss`` (inside the compiled step)."""
        import tensorflow as tf

        index = tf.minimum(self.count, self.values.shape[0] - 1)
        loss = tf.reshape(tf.cast(loss, tf.float32), (1,))
        # An in-place scatter: a functional slice update would copy the whole buffer each step.
        self.values.scatter_update(tf.IndexedSlices(loss, tf.reshape(index, (1,))))
        self.count.assign_add(1)

    def read(self, start: int) -> np.ndarray:
        """The losses written from step ``start`` on (eager: two reads per call)."""
        return self.values.numpy()[start : int(self.count.numpy())]


class SweepStep:
    """The sweep's own compiled train step, kept on the model for later sweeps.

    Kept as a plain attribute that Keras neither tracks nor saves, and reused while the model
    is compiled the same way: same optimizer and loss tracker (``compile`` makes new ones), same
    variables (``quantize`` or a changed ``trainable`` flag makes new lists), same
    ``jit_compile`` and ``run_eagerly``, a ladder long enough. One traced function per group
    size (steps per call), and the step time measured by the last sweep that chooses it.

    During a sweep (:meth:`install`) the optimizer reads its LR from the sweep's schedule and
    the loss tracker zeroes itself before adding each batch (and, in groups, records it).
    """

    ATTRIBUTE = "_lrwidget_sweep_step"

    def __init__(self, model, tracker, capacity):
        self.key = self._key(model, tracker)
        self.schedule = SweepSchedule(capacity)
        tensorflow = keras.backend.backend() == "tensorflow"
        self.record = LossRecord(capacity) if tensorflow else None
        self.functions = {}  # steps per call -> the traced train function
        self.step_seconds = None

    @staticmethod
    def _key(model, tracker):
        return (
            model.optimizer,
            tracker,
            tuple(id(v) for v in model.trainable_variables),
            tuple(id(v) for v in model.non_trainable_variables),
            getattr(model, "jit_compile", None),
            getattr(model, "run_eagerly", None),
        )

    @classmethod
    def for_sweep(cls, model, tracker, num_steps, room):
        """The kept step if it serves this sweep, else a new one (traced by the sweep's fit);
        ``room``: the most steps a call may run past the sweep's last."""
        kept = model.__dict__.get(cls.ATTRIBUTE)
        key = cls._key(model, tracker)
        if (
            kept is None
            or kept.schedule.capacity < num_steps
            or kept.key[0] is not key[0]
            or kept.key[1] is not key[1]
            or kept.key[2:] != key[2:]
        ):
            kept = cls(model, tracker, _capacity(num_steps, room))
            object.__setattr__(model, cls.ATTRIBUTE, kept)
        return kept

    def install(self, model, tracker, snapshot, lrs, first_iteration, group):
        """Set the sweep up to run ``group`` steps per call; every change is undone by
        ``snapshot.restore()``. Attributes are set past Keras's ``__setattr__`` (no tracking);
        the optimizer's ``learning_rate`` setter would untrack an LR variable when given a
        schedule and refuse a variable after one."""
        self.schedule.load(lrs, first_iteration)
        record = self.record if group > 1 else None
        if record is not None:
            record.count.assign(0)
        owner = snapshot.lr_owner
        set_for_sweep(snapshot, owner, "_learning_rate", self.schedule)
        if keras.backend.backend() == "jax":
            # A jitted JAX step gets the optimizer's variables as arguments and bakes any other
            # in as a constant: the ladder and first iteration must travel with them. (This also
            # keeps JAX from reusing the user's traced step: it reuses one traced for an equal
            # function, and a model's bound train_step is equal to itself, while the old jitted
            # one lives and the arguments have the same shapes.)
            variables = (self.schedule.ladder, self.schedule.first)
            for v in variables:
                owner._track_variable(v)
            snapshot.undo.append(lambda: [owner._untrack_variable(v) for v in variables])
        set_for_sweep(snapshot, tracker, "update_state", zeroing_update_state(tracker, record))
        model.steps_per_execution = group
        model.train_function = self.functions.get(group)  # None: fit traces the sweep's own


_MISSING = object()


def set_for_sweep(snapshot, obj, name, value):
    """Set ``obj.name`` past Keras's ``__setattr__`` (nothing tracked); restore undoes it."""
    old = obj.__dict__.get(name, _MISSING)

    def undo():
        if old is _MISSING:
            obj.__dict__.pop(name, None)
        else:
            object.__setattr__(obj, name, old)

    snapshot.undo.append(undo)
    object.__setattr__(obj, name, value)


def zeroing_update_state(tracker, record=None):
    """``tracker.update_state`` that zeroes the tracker first: inside the compiled step, the
    mean it then holds is the batch's loss alone (the same value as resetting it eagerly before
    each batch, without the eager ops). With a ``record``, that mean is also written to it."""
    update_state = tracker.update_state

    def zero_then_update(*args, **kwargs):
        tracker.reset_state()
        out = update_state(*args, **kwargs)
        if record is not None:
            record.write(tracker.result())
        return out

    return zero_then_update


class StateSnapshot:
    """Bitwise copies of a model's and its optimizer's state, to put back after the sweep.

    Variables that do not exist yet (an unbuilt model or optimizer is built by the first
    ``fit``) are captured by :meth:`capture` when called again once they exist, before any step;
    ``restore`` then returns them to their freshly built values.
    """

    def __init__(self, model):
        self.model = model
        self.optimizer = model.optimizer
        self._saved: dict[int, tuple] = {}
        self._attrs = {
            name: getattr(model, name, None)
            for name in (
                "stop_training",
                "history",
                "steps_per_execution",
                "train_function",
                "test_function",
            )
        }
        # The optimizer that reads the LR (a LossScaleOptimizer's inner one).
        self.lr_owner = lr_owner(self.optimizer)
        self.undo: list[Callable[[], object]] = []  # the sweep's other changes, undone last first
        self.capture()

    def _variables(self):
        yield from self.model.variables
        yield from self.optimizer.variables
        # LossScaleOptimizer keeps its inner optimizer's state apart.
        inner = getattr(self.optimizer, "inner_optimizer", None)
        if inner is not None:
            yield from inner.variables

    def capture(self):
        """Copy every variable not copied yet."""
        for v in self._variables():
            if id(v) not in self._saved:
                self._saved[id(v)] = (v, np.array(keras.ops.convert_to_numpy(v.value), copy=True))

    def restore_variables(self):
        """Assign every saved value back."""
        for v, value in self._saved.values():
            v.assign(value)

    def restore(self):
        """Assign every saved value back and undo the sweep's changes to the model's settings."""
        while self.undo:
            self.undo.pop()()
        self.restore_variables()
        # The functions traced during the sweep have its LR and zeroing tracker baked in; only
        # the user's own ones may stay cached.
        for name, value in self._attrs.items():
            setattr(self.model, name, value)


SEED_STRIDE = 1_000_003  # how far another stream moves each dropout stream's counter


class StartState:
    """The state every run of a family or of trials starts from, as one object.

    The model's and optimizer's variables (weights, BatchNorm statistics, optimizer slots,
    iteration, the dropout layers' seed-generator states) bitwise, and Python's and numpy's
    global RNG states. :meth:`rewind` before each run puts the variables back and seeds
    Keras's global RNGs, so that a shuffled ``fit`` draws the same batches in the same order
    and dropout the same masks in every run; :meth:`restore` after the last run puts back what
    the user had. Build the model and its optimizer before (their fresh variables are then
    what is put back). Keras's global seed (``keras.utils.set_random_seed``) cannot be read,
    so it is left seeded by the last run.
    """

    def __init__(self, model):
        self.snapshot = StateSnapshot(model)
        self.streams = [v for v in model.variables if v.path.endswith("seed_generator_state")]
        self.stream_values = [np.array(keras.ops.convert_to_numpy(v.value)) for v in self.streams]
        self.rng = (random.getstate(), np.random.get_state())  # noqa: NPY002

    def rewind(self, seed: int, stream: int = 0):
        """Put the variables back and seed the RNGs with ``seed``; ``stream`` > 0 moves each
        dropout stream that many strides on (another repeat of the same run)."""
        self.snapshot.restore_variables()
        keras.utils.set_random_seed(seed)
        if stream:
            for v, value in zip(self.streams, self.stream_values, strict=True):
                v.assign(value + np.array([0, SEED_STRIDE * stream], dtype=value.dtype))

    def restore(self):
        """Everything as it was when this object was made, the RNGs' states included."""
        self.snapshot.restore()
        random.setstate(self.rng[0])
        np.random.set_state(self.rng[1])  # noqa: NPY002


def loss_tracker(model):
    tracker = next((m for m in model.metrics if m.name == "loss"), None)
    if tracker is None or not hasattr(tracker, "reset_state"):
        raise ValueError(
            "the model has no loss tracker (a metric named 'loss' in model.metrics), so the "
            "sweep cannot read each batch's loss"
        )
    return tracker


def lr_owner(optimizer):
    """The optimizer that reads the LR: a LossScaleOptimizer's inner one, or itself."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def lr_source(optimizer):
    """Where the optimizer reads its LR from: a variable, a schedule or a callable."""
    return getattr(lr_owner(optimizer), "_learning_rate", None)


def uses_schedule(optimizer) -> bool:
    """True when the optimizer's LR comes from a schedule or callable, not a variable."""
    return not isinstance(lr_source(optimizer), keras.Variable)


def current_lr(optimizer) -> float | None:
    """The LR the optimizer's next step would use (a schedule read at its iteration), or None
    when it cannot be read."""
    source = lr_source(optimizer)
    try:
        if isinstance(source, keras.Variable):
            value = source.value
        else:
            value = source(lr_owner(optimizer)._iterations)
        lr = float(keras.ops.convert_to_numpy(value))
    except Exception:  # a callable LR that needs more than a step: no baseline
        return None
    return lr if math.isfinite(lr) and lr > 0 else None


def raw_iterations(optimizer) -> int:
    """The optimizer's raw step count: with gradient accumulation the public ``iterations``
    counts updates, not steps."""
    return int(keras.ops.convert_to_numpy(lr_owner(optimizer)._iterations))
