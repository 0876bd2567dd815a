//! The server's log lines, written to stderr in batches: every [`FLUSH_INTERVAL`], when [`FLUSH_BYTES`] are
//! waiting, and when the server stops. Under load this turns one `write` per request into one per interval; a
//! crash loses at most the last interval's lines. (The Lambda functions write each line at once: a frozen or
//! recycled execution environment must not hold lines back.)

use std::io::Write;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a line may wait before it is written.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);
/// Lines waiting beyond this many bytes are written at once, by the request that logged the last one.
pub const FLUSH_BYTES: usize = 64 * 1024;

/// Log lines waiting to be written to stderr.
#[derive(Clone, Default)]
pub struct BufferedStderr {
    waiting: Arc<Mutex<Vec<u8>>>,
}

impl BufferedStderr {
    /// A buffer, and a thread that writes it out every [`FLUSH_INTERVAL`] for as long as the process runs.
    pub fn start() -> std::io::Result<Self> {
        let buffer = Self::default();
        let flusher = buffer.clone();
        std::thread::Builder::new().name("log-flush".into()).spawn(move || {
            loop {
                std::thread::sleep(FLUSH_INTERVAL);
                flusher.flush();
            }
        })?;
        Ok(buffer)
    }

    /// Writes every waiting line to stderr.
    pub fn flush(&self) {
        let lines = std::mem::take(&mut *self.lock());
        if !lines.is_empty() {
            let _ = std::io::stderr().lock().write_all(&lines);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<u8>> {
        self.waiting.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One log event's writer: appends to the buffer.
pub struct LineSink<'b> {
    buffer: &'b BufferedStderr,
}

impl Write for LineSink<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let full = {
            let mut waiting = self.buffer.lock();
            waiting.extend_from_slice(bytes);
            waiting.len() >= FLUSH_BYTES
        };
        if full {
            self.buffer.flush();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> tracing_subscriber::fmt::MakeWriter<'w> for BufferedStderr {
    type Writer = LineSink<'w>;

    fn make_writer(&'w self) -> Self::Writer {
        LineSink { buffer: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_until_flushed_and_a_full_buffer_empties_itself() {
        let buffer = BufferedStderr::default();
        let mut sink = tracing_subscriber::fmt::MakeWriter::make_writer(&buffer);
        sink.write_all(b"{\"line\":1}\n").unwrap();
        assert_eq!(buffer.lock().as_slice(), b"{\"line\":1}\n");
        buffer.flush();
        assert!(buffer.lock().is_empty());
        let line = vec![b'x'; FLUSH_BYTES];
        sink.write_all(&line).unwrap();
        assert!(buffer.lock().is_empty(), "a full buffer is written at once");
    }
}
