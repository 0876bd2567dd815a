//! Glue between `lambda_http` and [`WebService`], and the headers every answer carries: a strict
//! Content-Security-Policy (no inline script or style, nothing from another origin, no framing), `nosniff`, a
//! same-origin referrer, HSTS over HTTPS, and `no-store` on everything but the hashed assets. Bodies are sent
//! compressed with gzip when the request's `Accept-Encoding` accepts it ([`crate::encoding`]), as binary: in
//! Lambda, `lambda_http` hands a binary body to API Gateway base64-encoded (`isBase64Encoded`), and API Gateway
//! sends the bytes.

use lambda_http::http::StatusCode;
use lambda_http::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName,
    HeaderValue, LOCATION, RETRY_AFTER, SET_COOKIE, VARY,
};
use lambda_http::{Body, Request, Response};
use std::time::Instant;
use time::OffsetDateTime;
use tracing::Instrument;

use crate::assets::Asset;
use crate::encoding;
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
        let gzip = encoding::accepts_gzip(header(headers, ACCEPT_ENCODING.as_str()));
        let response = render(service.handle(web, OffsetDateTime::now_utc()).await, https, gzip);
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

/// A body before its content coding.
enum Content {
    Empty,
    Text(String),
    Asset(&'static Asset),
}

/// Renders an answer with its headers; `gzip`: the request accepts gzip.
pub fn render(outcome: WebResponse, https: bool, gzip: bool) -> Response<Body> {
    let (status, content, content_type, cache, cookies, location, disposition) = match outcome {
        WebResponse::Page { status, html, set_cookies } => {
            (status, Content::Text(html), "text/html; charset=utf-8", "no-store", set_cookies, None, None)
        }
        WebResponse::Json { status, body } => {
            (status, Content::Text(body.to_string()), "application/json", "no-store", Vec::new(), None, None)
        }
        WebResponse::Redirect { location, set_cookies } => {
            (303, Content::Empty, "text/plain; charset=utf-8", "no-store", set_cookies, Some(location), None)
        }
        WebResponse::Asset(asset) => (
            200,
            Content::Asset(asset),
            asset.content_type,
            "public, max-age=31536000, immutable",
            Vec::new(),
            None,
            None,
        ),
        WebResponse::VCard { file_name, body } => (
            200,
            Content::Text(body),
            "text/vcard; charset=utf-8",
            "no-store",
            Vec::new(),
            None,
            Some(format!("attachment; filename=\"{file_name}\"")),
        ),
    };
    let negotiated = !matches!(content, Content::Empty);
    let (body, gzipped) = match content {
        Content::Empty => (Body::Empty, false),
        Content::Text(text) => match gzip.then(|| encoding::gzip(text.as_bytes(), encoding::DYNAMIC_LEVEL)).flatten() {
            Some(compressed) => (Body::Binary(compressed), true),
            None => (Body::Text(text), false),
        },
        Content::Asset(asset) => match gzip.then(|| asset.gzipped()).flatten() {
            Some(compressed) => (Body::Binary(compressed.to_vec()), true),
            None => (Body::Binary(asset.body.to_vec()), false),
        },
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == 503 {
        headers.insert(RETRY_AFTER, HeaderValue::from_static(fd_shared::http::RETRY_AFTER_SECONDS));
    }
    if gzipped {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if negotiated {
        // A cache must not give the gzip body to a client that did not ask for it, nor the other way round.
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
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

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    fn page(html: &str) -> WebResponse {
        WebResponse::Page { status: 200, html: html.to_string(), set_cookies: Vec::new() }
    }

    fn header_of(response: &Response<Body>, name: HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    #[test]
    fn pages_are_compressed_when_the_browser_accepts_gzip() {
        let html =
            format!("<!DOCTYPE html><ol>{}</ol>", "<li><a href=\"/contacts/x\">Ada Lovelace</a></li>".repeat(50));
        let response = render(page(&html), false, true);
        assert_eq!(header_of(&response, CONTENT_ENCODING), Some("gzip"));
        assert_eq!(header_of(&response, VARY), Some("accept-encoding"));
        assert_eq!(header_of(&response, CONTENT_TYPE), Some("text/html; charset=utf-8"));
        let Body::Binary(bytes) = response.body() else { panic!("a compressed body is binary") };
        assert!(bytes.len() < html.len() / 5);
        assert_eq!(gunzip(bytes), html.as_bytes());

        let plain = render(page(&html), false, false);
        assert_eq!(header_of(&plain, CONTENT_ENCODING), None);
        assert_eq!(header_of(&plain, VARY), Some("accept-encoding"));
        assert_eq!(plain.body(), &Body::Text(html));
    }

    #[test]
    fn unavailable_answers_say_when_to_come_back() {
        let unavailable = WebResponse::Json { status: 503, body: serde_json::json!({"error": "unavailable"}) };
        let response = render(unavailable, false, false);
        assert_eq!(response.status(), 503);
        assert_eq!(header_of(&response, RETRY_AFTER), Some(fd_shared::http::RETRY_AFTER_SECONDS));
        assert_eq!(header_of(&render(page("<p>ok</p>"), false, false), RETRY_AFTER), None);
    }

    #[test]
    fn small_bodies_and_redirects_go_as_they_are() {
        let json = WebResponse::Json { status: 200, body: serde_json::json!({"total": 0, "contacts": []}) };
        let response = render(json, false, true);
        assert_eq!(header_of(&response, CONTENT_ENCODING), None);
        assert_eq!(header_of(&response, VARY), Some("accept-encoding"));
        assert!(matches!(response.body(), Body::Text(text) if text.contains("\"total\":0")));

        let redirect = render(WebResponse::Redirect { location: "/of".into(), set_cookies: Vec::new() }, false, true);
        assert_eq!(header_of(&redirect, CONTENT_ENCODING), None);
        assert_eq!(header_of(&redirect, VARY), None);
        assert_eq!(redirect.body(), &Body::Empty);
    }

    #[test]
    fn assets_and_vcards_are_compressed_too() {
        let name = crate::assets::styles_path().trim_start_matches("/assets/").to_string();
        let asset = crate::assets::find(&name).unwrap();
        let response = render(WebResponse::Asset(asset), true, true);
        assert_eq!(header_of(&response, CONTENT_ENCODING), Some("gzip"));
        assert_eq!(header_of(&response, CACHE_CONTROL), Some("public, max-age=31536000, immutable"));
        let Body::Binary(bytes) = response.body() else { panic!("assets are binary") };
        assert_eq!(gunzip(bytes), asset.body);
        let plain = render(WebResponse::Asset(asset), true, false);
        assert_eq!(plain.body(), &Body::Binary(asset.body.to_vec()));
        assert_eq!(header_of(&plain, CONTENT_ENCODING), None);

        let card = format!("BEGIN:VCARD\r\nVERSION:4.0\r\nNOTE:{}\r\nEND:VCARD\r\n", "x".repeat(2000));
        let vcard = WebResponse::VCard { file_name: "ada.vcf".into(), body: card.clone() };
        let response = render(vcard, true, true);
        assert_eq!(header_of(&response, CONTENT_ENCODING), Some("gzip"));
        let Body::Binary(bytes) = response.body() else { panic!("a compressed body is binary") };
        assert_eq!(gunzip(bytes), card.as_bytes());
    }
}
