//! Trusted IdP signing keys, from the certificates an administrator configured.
//!
//! Only these keys are ever used to verify a signature. A certificate inside the response (`KeyInfo`) is
//! ignored: every configured key is tried in turn, which also covers certificate rotation (configure the old
//! and the new certificate during the overlap).
//!
//! Certificates serve only as key containers: their validity dates, issuer and extensions are not checked
//! (the usual SAML metadata trust model; Okta's signing certificates are self-signed and long-lived).

use rsa::pkcs8::DecodePublicKey;
use rsa::sha2::{Digest, Sha256};
use rsa::traits::PublicKeyParts;
use rsa::{Pkcs1v15Sign, PublicKey as RsaPublicKey};
use x509_cert::Certificate;
use x509_cert::der::{Decode, DecodePem, Encode};

use crate::error::ConfigError;

/// Smallest accepted RSA modulus.
pub const MIN_RSA_BITS: usize = 2048;

const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

/// One trusted IdP signing key.
#[derive(Clone, Debug)]
pub struct TrustedKey {
    key: RsaPublicKey,
    /// SHA-256 of the certificate's DER encoding (for logs and for telling keys apart).
    pub cert_sha256: [u8; 32],
    /// The certificate subject, for logs.
    pub subject: String,
}

impl TrustedKey {
    /// Key size in bits.
    pub fn bits(&self) -> usize {
        self.key.size() * 8
    }

    /// Hex SHA-256 fingerprint of the certificate.
    pub fn fingerprint(&self) -> String {
        self.cert_sha256.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn verify(&self, scheme_sha256: bool, signed_data: &[u8], signature: &[u8]) -> bool {
        let ok = if scheme_sha256 {
            let hashed = Sha256::digest(signed_data);
            self.key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, signature)
        } else {
            let hashed = <sha1::Sha1 as Digest>::digest(signed_data);
            self.key.verify(Pkcs1v15Sign::new::<sha1::Sha1>(), &hashed, signature)
        };
        ok.is_ok()
    }
}

/// The set of keys a directory trusts for its IdP (at least one).
#[derive(Clone, Debug)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
}

impl TrustedKeys {
    /// Parse one or more PEM `CERTIFICATE` blocks (concatenated in one string).
    pub fn from_pem(pem: &str) -> Result<Self, ConfigError> {
        Self::from_pems(&[pem])
    }

    /// Parse several PEM texts, each holding one or more `CERTIFICATE` blocks.
    pub fn from_pems<S: AsRef<str>>(pems: &[S]) -> Result<Self, ConfigError> {
        let mut keys = Vec::new();
        for pem in pems {
            for block in pem_certificate_blocks(pem.as_ref())? {
                let cert = Certificate::from_pem(block.as_bytes())
                    .map_err(|e| ConfigError::Certificate(format!("cannot parse certificate: {e}")))?;
                keys.push(key_from_certificate(&cert)?);
            }
        }
        if keys.is_empty() {
            return Err(ConfigError::Certificate("no CERTIFICATE block found".into()));
        }
        Ok(Self { keys })
    }

    /// Parse a DER-encoded certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, ConfigError> {
        let cert = Certificate::from_der(der)
            .map_err(|e| ConfigError::Certificate(format!("cannot parse certificate: {e}")))?;
        Ok(Self { keys: vec![key_from_certificate(&cert)?] })
    }

    /// Add the keys of another set (e.g. the next certificate during a rotation).
    pub fn extend(&mut self, other: TrustedKeys) {
        self.keys.extend(other.keys);
    }

    /// The keys, in configuration order.
    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// The first key that verifies `signature` over `signed_data`, if any.
    pub(crate) fn verify_any(&self, sha256: bool, signed_data: &[u8], signature: &[u8]) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.verify(sha256, signed_data, signature))
    }
}

fn key_from_certificate(cert: &Certificate) -> Result<TrustedKey, ConfigError> {
    let spki = &cert.tbs_certificate().subject_public_key_info();
    if spki.algorithm.oid.to_string() != RSA_ENCRYPTION_OID {
        return Err(ConfigError::Key(format!("not an RSA key (algorithm {})", spki.algorithm.oid)));
    }
    let spki_der = spki.to_der().map_err(|e| ConfigError::Key(format!("cannot encode key: {e}")))?;
    let key = RsaPublicKey::from_public_key_der(&spki_der)
        .map_err(|e| ConfigError::Key(format!("cannot read RSA key: {e}")))?;
    let bits = key.size() * 8;
    if bits < MIN_RSA_BITS {
        return Err(ConfigError::Key(format!("RSA key of {bits} bits; at least {MIN_RSA_BITS} required")));
    }
    let cert_der = cert.to_der().map_err(|e| ConfigError::Certificate(format!("cannot encode certificate: {e}")))?;
    let cert_sha256: [u8; 32] = Sha256::digest(&cert_der).into();
    Ok(TrustedKey { key, cert_sha256, subject: cert.tbs_certificate().subject().to_string() })
}

/// Split PEM text into its `CERTIFICATE` blocks (other block types are refused: a private key pasted into
/// the certificate field must not go unnoticed).
fn pem_certificate_blocks(pem: &str) -> Result<Vec<String>, ConfigError> {
    const BEGIN: &str = "-----BEGIN ";
    let mut blocks = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let after = &rest[start + BEGIN.len()..];
        let label_end = after.find("-----").ok_or_else(|| ConfigError::Certificate("truncated PEM header".into()))?;
        let label = &after[..label_end];
        if label != "CERTIFICATE" {
            return Err(ConfigError::Certificate(format!("unexpected PEM block {label:?}; expected CERTIFICATE")));
        }
        let end_marker = "-----END CERTIFICATE-----";
        let end = rest[start..]
            .find(end_marker)
            .ok_or_else(|| ConfigError::Certificate("PEM block without END line".into()))?;
        let block_end = start + end + end_marker.len();
        blocks.push(format!("{}\n", &rest[start..block_end]));
        rest = &rest[block_end..];
    }
    Ok(blocks)
}
