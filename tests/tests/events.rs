//! Every API Gateway event in `tests/events/` goes through its function's handler, as `sam local invoke -e` would
//! deliver it, against a SQLite store holding the directory, key, user and SAML configuration the events name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_shared::auth::{KeyRecord, Pepper};
use fd_shared::scim::user::{UserDoc, UserRecord};
use fd_shared::service::ScimService;
use fd_shared::store::sqlite::SqliteStore;
use fd_shared::store::{AdminStore, Directory, Store};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;

/// The directory, key and user the sample events refer to (see tests/events/README.md).
const DIRECTORY: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const KEY: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
const SECRET: &str = "sample-secret-for-event-files-0123456789abcdef";
const USER_ID: &str = "2819c223-7f76-453a-919d-413861904646";

/// Each event file and the status its handler must answer.
const EXPECTED: &[(&str, u16)] = &[
    ("get-users-test-credentials.json", 200),
    ("get-users-filter-username.json", 200),
    ("post-user.json", 201),
    ("get-user.json", 200),
    ("put-user.json", 200),
    ("patch-user-deactivate.json", 200),
    ("delete-user.json", 204),
];

/// Each sign-in event file and the status the `saml-acs` handler must answer as committed. (The ACS event's
/// response has expired since it was made; `sign_in_events_with_fresh_credentials` re-signs it.)
const SIGN_IN_EXPECTED: &[(&str, u16)] =
    &[("saml-acs.json", 403), ("saml-login.json", 303), ("saml-metadata.json", 200), ("me.json", 401)];

/// The public base URL of the API the events were delivered by.
const PUBLIC_URL: &str = "https://abc123defg.execute-api.eu-west-1.amazonaws.com";

fn event_text(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("events").join(name)).unwrap()
}

/// The development IdP with the key the ACS event was signed with.
fn dev_idp() -> fd_saml::dev_idp::DevIdp {
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/saml/tests/fixtures/idp_key.pem");
    fd_saml::dev_idp::DevIdp::from_private_key_pem(
        "urn:federated-directory:dev-idp",
        &std::fs::read_to_string(key).unwrap(),
    )
    .unwrap()
}

const SESSION_SECRET: &str = "event-test-session-key-0123456789abcdefghij";

async fn sign_in_service() -> fd_signin::SignInService {
    let (store, _) = store_and_service(true).await;
    let config = fd_signin::config::SamlSettings {
        login_url: "https://example.okta.com/app/example_fd/exk1/sso/saml".into(),
        certificates: vec![dev_idp().certificate_pem().to_string()],
        ..Default::default()
    }
    .check("2026-11-29T12:00:00Z".into())
    .unwrap();
    store.set_saml_config(DIRECTORY, &config).await.unwrap();
    fd_signin::SignInService::new(
        store,
        fd_shared::secret::SecretSource::ready("session key", SESSION_SECRET.to_string()),
        fd_signin::SpEndpoints::new(PUBLIC_URL).unwrap(),
    )
}

async fn sign_in(service: &fd_signin::SignInService, event: &str) -> Response<Body> {
    let request = lambda_http::request::from_str(event).unwrap();
    match saml_acs::handle(service, request).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

#[tokio::test]
async fn sign_in_events_are_served_by_the_saml_acs_function() {
    let service = sign_in_service().await;
    for (name, status) in SIGN_IN_EXPECTED {
        let text = event_text(name);
        let mut status = *status;
        if *name == "saml-acs.json" {
            // Its response is valid for 5 minutes (plus the 2-minute clock skew) after it was signed.
            let event: Value = serde_json::from_str(&text).unwrap();
            let signed_at = event["requestContext"]["timeEpoch"].as_i64().unwrap() / 1000;
            if time::OffsetDateTime::now_utc().unix_timestamp() - signed_at < 8 * 60 {
                status = 303;
            }
        }
        let response = sign_in(&service, &text).await;
        assert_eq!(response.status().as_u16(), status, "{name}: {:?}", response.body());
        // A sign-in sets the session; a login sets the sealed request cookie (instead of writing to the store).
        let sets_cookie = status == 303 && matches!(*name, "saml-acs.json" | "saml-login.json");
        assert_eq!(response.headers().get("set-cookie").is_some(), sets_cookie, "{name}");
    }
}

#[tokio::test]
async fn sign_in_events_with_fresh_credentials() {
    let service = sign_in_service().await;
    // The ACS event, with a response signed now (as `fd-dev-idp response --format event` makes them).
    let mut acs: Value = serde_json::from_str(&event_text("saml-acs.json")).unwrap();
    let endpoints = fd_signin::SpEndpoints::new(PUBLIC_URL).unwrap();
    let options = fd_saml::dev_idp::ResponseOptions::new(
        endpoints.entity_id(DIRECTORY),
        endpoints.acs_url(DIRECTORY),
        "ada.lovelace@example.com",
        time::OffsetDateTime::now_utc(),
    );
    let value = dev_idp().signed_response_base64(&options).unwrap();
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", &value)
        .append_pair("RelayState", "/people")
        .finish();
    acs["body"] = json!(form);
    let response = sign_in(&service, &acs.to_string()).await;
    assert_eq!(response.status().as_u16(), 303, "{:?}", response.body());
    assert_eq!(response.headers()["location"], "/people");
    let set_cookie = response.headers()["set-cookie"].to_str().unwrap().to_string();
    let session = set_cookie.split(';').next().unwrap();

    // The /me event carrying that session (the committed file holds a placeholder signature).
    let mut me: Value = serde_json::from_str(&event_text("me.json")).unwrap();
    me["cookies"] = json!(["theme=dark", session]);
    let response = sign_in(&service, &me.to_string()).await;
    assert_eq!(response.status().as_u16(), 200, "{:?}", response.body());
    assert_eq!(body_json(&response)["id"], USER_ID);
}

async fn service(with_user: bool) -> ScimService {
    store_and_service(with_user).await.1
}

/// The store (all roles) and a SCIM service over it.
async fn store_and_service(with_user: bool) -> (Arc<dyn Store>, ScimService) {
    let pepper = Pepper::new(b"event-test-pepper-0123456789abcdefghij".to_vec()).unwrap();
    let store = SqliteStore::in_memory().unwrap();
    store
        .create_directory(&Directory {
            id: DIRECTORY.into(),
            name: "Events".into(),
            created: "2026-11-29T12:00:00Z".into(),
            company: None,
        })
        .await
        .unwrap();
    let key = KeyRecord {
        directory: DIRECTORY.into(),
        id: KEY.into(),
        name: "Okta".into(),
        hash: pepper.hash(SECRET),
        created: "2026-11-29T12:00:00Z".into(),
        revoked: None,
    };
    store.create_key(&key).await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    let service = ScimService::new(store.clone(), pepper);
    if with_user {
        let doc = UserDoc::from_request(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ada.lovelace@example.com",
            "displayName": "Ada Lovelace",
        }))
        .unwrap();
        let record = UserRecord { id: USER_ID.into(), ..UserRecord::new(doc) };
        let credential = fd_shared::auth::Credential::from_authorization(
            Some(&format!("Bearer fd_{DIRECTORY}_{KEY}_{SECRET}")),
            &Pepper::new(b"event-test-pepper-0123456789abcdefghij".to_vec()).unwrap(),
        )
        .unwrap();
        store.create_user(&credential, &record).await.unwrap();
    }
    (store, service)
}

async fn invoke(service: &ScimService, request: Request) -> Response<Body> {
    let method = request.method().as_str().to_string();
    let response = match method.as_str() {
        "GET" => scim_get::handle(service, request).await,
        "POST" => scim_post::handle(service, request).await,
        "PUT" => scim_put::handle(service, request).await,
        "PATCH" => scim_patch::handle(service, request).await,
        "DELETE" => scim_delete::handle(service, request).await,
        other => panic!("no function for {other}"),
    };
    match response {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn body_json(response: &Response<Body>) -> Value {
    match response.body() {
        Body::Empty => Value::Null,
        body => serde_json::from_slice(body.as_ref()).unwrap(),
    }
}

#[tokio::test]
async fn every_event_file_is_served_by_its_function() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("events");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut expected: Vec<String> = EXPECTED.iter().chain(SIGN_IN_EXPECTED).map(|(n, _)| n.to_string()).collect();
    expected.sort();
    assert_eq!(files, expected, "every event file needs an expectation here");

    for (name, status) in EXPECTED {
        let text = std::fs::read_to_string(dir.join(name)).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(event["version"], "2.0", "{name} is an HTTP API (payload 2.0) event");
        let request = lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(request.method().as_str(), event["requestContext"]["http"]["method"], "{name}");
        let service = service(*name != "post-user.json").await;
        let response = invoke(&service, request).await;
        let body = body_json(&response);
        assert_eq!(response.status().as_u16(), *status, "{name}: {body}");
        if *status != 204 {
            assert_eq!(response.headers()["content-type"], "application/scim+json", "{name}");
        }
        if *name == "post-user.json" {
            let location = response.headers()["location"].to_str().unwrap();
            assert!(location.starts_with("https://abc123defg.execute-api.eu-west-1.amazonaws.com/scim/v2/Users/"));
            assert_eq!(
                body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["displayName"],
                "Charles Babbage"
            );
        }
        if *name == "patch-user-deactivate.json" {
            assert_eq!(body["active"], false);
        }
        if *name == "get-users-filter-username.json" {
            assert_eq!(body["totalResults"], 1);
        }
    }
}

#[tokio::test]
async fn a_request_for_another_verb_is_refused() {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("events/get-user.json")).unwrap();
    let request = lambda_http::request::from_str(&text).unwrap();
    let service = service(true).await;
    let response = scim_delete::handle(&service, request).await.unwrap();
    assert_eq!(response.status().as_u16(), 405);
    // Nothing was deleted.
    let request = lambda_http::request::from_str(&text).unwrap();
    assert_eq!(scim_get::handle(&service, request).await.unwrap().status().as_u16(), 200);
}
