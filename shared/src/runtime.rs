//! Building the service from configuration, and logging.

use crate::auth::{AuthError, Pepper};
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

/// Which store to use: the one set of store options of every binary (`fd-local`, `fd-admin`), from flags or the
/// environment (feature `cli` makes it a `clap::Args` to flatten into a command line).
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
pub struct StoreConfig {
    /// SQLite data directory (default ./.fd-data).
    #[cfg_attr(feature = "cli", arg(long, global = true, env = "FD_DATA_DIR"))]
    pub data_dir: Option<PathBuf>,
    /// Use this DynamoDB table (standard AWS environment) instead of SQLite.
    #[cfg_attr(feature = "cli", arg(long, global = true, env = "FD_DYNAMODB_TABLE"))]
    pub dynamodb_table: Option<String>,
    /// Secrets Manager secret holding the key pepper (DynamoDB mode).
    #[cfg_attr(feature = "cli", arg(long, global = true, env = "FD_SECRET_ID"))]
    pub secret_id: Option<String>,
    /// Secrets Manager secret holding the session-signing key (DynamoDB mode; created by `fd-admin bootstrap`).
    #[cfg_attr(feature = "cli", arg(long, global = true, env = "FD_SESSION_SECRET_ID"))]
    pub session_secret_id: Option<String>,
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

    /// The session-signing key's text: `<data dir>/session-key` (created on first use) with SQLite, the
    /// Secrets Manager secret `session_secret_id` with DynamoDB.
    pub async fn session_secret(&self) -> Result<String, ConfigError> {
        match &self.dynamodb_table {
            Some(_) => {
                let secret_id = self
                    .session_secret_id
                    .as_deref()
                    .ok_or(ConfigError::Missing("--session-secret-id / FD_SESSION_SECRET_ID"))?;
                load_secret_text(secret_id).await
            }
            None => {
                let dir = self.data_dir.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
                local_session_secret(&dir)
            }
        }
    }
}

#[cfg(feature = "sqlite")]
fn local_session_secret(dir: &std::path::Path) -> Result<String, ConfigError> {
    std::fs::create_dir_all(dir).map_err(|e| ConfigError::Io(dir.display().to_string(), e))?;
    let path = dir.join("session-key");
    crate::secret::local_secret_file(&path, Pepper::generate_text, |t| t.len() >= crate::secret::MIN_SECRET_LEN)
        .map_err(|e| ConfigError::Io(path.display().to_string(), e))
}

#[cfg(not(feature = "sqlite"))]
fn local_session_secret(_dir: &std::path::Path) -> Result<String, ConfigError> {
    Err(ConfigError::NotBuiltIn("SQLite"))
}

#[cfg(feature = "dynamodb")]
async fn load_secret_text(secret_id: &str) -> Result<String, ConfigError> {
    let config = crate::store::dynamodb::aws_config().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&config);
    crate::store::dynamodb::load_secret_text(&secrets, secret_id).await.map_err(|e| ConfigError::Secret(e.to_string()))
}

#[cfg(not(feature = "dynamodb"))]
async fn load_secret_text(_secret_id: &str) -> Result<String, ConfigError> {
    Err(ConfigError::NotBuiltIn("DynamoDB"))
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
    let text =
        crate::secret::local_secret_file(path, Pepper::generate_text, |t| Pepper::new(t.as_bytes().to_vec()).is_ok())
            .map_err(|e| ConfigError::Io(path.display().to_string(), e))?;
    Ok(Pepper::new(text.into_bytes())?)
}

#[cfg(feature = "dynamodb")]
async fn open_dynamodb(table: &str, secret_id: &str) -> Result<(Arc<dyn Store>, Pepper), ConfigError> {
    let config = crate::store::dynamodb::aws_config().await;
    let (store, pepper) = dynamodb_parts(&config, table.to_string(), secret_id.to_string());
    let pepper = pepper.get().await.map_err(ConfigError::Secret)?.clone();
    Ok((store, pepper))
}

/// The DynamoDB store over `table`, and the pepper from the Secrets Manager secret `secret_id`, not yet read.
#[cfg(feature = "dynamodb")]
fn dynamodb_parts(
    config: &aws_config::SdkConfig,
    table: String,
    secret_id: String,
) -> (Arc<dyn Store>, crate::auth::PepperSource) {
    use crate::store::dynamodb;
    let store = dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(config), table);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let pepper = crate::auth::PepperSource::deferred(
        "pepper",
        Arc::new(move || {
            let secrets = secrets.clone();
            let secret_id = secret_id.clone();
            Box::pin(async move { dynamodb::load_pepper(&secrets, &secret_id).await.map_err(|e| e.to_string()) })
        }),
    );
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
pub async fn lambda_service() -> Result<crate::service::ScimService, ConfigError> {
    init_logging();
    let table = std::env::var("FD_DYNAMODB_TABLE").map_err(|_| ConfigError::Missing("FD_DYNAMODB_TABLE"))?;
    let secret_id = std::env::var("FD_SECRET_ID").map_err(|_| ConfigError::Missing("FD_SECRET_ID"))?;
    let config = crate::store::dynamodb::aws_config().await;
    Ok(dynamodb_service(&config, table, secret_id))
}

/// The service over DynamoDB table `table` and the pepper in the Secrets Manager secret `secret_id`, both reached
/// as `config` says ([`lambda_service`] passes the standard environment). The pepper's load starts now, in the
/// background; while Secrets Manager cannot be reached, requests are answered `503` and the load is tried again by
/// the next request: a failure is never kept.
#[cfg(feature = "dynamodb")]
pub fn dynamodb_service(
    config: &aws_config::SdkConfig,
    table: String,
    secret_id: String,
) -> crate::service::ScimService {
    let (store, pepper) = dynamodb_parts(config, table, secret_id);
    pepper.prefetch();
    crate::service::ScimService::with_pepper_source(store, pepper)
}

/// The store and the session-signing key as the sign-in function runs them: DynamoDB table
/// `FD_DYNAMODB_TABLE`, key text from the Secrets Manager secret `FD_SESSION_SECRET_ID`, fetched in the
/// background from init on (see [`lambda_service`]). Also starts logging.
#[cfg(feature = "dynamodb")]
pub async fn lambda_sign_in_parts() -> Result<(Arc<dyn Store>, crate::secret::SecretSource<String>), ConfigError> {
    use crate::store::dynamodb;
    init_logging();
    let table = std::env::var("FD_DYNAMODB_TABLE").map_err(|_| ConfigError::Missing("FD_DYNAMODB_TABLE"))?;
    let secret_id = std::env::var("FD_SESSION_SECRET_ID").map_err(|_| ConfigError::Missing("FD_SESSION_SECRET_ID"))?;
    let config = dynamodb::aws_config().await;
    Ok(dynamodb_sign_in_parts(&config, table, secret_id))
}

/// The store over DynamoDB table `table` and the session-signing key in the Secrets Manager secret `secret_id`,
/// both reached as `config` says, the key's load started in the background (see [`dynamodb_service`]).
#[cfg(feature = "dynamodb")]
pub fn dynamodb_sign_in_parts(
    config: &aws_config::SdkConfig,
    table: String,
    secret_id: String,
) -> (Arc<dyn Store>, crate::secret::SecretSource<String>) {
    use crate::store::dynamodb;
    let store = dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(config), table);
    let secrets = aws_sdk_secretsmanager::Client::new(config);
    let session_secret = crate::secret::SecretSource::deferred(
        "session key",
        Arc::new(move || {
            let secrets = secrets.clone();
            let secret_id = secret_id.clone();
            Box::pin(async move { dynamodb::load_secret_text(&secrets, &secret_id).await.map_err(|e| e.to_string()) })
        }),
    );
    session_secret.prefetch();
    (Arc::new(store), session_secret)
}

/// The public base URL (`https://host[/stage]`) from `FD_PUBLIC_URL`, as the template sets it.
pub fn public_url_from_env() -> Result<String, ConfigError> {
    std::env::var("FD_PUBLIC_URL").map_err(|_| ConfigError::Missing("FD_PUBLIC_URL"))
}

/// Structured JSON logs on stderr (stdout stays free for command output), filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    init_logging_to(std::io::stderr);
}

/// [`init_logging`], each line written to `writer` (one `write` of the whole line per event).
///
/// `RUST_LOG` takes a level (`warn`) or per-target levels (`info,fd_shared=debug`). Span and field filters are not
/// supported: a static filter costs nothing per span, where `EnvFilter` tracks every span it might filter on.
pub fn init_logging_to<W>(writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let _ = tracing_subscriber::registry()
        .with(log_filter(std::env::var("RUST_LOG").ok().as_deref()))
        .with(
            tracing_subscriber::fmt::layer()
                .fmt_fields(crate::json_log::JsonMembers)
                .event_format(crate::json_log::JsonLine)
                .with_writer(writer),
        )
        .try_init();
}

/// The filter `RUST_LOG` asks for; `info` when it is unset or not a filter this understands.
fn log_filter(rust_log: Option<&str>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    rust_log
        .filter(|value| !value.trim().is_empty())
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::log_filter;
    use tracing::Level;

    #[test]
    fn rust_log_sets_levels_and_anything_else_means_info() {
        for unset in [None, Some(""), Some("  "), Some("[span{f=1}]=debug"), Some("fd_shared=loud")] {
            let filter = log_filter(unset);
            assert!(filter.would_enable("fd_shared::http", &Level::INFO), "{unset:?}");
            assert!(!filter.would_enable("fd_shared::http", &Level::DEBUG), "{unset:?}");
        }
        let warn = log_filter(Some("warn"));
        assert!(warn.would_enable("fd_shared::http", &Level::WARN));
        assert!(!warn.would_enable("fd_shared::http", &Level::INFO));
        let mixed = log_filter(Some("info,fd_shared::store=debug"));
        assert!(mixed.would_enable("fd_shared::store::sqlite", &Level::DEBUG));
        assert!(!mixed.would_enable("fd_shared::http", &Level::DEBUG));
        assert!(mixed.would_enable("fd_shared::http", &Level::INFO));
    }
}
