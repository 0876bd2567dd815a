//! The input path: HTTP-POST binding value → UTF-8 XML text → strictly parsed `roxmltree` document.

use base64::Engine as _;
use roxmltree::{Document, NodeType, ParsingOptions};

use crate::error::SamlError;

/// Largest accepted `SAMLResponse` form value (base64 text, before decoding): 1 MiB.
pub const MAX_ENCODED_RESPONSE_LEN: usize = 1024 * 1024;

/// Deepest element nesting accepted anywhere (an Okta response nests about 7 deep).
pub(crate) const MAX_XML_DEPTH: usize = 32;

/// Most attributes (namespace declarations included) on one element (SAML elements carry fewer than 10).
const MAX_ATTRIBUTES_PER_ELEMENT: usize = 64;

/// Most namespace declarations on one element (Okta: at most 3).
const MAX_NS_DECLS_PER_ELEMENT: usize = 8;

/// Most namespace declarations in one document (Okta declares `xsi` on every attribute value).
const MAX_NS_DECLS: usize = 4096;

/// Most nodes (elements, text, ...) accepted in one document.
const MAX_NODES: u32 = 50_000;

/// Decode the HTTP-POST binding value: size limit first, plain base64 with whitespace/line breaks allowed,
/// no DEFLATE (the POST binding never deflates), UTF-8 only.
pub(crate) fn decode_post_value(encoded: &[u8]) -> Result<String, SamlError> {
    if encoded.len() > MAX_ENCODED_RESPONSE_LEN {
        return Err(SamlError::TooLarge { len: encoded.len(), max: MAX_ENCODED_RESPONSE_LEN });
    }
    let compact: Vec<u8> = encoded.iter().copied().filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')).collect();
    if compact.is_empty() {
        return Err(SamlError::NotSaml("empty SAMLResponse".into()));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| SamlError::NotSaml("SAMLResponse is not valid base64".into()))?;
    let body = decoded.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&decoded);
    let start = body.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n')).unwrap_or(body.len());
    let body = &body[start..];
    if body.first() != Some(&b'<') {
        return Err(SamlError::NotSaml("decoded payload is not XML (deflated or binary data?)".into()));
    }
    String::from_utf8(body.to_vec()).map_err(|_| SamlError::NotSaml("payload is not UTF-8".into()))
}

/// Parse XML text strictly: no DTD, no entity declarations, no processing instructions (other than the XML
/// declaration), no comments, UTF-8 only, bounded size and depth.
pub(crate) fn parse_strict(text: &str) -> Result<Document<'_>, SamlError> {
    if contains_ignore_ascii_case(text.as_bytes(), b"<!DOCTYPE") {
        return Err(SamlError::ForbiddenXml("DTD / DOCTYPE"));
    }
    if contains_ignore_ascii_case(text.as_bytes(), b"<!ENTITY") {
        return Err(SamlError::ForbiddenXml("entity declaration"));
    }
    let after_decl = match xml_declaration(text) {
        Some((decl, rest)) => {
            check_declared_encoding(decl)?;
            rest
        }
        None => text,
    };
    if after_decl.contains("<?") {
        return Err(SamlError::ForbiddenXml("processing instruction"));
    }
    check_markup_limits(after_decl.as_bytes())?;

    let options = ParsingOptions { allow_dtd: false, nodes_limit: MAX_NODES, ..ParsingOptions::default() };
    let doc =
        Document::parse_with_options(text, options).map_err(|e| SamlError::NotSaml(format!("malformed XML: {e}")))?;

    // Element depth by node id (descendants() is in document order: parents come first).
    let mut depth = vec![0usize; doc.descendants().count()];
    for node in doc.descendants() {
        match node.node_type() {
            NodeType::PI => return Err(SamlError::ForbiddenXml("processing instruction")),
            NodeType::Comment => return Err(SamlError::ForbiddenXml("XML comment")),
            NodeType::Element => {
                let parent_depth = node.parent().and_then(|p| depth.get(p.id().get_usize()).copied()).unwrap_or(0);
                let d = parent_depth + 1;
                if d > MAX_XML_DEPTH {
                    return Err(SamlError::ForbiddenXml("elements nested too deeply"));
                }
                if let Some(slot) = depth.get_mut(node.id().get_usize()) {
                    *slot = d;
                }
            }
            _ => {}
        }
    }
    Ok(doc)
}

/// A linear lexical pass that bounds what makes tree building super-linear: attributes per element,
/// namespace declarations (per element and in total) and nesting depth. The parser's own costs grow with
/// (attributes per element)² and (namespaces in scope × elements declaring namespaces); these limits keep
/// a 1 MiB input at a few milliseconds. Malformed markup is left for the parser to refuse.
fn check_markup_limits(b: &[u8]) -> Result<(), SamlError> {
    let find = |from: usize, pat: &[u8]| b.get(from..).and_then(|r| r.windows(pat.len()).position(|w| w == pat));
    let mut i = 0;
    let mut depth = 0usize;
    let mut decls_total = 0usize;
    while let Some(off) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'<')) {
        let pos = i + off;
        let rest = &b[pos..];
        if rest.starts_with(b"<!--") {
            i = find(pos + 4, b"-->").map_or(b.len(), |e| pos + 4 + e + 3);
            continue;
        }
        if rest.starts_with(b"<![CDATA[") {
            i = find(pos + 9, b"]]>").map_or(b.len(), |e| pos + 9 + e + 3);
            continue;
        }
        if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = pos + 2;
            continue;
        }
        if rest.starts_with(b"<!") || rest.starts_with(b"<?") {
            i = pos + 2;
            continue;
        }
        // A start tag: attribute values are quoted, and may contain '>'.
        let mut attributes = 0usize;
        let mut decls = 0usize;
        let mut quote: Option<u8> = None;
        let mut j = pos + 1;
        let mut self_closing = false;
        while j < b.len() {
            let c = b[j];
            match quote {
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    b'"' | b'\'' => {
                        quote = Some(c);
                        attributes += 1;
                    }
                    b'>' => {
                        self_closing = b[j - 1] == b'/';
                        break;
                    }
                    b'x' if b[j - 1].is_ascii_whitespace()
                        && b[j..].starts_with(b"xmlns")
                        && matches!(b.get(j + 5), Some(b':' | b'=' | b' ' | b'\t' | b'\r' | b'\n')) =>
                    {
                        decls += 1;
                    }
                    _ => {}
                },
            }
            j += 1;
        }
        if attributes > MAX_ATTRIBUTES_PER_ELEMENT {
            return Err(SamlError::ForbiddenXml("too many attributes on one element"));
        }
        if decls > MAX_NS_DECLS_PER_ELEMENT {
            return Err(SamlError::ForbiddenXml("too many namespace declarations on one element"));
        }
        decls_total += decls;
        if decls_total > MAX_NS_DECLS {
            return Err(SamlError::ForbiddenXml("too many namespace declarations"));
        }
        if !self_closing {
            depth += 1;
            if depth > MAX_XML_DEPTH {
                return Err(SamlError::ForbiddenXml("elements nested too deeply"));
            }
        }
        i = j + 1;
    }
    Ok(())
}

/// `(declaration, rest)` when the text starts with an XML declaration.
fn xml_declaration(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix("<?xml")?;
    if !rest.starts_with([' ', '\t', '\r', '\n']) {
        return None;
    }
    let end = rest.find("?>")?;
    Some((&rest[..end], &rest[end + 2..]))
}

fn check_declared_encoding(decl: &str) -> Result<(), SamlError> {
    let Some(pos) = decl.find("encoding") else {
        return Ok(());
    };
    let value = decl[pos + "encoding".len()..].trim_start().strip_prefix('=').map(str::trim_start).and_then(|v| {
        let quote = v.chars().next().filter(|q| *q == '"' || *q == '\'')?;
        let v = &v[1..];
        v.find(quote).map(|end| &v[..end])
    });
    match value {
        Some(enc) if enc.eq_ignore_ascii_case("UTF-8") => Ok(()),
        _ => Err(SamlError::ForbiddenXml("declared encoding other than UTF-8")),
    }
}

/// Whether `haystack` contains `needle` (which starts with `<`), ASCII case-insensitively.
fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'<')
        .any(|(i, _)| haystack.get(i..i + needle.len()).is_some_and(|w| w.eq_ignore_ascii_case(needle)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &[u8]) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD.encode(s).into_bytes()
    }

    #[test]
    fn decode_rules() {
        assert!(matches!(
            decode_post_value(&vec![b'A'; MAX_ENCODED_RESPONSE_LEN + 1]),
            Err(SamlError::TooLarge { .. })
        ));
        assert!(matches!(decode_post_value(b"%%%not base64"), Err(SamlError::NotSaml(_))));
        assert!(matches!(decode_post_value(&enc(b"\x78\x9c\xb3")), Err(SamlError::NotSaml(_))));
        assert!(matches!(decode_post_value(&enc(b"<a>\xff</a>")), Err(SamlError::NotSaml(_))));
        let mut wrapped = enc(b"\xEF\xBB\xBF  <a/>");
        wrapped.insert(4, b'\n');
        wrapped.insert(2, b'\r');
        assert_eq!(decode_post_value(&wrapped).unwrap(), "<a/>");
    }

    #[test]
    fn strict_parse_rules() {
        assert!(parse_strict("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>").is_ok());
        assert!(parse_strict("<?xml version='1.0' encoding='utf-8'?><a/>").is_ok());
        assert_eq!(
            parse_strict("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>").unwrap_err(),
            SamlError::ForbiddenXml("declared encoding other than UTF-8")
        );
        assert!(matches!(parse_strict("<!DOCTYPE a []><a/>"), Err(SamlError::ForbiddenXml(_))));
        assert!(matches!(parse_strict("<a><?pi x?></a>"), Err(SamlError::ForbiddenXml(_))));
        assert!(matches!(parse_strict("<a><!-- x --></a>"), Err(SamlError::ForbiddenXml(_))));
        let deep = format!("{}{}", "<a>".repeat(MAX_XML_DEPTH + 1), "</a>".repeat(MAX_XML_DEPTH + 1));
        assert!(matches!(parse_strict(&deep), Err(SamlError::ForbiddenXml(_))));
        assert!(matches!(parse_strict("<a>"), Err(SamlError::NotSaml(_))));
        let ok_depth = format!("{}{}", "<a>".repeat(MAX_XML_DEPTH), "</a>".repeat(MAX_XML_DEPTH));
        assert!(parse_strict(&ok_depth).is_ok());
        let siblings = format!("<r>{}</r>", "<a b='>' c=\"/>\"></a><a/>".repeat(5000));
        assert!(parse_strict(&siblings).is_ok());
        let attrs: String = (0..=MAX_ATTRIBUTES_PER_ELEMENT).map(|i| format!(" a{i}='x'")).collect();
        assert!(matches!(parse_strict(&format!("<r{attrs}/>")), Err(SamlError::ForbiddenXml(_))));
        let decls: String = (0..=MAX_NS_DECLS_PER_ELEMENT).map(|i| format!(" xmlns:n{i}='urn:{i}'")).collect();
        assert!(matches!(parse_strict(&format!("<r{decls}/>")), Err(SamlError::ForbiddenXml(_))));
        let many = format!("<r>{}</r>", "<a xmlns:x='urn:x'/>".repeat(MAX_NS_DECLS + 1));
        assert!(matches!(parse_strict(&many), Err(SamlError::ForbiddenXml(_))));
        assert!(parse_strict("<r><![CDATA[<a b='1' c='2'>]]><!-- <x> --></r>").is_err()); // comment refused later
        assert!(parse_strict("<r><![CDATA[<a><a><a>]]></r>").is_ok());
    }
}
