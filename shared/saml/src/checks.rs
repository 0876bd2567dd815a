//! The SAML checks, on the namespace-aware views of signed content ([`crate::view`]): status, destination,
//! issuer, bearer confirmation, audience, validity windows, assertion age and lifetime, `InResponseTo`.
//!
//! Every comparison is exact (no trimming, no case folding). Error messages are fixed texts: they never quote
//! a value from the response, so they are safe to log.

use roxmltree::Node;
use time::{Duration, OffsetDateTime};

use crate::config::ValidationConfig;
use crate::consts::{CM_BEARER, NS_PROTOCOL, STATUS_SUCCESS};
use crate::error::SamlError;
use crate::read::{attribute, only_child};
use crate::response::SignedParts;
use crate::view::{AssertionView, Envelope};

/// What the checks establish for the caller.
pub(crate) struct Checked {
    /// The earliest of `SubjectConfirmationData/@NotOnOrAfter` and `Conditions/@NotOnOrAfter`.
    pub not_on_or_after: OffsetDateTime,
    /// The signed `InResponseTo`, if any.
    pub in_response_to: Option<String>,
}

/// Prefix of the status codes defined by SAML 2.0 (the only ones whose name is quoted in errors).
const STATUS_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:status:";

/// A top-level status code other than Success → [`SamlError::Status`] (with the second-level code if any).
/// Safe on unsigned content: it only refuses.
pub(crate) fn refuse_failure_status(r: Node<'_, '_>) -> Result<(), SamlError> {
    let Some(code) = only_child(r, NS_PROTOCOL, "Status")?
        .map(|status| only_child(status, NS_PROTOCOL, "StatusCode"))
        .transpose()?
        .flatten()
    else {
        return Ok(()); // a missing Status is refused when the envelope is read
    };
    let value = attribute(code, "Value").unwrap_or("");
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    let sub = only_child(code, NS_PROTOCOL, "StatusCode").ok().flatten().and_then(|s| attribute(s, "Value"));
    Err(SamlError::Status(match sub {
        Some(sub) => format!("{} ({})", status_name(value), status_name(sub)),
        None => status_name(value).to_owned(),
    }))
}

/// The short name of a SAML 2.0 status code (`Responder`, `AuthnFailed`, ...); never an arbitrary value.
fn status_name(code: &str) -> &str {
    match code.strip_prefix(STATUS_PREFIX) {
        Some(name) if !name.is_empty() && name.len() <= 32 && name.bytes().all(|b| b.is_ascii_alphanumeric()) => name,
        _ => "non-standard status code",
    }
}

/// The envelope: `Destination`, when present, is exactly the ACS URL.
pub(crate) fn check_envelope(env: &Envelope, config: &ValidationConfig) -> Result<(), SamlError> {
    match &env.destination {
        Some(dest) if dest != &config.acs_url => Err(SamlError::Destination("does not equal the ACS URL".into())),
        _ => Ok(()),
    }
}

/// The time bounds derived from `now` and the configuration.
struct Bounds {
    /// A start time after this is in the future.
    latest_start: OffsetDateTime,
    /// An end time at or before this is past.
    earliest_end: OffsetDateTime,
    /// An `IssueInstant` before this is too old.
    oldest_issue: OffsetDateTime,
}

impl Bounds {
    fn new(config: &ValidationConfig, now: OffsetDateTime) -> Result<Self, SamlError> {
        let out_of_range = || SamlError::Malformed("time, clock skew or maximum age out of range".into());
        let earliest_end = now.checked_sub(config.clock_skew).ok_or_else(out_of_range)?;
        Ok(Self {
            latest_start: now.checked_add(config.clock_skew).ok_or_else(out_of_range)?,
            earliest_end,
            oldest_issue: earliest_end.checked_sub(config.max_assertion_age).ok_or_else(out_of_range)?,
        })
    }

    fn not_future(&self, start: Option<OffsetDateTime>, what: &str) -> Result<(), SamlError> {
        match start {
            Some(t) if t > self.latest_start => Err(SamlError::NotYetValid(what.to_owned())),
            _ => Ok(()),
        }
    }

    fn not_past(&self, end: Option<OffsetDateTime>, what: &str) -> Result<(), SamlError> {
        match end {
            Some(t) if t <= self.earliest_end => Err(SamlError::Expired(what.to_owned())),
            _ => Ok(()),
        }
    }
}

/// A validity window `[start, end)` must be non-empty and no longer than `max`.
fn window(
    start: OffsetDateTime,
    end: OffsetDateTime,
    max: Duration,
    empty: &'static str,
    too_long: &'static str,
) -> Result<(), SamlError> {
    if end <= start {
        return Err(SamlError::ValidityWindow(empty));
    }
    if end - start > max {
        return Err(SamlError::ValidityWindow(too_long));
    }
    Ok(())
}

/// The checks on the signed assertion (and the envelope's consistency with it).
pub(crate) fn check_assertion(
    a: &AssertionView,
    env: &Envelope,
    signed: SignedParts,
    config: &ValidationConfig,
    now: OffsetDateTime,
) -> Result<Checked, SamlError> {
    // Issuer.
    if config.idp_entity_id.as_ref().is_some_and(|expected| expected != &a.issuer) {
        return Err(SamlError::Issuer("not the configured IdP".into()));
    }
    if env.issuer.as_ref().is_some_and(|env_issuer| env_issuer != &a.issuer) {
        return Err(SamlError::Issuer("Response and Assertion issuers differ".into()));
    }

    let bounds = Bounds::new(config, now)?;
    bounds.not_future(Some(a.issue_instant), "Assertion IssueInstant is in the future")?;

    // Bearer subject confirmation.
    let c = &a.confirmation;
    if c.method.as_deref() != Some(CM_BEARER) {
        return Err(SamlError::SubjectConfirmation("method is not bearer".into()));
    }
    match &c.recipient {
        Some(r) if r == &config.acs_url => {}
        Some(_) => return Err(SamlError::Recipient("does not equal the ACS URL".into())),
        None => return Err(SamlError::Recipient("missing".into())),
    }
    bounds.not_future(c.not_before, "SubjectConfirmationData NotBefore")?;
    let scd_end = c
        .not_on_or_after
        .ok_or_else(|| SamlError::SubjectConfirmation("SubjectConfirmationData without NotOnOrAfter".into()))?;
    bounds.not_past(Some(scd_end), "SubjectConfirmationData NotOnOrAfter")?;

    // Conditions.
    let cond = &a.conditions;
    bounds.not_future(cond.not_before, "Conditions NotBefore")?;
    bounds.not_past(cond.not_on_or_after, "Conditions NotOnOrAfter")?;
    if cond.audience_restrictions.is_empty() {
        return Err(SamlError::Audience("no AudienceRestriction".into()));
    }
    if !cond.audience_restrictions.iter().all(|audiences| audiences.iter().any(|x| x == &config.sp_entity_id)) {
        return Err(SamlError::Audience("an AudienceRestriction does not name this SP".into()));
    }

    // Authentication statement(s).
    for s in &a.authn_statements {
        bounds.not_past(s.session_not_on_or_after, "AuthnStatement SessionNotOnOrAfter")?;
    }

    check_age_and_lifetime(a, scd_end, &bounds, config.max_assertion_lifetime)?;
    let in_response_to = signed_in_response_to(a, env, signed)?;
    if in_response_to.is_none() && !config.allow_idp_initiated {
        return Err(SamlError::IdpInitiatedDisabled);
    }

    let not_on_or_after = cond.not_on_or_after.map_or(scd_end, |end| end.min(scd_end));
    Ok(Checked { not_on_or_after, in_response_to })
}

/// `IssueInstant` not older than the maximum age; both validity windows non-empty and not longer than `max`.
fn check_age_and_lifetime(
    a: &AssertionView,
    scd_end: OffsetDateTime,
    bounds: &Bounds,
    max: Duration,
) -> Result<(), SamlError> {
    if a.issue_instant < bounds.oldest_issue {
        return Err(SamlError::AssertionTooOld);
    }
    window(
        a.confirmation.not_before.unwrap_or(a.issue_instant),
        scd_end,
        max,
        "SubjectConfirmationData NotOnOrAfter is not after its start",
        "SubjectConfirmationData validity is longer than the maximum",
    )?;
    if let Some(end) = a.conditions.not_on_or_after {
        window(
            a.conditions.not_before.unwrap_or(a.issue_instant),
            end,
            max,
            "Conditions NotOnOrAfter is not after its start",
            "Conditions validity is longer than the maximum",
        )?;
    }
    Ok(())
}

/// The request this answers, only from signed content: `SubjectConfirmationData/@InResponseTo`, else the
/// Response's when the Response is signed. An unsigned envelope value may only agree with the signed one.
fn signed_in_response_to(a: &AssertionView, env: &Envelope, signed: SignedParts) -> Result<Option<String>, SamlError> {
    match (a.confirmation.in_response_to.as_deref(), env.in_response_to.as_deref()) {
        (Some(assertion_irt), Some(envelope_irt)) if assertion_irt != envelope_irt => {
            Err(SamlError::InResponseTo("Response and SubjectConfirmationData disagree".into()))
        }
        (Some(assertion_irt), _) => Ok(Some(assertion_irt.to_owned())),
        (None, Some(envelope_irt)) if signed.response => Ok(Some(envelope_irt.to_owned())),
        (None, Some(_)) => Err(SamlError::InResponseTo("present only in the unsigned Response envelope".into())),
        (None, None) => Ok(None),
    }
}
