//! SP-initiated AuthnRequest (HTTP-Redirect binding) and SP metadata.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

use std::io::Read as _;

use base64::Engine as _;
use fd_saml::consts::{BINDING_HTTP_POST, NAMEID_EMAIL, NS_ASSERTION, NS_PROTOCOL};
use fd_saml::{ConfigError, SpSettings, authn_request_redirect, new_request_id, sp_metadata_xml};
use time::macros::datetime;

const MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";

fn sp() -> SpSettings {
    SpSettings {
        entity_id: "https://fd.example.com/saml/metadata/dir-1".into(),
        acs_url: "https://fd.example.com/saml/acs/dir-1".into(),
        name_id_format: Some(NAMEID_EMAIL.into()),
    }
}

/// Decode one `application/x-www-form-urlencoded` value.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| form_decode(v)))
}

#[test]
fn authn_request_over_http_redirect() {
    let id = new_request_id();
    assert!(id.starts_with("id") && id.len() == 34, "{id}");
    assert_ne!(id, new_request_id());
    let now = datetime!(2026-01-02 03:04:05 UTC);
    let sso = "https://example.okta.com/app/example_fd_1/exk1fd2dev3idp4/sso/saml";
    let r = authn_request_redirect(&sp(), sso, &id, Some("/after/login?x=1&y=ü"), now).unwrap();
    assert_eq!(r.request_id, id);
    assert!(r.url.starts_with(&format!("{sso}?SAMLRequest=")), "{}", r.url);
    assert_eq!(query_param(&r.url, "RelayState").as_deref(), Some("/after/login?x=1&y=ü"));

    let deflated =
        base64::engine::general_purpose::STANDARD.decode(query_param(&r.url, "SAMLRequest").unwrap()).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..]).read_to_string(&mut xml).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name((NS_PROTOCOL, "AuthnRequest")), "{xml}");
    assert_eq!(root.attribute("ID"), Some(id.as_str()));
    assert_eq!(root.attribute("Version"), Some("2.0"));
    assert_eq!(root.attribute("Destination"), Some(sso));
    assert_eq!(root.attribute("AssertionConsumerServiceURL"), Some(sp().acs_url.as_str()));
    assert_eq!(root.attribute("ProtocolBinding"), Some(BINDING_HTTP_POST));
    assert!(root.attribute("IssueInstant").unwrap().starts_with("2026-01-02T03:04:05"), "{xml}");
    let issuer = root.children().find(|n| n.has_tag_name((NS_ASSERTION, "Issuer"))).unwrap();
    assert_eq!(issuer.text(), Some(sp().entity_id.as_str()));
    let policy = root.children().find(|n| n.has_tag_name((NS_PROTOCOL, "NameIDPolicy"))).unwrap();
    assert_eq!(policy.attribute("Format"), Some(NAMEID_EMAIL));

    // Without RelayState.
    let r = authn_request_redirect(&sp(), sso, &id, None, now).unwrap();
    assert_eq!(query_param(&r.url, "RelayState"), None);
}

#[test]
fn authn_request_input_checks() {
    let now = datetime!(2026-01-02 03:04:05 UTC);
    let sso = "https://example.okta.com/sso";
    let long = "x".repeat(81);
    assert!(matches!(authn_request_redirect(&sp(), sso, "id1", Some(&long), now), Err(ConfigError::Setting(_))));
    assert!(matches!(
        authn_request_redirect(&sp(), "javascript:alert(1)", "id1", None, now),
        Err(ConfigError::Setting(_))
    ));
    assert!(matches!(authn_request_redirect(&sp(), sso, "1abc", None, now), Err(ConfigError::Setting(_))));
}

#[test]
fn sp_metadata() {
    let xml = sp_metadata_xml(&sp()).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name((MD, "EntityDescriptor")), "{xml}");
    assert_eq!(root.attribute("entityID"), Some(sp().entity_id.as_str()));
    let sp_sso = root.children().find(|n| n.has_tag_name((MD, "SPSSODescriptor"))).unwrap();
    assert_eq!(sp_sso.attribute("protocolSupportEnumeration"), Some(NS_PROTOCOL));
    assert_eq!(sp_sso.attribute("WantAssertionsSigned"), Some("true"));
    let nid = sp_sso.children().find(|n| n.has_tag_name((MD, "NameIDFormat"))).unwrap();
    assert_eq!(nid.text(), Some(NAMEID_EMAIL));
    let acs = sp_sso.children().find(|n| n.has_tag_name((MD, "AssertionConsumerService"))).unwrap();
    assert_eq!(acs.attribute("Binding"), Some(BINDING_HTTP_POST));
    assert_eq!(acs.attribute("Location"), Some(sp().acs_url.as_str()));
}
