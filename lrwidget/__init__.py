"""lrwidget: a live, steerable learning-rate finder for Keras 3.

``find_lr`` runs the range test headless and returns a :class:`SweepResult`;
``LRFinderWidget`` streams the same sweep into an interactive chart where you pick the LR;
``try_lrs`` trains a few short runs at the LRs it proposes and returns :class:`Trials`.

The public names load on first use, so ``import lrwidget`` (and ``lrwidget --help``) does not
pay for importing TensorFlow until a sweep or a chart is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "AnalysisSettings": "result",
    "Candidate": "analysis",
    "LRFinder": "article",
    "LRFinderWidget": "widget",
    "SweepFamily": "family",
    "SweepResult": "result",
    "Trials": "trials",
    "find_lr": "keras_sweep",
    "find_lr_family": "keras_family",
    "show": "chart",
    "try_lrs": "keras_trials",
}
__all__ = [
    "AnalysisSettings",
    "Candidate",
    "LRFinder",
    "LRFinderWidget",
    "SweepFamily",
    "SweepResult",
    "Trials",
    "find_lr",
    "find_lr_family",
    "show",
    "try_lrs",
]

if TYPE_CHECKING:
    from .analysis import Candidate
    from .article import LRFinder
    from .chart import show
    from .family import SweepFamily
    from .keras_family import find_lr_family
    from .keras_sweep import find_lr
    from .keras_trials import try_lrs
    from .result import AnalysisSettings, SweepResult
    from .trials import Trials
    from .widget import LRFinderWidget


_MODULES = {
    "analysis",
    "article",
    "chart",
    "cli",
    "controls",
    "data",
    "failure",
    "family",
    "family_live",
    "figure",
    "image",
    "keras_engine",
    "keras_family",
    "keras_state",
    "keras_sweep",
    "keras_trials",
    "notebook",
    "records",
    "result",
    "runner",
    "schedules",
    "selection",
    "smoothing",
    "style",
    "sync",
    "takeover",
    "trials",
    "widget",
}


def __getattr__(name):
    if name in _MODULES:  # lrwidget.analysis.smooth(...) works without importing it first
        return importlib.import_module(f".{name}", __name__)
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lrwidget' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
