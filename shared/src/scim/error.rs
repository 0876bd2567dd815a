//! SCIM error responses (RFC 7644 §3.12).

use serde_json::{Value, json};

/// URN of the SCIM error message schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The `scimType` detail codes of RFC 7644 §3.12 (and RFC 9865 for cursors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    /// RFC 9865: the cursor is not one this server issued for this query.
    InvalidCursor,
    /// RFC 9865: the cursor has expired.
    ExpiredCursor,
}

impl ScimType {
    /// The wire spelling of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }
}

/// A failure to report to the SCIM client: HTTP status, optional `scimType` and a human-readable detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    /// HTTP status code.
    pub status: u16,
    /// RFC 7644 error code, where one applies.
    pub scim_type: Option<ScimType>,
    /// Explanation for the client; never contains secrets.
    pub detail: String,
}

impl ScimError {
    /// A 400 with the given `scimType`.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self { status: 400, scim_type: Some(scim_type), detail: detail.into() }
    }

    /// 400 `invalidValue`.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidSyntax`.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidFilter`.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    /// 400 `invalidPath`.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    /// 401: missing, malformed, unknown or revoked access key.
    pub fn unauthorized() -> Self {
        Self { status: 401, scim_type: None, detail: "A valid Bearer access key is required.".into() }
    }

    /// 404 for a resource or endpoint that does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self { status: 404, scim_type: None, detail: detail.into() }
    }

    /// 405 for a method this endpoint does not serve.
    pub fn method_not_allowed() -> Self {
        Self { status: 405, scim_type: None, detail: "Method not allowed on this endpoint.".into() }
    }

    /// 409 `uniqueness`.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self { status: 409, scim_type: Some(ScimType::Uniqueness), detail: detail.into() }
    }

    /// 409 after repeated concurrent modification of the same resource.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self { status: 409, scim_type: None, detail: detail.into() }
    }

    /// 412: `If-Match` did not match the current version.
    pub fn precondition_failed() -> Self {
        Self {
            status: 412,
            scim_type: None,
            detail: "The resource has changed: If-Match does not match its current version.".into(),
        }
    }

    /// 413: request body over the limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self { status: 413, scim_type: None, detail: format!("The request body exceeds the limit of {limit} bytes.") }
    }

    /// 415: a body that is declared as something other than JSON.
    pub fn unsupported_media_type() -> Self {
        Self {
            status: 415,
            scim_type: None,
            detail: "Request bodies must be application/scim+json or application/json.".into(),
        }
    }

    /// 500 for a server-side failure; the detail never leaks internals.
    pub fn internal() -> Self {
        Self { status: 500, scim_type: None, detail: "Internal server error.".into() }
    }

    /// 503: a dependency is temporarily unavailable.
    pub fn unavailable() -> Self {
        Self { status: 503, scim_type: None, detail: "Service temporarily unavailable; retry later.".into() }
    }

    /// The SCIM error body.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_string_status_and_scim_type() {
        let body = ScimError::uniqueness("taken").to_json();
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["detail"], "taken");
    }

    #[test]
    fn error_body_omits_absent_scim_type() {
        let body = ScimError::unauthorized().to_json();
        assert_eq!(body["status"], "401");
        assert!(body.get("scimType").is_none());
    }
}
