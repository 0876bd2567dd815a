//! JSON text handled without a `serde_json::Value`: strings written as `serde_json` writes them, into any
//! `fmt::Write` (log lines, users rendered from their stored text), and an object's text split into its members.

use std::fmt::{self, Write as _};

/// Writes `text` as a JSON string.
pub(crate) fn write_string<W: fmt::Write + ?Sized>(out: &mut W, text: &str) -> fmt::Result {
    out.write_str("\"")?;
    Escaped(out).write_str(text)?;
    out.write_str("\"")
}

/// A writer that escapes what passes through it as the inside of a JSON string, as serde_json does: `"`, `\`
/// and the control characters; everything else is copied in runs. Written here rather than through serde_json so
/// that formatted values go straight into their text, without a `String` per value or a second UTF-8 check.
pub(crate) struct Escaped<'a, W: fmt::Write + ?Sized>(pub(crate) &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Most text needs no escape: skip it eight bytes at a time, then byte by byte (all of a string shorter than
        // eight) up to the first byte to escape; what is clean is copied in one piece.
        let bytes = text.as_bytes();
        let words = bytes.chunks_exact(8).take_while(|chunk| !any_to_escape(chunk)).count() * 8;
        let is_clean = |byte: &&u8| **byte >= 0x20 && **byte != b'"' && **byte != b'\\';
        let clean = words + bytes.iter().skip(words).take_while(is_clean).count();
        if clean == text.len() {
            return self.0.write_str(text);
        }
        let mut run_start = 0;
        for (at, byte) in text.bytes().enumerate().skip(clean) {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0x00..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&text[run_start..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            run_start = at + 1;
        }
        self.0.write_str(&text[run_start..])
    }
}

/// Whether any of eight bytes is one a JSON string escapes (`"`, `\\`, or below U+0020), tested on all eight at
/// once: a byte `b` below `n` (`n` ≤ 128) is one for which `b - n` borrows while its top bit is clear.
fn any_to_escape(chunk: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const TOPS: u64 = ONES << 7;
    let Ok(bytes) = <[u8; 8]>::try_from(chunk) else {
        return true;
    };
    let word = u64::from_le_bytes(bytes);
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & TOPS;
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    (below(word, 0x20) | below(quote, 1) | below(backslash, 1)) != 0
}

/// The members of an object's JSON text, in order: each key as written between its quotes, and its value's text.
///
/// `None` unless `text` is one object written as `serde_json` writes it (no whitespace between tokens) with no
/// escape in a key. Strings and nesting are followed to find where each value ends; scalars are not checked. It
/// reads stored documents the server wrote itself, where a `serde_json` parse would check every byte again
/// (bench/README.md, "Seventh round"); whatever it does not recognise, its caller renders through `serde_json`.
pub(crate) fn object_members(text: &str) -> Option<Vec<(&str, &str)>> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let mut members = Vec::with_capacity(24);
    if bytes.get(1) == Some(&b'}') {
        return (bytes.len() == 2).then_some(members);
    }
    let mut at = 1;
    loop {
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let key_end = string_end(bytes, at)?;
        let key = text.get(at + 1..key_end)?;
        if key.contains('\\') || bytes.get(key_end + 1) != Some(&b':') {
            return None;
        }
        let value_start = key_end + 2;
        at = value_end(bytes, value_start)?;
        members.push((key, text.get(value_start..at)?));
        match bytes.get(at) {
            Some(b',') => at += 1,
            Some(b'}') if at + 1 == bytes.len() => return Some(members),
            _ => return None,
        }
    }
}

/// Where the string whose opening quote is at `open` ends: the index of its closing quote.
fn string_end(bytes: &[u8], open: usize) -> Option<usize> {
    let mut at = open + 1;
    loop {
        at += memchr::memchr2(b'"', b'\\', bytes.get(at..)?)?;
        if bytes.get(at) == Some(&b'"') {
            return Some(at);
        }
        at += 2;
    }
}

/// The deepest nesting [`value_end`] follows (one bit of its stack per level).
const MAX_DEPTH: u32 = 64;

/// Where the value starting at `start` ends: the index just past it. `None` at whitespace outside strings, at a
/// closing bracket that does not match its opening one, past [`MAX_DEPTH`] levels, or at the end of the text.
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0;
    // Bit `n` is set when the bracket open at depth `n + 1` (counting from the innermost) is a brace.
    let mut braces = 0u64;
    let mut at = start;
    loop {
        let byte = *bytes.get(at)?;
        match byte {
            b'"' => {
                at = string_end(bytes, at)? + 1;
                if depth == 0 {
                    return Some(at);
                }
                continue;
            }
            b'{' | b'[' => {
                if depth == MAX_DEPTH {
                    return None;
                }
                braces = braces << 1 | u64::from(byte == b'{');
                depth += 1;
            }
            b'}' | b']' => {
                if depth == 0 {
                    // The end of the enclosing object: a scalar ends here.
                    return (byte == b'}' && at > start).then_some(at);
                }
                if (braces & 1 == 1) != (byte == b'}') {
                    return None;
                }
                braces >>= 1;
                depth -= 1;
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            b',' if depth == 0 => return (at > start).then_some(at),
            b' ' | b'\t' | b'\n' | b'\r' => return None,
            _ => {}
        }
        at += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_ascii_character_escapes_as_serde_json_escapes_it() {
        for byte in 0u8..=0x7f {
            let text = format!("a{}b", byte as char);
            let mut out = String::new();
            write_string(&mut out, &text).unwrap();
            assert_eq!(out, serde_json::to_string(&text).unwrap(), "byte {byte:#04x}");
        }
    }

    /// The reference: the members `serde_json` finds in an object's text, keys and values borrowed.
    struct Members<'a>(Vec<(&'a str, &'a serde_json::value::RawValue)>);

    impl<'de> serde::Deserialize<'de> for Members<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Members<'de>;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                    let mut members = Vec::new();
                    while let Some(member) = map.next_entry()? {
                        members.push(member);
                    }
                    Ok(Members(members))
                }
            }
            deserializer.deserialize_map(Visitor)
        }
    }

    fn by_serde(text: &str) -> Option<Vec<(&str, &str)>> {
        let Members(members) = serde_json::from_str(text).ok()?;
        Some(members.into_iter().map(|(key, value)| (key, value.get())).collect())
    }

    #[test]
    fn members_are_split_where_serde_json_splits_them() {
        for text in [
            r#"{}"#,
            r#"{"a":1}"#,
            r#"{"a":"x,}]\"\\","b":[1,{"c":"]"}],"d":{"e":[]},"f":null,"g":-1.5e3,"h":true}"#,
            r#"{"a":"caf\u00e9 \u2028","b":"é😀"}"#,
            r#"{"a":{},"a":[]}"#,
        ] {
            assert_eq!(object_members(text), by_serde(text), "{text}");
            assert!(object_members(text).is_some(), "{text}");
        }
    }

    #[test]
    fn what_is_not_compact_or_not_one_object_is_not_split() {
        for text in [
            "",
            "{",
            "}",
            "[]",
            r#""a""#,
            r#"{"a":1"#,
            r#"{"a":1}}"#,
            r#"{"a":1},"#,
            r#"{"a":1,}"#,
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":[}"#,
            r#"{"a":[1}]}"#,
            r#"{"a":{]}"#,
            r#"{"a":"x}"#,
            r#"{"a":"x\"}"#,
            r#"{ "a":1}"#,
            r#"{"a": 1}"#,
            r#"{"a":[1, 2]}"#,
            "{\"a\":1\n}",
            r#"{"\u0061":1}"#,
            r#"{a:1}"#,
        ] {
            assert_eq!(object_members(text), None, "{text:?}");
        }
    }

    #[test]
    fn nesting_is_followed_to_its_bound() {
        let nested = |depth: usize| format!("{{\"a\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
        let deepest = nested(MAX_DEPTH as usize);
        assert_eq!(object_members(&deepest), by_serde(&deepest));
        assert!(object_members(&deepest).is_some());
        assert_eq!(object_members(&nested(MAX_DEPTH as usize + 1)), None);
    }

    fn json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
            r#"["\\{}\[\],: a]{0,8}"#.prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::vec((r#"["\\{}a]{0,4}|.{0,6}"#, inner), 0..6)
                    .prop_map(|members| serde_json::Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// On any object `serde_json` writes, the split is `serde_json`'s, or `None` when a key needs escapes.
        #[test]
        fn any_written_object_splits_as_serde_json_splits_it(
            members in proptest::collection::vec((r#"["\\{}a]{0,4}|.{0,6}"#, json()), 0..8),
        ) {
            let text = serde_json::to_string(&serde_json::Value::Object(members.into_iter().collect())).unwrap();
            // `serde_json` cannot borrow a key with escapes either, so both give `None` for such an object.
            prop_assert_eq!(object_members(&text), by_serde(&text));
        }

        /// Any text at all: no panic, and what it splits `serde_json` splits alike or rejects outright.
        #[test]
        fn any_text_splits_without_panic(text in r#"[{}\[\]":,a1 \\]{0,24}"#) {
            if let (Some(split), Some(expected)) = (object_members(&text), by_serde(&text)) {
                prop_assert_eq!(split, expected);
            }
        }

        #[test]
        fn escaping_gives_what_serde_json_gives(text in any::<String>()) {
            let mut out = String::new();
            write_string(&mut out, &text).unwrap();
            prop_assert_eq!(out, serde_json::to_string(&text).unwrap());
        }

        /// Mostly printable text with a byte to escape anywhere in it (before, inside or after the eight-byte
        /// runs), and bytes that look like one to the word test but are not (U+007F, U+0080 and up).
        #[test]
        fn escaping_finds_every_byte_to_escape_wherever_it_is(text in "[ -~]{0,20}[\"\\\\\u{0}\u{1f}\t\n\u{7f}\u{80}é ]?[ -~]{0,20}") {
            let mut out = String::new();
            write_string(&mut out, &text).unwrap();
            prop_assert_eq!(out, serde_json::to_string(&text).unwrap());
        }
    }
}
