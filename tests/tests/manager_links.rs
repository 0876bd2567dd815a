//! Manager links end to end: Okta provisions a report before its manager through `fd-local`, and
//! `fd-admin users relink-managers` links it; on SQLite and on DynamoDB (moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_shared::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use fd_tests::Backend;
use serde_json::{Value, json};

#[tokio::test]
async fn relink_managers_on_sqlite() {
    relink_managers(Backend::sqlite()).await;
}

#[tokio::test]
async fn relink_managers_on_dynamodb() {
    relink_managers(Backend::dynamodb()).await;
}

fn okta_user(user_name: &str, display_name: &str, manager: Option<&str>) -> Value {
    let mut user = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "userName": user_name,
                          "displayName": display_name, "active": true});
    if let Some(manager) = manager {
        user[ENTERPRISE_USER_SCHEMA] = json!({"manager": {"displayName": manager}});
    }
    user
}

async fn relink_managers(backend: Backend) {
    backend.prepare().await;
    let (directory, _, token) = backend.tenant("Acme").await;
    let server = backend.start_local().await;
    let post = |body: Value| {
        let (server, token) = (&server, token.as_str());
        async move {
            let reply = server.call("POST", "/Users", Some(token), Some(&body)).await;
            assert_eq!(reply.status, 201, "{:?}", reply.body);
            reply.body
        }
    };
    // Okta creates the report first.
    let report = post(okta_user("ada@example.com", "Ada Lovelace", Some("Charles Babbage"))).await;
    let report_id = report["id"].as_str().unwrap().to_string();
    assert_eq!(report[ENTERPRISE_USER_SCHEMA]["manager"], json!({"displayName": "Charles Babbage"}));
    let manager = post(okta_user("charles@example.com", "Charles Babbage", None)).await;
    let manager_id = manager["id"].as_str().unwrap().to_string();

    let filter = format!("{ENTERPRISE_USER_SCHEMA}:manager.value eq \"{manager_id}\"");
    let by_manager = format!("/Users?filter={}", urlencode(&filter));
    let found = server.call("GET", &by_manager, Some(&token), None).await;
    assert_eq!(found.body["totalResults"], 0, "lags until relinked: {:?}", found.body);

    let relink = ["users", "relink-managers", "--directory", &directory, "--public-url", server.origin(), "--json"];
    let out = fd_tests::json(&backend.admin(&relink).await);
    assert_eq!(
        (out["users"].clone(), out["reports"].clone(), out["linked"].clone(), out["changed"].clone()),
        (json!(2), json!(1), json!(1), json!(1)),
        "{out}"
    );
    let got = server.call("GET", &format!("/Users/{report_id}"), Some(&token), None).await;
    assert_eq!(
        got.body[ENTERPRISE_USER_SCHEMA]["manager"],
        json!({"displayName": "Charles Babbage", "value": manager_id,
               "$ref": format!("{}/Users/{manager_id}", server.base_url)})
    );
    assert_eq!(got.body["meta"]["version"], "W/\"2\"");
    let found = server.call("GET", &by_manager, Some(&token), None).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], report_id.as_str());

    // Nothing left to change; the text output names the counts.
    let bare = ["users", "relink-managers", "--directory", &directory];
    if let Backend::DynamoDb { .. } = backend {
        // No default public URL with DynamoDB: it would end up in stored $refs.
        assert!(backend.admin_fails(&bare).await.contains("--public-url"));
    }
    let out = backend.admin(&[&bare[..], &["--public-url", server.origin()]].concat()).await;
    assert!(out.contains("2 users, 1 with a manager name, 1 linked; 0 rewritten"), "{out}");
    let unknown = backend
        .admin_fails(&["users", "relink-managers", "--directory", "0123", "--public-url", server.origin()])
        .await;
    assert!(unknown.contains("not a directory id"), "{unknown}");
    server.stop().await;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
