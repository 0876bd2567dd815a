#![forbid(unsafe_code)]

use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let (store, sign_in) = fd_signin::runtime::lambda_parts().await?;
    let https = sign_in.endpoints().base().starts_with("https://");
    let service = fd_web::WebService::new(store, Arc::new(sign_in));
    lambda_http::run(lambda_http::service_fn(|request| web::handle(&service, request, https))).await
}
