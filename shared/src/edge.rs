//! What the HTTP edge refuses before any handler runs, and how: the request-target and header limits, the
//! `Host` check and the body limit of the chosen route. In AWS, API Gateway plays this part; `fd-local`
//! applies these rules so that the same requests meet the same answers, always as SCIM error bodies.

use crate::scim::error::ScimError;

/// Longest request-target (path and query) accepted: 8 KiB, as common proxies allow.
pub const MAX_URI_BYTES: usize = 8 * 1024;

/// Most bytes of header names and values in one request: 16 KiB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Why the edge refused a request; each maps to one SCIM error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EdgeRefusal {
    /// The request-target is longer than [`MAX_URI_BYTES`] (414).
    #[error("request-target too long")]
    UriTooLong,
    /// The headers are larger than [`MAX_HEADER_BYTES`] (431).
    #[error("request headers too large")]
    HeadersTooLarge,
    /// The body is, or is declared to be, larger than the route accepts (413).
    #[error("request body too large")]
    BodyTooLarge {
        /// The route's limit in bytes.
        limit: usize,
    },
    /// The `Host` header is missing (HTTP/1.1 requires it), repeated, or not a valid authority (400).
    #[error("invalid Host header")]
    BadHost,
    /// The request line or a header could not be parsed (400).
    #[error("malformed request")]
    Malformed,
    /// The body did not arrive in time (408).
    #[error("request body timeout")]
    BodyTimeout,
    /// The server is at its limit for request bodies in memory (503, retry later).
    #[error("busy")]
    Busy,
}

impl From<EdgeRefusal> for ScimError {
    fn from(refusal: EdgeRefusal) -> Self {
        let (status, detail) = match refusal {
            EdgeRefusal::UriTooLong => (
                414,
                format!(
                    "The request-target exceeds the limit of {MAX_URI_BYTES} bytes; send long filters with POST /.search."
                ),
            ),
            EdgeRefusal::HeadersTooLarge => {
                (431, format!("The request headers exceed the limit of {MAX_HEADER_BYTES} bytes."))
            }
            EdgeRefusal::BodyTooLarge { limit } => return ScimError::payload_too_large(limit),
            EdgeRefusal::BadHost => (400, "The Host header is missing, repeated or not a valid host[:port].".into()),
            EdgeRefusal::Malformed => (400, "The request could not be parsed as HTTP/1.1.".into()),
            EdgeRefusal::BodyTimeout => (408, "The request body did not arrive in time.".into()),
            EdgeRefusal::Busy => return ScimError::unavailable(),
        };
        ScimError { status, scim_type: None, detail }
    }
}

/// Checks the request-target and the header sizes: `header_bytes` is the sum of header name and value lengths.
pub fn check_head(target_len: usize, header_bytes: usize) -> Result<(), EdgeRefusal> {
    if target_len > MAX_URI_BYTES {
        return Err(EdgeRefusal::UriTooLong);
    }
    if header_bytes > MAX_HEADER_BYTES {
        return Err(EdgeRefusal::HeadersTooLarge);
    }
    Ok(())
}

/// Checks the `Host` header values of a request: exactly one, a valid authority. HTTP/1.0 requests may omit it
/// (`required` false). A value is `host[:port]` `host[:port]` with a registered name, IPv4 or bracketed IPv6 host, no userinfo, path,
/// query or fragment. Routing never reads it; it is only checked, so that a request with a host that no HTTP/1.1
/// server could have been addressed by is refused rather than half-understood.
pub fn check_host(values: &[&[u8]], required: bool) -> Result<(), EdgeRefusal> {
    let value = match values {
        [] if !required => return Ok(()),
        [value] => value,
        _ => return Err(EdgeRefusal::BadHost),
    };
    let text = std::str::from_utf8(value).map_err(|_| EdgeRefusal::BadHost)?;
    let (host, port) = split_host_port(text).ok_or(EdgeRefusal::BadHost)?;
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EdgeRefusal::BadHost);
        }
        if !matches!(port.parse::<u32>(), Ok(p) if p <= 65_535) {
            return Err(EdgeRefusal::BadHost);
        }
    }
    let valid_host = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !host.is_empty()
            && host.len() <= 253
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            })
    };
    if valid_host { Ok(()) } else { Err(EdgeRefusal::BadHost) }
}

fn split_host_port(text: &str) -> Option<(&str, Option<&str>)> {
    if text.starts_with('[') {
        let end = text.find(']')?;
        let (host, rest) = text.split_at(end + 1);
        return match rest {
            "" => Some((host, None)),
            _ => rest.strip_prefix(':').map(|port| (host, Some(port))),
        };
    }
    match text.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((text, None)),
    }
}

/// Checks a declared `Content-Length` against the route's limit before any of the body is read.
pub fn check_declared_length(content_length: Option<u64>, limit: usize) -> Result<(), EdgeRefusal> {
    match content_length {
        Some(len) if len > limit as u64 => Err(EdgeRefusal::BodyTooLarge { limit }),
        _ => Ok(()),
    }
}

/// Whether an `Authorization` value has the shape of a Bearer credential. A SCIM request without one is
/// answered 401 by the handler without its body ever being read.
pub fn has_bearer_shape(authorization: Option<&[u8]>) -> bool {
    authorization.is_some_and(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(v: &str) -> Result<(), EdgeRefusal> {
        check_host(&[v.as_bytes()], true)
    }

    #[test]
    fn hosts() {
        for ok in ["127.0.0.1:3000", "localhost", "fd.example.com", "a-b.example:443", "[::1]:3000", "[::1]"] {
            assert_eq!(host(ok), Ok(()), "{ok}");
        }
        for bad in [
            "127.0.0.1:3000/scim/v2/Users?x=",
            "evil.example/x",
            "user@evil.example",
            "",
            ":80",
            "a:",
            "a:99999",
            "a:1:2",
            "[::1",
            "[nothost]:1",
            "a b",
            "a..b",
            "évil.example",
        ] {
            assert_eq!(host(bad), Err(EdgeRefusal::BadHost), "{bad:?}");
        }
        assert_eq!(check_host(&[], true), Err(EdgeRefusal::BadHost));
        assert_eq!(check_host(&[], false), Ok(()));
        assert_eq!(check_host(&[b"a", b"b"], false), Err(EdgeRefusal::BadHost));
    }

    #[test]
    fn sizes() {
        assert_eq!(check_head(MAX_URI_BYTES, MAX_HEADER_BYTES), Ok(()));
        assert_eq!(check_head(MAX_URI_BYTES + 1, 0), Err(EdgeRefusal::UriTooLong));
        assert_eq!(check_head(1, MAX_HEADER_BYTES + 1), Err(EdgeRefusal::HeadersTooLarge));
        assert_eq!(check_declared_length(Some(11), 10), Err(EdgeRefusal::BodyTooLarge { limit: 10 }));
        assert_eq!(check_declared_length(Some(10), 10), Ok(()));
        assert_eq!(check_declared_length(None, 10), Ok(()));
    }

    #[test]
    fn refusals_are_scim_errors() {
        let e = ScimError::from(EdgeRefusal::UriTooLong);
        assert_eq!(e.status, 414);
        assert_eq!(ScimError::from(EdgeRefusal::HeadersTooLarge).status, 431);
        assert_eq!(ScimError::from(EdgeRefusal::BodyTooLarge { limit: 5 }).status, 413);
        assert_eq!(ScimError::from(EdgeRefusal::Busy).status, 503);
        assert_eq!(e.to_json()["schemas"][0], crate::scim::error::ERROR_SCHEMA);
    }

    #[test]
    fn bearer_shape() {
        assert!(has_bearer_shape(Some(b"Bearer abc")));
        assert!(has_bearer_shape(Some(b"bearer abc")));
        assert!(!has_bearer_shape(Some(b"Bearer ")));
        assert!(!has_bearer_shape(Some(b"Basic abc")));
        assert!(!has_bearer_shape(None));
    }
}
