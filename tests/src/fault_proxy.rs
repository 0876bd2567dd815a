//! A fault-injecting HTTP proxy on loopback, between an AWS SDK client and the emulator (moto).
//!
//! Each request is read whole, then either forwarded upstream on a connection of its own or answered with the
//! fault the [`FaultControl`] holds: the connection closed without an answer, a stall past the client's attempt
//! timeout, an HTTP 500, throttling, or (DynamoDB transactions) a `TransactionCanceledException` for a
//! transaction conflict, which moto never produces. A faulted request never reaches the emulator. Every answer
//! closes its connection, so a client never reuses a connection the proxy has dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest request or response head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;

/// What the proxy does to a request instead of forwarding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The connection is closed (reset) without an answer.
    Reset,
    /// Nothing is answered for this long, then the connection is closed.
    Stall(Duration),
    /// `500` with an `InternalServerError` body.
    ServerError,
    /// `400` `ThrottlingException`.
    Throttling,
    /// `400` `ProvisionedThroughputExceededException`.
    ProvisionedThroughput,
    /// `400` `TransactionCanceledException` whose reasons include `TransactionConflict` (transactions only;
    /// other requests pass).
    TransactionConflict,
}

impl Fault {
    /// A short name for tables.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Reset => "reset",
            Fault::Stall(_) => "stall",
            Fault::ServerError => "500",
            Fault::Throttling => "throttling",
            Fault::ProvisionedThroughput => "provisioned throughput",
            Fault::TransactionConflict => "tx conflict",
        }
    }
}

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// Every request.
    All,
    /// Requests whose `X-Amz-Target` ends with this operation name (`TransactWriteItems`, `GetSecretValue`).
    Operation(&'static str),
}

#[derive(Debug, Clone, Copy)]
struct Plan {
    fault: Fault,
    only: Only,
    /// Requests still to fault; `None`: every matching request until cleared.
    remaining: Option<u64>,
}

/// The shared control of a running proxy: what to do to the next requests, and what it has seen.
#[derive(Debug, Default)]
pub struct FaultControl {
    plan: Mutex<Option<Plan>>,
    seen: AtomicU64,
    faulted: AtomicU64,
    forwarded: AtomicU64,
}

impl FaultControl {
    /// Faults the next `n` requests that `only` matches.
    pub fn fault_next(&self, fault: Fault, only: Only, n: u64) {
        *self.plan.lock().unwrap() = Some(Plan { fault, only, remaining: Some(n) });
    }

    /// Faults every request that `only` matches until [`FaultControl::clear`].
    pub fn fault_always(&self, fault: Fault, only: Only) {
        *self.plan.lock().unwrap() = Some(Plan { fault, only, remaining: None });
    }

    /// Forwards everything from now on.
    pub fn clear(&self) {
        *self.plan.lock().unwrap() = None;
    }

    /// Requests read since the last [`FaultControl::reset_counts`].
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::SeqCst)
    }

    /// Requests answered with a fault.
    pub fn faulted(&self) -> u64 {
        self.faulted.load(Ordering::SeqCst)
    }

    /// Requests forwarded to the emulator.
    pub fn forwarded(&self) -> u64 {
        self.forwarded.load(Ordering::SeqCst)
    }

    /// Zeroes the counters.
    pub fn reset_counts(&self) {
        self.seen.store(0, Ordering::SeqCst);
        self.faulted.store(0, Ordering::SeqCst);
        self.forwarded.store(0, Ordering::SeqCst);
    }

    /// The fault for a request with this `X-Amz-Target`, if any (and counts it down).
    fn decide(&self, target: &str) -> Option<Fault> {
        self.seen.fetch_add(1, Ordering::SeqCst);
        let mut plan = self.plan.lock().unwrap();
        let current = (*plan)?;
        let matches = match current.only {
            Only::All => true,
            Only::Operation(name) => target.rsplit('.').next() == Some(name),
        };
        let applies = match current.fault {
            Fault::TransactionConflict => target.ends_with(".TransactWriteItems"),
            _ => true,
        };
        if !matches || !applies {
            return None;
        }
        match current.remaining {
            Some(0) => return None,
            Some(n) => {
                *plan = Some(Plan { remaining: Some(n - 1), ..current });
            }
            None => {}
        }
        self.faulted.fetch_add(1, Ordering::SeqCst);
        Some(current.fault)
    }
}

/// A running proxy: its address, its control, and the accept loop (aborted on drop).
#[derive(Debug)]
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// What to do to requests.
    pub control: Arc<FaultControl>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> FaultProxy {
        let upstream = upstream.trim_end_matches('/').strip_prefix("http://").expect("an http:// upstream").to_string();
        let upstream: SocketAddr = tokio::net::lookup_host(upstream.as_str())
            .await
            .expect("the upstream resolves")
            .next()
            .expect("the upstream has an address");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let endpoint = format!("http://{}", listener.local_addr().expect("the bound address"));
        let control = Arc::new(FaultControl::default());
        let shared = Arc::clone(&control);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let control = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(client, upstream, &control).await;
                });
            }
        });
        FaultProxy { endpoint, control, task }
    }
}

/// One connection: one request, one answer (or none), then close.
async fn serve(mut client: TcpStream, upstream: SocketAddr, control: &FaultControl) -> std::io::Result<()> {
    let Some((head, body)) = read_message(&mut client).await? else {
        return Ok(());
    };
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let target = header_value(&head_text, "x-amz-target").unwrap_or_default();
    match control.decide(&target) {
        None => {
            control.forwarded.fetch_add(1, Ordering::SeqCst);
            let answer = forward(upstream, &head_text, &body).await?;
            client.write_all(&answer).await?;
            client.shutdown().await
        }
        Some(Fault::Reset) => {
            // RST instead of FIN: the client sees the connection reset.
            client.set_zero_linger()?;
            drop(client);
            Ok(())
        }
        Some(Fault::Stall(duration)) => {
            tokio::time::sleep(duration).await;
            Ok(())
        }
        Some(fault) => {
            let (status, body) = fault_answer(fault, &target);
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\
                 x-amzn-requestid: fault-proxy\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(answer.as_bytes()).await?;
            client.shutdown().await
        }
    }
}

fn fault_answer(fault: Fault, target: &str) -> (&'static str, String) {
    let dynamodb = target.starts_with("DynamoDB_");
    let ns = if dynamodb { "com.amazonaws.dynamodb.v20120810#" } else { "" };
    match fault {
        Fault::ServerError => (
            "500 Internal Server Error",
            format!(r#"{{"__type":"{ns}InternalServerError","message":"Internal server error (injected)"}}"#),
        ),
        Fault::Throttling => (
            "400 Bad Request",
            format!(
                r#"{{"__type":"{ns}ThrottlingException","message":"Rate of requests exceeds the allowed throughput (injected)"}}"#
            ),
        ),
        Fault::ProvisionedThroughput => (
            "400 Bad Request",
            format!(
                r#"{{"__type":"{ns}ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded (injected)"}}"#
            ),
        ),
        Fault::TransactionConflict => (
            "400 Bad Request",
            format!(
                r#"{{"__type":"{ns}TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]","CancellationReasons":[{{"Code":"None"}},{{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}}]}}"#
            ),
        ),
        Fault::Reset | Fault::Stall(_) => ("500 Internal Server Error", String::new()),
    }
}

/// Sends one request upstream on a fresh connection (asking it to close after answering) and returns the answer
/// with `connection: close`.
async fn forward(upstream: SocketAddr, head: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut request = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            request.push_str(line);
            request.push_str("\r\n");
        }
    }
    request.push_str("connection: close\r\n\r\n");
    server.write_all(request.as_bytes()).await?;
    server.write_all(body).await?;
    let Some((head, body)) = read_message(&mut server).await? else {
        return Err(std::io::Error::other("the upstream closed without answering"));
    };
    let head = String::from_utf8_lossy(&head);
    let mut answer = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            answer.push_str(line);
            answer.push_str("\r\n");
        }
    }
    answer.push_str("connection: close\r\n\r\n");
    let mut out = answer.into_bytes();
    out.extend_from_slice(&body);
    Ok(out)
}

/// Reads one HTTP/1.1 message: its head (through the blank line) and its body (`content-length` bytes, else to
/// the end of the stream). `None` when the peer closed before sending anything.
async fn read_message(stream: &mut TcpStream) -> std::io::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buffer.len() > MAX_HEAD {
            return Err(std::io::Error::other("message head too long"));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return if buffer.is_empty() { Ok(None) } else { Err(std::io::Error::other("truncated message head")) };
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = buffer[..head_end].to_vec();
    let mut body = buffer[head_end..].to_vec();
    let head_text = String::from_utf8_lossy(&head);
    match header_value(&head_text, "content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(length) => {
            while body.len() < length {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Err(std::io::Error::other("truncated message body"));
                }
                body.extend_from_slice(&chunk[..n]);
            }
            body.truncate(length);
        }
        None if head_text.starts_with("HTTP/") => {
            // A response without a length ends with the connection.
            stream.read_to_end(&mut body).await?;
        }
        None => {}
    }
    Ok(Some((head, body)))
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case(name).then(|| value.trim().to_string())
    })
}
