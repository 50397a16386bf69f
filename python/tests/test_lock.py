"""jsafe.lock: nested calls in the same context and CLI children use the held
lock; other threads and processes wait for it; a parent `jsafe lock` hands
its lock to Python; Ctrl-C while waiting writes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import pytest

import jsafe
from conftest import PY, cli, wait_for


def test_nested_calls_use_the_held_lock(tmp_path):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    with jsafe.lock(f) as lk:
        assert lk.fd > 2
        jsafe.update(f, ".n += 1", timeout=0.5)
        jsafe.merge(f, {"m": True}, timeout=0.5)
        with jsafe.edit(f, timeout=0.5) as doc:
            doc["n"] += 1
        with jsafe.lock(f, timeout=0.5):
            jsafe.update(f, ".n += 1", timeout=0.5)
    assert jsafe.read(f) == {"n": 3, "m": True}
    assert jsafe.LOCK_ENV not in os.environ


def test_another_thread_waits_for_the_held_lock(tmp_path):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    errors = []

    def other():
        try:
            jsafe.update(f, ".n += 1", timeout=0.3)
        except jsafe.Error as e:
            errors.append(e)

    with jsafe.lock(f):
        t = threading.Thread(target=other)
        t.start()
        t.join()
    assert [type(e) for e in errors] == [jsafe.LockTimeout]
    assert jsafe.read(f) == {"n": 0}


def test_cli_children_inherit_the_lock_only_inside(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    with jsafe.lock(f) as lk:
        env_value = os.environ[jsafe.LOCK_ENV]
        assert env_value.startswith(f"{lk.fd}:")
        r = subprocess.run(
            [jsafe_bin, "--timeout", "0.3", "update", str(f), ".n += 1"],
            pass_fds=[lk.fd], capture_output=True, text=True,
        )
        assert r.returncode == 0, r.stderr
        # Without the descriptor the child waits like any other writer.
        r = subprocess.run(
            [jsafe_bin, "--timeout", "0.3", "update", str(f), ".n += 1"],
            capture_output=True, text=True,
        )
        assert r.returncode == 3
        fd = lk.fd
        assert os.get_inheritable(fd)
    assert jsafe.LOCK_ENV not in os.environ
    with pytest.raises(OSError):
        os.fstat(fd)  # closed with the context
    assert jsafe.read(f) == {"n": 1}


def test_python_under_cli_lock_adopts_it(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    code = (
        "import sys, jsafe\n"
        "jsafe.update(sys.argv[1], '.n += 1', timeout=0.5)\n"
        "with jsafe.edit(sys.argv[1], timeout=0.5) as d:\n"
        "    d['n'] += 1\n"
    )
    r = cli(jsafe_bin, "lock", str(f), "--", PY, "-c", code, str(f))
    assert r.returncode == 0, r.stderr
    assert jsafe.read(f) == {"n": 2}
    r = cli(jsafe_bin, "lock", "--shared", str(f), "--", PY, "-c", code, str(f))
    assert r.returncode == 1 and "LockTimeout" in r.stderr
    assert jsafe.read(f) == {"n": 2}


def test_ctrl_c_while_waiting_raises_keyboardinterrupt_and_writes_nothing(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    ready = tmp_path / "waiting"
    code = (
        "import sys, jsafe, pathlib\n"
        "try:\n"
        "    pathlib.Path(sys.argv[2]).touch()\n"
        "    jsafe.update(sys.argv[1], '.n += 1', timeout=None)\n"
        "except KeyboardInterrupt:\n"
        "    sys.exit(42)\n"
    )
    with jsafe.lock(f):
        p = subprocess.Popen([PY, "-c", code, str(f), str(ready)])
        try:
            wait_for(ready.exists, "the waiting writer")
            # Most likely in the wait by now; a SIGINT that lands just
            # before it must end the same way: KeyboardInterrupt, nothing
            # written.
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            assert p.wait(timeout=60) == 42
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
    # The lock is free again, and the abandoned wait wrote nothing.
    jsafe.update(f, ".m = 1", timeout=5)
    assert jsafe.read(f) == {"n": 0, "m": 1}


def test_gil_is_released_while_waiting_for_a_lock(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    ticks = []
    done = threading.Event()

    def spin():
        while not done.is_set():
            ticks.append(1)
            done.wait(0.001)

    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [jsafe_bin, "lock", str(f), "--", "sh", "-c", f"touch {ready}; cat >/dev/null"],
        stdin=subprocess.PIPE,
    )
    t = threading.Thread(target=spin)
    try:
        wait_for(ready.exists, "the lock holder")
        t.start()
        with pytest.raises(jsafe.LockTimeout):
            before = len(ticks)
            jsafe.update(f, ".n += 1", timeout=0.5)
        # Another Python thread ran while this one waited.
        assert len(ticks) > before
    finally:
        done.set()
        t.join()
        holder.stdin.close()
        holder.wait(timeout=60)
