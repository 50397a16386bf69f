"""The rest of the API: read with filters and defaults, write, append and
JSON Lines, restore and backups, status, watch, and the asyncio forms."""

from __future__ import annotations

import asyncio
import json
import os
import threading

import pytest

import jsafe
import jsafe.aio
from conftest import cli


def test_read_filter_vars_and_default(tmp_path):
    f = tmp_path / "a.json"
    f.write_text('{"a": [1, 2, 3], "big": 18446744073709551616}\n')
    assert jsafe.read(f, ".a[] | select(. > $min)", min=1) == [2, 3]
    assert jsafe.read(f, ".big") == [18446744073709551616]
    assert jsafe.read(tmp_path / "none.json", default=None) is None
    assert jsafe.read(tmp_path / "none.json", ".x", default={"x": 7}) == [7]


def test_write_merge_update_return_whether_they_changed(tmp_path):
    f = tmp_path / "a.json"
    assert jsafe.write(f, {"a": 1, "t": (1, 2)}) is True
    assert json.loads(f.read_text()) == {"a": 1, "t": [1, 2]}
    assert jsafe.write(f, {"a": 1, "t": [1, 2]}) is False
    assert jsafe.merge(f, {"a": 1}) is False
    assert jsafe.merge(f, {"a": None, "b": {"c": True}}) is True
    assert jsafe.read(f) == {"t": [1, 2], "b": {"c": True}}
    assert jsafe.update(f, ".b.c = $v", v=[None, 1.5]) is True
    assert jsafe.read(f)["b"] == {"c": [None, 1.5]}
    g = tmp_path / "new.json"
    jsafe.update(g, ".runs += 1", default={"runs": 41})
    assert jsafe.read(g) == {"runs": 42}


def test_append_and_json_lines(tmp_path, jsafe_bin):
    log = tmp_path / "events.jsonl"
    jsafe.append(log, {"e": 1}, {"e": "two"})
    jsafe.append(log, [3])
    assert log.read_text() == '{"e":1}\n{"e":"two"}\n[3]\n'
    assert jsafe.read(log) == [{"e": 1}, {"e": "two"}, [3]]
    assert jsafe.read(log, ".e?") == [1, "two"]
    assert cli(jsafe_bin, "append", str(log), '{"e":4}').returncode == 0
    assert jsafe.read(log)[-1] == {"e": 4}
    with pytest.raises(jsafe.InvalidInput):
        jsafe.merge(log, {"a": 1})


def test_restore_latest_and_by_name(tmp_path):
    f = tmp_path / "a.json"
    jsafe.write(f, {"v": 1})
    jsafe.write(f, {"v": 2})
    jsafe.write(f, {"v": 3})
    names = [b.name for b in jsafe.backups(f)]
    assert len(names) == 2
    assert jsafe.restore(f) == names[-1]
    assert jsafe.read(f) == {"v": 2}
    assert jsafe.restore(f, from_=names[0]) == names[0]
    assert jsafe.read(f) == {"v": 1}


def test_recover_a_corrupt_file_from_its_backup(tmp_path):
    f = tmp_path / "a.json"
    jsafe.write(f, {"v": 1})
    jsafe.write(f, {"v": 2})
    f.write_text('{"v": ')
    with pytest.raises(jsafe.Corrupt):
        jsafe.read(f)
    assert jsafe.read(f, recover=True) == {"v": 1}
    assert os.listdir(tmp_path / ".jsafe" / "quarantine")


def test_status(tmp_path):
    f = tmp_path / "a.json"
    g = tmp_path / "bad.json"
    jsafe.write(f, {"v": 1})
    jsafe.write(f, {"v": 2})
    g.write_text("{")
    a, b = jsafe.status([f, g])
    assert (a.exists, a.valid, a.lock, a.backups, a.ok) == (True, True, "free", 1, True)
    assert (b.valid, b.ok) == (False, False)
    with jsafe.lock(f):
        (held,) = jsafe.status(f)
        assert held.lock == "held" and held.holder_pid == os.getpid()


def test_watch_yields_each_new_version(tmp_path):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    w = jsafe.watch(f, ".n", timeout=60)
    assert next(w) == [0]
    seen = []

    def writer():
        for _ in range(3):
            jsafe.update(f, ".n += 1")
            # The next write only once the last version was seen: a watch
            # may show quick successive versions as their last one.
            while len(seen) < _ + 1:
                threading.Event().wait(0.01)

    t = threading.Thread(target=writer)
    t.start()
    for v in w:
        seen.append(v)
        if v == [3]:
            break
    t.join()
    assert seen == [[1], [2], [3]]
    assert w.next(timeout=0.05) is None


def test_asyncio_forms(tmp_path):
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})

    async def main():
        await asyncio.gather(*(jsafe.aio.update(f, ".n += 1") for _ in range(20)))
        async with jsafe.aio.edit(f) as doc:
            doc["n"] += 100
        async with jsafe.aio.lock(f):
            # Calls in the same task use the held lock.
            await jsafe.aio.merge(f, {"m": 1}, timeout=0.5)
        versions = []
        async for v in jsafe.aio.watch(f, ".n", timeout=0.5):
            versions.append(v)
        return await jsafe.aio.read(f), versions

    doc, versions = asyncio.run(main())
    assert doc == {"n": 120, "m": 1}
    assert versions == [[120]]


def test_every_change_is_journaled_even_when_the_journal_lock_is_busy(tmp_path):
    # The journal's lock is shared by the directory's files; a change waits
    # for it within its own timeout, as the CLI's changes do.
    import fcntl

    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    journal = tmp_path / ".jsafe" / "journal.jsonl"
    before = journal.read_text().count("\n")
    with open(tmp_path / ".jsafe" / "journal.lock", "a") as jl:
        fcntl.flock(jl, fcntl.LOCK_EX)
        t = threading.Thread(target=jsafe.update, args=(f, ".n += 1"))
        t.start()
        threading.Event().wait(0.3)
        fcntl.flock(jl, fcntl.LOCK_UN)
        t.join()
    lines = journal.read_text().splitlines()
    assert len(lines) == before + 1
    assert json.loads(lines[-1])["op"] == "update"


def test_the_package_ships_its_type_information():
    here = os.path.dirname(jsafe.__file__)
    assert os.path.exists(os.path.join(here, "py.typed"))
    assert os.path.exists(os.path.join(here, "_jsafe.pyi"))


def test_a_filter_run_again_sees_its_new_variables(tmp_path):
    # Compiled filters are kept between calls, keyed by code and variables.
    f = tmp_path / "a.json"
    jsafe.write(f, {"n": 0})
    for k in (1, 2, 2, 1.5, "x"):
        jsafe.update(f, ".last = $k | .n += 1", k=k)
        assert jsafe.read(f) == {"n": jsafe.read(f)["n"], "last": k}
    assert jsafe.read(f, ".n") == [5]
    assert jsafe.read(f, ".last + $s", s="y") == ["xy"]
    assert jsafe.read(f, ".last + $s", s="z") == ["xz"]
