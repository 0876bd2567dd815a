//! Glue between `lambda_http` and [`SignInService`]: the `saml-acs` function and `fd-local` serve the same
//! routes through it.
//!
//! | route                           | operation                    |
//! |---------------------------------|------------------------------|
//! | `POST /saml/{directory}/acs`    | [`SignInService::acs`]       |
//! | `GET /saml/{directory}/login`   | [`SignInService::login`]     |
//! | `GET /saml/{directory}/metadata`| [`SignInService::metadata`]  |
//! | `GET /me`                       | [`SignInService::me`]        |

use crate::service::{METADATA_CONTENT_TYPE, SignInResponse, SignInService};
use fd_shared::http::{RETRY_AFTER_SECONDS, SCIM_CONTENT_TYPE, request_id};
use fd_shared::scim::error::ScimError;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_TYPE, COOKIE, ETAG, HeaderValue, LOCATION, RETRY_AFTER, SET_COOKIE, USER_AGENT,
    WWW_AUTHENTICATE,
};
use lambda_http::{Body, Request, Response};
use std::time::Instant;
use time::OffsetDateTime;
use tracing::Instrument;

/// Whether `method path` is one of the sign-in routes (for a router in front of several functions).
pub fn is_sign_in_route(method: &str, path: &str) -> bool {
    fd_shared::routes::find(method, path).is_some_and(|r| r.function == fd_shared::routes::Function::SamlAcs)
}

enum Route<'a> {
    Acs(&'a str),
    Login(&'a str),
    Metadata(&'a str),
    Me,
}

fn route(path: &str) -> Option<(Route<'_>, &'static str)> {
    if path == "/me" {
        return Some((Route::Me, "GET"));
    }
    let rest = path.strip_prefix("/saml/")?;
    let (directory, endpoint) = rest.split_once('/')?;
    match endpoint {
        "acs" => Some((Route::Acs(directory), "POST")),
        "login" => Some((Route::Login(directory), "GET")),
        "metadata" => Some((Route::Metadata(directory), "GET")),
        _ => None,
    }
}

/// Serves one sign-in request.
pub async fn handle(service: &SignInService, request: Request) -> Response<Body> {
    let span = tracing::info_span!("request", request_id = %request_id(&request));
    async move {
        let started = Instant::now();
        let path = request.uri().path().to_string();
        let response = dispatch(service, &request, &path).await;
        tracing::info!(
            method = %request.method(),
            path = %path,
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "sign-in request"
        );
        response
    }
    .instrument(span)
    .await
}

async fn dispatch(service: &SignInService, request: &Request, path: &str) -> Response<Body> {
    let Some((route, method)) = route(path) else {
        return plain(StatusCode::NOT_FOUND, "Not found.");
    };
    if request.method().as_str() != method {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed.");
        response.headers_mut().insert(ALLOW, HeaderValue::from_static(method));
        return response;
    }
    let headers = request.headers();
    let header = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let now = OffsetDateTime::now_utc();
    let outcome = match route {
        Route::Acs(directory) => {
            let body = request.body().as_ref();
            service.acs(directory, header(CONTENT_TYPE), body, header(COOKIE), header(USER_AGENT), now).await
        }
        Route::Login(directory) => {
            let relay_state = query_param(request, "RelayState");
            service.login(directory, relay_state.as_deref(), now).await
        }
        Route::Metadata(directory) => service.metadata(directory).await,
        Route::Me => service.me(header(COOKIE), now).await,
    };
    render(outcome)
}

fn query_param(request: &Request, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Renders an outcome. Nothing here is cacheable: sign-in responses carry one-time state.
pub fn render(outcome: SignInResponse) -> Response<Body> {
    let mut response = match outcome {
        SignInResponse::Redirect { location, set_cookies } => {
            let mut response = empty(StatusCode::SEE_OTHER);
            if let Ok(location) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(LOCATION, location);
            }
            for cookie in set_cookies.iter().filter_map(|c| HeaderValue::from_str(c).ok()) {
                response.headers_mut().append(SET_COOKIE, cookie);
            }
            response
        }
        SignInResponse::Metadata(xml) => {
            let mut response = Response::new(Body::Text(xml));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(METADATA_CONTENT_TYPE));
            response
        }
        SignInResponse::Me { resource, etag } => {
            let mut response = Response::new(Body::Text(resource.to_string()));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
            if let Ok(etag) = HeaderValue::from_str(&etag) {
                response.headers_mut().insert(ETAG, etag);
            }
            response
        }
        SignInResponse::Unauthenticated => {
            let error = ScimError::unauthorized();
            let mut response = Response::new(Body::Text(error.to_json().to_string()));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Cookie realm=\"Federated Directory\""));
            response
        }
        SignInResponse::Refused { status, message } => {
            let mut response = plain(StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN), message);
            if status == 503 {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
            }
            response
        }
    };
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

fn plain(status: StatusCode, message: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(format!("{message}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response
}
