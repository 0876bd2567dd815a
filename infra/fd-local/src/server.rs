//! The accept loop and the connection limits: a cap on open connections, a deadline for each request head
//! (which also closes idle keep-alive connections), a bounded head buffer, back-off when `accept` fails (file
//! descriptors exhausted) with a rate-limited log line, and a graceful stop on Ctrl-C.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::edge_io::EdgeIo;
use crate::router::{Services, route};

/// The limits one server runs under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time allowed for a request head to arrive, counted from when the connection is ready for one: it also
    /// ends idle keep-alive connections.
    pub head_timeout: Duration,
}

/// hyper's read buffer per connection: the largest request head it will hold (64 KiB). Larger heads are refused
/// (414/431) without growing memory.
const MAX_HEAD_BUFFER: usize = 64 * 1024;

/// Back-off after a failed `accept`, doubling up to the maximum.
const ACCEPT_BACKOFF_START: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// At most one "accept failed" line per this interval; the others are counted into the next line.
const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Serves connections until `shutdown` completes.
pub async fn serve(listener: TcpListener, services: Arc<Services>, limits: Limits, shutdown: impl Future<Output = ()>) {
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut backoff = ACCEPT_BACKOFF_START;
    let mut accept_log = RateLimitedLog::new(ACCEPT_LOG_INTERVAL);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => return,
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff = ACCEPT_BACKOFF_START;
                    stream
                }
                Err(e) => {
                    if let Some(suppressed) = accept_log.allow(Instant::now()) {
                        tracing::warn!(error = %e, suppressed, retry_in_ms = backoff.as_millis() as u64, "accept failed");
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let services = Arc::clone(&services);
        tokio::spawn(async move {
            let _permit = permit;
            let handler = service_fn(move |request| {
                let services = Arc::clone(&services);
                async move { Ok::<_, Infallible>(route(&services, request).await) }
            });
            let served = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout)
                .max_buf_size(MAX_HEAD_BUFFER)
                .serve_connection(TokioIo::new(EdgeIo::new(stream)), handler)
                .await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "connection closed with error");
            }
        });
    }
}

/// A log line allowed at most once per interval; the calls in between are counted.
struct RateLimitedLog {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimitedLog {
    fn new(interval: Duration) -> Self {
        RateLimitedLog { interval, last: None, suppressed: 0 }
    }

    /// `Some(calls suppressed since the last line)` when a line may be written now.
    fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_are_rate_limited_and_count_what_they_drop() {
        let mut log = RateLimitedLog::new(Duration::from_secs(5));
        let t0 = Instant::now();
        assert_eq!(log.allow(t0), Some(0));
        for i in 1..1000 {
            assert_eq!(log.allow(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.allow(t0 + Duration::from_secs(5)), Some(999));
        assert_eq!(log.allow(t0 + Duration::from_secs(6)), None);
    }
}
