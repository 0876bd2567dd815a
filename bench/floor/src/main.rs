//! `scim-floor`: the HTTP floor for `bench/floor.sh`.
//!
//! The least a server can do for `scim-loadgen`'s SCIM mix and still pass every one of its checks:
//! hyper 1 (HTTP/1.1, keep-alive, `TCP_NODELAY`, as `fd-local` serves) on one thread (a current-thread tokio
//! runtime, every connection a local task), the Bearer token compared as a string, and canned responses of
//! about the size of `fd-local`'s with only the `id`, `userName` and location spliced in:
//!
//! - `POST {base}/Users` — finds the `"userName":"…"` value by scanning the body (no JSON parsing), assigns
//!   an id, remembers id → userName and userName → id, answers 201 with the canned user, `Location`, `ETag`;
//! - `GET {base}/Users/{id}`, `PUT` and `PATCH` of it — 200 with the canned user (the request body is read
//!   in full and ignored);
//! - `GET {base}/Users?filter=userName eq "x"` — percent-decodes the query, looks the name up, answers the
//!   canned ListResponse (`totalResults` 1, or 0 when there is no such user);
//! - anything else — 404 (401 without the right token, 400 for a body without a userName or another
//!   filter, 409 for a userName already taken).
//!
//! No storage, no validation, no logging: what is left is the HTTP and the bytes. It is a measuring stick,
//! not a server (the userName is kept as it appears in the JSON, escapes and all).
//!
//! Usage: `scim-floor --addr 127.0.0.1:PORT --token TOKEN [--base /scim/v2]`

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::cell::RefCell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::rc::Rc;
use tokio::net::TcpListener;

const SCIM_JSON: &str = "application/scim+json";

/// The canned user, as `fd-local` renders the Okta-style user `scim-loadgen` creates (same attributes, same
/// order, same size within a few bytes), cut where the id, the userName and the location go.
const USER_HEAD: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":""#;
const USER_AFTER_ID: &str = r#"","userName":""#;
const USER_AFTER_NAME: &str = r#"","externalId":"00u000000000001","name":{"givenName":"Bob","familyName":"Smith"},"displayName":"Bob Smith","nickName":"Bob","profileUrl":"https://intranet.example.com/people/1","emails":[{"value":""#;
const USER_AFTER_EMAIL: &str = r#"","type":"work","primary":true},{"value":"bob.smith1@home.example.org","type":"other","primary":false}],"phoneNumbers":[{"value":"+1-555-0001","type":"work"},{"value":"+1-555-0002","type":"mobile"}],"addresses":[{"type":"work","streetAddress":"100 Main Street","locality":"San Francisco","region":"CA","postalCode":"94105","country":"US","primary":true}],"preferredLanguage":"en-US","locale":"en-US","timezone":"America/Los_Angeles","userType":"Employee","title":"Engineer","active":true,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E0000001","costCenter":"CC-100","division":"Operations","department":"Platform","manager":{"displayName":"Pat Manager"}},"meta":{"resourceType":"User","created":"2026-12-05T18:02:54.031Z","lastModified":"2026-12-05T18:02:54.031Z","location":""#;
const USER_TAIL: &str = r#"","version":"W/\"1\""}}"#;

const LIST_HEAD: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":["#;
const LIST_TAIL: &str = "]}";
const LIST_EMPTY: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}"#;

const ERR_401: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401","detail":"A valid Bearer access key is required."}"#;
const ERR_404: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"No such user in this directory."}"#;
const ERR_400_BODY: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidValue","detail":"userName is required."}"#;
const ERR_400_FILTER: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"Only userName eq \"…\" is served here."}"#;
const ERR_409: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName is already taken."}"#;

struct Floor {
    /// `Bearer <token>`, compared byte for byte with the Authorization header.
    auth: Vec<u8>,
    /// `{base}/Users`.
    users_path: String,
    /// `http://{addr}{base}/Users/`: the start of every location.
    location_prefix: String,
    state: RefCell<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// id → userName.
    names: HashMap<String, String>,
    /// userName → id.
    ids: HashMap<String, String>,
}

impl Floor {
    fn user_json(&self, out: &mut Vec<u8>, id: &str, user_name: &str) {
        out.extend_from_slice(USER_HEAD.as_bytes());
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(USER_AFTER_ID.as_bytes());
        out.extend_from_slice(user_name.as_bytes());
        out.extend_from_slice(USER_AFTER_NAME.as_bytes());
        out.extend_from_slice(user_name.as_bytes());
        out.extend_from_slice(USER_AFTER_EMAIL.as_bytes());
        out.extend_from_slice(self.location_prefix.as_bytes());
        out.extend_from_slice(id.as_bytes());
        out.extend_from_slice(USER_TAIL.as_bytes());
    }

    fn user_response(&self, status: StatusCode, id: &str, user_name: &str, location: bool) -> Response<Full<Bytes>> {
        let mut body = Vec::with_capacity(1400);
        self.user_json(&mut body, id, user_name);
        let mut response = scim(status, Bytes::from(body));
        let headers = response.headers_mut();
        headers.insert(header::ETAG, HeaderValue::from_static("W/\"1\""));
        if location {
            let mut loc = String::with_capacity(self.location_prefix.len() + id.len());
            loc.push_str(&self.location_prefix);
            loc.push_str(id);
            if let Ok(value) = HeaderValue::from_str(&loc) {
                headers.insert(header::LOCATION, value);
            }
        }
        response
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let authorized =
            request.headers().get(header::AUTHORIZATION).is_some_and(|v| v.as_bytes() == self.auth.as_slice());
        if !authorized {
            let mut response = canned(StatusCode::UNAUTHORIZED, ERR_401);
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"Federated Directory\""));
            return response;
        }
        let (parts, body) = request.into_parts();
        let Some(rest) = parts.uri.path().strip_prefix(self.users_path.as_str()) else {
            return canned(StatusCode::NOT_FOUND, ERR_404);
        };
        if rest.is_empty() || rest == "/" {
            return match parts.method {
                Method::GET => self.filter(parts.uri.query().unwrap_or("")),
                Method::POST => match body.collect().await {
                    Ok(collected) => self.create(&collected.to_bytes()),
                    Err(_) => canned(StatusCode::BAD_REQUEST, ERR_400_BODY),
                },
                _ => canned(StatusCode::NOT_FOUND, ERR_404),
            };
        }
        let id = &rest[1..];
        if !rest.starts_with('/') || id.contains('/') {
            return canned(StatusCode::NOT_FOUND, ERR_404);
        }
        match parts.method {
            Method::GET => {}
            // The body is read in full (as any server must) and ignored.
            Method::PUT | Method::PATCH => {
                if body.collect().await.is_err() {
                    return canned(StatusCode::BAD_REQUEST, ERR_400_BODY);
                }
            }
            _ => return canned(StatusCode::NOT_FOUND, ERR_404),
        }
        let state = self.state.borrow();
        match state.names.get(id) {
            Some(user_name) => self.user_response(StatusCode::OK, id, user_name, false),
            None => canned(StatusCode::NOT_FOUND, ERR_404),
        }
    }

    fn create(&self, body: &[u8]) -> Response<Full<Bytes>> {
        let Some(user_name) = find_user_name(body) else {
            return canned(StatusCode::BAD_REQUEST, ERR_400_BODY);
        };
        let mut state = self.state.borrow_mut();
        if state.ids.contains_key(user_name) {
            return canned(StatusCode::CONFLICT, ERR_409);
        }
        state.next_id += 1;
        let n = state.next_id;
        // The shape of a UUID (36 characters), as fd-local's ids.
        let id = format!("f100f100-0000-4000-8000-{n:012x}");
        state.names.insert(id.clone(), user_name.to_string());
        state.ids.insert(user_name.to_string(), id.clone());
        drop(state);
        self.user_response(StatusCode::CREATED, &id, user_name, true)
    }

    fn filter(&self, query: &str) -> Response<Full<Bytes>> {
        let Some(raw) = query.split('&').find_map(|pair| pair.strip_prefix("filter=")) else {
            return canned(StatusCode::BAD_REQUEST, ERR_400_FILTER);
        };
        let filter = percent_decode(raw);
        let Some(user_name) = filter.strip_prefix("userName eq \"").and_then(|s| s.strip_suffix('"')) else {
            return canned(StatusCode::BAD_REQUEST, ERR_400_FILTER);
        };
        let state = self.state.borrow();
        let Some(id) = state.ids.get(user_name) else {
            return canned(StatusCode::OK, LIST_EMPTY);
        };
        let mut body = Vec::with_capacity(1550);
        body.extend_from_slice(LIST_HEAD.as_bytes());
        self.user_json(&mut body, id, user_name);
        body.extend_from_slice(LIST_TAIL.as_bytes());
        scim(StatusCode::OK, Bytes::from(body))
    }
}

/// The value of the first `"userName"` member of a JSON body, found by scanning (whitespace around the colon
/// allowed; the value runs to the next unescaped quote and is returned as written).
fn find_user_name(body: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"userName\"";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let mut i = start;
    while body.get(i)?.is_ascii_whitespace() {
        i += 1;
    }
    if body[i] != b':' {
        return None;
    }
    i += 1;
    while body.get(i)?.is_ascii_whitespace() {
        i += 1;
    }
    if body[i] != b'"' {
        return None;
    }
    let value_start = i + 1;
    let mut j = value_start;
    loop {
        match *body.get(j)? {
            b'"' => break,
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    let value = std::str::from_utf8(&body[value_start..j]).ok()?;
    (!value.is_empty()).then_some(value)
}

/// `application/x-www-form-urlencoded` decoding of one query value (`%XX` and `+`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn scim(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

fn canned(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    scim(status, Bytes::from_static(body.as_bytes()))
}

const USAGE: &str = "usage: scim-floor --addr 127.0.0.1:PORT --token TOKEN [--base /scim/v2]";

fn main() {
    let mut addr = None;
    let mut token = None;
    let mut base = "/scim/v2".to_string();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            return;
        }
        let Some(value) = args.next() else {
            eprintln!("scim-floor: {flag} needs a value\n{USAGE}");
            std::process::exit(2);
        };
        match flag.as_str() {
            "--addr" => addr = Some(value),
            "--token" => token = Some(value),
            "--base" => base = value.trim_end_matches('/').to_string(),
            _ => {
                eprintln!("scim-floor: unknown flag {flag}\n{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let (Some(addr), Some(token)) = (addr, token) else {
        eprintln!("scim-floor: --addr and --token are required\n{USAGE}");
        std::process::exit(2);
    };
    let floor = Rc::new(Floor {
        auth: format!("Bearer {token}").into_bytes(),
        users_path: format!("{base}/Users"),
        location_prefix: format!("http://{addr}{base}/Users/"),
        state: RefCell::new(State::default()),
    });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let listener = TcpListener::bind(&addr).await.unwrap_or_else(|e| {
            eprintln!("scim-floor: bind {addr}: {e}");
            std::process::exit(1);
        });
        eprintln!("scim-floor: listening on {addr}, one thread");
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            let floor = Rc::clone(&floor);
            tokio::task::spawn_local(async move {
                let service = service_fn(move |request| {
                    let floor = Rc::clone(&floor);
                    async move { Ok::<_, Infallible>(floor.handle(request).await) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_user_name() {
        assert_eq!(find_user_name(br#"{"active":true,"userName":"a@b.c","x":1}"#), Some("a@b.c"));
        assert_eq!(find_user_name(br#"{"userName" : "a\"b"}"#), Some(r#"a\"b"#));
        assert_eq!(find_user_name(br#"{"userName":""}"#), None);
        assert_eq!(find_user_name(br#"{"userName":"open"#), None);
        assert_eq!(find_user_name(br#"{"name":"x"}"#), None);
    }

    #[test]
    fn decodes_the_filter() {
        assert_eq!(percent_decode("userName%20eq%20%22a%40b.c%22"), "userName eq \"a@b.c\"");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
    }

    #[test]
    fn canned_user_is_about_fd_locals_size() {
        let floor = Floor {
            auth: Vec::new(),
            users_path: "/scim/v2/Users".into(),
            location_prefix: "http://127.0.0.1:38411/scim/v2/Users/".into(),
            state: RefCell::new(State::default()),
        };
        let mut out = Vec::new();
        floor.user_json(&mut out, "52be9a2d-3652-479a-8d57-81b23fdf0fdc", "t.user1@example.com");
        // fd-local answered 1316 bytes for this user.
        assert_eq!(out.len(), 1316);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(r#""id":"52be9a2d-3652-479a-8d57-81b23fdf0fdc","userName":"t.user1@example.com""#));
    }
}
