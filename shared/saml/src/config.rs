//! What the SP expects of a response ([`ValidationConfig`]) and the default limits.

use time::Duration;

use crate::keys::TrustedKeys;

/// Default allowance for clock differences between IdP and SP.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::seconds(120);

/// Default oldest accepted assertion: `Assertion/@IssueInstant` may be at most this long before `now` (plus
/// the clock skew). An IdP issues the assertion just before the browser posts it; Okta's own window is 5 min.
pub const MAX_ASSERTION_AGE: Duration = Duration::minutes(5);

/// Default longest accepted validity window, for `Conditions` and for `SubjectConfirmationData` alike:
/// `NotOnOrAfter` minus `NotBefore` (or minus the assertion's `IssueInstant` when there is no `NotBefore`).
/// Okta's windows are 5 minutes (10 for `Conditions`, which start 5 minutes early).
pub const MAX_ASSERTION_LIFETIME: Duration = Duration::hours(1);

/// What the SP expects of a response. One per directory (IdP connection).
#[derive(Clone, Debug)]
pub struct ValidationConfig {
    /// This SP's entity id: every `AudienceRestriction` must contain an `Audience` exactly equal to it.
    pub sp_entity_id: String,
    /// This SP's assertion consumer service URL: `Destination` and `Recipient` must equal it exactly.
    pub acs_url: String,
    /// The IdP's entity id. When set, the (signed) assertion `Issuer` must equal it exactly.
    pub idp_entity_id: Option<String>,
    /// The IdP signing keys (from the configured certificates). Nothing else is ever trusted.
    pub trusted_keys: TrustedKeys,
    /// Allowance for clock differences, applied to every time check. Default [`DEFAULT_CLOCK_SKEW`].
    pub clock_skew: Duration,
    /// Accept `rsa-sha1` signatures and `sha1` digests (legacy IdPs only; off by default).
    pub allow_sha1: bool,
    /// Oldest accepted `IssueInstant` (before `now`, plus `clock_skew`). Default [`MAX_ASSERTION_AGE`].
    pub max_assertion_age: Duration,
    /// Longest accepted validity window. Default [`MAX_ASSERTION_LIFETIME`].
    pub max_assertion_lifetime: Duration,
    /// Accept unsolicited (IdP-initiated) responses, which carry no `InResponseTo`. Default `true`. When
    /// `false`, a response without a signed `InResponseTo` is refused ([`crate::SamlError::IdpInitiatedDisabled`]);
    /// the caller still checks that the `InResponseTo` is one of its own requests.
    pub allow_idp_initiated: bool,
}

impl ValidationConfig {
    /// A configuration with the default clock skew, age and lifetime, SHA-256 only, no issuer check, and
    /// IdP-initiated sign-in allowed.
    pub fn new(sp_entity_id: impl Into<String>, acs_url: impl Into<String>, trusted_keys: TrustedKeys) -> Self {
        Self {
            sp_entity_id: sp_entity_id.into(),
            acs_url: acs_url.into(),
            idp_entity_id: None,
            trusted_keys,
            clock_skew: DEFAULT_CLOCK_SKEW,
            allow_sha1: false,
            max_assertion_age: MAX_ASSERTION_AGE,
            max_assertion_lifetime: MAX_ASSERTION_LIFETIME,
            allow_idp_initiated: true,
        }
    }

    /// Require this IdP entity id as the assertion issuer.
    pub fn with_idp_entity_id(mut self, idp_entity_id: impl Into<String>) -> Self {
        self.idp_entity_id = Some(idp_entity_id.into());
        self
    }

    /// Set the oldest accepted assertion (see [`MAX_ASSERTION_AGE`]).
    pub fn with_max_assertion_age(mut self, age: Duration) -> Self {
        self.max_assertion_age = age;
        self
    }

    /// Set the longest accepted validity window (see [`MAX_ASSERTION_LIFETIME`]).
    pub fn with_max_assertion_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_assertion_lifetime = lifetime;
        self
    }

    /// Allow (`true`, the default) or refuse IdP-initiated (unsolicited) responses.
    pub fn with_idp_initiated(mut self, allowed: bool) -> Self {
        self.allow_idp_initiated = allowed;
        self
    }
}
