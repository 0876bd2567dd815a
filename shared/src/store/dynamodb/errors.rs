//! SDK errors → [`StoreError`]: transient (retry later, 503) or not, with bounded messages.

use super::*;

pub(super) fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE_CHARS {
        return s.to_string();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE_CHARS).collect();
    out.push('…');
    out
}

pub(super) fn is_transient_code(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded"
            | "ServiceUnavailable"
            | "InternalServerError"
            | "InternalFailure"
            | "InternalServiceError"
            | "TransactionInProgressException"
    )
}

/// Maps an SDK failure: throttling, 5xx, timeouts and connection failures are [`StoreError::Unavailable`],
/// everything else [`StoreError::Backend`]. Messages name the operation and the service's error code and message
/// only (never request values).
pub(super) fn sdk_error<E>(operation: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match &err {
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or("UnknownError");
            let message = truncate(ctx.err().message().unwrap_or_default());
            let status = ctx.raw().status().as_u16();
            if is_transient_code(code) || status >= 500 {
                StoreError::Unavailable(format!("{operation}: {code}: {message}"))
            } else {
                StoreError::Backend(format!("{operation}: {code}: {message}"))
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => {
            StoreError::Unavailable(format!("{operation}: {}", truncate(&DisplayErrorContext(&err).to_string())))
        }
        _ => StoreError::Backend(format!("{operation}: {}", truncate(&DisplayErrorContext(&err).to_string()))),
    }
}

pub(super) fn build_error(err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("building a DynamoDB request: {err}"))
}

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("stored item has a missing or malformed `{what}` attribute"))
}
