//! Validation of an IdP `samlp:Response` received at the ACS (HTTP-POST binding).

use std::collections::HashSet;
use std::str::FromStr;

use roxmltree::{Document, Node};
use time::OffsetDateTime;

use crate::c14n::ExcC14n;
use crate::consts::*;
use crate::dsig::{AlgorithmPolicy, signature_child, verify_enveloped};
use crate::error::{SamlError, clip};
use crate::input::{MAX_ENCODED_RESPONSE_LEN, decode_post_value, parse_strict};
use crate::keys::TrustedKeys;

/// Default allowance for clock differences between IdP and SP.
pub const DEFAULT_CLOCK_SKEW: time::Duration = time::Duration::seconds(120);

/// What the SP expects of a response. One per directory (IdP connection).
#[derive(Clone, Debug)]
pub struct ValidationConfig {
    /// This SP's entity id: must appear in every `AudienceRestriction`.
    pub sp_entity_id: String,
    /// This SP's assertion consumer service URL: `Destination` and `Recipient` must equal it exactly.
    pub acs_url: String,
    /// The IdP's entity id. When set, the (signed) assertion `Issuer` must equal it.
    pub idp_entity_id: Option<String>,
    /// The IdP signing keys (from the configured certificates). Nothing else is ever trusted.
    pub trusted_keys: TrustedKeys,
    /// Allowance for clock differences, applied to every time check. Default [`DEFAULT_CLOCK_SKEW`].
    pub clock_skew: time::Duration,
    /// Accept `rsa-sha1` signatures and `sha1` digests (legacy IdPs only; off by default).
    pub allow_sha1: bool,
}

impl ValidationConfig {
    /// A configuration with the default clock skew, SHA-256 only, and no issuer check.
    pub fn new(sp_entity_id: impl Into<String>, acs_url: impl Into<String>, trusted_keys: TrustedKeys) -> Self {
        Self {
            sp_entity_id: sp_entity_id.into(),
            acs_url: acs_url.into(),
            idp_entity_id: None,
            trusted_keys,
            clock_skew: DEFAULT_CLOCK_SKEW,
            allow_sha1: false,
        }
    }

    /// Require this IdP entity id as the assertion issuer.
    pub fn with_idp_entity_id(mut self, idp_entity_id: impl Into<String>) -> Self {
        self.idp_entity_id = Some(idp_entity_id.into());
        self
    }
}

/// Which elements carried a verified signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedParts {
    /// The `samlp:Response` was signed (and verified).
    pub response: bool,
    /// The `saml:Assertion` was signed (and verified).
    pub assertion: bool,
}

/// A successfully validated assertion. Every field comes from signed content.
#[derive(Clone, Debug)]
pub struct VerifiedAssertion {
    /// The full text of `Subject/NameID`, exactly as signed (no trimming).
    pub name_id: String,
    /// `NameID/@Format`, when present.
    pub name_id_format: Option<String>,
    /// `Assertion/@ID`: the caller keeps it until `not_on_or_after + clock_skew` to refuse replays.
    pub assertion_id: String,
    /// The earliest of `SubjectConfirmationData/@NotOnOrAfter` and `Conditions/@NotOnOrAfter`.
    pub not_on_or_after: OffsetDateTime,
    /// The request id this answers (`SubjectConfirmationData/@InResponseTo`, or `Response/@InResponseTo` when
    /// the Response is signed). `None`: IdP-initiated. The caller checks it against its outstanding requests.
    pub in_response_to: Option<String>,
    /// The assertion `Issuer`.
    pub issuer: String,
    /// `AuthnStatement/@SessionIndex` of the first authentication statement, when present.
    pub session_index: Option<String>,
    /// Which signatures were present and verified.
    pub signed: SignedParts,
    /// The signed assertion in samael's schema types (attributes, authn context, ...).
    pub assertion: samael::schema::Assertion,
}

impl VerifiedAssertion {
    /// The values of the attribute with this `Name` (all attribute statements), in document order.
    pub fn attribute_values(&self, name: &str) -> Vec<&str> {
        self.assertion
            .attribute_statements
            .iter()
            .flatten()
            .flat_map(|s| s.attributes.iter())
            .filter(|a| a.name.as_deref() == Some(name))
            .flat_map(|a| a.values.iter())
            .filter_map(|v| v.value.as_deref())
            .collect()
    }
}

/// Validate the `SAMLResponse` form value of the HTTP-POST binding, as received (base64 text).
///
/// `now` is the current time (the crate does no I/O and reads no clock).
pub fn validate_response(
    saml_response: &[u8],
    config: &ValidationConfig,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, SamlError> {
    let xml = decode_post_value(saml_response)?;
    validate_response_xml(&xml, config, now)
}

/// Validate an already decoded response document (UTF-8 XML text; at most [`MAX_ENCODED_RESPONSE_LEN`] bytes).
pub fn validate_response_xml(
    xml: &str,
    config: &ValidationConfig,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, SamlError> {
    if xml.len() > MAX_ENCODED_RESPONSE_LEN {
        return Err(SamlError::TooLarge { len: xml.len(), max: MAX_ENCODED_RESPONSE_LEN });
    }
    let doc = parse_strict(xml)?;
    let root = doc.root_element();
    if !root.has_tag_name((NS_PROTOCOL, "Response")) {
        return Err(SamlError::NotSaml("root element is not samlp:Response".into()));
    }
    // An IdP error (non-Success status) is reported as such even when it carries no assertion or signature:
    // refusing on unsigned data is always safe.
    refuse_failure_status(root)?;
    check_unique_ids(&doc)?;
    let assertion = locate_assertion(&doc)?;

    // --- Signatures: every signature present must verify; at least one must cover the assertion. ---
    let policy = AlgorithmPolicy { allow_sha1: config.allow_sha1 };
    let response_sig = signature_child(root)?;
    let assertion_sig = signature_child(assertion)?;
    if response_sig.is_none() && assertion_sig.is_none() {
        return Err(SamlError::Unsigned);
    }
    let signed_response =
        response_sig.map(|sig| verify_enveloped(root, sig, &config.trusted_keys, policy)).transpose()?;
    let signed_assertion =
        assertion_sig.map(|sig| verify_enveloped(assertion, sig, &config.trusted_keys, policy)).transpose()?;
    let signed = SignedParts { response: signed_response.is_some(), assertion: signed_assertion.is_some() };

    // --- See what is signed: re-parse the digested octets; never read the original tree again. ---
    let response_view = signed_response.as_deref().map(reparse).transpose()?;
    let assertion_xml = match (signed_assertion, &response_view) {
        (Some(canonical), _) => canonical,
        (None, Some(rdoc)) => {
            let a = direct_assertion(rdoc.root_element())?;
            ExcC14n::default()
                .canonicalize(a)
                .map_err(|e| SamlError::Malformed(format!("cannot serialize signed assertion: {}", e.0)))?
        }
        (None, None) => return Err(SamlError::Unsigned),
    };
    let adoc = reparse(&assertion_xml)?;
    let a = adoc.root_element();
    if !a.has_tag_name((NS_ASSERTION, "Assertion")) || a.attribute("ID") != assertion.attribute("ID") {
        return Err(SamlError::Malformed("signed content is not the assertion".into()));
    }

    // The envelope: signed view when the Response is signed, else the unsigned original (used only to refuse).
    let envelope = match &response_view {
        Some(rdoc) => {
            let r = rdoc.root_element();
            if !r.has_tag_name((NS_PROTOCOL, "Response")) || r.attribute("ID") != root.attribute("ID") {
                return Err(SamlError::Malformed("signed content is not the response".into()));
            }
            r
        }
        None => root,
    };
    let env = check_envelope(envelope, config)?;

    // --- The assertion: strict structure (roxmltree), then samael's typed view of the same signed bytes. ---
    let shape = check_assertion_shape(a)?;
    let typed = samael::schema::Assertion::from_str(&assertion_xml).map_err(|e| {
        SamlError::Malformed(format!("assertion does not match the SAML schema: {}", clip(&e.to_string())))
    })?;
    check_assertion(&typed, &shape, &env, signed, config, now)
}

/// Response envelope values.
struct Envelope {
    issuer: Option<String>,
    in_response_to: Option<String>,
}

/// Values read from the re-parsed signed assertion by roxmltree (exact text).
struct AssertionShape {
    id: String,
    issuer: String,
    name_id: String,
    name_id_format: Option<String>,
}

fn reparse(canonical: &str) -> Result<Document<'_>, SamlError> {
    parse_strict(canonical).map_err(|e| SamlError::Malformed(format!("signed content does not re-parse: {e}")))
}

/// Every `ID`/`Id`/`id` attribute value in the document must be unique.
fn check_unique_ids(doc: &Document<'_>) -> Result<(), SamlError> {
    let mut seen = HashSet::new();
    for node in doc.descendants().filter(Node::is_element) {
        for attr in node.attributes() {
            if matches!(attr.name(), "ID" | "Id" | "id") && !seen.insert(attr.value()) {
                return Err(SamlError::Malformed(format!("duplicate ID {}", clip(attr.value()))));
            }
        }
    }
    Ok(())
}

/// The single assertion: a direct child of the root Response; no other Assertion, Response or
/// EncryptedAssertion element anywhere, and signatures only directly on the Response or the Assertion.
fn locate_assertion<'a, 'i>(doc: &'a Document<'i>) -> Result<Node<'a, 'i>, SamlError> {
    let root = doc.root_element();
    let mut found = None;
    for node in doc.descendants().filter(Node::is_element) {
        match node.tag_name().name() {
            "EncryptedAssertion" | "EncryptedID" | "EncryptedAttribute" => {
                return Err(SamlError::EncryptedAssertion);
            }
            "Assertion" => {
                if !node.has_tag_name((NS_ASSERTION, "Assertion")) || node.parent() != Some(root) || found.is_some() {
                    return Err(SamlError::Malformed(
                        "exactly one Assertion is accepted, as a direct child of Response".into(),
                    ));
                }
                found = Some(node);
            }
            "Response" if node != root => {
                return Err(SamlError::Malformed("nested Response element".into()));
            }
            _ => {}
        }
    }
    let assertion = found.ok_or_else(|| SamlError::Malformed("no Assertion in the response".into()))?;
    for sig in doc.descendants().filter(|n| n.has_tag_name((NS_DSIG, "Signature"))) {
        let parent = sig.parent();
        if parent != Some(root) && parent != Some(assertion) {
            return Err(SamlError::UnsupportedSignature("signature in an unexpected place".into()));
        }
    }
    Ok(assertion)
}

fn direct_assertion<'a, 'i>(response: Node<'a, 'i>) -> Result<Node<'a, 'i>, SamlError> {
    let mut it = response.children().filter(|c| c.has_tag_name((NS_ASSERTION, "Assertion")));
    match (it.next(), it.next()) {
        (Some(a), None) => Ok(a),
        _ => Err(SamlError::Malformed("signed response must hold exactly one Assertion".into())),
    }
}

/// A top-level status code other than Success → [`SamlError::Status`] (with the second-level code if any).
fn refuse_failure_status(r: Node<'_, '_>) -> Result<(), SamlError> {
    let Some(code) = only_child(r, NS_PROTOCOL, "Status")?
        .map(|status| only_child(status, NS_PROTOCOL, "StatusCode"))
        .transpose()?
        .flatten()
    else {
        return Ok(()); // a missing Status is refused later
    };
    let value = code.attribute("Value").unwrap_or("");
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    let sub = only_child(code, NS_PROTOCOL, "StatusCode").ok().flatten().and_then(|s| s.attribute("Value"));
    Err(SamlError::Status(match sub {
        Some(sub) => format!("{} ({})", clip(value), clip(sub)),
        None => clip(value),
    }))
}

fn check_envelope(r: Node<'_, '_>, config: &ValidationConfig) -> Result<Envelope, SamlError> {
    if r.attribute("Version") != Some("2.0") {
        return Err(SamlError::Malformed("Response Version is not 2.0".into()));
    }
    if let Some(dest) = r.attribute("Destination") {
        if dest != config.acs_url {
            return Err(SamlError::Destination(clip(dest)));
        }
    }
    let status =
        only_child(r, NS_PROTOCOL, "Status")?.ok_or_else(|| SamlError::Malformed("Response without Status".into()))?;
    only_child(status, NS_PROTOCOL, "StatusCode")?
        .ok_or_else(|| SamlError::Malformed("Status without StatusCode".into()))?;
    refuse_failure_status(r)?;
    let issuer = only_child(r, NS_ASSERTION, "Issuer")?.map(text_only).transpose()?;
    Ok(Envelope { issuer, in_response_to: r.attribute("InResponseTo").map(str::to_owned) })
}

/// Strict structure of the signed assertion, and the exact texts.
fn check_assertion_shape(a: Node<'_, '_>) -> Result<AssertionShape, SamlError> {
    let malformed = |m: &str| SamlError::Malformed(m.to_owned());
    if a.attribute("Version") != Some("2.0") {
        return Err(malformed("Assertion Version is not 2.0"));
    }
    let id = a.attribute("ID").filter(|s| !s.is_empty()).ok_or_else(|| malformed("Assertion without ID"))?;
    for child in a.children().filter(Node::is_element) {
        let tn = child.tag_name();
        let allowed = match tn.namespace() {
            Some(NS_ASSERTION) => {
                matches!(tn.name(), "Issuer" | "Subject" | "Conditions" | "AuthnStatement" | "AttributeStatement")
            }
            Some(NS_DSIG) => tn.name() == "Signature",
            _ => false,
        };
        if !allowed {
            return Err(SamlError::Malformed(format!("unexpected element {} in Assertion", clip(tn.name()))));
        }
    }
    let issuer = only_child(a, NS_ASSERTION, "Issuer")?.ok_or_else(|| malformed("Assertion without Issuer"))?;
    let issuer = text_only(issuer)?;
    let subject = only_child(a, NS_ASSERTION, "Subject")?.ok_or_else(|| malformed("Assertion without Subject"))?;
    only_child(a, NS_ASSERTION, "Conditions")?.ok_or_else(|| malformed("Assertion without Conditions"))?;
    if !a.children().any(|c| c.has_tag_name((NS_ASSERTION, "AuthnStatement"))) {
        return Err(malformed("Assertion without AuthnStatement"));
    }

    for child in subject.children().filter(Node::is_element) {
        if !(child.has_tag_name((NS_ASSERTION, "NameID")) || child.has_tag_name((NS_ASSERTION, "SubjectConfirmation")))
        {
            return Err(SamlError::Malformed(format!(
                "unexpected element {} in Subject",
                clip(child.tag_name().name())
            )));
        }
    }
    let name_id = only_child(subject, NS_ASSERTION, "NameID")?.ok_or_else(|| malformed("Subject without NameID"))?;
    let name_id_format = name_id.attribute("Format").map(str::to_owned);
    let name_id_text = text_only(name_id)?;
    if name_id_text.trim().is_empty() {
        return Err(malformed("empty NameID"));
    }
    let confirmation = only_child(subject, NS_ASSERTION, "SubjectConfirmation")
        .map_err(|_| SamlError::SubjectConfirmation("exactly one SubjectConfirmation is accepted".into()))?
        .ok_or_else(|| SamlError::SubjectConfirmation("missing".into()))?;
    for child in confirmation.children().filter(Node::is_element) {
        if !child.has_tag_name((NS_ASSERTION, "SubjectConfirmationData")) {
            return Err(SamlError::SubjectConfirmation("unexpected element in SubjectConfirmation".into()));
        }
    }
    only_child(confirmation, NS_ASSERTION, "SubjectConfirmationData")?
        .ok_or_else(|| SamlError::SubjectConfirmation("no SubjectConfirmationData".into()))?;
    Ok(AssertionShape { id: id.to_owned(), issuer, name_id: name_id_text, name_id_format })
}

/// The semantic checks, on samael's typed view (cross-checked against the exact roxmltree texts).
fn check_assertion(
    typed: &samael::schema::Assertion,
    shape: &AssertionShape,
    env: &Envelope,
    signed: SignedParts,
    config: &ValidationConfig,
    now: OffsetDateTime,
) -> Result<VerifiedAssertion, SamlError> {
    let disagree = |what: &str| SamlError::Malformed(format!("parsers disagree on {what}"));
    if typed.id != shape.id {
        return Err(disagree("Assertion ID"));
    }
    if typed.issuer.value.as_deref().map(str::trim) != Some(shape.issuer.trim()) {
        return Err(disagree("Issuer"));
    }
    let subject = typed.subject.as_ref().ok_or_else(|| disagree("Subject"))?;
    let name_id = subject.name_id.as_ref().ok_or_else(|| disagree("NameID"))?;
    if name_id.value.trim() != shape.name_id.trim() {
        return Err(disagree("NameID"));
    }

    // Issuer.
    if let Some(expected) = &config.idp_entity_id {
        if &shape.issuer != expected {
            return Err(SamlError::Issuer(clip(&shape.issuer)));
        }
    }
    if let Some(env_issuer) = &env.issuer {
        if env_issuer != &shape.issuer {
            return Err(SamlError::Issuer("Response and Assertion issuers differ".into()));
        }
    }

    let now_c = to_chrono(now)?;
    let out_of_range = || SamlError::Malformed("time or clock skew out of range".into());
    let skew = chrono::TimeDelta::try_seconds(config.clock_skew.whole_seconds())
        .ok_or_else(out_of_range)?
        .checked_add(&chrono::TimeDelta::nanoseconds(i64::from(config.clock_skew.subsec_nanoseconds())))
        .ok_or_else(out_of_range)?;
    // A start time after `latest_start` is in the future; an end time at or before `earliest_end` is past.
    let latest_start = now_c.checked_add_signed(skew).ok_or_else(out_of_range)?;
    let earliest_end = now_c.checked_sub_signed(skew).ok_or_else(out_of_range)?;
    if typed.issue_instant > latest_start {
        return Err(SamlError::NotYetValid("Assertion IssueInstant is in the future".into()));
    }

    // Bearer subject confirmation.
    let confirmations = subject.subject_confirmations.as_deref().unwrap_or_default();
    let [confirmation] = confirmations else {
        return Err(SamlError::SubjectConfirmation("exactly one SubjectConfirmation is accepted".into()));
    };
    if confirmation.method.as_deref() != Some(CM_BEARER) {
        return Err(SamlError::SubjectConfirmation("method is not bearer".into()));
    }
    let scd = confirmation
        .subject_confirmation_data
        .as_ref()
        .ok_or_else(|| SamlError::SubjectConfirmation("no SubjectConfirmationData".into()))?;
    match scd.recipient.as_deref() {
        Some(r) if r == config.acs_url => {}
        Some(r) => return Err(SamlError::Recipient(clip(r))),
        None => return Err(SamlError::Recipient("missing".into())),
    }
    if let Some(nb) = scd.not_before {
        if nb > latest_start {
            return Err(SamlError::NotYetValid("SubjectConfirmationData NotBefore".into()));
        }
    }
    let scd_end = scd
        .not_on_or_after
        .ok_or_else(|| SamlError::SubjectConfirmation("SubjectConfirmationData without NotOnOrAfter".into()))?;
    if scd_end <= earliest_end {
        return Err(SamlError::Expired("SubjectConfirmationData NotOnOrAfter".into()));
    }

    // Conditions.
    let conditions = typed.conditions.as_ref().ok_or_else(|| disagree("Conditions"))?;
    if let Some(nb) = conditions.not_before {
        if nb > latest_start {
            return Err(SamlError::NotYetValid("Conditions NotBefore".into()));
        }
    }
    let mut end = scd_end;
    if let Some(noa) = conditions.not_on_or_after {
        if noa <= earliest_end {
            return Err(SamlError::Expired("Conditions NotOnOrAfter".into()));
        }
        end = end.min(noa);
    }
    let restrictions = conditions.audience_restrictions.as_deref().unwrap_or_default();
    if restrictions.is_empty() {
        return Err(SamlError::Audience("no AudienceRestriction".into()));
    }
    for r in restrictions {
        if !r.audience.iter().any(|a| a == &config.sp_entity_id) {
            let got = r.audience.first().map(|a| clip(a)).unwrap_or_else(|| "empty".into());
            return Err(SamlError::Audience(got));
        }
    }

    // Authentication statement(s).
    let statements = typed.authn_statements.as_deref().unwrap_or_default();
    if statements.is_empty() {
        return Err(disagree("AuthnStatement"));
    }
    for s in statements {
        if let Some(session_end) = s.session_not_on_or_after {
            if session_end <= earliest_end {
                return Err(SamlError::Expired("AuthnStatement SessionNotOnOrAfter".into()));
            }
        }
    }
    let session_index = statements.first().and_then(|s| s.session_index.clone());

    // InResponseTo: only from signed content.
    let in_response_to = match (scd.in_response_to.as_deref(), env.in_response_to.as_deref()) {
        (Some(a), Some(b)) if a != b => {
            return Err(SamlError::InResponseTo("Response and SubjectConfirmationData disagree".into()));
        }
        (Some(a), _) => Some(a.to_owned()),
        (None, Some(b)) if signed.response => Some(b.to_owned()),
        (None, Some(_)) => {
            return Err(SamlError::InResponseTo("present only in the unsigned Response envelope".into()));
        }
        (None, None) => None,
    };

    Ok(VerifiedAssertion {
        name_id: shape.name_id.clone(),
        name_id_format: shape.name_id_format.clone(),
        assertion_id: shape.id.clone(),
        not_on_or_after: from_chrono(end)?,
        in_response_to,
        issuer: shape.issuer.clone(),
        session_index,
        signed,
        assertion: typed.clone(),
    })
}

/// The single child element `{ns}name` of `node`, if any; more than one is refused.
fn only_child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Result<Option<Node<'a, 'i>>, SamlError> {
    let mut it = node.children().filter(|c| c.has_tag_name((ns, name)));
    let first = it.next();
    if it.next().is_some() {
        return Err(SamlError::Malformed(format!("more than one {name} in {}", node.tag_name().name())));
    }
    Ok(first)
}

/// The complete text content of an element that must contain only text (no child elements).
fn text_only(node: Node<'_, '_>) -> Result<String, SamlError> {
    let mut out = String::new();
    for c in node.children() {
        if c.is_text() {
            out.push_str(c.text().unwrap_or(""));
        } else {
            return Err(SamlError::Malformed(format!("{} must contain only text", clip(node.tag_name().name()))));
        }
    }
    Ok(out)
}

fn to_chrono(t: OffsetDateTime) -> Result<chrono::DateTime<chrono::Utc>, SamlError> {
    chrono::DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond())
        .ok_or_else(|| SamlError::Malformed("time out of range".into()))
}

fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> Result<OffsetDateTime, SamlError> {
    let secs = OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map_err(|_| SamlError::Malformed("time out of range".into()))?;
    secs.checked_add(time::Duration::nanoseconds(i64::from(t.timestamp_subsec_nanos())))
        .ok_or_else(|| SamlError::Malformed("time out of range".into()))
}
