//! The AWS SDK configuration: the HTTPS client, the standard environment, an emulator endpoint.

use super::*;

/// An HTTPS client on rustls with the *ring* crypto provider (no aws-lc), also able to speak plain HTTP to local
/// emulators.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The standard AWS configuration chain (environment, profile, container/instance credentials; `AWS_REGION`;
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`) over [`https_client`].
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await
}

/// Configuration for a local emulator (moto, DynamoDB Local) at `endpoint_url`: region `us-east-1` and fixed dummy
/// credentials, whatever the process environment says.
pub async fn emulator_config(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "fd-emulator"))
        .endpoint_url(endpoint_url)
        .load()
        .await
}

/// A DynamoDB client from `config`, counting its calls into `counter` when given.
pub fn dynamodb_client(config: &SdkConfig, counter: Option<&CallCounter>) -> Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(config);
    if let Some(counter) = counter {
        builder = builder.interceptor(counter.clone());
    }
    Client::from_conf(builder.build())
}
