//! Lambda function serving the address book (API Gateway routes `/`, `/of…`, `/contacts/…`, `/account…`,
//! `/signout`, `/api/…` and `/assets/…` here).
#![forbid(unsafe_code)]

use fd_web::WebService;
use lambda_http::{Body, Request, Response};
use std::convert::Infallible;

/// Serves one web request; `fd-local` calls this same handler. `https`: the public URL is HTTPS (HSTS).
pub async fn handle(service: &WebService, request: Request, https: bool) -> Result<Response<Body>, Infallible> {
    Ok(fd_web::http::handle(service, request, https).await)
}
