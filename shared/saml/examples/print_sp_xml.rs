//! Print SP metadata and one AuthnRequest redirect URL (development aid).
//!
//! `cargo run -p fd-saml --example print_sp_xml -- https://sp.example/entity https://sp.example/acs`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let sp = fd_saml::SpSettings {
        entity_id: args.next().unwrap_or_else(|| "https://fd.example.com/saml/metadata/dir-1".into()),
        acs_url: args.next().unwrap_or_else(|| "https://fd.example.com/saml/acs/dir-1".into()),
        name_id_format: Some(fd_saml::consts::NAMEID_EMAIL.into()),
    };
    println!("{}", fd_saml::sp_metadata_xml(&sp)?);
    let id = fd_saml::new_request_id();
    let r = fd_saml::authn_request_redirect(
        &sp,
        "https://example.okta.com/app/x/sso/saml",
        &id,
        Some("/"),
        time::OffsetDateTime::now_utc(),
    )?;
    println!("{}", r.url);
    Ok(())
}
