//! Unit tests of the SCIM operations over an in-memory SQLite store.

use super::*;
use crate::store::contract::new_tenant;
use crate::store::sqlite::SqliteStore;
use serde_json::json;

struct Fixture {
    service: ScimService,
    store: Arc<dyn crate::store::Store>,
    token: String,
}

async fn fixture() -> Fixture {
    let store: Arc<dyn crate::store::Store> = Arc::new(SqliteStore::in_memory().unwrap());
    let pepper = Pepper::new(vec![3; 32]).unwrap();
    let (dir, _) = new_tenant(&*store, "Service").await;
    let issued = crate::auth::issue_key(&dir.id, "test", &pepper);
    store.create_key(&issued.record).await.unwrap();
    Fixture { service: ScimService::new(store.clone(), pepper), store, token: format!("Bearer {}", issued.token) }
}

impl Fixture {
    async fn call(&self, method: Method, path: &str, body: Option<Value>, if_match: Option<&str>) -> ScimResponse {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.service
            .handle(ScimRequest {
                method,
                path,
                query: Vec::new(),
                authorization: Some(&self.token),
                content_type: Some("application/scim+json"),
                if_match,
                if_none_match: None,
                body: body.as_bytes(),
                base_url: "https://example.com/scim/v2".into(),
            })
            .await
            .parsed()
    }
}

impl Fixture {
    /// An authenticated request with query parameters and a body.
    fn request<'a>(&'a self, method: Method, path: &'a str, query: &[(&str, &str)], body: &'a str) -> ScimRequest<'a> {
        ScimRequest {
            method,
            path,
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            authorization: Some(&self.token),
            content_type: Some("application/scim+json"),
            if_match: None,
            if_none_match: None,
            body: body.as_bytes(),
            base_url: "https://example.com/scim/v2".into(),
        }
    }

    /// An authenticated request with a raw body (which need not be valid JSON).
    async fn raw(&self, method: Method, path: &str, body: &str) -> ScimResponse {
        self.service.handle(self.request(method, path, &[], body)).await.parsed()
    }

    async fn send(&self, method: Method, path: &str, query: &[(&str, &str)], body: Option<Value>) -> ScimResponse {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        self.service.handle(self.request(method, path, query, &body)).await.parsed()
    }

    /// Creates users from `(userName, extra attributes)`; returns their ids.
    async fn create_users(&self, users: Vec<(&str, Value)>) -> Vec<String> {
        let mut ids = Vec::new();
        for (name, extra) in users {
            let mut body = user(extra);
            body["userName"] = json!(name);
            let created = self.call(Method::POST, "/Users", Some(body), None).await;
            assert_eq!(created.status, 201, "{:?}", created.body);
            ids.push(created.body.unwrap()["id"].as_str().unwrap().to_string());
        }
        ids
    }
}

/// A 400 SCIM error with `scim_type`.
fn assert_bad_request(response: &ScimResponse, scim_type: ScimType) {
    assert_eq!(response.status, 400, "{:?}", response.body);
    let body = response.body.as_ref().unwrap();
    assert_eq!((body["status"].as_str(), body["scimType"].as_str()), (Some("400"), Some(scim_type.as_str())));
}

fn keys(resource: &Value) -> Vec<&str> {
    resource.as_object().unwrap().keys().map(String::as_str).collect()
}

fn user_names(list: &ScimResponse) -> Vec<&str> {
    let body = list.body.as_ref().unwrap();
    body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap_or("-")).collect()
}

fn user(extra: Value) -> Value {
    let mut body = json!({"schemas": [crate::scim::schema::USER_SCHEMA], "userName": "ada", "displayName": "Ada"});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body
}

#[tokio::test]
async fn users_take_the_store_s_ids_and_list_in_creation_order() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for name in ["zoe", "adam", "mia"] {
        ids.extend(f.create_users(vec![(name, json!({}))]).await);
        // Across a millisecond: the SQLite store's ids order by creation time, not within a millisecond.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    for id in &ids {
        assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version(), Some(uuid::Version::SortRand), "{id}");
    }
    let list = f.send(Method::GET, "/Users", &[], None).await;
    assert_eq!(user_names(&list), ["zoe", "adam", "mia"]);
}

#[tokio::test]
async fn if_match_guards_writes() {
    let f = fixture().await;
    let created = f.call(Method::POST, "/Users", Some(user(json!({}))), None).await;
    let id = created.body.as_ref().unwrap()["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let stale = f.call(Method::PUT, &path, Some(user(json!({"title": "x"}))), Some("W/\"7\"")).await;
    assert_eq!(stale.status, 412);
    let fresh = f.call(Method::PUT, &path, Some(user(json!({"title": "x"}))), created.etag.as_deref()).await;
    assert_eq!((fresh.status, fresh.etag.as_deref()), (200, Some("W/\"2\"")));
    assert_eq!(f.call(Method::DELETE, &path, None, Some("W/\"1\"")).await.status, 412);
    assert_eq!(f.call(Method::DELETE, &path, None, Some("*")).await.status, 204);
}

#[tokio::test]
async fn put_keeps_active_and_external_id_when_omitted() {
    let f = fixture().await;
    let created =
        f.call(Method::POST, "/Users", Some(user(json!({"active": false, "externalId": "00u1"}))), None).await;
    let id = created.body.as_ref().unwrap()["id"].as_str().unwrap().to_string();
    let put = f.call(Method::PUT, &format!("/Users/{id}"), Some(user(json!({"title": "Countess"}))), None).await;
    let body = put.body.unwrap();
    assert_eq!((body["active"].clone(), body["externalId"].clone()), (json!(false), json!("00u1")));
    assert_eq!(body["title"], "Countess");
}

#[tokio::test]
async fn patch_applies_every_operation_or_none() {
    let f = fixture().await;
    let email = json!({"emails": [{"value": "ada@example.com", "type": "work", "primary": true}]});
    let created = f.call(Method::POST, "/Users", Some(user(email)), None).await;
    let id = created.body.as_ref().unwrap()["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let patch = |ops: Value| Some(json!({"schemas": [crate::scim::schema::PATCH_OP_SCHEMA], "Operations": ops}));
    let failed = f
        .call(
            Method::PATCH,
            &path,
            patch(json!([
                {"op": "Replace", "path": "title", "value": "Countess"},
                {"op": "Replace", "path": "emails[type eq \"home\"]", "value": {"value": "ada@home.example"}},
            ])),
            None,
        )
        .await;
    assert_eq!((failed.status, failed.body.unwrap()["scimType"].clone()), (400, json!("noTarget")));
    let unchanged = f.call(Method::GET, &path, None, None).await;
    assert_eq!(unchanged.etag, created.etag);
    assert!(unchanged.body.unwrap().get("title").is_none());
    let patched = f
        .call(
            Method::PATCH,
            &path,
            patch(json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "lovelace@example.com"},
                {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "London"},
            ])),
            None,
        )
        .await;
    assert_eq!((patched.status, patched.etag.as_deref()), (200, Some("W/\"2\"")));
    let body = patched.body.unwrap();
    assert_eq!(body["emails"][0]["value"], "lovelace@example.com");
    assert_eq!(body["addresses"], json!([{"type": "work", "locality": "London"}]));
}

#[tokio::test]
async fn discovery_endpoints_are_served_to_authenticated_clients() {
    let f = fixture().await;
    let spc = f.call(Method::GET, "/ServiceProviderConfig", None, None).await;
    assert_eq!(spc.status, 200);
    assert_eq!(spc.body.unwrap()["meta"]["location"], "https://example.com/scim/v2/ServiceProviderConfig");
    let schema = f.call(Method::GET, &format!("/Schemas/{}", crate::scim::schema::USER_SCHEMA), None, None).await;
    assert_eq!((schema.status, schema.body.unwrap()["name"].clone()), (200, json!("User")));
    assert_eq!(f.call(Method::GET, "/ResourceTypes/User", None, None).await.status, 200);
    assert_eq!(f.call(Method::GET, "/Schemas/urn:nope", None, None).await.status, 404);
    assert_eq!(f.call(Method::POST, "/Schemas", None, None).await.status, 405);
    let anonymous = f
        .service
        .handle(ScimRequest {
            method: Method::GET,
            path: "/ServiceProviderConfig",
            query: Vec::new(),
            authorization: None,
            content_type: None,
            if_match: None,
            if_none_match: None,
            body: &[],
            base_url: String::new(),
        })
        .await;
    assert_eq!(anonymous.status, 401);
}

#[tokio::test]
async fn filters_without_an_index_are_evaluated_over_the_directory() {
    let f = fixture().await;
    for (name, title) in [("ada", "Countess"), ("grace", "Admiral"), ("alan", "Countess")] {
        let body = json!({"schemas": [crate::scim::schema::USER_SCHEMA], "userName": name, "displayName": name,
                          "title": title});
        assert_eq!(f.call(Method::POST, "/Users", Some(body), None).await.status, 201);
    }
    let list = |filter: &str| {
        let query = vec![("filter".to_string(), filter.to_string()), ("count".to_string(), "1".to_string())];
        ScimRequest {
            method: Method::GET,
            path: "/Users",
            query,
            authorization: Some(&f.token),
            content_type: None,
            if_match: None,
            if_none_match: None,
            body: &[],
            base_url: "https://example.com/scim/v2".into(),
        }
    };
    let body = f.service.handle(list(r#"title eq "countess""#)).await.parsed().body.unwrap();
    assert_eq!((body["totalResults"].clone(), body["itemsPerPage"].clone()), (json!(2), json!(1)));
    assert_eq!(body["Resources"][0]["title"], "Countess");
    assert!(
        body["Resources"][0]["meta"]["location"].as_str().unwrap().starts_with("https://example.com/scim/v2/Users/")
    );
    let body = f.service.handle(list(r#"title eq "Admiral" or userName sw "AL""#)).await.parsed().body.unwrap();
    assert_eq!(body["totalResults"], 2);
}

#[tokio::test]
async fn attributes_shape_every_response_that_returns_a_user() {
    let f = fixture().await;
    let enterprise = crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    let mut body = user(json!({"title": "Countess", "name": {"givenName": "Ada", "familyName": "Lovelace"},
                               enterprise: {"department": "Analytics"}}));
    body["schemas"] = json!([crate::scim::schema::USER_SCHEMA, enterprise]);
    let created = f.send(Method::POST, "/Users", &[("attributes", "userName")], Some(body.clone())).await;
    assert_eq!(created.status, 201);
    let id = created.body.as_ref().unwrap()["id"].as_str().unwrap().to_string();
    assert_eq!(keys(created.body.as_ref().unwrap()), ["schemas", "id", "userName"]);
    assert_eq!(created.body.as_ref().unwrap()["schemas"], json!([crate::scim::schema::USER_SCHEMA]));
    assert_eq!((created.etag.as_deref(), created.location.is_some()), (Some("W/\"1\""), true));
    let path = format!("/Users/{id}");

    let department = format!("{enterprise}:department");
    let got = f.send(Method::GET, &path, &[("attributes", &format!("NAME.familyName,{department}"))], None).await;
    let got = got.body.unwrap();
    assert_eq!(keys(&got), ["schemas", "id", "name", enterprise]);
    assert_eq!(
        (got["name"].clone(), got[enterprise].clone()),
        (json!({"familyName": "Lovelace"}), json!({"department": "Analytics"}))
    );
    let got = f.send(Method::GET, &path, &[("excludedAttributes", &format!("meta,id,name,{enterprise}"))], None).await;
    assert_eq!(keys(got.body.as_ref().unwrap()), ["schemas", "id", "userName", "displayName", "title"]);

    let put = f.send(Method::PUT, &path, &[("attributes", "title,meta.version")], Some(body.clone())).await;
    assert_eq!(put.status, 200);
    assert_eq!(
        put.body.unwrap(),
        json!({"schemas": [crate::scim::schema::USER_SCHEMA], "id": id, "title": "Countess", "meta": {"version": "W/\"1\""}})
    );
    let deactivate = json!({"schemas": [crate::scim::schema::PATCH_OP_SCHEMA],
                            "Operations": [{"op": "replace", "value": {"active": false}}]});
    let patched = f.send(Method::PATCH, &path, &[("attributes", "active")], Some(deactivate)).await;
    assert_eq!((patched.status, patched.etag.as_deref()), (200, Some("W/\"2\"")));
    assert_eq!(keys(patched.body.as_ref().unwrap()), ["schemas", "id", "active"]);

    f.create_users(vec![("grace", json!({"title": "Admiral"}))]).await;
    let list = f.send(Method::GET, "/Users", &[("attributes", "userName")], None).await;
    let resources = list.body.as_ref().unwrap()["Resources"].as_array().unwrap().clone();
    assert_eq!(resources.len(), 2);
    assert!(resources.iter().all(|r| keys(r) == ["schemas", "id", "userName"]));
    // The filter sees the whole user; the projection applies to what is returned.
    let list =
        f.send(Method::GET, "/Users", &[("filter", "title eq \"admiral\""), ("attributes", "displayName")], None).await;
    let body = list.body.unwrap();
    assert_eq!(
        (body["totalResults"].clone(), keys(&body["Resources"][0])),
        (json!(1), vec!["schemas", "id", "displayName"])
    );
    let list = f
        .send(Method::GET, "/Users", &[("filter", "userName eq \"ADA\""), ("excludedAttributes", "title")], None)
        .await;
    let body = list.body.unwrap();
    assert_eq!((body["totalResults"].clone(), body["Resources"][0].get("title")), (json!(1), None));
    // Unknown attributes are ignored.
    let got = f.send(Method::GET, &path, &[("attributes", "nonexistent")], None).await;
    assert_eq!((got.status, keys(got.body.as_ref().unwrap())), (200, vec!["schemas", "id"]));
}

#[tokio::test]
async fn malformed_attribute_parameters_are_refused_before_anything_is_done() {
    let f = fixture().await;
    let id = f.create_users(vec![("ada", json!({}))]).await.remove(0);
    let path = format!("/Users/{id}");
    let both = [("attributes", "userName"), ("excludedAttributes", "title")];
    let malformed = [("attributes", "emails[type eq \"work\"]")];
    for query in [&both[..], &malformed[..]] {
        for (method, path, body) in [
            (Method::GET, "/Users", None),
            (Method::GET, path.as_str(), None),
            (Method::POST, "/Users", Some(user(json!({"userName": "grace"})))),
            (Method::PUT, path.as_str(), Some(user(json!({"title": "x"})))),
        ] {
            let response = f.send(method.clone(), path, query, body).await;
            assert_bad_request(&response, ScimType::InvalidValue);
        }
    }
    let list = f.send(Method::GET, "/Users", &[], None).await;
    assert_eq!(user_names(&list), ["ada"]);
    assert_eq!(list.body.unwrap()["Resources"][0]["meta"]["version"], "W/\"1\"");
}

#[tokio::test]
async fn sort_by_orders_the_whole_result_before_paging() {
    let f = fixture().await;
    f.create_users(vec![
        (
            "carol",
            json!({"name": {"familyName": "Zeta"}, "title": "Engineer",
                         "emails": [{"value": "b@x.org"}, {"value": "z@x.org", "primary": true}]}),
        ),
        ("Alice", json!({"title": "Engineer", "emails": [{"value": "y@x.org"}]})),
        ("bob", json!({"name": {"familyName": "alpha"}, "title": "Engineer"})),
        ("dave", json!({"name": {"familyName": "Mu"}, "title": "Manager"})),
    ])
    .await;
    let list = |query: Vec<(&'static str, &'static str)>| {
        let f = &f;
        async move { f.send(Method::GET, "/Users", &query, None).await }
    };
    assert_eq!(user_names(&list(vec![("sortBy", "userName")]).await), ["Alice", "bob", "carol", "dave"]);
    // Missing values last when ascending, first when descending; paging applies to the sorted set.
    assert_eq!(user_names(&list(vec![("sortBy", "name.familyName")]).await), ["bob", "dave", "carol", "Alice"]);
    let page =
        list(vec![("sortBy", "name.familyName"), ("sortOrder", "descending"), ("startIndex", "2"), ("count", "2")])
            .await;
    assert_eq!(user_names(&page), ["carol", "dave"]);
    let body = page.body.unwrap();
    assert_eq!(
        (body["totalResults"].clone(), body["startIndex"].clone(), body["itemsPerPage"].clone()),
        (json!(4), json!(2), json!(2))
    );
    // With a filter (evaluated over the directory) and with an index lookup.
    let engineers =
        list(vec![("filter", "title eq \"engineer\""), ("sortBy", "USERNAME"), ("sortOrder", "DESCENDING")]).await;
    assert_eq!(user_names(&engineers), ["carol", "bob", "Alice"]);
    assert_eq!(user_names(&list(vec![("filter", "userName eq \"bob\""), ("sortBy", "title")]).await), ["bob"]);
    // Multi-valued attributes sort by their primary (else first) value.
    // Users without a value keep the store's order (by id) among themselves.
    assert_eq!(user_names(&list(vec![("sortBy", "emails")]).await)[..2], ["Alice", "carol"]);
    assert_eq!(
        user_names(&list(vec![("sortBy", "emails"), ("sortOrder", "descending")]).await)[2..],
        ["carol", "Alice"]
    );
    let count_only = list(vec![("sortBy", "userName"), ("count", "0")]).await.body.unwrap();
    assert_eq!((count_only["totalResults"].clone(), count_only["itemsPerPage"].clone()), (json!(4), json!(0)));
    // Sorting and projection together: the sort sees the whole user.
    let sorted = list(vec![("sortBy", "name.familyName"), ("attributes", "userName")]).await;
    assert_eq!(user_names(&sorted), ["bob", "dave", "carol", "Alice"]);
    assert!(
        sorted.body.unwrap()["Resources"].as_array().unwrap().iter().all(|u| keys(u) == ["schemas", "id", "userName"])
    );

    for query in [
        vec![("sortBy", "nonexistent")],
        vec![("sortBy", "name")],
        vec![("sortBy", "userName"), ("sortOrder", "upward")],
    ] {
        assert_bad_request(&list(query).await, ScimType::InvalidValue);
    }
    let spc = f.send(Method::GET, "/ServiceProviderConfig", &[], None).await.body.unwrap();
    assert_eq!(spc["sort"]["supported"], true);
}

#[tokio::test]
async fn search_requests_query_users() {
    let f = fixture().await;
    f.create_users(vec![
        ("ada", json!({"title": "Countess"})),
        ("grace", json!({"title": "Admiral"})),
        ("alan", json!({"title": "Countess"})),
    ])
    .await;
    let search = json!({
        "schemas": [crate::scim::schema::SEARCH_REQUEST_SCHEMA],
        "filter": "title eq \"Countess\"",
        "attributes": ["userName", "title"],
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 10
    });
    for path in ["/Users/.search", "/.search", "/Users/.search/"] {
        let found = f.send(Method::POST, path, &[("attributes", "id")], Some(search.clone())).await;
        assert_eq!(found.status, 200, "{path}");
        assert_eq!(user_names(&found), ["alan", "ada"]);
        let body = found.body.unwrap();
        assert_eq!(body["schemas"][0], crate::scim::schema::LIST_RESPONSE_SCHEMA);
        assert_eq!(keys(&body["Resources"][0]), ["schemas", "id", "userName", "title"]);
    }
    let everyone = json!({"schemas": [crate::scim::schema::SEARCH_REQUEST_SCHEMA]});
    let found = f.send(Method::POST, "/Users/.search", &[], Some(everyone)).await;
    assert_eq!(found.body.unwrap()["totalResults"], 3);

    let schema = crate::scim::schema::SEARCH_REQUEST_SCHEMA;
    let cases = [
        (json!({"filter": "title pr"}), ScimType::InvalidSyntax),
        (json!({"schemas": [schema], "count": "ten"}), ScimType::InvalidSyntax),
        (json!({"schemas": [schema], "filter": "title xx \"a\""}), ScimType::InvalidFilter),
        (json!({"schemas": [schema], "sortBy": "nonexistent"}), ScimType::InvalidValue),
        (json!({"schemas": [schema], "attributes": ["id"], "excludedAttributes": ["title"]}), ScimType::InvalidValue),
        (user(json!({"userName": "nobody"})), ScimType::InvalidSyntax),
    ];
    for (body, scim_type) in cases {
        assert_bad_request(&f.send(Method::POST, "/Users/.search", &[], Some(body)).await, scim_type);
    }
    let not_json = f.service.handle(f.request(Method::POST, "/Users/.search", &[], "{")).await;
    assert_bad_request(&not_json, ScimType::InvalidSyntax);
    assert_eq!(f.send(Method::GET, "/Users/.search", &[], None).await.status, 405);
    assert_eq!(f.send(Method::PUT, "/.search", &[], None).await.status, 405);
    // A search never creates a user.
    let list = f.send(Method::GET, "/Users", &[], None).await;
    assert_eq!(list.body.unwrap()["totalResults"], 3);
}

#[tokio::test]
async fn if_none_match_answers_not_modified() {
    let f = fixture().await;
    let id = f.create_users(vec![("ada", json!({}))]).await.remove(0);
    let path = format!("/Users/{id}");
    let get = |if_none_match: Option<&'static str>| {
        let (f, path) = (&f, &path);
        async move {
            let mut request = f.request(Method::GET, path, &[], "");
            request.if_none_match = if_none_match;
            f.service.handle(request).await.parsed()
        }
    };
    for current in ["W/\"1\"", "\"1\"", "*", "W/\"7\", W/\"1\""] {
        let response = get(Some(current)).await;
        assert_eq!(
            (response.status, response.body.is_none(), response.etag.as_deref()),
            (304, true, Some("W/\"1\"")),
            "{current}"
        );
        let rendered = crate::http::render(response);
        assert_eq!(rendered.status(), 304);
        assert!(rendered.headers().get(http::header::CONTENT_TYPE).is_none());
        assert_eq!(rendered.headers()[http::header::ETAG], "W/\"1\"");
    }
    let stale = get(Some("W/\"7\"")).await;
    assert_eq!((stale.status, stale.body.unwrap()["userName"].clone()), (200, json!("ada")));
    assert_eq!(f.call(Method::PUT, &path, Some(user(json!({"title": "x"}))), None).await.status, 200);
    assert_eq!(get(Some("W/\"1\"")).await.status, 200);
    assert_eq!(get(Some("W/\"2\"")).await.status, 304);
    let mut request = f.request(Method::GET, "/Users/missing", &[], "");
    request.if_none_match = Some("*");
    assert_eq!(f.service.handle(request).await.status, 404);
}

/// Follows `nextCursor` from an empty cursor; returns the userNames of every page and the last page's body.
async fn cursor_walk(f: &Fixture, query: &[(&str, &str)]) -> (Vec<Vec<String>>, Value) {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let mut params = query.to_vec();
        params.push(("cursor", &cursor));
        let response = f.send(Method::GET, "/Users", &params, None).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        pages.push(user_names(&response).into_iter().map(String::from).collect());
        let body = response.body.unwrap();
        assert!(body.get("startIndex").is_none());
        match body.get("nextCursor").and_then(Value::as_str) {
            Some(next) => {
                assert!(next.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{next}");
                cursor = next.to_string();
            }
            None => return (pages, body),
        }
        assert!(pages.len() < 100, "the walk does not end");
    }
}

fn directory_of(token: &str) -> String {
    token.trim_start_matches("Bearer fd_").split('_').next().unwrap().to_string()
}

#[tokio::test]
async fn cursor_paging_walks_listing_filters_and_sorts() {
    let f = fixture().await;
    let (pages, last) = cursor_walk(&f, &[("count", "2")]).await;
    assert_eq!((pages, last["totalResults"].clone()), (vec![Vec::<String>::new()], json!(0)));

    let names = ["u0", "u1", "u2", "u3", "u4", "u5", "u6"];
    let ids = f
        .create_users(
            names.iter().map(|n| (*n, json!({"title": if n < &"u4" { "Engineer" } else { "Admiral" }}))).collect(),
        )
        .await;
    let mut by_id: Vec<(String, &str)> = ids.into_iter().zip(names).collect();
    by_id.sort();
    let in_id_order: Vec<String> = by_id.iter().map(|(_, n)| n.to_string()).collect();

    // Plain listing: pages of 3 by id, every user once, nextCursor absent on the last page only.
    let (pages, last) = cursor_walk(&f, &[("count", "3")]).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [3, 3, 1]);
    assert_eq!(pages.concat(), in_id_order);
    assert_eq!((last["totalResults"].clone(), last["itemsPerPage"].clone()), (json!(7), json!(1)));
    // An exact multiple of count: the last full page has no nextCursor.
    let (pages, _) = cursor_walk(&f, &[("count", "7")]).await;
    assert_eq!(pages.len(), 1);

    // A filter evaluated over the directory, in id order.
    let engineers: Vec<String> = in_id_order.iter().filter(|n| n.as_str() < "u4").cloned().collect();
    let (pages, last) = cursor_walk(&f, &[("filter", "title eq \"engineer\""), ("count", "3")]).await;
    assert_eq!((pages.concat(), last["totalResults"].clone()), (engineers, json!(4)));
    // An index lookup.
    let (pages, _) = cursor_walk(&f, &[("filter", "userName eq \"U3\""), ("count", "3")]).await;
    assert_eq!(pages, vec![vec!["u3".to_string()]]);
    // Sorted, with the projection applied to the page.
    let (pages, _) = cursor_walk(
        &f,
        &[("sortBy", "userName"), ("sortOrder", "descending"), ("count", "3"), ("attributes", "userName")],
    )
    .await;
    assert_eq!(pages.concat(), ["u6", "u5", "u4", "u3", "u2", "u1", "u0"]);

    // count=0: the total alone, no page and no cursor.
    for query in [vec![("cursor", ""), ("count", "0")], vec![("cursor", ""), ("count", "0"), ("sortBy", "userName")]] {
        let body = f.send(Method::GET, "/Users", &query, None).await.body.unwrap();
        assert_eq!((body["totalResults"].clone(), body["itemsPerPage"].clone()), (json!(7), json!(0)));
        assert!(body.get("nextCursor").is_none() && body["Resources"] == json!([]));
    }

    // POST .search takes the cursor in the body.
    let search = |cursor: &str| {
        json!({"schemas": [crate::scim::schema::SEARCH_REQUEST_SCHEMA], "cursor": cursor, "count": 4,
               "filter": "title pr"})
    };
    let first = f.send(Method::POST, "/Users/.search", &[], Some(search(""))).await.body.unwrap();
    let next = first["nextCursor"].as_str().unwrap();
    let second = f.send(Method::POST, "/Users/.search", &[], Some(search(next))).await;
    assert_eq!(user_names(&second).len(), 3);
    assert!(second.body.unwrap().get("nextCursor").is_none());
}

#[tokio::test]
async fn cursor_paging_refuses_bad_cursors() {
    let f = fixture().await;
    f.create_users(vec![("ada", json!({})), ("grace", json!({})), ("alan", json!({}))]).await;
    let first = f.send(Method::GET, "/Users", &[("cursor", ""), ("count", "1")], None).await.body.unwrap();
    let cursor = first["nextCursor"].as_str().unwrap().to_string();
    let get = |query: Vec<(&'static str, String)>| {
        let f = &f;
        async move {
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            f.send(Method::GET, "/Users", &query, None).await
        }
    };
    assert_eq!(get(vec![("cursor", cursor.clone()), ("count", "1".into())]).await.status, 200);

    let mut tampered = cursor.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for bad in [tampered, "forged".into(), format!("{cursor}x"), "%%%".into()] {
        assert_bad_request(&get(vec![("cursor", bad.clone())]).await, ScimType::InvalidCursor);
    }
    // A cursor is bound to its query: another filter or sort invalidates it.
    assert_bad_request(
        &get(vec![("cursor", cursor.clone()), ("filter", "userName pr".into())]).await,
        ScimType::InvalidCursor,
    );
    assert_bad_request(
        &get(vec![("cursor", cursor.clone()), ("sortBy", "userName".into())]).await,
        ScimType::InvalidCursor,
    );
    // A cursor of a sorted query does not page an unsorted one.
    let sorted = get(vec![("cursor", String::new()), ("count", "1".into()), ("sortBy", "userName".into())]).await;
    let sorted = sorted.body.unwrap()["nextCursor"].as_str().unwrap().to_string();
    assert_bad_request(&get(vec![("cursor", sorted)]).await, ScimType::InvalidCursor);

    // Another directory's cursor, presented with its own valid key, is invalid there.
    let other_dir = crate::store::Directory {
        id: crate::auth::new_id(),
        name: "Other".into(),
        created: crate::time::now_rfc3339(),
        company: None,
    };
    f.store.create_directory(&other_dir).await.unwrap();
    let issued = crate::auth::issue_key(&other_dir.id, "other", &Pepper::new(vec![3; 32]).unwrap());
    f.store.create_key(&issued.record).await.unwrap();
    let other = Fixture {
        service: ScimService::new(f.store.clone(), Pepper::new(vec![3; 32]).unwrap()),
        store: f.store.clone(),
        token: format!("Bearer {}", issued.token),
    };
    let stolen = other.send(Method::GET, "/Users", &[("cursor", &cursor)], None).await;
    assert_bad_request(&stolen, ScimType::InvalidCursor);

    // An authentic cursor past its time.
    let key = CursorKey::derive(&Pepper::new(vec![3; 32]).unwrap());
    let scope = CursorScope::new(&directory_of(&f.token), None, None);
    let expired = cursor::seal(&key, &scope, &Position::After("a".into()), crate::time::now_unix() - 1);
    assert_bad_request(&get(vec![("cursor", expired)]).await, ScimType::ExpiredCursor);
    let valid = cursor::seal(&key, &scope, &Position::After(String::new() + "0"), crate::time::now_unix() + 60);
    assert_eq!(user_names(&get(vec![("cursor", valid)]).await).len(), 3);

    // cursor and startIndex together.
    for query in [
        vec![("cursor", String::new()), ("startIndex", "1".into())],
        vec![("startIndex", "2".into()), ("cursor", cursor.clone())],
    ] {
        assert_bad_request(&get(query).await, ScimType::InvalidValue);
    }
    let spc = f.send(Method::GET, "/ServiceProviderConfig", &[], None).await.body.unwrap();
    assert_eq!((spc["pagination"]["cursor"].clone(), spc["pagination"]["index"].clone()), (json!(true), json!(true)));
}

#[tokio::test]
async fn protocol_errors_are_scim_errors() {
    let f = fixture().await;
    let cases =
        [(Method::GET, "/Groups", 404), (Method::POST, "/Users/abc", 405), (Method::GET, "/Users/abc/extra", 404)];
    for (method, path, status) in cases {
        let response = f.call(method.clone(), path, None, None).await;
        assert_eq!(response.status, status, "{method} {path}");
        assert_eq!(response.body.unwrap()["status"], status.to_string());
    }
    fn post<'a>(body: &'a [u8], authorization: Option<&'a str>, content_type: Option<&'a str>) -> ScimRequest<'a> {
        ScimRequest {
            method: Method::POST,
            path: "/Users",
            query: Vec::new(),
            authorization,
            content_type,
            if_match: None,
            if_none_match: None,
            body,
            base_url: String::new(),
        }
    }
    let valid = user(json!({})).to_string();
    let response = f.service.handle(post(valid.as_bytes(), Some(&f.token), Some("text/plain"))).await;
    assert_eq!(response.status, 415);
    let oversized = vec![b'x'; MAX_BODY_BYTES + 1];
    let response = f.service.handle(post(&oversized, None, None)).await;
    assert_eq!(response.status, 413);
}

// --- manager links ---

const ENTERPRISE: &str = crate::scim::schema::ENTERPRISE_USER_SCHEMA;
const USERS_URL: &str = "https://example.com/scim/v2/Users";

/// An Okta user: `displayName` and, when given, the manager's display name (all Okta sends of a manager).
fn okta(user_name: &str, display_name: &str, manager: Option<&str>) -> Value {
    let mut body = json!({"schemas": [crate::scim::schema::USER_SCHEMA, ENTERPRISE], "userName": user_name,
                          "displayName": display_name, ENTERPRISE: {"department": "Engines"}});
    if let Some(manager) = manager {
        body[ENTERPRISE]["manager"] = json!({"displayName": manager});
    }
    body
}

impl Fixture {
    /// POSTs `body`; returns the created user.
    async fn post(&self, body: Value) -> Value {
        let created = self.call(Method::POST, "/Users", Some(body), None).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        created.body.unwrap()
    }

    async fn write(&self, method: Method, id: &str, body: Value) -> ScimResponse {
        let response = self.call(method, &format!("/Users/{id}"), Some(body), None).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response
    }

    async fn manager_of(&self, id: &str) -> Value {
        let got = self.call(Method::GET, &format!("/Users/{id}"), None, None).await;
        got.body.unwrap()[ENTERPRISE]["manager"].clone()
    }

    async fn filter(&self, filter: &str) -> Vec<String> {
        let list = self.send(Method::GET, "/Users", &[("filter", filter)], None).await;
        assert_eq!(list.status, 200, "{:?}", list.body);
        let body = list.body.unwrap();
        body["Resources"].as_array().unwrap().iter().map(|u| u["userName"].as_str().unwrap().to_string()).collect()
    }
}

fn link_to(id: &str, name: &str) -> Value {
    json!({"displayName": name, "value": id, "$ref": format!("{USERS_URL}/{id}")})
}

#[tokio::test]
async fn okta_managers_are_linked_whatever_the_creation_order() {
    let f = fixture().await;
    // The report arrives first: no user has the name yet.
    let early = f.post(okta("early", "Early Report", Some("Charles Babbage"))).await;
    let early_id = early["id"].as_str().unwrap().to_string();
    assert_eq!(early[ENTERPRISE]["manager"], json!({"displayName": "Charles Babbage"}));

    let charles = f.post(okta("charles", "Charles Babbage", None)).await;
    let charles_id = charles["id"].as_str().unwrap().to_string();
    // A create writes without reading: even a report created after its manager is linked by its first PUT
    // (names compare case-insensitively).
    let late = f.post(okta("late", "Late Report", Some("charles BABBAGE"))).await;
    assert_eq!(late[ENTERPRISE]["manager"], json!({"displayName": "charles BABBAGE"}));
    assert_eq!(late[ENTERPRISE]["department"], "Engines");
    let late_id = late["id"].as_str().unwrap().to_string();
    let linked = f.write(Method::PUT, &late_id, okta("late", "Late Report", Some("charles BABBAGE"))).await;
    assert_eq!(linked.body.unwrap()[ENTERPRISE]["manager"], link_to(&charles_id, "charles BABBAGE"));
    // The early report is linked by its next PUT (Okta re-sends the user on every profile change).
    let put = f.write(Method::PUT, &early_id, okta("early", "Early Report", Some("Charles Babbage"))).await;
    assert_eq!(put.etag.as_deref(), Some("W/\"2\""));
    assert_eq!(put.body.unwrap()[ENTERPRISE]["manager"], link_to(&charles_id, "Charles Babbage"));

    // Okta's unchanged resend keeps the link and writes nothing.
    let resend = f.write(Method::PUT, &late_id, okta("late", "Late Report", Some("charles BABBAGE"))).await;
    assert_eq!(resend.etag.as_deref(), Some("W/\"2\""));
    assert_eq!(resend.body.unwrap()[ENTERPRISE]["manager"], link_to(&charles_id, "charles BABBAGE"));

    // Filters on the link.
    let by_manager = format!("{ENTERPRISE}:manager.value eq \"{charles_id}\"");
    let mut found = f.filter(&by_manager).await;
    found.sort();
    assert_eq!(found, ["early", "late"]);
    assert_eq!(f.filter(&format!("{ENTERPRISE}:manager.value pr and userName eq \"late\"")).await, ["late"]);
    assert!(f.filter(&format!("{ENTERPRISE}:manager.value eq \"{early_id}\"")).await.is_empty());
}

#[tokio::test]
async fn manager_changes_heal_on_the_reports_next_write() {
    let f = fixture().await;
    let grace = f.post(okta("grace", "Grace Hopper", None)).await["id"].as_str().unwrap().to_string();
    let report = f.post(okta("report", "A Report", Some("Grace Hopper"))).await["id"].as_str().unwrap().to_string();
    f.write(Method::PUT, &report, okta("report", "A Report", Some("Grace Hopper"))).await;
    assert_eq!(f.manager_of(&report).await["value"], grace.as_str());

    // A second Grace Hopper makes the name ambiguous: the next write keeps only the display name.
    let twin = f.post(okta("twin", "GRACE HOPPER", None)).await["id"].as_str().unwrap().to_string();
    let ambiguous = f.post(okta("other", "Other Report", Some("Grace Hopper"))).await;
    assert_eq!(ambiguous[ENTERPRISE]["manager"], json!({"displayName": "Grace Hopper"}));
    assert_eq!(f.manager_of(&report).await["value"], grace.as_str(), "lags until written again");
    f.write(Method::PUT, &report, okta("report", "A Report", Some("Grace Hopper"))).await;
    assert_eq!(f.manager_of(&report).await, json!({"displayName": "Grace Hopper"}));

    // The twin leaves: the name is unique again.
    assert_eq!(f.call(Method::DELETE, &format!("/Users/{twin}"), None, None).await.status, 204);
    f.write(Method::PUT, &report, okta("report", "A Report", Some("Grace Hopper"))).await;
    assert_eq!(f.manager_of(&report).await, link_to(&grace, "Grace Hopper"));

    // The manager is renamed: the link goes on the report's next write.
    f.write(Method::PUT, &grace, okta("grace", "Admiral Hopper", None)).await;
    f.write(Method::PUT, &report, okta("report", "A Report (moved)", Some("Grace Hopper"))).await;
    assert_eq!(f.manager_of(&report).await, json!({"displayName": "Grace Hopper"}));

    // Nobody is their own manager.
    let selfish = f.post(okta("selfish", "Admiral Hopper 2", Some("Admiral Hopper 2"))).await;
    let selfish = selfish["id"].as_str().unwrap();
    let put = f.write(Method::PUT, selfish, okta("selfish", "Admiral Hopper 2", Some("admiral hopper 2"))).await;
    assert_eq!(put.body.unwrap()[ENTERPRISE]["manager"], json!({"displayName": "admiral hopper 2"}));
}

#[tokio::test]
async fn patch_keeps_links_and_resolves_a_new_manager_name() {
    let f = fixture().await;
    let ada = f.post(okta("ada", "Ada Lovelace", None)).await["id"].as_str().unwrap().to_string();
    let charles = f.post(okta("charles", "Charles Babbage", None)).await["id"].as_str().unwrap().to_string();
    let report = f.post(okta("report", "A Report", Some("Ada Lovelace"))).await["id"].as_str().unwrap().to_string();
    f.write(Method::PUT, &report, okta("report", "A Report", Some("Ada Lovelace"))).await;

    let deactivate = json!({"schemas": [crate::scim::schema::PATCH_OP_SCHEMA],
                            "Operations": [{"op": "replace", "value": {"active": false}}]});
    let patched = f.write(Method::PATCH, &report, deactivate).await.body.unwrap();
    assert_eq!(
        (patched["active"].clone(), patched[ENTERPRISE]["manager"].clone()),
        (json!(false), link_to(&ada, "Ada Lovelace"))
    );

    let new_manager = json!({"schemas": [crate::scim::schema::PATCH_OP_SCHEMA], "Operations": [
        {"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"displayName": "Charles Babbage"}}]});
    let patched = f.write(Method::PATCH, &report, new_manager).await.body.unwrap();
    assert_eq!(patched[ENTERPRISE]["manager"], link_to(&charles, "Charles Babbage"));
}

#[tokio::test]
async fn client_set_managers_are_kept_as_sent() {
    let f = fixture().await;
    let ada = f.post(okta("ada", "Ada Lovelace", None)).await["id"].as_str().unwrap().to_string();
    // Microsoft Entra ID sets the manager by id.
    let mut entra = okta("entra", "Entra User", None);
    entra[ENTERPRISE]["manager"] = json!({"value": "entra-manager-id"});
    let created = f.post(entra).await;
    // Rendered with the server's reference for the value (a client's `$ref` is never stored or shown).
    let reference = format!("{USERS_URL}/entra-manager-id");
    assert_eq!(created[ENTERPRISE]["manager"], json!({"value": "entra-manager-id", "$ref": reference}));
    let id = created["id"].as_str().unwrap().to_string();

    // A value sent with a name that matches someone else is still the client's.
    let mut both = okta("entra", "Entra User", Some("Ada Lovelace"));
    both[ENTERPRISE]["manager"]["value"] = json!("entra-manager-id");
    let put = f.write(Method::PUT, &id, both).await.body.unwrap();
    assert_eq!(
        put[ENTERPRISE]["manager"],
        json!({"displayName": "Ada Lovelace", "value": "entra-manager-id", "$ref": reference})
    );
    let set_by_id = json!({"schemas": [crate::scim::schema::PATCH_OP_SCHEMA], "Operations": [
        {"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": ada, "displayName": "Someone"}}]});
    let patched = f.write(Method::PATCH, &id, set_by_id).await.body.unwrap();
    assert_eq!(
        patched[ENTERPRISE]["manager"],
        json!({"value": ada, "displayName": "Someone", "$ref": format!("{USERS_URL}/{ada}")})
    );
    // A client's own `$ref` is not kept: the server writes it from the value.
    let evil = json!({"schemas": [crate::scim::schema::PATCH_OP_SCHEMA], "Operations": [
        {"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": {"value": ada, "$ref": "http://evil.example/x"}}]});
    let patched = f.write(Method::PATCH, &id, evil).await.body.unwrap();
    assert_eq!(patched[ENTERPRISE]["manager"]["$ref"], json!(format!("{USERS_URL}/{ada}")));
    let cred = Credential::from_authorization(Some(&f.token), &Pepper::new(vec![3; 32]).unwrap()).unwrap();
    let stored = f.store.get_user(&cred, &id).await.unwrap();
    assert!(!serde_json::to_string(stored.doc.attributes()).unwrap().contains("evil.example"), "never stored");
    let filter = format!("{ENTERPRISE}:manager.value eq \"{ada}\"");
    assert_eq!(f.filter(&filter).await, ["entra"]);
}

#[tokio::test]
async fn relink_heals_every_report_of_the_directory() {
    let f = fixture().await;
    let early = f.post(okta("early", "Early", Some("Charles Babbage"))).await["id"].as_str().unwrap().to_string();
    let stale = f.post(okta("stale", "Stale", Some("Ada Lovelace"))).await["id"].as_str().unwrap().to_string();
    let charles = f.post(okta("charles", "Charles Babbage", None)).await["id"].as_str().unwrap().to_string();
    let ada = f.post(okta("ada", "Ada Lovelace", None)).await["id"].as_str().unwrap().to_string();
    f.write(Method::PUT, &stale, okta("stale", "Stale", Some("Ada Lovelace"))).await;
    f.post(okta("twin", "ada lovelace", None)).await;
    let mut entra = okta("entra", "Entra", Some("Charles Babbage"));
    entra[ENTERPRISE]["manager"]["value"] = json!("kept");
    f.post(entra).await;
    assert_eq!(f.manager_of(&stale).await["value"], ada.as_str());

    let store = f.service.store().clone();
    let cred = Credential::from_authorization(Some(&f.token), &Pepper::new(vec![3; 32]).unwrap()).unwrap();
    let report = crate::relink::relink_managers(&*store, &cred, USERS_URL, true).await.unwrap();
    assert_eq!(
        report,
        crate::relink::RelinkReport { users: 6, indexed: 6, reports: 2, linked: 1, changed: 2, skipped: 0 }
    );
    assert_eq!(f.manager_of(&early).await, link_to(&charles, "Charles Babbage"));
    assert_eq!(f.manager_of(&stale).await, json!({"displayName": "Ada Lovelace"}));
    let again = crate::relink::relink_managers(&*store, &cred, USERS_URL, false).await.unwrap();
    assert_eq!((again.changed, again.linked, again.indexed), (0, 1, 0));
}

/// Ambiguous documents are refused before anything is validated or stored: duplicate (or case-variant) member
/// names at any depth, and control characters in any string, on POST, PUT and PATCH alike.
#[tokio::test]
async fn ambiguous_documents_and_control_characters_change_nothing() {
    let f = fixture().await;
    let ids = f.create_users(vec![("kim@example.com", json!({}))]).await;
    let path = format!("/Users/{}", ids[0]);
    let schema = r#""schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]"#;
    // Two userNames: which one would a proxy, an audit log or this server believe?
    let twice = format!(r#"{{{schema},"userName":"a@example.com","userName":"b@example.com"}}"#);
    assert_bad_request(&f.raw(Method::POST, "/Users", &twice).await, ScimType::InvalidSyntax);
    assert_bad_request(&f.raw(Method::PUT, &path, &twice).await, ScimType::InvalidSyntax);
    let case_variant = format!(r#"{{{schema},"userName":"a@example.com","USERNAME":"b@example.com"}}"#);
    assert_bad_request(&f.raw(Method::POST, "/Users", &case_variant).await, ScimType::InvalidSyntax);
    let nested = format!(r#"{{{schema},"userName":"c@example.com","name":{{"givenName":"A","givenName":"B"}}}}"#);
    assert_bad_request(&f.raw(Method::POST, "/Users", &nested).await, ScimType::InvalidSyntax);
    let ops_twice = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"replace","value":{"title":"A"}}],"Operations":[{"op":"replace","value":{"title":"B"}}]}"#;
    assert_bad_request(&f.raw(Method::PATCH, &path, ops_twice).await, ScimType::InvalidSyntax);
    // An escaped NUL, an escaped ESC, DEL: refused, naming the attribute.
    for bad in [r"k\u0000im@example.com", r"k\u001bim@example.com", "k\u{7f}im@example.com"] {
        let body = format!(r#"{{{schema},"userName":"{bad}"}}"#);
        assert_bad_request(&f.raw(Method::POST, "/Users", &body).await, ScimType::InvalidValue);
        assert_bad_request(&f.raw(Method::PUT, &path, &body).await, ScimType::InvalidValue);
        let patch = format!(
            r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{{"op":"replace","path":"userName","value":"{bad}"}}]}}"#
        );
        let response = f.raw(Method::PATCH, &path, &patch).await;
        assert_bad_request(&response, ScimType::InvalidValue);
        assert!(response.body.unwrap()["detail"].as_str().unwrap().contains("userName"));
    }
    // Multi-line attributes keep their line feeds.
    let address = format!(
        r#"{{{schema},"userName":"addr@example.com","displayName":"Addr","addresses":[{{"type":"work","streetAddress":"1 Main St\nFloor 2"}}]}}"#
    );
    let created = f.raw(Method::POST, "/Users", &address).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    // Nothing of the refused documents was stored.
    let current = f.call(Method::GET, &path, None, None).await;
    assert_eq!(current.body.unwrap()["userName"], "kim@example.com");
    let list = f.send(Method::GET, "/Users", &[], None).await;
    assert_eq!(list.body.unwrap()["totalResults"], 2);
}

/// Microsoft Entra ID's documented create has no displayName: it is derived, on create and on PUT.
#[tokio::test]
async fn a_missing_display_name_is_derived() {
    let f = fixture().await;
    let schema = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    for (body, expected) in [
        (
            json!({"schemas": schema, "userName": "a@example.com", "name": {"formatted": "Ms. Ada Lovelace", "givenName": "Ada"}}),
            "Ms. Ada Lovelace",
        ),
        (
            json!({"schemas": schema, "userName": "b@example.com", "name": {"givenName": "Barbara", "familyName": "Liskov"}}),
            "Barbara Liskov",
        ),
        (json!({"schemas": schema, "userName": "c@example.com", "displayName": "  "}), "c@example.com"),
        (json!({"schemas": schema, "userName": "d@example.com", "displayName": "Given"}), "Given"),
    ] {
        let created = f.call(Method::POST, "/Users", Some(body.clone()), None).await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let created = created.body.unwrap();
        assert_eq!(created["displayName"], expected);
        let id = created["id"].as_str().unwrap().to_string();
        let replaced = f.call(Method::PUT, &format!("/Users/{id}"), Some(body), None).await;
        assert_eq!(replaced.body.unwrap()["displayName"], expected);
    }
}

/// A PATCH result is bounded like a PUT body, and removing `active` cannot reactivate anyone.
#[tokio::test]
async fn patch_results_are_bounded_and_active_cannot_be_removed() {
    let f = fixture().await;
    let ids = f.create_users(vec![("grow@example.com", json!({"active": false}))]).await;
    let path = format!("/Users/{}", ids[0]);
    let op =
        |value: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [value]});
    let removed = f.call(Method::PATCH, &path, Some(op(json!({"op": "remove", "path": "active"}))), None).await;
    assert_bad_request(&removed, ScimType::InvalidValue);
    let removed = f.call(Method::PATCH, &path, Some(op(json!({"op": "Remove", "path": "ACTIVE"}))), None).await;
    assert_eq!(removed.status, 400);
    // Removing it from an active user changes nothing and is allowed (RFC 7644: the attribute becomes unassigned).
    let active = f.create_users(vec![("still@example.com", json!({"active": true}))]).await;
    let removed = f
        .call(
            Method::PATCH,
            &format!("/Users/{}", active[0]),
            Some(op(json!({"op": "remove", "path": "active"}))),
            None,
        )
        .await;
    assert_eq!(removed.status, 200, "{:?}", removed.body);
    // Adds of many values, each request well under the body limit, used to grow one user without bound: the
    // first that would cross the document limit is refused.
    let mut refused = None;
    for i in 0..40 {
        let emails: Vec<Value> =
            (0..10).map(|j| json!({"value": format!("{i}-{j}-{}@example.com", "x".repeat(3900))})).collect();
        let response =
            f.call(Method::PATCH, &path, Some(op(json!({"op": "add", "path": "emails", "value": emails}))), None).await;
        if response.status != 200 {
            refused = Some(response);
            break;
        }
    }
    let refused = refused.expect("the document stops growing");
    assert_eq!(refused.status, 413, "{:?}", refused.body);
    let user = f.call(Method::GET, &path, None, None).await.body.unwrap();
    assert_eq!(user["active"], false);
    assert!(serde_json::to_vec(&user).unwrap().len() < 2 * crate::scim::user::MAX_DOCUMENT_BYTES);
}

/// One identity rule for userNames: look-alikes and invisible characters are refused at provisioning.
#[tokio::test]
async fn look_alike_user_names_are_refused() {
    let f = fixture().await;
    f.create_users(vec![("kim@example.com", json!({}))]).await;
    for bad in [
        "\u{212A}im@example.com",
        "kim@example.com ",
        " kim@example.com",
        "kim@\u{a0}example.com",
        "k\u{200b}im@example.com",
        "k\u{ad}im@example.com",
        "kim\u{200f}@example.com",
        "\u{ff4b}im@example.com",
    ] {
        let mut body = user(json!({}));
        body["userName"] = json!(bad);
        let created = f.call(Method::POST, "/Users", Some(body), None).await;
        assert_bad_request(&created, ScimType::InvalidValue);
    }
    let list = f.send(Method::GET, "/Users", &[], None).await;
    assert_eq!(list.body.unwrap()["totalResults"], 1);
}

/// A schema the server does not have is refused, naming it, rather than accepted and dropped.
#[tokio::test]
async fn unknown_schema_urns_are_refused() {
    let f = fixture().await;
    let ids = f.create_users(vec![("s@example.com", json!({}))]).await;
    let custom = "urn:ietf:params:scim:schemas:extension:acme:2.0:User";
    let mut body = user(json!({}));
    body["userName"] = json!("t@example.com");
    body["schemas"] = json!([crate::scim::schema::USER_SCHEMA, custom]);
    body[custom] = json!({"badge": "42"});
    let created = f.call(Method::POST, "/Users", Some(body.clone()), None).await;
    assert_bad_request(&created, ScimType::InvalidValue);
    assert!(created.body.unwrap()["detail"].as_str().unwrap().contains(custom));
    let mut declared_only = body.clone();
    declared_only.as_object_mut().unwrap().remove(custom);
    assert_bad_request(
        &f.call(Method::POST, "/Users", Some(declared_only.clone()), None).await,
        ScimType::InvalidValue,
    );
    let replaced = f.call(Method::PUT, &format!("/Users/{}", ids[0]), Some(declared_only), None).await;
    assert_bad_request(&replaced, ScimType::InvalidValue);
    let list = f.send(Method::GET, "/Users", &[], None).await;
    assert_eq!(list.body.unwrap()["totalResults"], 1);
}
