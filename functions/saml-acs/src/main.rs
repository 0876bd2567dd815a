#![forbid(unsafe_code)]

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    let service = fd_signin::runtime::lambda_service().await?;
    lambda_http::run(lambda_http::service_fn(|request| saml_acs::handle(&service, request))).await
}
