//! What may become a link: web URLs, `tel:` and `mailto:` URIs. Anything refused is shown as plain text.

/// Longest URL accepted as a link, in bytes.
const MAX_URL_BYTES: usize = 2048;
/// Most digits accepted in a phone number.
const MAX_PHONE_DIGITS: usize = 32;

/// The URL itself when it is safe as a link: an absolute `http:` or `https:` URL (scheme case-insensitive) with a
/// host, made only of RFC 3986 characters (ASCII; no whitespace, control characters or backslashes), without user
/// information (`https://bank.example@evil.example`), with well-formed percent-escapes and port.
///
/// `javascript:`, `data:`, `vbscript:`, relative and protocol-relative (`//evil.example`) URLs are refused.
/// The result may contain `&` and `'`: the caller still escapes it for the HTML attribute it goes into.
pub fn safe_http_url(url: &str) -> Option<&str> {
    if url.len() > MAX_URL_BYTES || !url.bytes().all(is_uri_byte) {
        return None;
    }
    let rest = strip_prefix_ignore_case(url, "https://").or_else(|| strip_prefix_ignore_case(url, "http://"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    (valid_authority(authority) && !tail.contains(['[', ']']) && valid_percent_escapes(tail)).then_some(url)
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// RFC 3986 unreserved, reserved and `%`.
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn valid_authority(authority: &str) -> bool {
    if authority.contains('@') {
        return false;
    }
    let (host, port) = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => authority.split_at(end + 1),
            None => return false,
        }
    } else {
        authority.split_at(authority.find(':').unwrap_or(authority.len()))
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ip) => !ip.is_empty() && ip.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.'),
        None => valid_host(host),
    };
    host_ok && (port.is_empty() || port.strip_prefix(':').is_some_and(valid_port))
}

fn valid_host(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

fn valid_port(port: &str) -> bool {
    (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| p <= 65535)
}

fn valid_percent_escapes(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter(|(_, b)| **b == b'%').all(|(i, _)| {
        bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit) && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
    })
}

/// An RFC 3966 `tel:` URI for a phone number: a leading `+` and the digits are kept; spaces, dashes, dots and
/// parentheses are dropped (as is the trunk prefix `(0)` after a country code, `+44 (0)20 …`). Refused when the
/// number has any other character (letters such as `ext.`, `*`, `#`), no digits, or more than 32.
///
/// A number without `+` gives a local `tel:` URI without `phone-context`, which phones dial as written.
pub fn tel_uri(number: &str) -> Option<String> {
    let number = number.trim();
    let (plus, rest) = match number.strip_prefix('+') {
        Some(rest) => ("+", rest.replace("(0)", "")),
        None => ("", number.to_string()),
    };
    let mut uri = format!("tel:{plus}");
    let mut digits = 0;
    for c in rest.chars() {
        match c {
            '0'..='9' => {
                uri.push(c);
                digits += 1;
            }
            ' ' | '-' | '.' | '(' | ')' => {}
            c if c.is_whitespace() && !c.is_control() => {}
            _ => return None,
        }
    }
    (1..=MAX_PHONE_DIGITS).contains(&digits).then_some(uri)
}

/// A `mailto:` URI (RFC 6068) for a plausible email address: `local@domain` with a dot-atom local part of at most
/// 64 bytes and a domain of non-empty labels (letters, digits, inner hyphens, or non-ASCII). Characters outside the
/// URI's safe set are percent-encoded as UTF-8. Refused: whitespace, control and invisible formatting characters,
/// quoted local parts, address literals (`[192.0.2.1]`), more than 254 bytes.
pub fn mailto_uri(address: &str) -> Option<String> {
    if address.len() > 254 {
        return None;
    }
    let (local, domain) = address.rsplit_once('@')?;
    if !valid_local_part(local) || !valid_domain(domain) {
        return None;
    }
    let mut uri = String::from("mailto:");
    percent_encode(local, &mut uri);
    uri.push('@');
    percent_encode(domain, &mut uri);
    Some(uri)
}

fn valid_local_part(local: &str) -> bool {
    local.len() <= 64
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    if c.is_ascii() {
                        c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
                    } else {
                        is_visible(c)
                    }
                })
        })
}

fn valid_domain(domain: &str) -> bool {
    domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| if c.is_ascii() { c.is_ascii_alphanumeric() || c == '-' } else { is_visible(c) })
        })
}

/// Whether a non-ASCII character is neither whitespace, a control, nor an invisible formatting character (bidi
/// controls, zero-width characters, byte order mark, tags, noncharacters).
fn is_visible(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{061C}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{FDD0}'..='\u{FDEF}'
                | '\u{FEFF}'
                | '\u{FFF0}'..='\u{FFFF}'
                | '\u{E0000}'..='\u{E007F}'
        ))
}

/// Appends `text`, percent-encoding every byte except ASCII letters, digits and `-._~!$'*+`.
fn percent_encode(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$'*+".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_links() {
        for url in [
            "https://example.com",
            "http://example.com/",
            "HTTPS://Example.COM/Profile?id=1&x=%20#top",
            "HtTp://intranet:8080/people/ada",
            "https://[2001:db8::1]:443/",
            "https://[2001:db8::1]",
            "https://example.com./a(b)",
            "https://sub_domain.example.com/~ada;v=1,2",
        ] {
            assert_eq!(safe_http_url(url), Some(url), "{url}");
        }
    }

    #[test]
    fn other_urls_are_text() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "//evil.example/path",
            "/relative/path",
            "relative",
            "example.com",
            "ftp://example.com/",
            "mailto:ada@example.com",
            "https:example.com",
            "https:/example.com",
            "https://",
            "https:///path",
            "http://:80/",
            "https://bank.example@evil.example/",
            "https://user:pass@example.com/",
            "https://exa mple.com/",
            " https://example.com",
            "https://example.com/\n",
            "https://example.com/\t",
            "https://example.com/\u{0}",
            "https://example.com\\@evil.example",
            "https://example.com/<script>",
            "https://example.com/\"onmouseover",
            "https://exämple.com/",
            "https://example.com/\u{202E}gpj.exe",
            "https://example.com:/",
            "https://example.com:99999/",
            "https://example.com:8o/",
            "https://example..com/",
            "https://example.com/%zz",
            "https://example.com/%4",
            "https://example.com/a[0]",
            "https://[::1/",
            "https://[evil.example]/",
            "https://[::1]x/",
        ] {
            assert_eq!(safe_http_url(url), None, "{url:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(safe_http_url(&long), None);
    }

    #[test]
    fn tel_uris() {
        let cases = [
            ("+1 (555) 010-0199", Some("tel:+15550100199")),
            ("+31 20.555.0100", Some("tel:+31205550100")),
            ("  +44 (0)20 7946 0018 ", Some("tel:+442079460018")),
            ("555-0100", Some("tel:5550100")),
            ("+49\u{a0}30\u{202f}1234", Some("tel:+49301234")),
            ("(0)20 7946 0018", Some("tel:02079460018")),
            ("+1 555 0100 ext. 12", None),
            ("1-800-FLOWERS", None),
            ("+", None),
            ("", None),
            ("- ( ) .", None),
            ("+1 555*0100", None),
            ("#31#", None),
            ("+1 555 0100\n", Some("tel:+15550100")),
            ("+1 555\n0100", None),
            ("1+555", None),
            ("++1555", None),
            ("+١٢٣", None),
        ];
        for (number, expected) in cases {
            assert_eq!(tel_uri(number).as_deref(), expected, "{number:?}");
        }
        assert_eq!(tel_uri(&"1".repeat(MAX_PHONE_DIGITS)).map(|u| u.len()), Some(4 + MAX_PHONE_DIGITS));
        assert_eq!(tel_uri(&"1".repeat(MAX_PHONE_DIGITS + 1)), None);
    }

    #[test]
    fn mailto_uris() {
        let cases = [
            ("ada@example.com", Some("mailto:ada@example.com")),
            ("Ada.Lovelace+news@Example.COM", Some("mailto:Ada.Lovelace+news@Example.COM")),
            ("o'brien@example.ie", Some("mailto:o'brien@example.ie")),
            ("a%b?c=d&e#f/g@example.com", Some("mailto:a%25b%3Fc%3Dd%26e%23f%2Fg@example.com")),
            ("josé@exämple.de", Some("mailto:jos%C3%A9@ex%C3%A4mple.de")),
            ("root@localhost", Some("mailto:root@localhost")),
            ("ada", None),
            ("@example.com", None),
            ("ada@", None),
            ("ada@@example.com", None),
            ("a@b@example.com", None),
            ("ada lovelace@example.com", None),
            (" ada@example.com", None),
            ("ada@example.com\r\nBcc: all@example.com", None),
            ("ada@exa mple.com", None),
            ("\"ada\"@example.com", None),
            ("ada.@example.com", None),
            (".ada@example.com", None),
            ("a..da@example.com", None),
            ("ada@example..com", None),
            ("ada@.example.com", None),
            ("ada@-example.com", None),
            ("ada@[192.0.2.1]", None),
            ("ada@example.com?cc=eve@example.com", None),
            ("ada\u{202E}@example.com", None),
            ("ada\u{200B}@example.com", None),
            ("<ada@example.com>", None),
            ("ada,eve@example.com", None),
        ];
        for (address, expected) in cases {
            assert_eq!(mailto_uri(address).as_deref(), expected, "{address:?}");
        }
        assert_eq!(mailto_uri(&format!("{}@example.com", "a".repeat(65))), None);
        assert_eq!(mailto_uri(&format!("a@{}.com", "b".repeat(64))), None);
    }
}
