//! Lambda function serving sign-in (API Gateway routes `POST /saml/{directory}/acs`,
//! `GET /saml/{directory}/login`, `GET /saml/{directory}/metadata` and `GET /me` here).
#![forbid(unsafe_code)]

use fd_signin::SignInService;
use lambda_http::{Body, Request, Response};
use std::convert::Infallible;

/// Serves one sign-in request; `fd-local` calls this same handler.
pub async fn handle(service: &SignInService, request: Request) -> Result<Response<Body>, Infallible> {
    Ok(fd_signin::http::handle(service, request).await)
}
