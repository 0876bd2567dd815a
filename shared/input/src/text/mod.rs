//! String hygiene for every string attribute.
//!
//! No string attribute may contain:
//! - a C0 control (U+0000–U+001F) or DEL (U+007F), except TAB (U+0009) and LF (U+000A) in multi-line attributes
//!   ([`is_multiline_attribute`]: `addresses.formatted`, `addresses.streetAddress`);
//! - a C1 control (U+0080–U+009F);
//! - a Unicode noncharacter (U+FDD0–U+FDEF, and U+xFFFE and U+xFFFF in every plane).
//!
//! CR is refused everywhere: a multi-line value separates lines with LF alone. Errors name the attribute and the code
//! point (`U+0000`), never the value, and map to SCIM 400 `invalidValue`.

#[cfg(test)]
mod tests;

use crate::display::{CodePoint, shown};
use serde_json::Value;

/// URN prefix of core User attributes written in full (`urn:…:core:2.0:User:userName`).
const CORE_USER_PREFIX: &str = "urn:ietf:params:scim:schemas:core:2.0:User:";

/// Schema URNs whose members are attributes (joined with `:` rather than `.` in attribute paths).
const SCHEMA_URNS: [&str; 3] = [
    "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:core:2.0:Group",
];

/// Attributes in which TAB and LF are allowed, lower-case.
const MULTILINE_ATTRIBUTES: [&str; 2] = ["addresses.formatted", "addresses.streetaddress"];

/// Why a string attribute is not acceptable. Every variant is a SCIM 400 `invalidValue`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// A C0 control or DEL (TAB and LF only in multi-line attributes).
    #[error("Attribute \"{attribute}\" contains the control character {code_point}, which is not allowed.")]
    Control {
        /// Attribute path (truncated and escaped for display), e.g. `name.givenName`.
        attribute: String,
        /// The offending code point.
        code_point: CodePoint,
    },
    /// A C1 control (U+0080–U+009F).
    #[error("Attribute \"{attribute}\" contains the C1 control character {code_point}, which is not allowed.")]
    C1Control {
        /// Attribute path (truncated and escaped for display).
        attribute: String,
        /// The offending code point.
        code_point: CodePoint,
    },
    /// A Unicode noncharacter (U+FDD0–U+FDEF, U+xFFFE, U+xFFFF).
    #[error("Attribute \"{attribute}\" contains the Unicode noncharacter {code_point}, which is not allowed.")]
    Noncharacter {
        /// Attribute path (truncated and escaped for display).
        attribute: String,
        /// The offending code point.
        code_point: CodePoint,
    },
}

/// Checks one string value of `attribute` (its SCIM path, used in the error). `multiline` allows TAB and LF; pass
/// [`is_multiline_attribute`]`(attribute)`.
pub fn check_string(attribute: &str, value: &str, multiline: bool) -> Result<(), TextError> {
    match first_refused(value, multiline) {
        None => Ok(()),
        Some(c) => Err(refusal(attribute, c)),
    }
}

/// The first code point of `value` that [`check_string`] refuses. Printable ASCII, nearly every value, is passed
/// over a byte at a time.
fn first_refused(value: &str, multiline: bool) -> Option<char> {
    if value.bytes().all(|b| matches!(b, 0x20..=0x7E)) {
        return None;
    }
    value.chars().find(|&c| !allowed(c, multiline))
}

fn refusal(attribute: &str, c: char) -> TextError {
    let (attribute, code_point) = (shown(attribute), CodePoint(c));
    match c {
        '\u{80}'..='\u{9F}' => TextError::C1Control { attribute, code_point },
        c if is_noncharacter(c) => TextError::Noncharacter { attribute, code_point },
        _ => TextError::Control { attribute, code_point },
    }
}

fn allowed(c: char, multiline: bool) -> bool {
    match c {
        '\t' | '\n' => multiline,
        '\0'..='\u{1F}' | '\u{7F}'..='\u{9F}' => false,
        c => !is_noncharacter(c),
    }
}

/// U+FDD0–U+FDEF and the last two code points of every plane.
pub(crate) fn is_noncharacter(c: char) -> bool {
    let cp = u32::from(c);
    (0xFDD0..=0xFDEF).contains(&cp) || cp & 0xFFFE == 0xFFFE
}

/// Whether TAB and LF are allowed in the attribute at `path`: `addresses.formatted` and `addresses.streetAddress`,
/// in any case, also written with the core User URN (`urn:…:core:2.0:User:addresses.formatted`) or with a value
/// filter (`addresses[type eq "work"].formatted`).
pub fn is_multiline_attribute(path: &str) -> bool {
    let path = match path.get(..CORE_USER_PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(CORE_USER_PREFIX) => &path[CORE_USER_PREFIX.len()..],
        _ => path,
    };
    let is_multiline = |plain: &str| MULTILINE_ATTRIBUTES.iter().any(|attribute| attribute.eq_ignore_ascii_case(plain));
    // Every string of every body asks: a path without a filter is compared as it is, without a copy.
    if path.contains('[') { is_multiline(&without_filters(path)) } else { is_multiline(path) }
}

/// `path` without its value filters (`addresses[type eq "work"].formatted` -> `addresses.formatted`).
fn without_filters(path: &str) -> String {
    let mut plain = String::with_capacity(path.len());
    let (mut in_filter, mut in_string, mut escaped) = (false, false, false);
    for c in path.chars() {
        match (in_filter, in_string, c) {
            (false, _, '[') => in_filter = true,
            (false, _, c) => plain.push(c),
            (true, true, _) if escaped => escaped = false,
            (true, true, '\\') => escaped = true,
            (true, _, '"') => in_string = !in_string,
            (true, false, ']') => in_filter = false,
            (true, _, _) => {}
        }
    }
    plain
}

/// Checks every string in `value` (member names too) with [`check_string`], each with its attribute path, the first
/// failure winning.
///
/// `path_prefix` is the attribute path of `value`: `""` for a whole resource (POST/PUT body, or a PATCH value
/// without `path`), else the PATCH operation's `path` (value filters are fine). Paths are built the SCIM way: array
/// indexes are left out (`emails.value`), sub-attributes follow a `.` (`name.givenName`), and the members of a schema
/// URN object (a top-level `urn:…` member, or a `path_prefix` that is a known schema URN or ends in `:`) follow a `:`
/// (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`). `is_multiline` decides per path;
/// [`is_multiline_attribute`] is the rule.
pub fn check_json_strings(
    value: &Value,
    path_prefix: &str,
    is_multiline: impl Fn(&str) -> bool,
) -> Result<(), TextError> {
    let schema = path_prefix.ends_with(':') || SCHEMA_URNS.iter().any(|urn| urn.eq_ignore_ascii_case(path_prefix));
    let mut path = path_prefix.trim_end_matches(':').to_owned();
    Walker { is_multiline: &is_multiline }.walk(value, &mut path, schema)
}

struct Walker<'f> {
    is_multiline: &'f dyn Fn(&str) -> bool,
}

impl Walker<'_> {
    /// `schema`: `value` is the object of a schema URN, whose members join with `:`. `path` is `value`'s path; each
    /// member's is appended to it while the member is checked, and taken off again.
    fn walk(&self, value: &Value, path: &mut String, schema: bool) -> Result<(), TextError> {
        match value {
            // Whether the attribute is multi-line is asked only of a value holding a TAB or LF.
            Value::String(s) => match first_refused(s, false) {
                None => Ok(()),
                Some('\t' | '\n') if (self.is_multiline)(path) => check_string(path, s, true),
                Some(c) => Err(refusal(path, c)),
            },
            Value::Array(items) => items.iter().try_for_each(|item| self.walk(item, path, false)),
            Value::Object(members) => {
                let top_level = path.is_empty();
                for (name, member) in members {
                    let parent = path.len();
                    if !top_level {
                        path.push(if schema { ':' } else { '.' });
                    }
                    path.push_str(name);
                    let checked = check_string(path, name, false)
                        .and_then(|()| self.walk(member, path, top_level && is_urn(name)));
                    path.truncate(parent);
                    checked?;
                }
                Ok(())
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
}

fn is_urn(name: &str) -> bool {
    name.get(..4).is_some_and(|head| head.eq_ignore_ascii_case("urn:"))
}
