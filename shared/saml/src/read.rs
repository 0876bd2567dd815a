//! Strict, namespace-aware reading primitives over `roxmltree` nodes.
//!
//! Elements are matched by (namespace URI, local name), never by prefix or local name alone. Attributes are
//! read unqualified only, through [`attribute`]: `roxmltree`'s own `Node::attribute("Recipient")` matches the
//! local name in *any* namespace (a `q:Recipient` too), so it is not used. Texts are returned exactly (no
//! trimming).

use roxmltree::Node;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::error::SamlError;

/// The single child element `{ns}name` of `node`, if any; more than one is refused.
pub(crate) fn only_child<'a, 'i>(
    node: Node<'a, 'i>,
    ns: &str,
    name: &'static str,
) -> Result<Option<Node<'a, 'i>>, SamlError> {
    let mut it = node.children().filter(|c| c.has_tag_name((ns, name)));
    let first = it.next();
    if it.next().is_some() {
        return Err(SamlError::Malformed(format!("more than one {name}")));
    }
    Ok(first)
}

/// The single, required child element `{ns}name` of `node`.
pub(crate) fn one_child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &'static str) -> Result<Node<'a, 'i>, SamlError> {
    only_child(node, ns, name)?.ok_or_else(|| SamlError::Malformed(format!("missing {name}")))
}

/// All child elements `{ns}name` of `node`, in document order.
pub(crate) fn children<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'i>> + 'a {
    node.children().filter(move |c| c.has_tag_name((ns, name)))
}

/// True when every child element of `node` is one of `allowed` (namespace URI, local name).
pub(crate) fn only_children_among(node: Node<'_, '_>, allowed: &[(&str, &str)]) -> bool {
    node.children().filter(Node::is_element).all(|c| allowed.iter().any(|&(ns, name)| c.has_tag_name((ns, name))))
}

/// The complete text content of an element that must contain only text (no child elements); untrimmed.
pub(crate) fn text_only(node: Node<'_, '_>, what: &'static str) -> Result<String, SamlError> {
    let mut out = String::new();
    for c in node.children() {
        match c.text() {
            Some(t) if c.is_text() => out.push_str(t),
            _ => return Err(SamlError::Malformed(format!("{what} must contain only text"))),
        }
    }
    Ok(out)
}

/// The value of the attribute `name` in no namespace (`q:name` never matches).
pub(crate) fn attribute<'a>(node: Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attributes().find(|a| a.namespace().is_none() && a.name() == name).map(|a| a.value())
}

/// The unqualified attribute `name` as an `xs:dateTime` with a time zone (RFC 3339; SAML requires UTC),
/// converted to UTC.
pub(crate) fn time_attr(node: Node<'_, '_>, name: &'static str) -> Result<Option<OffsetDateTime>, SamlError> {
    let Some(value) = attribute(node, name) else {
        return Ok(None);
    };
    OffsetDateTime::parse(value, &Rfc3339)
        .ok()
        .and_then(|t| t.checked_to_offset(UtcOffset::UTC))
        .map(Some)
        .ok_or_else(|| SamlError::Malformed(format!("{name} is not a UTC dateTime")))
}

/// The unqualified attribute `name`, owned.
pub(crate) fn attr(node: Node<'_, '_>, name: &str) -> Option<String> {
    attribute(node, name).map(str::to_owned)
}
