//! `fd-admin`: manage directories, their access keys and their SAML sign-in, and bootstrap a
//! DynamoDB-compatible server.
//!
//! Store options (`--data-dir`, `--dynamodb-table`, `--secret-id`, `--session-secret-id`, or `FD_DATA_DIR`,
//! `FD_DYNAMODB_TABLE`, `FD_SECRET_ID`, `FD_SESSION_SECRET_ID`) are global: they are accepted before or after
//! the subcommand.
#![forbid(unsafe_code)]

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use fd_shared::auth::{Credential, Pepper, is_id, issue_key, new_id};
use fd_shared::runtime::StoreConfig;
use fd_shared::store::{Company, Directory, Store, StoreError};
use fd_signin::SpEndpoints;
use fd_signin::config::{SamlSettings, fingerprints};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Federated Directory administration.
#[derive(Debug, Parser)]
#[command(name = "fd-admin", version)]
struct Cli {
    #[command(flatten)]
    store: StoreConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Companies: the people of one or more directories, who find each other in the address book.
    #[command(subcommand)]
    Company(CompanyCommand),
    /// Directories (tenants).
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Access keys (Bearer tokens for Okta).
    #[command(subcommand)]
    Key(KeyCommand),
    /// SAML sign-in through the directory's identity provider (Okta).
    #[command(subcommand)]
    Saml(SamlCommand),
    /// Maintenance of a directory's users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Create the DynamoDB table, the pepper secret and (with `--session-secret-id`) the session-key secret if
    /// they do not exist (for a local DynamoDB-compatible server; in AWS, CloudFormation creates them).
    Bootstrap,
    /// Print the Okta attribute mapping as Markdown.
    OktaMapping,
}

#[derive(Debug, Subcommand)]
enum CompanyCommand {
    /// Create a company: its short name (2–40 letters, digits, '-', '_') is where its people sign in, /of/SHORT.
    Create {
        short_name: String,
        /// The company's display name.
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Show a company (by short name, or a directory id for a directory that is a company of its own).
    Show {
        short_name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Create a directory (in a company; without --company it is a company of its own).
    Create {
        name: String,
        /// The short name of the company the directory belongs to.
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List directories.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Create a key; its token is printed once and never stored.
    Create {
        #[arg(long)]
        directory: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// List a directory's keys (never their tokens).
    List {
        #[arg(long)]
        directory: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key; requests using it fail from then on.
    Revoke {
        #[arg(long)]
        directory: String,
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Re-resolve every manager link of a directory from the managers' display names, rewriting only the users
    /// whose link changes (links lag when a manager is provisioned after its reports, renamed or deleted).
    RelinkManagers {
        #[arg(long)]
        directory: String,
        /// Skip the first walk, which makes sure every user is in the display-name index (needed once for users
        /// written before manager links existed).
        #[arg(long)]
        no_reindex: bool,
        #[command(flatten)]
        public_url: PublicUrlArg,
        #[arg(long)]
        json: bool,
    },
    /// List the users whose userName the identity rule refuses (RFC 8265 IdentifierClass, no mapping: no
    /// surrounding or inner whitespace, no invisible or compatibility characters). Such users were provisioned
    /// before the rule; they cannot sign in until their client sends a valid userName.
    CheckNames {
        #[arg(long)]
        directory: String,
        #[arg(long)]
        json: bool,
    },
    /// Move the userName claims written before the identity rule (keyed by the lowercase name) to the identity key
    /// (NFC of the full case folding), for one directory or all of them; safe to repeat and to run while Okta
    /// provisions. Until then those users are still found and still unique. Lists the users that share an
    /// identity with another user (look-alikes the earlier rule let in): resolve them in Okta.
    MigrateNames {
        /// One directory (default: every directory).
        #[arg(long)]
        directory: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

/// Where the deployment is reachable: the SP's URLs derive from it.
#[derive(Debug, Args)]
struct PublicUrlArg {
    /// Public base URL of the deployment (the stack's `PublicBaseUrl` output in AWS, required with DynamoDB;
    /// default `http://127.0.0.1:3000`, `fd-local`'s own).
    #[arg(long, env = "FD_PUBLIC_URL")]
    public_url: Option<String>,
}

impl PublicUrlArg {
    /// The base URL: as given, or `fd-local`'s default on SQLite. With DynamoDB there is no sensible default, and
    /// a wrong one would end up in stored `$ref`s and in what admins paste into Okta.
    fn resolve(&self, config: &StoreConfig) -> anyhow::Result<String> {
        match (&self.public_url, &config.dynamodb_table) {
            (Some(url), _) => Ok(url.clone()),
            (None, None) => Ok("http://127.0.0.1:3000".to_string()),
            (None, Some(_)) => Err(anyhow::anyhow!(
                "--public-url (or FD_PUBLIC_URL) is required with DynamoDB: the deployment's \
                                    public base URL (the stack's PublicBaseUrl output)"
            )),
        }
    }
}

#[derive(Debug, Subcommand)]
enum SamlCommand {
    /// Configure sign-in: Okta's "Identity Provider Single Sign-On URL" and "X.509 Certificate".
    Set {
        #[arg(long)]
        directory: String,
        /// The IdP's single sign-on URL ("login page url").
        #[arg(long)]
        login_url: String,
        /// A file with the IdP's signing certificate (PEM); repeat to trust several during a rotation.
        #[arg(long = "certificate", required = true)]
        certificates: Vec<PathBuf>,
        /// The IdP's entity id (Okta's "Identity Provider Issuer"); when set, responses must come from it.
        #[arg(long)]
        idp_entity_id: Option<String>,
        /// An absolute URL (or prefix ending in `/`) allowed as RelayState target; repeatable.
        #[arg(long = "allow-relay-state")]
        relay_state_allow_list: Vec<String>,
        /// Accept SHA-1 signatures and digests (legacy IdPs only).
        #[arg(long)]
        allow_sha1: bool,
        /// Accept only answers to this service's own sign-in requests: no sign-in from Okta's dashboard tile, and no
        /// login CSRF.
        #[arg(long)]
        sp_initiated_only: bool,
        #[command(flatten)]
        public_url: PublicUrlArg,
        #[arg(long)]
        json: bool,
    },
    /// Print what to paste into Okta (ACS URL, entity id) and the current configuration.
    Show {
        #[arg(long)]
        directory: String,
        #[command(flatten)]
        public_url: PublicUrlArg,
        #[arg(long)]
        json: bool,
    },
    /// Remove the configuration: sign-in through the IdP stops.
    Clear {
        #[arg(long)]
        directory: String,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fd-admin: {message:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.store;
    match cli.command {
        Command::Bootstrap => bootstrap(&config).await,
        Command::OktaMapping => {
            print!("{}", fd_shared::okta::markdown_table());
            Ok(())
        }
        Command::Saml(command) => {
            let (store, _) = config.open().await?;
            saml(&*store, &config, command).await
        }
        Command::Users(UsersCommand::RelinkManagers { directory, no_reindex, public_url, json }) => {
            let (store, pepper) = config.open().await?;
            let public_url = public_url.resolve(&config)?;
            relink_managers(&*store, &pepper, &directory, !no_reindex, &public_url, json).await
        }
        Command::Users(UsersCommand::CheckNames { directory, json: as_json }) => {
            let (store, _) = config.open().await?;
            require_directory(&*store, &directory).await?;
            let mut refused = Vec::new();
            for user in store.directory_users(&directory).await? {
                if let Err(reason) = fd_input::check_user_name(user.doc.user_name()) {
                    refused.push((user.id.clone(), user.doc.user_name().to_string(), reason.to_string()));
                }
            }
            if as_json {
                let rows: Vec<_> = refused
                    .iter()
                    .map(|(id, name, reason)| json!({"id": id, "userName": name, "reason": reason}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else if refused.is_empty() {
                println!("Every userName of directory {directory} follows the identity rule.");
            } else {
                for (id, name, reason) in &refused {
                    println!("{id}\t{name:?}\t{reason}");
                }
            }
            Ok(())
        }
        Command::Users(UsersCommand::MigrateNames { directory, json: as_json }) => {
            let (store, _) = config.open().await?;
            let directories = match directory {
                Some(directory) => {
                    require_directory(&*store, &directory).await?;
                    vec![directory]
                }
                None => store.list_directories().await?.into_iter().map(|d| d.id).collect(),
            };
            let mut rows = Vec::new();
            for directory in directories {
                let migration = store.migrate_user_names(&directory).await?;
                if !as_json {
                    println!(
                        "Directory {directory}: {} users, {} claims moved, {} sharing an identity with another user{}",
                        migration.checked,
                        migration.moved,
                        migration.conflicts.len(),
                        if migration.conflicts.is_empty() {
                            String::new()
                        } else {
                            format!(": {}", migration.conflicts.join(", "))
                        }
                    );
                }
                rows.push(json!({"directory": directory, "checked": migration.checked, "moved": migration.moved,
                                 "conflicts": migration.conflicts}));
            }
            if as_json {
                println!("{}", serde_json::Value::Array(rows));
            }
            Ok(())
        }
        Command::Company(command) => {
            let (store, _) = config.open().await?;
            company(&*store, command).await
        }
        Command::Directory(command) => {
            let (store, _) = config.open().await?;
            directory(store, command).await
        }
        Command::Key(command) => {
            let (store, pepper) = config.open().await?;
            match command {
                KeyCommand::Create { directory, name, json } => {
                    require_directory(&*store, &directory).await?;
                    let issued = issue_key(&directory, &name, &pepper);
                    store.create_key(&issued.record).await?;
                    if json {
                        println!("{}", json!({"directory": directory, "id": issued.record.id, "token": issued.token}));
                    } else {
                        println!("Key {} created for directory {directory}.", issued.record.id);
                        println!("Access token (shown once, store it now):\n{}", issued.token);
                    }
                    Ok(())
                }
                KeyCommand::List { directory, json } => {
                    require_directory(&*store, &directory).await?;
                    let keys = store.list_keys(&directory).await?;
                    if json {
                        let rows: Vec<_> = keys
                            .iter()
                            .map(|k| json!({"id": k.id, "name": k.name, "created": k.created, "revoked": k.revoked}))
                            .collect();
                        println!("{}", serde_json::Value::Array(rows));
                    } else {
                        for k in keys {
                            let state = k.revoked.map_or_else(|| "active".to_string(), |at| format!("revoked {at}"));
                            println!("{}\t{}\t{}\t{state}", k.id, k.name, k.created);
                        }
                    }
                    Ok(())
                }
                KeyCommand::Revoke { directory, key_id } => {
                    require_directory(&*store, &directory).await?;
                    match store.revoke_key(&directory, &key_id, &fd_shared::time::now_rfc3339()).await {
                        Err(fd_shared::store::StoreError::NotFound) => {
                            anyhow::bail!("no key {key_id} in directory {directory}")
                        }
                        other => other?,
                    }
                    println!("Key {key_id} revoked.");
                    Ok(())
                }
            }
        }
    }
}

/// `users relink-managers`: walks the directory with the credential of one of its active keys (the stored hash
/// is what a presented token hashes to), or, if it has none, of a temporary key revoked when done.
async fn relink_managers(
    store: &dyn Store,
    pepper: &Pepper,
    directory: &str,
    reindex: bool,
    public_url: &str,
    json: bool,
) -> anyhow::Result<()> {
    require_directory(store, directory).await?;
    let users_url = SpEndpoints::new(public_url)?.users_url();
    let keys = store.list_keys(directory).await?;
    let active = keys.iter().find(|k| k.revoked.is_none());
    let temporary = match active {
        Some(_) => None,
        None => {
            let issued = issue_key(directory, "fd-admin users relink-managers (temporary)", pepper);
            store.create_key(&issued.record).await?;
            Some(issued.record)
        }
    };
    let Some(key) = active.or(temporary.as_ref()) else {
        anyhow::bail!("no usable key for directory {directory}");
    };
    let credential = Credential { directory: directory.to_string(), key_id: key.id.clone(), hash: key.hash };
    let result = fd_shared::relink::relink_managers(store, &credential, &users_url, reindex).await;
    if let Some(key) = &temporary {
        store.revoke_key(directory, &key.id, &fd_shared::time::now_rfc3339()).await?;
    }
    let report = result?;
    if json {
        let mut out = serde_json::to_value(&report)?;
        out["directory"] = json!(directory);
        println!("{out}");
    } else {
        println!(
            "Directory {directory}: {} users, {} with a manager name, {} linked; {} rewritten, {} skipped (changed \
             meanwhile){}.",
            report.users,
            report.reports,
            report.linked,
            report.changed,
            report.skipped,
            if reindex { format!("; {} checked in the display-name index", report.indexed) } else { String::new() }
        );
    }
    Ok(())
}

async fn require_directory(store: &dyn Store, id: &str) -> anyhow::Result<()> {
    if !is_id(id) {
        anyhow::bail!("\"{id}\" is not a directory id");
    }
    match store.get_directory(id).await? {
        Some(_) => Ok(()),
        None => Err(anyhow::anyhow!("no directory {id}")),
    }
}

async fn company(store: &dyn Store, command: CompanyCommand) -> anyhow::Result<()> {
    match command {
        CompanyCommand::Create { short_name, name, json } => {
            fd_shared::company::check_short_name(&short_name)?;
            if name.trim().is_empty() {
                anyhow::bail!("the company name must not be empty");
            }
            let company = Company { short_name, name, created: fd_shared::time::now_rfc3339() };
            match store.create_company(&company).await {
                Err(StoreError::Conflict) => anyhow::bail!("the short name {} is taken", company.short_name),
                other => other?,
            }
            if json {
                println!("{}", json!({"shortName": company.short_name, "name": company.name}));
            } else {
                println!("Company {} created: {}", company.short_name, company.name);
            }
        }
        CompanyCommand::Show { short_name, json } => {
            let company = store.get_company(&short_name).await?.with_context(|| format!("no company {short_name}"))?;
            let key = fd_shared::company::fold(&company.short_name);
            let directories: Vec<Directory> =
                store.list_directories().await?.into_iter().filter(|d| d.company_key() == key).collect();
            if json {
                let dirs: Vec<_> = directories.iter().map(|d| json!({"id": d.id, "name": d.name})).collect();
                println!(
                    "{}",
                    json!({"shortName": company.short_name, "name": company.name, "created": company.created, "directories": dirs})
                );
            } else {
                println!("{}\t{}\t{}", company.short_name, company.name, company.created);
                for d in directories {
                    println!("  directory {}\t{}", d.id, d.name);
                }
            }
        }
    }
    Ok(())
}

async fn directory(store: Arc<dyn Store>, command: DirectoryCommand) -> anyhow::Result<()> {
    match command {
        DirectoryCommand::Create { name, company, json } => {
            if name.trim().is_empty() {
                anyhow::bail!("the directory name must not be empty");
            }
            let directory = Directory { id: new_id(), name, created: fd_shared::time::now_rfc3339(), company };
            match store.create_directory(&directory).await {
                Err(StoreError::NotFound) => {
                    anyhow::bail!("no company {}", directory.company.as_deref().unwrap_or_default())
                }
                other => other?,
            }
            let company = directory.company_key();
            if json {
                println!("{}", json!({"id": directory.id, "name": directory.name, "company": company}));
            } else {
                println!("Directory {} created: {} (company {company})", directory.id, directory.name);
            }
        }
        DirectoryCommand::List { json } => {
            let directories = store.list_directories().await?;
            if json {
                let rows: Vec<_> = directories
                    .iter()
                    .map(|d| json!({"id": d.id, "name": d.name, "created": d.created, "company": d.company_key()}))
                    .collect();
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for d in directories {
                    println!("{}\t{}\t{}", d.id, d.name, d.created);
                }
            }
        }
    }
    Ok(())
}

async fn bootstrap(config: &StoreConfig) -> anyhow::Result<()> {
    use fd_shared::store::dynamodb;
    let table = config.dynamodb_table.as_deref().context("bootstrap needs --dynamodb-table (or FD_DYNAMODB_TABLE)")?;
    let secret_id = config.secret_id.as_deref().context("bootstrap needs --secret-id (or FD_SECRET_ID)")?;
    let aws = dynamodb::aws_config().await;
    let created = dynamodb::bootstrap_table(&aws_sdk_dynamodb::Client::new(&aws), table).await?;
    println!("Table {table}: {}", if created { "created" } else { "already exists" });
    let created = dynamodb::bootstrap_secret(
        &aws_sdk_secretsmanager::Client::new(&aws),
        secret_id,
        "HMAC pepper for directory access keys",
    )
    .await?;
    println!("Secret {secret_id}: {}", if created { "created" } else { "already exists" });
    if let Some(session_secret_id) = config.session_secret_id.as_deref() {
        let created = dynamodb::bootstrap_secret(
            &aws_sdk_secretsmanager::Client::new(&aws),
            session_secret_id,
            "Key signing sign-in session cookies",
        )
        .await?;
        println!("Secret {session_secret_id}: {}", if created { "created" } else { "already exists" });
    }
    Ok(())
}

async fn saml(store: &dyn Store, config: &StoreConfig, command: SamlCommand) -> anyhow::Result<()> {
    match command {
        SamlCommand::Set {
            directory,
            login_url,
            certificates,
            idp_entity_id,
            relay_state_allow_list,
            allow_sha1,
            sp_initiated_only,
            public_url,
            json,
        } => {
            require_directory(store, &directory).await?;
            let certificates = certificates
                .iter()
                .map(|path| std::fs::read_to_string(path).with_context(|| path.display().to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let settings = SamlSettings {
                login_url,
                certificates,
                idp_entity_id,
                relay_state_allow_list,
                allow_sha1,
                sp_initiated_only,
            };
            let public_url = public_url.resolve(config)?;
            let saml_config = settings.check(fd_shared::time::now_rfc3339())?;
            store.set_saml_config(&directory, &saml_config).await?;
            if !json {
                println!("SAML sign-in configured for directory {directory}.");
            }
            show_saml(store, &directory, &public_url, json).await
        }
        SamlCommand::Show { directory, public_url, json } => {
            require_directory(store, &directory).await?;
            show_saml(store, &directory, &public_url.resolve(config)?, json).await
        }
        SamlCommand::Clear { directory } => {
            require_directory(store, &directory).await?;
            store.clear_saml_config(&directory).await?;
            println!("SAML sign-in removed from directory {directory}.");
            Ok(())
        }
    }
}

async fn show_saml(store: &dyn Store, directory: &str, public_url: &str, json: bool) -> anyhow::Result<()> {
    let endpoints = SpEndpoints::new(public_url)?;
    let config = store.saml_config(directory).await?;
    let fingerprints = config.as_ref().map(fingerprints).unwrap_or_default();
    if json {
        println!(
            "{}",
            json!({
                "directory": directory,
                "acs_url": endpoints.acs_url(directory),
                "entity_id": endpoints.entity_id(directory),
                "metadata_url": endpoints.metadata_url(directory),
                "login_url": endpoints.login_url(directory),
                "configured": config.is_some(),
                "idp_sso_url": config.as_ref().map(|c| c.login_url.clone()),
                "idp_entity_id": config.as_ref().and_then(|c| c.idp_entity_id.clone()),
                "certificate_sha256": fingerprints,
                "relay_state_allow_list": config.as_ref().map(|c| c.relay_state_allow_list.clone()).unwrap_or_default(),
                "allow_sha1": config.as_ref().is_some_and(|c| c.allow_sha1),
                "sp_initiated_only": config.as_ref().is_some_and(|c| c.sp_initiated_only),
            })
        );
        return Ok(());
    }
    println!("Paste into Okta (General > SAML Settings):");
    println!("  Single sign-on URL:          {}", endpoints.acs_url(directory));
    println!("  Audience URI (SP Entity ID): {}", endpoints.entity_id(directory));
    println!("  Name ID format:              Unspecified; Application username: the userName Okta provisions");
    println!("SP metadata:                   {}", endpoints.metadata_url(directory));
    println!("SP-initiated sign-in:          {}", endpoints.login_url(directory));
    match config {
        None => println!("Not configured: run `fd-admin saml set` with Okta's SSO URL and certificate."),
        Some(config) => {
            println!("Okta SSO URL (login page url): {}", config.login_url);
            for fingerprint in fingerprints {
                println!("Trusted certificate SHA-256:   {fingerprint}");
            }
            if let Some(issuer) = &config.idp_entity_id {
                println!("Required issuer:               {issuer}");
            }
            for target in &config.relay_state_allow_list {
                println!("Allowed RelayState target:     {target}");
            }
            if config.allow_sha1 {
                println!("SHA-1 signatures accepted (legacy).");
            }
            if config.sp_initiated_only {
                println!("SP-initiated sign-in only (Okta's dashboard tile is refused).");
            }
        }
    }
    Ok(())
}
