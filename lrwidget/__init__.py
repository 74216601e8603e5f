"""lrwidget: a live, steerable learning-rate finder for Keras 3.

``find_lr`` runs the range test headless and returns a :class:`SweepResult`;
``LRFinderWidget`` streams the same sweep into an interactive chart where you pick the LR.
"""

from .analysis import Candidate
from .article import LRFinder
from .keras_sweep import find_lr
from .result import AnalysisSettings, SweepResult
from .widget import LRFinderWidget, show

__all__ = [
    "AnalysisSettings",
    "Candidate",
    "LRFinder",
    "LRFinderWidget",
    "SweepResult",
    "find_lr",
    "show",
]
__version__ = "0.1.0"
