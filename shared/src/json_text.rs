//! JSON strings written as `serde_json` writes them, into any `fmt::Write`: for text assembled without a
//! `serde_json::Value` (log lines, users rendered from their stored text).

use std::fmt::{self, Write as _};

/// Writes `text` as a JSON string.
pub(crate) fn write_string<W: fmt::Write + ?Sized>(out: &mut W, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(text)?;
    out.write_char('"')
}

/// A writer that escapes what passes through it as the inside of a JSON string, as serde_json does: `"`, `\`
/// and the control characters; everything else is copied in runs. Written here rather than through serde_json so
/// that formatted values go straight into their text, without a `String` per value or a second UTF-8 check.
pub(crate) struct Escaped<'a, W: fmt::Write + ?Sized>(pub(crate) &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut run_start = 0;
        for (at, byte) in text.bytes().enumerate() {
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

    proptest! {
        #[test]
        fn escaping_gives_what_serde_json_gives(text in any::<String>()) {
            let mut out = String::new();
            write_string(&mut out, &text).unwrap();
            prop_assert_eq!(out, serde_json::to_string(&text).unwrap());
        }
    }
}
