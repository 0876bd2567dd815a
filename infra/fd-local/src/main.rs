//! `fd-local`: serves every function's handler (the five SCIM verbs and sign-in) on one port, routed as `template.yaml` routes the HTTP API, through
//! the same `lambda_http` request and response types as in Lambda. SQLite under `./.fd-data/` by default;
//! `--dynamodb-table` switches to DynamoDB with the standard AWS environment.
#![forbid(unsafe_code)]

use clap::Parser;
use fd_shared::runtime::{ConfigError, StoreConfig, init_logging};
use fd_shared::secret::SecretSource;
use fd_shared::service::ScimService;
use fd_signin::{SignInService, SpEndpoints};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::http::{self, Method, StatusCode, header};
use lambda_http::{Body, Response};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The HTTP API's own payload limit.
const API_GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

/// Federated Directory, locally: the SCIM API on one port.
#[derive(Debug, Parser)]
#[command(name = "fd-local", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// SQLite data directory.
    #[arg(long, env = "FD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Use this DynamoDB table (standard AWS environment) instead of SQLite.
    #[arg(long, env = "FD_DYNAMODB_TABLE")]
    dynamodb_table: Option<String>,
    /// Secrets Manager secret holding the key pepper (DynamoDB mode).
    #[arg(long, env = "FD_SECRET_ID")]
    secret_id: Option<String>,
    /// Secrets Manager secret holding the session-signing key (DynamoDB mode).
    #[arg(long, env = "FD_SESSION_SECRET_ID")]
    session_secret_id: Option<String>,
    /// Public base URL of this server, from which the SAML ACS URL and SP entity id derive (default
    /// `http://ADDR`).
    #[arg(long, env = "FD_PUBLIC_URL")]
    public_url: Option<String>,
}

/// Everything `fd-local` serves.
struct Services {
    scim: ScimService,
    sign_in: SignInService,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    init_logging();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fd-local: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let config = StoreConfig {
        data_dir: args.data_dir,
        dynamodb_table: args.dynamodb_table,
        secret_id: args.secret_id,
        session_secret_id: args.session_secret_id,
    };
    let (store, pepper) = config.open().await.map_err(|e| e.to_string())?;
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
        Err(e) => return Err(e.to_string()),
    };
    let listener = TcpListener::bind(args.addr).await.map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url = args.public_url.unwrap_or_else(|| format!("http://{bound}"));
    let endpoints = SpEndpoints::new(&public_url).map_err(|e| e.to_string())?;
    println!("SCIM base URL: {}{}", endpoints.base(), fd_shared::http::SCIM_BASE_PATH);
    tracing::info!(public_url = endpoints.base(), "sign-in at <public URL>/saml/<directory>/login");
    let service = Arc::new(Services {
        scim: ScimService::new(Arc::clone(&store), pepper),
        sign_in: SignInService::new(store, session_secret, endpoints),
    });

    let shutdown = tokio::signal::ctrl_c();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let (stream, _) = match accepted {
                    Ok(conn) => conn,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = Arc::clone(&service);
                tokio::spawn(async move {
                    let handler = service_fn(move |request| {
                        let service = Arc::clone(&service);
                        async move { Ok::<_, Infallible>(route(&service, request).await) }
                    });
                    if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), handler).await {
                        tracing::debug!(error = %e, "connection closed with error");
                    }
                });
            }
        }
    }
}

/// Routes as the HTTP API does: `METHOD /scim/v2/{proxy+}` to that method's function, the sign-in routes to
/// the `saml-acs` function.
async fn route(services: &Services, request: http::Request<Incoming>) -> http::Response<Full<Bytes>> {
    let request = match to_lambda_request(request).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let path = request.uri().path();
    let in_scim = path.starts_with(fd_shared::http::SCIM_BASE_PATH);
    let sign_in = fd_signin::http::is_sign_in_route(request.method().as_str(), path);
    let service = &services.scim;
    let response = match (in_scim, request.method().clone()) {
        (true, Method::GET) => scim_get::handle(service, request).await,
        (true, Method::POST) => scim_post::handle(service, request).await,
        (true, Method::PUT) => scim_put::handle(service, request).await,
        (true, Method::PATCH) => scim_patch::handle(service, request).await,
        (true, Method::DELETE) => scim_delete::handle(service, request).await,
        (false, _) if sign_in => saml_acs::handle(&services.sign_in, request).await,
        // API Gateway answers unrouted requests itself, the same way.
        _ => Ok(not_found()),
    };
    match response {
        Ok(response) => from_lambda_response(response),
        Err(never) => match never {},
    }
}

/// Builds the `lambda_http` request the API Gateway integration would deliver.
async fn to_lambda_request(
    request: http::Request<Incoming>,
) -> Result<lambda_http::Request, http::Response<Full<Bytes>>> {
    let (parts, body) = request.into_parts();
    // API Gateway refuses bodies over 10 MiB itself; below that the handler applies its own limit (413).
    let bytes = match Limited::new(body, API_GATEWAY_MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Err(plain(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large"));
        }
    };
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let uri = format!("http://{host}{path_and_query}");
    let mut builder = http::Request::builder().method(parts.method).uri(uri);
    if let Some(headers) = builder.headers_mut() {
        *headers = parts.headers;
    }
    builder
        .body(if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) })
        .map_err(|_| plain(StatusCode::BAD_REQUEST, "Bad request"))
}

fn from_lambda_response(response: Response<Body>) -> http::Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    http::Response::from_parts(parts, Full::new(bytes))
}

fn not_found() -> Response<Body> {
    let mut response = Response::new(Body::Text("{\"message\":\"Not Found\"}".into()));
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().insert(header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

fn plain(status: StatusCode, message: &'static str) -> http::Response<Full<Bytes>> {
    let mut response = http::Response::new(Full::new(Bytes::from_static(message.as_bytes())));
    *response.status_mut() = status;
    response
}
