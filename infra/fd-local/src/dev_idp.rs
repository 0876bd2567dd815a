//! A development identity provider inside `fd-local` (flag `--dev-idp`, never in AWS): `GET /dev-idp` answers an
//! SP-initiated sign-in (the HTTP-Redirect binding's `SAMLRequest`) with a page asking whom to sign in as, then
//! with a page that posts a response signed by the development IdP's key to the directory's ACS. Configure a
//! directory with `fd-admin saml set --login-url <public URL>/dev-idp --certificate <(fd-dev-idp certificate)`.
//! The key is the one `fd-dev-idp` uses (`<data dir>/dev-idp-key.pem`), so its certificate is the one to trust.

use std::io::Read as _;

use base64::Engine as _;
use fd_saml::dev_idp::{DevIdp, ResponseOptions, esc};
use fd_signin::SpEndpoints;
use http_body_util::Full;
use hyper::body::Bytes;
use lambda_http::http::{self, StatusCode, header};

/// The entity id the development IdP signs as.
pub const ENTITY_ID: &str = "http://127.0.0.1/fd-dev-idp";

/// Path of the development IdP's sign-in endpoint.
pub const PATH: &str = "/dev-idp";

/// The development IdP and the deployment it answers for.
pub struct LocalIdp {
    idp: DevIdp,
    endpoints: SpEndpoints,
}

impl LocalIdp {
    /// The IdP with the key in `key_path` (created on first use, mode 0600).
    pub fn load(key_path: &std::path::Path, endpoints: SpEndpoints) -> anyhow::Result<Self> {
        let generate = || DevIdp::generate(ENTITY_ID).and_then(|idp| idp.private_key_pem()).unwrap_or_default();
        let pem = fd_shared::secret::local_secret_file(key_path, generate, |text| text.contains("PRIVATE KEY-----"))?;
        Ok(Self { idp: DevIdp::from_private_key_pem(ENTITY_ID, &pem)?, endpoints })
    }

    /// `GET /dev-idp?SAMLRequest=…&RelayState=…[&user=…]`.
    pub fn answer(&self, query: &str) -> http::Response<Full<Bytes>> {
        let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let Some(request) = get("SAMLRequest").and_then(authn_request) else {
            return page(
                StatusCode::BAD_REQUEST,
                "<h1>No SAML request</h1><p>Start at the address book's sign-in page.</p>",
            );
        };
        let Some(directory) = self.directory_of(&request) else {
            return page(StatusCode::BAD_REQUEST, "<h1>Unknown service provider</h1>");
        };
        let relay_state = get("RelayState");
        let Some(user) = get("user").map(str::trim).filter(|u| !u.is_empty()) else {
            let relay = relay_state
                .map(|r| format!("<input type=\"hidden\" name=\"RelayState\" value=\"{}\">", esc(r)))
                .unwrap_or_default();
            return page(
                StatusCode::OK,
                &format!(
                    "<h1>Development identity provider</h1><p>Not Okta: a stand-in for local runs.</p>\
                     <form method=\"get\" action=\"{PATH}\"><label for=\"user\">Sign in as (userName)</label> \
                     <input id=\"user\" name=\"user\" autofocus required> \
                     <input type=\"hidden\" name=\"SAMLRequest\" value=\"{}\">{relay} \
                     <button type=\"submit\">Sign in</button></form>",
                    esc(get("SAMLRequest").unwrap_or_default())
                ),
            );
        };
        let acs_url = self.endpoints.acs_url(&directory);
        let mut options = ResponseOptions::new(
            self.endpoints.entity_id(&directory),
            &acs_url,
            user.to_string(),
            time::OffsetDateTime::now_utc(),
        );
        options.in_response_to = Some(request.id);
        let Ok(value) = self.idp.signed_response_base64(&options) else {
            return page(StatusCode::INTERNAL_SERVER_ERROR, "<h1>Could not sign the response</h1>");
        };
        let relay = relay_state
            .map(|r| format!("<input type=\"hidden\" name=\"RelayState\" value=\"{}\">", esc(r)))
            .unwrap_or_default();
        page(
            StatusCode::OK,
            &format!(
                "<h1>Signing in…</h1><form method=\"post\" action=\"{}\">\
                 <input type=\"hidden\" name=\"SAMLResponse\" value=\"{value}\">{relay}\
                 <button type=\"submit\" autofocus>Continue to the address book</button></form>\
                 <script>document.forms[0].submit()</script>",
                esc(&acs_url)
            ),
        )
    }

    /// The directory whose SP sent the request (its issuer is `<public URL>/saml/<directory>/metadata`).
    fn directory_of(&self, request: &AuthnRequest) -> Option<String> {
        let prefix = format!("{}/saml/", self.endpoints.base());
        let directory = request.issuer.strip_prefix(&prefix)?.strip_suffix("/metadata")?;
        fd_shared::auth::is_id(directory).then(|| directory.to_string())
    }
}

/// The parts of an AuthnRequest the development IdP needs.
struct AuthnRequest {
    id: String,
    issuer: String,
}

/// Decodes the HTTP-Redirect binding's value (base64 of raw DEFLATE) and reads the request's ID and Issuer.
fn authn_request(encoded: &str) -> Option<AuthnRequest> {
    let compressed = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(compressed.as_slice()).take(64 * 1024).read_to_string(&mut xml).ok()?;
    let doc = roxmltree::Document::parse(&xml).ok()?;
    let root = doc.root_element();
    let id = root.attribute("ID")?.to_string();
    let issuer = root.children().find(|n| n.has_tag_name("Issuer"))?.text()?.trim().to_string();
    Some(AuthnRequest { id, issuer })
}

fn page(status: StatusCode, body: &str) -> http::Response<Full<Bytes>> {
    let html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Development IdP</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"></head><body>{body}</body></html>"
    );
    let mut response = http::Response::new(Full::new(Bytes::from(html)));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("text/html; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
    response
}
