//! Glue between `lambda_http` and [`ScimService`]: the same code serves API Gateway events in Lambda and
//! requests in `fd-local`.

use crate::scim::error::ScimError;
use crate::service::{ScimRequest, ScimResponse, ScimService};
use lambda_http::http::header::{
    AUTHORIZATION, CONTENT_TYPE, ETAG, HOST, HeaderMap, HeaderValue, IF_MATCH, IF_NONE_MATCH, LOCATION, RETRY_AFTER,
    WWW_AUTHENTICATE,
};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use std::time::Instant;
use tracing::Instrument;

/// Path prefix of the SCIM API.
pub const SCIM_BASE_PATH: &str = "/scim/v2";
/// Media type of every SCIM response.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// `Retry-After` (seconds) of every `503`: a dependency (DynamoDB, Secrets Manager) or the server itself is
/// briefly unavailable, and the SDK's own retries within the request have been spent.
pub const RETRY_AFTER_SECONDS: &str = "1";

/// Serves a request routed to the function for `verb` (API Gateway routes one method to each function).
pub async fn handle_scim(service: &ScimService, verb: Method, request: Request) -> Response<Body> {
    let request_id = request_id(&request);
    let span = tracing::info_span!("request", request_id = request_id.as_str());
    async move {
        let started = Instant::now();
        let method = request.method();
        let path = request.uri().path();
        let response = if method != verb {
            render(ScimResponse::error(&ScimError::method_not_allowed()))
        } else {
            match (path.strip_prefix(SCIM_BASE_PATH), strict_query(request.uri().query().unwrap_or_default())) {
                (Some(_), Err(error)) => render(ScimResponse::error(&error)),
                (Some(scim_path), Ok(query)) if scim_path.is_empty() || scim_path.starts_with('/') => {
                    render(service.handle(scim_request(&request, scim_path, query)).await)
                }
                _ => render(ScimResponse::error(&ScimError::not_found("Not a SCIM endpoint."))),
            }
        };
        tracing::info!(
            method = method.as_str(),
            path,
            status = response.status().as_u16(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "scim request"
        );
        response
    }
    .instrument(span)
    .await
}

fn scim_request<'a>(request: &'a Request, scim_path: &'a str, query: Vec<(String, String)>) -> ScimRequest<'a> {
    let headers = request.headers();
    ScimRequest {
        method: request.method().clone(),
        path: scim_path,
        query,
        authorization: single_header(headers, AUTHORIZATION.as_str()),
        content_type: header(headers, CONTENT_TYPE.as_str()),
        if_match: header(headers, IF_MATCH.as_str()),
        if_none_match: header(headers, IF_NONE_MATCH.as_str()),
        body: request.body().as_ref(),
        base_url: origin(request) + SCIM_BASE_PATH,
    }
}

/// A header that must appear at most once: a repeated one reads as empty (and so fails whatever checks it), never as
/// whichever copy came first.
fn single_header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some("");
    }
    first.to_str().ok()
}

/// Decodes a query string (`application/x-www-form-urlencoded`) strictly: a name or value whose percent-decoding is
/// not UTF-8 is refused (400, `invalidFilter` for `filter`), never replaced by U+FFFD.
pub fn strict_query(query: &str) -> Result<Vec<(String, String)>, ScimError> {
    let mut pairs = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |text: &str| -> Option<String> {
            let spaced = text.replace('+', " ");
            String::from_utf8(percent_encoding::percent_decode_str(&spaced).collect()).ok()
        };
        let Some(name) = decode(name) else {
            return Err(ScimError::invalid_value("A query parameter name is not UTF-8 once percent-decoded."));
        };
        let Some(value) = decode(value) else {
            let detail = format!("The \"{name}\" parameter is not UTF-8 once percent-decoded.");
            return Err(if name.eq_ignore_ascii_case("filter") {
                ScimError::invalid_filter(detail)
            } else {
                ScimError::invalid_value(detail)
            });
        };
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// `scheme://host[:port]` of the request as the client addressed it.
pub fn origin(request: &Request) -> String {
    let uri = request.uri();
    let (scheme, authority) = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => (scheme, authority.as_str()),
        _ => (
            header(request.headers(), "x-forwarded-proto").unwrap_or("https"),
            header(request.headers(), HOST.as_str()).unwrap_or("localhost"),
        ),
    };
    let mut origin = String::with_capacity(scheme.len() + authority.len() + 3 + SCIM_BASE_PATH.len());
    origin.push_str(scheme);
    origin.push_str("://");
    origin.push_str(authority);
    origin
}

/// The Lambda request id, else the caller's `x-request-id`, else a fresh one.
pub fn request_id(request: &Request) -> String {
    if let Some(context) = request.lambda_context_ref() {
        if !context.request_id.is_empty() {
            return context.request_id.clone();
        }
    }
    header(request.headers(), "x-request-id")
        .filter(|id| id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .unwrap_or_else(|| {
            crate::auth::random_uuid().hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).to_owned()
        })
}

/// Renders a SCIM response; a body already rendered as text is moved, not copied.
pub fn render(mut response: ScimResponse) -> Response<Body> {
    let has_body = response.has_body();
    let mut out = Response::new(match (response.text.take(), &response.body) {
        (Some(text), _) => Body::Text(text),
        (None, Some(body)) => Body::Text(serde_json::to_string(body).unwrap_or_default()),
        (None, None) => Body::Empty,
    });
    *out.status_mut() = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    if has_body {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_CONTENT_TYPE));
    }
    if let Some(location) = response.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        headers.insert(LOCATION, location);
    }
    if let Some(etag) = response.etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
        headers.insert(ETAG, etag);
    }
    if response.www_authenticate {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"Federated Directory\""));
    }
    if response.status == 503 {
        headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_strictly() {
        let pairs = strict_query("filter=userName%20eq%20%22ada%22&count=2&a+b=c+d&empty").unwrap_or_default();
        assert_eq!(
            pairs,
            [
                ("filter".to_string(), "userName eq \"ada\"".to_string()),
                ("count".into(), "2".into()),
                ("a b".into(), "c d".into()),
                ("empty".into(), String::new())
            ]
        );
        let bad = strict_query("filter=userName%20eq%20%22%FF%22").unwrap_err();
        assert_eq!((bad.status, bad.scim_type.map(|t| t.as_str())), (400, Some("invalidFilter")));
        assert_eq!(strict_query("count=%C3").unwrap_err().scim_type.map(|t| t.as_str()), Some("invalidValue"));
        assert!(strict_query("%FF=1").is_err());
        assert_eq!(strict_query("q=%C3%A9").unwrap_or_default()[0].1, "é");
    }

    #[test]
    fn unavailable_says_when_to_retry() {
        let response = render(ScimResponse::error(&ScimError::unavailable()));
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()), Some(RETRY_AFTER_SECONDS));
        let internal = render(ScimResponse::error(&ScimError::internal()));
        assert!(internal.headers().get(RETRY_AFTER).is_none());
    }
}
