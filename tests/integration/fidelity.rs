//! Faithfulness: what a change did not touch comes back byte for byte. Key order,
//! big integers, decimals as written and the formatting style of files written by
//! jq, Python's json.dumps, serde_json and JSON.stringify (and CRLF files) survive
//! a merge or an update; a symlinked target stays a symlink; the mode stays; new
//! files get jq's style; --compact / --indent / --tab override.
//!
//! The expected bytes are written out literally: each "before" is what the tool
//! writes (numbers then changed to spellings the tools would not produce but a
//! hand-edited file may hold), each "after" what that tool would write for the
//! changed document.

use crate::common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

use common::*;

/// The merge patch applied to every STYLES file: changes a top-level and a nested
/// member, adds a member holding new nesting and a non-ASCII string.
const PATCH: &str = r#"{"name": "api", "opts": {"on": false}, "added": [1, {"x": "ü"}]}"#;

/// (tool and options, file before, file after the merge of PATCH)
const STYLES: &[(&str, &str, &str)] = &[
    (
        "jq_default",
        "{\n  \"name\": \"svc\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": true,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\"\n}\n",
        "{\n  \"name\": \"api\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": false,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\",\n  \"added\": [\n    1,\n    {\n      \"x\": \"ü\"\n    }\n  ]\n}\n",
    ),
    (
        "jq_tab",
        "{\n\t\"name\": \"svc\",\n\t\"big\": 12345678901234567890123,\n\t\"dec\": 1.10,\n\t\"e\": 1e3,\n\t\"f\": 2.50E-3,\n\t\"tags\": [\n\t\t\"a\",\n\t\t\"b\"\n\t],\n\t\"opts\": {\n\t\t\"on\": true,\n\t\t\"none\": null,\n\t\t\"empty\": {},\n\t\t\"list\": []\n\t},\n\t\"city\": \"Münch€n\"\n}\n",
        "{\n\t\"name\": \"api\",\n\t\"big\": 12345678901234567890123,\n\t\"dec\": 1.10,\n\t\"e\": 1e3,\n\t\"f\": 2.50E-3,\n\t\"tags\": [\n\t\t\"a\",\n\t\t\"b\"\n\t],\n\t\"opts\": {\n\t\t\"on\": false,\n\t\t\"none\": null,\n\t\t\"empty\": {},\n\t\t\"list\": []\n\t},\n\t\"city\": \"Münch€n\",\n\t\"added\": [\n\t\t1,\n\t\t{\n\t\t\t\"x\": \"ü\"\n\t\t}\n\t]\n}\n",
    ),
    (
        "jq_indent_4",
        "{\n    \"name\": \"svc\",\n    \"big\": 12345678901234567890123,\n    \"dec\": 1.10,\n    \"e\": 1e3,\n    \"f\": 2.50E-3,\n    \"tags\": [\n        \"a\",\n        \"b\"\n    ],\n    \"opts\": {\n        \"on\": true,\n        \"none\": null,\n        \"empty\": {},\n        \"list\": []\n    },\n    \"city\": \"Münch€n\"\n}\n",
        "{\n    \"name\": \"api\",\n    \"big\": 12345678901234567890123,\n    \"dec\": 1.10,\n    \"e\": 1e3,\n    \"f\": 2.50E-3,\n    \"tags\": [\n        \"a\",\n        \"b\"\n    ],\n    \"opts\": {\n        \"on\": false,\n        \"none\": null,\n        \"empty\": {},\n        \"list\": []\n    },\n    \"city\": \"Münch€n\",\n    \"added\": [\n        1,\n        {\n            \"x\": \"ü\"\n        }\n    ]\n}\n",
    ),
    (
        "jq_compact",
        "{\"name\":\"svc\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":true,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\"}\n",
        "{\"name\":\"api\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":false,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\",\"added\":[1,{\"x\":\"ü\"}]}\n",
    ),
    (
        "python_default",
        "{\"name\": \"svc\", \"big\": 12345678901234567890123, \"dec\": 1.10, \"e\": 1e3, \"f\": 2.50E-3, \"tags\": [\"a\", \"b\"], \"opts\": {\"on\": true, \"none\": null, \"empty\": {}, \"list\": []}, \"city\": \"M\\u00fcnch\\u20acn\"}",
        "{\"name\": \"api\", \"big\": 12345678901234567890123, \"dec\": 1.10, \"e\": 1e3, \"f\": 2.50E-3, \"tags\": [\"a\", \"b\"], \"opts\": {\"on\": false, \"none\": null, \"empty\": {}, \"list\": []}, \"city\": \"M\\u00fcnch\\u20acn\", \"added\": [1, {\"x\": \"\\u00fc\"}]}",
    ),
    (
        "python_indent_2",
        "{\n  \"name\": \"svc\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": true,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"M\\u00fcnch\\u20acn\"\n}",
        "{\n  \"name\": \"api\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": false,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"M\\u00fcnch\\u20acn\",\n  \"added\": [\n    1,\n    {\n      \"x\": \"\\u00fc\"\n    }\n  ]\n}",
    ),
    (
        "python_indent_4_utf8",
        "{\n    \"name\": \"svc\",\n    \"big\": 12345678901234567890123,\n    \"dec\": 1.10,\n    \"e\": 1e3,\n    \"f\": 2.50E-3,\n    \"tags\": [\n        \"a\",\n        \"b\"\n    ],\n    \"opts\": {\n        \"on\": true,\n        \"none\": null,\n        \"empty\": {},\n        \"list\": []\n    },\n    \"city\": \"Münch€n\"\n}",
        "{\n    \"name\": \"api\",\n    \"big\": 12345678901234567890123,\n    \"dec\": 1.10,\n    \"e\": 1e3,\n    \"f\": 2.50E-3,\n    \"tags\": [\n        \"a\",\n        \"b\"\n    ],\n    \"opts\": {\n        \"on\": false,\n        \"none\": null,\n        \"empty\": {},\n        \"list\": []\n    },\n    \"city\": \"Münch€n\",\n    \"added\": [\n        1,\n        {\n            \"x\": \"ü\"\n        }\n    ]\n}",
    ),
    (
        "serde_json_to_string",
        "{\"name\":\"svc\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":true,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\"}",
        "{\"name\":\"api\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":false,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\",\"added\":[1,{\"x\":\"ü\"}]}",
    ),
    (
        "serde_json_pretty",
        "{\n  \"name\": \"svc\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": true,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\"\n}",
        "{\n  \"name\": \"api\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": false,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\",\n  \"added\": [\n    1,\n    {\n      \"x\": \"ü\"\n    }\n  ]\n}",
    ),
    (
        "js_stringify",
        "{\"name\":\"svc\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":true,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\"}",
        "{\"name\":\"api\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":false,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\",\"added\":[1,{\"x\":\"ü\"}]}",
    ),
    (
        "js_stringify_2",
        "{\n  \"name\": \"svc\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": true,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\"\n}",
        "{\n  \"name\": \"api\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": false,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\",\n  \"added\": [\n    1,\n    {\n      \"x\": \"ü\"\n    }\n  ]\n}",
    ),
    (
        "js_stringify_tab",
        "{\n\t\"name\": \"svc\",\n\t\"big\": 12345678901234567890123,\n\t\"dec\": 1.10,\n\t\"e\": 1e3,\n\t\"f\": 2.50E-3,\n\t\"tags\": [\n\t\t\"a\",\n\t\t\"b\"\n\t],\n\t\"opts\": {\n\t\t\"on\": true,\n\t\t\"none\": null,\n\t\t\"empty\": {},\n\t\t\"list\": []\n\t},\n\t\"city\": \"Münch€n\"\n}",
        "{\n\t\"name\": \"api\",\n\t\"big\": 12345678901234567890123,\n\t\"dec\": 1.10,\n\t\"e\": 1e3,\n\t\"f\": 2.50E-3,\n\t\"tags\": [\n\t\t\"a\",\n\t\t\"b\"\n\t],\n\t\"opts\": {\n\t\t\"on\": false,\n\t\t\"none\": null,\n\t\t\"empty\": {},\n\t\t\"list\": []\n\t},\n\t\"city\": \"Münch€n\",\n\t\"added\": [\n\t\t1,\n\t\t{\n\t\t\t\"x\": \"ü\"\n\t\t}\n\t]\n}",
    ),
    (
        "jq_crlf",
        "{\r\n  \"name\": \"svc\",\r\n  \"big\": 12345678901234567890123,\r\n  \"dec\": 1.10,\r\n  \"e\": 1e3,\r\n  \"f\": 2.50E-3,\r\n  \"tags\": [\r\n    \"a\",\r\n    \"b\"\r\n  ],\r\n  \"opts\": {\r\n    \"on\": true,\r\n    \"none\": null,\r\n    \"empty\": {},\r\n    \"list\": []\r\n  },\r\n  \"city\": \"Münch€n\"\r\n}\r\n",
        "{\r\n  \"name\": \"api\",\r\n  \"big\": 12345678901234567890123,\r\n  \"dec\": 1.10,\r\n  \"e\": 1e3,\r\n  \"f\": 2.50E-3,\r\n  \"tags\": [\r\n    \"a\",\r\n    \"b\"\r\n  ],\r\n  \"opts\": {\r\n    \"on\": false,\r\n    \"none\": null,\r\n    \"empty\": {},\r\n    \"list\": []\r\n  },\r\n  \"city\": \"Münch€n\",\r\n  \"added\": [\r\n    1,\r\n    {\r\n      \"x\": \"ü\"\r\n    }\r\n  ]\r\n}\r\n",
    ),
    (
        "python_indent_2_crlf",
        "{\r\n  \"name\": \"svc\",\r\n  \"big\": 12345678901234567890123,\r\n  \"dec\": 1.10,\r\n  \"e\": 1e3,\r\n  \"f\": 2.50E-3,\r\n  \"tags\": [\r\n    \"a\",\r\n    \"b\"\r\n  ],\r\n  \"opts\": {\r\n    \"on\": true,\r\n    \"none\": null,\r\n    \"empty\": {},\r\n    \"list\": []\r\n  },\r\n  \"city\": \"M\\u00fcnch\\u20acn\"\r\n}",
        "{\r\n  \"name\": \"api\",\r\n  \"big\": 12345678901234567890123,\r\n  \"dec\": 1.10,\r\n  \"e\": 1e3,\r\n  \"f\": 2.50E-3,\r\n  \"tags\": [\r\n    \"a\",\r\n    \"b\"\r\n  ],\r\n  \"opts\": {\r\n    \"on\": false,\r\n    \"none\": null,\r\n    \"empty\": {},\r\n    \"list\": []\r\n  },\r\n  \"city\": \"M\\u00fcnch\\u20acn\",\r\n  \"added\": [\r\n    1,\r\n    {\r\n      \"x\": \"\\u00fc\"\r\n    }\r\n  ]\r\n}",
    ),
];

/// (tool and options, file before, file after `update '.n += 1'`)
const UPDATE_STYLES: &[(&str, &str, &str)] = &[
    (
        "jq_default",
        "{\n  \"n\": 41,\n  \"name\": \"svc\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": true,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\"\n}\n",
        "{\n  \"n\": 42,\n  \"name\": \"svc\",\n  \"big\": 12345678901234567890123,\n  \"dec\": 1.10,\n  \"e\": 1e3,\n  \"f\": 2.50E-3,\n  \"tags\": [\n    \"a\",\n    \"b\"\n  ],\n  \"opts\": {\n    \"on\": true,\n    \"none\": null,\n    \"empty\": {},\n    \"list\": []\n  },\n  \"city\": \"Münch€n\"\n}\n",
    ),
    (
        "jq_compact",
        "{\"n\":41,\"name\":\"svc\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":true,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\"}\n",
        "{\"n\":42,\"name\":\"svc\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":true,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\"}\n",
    ),
    (
        "python_default",
        "{\"n\": 41, \"name\": \"svc\", \"big\": 12345678901234567890123, \"dec\": 1.10, \"e\": 1e3, \"f\": 2.50E-3, \"tags\": [\"a\", \"b\"], \"opts\": {\"on\": true, \"none\": null, \"empty\": {}, \"list\": []}, \"city\": \"M\\u00fcnch\\u20acn\"}",
        "{\"n\": 42, \"name\": \"svc\", \"big\": 12345678901234567890123, \"dec\": 1.10, \"e\": 1e3, \"f\": 2.50E-3, \"tags\": [\"a\", \"b\"], \"opts\": {\"on\": true, \"none\": null, \"empty\": {}, \"list\": []}, \"city\": \"M\\u00fcnch\\u20acn\"}",
    ),
    (
        "python_indent_4_utf8",
        "{\n    \"n\": 41,\n    \"name\": \"svc\",\n    \"big\": 12345678901234567890123,\n    \"dec\": 1.10,\n    \"e\": 1e3,\n    \"f\": 2.50E-3,\n    \"tags\": [\n        \"a\",\n        \"b\"\n    ],\n    \"opts\": {\n        \"on\": true,\n        \"none\": null,\n        \"empty\": {},\n        \"list\": []\n    },\n    \"city\": \"Münch€n\"\n}",
        "{\n    \"n\": 42,\n    \"name\": \"svc\",\n    \"big\": 12345678901234567890123,\n    \"dec\": 1.10,\n    \"e\": 1e3,\n    \"f\": 2.50E-3,\n    \"tags\": [\n        \"a\",\n        \"b\"\n    ],\n    \"opts\": {\n        \"on\": true,\n        \"none\": null,\n        \"empty\": {},\n        \"list\": []\n    },\n    \"city\": \"Münch€n\"\n}",
    ),
    (
        "serde_json_to_string",
        "{\"n\":41,\"name\":\"svc\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":true,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\"}",
        "{\"n\":42,\"name\":\"svc\",\"big\":12345678901234567890123,\"dec\":1.10,\"e\":1e3,\"f\":2.50E-3,\"tags\":[\"a\",\"b\"],\"opts\":{\"on\":true,\"none\":null,\"empty\":{},\"list\":[]},\"city\":\"Münch€n\"}",
    ),
    (
        "js_stringify_tab",
        "{\n\t\"n\": 41,\n\t\"name\": \"svc\",\n\t\"big\": 12345678901234567890123,\n\t\"dec\": 1.10,\n\t\"e\": 1e3,\n\t\"f\": 2.50E-3,\n\t\"tags\": [\n\t\t\"a\",\n\t\t\"b\"\n\t],\n\t\"opts\": {\n\t\t\"on\": true,\n\t\t\"none\": null,\n\t\t\"empty\": {},\n\t\t\"list\": []\n\t},\n\t\"city\": \"Münch€n\"\n}",
        "{\n\t\"n\": 42,\n\t\"name\": \"svc\",\n\t\"big\": 12345678901234567890123,\n\t\"dec\": 1.10,\n\t\"e\": 1e3,\n\t\"f\": 2.50E-3,\n\t\"tags\": [\n\t\t\"a\",\n\t\t\"b\"\n\t],\n\t\"opts\": {\n\t\t\"on\": true,\n\t\t\"none\": null,\n\t\t\"empty\": {},\n\t\t\"list\": []\n\t},\n\t\"city\": \"Münch€n\"\n}",
    ),
    (
        "jq_crlf",
        "{\r\n  \"n\": 41,\r\n  \"name\": \"svc\",\r\n  \"big\": 12345678901234567890123,\r\n  \"dec\": 1.10,\r\n  \"e\": 1e3,\r\n  \"f\": 2.50E-3,\r\n  \"tags\": [\r\n    \"a\",\r\n    \"b\"\r\n  ],\r\n  \"opts\": {\r\n    \"on\": true,\r\n    \"none\": null,\r\n    \"empty\": {},\r\n    \"list\": []\r\n  },\r\n  \"city\": \"Münch€n\"\r\n}\r\n",
        "{\r\n  \"n\": 42,\r\n  \"name\": \"svc\",\r\n  \"big\": 12345678901234567890123,\r\n  \"dec\": 1.10,\r\n  \"e\": 1e3,\r\n  \"f\": 2.50E-3,\r\n  \"tags\": [\r\n    \"a\",\r\n    \"b\"\r\n  ],\r\n  \"opts\": {\r\n    \"on\": true,\r\n    \"none\": null,\r\n    \"empty\": {},\r\n    \"list\": []\r\n  },\r\n  \"city\": \"Münch€n\"\r\n}\r\n",
    ),
];

#[test]
fn merge_keeps_every_tool_style_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    for (tool, before, after) in STYLES {
        let file = d.path().join(format!("{tool}.json"));
        fs::write(&file, before).unwrap();
        run(d.path(), &["merge", &format!("{tool}.json"), PATCH]).ok();
        let got = text(&file);
        if got != *after {
            failed.push(format!("{tool}:\n  want {after:?}\n  got  {got:?}"));
        }
    }
    assert!(failed.is_empty(), "styles not kept:\n{}", failed.join("\n"));
}

#[test]
fn update_keeps_every_tool_style_byte_for_byte() {
    let d = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    for (tool, before, after) in UPDATE_STYLES {
        let file = d.path().join(format!("{tool}.json"));
        fs::write(&file, before).unwrap();
        run(d.path(), &["update", &format!("{tool}.json"), ".n += 1"]).ok();
        let got = text(&file);
        if got != *after {
            failed.push(format!("{tool}:\n  want {after:?}\n  got  {got:?}"));
        }
    }
    assert!(failed.is_empty(), "styles not kept:\n{}", failed.join("\n"));
}

#[test]
fn untouched_strings_keep_their_escapes_and_numbers_their_text() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    // A hand-edited mix: escapes where the author chose them, raw UTF-8 elsewhere.
    fs::write(
        &file,
        "{\"a\": \"caf\\u00e9\", \"b\": \"café\", \"c\": \"tab\\there \\/ \\\"q\\\"\", \"big\": -0.000000000000000000001e-999, \"n\": 1}\n",
    )
    .unwrap();
    run(dir, &["merge", "f.json", r#"{"n": 2}"#]).ok();
    assert_eq!(
        text(&file),
        "{\"a\": \"caf\\u00e9\", \"b\": \"café\", \"c\": \"tab\\there \\/ \\\"q\\\"\", \"big\": -0.000000000000000000001e-999, \"n\": 2}\n"
    );
    run(dir, &["update", "f.json", ".n = .n * 10 | .s = (.a + .b)"]).ok();
    assert_eq!(
        text(&file),
        "{\"a\": \"caf\\u00e9\", \"b\": \"café\", \"c\": \"tab\\there \\/ \\\"q\\\"\", \"big\": -0.000000000000000000001e-999, \"n\": 20, \"s\": \"cafécafé\"}\n"
    );
    // read with a filter prints numbers as written too.
    let out = run(dir, &["read", "f.json", "-c", "[.big, .n]"]);
    assert_eq!(
        out.ok().stdout_str(),
        "[-0.000000000000000000001e-999,20]\n"
    );
}

#[test]
fn key_order_is_kept_and_new_keys_go_last() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\"z\":1,\"a\":2,\"m\":{\"y\":1,\"b\":2}}").unwrap();
    run(
        dir,
        &[
            "merge",
            "f.json",
            r#"{"a": 3, "m": {"b": null, "c": 4}, "b": 5}"#,
        ],
    )
    .ok();
    assert_eq!(
        text(&file),
        "{\"z\":1,\"a\":3,\"m\":{\"y\":1,\"c\":4},\"b\":5}"
    );
    run(dir, &["update", "f.json", ".z = 0 | del(.a) | .aa = 1"]).ok();
    assert_eq!(
        text(&file),
        "{\"z\":0,\"m\":{\"y\":1,\"c\":4},\"b\":5,\"aa\":1}"
    );
}

#[test]
fn write_keeps_the_style_of_the_file_it_replaces() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\r\n    \"old\": true\r\n}").unwrap();
    run(dir, &["write", "f.json", r#"{"new": [1, {"k": "v"}]}"#]).ok();
    assert_eq!(
        text(&file),
        "{\r\n    \"new\": [\r\n        1,\r\n        {\r\n            \"k\": \"v\"\r\n        }\r\n    ]\r\n}"
    );
}

#[test]
fn new_files_get_two_space_indent_and_a_final_newline() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    run(
        dir,
        &[
            "merge",
            "m.json",
            r#"{"a": {"b": [1, "ü"]}, "e": [], "o": {}}"#,
        ],
    )
    .ok();
    assert_eq!(
        text(&dir.join("m.json")),
        "{\n  \"a\": {\n    \"b\": [\n      1,\n      \"ü\"\n    ]\n  },\n  \"e\": [],\n  \"o\": {}\n}\n"
    );
    run(dir, &["update", "u.json", ".n = 1.50"]).ok();
    assert_eq!(text(&dir.join("u.json")), "{\n  \"n\": 1.50\n}\n");
    run(dir, &["write", "w.json", "[]"]).ok();
    assert_eq!(text(&dir.join("w.json")), "[]\n");
}

#[test]
fn style_flags_override_the_file_style() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{\n  \"a\": [1, 2]\n}\n").unwrap();
    run(dir, &["merge", "--compact", "f.json", r#"{"b": {"c": 1}}"#]).ok();
    assert_eq!(text(&file), "{\"a\":[1,2],\"b\":{\"c\":1}}\n");
    run(dir, &["update", "f.json", ".n = 1", "--indent", "4"]).ok();
    assert_eq!(
        text(&file),
        "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": {\n        \"c\": 1\n    },\n    \"n\": 1\n}\n"
    );
    run(dir, &["write", "--tab", "f.json", r#"{"t": [true]}"#]).ok();
    assert_eq!(text(&file), "{\n\t\"t\": [\n\t\ttrue\n\t]\n}\n");
    run(
        dir,
        &["write", "--indent", "0", "f.json", r#"{"t": [false]}"#],
    )
    .ok();
    assert_eq!(text(&file), "{\"t\":[false]}\n");
    // The override alone is a change worth writing, even when the value is the same.
    run(
        dir,
        &["write", "--indent", "2", "f.json", r#"{"t": [false]}"#],
    )
    .ok();
    assert_eq!(text(&file), "{\n  \"t\": [\n    false\n  ]\n}\n");
    assert_eq!(
        run(dir, &["write", "f.json", "{}", "--compact", "--tab"]).code,
        2
    );
}

#[test]
fn a_symlinked_target_stays_a_symlink() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let real_dir = dir.join("real");
    let link_dir = dir.join("links");
    fs::create_dir(&real_dir).unwrap();
    fs::create_dir(&link_dir).unwrap();
    fs::write(real_dir.join("data.json"), "{\"a\": 1}\n").unwrap();
    symlink("../real/data.json", link_dir.join("data.json")).unwrap();
    // A chain of two links, the second absolute.
    symlink(link_dir.join("data.json"), dir.join("top.json")).unwrap();

    run(&link_dir, &["merge", "data.json", r#"{"b": 2}"#]).ok();
    run(dir, &["update", "top.json", ".c = 3"]).ok();
    run(
        dir,
        &[
            "write",
            "links/data.json",
            r#"{"a": 1, "b": 2, "c": 3, "d": 4}"#,
        ],
    )
    .ok();

    for link in [link_dir.join("data.json"), dir.join("top.json")] {
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    assert_eq!(
        fs::read_link(link_dir.join("data.json")).unwrap(),
        std::path::Path::new("../real/data.json")
    );
    assert_eq!(
        text(&real_dir.join("data.json")),
        "{\"a\": 1, \"b\": 2, \"c\": 3, \"d\": 4}\n"
    );
    // State lives beside the real file, under its name.
    assert!(real_dir.join(".jsafe/locks/data.json.lock").exists());
    assert_eq!(backups(&real_dir, "data.json").len(), 3);
    assert!(!link_dir.join(".jsafe").exists());
    assert!(!dir.join(".jsafe").exists());
    // Reading through the link reads the real file.
    let out = run(dir, &["read", "top.json", ".d"]);
    assert_eq!(out.ok().stdout_str(), "4\n");
}

#[test]
fn a_dangling_symlink_names_the_file_to_create() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    fs::create_dir(dir.join("real")).unwrap();
    symlink("real/new.json", dir.join("link.json")).unwrap();
    run(dir, &["merge", "link.json", r#"{"a": 1}"#]).ok();
    assert!(
        fs::symlink_metadata(dir.join("link.json"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        parse_file(&dir.join("real/new.json")),
        serde_json::json!({"a": 1})
    );
}

#[test]
fn the_mode_is_kept() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    for mode in [0o600, 0o640, 0o604, 0o755] {
        let name = format!("m{mode:o}.json");
        let file = dir.join(&name);
        fs::write(&file, "{\"x\":0}").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        let ino = fs::metadata(&file).unwrap().ino();
        run(dir, &["merge", &name, r#"{"a": 1}"#]).ok();
        run(dir, &["update", &name, ".b = 2"]).ok();
        let meta = fs::metadata(&file).unwrap();
        assert_ne!(meta.ino(), ino, "{name} was replaced, not rewritten");
        assert_eq!(meta.mode() & 0o7777, mode, "{name}");
        assert_eq!(text(&file), "{\"x\":0,\"a\":1,\"b\":2}");
    }
}

#[test]
#[ignore = "needs root: only root can give a file to another owner"]
fn the_owner_and_group_are_kept_when_root_writes() {
    require_root();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let file = dir.join("f.json");
    fs::write(&file, "{}").unwrap();
    std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
    run(dir, &["merge", "f.json", r#"{"a": 1}"#]).ok();
    let meta = fs::metadata(&file).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
}

/// A file big enough to be read into huge pages (8 MiB and more) reads back
/// byte for byte, and a merge into it keeps every other byte.
#[test]
fn a_file_read_into_huge_pages_comes_back_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = String::from("{\"meta\": {\"n\": 1}, \"events\": [");
    let mut i = 0u64;
    while doc.len() < (9 << 20) {
        if i > 0 {
            doc.push_str(", ");
        }
        doc.push_str(&format!(
            "{{\"id\": {i}, \"host\": \"w-{}\", \"t\": 1.50}}",
            i % 13
        ));
        i += 1;
    }
    doc.push_str("]}\n");
    let file = dir.path().join("big.json");
    std::fs::write(&file, &doc).unwrap();
    let out = common::run(dir.path(), &["read", "big.json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout == doc.as_bytes(), "read changed the bytes");
    common::ok(dir.path(), &["merge", "big.json", "{\"meta\": {\"n\": 2}}"]);
    let after = std::fs::read(&file).unwrap();
    let expected = doc.replacen("{\"n\": 1}", "{\"n\": 2}", 1);
    assert!(
        after == expected.as_bytes(),
        "the merge changed other bytes"
    );
}

/// Bytes of `file` in the page cache, as util-linux's `fincore` counts them.
fn cached_bytes(file: &std::path::Path) -> u64 {
    let out = std::process::Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "fincore: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The version a change of a big file (8 MiB and more) replaces leaves the
/// page cache before the new one is written: afterwards its backup, the
/// same inode, has no page cached, while the new version has. The
/// directory is under the target directory, on the disk the repository is
/// on: a tmpfs (which /tmp may be) cannot drop a file's pages.
#[test]
fn the_version_a_big_change_replaces_leaves_the_page_cache() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut doc = String::from("{\"meta\": {\"n\": 1}, \"events\": [");
    let mut i = 0u64;
    while doc.len() < (9 << 20) {
        if i > 0 {
            doc.push_str(", ");
        }
        doc.push_str(&format!("{{\"id\": {i}, \"host\": \"w-{}\"}}", i % 13));
        i += 1;
    }
    doc.push_str("]}\n");
    let file = dir.path().join("big.json");
    let mut f = fs::File::create(&file).unwrap();
    std::io::Write::write_all(&mut f, doc.as_bytes()).unwrap();
    // Written back, so that its pages are clean: the kernel drops only those.
    f.sync_all().unwrap();
    drop(f);
    assert!(
        cached_bytes(&file) >= 8 << 20,
        "the file just written is not in the page cache: this file system does not keep one"
    );
    ok(dir.path(), &["merge", "big.json", "{\"meta\": {\"n\": 2}}"]);
    let backups: Vec<_> = fs::read_dir(dir.path().join(".jsafe/backups/big.json"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert_eq!(fs::read(&backups[0]).unwrap().len(), doc.len());
    // Reading the backup above cached it again: measure a second change's.
    ok(dir.path(), &["merge", "big.json", "{\"meta\": {\"n\": 3}}"]);
    let second = fs::read_dir(dir.path().join(".jsafe/backups/big.json"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !backups.contains(p))
        .unwrap();
    assert_eq!(
        cached_bytes(&second),
        0,
        "the replaced version is still in the page cache"
    );
    assert!(
        cached_bytes(&file) >= 8 << 20,
        "the new version is not in the page cache"
    );
}
