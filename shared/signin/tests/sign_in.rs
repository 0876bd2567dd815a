//! The sign-in routes end to end over an in-memory SQLite store, with responses signed by the development IdP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fd_saml::dev_idp::{DevIdp, ResponseOptions, SignMode};
use fd_shared::auth::{Credential, Pepper, issue_key, new_id};
use fd_shared::scim::user::{UserDoc, UserRecord};
use fd_shared::secret::SecretSource;
use fd_shared::store::sqlite::SqliteStore;
use fd_shared::store::{Directory, Store};
use fd_signin::config::SamlSettings;
use fd_signin::{SignInService, SpEndpoints};
use lambda_http::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use lambda_http::{Body, Request, Response};
use serde_json::json;
use std::io::Read;
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;

const BASE: &str = "https://fd.example.com";
const IDP_ENTITY_ID: &str = "http://www.okta.com/exk1fd2dev3idp4";
const LOGIN_URL: &str = "https://example.okta.com/app/example_fd/exk1fd2dev3idp4/sso/saml";

fn load_idp(file: &str) -> DevIdp {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../saml/tests/fixtures").join(file);
    DevIdp::from_private_key_pem(IDP_ENTITY_ID, &std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The directory's IdP (Okta).
fn idp() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| load_idp("idp_key.pem"))
}

/// Another key holder: another directory's IdP, or an attacker.
fn other_idp() -> &'static DevIdp {
    static IDP: OnceLock<DevIdp> = OnceLock::new();
    IDP.get_or_init(|| load_idp("attacker_key.pem"))
}

struct World {
    store: Arc<dyn Store>,
    service: SignInService,
}

struct Tenant {
    directory: String,
    credential: Credential,
}

fn pepper() -> Pepper {
    Pepper::new(vec![9; 32]).unwrap()
}

impl World {
    fn new() -> Self {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let secret = SecretSource::ready("session key", "s".repeat(40));
        let service = SignInService::new(store.clone(), secret, SpEndpoints::new(BASE).unwrap());
        Self { store, service }
    }

    async fn tenant(&self, idp: &DevIdp, customise: impl FnOnce(&mut SamlSettings)) -> Tenant {
        let directory =
            Directory { id: new_id(), name: "Example".into(), created: "2026-01-01T00:00:00Z".into(), company: None };
        self.store.create_directory(&directory).await.unwrap();
        let issued = issue_key(&directory.id, "okta", &pepper());
        self.store.create_key(&issued.record).await.unwrap();
        let credential = Credential::from_authorization(Some(&format!("Bearer {}", issued.token)), &pepper()).unwrap();
        let mut settings = SamlSettings {
            login_url: LOGIN_URL.into(),
            certificates: vec![idp.certificate_pem().to_string()],
            ..SamlSettings::default()
        };
        customise(&mut settings);
        let config = settings.check("2026-01-01T00:00:00Z".into()).unwrap();
        self.store.set_saml_config(&directory.id, &config).await.unwrap();
        Tenant { directory: directory.id, credential }
    }

    async fn user(&self, tenant: &Tenant, user_name: &str, active: bool) -> UserRecord {
        let doc = UserDoc::from_request(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "displayName": "Ada Lovelace",
            "active": active,
        }))
        .unwrap();
        let record = UserRecord::new(doc);
        self.store.create_user(&tenant.credential, &record).await.unwrap();
        record
    }

    async fn set_active(&self, tenant: &Tenant, user: &UserRecord, active: bool) -> UserRecord {
        let mut attributes = user.doc.clone().into_attributes();
        attributes.insert("active".into(), json!(active));
        let next = user.successor(UserDoc::from_stored(attributes));
        self.store.replace_user(&tenant.credential, user, &next).await.unwrap();
        next
    }

    async fn call(&self, request: Request) -> Response<Body> {
        fd_signin::http::handle(&self.service, request).await
    }

    async fn post_acs(&self, directory: &str, saml_response: &str, relay_state: Option<&str>) -> Response<Body> {
        self.post_acs_with_cookie(directory, saml_response, relay_state, None).await
    }

    /// Posts to the ACS as the browser that started an SP-initiated sign-in does: with its request cookie.
    async fn post_acs_with_cookie(
        &self,
        directory: &str,
        saml_response: &str,
        relay_state: Option<&str>,
        cookie: Option<&str>,
    ) -> Response<Body> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("SAMLResponse", saml_response);
        if let Some(relay_state) = relay_state {
            form.append_pair("RelayState", relay_state);
        }
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!("{BASE}/saml/{directory}/acs"))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            builder = builder.header("cookie", cookie);
        }
        self.call(builder.body(Body::Text(form.finish())).unwrap()).await
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Response<Body> {
        let mut builder = lambda_http::http::Request::builder().method("GET").uri(format!("{BASE}{path}"));
        if let Some(cookie) = cookie {
            builder = builder.header(COOKIE, cookie);
        }
        self.call(builder.body(Body::Empty).unwrap()).await
    }
}

fn response_for(directory: &str, name_id: &str) -> ResponseOptions {
    let endpoints = SpEndpoints::new(BASE).unwrap();
    ResponseOptions::new(
        endpoints.entity_id(directory),
        endpoints.acs_url(directory),
        name_id,
        OffsetDateTime::now_utc(),
    )
}

fn signed(idp: &DevIdp, options: &ResponseOptions) -> String {
    idp.signed_response_base64(options).unwrap()
}

fn header(response: &Response<Body>, name: lambda_http::http::header::HeaderName) -> Option<&str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

fn body_text(response: &Response<Body>) -> String {
    String::from_utf8_lossy(response.body().as_ref()).into_owned()
}

/// `name=value` of the session cookie set by a response.
fn session_cookie(response: &Response<Body>) -> String {
    let set_cookie = header(response, SET_COOKIE).expect("a session cookie");
    set_cookie.split(';').next().unwrap().to_string()
}

fn assert_refused(response: &Response<Body>, status: u16) {
    assert_eq!(response.status().as_u16(), status, "{}", body_text(response));
    assert!(response.headers().get(SET_COOKIE).is_none(), "no cookie on failure");
}

#[tokio::test]
async fn okta_tile_sign_in_sets_a_session_that_me_accepts() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    let user = world.user(&tenant, "Ada@Example.com", true).await;
    // Okta's default: only the assertion is signed; the NameID differs in case from the userName.
    let mut options = response_for(&tenant.directory, "ada@example.com");
    options.sign = SignMode::AssertionOnly;

    let response = world.post_acs(&tenant.directory, &signed(idp(), &options), None).await;
    assert_eq!(response.status().as_u16(), 303, "{}", body_text(&response));
    assert_eq!(header(&response, LOCATION), Some("/"));
    let set_cookie = header(&response, SET_COOKIE).unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=28800"] {
        assert!(set_cookie.split("; ").any(|a| a == attribute), "{attribute} in {set_cookie}");
    }

    let me = world.get("/me", Some(&format!("other=1; {}", session_cookie(&response)))).await;
    assert_eq!(me.status().as_u16(), 200, "{}", body_text(&me));
    assert_eq!(header(&me, CONTENT_TYPE), Some("application/scim+json"));
    let resource: serde_json::Value = serde_json::from_str(&body_text(&me)).unwrap();
    assert_eq!(resource["id"], json!(user.id));
    assert_eq!(resource["userName"], json!("Ada@Example.com"));
    assert_eq!(resource["meta"]["location"], json!(format!("{BASE}/scim/v2/Users/{}", user.id)));
}

#[tokio::test]
async fn a_user_deactivated_after_signing_in_loses_access_for_good_and_signs_in_again_when_reactivated() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    let user = world.user(&tenant, "ada@example.com", true).await;
    let response = world
        .post_acs(&tenant.directory, &signed(idp(), &response_for(&tenant.directory, "ada@example.com")), None)
        .await;
    let cookie = session_cookie(&response);

    let inactive = world.set_active(&tenant, &user, false).await;
    assert_eq!(world.get("/me", Some(&cookie)).await.status().as_u16(), 401);
    // Nor can they sign in again while deactivated.
    let again = world
        .post_acs(&tenant.directory, &signed(idp(), &response_for(&tenant.directory, "ada@example.com")), None)
        .await;
    assert_refused(&again, 403);

    // Reactivated: the old session stays over; signing in again gives a new one.
    world.set_active(&tenant, &inactive, true).await;
    assert_eq!(world.get("/me", Some(&cookie)).await.status().as_u16(), 401);
    let fresh = world
        .post_acs(&tenant.directory, &signed(idp(), &response_for(&tenant.directory, "ada@example.com")), None)
        .await;
    let fresh = session_cookie(&fresh);
    assert_ne!(fresh, cookie);
    assert_eq!(world.get("/me", Some(&fresh)).await.status().as_u16(), 200);
}

#[tokio::test]
async fn unknown_and_deactivated_users_never_get_a_session() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    world.user(&tenant, "gone@example.com", false).await;
    for name in ["nobody@example.com", "gone@example.com"] {
        let response =
            world.post_acs(&tenant.directory, &signed(idp(), &response_for(&tenant.directory, name)), None).await;
        assert_refused(&response, 403);
        assert_eq!(body_text(&response), "Sign-in failed.\n");
    }
}

#[tokio::test]
async fn each_assertion_is_accepted_once() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    world.user(&tenant, "ada@example.com", true).await;
    let response = signed(idp(), &response_for(&tenant.directory, "ada@example.com"));
    assert_eq!(world.post_acs(&tenant.directory, &response, None).await.status().as_u16(), 303);
    assert_refused(&world.post_acs(&tenant.directory, &response, None).await, 403);
}

fn request_id_of(login: &Response<Body>) -> String {
    let location = header(login, LOCATION).unwrap();
    assert!(location.starts_with(&format!("{LOGIN_URL}?SAMLRequest=")), "{location}");
    let query = location.split_once('?').unwrap().1;
    let encoded = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "SAMLRequest").unwrap().1;
    let deflated = STANDARD.decode(encoded.as_bytes()).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&deflated[..]).read_to_string(&mut xml).unwrap();
    let start = xml.find(" ID=\"").unwrap() + 5;
    xml[start..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn sp_initiated_sign_in_answers_an_outstanding_request_once() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    let other = world.tenant(other_idp(), |_| {}).await;
    world.user(&tenant, "ada@example.com", true).await;

    let login = world.get(&format!("/saml/{}/login?RelayState=%2Fpeople%3Fq%3Dada", tenant.directory), None).await;
    assert_eq!(login.status().as_u16(), 303);
    assert!(header(&login, LOCATION).unwrap().contains("&RelayState=%2Fpeople%3Fq%3Dada"));
    let request_id = request_id_of(&login);
    let cookie = request_cookie(&login);

    let mut options = response_for(&tenant.directory, "ada@example.com");
    options.in_response_to = Some(request_id.clone());
    let answer = signed(idp(), &options);
    // The answer must come back to the browser that started the sign-in: without its request cookie, refused.
    assert_refused(&world.post_acs(&tenant.directory, &answer, Some("/people?q=ada")).await, 403);
    let response = world.post_acs_with_cookie(&tenant.directory, &answer, Some("/people?q=ada"), Some(&cookie)).await;
    assert_eq!(response.status().as_u16(), 303, "{}", body_text(&response));
    assert_eq!(header(&response, LOCATION), Some("/people?q=ada"));
    let cleared: Vec<&str> = response.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).collect();
    assert!(cleared.iter().any(|c| c.starts_with("fd_saml_request=;")), "{cleared:?}");

    // A second answer to the same request (a fresh assertion) is refused, as is an answer to no request.
    let mut again = response_for(&tenant.directory, "ada@example.com");
    again.in_response_to = Some(request_id);
    assert_refused(
        &world.post_acs_with_cookie(&tenant.directory, &signed(idp(), &again), None, Some(&cookie)).await,
        403,
    );
    let mut unsolicited = response_for(&tenant.directory, "ada@example.com");
    unsolicited.in_response_to = Some("id0000000000000000".into());
    assert_refused(
        &world.post_acs_with_cookie(&tenant.directory, &signed(idp(), &unsolicited), None, Some(&cookie)).await,
        403,
    );

    // Another directory's outstanding request does not count here.
    let other_login = world.get(&format!("/saml/{}/login", other.directory), None).await;
    let mut crossed = response_for(&tenant.directory, "ada@example.com");
    crossed.in_response_to = Some(request_id_of(&other_login));
    let other_cookie = request_cookie(&other_login);
    assert_refused(
        &world.post_acs_with_cookie(&tenant.directory, &signed(idp(), &crossed), None, Some(&other_cookie)).await,
        403,
    );
}

/// The request cookie a login response sets (`name=value`).
fn request_cookie(login: &Response<Body>) -> String {
    let set = header(login, SET_COOKIE).expect("a request cookie");
    assert!(set.starts_with("fd_saml_request="), "{set}");
    set.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn a_directory_can_refuse_idp_initiated_sign_in() {
    let world = World::new();
    let tenant = world.tenant(idp(), |s| s.sp_initiated_only = true).await;
    world.user(&tenant, "ada@example.com", true).await;
    let tile = response_for(&tenant.directory, "ada@example.com");
    assert_refused(&world.post_acs(&tenant.directory, &signed(idp(), &tile), None).await, 403);
    let login = world.get(&format!("/saml/{}/login", tenant.directory), None).await;
    let mut answer = response_for(&tenant.directory, "ada@example.com");
    answer.in_response_to = Some(request_id_of(&login));
    let cookie = request_cookie(&login);
    let response = world.post_acs_with_cookie(&tenant.directory, &signed(idp(), &answer), None, Some(&cookie)).await;
    assert_eq!(response.status().as_u16(), 303, "{}", body_text(&response));
}

/// A NameID that only looks like a user's name (KELVIN SIGN for K, fullwidth letters) never signs in as them.
#[tokio::test]
async fn look_alike_name_ids_never_sign_in() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    world.user(&tenant, "kim@example.com", true).await;
    for look_alike in ["\u{212A}im@example.com", "\u{ff4b}im@example.com", "kim@example.com\u{200b}"] {
        let response = response_for(&tenant.directory, look_alike);
        let refused = world.post_acs(&tenant.directory, &signed(idp(), &response), None).await;
        assert_refused(&refused, 403);
    }
    let genuine = response_for(&tenant.directory, "KIM@example.com");
    assert_eq!(world.post_acs(&tenant.directory, &signed(idp(), &genuine), None).await.status().as_u16(), 303);
}

#[tokio::test]
async fn relay_state_is_followed_only_when_safe() {
    let world = World::new();
    let tenant = world.tenant(idp(), |s| s.relay_state_allow_list = vec!["https://app.example.com/".into()]).await;
    world.user(&tenant, "ada@example.com", true).await;
    for (relay_state, expected) in [
        ("/people", "/people"),
        ("https://app.example.com/home", "https://app.example.com/home"),
        ("https://evil.example.com/", "/"),
        ("//evil.example.com/", "/"),
    ] {
        let response = signed(idp(), &response_for(&tenant.directory, "ada@example.com"));
        let answer = world.post_acs(&tenant.directory, &response, Some(relay_state)).await;
        assert_eq!(answer.status().as_u16(), 303);
        assert_eq!(header(&answer, LOCATION), Some(expected), "{relay_state}");
    }
}

#[tokio::test]
async fn a_directory_trusts_only_its_own_certificates_and_endpoints() {
    let world = World::new();
    let a = world.tenant(idp(), |_| {}).await;
    let b = world.tenant(other_idp(), |_| {}).await;
    world.user(&a, "ada@example.com", true).await;
    world.user(&b, "ada@example.com", true).await;

    // B's IdP signs for A's endpoints: wrong key for A.
    let forged = signed(other_idp(), &response_for(&a.directory, "ada@example.com"));
    assert_refused(&world.post_acs(&a.directory, &forged, None).await, 403);
    // A's response (for A's ACS and audience) posted to B's ACS: wrong key and wrong endpoints for B.
    let for_a = signed(idp(), &response_for(&a.directory, "ada@example.com"));
    assert_refused(&world.post_acs(&b.directory, &for_a, None).await, 403);
    // B's IdP, for B's endpoints, posted to A.
    let for_b = signed(other_idp(), &response_for(&b.directory, "ada@example.com"));
    assert_refused(&world.post_acs(&a.directory, &for_b, None).await, 403);
    // Unsigned.
    let mut unsigned = response_for(&a.directory, "ada@example.com");
    unsigned.sign = SignMode::None;
    assert_refused(&world.post_acs(&a.directory, &signed(idp(), &unsigned), None).await, 403);
    // Directories without SAML, or that do not exist.
    assert_refused(&world.post_acs(&new_id(), &for_a, None).await, 403);
    assert_refused(&world.post_acs("not-an-id", &for_a, None).await, 403);
}

#[tokio::test]
async fn certificate_rotation_and_issuer_enforcement() {
    let world = World::new();
    let tenant = world
        .tenant(idp(), |s| {
            s.certificates.push(other_idp().certificate_pem().to_string());
            s.idp_entity_id = Some(IDP_ENTITY_ID.into());
        })
        .await;
    world.user(&tenant, "ada@example.com", true).await;
    for signer in [idp(), other_idp()] {
        let response = signed(signer, &response_for(&tenant.directory, "ada@example.com"));
        assert_eq!(world.post_acs(&tenant.directory, &response, None).await.status().as_u16(), 303);
    }
    let impostor =
        DevIdp::from_private_key_pem("http://www.okta.com/someone-else", &idp().private_key_pem().unwrap()).unwrap();
    let response = signed(&impostor, &response_for(&tenant.directory, "ada@example.com"));
    assert_refused(&world.post_acs(&tenant.directory, &response, None).await, 403);
}

#[tokio::test]
async fn input_that_is_not_a_saml_response_gets_400() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    assert_refused(&world.post_acs(&tenant.directory, "not base64 at all!", None).await, 400);
    assert_refused(&world.post_acs(&tenant.directory, &STANDARD.encode("<html/>"), None).await, 400);
    let json = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("{BASE}/saml/{}/acs", tenant.directory))
        .header(CONTENT_TYPE, "application/json")
        .body(Body::Text("{\"SAMLResponse\":\"x\"}".into()))
        .unwrap();
    assert_refused(&world.call(json).await, 400);
    let no_field = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!("{BASE}/saml/{}/acs", tenant.directory))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::Text("RelayState=%2F".into()))
        .unwrap();
    assert_refused(&world.call(no_field).await, 400);
    let oversized = "A".repeat(fd_saml::MAX_ENCODED_RESPONSE_LEN + 4);
    assert_refused(&world.post_acs(&tenant.directory, &oversized, None).await, 400);
}

#[tokio::test]
async fn metadata_login_and_me_edges() {
    let world = World::new();
    let tenant = world.tenant(idp(), |_| {}).await;
    let metadata = world.get(&format!("/saml/{}/metadata", tenant.directory), None).await;
    assert_eq!(metadata.status().as_u16(), 200);
    assert_eq!(header(&metadata, CONTENT_TYPE), Some("application/samlmetadata+xml"));
    let xml = body_text(&metadata);
    assert!(xml.contains(&format!("entityID=\"{BASE}/saml/{}/metadata\"", tenant.directory)), "{xml}");
    assert!(xml.contains(&format!("Location=\"{BASE}/saml/{}/acs\"", tenant.directory)), "{xml}");

    assert_eq!(world.get(&format!("/saml/{}/metadata", new_id()), None).await.status().as_u16(), 404);
    // A directory without SAML has nowhere to send the browser.
    let bare =
        Directory { id: new_id(), name: "No SAML".into(), created: "2026-01-01T00:00:00Z".into(), company: None };
    world.store.create_directory(&bare).await.unwrap();
    assert_eq!(world.get(&format!("/saml/{}/login", bare.id), None).await.status().as_u16(), 404);
    // An unsafe RelayState is not forwarded to the IdP.
    let login = world.get(&format!("/saml/{}/login?RelayState=https%3A%2F%2Fevil.com", tenant.directory), None).await;
    assert!(!header(&login, LOCATION).unwrap().contains("RelayState"));

    assert_eq!(world.get("/me", None).await.status().as_u16(), 401);
    assert_eq!(world.get("/me", Some("fd_session=v1.x.y.z.forged")).await.status().as_u16(), 401);
    assert_eq!(world.get("/saml/x/unknown", None).await.status().as_u16(), 404);
    let wrong_method = lambda_http::http::Request::builder()
        .method("GET")
        .uri(format!("{BASE}/saml/{}/acs", tenant.directory))
        .body(Body::Empty)
        .unwrap();
    assert_eq!(world.call(wrong_method).await.status().as_u16(), 405);
}
