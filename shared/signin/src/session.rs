//! The `fd_session` cookie: who signed in to which directory, until when, under an HMAC-SHA-256 tag.
//!
//! Value: `v1.<directory>.<user id, base64url>.<expiry, Unix seconds>.<tag, base64url>`, the tag covering
//! everything before it. The cookie carries no personal data beyond the user's opaque id, and the user is
//! looked up again (and must still be active) on every request that presents it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fd_shared::secret::MIN_SECRET_LEN;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Cookie name.
pub const COOKIE_NAME: &str = "fd_session";
/// How long a session lasts.
pub const SESSION_LIFETIME: time::Duration = time::Duration::hours(8);
const VERSION: &str = "v1";
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
        // HMAC accepts keys of any length; the fallback is unreachable.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return [0; 32];
        };
        mac.update(b"fd_session\0");
        mac.update(signed.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(<redacted>)")
    }
}

/// A signed-in user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub directory: String,
    pub user_id: String,
    /// Unix seconds.
    pub expires_at: i64,
}

impl Session {
    /// The cookie value for this session.
    pub fn seal(&self, key: &SessionKey) -> String {
        let signed = format!(
            "{VERSION}.{}.{}.{}",
            self.directory,
            URL_SAFE_NO_PAD.encode(self.user_id.as_bytes()),
            self.expires_at
        );
        let tag = URL_SAFE_NO_PAD.encode(key.tag(&signed));
        format!("{signed}.{tag}")
    }

    /// The session in a cookie value, if its tag is right and it has not expired at `now` (Unix seconds).
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
        let (Some(VERSION), Some(directory), Some(user), Some(expires), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let user_id = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
        let expires_at: i64 = expires.parse().ok()?;
        (now < expires_at).then(|| Self { directory: directory.to_string(), user_id, expires_at })
    }

    /// The `Set-Cookie` header value that stores this session in the browser.
    pub fn set_cookie(&self, key: &SessionKey, now: i64) -> String {
        let max_age = (self.expires_at - now).max(0);
        format!("{COOKIE_NAME}={}; Max-Age={max_age}; Path=/; HttpOnly; Secure; SameSite=Lax", self.seal(key))
    }
}

/// The `fd_session` value in a `Cookie` header (the first one, if a browser sent several).
pub fn cookie_value(cookie_header: &str) -> Option<&str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(byte: u8) -> SessionKey {
        SessionKey::new(vec![byte; 32]).unwrap()
    }

    fn session() -> Session {
        Session { directory: "0123456789abcdef0123456789abcdef".into(), user_id: "u-1".into(), expires_at: 1000 }
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
        for forged in [other_user, longer, other_dir, format!("{value}x"), String::new(), "v1.a.b.c".into()] {
            assert_eq!(Session::open(&forged, &key(1), 999), None, "{forged}");
        }
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
        assert!(SessionKey::new(vec![0; 31]).is_err());
        assert_eq!(format!("{:?}", key(1)), "SessionKey(<redacted>)");
    }
}
