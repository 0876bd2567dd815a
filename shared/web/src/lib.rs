//! `fd-web`: the address book that people sign in for. Server-rendered pages (they work without script), a small
//! script that makes search answer as you type, and the JSON API the script uses, all under the server-side
//! session that sign-in ([`fd_signin`]) starts.
//!
//! | route | what |
//! |---|---|
//! | `GET /of`, `GET /of/{company}` | where sign-in starts: the company's short name, then "Sign in with Okta" per directory |
//! | `GET /` | search the company's people ([`fd_search`]), with filters |
//! | `GET /contacts/{id}`, `GET /contacts/{id}.vcf` | a contact page ([`fd_contacts`]), and its vCard |
//! | `GET /account`, `POST /signout`, `POST /account/sessions/{id}/end` | your details and sessions |
//! | `GET /api/contacts`, `GET /api/facets`, `GET /api/contacts/{id}` | the JSON API ([`api`]) |
//! | `GET /assets/{name}` | the script and the stylesheet, named by content hash ([`assets`]) |
//!
//! Modules: [`service`] routes a request and checks the session, [`book`] keeps each company's search index fresh,
//! [`pages`] renders HTML with `maud` (auto-escaping: every IdP- or Okta-supplied string is inert), [`api`]
//! renders JSON, [`http`] is the `lambda_http` glue with the security headers and the content coding
//! ([`encoding`]: gzip when the browser accepts it).
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod book;
pub mod encoding;
pub mod http;
pub mod pages;
pub mod service;

pub use service::{WebRequest, WebResponse, WebService};
