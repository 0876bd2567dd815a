//! A bare `lambda_http` function that builds the same AWS configuration and SDK clients as the SCIM functions and
//! answers every request with 204: the reference for `bench/lambda-init.py`.
#![forbid(unsafe_code)]

use lambda_http::{Body, Error, Request, Response, service_fn};
use std::convert::Infallible;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = fd_shared::store::dynamodb::aws_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    lambda_http::run(service_fn(|_request: Request| {
        let _clients = (&dynamodb, &secrets);
        async {
            let mut response = Response::new(Body::Empty);
            *response.status_mut() = lambda_http::http::StatusCode::NO_CONTENT;
            Ok::<_, Infallible>(response)
        }
    }))
    .await
}
