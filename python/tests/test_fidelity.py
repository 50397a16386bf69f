"""edit keeps what the block did not touch byte for byte: big integers,
1.10, 1e3, escapes and odd spacing come back exactly as the CLI's merge of
the same change leaves them."""

from __future__ import annotations

import decimal
import shutil

import jsafe
from conftest import cli

DOC = (
    '{\n'
    '  "big": 123456789012345678901234567890123,\n'
    '  "price": 1.10,\n'
    '  "thousand":   1e3,\n'
    '  "neg": -0.0,\n'
    '  "text": "caf\\u00e9 \\"quoted\\" \\/ tab\\t",\n'
    '  "odd" :[1,2 ,  3,{"x":1.50}],\n'
    '  "nested": {"keep": 2.500, "count": 1},\n'
    '  "last": null\n'
    '}\n'
)


def untouched_parts():
    return [
        '"big": 123456789012345678901234567890123',
        '"price": 1.10',
        "1e3",
        "-0.0",
        '"caf\\u00e9 \\"quoted\\" \\/ tab\\t"',
        '[1,2 ,  3,{"x":1.50}]',
        '"keep": 2.500',
    ]


def test_edit_one_key_keeps_every_other_byte(tmp_path, jsafe_bin):
    f = tmp_path / "py.json"
    g = tmp_path / "cli.json"
    f.write_text(DOC)
    g.write_text(DOC)
    with jsafe.edit(f) as doc:
        assert doc["big"] == 123456789012345678901234567890123
        assert doc["thousand"] == 1000.0
        doc["nested"]["count"] += 1
    assert cli(jsafe_bin, "merge", str(g), '{"nested": {"count": 2}}').returncode == 0
    out = f.read_text()
    assert out == g.read_text()
    for part in untouched_parts():
        assert part in out, part
    assert '"count": 2' in out


def test_edit_that_changes_nothing_writes_nothing(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(DOC)
    with jsafe.edit(f) as doc:
        doc["price"] = 1.1  # numerically the same
        doc["odd"][3]["x"] = 1.5
    assert f.read_text() == DOC
    assert jsafe.backups(f) == []


def test_edit_with_decimals_and_big_ints(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(DOC)
    with jsafe.edit(f, decimals="decimal") as doc:
        assert doc["price"] == decimal.Decimal("1.10")
        assert str(doc["price"]) == "1.10"
        doc["total"] = doc["price"] * 3
        doc["big"] += 1
    out = f.read_text()
    assert '"total": 3.30' in out
    assert '"big": 123456789012345678901234567890124' in out
    for part in untouched_parts()[1:]:
        assert part in out, part


def test_set_to_none_and_remove_keep_the_rest(tmp_path):
    # A value set to None cannot be said by a merge patch: the document is
    # rendered whole, still with the untouched values' own text.
    f = tmp_path / "a.json"
    f.write_text(DOC)
    with jsafe.edit(f) as doc:
        doc["nested"]["count"] = None
        del doc["neg"]
    out = f.read_text()
    assert jsafe.read(f)["nested"] == {"keep": 2.5, "count": None}
    assert "neg" not in out
    for part in ('"big": 123456789012345678901234567890123', '"price": 1.10', "1e3", '"keep": 2.500', '"caf\\u00e9'):
        assert part in out, part


def test_exception_in_edit_leaves_the_file_untouched(tmp_path):
    f = tmp_path / "a.json"
    f.write_text(DOC)
    try:
        with jsafe.edit(f) as doc:
            doc["nested"]["count"] = 99
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert f.read_text() == DOC
    assert jsafe.backups(f) == []


def test_update_and_merge_keep_untouched_bytes(tmp_path, jsafe_bin):
    f = tmp_path / "a.json"
    g = tmp_path / "b.json"
    f.write_text(DOC)
    shutil.copy(f, g)
    jsafe.update(f, ".nested.count += $n", n=4)
    assert cli(jsafe_bin, "update", str(g), ".nested.count += 4").returncode == 0
    assert f.read_text() == g.read_text()
    jsafe.merge(f, {"price": 2})
    assert cli(jsafe_bin, "merge", str(g), '{"price": 2}').returncode == 0
    assert f.read_text() == g.read_text()
