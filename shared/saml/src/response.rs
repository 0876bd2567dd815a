//! Validation of an IdP `samlp:Response` received at the ACS (HTTP-POST binding): input, structure and
//! signatures, then the re-parse of exactly the signed octets, which [`crate::view`] reads and
//! [`crate::checks`] checks.

use std::collections::HashSet;

use roxmltree::{Document, Node};
use time::OffsetDateTime;

use crate::c14n::ExcC14n;
use crate::checks::{check_assertion, check_envelope, refuse_failure_status};
use crate::config::ValidationConfig;
use crate::consts::*;
use crate::dsig::{AlgorithmPolicy, signature_child, verify_enveloped};
use crate::error::SamlError;
use crate::input::{MAX_ENCODED_RESPONSE_LEN, decode_post_value, parse_strict};
use crate::read::attribute;
use crate::typed::typed_assertion;
use crate::view::{read_assertion, read_envelope};

/// Which elements carried a verified signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedParts {
    /// The `samlp:Response` was signed (and verified).
    pub response: bool,
    /// The `saml:Assertion` was signed (and verified).
    pub assertion: bool,
}

/// A successfully validated assertion. Every field comes from signed content; all but `assertion` are read
/// namespace-aware.
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
    /// the Response is signed). `None`: IdP-initiated (refused unless
    /// [`ValidationConfig::allow_idp_initiated`]). The caller checks it against its outstanding requests.
    pub in_response_to: Option<String>,
    /// The assertion `Issuer`.
    pub issuer: String,
    /// `AuthnStatement/@SessionIndex` of the first authentication statement, when present.
    pub session_index: Option<String>,
    /// Which signatures were present and verified.
    pub signed: SignedParts,
    /// The signed assertion in samael's schema types (attributes, authn context, ...), for convenience. samael
    /// matches local names only: before it is returned, foreign elements in the assertion and qualified
    /// attributes bearing a SAML attribute name are refused, and its ID, Issuer, NameID and attributes must equal
    /// the namespace-aware reading. Prefer the fields above.
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
    if !a.has_tag_name((NS_ASSERTION, "Assertion")) || attribute(a, "ID") != attribute(assertion, "ID") {
        return Err(SamlError::Malformed("signed content is not the assertion".into()));
    }

    // The envelope: signed view when the Response is signed, else the unsigned original (used only to refuse).
    let envelope = match &response_view {
        Some(rdoc) => {
            let r = rdoc.root_element();
            if !r.has_tag_name((NS_PROTOCOL, "Response")) || attribute(r, "ID") != attribute(root, "ID") {
                return Err(SamlError::Malformed("signed content is not the response".into()));
            }
            r
        }
        None => root,
    };
    let env = read_envelope(envelope)?;
    check_envelope(&env, config)?;
    refuse_failure_status(envelope)?;

    // --- The assertion: every checked value read namespace-aware (roxmltree) from the signed octets; samael's
    // typed view of the same octets is returned for convenience only, once it agrees. ---
    let view = read_assertion(a)?;
    let checked = check_assertion(&view, &env, signed, config, now)?;
    let typed = typed_assertion(&assertion_xml, a, &view)?;
    Ok(VerifiedAssertion {
        name_id: view.name_id,
        name_id_format: view.name_id_format,
        assertion_id: view.id,
        not_on_or_after: checked.not_on_or_after,
        in_response_to: checked.in_response_to,
        issuer: view.issuer,
        session_index: view.authn_statements.into_iter().next().and_then(|s| s.session_index),
        signed,
        assertion: typed,
    })
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
                return Err(SamlError::Malformed("duplicate ID".into()));
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
