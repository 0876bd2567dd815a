//! Harness for the end-to-end tests: runs the real `fd-admin` and `fd-local` binaries against SQLite or against
//! DynamoDB on a local moto server, and talks HTTP to them.
//!
//! The binaries are taken from `FD_BIN_DIR`, else from the workspace's `target/debug` (the test script builds
//! them first); a binary older than any of its sources is refused, so a stale leftover is never tested.
#![forbid(unsafe_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Where the service keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// SQLite in a fresh temporary directory.
    Sqlite { data_dir: PathBuf },
    /// DynamoDB (and Secrets Manager) on a moto server.
    DynamoDb { endpoint: String, table: String, secret_id: String, session_secret_id: String },
}

impl Backend {
    /// A fresh SQLite data directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("fd-e2e-{}-{}", std::process::id(), unique()));
        Backend::Sqlite { data_dir: dir }
    }

    /// A fresh table and secret on the moto server named by `FD_TEST_AWS_ENDPOINT`; panics with instructions when
    /// it is not set (the test script sets it).
    pub fn dynamodb() -> Self {
        let endpoint = match std::env::var("FD_TEST_AWS_ENDPOINT") {
            Ok(url) if !url.trim().is_empty() => url,
            _ => panic!(
                "FD_TEST_AWS_ENDPOINT is not set: DynamoDB tests run against a local moto server started by \
                 infra/scripts/test.sh (or `eval \"$(infra/scripts/moto.sh start)\"`)."
            ),
        };
        let suffix = unique();
        Backend::DynamoDb {
            endpoint,
            table: format!("fd-e2e-{suffix}"),
            secret_id: format!("fd-e2e-pepper-{suffix}"),
            session_secret_id: format!("fd-e2e-session-{suffix}"),
        }
    }

    fn configure(&self, command: &mut Command) {
        for variable in ["FD_DATA_DIR", "FD_DYNAMODB_TABLE", "FD_SECRET_ID", "FD_SESSION_SECRET_ID", "FD_PUBLIC_URL"] {
            command.env_remove(variable);
        }
        match self {
            Backend::Sqlite { data_dir } => {
                command.arg("--data-dir").arg(data_dir);
            }
            Backend::DynamoDb { endpoint, table, secret_id, session_secret_id } => {
                command
                    .args([
                        "--dynamodb-table",
                        table,
                        "--secret-id",
                        secret_id,
                        "--session-secret-id",
                        session_secret_id,
                    ])
                    .env("AWS_ENDPOINT_URL", endpoint)
                    .env("AWS_ACCESS_KEY_ID", "testing")
                    .env("AWS_SECRET_ACCESS_KEY", "testing")
                    .env("AWS_REGION", "us-east-1")
                    .env_remove("AWS_PROFILE")
                    .env_remove("AWS_SESSION_TOKEN");
            }
        }
    }

    /// Prepares the backend (creates the DynamoDB table and secret with `fd-admin bootstrap`).
    pub async fn prepare(&self) {
        if let Backend::DynamoDb { .. } = self {
            let out = self.admin_raw(&["bootstrap"]).await;
            assert!(out.0, "fd-admin bootstrap failed: {}", out.2);
        }
    }

    async fn admin_raw(&self, args: &[&str]) -> (bool, String, String) {
        let mut command = Command::new(binary("fd-admin"));
        command.args(args);
        self.configure(&mut command);
        let output = command.output().await.unwrap_or_else(|e| panic!("run fd-admin: {e}"));
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Runs `fd-admin ARGS`, asserts success, returns stdout.
    pub async fn admin(&self, args: &[&str]) -> String {
        let (ok, stdout, stderr) = self.admin_raw(args).await;
        assert!(ok, "fd-admin {args:?} failed: {stderr}");
        stdout
    }

    /// Runs `fd-admin ARGS` expecting failure; returns stderr.
    pub async fn admin_fails(&self, args: &[&str]) -> String {
        let (ok, _, stderr) = self.admin_raw(args).await;
        assert!(!ok, "fd-admin {args:?} should have failed");
        stderr
    }

    /// Creates a directory and a key with `fd-admin … --json`; returns (directory id, key id, token).
    pub async fn tenant(&self, name: &str) -> (String, String, String) {
        let dir: Value = json(&self.admin(&["directory", "create", name, "--json"]).await);
        let dir_id = dir["id"].as_str().unwrap_or_default().to_string();
        assert_eq!(dir["name"], name);
        let key: Value =
            json(&self.admin(&["key", "create", "--directory", &dir_id, "--name", "Okta", "--json"]).await);
        assert_eq!(key["directory"], dir_id.as_str());
        let token = key["token"].as_str().unwrap_or_default().to_string();
        let key_id = key["id"].as_str().unwrap_or_default().to_string();
        (dir_id, key_id, token)
    }

    /// Starts `fd-local` on a free port.
    pub async fn start_local(&self) -> LocalServer {
        self.start_local_with(&[], None).await
    }

    /// Starts `fd-local` on a free port with extra arguments, its log (stderr) going to `log` when given.
    pub async fn start_local_with(&self, extra: &[&str], log: Option<&Path>) -> LocalServer {
        let mut command = Command::new(binary("fd-local"));
        let stderr = match log {
            Some(path) => Stdio::from(std::fs::File::create(path).unwrap_or_else(|e| panic!("create log: {e}"))),
            None => Stdio::null(),
        };
        command.args(["--addr", "127.0.0.1:0"]).args(extra).stdout(Stdio::piped()).stderr(stderr).kill_on_drop(true);
        self.configure(&mut command);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("start fd-local: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("fd-local stdout"));
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("fd-local did not start within 30 s"))
            .unwrap_or_else(|e| panic!("read fd-local output: {e}"))
            .unwrap_or_else(|| panic!("fd-local exited before printing its URL"));
        let base_url = first
            .strip_prefix("SCIM base URL: ")
            .unwrap_or_else(|| panic!("unexpected first line from fd-local: {first}"))
            .to_string();
        LocalServer { child, base_url, client: reqwest::Client::new() }
    }
}

/// Parses JSON output, panicking with the text on failure.
pub fn json(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{nanos:x}{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Path of a workspace binary.
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::var_os("FD_BIN_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("target"))
            .join("debug")
    });
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: run `cargo build --workspace` first (the test script does)", path.display());
    assert_fresh(&path);
    path
}

/// The sources the binaries are built from (relative to the workspace root).
const BINARY_SOURCES: &[&str] = &[
    "Cargo.lock",
    "shared/src",
    "shared/signin/src",
    "shared/saml/src",
    "functions",
    "infra/fd-local",
    "infra/fd-admin",
    "infra/fd-dev-idp",
];

/// Refuses a binary older than any of its sources: the tests must run what this tree builds, never a leftover.
fn assert_fresh(binary: &Path) {
    let built = std::fs::metadata(binary).and_then(|m| m.modified()).ok();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default();
    let newest = BINARY_SOURCES.iter().filter_map(|rel| newest_source(&workspace.join(rel))).max();
    if let (Some(built), Some((changed, source))) = (built, newest) {
        assert!(
            changed <= built,
            "{} is older than {}: run `cargo build --workspace` first (the test script does)",
            binary.display(),
            source.display()
        );
    }
}

/// The most recently modified `.rs`/`.toml`/`.lock` file under `path` (or `path` itself).
fn newest_source(path: &Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        let relevant = path.extension().is_some_and(|e| e == "rs" || e == "toml" || e == "lock");
        return if relevant { meta.modified().ok().map(|t| (t, path.to_path_buf())) } else { None };
    }
    std::fs::read_dir(path).ok()?.filter_map(Result::ok).filter_map(|entry| newest_source(&entry.path())).max()
}

impl LocalServer {
    /// The process id of the server.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// `127.0.0.1:PORT`: where to open raw connections.
    pub fn addr(&self) -> &str {
        self.origin().strip_prefix("http://").unwrap_or(self.origin())
    }

    /// `http://127.0.0.1:PORT`: the public base URL fd-local derives its sign-in URLs from.
    pub fn origin(&self) -> &str {
        self.base_url.strip_suffix("/scim/v2").unwrap_or(&self.base_url)
    }
}

/// A running `fd-local`; killed when dropped.
pub struct LocalServer {
    child: Child,
    /// The SCIM base URL it printed.
    pub base_url: String,
    client: reqwest::Client,
}

/// A response: status, headers, parsed JSON body (Null when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl LocalServer {
    /// Sends a request as Okta does: SCIM media types, optional Bearer token and JSON body.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
        let body = body.map(Value::to_string);
        self.call_raw(method, path, token, body.as_deref()).await
    }

    /// Like [`LocalServer::call`], with a raw body.
    pub async fn call_raw(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Reply {
        let request = self.request(method, path, token, body);
        let response = request.send().await.unwrap_or_else(|e| panic!("request failed: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = if text.is_empty() { Value::Null } else { json(&text) };
        Reply { status, headers, body }
    }

    /// Like [`LocalServer::call`], but a failed exchange (connection refused or reset, a response cut short or
    /// not JSON) is an error instead of a panic: for tests in which the server goes away mid-request.
    pub async fn try_call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Reply, String> {
        let body = body.map(Value::to_string);
        let request = self.request(method, path, token, body.as_deref());
        let response = request.send().await.map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| format!("reading the response failed: {e}"))?;
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(text.trim()).map_err(|e| format!("not JSON ({e}): {text}"))?
        };
        Ok(Reply { status, headers, body })
    }

    fn request(&self, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .header("Accept", "application/scim+json")
            .header("User-Agent", "Okta SCIM Client 1.0.0");
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        if let Some(body) = body {
            request = request.header("Content-Type", "application/scim+json; charset=utf-8").body(body.to_string());
        }
        request
    }

    /// Stops the server.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Waits for the server to exit (after a signal sent to its [`LocalServer::pid`]) and returns how it ended.
    pub async fn wait(mut self) -> std::process::ExitStatus {
        self.child.wait().await.unwrap_or_else(|e| panic!("wait for fd-local: {e}"))
    }
}
pub mod fault_proxy;
