//! One request: the edge checks ([`fd_shared::edge`]), the route ([`fd_shared::routes`]), the body (read only
//! when the head is acceptable, never more than the route accepts), then the function's own handler through
//! the same `lambda_http` types as in Lambda.

use std::sync::Arc;
use std::time::Duration;

use fd_shared::edge::{self, EdgeRefusal};
use fd_shared::routes::{self, Function};
use fd_shared::scim::error::ScimError;
use fd_shared::service::ScimService;
use fd_signin::SignInService;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use lambda_http::http::{self, StatusCode, Version, header};
use lambda_http::{Body, Response};
use tokio::sync::Semaphore;

/// Everything `fd-local` serves, and the limits it serves it under.
pub struct Services {
    /// The SCIM functions' service.
    pub scim: ScimService,
    /// The sign-in function's service.
    pub sign_in: Arc<SignInService>,
    /// The web function's service (the address book).
    pub web: fd_web::WebService,
    /// Whether the public URL is HTTPS (the address book then sends HSTS).
    pub https: bool,
    /// The development IdP, with `--dev-idp`.
    pub dev_idp: Option<crate::dev_idp::LocalIdp>,
    /// The public URL's origin: the scheme and authority every handler sees, whatever the client's `Host`.
    pub public_origin: PublicOrigin,
    /// Request bodies held in memory at once, in KiB: a flood of large bodies waits here, not in RAM.
    pub body_budget: Arc<Semaphore>,
    /// How long a request body may take to arrive.
    pub body_timeout: Duration,
}

/// The scheme and authority of the public URL, parsed once: each request's URI is these and its own path and query.
#[derive(Debug, Clone)]
pub struct PublicOrigin {
    scheme: http::uri::Scheme,
    authority: http::uri::Authority,
}

impl PublicOrigin {
    /// The origin of an absolute `http(s)` URL; `None` for anything else.
    pub fn of(url: &str) -> Option<Self> {
        let uri: http::Uri = url.parse().ok()?;
        let scheme = uri.scheme().filter(|s| matches!(s.as_str(), "http" | "https"))?.clone();
        Some(Self { scheme, authority: uri.authority()?.clone() })
    }

    /// The URI of a request for `path_and_query` at this origin.
    fn uri(&self, path_and_query: http::uri::PathAndQuery) -> Result<http::Uri, http::Error> {
        http::Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(path_and_query)
            .build()
    }
}

/// Largest body budget one request can take, in KiB (the largest route limit, rounded up).
pub fn kib(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

/// How long a request waits for its share of the body budget before it is answered 503.
const BUDGET_WAIT: Duration = Duration::from_secs(2);

/// Routes as the HTTP API does: each route of [`routes::ROUTES`] to its function's handler.
pub async fn route(services: &Services, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let target_len = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    let header_bytes: usize = parts.headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    let hosts: Vec<&[u8]> = parts.headers.get_all(header::HOST).iter().map(|v| v.as_bytes()).collect();
    if let Err(refusal) = edge::check_head(target_len, header_bytes)
        .and_then(|()| edge::check_host(&hosts, parts.version != Version::HTTP_10))
    {
        return refused(refusal);
    }
    if let Some(idp) = services.dev_idp.as_ref().filter(|_| parts.uri.path() == crate::dev_idp::PATH) {
        return idp.answer(parts.uri.query().unwrap_or_default());
    }
    let Some(route) = routes::find(parts.method.as_str(), parts.uri.path()) else {
        // API Gateway answers unrouted requests itself, the same way.
        return not_found();
    };
    let function = route.function;

    // The body: none for a SCIM call without a Bearer credential (the handler answers 401 from the head alone).
    let skip_body =
        function.is_scim() && !edge::has_bearer_shape(parts.headers.get(header::AUTHORIZATION).map(|v| v.as_bytes()));
    let limit = function.max_body_bytes();
    let declared =
        parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    // A request that declares no body (a GET, a DELETE) takes no budget and no timer.
    let (bytes, _permit) = if skip_body || hyper::body::Body::is_end_stream(&body) {
        (Bytes::new(), None)
    } else {
        if let Err(refusal) = edge::check_declared_length(declared, limit) {
            return refused(refusal);
        }
        let reserve = declared.map_or(limit, |len| usize::try_from(len).unwrap_or(limit).min(limit));
        let permit = if reserve == 0 {
            None
        } else {
            let wait =
                tokio::time::timeout(BUDGET_WAIT, Arc::clone(&services.body_budget).acquire_many_owned(kib(reserve)));
            match wait.await {
                Ok(Ok(permit)) => Some(permit),
                _ => return refused(EdgeRefusal::Busy),
            }
        };
        match tokio::time::timeout(services.body_timeout, Limited::new(body, limit).collect()).await {
            Ok(Ok(collected)) => (collected.to_bytes(), permit),
            Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
                return refused(EdgeRefusal::BodyTooLarge { limit });
            }
            Ok(Err(_)) => return refused(EdgeRefusal::Malformed),
            Err(_) => return refused(EdgeRefusal::BodyTimeout),
        }
    };

    let path_and_query =
        parts.uri.path_and_query().cloned().unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let Ok(uri) = services.public_origin.uri(path_and_query) else {
        return refused(EdgeRefusal::Malformed);
    };
    let mut request = http::Request::new(if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) });
    *request.method_mut() = parts.method;
    *request.uri_mut() = uri;
    *request.headers_mut() = parts.headers;
    let scim = &services.scim;
    let response = match function {
        Function::ScimGet => scim_get::handle(scim, request).await,
        Function::ScimPost => scim_post::handle(scim, request).await,
        Function::ScimPut => scim_put::handle(scim, request).await,
        Function::ScimPatch => scim_patch::handle(scim, request).await,
        Function::ScimDelete => scim_delete::handle(scim, request).await,
        Function::SamlAcs => saml_acs::handle(&services.sign_in, request).await,
        Function::Web => web::handle(&services.web, request, services.https).await,
    };
    match response {
        Ok(response) => from_lambda_response(response),
        Err(never) => match never {},
    }
}

fn from_lambda_response(response: Response<Body>) -> http::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    http::Response::from_parts(parts, Full::new(bytes))
}

/// A refusal at the edge, as a SCIM error body (with `Retry-After` when the client should come back).
pub fn refused(refusal: EdgeRefusal) -> http::Response<Full<Bytes>> {
    let error = ScimError::from(refusal);
    let mut response = http::Response::new(Full::new(Bytes::from(error.to_json().to_string())));
    *response.status_mut() = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, http::HeaderValue::from_static(fd_shared::http::SCIM_CONTENT_TYPE));
    if error.status == 503 {
        headers.insert(header::RETRY_AFTER, http::HeaderValue::from_static(fd_shared::http::RETRY_AFTER_SECONDS));
    }
    if matches!(error.status, 400 | 408 | 413 | 414 | 431) {
        // The rest of the request may still be on the wire: do not read it as the next one.
        headers.insert(header::CONNECTION, http::HeaderValue::from_static("close"));
    }
    response
}

fn not_found() -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(b"{\"message\":\"Not Found\"}")));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}
