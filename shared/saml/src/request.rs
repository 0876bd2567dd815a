//! SP-initiated login (AuthnRequest over the HTTP-Redirect binding) and SP metadata, via samael's types.

use samael::metadata::{EntityDescriptor, IndexedEndpoint, SpSsoDescriptor};
use samael::schema::{AuthnRequest, Issuer, NameIdPolicy};
use samael::traits::ToXml;
use time::OffsetDateTime;

use crate::consts::{BINDING_HTTP_POST, NS_PROTOCOL};
use crate::error::ConfigError;

/// `RelayState` must not exceed 80 bytes (SAML bindings, 3.4.3).
pub const MAX_RELAY_STATE_LEN: usize = 80;

/// This SP, as announced to the IdP.
#[derive(Clone, Debug)]
pub struct SpSettings {
    /// SP entity id (the `Audience` the IdP puts in assertions).
    pub entity_id: String,
    /// Assertion consumer service URL (HTTP-POST binding).
    pub acs_url: String,
    /// Requested NameID format, e.g. [`crate::consts::NAMEID_EMAIL`]; `None` lets the IdP choose.
    pub name_id_format: Option<String>,
}

/// A ready-to-use SP-initiated login redirect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthnRedirect {
    /// The AuthnRequest ID: store it, and accept only responses whose `in_response_to` is an outstanding id.
    pub request_id: String,
    /// The IdP SSO URL with `SAMLRequest` (deflated, base64, URL-encoded) and `RelayState` query parameters.
    pub url: String,
}

/// A fresh, unpredictable request id (an XML NCName: starts with a letter).
pub fn new_request_id() -> String {
    format!("id{}", uuid::Uuid::new_v4().simple())
}

/// Build the AuthnRequest for `idp_sso_url` and its HTTP-Redirect URL (unsigned request; Okta does not
/// require signed requests).
pub fn authn_request_redirect(
    sp: &SpSettings,
    idp_sso_url: &str,
    request_id: &str,
    relay_state: Option<&str>,
    now: OffsetDateTime,
) -> Result<AuthnRedirect, ConfigError> {
    if !(idp_sso_url.starts_with("https://") || idp_sso_url.starts_with("http://")) {
        return Err(ConfigError::Setting("IdP SSO URL must be an http(s) URL".into()));
    }
    if request_id.is_empty() || !request_id.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err(ConfigError::Setting("request id must be an NCName".into()));
    }
    let relay_state = relay_state.unwrap_or("");
    if relay_state.len() > MAX_RELAY_STATE_LEN {
        return Err(ConfigError::Setting(format!("RelayState longer than {MAX_RELAY_STATE_LEN} bytes")));
    }
    let issue_instant = chrono::DateTime::from_timestamp(now.unix_timestamp(), 0)
        .ok_or_else(|| ConfigError::Setting("time out of range".into()))?;
    let request = AuthnRequest {
        id: request_id.to_owned(),
        version: "2.0".into(),
        issue_instant,
        destination: Some(idp_sso_url.to_owned()),
        issuer: Some(Issuer { value: Some(sp.entity_id.clone()), ..Issuer::default() }),
        name_id_policy: Some(NameIdPolicy {
            format: sp.name_id_format.clone(),
            allow_create: Some(true),
            ..NameIdPolicy::default()
        }),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(BINDING_HTTP_POST.into()),
        ..AuthnRequest::default()
    };
    let url = request
        .redirect(relay_state)
        .map_err(|e| ConfigError::Serialize(e.to_string()))?
        .ok_or_else(|| ConfigError::Serialize("AuthnRequest without destination".into()))?;
    Ok(AuthnRedirect { request_id: request_id.to_owned(), url: url.to_string() })
}

/// SP metadata XML (`md:EntityDescriptor` with one `SPSSODescriptor`): entity id, ACS (HTTP-POST),
/// NameID format; assertions must be signed, requests are not.
pub fn sp_metadata_xml(sp: &SpSettings) -> Result<String, ConfigError> {
    let descriptor = SpSsoDescriptor {
        protocol_support_enumeration: Some(NS_PROTOCOL.into()),
        authn_requests_signed: Some(false),
        want_assertions_signed: Some(true),
        name_id_formats: sp.name_id_format.clone().map(|f| vec![f]),
        assertion_consumer_services: vec![IndexedEndpoint {
            binding: BINDING_HTTP_POST.into(),
            location: sp.acs_url.clone(),
            response_location: None,
            index: 0,
            is_default: Some(true),
        }],
        ..SpSsoDescriptor::default()
    };
    let entity = EntityDescriptor {
        entity_id: Some(sp.entity_id.clone()),
        sp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    };
    entity.to_string().map_err(|e| ConfigError::Serialize(e.to_string()))
}
