//! The JSON core alone on a large file, to show what `read` and `merge` cost
//! once the store hands them the bytes (no lock, no backup, no fsync). Built
//! by scripts/bench with rustc against the release build of the library:
//!
//!   json_core validate FILE          one validating scan
//!   json_core parse FILE             parse into a tree (today's load)
//!   json_core splice FILE PATCH OUT  validate + spliced merge, output to OUT
//!   json_core tree FILE PATCH OUT    parse + merge_patch + render, output to OUT
use std::process::ExitCode;

use jsafe::json::{self, Style};

fn run(args: &[String]) -> Result<(), String> {
    let (Some(mode), Some(file)) = (args.get(1), args.get(2)) else {
        return Err("usage: json_core validate|parse|splice|tree FILE [PATCH OUT]".into());
    };
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let patch = || -> Result<json::Value, String> {
        let text = args.get(3).ok_or("missing PATCH")?;
        json::parse(text.as_bytes()).map_err(|e| e.to_string())
    };
    let out = args.get(4);
    let write = |data: &[u8]| -> Result<(), String> {
        let path = out.ok_or("missing OUT")?;
        std::fs::write(path, data).map_err(|e| format!("{path}: {e}"))
    };
    match mode.as_str() {
        "validate" => json::validate(&bytes).map_err(|e| e.to_string()),
        "parse" => json::parse(&bytes).map(drop).map_err(|e| e.to_string()),
        "splice" => {
            json::validate(&bytes).map_err(|e| e.to_string())?;
            let style = Style::detect(&bytes);
            match json::merge_splice(&bytes, &style, &patch()?) {
                Ok(Some(new)) => write(&new),
                Ok(None) => write(&bytes),
                Err(e) => Err(e.to_string()),
            }
        }
        "tree" => {
            let mut value = json::parse(&bytes).map_err(|e| e.to_string())?;
            json::merge_patch(&mut value, &patch()?);
            write(&json::render(&value, &Style::detect(&bytes)))
        }
        other => Err(format!("unknown mode {other}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("json_core: {e}");
            ExitCode::FAILURE
        }
    }
}
