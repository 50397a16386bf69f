"""Python writers (processes and threads), `jsafe` CLI loops and the bash
drop-in increment one counter together: no update is lost, and every
version anyone could read is a valid document."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import jsafe
from conftest import PY, SHIM, wait_for

ROUNDS = 100

PY_WRITER = r"""
import sys, threading, jsafe
path, rounds, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def work(t):
    for _ in range(rounds):
        jsafe.update(path, ".n += 1 | .by[$w] += 1", w=f"{name}-{t}", timeout=None)
ts = [threading.Thread(target=work, args=(t,)) for t in range(2)]
for t in ts: t.start()
for t in ts: t.join()
"""


def test_python_cli_and_dropin_lose_no_update(tmp_path, jsafe_bin):
    f = tmp_path / "counter.json"
    f.write_text('{"n": 0, "by": {}}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSAFE_")}
    env.update(JSAFE_BIN=jsafe_bin, JSAFE_TIMEOUT="600", SHIM=str(SHIM), F=str(f))
    cli_loop = (
        'for i in $(seq %d); do "$JSAFE_BIN" update "$F" ".n += 1 | .by.$W += 1" || exit 1; done'
        % ROUNDS
    )
    shim_loop = (
        'source "$SHIM"; for i in $(seq %d); do safe_json_update "$F" ".n += 1 | .by.$W += 1" || exit 1; done'
        % ROUNDS
    )
    stop = threading.Event()
    seen = []
    bad = []

    def reader():
        # Every version a reader meets is whole and valid, read raw (as a
        # program that knows nothing of jsafe would) and through jsafe.
        while not stop.is_set():
            raw = f.read_bytes()
            try:
                seen.append(json.loads(raw)["n"])
            except ValueError as e:
                bad.append((raw, e))
            seen.append(jsafe.read(f)["n"])

    r = threading.Thread(target=reader)
    r.start()
    procs = []
    try:
        for k in range(4):
            procs.append(subprocess.Popen([PY, "-c", PY_WRITER, str(f), str(ROUNDS), f"py{k}"], env=env))
        for k in range(2):
            procs.append(subprocess.Popen(["bash", "-c", cli_loop], env=dict(env, W=f"cli{k}")))
            procs.append(subprocess.Popen(["bash", "-c", shim_loop], env=dict(env, W=f"shim{k}")))
        codes = [p.wait(timeout=1200) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        stop.set()
        r.join()
    assert codes == [0] * len(procs)
    assert bad == []
    final = jsafe.read(f)
    writers = 4 * 2 + 4
    assert final["n"] == writers * ROUNDS
    assert sorted(final["by"].values()) == [ROUNDS] * writers
    assert seen == sorted(seen)  # no version went back
    # The replaced versions kept as backups are valid documents too.
    assert all(b.valid for b in jsafe.backups(f))


def test_python_edit_blocks_cli_merge_and_the_reverse(tmp_path, jsafe_bin):
    from conftest import cli

    f = tmp_path / "a.json"
    f.write_text('{"a": 1}\n')
    with jsafe.edit(f) as doc:
        r = cli(jsafe_bin, "--timeout", "0.3", "merge", str(f), '{"b": 2}')
        assert r.returncode == 3, r.stderr
        doc["a"] = 5
    assert jsafe.read(f) == {"a": 5}
    assert cli(jsafe_bin, "--timeout", "5", "merge", str(f), '{"b": 2}').returncode == 0

    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [jsafe_bin, "lock", str(f), "--", "sh", "-c", f"touch {ready}; cat >/dev/null"],
        stdin=subprocess.PIPE,
    )
    try:
        wait_for(ready.exists, "the CLI lock holder")
        try:
            with jsafe.edit(f, timeout=0.3) as doc:
                doc["a"] = 6
            raise AssertionError("edit got a lock the CLI holds")
        except jsafe.LockTimeout as e:
            assert e.exit_code == 3
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    assert jsafe.read(f) == {"a": 5, "b": 2}
