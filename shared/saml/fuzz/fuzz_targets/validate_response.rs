//! Fuzz the ACS input path: arbitrary bytes as the `SAMLResponse` POST value, and as decoded XML text.
//! Must never panic, hang or exhaust memory. The trusted key is the test fixture key, and `now` is fixed so
//! that seeds from `examples/fuzz_seeds.rs` (same key, same instant) reach the deepest checks.
#![no_main]

use std::sync::OnceLock;

use fd_saml::dev_idp::DevIdp;
use fd_saml::{validate_response, validate_response_xml, ValidationConfig};
use libfuzzer_sys::fuzz_target;

pub const NOW_UNIX: i64 = 1_798_761_600; // 2027-01-01T00:00:00Z, the seeds' issue instant

fn config() -> &'static ValidationConfig {
    static CONFIG: OnceLock<ValidationConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let idp = DevIdp::from_private_key_pem(
            "http://www.okta.com/exk1fd2dev3idp4",
            include_str!("../../tests/fixtures/idp_key.pem"),
        )
        .expect("fixture key");
        ValidationConfig::new(
            "https://fd.example.com/saml/metadata/dir-1",
            "https://fd.example.com/saml/acs/dir-1",
            idp.trusted_keys().expect("trusted keys"),
        )
        .with_idp_entity_id(idp.entity_id())
    })
}

fuzz_target!(|data: &[u8]| {
    let now = time::OffsetDateTime::from_unix_timestamp(NOW_UNIX).expect("valid time");
    let _ = validate_response(data, config(), now);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = validate_response_xml(text, config(), now);
    }
});
