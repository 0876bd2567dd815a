//! The SCIM operations: authenticate the caller, route, validate, persist, and shape the response.
//!
//! [`ScimService`] knows nothing of HTTP frameworks or of which store it talks to; [`crate::http`] adapts
//! `lambda_http` requests to [`ScimRequest`] and renders [`ScimResponse`].

use crate::auth::{Credential, Pepper, PepperSource};
use crate::scim::discovery;
use crate::scim::error::ScimError;
use crate::scim::error::ScimType;
use crate::scim::filter::{Filter, IndexLookup};
use crate::scim::list::{ListQuery, list_response};
use crate::scim::patch::PatchRequest;
use crate::scim::user::{UserDoc, UserRecord};
use crate::store::{Store, StoreError};
use http::Method;
use serde_json::Value;
use std::sync::Arc;

/// Largest request body accepted, in bytes (a real Okta request is 1–3 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Users read per step when a filter is evaluated over the directory.
pub const SCAN_PAGE: u64 = 500;
/// Most users a filter that no index answers may examine in one request.
pub const MAX_FILTER_SCAN: u64 = 20_000;
/// How often a read-modify-write is retried when a concurrent writer got there first.
const WRITE_ATTEMPTS: usize = 5;

/// A SCIM request, independent of the HTTP library that carried it.
#[derive(Debug)]
pub struct ScimRequest<'a> {
    pub method: Method,
    /// The path below the SCIM base, e.g. `/Users/2819c223`.
    pub path: &'a str,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    pub authorization: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub if_match: Option<&'a str>,
    pub body: &'a [u8],
    /// Absolute URL of the SCIM base, e.g. `https://api.example.com/scim/v2`.
    pub base_url: String,
}

/// What to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub location: Option<String>,
    pub etag: Option<String>,
    /// Ask for Bearer credentials (401).
    pub www_authenticate: bool,
}

impl ScimResponse {
    fn json(status: u16, body: Value) -> Self {
        Self { status, body: Some(body), location: None, etag: None, www_authenticate: false }
    }

    fn user(status: u16, record: UserRecord, users_url: &str) -> Self {
        let location = (status == 201).then(|| format!("{users_url}/{}", record.id));
        let etag = Some(record.etag());
        Self { status, body: Some(record.into_scim(users_url)), location, etag, www_authenticate: false }
    }

    fn no_content() -> Self {
        Self { status: 204, body: None, location: None, etag: None, www_authenticate: false }
    }

    /// The response for a SCIM error.
    pub fn error(error: &ScimError) -> Self {
        Self {
            status: error.status,
            body: Some(error.to_json()),
            location: None,
            etag: None,
            www_authenticate: error.status == 401,
        }
    }
}

/// The Users endpoint over a store.
pub struct ScimService {
    store: Arc<dyn Store>,
    pepper: PepperSource,
}

enum Route<'a> {
    Users,
    User(&'a str),
}

impl ScimService {
    /// A service over `store`, hashing presented keys with `pepper`.
    pub fn new(store: Arc<dyn Store>, pepper: Pepper) -> Self {
        Self::with_pepper_source(store, PepperSource::ready(pepper))
    }

    /// A service whose pepper may still be loading.
    pub fn with_pepper_source(store: Arc<dyn Store>, pepper: PepperSource) -> Self {
        Self { store, pepper }
    }

    /// The store behind this service.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Serves one request. Every failure becomes a SCIM error response.
    pub async fn handle(&self, request: ScimRequest<'_>) -> ScimResponse {
        match self.dispatch(&request).await {
            Ok(response) => response,
            Err(error) => ScimResponse::error(&error),
        }
    }

    async fn dispatch(&self, req: &ScimRequest<'_>) -> Result<ScimResponse, ScimError> {
        if req.body.len() > MAX_BODY_BYTES {
            return Err(ScimError::payload_too_large(MAX_BODY_BYTES));
        }
        let pepper = self.pepper.get().await.map_err(|reason| {
            tracing::error!(%reason, "pepper unavailable");
            ScimError::unavailable()
        })?;
        let credential = Credential::from_authorization(req.authorization, pepper).map_err(|e| {
            tracing::info!(reason = %e, "request not authenticated");
            ScimError::unauthorized()
        })?;
        let users_url = format!("{}/Users", req.base_url);
        if let Some(body) = discovery(req.path, &req.base_url) {
            self.store.authorize(&credential).await.map_err(store_error)?;
            if req.method != Method::GET {
                return Err(ScimError::method_not_allowed());
            }
            return Ok(ScimResponse::json(200, body?));
        }
        let Some(route) = route(req.path) else {
            self.store.authorize(&credential).await.map_err(store_error)?;
            return Err(ScimError::not_found(format!("No endpoint at {}.", req.path)));
        };
        match (&req.method, route) {
            (&Method::GET, Route::Users) => self.list(&credential, req, &users_url).await,
            (&Method::POST, Route::Users) => self.create(&credential, req, &users_url).await,
            (&Method::GET, Route::User(id)) => {
                let record = self.store.get_user(&credential, id).await.map_err(store_error)?;
                Ok(ScimResponse::user(200, record, &users_url))
            }
            (&Method::PUT, Route::User(id)) => self.replace(&credential, req, id, &users_url).await,
            (&Method::PATCH, Route::User(id)) => self.patch(&credential, req, id, &users_url).await,
            (&Method::DELETE, Route::User(id)) => self.delete(&credential, req, id).await,
            _ => {
                self.store.authorize(&credential).await.map_err(store_error)?;
                Err(ScimError::method_not_allowed())
            }
        }
    }

    async fn list(&self, cred: &Credential, req: &ScimRequest<'_>, users_url: &str) -> Result<ScimResponse, ScimError> {
        let query = ListQuery::parse(req.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let (total, resources) = match &query.filter {
            None => {
                let page = self.store.list_users(cred, query.start_index, query.count).await.map_err(store_error)?;
                (page.total, page.users.into_iter().map(|u| u.into_scim(users_url)).collect())
            }
            Some(filter) => {
                let matches: Vec<Value> = match filter.index_lookup() {
                    Some(lookup) => {
                        self.lookup(cred, lookup).await?.into_iter().map(|u| u.into_scim(users_url)).collect()
                    }
                    None => self.scan_matching(cred, filter, users_url).await?,
                };
                let total = matches.len() as u64;
                let skip = usize::try_from(query.start_index - 1).unwrap_or(usize::MAX);
                let take = usize::try_from(query.count).unwrap_or(usize::MAX);
                (total, matches.into_iter().skip(skip).take(take).collect())
            }
        };
        Ok(ScimResponse::json(200, list_response(total, query.start_index, resources)))
    }

    /// The users an index finds.
    async fn lookup(&self, cred: &Credential, lookup: IndexLookup) -> Result<Vec<UserRecord>, ScimError> {
        match lookup {
            IndexLookup::UserName(name) => {
                Ok(self.store.find_user_by_user_name(cred, &name).await.map_err(store_error)?.into_iter().collect())
            }
            IndexLookup::ExternalId(external_id) => {
                self.store.find_users_by_external_id(cred, &external_id).await.map_err(store_error)
            }
            IndexLookup::Id(id) => match self.store.get_user(cred, &id).await {
                Ok(record) => Ok(vec![record]),
                Err(StoreError::NotFound) => Ok(Vec::new()),
                Err(e) => Err(store_error(e)),
            },
        }
    }

    /// Evaluates a filter no index answers over the whole directory, in pages of [`SCAN_PAGE`] users and at most
    /// [`MAX_FILTER_SCAN`] users in all (beyond that: 400 `tooMany`). Returns the matching users, rendered (each
    /// user is rendered once, for the evaluation).
    async fn scan_matching(
        &self,
        cred: &Credential,
        filter: &Filter,
        users_url: &str,
    ) -> Result<Vec<Value>, ScimError> {
        let mut matches = Vec::new();
        let mut after: Option<String> = None;
        let mut examined = 0u64;
        loop {
            let page = self.store.scan_users(cred, after.as_deref(), SCAN_PAGE).await.map_err(store_error)?;
            let Some(last) = page.last() else { return Ok(matches) };
            after = Some(last.id.clone());
            examined += page.len() as u64;
            if examined > MAX_FILTER_SCAN {
                return Err(ScimError::bad_request(
                    ScimType::TooMany,
                    format!(
                        "This filter is evaluated user by user and the directory has more than {MAX_FILTER_SCAN} users; \
                         filter on id, userName or externalId equality instead."
                    ),
                ));
            }
            let done = (page.len() as u64) < SCAN_PAGE;
            matches.extend(page.into_iter().map(|user| user.into_scim(users_url)).filter(|user| filter.matches(user)));
            if done {
                return Ok(matches);
            }
        }
    }

    async fn create(
        &self,
        cred: &Credential,
        req: &ScimRequest<'_>,
        users_url: &str,
    ) -> Result<ScimResponse, ScimError> {
        let doc = UserDoc::from_request(json_body(req)?)?;
        let record = UserRecord::new(doc);
        self.store.create_user(cred, &record).await.map_err(store_error)?;
        Ok(ScimResponse::user(201, record, users_url))
    }

    async fn replace(
        &self,
        cred: &Credential,
        req: &ScimRequest<'_>,
        id: &str,
        users_url: &str,
    ) -> Result<ScimResponse, ScimError> {
        let doc = UserDoc::from_request(json_body(req)?)?;
        self.read_modify_write(cred, req, id, users_url, &|previous| {
            let mut next = doc.clone();
            // Okta does not always repeat these on PUT; an omitted value keeps the stored one rather than
            // silently reactivating a user or dropping Okta's id (RFC 7644 §3.5.1 leaves this to the server).
            next.inherit(&previous.doc, "active");
            next.inherit(&previous.doc, "externalId");
            Ok(next)
        })
        .await
    }

    async fn patch(
        &self,
        cred: &Credential,
        req: &ScimRequest<'_>,
        id: &str,
        users_url: &str,
    ) -> Result<ScimResponse, ScimError> {
        let patch = PatchRequest::parse(json_body(req)?)?;
        self.read_modify_write(cred, req, id, users_url, &|previous| patch.apply(&previous.doc)).await
    }

    /// Reads the user, derives the new document, and writes it conditionally on the version read.
    async fn read_modify_write(
        &self,
        cred: &Credential,
        req: &ScimRequest<'_>,
        id: &str,
        users_url: &str,
        change: &(dyn Fn(&UserRecord) -> Result<UserDoc, ScimError> + Sync),
    ) -> Result<ScimResponse, ScimError> {
        self.on_current_version(cred, req.if_match, id, users_url, Write::Replace(change)).await
    }

    async fn delete(&self, cred: &Credential, req: &ScimRequest<'_>, id: &str) -> Result<ScimResponse, ScimError> {
        self.on_current_version(cred, req.if_match, id, "", Write::Delete).await
    }

    /// Applies a conditional write to the current version of the user. When a concurrent writer got there first,
    /// re-reads and tries again, unless the client pinned a version with `If-Match` (then 412).
    async fn on_current_version(
        &self,
        cred: &Credential,
        if_match: Option<&str>,
        id: &str,
        users_url: &str,
        write: Write<'_>,
    ) -> Result<ScimResponse, ScimError> {
        for _ in 0..WRITE_ATTEMPTS {
            let previous = self.store.get_user(cred, id).await.map_err(store_error)?;
            check_if_match(if_match, &previous)?;
            let outcome = match &write {
                Write::Replace(change) => {
                    let doc = change(&previous)?;
                    if doc == previous.doc {
                        // Nothing changes (e.g. Okta deactivating an inactive user): no write, same version.
                        return Ok(ScimResponse::user(200, previous, users_url));
                    }
                    let next = previous.successor(doc);
                    self.store
                        .replace_user(cred, &previous, &next)
                        .await
                        .map(|()| ScimResponse::user(200, next, users_url))
                }
                Write::Delete => self.store.delete_user(cred, &previous).await.map(|()| ScimResponse::no_content()),
            };
            match outcome {
                Ok(response) => return Ok(response),
                Err(StoreError::VersionConflict) if if_match.is_none() => continue,
                Err(StoreError::VersionConflict) => return Err(ScimError::precondition_failed()),
                Err(e) => return Err(store_error(e)),
            }
        }
        Err(ScimError::conflict("The user is being modified concurrently; retry the request."))
    }
}

/// The conditional write to apply to the current version of a user.
enum Write<'a> {
    /// Replace the document by the one derived from the current record.
    Replace(&'a (dyn Fn(&UserRecord) -> Result<UserDoc, ScimError> + Sync)),
    Delete,
}

/// The discovery endpoints (RFC 7644 §4): `None` when `path` is not one of them.
fn discovery(path: &str, base_url: &str) -> Option<Result<Value, ScimError>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let (endpoint, id) = match path.trim_start_matches('/').split_once('/') {
        Some((endpoint, id)) => (endpoint, Some(id)),
        None => (path.trim_start_matches('/'), None),
    };
    Some(match (endpoint, id) {
        ("ServiceProviderConfig", None) => Ok(discovery::service_provider_config(base_url)),
        ("ResourceTypes", None) => Ok(discovery::resource_types(base_url)),
        ("ResourceTypes", Some(id)) => discovery::resource_type(base_url, id),
        ("Schemas", None) => Ok(discovery::schemas(base_url)),
        ("Schemas", Some(id)) => discovery::schema_by_id(base_url, id),
        _ => return None,
    })
}

fn route(path: &str) -> Option<Route<'_>> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let rest = path.strip_prefix("/Users")?;
    if rest.is_empty() {
        return Some(Route::Users);
    }
    let id = rest.strip_prefix('/')?;
    (!id.is_empty() && !id.contains('/')).then_some(Route::User(id))
}

fn check_if_match(if_match: Option<&str>, current: &UserRecord) -> Result<(), ScimError> {
    let Some(header) = if_match else {
        return Ok(());
    };
    let current_tag = current.etag();
    let strip_weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let matches = header.split(',').any(|t| t.trim() == "*" || strip_weak(t) == strip_weak(&current_tag));
    if matches { Ok(()) } else { Err(ScimError::precondition_failed()) }
}

fn json_body(req: &ScimRequest<'_>) -> Result<Value, ScimError> {
    if let Some(content_type) = req.content_type {
        let media = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if !(media == "application/scim+json" || media == "application/json" || media.ends_with("+json")) {
            return Err(ScimError::unsupported_media_type());
        }
    }
    if req.body.is_empty() {
        return Err(ScimError::invalid_syntax("A JSON request body is required."));
    }
    serde_json::from_slice(req.body).map_err(|e| ScimError::invalid_syntax(format!("The body is not valid JSON: {e}.")))
}

/// Maps a store failure to the client's view of it.
pub fn store_error(error: StoreError) -> ScimError {
    match error {
        StoreError::Unauthorized => ScimError::unauthorized(),
        StoreError::NotFound => ScimError::not_found("No such user in this directory."),
        StoreError::UserNameTaken => ScimError::uniqueness("Another user of this directory has this userName."),
        StoreError::VersionConflict => ScimError::conflict("The user was modified concurrently; retry the request."),
        StoreError::Unavailable(reason) => {
            tracing::warn!(%reason, "store unavailable");
            ScimError::unavailable()
        }
        StoreError::Backend(reason) => {
            tracing::error!(%reason, "store failure");
            ScimError::internal()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::new_tenant;
    use crate::store::sqlite::SqliteStore;
    use serde_json::json;

    struct Fixture {
        service: ScimService,
        token: String,
    }

    async fn fixture() -> Fixture {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::in_memory().unwrap());
        let pepper = Pepper::new(vec![3; 32]).unwrap();
        let (dir, _) = new_tenant(&*store, "Service").await;
        let issued = crate::auth::issue_key(&dir.id, "test", &pepper);
        store.create_key(&issued.record).await.unwrap();
        Fixture { service: ScimService::new(store, pepper), token: format!("Bearer {}", issued.token) }
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
                    body: body.as_bytes(),
                    base_url: "https://example.com/scim/v2".into(),
                })
                .await
        }
    }

    fn user(extra: Value) -> Value {
        let mut body = json!({"schemas": [crate::scim::schema::USER_SCHEMA], "userName": "ada", "displayName": "Ada"});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        body
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
                body: &[],
                base_url: "https://example.com/scim/v2".into(),
            }
        };
        let body = f.service.handle(list(r#"title eq "countess""#)).await.body.unwrap();
        assert_eq!((body["totalResults"].clone(), body["itemsPerPage"].clone()), (json!(2), json!(1)));
        assert_eq!(body["Resources"][0]["title"], "Countess");
        assert!(
            body["Resources"][0]["meta"]["location"]
                .as_str()
                .unwrap()
                .starts_with("https://example.com/scim/v2/Users/")
        );
        let body = f.service.handle(list(r#"title eq "Admiral" or userName sw "AL""#)).await.body.unwrap();
        assert_eq!(body["totalResults"], 2);
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
}
