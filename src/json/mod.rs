//! A JSON document model that can be read, changed and written back without
//! disturbing what the change did not touch: member order, number text as
//! written, string escapes and the file's layout all survive a round trip.
//!
//! Pure: no I/O and nothing else from the crate, so it can be reasoned about
//! and tested on its own.

mod format;
mod merge;
mod parse;
#[cfg(test)]
mod samples;
mod scan;
mod splice;
mod value;

pub(crate) mod filter;

use bytes::Bytes;

pub(crate) use format::render_into;
pub use format::{Indent, Style, render};
pub use merge::merge_patch;
pub use parse::{LONE_SURROGATE, MAX_DEPTH, ParseError, ParseErrorKind, parse};
pub use scan::validate;
pub(crate) use scan::{Outline, validate_outline, validate_outline_noting_escapes};
pub(crate) use splice::merge_splice_outlined;
pub use splice::{SpliceError, merge_splice};
pub use value::{Map, Number, Str, Value};

/// Bytes known to be one valid JSON document: made only here, by the scanner
/// ([`Valid::check`]) or by jsafe's own writers (the spliced merge), so that a
/// store handed them need not scan them a second time.
///
/// A spliced merge into a large document holds its result as parts: the
/// long runs it copies from the old version are shared with it, not copied,
/// and the store writes the parts one after the other. Asking for the bytes
/// as one slice joins them, once.
#[derive(Debug, Clone)]
pub struct Valid(Repr);

#[derive(Debug, Clone)]
enum Repr {
    Whole(Vec<u8>),
    Parts(Parts, std::sync::OnceLock<Vec<u8>>),
}

impl Valid {
    /// Check `bytes` with the scanner.
    pub fn check(bytes: Vec<u8>) -> Result<Valid, ParseError> {
        validate(&bytes)?;
        Ok(Valid(Repr::Whole(bytes)))
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Whole(b) => b,
            Repr::Parts(parts, whole) => whole.get_or_init(|| parts.to_vec()),
        }
    }

    /// The bytes, giving up the proof.
    pub fn into_bytes(self) -> Vec<u8> {
        match self.0 {
            Repr::Whole(b) => b,
            Repr::Parts(parts, whole) => whole.into_inner().unwrap_or_else(|| parts.to_vec()),
        }
    }

    /// Bytes jsafe's own writers made valid (not scanned again).
    pub(crate) fn trusted(bytes: Vec<u8>) -> Valid {
        Valid(Repr::Whole(bytes))
    }

    /// `out` with the runs `cuts` of `source` in it (see [`Runs`]), jsafe's
    /// own valid output, kept as parts.
    pub(crate) fn trusted_parts(out: Vec<u8>, source: &Bytes, cuts: &[Cut]) -> Valid {
        if cuts.is_empty() {
            return Valid::trusted(out);
        }
        Valid(Repr::Parts(
            Parts::spliced(out, source, cuts),
            std::sync::OnceLock::new(),
        ))
    }

    /// The bytes as parts, without joining them.
    pub(crate) fn into_parts(self) -> Parts {
        match self.0 {
            Repr::Whole(b) => Parts::from(b),
            Repr::Parts(parts, _) => parts,
        }
    }
}

impl PartialEq for Valid {
    fn eq(&self, other: &Valid) -> bool {
        self.bytes() == other.bytes()
    }
}

impl Eq for Valid {}

/// Where a writer copying runs of a source into its output leaves long runs
/// out, to be shared instead ([`Parts`]). Every copy goes through
/// [`Runs::copy`]; copies that follow each other in the source, with
/// exactly the source's bytes written between them, join one run, and a
/// run of at least `share` bytes is cut out of the output and listed.
pub(crate) struct Runs {
    share: usize,
    open: Option<Run>,
    cuts: Vec<Cut>,
}

/// `a == b`, inline for the few bytes written between two copies (a
/// separator and an indent): a call to `memcmp` for each of a large array's
/// items cost more than the copying around it.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 32 {
        return a == b;
    }
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i), b.get(i)) {
        if x != y {
            return false;
        }
        i += 1;
    }
    true
}

/// `(at, start, end)`: `source[start..end]` goes before byte `at` of the
/// output.
pub(crate) type Cut = (usize, usize, usize);

/// The run being copied: `source[start..end]`, which the output holds from
/// byte `at` on (up to `out_end`), or, once `cut`, holds no more.
struct Run {
    at: usize,
    start: usize,
    end: usize,
    out_end: usize,
    cut: bool,
}

impl Runs {
    /// Copies runs of at least `share` bytes out; `usize::MAX`: none.
    pub(crate) fn new(share: usize) -> Runs {
        Runs {
            share,
            open: None,
            cuts: Vec::new(),
        }
    }

    /// Write `source[start..end]` to `out`, or leave it out as part of a run.
    pub(crate) fn copy(&mut self, out: &mut Vec<u8>, source: &[u8], start: usize, end: usize) {
        // Spans come from walks of `source`; one that is not in it copies
        // nothing (as a failed `get` always did) rather than a cut that
        // could not be put back.
        let Some(text) = source.get(start..end) else {
            return;
        };
        if self.share == usize::MAX {
            out.extend_from_slice(text);
            return;
        }
        if let Some(run) = &mut self.open {
            let written = out.get(run.out_end..).unwrap_or_default();
            if start >= run.end
                && source
                    .get(run.end..start)
                    .is_some_and(|gap| same(gap, written))
            {
                if run.cut {
                    out.truncate(run.out_end);
                } else if end - run.start >= self.share {
                    // Long enough now: cut out, without copying `text` first.
                    out.truncate(run.at);
                    run.out_end = run.at;
                    run.cut = true;
                } else {
                    out.extend_from_slice(text);
                    run.out_end = out.len();
                }
                run.end = end;
                return;
            }
        }
        self.close();
        let at = out.len();
        let cut = end - start >= self.share;
        if !cut {
            out.extend_from_slice(text);
        }
        self.open = Some(Run {
            at,
            start,
            end,
            out_end: out.len(),
            cut,
        });
    }

    fn close(&mut self) {
        if let Some(run) = self.open.take()
            && run.cut
        {
            self.cuts.push((run.at, run.start, run.end));
        }
    }

    /// The runs left out, in order.
    pub(crate) fn finish(mut self) -> Vec<Cut> {
        self.close();
        self.cuts
    }
}

/// A new version's bytes as a sequence of shared slices: what a change
/// wrote itself, and runs of the old version it kept (no copy of them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Parts(Vec<Bytes>);

impl From<Vec<u8>> for Parts {
    fn from(bytes: Vec<u8>) -> Parts {
        Parts(vec![Bytes::from(bytes)])
    }
}

impl From<Bytes> for Parts {
    fn from(bytes: Bytes) -> Parts {
        Parts(vec![bytes])
    }
}

impl Parts {
    /// The parts in order; none is empty.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|b| &b[..])
    }

    /// Their total length.
    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(Bytes::len).sum()
    }

    /// Whether they spell exactly `bytes`.
    pub(crate) fn eq_bytes(&self, bytes: &[u8]) -> bool {
        if self.len() != bytes.len() {
            return false;
        }
        let mut at = 0;
        self.iter().all(|p| {
            let same = bytes.get(at..at + p.len()) == Some(p);
            at += p.len();
            same
        })
    }

    /// The bytes as one slice: borrowed when there is one part.
    pub(crate) fn contiguous(&self) -> std::borrow::Cow<'_, [u8]> {
        match self.0.as_slice() {
            [] => std::borrow::Cow::Borrowed(&[]),
            [one] => std::borrow::Cow::Borrowed(&one[..]),
            _ => std::borrow::Cow::Owned(self.to_vec()),
        }
    }

    /// The bytes joined into one new vector.
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        for p in self.iter() {
            out.extend_from_slice(p);
        }
        out
    }

    /// `out` with the runs `cuts` of `source` spliced in: each cut
    /// `(at, start, end)` puts `source[start..end]` before byte `at` of
    /// `out` (cuts in order of `at`, then of the source).
    pub(crate) fn spliced(out: Vec<u8>, source: &Bytes, cuts: &[Cut]) -> Parts {
        let out = Bytes::from(out);
        let mut parts = Vec::with_capacity(2 * cuts.len() + 1);
        let mut from = 0;
        for &(at, start, end) in cuts {
            // `Runs` makes every cut within `out` and `source`; clamped so
            // that a wrong one could not panic.
            let at = at.clamp(from, out.len());
            if at > from {
                parts.push(out.slice(from..at));
            }
            let end = end.min(source.len());
            if end > start {
                parts.push(source.slice(start..end));
            }
            from = at;
        }
        if out.len() > from {
            parts.push(out.slice(from..));
        }
        Parts(parts)
    }
}

/// [`merge_splice`], its result marked valid: the splice writes values it read
/// through the scanner and objects through the renderer (the property tests
/// compare it with the tree path on every style).
/// `outline` is `source`'s own, from [`validate_outline`], or `None`.
pub(crate) fn merge_spliced(
    source: &[u8],
    style: &Style,
    patch: &Value,
    outline: Option<&Outline>,
) -> Result<Option<Valid>, SpliceError> {
    let out = merge_splice_outlined(source, style, patch, outline)?;
    debug_assert!(out.as_ref().is_none_or(|b| validate(b).is_ok()));
    Ok(out.map(Valid::trusted))
}

/// [`merge_spliced`] whose result shares the long runs it keeps of `source`
/// with it (see [`Parts`]) instead of copying them.
pub(crate) fn merge_spliced_shared(
    source: &Bytes,
    style: &Style,
    patch: &Value,
    outline: Option<&Outline>,
) -> Result<Option<Valid>, SpliceError> {
    let Some((out, cuts)) = splice::merge_splice_shared(source, style, patch, outline)? else {
        return Ok(None);
    };
    let valid = Valid::trusted_parts(out, source, &cuts);
    debug_assert!(validate(valid.bytes()).is_ok());
    Ok(Some(valid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_is_slice_equality() {
        let pool: &[&[u8]] = &[
            b"",
            b",",
            b",\n    ",
            b",\n   ",
            b",\n     ",
            b", ",
            b",\r\n\t",
            &[b' '; 32],
            &[b' '; 33],
            &[b' '; 40],
        ];
        for a in pool {
            for b in pool {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
        let mut long = vec![b' '; 40];
        long[39] = b'\t';
        assert!(!same(&long, &[b' '; 40]));
        long[39] = b' ';
        long[3] = b'\t';
        assert!(!same(&long, &[b' '; 40]));
    }
    use proptest::prelude::*;

    /// One step of a writer: write bytes of its own, write the source's
    /// bytes at `a..a+b` as its own, copy `a..a+b` through `Runs`, or copy
    /// the run that follows the last copy after writing the source's bytes
    /// between them (what a writer copying a document's members does).
    #[derive(Debug, Clone)]
    enum Step {
        Own(Vec<u8>),
        SourceText(usize, usize),
        Copy(usize, usize),
        Next(usize, usize),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..6).prop_map(Step::Own),
                (0..300usize, 0..40usize).prop_map(|(a, b)| Step::SourceText(a, b)),
                (0..300usize, 0..120usize).prop_map(|(a, b)| Step::Copy(a, b)),
                (0..4usize, 0..80usize).prop_map(|(a, b)| Step::Next(a, b)),
                (0..4usize, 0..80usize).prop_map(|(a, b)| Step::Next(a, b)),
            ],
            0..40,
        )
    }

    proptest! {
        /// The output with the cut runs put back is exactly what copying
        /// everything would have written, whatever the threshold.
        #[test]
        fn runs_put_back_give_the_copied_output(
            source in prop::collection::vec(any::<u8>(), 0..400),
            steps in steps(),
            share in prop_oneof![Just(1usize), Just(8), Just(32), Just(usize::MAX)],
        ) {
            let source = Bytes::from(source);
            let clamp = |a: usize, b: usize| {
                let start = a.min(source.len());
                (start, (start + b).min(source.len()))
            };
            let mut plain = Vec::new();
            let mut out = Vec::new();
            let mut runs = Runs::new(share);
            let mut last = 0;
            for step in &steps {
                match step {
                    Step::Own(bytes) => {
                        plain.extend_from_slice(bytes);
                        out.extend_from_slice(bytes);
                    }
                    Step::SourceText(a, b) => {
                        let (s, e) = clamp(*a, *b);
                        plain.extend_from_slice(&source[s..e]);
                        out.extend_from_slice(&source[s..e]);
                    }
                    Step::Copy(a, b) => {
                        let (s, e) = clamp(*a, *b);
                        plain.extend_from_slice(&source[s..e]);
                        runs.copy(&mut out, &source, s, e);
                        last = e;
                    }
                    Step::Next(gap, b) => {
                        let (g, s) = clamp(last, *gap);
                        plain.extend_from_slice(&source[g..s]);
                        out.extend_from_slice(&source[g..s]);
                        let (s, e) = clamp(s, *b);
                        plain.extend_from_slice(&source[s..e]);
                        runs.copy(&mut out, &source, s, e);
                        last = e;
                    }
                }
            }
            let cuts = runs.finish();
            if share == usize::MAX {
                prop_assert!(cuts.is_empty());
            }
            for &(at, start, end) in &cuts {
                prop_assert!(end - start >= share);
                prop_assert!(at <= out.len());
            }
            let parts = Parts::spliced(out, &source, &cuts);
            prop_assert_eq!(parts.to_vec(), plain.clone());
            prop_assert!(parts.eq_bytes(&plain));
            prop_assert_eq!(parts.len(), plain.len());
            prop_assert_eq!(&*parts.contiguous(), &plain[..]);
            prop_assert!(parts.iter().all(|p| !p.is_empty()));
            let valid = Valid(Repr::Parts(parts, std::sync::OnceLock::new()));
            prop_assert_eq!(valid.bytes(), &plain[..]);
            prop_assert_eq!(valid.into_bytes(), plain);
        }
    }

    /// Adjacent members copied with the source's own separators between
    /// them become one shared run: the 64 KiB event array of a document is
    /// not in the output, only a reference to it.
    #[test]
    fn a_long_run_is_shared_not_copied() {
        let mut doc = b"{\"meta\": {\"n\": 1}, \"events\": [".to_vec();
        for i in 0..8000 {
            if i > 0 {
                doc.extend_from_slice(b", ");
            }
            doc.extend_from_slice(format!("{{\"id\": {i}}}").as_bytes());
        }
        doc.extend_from_slice(b"]}\n");
        let source = Bytes::from(doc.clone());
        let patch = parse(br#"{"meta": {"n": 2}}"#).unwrap();
        let style = Style::detect(&doc);
        let outline = validate_outline(&doc).unwrap();
        let shared = merge_spliced_shared(&source, &style, &patch, outline.as_ref())
            .unwrap()
            .unwrap();
        let plain = merge_splice(&doc, &style, &patch).unwrap().unwrap();
        let parts = shared.clone().into_parts();
        assert!(parts.iter().count() >= 2);
        let copied: usize = parts
            .iter()
            .filter(|p| source.as_ptr_range().contains(&p.as_ptr()))
            .map(<[u8]>::len)
            .sum();
        assert!(copied > 64 * 1024, "{copied} bytes shared");
        assert_eq!(parts.to_vec(), plain);
        assert_eq!(shared.bytes(), &plain[..]);
    }
}
