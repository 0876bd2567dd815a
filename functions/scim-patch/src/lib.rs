//! Lambda function serving SCIM `PATCH` requests (API Gateway routes `PATCH /scim/v2/{proxy+}` here).
#![forbid(unsafe_code)]

use fd_shared::service::ScimService;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use std::convert::Infallible;

/// Serves one `PATCH` request; `fd-local` calls this same handler.
pub async fn handle(service: &ScimService, request: Request) -> Result<Response<Body>, Infallible> {
    Ok(fd_shared::http::handle_scim(service, Method::PATCH, request).await)
}
