//! A narrow XML-DSig verifier for enveloped SAML signatures.
//!
//! Exactly one shape is accepted:
//!
//! ```xml
//! <ds:Signature>                                   <!-- a direct child of the signed element -->
//!   <ds:SignedInfo>
//!     <ds:CanonicalizationMethod Algorithm="…xml-exc-c14n#"/>   <!-- optional InclusiveNamespaces -->
//!     <ds:SignatureMethod Algorithm="…rsa-sha256"/>              <!-- rsa-sha1 only when opted in -->
//!     <ds:Reference URI="#{ID of the signed element}">          <!-- exactly one -->
//!       <ds:Transforms>
//!         <ds:Transform Algorithm="…enveloped-signature"/>
//!         <ds:Transform Algorithm="…xml-exc-c14n#"/>            <!-- optional InclusiveNamespaces -->
//!       </ds:Transforms>
//!       <ds:DigestMethod Algorithm="…sha256"/>                  <!-- sha1 only when opted in -->
//!       <ds:DigestValue>…</ds:DigestValue>
//!     </ds:Reference>
//!   </ds:SignedInfo>
//!   <ds:SignatureValue>…</ds:SignatureValue>
//!   <ds:KeyInfo>…</ds:KeyInfo>                       <!-- optional, ignored -->
//! </ds:Signature>
//! ```
//!
//! The key comes only from the configured trusted certificates. On success the caller receives the exact
//! octets that were digested (the canonical form of the signed element without its signature): it re-parses
//! those octets, so every value it uses afterwards is signed content ("see what is signed").

use std::collections::BTreeSet;

use base64::Engine as _;
use roxmltree::Node;
use rsa::sha2::{Digest, Sha256};

use crate::c14n::ExcC14n;
use crate::consts::*;
use crate::error::SamlError;
use crate::keys::TrustedKeys;
use crate::read::attribute;

/// Which legacy algorithms are allowed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AlgorithmPolicy {
    pub allow_sha1: bool,
}

/// Find the enveloped signature of `element`: its `ds:Signature` children (at most one).
pub(crate) fn signature_child<'a, 'i>(element: Node<'a, 'i>) -> Result<Option<Node<'a, 'i>>, SamlError> {
    let mut sigs = element.children().filter(|c| c.is_element() && c.has_tag_name((NS_DSIG, "Signature")));
    let first = sigs.next();
    if sigs.next().is_some() {
        return Err(SamlError::UnsupportedSignature("more than one Signature on one element".into()));
    }
    Ok(first)
}

/// Verify the enveloped `signature` of `element` and return the canonical octets that were digested.
pub(crate) fn verify_enveloped(
    element: Node<'_, '_>,
    signature: Node<'_, '_>,
    keys: &TrustedKeys,
    policy: AlgorithmPolicy,
) -> Result<String, SamlError> {
    let unsupported = |m: &str| SamlError::UnsupportedSignature(m.to_owned());
    if signature.parent() != Some(element) {
        return Err(unsupported("signature is not a direct child of the signed element"));
    }
    let id = attribute(element, "ID")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| SamlError::Malformed("signed element has no ID".into()))?;

    // <Signature>: SignedInfo, SignatureValue, KeyInfo?
    let mut parts = ds_children(signature)?.into_iter();
    let signed_info = expect_next(&mut parts, "SignedInfo")?;
    let signature_value = expect_next(&mut parts, "SignatureValue")?;
    if let Some(extra) = parts.next() {
        if extra.tag_name().name() != "KeyInfo" {
            return Err(unsupported("unexpected element in Signature (ds:Object/Manifest are not accepted)"));
        }
    }
    if parts.next().is_some() {
        return Err(unsupported("unexpected element after KeyInfo"));
    }

    // <SignedInfo>: CanonicalizationMethod, SignatureMethod, Reference
    if signed_info.attributes().any(|a| a.name() != "Id") {
        return Err(unsupported("unexpected attribute on SignedInfo"));
    }
    let mut si = ds_children(signed_info)?.into_iter();
    let c14n_method = expect_next(&mut si, "CanonicalizationMethod")?;
    let sig_method = expect_next(&mut si, "SignatureMethod")?;
    let reference = expect_next(&mut si, "Reference")?;
    if si.next().is_some() {
        return Err(unsupported("SignedInfo must hold exactly one Reference"));
    }

    let si_prefixes = exc_c14n_params(c14n_method)?;
    let sha256_sig = match algorithm(sig_method)? {
        ALG_RSA_SHA256 => true,
        ALG_RSA_SHA1 if policy.allow_sha1 => false,
        other => return Err(SamlError::UnsupportedSignature(format!("signature algorithm {other}"))),
    };
    no_element_children(sig_method)?;

    // <Reference URI="#ID">: Transforms, DigestMethod, DigestValue
    let uri = attribute(reference, "URI").ok_or_else(|| unsupported("Reference without URI"))?;
    if uri.strip_prefix('#') != Some(id) {
        return Err(unsupported("Reference URI does not point at the enveloping element"));
    }
    let mut rp = ds_children(reference)?.into_iter();
    let transforms = expect_next(&mut rp, "Transforms")?;
    let digest_method = expect_next(&mut rp, "DigestMethod")?;
    let digest_value = expect_next(&mut rp, "DigestValue")?;
    if rp.next().is_some() {
        return Err(unsupported("unexpected element in Reference"));
    }
    let mut tr = ds_children(transforms)?.into_iter();
    let t1 = expect_next(&mut tr, "Transform")?;
    let t2 = expect_next(&mut tr, "Transform")?;
    if tr.next().is_some() {
        return Err(unsupported("exactly two transforms (enveloped-signature, exc-c14n) are accepted"));
    }
    if algorithm(t1)? != ALG_ENVELOPED {
        return Err(unsupported("first transform must be enveloped-signature"));
    }
    no_element_children(t1)?;
    let ref_prefixes = exc_c14n_params(t2)?;
    let sha256_digest = match algorithm(digest_method)? {
        ALG_SHA256 => true,
        ALG_SHA1 if policy.allow_sha1 => false,
        other => return Err(SamlError::UnsupportedSignature(format!("digest algorithm {other}"))),
    };
    no_element_children(digest_method)?;
    let expected_digest = base64_text(digest_value)?;
    let signature_bytes = base64_text(signature_value)?;

    // 1. The signature over the canonical SignedInfo, with a trusted key only.
    let si_c14n = ExcC14n { inclusive_prefixes: &si_prefixes, exclude: None }
        .canonicalize(signed_info)
        .map_err(|e| SamlError::Malformed(format!("cannot canonicalize SignedInfo: {}", e.0)))?;
    if keys.verify_any(sha256_sig, si_c14n.as_bytes(), &signature_bytes).is_none() {
        return Err(SamlError::UntrustedSignature);
    }

    // 2. The digest over the canonical signed element without its signature.
    let content = ExcC14n { inclusive_prefixes: &ref_prefixes, exclude: Some(signature.id()) }
        .canonicalize(element)
        .map_err(|e| SamlError::Malformed(format!("cannot canonicalize signed element: {}", e.0)))?;
    let actual: Vec<u8> = if sha256_digest {
        Sha256::digest(content.as_bytes()).to_vec()
    } else {
        sha1::Sha1::digest(content.as_bytes()).to_vec()
    };
    if actual != expected_digest {
        return Err(SamlError::DigestMismatch);
    }
    Ok(content)
}

/// Element children of a ds element; every child must be in the ds namespace, text only whitespace.
fn ds_children<'a, 'i>(node: Node<'a, 'i>) -> Result<Vec<Node<'a, 'i>>, SamlError> {
    let mut out = Vec::new();
    for c in node.children() {
        if c.is_element() {
            if c.tag_name().namespace() != Some(NS_DSIG) {
                return Err(SamlError::UnsupportedSignature(format!(
                    "foreign element {} in ds:{}",
                    c.tag_name().name(),
                    node.tag_name().name()
                )));
            }
            out.push(c);
        } else if c.is_text() && !c.text().unwrap_or("").chars().all(is_xml_space) {
            return Err(SamlError::UnsupportedSignature(format!("text inside ds:{}", node.tag_name().name())));
        }
    }
    Ok(out)
}

fn expect_next<'a, 'i>(it: &mut impl Iterator<Item = Node<'a, 'i>>, name: &str) -> Result<Node<'a, 'i>, SamlError> {
    match it.next() {
        Some(n) if n.tag_name().name() == name => Ok(n),
        Some(n) => {
            Err(SamlError::UnsupportedSignature(format!("expected ds:{name}, found ds:{}", n.tag_name().name())))
        }
        None => Err(SamlError::UnsupportedSignature(format!("missing ds:{name}"))),
    }
}

fn algorithm<'a>(node: Node<'a, '_>) -> Result<&'a str, SamlError> {
    attribute(node, "Algorithm")
        .ok_or_else(|| SamlError::UnsupportedSignature(format!("ds:{} without Algorithm", node.tag_name().name())))
}

fn no_element_children(node: Node<'_, '_>) -> Result<(), SamlError> {
    if node.children().any(|c| c.is_element() || (c.is_text() && !c.text().unwrap_or("").chars().all(is_xml_space))) {
        return Err(SamlError::UnsupportedSignature(format!("unexpected content in ds:{}", node.tag_name().name())));
    }
    Ok(())
}

/// Most tokens accepted in one `InclusiveNamespaces PrefixList`. Real IdPs send one to three (Okta: `xs`;
/// Shibboleth: `xsd`); the list is read before any signature check, so it must not be able to multiply work.
pub(crate) const MAX_INCLUSIVE_PREFIXES: usize = 16;

/// Check an exc-c14n `CanonicalizationMethod`/`Transform` and return its `InclusiveNamespaces PrefixList`,
/// deduplicated: at most [`MAX_INCLUSIVE_PREFIXES`] tokens, else the signature is refused unread.
fn exc_c14n_params(node: Node<'_, '_>) -> Result<BTreeSet<String>, SamlError> {
    match algorithm(node)? {
        ALG_EXC_C14N => {}
        ALG_EXC_C14N_WITH_COMMENTS => {
            return Err(SamlError::UnsupportedSignature("exc-c14n #WithComments is not accepted".into()));
        }
        other => return Err(SamlError::UnsupportedSignature(format!("canonicalization {other}"))),
    }
    let mut prefixes = BTreeSet::new();
    let mut seen_inclusive = false;
    for c in node.children() {
        if c.is_element() {
            if !c.has_tag_name((NS_EXC_C14N, "InclusiveNamespaces")) || seen_inclusive || c.has_children() {
                return Err(SamlError::UnsupportedSignature("unexpected content in canonicalization method".into()));
            }
            seen_inclusive = true;
            let list = attribute(c, "PrefixList").unwrap_or("");
            for (n, token) in list.split(is_xml_space).filter(|t| !t.is_empty()).enumerate() {
                if n >= MAX_INCLUSIVE_PREFIXES {
                    return Err(SamlError::UnsupportedSignature("too many InclusiveNamespaces prefixes".into()));
                }
                if token == "#default" {
                    prefixes.insert(String::new());
                } else if token.contains(':') || token.starts_with('#') {
                    return Err(SamlError::UnsupportedSignature("invalid InclusiveNamespaces prefix".into()));
                } else {
                    prefixes.insert(token.to_owned());
                }
            }
        } else if c.is_text() && !c.text().unwrap_or("").chars().all(is_xml_space) {
            return Err(SamlError::UnsupportedSignature("text in canonicalization method".into()));
        }
    }
    Ok(prefixes)
}

fn base64_text(node: Node<'_, '_>) -> Result<Vec<u8>, SamlError> {
    if node.children().any(|c| c.is_element()) {
        return Err(SamlError::UnsupportedSignature(format!("element inside ds:{}", node.tag_name().name())));
    }
    let text: String = node
        .children()
        .filter(|c| c.is_text())
        .flat_map(|c| c.text().unwrap_or("").chars())
        .filter(|c| !is_xml_space(*c))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(text.as_bytes())
        .map_err(|_| SamlError::UnsupportedSignature(format!("ds:{} is not base64", node.tag_name().name())))
}

pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}
