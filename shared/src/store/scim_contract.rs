//! The SCIM contract: protocol behaviour that depends on the store (filters evaluated over the directory, PATCH,
//! ETags and preconditions, paging, sorting), checked through [`ScimService`] over each store implementation.
//!
//! Use [`crate::scim_contract_tests!`] to instantiate one `#[tokio::test]` per case.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the report

use super::Store;
use super::contract::new_tenant_with_token;
use crate::service::{ScimRequest, ScimResponse, ScimService};
use http::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Generates one `#[tokio::test]` per SCIM contract case; `$make` is an async expression yielding
/// `Arc<dyn Store>`.
#[macro_export]
macro_rules! scim_contract_tests {
    ($make:expr) => {
        $crate::scim_contract_tests!(@cases $make;
            filters_select_exactly_the_matching_users,
            patch_applies_entirely_or_not_at_all,
            etags_and_preconditions,
            index_paging_walks_every_user_once,
            sorting_and_partial_representations,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let store = $make.await;
                $crate::store::scim_contract::$case(store).await;
            }
        )+
    };
}

const BASE: &str = "https://fd.example.com/scim/v2";

/// A directory with a key, served by a [`ScimService`] over the store.
struct Client {
    service: ScimService,
    authorization: String,
}

impl Client {
    async fn new(store: Arc<dyn Store>, name: &str) -> Self {
        let pepper = super::contract::pepper();
        let (_, token) = new_tenant_with_token(&*store, name).await;
        Self { service: ScimService::new(store, pepper), authorization: format!("Bearer {token}") }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> ScimResponse {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
        self.service
            .handle(ScimRequest {
                method,
                path,
                query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                authorization: Some(&self.authorization),
                content_type: (!body.is_empty()).then_some("application/scim+json"),
                if_match: header("If-Match"),
                if_none_match: header("If-None-Match"),
                body: body.as_bytes(),
                base_url: BASE.to_string(),
            })
            .await
            .parsed()
    }

    async fn create(&self, user: Value) -> Value {
        let response = self.send(Method::POST, "/Users", &[], Some(user), &[]).await;
        assert_eq!(response.status, 201, "{:?}", response.body);
        response.body.unwrap()
    }

    async fn list(&self, query: &[(&str, &str)]) -> Value {
        let response = self.send(Method::GET, "/Users", query, None, &[]).await;
        assert_eq!(response.status, 200, "{query:?}: {:?}", response.body);
        response.body.unwrap()
    }

    async fn user_names(&self, query: &[(&str, &str)]) -> Vec<String> {
        let body = self.list(query).await;
        body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_string()).collect()
    }
}

/// Users as Okta and Entra provision them: a spread of attribute values to filter and sort on.
fn people() -> Vec<Value> {
    let rows = [
        ("ada@example.com", "Ada", "Lovelace", "Analytics", "work", true, "Analyst"),
        ("grace@example.com", "Grace", "Hopper", "Engineering", "work", true, "Rear Admiral"),
        ("alan@example.org", "Alan", "Turing", "Analytics", "home", false, "Researcher"),
        ("edsger@example.nl", "Edsger", "Dijkstra", "Engineering", "work", true, "Professor"),
        ("barbara@example.com", "Barbara", "Liskov", "Research", "other", true, "Professor"),
    ];
    rows.iter()
        .map(|(user_name, given, family, department, email_type, active, title)| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
                "userName": user_name,
                "externalId": format!("00u-{given}"),
                "name": {"givenName": given, "familyName": family},
                "displayName": format!("{given} {family}"),
                "title": title,
                "emails": [{"value": user_name, "type": email_type, "primary": true}],
                "active": active,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": department}
            })
        })
        .collect()
}

async fn populated(store: Arc<dyn Store>, name: &str) -> Client {
    let client = Client::new(store, name).await;
    for person in people() {
        client.create(person).await;
    }
    client
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

pub async fn filters_select_exactly_the_matching_users(store: Arc<dyn Store>) {
    let client = populated(store, "SCIM contract filters").await;
    let cases: &[(&str, &[&str])] = &[
        (r#"userName eq "ADA@example.com""#, &["ada@example.com"]),
        (r#"externalId eq "00u-Grace""#, &["grace@example.com"]),
        (r#"name.familyName sw "l""#, &["ada@example.com", "barbara@example.com"]),
        (r#"title co "prof" and active eq true"#, &["edsger@example.nl", "barbara@example.com"]),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Analytics""#,
            &["ada@example.com", "alan@example.org"],
        ),
        (r#"emails[type eq "work" and value ew ".com"]"#, &["ada@example.com", "grace@example.com"]),
        (r#"not (active eq true) or userName ew ".nl""#, &["alan@example.org", "edsger@example.nl"]),
        (r#"nickName pr"#, &[]),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z""#,
            &["ada@example.com", "grace@example.com", "alan@example.org", "edsger@example.nl", "barbara@example.com"],
        ),
    ];
    for (filter, expected) in cases {
        let found: BTreeSet<String> = client.user_names(&[("filter", filter)]).await.into_iter().collect();
        assert_eq!(found, set(expected), "{filter}");
        let body = client.list(&[("filter", filter), ("count", "0")]).await;
        assert_eq!(body["totalResults"], json!(expected.len()), "{filter} count=0");
    }
    for bad in ["userName eq", "nosuch eq 1", "title gt true", "(active eq true"] {
        let response = client.send(Method::GET, "/Users", &[("filter", bad)], None, &[]).await;
        assert_eq!(response.status, 400, "{bad}");
        assert_eq!(response.body.unwrap()["scimType"], "invalidFilter", "{bad}");
    }
}

pub async fn patch_applies_entirely_or_not_at_all(store: Arc<dyn Store>) {
    let client = Client::new(store, "SCIM contract PATCH").await;
    let created = client.create(people().remove(0)).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    // Microsoft Entra ID's shapes.
    let entra = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.lovelace@example.com"},
            {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "London"},
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m-1"}
        ]
    });
    let patched = client.send(Method::PATCH, &path, &[], Some(entra), &[]).await;
    assert_eq!(patched.status, 200, "{:?}", patched.body);
    let read = client.send(Method::GET, &path, &[], None, &[]).await.body.unwrap();
    assert_eq!(read["emails"][0]["value"], "ada.lovelace@example.com");
    assert_eq!(read["addresses"][0], json!({"type": "work", "locality": "London"}));
    assert_eq!(read["active"], false);
    assert_eq!(read["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"], "m-1");
    // A manager set by id with its URL, as generic clients send it, is kept as sent.
    let by_reference = json!({"value": "m-2", "$ref": format!("{BASE}/Users/m-2"), "displayName": "Nobody Here"});
    let set_manager = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": by_reference}]});
    let patched = client.send(Method::PATCH, &path, &[], Some(set_manager), &[]).await;
    assert_eq!(patched.status, 200);
    assert_eq!(
        patched.body.unwrap()["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"],
        by_reference
    );

    // A failing second operation leaves the stored user untouched.
    let before = client.send(Method::GET, &path, &[], None, &[]).await;
    let failing = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "title", "value": "Countess"},
            {"op": "replace", "path": "emails[value eq \"nobody@example.com\"].type", "value": "home"}
        ]
    });
    let refused = client.send(Method::PATCH, &path, &[], Some(failing), &[]).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.body.unwrap()["scimType"], "noTarget");
    let after = client.send(Method::GET, &path, &[], None, &[]).await;
    assert_eq!(after.etag, before.etag);
    assert_eq!(after.body, before.body);
}

pub async fn etags_and_preconditions(store: Arc<dyn Store>) {
    let client = Client::new(store, "SCIM contract ETags").await;
    let created = client.create(people().remove(1)).await;
    let path = format!("/Users/{}", created["id"].as_str().unwrap());
    let v1 = created["meta"]["version"].as_str().unwrap().to_string();

    let unchanged = client.send(Method::GET, &path, &[], None, &[("If-None-Match", &v1)]).await;
    assert_eq!((unchanged.status, unchanged.body.is_none()), (304, true));
    assert_eq!(unchanged.etag.as_deref(), Some(v1.as_str()));

    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let patched = client.send(Method::PATCH, &path, &[], Some(deactivate.clone()), &[("If-Match", &v1)]).await;
    assert_eq!(patched.status, 200);
    let v2 = patched.etag.unwrap();
    assert_ne!(v2, v1);

    let stale = client.send(Method::PATCH, &path, &[], Some(deactivate), &[("If-Match", &v1)]).await;
    assert_eq!(stale.status, 412);
    let mut replacement = people().remove(1);
    replacement["title"] = json!("Commodore");
    let stale_put = client.send(Method::PUT, &path, &[], Some(replacement.clone()), &[("If-Match", &v1)]).await;
    assert_eq!(stale_put.status, 412);
    let put = client.send(Method::PUT, &path, &[], Some(replacement), &[("If-Match", &v2)]).await;
    assert_eq!(put.status, 200);
    let changed = client.send(Method::GET, &path, &[], None, &[("If-None-Match", &v1)]).await;
    assert_eq!(changed.status, 200);
    assert_eq!(changed.body.unwrap()["title"], "Commodore");
    let stale_delete = client.send(Method::DELETE, &path, &[], None, &[("If-Match", &v2)]).await;
    assert_eq!(stale_delete.status, 412);
    assert_eq!(client.send(Method::DELETE, &path, &[], None, &[("If-Match", "*")]).await.status, 204);
    assert_eq!(client.send(Method::GET, &path, &[], None, &[]).await.status, 404);
}

pub async fn index_paging_walks_every_user_once(store: Arc<dyn Store>) {
    let client = Client::new(store, "SCIM contract paging").await;
    let mut expected = BTreeSet::new();
    for i in 0..11 {
        let mut user = people().remove(i % 5);
        let user_name = format!("walker{i:02}@example.com");
        user["userName"] = json!(user_name);
        expected.insert(user_name);
        client.create(user).await;
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let start_text = start.to_string();
        let page = client.list(&[("startIndex", start_text.as_str()), ("count", "4")]).await;
        assert_eq!(page["totalResults"], 11);
        assert_eq!(page["startIndex"], start);
        let resources = page["Resources"].as_array().cloned().unwrap_or_default();
        assert_eq!(page["itemsPerPage"], json!(resources.len()));
        if resources.is_empty() {
            break;
        }
        seen.extend(resources.iter().map(|u| u["userName"].as_str().unwrap().to_string()));
        start += resources.len();
    }
    assert_eq!(seen.len(), 11, "no user twice: {seen:?}");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), expected);
}

pub async fn sorting_and_partial_representations(store: Arc<dyn Store>) {
    let client = populated(store, "SCIM contract sorting").await;
    let ascending = client.user_names(&[("sortBy", "name.familyName")]).await;
    assert_eq!(
        ascending,
        ["edsger@example.nl", "grace@example.com", "barbara@example.com", "ada@example.com", "alan@example.org"]
    );
    let descending = client.user_names(&[("sortBy", "name.familyName"), ("sortOrder", "descending")]).await;
    assert_eq!(descending, ascending.iter().rev().cloned().collect::<Vec<_>>());
    let paged = client.user_names(&[("sortBy", "name.familyName"), ("startIndex", "2"), ("count", "2")]).await;
    assert_eq!(paged, ascending[1..3]);

    let partial =
        client.list(&[("attributes", "userName,name.givenName"), ("filter", r#"userName eq "ada@example.com""#)]).await;
    let ada = &partial["Resources"][0];
    assert_eq!(ada["name"], json!({"givenName": "Ada"}));
    assert!(ada.get("emails").is_none() && ada.get("title").is_none());
    assert!(ada.get("id").is_some(), "id is always returned");
}
