//! How input appears in error messages: code points as `U+XXXX`, names truncated and escaped.

use std::fmt;

/// Longest member name or attribute path (in characters) an error message repeats; longer ones end in `…`. Enough
/// for a URN-qualified attribute (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`).
pub const NAME_DISPLAY_CHARS: usize = 128;

/// A code point, displayed as `U+XXXX` (at least four hex digits), so that messages never carry the character itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CodePoint(pub char);

impl fmt::Display for CodePoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "U+{:04X}", u32::from(self.0))
    }
}

/// `name` as safe to show: at most [`NAME_DISPLAY_CHARS`] characters, anything but letters, digits, ASCII
/// punctuation and space written as `\u{XXXX}` (controls, format characters, bidi overrides, …).
pub(crate) fn shown(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(4 * NAME_DISPLAY_CHARS));
    for (i, c) in name.chars().enumerate() {
        if i == NAME_DISPLAY_CHARS {
            out.push('…');
            break;
        }
        if c.is_ascii_graphic() || c == ' ' || c.is_alphanumeric() {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_have_at_least_four_digits() {
        assert_eq!(CodePoint('\0').to_string(), "U+0000");
        assert_eq!(CodePoint('\u{212A}').to_string(), "U+212A");
        assert_eq!(CodePoint('\u{10FFFF}').to_string(), "U+10FFFF");
    }

    #[test]
    fn names_are_truncated_and_escaped() {
        assert_eq!(shown("userName"), "userName");
        assert_eq!(shown("a\u{202E}b\n"), "a\\u{202E}b\\u{000A}");
        let long = "x".repeat(300);
        assert_eq!(shown(&long), format!("{}…", "x".repeat(NAME_DISPLAY_CHARS)));
    }
}
