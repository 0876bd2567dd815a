//! Replays what Okta does when an admin connects Federated Directory and provisions users, against the real
//! `fd-local` and `fd-admin` binaries: once on SQLite, once on DynamoDB (moto).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use fd_shared::okta::OKTA_ATTRIBUTES;
use fd_shared::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use fd_tests::{Backend, LocalServer, Reply};
use serde_json::{Map, Value, json};

#[tokio::test]
async fn okta_provisioning_on_sqlite() {
    okta_provisioning(Backend::sqlite()).await;
}

#[tokio::test]
async fn okta_provisioning_on_dynamodb() {
    okta_provisioning(Backend::dynamodb()).await;
}

/// The user as Okta's SCIM 2.0 connector creates it: all 25 mapped attributes plus externalId, active, an empty
/// groups list and a placeholder password.
fn okta_user(user_name: &str, tag: &str) -> Value {
    let mut user = Map::new();
    user.insert("schemas".into(), json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
    for attr in &OKTA_ATTRIBUTES {
        let value = match attr.variable {
            "username" => user_name.to_string(),
            "email" => user_name.to_string(),
            "secondEmail" => format!("{tag}.private@example.net"),
            "profileUrl" => format!("https://intranet.example.com/people/{tag}"),
            other => format!("{other} {tag}"),
        };
        attr.write(&mut user, &value);
    }
    user.insert("externalId".into(), json!(format!("00u{tag}okta")));
    user.insert("active".into(), json!(true));
    user.insert("groups".into(), json!([]));
    user.insert("password".into(), json!("xx3Sq5w7cQ"));
    Value::Object(user)
}

fn assert_okta_attributes(actual: &Value, expected: &Value) {
    for attr in &OKTA_ATTRIBUTES {
        assert_eq!(attr.read(actual), attr.read(expected), "attribute {} ({})", attr.variable, attr.scim_path());
        assert!(attr.read(actual).is_some(), "attribute {} missing", attr.variable);
    }
    assert_eq!(actual["externalId"], expected["externalId"]);
    assert!(actual.get("password").is_none(), "password must never be returned");
}

fn assert_scim_error(reply: &Reply, status: u16, scim_type: Option<&str>) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    assert_eq!(reply.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(reply.body["status"], status.to_string());
    assert_eq!(reply.body["scimType"].as_str(), scim_type, "{:?}", reply.body);
}

fn filter_path(user_name: &str) -> String {
    let filter = format!("userName eq \"{user_name}\"");
    let encoded: String = filter
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("/Users?filter={encoded}&startIndex=1&count=100")
}

async fn okta_provisioning(backend: Backend) {
    backend.prepare().await;
    let (dir_a, _, token) = backend.tenant("Acme (Okta)").await;
    let (_, _, token_b) = backend.tenant("Globex").await;
    let second: Value =
        fd_tests::json(&backend.admin(&["key", "create", "--directory", &dir_a, "--name", "Spare", "--json"]).await);
    let spare_token = second["token"].as_str().unwrap().to_string();
    let spare_id = second["id"].as_str().unwrap().to_string();

    let server: LocalServer = backend.start_local().await;
    let t = Some(token.as_str());

    // "Test API credentials".
    let reply = server.call("GET", "/Users?startIndex=1&count=2", t, None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/scim+json"));
    assert_eq!(reply.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]));
    assert_eq!((reply.body["totalResults"].clone(), reply.body["startIndex"].clone()), (json!(0), json!(1)));
    assert_eq!(reply.body["itemsPerPage"], 0);
    assert_eq!(reply.body["Resources"], json!([]));

    // Lookup before create: nobody yet.
    let user_name = "Ada.Lovelace@example.com";
    let reply = server.call("GET", &filter_path(user_name), t, None).await;
    assert_eq!((reply.status, reply.body["totalResults"].clone()), (200, json!(0)));

    // Create with all 25 attributes.
    let sent = okta_user(user_name, "ada");
    let created = server.call("POST", "/Users", t, Some(&sent)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    let location = format!("{}/Users/{id}", server.base_url);
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.header("etag"), created.body["meta"]["version"].as_str());
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert_eq!(created.body["meta"]["location"], location.as_str());
    for field in ["created", "lastModified", "version"] {
        assert!(created.body["meta"][field].is_string(), "meta.{field}");
    }
    assert_eq!(created.body["active"], true);
    assert!(created.body.get("groups").is_none());
    assert_okta_attributes(&created.body, &sent);

    // Read back.
    let got = server.call("GET", &format!("/Users/{id}"), t, None).await;
    assert_eq!(got.status, 200);
    assert_okta_attributes(&got.body, &sent);
    assert_eq!(got.body["meta"], created.body["meta"]);

    // Profile update: Okta PUTs the whole user.
    let mut updated = okta_user(user_name, "ada2");
    updated["id"] = json!(id);
    let put = server.call("PUT", &format!("/Users/{id}"), t, Some(&updated)).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_okta_attributes(&put.body, &updated);
    assert_ne!(put.body["meta"]["version"], created.body["meta"]["version"]);
    assert_eq!(put.body["meta"]["created"], created.body["meta"]["created"]);
    let got = server.call("GET", &format!("/Users/{id}"), t, None).await;
    assert_okta_attributes(&got.body, &updated);

    // Deactivate.
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let patched = server.call("PATCH", &format!("/Users/{id}"), t, Some(&deactivate)).await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    assert_eq!(patched.body["active"], false);
    assert_okta_attributes(&patched.body, &updated);

    // Still findable by filter (case-insensitively) and in lists.
    let found = server.call("GET", &filter_path(&user_name.to_uppercase()), t, None).await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
    assert_eq!(found.body["Resources"][0]["active"], false);
    let listed = server.call("GET", "/Users?startIndex=1&count=2", t, None).await;
    assert_eq!(listed.body["totalResults"], 1);
    assert_eq!(listed.body["Resources"][0]["active"], false);

    // Reactivate.
    let mut reactivate = deactivate.clone();
    reactivate["Operations"][0]["value"]["active"] = json!(true);
    let patched = server.call("PATCH", &format!("/Users/{id}"), t, Some(&reactivate)).await;
    assert_eq!((patched.status, patched.body["active"].clone()), (200, json!(true)));

    // Duplicate create, in another case: 409 uniqueness.
    let duplicate = server.call("POST", "/Users", t, Some(&okta_user(&user_name.to_lowercase(), "dup"))).await;
    assert_scim_error(&duplicate, 409, Some("uniqueness"));

    // Unknown id: 404.
    let missing = server.call("GET", "/Users/00000000-0000-0000-0000-000000000000", t, None).await;
    assert_scim_error(&missing, 404, None);

    // Bad tokens: 401 with WWW-Authenticate.
    for bad in [None, Some("not-a-token"), Some(&token[..token.len() - 2])] {
        let reply = server.call("GET", &format!("/Users/{id}"), bad, None).await;
        assert_scim_error(&reply, 401, None);
        assert!(reply.header("www-authenticate").is_some_and(|h| h.starts_with("Bearer")));
    }
    let reply = server.call("GET", &format!("/Users/{id}"), Some(&spare_token), None).await;
    assert_eq!(reply.status, 200);
    backend.admin(&["key", "revoke", "--directory", &dir_a, &spare_id]).await;
    let reply = server.call("GET", &format!("/Users/{id}"), Some(&spare_token), None).await;
    assert_scim_error(&reply, 401, None);
    let keys = fd_tests::json(&backend.admin(&["key", "list", "--directory", &dir_a, "--json"]).await);
    assert_eq!(keys.as_array().map(Vec::len), Some(2));
    assert!(keys.as_array().unwrap().iter().any(|k| k["id"] == spare_id.as_str() && k["revoked"].is_string()));

    // Another directory's key sees nothing of this one.
    let tb = Some(token_b.as_str());
    assert_scim_error(&server.call("GET", &format!("/Users/{id}"), tb, None).await, 404, None);
    let reply = server.call("GET", &filter_path(user_name), tb, None).await;
    assert_eq!(reply.body["totalResults"], 0);
    let reply = server.call("GET", "/Users?startIndex=1&count=100", tb, None).await;
    assert_eq!(reply.body["totalResults"], 0);
    assert_scim_error(&server.call("PATCH", &format!("/Users/{id}"), tb, Some(&deactivate)).await, 404, None);
    assert_scim_error(&server.call("DELETE", &format!("/Users/{id}"), tb, None).await, 404, None);

    // Client mistakes get SCIM errors and change nothing.
    let bad_json = server.call_raw("POST", "/Users", t, Some("{\"schemas\": [")).await;
    assert_scim_error(&bad_json, 400, Some("invalidSyntax"));
    let no_user_name = json!({"schemas": [USER_SCHEMA], "displayName": "X"});
    assert_scim_error(&server.call("POST", "/Users", t, Some(&no_user_name)).await, 400, Some("invalidValue"));
    let bad_filter = server.call("GET", "/Users?filter=userName%20eq", t, None).await;
    assert_scim_error(&bad_filter, 400, Some("invalidFilter"));
    let huge =
        format!("{{\"schemas\":[\"{USER_SCHEMA}\"],\"userName\":\"x\",\"displayName\":\"{}\"}}", "x".repeat(70_000));
    assert_scim_error(&server.call_raw("POST", "/Users", t, Some(&huge)).await, 413, None);
    let rename_clash = {
        let other = server.call("POST", "/Users", t, Some(&okta_user("grace@example.com", "grace"))).await;
        assert_eq!(other.status, 201);
        let mut body = okta_user(user_name, "clash");
        body["userName"] = json!("GRACE@example.com");
        server.call("PUT", &format!("/Users/{id}"), t, Some(&body)).await
    };
    assert_scim_error(&rename_clash, 409, Some("uniqueness"));
    let got = server.call("GET", &format!("/Users/{id}"), t, None).await;
    assert_okta_attributes(&got.body, &updated);

    // DELETE (RFC 7644; Okta itself never deletes).
    let deleted = server.call("DELETE", &format!("/Users/{id}"), t, None).await;
    assert_eq!((deleted.status, deleted.body.clone()), (204, Value::Null));
    assert_scim_error(&server.call("GET", &format!("/Users/{id}"), t, None).await, 404, None);
    let listed = server.call("GET", "/Users", t, None).await;
    assert_eq!(listed.body["totalResults"], 1);

    server.stop().await;
    if let Backend::Sqlite { data_dir } = &backend {
        std::fs::remove_dir_all(data_dir).ok();
    }
}
