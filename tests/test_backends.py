"""The engine on every Keras 3 backend, each in its own process (a backend is chosen at import)."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("backend_check.py")


@pytest.mark.parametrize(
    "backend, package", [("jax", "jax"), ("torch", "torch"), ("tensorflow", "tensorflow")]
)
def test_engine_is_exact_and_restores_on_backend(backend, package):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed (CI installs it: see .ci/run)")
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["backend"] == backend
    for case in ("adam", "schedule", "later_sweeps", "later_sweeps_schedule", "recompiled"):
        got = out[case]
        assert got["steps"] == (15 if case in ("adam", "schedule") else 12), got
        assert got["loss_rel_error"] < 1e-5, got
        assert got["lrs_applied"] and got["restored"], got
