//! Finds `\u` escapes of lone surrogates, so that they get their own error rather than a generic syntax error.
//!
//! The scan only tracks string boundaries and escapes; any other malformation is left to the parser.

use super::JsonError;

/// Refuses a `\uD800`–`\uDBFF` escape not followed by a `\uDC00`–`\uDFFF` escape, and a `\uDC00`–`\uDFFF` escape
/// not preceded by a high one.
pub(super) fn check_surrogates(text: &str) -> Result<(), JsonError> {
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match (in_string, b) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') => {
                i += escape_len(bytes, i)?;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Length of the escape starting with the backslash at `at` (a surrogate pair counts as one escape).
fn escape_len(bytes: &[u8], at: usize) -> Result<usize, JsonError> {
    let Some(unit) = unicode_escape(bytes, at) else {
        // `\n`, `\"`, …, or a malformed escape the parser will report.
        return Ok(2);
    };
    match unit {
        0xD800..=0xDBFF => match unicode_escape(bytes, at + 6) {
            Some(0xDC00..=0xDFFF) => Ok(12),
            _ => Err(JsonError::LoneSurrogate { offset: at }),
        },
        0xDC00..=0xDFFF => Err(JsonError::LoneSurrogate { offset: at }),
        _ => Ok(6),
    }
}

/// The code unit of a well-formed `\uXXXX` escape at `at`.
fn unicode_escape(bytes: &[u8], at: usize) -> Option<u16> {
    let escape = bytes.get(at..at + 6)?;
    let (prefix, hex) = escape.split_at(2);
    if prefix != b"\\u" {
        return None;
    }
    let hex = std::str::from_utf8(hex).ok()?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u16::from_str_radix(hex, 16).ok()
}
