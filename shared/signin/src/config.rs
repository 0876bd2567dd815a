//! A directory's SAML configuration: checking what an admin enters, and the verification policy it yields.

use crate::endpoints::SpEndpoints;
use fd_saml::{TrustedKeys, ValidationConfig};
use fd_shared::store::SamlConfig;

/// Most certificates a directory may trust at once (current and next during a rotation, with room to spare).
pub const MAX_CERTIFICATES: usize = 4;
/// Longest URL accepted in a configuration.
pub const MAX_URL_LEN: usize = 2048;

/// Why a SAML configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("login URL must be an https URL (http only on localhost): {0:?}")]
    LoginUrl(String),
    #[error("at least one verification certificate is required")]
    NoCertificate,
    #[error("at most {MAX_CERTIFICATES} verification certificates")]
    TooManyCertificates,
    #[error("verification certificate: {0}")]
    Certificate(#[from] fd_saml::ConfigError),
    #[error("IdP entity id must be non-empty and at most {MAX_URL_LEN} bytes")]
    IdpEntityId,
    #[error("RelayState allow-list entries must be absolute https URLs (http only on localhost): {0:?}")]
    RelayTarget(String),
}

/// What an admin sets (`fd-admin saml set`).
#[derive(Debug, Clone, Default)]
pub struct SamlSettings {
    /// The IdP's single sign-on URL.
    pub login_url: String,
    /// PEM texts (or bare base64 certificates, as some consoles show them), one or more certificates each.
    pub certificates: Vec<String>,
    pub idp_entity_id: Option<String>,
    pub relay_state_allow_list: Vec<String>,
    pub allow_sha1: bool,
    /// Refuse IdP-initiated (unsolicited) responses.
    pub sp_initiated_only: bool,
}

impl SamlSettings {
    /// Checks the settings and returns the configuration to store, certificates normalised to PEM.
    pub fn check(self, now_rfc3339: String) -> Result<SamlConfig, ConfigError> {
        if !is_web_url(&self.login_url) {
            return Err(ConfigError::LoginUrl(self.login_url));
        }
        let certificates: Vec<String> = self.certificates.iter().map(|c| normalise_pem(c)).collect();
        if certificates.is_empty() {
            return Err(ConfigError::NoCertificate);
        }
        let keys = TrustedKeys::from_pems(&certificates)?;
        if keys.keys().len() > MAX_CERTIFICATES {
            return Err(ConfigError::TooManyCertificates);
        }
        let idp_entity_id = self.idp_entity_id.map(|id| id.trim().to_string());
        if idp_entity_id.as_ref().is_some_and(|id| id.is_empty() || id.len() > MAX_URL_LEN) {
            return Err(ConfigError::IdpEntityId);
        }
        if let Some(bad) = self.relay_state_allow_list.iter().find(|t| !is_web_url(t)) {
            return Err(ConfigError::RelayTarget(bad.clone()));
        }
        Ok(SamlConfig {
            login_url: self.login_url,
            certificates,
            idp_entity_id,
            relay_state_allow_list: self.relay_state_allow_list,
            allow_sha1: self.allow_sha1,
            sp_initiated_only: self.sp_initiated_only,
            updated: now_rfc3339,
        })
    }
}

/// The verification policy for `directory`: its own endpoints, its own certificates only.
pub fn validation_policy(
    endpoints: &SpEndpoints,
    directory: &str,
    config: &SamlConfig,
) -> Result<ValidationConfig, fd_saml::ConfigError> {
    let keys = TrustedKeys::from_pems(&config.certificates)?;
    let mut policy = ValidationConfig::new(endpoints.entity_id(directory), endpoints.acs_url(directory), keys);
    policy.idp_entity_id = config.idp_entity_id.clone();
    policy.allow_sha1 = config.allow_sha1;
    Ok(policy.with_idp_initiated(!config.sp_initiated_only))
}

/// SHA-256 fingerprints (lowercase hex) of the configured certificates.
pub fn fingerprints(config: &SamlConfig) -> Vec<String> {
    TrustedKeys::from_pems(&config.certificates)
        .map(|keys| keys.keys().iter().map(|k| k.fingerprint()).collect())
        .unwrap_or_default()
}

/// An absolute https URL, or http on a loopback host (a development IdP).
pub fn is_web_url(url: &str) -> bool {
    if url.len() > MAX_URL_LEN || url.chars().any(|c| !c.is_ascii_graphic()) {
        return false;
    }
    let host_of = |rest: &str| rest.split(['/', '?', '#']).next().unwrap_or("").to_string();
    if let Some(rest) = url.strip_prefix("https://") {
        return !host_of(rest).is_empty();
    }
    url.strip_prefix("http://").is_some_and(|rest| {
        let host = host_of(rest);
        let name = host.rsplit_once(':').map_or(host.as_str(), |(name, _)| name);
        matches!(name, "localhost" | "127.0.0.1" | "[::1]")
    })
}

/// Wraps a bare base64 certificate in PEM armour; PEM input is kept as it is.
fn normalise_pem(text: &str) -> String {
    let text = text.trim();
    if text.contains("-----BEGIN") {
        return format!("{text}\n");
    }
    let body: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let lines: Vec<&str> = body.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use fd_saml::dev_idp::DevIdp;

    fn settings(cert: &str) -> SamlSettings {
        SamlSettings {
            login_url: "https://example.okta.com/app/example_fd/exk1/sso/saml".into(),
            certificates: vec![cert.to_string()],
            ..SamlSettings::default()
        }
    }

    #[test]
    fn accepts_okta_settings_and_bare_base64_certificates() {
        let idp = DevIdp::generate("http://www.okta.com/exk1").unwrap();
        let config = settings(idp.certificate_pem()).check("2026-01-01T00:00:00Z".into()).unwrap();
        assert_eq!(config.certificates.len(), 1);
        let bare: String = idp.certificate_pem().lines().filter(|l| !l.starts_with("-----")).collect();
        let from_bare = settings(&bare).check("2026-01-01T00:00:00Z".into()).unwrap();
        assert_eq!(fingerprints(&from_bare), fingerprints(&config));
        let endpoints = SpEndpoints::new("https://fd.example.com").unwrap();
        let policy = validation_policy(&endpoints, "d1", &config).unwrap();
        assert_eq!(policy.acs_url, "https://fd.example.com/saml/d1/acs");
        assert_eq!(policy.trusted_keys.keys().len(), 1);
    }

    #[test]
    fn refuses_bad_settings() {
        let idp = DevIdp::generate("http://www.okta.com/exk1").unwrap();
        let now = || "2026-01-01T00:00:00Z".to_string();
        let bad_url =
            SamlSettings { login_url: "http://idp.example.com/sso".into(), ..settings(idp.certificate_pem()) };
        assert!(matches!(bad_url.check(now()), Err(ConfigError::LoginUrl(_))));
        assert!(matches!(settings("not a certificate").check(now()), Err(ConfigError::Certificate(_))));
        let none = SamlSettings { certificates: vec![], ..settings("") };
        assert!(matches!(none.check(now()), Err(ConfigError::NoCertificate)));
        let relay = SamlSettings { relay_state_allow_list: vec!["/x".into()], ..settings(idp.certificate_pem()) };
        assert!(matches!(relay.check(now()), Err(ConfigError::RelayTarget(_))));
        let issuer = SamlSettings { idp_entity_id: Some(" ".into()), ..settings(idp.certificate_pem()) };
        assert!(matches!(issuer.check(now()), Err(ConfigError::IdpEntityId)));
    }

    #[test]
    fn web_urls() {
        assert!(is_web_url("https://example.okta.com/sso"));
        assert!(is_web_url("http://127.0.0.1:8080/sso"));
        assert!(is_web_url("http://localhost/sso"));
        assert!(!is_web_url("http://localhost.evil.com/sso"));
        assert!(!is_web_url("javascript:alert(1)"));
        assert!(!is_web_url("https:///x"));
    }
}
