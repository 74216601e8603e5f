"""Turning what a user passes (arrays, Dataset, PyDataset, generator) into a sweep's ``fit`` call.

The sweep runs ``model.fit`` for as many epochs as it takes to reach ``num_steps`` batches and
stops itself there, so finite inputs are cycled by Keras's own epoch machinery and nothing here
copies the user's data. Every check raises before the model is touched.

Keras shuffles array input itself; every other input yields batches in its own order. Keras
warns when told to shuffle anything but arrays, so ``shuffle`` is set only where it is honoured
(:func:`fit_arguments`).
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

MIN_STEPS = 10  # below this there is no curve to read
DEFAULT_MIN_STEPS = 300  # small data sets are cycled to this many steps (fewer read poorly)


@dataclass
class FitPlan:
    """The arguments of the sweep's ``model.fit`` call and the number of steps it will take."""

    num_steps: int
    fit_kwargs: dict = field(default_factory=dict)
    batch_size: int | None = None
    kind: str = "arrays"
    default_steps: int | None = None  # what num_steps=None gives; None: the length is unknown


def _leaves(tree) -> list:
    if isinstance(tree, dict):
        return [leaf for v in tree.values() for leaf in _leaves(v)]
    if isinstance(tree, list | tuple):
        return [leaf for v in tree for leaf in _leaves(v)]
    return [tree]


def count_samples(tree) -> int:
    """Number of samples in a (nested) batch: the length of its first array."""
    return len(np.asarray(_leaves(tree)[0]))


def _positive_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | np.integer) and value >= 1


def _is_array_tree(x) -> bool:
    return x is not None and all(
        isinstance(leaf, np.ndarray) or hasattr(leaf, "__array__") and hasattr(leaf, "shape")
        for leaf in _leaves(x)
    )


def _check_arrays(name: str, tree) -> int:
    """Number of samples in an array tree; raises on empty, ragged or non-finite data."""
    leaves = [np.asarray(leaf) for leaf in _leaves(tree)]
    if not leaves:
        raise ValueError(f"{name} is empty: pass at least one array")
    lengths = {leaf.shape[0] if leaf.ndim else 0 for leaf in leaves}
    if len(lengths) != 1:
        raise ValueError(f"{name}: all arrays must have the same number of samples, got {lengths}")
    n = lengths.pop()
    if n == 0:
        raise ValueError(f"{name} is empty (0 samples): pass at least one batch of data")
    for leaf in leaves:
        if np.issubdtype(leaf.dtype, np.floating) and not _all_finite(leaf):
            raise ValueError(
                f"{name} contains NaN or inf; clean the data (e.g. np.nan_to_num) before the sweep"
            )
    return n


def _all_finite(a: np.ndarray) -> bool:
    """No NaN or inf in ``a``. NaN and inf carry through a sum, so a finite sum proves it in one
    pass that allocates nothing (the check runs before every sweep); only a sum that overflowed
    needs the element-wise look."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(a.sum()):
            return True
    return bool(np.isfinite(a).all())


def _kind(x) -> str:
    from keras.utils import PyDataset

    # A user who built a Dataset has imported TensorFlow; others (JAX, torch) need not have it.
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(x, tf.data.Dataset):
        return "dataset"
    if isinstance(x, PyDataset):
        return "pydataset"
    if _is_array_tree(x):
        return "arrays"
    if isinstance(x, Iterator):
        return "generator"
    raise TypeError(
        f"x of type {type(x).__name__} is not supported; pass numpy arrays (with batch_size), "
        "a tf.data.Dataset, a keras.utils.PyDataset, or a Python generator of (x, y) batches"
    )


def _resolve_steps(num_steps, per_epoch: int | None, what: str) -> int:
    if num_steps is None:
        if per_epoch is None:
            raise ValueError(
                f"num_steps is required for {what}: its length is unknown (or infinite), so "
                "pass num_steps=... (e.g. 200)"
            )
        return max(per_epoch, DEFAULT_MIN_STEPS)
    return num_steps


def plan_fit(x, y=None, *, batch_size=None, num_steps=None, sample_weight=None) -> FitPlan:
    """Validate the data arguments and work out how ``fit`` must be called.

    ``num_steps=None`` means one epoch, but at least ``DEFAULT_MIN_STEPS`` (small data sets are
    cycled). Raises ``ValueError``/``TypeError`` naming the argument and the fix.
    """
    if num_steps is not None:
        if isinstance(num_steps, bool) or not isinstance(num_steps, int | np.integer):
            raise TypeError(f"num_steps must be an int or None, got {type(num_steps).__name__}")
        if num_steps < MIN_STEPS:
            raise ValueError(
                f"num_steps={num_steps} is too few for a loss curve; use at least {MIN_STEPS} "
                f"(or None: one epoch, at least {DEFAULT_MIN_STEPS})"
            )
        num_steps = int(num_steps)
    if batch_size is not None and not _positive_int(batch_size):
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")

    kind = _kind(x)
    if kind != "arrays":
        for name, value in (("y", y), ("sample_weight", sample_weight), ("batch_size", batch_size)):
            if value is not None:
                raise TypeError(
                    f"{name} must be None when x is a {kind}: the {kind} yields whole batches "
                    "of (x, y[, sample_weight]) itself"
                )

    if kind == "arrays":
        n = _check_arrays("x", x)
        for name, tree in (("y", y), ("sample_weight", sample_weight)):
            if tree is not None and _check_arrays(name, tree) != n:
                raise ValueError(f"{name} has a different number of samples than x ({n})")
        batch_size = int(batch_size or 32)
        per_epoch = math.ceil(n / batch_size)
        steps = _resolve_steps(num_steps, per_epoch, "arrays")
        kwargs = dict(x=x, y=y, sample_weight=sample_weight, batch_size=batch_size, shuffle=True)
        kwargs["epochs"] = math.ceil(steps / per_epoch)
        return FitPlan(steps, kwargs, batch_size, kind, max(per_epoch, DEFAULT_MIN_STEPS))

    if kind == "dataset":
        import tensorflow as tf

        card = int(x.cardinality())
        if card == 0:
            raise ValueError("x is an empty Dataset (cardinality 0): it yields no batch")
        known = card if card > 0 else None  # INFINITE (-1) and UNKNOWN (-2) cannot be cycled
        what = "an infinite Dataset" if card == tf.data.INFINITE_CARDINALITY else "this Dataset"
        steps = _resolve_steps(num_steps, known, what)
    elif kind == "pydataset":
        known = x.num_batches
        if known == 0:
            raise ValueError("x is an empty PyDataset (len 0): it yields no batch")
        steps = _resolve_steps(num_steps, known, "an infinite PyDataset")
    else:
        known = None
        steps = _resolve_steps(num_steps, None, "a Python generator")
        x = _as_generator(x)

    # shuffle=False: a Dataset/PyDataset/generator yields batches in its own order.
    if known is None:
        kwargs = dict(x=x, epochs=1, steps_per_epoch=steps, shuffle=False)
    else:
        kwargs = dict(x=x, epochs=math.ceil(steps / known), shuffle=False)
    default = None if known is None else max(known, DEFAULT_MIN_STEPS)
    return FitPlan(steps, kwargs, None, kind, default)


def fit_arguments(plan: FitPlan, model) -> dict:
    """The keyword arguments of the sweep's ``model.fit`` call for ``model``.

    A KerasHub model's own ``fit`` batches array input into a Dataset, in order, before Keras
    sees it (so that its preprocessor applies): Keras would ignore ``shuffle=True`` there and
    warn about it at every sweep. Such a model gets ``shuffle=False``; its batches come in the
    order its own ``fit`` gives them.
    """
    kwargs = dict(plan.fit_kwargs)
    if plan.kind == "arrays" and batches_arrays_itself(model):
        kwargs["shuffle"] = False
    return kwargs


def batches_arrays_itself(model) -> bool:
    """Whether ``model``'s class turns array input into a Dataset in its own ``fit``: KerasHub's
    ``PipelineModel`` (every KerasHub task model), found by name, without importing KerasHub."""
    return any(
        cls.__name__ == "PipelineModel" and cls.__module__.startswith(("keras_hub.", "keras_nlp."))
        for cls in type(model).__mro__
    )


def sample_inputs(plan: FitPlan):
    """The model inputs of one batch, to build an unbuilt model before the sweep.

    Nothing is consumed: a generator's first batch is put back in front of it.
    """
    x = plan.fit_kwargs["x"]
    if plan.kind == "arrays":
        return _take(x, np.arange(1))
    if plan.kind == "dataset":
        batch = next(iter(x.take(1)))
    elif plan.kind == "pydataset":
        batch = x[0]
    else:
        batch = next(x)
        plan.fit_kwargs["x"] = _as_generator(itertools.chain([batch], x))
    return batch[0] if isinstance(batch, tuple) else batch


def _as_generator(it):
    # Keras's adapter wants a generator; any other iterator is wrapped, not consumed.
    yield from it


def validation_subset(validation_data, size: int):
    """A fixed subset of the validation data, as ``(x, y, sample_weight)`` numpy trees (or None).

    Arrays are subsampled with a fixed seed (sorted data must not give one class only);
    Datasets, PyDatasets and generators are read batch by batch until ``size`` samples.
    """
    if not _positive_int(size):
        raise ValueError(f"validation_size must be a positive int, got {size!r}")
    if validation_data is None:
        return None
    if isinstance(validation_data, tuple) and 2 <= len(validation_data) <= 3:
        parts = list(validation_data) + [None] * (3 - len(validation_data))
        if _is_array_tree(parts[0]):
            n = _check_arrays("validation_data x", parts[0])
            for name, tree in (("y", parts[1]), ("sample_weight", parts[2])):
                if tree is not None and _check_arrays(f"validation_data {name}", tree) != n:
                    raise ValueError(f"validation_data {name} has a different length than its x")
            idx = np.sort(np.random.default_rng(0).permutation(n)[: min(size, n)])
            return tuple(None if p is None else _take(p, idx) for p in parts)
    try:
        kind = _kind(validation_data)
    except TypeError:
        kind = None
    if kind not in ("dataset", "pydataset", "generator"):
        raise TypeError(
            "validation_data must be (x_val, y_val[, sample_weight]) arrays, a tf.data.Dataset, "
            f"a PyDataset or a generator of batches; got {type(validation_data).__name__}"
        )
    return _collect(validation_data, size, kind)


def _take(tree, idx):
    if isinstance(tree, dict):
        return {k: _take(v, idx) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(_take(v, idx) for v in tree)
    return np.asarray(tree)[idx]


def _concat(batches):
    first = batches[0]
    if first is None:
        return None
    if isinstance(first, dict):
        return {k: _concat([b[k] for b in batches]) for k in first}
    if isinstance(first, list | tuple):
        return type(first)(_concat([b[i] for b in batches]) for i in range(len(first)))
    return np.concatenate([np.asarray(b) for b in batches])


def _collect(source, size, kind):
    if kind == "pydataset":
        batches = (source[i] for i in range(source.num_batches or 10**9))
    elif kind == "dataset":
        batches = source.as_numpy_iterator()
    else:
        batches = source
    got, parts = 0, []
    for batch in batches:
        batch = tuple(batch) if isinstance(batch, list | tuple) else (batch,)
        if len(batch) < 2:
            raise ValueError("validation_data must yield (x, y) or (x, y, sample_weight) batches")
        batch = batch + (None,) * (3 - len(batch))
        parts.append(batch)
        got += count_samples(batch[0])
        if got >= size:
            break
    if not parts:
        raise ValueError("validation_data is empty: it yielded no batch")
    subset = tuple(_concat([p[i] for p in parts]) for i in range(3))
    idx = np.arange(min(size, got))
    return tuple(None if p is None else _take(p, idx) for p in subset)
