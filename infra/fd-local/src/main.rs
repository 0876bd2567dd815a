//! `fd-local`: serves every function's handler (the five SCIM verbs and sign-in) on one port, routed as `template.yaml` routes the HTTP API, through
//! the same `lambda_http` request and response types as in Lambda. SQLite under `./.fd-data/` by default;
//! `--dynamodb-table` switches to DynamoDB with the standard AWS environment.
#![forbid(unsafe_code)]

mod dev_idp;
mod edge_io;
mod log_buffer;
mod router;
mod server;

use anyhow::Context as _;
use clap::Parser;
use fd_shared::runtime::{ConfigError, StoreConfig, init_logging, init_logging_to};
use fd_shared::secret::SecretSource;
use fd_shared::service::ScimService;
use fd_signin::{SignInService, SpEndpoints};
use router::{PublicOrigin, Services};
use server::Limits;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Federated Directory, locally: the SCIM API on one port.
#[derive(Debug, Parser)]
#[command(name = "fd-local", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    #[command(flatten)]
    store: StoreConfig,
    /// Public base URL of this server: resource locations and the SAML ACS URL and SP entity id derive from it,
    /// never from a client's Host header (default `http://ADDR`).
    #[arg(long, env = "FD_PUBLIC_URL")]
    public_url: Option<String>,
    /// Serve a development identity provider at /dev-idp (local runs only: it signs in anyone it is asked to).
    #[arg(long)]
    dev_idp: bool,
    /// The development IdP's private key (created on first use), as `fd-dev-idp` uses it.
    #[arg(long, env = "FD_DEV_IDP_KEY", default_value = ".fd-data/dev-idp-key.pem")]
    dev_idp_key: PathBuf,
    /// Connections open at once; more wait until one closes.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// Seconds a request head may take to arrive (also how long an idle keep-alive connection stays open).
    #[arg(long, default_value_t = 10)]
    head_timeout_secs: u64,
    /// Seconds a request body may take to arrive.
    #[arg(long, default_value_t = 20)]
    body_timeout_secs: u64,
    /// Request bodies held in memory at once, in MiB, across all connections.
    #[arg(long, default_value_t = 64)]
    body_budget_mib: u32,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let log = match log_buffer::BufferedStderr::start() {
        Ok(buffer) => {
            init_logging_to(buffer.clone());
            Some(buffer)
        }
        Err(_) => {
            init_logging();
            None
        }
    };
    let args = Args::parse();
    let outcome = run(args).await;
    if let Some(buffer) = log {
        buffer.flush();
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fd-local: {message:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = args.store;
    let (store, pepper) = config.open().await?;
    let session_secret = match config.session_secret().await {
        Ok(text) => SecretSource::ready("session key", text),
        // SCIM works without it; sign-in answers 503 until one is configured.
        Err(ConfigError::Missing(what)) => {
            tracing::warn!(missing = what, "no session-signing key: sign-in is disabled");
            SecretSource::deferred(
                "session key",
                Arc::new(move || Box::pin(async move { Err(format!("{what} not set")) })),
            )
        }
        Err(e) => return Err(e.into()),
    };
    let listener = TcpListener::bind(args.addr).await.with_context(|| format!("cannot listen on {}", args.addr))?;
    let bound = listener.local_addr()?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{bound}"));
    let endpoints = SpEndpoints::new(&public_url)?;
    let public_origin = origin_of(&public_url)?;
    println!("SCIM base URL: {}{}", endpoints.base(), fd_shared::http::SCIM_BASE_PATH);
    tracing::info!(public_url = endpoints.base(), "sign-in at <public URL>/saml/<directory>/login");
    let body_budget_kib = args
        .body_budget_mib
        .saturating_mul(1024)
        .max(router::kib(fd_shared::routes::ROUTES.iter().map(|r| r.function.max_body_bytes()).max().unwrap_or(0)));
    let https = endpoints.base().starts_with("https://");
    let dev_idp = if args.dev_idp {
        let idp = dev_idp::LocalIdp::load(&args.dev_idp_key, SpEndpoints::new(&public_url)?)?;
        tracing::warn!("development IdP at /dev-idp: it signs in anyone; never expose this server");
        Some(idp)
    } else {
        None
    };
    let sign_in = Arc::new(SignInService::new(store.clone(), session_secret, endpoints));
    let services = Arc::new(Services {
        scim: ScimService::new(store.clone(), pepper),
        web: fd_web::WebService::new(store, Arc::clone(&sign_in)),
        sign_in,
        https,
        dev_idp,
        public_origin,
        body_budget: Arc::new(Semaphore::new(body_budget_kib as usize)),
        body_timeout: Duration::from_secs(args.body_timeout_secs.max(1)),
    });
    let limits = Limits {
        max_connections: args.max_connections.max(1),
        head_timeout: Duration::from_secs(args.head_timeout_secs.max(1)),
    };
    // Ctrl-C or SIGTERM: stop accepting, then flush the log on the way out.
    let shutdown = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    server::serve(listener, services, limits, shutdown).await;
    Ok(())
}

/// The origin of the public URL.
fn origin_of(public_url: &str) -> anyhow::Result<PublicOrigin> {
    PublicOrigin::of(public_url).ok_or_else(|| anyhow::anyhow!("--public-url {public_url:?} must be an http(s) URL"))
}
