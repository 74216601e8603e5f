"""The API of the article "Speeding up Neural Net Training with LR-Finder", on lrwidget's engine.

Its readers can switch by changing one import: ``LRFinder(model).find(...)`` and
``find_generator(...)`` run :func:`lrwidget.find_lr` (true batch losses, the model restored),
``lrs``/``losses``/``candidates`` read the result, and ``plot_loss()`` shows the widget.
"""

from __future__ import annotations

import math

from .data import DEFAULT_MIN_STEPS
from .keras_sweep import find_lr
from .result import SweepResult


class LRFinder:
    """An LR range test in the article's shape.

    Parameters
    ----------
    model : keras.Model
        A compiled model; it is bitwise the same after each ``find``.
    **sweep_args
        Any further :func:`lrwidget.find_lr` argument (``mode``, ``spacing``, ``beta`` ...).
    """

    def __init__(self, model, **sweep_args):
        self.model = model
        self.sweep_args = sweep_args
        self.result: SweepResult | None = None

    def find(self, x, y, start_lr, end_lr, batch_size=64, epochs=1, **kwargs):
        """Sweep from ``start_lr`` to ``end_lr`` over ``epochs`` passes of ``(x, y)``.

        Small data is cycled up to 300 steps, so the curve is readable. ``validation_data``
        (and any other :func:`~lrwidget.find_lr` argument) may be passed as a keyword.
        """
        epochs = _positive("epochs", epochs)
        n = len(x) if hasattr(x, "__len__") else 0
        steps = None  # find_lr explains what is wrong with x or batch_size
        if n and isinstance(batch_size, int) and batch_size > 0:
            steps = max(epochs * math.ceil(n / batch_size), DEFAULT_MIN_STEPS)
        return self._run(x, y, start_lr, end_lr, batch_size=batch_size, num_steps=steps, **kwargs)

    def find_generator(
        self,
        generator,
        start_lr,
        end_lr,
        test_generator=None,
        epochs=1,
        steps_per_epoch=None,
        **kwargs,
    ):
        """Sweep over batches from ``generator`` (a generator, Dataset or PyDataset).

        ``steps_per_epoch`` is needed when the generator's length is unknown. A
        ``test_generator`` turns on validation mode: each point's loss is measured on a fixed
        subset of its batches after the step.
        """
        epochs = _positive("epochs", epochs)
        steps = None  # one pass, as find_lr works out for a Dataset or PyDataset
        if steps_per_epoch is not None:
            steps = epochs * _positive("steps_per_epoch", steps_per_epoch)
        elif epochs > 1 and hasattr(generator, "__len__"):
            steps = epochs * len(generator)
        kwargs.setdefault("validation_data", test_generator)
        try:
            return self._run(generator, None, start_lr, end_lr, num_steps=steps, **kwargs)
        except ValueError as exc:
            if steps is None and str(exc).startswith("num_steps is required"):
                # find_lr's own words name its argument; this API calls it steps_per_epoch.
                raise ValueError(
                    "steps_per_epoch is required: the generator's length is unknown (or "
                    "infinite), so pass steps_per_epoch=... (e.g. 200)"
                ) from None
            raise

    def _run(self, x, y, start_lr, end_lr, **kwargs):
        self.result = find_lr(
            self.model, x, y, start_lr=start_lr, end_lr=end_lr, **{**self.sweep_args, **kwargs}
        )
        return self.result

    def _done(self) -> SweepResult:
        if self.result is None:
            raise RuntimeError("no sweep yet: call find(...) or find_generator(...) first")
        return self.result

    @property
    def lrs(self):
        """The learning rate of each step."""
        return self._done().lrs

    @property
    def losses(self):
        """The loss of each step (validation loss with a test generator)."""
        return self._done().losses

    @property
    def candidates(self):
        """The candidate LRs to train at, at least 20 % apart (``lrwidget.Candidate``: lr, loss,
        index, label); the article's minima themselves are ``result.minima``."""
        return self._done().candidates

    @property
    def suggestion(self):
        """The one LR to start from."""
        return self._done().suggestion

    def plot_loss(self, **kwargs):
        """Show the curve in lrwidget's interactive chart (click or drag to pick an LR)."""
        from .chart import show

        return show(self._done(), **kwargs)


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return value
