//! Building the service from configuration, and logging.

use crate::auth::{AuthError, Pepper};
use crate::service::ScimService;
use crate::store::{Store, StoreError};
use std::path::PathBuf;
use std::sync::Arc;

/// Why the service could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("missing configuration: {0}")]
    Missing(&'static str),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("pepper: {0}")]
    Pepper(#[from] AuthError),
    #[error("pepper secret: {0}")]
    Secret(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("this build does not include the {0} store")]
    NotBuiltIn(&'static str),
}

/// Which store to use, as `fd-local` and `fd-admin` take it from flags or the environment.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    /// SQLite data directory (the default, `./.fd-data`).
    pub data_dir: Option<PathBuf>,
    /// DynamoDB table; when set, DynamoDB is used instead of SQLite.
    pub dynamodb_table: Option<String>,
    /// Secrets Manager secret holding the pepper (DynamoDB mode).
    pub secret_id: Option<String>,
}

/// Default SQLite data directory.
pub const DEFAULT_DATA_DIR: &str = ".fd-data";

impl StoreConfig {
    /// Opens the configured store and its pepper.
    pub async fn open(&self) -> Result<(Arc<dyn Store>, Pepper), ConfigError> {
        match &self.dynamodb_table {
            Some(table) => {
                let secret_id = self.secret_id.as_deref().ok_or(ConfigError::Missing("--secret-id / FD_SECRET_ID"))?;
                open_dynamodb(table, secret_id).await
            }
            None => {
                let dir = self.data_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
                open_sqlite(dir)
            }
        }
    }
}

#[cfg(feature = "sqlite")]
fn open_sqlite(dir: PathBuf) -> Result<(Arc<dyn Store>, Pepper), ConfigError> {
    std::fs::create_dir_all(&dir).map_err(|e| ConfigError::Io(dir.display().to_string(), e))?;
    let pepper = local_pepper(&dir.join("pepper"))?;
    let store = crate::store::sqlite::SqliteStore::open(&dir.join("directory.sqlite3"))?;
    Ok((Arc::new(store), pepper))
}

#[cfg(not(feature = "sqlite"))]
fn open_sqlite(_dir: PathBuf) -> Result<(Arc<dyn Store>, Pepper), ConfigError> {
    Err(ConfigError::NotBuiltIn("SQLite"))
}

/// Reads the local pepper file, creating it (mode 0600) on first use.
#[cfg(feature = "sqlite")]
fn local_pepper(path: &std::path::Path) -> Result<Pepper, ConfigError> {
    use std::io::Write;
    let io = |e| ConfigError::Io(path.display().to_string(), e);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(Pepper::generate_text().as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io(e)),
    }
    // A concurrent creator may still be writing: wait briefly for a complete pepper.
    for _ in 0..50 {
        let text = std::fs::read_to_string(path).map_err(io)?;
        if let Ok(pepper) = Pepper::new(text.trim().as_bytes().to_vec()) {
            return Ok(pepper);
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(ConfigError::Pepper(AuthError::WeakPepper))
}

#[cfg(feature = "dynamodb")]
async fn open_dynamodb(table: &str, secret_id: &str) -> Result<(Arc<dyn Store>, Pepper), ConfigError> {
    let (store, pepper) = dynamodb_parts(table.to_string(), secret_id.to_string()).await;
    let pepper = pepper.get().await.map_err(ConfigError::Secret)?.clone();
    Ok((store, pepper))
}

/// The DynamoDB store over `table`, and the pepper from the Secrets Manager secret `secret_id`, not yet read.
#[cfg(feature = "dynamodb")]
async fn dynamodb_parts(table: String, secret_id: String) -> (Arc<dyn Store>, crate::auth::PepperSource) {
    use crate::store::dynamodb;
    let config = dynamodb::aws_config().await;
    let store = dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), table);
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    let pepper = crate::auth::PepperSource::deferred(Arc::new(move || {
        let secrets = secrets.clone();
        let secret_id = secret_id.clone();
        Box::pin(async move { dynamodb::load_pepper(&secrets, &secret_id).await.map_err(|e| e.to_string()) })
    }));
    (Arc::new(store), pepper)
}

#[cfg(not(feature = "dynamodb"))]
async fn open_dynamodb(_table: &str, _secret_id: &str) -> Result<(Arc<dyn Store>, Pepper), ConfigError> {
    Err(ConfigError::NotBuiltIn("DynamoDB"))
}

/// The service as a Lambda function runs it: DynamoDB table `FD_DYNAMODB_TABLE`, pepper from the Secrets
/// Manager secret `FD_SECRET_ID`. Called once per container, before the first request; also starts logging.
///
/// The pepper is fetched in the background, overlapping the runtime's first poll for an event; the first request
/// waits for it if it has not arrived yet, and it is then kept for the life of the container.
#[cfg(feature = "dynamodb")]
pub async fn lambda_service() -> Result<ScimService, ConfigError> {
    init_logging();
    let table = std::env::var("FD_DYNAMODB_TABLE").map_err(|_| ConfigError::Missing("FD_DYNAMODB_TABLE"))?;
    let secret_id = std::env::var("FD_SECRET_ID").map_err(|_| ConfigError::Missing("FD_SECRET_ID"))?;
    let (store, pepper) = dynamodb_parts(table, secret_id).await;
    pepper.prefetch();
    Ok(ScimService::with_pepper_source(store, pepper))
}

/// Structured JSON logs on stderr (stdout stays free for command output), filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
