//! `jsafe update FILE FILTER`: run a jq filter and store its one result. The
//! filter is compiled before the lock is taken, and a run that outlives
//! `--filter-timeout` or allocates more than `--filter-memory` ends the
//! process (exit 4, one line): the kernel releases the file's lock with it and
//! nothing has been written, so a runaway filter never holds the lock.
//!
//! `--stream` reads one JSON value per line from stdin and runs the filter
//! once per value with `$in` bound to it, in order; values waiting together
//! are applied in one write (see [`super::stream`]). The limits apply to
//! each run; there the filter runs on a thread of its own ([`Worker`]), so a
//! run stopped by a limit ends the stream after the values before it are
//! committed, not the process with the batch lost.

use super::shared::context::{Writer, recover};
use super::shared::jq;
use super::shared::limits::{DEFAULT_FILTER_TIMEOUT, FilterMemory};
use super::stream::{Item, Stream, on_line};
use super::{Global, check_file_filter_order, indent_override, json_input};
use crate::cli::UpdateArgs;
use crate::error::{Error, Kind, Result};
use crate::json::Style;
use crate::json::Value;
use crate::json::filter::{Ending, Filter, FilterError, Input, Output, Render, Spine};
use crate::store::{Change, Current};
use std::cell::Cell;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Returns the exit code: 0, or what a `halt` in the filter decided (nothing
/// is written then).
pub(crate) fn run(g: &Global, args: &UpdateArgs) -> Result<i32> {
    let file = &args.file;
    check_file_filter_order("update", file, Some(&args.filter))?;
    super::refuse_json_lines("update", file)?;
    // Compiling and running happen before anything is written (under
    // --stream the runs are contained and say what was committed).
    crate::sys::set_overflow_line(&format!(
        "{}: the jq filter recursed or nested too deeply (stack overflow); nothing was written",
        file.display()
    ));
    let slot = args.stream.then_some("in");
    let filter = jq::compile(&args.filter, &args.vars, slot)?;
    let default = json_input(Some(&args.default), "--default")?;
    let indent = indent_override(&args.doc.style);
    let writer = Writer::new(
        g,
        file,
        "update",
        args.change.schema.as_deref(),
        recover(args.doc.recover),
    )?
    .indent(indent);
    let time = args.filter_timeout.unwrap_or(DEFAULT_FILTER_TIMEOUT);
    if args.stream {
        let limits = (time, args.filter_memory);
        return stream(
            g,
            file,
            &writer,
            filter,
            &default,
            args.change.schema.as_deref(),
            limits,
        )
        .map(|halted| halted.unwrap_or(0));
    }
    let once = Once {
        file,
        args,
        filter: &filter,
        default: &default,
        time,
        indent,
        timeout_line: format!(
            "{}: {}; nothing was written",
            file.display(),
            FilterError::Timeout(time)
        ),
        // Recognised before the lock is taken (see `Spine`).
        spine: (!jq::spliced_off())
            .then(|| Spine::for_update(&args.filter))
            .flatten(),
        name: file.to_string_lossy(),
        halted: Cell::new(None),
        spliced: Cell::new(false),
    };
    let result = writer.transact_unreported(|current| once.change(current));
    if let Some(code) = once.halted.get() {
        // A halting filter never writes: halt/halt_error(0) is exit 10, an
        // explicit halt_error(N) exits N as in jq.
        let code = halt_code(code);
        g.notice(&format!(
            "{}: the filter halted (exit {code}); nothing was written",
            file.display()
        ));
        return Ok(code);
    }
    if once.spliced.get() {
        g.detail(&format!(
            "{}: path update: only the addressed paths were read, the rest copied",
            file.display()
        ));
    }
    writer.report(&result?);
    Ok(0)
}

/// The exit code of a `halt`: halt/halt_error(0) is exit 10, an explicit
/// halt_error(N) exits N as in jq.
fn halt_code(code: i32) -> i32 {
    match code & 0xff {
        0 => Kind::FilterHalted.exit_code(),
        c => c,
    }
}

/// `update` without `--stream`: the filter once, on the whole document or
/// on the paths it addresses.
struct Once<'a> {
    file: &'a Path,
    args: &'a UpdateArgs,
    filter: &'a Filter,
    default: &'a Value,
    /// How long the filter may run.
    time: Duration,
    indent: Option<crate::json::Indent>,
    timeout_line: String,
    spine: Option<Spine>,
    name: std::borrow::Cow<'a, str>,
    /// A `halt` ended the run (its code).
    halted: Cell<Option<i32>>,
    /// The last change was a path update.
    spliced: Cell<bool>,
}

impl Once<'_> {
    /// The change for the current version (called again when a change must
    /// be applied again, on etcd: the flags tell of the last call).
    fn change(&self, current: &Current) -> Result<Change> {
        let file = self.file;
        self.spliced.set(false);
        // The document straight into the filter's values, before the limits
        // are armed: reading it is not the filter's doing.
        let size = current.doc().map_or(0, |d| d.bytes().len() as u64);
        let memory = self.args.filter_memory.limit(size);
        let mut style = match current {
            Current::Valid(doc) => *doc.style(),
            Current::Missing | Current::Corrupt { .. } => Style::new_file(),
        };
        if let Some(indent) = self.indent {
            style.indent = indent;
        }
        let how = Render {
            style,
            sort_keys: false,
            copy: true,
        };
        // A path update reads only the paths it addresses and splices its
        // result into the file's bytes (see `Spine`); it needs the output
        // in the file's own layout, so that what it skipped is copied back.
        // Anything but one stored value runs again on the whole document,
        // which then says what went wrong exactly as it always has.
        if let (Some(spine), Current::Valid(doc), None) = (&self.spine, current, self.indent)
            && let Ok(input) = super::shared::jq::spine_input(doc, spine, true)
        {
            let (ran, outputs) = self.run(&input, memory)?;
            if let (Ok(Ending::Finished), [output]) = (&ran, &outputs[..])
                && let Ok(valid) = input.render_document(output, &how)
            {
                std::mem::forget(outputs);
                std::mem::forget(input);
                self.spliced.set(true);
                return Ok(Change::Valid(valid));
            }
        }
        let input = match current {
            Current::Valid(doc) => Input::parse(doc.shared(), *doc.style()).map_err(|e| {
                Error::internal(format!(
                    "{}: a validated document does not parse: {e}",
                    file.display()
                ))
            })?,
            Current::Missing | Current::Corrupt { .. } => Input::from_value(self.default),
        };
        let (ran, outputs) = self.run(&input, memory)?;
        let output = self.one(ran, &outputs)?;
        let stored = |e: FilterError| {
            Error::bad_input(format!("{}: {e}", file.display()))
                .unchanged(crate::error::Untouched::Written)
        };
        if matches!(current, Current::Corrupt { .. }) {
            // The store lays out what replaces a corrupt file.
            return Ok(Change::Value(output.to_value().map_err(stored)?));
        }
        // In the file's style, what the filter left untouched is copied
        // from the bytes on disk.
        let valid = input.render_document(output, &how).map_err(stored)?;
        // This process ends after this one transaction: freeing the values
        // one by one (a million small allocations for a 20 MB document)
        // would cost more than writing the new version. The store keeps the
        // old bytes shared, so nothing is copied for the slices left behind.
        std::mem::forget(outputs);
        std::mem::forget(input);
        Ok(Change::Valid(valid))
    }

    /// The filter's one output, or why there is not exactly one.
    fn one<'o>(
        &self,
        ran: std::result::Result<Ending, FilterError>,
        outputs: &'o [Output],
    ) -> Result<&'o Output> {
        let file = self.file;
        let ending = ran.map_err(|e| {
            Error::bad_input(format!("{}: {e}", file.display()))
                .unchanged(crate::error::Untouched::Written)
        })?;
        if let Ending::Halted(code) = ending {
            self.halted.set(Some(code));
            return Err(Error::new(Kind::FilterHalted, "halted"));
        }
        let [output] = outputs else {
            let count = if ending == Ending::Stopped {
                "more than one value".to_owned()
            } else {
                format!("{} values", outputs.len())
            };
            return Err(Error::bad_input(format!(
                "{}: the filter produced {count}; it must produce exactly one",
                file.display(),
            ))
            .unchanged_aside(crate::error::Untouched::Written));
        };
        Ok(output)
    }

    /// The filter runs with its limits armed after the lock is taken and
    /// the file read: the limits are the filter's own. A timer that cannot
    /// be armed means no run.
    fn run(
        &self,
        input: &Input,
        memory: usize,
    ) -> Result<(std::result::Result<Ending, FilterError>, Vec<Output>)> {
        let memory_line = format!(
            "{}: the filter used more than {} of memory (--filter-memory); nothing was written",
            self.file.display(),
            crate::cli::show_size(memory)
        );
        let mut outputs = Vec::with_capacity(1);
        let _limits = arm(
            self.file,
            self.time,
            memory,
            &self.timeout_line,
            &memory_line,
        )?;
        let ran = jq::guarded(|| {
            self.filter.run_input(
                input,
                Some(&self.name),
                &jq::side_output,
                &mut jq::one_output(&mut outputs),
            )
        });
        Ok((ran, outputs))
    }
}

/// Why a value of the stream failed, as the worker found it.
enum Failed {
    Filter(FilterError),
    Halted(i32),
    /// Not exactly one output: true when more than one.
    Outputs(bool),
    Schema(String),
}

impl Failed {
    /// The error that ends the stream; a halt's exit code goes to `halted`.
    fn into_error(self, halted: &Cell<Option<i32>>) -> Error {
        match self {
            Failed::Filter(e) => Error::bad_input(e.to_string()),
            Failed::Halted(code) => {
                let code = halt_code(code);
                halted.set(Some(code));
                Error::new(
                    Kind::FilterHalted,
                    format!("the filter halted (exit {code})"),
                )
            }
            Failed::Outputs(more) => Error::bad_input(format!(
                "the filter produced {} values; it must produce exactly one",
                if more { "more than one" } else { "no" }
            )),
            Failed::Schema(why) => Error::bad_input(why),
        }
    }
}

/// What the worker did with a batch: the document after the values it
/// applied, and the value that failed (its index in the batch), if one did.
struct Finished {
    doc: Value,
    failed: Option<(usize, Failed)>,
}

/// A run the main thread had to stop (time, memory or stack ran out):
/// `done` values of the batch were applied, giving `doc`.
struct Stopped {
    done: usize,
    doc: Arc<Value>,
    why: String,
}

/// A batch for the worker: the document, the values, the memory one run
/// may allocate.
struct Job {
    doc: Value,
    values: Vec<Value>,
    memory: usize,
}

/// Where the worker is in its batch, for the main thread when it must stop
/// it: values applied, the document after them, when the current run began.
struct Progress {
    done: usize,
    doc: Arc<Value>,
    started: Instant,
}

/// The thread that runs the stream's filter, contained (see
/// [`crate::sys::contain_this_thread`]): a run that passes its memory limit
/// or overflows the stack stops the worker only, and a run past its time
/// is abandoned, so the main thread still finds the document after the
/// values before it (in [`Progress`]) and commits it. Every value before the
/// failing one is then committed whatever the grouping into writes, which a
/// process-wide stop (as plain `update` uses) could not promise. A whole
/// batch goes to the worker at once: one hand-over per write, not per value.
struct Worker {
    jobs: mpsc::SyncSender<Job>,
    done: mpsc::Receiver<Finished>,
    progress: Arc<Mutex<Progress>>,
    time: Duration,
}

fn lock(p: &Mutex<Progress>) -> std::sync::MutexGuard<'_, Progress> {
    p.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Worker {
    fn start(
        mut filter: Filter,
        name: String,
        time: Duration,
        versions: Option<super::stream::VersionCheck>,
    ) -> Result<Worker> {
        let (jobs, job_rx) = mpsc::sync_channel::<Job>(1);
        let (done_tx, done) = mpsc::sync_channel(1);
        let progress = Arc::new(Mutex::new(Progress {
            done: 0,
            doc: Arc::new(Value::Null),
            started: Instant::now(),
        }));
        let shared = Arc::clone(&progress);
        std::thread::Builder::new()
            .name("jsafe-filter".into())
            // As deep as the main thread's: the same filters run.
            .stack_size(8 << 20)
            .spawn(move || {
                crate::sys::contain_this_thread();
                while let Ok(job) = job_rx.recv() {
                    let finished = apply_batch(&mut filter, &name, versions.as_ref(), job, &shared);
                    if done_tx.send(finished).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::new(Kind::Io, format!("cannot start the filter's thread: {e}")))?;
        Ok(Worker {
            jobs,
            done,
            progress,
            time,
        })
    }

    /// Apply `values` to `doc`, in order, on the worker.
    fn run(&self, job: Job, memory_text: &str) -> std::result::Result<Finished, Stopped> {
        let stopped = |why: String| {
            let p = lock(&self.progress);
            Stopped {
                done: p.done,
                doc: Arc::clone(&p.doc),
                why,
            }
        };
        {
            // The batch starts now (the worker may take a moment to begin,
            // and the last batch may have ended long ago).
            let mut p = lock(&self.progress);
            p.done = 0;
            p.started = Instant::now();
        }
        if self.jobs.send(job).is_err() {
            return Err(stopped("the filter's thread has ended".into()));
        }
        loop {
            match self.done.recv_timeout(Duration::from_millis(20)) {
                Ok(finished) => return Ok(finished),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(stopped("the filter's thread has ended".into()));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            match crate::sys::contained_stopped() {
                Some(crate::sys::Stop::Memory) => return Err(stopped(memory_text.to_owned())),
                Some(crate::sys::Stop::StackOverflow) => {
                    return Err(stopped(
                        "the jq filter recursed or nested too deeply (stack overflow)".into(),
                    ));
                }
                None => {}
            }
            if !self.time.is_zero() && lock(&self.progress).started.elapsed() >= self.time {
                return Err(stopped(FilterError::Timeout(self.time).to_string()));
            }
        }
    }
}

/// The worker's side of a batch: each value in turn, the progress kept
/// current after each, until one fails.
fn apply_batch(
    filter: &mut Filter,
    name: &str,
    versions: Option<&super::stream::VersionCheck>,
    job: Job,
    progress: &Mutex<Progress>,
) -> Finished {
    let mut doc = Arc::new(job.doc);
    {
        let mut p = lock(progress);
        p.done = 0;
        let old = std::mem::replace(&mut p.doc, Arc::clone(&doc));
        drop(p);
        drop(old);
    }
    let mut failed = None;
    for (k, value) in job.values.iter().enumerate() {
        lock(progress).started = Instant::now();
        filter.set_slot(value);
        let mut outputs = Vec::with_capacity(1);
        let ran = {
            let limits = crate::sys::Limits::arm(None, Some(job.memory), "", "");
            jq::guarded(|| {
                limits
                    .map_err(|e| FilterError::Runtime(e.to_string()))
                    .and_then(|_limits| {
                        filter.run_each(
                            &doc,
                            Some(name),
                            &jq::side_output,
                            &mut jq::one_output(&mut outputs),
                        )
                    })
            })
        };
        let next = match ran {
            Err(e) => Err(Failed::Filter(e)),
            Ok(Ending::Halted(code)) => Err(Failed::Halted(code)),
            Ok(_) if outputs.len() != 1 => Err(Failed::Outputs(outputs.len() > 1)),
            Ok(_) => {
                let next = outputs.remove(0);
                match versions.map(|v| v.check(&next)) {
                    Some(Err(why)) => Err(Failed::Schema(why)),
                    _ => Ok(next),
                }
            }
        };
        match next {
            Ok(next) => {
                doc = Arc::new(next);
                let mut p = lock(progress);
                p.done = k + 1;
                let old = std::mem::replace(&mut p.doc, Arc::clone(&doc));
                drop(p);
                drop(old);
            }
            Err(f) => {
                failed = Some((k, f));
                break;
            }
        }
    }
    // The progress lets go of the document, so it is handed back unshared.
    let old = std::mem::replace(&mut lock(progress).doc, Arc::new(Value::Null));
    drop(old);
    Finished {
        doc: Arc::try_unwrap(doc).unwrap_or_else(|shared| (*shared).clone()),
        failed,
    }
}

/// `update --stream`: the filter once per stdin value (as `$in`), in order.
/// Ok(Some(code)) when a `halt` ended the stream (the values before it are
/// committed).
fn stream(
    g: &Global,
    file: &std::path::Path,
    writer: &Writer,
    filter: Filter,
    default: &crate::json::Value,
    schema: Option<&std::path::Path>,
    (time, memory): (std::time::Duration, FilterMemory),
) -> Result<Option<i32>> {
    let name = file.to_string_lossy();
    let versions = super::stream::VersionCheck::load(file, schema, g.timeout)?;
    let worker = Worker::start(filter, name.into_owned(), time, versions)?;
    let halted = Cell::new(None);
    let mut apply = |items: &[Item]| -> Result<Option<(usize, Error)>> {
        let mut failed = None;
        writer.transact(|current| {
            let size = current.doc().map_or(0, |d| d.bytes().len() as u64);
            let memory = memory.limit(size);
            let memory_text = format!(
                "the filter used more than {} of memory (--filter-memory)",
                crate::cli::show_size(memory)
            );
            let job = Job {
                doc: current.take_value().unwrap_or_else(|| default.clone()),
                values: items.iter().map(|it| it.value.clone()).collect(),
                memory,
            };
            let (doc, stop) = match worker.run(job, &memory_text) {
                Ok(Finished { doc, failed }) => {
                    (doc, failed.map(|(k, f)| (k, f.into_error(&halted))))
                }
                Err(Stopped { done, doc, why }) => (
                    Arc::try_unwrap(doc).unwrap_or_else(|shared| (*shared).clone()),
                    Some((done, Error::bad_input(why))),
                ),
            };
            if let Some((k, e)) = stop {
                let line = items.get(k).map_or(0, |it| it.line);
                failed = Some((
                    k,
                    e.map_message(|m| format!("{}: {}", file.display(), on_line(line, m))),
                ));
                if k == 0 {
                    return Ok(Change::Keep);
                }
            }
            Ok(Change::Value(doc))
        })?;
        Ok(failed)
    };
    let mut stream = Stream::stdin()?;
    let done = stream.run(&mut apply);
    g.detail(&stream.summary(file, "values"));
    match (done, halted.get()) {
        (Err(e), Some(code)) => {
            super::diag(e.message());
            Ok(Some(code))
        }
        (done, _) => done.map(|()| None),
    }
}

/// Arm a filter run's time and memory limits; a timer that cannot be armed
/// means no run (the filter must never hold the lock unguarded).
fn arm(
    file: &std::path::Path,
    time: std::time::Duration,
    memory: usize,
    timeout_line: &str,
    memory_line: &str,
) -> Result<crate::sys::Limits> {
    crate::sys::Limits::arm(Some(time), Some(memory), timeout_line, memory_line).map_err(|e| {
        Error::new(
            Kind::Io,
            format!(
                "{}: cannot arm the filter's time limit: {e}",
                file.display()
            ),
        )
        .unchanged(crate::error::Untouched::Written)
    })
}
