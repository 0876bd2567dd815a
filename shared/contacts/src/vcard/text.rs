//! RFC 6350 value escaping (§3.4) and line folding (§3.2).

/// The longest content line, in octets, excluding the CRLF line break.
pub(super) const MAX_LINE_OCTETS: usize = 75;

/// `value` escaped for a TEXT value or a component of a compound value (N, ADR, ORG).
///
/// Backslash, comma and semicolon are escaped with a backslash and every line break (CRLF, CR or LF) becomes `\n`.
/// Other control characters, which vCard does not allow (§3.3 `VALUE-CHAR`), are dropped; TAB is kept.
pub(super) fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_ascii_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so that no physical line exceeds [`MAX_LINE_OCTETS`] octets, then CRLF.
///
/// Continuation lines start with one space (counted in the 75). A fold never splits a UTF-8 character, nor a
/// backslash escape from the character it escapes.
pub(super) fn push_folded(line: &str, out: &mut String) {
    let mut width = 0;
    let mut chars = line.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let mut end = start + c.len_utf8();
        if c == '\\' {
            if let Some((next_start, next)) = chars.next() {
                end = next_start + next.len_utf8();
            }
        }
        let unit = &line[start..end];
        if width + unit.len() > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push_str(unit);
        width += unit.len();
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folded(line: &str) -> String {
        let mut out = String::new();
        push_folded(line, &mut out);
        out
    }

    #[test]
    fn escapes_each_special_character() {
        assert_eq!(escape(r"a\b"), r"a\\b");
        assert_eq!(escape("a,b"), r"a\,b");
        assert_eq!(escape("a;b"), r"a\;b");
        assert_eq!(escape("a\nb"), r"a\nb");
        assert_eq!(escape("a\r\nb"), r"a\nb");
        assert_eq!(escape("a\rb"), r"a\nb");
        assert_eq!(escape("a\r\r\nb"), r"a\n\nb");
        assert_eq!(escape("a\tb"), "a\tb");
        assert_eq!(escape("a\u{0}\u{1b}[31m\u{7f}b"), "a[31mb");
        assert_eq!(escape(r"\n"), r"\\n");
        assert_eq!(escape(":\"<>é\u{85}"), ":\"<>é\u{85}");
    }

    #[test]
    fn short_lines_are_not_folded() {
        assert_eq!(folded("FN:Ada"), "FN:Ada\r\n");
        let exact = format!("FN:{}", "a".repeat(72));
        assert_eq!(folded(&exact), format!("{exact}\r\n"));
    }

    #[test]
    fn folds_at_75_octets() {
        let line = format!("FN:{}", "a".repeat(200));
        let out = folded(&line);
        let lines: Vec<&str> = out.split_terminator("\r\n").collect();
        assert_eq!(lines[0].len(), 75);
        assert!(lines[1..].iter().all(|l| l.starts_with(' ') && l.len() <= 75));
        assert_eq!(lines[1].len(), 75);
        assert_eq!(out.replace("\r\n ", ""), format!("{line}\r\n"));
    }

    #[test]
    fn never_splits_a_character_or_an_escape() {
        // 72 octets of prefix, then a 4-octet character: it moves to the next line whole.
        let line = format!("FN:{}😀", "a".repeat(69));
        let out = folded(&line);
        assert_eq!(out, format!("FN:{}\r\n 😀\r\n", "a".repeat(69)));
        // An escape pair that would straddle the limit moves whole.
        let line = format!("FN:{}\\,b", "a".repeat(71));
        assert_eq!(folded(&line), format!("FN:{}\r\n \\,b\r\n", "a".repeat(71)));
    }
}
