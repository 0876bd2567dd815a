//! Error types.
//!
//! [`SamlError`] separates input that is not a SAML response at all (the caller answers `400 Bad Request`,
//! see [`SamlError::is_not_saml`]) from responses that were understood and refused (`403 Forbidden`).
//! The messages are meant for logs, not for end users. They never contain key material, and never a value taken
//! from the response that could carry personal data: the checks on the assertion and the envelope use fixed texts
//! (a status code is quoted only by its SAML 2.0 name, such as `AuthnFailed`). Parser and signature-shape errors
//! may name XML constructs or algorithm URIs. [`SamlError::kind`] gives a value-free name for every variant.

/// Why a `SAMLResponse` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    /// The encoded form value is larger than [`crate::MAX_ENCODED_RESPONSE_LEN`]; checked before decoding.
    #[error("SAMLResponse too large: {len} bytes (limit {max})")]
    TooLarge {
        /// Length of the encoded value.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// Not a SAML response at all: not base64, deflated or binary payload, not UTF-8, not well-formed XML,
    /// or a root element other than `samlp:Response`.
    #[error("not a SAML response: {0}")]
    NotSaml(String),

    /// XML features that a SAML response never needs and that only serve attacks: DTDs, entity declarations,
    /// processing instructions, comments, non-UTF-8 encodings, excessive nesting.
    #[error("forbidden XML construct: {0}")]
    ForbiddenXml(&'static str),

    /// The response contains an `EncryptedAssertion` (not supported: the SP has no decryption key).
    #[error("encrypted assertions are not accepted")]
    EncryptedAssertion,

    /// The SAML structure is not the strict shape this SP accepts (wrong namespace, missing or repeated
    /// element, duplicate IDs, several assertions, ...).
    #[error("malformed SAML response: {0}")]
    Malformed(String),

    /// Neither the Response nor the Assertion carries an enveloped signature.
    #[error("the response is not signed")]
    Unsigned,

    /// A signature is present but is not of the accepted form (algorithms, transforms, reference).
    #[error("unsupported signature: {0}")]
    UnsupportedSignature(String),

    /// The signature value does not verify with any of the trusted IdP keys.
    #[error("signature not made by a trusted IdP key")]
    UntrustedSignature,

    /// The digest of the signed element does not match its `DigestValue`: content altered after signing.
    #[error("digest mismatch: the signed element was modified")]
    DigestMismatch,

    /// The top-level `StatusCode` is not `Success`.
    #[error("IdP status is not Success: {0}")]
    Status(String),

    /// `Response/@Destination` is present and differs from the ACS URL.
    #[error("wrong Destination: {0}")]
    Destination(String),

    /// `SubjectConfirmationData/@Recipient` is missing or differs from the ACS URL.
    #[error("wrong or missing Recipient: {0}")]
    Recipient(String),

    /// No `AudienceRestriction`, or one without the SP entity id.
    #[error("audience restriction does not name this SP: {0}")]
    Audience(String),

    /// The issuer is not the configured IdP, or Response and Assertion issuers differ.
    #[error("wrong Issuer: {0}")]
    Issuer(String),

    /// The subject confirmation is not a usable bearer confirmation.
    #[error("subject confirmation: {0}")]
    SubjectConfirmation(String),

    /// `InResponseTo` is inconsistent, or unsigned where it must be signed.
    #[error("InResponseTo: {0}")]
    InResponseTo(String),

    /// A validity window ended (`NotOnOrAfter`, `SessionNotOnOrAfter`), allowing for clock skew.
    #[error("expired: {0}")]
    Expired(String),

    /// A validity window has not started yet (`NotBefore`, `IssueInstant` in the future), allowing for skew.
    #[error("not yet valid: {0}")]
    NotYetValid(String),

    /// `Assertion/@IssueInstant` is older than [`crate::ValidationConfig::max_assertion_age`] plus clock skew.
    #[error("assertion too old: IssueInstant is beyond the maximum assertion age")]
    AssertionTooOld,

    /// A validity window (`Conditions` or `SubjectConfirmationData`) is empty, or longer than
    /// [`crate::ValidationConfig::max_assertion_lifetime`].
    #[error("validity window refused: {0}")]
    ValidityWindow(&'static str),

    /// No `InResponseTo` (unsolicited response) while IdP-initiated sign-in is turned off
    /// ([`crate::ValidationConfig::allow_idp_initiated`]).
    #[error("unsolicited response (no InResponseTo) while IdP-initiated sign-in is turned off")]
    IdpInitiatedDisabled,
}

impl SamlError {
    /// True when the input is not a SAML response at all (answer `400`); false for a refused response (`403`).
    pub fn is_not_saml(&self) -> bool {
        matches!(self, SamlError::TooLarge { .. } | SamlError::NotSaml(_))
    }

    /// The HTTP status an ACS endpoint should answer with: `400` or `403`.
    pub fn http_status(&self) -> u16 {
        if self.is_not_saml() { 400 } else { 403 }
    }

    /// A fixed name for the kind of failure, free of any value taken from the response (for logs that must not
    /// carry assertion contents).
    pub fn kind(&self) -> &'static str {
        match self {
            SamlError::TooLarge { .. } => "too_large",
            SamlError::NotSaml(_) => "not_saml",
            SamlError::ForbiddenXml(_) => "forbidden_xml",
            SamlError::EncryptedAssertion => "encrypted_assertion",
            SamlError::Malformed(_) => "malformed",
            SamlError::Unsigned => "unsigned",
            SamlError::UnsupportedSignature(_) => "unsupported_signature",
            SamlError::UntrustedSignature => "untrusted_signature",
            SamlError::DigestMismatch => "digest_mismatch",
            SamlError::Status(_) => "idp_status",
            SamlError::Destination(_) => "destination",
            SamlError::Recipient(_) => "recipient",
            SamlError::Audience(_) => "audience",
            SamlError::Issuer(_) => "issuer",
            SamlError::SubjectConfirmation(_) => "subject_confirmation",
            SamlError::InResponseTo(_) => "in_response_to",
            SamlError::Expired(_) => "expired",
            SamlError::NotYetValid(_) => "not_yet_valid",
            SamlError::AssertionTooOld => "assertion_too_old",
            SamlError::ValidityWindow(_) => "validity_window",
            SamlError::IdpInitiatedDisabled => "idp_initiated_disabled",
        }
    }
}

/// Errors in the SP's own configuration (trusted certificates, URLs), or while building requests/metadata.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The PEM text holds no `CERTIFICATE` block or cannot be parsed as X.509.
    #[error("invalid certificate: {0}")]
    Certificate(String),

    /// The certificate's key is not RSA, or is too small.
    #[error("unsupported certificate key: {0}")]
    Key(String),

    /// An invalid setting (URL, relay state, ...).
    #[error("invalid setting: {0}")]
    Setting(String),

    /// Serializing a request or metadata failed.
    #[error("serialization failed: {0}")]
    Serialize(String),
}
