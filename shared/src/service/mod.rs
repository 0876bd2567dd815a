//! The SCIM operations: authenticate the caller, route, validate, persist, and shape the response.
//!
//! [`ScimService`] knows nothing of HTTP frameworks or of which store it talks to; [`crate::http`] adapts
//! `lambda_http` requests to [`ScimRequest`] and renders [`ScimResponse`].

use crate::auth::{Credential, Pepper, PepperSource};
use crate::scim::cursor::{self, CURSOR_TIMEOUT_SECS, CursorError, CursorKey, CursorScope, Position};
use crate::scim::discovery;
use crate::scim::error::ScimError;
use crate::scim::error::ScimType;
use crate::scim::filter::{Filter, IndexLookup};
use crate::scim::list::{ListQuery, Paging, cursor_list_response, list_response, list_response_text};
use crate::scim::manager;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;
use crate::scim::stored::StoredUser;
use crate::scim::user::{UserDoc, UserRecord};
use crate::store::{StoreError, UserStore};
use http::Method;
use serde_json::Value;
use std::sync::Arc;

/// Largest request body accepted, in bytes (a real Okta request is 1–3 KiB).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Users read per step when a filter is evaluated over the directory.
pub const SCAN_PAGE: u64 = 500;
/// Most users a filter that no index answers, or a sort, may examine in one request.
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
    /// `If-None-Match`, honoured on `GET /Users/{id}` (RFC 7644 §3.14).
    pub if_none_match: Option<&'a str>,
    pub body: &'a [u8],
    /// Absolute URL of the SCIM base, e.g. `https://api.example.com/scim/v2`.
    pub base_url: String,
}

impl ScimRequest<'_> {
    /// The query parameters as name/value pairs.
    pub fn query_pairs(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.query.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// What to send back.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimResponse {
    pub status: u16,
    pub body: Option<Value>,
    /// The body as JSON text instead, when it was rendered without a `Value` ([`crate::scim::stored`]).
    pub text: Option<String>,
    pub location: Option<String>,
    pub etag: Option<String>,
    /// Ask for Bearer credentials (401).
    pub www_authenticate: bool,
}

impl ScimResponse {
    fn json(status: u16, body: Value) -> Self {
        Self { status, body: Some(body), text: None, location: None, etag: None, www_authenticate: false }
    }

    /// A User, reduced to the requested attributes when `projection` is given. Without one, rendered from the
    /// document's JSON text as a read renders it ([`crate::scim::stored`]): after a write, the text the store
    /// was given, so the document is serialised once.
    fn user(status: u16, record: UserRecord, users_url: &str, projection: Option<&Projection>) -> Self {
        let location = (status == 201).then(|| format!("{users_url}/{}", record.id));
        let etag = Some(record.etag());
        if projection.is_none() {
            if let Some(text) = crate::scim::stored::render_record(&record, users_url) {
                return Self { status, body: None, text: Some(text), location, etag, www_authenticate: false };
            }
        }
        let mut body = record.into_scim(users_url);
        if let Some(projection) = projection {
            projection.apply(&mut body);
        }
        Self { status, body: Some(body), text: None, location, etag, www_authenticate: false }
    }

    /// A JSON body already rendered as text.
    fn text(status: u16, text: String, etag: Option<String>) -> Self {
        Self { status, body: None, text: Some(text), location: None, etag, www_authenticate: false }
    }

    /// Whether the response has a body.
    pub fn has_body(&self) -> bool {
        self.body.is_some() || self.text.is_some()
    }

    /// This response with a text body parsed into [`ScimResponse::body`] (for callers that inspect bodies; a
    /// text that is not JSON is kept as text).
    pub fn parsed(mut self) -> Self {
        if let Some(parsed) = self.text.as_deref().and_then(|text| serde_json::from_str(text).ok()) {
            self.body = Some(parsed);
            self.text = None;
        }
        self
    }

    /// 304: the client's copy (`If-None-Match`) is current.
    fn not_modified(etag: String) -> Self {
        Self { status: 304, body: None, text: None, location: None, etag: Some(etag), www_authenticate: false }
    }

    fn no_content() -> Self {
        Self { status: 204, body: None, text: None, location: None, etag: None, www_authenticate: false }
    }

    /// The response for a SCIM error.
    pub fn error(error: &ScimError) -> Self {
        Self {
            status: error.status,
            body: Some(error.to_json()),
            text: None,
            location: None,
            etag: None,
            www_authenticate: error.status == 401,
        }
    }
}

/// The Users endpoint over a store.
pub struct ScimService {
    store: Arc<dyn UserStore>,
    pepper: PepperSource,
}

enum Route<'a> {
    Users,
    User(&'a str),
    /// `/Users/.search`, or `/.search` at the root (only Users are served, so both search Users).
    Search,
}

impl ScimService {
    /// A service over `store`, hashing presented keys with `pepper`.
    pub fn new(store: Arc<dyn UserStore>, pepper: Pepper) -> Self {
        Self::with_pepper_source(store, PepperSource::ready("pepper", pepper))
    }

    /// A service whose pepper may still be loading.
    pub fn with_pepper_source(store: Arc<dyn UserStore>, pepper: PepperSource) -> Self {
        Self { store, pepper }
    }

    /// The store behind this service.
    pub fn store(&self) -> &Arc<dyn UserStore> {
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
            self.store.authorize(&credential).await?;
            if req.method != Method::GET {
                return Err(ScimError::method_not_allowed());
            }
            return Ok(ScimResponse::json(200, body?));
        }
        let Some(route) = route(req.path) else {
            self.store.authorize(&credential).await?;
            return Err(ScimError::not_found(format!("No endpoint at {}.", req.path)));
        };
        match (&req.method, route) {
            (&Method::GET, Route::Users) => {
                let query = ListQuery::parse(req.query_pairs())?;
                self.list(&credential, &query, &users_url, pepper).await
            }
            (&Method::POST, Route::Search) => {
                // The SearchRequest in the body carries every parameter; the query string is not consulted.
                let query = ListQuery::from_search_request(json_body(req)?)?;
                self.list(&credential, &query, &users_url, pepper).await
            }
            (&Method::POST, Route::Users) => self.create(&credential, req, &users_url).await,
            (&Method::GET, Route::User(id)) => self.get(&credential, req, id, &users_url).await,
            (&Method::PUT, Route::User(id)) => self.replace(&credential, req, id, &users_url).await,
            (&Method::PATCH, Route::User(id)) => self.patch(&credential, req, id, &users_url).await,
            (&Method::DELETE, Route::User(id)) => self.delete(&credential, req, id).await,
            _ => {
                self.store.authorize(&credential).await?;
                Err(ScimError::method_not_allowed())
            }
        }
    }

    async fn get(
        &self,
        cred: &Credential,
        req: &ScimRequest<'_>,
        id: &str,
        users_url: &str,
    ) -> Result<ScimResponse, ScimError> {
        let projection = Projection::from_query(req.query_pairs())?;
        if projection.is_none() {
            // Returned as stored: rendered from the stored text, without building the document's `Value`s.
            let stored = self.store.get_stored_user(cred, id).await?;
            let etag = stored.etag();
            if req.if_none_match.is_some_and(|header| etag_header_matches(header, &etag)) {
                return Ok(ScimResponse::not_modified(etag));
            }
            return Ok(ScimResponse::text(200, render_stored(stored, users_url)?, Some(etag)));
        }
        let record = self.store.get_user(cred, id).await?;
        if req.if_none_match.is_some_and(|header| etag_matches(header, &record)) {
            return Ok(ScimResponse::not_modified(record.etag()));
        }
        Ok(ScimResponse::user(200, record, users_url, projection.as_ref()))
    }

    /// `GET /Users` and `POST /Users/.search`.
    async fn list(
        &self,
        cred: &Credential,
        query: &ListQuery,
        users_url: &str,
        pepper: &Pepper,
    ) -> Result<ScimResponse, ScimError> {
        if let Some(response) = self.list_by_user_name(cred, query, users_url).await? {
            return Ok(response);
        }
        let (mut resources, body) = match &query.paging {
            Paging::Index(start_index) => {
                let (total, resources) = self.index_page(cred, query, *start_index, users_url).await?;
                (resources, Listed::Index { total, start_index: *start_index })
            }
            Paging::Cursor(token) => {
                let (total, resources, next) =
                    self.cursor_page(cred, query, token.as_deref(), users_url, pepper).await?;
                (resources, Listed::Cursor { total, next })
            }
        };
        if let Some(projection) = &query.projection {
            resources.iter_mut().for_each(|resource| projection.apply(resource));
        }
        Ok(ScimResponse::json(
            200,
            match body {
                Listed::Index { total, start_index } => list_response(total, start_index, resources),
                Listed::Cursor { total, next } => cursor_list_response(total, resources, next),
            },
        ))
    }

    /// `filter=userName eq "…"` with index paging and the users returned whole (no sort, no projection): Okta's
    /// lookup before every create. Answered from the stored text ([`crate::scim::stored`]); `None` for any other
    /// query.
    async fn list_by_user_name(
        &self,
        cred: &Credential,
        query: &ListQuery,
        users_url: &str,
    ) -> Result<Option<ScimResponse>, ScimError> {
        let (Some(filter), Paging::Index(start_index), None, None) =
            (&query.filter, &query.paging, &query.sort, &query.projection)
        else {
            return Ok(None);
        };
        let Some(IndexLookup::UserName(name)) = filter.index_lookup() else { return Ok(None) };
        let found = self.store.find_stored_user_by_user_name(cred, &name).await?;
        let total = u64::from(found.is_some());
        let shown = found.filter(|_| *start_index == 1 && query.count > 0);
        let resource = shown.map(|user| render_stored(user, users_url)).transpose()?;
        Ok(Some(ScimResponse::text(200, list_response_text(total, *start_index, resource.as_deref()), None)))
    }

    /// Index paging: the total and the users from `start_index`, rendered.
    async fn index_page(
        &self,
        cred: &Credential,
        query: &ListQuery,
        start_index: u64,
        users_url: &str,
    ) -> Result<(u64, Vec<Value>), ScimError> {
        // Without a filter, the store pages by itself; so it does when sorting is moot (nothing is returned).
        if query.filter.is_none() && (query.sort.is_none() || query.count == 0) {
            let page = self.store.list_users(cred, start_index, query.count, crate::time::now_unix()).await?;
            return Ok((page.total, page.users.into_iter().map(|u| u.into_scim(users_url)).collect()));
        }
        let matches = self.matching(cred, query, users_url).await?;
        let total = matches.len() as u64;
        let skip = usize::try_from(start_index - 1).unwrap_or(usize::MAX);
        let take = usize::try_from(query.count).unwrap_or(usize::MAX);
        Ok((total, matches.into_iter().skip(skip).take(take).collect()))
    }

    /// Cursor paging (RFC 9865): the total, the users of the page the cursor names (the first without one),
    /// rendered, and the cursor of the next page unless this one is the last. Without a filter or sort the store
    /// walks by id from the cursor's id; a filter or sort is evaluated as for index paging (the same bounded walk)
    /// and the page taken after the cursor's id (unsorted, in id order) or at its offset (sorted).
    async fn cursor_page(
        &self,
        cred: &Credential,
        query: &ListQuery,
        token: Option<&str>,
        users_url: &str,
        pepper: &Pepper,
    ) -> Result<(u64, Vec<Value>, Option<String>), ScimError> {
        let key = CursorKey::derive(pepper);
        let scope = CursorScope::new(&cred.directory, query.filter.as_ref(), query.sort.as_ref());
        let now = crate::time::now_unix();
        // Opened before any I/O: a refused cursor reveals nothing about the directory.
        let position = token.map(|token| cursor::open(&key, &scope, token, now)).transpose()?;
        let next = |position: Position| Some(cursor::seal(&key, &scope, &position, now + CURSOR_TIMEOUT_SECS));
        let count = usize::try_from(query.count).unwrap_or(usize::MAX);

        if query.filter.is_none() && (query.sort.is_none() || count == 0) {
            let after = match &position {
                Some(Position::After(id)) => Some(id.as_str()),
                Some(Position::Offset(_)) if count > 0 => return Err(CursorError::Invalid.into()),
                _ => None,
            };
            let page = self.store.list_users_after(cred, after, query.count).await?;
            let next = match page.users.last() {
                Some(last) if page.more => next(Position::After(last.id.clone())),
                _ => None,
            };
            return Ok((page.total, page.users.into_iter().map(|u| u.into_scim(users_url)).collect(), next));
        }

        let matches = self.matching(cred, query, users_url).await?;
        let total = matches.len() as u64;
        if query.sort.is_some() {
            let offset = match position {
                None => 0,
                Some(Position::Offset(offset)) => offset,
                Some(Position::After(_)) => return Err(CursorError::Invalid.into()),
            };
            let skip = usize::try_from(offset).unwrap_or(usize::MAX);
            let page: Vec<Value> = matches.into_iter().skip(skip).take(count).collect();
            let reached = offset.saturating_add(page.len() as u64);
            let next = if count > 0 && reached < total { next(Position::Offset(reached)) } else { None };
            return Ok((total, page, next));
        }
        // Unsorted matches come in id order.
        let after = match position {
            None => None,
            Some(Position::After(id)) => Some(id),
            Some(Position::Offset(_)) => return Err(CursorError::Invalid.into()),
        };
        let mut rest =
            matches.into_iter().skip_while(|user| after.as_deref().is_some_and(|after| resource_id(user) <= after));
        let page: Vec<Value> = rest.by_ref().take(count).collect();
        let next = match page.last() {
            Some(last) if rest.next().is_some() => next(Position::After(resource_id(last).to_string())),
            _ => None,
        };
        Ok((total, page, next))
    }

    /// The users a filter or sort selects, in order (by id unless sorted), rendered.
    async fn matching(&self, cred: &Credential, query: &ListQuery, users_url: &str) -> Result<Vec<Value>, ScimError> {
        let mut matches: Vec<Value> = match query.filter.as_ref().map(|f| (f, f.index_lookup())) {
            Some((_, Some(lookup))) => {
                self.lookup(cred, lookup).await?.into_iter().map(|u| u.into_scim(users_url)).collect()
            }
            Some((filter, None)) => self.scan_matching(cred, Some(filter), users_url).await?,
            None => self.scan_matching(cred, None, users_url).await?,
        };
        if let Some(sort) = &query.sort {
            matches = sort.sort(matches);
        }
        Ok(matches)
    }

    /// The users an index finds.
    async fn lookup(&self, cred: &Credential, lookup: IndexLookup) -> Result<Vec<UserRecord>, ScimError> {
        match lookup {
            IndexLookup::UserName(name) => {
                Ok(self.store.find_user_by_user_name(cred, &name).await?.into_iter().collect())
            }
            IndexLookup::ExternalId(external_id) => {
                self.store.find_users_by_external_id(cred, &external_id).await.map_err(ScimError::from)
            }
            IndexLookup::Id(id) => match self.store.get_user(cred, &id).await {
                Ok(record) => Ok(vec![record]),
                Err(StoreError::NotFound) => Ok(Vec::new()),
                Err(e) => Err(e.into()),
            },
        }
    }

    /// Evaluates a filter no index answers (or, without a filter, takes every user, to sort them) over the whole
    /// directory, in pages of [`SCAN_PAGE`] users and at most [`MAX_FILTER_SCAN`] users in all (beyond that: 400
    /// `tooMany`). Returns the matching users, rendered (each user is rendered once, for the evaluation).
    async fn scan_matching(
        &self,
        cred: &Credential,
        filter: Option<&Filter>,
        users_url: &str,
    ) -> Result<Vec<Value>, ScimError> {
        let mut matches = Vec::new();
        let mut after: Option<String> = None;
        let mut examined = 0u64;
        loop {
            let page = self.store.scan_users(cred, after.as_deref(), SCAN_PAGE).await?;
            let Some(last) = page.last() else { return Ok(matches) };
            after = Some(last.id.clone());
            examined += page.len() as u64;
            if examined > MAX_FILTER_SCAN {
                return Err(ScimError::bad_request(
                    ScimType::TooMany,
                    match filter {
                        Some(_) => format!(
                            "This filter is evaluated user by user and the directory has more than \
                             {MAX_FILTER_SCAN} users; filter on id, userName or externalId equality instead."
                        ),
                        None => format!(
                            "Sorting without a filter reads every user and the directory has more than \
                             {MAX_FILTER_SCAN} users; add a filter, or page without sortBy."
                        ),
                    },
                ));
            }
            let done = (page.len() as u64) < SCAN_PAGE;
            let rendered = page.into_iter().map(|user| user.into_scim(users_url));
            match filter {
                Some(filter) => matches.extend(rendered.filter(|user| filter.matches(user))),
                None => matches.extend(rendered),
            }
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
        let projection = Projection::from_query(req.query_pairs())?;
        let doc = UserDoc::from_client(json_body(req)?)?;
        // A create is one write and no read (Okta's create must cost one call): the manager's name is linked at
        // the user's next PUT, whose read resolves it at no extra cost, or by `fd-admin users relink-managers`.
        let record = UserRecord::with_id(self.store.new_user_id(), doc);
        self.store.create_user(cred, &record).await?;
        Ok(ScimResponse::user(201, record, users_url, projection.as_ref()))
    }

    async fn replace(
        &self,
        cred: &Credential,
        req: &ScimRequest<'_>,
        id: &str,
        users_url: &str,
    ) -> Result<ScimResponse, ScimError> {
        let doc = UserDoc::from_client(json_body(req)?)?;
        // The manager's name is looked up together with the read of the user: a PUT re-resolves the link at no
        // extra store call.
        let manager_name = manager::resolvable_name(&doc).map(str::to_owned);
        self.read_modify_write(cred, req, id, users_url, manager_name.as_deref(), &|previous| {
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
        self.read_modify_write(cred, req, id, users_url, None, &|previous| patch.apply(&previous.doc)).await
    }

    /// Reads the user, derives the new document, and writes it conditionally on the version read.
    async fn read_modify_write(
        &self,
        cred: &Credential,
        req: &ScimRequest<'_>,
        id: &str,
        users_url: &str,
        manager_name: Option<&str>,
        change: &(dyn Fn(&UserRecord) -> Result<UserDoc, ScimError> + Sync),
    ) -> Result<ScimResponse, ScimError> {
        let projection = Projection::from_query(req.query_pairs())?;
        let render = Render { users_url, projection: projection.as_ref() };
        self.on_current_version(cred, req.if_match, id, render, Write::Replace { change, manager_name }).await
    }

    async fn delete(&self, cred: &Credential, req: &ScimRequest<'_>, id: &str) -> Result<ScimResponse, ScimError> {
        let render = Render { users_url: "", projection: None };
        self.on_current_version(cred, req.if_match, id, render, Write::Delete).await
    }

    /// Applies a conditional write to the current version of the user. When a concurrent writer got there first,
    /// re-reads and tries again, unless the client pinned a version with `If-Match` (then 412).
    async fn on_current_version(
        &self,
        cred: &Credential,
        if_match: Option<&str>,
        id: &str,
        render: Render<'_>,
        write: Write<'_>,
    ) -> Result<ScimResponse, ScimError> {
        for _ in 0..WRITE_ATTEMPTS {
            let (previous, prefetched) = match &write {
                Write::Replace { manager_name: Some(name), .. } => {
                    let read = self.store.get_user_and_display_name_ids(cred, id, name, manager::LOOKUP_LIMIT).await;
                    let (previous, ids) = read?;
                    (previous, Some((*name, ids)))
                }
                _ => (self.store.get_user(cred, id).await?, None),
            };
            check_if_match(if_match, &previous)?;
            let outcome = match &write {
                Write::Replace { change, .. } => {
                    let doc = change(&previous)?;
                    let doc = self.link_manager(cred, &previous, doc, prefetched, render.users_url).await?;
                    if doc == previous.doc {
                        // Nothing changes (e.g. Okta deactivating an inactive user): no write, same version.
                        return Ok(render.user(previous));
                    }
                    let next = previous.successor(doc);
                    self.store.replace_user(cred, &previous, &next).await.map(|()| render.user(next))
                }
                Write::Delete => self.store.delete_user(cred, &previous).await.map(|()| ScimResponse::no_content()),
            };
            match outcome {
                Ok(response) => return Ok(response),
                Err(StoreError::VersionConflict) if if_match.is_none() => continue,
                Err(StoreError::VersionConflict) => return Err(ScimError::precondition_failed()),
                Err(e) => return Err(e.into()),
            }
        }
        Err(ScimError::conflict("The user is being modified concurrently; retry the request."))
    }

    /// Recomputes the manager link of `doc`, the next version of `previous` (see [`manager`]): from the ids
    /// `prefetched` with the read when they are for the same name, else by a lookup, unless the write leaves the
    /// manager as it was (a PATCH deactivating the user keeps its link without a lookup).
    async fn link_manager(
        &self,
        cred: &Credential,
        previous: &UserRecord,
        doc: UserDoc,
        prefetched: Option<(&str, Vec<String>)>,
        users_url: &str,
    ) -> Result<UserDoc, ScimError> {
        if manager::is_new_client_value(&previous.doc, &doc) {
            return Ok(manager::without_stale_reference(doc));
        }
        let Some(name) = manager::resolvable_name(&doc) else { return Ok(doc) };
        let ids = match prefetched {
            Some((fetched, ids)) if manager::display_name_key(fetched) == manager::display_name_key(name) => ids,
            _ if manager::same_manager(&previous.doc, &doc) => return Ok(doc),
            _ => self.store.find_user_ids_by_display_name(cred, name, manager::LOOKUP_LIMIT).await?,
        };
        Ok(manager::link(doc, &ids, &previous.id, users_url))
    }
}

/// The shape of a ListResponse, by pagination method.
enum Listed {
    Index { total: u64, start_index: u64 },
    Cursor { total: u64, next: Option<String> },
}

/// The `id` of a rendered user.
fn resource_id(resource: &Value) -> &str {
    resource.get("id").and_then(Value::as_str).unwrap_or_default()
}

/// How a written user is returned: its URL prefix and the requested attributes.
#[derive(Clone, Copy)]
struct Render<'a> {
    users_url: &'a str,
    projection: Option<&'a Projection>,
}

impl Render<'_> {
    fn user(self, record: UserRecord) -> ScimResponse {
        ScimResponse::user(200, record, self.users_url, self.projection)
    }
}

/// The conditional write to apply to the current version of a user.
enum Write<'a> {
    /// Replace the document by the one derived from the current record; `manager_name`, when known before the
    /// read (PUT), is looked up with it.
    Replace {
        change: &'a (dyn Fn(&UserRecord) -> Result<UserDoc, ScimError> + Sync),
        manager_name: Option<&'a str>,
    },
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
    if path == "/.search" {
        return Some(Route::Search);
    }
    let rest = path.strip_prefix("/Users")?;
    match rest {
        "" => Some(Route::Users),
        "/.search" => Some(Route::Search),
        _ => {
            let id = rest.strip_prefix('/')?;
            (!id.is_empty() && !id.contains('/')).then_some(Route::User(id))
        }
    }
}

fn check_if_match(if_match: Option<&str>, current: &UserRecord) -> Result<(), ScimError> {
    match if_match {
        Some(header) if !etag_matches(header, current) => Err(ScimError::precondition_failed()),
        _ => Ok(()),
    }
}

/// Whether an `If-Match` or `If-None-Match` header (a list of entity tags, or `*`) names the current version, by
/// weak comparison.
fn etag_matches(header: &str, current: &UserRecord) -> bool {
    etag_header_matches(header, &current.etag())
}

/// Whether an `If-Match`/`If-None-Match` header names `current_tag` (weakly) or is `*`.
fn etag_header_matches(header: &str, current_tag: &str) -> bool {
    let strip_weak = |t: &str| t.trim().trim_start_matches("W/").to_string();
    header.split(',').any(|t| t.trim() == "*" || strip_weak(t) == strip_weak(current_tag))
}

/// A stored user rendered as text; a document that is not JSON is the server's fault.
fn render_stored(user: StoredUser, users_url: &str) -> Result<String, ScimError> {
    let id = user.id.clone();
    user.render(users_url).map_err(|e| {
        tracing::error!(user = id, error = %e, "stored user is not JSON");
        ScimError::internal()
    })
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
    // One strict parser at the door (duplicate or case-variant member names, lone surrogates, depth), then the
    // string hygiene of every string value (control characters, noncharacters), before any validation.
    let body = fd_input::parse_scim(req.body).map_err(|e| ScimError::invalid_syntax(e.to_string()))?;
    check_strings(&body).map_err(|e| ScimError::invalid_value(e.to_string()))?;
    Ok(body)
}

/// String hygiene over a request document; a PATCH operation's value is checked under the attribute its `path`
/// names, so that the error names the attribute.
fn check_strings(body: &Value) -> Result<(), fd_input::TextError> {
    let multiline = fd_input::is_multiline_attribute;
    match body.get("Operations").and_then(Value::as_array) {
        Some(operations) => {
            for operation in operations {
                let path = operation.get("path").and_then(Value::as_str).unwrap_or_default();
                fd_input::check_string("path", path, false)?;
                if let Some(op) = operation.get("op").and_then(Value::as_str) {
                    fd_input::check_string("op", op, false)?;
                }
                if let Some(value) = operation.get("value") {
                    fd_input::check_json_strings(value, path, multiline)?;
                }
            }
            Ok(())
        }
        None => fd_input::check_json_strings(body, "", multiline),
    }
}

/// Maps a store failure to the client's view of it.
impl From<StoreError> for ScimError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unauthorized => ScimError::unauthorized(),
            StoreError::NotFound => ScimError::not_found("No such user in this directory."),
            StoreError::Conflict => ScimError::conflict("The resource exists already."),
            StoreError::UserNameTaken => ScimError::uniqueness("Another user of this directory has this userName."),
            StoreError::VersionConflict => {
                ScimError::conflict("The user was modified concurrently; retry the request.")
            }
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
}

#[cfg(test)]
mod tests;
