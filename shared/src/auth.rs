//! Directory access keys: the Bearer tokens Okta presents.
//!
//! A token reads `fd_<directory>_<key id>_<secret>`. Only the keyed hash of the secret,
//! HMAC-SHA-256 under a pepper kept in Secrets Manager, is stored; the token is shown once at creation.
//! Checking a token against its stored [`KeyRecord`] happens inside the store, in the same round trip as the
//! operation it authorises, so a revoked key stops working at once.

use crate::secret::SecretSource;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

const TOKEN_PREFIX: &str = "fd";
const SECRET_BYTES: usize = 32;
/// Length of directory and key ids: 32 lowercase hex digits.
pub const ID_LEN: usize = 32;

/// The secret key of the access-key HMAC, kept as the HMAC state keyed with it (the key's two padded blocks already
/// hashed, so that each hash costs the message's compressions only). Its `Debug` output is redacted.
#[derive(Clone)]
pub struct Pepper(Hmac<Sha256>);

impl Pepper {
    /// Wraps pepper bytes; at least 32 are required.
    pub fn new(bytes: Vec<u8>) -> Result<Self, AuthError> {
        if bytes.len() < crate::secret::MIN_SECRET_LEN {
            return Err(AuthError::WeakPepper);
        }
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(&bytes).map(Self).map_err(|_| AuthError::WeakPepper)
    }

    /// A fresh random pepper, as text (for local stores and `fd-admin bootstrap`).
    pub fn generate_text() -> String {
        let mut bytes = [0u8; 48];
        rand::rng().fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The keyed hash of a key secret.
    pub fn hash(&self, secret: &str) -> KeyHash {
        let mut mac = self.0.clone();
        mac.update(secret.as_bytes());
        KeyHash(mac.finalize().into_bytes().into())
    }

    /// A sub-key for another purpose, named by `label`: HMAC-SHA-256 of the label under the pepper. Distinct labels
    /// give independent keys, and none of them is the pepper itself.
    pub fn derive_key(&self, label: &str) -> [u8; 32] {
        self.hash(&format!("fd-subkey:{label}")).0
    }
}

impl std::fmt::Debug for Pepper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pepper(<redacted>)")
    }
}

/// Where the pepper comes from (see [`SecretSource`]).
pub type PepperSource = SecretSource<Pepper>;

/// HMAC-SHA-256 of a key secret.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    /// Hex encoding, as stored.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the stored hex encoding.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        fn nibble(digit: u8) -> Option<u8> {
            match digit {
                b'0'..=b'9' => Some(digit - b'0'),
                b'a'..=b'f' => Some(digit - b'a' + 10),
                b'A'..=b'F' => Some(digit - b'A' + 10),
                _ => None,
            }
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
            *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
        }
        Some(Self(out))
    }

    /// Constant-time comparison.
    pub fn matches(&self, other: &KeyHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyHash(<redacted>)")
    }
}

/// Why a request was not authenticated (logged; the client only sees 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    Missing,
    #[error("Authorization header is not a well-formed Bearer access key")]
    Malformed,
    #[error("unknown or revoked access key")]
    Rejected,
    #[error("the pepper must be at least 32 bytes")]
    WeakPepper,
}

/// A stored access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub directory: String,
    pub id: String,
    pub name: String,
    pub hash: KeyHash,
    pub created: String,
    /// RFC 3339 time of revocation, if revoked.
    pub revoked: Option<String>,
}

/// What a request presents: the directory and key it names, and the hash of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub directory: String,
    pub key_id: String,
    pub hash: KeyHash,
}

impl Credential {
    /// Whether the stored key admits this credential: same directory and id, matching hash, not revoked.
    pub fn admitted_by(&self, record: &KeyRecord) -> bool {
        record.directory == self.directory
            && record.id == self.key_id
            && self.admitted_by_stored_key(&record.hash, record.revoked.is_some())
    }

    /// Whether a key found under this credential's own directory and id admits it: matching hash, not revoked.
    pub fn admitted_by_stored_key(&self, hash: &KeyHash, revoked: bool) -> bool {
        !revoked && hash.matches(&self.hash)
    }

    /// Parses an `Authorization` header value and hashes the secret.
    pub fn from_authorization(header: Option<&str>, pepper: &Pepper) -> Result<Self, AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        // Exactly `Bearer <token>`: one space, no surrounding or inner whitespace (nothing is resolved by trimming).
        let (scheme, token) = header.split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.chars().any(char::is_whitespace) {
            return Err(AuthError::Malformed);
        }
        let mut parts = token.splitn(4, '_');
        let (Some(TOKEN_PREFIX), Some(directory), Some(key_id), Some(secret)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AuthError::Malformed);
        };
        if !is_id(directory) || !is_id(key_id) || secret.len() < 32 || secret.len() > 128 {
            return Err(AuthError::Malformed);
        }
        Ok(Self { directory: directory.to_string(), key_id: key_id.to_string(), hash: pepper.hash(secret) })
    }
}

/// A newly issued key: the record to store and the token to show once.
#[derive(Debug)]
pub struct IssuedKey {
    pub record: KeyRecord,
    pub token: String,
}

/// Issues a new key for `directory`.
pub fn issue_key(directory: &str, name: &str, pepper: &Pepper) -> IssuedKey {
    let id = new_id();
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let secret = URL_SAFE_NO_PAD.encode(secret);
    let record = KeyRecord {
        directory: directory.to_string(),
        id: id.clone(),
        name: name.to_string(),
        hash: pepper.hash(&secret),
        created: crate::time::now_rfc3339(),
        revoked: None,
    };
    IssuedKey { token: format!("{TOKEN_PREFIX}_{directory}_{id}_{secret}"), record }
}

/// A fresh directory or key id.
pub fn new_id() -> String {
    random_uuid().simple().to_string()
}

/// A random (version 4) UUID from the thread's CSPRNG (`rand`'s `ThreadRng`, seeded by the OS): no system call
/// per id, unlike `Uuid::new_v4`, which asks the kernel each time.
pub fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// A time-ordered (version 7, RFC 9562) UUID: the current Unix time in milliseconds, then 74 random bits from the
/// thread's CSPRNG. Ids made one after another sort one after another, so an index keyed by them grows at its end.
pub fn time_ordered_uuid() -> uuid::Uuid {
    let millis = u64::try_from(crate::time::now_unix_millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid()
}

/// Whether `s` has the shape of a directory or key id.
pub fn is_id(s: &str) -> bool {
    s.len() == ID_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuids_are_version_4_and_distinct() {
        let ids: std::collections::HashSet<uuid::Uuid> = (0..1000).map(|_| random_uuid()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids {
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
    }

    #[test]
    fn time_ordered_uuids_are_version_7_distinct_and_sort_by_time() {
        let before = time_ordered_uuid();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let batch: Vec<uuid::Uuid> = (0..1000).map(|_| time_ordered_uuid()).collect();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let after = time_ordered_uuid();
        let distinct: std::collections::HashSet<_> = batch.iter().collect();
        assert_eq!(distinct.len(), 1000);
        for id in &batch {
            assert_eq!(id.get_version(), Some(uuid::Version::SortRand));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            // The text form sorts as the time does: what an index over the id column sees.
            assert!(before.to_string() < id.to_string() && id.to_string() < after.to_string(), "{before} {id} {after}");
        }
        let (seconds, _) = before.get_timestamp().unwrap().to_unix();
        assert!(seconds.abs_diff(crate::time::now_unix_millis() as u64 / 1000) <= 5);
    }

    const PEPPER_BYTES: [u8; 32] = [7; 32];

    fn pepper() -> Pepper {
        Pepper::new(PEPPER_BYTES.to_vec()).unwrap()
    }

    #[test]
    fn issued_token_is_admitted_and_others_are_not() {
        let dir = new_id();
        let issued = issue_key(&dir, "Okta", &pepper());
        let header = format!("Bearer {}", issued.token);
        let cred = Credential::from_authorization(Some(&header), &pepper()).unwrap();
        assert!(cred.admitted_by(&issued.record));

        let mut revoked = issued.record.clone();
        revoked.revoked = Some(crate::time::now_rfc3339());
        assert!(!cred.admitted_by(&revoked));

        let other_pepper = Pepper::new(vec![8; 32]).unwrap();
        let cred2 = Credential::from_authorization(Some(&header), &other_pepper).unwrap();
        assert!(!cred2.admitted_by(&issued.record));

        let mut other_dir = issued.record.clone();
        other_dir.directory = new_id();
        assert!(!cred.admitted_by(&other_dir));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let p = pepper();
        let dir = new_id();
        let key = new_id();
        let secret = "s".repeat(43);
        assert_eq!(Credential::from_authorization(None, &p), Err(AuthError::Missing));
        for bad in [
            String::new(),
            "Bearer".into(),
            format!("Basic fd_{dir}_{key}_{secret}"),
            format!("Bearer xx_{dir}_{key}_{secret}"),
            format!("Bearer fd_{dir}_{key}"),
            format!("Bearer fd_{dir}_{key}_short"),
            format!("Bearer fd_NOTHEX_{key}_{secret}"),
            // Whitespace is never trimmed away: one space after the scheme, none in or around the token.
            format!("Bearer   fd_{dir}_{key}_{secret}"),
            format!(" Bearer fd_{dir}_{key}_{secret}"),
            format!("Bearer fd_{dir}_{key}_{secret} "),
            format!("Bearer fd_{dir}_{key}_{secret}\t"),
            format!("Bearer\tfd_{dir}_{key}_{secret}"),
        ] {
            assert_eq!(Credential::from_authorization(Some(&bad), &p), Err(AuthError::Malformed), "{bad}");
        }
        let ok = format!("bearer fd_{dir}_{key}_{secret}");
        assert!(Credential::from_authorization(Some(&ok), &p).is_ok());
    }

    #[test]
    fn hashes_round_trip_hex_and_debug_is_redacted() {
        let h = pepper().hash("secret");
        assert_eq!(KeyHash::from_hex(&h.to_hex()), Some(h));
        assert!(KeyHash::from_hex("zz").is_none());
        assert_eq!(KeyHash::from_hex(&h.to_hex().to_uppercase()), Some(h));
        let known = KeyHash::from_hex(&"0f".repeat(32)).unwrap();
        assert_eq!(known.0, [0x0f; 32]);
        for bad in ["g", "+", " ", "é"] {
            let text = format!("{bad}{}", &"0".repeat(64)[bad.len()..]);
            assert!(KeyHash::from_hex(&text).is_none(), "{text}");
        }
        assert_eq!(format!("{h:?}"), "KeyHash(<redacted>)");
        assert_eq!(format!("{:?}", pepper()), "Pepper(<redacted>)");
        assert!(Pepper::new(vec![1; 8]).is_err());
    }

    #[test]
    fn derived_keys_are_distinct_per_label_and_pepper() {
        let p = pepper();
        assert_eq!(p.derive_key("a"), p.derive_key("a"));
        assert_ne!(p.derive_key("a"), p.derive_key("b"));
        assert_ne!(p.derive_key("a"), Pepper::new(vec![8; 32]).unwrap().derive_key("a"));
        assert_ne!(&p.derive_key("a")[..], &PEPPER_BYTES[..]);
    }

    /// RFC 4231 test cases 6 and 7 (a key longer than the block), through the kept keyed state, twice each: the
    /// state is not consumed by a hash.
    #[test]
    fn hashes_are_hmac_sha256() {
        let p = Pepper::new(vec![0xaa; 131]).unwrap();
        for _ in 0..2 {
            assert_eq!(
                p.hash("Test Using Larger Than Block-Size Key - Hash Key First").to_hex(),
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            );
            assert_eq!(
                p.hash(
                    "This is a test using a larger than block-size key and a larger than block-size data. The key \
                     needs to be hashed before being used by the HMAC algorithm."
                )
                .to_hex(),
                "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"
            );
        }
    }
}
