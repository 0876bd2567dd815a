//! `fd-signin`: signing in to a directory through its SAML identity provider (Okta).
//!
//! - [`endpoints`]: the SP's URLs (ACS, entity id, metadata), derived from the deployment's public base URL.
//! - [`config`]: checking an admin's SAML configuration and turning it into a verification policy.
//! - [`session`]: the signed `fd_session` cookie.
//! - [`relay`]: where to send the browser after sign-in (RelayState, open-redirect safe).
//! - [`service`]: the operations: ACS, SP-initiated login, metadata, `/me`.
//! - `runtime` (feature `lambda`): building the service in a Lambda function.
//! - [`http`]: the glue between `lambda_http` and [`service`], shared by the `saml-acs` function and `fd-local`.
//!
//! Signature verification and response checks are [`fd_saml`]'s; this crate adds the per-directory state
//! (trusted certificates, outstanding requests, replay cache) and the session.
#![forbid(unsafe_code)]

pub mod config;
pub mod endpoints;
pub mod http;
pub mod relay;
#[cfg(feature = "lambda")]
pub mod runtime;
pub mod service;
pub mod session;

pub use endpoints::SpEndpoints;
pub use service::{OpenedSession, SignInService, SignInUnavailable, SignedIn};
pub use session::SessionKey;
