//! `fd-admin`: manage directories and their access keys, and bootstrap a DynamoDB-compatible server.
//!
//! Store options (`--data-dir`, `--dynamodb-table`, `--secret-id`, or `FD_DATA_DIR`, `FD_DYNAMODB_TABLE`,
//! `FD_SECRET_ID`) are global: they are accepted before or after the subcommand.
#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand};
use fd_shared::auth::{is_id, issue_key, new_id};
use fd_shared::runtime::StoreConfig;
use fd_shared::store::{Directory, Store};
use serde_json::json;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Federated Directory administration.
#[derive(Debug, Parser)]
#[command(name = "fd-admin", version)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// SQLite data directory (default ./.fd-data).
    #[arg(long, global = true, env = "FD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Use this DynamoDB table (standard AWS environment) instead of SQLite.
    #[arg(long, global = true, env = "FD_DYNAMODB_TABLE")]
    dynamodb_table: Option<String>,
    /// Secrets Manager secret holding the key pepper (DynamoDB mode).
    #[arg(long, global = true, env = "FD_SECRET_ID")]
    secret_id: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Directories (tenants).
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Access keys (Bearer tokens for Okta).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Create the DynamoDB table and the pepper secret if they do not exist (for a local DynamoDB-compatible
    /// server; in AWS, CloudFormation creates both).
    Bootstrap,
    /// Print the Okta attribute mapping as Markdown.
    OktaMapping,
}

#[derive(Debug, Subcommand)]
enum DirectoryCommand {
    /// Create a directory.
    Create {
        name: String,
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("fd-admin: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = StoreConfig {
        data_dir: cli.store.data_dir,
        dynamodb_table: cli.store.dynamodb_table,
        secret_id: cli.store.secret_id,
    };
    match cli.command {
        Command::Bootstrap => bootstrap(&config).await,
        Command::OktaMapping => {
            print!("{}", fd_shared::okta::markdown_table());
            Ok(())
        }
        Command::Directory(command) => {
            let (store, _) = config.open().await.map_err(|e| e.to_string())?;
            directory(store, command).await
        }
        Command::Key(command) => {
            let (store, pepper) = config.open().await.map_err(|e| e.to_string())?;
            match command {
                KeyCommand::Create { directory, name, json } => {
                    require_directory(&*store, &directory).await?;
                    let issued = issue_key(&directory, &name, &pepper);
                    store.create_key(&issued.record).await.map_err(|e| e.to_string())?;
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
                    let keys = store.list_keys(&directory).await.map_err(|e| e.to_string())?;
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
                    store.revoke_key(&directory, &key_id, &fd_shared::time::now_rfc3339()).await.map_err(
                        |e| match e {
                            fd_shared::store::StoreError::NotFound => {
                                format!("no key {key_id} in directory {directory}")
                            }
                            other => other.to_string(),
                        },
                    )?;
                    println!("Key {key_id} revoked.");
                    Ok(())
                }
            }
        }
    }
}

async fn require_directory(store: &dyn Store, id: &str) -> Result<(), String> {
    if !is_id(id) {
        return Err(format!("\"{id}\" is not a directory id"));
    }
    match store.get_directory(id).await.map_err(|e| e.to_string())? {
        Some(_) => Ok(()),
        None => Err(format!("no directory {id}")),
    }
}

async fn directory(store: Arc<dyn Store>, command: DirectoryCommand) -> Result<(), String> {
    match command {
        DirectoryCommand::Create { name, json } => {
            if name.trim().is_empty() {
                return Err("the directory name must not be empty".into());
            }
            let directory = Directory { id: new_id(), name, created: fd_shared::time::now_rfc3339() };
            store.create_directory(&directory).await.map_err(|e| e.to_string())?;
            if json {
                println!("{}", json!({"id": directory.id, "name": directory.name}));
            } else {
                println!("Directory {} created: {}", directory.id, directory.name);
            }
        }
        DirectoryCommand::List { json } => {
            let directories = store.list_directories().await.map_err(|e| e.to_string())?;
            if json {
                let rows: Vec<_> =
                    directories.iter().map(|d| json!({"id": d.id, "name": d.name, "created": d.created})).collect();
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

async fn bootstrap(config: &StoreConfig) -> Result<(), String> {
    use fd_shared::store::dynamodb;
    let table = config.dynamodb_table.as_deref().ok_or("bootstrap needs --dynamodb-table (or FD_DYNAMODB_TABLE)")?;
    let secret_id = config.secret_id.as_deref().ok_or("bootstrap needs --secret-id (or FD_SECRET_ID)")?;
    let aws = dynamodb::aws_config().await;
    let created =
        dynamodb::bootstrap_table(&aws_sdk_dynamodb::Client::new(&aws), table).await.map_err(|e| e.to_string())?;
    println!("Table {table}: {}", if created { "created" } else { "already exists" });
    let created = dynamodb::bootstrap_secret(&aws_sdk_secretsmanager::Client::new(&aws), secret_id)
        .await
        .map_err(|e| e.to_string())?;
    println!("Secret {secret_id}: {}", if created { "created" } else { "already exists" });
    Ok(())
}
