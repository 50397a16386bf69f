//! jq 1.8 compatibility through the binary: each test is a class of cases
//! from jq's own test suite (or the issue) that jsafe used to get wrong.

use crate::common;

use common::{bytes, run, text};
use std::fs;
use std::path::Path;

/// `jsafe read FILE FILTER -c` on `input`; stdout lines and the exit code.
fn read(dir: &Path, input: &str, filter: &str, extra: &[&str]) -> (Vec<String>, i32, String) {
    fs::write(dir.join("in.json"), input).unwrap();
    let mut args = vec!["read", "in.json", filter, "-c"];
    args.extend_from_slice(extra);
    let out = run(dir, &args);
    common::no_panic(&out.stderr);
    let lines = out.stdout_str().lines().map(str::to_owned).collect();
    (lines, out.code, out.stderr.clone())
}

fn outputs(input: &str, filter: &str) -> Vec<String> {
    let tmp = tempfile::tempdir().unwrap();
    let (lines, code, stderr) = read(tmp.path(), input, filter, &[]);
    assert_eq!(code, 0, "{filter}: {stderr}");
    lines
}

fn check(cases: &[(&str, &str, &[&str])]) {
    for (filter, input, want) in cases {
        assert_eq!(outputs(input, filter), *want, "{filter} on {input}");
    }
}

#[test]
fn paths_are_created_through_null_and_arrays_are_padded() {
    check(&[
        (
            ".config.timeout = 5",
            r#"{"a":1}"#,
            &[r#"{"a":1,"config":{"timeout":5}}"#],
        ),
        ("setpath([\"a\",\"b\"]; 1)", "null", &[r#"{"a":{"b":1}}"#]),
        ("setpath([0,\"a\"]; 1)", "null", &[r#"[{"a":1}]"#]),
        ("getpath([\"x\",1]) = 7", "{}", &[r#"{"x":[null,7]}"#]),
        (".[2][3] = 1", "[4]", &["[4,null,[null,null,null,1]]"]),
        (".a += 1 | .b |= . + [2]", "{}", &[r#"{"a":1,"b":[2]}"#]),
        (
            "reduce .[] as {$x,$y} (null; .x += $x | .y += [$y])",
            r#"[{"x":"a","y":1},{"x":"b","y":2}]"#,
            &[r#"{"x":"ab","y":[1,2]}"#],
        ),
        (
            "(.a, .b) = range(2)",
            "null",
            &[r#"{"a":0,"b":0}"#, r#"{"a":1,"b":1}"#],
        ),
        (
            "try (.[-1] = 0) catch .",
            "null",
            &[r#""Out of bounds negative array index""#],
        ),
        (
            "try (.[999999999] = 0) catch .",
            "[]",
            &[r#""Array index too large""#],
        ),
    ]);
}

#[test]
fn deletion_is_jqs_and_keeps_member_order() {
    check(&[
        ("del(.[-3], .[2])", "[0,1,2,3]", &["[0,3]"]),
        ("del(.[-1], .[-2])", "[0,1,2,3]", &["[0,1]"]),
        ("del(.[7])", "[0,1]", &["[0,1]"]),
        ("delpaths([[-200]])", "[1,2,3]", &["[1,2,3]"]),
        (
            "del(.[1], .[-6], .[2], .[-3:9])",
            "[0,1,2,3,4,5,6,7,8,9]",
            &["[0,3,5,6,9]"],
        ),
        ("del(.b)", r#"{"c":1,"b":2,"a":3}"#, &[r#"{"c":1,"a":3}"#]),
        (
            ".b |= empty",
            r#"{"c":1,"b":2,"a":3}"#,
            &[r#"{"c":1,"a":3}"#],
        ),
        (
            "delpaths([[\"a\",\"x\"],[\"b\"]])",
            r#"{"a":{"x":1,"y":2},"b":3}"#,
            &[r#"{"a":{"y":2}}"#],
        ),
        ("del(.[nan])", "[1,2,3]", &["[1,2,3]"]),
        (
            "try delpaths(0) catch .",
            "{}",
            &[r#""Paths must be specified as an array""#],
        ),
    ]);
}

#[test]
fn arithmetic_prints_as_jq_prints_it() {
    check(&[
        (".n / 2", r#"{"n":4}"#, &["2"]),
        (".n * 1.5", r#"{"n":2}"#, &["3"]),
        ("[-0, (0 * -1)]", "null", &["[-0,-0]"]),
        (
            "1e17 + 0, 1e-5 + 0, 0.1 + 0.2",
            "null",
            &["1e+17", "1e-05", "0.30000000000000004"],
        ),
        (". - 10", "13911860366432393", &["13911860366432382"]),
        ("infinite", "null", &["1.7976931348623157e+308"]),
        ("[.[] | (1 / .)?]", "[1,0,-1]", &["[1,-1]"]),
        (
            "try (1 / .) catch .",
            "0",
            &[r#""number (1) and number (0) cannot be divided because the divisor is zero""#],
        ),
        (
            "try (1 % .) catch .",
            "0",
            &[
                r#""number (1) and number (0) cannot be divided (remainder) because the divisor is zero""#,
            ],
        ),
        (
            "[(infinite, -infinite) % (1, -1, infinite)]",
            "null",
            &["[0,0,0,0,0,-1]"],
        ),
        (
            "[.[] * \"ab\"]",
            "[-1, 0, 1.5, 2]",
            &[r#"[null,"","ab","abab"]"#],
        ),
        (
            "1.10, 100000000000000000001",
            "null",
            &["1.10", "100000000000000000001"],
        ),
    ]);
}

#[test]
fn builtins_that_jaq_lacks() {
    check(&[
        (
            "@csv, @tsv",
            r#"[1,"a\"b",null,true,"t\tx"]"#,
            &[
                r#""1,\"a\"\"b\",,true,\"t\tx\"""#,
                r#""1\ta\"b\t\ttrue\tt\\tx""#,
            ],
        ),
        (
            "[.[] | trimstr(\"foo\")]",
            r#"["foo","foobarfoo","fo"]"#,
            &[r#"["","bar","fo"]"#],
        ),
        (
            "[range(5;10) | IN(range(7))]",
            "null",
            &["[true,true,false,false,false]"],
        ),
        (
            "INDEX(.id) | keys",
            r#"[{"id":1},{"id":"b"}]"#,
            &[r#"["1","b"]"#],
        ),
        (
            "[tostream] | fromstream(.[])",
            r#"{"a":[1,{"b":2}]}"#,
            &[r#"{"a":[1,{"b":2}]}"#],
        ),
        (
            "[1 | truncate_stream([[0],1],[[1,0],2],[[1,0]],[[1]])]",
            "null",
            &["[[[0],2],[[0]]]"],
        ),
        (
            "try error(\"\\($__loc__)\") catch .",
            "null",
            &[r#""{\"file\":\"<top-level>\",\"line\":1}""#],
        ),
        (
            "pick(.a.b, .[\"x\"])",
            r#"{"a":{"b":1,"c":2},"x":3}"#,
            &[r#"{"a":{"b":1},"x":3}"#],
        ),
        ("join(\",\")", r#"["a",null,1,true]"#, &[r#""a,,1,true""#]),
        (
            "try input catch ., [inputs]",
            "1",
            &[r#""No more inputs""#, "[]"],
        ),
        (
            "[limit(2; .[])], (try limit(-1; 1) catch .)",
            "[1,2,3]",
            &["[1,2]", r#""limit doesn't support negative count""#],
        ),
        ("[splits(\", *\")]", r#""a, b,c""#, &[r#"["a","b","c"]"#]),
        (
            "ltrimstr(\"a\"), (try ltrimstr(1) catch .)",
            r#""ab""#,
            &[r#""b""#, r#""startswith() requires string inputs""#],
        ),
        (
            "builtins | map(select(startswith(\"_\"))) | length",
            "null",
            &["0"],
        ),
        (
            "have_decnum, (walk(if type == \"number\" then . + 1 else . end))",
            "[1,[2]]",
            &["true", "[2,[3]]"],
        ),
    ]);
}

#[test]
fn destructuring_alternatives_and_patterns() {
    check(&[
        (".[] as [$a] ?// $a | $a", r#"[[3],4]"#, &["3", "4"]),
        (
            ".[] as {$a, $b, c: {$d}} ?// {$a, $b, c: [{$e}]} | {$a, $b, $d, $e}",
            r#"[{"a":1,"b":2,"c":{"d":3}},{"a":1,"b":2,"c":[{"e":4}]}]"#,
            &[
                r#"{"a":1,"b":2,"d":3,"e":null}"#,
                r#"{"a":1,"b":2,"d":null,"e":4}"#,
            ],
        ),
        (
            ".[] as [$a] ?// [$b] | if $a != null then error(\"err\") else {$a,$b} end",
            "[[3]]",
            &[r#"{"a":null,"b":3}"#],
        ),
        (
            ". as {$a, $b:[$c, $d]} | [$a, $b, $c, $d]",
            r#"{"a":1,"b":[2,3]}"#,
            &["[1,[2,3],2,3]"],
        ),
        ("[reduce .[] / .[] as $i (0; . + $i)]", "[1,2]", &["[4.5]"]),
        (
            "{ a, $__loc__ }",
            r#"{"a":1}"#,
            &[r#"{"a":1,"__loc__":{"file":"<top-level>","line":1}}"#],
        ),
    ]);
}

#[test]
fn what_jq_refuses_to_compile_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for filter in [
        "{(0):1}",
        "{non_const:., (0):1}",
        ". as {(true):$foo} | $foo",
        "module (.+1); 0",
        "import \"data\" as $a; import \"data\" as $b; {$a, $b}",
        "include \"x\"; 1",
    ] {
        let (lines, code, stderr) = read(tmp.path(), "null", filter, &[]);
        assert_eq!(code, 4, "{filter}: {stderr}");
        assert!(lines.is_empty(), "{filter}");
        assert!(stderr.contains("does not compile"), "{filter}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{filter}: {stderr}");
    }
}

#[test]
fn errors_read_like_jqs() {
    check(&[
        (
            "try .a[] catch .",
            r#"{"a":123}"#,
            &[r#""Cannot iterate over number (123)""#],
        ),
        (
            "try .a catch .",
            "1",
            &[r#""Cannot index number with string (\"a\")""#],
        ),
        (
            "try -. catch .",
            r#""very-long-long-long-long-string""#,
            &[r#""string (\"very-long-long-long-long...\") cannot be negated""#],
        ),
        (
            "try ({} + 1) catch .",
            "null",
            &[r#""object ({}) and number (1) cannot be added""#],
        ),
        ("try error({a: 1}) catch .a", "null", &["1"]),
    ]);
}

#[test]
fn outputs_stream_and_an_error_comes_after_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (lines, code, stderr) = read(tmp.path(), "[1,2]", ".[], error(\"boom\")", &[]);
    assert_eq!(lines, ["1", "2"]);
    assert_eq!(code, 4);
    assert!(stderr.contains("boom"), "{stderr}");
    // An endless generator is cut by the closed pipe, quietly.
    let script = format!(
        "'{}' read in.json 'repeat(1)' | head -n 3; echo \"${{PIPESTATUS[0]}}\"",
        common::bin()
    );
    let out = common::command("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n1\n1\n0\n");
    common::no_panic(&String::from_utf8_lossy(&out.stderr));
}

#[test]
fn exit_status_and_halt_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let code = |filter: &str, extra: &[&str]| read(d, r#"{"t":true,"f":false}"#, filter, extra);
    assert_eq!(code(".t", &["-e"]).1, 0);
    assert_eq!(code(".f", &["-e"]).1, 11);
    assert_eq!(code(".none", &["-e"]).1, 11);
    assert_eq!(code("empty", &["-e"]).1, 14);
    assert_eq!(code(".f", &[]).1, 0);
    let (lines, c, stderr) = code("1, halt, 2", &[]);
    assert_eq!((lines, c), (vec!["1".to_owned()], 0));
    assert_eq!(stderr, "");
    let (_, c, stderr) = code("\"stopped\\n\" | halt_error", &[]);
    assert_eq!((c, stderr.as_str()), (15, "stopped\n"));
    let (_, c, stderr) = code("{a: 1} | halt_error(3)", &[]);
    assert_eq!((c, stderr.as_str()), (3, "{\"a\":1}\n"));
    let (lines, _, stderr) = code("1 | debug | stderr", &[]);
    assert_eq!(lines, ["1"]);
    assert_eq!(stderr, "[\"DEBUG:\",1]\n1");
}

#[test]
fn update_never_writes_when_the_filter_halts() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("s.json"), "{\"n\": 1}\n").unwrap();
    let before = bytes(&d.join("s.json"));
    for (filter, want) in [
        (".n = 2 | halt", 10),
        (".n = 2 | halt_error(0)", 10),
        ("\"no\\n\" | halt_error", 15),
        ("halt_error(3)", 3),
    ] {
        let out = run(d, &["update", "s.json", filter]);
        assert_eq!(out.code, want, "{filter}: {}", out.stderr);
        assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
        assert_eq!(bytes(&d.join("s.json")), before, "{filter}");
    }
    let out = run(d, &["update", "s.json", ".a = (1/0)"]);
    assert_eq!(out.code, 4);
    assert_eq!(bytes(&d.join("s.json")), before);
}

#[test]
fn update_writes_what_jq_would() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(
        d.join("s.json"),
        "{\"n\": 4, \"x\": 1.10, \"l\": [0, 1, 2, 3]}\n",
    )
    .unwrap();
    let out = run(
        d,
        &[
            "update",
            "s.json",
            ".config.timeout = 5 | .n /= 2 | .m = .n * 1.5 | del(.l[-3], .l[2])",
        ],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        text(&d.join("s.json")),
        "{\"n\": 2, \"x\": 1.10, \"l\": [0, 3], \"config\": {\"timeout\": 5}, \"m\": 3}\n"
    );
}

#[test]
fn variables_from_files_and_positional_arguments() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("vals.json"), "1 [2] {\"a\":3}").unwrap();
    fs::write(d.join("raw.txt"), "line\n").unwrap();
    let (lines, code, stderr) = read(
        d,
        "null",
        "[$v, $r, $ARGS]",
        &[
            "--slurpfile",
            "v",
            "vals.json",
            "--rawfile",
            "r",
            "raw.txt",
            "--args",
            "a",
            "b",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        lines,
        [
            r#"[[1,[2],{"a":3}],"line\n",{"positional":["a","b"],"named":{"v":[1,[2],{"a":3}],"r":"line\n"}}]"#
        ]
    );
    let (lines, code, _) = read(
        d,
        "null",
        "$ARGS.positional",
        &["--jsonargs", "1", "{\"b\":2}"],
    );
    assert_eq!((lines, code), (vec![r#"[1,{"b":2}]"#.to_owned()], 0));
    let (_, code, _) = read(d, "null", "$ARGS", &["stray"]);
    assert_eq!(code, 2);
    let (lines, code, _) = read(
        d,
        "null",
        "$ENV.JSAFE_TEST_VAR, env.JSAFE_TEST_VAR, input_filename",
        &[],
    );
    assert_eq!(code, 0);
    assert_eq!(lines, ["null", "null", "\"in.json\""]);
}

#[test]
fn output_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::write(d.join("f.json"), r#"{"b":"é","a":[1]}"#).unwrap();
    let out = |args: &[&str]| {
        let mut all = vec!["read", "f.json"];
        all.extend_from_slice(args);
        let o = run(d, &all);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        o.stdout_str()
    };
    assert_eq!(out(&[".", "-S", "-c"]), "{\"a\":[1],\"b\":\"é\"}\n");
    assert_eq!(
        out(&[".", "--tab"]),
        "{\n\t\"b\": \"é\",\n\t\"a\": [\n\t\t1\n\t]\n}\n"
    );
    assert_eq!(out(&[".a", "--indent", "1"]), "[\n 1\n]\n");
    assert_eq!(out(&[".", "-a", "-c"]), "{\"b\":\"\\u00e9\",\"a\":[1]}\n");
    assert_eq!(out(&[".b, .a[]", "-j"]), "é1");
    assert_eq!(out(&["-1"]), "-1\n");
}

#[test]
fn usage_errors_are_clap_s_whole_message() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let out = run(d, &["merge", "q.json"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("<PATCH>"), "{}", out.stderr);
    let out = run(d, &["reed", "q.json"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("similar subcommand exists: 'read'"),
        "{}",
        out.stderr
    );
    fs::write(d.join("events.json"), "{\"events\": []}").unwrap();
    let out = run(d, &["read", ".events|length", "events.json"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("the order is FILE FILTER"),
        "{}",
        out.stderr
    );
}

/// Values nested far deeper than any stack: built by `reduce`, then
/// stored, printed, or dropped. Each is exit 4 with one line, never a crash
/// or "internal error"; `update` writes nothing and says so, `read` does
/// not talk about writing.
#[test]
fn values_built_deeper_than_the_stack_are_bad_input_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fs::write(d.join("f.json"), "{\"keep\": 1}\n").unwrap();
    let before = bytes(&d.join("f.json"));
    let deep = |inner: &str| format!("reduce range(300000) as $i (null; {inner})");
    let objects = deep("{a: .}");
    let arrays = deep("[.]");
    // Stored or printed, and dropped inside the filter.
    for filter in [objects.clone(), arrays.clone(), format!("{arrays} | empty")] {
        {
            for cmd in ["read", "update"] {
                let mut args = vec![cmd, "f.json", filter.as_str()];
                if cmd == "update" {
                    args.extend(["--filter-timeout", "600"]);
                }
                let out = run(d, &args);
                if cmd == "read" && out.code == 0 {
                    // The value never left the filter whole: fine, if
                    // what was printed is what jq prints.
                    assert!(!out.stdout.is_empty(), "{filter}");
                    continue;
                }
                out.fails(4);
                assert!(
                    !out.stderr.contains("internal error"),
                    "{cmd} {filter}: {}",
                    out.stderr
                );
                assert_eq!(
                    out.stderr.contains("nothing was written"),
                    cmd == "update",
                    "{cmd} {filter}: {}",
                    out.stderr
                );
                assert_eq!(bytes(&d.join("f.json")), before, "{cmd} {filter}");
            }
        }
    }
}
