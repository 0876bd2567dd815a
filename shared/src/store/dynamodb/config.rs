//! The AWS SDK configuration: the HTTPS client, the standard environment, an emulator endpoint, and the timeouts
//! and retries every client (DynamoDB, Secrets Manager) runs under.

use super::*;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;

/// How long one SDK call may take, and how often it is tried, for every AWS client the service builds.
///
/// A request answers within API Gateway's 30 s integration limit and the functions' `Timeout: 10` in
/// `template.yaml` only if its SDK calls do. An Okta operation makes at most three calls one after another (the
/// pepper from Secrets Manager on a cold start, a read, a transaction), so each call is bounded by
/// [`SdkLimits::LAMBDA`]`.operation` (3 s): 9 s in all, inside the function's 10 s and well inside 30 s. A
/// dependency that stays down past those bounds makes the call fail as [`StoreError::Unavailable`], which the
/// service answers `503` with `Retry-After`, instead of the function timing out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdkLimits {
    /// Establishing a TCP (and TLS) connection.
    pub connect: Duration,
    /// One attempt: sending the request and reading the whole response.
    pub attempt: Duration,
    /// The whole call: every attempt and the backoff between them.
    pub operation: Duration,
    /// Attempts per call, the first included (standard retry mode: throttling, 5xx, timeouts and connection
    /// failures are retried with jittered exponential backoff).
    pub max_attempts: u32,
    /// The first retry waits up to this long (full jitter), doubling per retry up to [`SdkLimits::max_backoff`].
    pub initial_backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
}

impl SdkLimits {
    /// The limits of the Lambda functions and the command-line tools. DynamoDB and Secrets Manager answer in tens
    /// of milliseconds: an attempt still silent after 1.5 s is stuck, and a fresh attempt on a new connection is
    /// the better bet.
    pub const LAMBDA: SdkLimits = SdkLimits {
        connect: Duration::from_secs(1),
        attempt: Duration::from_millis(1500),
        operation: Duration::from_secs(3),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    };

    /// The limits for a local emulator (moto, DynamoDB Local), which is slower than DynamoDB by orders of magnitude
    /// (moto copies a table on every write) and may not honour a transaction's idempotency token: an attempt
    /// abandoned after it committed, then retried, would report the user's own name as taken. So attempts get
    /// long enough never to be abandoned on a working emulator; the fault tests set their own.
    pub const EMULATOR: SdkLimits = SdkLimits {
        connect: Duration::from_secs(2),
        attempt: Duration::from_secs(20),
        operation: Duration::from_secs(45),
        max_attempts: 3,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    };

    /// The SDK's timeout configuration for these limits.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.attempt)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// The SDK's retry configuration for these limits.
    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
            .with_max_backoff(self.max_backoff)
    }
}

impl Default for SdkLimits {
    fn default() -> Self {
        Self::LAMBDA
    }
}

/// An HTTPS client on rustls with the *ring* crypto provider (no aws-lc), also able to speak plain HTTP to local
/// emulators.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The standard AWS configuration chain (environment, profile, container/instance credentials; `AWS_REGION`;
/// `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`) over [`https_client`], under [`SdkLimits::LAMBDA`].
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(SdkLimits::LAMBDA.timeout_config())
        .retry_config(SdkLimits::LAMBDA.retry_config())
        .load()
        .await
}

/// Configuration for a local emulator (moto, DynamoDB Local) at `endpoint_url`: region `us-east-1` and fixed dummy
/// credentials, whatever the process environment says, under [`SdkLimits::EMULATOR`].
pub async fn emulator_config(endpoint_url: &str) -> SdkConfig {
    emulator_config_with(endpoint_url, SdkLimits::EMULATOR).await
}

/// [`emulator_config`] under other limits (the fault tests shorten them).
pub async fn emulator_config_with(endpoint_url: &str, limits: SdkLimits) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "fd-emulator"))
        .endpoint_url(endpoint_url)
        .timeout_config(limits.timeout_config())
        .retry_config(limits.retry_config())
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

#[cfg(test)]
mod limits_tests {
    use super::*;

    #[test]
    fn lambda_limits_fit_the_function_timeout() {
        let limits = SdkLimits::LAMBDA;
        assert!(limits.connect < limits.attempt && limits.attempt < limits.operation);
        // Three calls one after another (secret, read, transaction) inside the functions' 10 s.
        assert!(limits.operation * 3 < Duration::from_secs(10));
        assert!(limits.max_attempts >= 2);
        let timeouts = limits.timeout_config();
        assert_eq!(timeouts.operation_timeout(), Some(limits.operation));
        assert_eq!(timeouts.operation_attempt_timeout(), Some(limits.attempt));
        assert_eq!(limits.retry_config().max_attempts(), limits.max_attempts);
    }
}
