//! Secret key material loaded once per process: the access-key pepper and the session-signing key.
//!
//! In Lambda both come from Secrets Manager; a function starts the load during init ([`SecretSource::prefetch`])
//! so the round trip overlaps the runtime's first poll instead of lengthening init. Locally they are files
//! created on first use with mode 0600 ([`local_secret_file`]).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// Shortest secret accepted as key material, in bytes (the pepper, the session key).
pub const MIN_SECRET_LEN: usize = 32;

/// Loads a secret (Lambda: from Secrets Manager).
pub type SecretLoader<T> = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<T, String>> + Send>> + Send + Sync>;

/// Where a secret comes from: known up front, or loaded once on first need and then kept for the life of the
/// process. A failed load is retried on the next request.
pub struct SecretSource<T> {
    what: &'static str,
    cell: Arc<OnceCell<T>>,
    loader: Option<SecretLoader<T>>,
}

impl<T> Clone for SecretSource<T> {
    fn clone(&self) -> Self {
        Self { what: self.what, cell: Arc::clone(&self.cell), loader: self.loader.clone() }
    }
}

impl<T: Send + Sync + 'static> SecretSource<T> {
    /// A secret already in hand.
    pub fn ready(what: &'static str, value: T) -> Self {
        Self { what, cell: Arc::new(OnceCell::new_with(Some(value))), loader: None }
    }

    /// A secret loaded on first need by `loader`.
    pub fn deferred(what: &'static str, loader: SecretLoader<T>) -> Self {
        Self { what, cell: Arc::new(OnceCell::new()), loader: Some(loader) }
    }

    /// Starts loading in the background (no-op once loaded). Needs a Tokio runtime.
    pub fn prefetch(&self) {
        let source = self.clone();
        tokio::spawn(async move {
            if let Err(reason) = source.get().await {
                tracing::warn!(secret = source.what, %reason, "prefetch failed; retrying on the first request");
            }
        });
    }

    /// The secret, loading it if needed.
    pub async fn get(&self) -> Result<&T, String> {
        let loader = self.loader.clone();
        let what = self.what;
        self.cell
            .get_or_try_init(|| async move {
                match loader {
                    Some(load) => load().await,
                    None => Err(format!("no {what} configured")),
                }
            })
            .await
    }
}

impl<T> std::fmt::Debug for SecretSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = if self.cell.initialized() { "loaded" } else { "pending" };
        write!(f, "SecretSource({}, {state})", self.what)
    }
}

/// Reads the secret text in the file at `path`, first creating it (mode 0600) with `generate()` if it does not
/// exist. Waits briefly for a concurrent creator to finish writing; `accept` tells a complete value.
pub fn local_secret_file(
    path: &Path,
    generate: impl FnOnce() -> String,
    accept: impl Fn(&str) -> bool,
) -> Result<String, std::io::Error> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(generate().as_bytes())?;
            file.sync_all()?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    for _ in 0..50 {
        let text = std::fs::read_to_string(path)?;
        if accept(text.trim()) {
            return Ok(text.trim().to_string());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{} holds no usable secret", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[tokio::test]
    async fn deferred_secrets_load_once_and_retry_after_failure() {
        let calls = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counted = Arc::clone(&calls);
        let source: SecretSource<u32> = SecretSource::deferred(
            "test secret",
            Arc::new(move || {
                let n = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Box::pin(async move { if n == 0 { Err("first load fails".to_string()) } else { Ok(7) } })
            }),
        );
        assert!(source.get().await.is_err());
        assert_eq!(*source.get().await.unwrap(), 7);
        assert_eq!(*source.get().await.unwrap(), 7);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert_eq!(format!("{source:?}"), "SecretSource(test secret, loaded)");
    }

    #[test]
    fn local_secret_files_are_created_once_and_private() {
        let dir = std::env::temp_dir().join(format!("fd-secret-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let first = local_secret_file(&path, || "a".repeat(43), |t| t.len() >= 32).unwrap();
        let second = local_secret_file(&path, || "b".repeat(43), |t| t.len() >= 32).unwrap();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
