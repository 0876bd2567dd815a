//! The address book over a real store (SQLite in memory): sessions, tenancy, CSRF, freshness, the API's shapes,
//! input bounds and the inertness of provisioned strings. The browser suite (tests/browser) drives the same pages
//! in Chromium.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use fd_shared::auth::{Credential, Pepper, issue_key, new_id};
use fd_shared::scim::user::{UserDoc, UserRecord};
use fd_shared::secret::SecretSource;
use fd_shared::store::sqlite::SqliteStore;
use fd_shared::store::{Company, Directory, SessionRecord, Store};
use fd_signin::session::{Session, SessionKey};
use fd_signin::{SignInService, SpEndpoints};
use fd_web::{WebRequest, WebResponse, WebService};
use serde_json::{Value, json};
use time::OffsetDateTime;

const SECRET: &str = "web-test-session-key-0123456789abcdefghij";

struct World {
    store: Arc<dyn Store>,
    web: WebService,
}

struct Tenant {
    directory: String,
    credential: Credential,
}

fn pepper() -> Pepper {
    Pepper::new(vec![5; 32]).unwrap()
}

impl World {
    fn new() -> Self {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let sign_in = Arc::new(SignInService::new(
            store.clone(),
            SecretSource::ready("session key", SECRET.to_string()),
            SpEndpoints::new("https://fd.example.com").unwrap(),
        ));
        Self { web: WebService::new(store.clone(), sign_in), store }
    }

    async fn company(&self, short: &str) -> Tenant {
        let company =
            Company { short_name: short.into(), name: format!("{short} corp"), created: "2026-01-01T00:00:00Z".into() };
        self.store.create_company(&company).await.unwrap();
        self.directory(Some(short)).await
    }

    async fn directory(&self, company: Option<&str>) -> Tenant {
        let directory = Directory {
            id: new_id(),
            name: "Okta".into(),
            created: "2026-01-01T00:00:00Z".into(),
            company: company.map(str::to_string),
        };
        self.store.create_directory(&directory).await.unwrap();
        let issued = issue_key(&directory.id, "okta", &pepper());
        self.store.create_key(&issued.record).await.unwrap();
        let credential = Credential::from_authorization(Some(&format!("Bearer {}", issued.token)), &pepper()).unwrap();
        Tenant { directory: directory.id, credential }
    }

    async fn user(&self, tenant: &Tenant, body: Value) -> UserRecord {
        let record = UserRecord::new(UserDoc::from_request(body).unwrap());
        self.store.create_user(&tenant.credential, &record).await.unwrap();
        record
    }

    async fn person(&self, tenant: &Tenant, user_name: &str, display_name: &str) -> UserRecord {
        self.user(
            tenant,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name,
                   "displayName": display_name, "active": true}),
        )
        .await
    }

    /// A session cookie for `user`, as sign-in would have made it.
    async fn session(&self, tenant: &Tenant, user: &UserRecord) -> String {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let session = Session::new(&tenant.directory, &user.id, now + 3600);
        self.store
            .create_session(&SessionRecord {
                id_hash: session.id_hash(),
                directory: tenant.directory.clone(),
                user_id: user.id.clone(),
                created: now,
                last_used: now,
                expires_at: now + 3600,
                device: "Test".into(),
            })
            .await
            .unwrap();
        format!("fd_session={}", session.seal(&SessionKey::new(SECRET.as_bytes().to_vec()).unwrap()))
    }

    async fn get(&self, path_and_query: &str, cookie: Option<&str>) -> WebResponse {
        let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
        let request = WebRequest { method: "GET", path, query, cookie, content_type: None, body: b"" };
        self.web.handle(request, OffsetDateTime::now_utc()).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &str) -> WebResponse {
        let request = WebRequest {
            method: "POST",
            path,
            query: "",
            cookie: Some(cookie),
            content_type: Some("application/x-www-form-urlencoded"),
            body: form.as_bytes(),
        };
        self.web.handle(request, OffsetDateTime::now_utc()).await
    }
}

fn json_of(response: &WebResponse) -> (u16, Value) {
    match response {
        WebResponse::Json { status, body } => (*status, body.clone()),
        other => panic!("expected JSON, got {other:?}"),
    }
}

fn page_of(response: &WebResponse) -> (u16, String) {
    match response {
        WebResponse::Page { status, html, .. } => (*status, html.clone()),
        other => panic!("expected a page, got {other:?}"),
    }
}

fn names(body: &Value) -> Vec<String> {
    body["contacts"].as_array().unwrap().iter().map(|c| c["displayName"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn a_company_searches_all_its_directories_and_nothing_else() {
    let world = World::new();
    let eu = world.company("acme").await;
    let us = world.directory(Some("acme")).await;
    let other = world.company("globex").await;
    let ada = world.person(&eu, "ada@acme.example", "Ada Lovelace").await;
    world.person(&us, "grace@acme.example", "Grace Hopper").await;
    let hank = world.person(&other, "hank@globex.example", "Hank Scorpio").await;
    let cookie = world.session(&eu, &ada).await;

    let (status, body) = json_of(&world.get("/api/contacts", Some(&cookie)).await);
    assert_eq!(status, 200);
    assert_eq!(names(&body), ["Ada Lovelace", "Grace Hopper"]);
    assert_eq!(body["total"], 2);
    // Another company's person does not exist here, whatever the id or filter: 404, not 403.
    let (status, _) = json_of(&world.get(&format!("/api/contacts/{}", hank.id), Some(&cookie)).await);
    assert_eq!(status, 404);
    let (status, _) = page_of(&world.get(&format!("/contacts/{}", hank.id), Some(&cookie)).await);
    assert_eq!(status, 404);
    let (_, body) = json_of(&world.get(&format!("/api/contacts?directory={}", other.directory), Some(&cookie)).await);
    assert_eq!(body["total"], 0);
    let (_, body) = json_of(&world.get("/api/contacts?q=hank", Some(&cookie)).await);
    assert_eq!(body["total"], 0);
}

#[tokio::test]
async fn a_write_is_seen_by_the_next_search() {
    let world = World::new();
    let eu = world.company("acme").await;
    let ada = world.person(&eu, "ada@acme.example", "Ada Lovelace").await;
    let cookie = world.session(&eu, &ada).await;
    let (_, body) = json_of(&world.get("/api/contacts?q=charles", Some(&cookie)).await);
    assert_eq!(body["total"], 0);
    world.person(&eu, "charles@acme.example", "Charles Babbage").await;
    let (_, body) = json_of(&world.get("/api/contacts?q=charles", Some(&cookie)).await);
    assert_eq!(names(&body), ["Charles Babbage"]);
}

#[tokio::test]
async fn without_a_session_pages_go_to_sign_in_and_the_api_answers_401() {
    let world = World::new();
    world.company("acme").await;
    match world.get("/contacts/abc", None).await {
        WebResponse::Redirect { location, .. } => assert_eq!(location, "/of?next=%2Fcontacts%2Fabc"),
        other => panic!("{other:?}"),
    }
    match world.get("/", Some("fd_company=acme")).await {
        WebResponse::Redirect { location, .. } => assert_eq!(location, "/of/acme"),
        other => panic!("{other:?}"),
    }
    let (status, _) = json_of(&world.get("/api/contacts?q=a", None).await);
    assert_eq!(status, 401);
    let (status, _) = json_of(&world.get("/api/contacts?q=a", Some("fd_session=v2.forged")).await);
    assert_eq!(status, 401);
    let (status, html) = page_of(&world.get("/of/acme", None).await);
    assert_eq!(status, 200);
    assert!(html.contains("acme corp"));
    let (status, _) = page_of(&world.get("/of/nobody", None).await);
    assert_eq!(status, 404);
    let (status, _) = page_of(&world.get("/of/..%2Fetc", None).await);
    assert_eq!(status, 404);
}

#[tokio::test]
async fn state_changes_need_the_session_csrf_token() {
    let world = World::new();
    let eu = world.company("acme").await;
    let ada = world.person(&eu, "ada@acme.example", "Ada Lovelace").await;
    let cookie = world.session(&eu, &ada).await;
    let (status, html) = page_of(&world.get("/account", Some(&cookie)).await);
    assert_eq!(status, 200);
    let token = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    // Without the token, or with another, nothing happens.
    let (status, _) = page_of(&world.post("/signout", &cookie, "").await);
    assert_eq!(status, 403);
    let (status, _) = page_of(&world.post("/signout", &cookie, "csrf=forged").await);
    assert_eq!(status, 403);
    assert_eq!(json_of(&world.get("/api/contacts", Some(&cookie)).await).0, 200);
    // With it, the session ends on the server: the old cookie opens nothing any more.
    match world.post("/signout", &cookie, &format!("csrf={token}")).await {
        WebResponse::Redirect { location, set_cookies } => {
            assert_eq!(location, "/of/acme");
            assert!(set_cookies.iter().any(|c| c.starts_with("fd_session=;")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(json_of(&world.get("/api/contacts", Some(&cookie)).await).0, 401);
}

#[tokio::test]
async fn ending_another_session_and_deactivation() {
    let world = World::new();
    let eu = world.company("acme").await;
    let ada = world.person(&eu, "ada@acme.example", "Ada Lovelace").await;
    let laptop = world.session(&eu, &ada).await;
    let phone = world.session(&eu, &ada).await;
    let (_, html) = page_of(&world.get("/account", Some(&laptop)).await);
    let token = html.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let rows: Vec<&str> = html.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2, "two sessions listed");
    let other = rows.iter().find(|row| !row.contains("This session")).unwrap();
    let id_hash = other.split("action=\"/account/sessions/").nth(1).unwrap().split('/').next().unwrap();
    let _ = world.post(&format!("/account/sessions/{id_hash}/end"), &laptop, &format!("csrf={token}")).await;
    assert_eq!(json_of(&world.get("/api/contacts", Some(&phone)).await).0, 401, "the other session ended");
    assert_eq!(json_of(&world.get("/api/contacts", Some(&laptop)).await).0, 200, "this one goes on");

    // Deactivated: refused at the next request, and not again after reactivation.
    let grace = world.person(&eu, "grace@acme.example", "Grace Hopper").await;
    let cookie = world.session(&eu, &grace).await;
    let mut inactive = grace.doc.clone().into_attributes();
    inactive.insert("active".into(), json!(false));
    let next = grace.successor(UserDoc::from_request(Value::Object(inactive)).unwrap());
    world.store.replace_user(&eu.credential, &grace, &next).await.unwrap();
    assert_eq!(json_of(&world.get("/api/contacts", Some(&cookie)).await).0, 401);
    let back = next.successor(grace.doc.clone());
    world.store.replace_user(&eu.credential, &next, &back).await.unwrap();
    assert_eq!(json_of(&world.get("/api/contacts", Some(&cookie)).await).0, 401);
    // Still findable by a colleague, marked.
    let colleague = world.person(&eu, "bob@acme.example", "Bob").await;
    let cookie = world.session(&eu, &colleague).await;
    let (_, body) = json_of(&world.get("/api/contacts?q=grace", Some(&cookie)).await);
    assert_eq!(names(&body), ["Grace Hopper"]);
}

#[tokio::test]
async fn provisioned_strings_are_inert_and_inputs_bounded() {
    let world = World::new();
    let eu = world.company("acme").await;
    let evil = world
        .user(
            &eu,
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "evil@acme.example",
                   "displayName": "<script>alert(1)</script>\"><img src=x onerror=alert(1)>",
                   "title": "<b>boss</b>", "profileUrl": "javascript:alert(1)", "active": true}),
        )
        .await;
    let cookie = world.session(&eu, &evil).await;
    for path in ["/?q=script".to_string(), format!("/contacts/{}", evil.id), "/account".to_string()] {
        let (status, html) = page_of(&world.get(&path, Some(&cookie)).await);
        assert_eq!(status, 200, "{path}");
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(!html.contains("<b>boss"), "{path}");
        assert!(!html.contains("href=\"javascript:"), "{path}");
        assert!(html.contains("&lt;script&gt;"), "{path}");
    }
    let long = "a".repeat(201);
    assert_eq!(json_of(&world.get(&format!("/api/contacts?q={long}"), Some(&cookie)).await).0, 400);
    assert_eq!(page_of(&world.get(&format!("/?q={long}"), Some(&cookie)).await).0, 400);
    match world.get(&format!("/contacts/{}.vcf", evil.id), Some(&cookie)).await {
        WebResponse::VCard { body, file_name } => {
            assert!(body.starts_with("BEGIN:VCARD\r\nVERSION:4.0\r\n"));
            assert!(file_name.ends_with(".vcf") && file_name.is_ascii());
            assert!(!body.contains("URL"), "a javascript: URL is no URL");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_directory_without_a_company_is_a_company_of_its_own() {
    let world = World::new();
    let solo = world.directory(None).await;
    let ada = world.person(&solo, "ada@solo.example", "Ada Lovelace").await;
    let cookie = world.session(&solo, &ada).await;
    let (_, body) = json_of(&world.get("/api/contacts", Some(&cookie)).await);
    assert_eq!(names(&body), ["Ada Lovelace"]);
    let (status, _) = page_of(&world.get(&format!("/of/{}", solo.directory), None).await);
    assert_eq!(status, 200);
}
