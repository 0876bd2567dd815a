//! Sealed pagination cursors (RFC 9865).
//!
//! A cursor carries where the next page starts (the id after which it begins, or an offset into a sorted result)
//! and when it expires, authenticated with HMAC-SHA-256 under a key derived from the pepper and bound to the
//! directory and to the query it pages (its filter and sort). The client sees an opaque base64url string (RFC 3986
//! unreserved characters only):
//!
//! ```text
//! base64url( version(1) | expiresAt(8, big-endian Unix seconds) | kind(1) | position | tag(32) )
//! tag = HMAC-SHA-256(key, len(directory)(4) | directory | SHA-256(normalised query)(32) | version .. position)
//! ```
//!
//! The directory and the query are not in the token, only in the tag: a cursor presented to another directory or
//! with another filter or sort fails authentication exactly as a forged one does (400 `invalidCursor`), and an
//! authentic cursor past its expiry is 400 `expiredCursor`. Nothing here does I/O.

use super::error::{ScimError, ScimType};
use super::filter::Filter;
use super::sort::Sort;
use crate::auth::Pepper;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// How long an issued cursor stays valid, in seconds (advertised as `cursorTimeout`).
pub const CURSOR_TIMEOUT_SECS: i64 = 600;

const VERSION: u8 = 1;
const KEY_LABEL: &str = "scim-cursor-v1";
const TAG_BYTES: usize = 32;
const HEADER_BYTES: usize = 1 + 8 + 1;
const KIND_AFTER: u8 = 0;
const KIND_OFFSET: u8 = 1;
/// Longest token accepted; real ones are about 100 characters.
const MAX_TOKEN_CHARS: usize = 1024;

/// The cursor-sealing key, derived from the pepper (never the pepper itself). Its `Debug` output is redacted.
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl CursorKey {
    /// The sub-key of `pepper` for cursors.
    pub fn derive(pepper: &Pepper) -> Self {
        Self(pepper.derive_key(KEY_LABEL))
    }
}

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(<redacted>)")
    }
}

/// What a cursor is bound to: a directory and a query (filter and sort, normalised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CursorScope {
    directory: String,
    query: [u8; 32],
}

impl CursorScope {
    /// The scope of a query of `directory`. The filter and sort are compared in canonical form, so spelling
    /// differences (attribute case, spacing, operator case) do not matter; `count` and the attribute selection are
    /// not part of the scope.
    pub fn new(directory: &str, filter: Option<&Filter>, sort: Option<&Sort>) -> Self {
        let mut digest = Sha256::new();
        for part in [filter.map(ToString::to_string), sort.map(ToString::to_string)] {
            match part {
                Some(text) => {
                    digest.update([1]);
                    digest.update((text.len() as u64).to_be_bytes());
                    digest.update(text.as_bytes());
                }
                None => digest.update([0]),
            }
        }
        Self { directory: directory.to_string(), query: digest.finalize().into() }
    }
}

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// After the user with this id, in id order (listing, and filters without `sortBy`).
    After(String),
    /// After this many users of a sorted result.
    Offset(u64),
}

/// Why a presented cursor is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not a cursor this server issued for this directory and query (malformed, forged, tampered with).
    #[error("invalid cursor")]
    Invalid,
    /// An authentic cursor whose time is up.
    #[error("expired cursor")]
    Expired,
}

impl From<CursorError> for ScimError {
    fn from(error: CursorError) -> Self {
        match error {
            CursorError::Invalid => ScimError::bad_request(
                ScimType::InvalidCursor,
                "The cursor is not valid for this query: send an empty cursor for the first page, then the \
                 nextCursor of the previous page, with the same filter and sortBy.",
            ),
            CursorError::Expired => ScimError::bad_request(
                ScimType::ExpiredCursor,
                format!(
                    "The cursor has expired: request the next page within {CURSOR_TIMEOUT_SECS} seconds, or start \
                     again with an empty cursor."
                ),
            ),
        }
    }
}

fn tag(key: &CursorKey, scope: &CursorScope, payload: &[u8]) -> Hmac<Sha256> {
    // HMAC pads a key shorter than the hash's block to the block length with zeros; doing so here gives the very
    // same MAC through the infallible constructor.
    let mut block = [0u8; 64];
    block[..key.0.len()].copy_from_slice(&key.0);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    mac.update(&(scope.directory.len() as u32).to_be_bytes());
    mac.update(scope.directory.as_bytes());
    mac.update(&scope.query);
    mac.update(payload);
    mac
}

/// Seals `position` for `scope`, valid until `expires_at` (Unix seconds).
pub fn seal(key: &CursorKey, scope: &CursorScope, position: &Position, expires_at: i64) -> String {
    let mut payload = Vec::with_capacity(HEADER_BYTES + 40 + TAG_BYTES);
    payload.push(VERSION);
    payload.extend_from_slice(&expires_at.to_be_bytes());
    match position {
        Position::After(id) => {
            payload.push(KIND_AFTER);
            payload.extend_from_slice(id.as_bytes());
        }
        Position::Offset(offset) => {
            payload.push(KIND_OFFSET);
            payload.extend_from_slice(&offset.to_be_bytes());
        }
    }
    let tag = tag(key, scope, &payload).finalize().into_bytes();
    payload.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(payload)
}

/// Opens a cursor presented at `now` (Unix seconds) for `scope`: its position, or why it is refused. The tag is
/// checked (in constant time) before anything else is believed, expiry after it.
pub fn open(key: &CursorKey, scope: &CursorScope, token: &str, now: i64) -> Result<Position, CursorError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(CursorError::Invalid);
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| CursorError::Invalid)?;
    if bytes.len() < HEADER_BYTES + TAG_BYTES {
        return Err(CursorError::Invalid);
    }
    let (payload, presented) = bytes.split_at(bytes.len() - TAG_BYTES);
    tag(key, scope, payload).verify_slice(presented).map_err(|_| CursorError::Invalid)?;

    let (header, data) = payload.split_at(HEADER_BYTES);
    let [version, e0, e1, e2, e3, e4, e5, e6, e7, kind] = header else {
        return Err(CursorError::Invalid);
    };
    if *version != VERSION {
        return Err(CursorError::Invalid);
    }
    if i64::from_be_bytes([*e0, *e1, *e2, *e3, *e4, *e5, *e6, *e7]) <= now {
        return Err(CursorError::Expired);
    }
    match *kind {
        KIND_AFTER if !data.is_empty() => {
            std::str::from_utf8(data).map(|id| Position::After(id.to_string())).map_err(|_| CursorError::Invalid)
        }
        KIND_OFFSET => {
            let offset: [u8; 8] = data.try_into().map_err(|_| CursorError::Invalid)?;
            Ok(Position::Offset(u64::from_be_bytes(offset)))
        }
        _ => Err(CursorError::Invalid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::filter;

    const NOW: i64 = 1_900_000_000;

    fn key() -> CursorKey {
        CursorKey::derive(&Pepper::new(vec![5; 32]).unwrap())
    }

    fn scope(directory: &str, filter_text: Option<&str>) -> CursorScope {
        let filter = filter_text.map(|f| filter::parse(f).unwrap());
        CursorScope::new(directory, filter.as_ref(), None)
    }

    #[test]
    fn round_trips_both_positions() {
        let (key, scope) = (key(), scope("dir-a", None));
        for position in [Position::After("2819c223".into()), Position::Offset(0), Position::Offset(u64::MAX)] {
            let token = seal(&key, &scope, &position, NOW + CURSOR_TIMEOUT_SECS);
            assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{token}");
            assert_eq!(open(&key, &scope, &token, NOW), Ok(position));
        }
    }

    #[test]
    fn expiry_is_checked_after_authenticity() {
        let (key, scope) = (key(), scope("dir-a", None));
        let token = seal(&key, &scope, &Position::After("x".into()), NOW + 10);
        assert_eq!(open(&key, &scope, &token, NOW + 9), Ok(Position::After("x".into())));
        assert_eq!(open(&key, &scope, &token, NOW + 10), Err(CursorError::Expired));
        // An expired cursor from elsewhere is invalid, not expired: nothing in it is believed.
        assert_eq!(open(&key, &self::scope("dir-b", None), &token, NOW + 10), Err(CursorError::Invalid));
    }

    #[test]
    fn cursors_are_bound_to_directory_query_and_key() {
        let key = key();
        let filtered = scope("dir-a", Some("title eq \"Countess\""));
        let token = seal(&key, &filtered, &Position::After("id".into()), NOW + 60);
        // The same query spelled differently is the same scope.
        assert_eq!(
            open(&key, &scope("dir-a", Some("TITLE EQ \"Countess\"")), &token, NOW),
            Ok(Position::After("id".into()))
        );
        for other in [
            scope("dir-b", Some("title eq \"Countess\"")),
            scope("dir-a", Some("title eq \"countess\"")),
            scope("dir-a", None),
        ] {
            assert_eq!(open(&key, &other, &token, NOW), Err(CursorError::Invalid), "{other:?}");
        }
        let sort = crate::scim::sort::Sort::parse("userName", None).unwrap();
        let sorted = CursorScope::new("dir-a", None, Some(&sort));
        let descending = crate::scim::sort::Sort::parse("userName", Some("descending")).unwrap();
        assert_ne!(sorted, CursorScope::new("dir-a", None, Some(&descending)));
        assert_ne!(sorted, scope("dir-a", None));
        let other_key = CursorKey::derive(&Pepper::new(vec![6; 32]).unwrap());
        assert_eq!(open(&other_key, &filtered, &token, NOW), Err(CursorError::Invalid));
    }

    #[test]
    fn forged_and_tampered_cursors_are_invalid() {
        let (key, scope) = (key(), scope("dir-a", None));
        let token = seal(&key, &scope, &Position::Offset(200), NOW + 60);
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).unwrap();
        for i in 0..bytes.len() {
            bytes[i] ^= 1;
            assert_eq!(open(&key, &scope, &URL_SAFE_NO_PAD.encode(&bytes), NOW), Err(CursorError::Invalid), "{i}");
            bytes[i] ^= 1;
        }
        // A longer expiry or another position, without the key, does not verify.
        let mut later = bytes.clone();
        later[1..9].copy_from_slice(&(NOW + 999_999).to_be_bytes());
        assert_eq!(open(&key, &scope, &URL_SAFE_NO_PAD.encode(&later), NOW), Err(CursorError::Invalid));
        for bad in ["", "x", "not base64!", "AAAA", &"A".repeat(2000), &token[..token.len() - 1], &format!("{token}A")]
        {
            assert_eq!(open(&key, &scope, bad, NOW), Err(CursorError::Invalid), "{bad}");
        }
    }

    #[test]
    fn errors_are_rfc_9865_scim_errors() {
        let invalid = ScimError::from(CursorError::Invalid);
        assert_eq!((invalid.status, invalid.scim_type), (400, Some(ScimType::InvalidCursor)));
        assert_eq!(invalid.to_json()["scimType"], "invalidCursor");
        let expired = ScimError::from(CursorError::Expired);
        assert_eq!(expired.to_json()["scimType"], "expiredCursor");
        assert_eq!(format!("{:?}", key()), "CursorKey(<redacted>)");
    }
}
