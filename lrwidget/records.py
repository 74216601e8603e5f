"""The JSON every record shares (a sweep, a family, trials): one strict reader and writer.

A file is one JSON object with a ``format`` tag and a ``version``; numbers that are not finite
are written as ``null`` (JSON has no NaN); reading never unpickles or evaluates anything, and
refuses non-standard constants (``NaN``, ``Infinity``) and anything malformed with a
``ValueError`` that names the field. Pure Python and numpy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np


def floats_to_json(values) -> list:
    """A float array as a JSON list, non-finite values as ``null``."""
    return [float(v) if math.isfinite(v) else None for v in np.asarray(values, float).tolist()]


def json_to_floats(value, name: str) -> np.ndarray:
    """A JSON list of numbers (``null`` for NaN) as a float64 array; ``ValueError`` naming
    ``name`` for anything else."""
    if not isinstance(value, list) or not all(
        v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in value
    ):
        raise ValueError(f"field {name!r} must be a list of numbers (null for NaN)")
    try:
        return np.array([np.nan if v is None else v for v in value], dtype=np.float64)
    except OverflowError:  # an integer of hundreds of digits: JSON has no limit
        raise ValueError(f"field {name!r} holds a number too large for a float") from None


def check_header(data, fmt: str, version: int, what: str) -> dict:
    """``data`` when it is a JSON object tagged ``fmt`` at ``version``; else ``ValueError``."""
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ValueError(f"not an lrwidget {what}: expected a JSON object, format={fmt!r}")
    if data.get("version") != version:
        raise ValueError(
            f"unsupported {what} file version {data.get('version')!r}; this lrwidget reads "
            f"version {version}"
        )
    return data


def save_json(data: dict, path) -> Path:
    """Write ``data`` (strict JSON: no NaN) to ``path`` and return it as a ``Path``."""
    path = Path(path)
    path.write_text(json.dumps(data, indent=1, allow_nan=False))
    return path


def load_json(path, from_dict):
    """Read ``path`` as strict JSON and rebuild a record with ``from_dict``; every failure is
    a ``ValueError`` that starts with the path."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="strict")
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeError are ValueErrors
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    try:
        return from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _reject_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")
