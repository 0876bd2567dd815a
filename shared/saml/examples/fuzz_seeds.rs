//! Write seed inputs for the fuzz target (`shared/saml/fuzz`): valid signed responses in every sign mode,
//! base64-encoded and as plain XML, issued at the fuzz target's fixed instant with the fixture key.
//!
//! `cargo run -p fd-saml --example fuzz_seeds -- shared/saml/fuzz/corpus/validate_response`

use fd_saml::dev_idp::{DevIdp, ResponseOptions, SignMode, encode_post_value};

const NOW_UNIX: i64 = 1_798_761_600; // keep in sync with fuzz/fuzz_targets/validate_response.rs

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: fuzz_seeds OUTPUT_DIR")?;
    std::fs::create_dir_all(&dir)?;
    let idp = DevIdp::from_private_key_pem(
        "http://www.okta.com/exk1fd2dev3idp4",
        include_str!("../tests/fixtures/idp_key.pem"),
    )?;
    let now = time::OffsetDateTime::from_unix_timestamp(NOW_UNIX)?;
    for (name, sign) in [
        ("both", SignMode::Both),
        ("response", SignMode::ResponseOnly),
        ("assertion", SignMode::AssertionOnly),
        ("unsigned", SignMode::None),
    ] {
        let mut opts = ResponseOptions::new(
            "https://fd.example.com/saml/metadata/dir-1",
            "https://fd.example.com/saml/acs/dir-1",
            "admin@example.com",
            now,
        );
        opts.sign = sign;
        opts.in_response_to = Some("id4f1e2d3c".into());
        let xml = idp.signed_response(&opts)?;
        std::fs::write(format!("{dir}/{name}.xml"), &xml)?;
        std::fs::write(format!("{dir}/{name}.b64"), encode_post_value(&xml))?;
    }
    Ok(())
}
