//! JSON Merge Patch (RFC 7386), applied in place.
//!
//! Promises: exactly the RFC's algorithm; members the patch does not name
//! are left untouched (value, spelling and position), surviving members keep
//! their position, and new members are appended at the end.

use super::value::{Map, Value};

/// Applies `patch` to `target` as RFC 7386 defines.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_members) = patch else {
        *target = patch.clone();
        return;
    };
    if !matches!(target, Value::Object(_)) {
        *target = Value::Object(Map::new());
    }
    let Value::Object(members) = target else {
        return;
    };
    for (key, value) in patch_members {
        if matches!(value, Value::Null) {
            // shift_remove, unlike swap_remove, keeps the others in order.
            members.shift_remove(key);
        } else {
            // Starting a new member from null makes a nested object patch
            // build an object and drop its own nulls, as the RFC requires.
            let slot = members.entry(key.clone()).or_insert(Value::Null);
            merge_patch(slot, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::format::{Style, render};
    use super::super::samples::json;
    use super::*;

    fn compact(value: &Value) -> String {
        String::from_utf8_lossy(&render(value, &Style::line())).into_owned()
    }

    /// Every example of RFC 7386 Appendix A. The result is compared as
    /// rendered text so member order is checked too.
    #[test]
    fn rfc_7386_appendix_a() {
        let cases = [
            (r#"{"a":"b"}"#, r#"{"a":"c"}"#, r#"{"a":"c"}"#),
            (r#"{"a":"b"}"#, r#"{"b":"c"}"#, r#"{"a":"b","b":"c"}"#),
            (r#"{"a":"b"}"#, r#"{"a":null}"#, r#"{}"#),
            (r#"{"a":"b","b":"c"}"#, r#"{"a":null}"#, r#"{"b":"c"}"#),
            (r#"{"a":["b"]}"#, r#"{"a":"c"}"#, r#"{"a":"c"}"#),
            (r#"{"a":"c"}"#, r#"{"a":["b"]}"#, r#"{"a":["b"]}"#),
            (
                r#"{"a":{"b":"c"}}"#,
                r#"{"a":{"b":"d","c":null}}"#,
                r#"{"a":{"b":"d"}}"#,
            ),
            (r#"{"a":[{"b":"c"}]}"#, r#"{"a":[1]}"#, r#"{"a":[1]}"#),
            (r#"["a","b"]"#, r#"["c","d"]"#, r#"["c","d"]"#),
            (r#"{"a":"b"}"#, r#"["c"]"#, r#"["c"]"#),
            (r#"{"a":"foo"}"#, r#"null"#, r#"null"#),
            (r#"{"a":"foo"}"#, r#""bar""#, r#""bar""#),
            (r#"{"e":null}"#, r#"{"a":1}"#, r#"{"e":null,"a":1}"#),
            (r#"[1,2]"#, r#"{"a":"b","c":null}"#, r#"{"a":"b"}"#),
            (
                r#"{}"#,
                r#"{"a":{"bb":{"ccc":null}}}"#,
                r#"{"a":{"bb":{}}}"#,
            ),
        ];
        assert_eq!(cases.len(), 15);
        for (target, patch, expected) in cases {
            let mut value = json(target);
            merge_patch(&mut value, &json(patch));
            assert_eq!(compact(&value), expected, "{target} + {patch}");
            assert_eq!(value, json(expected), "{target} + {patch}");
        }
    }

    #[test]
    fn untouched_members_keep_position_and_spelling() {
        let mut value = json(r#"{"a":1.10,"b":"caf\u00e9","c":{"x":1,"y":2,"z":3},"d":true}"#);
        merge_patch(
            &mut value,
            &json(r#"{"c":{"y":null,"w":[]},"b":null,"e":"new"}"#),
        );
        assert_eq!(
            compact(&value),
            r#"{"a":1.10,"c":{"x":1,"z":3,"w":[]},"d":true,"e":"new"}"#
        );
        let mut value = json(r#"{"keep":"a\/b","n":-0}"#);
        merge_patch(&mut value, &json(r#"{"n":2.50E-3}"#));
        assert_eq!(compact(&value), r#"{"keep":"a\/b","n":2.50E-3}"#);
    }

    #[test]
    fn empty_patch_changes_nothing() {
        let original = json(r#"{"a":[1,{"b":null}]}"#);
        let mut value = original.clone();
        merge_patch(&mut value, &json("{}"));
        assert_eq!(compact(&value), compact(&original));
    }
}
