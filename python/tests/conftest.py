"""Shared fixtures: the `jsafe` CLI the interop tests run (JSAFE_BIN, else
PATH: scripts/ci-python.sh builds it and puts it on PATH), the bash drop-in,
and an environment without the caller's JSAFE_* variables."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIM = REPO / "scripts" / "json-safe-operations.sh"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for k in list(os.environ):
        if k.startswith("JSAFE_"):
            monkeypatch.delenv(k)


@pytest.fixture(scope="session")
def jsafe_bin() -> str:
    found = os.environ.get("JSAFE_BIN") or shutil.which("jsafe")
    if not found:
        pytest.fail("the jsafe CLI is needed: put it on PATH or set JSAFE_BIN (scripts/ci-python.sh does)")
    return found


def cli(jsafe_bin: str, *args: str, **kw) -> subprocess.CompletedProcess:
    """Run the jsafe CLI; never raises on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSAFE_") or k == "JSAFE_LOCK_FD"}
    env.update(kw.pop("env", {}))
    return subprocess.run([jsafe_bin, *args], capture_output=True, text=True, env=env, **kw)


def wait_for(pred, what: str, limit: float = 60.0) -> None:
    """Poll `pred` until true; fail after `limit` seconds (a hang, not a
    timing assertion: a slow machine only waits longer)."""
    end = time.monotonic() + limit
    while not pred():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.01)


PY = sys.executable
