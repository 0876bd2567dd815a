//! One rule for who a userName is: used for userName uniqueness, `userName eq` filters and the SAML sign-in match.
//!
//! # Which values are userNames
//!
//! A userName (and a SAML NameID matched against userNames) is valid when, **exactly as sent** (no trimming, no width
//! mapping, no normalization first):
//! 1. it is not empty;
//! 2. every code point is allowed by the PRECIS IdentifierClass (RFC 8264 §4.2, the base of the RFC 8265 username
//!    profiles), by the derived property tables of the IANA PRECIS registry (Unicode 6.3): printable ASCII except
//!    space (`U+0021`–`U+007E`, so `@ . + - _ '` are fine), and letters, digits and combining marks of any script
//!    that are not compatibility characters; `CONTEXTO` characters (`·` between two `l`, Greek keraia, Hebrew
//!    geresh, …) only where RFC 5892's context rules allow them;
//! 3. it has no ZERO WIDTH JOINER / NON-JOINER (U+200D, U+200C), which PRECIS allows after a virama: this rule is
//!    stricter and refuses every invisible character;
//! 4. if it contains right-to-left characters, it satisfies the Bidi Rule of RFC 5893 (RFC 8265 §3.3.3).
//!
//! So refused are, among others: any whitespace (leading, trailing or inner, NBSP included), controls (TAB, LF,
//! NUL, …), invisible and format characters (ZERO WIDTH SPACE, SOFT HYPHEN, RLM, …), compatibility characters
//! (KELVIN SIGN `U+212A`, fullwidth `ｋ`, ligatures like `ﬁ`), symbols and punctuation outside ASCII (`’`, `–`,
//! emoji), code points unassigned in Unicode 6.3, and decomposed Hangul (conjoining jamo; precomposed syllables are
//! fine). The error names the code point and its class, never the value.
//!
//! # When two userNames are the same user
//!
//! Two valid userNames are the same user exactly when their keys are equal, where
//! `key(x) = NFC(toCasefold(NFD(x)))`: canonical caseless matching (Unicode §3.13, D145) with full case folding
//! (`CaseFolding.txt`, statuses C and F), written in NFC. This is "NFC, then full case folding", with the NFD before
//! folding that Unicode requires for the few characters (U+0345 and those containing it) where folding and
//! normalization interact. Consequences:
//! - `josé` with `é` precomposed (U+00E9) or decomposed (`e` U+0301) is one user;
//! - `KIM@example.com` and `kim@example.com` are one user (any case, any script with case);
//! - `ß`, `ẞ`, `ss` and `SS` fold alike: `straße@example.com` and `strasse@example.com` are one user (the second is
//!   a uniqueness conflict, and either NameID signs in as the stored one); `ς`, `σ` and `Σ` likewise;
//! - folding is not Turkic: `ı` (dotless) differs from `i`, and `İ` (U+0130) folds to `i` + U+0307, not to `i`.
//!
//! A SAML NameID signs in as a user only if it is valid and its key equals the stored userName's key; an invalid
//! value matches no user, and a `userName eq` filter with an invalid value matches nothing.
//!
//! Keys are stable: the userName is stored as sent, and its key depends only on Unicode normalization and case
//! folding, which the Unicode stability policy freezes for assigned characters, and valid userNames hold only
//! characters assigned in Unicode 6.3.
//!
//! # Out of scope
//!
//! Look-alikes are not the same user: mixed-script confusables (Cyrillic `і` U+0456 in a Latin name, Greek `ο` for
//! Latin `o`), whole-script homographs and visually similar sequences (`rn` and `m`) are distinct userNames. The
//! identity provider owns that policy.

#[cfg(test)]
mod tests;

use crate::display::CodePoint;
use caseless::Caseless;
use precis_core::profile::Profile;
use precis_core::{CodepointInfo, DerivedPropertyValue, IdentifierClass, StringClass, UnexpectedError};
use precis_profiles::UsernameCasePreserved;
use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Why a value is not a valid userName. Every variant is a SCIM 400 `invalidValue`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// The value is empty.
    #[error("userName must not be empty.")]
    Empty,
    /// A code point is not allowed.
    #[error(
        "userName contains {code_point} (character {position}), which is not allowed: {reason}. A userName must be \
         a PRECIS identifier (RFC 8265)."
    )]
    Disallowed {
        /// The first offending code point.
        code_point: CodePoint,
        /// Its 1-based position, in characters.
        position: usize,
        /// Its class.
        reason: Reason,
    },
    /// Right-to-left text that breaks the Bidi Rule.
    #[error(
        "userName mixes right-to-left and left-to-right characters in a way the Bidi Rule of RFC 5893 does not \
         allow (RFC 8265)."
    )]
    Bidi,
    /// The PRECIS implementation could not decide (not expected to happen).
    #[error("userName could not be checked as a PRECIS identifier (RFC 8265).")]
    Unverifiable,
}

/// The class of a code point refused in a userName.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Whitespace anywhere (space, NBSP, ideographic space, …).
    Whitespace,
    /// A control character (TAB, LF, NUL, …).
    Control,
    /// An invisible or format character (zero-width space or joiner, soft hyphen, direction marks, …).
    Invisible,
    /// A compatibility character: one that NFKC would change (fullwidth forms, ligatures, KELVIN SIGN, …).
    Compatibility,
    /// A code point unassigned in Unicode 6.3, the version of the PRECIS tables.
    Unassigned,
    /// A `CONTEXTO` character outside the context RFC 5892 allows it in.
    Context,
    /// Anything else the IdentifierClass excludes: symbols and punctuation outside ASCII, noncharacters, conjoining
    /// Hangul jamo, ….
    NotIdentifier,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Reason::Whitespace => "whitespace",
            Reason::Control => "a control character",
            Reason::Invisible => {
                "an invisible or format character (zero-width character, soft hyphen, direction mark, …)"
            }
            Reason::Compatibility => {
                "a compatibility character (fullwidth form, ligature, KELVIN SIGN, …); use the ordinary character"
            }
            Reason::Unassigned => "a code point unassigned in Unicode 6.3, the version of the PRECIS tables",
            Reason::Context => "a character allowed only in specific contexts, which this value does not provide",
            Reason::NotIdentifier => {
                "a character PRECIS identifiers exclude (symbols and punctuation outside ASCII, emoji, …)"
            }
        })
    }
}

/// Checks that `value` is a valid userName (see the module docs), as provisioning requires.
pub fn check_user_name(value: &str) -> Result<(), IdentityError> {
    if is_printable_ascii(value) {
        return Ok(());
    }
    check_with_precis(value)
}

/// Whether `value` is non-empty printable ASCII without space (U+0021 to U+007E), as most userNames are. Every such
/// value is valid (PRECIS's `ASCII7` code points are all PVALID, and none is right-to-left), its NFD and NFC are
/// itself, and its full case folding is its ASCII lowercase: the fast path of [`check_user_name`] and
/// [`identity_key`], shown equal to the full path by the tests.
fn is_printable_ascii(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// [`check_user_name`] through the PRECIS tables, for any value.
fn check_with_precis(value: &str) -> Result<(), IdentityError> {
    if value.is_empty() {
        return Err(IdentityError::Empty);
    }
    IdentifierClass::default().allows(value).map_err(refusal)?;
    // PRECIS allows ZWJ and ZWNJ after a virama; this rule does not.
    if let Some((index, c)) = value.chars().enumerate().find(|&(_, c)| is_join_control(c)) {
        return Err(IdentityError::Disallowed {
            code_point: CodePoint(c),
            position: index + 1,
            reason: Reason::Invisible,
        });
    }
    // Adds the Bidi Rule. Width mapping is a no-op here: characters with a width mapping are compatibility
    // characters, which the IdentifierClass check above refused.
    UsernameCasePreserved::new().enforce(value).map_err(|e| match e {
        precis_core::Error::Invalid => IdentityError::Bidi,
        other => refusal(other),
    })?;
    Ok(())
}

/// The comparison key of a valid userName: `NFC(toCasefold(NFD(user_name)))`. Two valid userNames are the same user
/// exactly when their keys are equal; store it for uniqueness and look users up by it.
pub fn identity_key(user_name: &str) -> Result<String, IdentityError> {
    if is_printable_ascii(user_name) {
        return Ok(user_name.to_ascii_lowercase());
    }
    identity_key_with_precis(user_name)
}

/// [`identity_key`] through the PRECIS tables and Unicode folding, for any value.
fn identity_key_with_precis(user_name: &str) -> Result<String, IdentityError> {
    check_with_precis(user_name)?;
    Ok(fold(user_name))
}

/// Whether `a` and `b` are the same user: both valid and with equal [`identity_key`]s. False if either is invalid.
pub fn same_identity(a: &str, b: &str) -> bool {
    match (identity_key(a), identity_key(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Canonical caseless form: NFD, full case folding, NFC.
fn fold(value: &str) -> String {
    value.nfd().default_case_fold().nfc().collect()
}

fn is_join_control(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

fn refusal(error: precis_core::Error) -> IdentityError {
    let info = match error {
        precis_core::Error::BadCodepoint(info)
        | precis_core::Error::Unexpected(
            UnexpectedError::ContextRuleNotApplicable(info) | UnexpectedError::MissingContextRule(info),
        ) => info,
        precis_core::Error::Invalid
        | precis_core::Error::Unexpected(UnexpectedError::ProfileRuleNotApplicable | UnexpectedError::Undefined) => {
            return IdentityError::Unverifiable;
        }
    };
    let CodepointInfo { cp, position, property } = info;
    match char::from_u32(cp) {
        Some(c) => IdentityError::Disallowed {
            code_point: CodePoint(c),
            position: position + 1,
            reason: classify(c, property),
        },
        None => IdentityError::Unverifiable,
    }
}

/// The class of a code point the IdentifierClass refused, from its derived property and Unicode properties.
fn classify(c: char, property: DerivedPropertyValue) -> Reason {
    if property == DerivedPropertyValue::Unassigned {
        Reason::Unassigned
    } else if c.is_control() {
        Reason::Control
    } else if c.is_whitespace() {
        Reason::Whitespace
    } else if is_join_control(c) {
        Reason::Invisible
    } else if crate::text::is_noncharacter(c) || is_conjoining_jamo(c) {
        Reason::NotIdentifier
    } else if property == DerivedPropertyValue::Disallowed {
        // What remains of DISALLOWED: default-ignorable code points (format characters and the like).
        Reason::Invisible
    } else if !std::iter::once(c).nfkc().eq(std::iter::once(c)) {
        Reason::Compatibility
    } else if matches!(property, DerivedPropertyValue::ContextO | DerivedPropertyValue::ContextJ) {
        Reason::Context
    } else {
        Reason::NotIdentifier
    }
}

/// Hangul Jamo, Hangul Jamo Extended-A and -B (PRECIS "OldHangulJamo").
fn is_conjoining_jamo(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{11FF}' | '\u{A960}'..='\u{A97F}' | '\u{D7B0}'..='\u{D7FF}')
}
