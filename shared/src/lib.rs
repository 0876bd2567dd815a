//! Federated Directory core, shared by every Lambda function, `fd-local` and `fd-admin`.
//!
//! - [`scim`]: the SCIM 2.0 User resource: schemas, validation, filters, PATCH, errors. Pure, no I/O.
//! - [`okta`]: the Okta attribute mapping table.
//! - [`company`]: companies' short names (a company holds one or more directories).
//! - [`auth`]: directory access keys (Bearer tokens) and their keyed hashes.
//! - [`secret`]: key material loaded once per process (Secrets Manager in Lambda, 0600 files locally).
//! - [`store`]: the storage trait and its SQLite and DynamoDB implementations.
//! - [`service`]: the SCIM operations over a store: authenticate, route, validate, persist.
//! - [`relink`]: re-resolving a directory's manager links (`fd-admin users relink-managers`).
//! - [`routes`]: the HTTP API's route table (method + path → function), written once.
//! - [`edge`]: what the HTTP edge refuses before any handler runs (URI, header and body limits, Host).
//! - [`http`]: the glue between `lambda_http` requests/responses and [`service`].
//! - [`runtime`]: building the service from configuration (environment, flags), logging.
//! - [`json_log`]: the JSON log line format.
#![forbid(unsafe_code)]

pub mod auth;
pub mod company;
pub mod edge;
pub mod http;
pub mod json_log;
mod json_text;
pub mod okta;
pub mod relink;
pub mod routes;
pub mod runtime;
pub mod scim;
pub mod secret;
pub mod service;
pub mod store;
pub mod time;
