//! Strict JSON at the door: one parser for every request body.
//!
//! [`parse_strict`] accepts exactly the JSON texts of RFC 8259 that are also I-JSON (RFC 7493) in these respects,
//! and refuses, before any SCIM validation sees the document:
//! - invalid UTF-8 ([`JsonError::InvalidUtf8`]);
//! - a `\u` escape of a lone surrogate ([`JsonError::LoneSurrogate`]);
//! - a member name repeated in one object, at any depth ([`JsonError::DuplicateMember`]): a generic JSON parser keeps
//!   the last one, another component (or the identity provider) may read the first, and the two would disagree on
//!   what was sent;
//! - arrays and objects nested deeper than [`MAX_DEPTH`] ([`JsonError::TooDeep`]);
//! - anything but whitespace after the value ([`JsonError::TrailingCharacters`]);
//! - any other syntax error ([`JsonError::Syntax`]).
//!
//! [`parse_scim`] applies the same rules and also refuses member names that differ only in ASCII case
//! ([`JsonError::CaseVariantMember`]): SCIM attribute names and schema URNs are case-insensitive (RFC 7643 §2.1),
//! so `{"userName": "a", "USERNAME": "b"}` names one attribute twice. Use it for SCIM request bodies.
//!
//! Object member order is kept (`serde_json` with `preserve_order`). Every error maps to SCIM 400 `invalidSyntax`;
//! messages name members and their JSON path (`Operations[0].value.userName`), never values.

mod escapes;
mod seed;
#[cfg(test)]
mod tests;

use serde::de::DeserializeSeed;
use serde_json::Value;

/// Deepest nesting of arrays and objects accepted (the top-level object is depth 1). A SCIM document needs at most
/// 5 (a PATCH operation's value holding an extension object holding a complex attribute).
pub const MAX_DEPTH: usize = 32;

/// Why a request body is not acceptable JSON. Every variant is a SCIM 400 `invalidSyntax`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    /// The body is not UTF-8.
    #[error("The request body is not valid UTF-8 (invalid byte sequence at byte offset {offset}).")]
    InvalidUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// A `\u` escape denotes a surrogate that is not part of a high-low pair.
    #[error(
        "The request body contains a \\u escape of a lone surrogate at byte offset {offset}; JSON strings must be \
         valid Unicode."
    )]
    LoneSurrogate {
        /// Byte offset of the backslash of the offending escape.
        offset: usize,
    },
    /// A member name appears twice in one object.
    #[error("Duplicate member \"{name}\" at {path}: a member name may appear only once in an object.")]
    DuplicateMember {
        /// The repeated name (truncated and escaped for display).
        name: String,
        /// JSON path of the repeated member, e.g. `Operations[0].value.userName`.
        path: String,
    },
    /// ([`parse_scim`] only) Two member names of one object differ only in ASCII case.
    #[error(
        "Member \"{name}\" at {path} repeats \"{first}\": SCIM attribute names are case-insensitive, so each may \
         appear only once in an object."
    )]
    CaseVariantMember {
        /// The later name (truncated and escaped for display).
        name: String,
        /// The earlier name it repeats.
        first: String,
        /// JSON path of the later member.
        path: String,
    },
    /// Arrays and objects nest deeper than [`MAX_DEPTH`].
    #[error("The request body nests arrays and objects deeper than {max} levels (at {path}).")]
    TooDeep {
        /// The limit, [`MAX_DEPTH`].
        max: usize,
        /// JSON path of the first array or object past the limit.
        path: String,
    },
    /// Something other than whitespace follows the JSON value.
    #[error("The request body has data after the JSON value (line {line}, column {column}).")]
    TrailingCharacters {
        /// 1-based line of the first extra character.
        line: usize,
        /// 1-based column of the first extra character.
        column: usize,
    },
    /// Not JSON: a syntax error, or the body ends early.
    #[error("The request body is not valid JSON: {detail}.")]
    Syntax {
        /// The parser's explanation with its position, e.g. `expected value at line 1 column 1`.
        detail: String,
    },
}

/// How member names of one object must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// Byte-for-byte (RFC 8259 / I-JSON).
    Exact,
    /// Also ignoring ASCII case (SCIM attribute names).
    AsciiCaseInsensitive,
}

/// Parses a request body as strict JSON: no duplicate member names at any depth, no lone surrogates, valid UTF-8,
/// nesting at most [`MAX_DEPTH`], nothing after the value. Otherwise the same `Value` as `serde_json::from_slice`.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, JsonError> {
    parse(bytes, Names::Exact)
}

/// [`parse_strict`], and also refuses member names of one object that differ only in ASCII case
/// ([`JsonError::CaseVariantMember`]). The parser for SCIM request bodies.
pub fn parse_scim(bytes: &[u8]) -> Result<Value, JsonError> {
    parse(bytes, Names::AsciiCaseInsensitive)
}

fn parse(bytes: &[u8], names: Names) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(bytes).map_err(|e| JsonError::InvalidUtf8 { offset: e.valid_up_to() })?;
    escapes::check_surrogates(text)?;
    let state = seed::State::new(names);
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed::ValueSeed::root(&state)
        .deserialize(&mut de)
        .map_err(|e| state.take_failure().unwrap_or_else(|| JsonError::Syntax { detail: e.to_string() }))?;
    de.end().map_err(|e| JsonError::TrailingCharacters { line: e.line(), column: e.column() })?;
    Ok(value)
}
