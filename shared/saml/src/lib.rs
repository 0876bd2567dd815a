//! `fd-saml`: the pure (no I/O, no clock) SAML 2.0 service-provider core of Federated Directory.
//!
//! * [`validate_response`]: the ACS input path. Takes the HTTP-POST binding `SAMLResponse` value, verifies
//!   the enveloped XML signature(s) with the directory's trusted IdP certificates only, re-parses exactly
//!   the signed octets, reads every value namespace-aware from them, and checks status, destination,
//!   recipient, audience, issuer, bearer confirmation, validity windows, assertion age and lifetime against
//!   the `now` passed in (and, when configured, refuses IdP-initiated responses). Returns a
//!   [`VerifiedAssertion`] whose every field comes from signed content. The caller still has to check
//!   [`VerifiedAssertion::in_response_to`] against its outstanding requests and keep
//!   [`VerifiedAssertion::assertion_id`] until `not_on_or_after + clock_skew` to refuse replays.
//! * [`authn_request_redirect`] and [`sp_metadata_xml`]: SP-initiated login and metadata.
//! * [`dev_idp`] (feature `dev-idp`): a development IdP producing Okta-shaped signed responses.
//!
//! XML signature verification is implemented here, narrowly, on `roxmltree` and RustCrypto (see
//! `README.md` for the design and the reasons); samael is used for the schema types it returns
//! and for requests/metadata, never for a check.

#![forbid(unsafe_code)]

mod c14n;
mod checks;
mod config;
pub mod consts;
mod dsig;
mod error;
mod input;
mod keys;
mod read;
mod request;
mod response;
mod typed;
mod view;

#[cfg(any(test, feature = "dev-idp"))]
pub mod dev_idp;

pub use config::{DEFAULT_CLOCK_SKEW, MAX_ASSERTION_AGE, MAX_ASSERTION_LIFETIME, ValidationConfig};
pub use error::{ConfigError, SamlError};
pub use input::MAX_ENCODED_RESPONSE_LEN;
pub use keys::{MIN_RSA_BITS, TrustedKey, TrustedKeys};
pub use request::{
    AuthnRedirect, MAX_RELAY_STATE_LEN, SpSettings, authn_request_redirect, new_request_id, sp_metadata_xml,
};
pub use response::{SignedParts, VerifiedAssertion, validate_response, validate_response_xml};
/// Canonicalization steps done on this thread so far (nodes written, namespace prefixes considered). It lets
/// tests bound the work an input causes by count rather than by time.
pub fn canonicalization_steps() -> u64 {
    c14n::steps()
}

/// samael's schema types, as returned in [`VerifiedAssertion::assertion`].
pub use samael::schema;
