//! Exclusive XML Canonicalization 1.0 (without comments) over a `roxmltree` subtree.
//!
//! Spec: <https://www.w3.org/TR/xml-exc-c14n/> on top of <https://www.w3.org/TR/xml-c14n> section 2.
//! The node-set is "the subtree of `apex`, minus the subtree of `exclude`" — exactly the node-set that a
//! same-document reference `#ID` followed by the enveloped-signature transform produces, and the subtree of
//! `SignedInfo` for the signature itself.
//!
//! Rules implemented (and what roxmltree already did for us):
//! * Line endings: the parser normalised `\r\n` and lone `\r` to `\n`; a `\r` that is still in a text or
//!   attribute value came from a character reference and is written as `&#xD;`.
//! * Attribute values: the parser applied attribute-value normalisation (literal whitespace → space,
//!   references expanded); we escape `&`, `<`, `"`, TAB, LF and CR as `&amp;`, `&lt;`, `&quot;`, `&#x9;`,
//!   `&#xA;`, `&#xD;`.
//! * Text: `&`, `<`, `>`, CR escaped as `&amp;`, `&lt;`, `&gt;`, `&#xD;`; CDATA sections become text;
//!   whitespace is kept exactly.
//! * Comments are dropped; processing instructions are refused by the caller before we get here.
//! * Empty elements are written as start/end tag pairs.
//! * Attributes sorted by (namespace URI, local name); namespace declarations first, sorted by prefix with
//!   the default namespace first.
//! * Namespaces (exclusive rule): an element renders the declaration of a prefix it *visibly utilizes*
//!   (its own prefix, or the prefix of one of its attributes; the default namespace when it has no prefix),
//!   or of a prefix in the `InclusiveNamespaces PrefixList` that is in scope, unless the nearest output
//!   ancestor already rendered the same prefix with the same URI. `xmlns=""` is rendered only to undo a
//!   non-empty default namespace rendered by an output ancestor. The `xml` prefix is never declared.
//!
//! roxmltree does not keep prefixes, so element and attribute QNames are read back from the source text by
//! their byte ranges (the `positions` feature).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::collections::HashMap;

use roxmltree::{Node, NodeId, NodeType};

/// Canonicalization failed (only on documents the caller should have refused already).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct C14nError(pub &'static str);

/// Parameters of one canonicalization.
#[derive(Debug, Clone)]
pub(crate) struct ExcC14n<'a> {
    /// `InclusiveNamespaces PrefixList` tokens, deduplicated; `#default` already mapped to `""`. The caller
    /// bounds their number ([`crate::dsig`]), so the work per element is bounded too.
    pub inclusive_prefixes: &'a BTreeSet<String>,
    /// A node (with its subtree) left out of the node-set: the enveloped `Signature`.
    pub exclude: Option<NodeId>,
}

/// No inclusive prefixes: the empty list.
static NO_PREFIXES: BTreeSet<String> = BTreeSet::new();

impl Default for ExcC14n<'_> {
    fn default() -> Self {
        ExcC14n { inclusive_prefixes: &NO_PREFIXES, exclude: None }
    }
}

thread_local! {
    static STEPS: Cell<u64> = const { Cell::new(0) };
}

/// Canonicalization steps done on this thread so far: one per node written and one per namespace prefix
/// considered for a declaration. Tests use it to bound the work an input causes by count, not by time.
pub fn steps() -> u64 {
    STEPS.with(Cell::get)
}

fn count_steps(n: usize) {
    STEPS.with(|s| s.set(s.get().saturating_add(n as u64)));
}

/// Maximum element depth below the apex that we canonicalize (the caller limits depth earlier, this is a
/// second guard against unbounded recursion).
const MAX_DEPTH: usize = 256;

impl ExcC14n<'_> {
    /// Canonicalize the subtree of `apex` (an element) into a string.
    pub(crate) fn canonicalize(&self, apex: Node<'_, '_>) -> Result<String, C14nError> {
        if !apex.is_element() {
            return Err(C14nError("canonicalization apex is not an element"));
        }
        let mut out = String::with_capacity(apex.range().len() + 256);
        let mut rendered = Rendered::default();
        self.element(apex, &mut rendered, &mut out, 0)?;
        Ok(out)
    }

    fn element<'r>(
        &'r self,
        node: Node<'r, 'r>,
        rendered: &mut Rendered<'r>,
        out: &mut String,
        depth: usize,
    ) -> Result<(), C14nError> {
        if depth > MAX_DEPTH {
            return Err(C14nError("document nested too deeply"));
        }
        let src = node.document().input_text();
        let qname = element_qname(src, node)?;
        let element_prefix = prefix_of(qname);

        // Prefixes that may need a declaration on this element.
        let mut candidates: BTreeSet<&str> = BTreeSet::new();
        candidates.insert(element_prefix);
        let mut attrs = Vec::new();
        for attr in node.attributes() {
            let aq = src.get(attr.range_qname()).ok_or(C14nError("attribute name out of range"))?;
            let ap = prefix_of(aq);
            if !ap.is_empty() {
                candidates.insert(ap);
            }
            attrs.push((attr.namespace().unwrap_or(""), attr.name(), aq, attr.value()));
        }
        for p in self.inclusive_prefixes {
            candidates.insert(p.as_str());
        }
        count_steps(1 + candidates.len());

        // Declarations rendered by this element (pushed on `rendered` for its descendants, popped at the end).
        let mut ns_out: Vec<(&str, &str)> = Vec::new();
        for p in candidates {
            if p == "xml" {
                continue;
            }
            if p.is_empty() {
                // Default namespace: utilized by an unprefixed element, or listed as #default.
                let uri = node.lookup_namespace_uri(None).unwrap_or("");
                if uri != rendered.current("").unwrap_or("") {
                    ns_out.push(("", uri));
                }
            } else {
                let Some(uri) = node.lookup_namespace_uri(Some(p)) else {
                    if p == element_prefix || !self.inclusive_prefixes.contains(p) {
                        // A visibly utilized prefix must be bound (the parser guarantees it).
                        return Err(C14nError("unbound namespace prefix"));
                    }
                    // An inclusive prefix that is not in scope here: nothing to render.
                    continue;
                };
                if rendered.current(p) != Some(uri) {
                    ns_out.push((p, uri));
                }
            }
        }

        out.push('<');
        out.push_str(qname);
        // BTreeSet iteration already yields "" first, then prefixes in code point order.
        for (p, uri) in &ns_out {
            if p.is_empty() {
                out.push_str(" xmlns=\"");
            } else {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
            escape_attr(uri, out);
            out.push('"');
        }
        attrs.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (_, _, aq, value) in &attrs {
            out.push(' ');
            out.push_str(aq);
            out.push_str("=\"");
            escape_attr(value, out);
            out.push('"');
        }
        out.push('>');

        for (p, uri) in &ns_out {
            rendered.push(p, uri);
        }
        for child in node.children() {
            match child.node_type() {
                NodeType::Element => {
                    if Some(child.id()) == self.exclude {
                        continue;
                    }
                    self.element(child, rendered, out, depth + 1)?;
                }
                NodeType::Text => {
                    count_steps(1);
                    escape_text(child.text().unwrap_or(""), out);
                }
                NodeType::Comment => {}
                NodeType::PI => return Err(C14nError("processing instruction in signed content")),
                NodeType::Root => return Err(C14nError("unexpected root node")),
            }
        }

        for (p, _) in &ns_out {
            rendered.pop(p);
        }
        out.push_str("</");
        out.push_str(qname);
        out.push('>');
        Ok(())
    }
}

/// Namespace declarations rendered by the output ancestors: prefix → stack of URIs (innermost last).
/// O(1) per lookup, push and pop, whatever the number of declarations in scope.
#[derive(Default)]
struct Rendered<'d> {
    map: HashMap<&'d str, Vec<&'d str>>,
}

impl<'d> Rendered<'d> {
    fn current(&self, prefix: &str) -> Option<&'d str> {
        self.map.get(prefix).and_then(|v| v.last().copied())
    }
    fn push(&mut self, prefix: &'d str, uri: &'d str) {
        self.map.entry(prefix).or_default().push(uri);
    }
    fn pop(&mut self, prefix: &str) {
        if let Some(v) = self.map.get_mut(prefix) {
            v.pop();
        }
    }
}

/// The element's qualified name as written in the source (`prefix:local` or `local`).
fn element_qname<'s>(src: &'s str, node: Node<'_, '_>) -> Result<&'s str, C14nError> {
    let rest = src.get(node.range().start..).ok_or(C14nError("element out of range"))?;
    let rest = rest.strip_prefix('<').ok_or(C14nError("element does not start with '<'"))?;
    let end = rest
        .find(|c: char| c == '>' || c == '/' || c.is_ascii_whitespace())
        .ok_or(C14nError("unterminated start tag"))?;
    let qname = &rest[..end];
    // Sanity: the local part must match what the parser saw.
    let local = qname.rsplit_once(':').map_or(qname, |(_, l)| l);
    if qname.is_empty() || local != node.tag_name().name() {
        return Err(C14nError("element name mismatch"));
    }
    Ok(qname)
}

fn prefix_of(qname: &str) -> &str {
    qname.split_once(':').map_or("", |(p, _)| p)
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c14n_root(xml: &str, prefixes: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let p: BTreeSet<String> = prefixes.iter().map(|s| s.to_string()).collect();
        ExcC14n { inclusive_prefixes: &p, exclude: None }.canonicalize(doc.root_element()).unwrap()
    }

    fn c14n_first(xml: &str, local: &str, prefixes: &[&str]) -> String {
        let doc = roxmltree::Document::parse(xml).unwrap();
        let p: BTreeSet<String> = prefixes.iter().map(|s| s.to_string()).collect();
        let n = doc.descendants().find(|n| n.has_tag_name(local)).unwrap();
        ExcC14n { inclusive_prefixes: &p, exclude: None }.canonicalize(n).unwrap()
    }

    #[test]
    fn escaping_and_line_endings() {
        let xml = "<a b=\"x&#9;y&#10;z&#13;&lt;&quot;&gt;&amp;\" c='lit\ttab\nnl\r\ncrlf'>t&#13;u\r\nv\rw &amp; &lt; &gt; \"'<![CDATA[<&>]]></a>";
        assert_eq!(
            c14n_root(xml, &[]),
            "<a b=\"x&#x9;y&#xA;z&#xD;&lt;&quot;>&amp;\" c=\"lit tab nl crlf\">t&#xD;u\nv\nw &amp; &lt; &gt; \"'&lt;&amp;&gt;</a>"
        );
    }

    #[test]
    fn empty_elements_comments_and_attribute_order() {
        let xml = r#"<r xmlns:b="urn:b" xmlns:a="urn:a" z="1" b:y="2" a:x="3" a="4"><e/><!-- c --><f></f></r>"#;
        assert_eq!(
            c14n_root(xml, &[]),
            r#"<r xmlns:a="urn:a" xmlns:b="urn:b" a="4" z="1" a:x="3" b:y="2"><e></e><f></f></r>"#
        );
    }

    #[test]
    fn exclusive_namespace_rules() {
        // Unused declarations are dropped, used ones are pushed down to the first user, not repeated.
        let xml = r#"<p:Root xmlns:p="urn:p" xmlns:q="urn:q" xmlns:xs="urn:xs" xmlns="urn:d"><p:A><q:B/><C q:at="v">xs:string</C></p:A></p:Root>"#;
        assert_eq!(
            c14n_first(xml, "A", &[]),
            r#"<p:A xmlns:p="urn:p"><q:B xmlns:q="urn:q"></q:B><C xmlns="urn:d" xmlns:q="urn:q" q:at="v">xs:string</C></p:A>"#
        );
        // InclusiveNamespaces PrefixList="xs" renders xs on the apex.
        assert_eq!(
            c14n_first(xml, "A", &["xs"]),
            r#"<p:A xmlns:p="urn:p" xmlns:xs="urn:xs"><q:B xmlns:q="urn:q"></q:B><C xmlns="urn:d" xmlns:q="urn:q" q:at="v">xs:string</C></p:A>"#
        );
    }

    #[test]
    fn default_namespace_undeclaration() {
        let xml = r#"<a xmlns="urn:d"><b xmlns=""><c/></b></a>"#;
        assert_eq!(c14n_root(xml, &[]), r#"<a xmlns="urn:d"><b xmlns=""><c></c></b></a>"#);
        // As an apex, an element in no namespace needs no xmlns="".
        assert_eq!(c14n_first(xml, "b", &[]), r#"<b><c></c></b>"#);
        // Redeclaring the same prefix with the same URI is not repeated; with another URI it is.
        let xml = r#"<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:1"><p:c xmlns:p="urn:2"/></p:b></p:a>"#;
        assert_eq!(c14n_root(xml, &[]), r#"<p:a xmlns:p="urn:1"><p:b><p:c xmlns:p="urn:2"></p:c></p:b></p:a>"#);
    }

    #[test]
    fn exclude_subtree() {
        let xml = r#"<a ID="x"> <ds:Signature xmlns:ds="urn:ds"><ds:X/></ds:Signature> <b/></a>"#;
        let doc = roxmltree::Document::parse(xml).unwrap();
        let sig = doc.descendants().find(|n| n.has_tag_name("Signature")).unwrap();
        let out = ExcC14n { exclude: Some(sig.id()), ..ExcC14n::default() }.canonicalize(doc.root_element()).unwrap();
        assert_eq!(out, r#"<a ID="x">  <b></b></a>"#);
    }

    #[test]
    fn work_is_linear_in_nodes_and_prefixes() {
        // 2,000 elements, each with a text node, and the full inclusive prefix list: the steps are at most
        // (1 + candidates) per element plus one per text node, never elements × prefixes × anything else.
        let xml = format!("<r xmlns:a=\"urn:a\">{}</r>", "<a:e a:x=\"1\">t</a:e>".repeat(2000));
        let prefixes: Vec<String> = (0..16).map(|i| format!("p{i}")).collect();
        let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let before = steps();
        c14n_root(&xml, &refs);
        let done = steps() - before;
        let elements = 2001u64;
        assert!(done <= elements * (1 + 2 + 16) + 2000, "{done} steps");
        assert!(done >= elements, "{done} steps");
    }
}
