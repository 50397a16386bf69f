//! JSON Schemas attached to data files: `.jsafe/schemas/<key>.json`.
//!
//! # Contract
//! - A file's schema is attached and detached under the file's exclusive
//!   lock ([`attach_schema`]); it is written like a data file (temp file in
//!   `.jsafe/schemas/`, fsync, rename, fsync of the directory), never
//!   through a symlink, and read back only through checked directory
//!   handles, no further than [`MAX_SCHEMA`] bytes.
//! - Every change of the file — [`super::transact`] (write, merge, update,
//!   restore, `--recover`) and [`super::append`] — reads the schema under
//!   the lock and refuses a result that does not validate
//!   ([`Kind::BadInput`], naming the failing path and rule; nothing written).
//!   A JSON Lines file's schema applies to each line.
//! - Schemas are JSON Schema draft 2020-12 (a `$schema` naming another draft
//!   is obeyed), checked by the `jsonschema` crate without any resolver: a
//!   `$ref` to another document is refused when the schema is attached, so a
//!   write never reaches the network or another file.
//! - An `etcd://` key's schema is kept in etcd, under
//!   `/.jsafe/schemas/KEY`, and checked in the key's own transaction path
//!   ([`super::etcd`]).
//! - A library built without the `schema` feature cannot check schemas: it
//!   refuses to change a file that has one attached ([`Kind::Io`]), and
//!   cannot attach one.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::path::Path;

use rustix::fs::{AtFlags, Mode as FileMode, OFlags};

use super::dir::{self, Dir};
use super::failpoint::Step;
use super::layout::{self, SCHEMAS};
use super::{Current, Format, Options, State, Target};
use crate::error::{Error, Kind, Result, Untouched};
use crate::json::{self, Value};

/// Largest schema file read.
pub(crate) const MAX_SCHEMA: usize = 16 << 20;

/// A compiled schema.
pub(crate) struct Schema {
    #[cfg(feature = "schema")]
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Schema")
    }
}

impl Schema {
    /// Compile a schema document; Err says why it cannot be used.
    pub(crate) fn compile(bytes: &[u8]) -> std::result::Result<Schema, String> {
        let doc = json::parse(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
        Schema::compile_value(&doc)
    }

    #[cfg(feature = "schema")]
    fn compile_value(doc: &Value) -> std::result::Result<Schema, String> {
        let doc = to_serde(doc);
        if !matches!(
            doc,
            serde_json::Value::Object(_) | serde_json::Value::Bool(_)
        ) {
            return Err("a JSON Schema is an object (or true/false)".into());
        }
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&doc)
            .map_err(|e| format!("not a usable JSON Schema: {e}"))?;
        Ok(Schema { validator })
    }

    #[cfg(not(feature = "schema"))]
    fn compile_value(_doc: &Value) -> std::result::Result<Schema, String> {
        Err(NO_SUPPORT.to_owned())
    }

    /// Check one value; Err: "at /path: what is wrong (rule /schema/path)".
    pub(crate) fn check_value(&self, value: &Value) -> std::result::Result<(), String> {
        #[cfg(feature = "schema")]
        {
            let instance = to_serde(value);
            match self.validator.iter_errors(&instance).next() {
                None => Ok(()),
                Some(e) => {
                    let at = e.instance_path().as_str();
                    let at = if at.is_empty() { "/" } else { at };
                    let rule = e.schema_path().as_str();
                    let msg = e.to_string();
                    Err(format!("at {at}: {} (rule {rule})", cap(&msg, 300)))
                }
            }
        }
        #[cfg(not(feature = "schema"))]
        {
            let _ = value;
            Err(NO_SUPPORT.to_owned())
        }
    }

    /// Check bytes read as `format` (each line of a JSON Lines file).
    pub(crate) fn check(&self, bytes: &[u8], format: Format) -> std::result::Result<(), String> {
        match format {
            Format::Document => {
                let v = json::parse(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
                self.check_value(&v)
            }
            Format::Lines => {
                for (n, line) in super::lines::values(bytes) {
                    let v =
                        json::parse(line).map_err(|e| format!("line {n}: not valid JSON: {e}"))?;
                    self.check_value(&v).map_err(|e| format!("line {n} {e}"))?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(not(feature = "schema"))]
const NO_SUPPORT: &str =
    "this build of jsafe has no JSON Schema support (built without the `schema` feature)";

#[cfg(feature = "schema")]
fn cap(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n).collect();
    out.push('…');
    out
}

/// jsafe's value as serde_json's, for the validator. Numbers are compared as
/// JSON Schema compares them: integers exactly where they fit 64 bits,
/// anything else as the nearest double.
#[cfg(feature = "schema")]
fn to_serde(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Number(n) => {
            let t = n.as_str();
            if let Ok(i) = t.parse::<i64>() {
                J::from(i)
            } else if let Ok(u) = t.parse::<u64>() {
                J::from(u)
            } else {
                let f = t.parse::<f64>().unwrap_or(0.0);
                let f = if f.is_finite() {
                    f
                } else {
                    f64::MAX.copysign(f)
                };
                serde_json::Number::from_f64(f).map_or(J::Null, J::Number)
            }
        }
        Value::String(s) => J::String(s.value.clone()),
        Value::Array(a) => J::Array(a.iter().map(to_serde).collect()),
        Value::Object(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), to_serde(v))).collect()),
    }
}

/// The schema attached to the file `t`, read under its lock (None: none).
fn attached_bytes(state: &State, t: &Target) -> Result<Option<Vec<u8>>> {
    let Some(dir) = state.existing_sub(OsStr::new(SCHEMAS))? else {
        return Ok(None);
    };
    read_schema(&dir, &t.key, t.given)
}

fn read_schema(dir: &Dir, key: &OsStr, file: &Path) -> Result<Option<Vec<u8>>> {
    let name = layout::schema_name(key);
    let shown = dir.join(&name);
    let Some((f, st)) = dir
        .open_regular(&name)
        .map_err(|e| Error::io("cannot read the schema", &shown, e))?
    else {
        return Ok(None);
    };
    let _ = file;
    if usize::try_from(st.st_size).map_or(true, |s| s > MAX_SCHEMA) {
        return Err(Error::new(
            Kind::Io,
            format!(
                "{}: larger than {} MiB; refused",
                shown.display(),
                MAX_SCHEMA >> 20
            ),
        ));
    }
    dir::read_to_end(&f, &st, Step::Read)
        .map(Some)
        .map_err(|e| Error::io("cannot read the schema", &shown, e))
}

/// What a change must pass: the attached schema (if any) and the caller's
/// check. Loaded once per transaction.
pub(super) struct Guard {
    schema: Option<Schema>,
}

impl Guard {
    pub(super) fn load(state: &State, t: &Target) -> Result<Guard> {
        let Some(bytes) = attached_bytes(state, t)? else {
            return Ok(Guard { schema: None });
        };
        let shown = state.root.join(SCHEMAS).join(layout::schema_name(&t.key));
        match Schema::compile(&bytes) {
            Ok(s) => Ok(Guard { schema: Some(s) }),
            Err(why) => Err(Error::new(
                Kind::Io,
                format!(
                    "{}: has a schema attached ({}) that cannot be checked: {why}",
                    t.given.display(),
                    shown.display()
                ),
            )
            .unchanged(Untouched::Changed)
            .then(format!(
                " (`jsafe schema --detach {}` removes it)",
                t.given.display()
            ))),
        }
    }

    pub(super) fn check(
        &self,
        file: &Path,
        opts: &Options,
        bytes: &[u8],
        format: Format,
    ) -> Result<()> {
        if let Some(s) = &self.schema
            && let Err(why) = s.check(bytes, format)
        {
            return Err(Error::bad_input(format!(
                "{}: the result does not match the file's schema {why}",
                file.display()
            ))
            .unchanged(Untouched::Written));
        }
        if let Some(check) = opts.check {
            check(bytes)?;
        }
        Ok(())
    }
}

/// Check `bytes` (the new content, or one new line) against the file's
/// schema and the options' check.
pub(super) fn enforce(
    state: &State,
    t: &Target,
    opts: &Options,
    bytes: &crate::json::Parts,
    format: Format,
) -> Result<()> {
    let guard = Guard::load(state, t)?;
    if guard.schema.is_none() && opts.check.is_none() {
        return Ok(());
    }
    guard.check(t.given, opts, &bytes.contiguous(), format)
}

/// The schema attached to `file` (its bytes), without creating anything.
/// `timeout` bounds the read of an etcd key's schema.
pub(crate) fn schema_of(file: &Path, timeout: std::time::Duration) -> Result<Option<Vec<u8>>> {
    super::Backend::of(file).storage().schema_of(file, timeout)
}

pub(super) fn schema_of_local(file: &Path) -> Result<Option<Vec<u8>>> {
    let t = Target::resolve_any(file)?;
    let Some(state) = State::existing(&t)? else {
        return Ok(None);
    };
    let Some(dir) = state.existing_sub(OsStr::new(SCHEMAS))? else {
        return Ok(None);
    };
    read_schema(&dir, &t.key, file)
}

/// What [`attach_schema`] did.
// The names read as what happened ("Attached::NoneAttached"); clippy checks
// them once the enum is not public API (the crate's modules are private).
#[allow(clippy::enum_variant_names)]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attached {
    /// The schema is attached (replacing any earlier one).
    Attached,
    /// The schema was removed.
    Detached,
    /// There was nothing to detach.
    NoneAttached,
}

/// Attach `schema` (a schema document's bytes) to `file`, or with None
/// detach its schema, under the file's exclusive lock. Unless `force`, the
/// file's current content must validate (a missing file is fine). The
/// format decides how the content is read (JSON Lines: each line).
pub(crate) fn attach_schema(
    file: &Path,
    opts: &Options,
    schema: Option<&[u8]>,
    format: Format,
    force: bool,
) -> Result<Attached> {
    let a = super::storage::Attach {
        schema,
        format,
        force,
    };
    super::Backend::of(file)
        .storage()
        .attach_schema(file, opts, &a)
}

pub(super) fn attach_local(
    file: &Path,
    opts: &Options,
    a: &super::storage::Attach,
) -> Result<Attached> {
    let (schema, format, force) = (a.schema, a.format, a.force);
    let compiled = match schema {
        Some(bytes) => Some(Schema::compile(bytes).map_err(|why| {
            Error::bad_input(format!("the schema is refused: {why}")).unchanged(Untouched::Attached)
        })?),
        None => None,
    };
    let t = Target::resolve(file)?;
    let state = State::open(&t)?;
    // Held while the schema file changes; the operation names it "schema".
    let mut ignored = super::Outcome::default();
    let _lock = super::write_lock(&t, &state, opts, file, &mut ignored)?;
    let name = layout::schema_name(&t.key);
    let (Some(bytes), Some(compiled)) = (schema, compiled) else {
        let Some(dir) = state.existing_sub(OsStr::new(SCHEMAS))? else {
            return Ok(Attached::NoneAttached);
        };
        return match rustix::fs::unlinkat(dir.fd(), &name, AtFlags::empty()) {
            Ok(()) => {
                if opts.sync {
                    dir.sync(Step::DirFsync)
                        .map_err(|e| Error::io("cannot fsync", dir.path(), e))?;
                }
                Ok(Attached::Detached)
            }
            Err(rustix::io::Errno::NOENT) => Ok(Attached::NoneAttached),
            Err(e) => Err(Error::io("cannot remove", &dir.join(&name), e.into())),
        };
    };
    if !force && let Some((_, _, current)) = t.read_for_change()? {
        match Current::classify_as(current, format) {
            Current::Valid(d) => compiled.check(d.bytes(), format).map_err(|why| {
                Error::bad_input(format!(
                    "{}: does not match the schema {why}",
                    file.display()
                ))
                .unchanged(Untouched::Attached)
                .then(" (fix the file first, or attach with --force)")
            })?,
            Current::Corrupt { error, .. } => {
                return Err(super::corrupt_error(file, &error, Untouched::Attached));
            }
            Current::Missing => {}
        }
    }
    let dir = state.sub(OsStr::new(SCHEMAS))?;
    write_atomic(&dir, &name, bytes, opts.sync, &state).map_err(|e| {
        Error::io("cannot write", &dir.join(&name), e).unchanged(Untouched::Attached)
    })?;
    Ok(Attached::Attached)
}

fn write_atomic(
    dir: &Dir,
    name: &OsStr,
    bytes: &[u8],
    sync: bool,
    state: &State,
) -> std::io::Result<()> {
    let mut temp = OsString::from(".partial.");
    temp.push(name);
    let _ = rustix::fs::unlinkat(dir.fd(), &temp, AtFlags::empty());
    let f = dir.open_file(
        &temp,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
        FileMode::from_raw_mode(state.creation.dir_mode & 0o664),
    )?;
    let done = (|| {
        use std::os::fd::AsFd;
        state.creation.chown(f.as_fd())?;
        (&f).write_all(bytes)?;
        if sync {
            f.sync_data()?;
        }
        rustix::fs::renameat(dir.fd(), &temp, dir.fd(), name)?;
        if sync {
            dir.sync(Step::DirFsync)?;
        }
        Ok(())
    })();
    if done.is_err() {
        let _ = rustix::fs::unlinkat(dir.fd(), &temp, AtFlags::empty());
    }
    done
}

#[cfg(all(test, feature = "schema"))]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_path_and_the_rule() {
        let s = Schema::compile(
            br#"{"type":"object","required":["n"],"properties":{"n":{"type":"integer","minimum":0}}}"#,
        )
        .unwrap();
        assert!(s.check(br#"{"n": 3}"#, Format::Document).is_ok());
        let e = s.check(br#"{"n": -1}"#, Format::Document).unwrap_err();
        assert!(e.contains("at /n") && e.contains("minimum"), "{e}");
        let e = s.check(br#"{"m": 1}"#, Format::Document).unwrap_err();
        assert!(e.contains("required"), "{e}");
        let e = s
            .check(b"{\"n\":1}\n{\"n\":\"x\"}\n", Format::Lines)
            .unwrap_err();
        assert!(e.starts_with("line 2 at /n"), "{e}");
        // Big and exotic numbers do not stop a check.
        assert!(
            s.check(b"{\"n\": 123456789012345678901234567890}", Format::Document)
                .is_ok()
        );
    }

    #[test]
    fn schemas_that_cannot_be_used_are_refused() {
        assert!(Schema::compile(b"[1]").is_err());
        assert!(Schema::compile(b"{\"type\": 12}").is_err());
        assert!(Schema::compile(b"{\"$ref\": \"http://example.invalid/s.json\"}").is_err());
        assert!(Schema::compile(b"{\"$ref\": \"file:///etc/passwd\"}").is_err());
        assert!(Schema::compile(b"true").is_ok());
    }
}

/// Without the `schema` feature (`cargo test --no-default-features --lib`):
/// a file with a schema attached is never changed unchecked.
#[cfg(all(test, not(feature = "schema")))]
mod without_support {
    use super::*;
    use crate::store::{Change, Options, transact};

    #[test]
    fn a_file_with_a_schema_is_refused() {
        assert!(Schema::compile(b"true").is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f.json");
        std::fs::write(&file, "{}\n").unwrap();
        let schemas = dir.path().join(".jsafe/schemas");
        std::fs::create_dir_all(&schemas).unwrap();
        std::fs::write(schemas.join("f.json.json"), "true").unwrap();
        let opts = Options::new("test").sync(false);
        let e = transact(&file, &opts, |_| Ok(Change::Bytes(b"{\"a\":1}\n".to_vec()))).unwrap_err();
        assert_eq!(e.kind(), Kind::Io, "{e}");
        assert!(e.message().contains("no JSON Schema support"), "{e}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "{}\n");
        std::fs::write(schemas.join("l.jsonl.json"), "true").unwrap();
        let log = dir.path().join("l.jsonl");
        let e = crate::store::append(&log, &opts, &[b"1".to_vec()]).unwrap_err();
        assert_eq!(e.kind(), Kind::Io, "{e}");
        assert!(!log.exists());
    }
}
