//! The values the checks rely on, read from the re-parsed signed octets (and, for the unsigned envelope of an
//! assertion-only signature, from the original Response, used only to refuse).
//!
//! Everything is read namespace-aware (see [`crate::read`]): elements only in the SAML 2.0 assertion and
//! protocol namespaces (plus `ds:Signature`), unknown or foreign elements inside the assertion refused,
//! elements the schema allows once refused twice, texts untrimmed.

use roxmltree::Node;
use time::OffsetDateTime;

use crate::consts::{NS_ASSERTION as A, NS_DSIG, NS_PROTOCOL as P};
use crate::error::SamlError;
use crate::read::{attr, attribute, children, one_child, only_child, only_children_among, text_only, time_attr};

/// The `samlp:Response` envelope.
pub(crate) struct Envelope {
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub issuer: Option<String>,
}

/// The signed `saml:Assertion`.
pub(crate) struct AssertionView {
    pub id: String,
    pub issue_instant: OffsetDateTime,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub confirmation: Confirmation,
    pub conditions: Conditions,
    pub authn_statements: Vec<AuthnStatement>,
    /// Every attribute, in document order (to cross-check samael's view).
    pub attributes: Vec<Attribute>,
}

/// One `Attribute`: its `Name` and the texts of its `AttributeValue`s.
pub(crate) struct Attribute {
    pub name: Option<String>,
    pub values: Vec<String>,
}

/// The single `SubjectConfirmation` and its `SubjectConfirmationData`.
pub(crate) struct Confirmation {
    pub method: Option<String>,
    pub recipient: Option<String>,
    pub not_before: Option<OffsetDateTime>,
    pub not_on_or_after: Option<OffsetDateTime>,
    pub in_response_to: Option<String>,
}

/// `Conditions`: its window and the audiences of each `AudienceRestriction`.
pub(crate) struct Conditions {
    pub not_before: Option<OffsetDateTime>,
    pub not_on_or_after: Option<OffsetDateTime>,
    pub audience_restrictions: Vec<Vec<String>>,
}

/// One `AuthnStatement`.
pub(crate) struct AuthnStatement {
    pub session_index: Option<String>,
    pub session_not_on_or_after: Option<OffsetDateTime>,
}

fn malformed(m: &str) -> SamlError {
    SamlError::Malformed(m.to_owned())
}

fn confirmation_error(m: &str) -> SamlError {
    SamlError::SubjectConfirmation(m.to_owned())
}

/// Read the Response envelope: `Version`, `Destination`, `InResponseTo`, `Issuer`, and a `Status` with a
/// `StatusCode` (its value is checked by [`crate::checks::refuse_failure_status`]).
pub(crate) fn read_envelope(r: Node<'_, '_>) -> Result<Envelope, SamlError> {
    if attribute(r, "Version") != Some("2.0") {
        return Err(malformed("Response Version is not 2.0"));
    }
    let status = one_child(r, P, "Status")?;
    one_child(status, P, "StatusCode")?;
    let issuer = only_child(r, A, "Issuer")?.map(|i| text_only(i, "Issuer")).transpose()?;
    Ok(Envelope { destination: attr(r, "Destination"), in_response_to: attr(r, "InResponseTo"), issuer })
}

/// Read the signed assertion strictly.
pub(crate) fn read_assertion(a: Node<'_, '_>) -> Result<AssertionView, SamlError> {
    if attribute(a, "Version") != Some("2.0") {
        return Err(malformed("Assertion Version is not 2.0"));
    }
    let id = attribute(a, "ID").filter(|s| !s.is_empty()).ok_or_else(|| malformed("Assertion without ID"))?;
    let issue_instant = time_attr(a, "IssueInstant")?.ok_or_else(|| malformed("Assertion without IssueInstant"))?;
    let allowed = [
        (A, "Issuer"),
        (NS_DSIG, "Signature"),
        (A, "Subject"),
        (A, "Conditions"),
        (A, "AuthnStatement"),
        (A, "AttributeStatement"),
    ];
    if !only_children_among(a, &allowed) {
        return Err(malformed("unexpected element in Assertion"));
    }
    let issuer = text_only(one_child(a, A, "Issuer")?, "Issuer")?;
    let subject = one_child(a, A, "Subject")?;
    if !only_children_among(subject, &[(A, "NameID"), (A, "SubjectConfirmation")]) {
        return Err(malformed("unexpected element in Subject"));
    }
    let name_id = one_child(subject, A, "NameID")?;
    let name_id_text = text_only(name_id, "NameID")?;
    if name_id_text.trim().is_empty() {
        return Err(malformed("empty NameID"));
    }
    let authn_statements = children(a, A, "AuthnStatement").map(read_authn_statement).collect::<Result<Vec<_>, _>>()?;
    if authn_statements.is_empty() {
        return Err(malformed("Assertion without AuthnStatement"));
    }
    let attributes = children(a, A, "AttributeStatement")
        .map(read_attribute_statement)
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    Ok(AssertionView {
        id: id.to_owned(),
        issue_instant,
        issuer,
        name_id: name_id_text,
        name_id_format: attr(name_id, "Format"),
        confirmation: read_confirmation(subject)?,
        conditions: read_conditions(one_child(a, A, "Conditions")?)?,
        authn_statements,
        attributes,
    })
}

fn read_confirmation(subject: Node<'_, '_>) -> Result<Confirmation, SamlError> {
    let mut confirmations = children(subject, A, "SubjectConfirmation");
    let (Some(c), None) = (confirmations.next(), confirmations.next()) else {
        return Err(confirmation_error("exactly one SubjectConfirmation is accepted"));
    };
    if !only_children_among(c, &[(A, "SubjectConfirmationData")]) {
        return Err(confirmation_error("unexpected element in SubjectConfirmation"));
    }
    let data =
        only_child(c, A, "SubjectConfirmationData")?.ok_or_else(|| confirmation_error("no SubjectConfirmationData"))?;
    if data.children().any(|n| n.is_element()) {
        return Err(confirmation_error("unexpected element in SubjectConfirmationData"));
    }
    Ok(Confirmation {
        method: attr(c, "Method"),
        recipient: attr(data, "Recipient"),
        not_before: time_attr(data, "NotBefore")?,
        not_on_or_after: time_attr(data, "NotOnOrAfter")?,
        in_response_to: attr(data, "InResponseTo"),
    })
}

/// `Conditions`: only `AudienceRestriction` (any number), `OneTimeUse` and `ProxyRestriction` (at most one
/// each; the replay cache honours the first, and the SP issues no assertions, so the second cannot be broken).
/// Any other condition would make the assertion's validity indeterminate: refused.
fn read_conditions(c: Node<'_, '_>) -> Result<Conditions, SamlError> {
    if !only_children_among(c, &[(A, "AudienceRestriction"), (A, "OneTimeUse"), (A, "ProxyRestriction")]) {
        return Err(malformed("unexpected condition in Conditions"));
    }
    only_child(c, A, "OneTimeUse")?;
    only_child(c, A, "ProxyRestriction")?;
    let mut audience_restrictions = Vec::new();
    for r in children(c, A, "AudienceRestriction") {
        if !only_children_among(r, &[(A, "Audience")]) {
            return Err(malformed("unexpected element in AudienceRestriction"));
        }
        audience_restrictions
            .push(children(r, A, "Audience").map(|a| text_only(a, "Audience")).collect::<Result<Vec<_>, _>>()?);
    }
    Ok(Conditions {
        not_before: time_attr(c, "NotBefore")?,
        not_on_or_after: time_attr(c, "NotOnOrAfter")?,
        audience_restrictions,
    })
}

fn read_authn_statement(s: Node<'_, '_>) -> Result<AuthnStatement, SamlError> {
    if !only_children_among(s, &[(A, "SubjectLocality"), (A, "AuthnContext")]) {
        return Err(malformed("unexpected element in AuthnStatement"));
    }
    only_child(s, A, "SubjectLocality")?;
    if let Some(context) = only_child(s, A, "AuthnContext")? {
        let allowed = [
            (A, "AuthnContextClassRef"),
            (A, "AuthnContextDecl"),
            (A, "AuthnContextDeclRef"),
            (A, "AuthenticatingAuthority"),
        ];
        if !only_children_among(context, &allowed) {
            return Err(malformed("unexpected element in AuthnContext"));
        }
    }
    Ok(AuthnStatement {
        session_index: attr(s, "SessionIndex"),
        session_not_on_or_after: time_attr(s, "SessionNotOnOrAfter")?,
    })
}

fn read_attribute_statement(s: Node<'_, '_>) -> Result<Vec<Attribute>, SamlError> {
    if !only_children_among(s, &[(A, "Attribute")]) {
        return Err(malformed("unexpected element in AttributeStatement"));
    }
    children(s, A, "Attribute")
        .map(|a| {
            if !only_children_among(a, &[(A, "AttributeValue")]) {
                return Err(malformed("unexpected element in Attribute"));
            }
            let values =
                children(a, A, "AttributeValue").map(|v| text_only(v, "AttributeValue")).collect::<Result<_, _>>()?;
            Ok(Attribute { name: attr(a, "Name"), values })
        })
        .collect()
}
