//! `fd-dev-idp`: a development identity provider. It keeps an RSA key in a file, prints the certificate to
//! configure with `fd-admin saml set`, and signs Okta-shaped responses (Response and Assertion signed,
//! exclusive c14n, RSA-SHA256, fresh timestamps) for a directory's ACS: as the `SAMLResponse` value, as a form
//! body for `curl`, as an auto-posting HTML page for a browser, or as an API Gateway event for
//! `sam local invoke`. Never point a deployed directory at its certificate.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use fd_saml::dev_idp::{DevIdp, ResponseOptions, SignMode};
use fd_signin::SpEndpoints;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Entity id (`Issuer`) of the development IdP.
const ENTITY_ID: &str = "urn:federated-directory:dev-idp";

#[derive(Debug, Parser)]
#[command(name = "fd-dev-idp", version)]
struct Cli {
    /// The IdP's private key (PKCS#8 PEM); created on first use.
    #[arg(long, env = "FD_DEV_IDP_KEY", default_value = ".fd-data/dev-idp-key.pem")]
    key: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the IdP's certificate (PEM), for `fd-admin saml set --certificate`.
    Certificate,
    /// Print a signed response for a directory's ACS.
    Response {
        #[arg(long)]
        directory: String,
        /// NameID: the userName to sign in as.
        #[arg(long)]
        user: String,
        /// Public base URL of the deployment (as given to fd-local / the template).
        #[arg(long, env = "FD_PUBLIC_URL", default_value = "http://127.0.0.1:3000")]
        public_url: String,
        /// Answer this AuthnRequest (SP-initiated); omit for IdP-initiated (Okta's dashboard tile).
        #[arg(long)]
        in_response_to: Option<String>,
        #[arg(long)]
        relay_state: Option<String>,
        /// Which elements to sign.
        #[arg(long, value_enum, default_value_t = Signed::Both)]
        sign: Signed,
        #[arg(long, value_enum, default_value_t = Format::Base64)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Signed {
    Both,
    Assertion,
    Response,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    /// The `SAMLResponse` value.
    Base64,
    /// An `application/x-www-form-urlencoded` body (`curl --data-binary @-`).
    Form,
    /// An HTML page that posts the response to the ACS, as a browser would.
    Html,
    /// An API Gateway (HTTP API) event for the SamlAcsFunction (`sam local invoke -e`).
    Event,
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("fd-dev-idp: {message:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<String> {
    let idp = load_or_create(&cli.key)?;
    match cli.command {
        Command::Certificate => Ok(idp.certificate_pem().to_string()),
        Command::Response { directory, user, public_url, in_response_to, relay_state, sign, format } => {
            let endpoints = SpEndpoints::new(&public_url)?;
            let acs_url = endpoints.acs_url(&directory);
            let now = time::OffsetDateTime::now_utc();
            let mut options = ResponseOptions::new(endpoints.entity_id(&directory), &acs_url, user, now);
            options.in_response_to = in_response_to;
            options.sign = match sign {
                Signed::Both => SignMode::Both,
                Signed::Assertion => SignMode::AssertionOnly,
                Signed::Response => SignMode::ResponseOnly,
            };
            let value = idp.signed_response_base64(&options)?;
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("SAMLResponse", &value);
            if let Some(relay_state) = &relay_state {
                form.append_pair("RelayState", relay_state);
            }
            let form = form.finish();
            Ok(match format {
                Format::Base64 => format!("{value}\n"),
                Format::Form => form,
                Format::Html => html(&acs_url, &value, relay_state.as_deref()),
                Format::Event => format!("{:#}\n", event(&directory, &form, now)),
            })
        }
    }
}

fn load_or_create(path: &Path) -> anyhow::Result<DevIdp> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
    }
    // A new key (mode 0600) on first use; the generator only runs when the file does not exist.
    let generate = || DevIdp::generate(ENTITY_ID).and_then(|idp| idp.private_key_pem()).unwrap_or_default();
    let pem = fd_shared::secret::local_secret_file(path, generate, |text| text.contains("PRIVATE KEY-----"))
        .with_context(|| path.display().to_string())?;
    DevIdp::from_private_key_pem(ENTITY_ID, &pem).map_err(anyhow::Error::from)
}

fn html(acs_url: &str, value: &str, relay_state: Option<&str>) -> String {
    let relay = relay_state
        .map(|r| format!("<input type=\"hidden\" name=\"RelayState\" value=\"{}\">", fd_saml::dev_idp::esc(r)))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html><html><body onload=\"document.forms[0].submit()\">\
         <form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"SAMLResponse\" value=\"{value}\">{relay}\
         <noscript><button type=\"submit\">Sign in</button></noscript></form></body></html>\n",
        fd_saml::dev_idp::esc(acs_url)
    )
}

/// An HTTP API (payload 2.0) event as API Gateway delivers the browser's post to the SamlAcsFunction.
fn event(directory: &str, form: &str, now: time::OffsetDateTime) -> serde_json::Value {
    let path = format!("/saml/{directory}/acs");
    let host = "abc123defg.execute-api.eu-west-1.amazonaws.com";
    json!({
        "version": "2.0",
        "routeKey": "POST /saml/{directory}/acs",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "content-length": form.len().to_string(),
            "host": host,
            "origin": "https://example.okta.com",
            "user-agent": "Mozilla/5.0",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443"
        },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123defg",
            "domainName": host,
            "domainPrefix": "abc123defg",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "Mozilla/5.0"
            },
            "requestId": "SamlAcsEvent0=",
            "routeKey": "POST /saml/{directory}/acs",
            "stage": "$default",
            "timeEpoch": now.unix_timestamp() * 1000
        },
        "pathParameters": { "directory": directory },
        "isBase64Encoded": false,
        "body": form
    })
}
