//! Responses that must be accepted, and what the caller gets from them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

mod common;

use common::*;
use fd_saml::dev_idp::{SignMode, encode_post_value};
use fd_saml::{TrustedKeys, ValidationConfig, validate_response};

#[test]
fn both_signed_okta_shape() {
    let o = opts(SignMode::Both);
    let xml = idp().signed_response(&o).unwrap();
    assert!(xml.contains(r#"PrefixList="xs""#) && xml.contains(r#"xsi:type="xs:string""#));
    let v = assert_accepted(check_xml(&xml));
    assert_eq!(v.name_id, USER);
    assert_eq!(v.name_id_format.as_deref(), Some("urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"));
    assert_eq!(v.assertion_id, o.assertion_id);
    assert_eq!(v.in_response_to.as_deref(), Some("id4f1e2d3c"));
    assert_eq!(v.issuer, IDP_ENTITY_ID);
    assert_eq!(v.session_index, o.session_index);
    assert!(v.signed.response && v.signed.assertion);
    assert_eq!(v.attribute_values("email"), [USER]);
    assert_eq!(v.attribute_values("groups"), ["Everyone", "fd-admins"]);
    // NotOnOrAfter is now + 5 min (the template writes milliseconds).
    let expected = o.now + time::Duration::minutes(5);
    assert!((v.not_on_or_after - expected).abs() < time::Duration::milliseconds(2), "{}", v.not_on_or_after);
}

#[test]
fn response_only_signed() {
    let v = assert_accepted(check_xml(&signed(SignMode::ResponseOnly)));
    assert!(v.signed.response && !v.signed.assertion);
    assert_eq!(v.name_id, USER);
    assert_eq!(v.in_response_to.as_deref(), Some("id4f1e2d3c"));
}

#[test]
fn assertion_only_signed() {
    let v = assert_accepted(check_xml(&signed(SignMode::AssertionOnly)));
    assert!(!v.signed.response && v.signed.assertion);
    assert_eq!(v.name_id, USER);
    assert_eq!(v.in_response_to.as_deref(), Some("id4f1e2d3c"));
}

#[test]
fn idp_initiated_has_no_in_response_to() {
    let mut o = opts(SignMode::Both);
    o.in_response_to = None;
    let v = assert_accepted(check_xml(&idp().signed_response(&o).unwrap()));
    assert_eq!(v.in_response_to, None);
}

#[test]
fn base64_with_line_breaks_and_whitespace() {
    let b64 = encode_post_value(&signed(SignMode::Both));
    let wrapped: String =
        b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n");
    let wrapped = format!("  {wrapped}\n ");
    assert_accepted(validate_response(wrapped.as_bytes(), &config(), now()));
}

#[test]
fn whitespace_inside_signed_content() {
    // Indentation everywhere, CRLF line endings in the signed document, and whitespace inside NameID
    // (kept exactly: the signed text is returned untrimmed).
    let xml = signed_with(SignMode::Both, |t| {
        replace_once(&t, &format!(">{USER}</saml2:NameID>"), &format!(">\n        {USER}\n      </saml2:NameID>"))
            .replace('\n', "\r\n")
    });
    assert!(xml.contains("\r\n"));
    let v = assert_accepted(check_xml(&xml));
    assert_eq!(v.name_id, format!("\n        {USER}\n      "));
}

#[test]
fn no_xml_declaration_and_bom() {
    let xml = signed(SignMode::Both);
    let xml = xml.strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#).unwrap();
    assert_accepted(check_xml(xml));
    assert_accepted(check_xml(&format!("\u{feff}{xml}")));
}

#[test]
fn key_rotation_tries_every_trusted_certificate() {
    let mut keys = TrustedKeys::from_pem(attacker().certificate_pem()).unwrap();
    keys.extend(trusted(idp()));
    let cfg = ValidationConfig { trusted_keys: keys, ..config() };
    assert_accepted(check_xml_with(&signed(SignMode::Both), &cfg));
    // Both certificates in one PEM text, too.
    let pem = format!("{}\n{}", attacker().certificate_pem(), idp().certificate_pem());
    let cfg = ValidationConfig { trusted_keys: TrustedKeys::from_pem(&pem).unwrap(), ..config() };
    assert_eq!(cfg.trusted_keys.keys().len(), 2);
    assert_accepted(check_xml_with(&signed(SignMode::AssertionOnly), &cfg));
}

#[test]
fn keyinfo_is_ignored() {
    // A trusted signature with somebody else's certificate in KeyInfo still verifies with the configured key:
    // KeyInfo neither helps nor hurts.
    // (The Assertion's KeyInfo is part of the Response's signed content when both are signed; the Response's
    // own KeyInfo, the first one in the document, is not.)
    let ours = base64_cert(idp().certificate_der());
    let theirs = base64_cert(attacker().certificate_der());
    for sign in [SignMode::Both, SignMode::ResponseOnly, SignMode::AssertionOnly] {
        let xml = signed(sign).replacen(&ours, &theirs, 1);
        assert!(xml.contains(&theirs));
        assert_accepted(check_xml(&xml));
    }
}

fn base64_cert(der: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(der)
}

#[test]
fn clock_skew_is_allowed() {
    // Issued 90 s in the future (IdP clock ahead), within the default 120 s skew.
    let mut o = opts(SignMode::Both);
    o.now = now() + time::Duration::seconds(90);
    assert_accepted(check_xml(&idp().signed_response(&o).unwrap()));
    // Expired 60 s ago, within the skew.
    let mut o = opts(SignMode::Both);
    o.now = now() - time::Duration::minutes(6);
    assert_accepted(check_xml(&idp().signed_response(&o).unwrap()));
}

#[test]
fn issuer_check_is_optional() {
    let cfg = ValidationConfig::new(SP_ENTITY_ID, ACS_URL, trusted(idp()));
    assert_eq!(cfg.clock_skew, fd_saml::DEFAULT_CLOCK_SKEW);
    assert_accepted(check_xml_with(&signed(SignMode::Both), &cfg));
}

#[test]
fn http_status_classification() {
    let e = validate_response(b"not base64 at all!", &config(), now()).unwrap_err();
    assert!(e.is_not_saml());
    assert_eq!(e.http_status(), 400);
    let e = check_xml(&signed(SignMode::None)).unwrap_err();
    assert!(!e.is_not_saml());
    assert_eq!(e.http_status(), 403);
}

#[test]
fn times_with_a_zone_offset_are_compared_as_instants() {
    // The same instants written with +01:00 instead of Z: accepted, and `not_on_or_after` is returned in UTC.
    use time::format_description::well_known::Rfc3339;
    let o = opts(SignMode::AssertionOnly);
    let end = o.now + o.lifetime;
    let utc = fd_saml::dev_idp::fmt_time(end);
    let plus_one = time::OffsetDateTime::parse(&utc, &Rfc3339)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(1, 0, 0).unwrap())
        .format(&Rfc3339)
        .unwrap();
    assert!(plus_one.ends_with("+01:00"), "{plus_one}");
    let xml = sign_template(&idp().response_template(&o).replace(&utc, &plus_one), SignMode::AssertionOnly);
    assert!(xml.contains(&plus_one));
    let v = assert_accepted(check_xml(&xml));
    assert_eq!(v.not_on_or_after.offset(), time::UtcOffset::UTC);
    assert_eq!(fd_saml::dev_idp::fmt_time(v.not_on_or_after), utc);
}
