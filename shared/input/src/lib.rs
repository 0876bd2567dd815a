//! `fd-input`: what input is acceptable, decided once (pure, no I/O).
//!
//! Three rules, applied in this order to every SCIM request and SAML sign-in:
//!
//! 1. [`json`]: every request body is parsed by [`json::parse_strict`] (or [`json::parse_scim`]), which refuses
//!    duplicate member names at any depth, lone surrogates, invalid UTF-8, nesting deeper than
//!    [`json::MAX_DEPTH`] and trailing data. Errors map to 400 `invalidSyntax`.
//! 2. [`text`]: every string attribute is checked by [`text::check_string`] (or a whole document by
//!    [`text::check_json_strings`]): no C0/C1 controls, DEL or Unicode noncharacters, except TAB and LF in multi-line
//!    attributes. Errors map to 400 `invalidValue`.
//! 3. [`identity`]: a userName (and a SAML NameID) must be a PRECIS identifier (RFC 8265, no mapping applied), and
//!    two valid userNames are the same user exactly when their [`identity::identity_key`]s are equal. Errors map to
//!    400 `invalidValue`.
//!
//! Error messages name attributes, JSON paths and code points (`U+212A`), never the offending value; names taken
//! from the input are truncated and escaped (see [`NAME_DISPLAY_CHARS`]).
#![forbid(unsafe_code)]

mod display;
pub mod identity;
pub mod json;
pub mod text;

pub use display::{CodePoint, NAME_DISPLAY_CHARS};
pub use identity::{IdentityError, Reason, check_user_name, identity_key, same_identity};
pub use json::{JsonError, MAX_DEPTH, parse_scim, parse_strict};
pub use text::{TextError, check_json_strings, check_string, is_multiline_attribute};
