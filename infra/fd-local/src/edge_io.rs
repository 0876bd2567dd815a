//! The connection's byte stream, seen by hyper through [`EdgeIo`]: it passes every byte through, except the
//! automatic response hyper writes for a request head it could not parse or hold (`400`, `414`, `431`, with an
//! empty body). That one is rewritten into the same SCIM error body the router gives for its own limits, so a
//! client sees one kind of refusal whichever layer refused it.
//!
//! hyper offers no hook for these responses. They are recognised by shape: a `4xx` head with `content-length: 0`
//! and no `content-type`, which no response of the router has (every refusal it makes carries a body).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use fd_shared::edge::EdgeRefusal;
use fd_shared::scim::error::ScimError;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A byte stream that rewrites hyper's automatic error responses.
pub struct EdgeIo<T> {
    inner: T,
    /// No line feed has arrived since the last response was written: the request line is still being read.
    request_line_open: bool,
    /// A rewritten response still to be written, and how much of it has been.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<T> EdgeIo<T> {
    /// Wraps a fresh connection.
    pub fn new(inner: T) -> Self {
        EdgeIo { inner, request_line_open: true, replacement: None }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for EdgeIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if self.request_line_open && buf.filled()[before..].contains(&b'\n') {
            self.request_line_open = false;
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> EdgeIo<T> {
    /// Writes what is left of the replacement; `Ready(Ok)` once it is all out.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            if *written >= bytes.len() {
                return Poll::Ready(Ok(()));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for EdgeIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.replacement.is_some() {
            // hyper closes after its automatic response; anything more it writes is dropped with it.
            return match self.drain(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(buf.len())),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            };
        }
        if let Some(refusal) = automatic_refusal(buf, self.request_line_open) {
            self.replacement = Some((scim_error_response(refusal), 0));
            return match self.drain(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                _ => Poll::Ready(Ok(buf.len())),
            };
        }
        if buf.starts_with(b"HTTP/1.") {
            self.request_line_open = true;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut self.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

/// The refusal behind an automatic hyper response, when `buf` starts with one.
fn automatic_refusal(buf: &[u8], request_line_open: bool) -> Option<EdgeRefusal> {
    let status = buf.strip_prefix(b"HTTP/1.1 ").or_else(|| buf.strip_prefix(b"HTTP/1.0 "))?.get(..3)?;
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = buf[..end].to_ascii_lowercase();
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if has(b"\r\ncontent-type:") || !has(b"\r\ncontent-length: 0") {
        return None;
    }
    match status {
        b"414" => Some(EdgeRefusal::UriTooLong),
        b"431" if request_line_open => Some(EdgeRefusal::UriTooLong),
        b"431" => Some(EdgeRefusal::HeadersTooLarge),
        b"400" => Some(EdgeRefusal::Malformed),
        _ => None,
    }
}

/// A complete `Connection: close` response carrying the refusal's SCIM error body.
pub fn scim_error_response(refusal: EdgeRefusal) -> Vec<u8> {
    let error = ScimError::from(refusal);
    let body = error.to_json().to_string();
    let reason = lambda_http::http::StatusCode::from_u16(error.status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    format!(
        "HTTP/1.1 {} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        error.status,
        fd_shared::http::SCIM_CONTENT_TYPE,
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_only_hyper_automatic_responses() {
        let auto = |status: &str| format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\ndate: x\r\n\r\n");
        assert_eq!(
            automatic_refusal(auto("431 Request Header Fields Too Large").as_bytes(), true),
            Some(EdgeRefusal::UriTooLong)
        );
        assert_eq!(
            automatic_refusal(auto("431 Request Header Fields Too Large").as_bytes(), false),
            Some(EdgeRefusal::HeadersTooLarge)
        );
        assert_eq!(automatic_refusal(auto("414 URI Too Long").as_bytes(), false), Some(EdgeRefusal::UriTooLong));
        assert_eq!(automatic_refusal(auto("400 Bad Request").as_bytes(), false), Some(EdgeRefusal::Malformed));
        assert_eq!(automatic_refusal(auto("404 Not Found").as_bytes(), false), None);
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/scim+json\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(automatic_refusal(ours, false), None);
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n";
        assert_eq!(automatic_refusal(with_body, false), None);
        assert_eq!(automatic_refusal(b"{\"HTTP/1.1 400\"}", false), None);
    }

    #[test]
    fn rewritten_response_is_a_scim_error() {
        let response = String::from_utf8(scim_error_response(EdgeRefusal::HeadersTooLarge)).unwrap_or_default();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or_default();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("content-type: application/scim+json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(json["status"], "431");
    }
}
