//! The `fd_session` cookie: a reference to a session kept on the server, sealed under an HMAC-SHA-256 tag.
//!
//! Value: `v2.<directory>.<user id, base64url>.<session id>.<expiry, Unix seconds>.<tag, base64url>`, the tag
//! covering everything before it. The tag lets a forged or altered cookie be refused without a store read; the
//! session itself lives in the store ([`fd_shared::store::SessionStore`], under the SHA-256 of its id), so it can
//! be ended there (sign out, "end session", deactivation) and the cookie then opens nothing. The cookie carries
//! no personal data beyond the user's opaque id, and the user is looked up again (and must still be active) on
//! every request that presents it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fd_shared::secret::MIN_SECRET_LEN;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Cookie name.
pub const COOKIE_NAME: &str = "fd_session";
/// How long a session lasts at most, however active.
pub const SESSION_LIFETIME: time::Duration = time::Duration::hours(8);
/// How long a session lasts without a request.
pub const IDLE_TIMEOUT: time::Duration = time::Duration::hours(1);
const VERSION: &str = "v2";
/// Longest cookie value looked at.
const MAX_VALUE_LEN: usize = 512;

/// The session-signing key (from Secrets Manager in Lambda). Its `Debug` output is redacted.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

/// A key too short to sign sessions.
#[derive(Debug, thiserror::Error)]
#[error("the session key must be at least {MIN_SECRET_LEN} bytes")]
pub struct WeakSessionKey;

impl SessionKey {
    /// A key from secret text (at least [`MIN_SECRET_LEN`] bytes).
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, WeakSessionKey> {
        let bytes = secret.into();
        if bytes.len() < MIN_SECRET_LEN { Err(WeakSessionKey) } else { Ok(Self(bytes)) }
    }

    fn tag(&self, signed: &str) -> [u8; 32] {
        self.mac(b"fd_session\0", signed)
    }

    /// HMAC-SHA-256 of `text` under the key, for the purpose named by `label`.
    fn mac(&self, label: &[u8], text: &str) -> [u8; 32] {
        // HMAC accepts keys of any length; the fallback is unreachable.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        mac.update(label);
        mac.update(text.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// A reference to a server-side session, as the cookie carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The directory the user signed in through.
    pub directory: String,
    /// The user's id.
    pub user_id: String,
    /// The session id (random, 256 bits, base64url); the store keeps only its hash.
    pub id: String,
    /// Unix seconds: when the cookie stops opening, whatever the store says.
    pub expires_at: i64,
}

impl Session {
    /// A new session with a fresh random id.
    pub fn new(directory: &str, user_id: &str, expires_at: i64) -> Self {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        Self { directory: directory.into(), user_id: user_id.into(), id: URL_SAFE_NO_PAD.encode(bytes), expires_at }
    }

    /// The hash the store keeps the session under.
    pub fn id_hash(&self) -> String {
        id_hash(&self.id)
    }

    /// The cookie value.
    pub fn seal(&self, key: &SessionKey) -> String {
        let signed = format!(
            "{VERSION}.{}.{}.{}.{}",
            self.directory,
            URL_SAFE_NO_PAD.encode(self.user_id.as_bytes()),
            self.id,
            self.expires_at
        );
        let tag = URL_SAFE_NO_PAD.encode(key.tag(&signed));
        format!("{signed}.{tag}")
    }

    /// Opens a cookie value sealed with `key`: `None` if it is malformed, forged, altered or expired at `now`.
    pub fn open(value: &str, key: &SessionKey, now: i64) -> Option<Self> {
        if value.len() > MAX_VALUE_LEN {
            return None;
        }
        let (signed, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if !bool::from(tag.ct_eq(&key.tag(signed))) {
            return None;
        }
        let mut parts = signed.split('.');
        let (Some(VERSION), Some(directory), Some(user), Some(id), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let user_id = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
        let expires_at: i64 = expires.parse().ok()?;
        (now < expires_at).then(|| Self { directory: directory.to_string(), user_id, id: id.to_string(), expires_at })
    }

    /// The `Set-Cookie` header value that stores the session in the browser.
    pub fn set_cookie(&self, key: &SessionKey, now: i64) -> String {
        let max_age = (self.expires_at - now).max(0);
        format!("{COOKIE_NAME}={}; Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Lax", self.seal(key))
    }

    /// The CSRF token of this session: bound to it, useless with any other.
    pub fn csrf_token(&self, key: &SessionKey) -> String {
        URL_SAFE_NO_PAD.encode(key.mac(b"fd_csrf\0", &self.id))
    }

    /// Whether `token` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, key: &SessionKey, token: &str) -> bool {
        bool::from(self.csrf_token(key).as_bytes().ct_eq(token.as_bytes()))
    }
}

/// Cookie carrying an outstanding AuthnRequest from `GET /saml/{directory}/login` to the ACS.
pub const REQUEST_COOKIE_NAME: &str = "fd_saml_request";
const REQUEST_VERSION: &str = "r1";

/// An AuthnRequest this browser started (SP-initiated sign-in), sealed in a short-lived cookie instead of a store
/// item: starting a sign-in writes nothing, and the answer must come back to the same browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutstandingRequest {
    /// The directory signed in to.
    pub directory: String,
    /// The AuthnRequest's `ID`.
    pub request_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl OutstandingRequest {
    fn signed(&self) -> String {
        format!("{REQUEST_VERSION}.{}.{}.{}", self.directory, self.request_id, self.expires_at)
    }

    /// The `Set-Cookie` value: only sent back to this directory's ACS, `SameSite=None` because the IdP's page posts
    /// the answer from another site.
    pub fn set_cookie(&self, key: &SessionKey, now: i64) -> String {
        let signed = self.signed();
        let tag = URL_SAFE_NO_PAD.encode(key.mac(b"fd_saml_request\0", &signed));
        let max_age = (self.expires_at - now).max(0);
        format!(
            "{REQUEST_COOKIE_NAME}={signed}.{tag}; Max-Age={max_age}; Path=/saml/{}/acs; HttpOnly; Secure; SameSite=None",
            self.directory
        )
    }

    /// The `Set-Cookie` value removing the cookie of `directory`'s ACS.
    pub fn clear_cookie(directory: &str) -> String {
        format!("{REQUEST_COOKIE_NAME}=; Max-Age=0; Path=/saml/{directory}/acs; HttpOnly; Secure; SameSite=None")
    }

    /// Opens the cookie from a `Cookie` header: `None` if absent, repeated, forged or expired at `now`.
    pub fn open(cookie_header: &str, key: &SessionKey, now: i64) -> Option<Self> {
        let mut values = cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == REQUEST_COOKIE_NAME)
            .map(|(_, value)| value);
        let value = values.next()?;
        if values.next().is_some() || value.len() > MAX_VALUE_LEN {
            return None;
        }
        let (signed, tag) = value.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if !bool::from(tag.ct_eq(&key.mac(b"fd_saml_request\0", signed))) {
            return None;
        }
        let mut parts = signed.split('.');
        let (Some(REQUEST_VERSION), Some(directory), Some(request_id), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let expires_at: i64 = expires.parse().ok()?;
        (now < expires_at).then(|| Self {
            directory: directory.to_string(),
            request_id: request_id.to_string(),
            expires_at,
        })
    }
}

/// A short description of a browser from its `User-Agent` ("Firefox on Linux"), to tell sessions apart.
pub fn device_label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or_default();
    let has = |needle: &str| ua.contains(needle);
    let browser = if has("Edg/") {
        "Edge"
    } else if has("Firefox/") {
        "Firefox"
    } else if has("Chrome/") || has("Chromium/") {
        "Chrome"
    } else if has("Safari/") {
        "Safari"
    } else {
        "A browser"
    };
    let system = if has("iPhone") || has("iPad") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("Windows") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Linux") {
        "Linux"
    } else {
        "an unknown system"
    };
    format!("{browser} on {system}")
}

/// The `Set-Cookie` header value that removes the session cookie.
pub fn clear_cookie() -> String {
    format!("{COOKIE_NAME}=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax")
}

/// The hash a session id is kept under: SHA-256, hex.
pub fn id_hash(id: &str) -> String {
    use sha2::Digest as _;
    Sha256::digest(id.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `fd_session` value in a `Cookie` header; `None` when there is none, or more than one (a second cookie of
/// the same name is never resolved by position).
pub fn cookie_value(cookie_header: &str) -> Option<&str> {
    let mut values = cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim_matches('"'));
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(byte: u8) -> SessionKey {
        SessionKey::new(vec![byte; 32]).unwrap()
    }

    fn session() -> Session {
        Session {
            directory: "0123456789abcdef0123456789abcdef".into(),
            user_id: "u-1".into(),
            id: "c2Vzc2lvbi1pZA".into(),
            expires_at: 1000,
        }
    }

    #[test]
    fn sealed_sessions_open_with_their_key_until_they_expire() {
        let value = session().seal(&key(1));
        assert_eq!(Session::open(&value, &key(1), 999), Some(session()));
        assert_eq!(Session::open(&value, &key(1), 1000), None, "expired");
        assert_eq!(Session::open(&value, &key(2), 999), None, "another key");
    }

    #[test]
    fn tampering_is_detected() {
        let value = session().seal(&key(1));
        let other_user = value.replacen(&URL_SAFE_NO_PAD.encode("u-1"), &URL_SAFE_NO_PAD.encode("u-2"), 1);
        let longer = value.replacen(".1000.", ".99999999.", 1);
        let other_dir = value.replacen("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", 1);
        let other_id = value.replacen("c2Vzc2lvbi1pZA", "b3RoZXItaWQ", 1);
        for forged in [other_user, longer, other_dir, other_id, format!("{value}x"), String::new(), "v1.a.b.c".into()] {
            assert_eq!(Session::open(&forged, &key(1), 999), None, "{forged}");
        }
    }

    #[test]
    fn outstanding_requests_travel_sealed() {
        let request = OutstandingRequest {
            directory: "0123456789abcdef0123456789abcdef".into(),
            request_id: "id0123abcd".into(),
            expires_at: 1000,
        };
        let set = request.set_cookie(&key(1), 400);
        assert!(set.contains("Path=/saml/0123456789abcdef0123456789abcdef/acs") && set.contains("SameSite=None"));
        let header = set.split(';').next().unwrap_or_default();
        assert_eq!(OutstandingRequest::open(header, &key(1), 999), Some(request.clone()));
        assert_eq!(OutstandingRequest::open(header, &key(1), 1000), None, "expired");
        assert_eq!(OutstandingRequest::open(header, &key(2), 999), None, "another key");
        assert_eq!(OutstandingRequest::open(&header.replace("id0123abcd", "id9999"), &key(1), 999), None, "altered");
        assert_eq!(OutstandingRequest::open(&format!("{header}; {header}"), &key(1), 999), None, "repeated");
        assert_eq!(OutstandingRequest::open("a=b", &key(1), 999), None);
    }

    #[test]
    fn csrf_tokens_are_bound_to_their_session() {
        let token = session().csrf_token(&key(1));
        assert!(session().csrf_matches(&key(1), &token));
        let other = Session { id: "b3RoZXItaWQ".into(), ..session() };
        assert!(!other.csrf_matches(&key(1), &token));
        assert!(!session().csrf_matches(&key(2), &token));
        assert!(!session().csrf_matches(&key(1), ""));
        let fresh = Session::new("d", "u", 10);
        assert_eq!(fresh.id.len(), 43);
        assert_ne!(fresh.id, Session::new("d", "u", 10).id);
        assert_eq!(fresh.id_hash().len(), 64);
    }

    #[test]
    fn cookie_header_and_set_cookie() {
        let set = session().set_cookie(&key(1), 400);
        assert!(set.starts_with("fd_session="));
        for attribute in ["Max-Age=600", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"] {
            assert!(set.split("; ").any(|a| a == attribute), "{attribute} in {set}");
        }
        assert_eq!(cookie_value("a=1; fd_session=abc.def; b=2"), Some("abc.def"));
        assert_eq!(cookie_value("a=1"), None);
        assert_eq!(cookie_value("fd_session=a; fd_session=b"), None, "two cookies are refused, not resolved");
        assert!(clear_cookie().contains("Max-Age=0"));
        assert!(SessionKey::new(vec![0; 31]).is_err());
        assert_eq!(format!("{:?}", key(1)), "SessionKey(<redacted>)");
    }
}
