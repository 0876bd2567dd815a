#![forbid(unsafe_code)]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let service = fd_shared::runtime::lambda_service().await?;
    lambda_http::run(lambda_http::service_fn(|request| scim_put::handle(&service, request))).await
}
