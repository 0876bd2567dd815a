//! Glue between `lambda_http` and [`WebService`], and the headers every answer carries: a strict
//! Content-Security-Policy (no inline script or style, nothing from another origin, no framing), `nosniff`, a
//! same-origin referrer, HSTS over HTTPS, and `no-store` on everything but the hashed assets.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue, LOCATION, SET_COOKIE,
};
use lambda_http::{Body, Request, Response};
use std::time::Instant;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::service::{WebRequest, WebResponse, WebService};

/// The Content-Security-Policy of every answer.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Serves one web request.
pub async fn handle(service: &WebService, request: Request, https: bool) -> Response<Body> {
    let span = tracing::info_span!("request", request_id = %fd_shared::http::request_id(&request));
    async move {
        let started = Instant::now();
        let headers = request.headers();
        let cookies: Vec<&str> = headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
        let cookie = cookies.join("; ");
        let web = WebRequest {
            method: request.method().as_str(),
            path: request.uri().path(),
            query: request.uri().query().unwrap_or_default(),
            cookie: (!cookie.is_empty()).then_some(cookie.as_str()),
            content_type: header(headers, CONTENT_TYPE.as_str()),
            body: request.body().as_ref(),
        };
        let response = render(service.handle(web, OffsetDateTime::now_utc()).await, https);
        tracing::info!(
            method = %request.method(),
            path = %request.uri().path(),
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "web request"
        );
        response
    }
    .instrument(span)
    .await
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Renders an answer with its headers.
pub fn render(outcome: WebResponse, https: bool) -> Response<Body> {
    let (status, body, content_type, cache, cookies, location, disposition) = match outcome {
        WebResponse::Page { status, html, set_cookies } => {
            (status, Body::Text(html), "text/html; charset=utf-8", "no-store", set_cookies, None, None)
        }
        WebResponse::Json { status, body } => {
            (status, Body::Text(body.to_string()), "application/json", "no-store", Vec::new(), None, None)
        }
        WebResponse::Redirect { location, set_cookies } => {
            (303, Body::Empty, "text/plain; charset=utf-8", "no-store", set_cookies, Some(location), None)
        }
        WebResponse::Asset(asset) => (
            200,
            Body::Binary(asset.body.to_vec()),
            asset.content_type,
            "public, max-age=31536000, immutable",
            Vec::new(),
            None,
            None,
        ),
        WebResponse::VCard { file_name, body } => (
            200,
            Body::Text(body),
            "text/vcard; charset=utf-8",
            "no-store",
            Vec::new(),
            None,
            Some(format!("attachment; filename=\"{file_name}\"")),
        ),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(cache) = HeaderValue::from_str(cache) {
        headers.insert(CACHE_CONTROL, cache);
    }
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(SET_COOKIE, value);
        }
    }
    if let Some(value) = location.and_then(|l| HeaderValue::from_str(&l).ok()) {
        headers.insert(LOCATION, value);
    }
    if let Some(value) = disposition.and_then(|d| HeaderValue::from_str(&d).ok()) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "same-origin"),
        ("x-frame-options", "DENY"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if https {
        headers.insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}
