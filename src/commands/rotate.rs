//! `jsafe rotate LOG.jsonl [--keep N] [--compress] [--max-size S] [--max-age D]`:
//! move a JSON Lines log to `LOG.1` under its lock and start an empty one
//! (`store::rotate`). Prints nothing unless asked (-v), for cron and timers.

use super::Global;
use super::shared::context::Writer;
use crate::cli::RotateArgs;
use crate::error::{Error, Kind, Result};
use crate::store::Format;
use crate::store::OnCorrupt;
use crate::store::rotate::{Rotation, rotate};

pub(crate) fn run(g: &Global, args: &RotateArgs) -> Result<()> {
    let file = &args.file;
    if Format::of_or(file, args.lines) != Format::Lines {
        return Err(Error::new(
            Kind::Usage,
            format!(
                "{}: not a JSON Lines file (*.jsonl, *.ndjson): rotate moves logs; give --lines to rotate it anyway",
                file.display()
            ),
        ));
    }
    let writer = Writer::new(g, file, "rotate", None, OnCorrupt::Fail)?;
    let how = Rotation {
        keep: args.keep,
        compress: args.compress,
        max_size: args.max_size.map(|s| s as u64),
        max_age: args.max_age,
    };
    let done = rotate(file, &writer.options(), &how)?;
    for w in &done.warnings {
        g.notice(w);
    }
    for r in &done.removed {
        g.detail(&format!("{}: removed {}", file.display(), r.display()));
    }
    match (&done.skipped, &done.moved_to) {
        (Some(why), _) => g.detail(&format!("{}: not rotated: {why}", file.display())),
        (None, Some(to)) => g.detail(&format!(
            "{}: rotated {} bytes to {}",
            file.display(),
            done.bytes,
            to.display()
        )),
        (None, None) => g.detail(&format!(
            "{}: emptied ({} bytes dropped, --keep 0)",
            file.display(),
            done.bytes
        )),
    }
    Ok(())
}
