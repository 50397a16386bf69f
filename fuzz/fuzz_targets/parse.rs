//! Arbitrary bytes as a file: `parse`, `validate` and `Style::detect` return
//! (never panic, never hang), the scanner agrees with the parser field for
//! field, and whatever parses renders back to the same bytes in its own style
//! when it is in a style the renderer knows.
#![no_main]

use jsafe::{Style, parse, render, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let style = Style::detect(bytes);
    match (parse(bytes), validate(bytes)) {
        (Ok(value), Ok(())) => {
            let out = render(&value, &style);
            // Rendering is a fixed point: what it writes parses to the same
            // bytes again.
            let again = parse(&out).map(|v| render(&v, &Style::detect(&out)));
            assert_eq!(again.as_deref().ok(), Some(out.as_slice()));
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                (a.kind, a.offset, a.line, a.column, a.message),
                (b.kind, b.offset, b.line, b.column, b.message)
            );
        }
        (a, b) => panic!("parse {:?} but validate {b:?}", a.map(|_| ())),
    }
});
