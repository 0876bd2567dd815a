//! samael's typed view of the signed assertion, returned in [`crate::VerifiedAssertion::assertion`] for
//! convenience only (no check reads it).
//!
//! samael (quick-xml) matches elements and attributes by local name and ignores namespaces. Foreign elements
//! inside the assertion are already refused by [`crate::view`]; here, an attribute in any namespace that carries
//! the local name of an attribute samael reads (`q:SessionIndex`) is refused, and what a caller is most likely
//! to read from samael's view is cross-checked: a disagreement is a parser differential, refused, not exploited.

use std::str::FromStr;

use roxmltree::Node;

use crate::error::SamlError;
use crate::view::AssertionView;

/// The local names of the XML attributes samael reads inside an assertion.
const SAMAEL_ATTRIBUTES: &[&str] = &[
    "Address",
    "AuthnInstant",
    "Count",
    "DNSName",
    "Format",
    "FriendlyName",
    "ID",
    "InResponseTo",
    "IssueInstant",
    "Method",
    "Name",
    "NameFormat",
    "NameQualifier",
    "NotBefore",
    "NotOnOrAfter",
    "Recipient",
    "SPNameQualifier",
    "SPProvidedID",
    "SessionIndex",
    "SessionNotOnOrAfter",
    "Version",
];

/// samael's view of `xml`, the signed assertion octets whose re-parse is `assertion` and whose namespace-aware
/// reading is `view`.
pub(crate) fn typed_assertion(
    xml: &str,
    assertion: Node<'_, '_>,
    view: &AssertionView,
) -> Result<samael::schema::Assertion, SamlError> {
    let shadowing = assertion
        .descendants()
        .flat_map(|n| n.attributes())
        .any(|a| a.namespace().is_some_and(|ns| ns != roxmltree::NS_XML_URI) && SAMAEL_ATTRIBUTES.contains(&a.name()));
    if shadowing {
        return Err(SamlError::Malformed("qualified attribute with the name of a SAML attribute".into()));
    }
    let typed = samael::schema::Assertion::from_str(xml)
        .map_err(|_| SamlError::Malformed("assertion does not match the SAML schema".into()))?;
    cross_check(&typed, view)?;
    Ok(typed)
}

/// Its ID, Issuer, NameID and attributes must equal the namespace-aware view's.
fn cross_check(typed: &samael::schema::Assertion, view: &AssertionView) -> Result<(), SamlError> {
    let disagree = |what: &str| SamlError::Malformed(format!("parsers disagree on {what}"));
    if typed.id != view.id {
        return Err(disagree("Assertion ID"));
    }
    if typed.issuer.value.as_deref().map(str::trim) != Some(view.issuer.trim()) {
        return Err(disagree("Issuer"));
    }
    let name_id = typed.subject.as_ref().and_then(|s| s.name_id.as_ref()).ok_or_else(|| disagree("NameID"))?;
    if name_id.value.trim() != view.name_id.trim() {
        return Err(disagree("NameID"));
    }
    let typed_attributes: Vec<(Option<&str>, Vec<&str>)> = typed
        .attribute_statements
        .iter()
        .flatten()
        .flat_map(|s| s.attributes.iter())
        .map(|a| (a.name.as_deref(), a.values.iter().map(|v| v.value.as_deref().unwrap_or("").trim()).collect()))
        .collect();
    let view_attributes: Vec<(Option<&str>, Vec<&str>)> =
        view.attributes.iter().map(|a| (a.name.as_deref(), a.values.iter().map(|v| v.trim()).collect())).collect();
    if typed_attributes != view_attributes {
        return Err(disagree("attributes"));
    }
    Ok(())
}
