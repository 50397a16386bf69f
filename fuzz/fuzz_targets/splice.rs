//! A merge patch spliced into arbitrary bytes: never a panic; a parse error
//! exactly when the parser has one; otherwise valid JSON meaning
//! `merge_patch(parse(file), patch)`, and for a file the renderer reproduces,
//! exactly the tree path's bytes. The input is split at the first NUL byte
//! into the patch and the file.
#![no_main]

use jsafe::__internals::merge_splice;
use jsafe::{SpliceError, Style, Value, merge_patch, parse, render};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let split = bytes.iter().position(|&b| b == 0).unwrap_or(0);
    let (patch, file) = (&bytes[..split], &bytes[(split + 1).min(bytes.len())..]);
    let Ok(patch @ Value::Object(_)) = parse(patch) else {
        return;
    };
    let style = Style::detect(file);
    match (merge_splice(file, &style, &patch), parse(file)) {
        (Err(SpliceError::Parse(a)), Err(b)) => assert_eq!(a.message, b.message),
        (Err(SpliceError::NotObject(found)), Ok(v)) => assert_eq!(found, v.type_name()),
        (Err(SpliceError::TooDeep), Ok(_)) => {}
        (Ok(out), Ok(mut tree)) => {
            let canonical = render(&tree, &style) == file;
            merge_patch(&mut tree, &patch);
            let out = out.unwrap_or_else(|| file.to_vec());
            let reread = parse(&out).expect("the splice wrote invalid JSON");
            assert_eq!(render(&reread, &style), render(&tree, &style));
            if canonical {
                assert_eq!(out, render(&tree, &style));
            }
        }
        (a, b) => panic!("splice {a:?}, parse {:?}", b.map(|_| ())),
    }
});
