//! Shared test fixtures: a development IdP with a fixed key (key generation is slow in debug builds), an
//! attacker IdP with another key, and the SP configuration they are checked against.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

use std::path::PathBuf;
use std::sync::OnceLock;

use fd_saml::dev_idp::{DevIdp, ResponseOptions, SignMode, encode_post_value};
use fd_saml::{SamlError, TrustedKeys, ValidationConfig, VerifiedAssertion, validate_response};
use time::OffsetDateTime;

pub const SP_ENTITY_ID: &str = "https://fd.example.com/saml/metadata/dir-1";
pub const ACS_URL: &str = "https://fd.example.com/saml/acs/dir-1";
pub const IDP_ENTITY_ID: &str = "http://www.okta.com/exk1fd2dev3idp4";
pub const USER: &str = "admin@example.com";

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("fixtures").join(name)
}

fn load_idp(entity_id: &str, key_file: &str) -> DevIdp {
    let pem = std::fs::read_to_string(fixture(key_file)).unwrap();
    DevIdp::from_private_key_pem(entity_id, &pem).unwrap()
}

/// The trusted IdP.
pub fn idp() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| load_idp(IDP_ENTITY_ID, "idp_key.pem"))
}

/// Another key holder (same entity id: it impersonates the IdP).
pub fn attacker() -> &'static DevIdp {
    static ATTACKER: OnceLock<DevIdp> = OnceLock::new();
    ATTACKER.get_or_init(|| load_idp(IDP_ENTITY_ID, "attacker_key.pem"))
}

pub fn config() -> ValidationConfig {
    ValidationConfig::new(SP_ENTITY_ID, ACS_URL, idp().trusted_keys().unwrap()).with_idp_entity_id(IDP_ENTITY_ID)
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

pub fn opts(sign: SignMode) -> ResponseOptions {
    let mut o = ResponseOptions::new(SP_ENTITY_ID, ACS_URL, USER, now());
    o.sign = sign;
    o.in_response_to = Some("id4f1e2d3c".into());
    o.attributes =
        vec![("email".into(), vec![USER.into()]), ("groups".into(), vec!["Everyone".into(), "fd-admins".into()])];
    o
}

pub fn signed(sign: SignMode) -> String {
    idp().signed_response(&opts(sign)).unwrap()
}

pub fn check_xml(xml: &str) -> Result<VerifiedAssertion, SamlError> {
    validate_response(encode_post_value(xml).as_bytes(), &config(), now())
}

pub fn check_xml_with(xml: &str, cfg: &ValidationConfig) -> Result<VerifiedAssertion, SamlError> {
    validate_response(encode_post_value(xml).as_bytes(), cfg, now())
}

pub fn trusted(idp: &DevIdp) -> TrustedKeys {
    idp.trusted_keys().unwrap()
}

/// Replace exactly one occurrence.
pub fn replace_once(haystack: &str, from: &str, to: &str) -> String {
    assert_eq!(haystack.matches(from).count(), 1, "expected exactly one {from:?} in\n{haystack}");
    haystack.replacen(from, to, 1)
}

/// The byte range of the first element whose start tag begins with `start_tag` (e.g. `<saml2:Assertion `),
/// through its matching end tag `end_tag` (no nesting of the same element assumed).
pub fn element_span(xml: &str, start_tag: &str, end_tag: &str) -> std::ops::Range<usize> {
    let start = xml.find(start_tag).unwrap_or_else(|| panic!("no {start_tag}"));
    let end = xml[start..].find(end_tag).unwrap_or_else(|| panic!("no {end_tag}")) + start + end_tag.len();
    start..end
}

pub fn assert_accepted(result: Result<VerifiedAssertion, SamlError>) -> VerifiedAssertion {
    match result {
        Ok(v) => v,
        Err(e) => panic!("expected acceptance, got {e:?}"),
    }
}

#[track_caller]
pub fn assert_rejected(result: Result<VerifiedAssertion, SamlError>, pred: impl Fn(&SamlError) -> bool) -> SamlError {
    match result {
        Ok(v) => panic!("expected rejection, got accepted assertion for {:?}", v.name_id),
        Err(e) => {
            assert!(pred(&e), "unexpected error kind: {e:?}");
            e
        }
    }
}

/// Sign a template (from [`DevIdp::response_template`], possibly edited) with the trusted IdP.
pub fn sign_template(xml: &str, sign: SignMode) -> String {
    use fd_saml::dev_idp::Target;
    let mut x = xml.to_owned();
    if matches!(sign, SignMode::Both | SignMode::AssertionOnly) {
        x = idp().sign_enveloped(&x, Target::Assertion).unwrap();
    }
    if matches!(sign, SignMode::Both | SignMode::ResponseOnly) {
        x = idp().sign_enveloped(&x, Target::Response).unwrap();
    }
    x
}

/// Build a template with `edit` applied, then sign it with the trusted IdP.
pub fn signed_with(sign: SignMode, edit: impl Fn(String) -> String) -> String {
    let o = opts(sign);
    sign_template(&edit(idp().response_template(&o)), sign)
}
