"""``python -m lrwidget`` and the ``lrwidget`` console script; see :mod:`lrwidget.cli`."""

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
