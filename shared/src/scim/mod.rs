//! The SCIM 2.0 User resource (RFC 7643) and protocol pieces (RFC 7644), without I/O.

pub mod cursor;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod list;
pub mod manager;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod sort;
pub mod stored;
pub mod user;

pub use error::{ScimError, ScimType};
