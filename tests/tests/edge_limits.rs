//! What `fd-local` refuses before any handler runs, and how it stays bounded under hostile connections: the
//! repros of an unauthenticated resource-exhaustion review, each against the real binary over raw TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use fd_tests::{Backend, LocalServer};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends raw bytes on a fresh connection and reads the response until the server closes or `limit` passes.
async fn raw(server: &LocalServer, request: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    // The server may answer (and close) before it has read everything: a failed write is part of the test.
    let _ = stream.write_all(request).await;
    read_response(&mut stream).await
}

async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), async {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if complete(&buf) {
                        break;
                    }
                }
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

/// Whether `buf` holds a whole response with a `content-length` body.
fn complete(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse::<usize>()))
        .and_then(Result::ok);
    length.is_some_and(|n| body.len() >= n)
}

fn assert_scim_error(status: u16, head: &str, body: &str, expected: u16) {
    assert_eq!(status, expected, "{head}\n{body}");
    assert!(head.contains("content-type: application/scim+json"), "{head}");
    let json: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    assert_eq!(json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(json["status"], expected.to_string());
}

async fn server() -> (Backend, LocalServer, String) {
    let backend = Backend::sqlite();
    let (_, _, token) = backend.tenant("Edge").await;
    let server = backend.start_local_with(&["--head-timeout-secs", "2", "--body-timeout-secs", "2"], None).await;
    (backend, server, token)
}

#[tokio::test]
async fn oversized_targets_headers_and_bodies_are_scim_errors() {
    let (_backend, server, token) = server().await;
    let host = server.addr().to_string();
    // A 100 KB filter: past hyper's own head buffer, so hyper refuses it; the client still gets a SCIM error.
    let filter = "a".repeat(100_000);
    let (status, head, body) =
        raw(&server, format!("GET /scim/v2/Users?filter={filter} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await;
    assert_scim_error(status, &head, &body, 414);
    // A 20 KB filter: within the buffer, refused by the edge rules.
    let filter = "a".repeat(20_000);
    let (status, head, body) =
        raw(&server, format!("GET /scim/v2/Users?filter={filter} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes()).await;
    assert_scim_error(status, &head, &body, 414);
    // Headers of 40 KB and of 100 KB.
    for size in [40_000, 100_000] {
        let big = "b".repeat(size);
        let (status, head, body) =
            raw(&server, format!("GET /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nX-Big: {big}\r\n\r\n").as_bytes())
                .await;
        assert_scim_error(status, &head, &body, 431);
    }
    // A declared 10 MiB body with a Bearer key: 413 at once, before any of it is read.
    let (status, head, body) = raw(
        &server,
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: 10485760\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await;
    assert_scim_error(status, &head, &body, 413);
    // Chunked, with no declared length: read up to the limit, then 413.
    let chunk = "x".repeat(70_000);
    let (status, head, body) = raw(
        &server,
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
             Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
            chunk.len()
        )
        .as_bytes(),
    )
    .await;
    assert_scim_error(status, &head, &body, 413);
    // Without any credential the body is never read: 401 from the head alone.
    let (status, head, body) = raw(
        &server,
        format!("POST /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nContent-Length: 10485760\r\n\r\n{{").as_bytes(),
    )
    .await;
    assert_scim_error(status, &head, &body, 401);
    // A filter whose percent-decoding is not UTF-8 is an invalid filter, not zero results.
    let (status, head, body) = raw(
        &server,
        format!(
            "GET /scim/v2/Users?filter=userName%20eq%20%22%FF%22 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .as_bytes(),
    )
    .await;
    assert_scim_error(status, &head, &body, 400);
    assert!(body.contains("invalidFilter"), "{body}");
    // Unparseable request lines are SCIM errors too.
    let (status, head, body) = raw(&server, b"GET /scim/v2/Users HTTP/9.9 x\r\n\r\n").await;
    assert_scim_error(status, &head, &body, 400);
    server.stop().await;
}

#[tokio::test]
async fn routing_and_locations_never_come_from_the_host_header() {
    let (_backend, server, token) = server().await;
    // A Host carrying a path used to re-route the request: now it is refused.
    let (status, head, body) =
        raw(&server, b"GET /saml/d1/metadata HTTP/1.1\r\nHost: 127.0.0.1:3000/scim/v2/Users?x=\r\n\r\n").await;
    assert_scim_error(status, &head, &body, 400);
    let (status, head, body) = raw(&server, b"GET /scim/v2/Users HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").await;
    assert_scim_error(status, &head, &body, 400);
    let (status, head, body) = raw(&server, b"GET /scim/v2/Users HTTP/1.1\r\n\r\n").await;
    assert_scim_error(status, &head, &body, 400);
    // Two Authorization headers are refused, whichever comes first (the valid one included).
    let (status, head, body) = raw(
        &server,
        format!(
            "GET /scim/v2/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nAuthorization: Bearer x\r\n\r\n",
            server.addr()
        )
        .as_bytes(),
    )
    .await;
    assert_scim_error(status, &head, &body, 401);
    // A valid but foreign Host is never reflected: locations come from the public URL.
    let user =
        r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"host@example.com","displayName":"H"}"#;
    let (status, head, body) = raw(
        &server,
        format!(
            "POST /scim/v2/Users HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{user}",
            user.len()
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{head}\n{body}");
    assert!(!head.contains("evil.example"), "{head}");
    assert!(!body.contains("evil.example"), "{body}");
    assert!(head.contains(&format!("location: {}/scim/v2/users/", server.origin())), "{head}");
    server.stop().await;
}

/// Many half-sent requests (heads and bodies) while a normal client is still answered; they are closed when
/// their deadlines pass, and memory stays bounded.
#[tokio::test]
async fn half_sent_requests_do_not_starve_a_normal_client() {
    let (_backend, server, token) = server().await;
    let host = server.addr().to_string();
    let pid = server.pid().unwrap();
    let rss_before = rss_kib(pid);
    let mut hostile = Vec::new();
    for i in 0..300 {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        let partial = if i % 2 == 0 {
            format!("GET /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nX-Slow: ")
        } else {
            // A body that never finishes, sent after a Bearer-shaped (but unknown) credential.
            format!(
                "POST /scim/v2/Users HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer fdk_unknown\r\n\
                 Content-Length: 60000\r\n\r\n{}",
                "x".repeat(59_999)
            )
        };
        stream.write_all(partial.as_bytes()).await.unwrap();
        hostile.push(stream);
    }
    // A normal client is answered while they hang.
    let reply = server.call("GET", "/Users?count=1", Some(&token), None).await;
    assert_eq!(reply.status, 200);
    let rss_during = rss_kib(pid);
    assert!(rss_during < rss_before + 200 * 1024, "RSS grew from {rss_before} KiB to {rss_during} KiB");
    // Each hanging connection is closed (or answered and closed) once its deadline passes.
    let closed = tokio::time::timeout(Duration::from_secs(30), async {
        for stream in &mut hostile {
            let mut buf = [0u8; 4096];
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "half-sent connections were still open 30 s later");
    server.stop().await;
}

/// Descriptor exhaustion: with a low open-file limit, `accept` fails; the server backs off, writes a few log lines
/// (not millions), and serves again once connections close.
#[tokio::test]
async fn descriptor_exhaustion_backs_off_without_a_log_flood() {
    let backend = Backend::sqlite();
    let (_, _, token) = backend.tenant("Fds").await;
    let log = std::env::temp_dir().join(format!("fd-edge-log-{}.txt", std::process::id()));
    let server = backend.start_local_with(&["--head-timeout-secs", "30"], Some(&log)).await;
    let pid = server.pid().unwrap();
    let limited = std::process::Command::new("prlimit").args(["--pid", &pid.to_string(), "--nofile=64:64"]).status();
    assert!(limited.is_ok_and(|s| s.success()), "prlimit (util-linux) is needed for this test");
    let mut held = Vec::new();
    for _ in 0..120 {
        if let Ok(stream) = TcpStream::connect(server.addr()).await {
            held.push(stream);
        }
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    drop(held);
    // Served again once descriptors are free (the back-off is at most a second).
    let mut served = false;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if server.call("GET", "/Users?count=1", Some(&token), None).await.status == 200 {
            served = true;
            break;
        }
    }
    assert!(served, "not served after the connections closed");
    server.stop().await;
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let lines = text.lines().filter(|l| l.contains("accept failed")).count();
    assert!(lines >= 1, "accept never failed: the limit did not bite\n{text}");
    assert!(lines <= 5, "{lines} 'accept failed' lines in 3 s");
    let _ = std::fs::remove_file(&log);
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
