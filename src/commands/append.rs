//! `jsafe append FILE JSON|-`: add values to a JSON Lines file in O(1)
//! (`store::append`: one `O_APPEND` write under the lock, fsync; a torn last
//! line left by a crash is quarantined first). `-` reads JSON Lines from
//! stdin and appends them as they come (group commit, see [`super::stream`]).
//!
//! `jsafe append FILE --to PATH JSON|-` appends to the array at PATH of a JSON
//! document through the ordinary write core (a missing array is created;
//! `-` reads one value per line, each appended in order).

use std::path::Path;

use super::shared::context::Writer;
use super::stream::{Item, Stream, VersionCheck, on_line};
use super::{Global, value_input};
use crate::cli::AppendArgs;
use crate::error::{Error, Kind, Result};
use crate::json::{self, Map, Style, Value};
use crate::store::OnCorrupt;
use crate::store::{Change, Format, Outcome};

pub(crate) fn run(g: &Global, args: &AppendArgs) -> Result<()> {
    let file = &args.file;
    // The value, literal or built from variables, before any lock is taken.
    let given = match args.json == "-" {
        true if args.vars.given() || !args.vars.positional.is_empty() => {
            return Err(Error::new(
                Kind::Usage,
                "with \"-\" the values come from stdin as JSON Lines: --arg and the other variables build a value given as an argument",
            ));
        }
        true => None,
        false => Some(value_input(
            Some(&args.json),
            &args.vars,
            "the value to append",
        )?),
    };
    let writer = Writer::new(g, file, "append", args.schema.as_deref(), OnCorrupt::Fail)?;
    if let Some(path) = &args.to {
        return to_array(g, args, &writer, path, given);
    }
    if Format::of_or(file, args.lines) != Format::Lines {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: not a JSON Lines file (*.jsonl, *.ndjson): give --lines to append lines to it anyway, or --to PATH to append to an array in a JSON document",
                file.display()
            ),
        ));
    }
    let compact = Style::line();
    let mut apply = |items: &[Item]| -> Result<Option<(usize, Error)>> {
        let lines: Vec<Vec<u8>> = items
            .iter()
            .map(|it| json::render(&it.value, &compact))
            .collect();
        let outcome = writer.append(&lines)?;
        report(g, file, outcome);
        Ok(None)
    };
    match given {
        Some(value) => apply(&[Item { line: 0, value }]).map(|_| ()),
        None => Stream::stdin()?.run(&mut apply),
    }
}

/// `append FILE --to PATH`: each value pushed onto the array at PATH of a
/// JSON document, through the ordinary write core.
fn to_array(
    g: &Global,
    args: &AppendArgs,
    writer: &Writer,
    path: &str,
    given: Option<Value>,
) -> Result<()> {
    let file = &args.file;
    if Format::of(file) == Format::Lines {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: --to appends to an array in a JSON document, and this is a JSON Lines file: append without --to",
                file.display()
            ),
        ));
    }
    let path = parse_path(path)?;
    let versions = match given {
        None => VersionCheck::load(file, args.schema.as_deref(), g.timeout)?,
        Some(_) => None,
    };
    let apply = |items: &[Item]| -> Result<Option<(usize, Error)>> {
        let mut failed = None;
        writer.transact(|current| {
            let mut doc = current
                .take_value()
                .unwrap_or_else(|| Value::Object(Map::new()));
            for (k, it) in items.iter().enumerate() {
                let before = versions.as_ref().map(|_| doc.clone());
                let pushed = push_at(&mut doc, &path, it.value.clone())
                    .and_then(|()| versions.as_ref().map_or(Ok(()), |v| v.check(&doc)));
                if let Err(m) = pushed {
                    if let Some(b) = before {
                        doc = b;
                    }
                    let m = on_line(it.line, format_args!("{}: {m}", file.display()));
                    failed = Some((k, Error::bad_input(m)));
                    if k == 0 {
                        return Ok(Change::Keep);
                    }
                    break;
                }
            }
            Ok(Change::Value(doc))
        })?;
        Ok(failed)
    };
    if let Some(value) = given {
        match apply(&[Item { line: 0, value }])? {
            Some((_, e)) => Err(e.unchanged(crate::error::Untouched::Written)),
            None => Ok(()),
        }
    } else {
        let mut apply = apply;
        Stream::stdin()?.run(&mut apply)
    }
}

fn report(g: &Global, file: &Path, mut outcome: Outcome) {
    if let Some(q) = outcome.quarantined.take() {
        g.notice(&format!(
            "{}: its last line was torn (an append that did not finish); moved to {}",
            file.display(),
            q.display()
        ));
    }
    g.report(file, &outcome);
}

/// One step of a `--to` path.
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

/// `.a.b`, `."a b"`, `.["a"]`, `.a[0]`, `.a[-1]`; `.` is the document itself.
fn parse_path(text: &str) -> Result<Vec<Step>> {
    let bad = |why: &str| {
        Error::new(
            Kind::Usage,
            format!(
                "--to {text}: {why} (write a path like .events, .a.b, .\"key with spaces\", .list[0])"
            ),
        )
    };
    let b = text.as_bytes();
    if b.first() != Some(&b'.') {
        return Err(bad("a path starts with ."));
    }
    let mut steps = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'.' if i + 1 == b.len() && steps.is_empty() => i += 1,
            b'.' if b.get(i + 1) == Some(&b'"') => {
                let (s, end) = quoted(text, i + 1).ok_or_else(|| bad("unterminated string"))?;
                steps.push(Step::Key(s));
                i = end;
            }
            b'.' if b.get(i + 1) == Some(&b'[') => i += 1,
            b'.' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                    end += 1;
                }
                if end == start {
                    return Err(bad("a key is missing after ."));
                }
                steps.push(Step::Key(text[start..end].to_owned()));
                i = end;
            }
            b'[' => {
                let close = text[i..]
                    .find(']')
                    .map(|c| i + c)
                    .ok_or_else(|| bad("[ without ]"))?;
                let inner = text[i + 1..close].trim();
                if inner.starts_with('"') {
                    let v = json::parse(inner.as_bytes()).map_err(|_| bad("bad string key"))?;
                    let Value::String(s) = v else {
                        return Err(bad("bad string key"));
                    };
                    steps.push(Step::Key(s.value));
                } else {
                    let n = inner
                        .parse::<i64>()
                        .map_err(|_| bad("an index is a whole number"))?;
                    steps.push(Step::Index(n));
                }
                i = close + 1;
            }
            _ => return Err(bad("unexpected character")),
        }
    }
    Ok(steps)
}

/// The JSON string starting at `text[at]` (a `"`), and where it ends.
fn quoted(text: &str, at: usize) -> Option<(String, usize)> {
    let b = text.as_bytes();
    let mut j = at + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => {
                let v = json::parse(&b[at..=j]).ok()?;
                let Value::String(s) = v else {
                    return None;
                };
                return Some((s.value, j + 1));
            }
            _ => j += 1,
        }
    }
    None
}

/// Append `value` to the array at `path` in `doc`, creating objects and
/// the array where missing (null counts as missing).
fn push_at(doc: &mut Value, path: &[Step], value: Value) -> std::result::Result<(), String> {
    let mut here = doc;
    let mut shown = String::new();
    for step in path {
        if matches!(here, Value::Null) {
            *here = match step {
                Step::Key(_) => Value::Object(Map::new()),
                Step::Index(_) => {
                    return Err(format!("{} is null, not an array to index", at(&shown)));
                }
            };
        }
        here = match (step, here) {
            (Step::Key(k), Value::Object(m)) => {
                shown.push_str(&format!(".{}", show_key(k)));
                m.entry(k.clone()).or_insert(Value::Null)
            }
            (Step::Index(n), Value::Array(a)) => {
                let len = i64::try_from(a.len()).unwrap_or(i64::MAX);
                let idx = if *n < 0 { len + n } else { *n };
                shown.push_str(&format!("[{n}]"));
                let i = usize::try_from(idx)
                    .ok()
                    .filter(|&i| i < a.len())
                    .ok_or_else(|| {
                        format!("{} does not exist (the array has {len} items)", shown)
                    })?;
                &mut a[i]
            }
            (step, other) => {
                let want = if matches!(step, Step::Key(_)) {
                    "an object"
                } else {
                    "an array"
                };
                return Err(format!(
                    "{} is {}, not {want}",
                    at(&shown),
                    other.type_name()
                ));
            }
        };
    }
    match here {
        Value::Null => {
            *here = Value::Array(vec![value]);
            Ok(())
        }
        Value::Array(a) => {
            a.push(value);
            Ok(())
        }
        other => Err(format!(
            "{} is {}, not an array to append to",
            at(&shown),
            other.type_name()
        )),
    }
}

fn at(shown: &str) -> String {
    if shown.is_empty() {
        "the document".to_owned()
    } else {
        shown.to_owned()
    }
}

fn show_key(k: &str) -> String {
    if !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        k.to_owned()
    } else {
        json::render(&Value::from(k), &Style::new_file())
            .trim_ascii_end()
            .iter()
            .map(|&b| b as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse() {
        assert_eq!(parse_path(".").unwrap(), vec![]);
        assert_eq!(
            parse_path(".a.b_2").unwrap(),
            vec![Step::Key("a".into()), Step::Key("b_2".into())]
        );
        assert_eq!(
            parse_path(".\"a b\"[0].c[-1]").unwrap(),
            vec![
                Step::Key("a b".into()),
                Step::Index(0),
                Step::Key("c".into()),
                Step::Index(-1)
            ]
        );
        assert_eq!(parse_path(".[\"x\"]").unwrap(), vec![Step::Key("x".into())]);
        for bad in ["a", ".a..b", ".\"x", ".a[", ".a[x]", ".a|.b", ""] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_pushed_where_the_path_says() {
        let mut doc = json::parse(br#"{"a": {"list": [1]}, "s": "x"}"#).unwrap();
        push_at(&mut doc, &parse_path(".a.list").unwrap(), Value::from(2)).unwrap();
        push_at(
            &mut doc,
            &parse_path(".new.events").unwrap(),
            Value::from(3),
        )
        .unwrap();
        assert!(push_at(&mut doc, &parse_path(".s").unwrap(), Value::from(4)).is_err());
        assert!(push_at(&mut doc, &parse_path(".a.list[5]").unwrap(), Value::from(4)).is_err());
        let out = json::render(&doc, &Style::new_file());
        let back = json::parse(&out).unwrap();
        assert_eq!(
            back,
            json::parse(br#"{"a": {"list": [1, 2]}, "s": "x", "new": {"events": [3]}}"#).unwrap()
        );
    }
}
