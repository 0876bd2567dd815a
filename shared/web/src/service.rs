//! One web request: route it, check the session where the route needs one, and answer a page, JSON, a redirect,
//! an asset or a vCard. No I/O here but the store and the sign-in service it is given.

use std::sync::Arc;

use fd_search::{Filters, Query};
use fd_shared::store::{AddressBookStore, SignInStore, Store, StoreError};
use fd_signin::{SignInService, SignedIn};
use time::OffsetDateTime;

use crate::assets::Asset;
use crate::book::{Books, CompanyBook, SharedBook};
use crate::pages;

/// The parts of a request the web function reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct WebRequest<'a> {
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path, percent-encoded as received.
    pub path: &'a str,
    /// Query string (without `?`), possibly empty.
    pub query: &'a str,
    /// The `Cookie` header.
    pub cookie: Option<&'a str>,
    /// The `Content-Type` header.
    pub content_type: Option<&'a str>,
    /// The body.
    pub body: &'a [u8],
}

/// What to answer; [`crate::http`] adds the headers every answer carries.
#[derive(Debug, Clone, PartialEq)]
pub enum WebResponse {
    /// An HTML page.
    Page { status: u16, html: String, set_cookies: Vec<String> },
    /// JSON (the API).
    Json { status: u16, body: serde_json::Value },
    /// `303 See Other`.
    Redirect { location: String, set_cookies: Vec<String> },
    /// An embedded asset.
    Asset(&'static Asset),
    /// A contact's vCard.
    VCard { file_name: String, body: String },
}

/// Cookie remembering the company a browser signed in to, so that an expired session is sent back to its
/// company's sign-in page. Not secret: a short name is public.
pub const COMPANY_COOKIE: &str = "fd_company";

/// Longest value of one filter parameter (the attribute limit of a provisioned value).
const MAX_FILTER_CHARS: usize = 4096;

/// Longest `next` path kept across sign-in.
const MAX_NEXT_LEN: usize = 512;

/// The address book over a store, with sign-in's sessions.
pub struct WebService {
    book_store: Arc<dyn AddressBookStore>,
    sign_in_store: Arc<dyn SignInStore>,
    sign_in: Arc<SignInService>,
    books: Books,
}

/// Why a signed-in request could not be answered normally.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("sign-in unavailable")]
    SignIn(#[from] fd_signin::SignInUnavailable),
}

impl WebService {
    /// The address book over `store`, using `sign_in`'s sessions.
    pub fn new(store: Arc<dyn Store>, sign_in: Arc<SignInService>) -> Self {
        let users_url = sign_in.endpoints().users_url();
        Self { book_store: store.clone(), sign_in_store: store.clone(), books: Books::new(store, users_url), sign_in }
    }

    /// Answers one request.
    pub async fn handle(&self, request: WebRequest<'_>, now: OffsetDateTime) -> WebResponse {
        match self.dispatch(request, now).await {
            Ok(response) => response,
            Err(failure) => {
                tracing::error!(reason = %failure, path = request.path, "web request failed");
                if request.path.starts_with("/api/") {
                    api_error(503, "The address book is temporarily unavailable; try again.")
                } else {
                    pages::error(503, "The address book is temporarily unavailable", "Please try again in a moment.")
                }
            }
        }
    }

    async fn dispatch(&self, request: WebRequest<'_>, now: OffsetDateTime) -> Result<WebResponse, Failure> {
        let params = Params::parse(request.query);
        match (request.method, request.path) {
            ("GET", path) if path.starts_with("/assets/") => {
                return Ok(crate::assets::find(&path["/assets/".len()..])
                    .map(WebResponse::Asset)
                    .unwrap_or_else(|| pages::error(404, "Not found", "There is no such page.")));
            }
            ("GET", "/of") => return self.sign_in_start(&params).await,
            ("GET", path) if path.starts_with("/of/") => {
                return self.company_sign_in(&path["/of/".len()..], &params).await;
            }
            _ => {}
        }
        let Some(route) = Route::of(request.method, request.path) else {
            return Ok(if request.path.starts_with("/api/") {
                api_error(404, "No such endpoint.")
            } else {
                pages::error(404, "Not found", "There is no such page.")
            });
        };
        let Some((signed_in, book)) = self.signed_in_book(&request, now).await? else {
            return Ok(not_signed_in(&request));
        };
        // A page renders under the book's read lock, taken after the last store read of its arm.
        Ok(match route {
            Route::Search => match search_query(&params, fd_search::MAX_PAGE_SIZE) {
                Ok(query) => pages::search::page(&crate::book::read(&book), &signed_in, &query),
                Err(message) => pages::error(400, "That search is too long", message),
            },
            Route::Contact(id) => {
                let book = crate::book::read(&book);
                match book.contact(id) {
                    Some(contact) => pages::contact::page(&book, &signed_in, contact),
                    None => no_such_person(),
                }
            }
            Route::VCard(id) => match crate::book::read(&book).contact(id) {
                Some(contact) => WebResponse::VCard {
                    file_name: fd_contacts::vcard_file_name(contact),
                    body: fd_contacts::vcard(contact),
                },
                None => no_such_person(),
            },
            Route::Account => {
                let sessions = self.sign_in.sessions_of(&signed_in, now).await?;
                pages::account::page(&crate::book::read(&book), &signed_in, &sessions)
            }
            Route::SignOut => {
                if !csrf_ok(&request, &signed_in) {
                    return Ok(form_expired());
                }
                self.sign_in.end_session(&signed_in, &signed_in.session.id_hash()).await?;
                WebResponse::Redirect {
                    location: format!("/of/{}", crate::book::read(&book).company.short_name),
                    set_cookies: vec![fd_signin::session::clear_cookie()],
                }
            }
            Route::EndSession(id_hash) => {
                if !csrf_ok(&request, &signed_in) {
                    return Ok(form_expired());
                }
                self.sign_in.end_session(&signed_in, id_hash).await?;
                WebResponse::Redirect { location: "/account".into(), set_cookies: Vec::new() }
            }
            Route::ApiContacts => match search_query(&params, fd_search::MAX_PAGE_SIZE) {
                Ok(query) => crate::api::contacts(&crate::book::read(&book), &query),
                Err(message) => api_error(400, message),
            },
            Route::ApiFacets => match search_query(&params, 0) {
                Ok(query) => crate::api::facets(&crate::book::read(&book), &query),
                Err(message) => api_error(400, message),
            },
            Route::ApiContact(id) => {
                let book = crate::book::read(&book);
                match book.contact(id) {
                    Some(contact) => crate::api::contact(&book, contact),
                    None => api_error(404, "No such person."),
                }
            }
        })
    }

    /// The request's signed-in user and their company's current book, or `None` when not signed in. Warm, this is
    /// one store round trip: the session, its user and the company's users versions, read together
    /// ([`AddressBookStore::session_and_versions`]); the book then reads only the users written since it last
    /// looked.
    async fn signed_in_book(
        &self,
        request: &WebRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<Option<(SignedIn, SharedBook)>, Failure> {
        let Some(opened) = self.sign_in.open_session(request.cookie, now).await? else {
            return Ok(None);
        };
        let Some(company_key) = self.books.company_of(opened.directory()).await? else {
            return Ok(None);
        };
        let layout = self.books.layout(&company_key).await?;
        let read =
            self.book_store.session_and_versions(&opened.lookup(now), &layout.directories, &layout.known).await?;
        let Some(signed_in) = self.sign_in.admit(opened, read.session, read.user, now).await? else {
            return Ok(None);
        };
        let book = self.books.current(&layout, &read.versions).await?;
        Ok(Some((signed_in, book)))
    }

    /// `GET /of`: which company? (`?company=` goes on to its page.)
    async fn sign_in_start(&self, params: &Params) -> Result<WebResponse, Failure> {
        let next = params.get("next").and_then(safe_next);
        match params.get("company").map(str::trim) {
            Some(company) if fd_shared::company::is_company_key(company) => Ok(WebResponse::Redirect {
                location: format!("/of/{}{}", company, next_query(next)),
                set_cookies: Vec::new(),
            }),
            Some(_) => Ok(pages::signin::start(Some("That is not a company's short name."), next)),
            None => Ok(pages::signin::start(None, next)),
        }
    }

    /// `GET /of/{company}`: the company's sign-in page, one button per directory with sign-in configured.
    async fn company_sign_in(&self, short_name: &str, params: &Params) -> Result<WebResponse, Failure> {
        let company = if fd_shared::company::is_company_key(short_name) {
            self.book_store.find_company(short_name).await?
        } else {
            None
        };
        let Some(company) = company else {
            return Ok(pages::error(
                404,
                "No such company",
                "Check the short name your company gave you, or ask your administrator.",
            ));
        };
        let key = fd_shared::company::fold(&company.short_name);
        let mut with_sign_in = Vec::new();
        for directory in self.book_store.company_directories(&key).await? {
            if self.sign_in_store.sign_in_config(&directory.id).await?.is_some() {
                with_sign_in.push(directory);
            }
        }
        let next = params.get("next").and_then(safe_next);
        let mut response = pages::signin::company(&company, &with_sign_in, next);
        if let WebResponse::Page { set_cookies, .. } = &mut response {
            set_cookies.push(format!(
                "{COMPANY_COOKIE}={}; Max-Age=31536000; Path=/; HttpOnly; Secure; SameSite=Lax",
                company.short_name
            ));
        }
        Ok(response)
    }
}

/// The routes behind the session.
enum Route<'a> {
    Search,
    Contact(&'a str),
    VCard(&'a str),
    Account,
    SignOut,
    EndSession(&'a str),
    ApiContacts,
    ApiFacets,
    ApiContact(&'a str),
}

impl<'a> Route<'a> {
    fn of(method: &str, path: &'a str) -> Option<Self> {
        let segment = |rest: &'a str| Some(rest).filter(|s| !s.is_empty() && !s.contains('/'));
        match method {
            "GET" => match path {
                "/" => Some(Route::Search),
                "/account" => Some(Route::Account),
                "/api/contacts" => Some(Route::ApiContacts),
                "/api/facets" => Some(Route::ApiFacets),
                _ => {
                    if let Some(rest) = path.strip_prefix("/api/contacts/") {
                        segment(rest).map(Route::ApiContact)
                    } else if let Some(rest) = path.strip_prefix("/contacts/") {
                        match rest.strip_suffix(".vcf") {
                            Some(id) => segment(id).map(Route::VCard),
                            None => segment(rest).map(Route::Contact),
                        }
                    } else {
                        None
                    }
                }
            },
            "POST" => match path {
                "/signout" => Some(Route::SignOut),
                _ => path
                    .strip_prefix("/account/sessions/")
                    .and_then(|rest| rest.strip_suffix("/end"))
                    .and_then(segment)
                    .map(Route::EndSession),
            },
            _ => None,
        }
    }
}

/// Without a valid session: 401 JSON for the API, else back to sign-in, keeping the page asked for.
fn no_such_person() -> WebResponse {
    pages::error(404, "No such person", "This person is not in your company's address book.")
}

fn form_expired() -> WebResponse {
    pages::error(403, "That form has expired", "Go back, reload the page and try again.")
}

fn not_signed_in(request: &WebRequest<'_>) -> WebResponse {
    if request.path.starts_with("/api/") {
        return api_error(401, "Sign in first.");
    }
    let requested =
        if request.query.is_empty() { request.path.to_string() } else { format!("{}?{}", request.path, request.query) };
    let next = if request.method == "GET" { safe_next(&requested) } else { None };
    let company = request
        .cookie
        .into_iter()
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COMPANY_COOKIE)
        .map(|(_, value)| value)
        .filter(|value| fd_shared::company::is_company_key(value));
    let location = match company {
        Some(company) => format!("/of/{company}{}", next_query(next)),
        None => format!("/of{}", next_query(next)),
    };
    WebResponse::Redirect { location, set_cookies: vec![fd_signin::session::clear_cookie()] }
}

/// A path to return to after sign-in: same-origin and relative only (`/x`, never `//host` or `/\host`).
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= MAX_NEXT_LEN
        && !next.chars().any(|c| c.is_control() || c == '\\')
        && !next.starts_with("/of")
        && next != "/";
    ok.then_some(next)
}

fn next_query(next: Option<&str>) -> String {
    match next {
        Some(next) => format!("?next={}", form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()),
        None => String::new(),
    }
}

fn csrf_ok(request: &WebRequest<'_>, signed_in: &SignedIn) -> bool {
    let is_form = request
        .content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
    is_form
        && form_urlencoded::parse(request.body)
            .find(|(name, _)| name == "csrf")
            .is_some_and(|(_, token)| signed_in.csrf_matches(&token))
}

/// A JSON error body.
pub fn api_error(status: u16, message: &str) -> WebResponse {
    WebResponse::Json { status, body: serde_json::json!({ "error": message }) }
}

/// The query parameters, decoded.
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a query string.
    pub fn parse(query: &str) -> Self {
        Self(form_urlencoded::parse(query.as_bytes()).into_owned().collect())
    }

    /// The first value of `name`, when not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }
}

/// The search a request asks for: `q`, the filters, `active=true`, `cursor` (an offset), and the page size.
pub fn search_query(params: &Params, limit: usize) -> Result<Query, &'static str> {
    let text = params.get("q").unwrap_or_default().to_string();
    if text.chars().count() > fd_search::MAX_QUERY_CHARS {
        return Err("Search for at most 200 characters.");
    }
    let filter = |name: &str| -> Result<Option<String>, &'static str> {
        match params.get(name) {
            Some(value) if value.chars().count() > MAX_FILTER_CHARS => Err("A filter value is too long."),
            value => Ok(value.map(str::to_string)),
        }
    };
    let filters = Filters {
        given_name: filter("givenName")?,
        family_name: filter("familyName")?,
        title: filter("title")?,
        manager: filter("manager")?,
        division: filter("division")?,
        department: filter("department")?,
        directory: filter("directory")?,
    };
    let offset = match params.get("cursor") {
        Some(cursor) => cursor.parse::<usize>().ok().filter(|o| *o <= 1_000_000).ok_or("That page does not exist.")?,
        None => 0,
    };
    Ok(Query { text, filters, active_only: params.get("active") == Some("true"), offset, limit })
}

/// The company a book belongs to, for page headers.
pub fn company_name(book: &CompanyBook) -> &str {
    &book.company.name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_paths_stay_on_this_site() {
        assert_eq!(safe_next("/contacts/1"), Some("/contacts/1"));
        assert_eq!(safe_next("/?q=ada"), Some("/?q=ada"));
        for bad in ["//evil.example/x", "/\\evil.example", "https://evil.example/", "contacts", "/of/acme", "/", ""] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(600))), None);
    }

    #[test]
    fn routes() {
        assert!(matches!(Route::of("GET", "/"), Some(Route::Search)));
        assert!(matches!(Route::of("GET", "/contacts/abc"), Some(Route::Contact("abc"))));
        assert!(matches!(Route::of("GET", "/contacts/abc.vcf"), Some(Route::VCard("abc"))));
        assert!(matches!(Route::of("GET", "/api/contacts/abc"), Some(Route::ApiContact("abc"))));
        assert!(matches!(Route::of("POST", "/account/sessions/h1/end"), Some(Route::EndSession("h1"))));
        assert!(Route::of("GET", "/contacts/a/b").is_none());
        assert!(Route::of("GET", "/signout").is_none(), "GET never changes state");
        assert!(Route::of("POST", "/").is_none());
    }

    #[test]
    fn search_parameters_are_bounded() {
        let params = Params::parse("q=ada&department=R%26D&active=true&cursor=50");
        let query = search_query(&params, 50).unwrap_or_default();
        assert_eq!(query.text, "ada");
        assert_eq!(query.filters.department.as_deref(), Some("R&D"));
        assert!(query.active_only);
        assert_eq!(query.offset, 50);
        assert!(search_query(&Params::parse(&format!("q={}", "a".repeat(201))), 50).is_err());
        assert!(search_query(&Params::parse(&format!("q={}", "é".repeat(200))), 50).is_ok());
        assert!(search_query(&Params::parse("cursor=x"), 50).is_err());
        assert!(search_query(&Params::parse(&format!("title={}", "t".repeat(5000))), 50).is_err());
    }
}
