"""Sweeps across devices and hosts with Keras 3's distribution API on JAX, each in processes of
their own (a backend, and JAX's devices, are fixed when a process starts)."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("jax_distributed_check.py")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="jax is not installed (the newest-stack leg of .ci/run installs it)",
)


def _env(**extra) -> dict:
    return dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3", **extra)


def _report(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_data_parallel_over_two_devices_in_one_process_sweeps_and_restores():
    flags = "--xla_force_host_platform_device_count=2"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "devices"],
        env=_env(XLA_FLAGS=flags),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = _report(proc.stdout)
    assert out["devices"] == 2 and out["processes"] == 1
    assert out["restored"] and out["stop_reason"] in ("completed", "diverged")
    assert out["steps"] >= 10 and len(out["losses"]) == out["steps"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_on_localhost_record_the_same_sweep_and_both_restore():
    port = _free_port()
    procs = [
        subprocess.Popen(
            [sys.executable, str(SCRIPT), "process", str(i), "2", str(port)],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outs = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=300)
            assert p.returncode == 0, stderr[-3000:]
            outs.append(_report(stdout))
    finally:
        for p in procs:
            p.kill()
    first, second = outs
    assert first["processes"] == second["processes"] == 2
    assert first["devices"] == second["devices"] == 2
    # One sweep, seen the same by both: the same LRs, the same losses, the same end.
    assert first["steps"] == second["steps"] >= 10
    assert first["stop_reason"] == second["stop_reason"]
    assert first["lrs"] == second["lrs"] and first["losses"] == second["losses"]
    assert first["restored"] and second["restored"]
