//! `jsafe._jsafe`: the native half of the Python package `jsafe`. Every
//! change goes through the library's write core ([`jsafe::transact`], or
//! [`jsafe::append`] for JSON Lines), exactly as the CLI's commands do:
//! the same lock files, waiting, backups, quarantine, journal, schema checks
//! and fidelity. Nothing here opens a data file for writing, takes a lock by
//! hand or writes a backup.
//!
//! What this module adds is the Python side of it:
//! - the GIL is released while a lock is waited for, files are read and
//!   written, and filters run;
//! - a lock wait is cut into slices, with Python's signal handlers run
//!   between them, so Ctrl-C raises `KeyboardInterrupt` and nothing is
//!   written (the abandoned wait lets go of the lock as soon as it gets it);
//! - locks held by `jsafe.lock`/`jsafe.edit` in the calling context, and
//!   locks handed down by a parent `jsafe lock` through `JSAFE_LOCK_FD`, are
//!   adopted by the calls made under them ([`jsafe::adopt_lock`]) instead of
//!   being waited for;
//! - library errors become the exceptions of `jsafe._errors`, with the CLI's
//!   exit code.

mod conv;
mod sys;

use std::ops::ControlFlow;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use jsafe::filter::{Ending, Filter, FilterError, Input, Render, Side};
use jsafe::{
    Change, Current, Error, Event, Format, Kind, Lock, LockState, Mode, OnCorrupt, Options, Style,
    Value, Watch,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use conv::{Decimals, NotJson};

/// How long a lock wait or a watch runs between two looks at Python's
/// signal handlers.
const SLICE: Duration = Duration::from_millis(50);

/// Locks the calling context holds (`jsafe.lock`/`jsafe.edit` objects) and
/// the `JSAFE_LOCK_FD` entries handed down by a parent process.
type Held = (Vec<Py<HeldLock>>, Option<String>);

// ---------------------------------------------------------------- errors

/// The exception class of `jsafe._errors` for a kind.
fn class_of(kind: Kind) -> &'static str {
    match kind {
        Kind::LockTimeout => "LockTimeout",
        Kind::BadInput | Kind::Usage => "InvalidInput",
        Kind::Corrupt => "Corrupt",
        Kind::NotFound => "NotFound",
        Kind::Io => "Untouched",
        Kind::NotDurable => "ChangedNotDurable",
        Kind::FilterHalted | Kind::FilterHaltError => "FilterHalted",
        _ => "Error",
    }
}

/// An exception of `jsafe._errors.<class>` with a message and exit code.
fn exception(py: Python<'_>, class: &str, message: &str, code: i32) -> PyErr {
    let made = py
        .import("jsafe._errors")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.call1((message, code)));
    match made {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    exception(py, class_of(e.kind()), e.message(), e.exit_code())
}

trait OrRaise<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> OrRaise<T> for jsafe::Result<T> {
    fn or_raise(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py_err(py, &e))
    }
}

/// A Python object that is not JSON, or a Python error met while reading it.
fn not_json(py: Python<'_>, file: &Path, what: &str, e: NotJson) -> PyErr {
    match e {
        NotJson::Py(e) => e,
        NotJson::Refused(why) => exception(
            py,
            "InvalidInput",
            &format!("{}: {what}: {why}; nothing was written", file.display()),
            Kind::BadInput.exit_code(),
        ),
    }
}

fn json_arg(py: Python<'_>, file: &Path, what: &str, obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    conv::from_py(obj).map_err(|e| not_json(py, file, what, e))
}

fn duration(timeout: Option<f64>) -> PyResult<Duration> {
    match timeout {
        None => Ok(Duration::MAX),
        Some(t) if t.is_finite() && t >= 0.0 => {
            Ok(Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX))
        }
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be a number of seconds >= 0 or None, not {t}"
        ))),
    }
}

// ---------------------------------------------------------------- locks

/// A lock held for a Python context (`jsafe.lock`, `jsafe.edit`): taken
/// here, or adopted from an enclosing one. Released by `release()` (or when
/// the object is collected).
#[pyclass(module = "jsafe._jsafe")]
struct HeldLock {
    lock: Mutex<Option<Lock>>,
    /// The inheritable duplicate handed to child processes while the
    /// context is open.
    handed: Mutex<Option<OwnedFd>>,
    path: PathBuf,
}

#[pymethods]
impl HeldLock {
    /// Let go of the lock (a lock adopted from an enclosing context stays
    /// held by it) and close the descriptor handed to children.
    fn release(&self) {
        drop(self.handed.lock().map(|mut h| h.take()));
        drop(self.lock.lock().map(|mut l| l.take()));
    }

    /// Whether it is still held by this object.
    #[getter]
    fn held(&self) -> bool {
        self.lock.lock().is_ok_and(|l| l.is_some())
    }

    /// Whether it is a shared lock.
    #[getter]
    fn shared(&self) -> bool {
        self.lock
            .lock()
            .is_ok_and(|l| l.as_ref().is_some_and(|l| l.mode() == Mode::Shared))
    }

    /// The data file it is the lock of, as given.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// A descriptor of the lock that child processes inherit (no
    /// close-on-exec), made on the first call, and its `JSAFE_LOCK_FD`
    /// entry `<fd>:<dev>:<ino>`.
    fn hand_down(&self, py: Python<'_>) -> PyResult<(i32, String)> {
        let lock = self
            .lock
            .lock()
            .map_err(|_| PyRuntimeError::new_err("lock state poisoned"))?;
        let Some(l) = lock.as_ref() else {
            return Err(PyRuntimeError::new_err("the lock was released"));
        };
        let mut handed = self
            .handed
            .lock()
            .map_err(|_| PyRuntimeError::new_err("lock state poisoned"))?;
        if handed.is_none() {
            // dup(2) leaves close-on-exec off: the descriptor is inherited.
            let fd = rustix::io::dup(l.file())
                .map_err(|e| Error::io("cannot hand down the lock of", &self.path, e.into()))
                .or_raise(py)?;
            *handed = Some(fd);
        }
        let fd = handed
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("no descriptor"))?;
        let st = rustix::fs::fstat(fd)
            .map_err(|e| Error::io("cannot check the lock of", &self.path, e.into()))
            .or_raise(py)?;
        let raw = fd.as_raw_fd();
        Ok((raw, format!("{raw}:{}:{}", st.st_dev, st.st_ino)))
    }
}

impl HeldLock {
    fn new(path: &Path, lock: Lock) -> HeldLock {
        HeldLock {
            lock: Mutex::new(Some(lock)),
            handed: Mutex::new(None),
            path: path.to_owned(),
        }
    }
}

/// `file`'s lock if the calling context already holds it: a lock of a
/// `jsafe.lock`/`jsafe.edit` around the call, or one handed down by a parent
/// `jsafe lock` (the same checks as the CLI: the descriptor must be open on
/// this file's lock file, and the lock held).
fn find_held(py: Python<'_>, file: &Path, held: &Held) -> PyResult<Option<Lock>> {
    for h in &held.0 {
        let h = h.borrow(py);
        let dup = {
            let guard = h
                .lock
                .lock()
                .map_err(|_| PyRuntimeError::new_err("lock state poisoned"))?;
            match guard.as_ref() {
                Some(l) => rustix::io::fcntl_dupfd_cloexec(l.file(), 3).ok(),
                None => None,
            }
        };
        if let Some(fd) = dup
            && let Some(l) = py
                .allow_threads(|| jsafe::adopt_lock(file, fd))
                .or_raise(py)?
        {
            return Ok(Some(l));
        }
    }
    let Some(list) = &held.1 else {
        return Ok(None);
    };
    for entry in list.split(',').take(32) {
        let mut p = entry.split(':');
        let (Some(fd), Some(dev), Some(ino), None) = (p.next(), p.next(), p.next(), p.next())
        else {
            continue;
        };
        let (Ok(fd), Ok(dev), Ok(ino)) =
            (fd.parse::<i32>(), dev.parse::<u64>(), ino.parse::<u64>())
        else {
            continue;
        };
        if fd <= 2 {
            continue;
        }
        let Ok(own) = sys::inherited_fd(fd) else {
            continue;
        };
        match rustix::fs::fstat(&own) {
            Ok(st) if st.st_dev == dev && st.st_ino == ino => {}
            _ => continue,
        }
        if let Some(l) = py
            .allow_threads(|| jsafe::adopt_lock(file, own))
            .or_raise(py)?
        {
            return Ok(Some(l));
        }
    }
    Ok(None)
}

/// Take `file`'s lock: at once when it is free; otherwise wait on another
/// thread, up to `timeout`, looking at Python's signal handlers every
/// [`SLICE`] with the GIL released in between. A signal handler that raises
/// (Ctrl-C) ends the wait with its exception; the abandoned wait releases
/// the lock the moment it gets it.
fn take_lock(
    py: Python<'_>,
    file: &Path,
    mode: Mode,
    timeout: Duration,
    command: &str,
) -> PyResult<Lock> {
    let now = py.allow_threads(|| jsafe::lock_file(file, mode, Duration::ZERO, &|_| {}, command));
    match now {
        Err(e) if e.kind() == Kind::LockTimeout && !timeout.is_zero() => {}
        other => return other.or_raise(py),
    }
    let (tx, rx) = mpsc::channel();
    // Waited on with the GIL released, which wants what it uses shareable.
    let rx = Mutex::new(rx);
    let path = file.to_owned();
    let cmd = command.to_owned();
    std::thread::Builder::new()
        .name("jsafe-py-lock".into())
        .spawn(move || {
            let r = jsafe::lock_file(&path, mode, timeout, &|_| {}, &cmd);
            // The receiver is gone when the caller gave up: the lock is
            // dropped (released) here.
            let _ = tx.send(r);
        })
        .map_err(|e| Error::io("cannot wait for the lock of", file, e))
        .or_raise(py)?;
    loop {
        let got = py.allow_threads(|| match rx.lock() {
            Ok(rx) => rx.recv_timeout(SLICE),
            Err(_) => Err(mpsc::RecvTimeoutError::Disconnected),
        });
        match got {
            Ok(r) => return r.or_raise(py),
            Err(mpsc::RecvTimeoutError::Timeout) => py.check_signals()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(exception(
                    py,
                    "Error",
                    &format!("{}: the lock wait stopped", file.display()),
                    1,
                ));
            }
        }
    }
}

/// One change of `file` through the write core, under the lock the context
/// holds, or else under the lock [`take_lock`] takes (Ctrl-C stays possible
/// while it waits).
/// `run` builds the transaction from the options it is given; it runs with
/// the GIL released.
fn change<T, F>(
    py: Python<'_>,
    file: &Path,
    op: &str,
    timeout: Duration,
    on_corrupt: OnCorrupt,
    held: &Held,
    run: F,
) -> PyResult<T>
where
    T: Send,
    F: Fn(&Options) -> jsafe::Result<T> + Sync,
{
    let opts = || Options::new(op).timeout(timeout).on_corrupt(on_corrupt);
    if let Some(lock) = find_held(py, file, held)? {
        return py
            .allow_threads(|| run(&opts().held(Some(&lock))))
            .or_raise(py);
    }
    // The lock is taken here and handed to the transaction rather than
    // trying the transaction with a zero timeout: that timeout would also
    // bound its wait for the journal's own lock, shared by the directory.
    let lock = take_lock(py, file, Mode::Exclusive, timeout, &format!("jsafe {op}"))?;
    py.allow_threads(|| run(&opts().held(Some(&lock))))
        .or_raise(py)
}

// ---------------------------------------------------------------- reading

fn side_output(side: Side<'_>) {
    use std::io::Write;
    let text = match side {
        Side::Stderr(t) | Side::Debug(t) | Side::HaltError(t) => t,
    };
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// Compiled filters by code and variables, most recently used last: a
/// service runs the same few filters again and again, and compiling one
/// (jq's definitions included) costs more than a small file's whole change.
static FILTERS: Mutex<Vec<(String, Arc<Filter>)>> = Mutex::new(Vec::new());
/// Filters kept in [`FILTERS`].
const FILTERS_KEPT: usize = 64;

fn compile(py: Python<'_>, code: &str, vars: Option<&Bound<'_, PyDict>>) -> PyResult<Arc<Filter>> {
    let mut named = Vec::new();
    if let Some(vars) = vars {
        for (k, v) in vars.iter() {
            let name: String = k.extract()?;
            let value = conv::from_py(&v).map_err(|e| match e {
                NotJson::Py(e) => e,
                NotJson::Refused(why) => exception(
                    py,
                    "InvalidInput",
                    &format!("${name}: {why}"),
                    Kind::BadInput.exit_code(),
                ),
            })?;
            named.push((name, value));
        }
    }
    // The key: the code, then the variables as one compact JSON object
    // (numbers keep their text, so 1 and 1.0 stay apart).
    let mut key = code.to_owned();
    key.push('\0');
    let vars_obj = Value::Object(named.iter().cloned().collect());
    key.push_str(&String::from_utf8_lossy(&jsafe::render(
        &vars_obj, &COMPACT,
    )));
    if let Ok(mut cache) = FILTERS.lock()
        && let Some(i) = cache.iter().position(|(k, _)| *k == key)
    {
        let hit = cache.remove(i);
        let filter = Arc::clone(&hit.1);
        cache.push(hit);
        return Ok(filter);
    }
    let code = code.to_owned();
    let filter = py
        .allow_threads(|| Filter::compile(&code, named))
        .map_err(|e| Error::bad_input(e.to_string()))
        .or_raise(py)?;
    let filter = Arc::new(filter);
    if let Ok(mut cache) = FILTERS.lock() {
        if cache.len() >= FILTERS_KEPT {
            cache.remove(0);
        }
        cache.push((key, Arc::clone(&filter)));
    }
    Ok(filter)
}

/// One compact line: how `append` writes values, and the filter cache's key.
const COMPACT: Style = Style::line();

/// The filter's outputs on `input`.
fn run_filter(file: &Path, filter: &Filter, input: &Value) -> jsafe::Result<Vec<Value>> {
    let name = file.to_string_lossy();
    let mut out = Vec::new();
    filter
        .run_each(input, Some(&name), &side_output, &mut |v| {
            out.push(v);
            ControlFlow::Continue(())
        })
        .map_err(|e| Error::bad_input(format!("{}: {e}", file.display())))?;
    Ok(out)
}

fn parse_doc(file: &Path, bytes: &[u8]) -> jsafe::Result<Value> {
    jsafe::parse(bytes).map_err(|e| jsafe::corrupt_error(file, &e, jsafe::Untouched::Read))
}

/// Read `file` as `jsafe read` does: no lock (every write is an atomic
/// rename); bytes that are not JSON are read again under the shared lock
/// when a lock file exists; with `recover`, a corrupt file is quarantined
/// and replaced by its newest valid backup through the write core first.
/// Returns the document's values (one, or one per line of a JSON Lines
/// file), or None for a missing file.
fn load_values(
    py: Python<'_>,
    file: &Path,
    recover: bool,
    timeout: Duration,
    held: &Held,
) -> PyResult<Option<Vec<Value>>> {
    let format = Format::of(file);
    let inherited = find_held(py, file, held)?;
    let mut current = py
        .allow_threads(|| jsafe::load(file, None))
        .or_raise(py)?
        .current
        .reclassify(format);
    if matches!(current, Current::Corrupt { .. }) && inherited.is_none() {
        let again = py
            .allow_threads(|| jsafe::reload_if_locked(file, timeout, &|_| {}))
            .or_raise(py)?;
        if let Some(again) = again {
            current = again.reclassify(format);
        }
    }
    drop(inherited);
    if matches!(current, Current::Corrupt { .. }) && recover {
        change(
            py,
            file,
            "recover",
            timeout,
            OnCorrupt::Recover,
            held,
            |o| match format {
                Format::Lines => jsafe::append(file, o, &[]),
                Format::Document => jsafe::transact(file, o, |_| Ok(Change::Keep)),
            },
        )?;
        current = py
            .allow_threads(|| jsafe::load(file, None))
            .or_raise(py)?
            .current
            .reclassify(format);
    }
    match current {
        Current::Missing => Ok(None),
        Current::Corrupt { error, .. } => Err(to_py_err(
            py,
            &jsafe::corrupt_error(file, &error, jsafe::Untouched::Read),
        )),
        Current::Valid(doc) => py
            .allow_threads(|| doc.values().collect::<jsafe::Result<Vec<Value>>>())
            .map(Some)
            .or_raise(py),
    }
}

/// `jsafe.read`: the document (a list of values for JSON Lines), or with a
/// filter the list of its outputs.
#[pyfunction]
#[pyo3(signature = (path, filter, vars, has_default, default, recover, decimals, timeout, held))]
#[allow(clippy::too_many_arguments)]
fn read<'py>(
    py: Python<'py>,
    path: PathBuf,
    filter: Option<&str>,
    vars: Option<&Bound<'py, PyDict>>,
    has_default: bool,
    default: &Bound<'py, PyAny>,
    recover: bool,
    decimals: &str,
    timeout: Option<f64>,
    held: Held,
) -> PyResult<Bound<'py, PyAny>> {
    let d = Decimals::parse(decimals)?;
    let filter = filter.map(|f| compile(py, f, vars)).transpose()?;
    let timeout = duration(timeout)?;
    let lines = Format::of(&path) == Format::Lines;
    let values = match load_values(py, &path, recover, timeout, &held)? {
        Some(v) => v,
        None if has_default => {
            if filter.is_none() {
                return Ok(default.clone());
            }
            vec![json_arg(py, &path, "default", default)?]
        }
        None => {
            return Err(exception(
                py,
                "NotFound",
                &format!(
                    "{}: no such file (give default= to get a value for a missing file)",
                    path.display()
                ),
                Kind::NotFound.exit_code(),
            ));
        }
    };
    let outputs = match &filter {
        None => values,
        Some(f) => py
            .allow_threads(|| {
                let mut all = Vec::new();
                for v in &values {
                    all.extend(run_filter(&path, f, v)?);
                }
                Ok(all)
            })
            .or_raise(py)?,
    };
    if filter.is_none()
        && !lines
        && let Some(v) = outputs.first()
    {
        return conv::to_py(py, v, d);
    }
    let list = PyList::empty(py);
    for v in &outputs {
        list.append(conv::to_py(py, v, d)?)?;
    }
    Ok(list.into_any())
}

// ---------------------------------------------------------------- changes

fn refuse_lines(file: &Path, what: &str) -> jsafe::Result<()> {
    if Format::of(file) == Format::Lines {
        return Err(Error::bad_input(format!(
            "{}: a JSON Lines file is only appended to (jsafe.append), not {what}; nothing was written",
            file.display()
        )));
    }
    Ok(())
}

/// `jsafe.write`: replace the content (a corrupt file is quarantined).
#[pyfunction]
fn write(
    py: Python<'_>,
    path: PathBuf,
    obj: &Bound<'_, PyAny>,
    timeout: Option<f64>,
    held: Held,
) -> PyResult<bool> {
    refuse_lines(&path, "written whole").or_raise(py)?;
    let value = json_arg(py, &path, "the new content", obj)?;
    let timeout = duration(timeout)?;
    change(
        py,
        &path,
        "write",
        timeout,
        OnCorrupt::Quarantine,
        &held,
        |o| jsafe::transact(&path, o, |_| Ok(Change::Value(value.clone()))),
    )
    .map(|o| o.changed)
}

/// `jsafe.merge`: an RFC 7386 merge patch; a missing file starts as `{}`.
#[pyfunction]
fn merge(
    py: Python<'_>,
    path: PathBuf,
    patch: &Bound<'_, PyAny>,
    timeout: Option<f64>,
    held: Held,
) -> PyResult<bool> {
    refuse_lines(&path, "merged into").or_raise(py)?;
    let patch = json_arg(py, &path, "the merge patch", patch)?;
    if !matches!(patch, Value::Object(_)) {
        return Err(to_py_err(
            py,
            &Error::bad_input(format!(
                "the merge patch must be a dict, not {} (to replace the whole content use jsafe.write)",
                patch.type_name()
            )),
        ));
    }
    let timeout = duration(timeout)?;
    change(py, &path, "merge", timeout, OnCorrupt::Fail, &held, |o| {
        jsafe::transact(&path, o, |current| {
            jsafe::merge_change(&path, current, &patch)
        })
    })
    .map(|o| o.changed)
}

/// The one output of `filter` on the current content, in the file's style,
/// what the filter left untouched copied from the bytes on disk (as `jsafe
/// update` stores it).
fn update_change(
    file: &Path,
    current: &Current,
    filter: &Filter,
    default: &Value,
    halted: &AtomicI32,
) -> jsafe::Result<Change> {
    let (input, style) = match current {
        Current::Valid(doc) => {
            let input = Input::parse(doc.shared(), *doc.style()).map_err(|e| {
                Error::internal(format!(
                    "{}: a validated document does not parse: {e}",
                    file.display()
                ))
            })?;
            (input, *doc.style())
        }
        Current::Missing | Current::Corrupt { .. } => {
            (Input::from_value(default), Style::new_file())
        }
    };
    let name = file.to_string_lossy();
    let mut outputs = Vec::with_capacity(1);
    let stored =
        |e: FilterError| Error::bad_input(format!("{}: {e}; nothing was written", file.display()));
    let ending = filter
        .run_input(&input, Some(&name), &side_output, &mut |v| {
            outputs.push(v);
            if outputs.len() > 1 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .map_err(stored)?;
    if let Ending::Halted(code) = ending {
        let code = match code & 0xff {
            0 => Kind::FilterHalted.exit_code(),
            c => c,
        };
        halted.store(code, Ordering::Relaxed);
        return Err(Error::new(
            Kind::FilterHalted,
            format!(
                "{}: the filter halted (exit {code}); nothing was written",
                file.display()
            ),
        ));
    }
    let [output] = &outputs[..] else {
        let count = if ending == Ending::Stopped {
            "more than one value".to_owned()
        } else {
            format!("{} values", outputs.len())
        };
        return Err(Error::bad_input(format!(
            "{}: the filter produced {count}; it must produce exactly one (nothing was written)",
            file.display()
        )));
    };
    if matches!(current, Current::Corrupt { .. }) {
        return Ok(Change::Value(output.to_value().map_err(stored)?));
    }
    let how = Render {
        style,
        sort_keys: false,
        copy: true,
    };
    Ok(Change::Valid(
        input.render_document(output, &how).map_err(stored)?,
    ))
}

/// `jsafe.update`: store the one output of a jq filter.
#[pyfunction]
#[pyo3(signature = (path, filter, vars, default, recover, timeout, held))]
#[allow(clippy::too_many_arguments)]
fn update(
    py: Python<'_>,
    path: PathBuf,
    filter: &str,
    vars: Option<&Bound<'_, PyDict>>,
    default: &Bound<'_, PyAny>,
    recover: bool,
    timeout: Option<f64>,
    held: Held,
) -> PyResult<bool> {
    refuse_lines(&path, "updated").or_raise(py)?;
    let filter = compile(py, filter, vars)?;
    let default = json_arg(py, &path, "default", default)?;
    let timeout = duration(timeout)?;
    let on_corrupt = if recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    };
    // The code a halting filter exits with, as the command exits with it.
    let halted = AtomicI32::new(0);
    let done = change(py, &path, "update", timeout, on_corrupt, &held, |o| {
        jsafe::transact(&path, o, |current| {
            update_change(&path, current, &filter, &default, &halted)
        })
    });
    match (done, halted.load(Ordering::Relaxed)) {
        (Err(e), code) if code != 0 && e.is_instance_of::<pyo3::exceptions::PyException>(py) => {
            let message = e.value(py).str()?.to_cow()?.into_owned();
            Err(exception(py, "FilterHalted", &message, code))
        }
        (done, _) => done.map(|o| o.changed),
    }
}

/// `jsafe.append`: values as lines of a JSON Lines file.
#[pyfunction]
fn append(
    py: Python<'_>,
    path: PathBuf,
    objs: Vec<Bound<'_, PyAny>>,
    timeout: Option<f64>,
    held: Held,
) -> PyResult<()> {
    let mut lines = Vec::with_capacity(objs.len());
    for o in &objs {
        lines.push(jsafe::render(
            &json_arg(py, &path, "the value to append", o)?,
            &COMPACT,
        ));
    }
    let timeout = duration(timeout)?;
    change(py, &path, "append", timeout, OnCorrupt::Fail, &held, |o| {
        jsafe::append(&path, o, &lines)
    })
    .map(|_| ())
}

/// `jsafe.restore`: bring back a backup (the newest valid one, or `name`)
/// through the write core; returns the backup's name.
#[pyfunction]
#[pyo3(signature = (path, name, timeout, held))]
fn restore(
    py: Python<'_>,
    path: PathBuf,
    name: Option<String>,
    timeout: Option<f64>,
    held: Held,
) -> PyResult<String> {
    let timeout = duration(timeout)?;
    let file = path.as_path();
    let (chosen, bytes) = py
        .allow_threads(|| jsafe::backup_to_restore(file, name.as_deref()))
        .or_raise(py)?;
    change(
        py,
        file,
        "restore",
        timeout,
        OnCorrupt::Quarantine,
        &held,
        |o| jsafe::transact(file, o, |_| Ok(Change::Bytes(bytes.clone()))),
    )?;
    Ok(chosen)
}

/// One backup as `jsafe.backups` returns it.
type BackupRow = (String, f64, u64, bool, bool);

/// `jsafe.backups`: (name, time in seconds since the epoch, size, valid,
/// trusted), oldest first.
#[pyfunction]
fn backups(py: Python<'_>, path: PathBuf) -> PyResult<Vec<BackupRow>> {
    py.allow_threads(|| {
        let (_, list) = jsafe::backups(&path)?;
        Ok(list
            .list
            .iter()
            .map(|b| {
                let t = b
                    .time
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0.0, |d| d.as_secs_f64());
                let trusted = b.untrusted.is_none();
                (
                    b.name.clone(),
                    t,
                    b.size,
                    trusted && list.load_valid(b).is_some(),
                    trusted,
                )
            })
            .collect())
    })
    .or_raise(py)
}

// ---------------------------------------------------------------- lock, edit

/// `jsafe.lock`: take `path`'s lock (or adopt the one the context holds).
#[pyfunction]
fn lock(
    py: Python<'_>,
    path: PathBuf,
    shared: bool,
    timeout: Option<f64>,
    held: Held,
) -> PyResult<HeldLock> {
    let timeout = duration(timeout)?;
    if let Some(l) = find_held(py, &path, &held)? {
        if l.mode() == Mode::Shared && !shared {
            return Err(to_py_err(py, &jsafe::shared_refusal(&path)));
        }
        return Ok(HeldLock::new(&path, l));
    }
    let mode = if shared {
        Mode::Shared
    } else {
        Mode::Exclusive
    };
    let l = take_lock(py, &path, mode, timeout, "jsafe lock (python)")?;
    Ok(HeldLock::new(&path, l))
}

/// The state of one `jsafe.edit`: the version loaded under the lock.
#[pyclass(module = "jsafe._jsafe")]
struct Edit {
    path: PathBuf,
    /// The value loaded (None: the file was missing).
    orig: Option<Value>,
    /// What a missing file starts as.
    start: Value,
    decimals: Decimals,
}

#[pymethods]
impl Edit {
    /// The document as new Python objects.
    fn document<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        conv::to_py(py, self.orig.as_ref().unwrap_or(&self.start), self.decimals)
    }

    /// Write `obj` back under `lock` (which must still be held): what did not
    /// change keeps its bytes (a merge patch of the differences spliced into
    /// the file), or, when a merge patch cannot say the change (a value set
    /// to None), the whole document in the file's style with the unchanged
    /// values' text. Returns whether a new version was written.
    fn commit(&self, py: Python<'_>, obj: &Bound<'_, PyAny>, lock: &HeldLock) -> PyResult<bool> {
        let file = self.path.as_path();
        let (new, same) = conv::rebuild(self.orig.as_ref(), obj, 0)
            .map_err(|e| not_json(py, file, "the edited document", e))?;
        if same {
            return Ok(false);
        }
        let patch = match (&self.orig, &new) {
            (Some(old @ Value::Object(_)), Value::Object(_)) => conv::diff(old, &new).filter(|p| {
                let mut check = old.clone();
                jsafe::merge_patch(&mut check, p);
                conv::diff(&check, &new).is_none()
            }),
            _ => None,
        };
        let guard = lock
            .lock
            .lock()
            .map_err(|_| PyRuntimeError::new_err("lock state poisoned"))?;
        let Some(held) = guard.as_ref() else {
            return Err(PyRuntimeError::new_err("the edit's lock was released"));
        };
        let outcome = py
            .allow_threads(|| {
                let opts = Options::new("edit").held(Some(held));
                jsafe::transact(file, &opts, |current| {
                    if let (Some(p), Current::Valid(_)) = (&patch, current)
                        && let Ok(change) = jsafe::merge_change(file, current, p)
                    {
                        return Ok(change);
                    }
                    Ok(Change::Value(new.clone()))
                })
            })
            .or_raise(py)?;
        Ok(outcome.changed)
    }
}

/// Load `path` for `jsafe.edit` under `lock` (held by the caller).
#[pyfunction]
#[pyo3(signature = (path, lock, default, recover, decimals))]
fn edit_open(
    py: Python<'_>,
    path: PathBuf,
    lock: &HeldLock,
    default: &Bound<'_, PyAny>,
    recover: bool,
    decimals: &str,
) -> PyResult<Edit> {
    let decimals = Decimals::parse(decimals)?;
    refuse_lines(&path, "edited").or_raise(py)?;
    let start = json_arg(py, &path, "default", default)?;
    let guard = lock
        .lock
        .lock()
        .map_err(|_| PyRuntimeError::new_err("lock state poisoned"))?;
    let Some(held) = guard.as_ref() else {
        return Err(PyRuntimeError::new_err("the edit's lock was released"));
    };
    if held.mode() == Mode::Shared {
        return Err(to_py_err(py, &jsafe::shared_refusal(&path)));
    }
    let file = path.as_path();
    let orig = py
        .allow_threads(|| -> jsafe::Result<Option<Value>> {
            let mut current = jsafe::load(file, None)?.current;
            if matches!(current, Current::Corrupt { .. }) && recover {
                let opts = Options::new("recover")
                    .on_corrupt(OnCorrupt::Recover)
                    .held(Some(held));
                jsafe::transact(file, &opts, |_| Ok(Change::Keep))?;
                current = jsafe::load(file, None)?.current;
            }
            match current {
                Current::Missing => Ok(None),
                Current::Corrupt { error, .. } => {
                    Err(jsafe::corrupt_error(file, &error, jsafe::Untouched::Changed))
                }
                Current::Valid(doc) => parse_doc(file, doc.bytes()).map(Some),
            }
        })
        .or_raise(py)?;
    Ok(Edit {
        path,
        orig,
        start,
        decimals,
    })
}

// ---------------------------------------------------------------- watch

/// `jsafe.watch`: whole, valid versions of a file as they are committed.
#[pyclass(module = "jsafe._jsafe")]
struct Watcher {
    path: PathBuf,
    watch: Mutex<Watch>,
    filter: Option<Arc<Filter>>,
    decimals: Decimals,
    /// What was handed out last (the rendered outputs), not handed out twice.
    last: Mutex<Option<Vec<u8>>>,
}

#[pymethods]
impl Watcher {
    #[new]
    #[pyo3(signature = (path, filter, vars, decimals))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        filter: Option<&str>,
        vars: Option<&Bound<'_, PyDict>>,
        decimals: &str,
    ) -> PyResult<Watcher> {
        let decimals = Decimals::parse(decimals)?;
        refuse_lines(&path, "watched (watch a document)").or_raise(py)?;
        let filter = filter.map(|f| compile(py, f, vars)).transpose()?;
        let watch = py
            .allow_threads(|| Watch::new(&path, Format::Document))
            .or_raise(py)?;
        Ok(Watcher {
            path,
            watch: Mutex::new(watch),
            filter,
            decimals,
            last: Mutex::new(None),
        })
    }

    /// The next version not handed out yet (the current one first): the
    /// document, or the list of the filter's outputs. None when `timeout`
    /// seconds pass first. Waits with the GIL released, running Python's
    /// signal handlers every 50 ms.
    #[pyo3(signature = (timeout=None))]
    fn next_version<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let deadline = Instant::now().checked_add(duration(timeout)?);
        let file = self.path.as_path();
        loop {
            let found = py.allow_threads(|| self.version(file)).or_raise(py)?;
            if let Some(outputs) = found {
                if self.filter.is_none()
                    && let Some(v) = outputs.first()
                {
                    return conv::to_py(py, v, self.decimals).map(Some);
                }
                let list = PyList::empty(py);
                for v in &outputs {
                    list.append(conv::to_py(py, v, self.decimals)?)?;
                }
                return Ok(Some(list.into_any()));
            }
            loop {
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if left.is_some_and(|l| l.is_zero()) {
                    return Ok(None);
                }
                let slice = left.map_or(SLICE, |l| l.min(SLICE));
                let event = py
                    .allow_threads(|| {
                        self.watch
                            .lock()
                            .map_err(|_| Error::internal("watch state poisoned"))?
                            .wait(Some(slice))
                    })
                    .or_raise(py)?;
                match event {
                    Event::Changed => break,
                    Event::TimedOut => py.check_signals()?,
                    Event::DirGone | Event::OutputClosed => {
                        return Err(to_py_err(
                            py,
                            &Error::new(
                                Kind::NotFound,
                                format!(
                                    "{}: its directory was removed or moved; nothing more to watch",
                                    file.display()
                                ),
                            ),
                        ));
                    }
                }
            }
        }
    }
}

impl Watcher {
    /// The current outputs when they are new; None when the file is missing,
    /// not valid JSON now (a writer that is not jsafe, mid-write) or shows
    /// nothing new.
    fn version(&self, file: &Path) -> jsafe::Result<Option<Vec<Value>>> {
        let Current::Valid(doc) = jsafe::load(file, None)?.current else {
            return Ok(None);
        };
        let value = parse_doc(file, doc.bytes())?;
        let outputs = match &self.filter {
            None => vec![value],
            Some(f) => run_filter(file, f, &value)?,
        };
        let mut shown = Vec::new();
        for v in &outputs {
            shown.extend(jsafe::render(v, &Style::new_file()));
        }
        let mut last = self
            .last
            .lock()
            .map_err(|_| Error::internal("watch state poisoned"))?;
        if last.as_deref() == Some(&shown[..]) {
            return Ok(None);
        }
        *last = Some(shown);
        Ok(Some(outputs))
    }
}

// ---------------------------------------------------------------- status

/// `jsafe.status` for one file: a dict the Python side turns into a
/// dataclass.
#[pyfunction]
fn status<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PyDict>> {
    let (loaded, probe, backups) = py.allow_threads(|| {
        (
            jsafe::load(&path, None),
            jsafe::probe(&path),
            jsafe::backups(&path),
        )
    });
    let out = PyDict::new(py);
    out.set_item("path", &path)?;
    let mut problems: Vec<String> = Vec::new();
    match loaded {
        Ok(l) => {
            let current = l.current.reclassify(Format::of(&path));
            let (exists, valid, size) = match &current {
                Current::Missing => (false, None, None),
                Current::Valid(d) => (true, Some(true), Some(d.bytes().len())),
                Current::Corrupt { bytes, error } => {
                    problems.push(format!("not valid JSON ({error})"));
                    (true, Some(false), Some(bytes.len()))
                }
            };
            out.set_item("exists", exists)?;
            out.set_item("valid", valid)?;
            out.set_item("size", size)?;
        }
        Err(e) => {
            problems.push(e.message().to_owned());
            out.set_item("exists", py.None())?;
            out.set_item("valid", py.None())?;
            out.set_item("size", py.None())?;
        }
    }
    match probe {
        Ok(p) => {
            let state = match &p.state {
                LockState::None => "none",
                LockState::Free => "free",
                LockState::Held => "held",
                LockState::HeldShared => "held-shared",
                LockState::Error(why) => {
                    problems.push(format!("lock: {why}"));
                    "error"
                }
            };
            out.set_item("lock", state)?;
            let holder = p
                .holder
                .as_ref()
                .filter(|_| matches!(p.state, LockState::Held | LockState::HeldShared));
            out.set_item("holder_pid", holder.map(|h| h.pid))?;
            out.set_item("holder_command", holder.map(|h| h.command.clone()))?;
            out.set_item("lock_pids", p.pids.clone())?;
        }
        Err(e) => {
            problems.push(e.message().to_owned());
            out.set_item("lock", "error")?;
            out.set_item("holder_pid", py.None())?;
            out.set_item("holder_command", py.None())?;
            out.set_item("lock_pids", Vec::<u32>::new())?;
        }
    }
    match backups {
        Ok((_, list)) => {
            out.set_item("backups", list.list.len())?;
            out.set_item("newest_backup", list.list.last().map(|b| b.name.clone()))?;
        }
        Err(e) => {
            problems.push(e.message().to_owned());
            out.set_item("backups", 0)?;
            out.set_item("newest_backup", py.None())?;
        }
    }
    out.set_item("problems", problems)?;
    Ok(out)
}

/// The CLI's exit codes: (exit code, class name, meaning).
#[pyfunction]
fn exit_codes() -> Vec<(i32, &'static str, &'static str)> {
    jsafe::EXIT_CODES
        .iter()
        .map(|(k, code, meaning)| (*code, class_of(*k), *meaning))
        .collect()
}

#[pymodule]
fn _jsafe(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<HeldLock>()?;
    m.add_class::<Edit>()?;
    m.add_class::<Watcher>()?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add_function(wrap_pyfunction!(write, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(update, m)?)?;
    m.add_function(wrap_pyfunction!(append, m)?)?;
    m.add_function(wrap_pyfunction!(restore, m)?)?;
    m.add_function(wrap_pyfunction!(backups, m)?)?;
    m.add_function(wrap_pyfunction!(lock, m)?)?;
    m.add_function(wrap_pyfunction!(edit_open, m)?)?;
    m.add_function(wrap_pyfunction!(status, m)?)?;
    m.add_function(wrap_pyfunction!(exit_codes, m)?)?;
    m.add("FAILPOINTS", cfg!(feature = "failpoints"))?;
    Ok(())
}
