//! The ritual every command that changes a file goes through, in one place:
//! the `--schema` check compiled and the inherited lock adopted before any
//! lock is taken, the waiter that says who holds the lock, the transaction
//! options from the global flags, the transaction, and the report of what
//! it did. `write`, `merge`, `update`, `append`, `restore`, `rotate` and
//! `schema` build one [`Writer`] and hand it their change.

use std::path::Path;

use super::inherited::inherited_for_change;
use crate::commands::{Global, schema_check};
use crate::error::Result;
use crate::json::Indent;
use crate::store::{self, Change, Check, Current, Lock, OnCorrupt, Options, Outcome};

/// `--recover`: a corrupt file is replaced by its newest valid backup
/// first; without it, a corrupt file fails the change.
pub(crate) fn recover(recover: bool) -> OnCorrupt {
    if recover {
        OnCorrupt::Recover
    } else {
        OnCorrupt::Fail
    }
}

/// One command's change of one FILE: what its transactions share.
pub(crate) struct Writer<'g> {
    g: &'g Global,
    file: &'g Path,
    operation: &'static str,
    held: Option<Lock>,
    check: Option<Box<Check<'static>>>,
    wait: Box<dyn Fn(&str) + 'g>,
    indent: Option<Indent>,
    on_corrupt: OnCorrupt,
}

impl<'g> Writer<'g> {
    /// The change `operation` (its name in the journal and the lock record)
    /// of `file`, doing `on_corrupt` with a file that is not valid JSON:
    /// `--schema` (when given) is read and compiled, then the lock of an
    /// enclosing `jsafe lock` is adopted (it must be exclusive).
    pub(crate) fn new(
        g: &'g Global,
        file: &'g Path,
        operation: &'static str,
        schema: Option<&Path>,
        on_corrupt: OnCorrupt,
    ) -> Result<Writer<'g>> {
        let check = schema_check(schema)?;
        let held = inherited_for_change(file)?;
        Ok(Writer {
            g,
            file,
            operation,
            held,
            check,
            wait: Box::new(g.waiter(file)),
            indent: None,
            on_corrupt,
        })
    }

    /// The formatting override (--compact, --indent, --tab).
    pub(crate) fn indent(mut self, indent: Option<Indent>) -> Self {
        self.indent = indent;
        self
    }

    /// The transaction options.
    pub(crate) fn options(&self) -> Options<'_> {
        self.g
            .options(self.operation, self.indent, self.on_corrupt, &*self.wait)
            .held(self.held.as_ref())
            .check(self.check.as_deref())
    }

    /// One transaction applying `change` (again, after a conflict on an
    /// etcd key), reported as the global flags ask.
    pub(crate) fn transact<F>(&self, change: F) -> Result<Outcome>
    where
        F: FnMut(&Current) -> Result<Change>,
    {
        let outcome = store::transact_again(self.file, &self.options(), change)?;
        self.g.report(self.file, &outcome);
        Ok(outcome)
    }

    /// [`Writer::transact`] without the report: for a command that has
    /// something to say first ([`Writer::report`] afterwards).
    pub(crate) fn transact_unreported<F>(&self, change: F) -> Result<Outcome>
    where
        F: FnMut(&Current) -> Result<Change>,
    {
        store::transact_again(self.file, &self.options(), change)
    }

    /// What the user should hear about a finished transaction.
    pub(crate) fn report(&self, outcome: &Outcome) {
        self.g.report(self.file, outcome);
    }

    /// Lines appended to a JSON Lines file in one write (not reported: the
    /// caller says what a torn last line became).
    pub(crate) fn append(&self, lines: &[Vec<u8>]) -> Result<Outcome> {
        store::append(self.file, &self.options(), lines)
    }
}
