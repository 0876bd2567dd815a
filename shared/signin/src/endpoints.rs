//! The service provider's URLs. They derive from the deployment's public base URL and the directory id only,
//! so they stay stable: the admin pastes them into Okta once.

use fd_saml::SpSettings;

/// NameID format requested and advertised: Okta sends the username, whatever its format.
pub const NAME_ID_FORMAT: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";

/// A public base URL that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("public URL must be an absolute http(s) URL without query or fragment: {0:?}")]
pub struct InvalidPublicUrl(pub String);

/// The SP's URLs under one public base URL (`https://sso.example.com` or `https://abc.execute-api…/prod`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpEndpoints {
    base: String,
}

impl SpEndpoints {
    /// Checks and normalises `public_url` (a trailing `/` is dropped).
    pub fn new(public_url: &str) -> Result<Self, InvalidPublicUrl> {
        let base = public_url.trim().trim_end_matches('/');
        let rest = base.strip_prefix("https://").or_else(|| base.strip_prefix("http://"));
        let valid = rest.is_some_and(|rest| {
            let host = rest.split('/').next().unwrap_or("");
            !host.is_empty()
                && !rest.contains(['?', '#', ' ', '"', '<', '>', '\\'])
                && rest.chars().all(|c| c.is_ascii_graphic())
        });
        if !valid {
            return Err(InvalidPublicUrl(public_url.to_string()));
        }
        Ok(Self { base: base.to_string() })
    }

    /// The public base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Assertion Consumer Service URL (HTTP-POST binding): Okta's "Single sign-on URL".
    pub fn acs_url(&self, directory: &str) -> String {
        format!("{}/saml/{directory}/acs", self.base)
    }

    /// SP metadata URL.
    pub fn metadata_url(&self, directory: &str) -> String {
        format!("{}/saml/{directory}/metadata", self.base)
    }

    /// SP entity id: Okta's "Audience URI (SP Entity ID)". The metadata URL, so that it is unique per directory
    /// and resolvable.
    pub fn entity_id(&self, directory: &str) -> String {
        self.metadata_url(directory)
    }

    /// SP-initiated sign-in URL.
    pub fn login_url(&self, directory: &str) -> String {
        format!("{}/saml/{directory}/login", self.base)
    }

    /// Base URL of the SCIM Users endpoint (for `meta.location`).
    pub fn users_url(&self) -> String {
        format!("{}{}/Users", self.base, fd_shared::http::SCIM_BASE_PATH)
    }

    /// The settings `fd_saml` builds AuthnRequests and metadata from.
    pub fn sp_settings(&self, directory: &str) -> SpSettings {
        SpSettings {
            entity_id: self.entity_id(directory),
            acs_url: self.acs_url(directory),
            name_id_format: Some(NAME_ID_FORMAT.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls_derive_from_the_base_and_directory() {
        let e = SpEndpoints::new("https://sso.example.com/prod/").unwrap();
        assert_eq!(e.acs_url("d1"), "https://sso.example.com/prod/saml/d1/acs");
        assert_eq!(e.entity_id("d1"), "https://sso.example.com/prod/saml/d1/metadata");
        assert_eq!(e.login_url("d1"), "https://sso.example.com/prod/saml/d1/login");
        assert_eq!(e.users_url(), "https://sso.example.com/prod/scim/v2/Users");
        assert_eq!(SpEndpoints::new("http://127.0.0.1:3000").unwrap().base(), "http://127.0.0.1:3000");
    }

    #[test]
    fn refuses_what_is_not_a_base_url() {
        for bad in ["", "sso.example.com", "ftp://x", "https://", "https://x/?a=b", "https://x/#f", "https://a b"] {
            assert!(SpEndpoints::new(bad).is_err(), "{bad}");
        }
    }
}
