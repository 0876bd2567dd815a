//! DynamoDB calls per Okta operation, counted with an SDK interceptor while the requests go through the real
//! function handlers against DynamoDB on moto. The budget: get 1, lookup 1, create 1 transaction, PUT and
//! deactivate at most 2 (a PUT also resolves the manager's name, in the same read).
//!
//! `cargo test -p fd-tests --test dynamodb_calls -- --nocapture` prints the table.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use fd_shared::auth::{Pepper, issue_key, new_id};
use fd_shared::scim::schema::ENTERPRISE_USER_SCHEMA;
use fd_shared::service::ScimService;
use fd_shared::store::dynamodb::{self, CallCounter, DynamoStore};
use fd_shared::store::{AdminStore, Directory};
use lambda_http::Request;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

use support::{okta_user, request};

async fn call(service: &ScimService, req: Request) -> (u16, Value) {
    let response = support::handle(service, req).await;
    (response.status().as_u16(), support::body_of(&response))
}

#[tokio::test]
async fn okta_operations_stay_within_the_call_budget() {
    let endpoint = support::aws_endpoint();
    let config = dynamodb::emulator_config(&endpoint).await;
    let table = format!("fd-calls-{}", new_id());
    dynamodb::bootstrap_table(&aws_sdk_dynamodb::Client::new(&config), &table).await.unwrap();
    let counter = CallCounter::new();
    let store = Arc::new(DynamoStore::with_counter(&config, &table, &counter));
    let pepper = Pepper::new(vec![42; 32]).unwrap();
    let directory =
        Directory { id: new_id(), name: "Calls".into(), created: fd_shared::time::now_rfc3339(), company: None };
    store.create_directory(&directory).await.unwrap();
    let issued = issue_key(&directory.id, "Okta", &pepper);
    store.create_key(&issued.record).await.unwrap();
    let service = ScimService::new(store, pepper);
    let token = issued.token.as_str();

    let mut measured: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut measure = |name: &'static str, counter: &CallCounter| {
        measured.insert(name, counter.snapshot());
        counter.reset();
    };
    counter.reset();

    let (status, _) = call(&service, request("GET", "/Users?startIndex=1&count=2", token, None)).await;
    assert_eq!(status, 200);
    measure("test credentials (list)", &counter);

    let lookup = "/Users?filter=userName%20eq%20%22user-username%22&startIndex=1&count=100";
    let (status, body) = call(&service, request("GET", lookup, token, None)).await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(0)));
    measure("lookup (userName eq)", &counter);

    let mut no_manager = okta_user("solo");
    no_manager[ENTERPRISE_USER_SCHEMA].as_object_mut().unwrap().remove("manager");
    let (status, body) = call(&service, request("POST", "/Users", token, Some(&no_manager))).await;
    assert_eq!(status, 201, "{body}");
    measure("create, no manager", &counter);

    // Okta's user names a manager: still one write and no read (the link is made by the user's first PUT).
    let (status, body) = call(&service, request("POST", "/Users", token, Some(&okta_user("user")))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body[ENTERPRISE_USER_SCHEMA]["manager"], json!({"displayName": "user-managerDisplayName"}));
    let id = body["id"].as_str().unwrap().to_string();
    measure("create", &counter);

    let (status, _) = call(&service, request("GET", &format!("/Users/{id}"), token, None)).await;
    assert_eq!(status, 200);
    measure("get", &counter);

    let (status, body) = call(&service, request("GET", lookup, token, None)).await;
    assert_eq!((status, body["totalResults"].clone()), (200, json!(1)));
    measure("lookup, found", &counter);

    let mut updated = okta_user("user");
    updated["title"] = json!("Principal");
    let (status, _) = call(&service, request("PUT", &format!("/Users/{id}"), token, Some(&updated))).await;
    assert_eq!(status, 200);
    measure("update (PUT)", &counter);

    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let (status, body) = call(&service, request("PATCH", &format!("/Users/{id}"), token, Some(&deactivate))).await;
    assert_eq!((status, body["active"].clone()), (200, json!(false)));
    measure("deactivate (PATCH)", &counter);

    let (status, _) = call(&service, request("PATCH", &format!("/Users/{id}"), token, Some(&deactivate))).await;
    assert_eq!(status, 200);
    measure("deactivate again (no change)", &counter);

    let (status, _) = call(&service, request("DELETE", &format!("/Users/{id}"), token, None)).await;
    assert_eq!(status, 204);
    measure("delete", &counter);

    // Manager links: a report created after its manager is linked by its first PUT, and later PUTs keep the link.
    let mut manager = okta_user("boss");
    manager["displayName"] = json!("Charles Babbage");
    let (status, body) = call(&service, request("POST", "/Users", token, Some(&manager))).await;
    assert_eq!(status, 201, "{body}");
    let manager_id = body["id"].as_str().unwrap().to_string();
    let mut report = okta_user("report");
    report[ENTERPRISE_USER_SCHEMA]["manager"] = json!({"displayName": "Charles Babbage"});
    counter.reset();
    let (status, body) = call(&service, request("POST", "/Users", token, Some(&report))).await;
    assert_eq!((status, body[ENTERPRISE_USER_SCHEMA]["manager"]["value"].clone()), (201, Value::Null));
    let report_id = body["id"].as_str().unwrap().to_string();
    measure("create a report", &counter);

    let (status, body) = call(&service, request("PUT", &format!("/Users/{report_id}"), token, Some(&report))).await;
    assert_eq!((status, body[ENTERPRISE_USER_SCHEMA]["manager"]["value"].clone()), (200, json!(manager_id)));
    measure("PUT resend, links the manager", &counter);

    let (status, _) = call(&service, request("PUT", &format!("/Users/{report_id}"), token, Some(&report))).await;
    assert_eq!(status, 200);
    measure("PUT resend, unchanged", &counter);

    report["title"] = json!("Principal");
    let (status, body) = call(&service, request("PUT", &format!("/Users/{report_id}"), token, Some(&report))).await;
    assert_eq!((status, body[ENTERPRISE_USER_SCHEMA]["manager"]["value"].clone()), (200, json!(manager_id)));
    measure("PUT of a report", &counter);

    println!("DynamoDB calls per Okta operation:");
    for (operation, calls) in &measured {
        println!("  {operation:32} {calls:?}");
    }
    let calls = |op: &str| measured[op].clone();
    let one = |name: &str| BTreeMap::from([(name.to_string(), 1u64)]);
    assert_eq!(calls("get"), one("BatchGetItem"));
    assert_eq!(calls("lookup (userName eq)"), one("BatchGetItem"));
    assert_eq!(calls("lookup, found"), one("BatchGetItem"));
    assert_eq!(calls("create, no manager"), one("TransactWriteItems"));
    let two = BTreeMap::from([("BatchGetItem".to_string(), 1u64), ("TransactWriteItems".to_string(), 1u64)]);
    assert_eq!(calls("create"), one("TransactWriteItems"));
    assert_eq!(calls("create a report"), one("TransactWriteItems"));
    assert_eq!(calls("PUT resend, links the manager"), two);
    assert_eq!(calls("PUT resend, unchanged"), one("BatchGetItem"));
    assert_eq!(calls("PUT of a report"), two);
    assert_eq!(calls("update (PUT)"), two);
    assert_eq!(calls("deactivate (PATCH)"), two);
    assert_eq!(calls("deactivate again (no change)"), one("BatchGetItem"));
    assert_eq!(calls("delete"), two);
}
