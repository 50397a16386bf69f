//! Documents the JSON readers' tests share: every reader must accept the
//! valid ones and fail on the others exactly as `parse` does.

use super::parse::parse;
use super::value::Value;

/// `text` parsed; for test inputs known to be valid.
#[track_caller]
pub(super) fn json(text: &str) -> Value {
    match parse(text.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("{text}: {e}"),
    }
}

/// Valid documents: every kind of value, escapes, duplicates, layouts.
pub(super) const VALID: &[&[u8]] = &[
    b"null",
    b" true ",
    b"\r\n\tfalse\n",
    b"\"x\"",
    b"0",
    b"-0",
    b"1.10",
    b"1e3",
    b"2.50E-3",
    b"12345678901234567890123",
    b"-9223372036854775808",
    br#"{"z": 1, "a": [true, null, {}], "m": 2, "z": 3}"#,
    b"\"plain\"",
    "\"日本\"".as_bytes(),
    br#""caf\u00e9""#,
    br#""a\/b""#,
    br#""\"\\\b\f\n\r\t""#,
    br#""\ud83d\ude00!""#,
    br#""\uD83D\uDE00""#,
    br#""\u0000""#,
    b"\"\"",
    br#"["x\u0041"]"#,
    br#""\ud800""#,
    br#""\udc00x""#,
    br#""\ud83d\u0041""#,
    br#""a\ude00\ud83d""#,
    br#"{"k\"ey": "a\/b", "": ""}"#,
    b"\"\x7f\"",
    b"[\"abcdefghijklmnopqrstuvwxyz\\\"\"]",
    b"{\n        \"a\": [\n                1\n        ]\n}",
    b"{\r\n\t\"a\": [\r\n\t\t1,\r\n\t\t\"x\"\r\n\t],\r\n\t\"b\": {}\r\n}",
];

/// Documents cut short: each fails as truncated, at its end.
pub(super) const TRUNCATED: &[&[u8]] = &[
    b"{\"a",
    b"[1",
    b"[1,",
    b"{\"a\":",
    b"{\"a\": 1",
    b"{\"a\":1,",
    b"{\"a\":1,\"",
    b"{\"a\"",
    b"tr",
    b"[fals",
    b"-",
    b"1.",
    b"\"x\\u00",
    br#""\ud800\u00"#,
    b"{\n  \"a\": [\n    1,\n    2,\n    3,\n",
    b"[\"abcdefghijklmnopqrstuvwxyz",
    b"{\n                \n",
];

/// Other invalid documents: one or more of every kind of error.
pub(super) const INVALID: &[&[u8]] = &[
    b"{\"data\": %",
    b"{\n  \"a\": 1,\n  \"b\": [1, 2]   %\n}",
    b"{\"a\": 1}\n}",
    b"1 2",
    b"{}{}",
    b"[] x",
    b"{\"name\": \"caf\xE9\"}",
    b"{\"a\": \"\xff\"}",
    br#""\ud800\u12G4""#,
    br#""\x41""#,
    br#""\u12G4""#,
    b"\xEF\xBB\xBF{}",
    b"",
    b"   ",
    b"\n\r\n\t",
    b"{\"a\": \"x\ny\"}",
    b"[\"a\\n\x01\"]",
    b"\"\x1f\"",
    b"\"tab\there\"",
    b"[1,]",
    b"{\"a\":1,}",
    b"{\"a\": [1,]}",
    b"{'a':1}",
    b"['a']",
    b"[1 2]",
    b"{\"a\" 1}",
    b"{1:2}",
    b"[01]",
    b"[1.]",
    b"[1e]",
    b"[-]",
    b"[.5]",
    b"[+1]",
    b"[True]",
    b"[nul]",
    b"[nulx]",
    b"[NaN]",
    b"// c\n1",
    "[é]".as_bytes(),
    b"\x0c1",
    "{\"日本\": x}".as_bytes(),
    b"[\r\n  1,\r\n  ?]",
    b"{\"a\":1 \"b\":2}",
    b"[\"abcdefghijklmnop\x01qrstuvwxyz\"]",
];
