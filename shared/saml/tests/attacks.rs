//! Attacks and invalid responses: each must be refused.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

mod common;

use std::io::Write as _;

use common::*;
use fd_saml::dev_idp::{SignMode, encode_post_value};
use fd_saml::{ConfigError, MAX_ENCODED_RESPONSE_LEN, SamlError, TrustedKeys, ValidationConfig, validate_response};

const EVIL: &str = "evil@attacker.example";
const ALL_MODES: [SignMode; 3] = [SignMode::Both, SignMode::ResponseOnly, SignMode::AssertionOnly];

fn assertion_of(xml: &str) -> &str {
    &xml[element_span(xml, "<saml2:Assertion ", "</saml2:Assertion>")]
}

fn strip_signature(s: &str) -> String {
    match s.find("<ds:Signature") {
        Some(start) => {
            let end = s[start..].find("</ds:Signature>").unwrap() + start + "</ds:Signature>".len();
            format!("{}{}", &s[..start], &s[end..])
        }
        None => s.to_owned(),
    }
}

/// An unsigned assertion like the signed one, for another user, with another ID.
fn evil_assertion(signed_xml: &str) -> String {
    let a = strip_signature(assertion_of(signed_xml));
    let id = attr(&a, "ID");
    a.replace(USER, EVIL).replace(&id, "idEVIL")
}

fn attr(s: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    let start = s.find(&key).unwrap() + key.len();
    s[start..start + s[start..].find('"').unwrap()].to_owned()
}

fn is_malformed(e: &SamlError) -> bool {
    matches!(e, SamlError::Malformed(_))
}

// ---------------------------------------------------------------------------------------------------------
// Signatures

#[test]
fn unsigned_response() {
    assert_rejected(check_xml(&signed(SignMode::None)), |e| *e == SamlError::Unsigned);
}

#[test]
fn signed_by_another_key_with_its_certificate_in_keyinfo() {
    for sign in ALL_MODES {
        let xml = attacker().signed_response(&opts(sign)).unwrap();
        use base64::Engine as _;
        assert!(xml.contains(&base64::engine::general_purpose::STANDARD.encode(attacker().certificate_der())));
        assert_rejected(check_xml(&xml), |e| *e == SamlError::UntrustedSignature);
    }
}

#[test]
fn content_altered_after_signing() {
    for sign in ALL_MODES {
        let xml = signed(sign);
        let nameid = replace_once(&xml, &format!(">{USER}</saml2:NameID>"), &format!(">{EVIL}</saml2:NameID>"));
        assert_rejected(check_xml(&nameid), |e| *e == SamlError::DigestMismatch);
        let group = replace_once(&xml, ">fd-admins<", ">fd-superadmins<");
        assert_rejected(check_xml(&group), |e| *e == SamlError::DigestMismatch);
        let audience = xml.replace("<saml2:Audience>", "<saml2:Audience>x");
        assert_rejected(check_xml(&audience), |e| *e == SamlError::DigestMismatch);
    }
    // The signed Response envelope, too.
    let xml = signed(SignMode::ResponseOnly);
    let irt = replace_once(&xml, r#"<saml2p:Response "#, r#"<saml2p:Response Consent="urn:x" "#);
    assert_rejected(check_xml(&irt), |e| *e == SamlError::DigestMismatch);
}

#[test]
fn recomputed_digest_without_the_key() {
    // The attacker alters the content and fixes the DigestValue (here: by signing the altered document with its
    // own key), but keeps the IdP's SignatureValue: the signature over SignedInfo no longer verifies.
    let mut o = opts(SignMode::AssertionOnly);
    let genuine = idp().signed_response(&o).unwrap();
    o.name_id = EVIL.into();
    let forged = attacker().signed_response(&o).unwrap();
    let value = |x: &str| x[element_span(x, "<ds:SignatureValue>", "</ds:SignatureValue>")].to_owned();
    let forged = forged.replace(&value(&forged), &value(&genuine));
    assert_rejected(check_xml(&forged), |e| *e == SamlError::UntrustedSignature);
}

#[test]
fn algorithm_and_reference_tampering() {
    let xml = signed(SignMode::AssertionOnly);
    let unsupported = |e: &SamlError| matches!(e, SamlError::UnsupportedSignature(_));
    let cases = [
        xml.replace(
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        ),
        xml.replace(
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#">"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#WithComments">"#,
        ),
        xml.replace(
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>"#,
        ),
        xml.replace(&format!("URI=\"#{}\"", attr(assertion_of(&xml), "ID")), "URI=\"\""),
        xml.replace(r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#, ""),
        xml.replace(
            "</ds:Transforms>",
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"/></ds:Transforms>"#,
        ),
        xml.replace("</ds:SignedInfo>", "</ds:SignedInfo><ds:Object><x/></ds:Object>"),
    ];
    for (i, case) in cases.iter().enumerate() {
        assert_ne!(case, &xml, "case {i} did not change the document");
        let e = check_xml(case).unwrap_err();
        assert!(unsupported(&e), "case {i}: {e:?}");
    }
    // Two References in SignedInfo.
    let reference = &xml[element_span(&xml, "<ds:Reference ", "</ds:Reference>")];
    let two = xml.replace("</ds:Reference>", &format!("</ds:Reference>{reference}"));
    assert_rejected(check_xml(&two), unsupported);
}

#[test]
fn sha1_is_refused_by_default() {
    let xml = signed(SignMode::AssertionOnly)
        .replace("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2000/09/xmldsig#rsa-sha1");
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::UnsupportedSignature(m) if m.contains("rsa-sha1")));
}

// ---------------------------------------------------------------------------------------------------------
// Comment injection

#[test]
fn comment_injection_in_name_id() {
    // The attacker's IdP account is admin@example.com.evil.com; it inserts a comment after signing so that a
    // naive text() would read admin@example.com. c14n ignores comments, so the signature still verifies —
    // the response must be refused anyway, and must never yield admin@example.com.
    for sign in ALL_MODES {
        let mut o = opts(sign);
        o.name_id = format!("{USER}.evil.com");
        let xml = idp().signed_response(&o).unwrap();
        let v = assert_accepted(check_xml(&xml));
        assert_eq!(v.name_id, format!("{USER}.evil.com"));
        let injected = replace_once(
            &xml,
            &format!(">{USER}.evil.com</saml2:NameID>"),
            &format!(">{USER}<!---->.evil.com</saml2:NameID>"),
        );
        assert_rejected(check_xml(&injected), |e| matches!(e, SamlError::ForbiddenXml(_)));
        let cdata = replace_once(
            &xml,
            &format!(">{USER}.evil.com</saml2:NameID>"),
            &format!(">{USER}<![CDATA[]]>.evil.com</saml2:NameID>"),
        );
        // CDATA is just text: same signed value, never a truncated one.
        match check_xml(&cdata) {
            Ok(v) => assert_eq!(v.name_id, format!("{USER}.evil.com")),
            Err(e) => panic!("CDATA variant: {e:?}"),
        }
    }
}

#[test]
fn name_id_with_child_element() {
    let xml = signed_with(SignMode::Both, |t| {
        replace_once(&t, &format!(">{USER}</saml2:NameID>"), &format!(">{USER}<saml2:x/>.evil.com</saml2:NameID>"))
    });
    assert_rejected(check_xml(&xml), is_malformed);
}

// ---------------------------------------------------------------------------------------------------------
// XML signature wrapping

#[test]
fn xsw_second_unsigned_assertion_before_or_after() {
    for sign in ALL_MODES {
        let xml = signed(sign);
        let evil = evil_assertion(&xml);
        let span = element_span(&xml, "<saml2:Assertion ", "</saml2:Assertion>");
        let before = format!("{}{}{}", &xml[..span.start], evil, &xml[span.start..]);
        assert_rejected(check_xml(&before), is_malformed);
        let after = format!("{}{}{}", &xml[..span.end], evil, &xml[span.end..]);
        assert_rejected(check_xml(&after), is_malformed);
    }
}

#[test]
fn xsw_signed_assertion_moved_into_extensions() {
    for sign in [SignMode::AssertionOnly, SignMode::Both] {
        let xml = signed(sign);
        let signed_assertion = assertion_of(&xml).to_owned();
        let evil = evil_assertion(&xml);
        let moved = xml.replace(&signed_assertion, &evil).replace(
            "<saml2p:Status>",
            &format!("<saml2p:Extensions>{signed_assertion}</saml2p:Extensions><saml2p:Status>"),
        );
        assert_rejected(check_xml(&moved), |e| is_malformed(e) || matches!(e, SamlError::UnsupportedSignature(_)));
    }
}

#[test]
fn xsw_signed_assertion_wrapped_in_ds_object() {
    let xml = signed(SignMode::AssertionOnly);
    let signed_assertion = assertion_of(&xml).to_owned();
    let signature = &signed_assertion[element_span(&signed_assertion, "<ds:Signature", "</ds:Signature>")];
    // Evil assertion carrying the original signature, with the original assertion inside ds:Object.
    let wrapped_sig =
        signature.replace("</ds:Signature>", &format!("<ds:Object>{signed_assertion}</ds:Object></ds:Signature>"));
    let evil = evil_assertion(&xml).replacen("</saml2:Issuer>", &format!("</saml2:Issuer>{wrapped_sig}"), 1);
    let attack = xml.replace(&signed_assertion, &evil);
    let e = check_xml(&attack).unwrap_err();
    assert!(is_malformed(&e) || matches!(e, SamlError::UnsupportedSignature(_)), "{e:?}");
}

#[test]
fn xsw_evil_assertion_reusing_the_signature() {
    let xml = signed(SignMode::AssertionOnly);
    let signed_assertion = assertion_of(&xml).to_owned();
    let id = attr(&signed_assertion, "ID");
    let signature = signed_assertion[element_span(&signed_assertion, "<ds:Signature", "</ds:Signature>")].to_owned();
    // 1. Same ID as the original, original removed: the digest no longer matches.
    let same_id = evil_assertion(&xml).replace("idEVIL", &id).replacen(
        "</saml2:Issuer>",
        &format!("</saml2:Issuer>{signature}"),
        1,
    );
    assert_rejected(check_xml(&xml.replace(&signed_assertion, &same_id)), |e| *e == SamlError::DigestMismatch);
    // 2. Same ID, original kept elsewhere (Extensions): duplicate IDs.
    let both = xml.replace(&signed_assertion, &same_id).replace(
        "<saml2p:Status>",
        &format!("<saml2p:Extensions>{signed_assertion}</saml2p:Extensions><saml2p:Status>"),
    );
    assert_rejected(check_xml(&both), is_malformed);
    // 3. Another ID, carrying the original signature: the reference does not point at its parent.
    let other_id = evil_assertion(&xml).replacen("</saml2:Issuer>", &format!("</saml2:Issuer>{signature}"), 1);
    assert_rejected(check_xml(&xml.replace(&signed_assertion, &other_id)), |e| {
        matches!(e, SamlError::UnsupportedSignature(_))
    });
    // 4. An unrelated element carrying the assertion's ID in an Id attribute.
    let dup = xml.replace("<saml2p:Status>", &format!(r#"<saml2p:Status Id="{id}">"#));
    assert_rejected(check_xml(&dup), is_malformed);
}

#[test]
fn xsw_response_signature_covering_another_assertion() {
    // Two genuine responses for two users; the attacker swaps in the other (itself validly signed) assertion.
    for sign in [SignMode::Both, SignMode::ResponseOnly] {
        let mine = signed(sign);
        let mut other = opts(SignMode::Both);
        other.name_id = EVIL.into();
        let other = idp().signed_response(&other).unwrap();
        let swapped = mine.replace(assertion_of(&mine), assertion_of(&other));
        assert_rejected(check_xml(&swapped), |e| *e == SamlError::DigestMismatch);
    }
}

#[test]
fn xsw_whole_signed_response_wrapped() {
    let xml = signed(SignMode::ResponseOnly);
    let body = xml.strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#).unwrap().trim();
    let evil = strip_signature(&xml).replace(USER, EVIL);
    let evil_body = evil.strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#).unwrap().trim();
    let wrapped = evil_body.replacen(
        "<saml2p:Status>",
        &format!("<saml2p:Extensions>{body}</saml2p:Extensions><saml2p:Status>"),
        1,
    );
    assert_rejected(check_xml(&wrapped), is_malformed);
}

#[test]
fn xsw_signature_moved_between_elements() {
    // The Response signature moved into the Assertion: it still points at the Response.
    let xml = signed(SignMode::ResponseOnly);
    let sig = xml[element_span(&xml, "<ds:Signature", "</ds:Signature>")].to_owned();
    let moved = xml.replacen(&sig, "", 1).replacen("<saml2:Subject>", &format!("{sig}<saml2:Subject>"), 1);
    assert_rejected(check_xml(&moved), |e| matches!(e, SamlError::UnsupportedSignature(_)));
    // A signature somewhere else entirely (inside the Subject) is refused too.
    let nested = xml.replacen(&sig, "", 1).replacen("<saml2:NameID", &format!("{sig}<saml2:NameID"), 1);
    assert_rejected(check_xml(&nested), |e| matches!(e, SamlError::UnsupportedSignature(_)));
}

// ---------------------------------------------------------------------------------------------------------
// SAML semantics (all signed by the genuine IdP)

#[test]
fn wrong_audience() {
    let mut o = opts(SignMode::Both);
    o.sp_entity_id = "https://other-sp.example.com/".into();
    assert_rejected(check_xml(&idp().signed_response(&o).unwrap()), |e| matches!(e, SamlError::Audience(_)));
    // A second AudienceRestriction that does not name us.
    let xml = signed_with(SignMode::Both, |t| {
        t.replace(
            "</saml2:AudienceRestriction>",
            "</saml2:AudienceRestriction><saml2:AudienceRestriction><saml2:Audience>urn:other</saml2:Audience></saml2:AudienceRestriction>",
        )
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Audience(_)));
    // No AudienceRestriction at all.
    let xml = signed_with(SignMode::Both, |t| {
        let span = element_span(&t, "<saml2:AudienceRestriction>", "</saml2:AudienceRestriction>");
        format!("{}{}", &t[..span.start], &t[span.end..])
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Audience(_)));
}

#[test]
fn wrong_destination() {
    let other = "https://evil.example.com/acs";
    // Signed Destination.
    let xml = signed_with(SignMode::Both, |t| {
        t.replacen(&format!(r#"Destination="{ACS_URL}""#), &format!(r#"Destination="{other}""#), 1)
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Destination(_)));
    // Unsigned envelope (assertion-only signing): still checked.
    let xml = signed(SignMode::AssertionOnly).replacen(
        &format!(r#"Destination="{ACS_URL}""#),
        &format!(r#"Destination="{other}""#),
        1,
    );
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Destination(_)));
}

#[test]
fn wrong_or_missing_recipient() {
    let xml = signed_with(SignMode::Both, |t| {
        t.replacen(&format!(r#"Recipient="{ACS_URL}""#), r#"Recipient="https://evil.example.com/acs""#, 1)
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Recipient(_)));
    let xml = signed_with(SignMode::Both, |t| t.replacen(&format!(r#" Recipient="{ACS_URL}""#), "", 1));
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Recipient(_)));
}

#[test]
fn expired_and_not_yet_valid() {
    let mut o = opts(SignMode::Both);
    o.now = now() - time::Duration::hours(1);
    assert_rejected(check_xml(&idp().signed_response(&o).unwrap()), |e| matches!(e, SamlError::Expired(_)));
    let mut o = opts(SignMode::Both);
    o.now = now() + time::Duration::hours(1);
    assert_rejected(check_xml(&idp().signed_response(&o).unwrap()), |e| matches!(e, SamlError::NotYetValid(_)));
    // Just outside the skew: expired 3 minutes ago.
    let mut o = opts(SignMode::Both);
    o.now = now() - time::Duration::minutes(8);
    assert_rejected(check_xml(&idp().signed_response(&o).unwrap()), |e| matches!(e, SamlError::Expired(_)));
    // With zero skew, a response that expired a second ago is refused.
    let mut o = opts(SignMode::Both);
    o.lifetime = time::Duration::seconds(-1);
    o.now = now();
    let cfg = ValidationConfig { clock_skew: time::Duration::ZERO, ..config() };
    assert_rejected(check_xml_with(&idp().signed_response(&o).unwrap(), &cfg), |e| matches!(e, SamlError::Expired(_)));
    // An expired session (SessionNotOnOrAfter).
    let xml = signed_with(SignMode::Both, |t| {
        t.replacen(" SessionIndex=", r#" SessionNotOnOrAfter="2020-01-01T00:00:00Z" SessionIndex="#, 1)
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Expired(_)));
}

#[test]
fn non_success_status() {
    let mut o = opts(SignMode::Both);
    o.status_code = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
    assert_rejected(check_xml(&idp().signed_response(&o).unwrap()), |e| matches!(e, SamlError::Status(_)));
    // Unsigned envelope: a failure status is still a failure.
    let xml = signed(SignMode::AssertionOnly)
        .replace("urn:oasis:names:tc:SAML:2.0:status:Success", "urn:oasis:names:tc:SAML:2.0:status:Requester");
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Status(_)));
    // An unsigned IdP error response without an assertion is reported as the IdP's status.
    let error = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="id1" Version="2.0"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode></samlp:Status></samlp:Response>"#;
    let e = assert_rejected(check_xml(error), |e| matches!(e, SamlError::Status(_)));
    assert!(e.to_string().contains("AuthnFailed"), "{e}");
}

#[test]
fn wrong_issuer() {
    let cfg = config().with_idp_entity_id("http://www.okta.com/someone-else");
    assert_rejected(check_xml_with(&signed(SignMode::Both), &cfg), |e| matches!(e, SamlError::Issuer(_)));
    // The unsigned envelope's Issuer disagreeing with the signed assertion's.
    let xml = signed(SignMode::AssertionOnly).replacen(
        &format!(">{IDP_ENTITY_ID}</saml2:Issuer>"),
        ">http://www.okta.com/other</saml2:Issuer>",
        1,
    );
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::Issuer(_)));
}

#[test]
fn in_response_to_tampering() {
    // Assertion-only signing: the envelope's InResponseTo is unsigned and must agree with the signed one.
    let xml = signed(SignMode::AssertionOnly).replacen(r#"InResponseTo="id4f1e2d3c""#, r#"InResponseTo="idOTHER""#, 1);
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::InResponseTo(_)));
    // An IdP-initiated assertion cannot be turned into an answer to our request through the unsigned envelope.
    let mut o = opts(SignMode::AssertionOnly);
    o.in_response_to = None;
    let xml = idp().signed_response(&o).unwrap().replacen(
        "<saml2p:Response ",
        r#"<saml2p:Response InResponseTo="idMINE" "#,
        1,
    );
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::InResponseTo(_)));
}

#[test]
fn not_a_bearer_confirmation() {
    let xml = signed_with(SignMode::Both, |t| {
        t.replace("urn:oasis:names:tc:SAML:2.0:cm:bearer", "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key")
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::SubjectConfirmation(_)));
    let xml = signed_with(SignMode::Both, |t| {
        let sc = &t[element_span(&t, "<saml2:SubjectConfirmation ", "</saml2:SubjectConfirmation>")];
        t.replace(sc, &format!("{sc}{sc}"))
    });
    assert_rejected(check_xml(&xml), |e| matches!(e, SamlError::SubjectConfirmation(_)));
}

#[test]
fn encrypted_assertion() {
    let enc = r#"<saml2:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml2:EncryptedAssertion>"#;
    let xml = signed(SignMode::ResponseOnly);
    let replaced = xml.replace(
        assertion_of(&xml),
        &enc.replace(
            "<saml2:EncryptedAssertion>",
            r#"<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">"#,
        ),
    );
    assert_rejected(check_xml(&replaced), |e| *e == SamlError::EncryptedAssertion);
    let alongside = signed(SignMode::AssertionOnly).replacen(
        "  </saml2:Assertion>",
        "  </saml2:Assertion><saml2:EncryptedAssertion xmlns:saml2=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>",
        1,
    );
    assert_rejected(check_xml(&alongside), |e| *e == SamlError::EncryptedAssertion);
}

// ---------------------------------------------------------------------------------------------------------
// Hostile XML and input encoding

#[test]
fn dtd_and_entity_expansion() {
    let xml = signed(SignMode::Both);
    let body = xml.strip_prefix(r#"<?xml version="1.0" encoding="UTF-8"?>"#).unwrap();
    let laughs = r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>"#;
    let billion = format!("<?xml version=\"1.0\"?>{laughs}{}", body.replacen("Everyone", "&lol9;", 1));
    assert_rejected(check_xml(&billion), |e| matches!(e, SamlError::ForbiddenXml(_)));
    // An entity used to smuggle a value past a naive signature check.
    let entity = format!(
        "<!DOCTYPE r [<!ENTITY u \"{USER}\">]>{}",
        body.replacen(&format!(">{USER}</saml2:NameID>"), ">&u;</saml2:NameID>", 1)
    );
    assert_rejected(check_xml(&entity), |e| matches!(e, SamlError::ForbiddenXml(_)));
    // External entity (XXE) and lower-case spellings.
    let xxe = format!("<!doctype r SYSTEM \"file:///etc/passwd\">{body}");
    assert_rejected(check_xml(&xxe), |e| matches!(e, SamlError::ForbiddenXml(_)));
    let bare_entity = format!("{body}<!ENTITY x \"y\">");
    assert_rejected(check_xml(&bare_entity), |e| matches!(e, SamlError::ForbiddenXml(_)));
}

#[test]
fn processing_instructions_and_encodings() {
    let xml = signed(SignMode::Both);
    let pi = xml.replacen("<saml2:Subject>", "<?evil stuff?><saml2:Subject>", 1);
    assert_rejected(check_xml(&pi), |e| matches!(e, SamlError::ForbiddenXml(_)));
    let stylesheet = xml.replacen("?>\n", "?>\n<?xml-stylesheet href=\"x.xsl\"?>\n", 1);
    assert_rejected(check_xml(&stylesheet), |e| matches!(e, SamlError::ForbiddenXml(_)));
    let latin1 = xml.replacen(r#"encoding="UTF-8""#, r#"encoding="ISO-8859-1""#, 1);
    assert_rejected(check_xml(&latin1), |e| matches!(e, SamlError::ForbiddenXml(_)));
    // UTF-16 bytes are not a SAML response for us.
    let utf16: Vec<u8> = xml.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode([&[0xFF, 0xFE][..], &utf16].concat());
    assert_rejected(validate_response(b64.as_bytes(), &config(), now()), |e| e.is_not_saml());
}

#[test]
fn oversized_input() {
    let big = vec![b'A'; MAX_ENCODED_RESPONSE_LEN + 1];
    let e = assert_rejected(validate_response(&big, &config(), now()), |e| matches!(e, SamlError::TooLarge { .. }));
    assert!(e.is_not_saml());
    // A valid response padded beyond the limit is refused before decoding.
    let mut padded = encode_post_value(&signed(SignMode::Both)).into_bytes();
    padded.resize(MAX_ENCODED_RESPONSE_LEN + 1, b'\n');
    assert_rejected(validate_response(&padded, &config(), now()), |e| matches!(e, SamlError::TooLarge { .. }));
}

#[test]
fn non_base64_input() {
    let xml = signed(SignMode::Both);
    for input in [xml.as_bytes(), b"", b"   ", b"%3Csamlp%3AResponse", b"AAA=A", &[0xff, 0xfe, 0x00]] {
        assert_rejected(validate_response(input, &config(), now()), |e| matches!(e, SamlError::NotSaml(_)));
    }
}

#[test]
fn deflated_input() {
    let xml = signed(SignMode::Both);
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(xml.as_bytes()).unwrap();
    let deflated = enc.finish().unwrap();
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(deflated);
    assert_rejected(validate_response(b64.as_bytes(), &config(), now()), |e| matches!(e, SamlError::NotSaml(_)));
}

#[test]
fn not_a_response() {
    for xml in [
        "<a/>",
        r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="x"/>"#,
        r#"<Response xmlns="urn:wrong">x</Response>"#,
        "<unclosed>",
    ] {
        assert_rejected(check_xml(xml), |e| matches!(e, SamlError::NotSaml(_)));
    }
}

#[test]
fn deeply_nested_xml() {
    let xml = signed(SignMode::Both);
    let deep = format!("{}x{}", "<x>".repeat(10_000), "</x>".repeat(10_000));
    let attack = xml.replacen("<saml2p:Status>", &format!("{deep}<saml2p:Status>"), 1);
    assert_rejected(check_xml(&attack), |e| matches!(e, SamlError::ForbiddenXml(_)));
}

// ---------------------------------------------------------------------------------------------------------
// Trust configuration

#[test]
fn weak_or_wrong_certificates_are_refused() {
    let weak = std::fs::read_to_string(fixture("weak_1024_key.pem")).unwrap();
    let weak_idp = fd_saml::dev_idp::DevIdp::from_private_key_pem(IDP_ENTITY_ID, &weak).unwrap();
    assert!(matches!(TrustedKeys::from_pem(weak_idp.certificate_pem()), Err(ConfigError::Key(_))));
    let key_pem = idp().private_key_pem().unwrap();
    assert!(matches!(TrustedKeys::from_pem(&key_pem), Err(ConfigError::Certificate(_))));
    assert!(matches!(TrustedKeys::from_pem(""), Err(ConfigError::Certificate(_))));
    assert!(matches!(
        TrustedKeys::from_pem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        Err(ConfigError::Certificate(_))
    ));
}

#[test]
fn namespace_and_attribute_bombs_stay_cheap() {
    // The parser's cost grows with attributes per element squared and with namespaces in scope times declaring
    // elements: a lexical pre-pass bounds both. Genuine SignedInfo and SignatureValue are kept, so an in-limit
    // variant reaches canonicalization of the altered Response before the digest mismatch is found. The work is
    // counted (canonicalization steps), not timed: it must stay linear in the size of the input.
    let xml = signed(SignMode::ResponseOnly);
    let counted = |doc: &str| {
        assert!(encode_post_value(doc).len() < MAX_ENCODED_RESPONSE_LEN);
        let before = fd_saml::canonicalization_steps();
        let result = check_xml(doc);
        (result, fd_saml::canonicalization_steps() - before)
    };
    let decls: String = (0..4000).map(|i| format!(" xmlns:n{i}=\"urn:n{i}\" n{i}:a=\"v\"")).collect();
    let children: String = (0..8000).map(|j| format!("<q{j}:e xmlns:q{j}=\"urn:q{j}\"/>")).collect();
    let bomb = xml.replacen("<saml2p:Response ", &format!("<saml2p:Response{decls} "), 1).replacen(
        "<saml2p:Status>",
        &format!("<saml2p:Status>{children}"),
        1,
    );
    let (result, steps) = counted(&bomb);
    assert_rejected(result, |e| matches!(e, SamlError::ForbiddenXml(_)));
    assert_eq!(steps, 0, "refused before canonicalization");
    let attrs: String = (0..60_000).map(|i| format!(" a{i}=\"\"")).collect();
    let bomb = xml.replacen("<saml2p:Status>", &format!("<saml2p:Status{attrs}>"), 1);
    let (result, steps) = counted(&bomb);
    assert_rejected(result, |e| matches!(e, SamlError::ForbiddenXml(_)));
    assert_eq!(steps, 0, "refused before canonicalization");
    // Within the limits: 8 declarations on the root, 4000 declaring children (each with prefixed attributes).
    let decls: String = (0..6).map(|i| format!(" xmlns:n{i}=\"urn:n{i}\" n{i}:a=\"v\"")).collect();
    let children: String = (0..4000).map(|j| format!("<q:e xmlns:q=\"urn:q{j}\" q:a=\"1\" n1:b=\"2\"/>")).collect();
    let heavy = xml.replacen("<saml2p:Response ", &format!("<saml2p:Response{decls} "), 1).replacen(
        "<saml2p:Status>",
        &format!("<saml2p:Status>{children}"),
        1,
    );
    let (result, steps) = counted(&heavy);
    assert_rejected(result, |e| *e == SamlError::DigestMismatch);
    assert!(steps > 4000, "the altered Response was canonicalized ({steps} steps)");
    assert!(steps < heavy.len() as u64 / 4, "{steps} steps for {} bytes", heavy.len());
}

/// A `PrefixList` of many tokens in the unverified `SignedInfo`: read before any signature check, so it must be
/// refused unread, and a short list with duplicates must cost no more than its distinct prefixes.
#[test]
fn inclusive_prefix_list_cannot_multiply_work() {
    let xml = signed(SignMode::ResponseOnly);
    let with_prefix_list = |tokens: &str| {
        let doc = xml.replacen(
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            &format!(
                "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"><ec:InclusiveNamespaces \
                 xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"{tokens}\"/></ds:CanonicalizationMethod>"
            ),
            1,
        );
        assert_ne!(doc, xml, "the template has a CanonicalizationMethod to extend");
        doc
    };
    // The published attack: 100,000 distinct tokens (about 700 KB) with a bogus SignatureValue, no key needed.
    let tokens: Vec<String> = (0..100_000).map(|i| format!("p{i}")).collect();
    let doc = with_prefix_list(&tokens.join(" "));
    let doc = doc.replacen(&attr_text(&doc, "SignatureValue"), "AAAA", 1);
    assert!(encode_post_value(&doc).len() < MAX_ENCODED_RESPONSE_LEN);
    let before = fd_saml::canonicalization_steps();
    let result = check_xml(&doc);
    assert_eq!(fd_saml::canonicalization_steps() - before, 0, "refused before canonicalization");
    assert_rejected(result, |e| matches!(e, SamlError::UnsupportedSignature(m) if m.contains("InclusiveNamespaces")));
    // Within the cap, duplicates count once: sixteen copies of "xs" cost what one does.
    let once = {
        let before = fd_saml::canonicalization_steps();
        let _ = check_xml(&with_prefix_list("xs"));
        fd_saml::canonicalization_steps() - before
    };
    let sixteen = {
        let before = fd_saml::canonicalization_steps();
        let _ = check_xml(&with_prefix_list(&["xs"; 16].join(" ")));
        fd_saml::canonicalization_steps() - before
    };
    assert!(once > 0);
    assert_eq!(once, sixteen);
    let seventeen = check_xml(&with_prefix_list(&["xs"; 17].join(" ")));
    assert_rejected(seventeen, |e| matches!(e, SamlError::UnsupportedSignature(_)));
}

/// The text content of the first `<ds:NAME>` element.
fn attr_text(xml: &str, name: &str) -> String {
    let open = format!("<ds:{name}>");
    let start = xml.find(&open).unwrap() + open.len();
    xml[start..start + xml[start..].find('<').unwrap()].to_owned()
}
