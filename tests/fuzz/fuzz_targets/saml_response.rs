//! The ACS verifier, `fd_saml::validate_response`, with a fixed trusted key (the development IdP key of the SAML
//! tests, `shared/saml/tests/fixtures/idp_key.pem`; its certificate is `saml_idp_cert.pem` here), a fixed SP
//! configuration and a fixed clock (a minute after the seeds were issued, so unmodified seeds are accepted).
//! An input starting with `<` is a response document, base64-encoded as the HTTP-POST binding sends it; anything
//! else is passed as the form value itself (base64 and size handling). Oracle: an accepted response names one of
//! the users the seeds were signed for (an input can only be accepted through signed content).
#![no_main]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fd_saml::{TrustedKeys, ValidationConfig, validate_response};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use time::OffsetDateTime;

/// Must match `examples/seeds.rs`.
const SP_ENTITY_ID: &str = "https://fd.example.com/saml/dir-1/metadata";
const ACS_URL: &str = "https://fd.example.com/saml/dir-1/acs";
const IDP_ENTITY_ID: &str = "http://www.okta.com/exk1fd2dev3idp4";
const ISSUED_AT: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const SIGNED_USERS: &[&str] = &["ada@example.com", "grace.hopper@example.com", "Charles.Babbage@Example.com"];

fn config() -> &'static ValidationConfig {
    static CONFIG: OnceLock<ValidationConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let keys = match TrustedKeys::from_pem(include_str!("../saml_idp_cert.pem")) {
            Ok(keys) => keys,
            Err(e) => panic!("trusted certificate: {e}"),
        };
        ValidationConfig::new(SP_ENTITY_ID, ACS_URL, keys).with_idp_entity_id(IDP_ENTITY_ID)
    })
}

fuzz_target!(|data: &[u8]| {
    let now = match OffsetDateTime::from_unix_timestamp(ISSUED_AT + 60) {
        Ok(now) => now,
        Err(e) => panic!("{e}"),
    };
    let result = if data.first() == Some(&b'<') {
        validate_response(STANDARD.encode(data).as_bytes(), config(), now)
    } else {
        validate_response(data, config(), now)
    };
    if let Ok(assertion) = result {
        assert!(SIGNED_USERS.contains(&assertion.name_id.as_str()), "accepted a response for {:?}", assertion.name_id);
    }
});
