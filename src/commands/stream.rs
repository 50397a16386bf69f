//! Streamed changes (`merge --stream`, `update --stream`, `append FILE -`):
//! one JSON value per line on stdin, applied in order, with group commit.
//!
//! A reader thread parses lines as they come; the writer takes everything
//! that has arrived (at least one value, at most [`MAX_BATCH`]) and commits
//! it in one transaction, so values that arrive faster than a durable write
//! takes share one write. Every committed version is the result of a prefix
//! of the stream. A bad line (not JSON, or a value the change refuses) ends
//! the stream: the values before it are committed, then exit 4 naming the
//! line. When a whole batch is refused by a check its values cannot see one
//! by one (the file's schema), it is split in halves until the refused value
//! is found, so the prefix before it is still kept (in a few writes).

use std::io::{BufRead, BufReader};
use std::sync::mpsc::{self, Receiver, TryRecvError};

use std::path::Path;

use crate::error::{Error, Kind, Result};
use crate::json::{self, Value};
use crate::store::{self, Schema};

/// Most values committed in one write.
pub(crate) const MAX_BATCH: usize = 50_000;
/// Values parsed ahead of the writer (bounds memory when the writer is slow).
const AHEAD: usize = 16_384;

/// One value and the stdin line it came from.
pub(crate) struct Item {
    pub line: usize,
    pub value: Value,
}

/// A message about the value of stdin line `line` ("stdin line N: …"); a
/// value given as an argument (line 0) is not named.
pub(crate) fn on_line(line: usize, m: impl std::fmt::Display) -> String {
    if line > 0 {
        format!("stdin line {line}: {m}")
    } else {
        m.to_string()
    }
}

enum Msg {
    Value(Item),
    Bad(Error),
}

/// The values on stdin, read and parsed by a thread.
pub(crate) struct Stream {
    rx: Receiver<Msg>,
    ended: bool,
    /// Values committed so far and writes they took (for --verbose).
    pub values: usize,
    pub writes: usize,
}

impl Stream {
    /// Start reading stdin.
    pub(crate) fn stdin() -> Result<Stream> {
        let (tx, rx) = mpsc::sync_channel(AHEAD);
        std::thread::Builder::new()
            .name("jsafe-stream-reader".into())
            .spawn(move || {
                let mut input = BufReader::with_capacity(256 << 10, std::io::stdin().lock());
                let mut buf = Vec::new();
                let mut line = 0usize;
                loop {
                    buf.clear();
                    match input.read_until(b'\n', &mut buf) {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(e) => {
                            let _ = tx.send(Msg::Bad(Error::new(
                                Kind::Io,
                                format!("cannot read stdin after line {line}: {e}"),
                            )));
                            return;
                        }
                    }
                    line += 1;
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let msg = match json::parse(&buf) {
                        Ok(value) => Msg::Value(Item { line, value }),
                        Err(e) => Msg::Bad(Error::bad_input(on_line(
                            line,
                            format_args!(
                                "not valid JSON ({})",
                                e.message.replacen("line 1, column", "column", 1)
                            ),
                        ))),
                    };
                    let bad = matches!(msg, Msg::Bad(_));
                    if tx.send(msg).is_err() || bad {
                        return;
                    }
                }
            })
            .map_err(|e| Error::new(Kind::Io, format!("cannot start the stdin reader: {e}")))?;
        Ok(Stream {
            rx,
            ended: false,
            values: 0,
            writes: 0,
        })
    }

    /// The next batch: every value available now (waiting for the first),
    /// and the error of a bad line that ends the stream after them. None at
    /// the end.
    pub(crate) fn next_batch(&mut self) -> Option<(Vec<Item>, Option<Error>)> {
        if self.ended {
            return None;
        }
        let mut items = Vec::new();
        let first = match self.rx.recv() {
            Ok(m) => m,
            Err(_) => {
                self.ended = true;
                return None;
            }
        };
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Value(item) => items.push(item),
                Msg::Bad(e) => {
                    self.ended = true;
                    return Some((items, Some(e)));
                }
            }
            if items.len() >= MAX_BATCH {
                break;
            }
            next = match self.rx.try_recv() {
                Ok(m) => Some(m),
                Err(TryRecvError::Empty) => None,
                Err(TryRecvError::Disconnected) => {
                    self.ended = true;
                    None
                }
            };
        }
        Some((items, None))
    }

    /// "FILE: N patches applied in M writes" (`what`: patches, values), for --verbose.
    pub(crate) fn summary(&self, file: &Path, what: &str) -> String {
        format!(
            "{}: {} {what} applied in {} writes",
            file.display(),
            self.values,
            self.writes
        )
    }

    /// Run the stream: commit each batch with `commit` (see [`commit`]),
    /// stop at the first error.
    pub(crate) fn run(&mut self, commit_batch: &mut Batch) -> Result<()> {
        while let Some((items, bad)) = self.next_batch() {
            if !items.is_empty() {
                commit(&items, commit_batch, self)?;
            }
            if let Some(e) = bad {
                return Err(after_prefix(e, self.values));
            }
        }
        Ok(())
    }
}

/// Commits a batch: Ok(None) when all its values were committed,
/// Ok(Some((k, e))) when value k failed with `e` and the k before it were
/// committed, Err when the store refused the whole batch (nothing written).
pub(crate) type Batch<'a> = dyn FnMut(&[Item]) -> Result<Option<(usize, Error)>> + 'a;

/// Commit `items` with `batch`; a batch refused as bad input is retried one
/// value at a time.
fn commit(items: &[Item], batch: &mut Batch, counts: &mut Stream) -> Result<()> {
    match batch(items) {
        Ok(None) => {
            counts.values += items.len();
            counts.writes += 1;
            Ok(())
        }
        Ok(Some((k, e))) => {
            if k > 0 {
                counts.values += k;
                counts.writes += 1;
            }
            Err(after_prefix(e, counts.values))
        }
        Err(e) if e.kind() == Kind::BadInput && items.len() > 1 => {
            // Refused as a whole: halves, so that the prefix before the
            // refused value is committed in a few writes.
            let (first, rest) = items.split_at(items.len() / 2);
            commit(first, batch, counts)?;
            commit(rest, batch, counts)
        }
        Err(e) if e.kind() == Kind::BadInput => {
            let line = items.first().map_or(0, |i| i.line);
            Err(after_prefix(
                e.map_message(|m| on_line(line, m)),
                counts.values,
            ))
        }
        // Whatever stopped this batch (a corrupt file, a full disk), the
        // batches before it stay committed: say so.
        Err(e) => Err(after_prefix(e, counts.values)),
    }
}

/// The schemas every intermediate version of a streamed document must
/// match (the file's attached schema, read when the stream starts, and
/// `--schema`), so that the outcome does not depend on how values were
/// grouped into writes: a value whose result does not match ends the
/// stream as if each had been written alone. (The store checks every
/// committed version against the attached schema as well.)
pub(crate) struct VersionCheck {
    schemas: Vec<(String, Schema)>,
}

impl VersionCheck {
    /// None when there is no schema to check.
    pub(crate) fn load(
        file: &Path,
        extra: Option<&Path>,
        timeout: std::time::Duration,
    ) -> Result<Option<VersionCheck>> {
        let mut schemas = Vec::new();
        if let Some(bytes) = store::schema_of(file, timeout)? {
            let s = Schema::compile(&bytes).map_err(|why| {
                Error::new(
                    Kind::Io,
                    format!(
                        "{}: its attached schema cannot be used: {why}",
                        file.display()
                    ),
                )
            })?;
            schemas.push(("the file's schema".to_owned(), s));
        }
        if let Some(path) = extra {
            let bytes =
                std::fs::read(path).map_err(|e| Error::io("--schema: cannot read", path, e))?;
            let s = Schema::compile(&bytes)
                .map_err(|why| Error::bad_input(format!("--schema {}: {why}", path.display())))?;
            schemas.push((format!("--schema {}", path.display()), s));
        }
        Ok((!schemas.is_empty()).then_some(VersionCheck { schemas }))
    }

    /// Err names the schema, the failing path and the rule.
    pub(crate) fn check(&self, v: &Value) -> std::result::Result<(), String> {
        for (label, s) in &self.schemas {
            s.check_value(v)
                .map_err(|why| format!("the result does not match {label} {why}"))?;
        }
        Ok(())
    }
}

/// Say how much of the stream was committed before `e`.
/// The clause a single change ends with ("nothing was written" and the
/// like) is true of the failing value, but the stream says what was committed
/// as a whole: it replaces it.
pub(crate) fn after_prefix(e: Error, committed: usize) -> Error {
    e.without_effect()
        .then(format!("; {}", committed_text(committed)))
}

/// What a stream that stopped after `committed` values has written.
pub(crate) fn committed_text(committed: usize) -> String {
    match committed {
        0 => "nothing was written".to_owned(),
        1 => "the value before it is committed".to_owned(),
        n => format!("the {n} values before it are committed"),
    }
}
