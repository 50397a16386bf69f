"""Every exception class, provoked for real, carries the CLI's exit code for
the same failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import jsafe
from conftest import PY, cli, wait_for


def hold_lock(path, jsafe_bin):
    """A `jsafe lock` process holding `path`'s lock until its stdin closes."""
    ready = str(path) + ".ready"
    p = subprocess.Popen(
        [jsafe_bin, "lock", str(path), "--", "sh", "-c", f"touch {ready}; cat >/dev/null"],
        stdin=subprocess.PIPE,
    )
    wait_for(lambda: os.path.exists(ready), "the lock holder")
    return p


def release(p):
    p.stdin.close()
    assert p.wait(timeout=60) == 0


def test_exit_codes_are_the_cli_table():
    by_code = {code: name for code, name, _ in jsafe.EXIT_CODES}
    assert by_code[3] == "LockTimeout" and jsafe.LockTimeout("x", 3).exit_code == 3
    assert by_code[4] == "InvalidInput"
    assert by_code[5] == "Corrupt"
    assert by_code[6] == "NotFound"
    assert by_code[7] == "Untouched"
    assert by_code[8] == "ChangedNotDurable"
    assert by_code[10] == by_code[15] == "FilterHalted"
    for cls in (jsafe.LockTimeout, jsafe.InvalidInput, jsafe.Corrupt, jsafe.NotFound,
                jsafe.Untouched, jsafe.ChangedNotDurable, jsafe.FilterHalted):
        assert issubclass(cls, jsafe.Error)


def test_lock_timeout(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    f.write_text('{"n": 1}\n')
    p = hold_lock(f, jsafe_bin)
    try:
        with pytest.raises(jsafe.LockTimeout) as e:
            jsafe.merge(f, {"n": 2}, timeout=0.2)
        r = cli(jsafe_bin, "--timeout", "0.2", "merge", str(f), '{"n": 2}')
        assert e.value.exit_code == r.returncode == 3
        assert str(f) in e.value.message
    finally:
        release(p)
    assert f.read_text() == '{"n": 1}\n'


def test_invalid_input(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    f.write_text('{"n": 1}\n')
    with pytest.raises(jsafe.InvalidInput) as e:
        jsafe.merge(f, [1, 2])
    assert e.value.exit_code == cli(jsafe_bin, "merge", str(f), "[1,2]").returncode == 4
    with pytest.raises(jsafe.InvalidInput):
        jsafe.write(f, {"x": float("nan")})
    with pytest.raises(jsafe.InvalidInput):
        jsafe.write(f, {"x": object()})
    with pytest.raises(jsafe.InvalidInput):
        jsafe.update(f, ".n +")
    with pytest.raises(jsafe.InvalidInput) as e:
        jsafe.update(f, ".n, .n")
    assert "exactly one" in e.value.message
    loop = {}
    loop["self"] = loop
    with pytest.raises(jsafe.InvalidInput):
        jsafe.write(f, loop)
    assert f.read_text() == '{"n": 1}\n'


def test_corrupt(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    f.write_text('{"n": 1,')
    with pytest.raises(jsafe.Corrupt) as e:
        jsafe.read(f)
    assert e.value.exit_code == cli(jsafe_bin, "read", str(f)).returncode == 5
    with pytest.raises(jsafe.Corrupt):
        jsafe.update(f, ".n += 1")
    with pytest.raises(jsafe.Corrupt):
        with jsafe.edit(f) as doc:
            doc["n"] = 2
    assert f.read_text() == '{"n": 1,'


def test_not_found(tmp_path, jsafe_bin):
    f = tmp_path / "missing.json"
    with pytest.raises(jsafe.NotFound) as e:
        jsafe.read(f)
    assert e.value.exit_code == cli(jsafe_bin, "read", str(f)).returncode == 6
    assert jsafe.read(f, default={"d": 1}) == {"d": 1}
    g = tmp_path / "b.json"
    jsafe.write(g, {"a": 1})
    with pytest.raises(jsafe.NotFound):
        jsafe.restore(g, from_="no-such-backup")
    assert not f.exists()


def test_untouched(tmp_path, jsafe_bin):
    d = tmp_path / "adir.json"
    d.mkdir()
    with pytest.raises(jsafe.Untouched) as e:
        jsafe.write(d, {"a": 1})
    assert e.value.exit_code == cli(jsafe_bin, "write", str(d), '{"a":1}').returncode == 7
    assert "nothing was changed" in e.value.message
    with pytest.raises(jsafe.Untouched):
        jsafe.merge(tmp_path / "no-dir" / "x.json", {"a": 1})


def test_filter_halted(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    f.write_text('{"n": 1}\n')
    with pytest.raises(jsafe.FilterHalted) as e:
        jsafe.update(f, "halt")
    assert e.value.exit_code == cli(jsafe_bin, "update", str(f), "halt").returncode == 10
    with pytest.raises(jsafe.FilterHalted) as e:
        jsafe.update(f, '"stop\\n" | halt_error(3)')
    assert e.value.exit_code == 3
    assert f.read_text() == '{"n": 1}\n'


def test_changed_not_durable(tmp_path):
    """A directory fsync that fails after the rename: the change IS made.
    Needs the fail points, so it runs in a build made with them (see
    scripts/ci-python.sh); in any other build it fails rather than skip."""
    from jsafe import _jsafe

    if not _jsafe.FAILPOINTS:
        pytest.fail("this build has no fail points: run with -m 'not failpoints' or build with --features failpoints")
    f = tmp_path / "a.json"
    f.write_text('{"n": 1}\n')
    code = (
        "import jsafe, sys\n"
        "try:\n"
        f"    jsafe.merge({str(f)!r}, {{'n': 2}})\n"
        "except jsafe.ChangedNotDurable as e:\n"
        "    print(e.exit_code, e.message); sys.exit(0)\n"
        "sys.exit(1)\n"
    )
    env = dict(os.environ, JSAFE_FAILPOINT="dir-fsync:1:EIO")
    r = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("8 ")
    assert jsafe.read(f) == {"n": 2}


test_changed_not_durable = pytest.mark.failpoints(test_changed_not_durable)
