//! `fd-contacts`: the address book's view of a provisioned user (pure, no I/O).
//!
//! - [`Contact::from_scim`] reads a SCIM 2.0 User resource (core schema and Enterprise User extension, as the server
//!   returns it) into a [`Contact`]; [`Contact::fields`] lists what the contact page shows, in display order.
//! - [`format_address`] lays an [`Address`] out in lines the way its country writes addresses.
//! - [`safe_http_url`], [`tel_uri`] and [`mailto_uri`] decide what may become a link.
//! - [`vcard`] writes a vCard 4.0 (RFC 6350) and [`vcard_file_name`] a safe file name for it.
#![forbid(unsafe_code)]

pub mod address;
pub mod contact;
pub mod fields;
pub mod links;
mod scim;
pub mod vcard;

pub use address::{Address, country_name, format_address};
pub use contact::{Contact, ENTERPRISE_USER_SCHEMA, Email, EmailKind, Manager, Phone, PhoneKind};
pub use fields::{Field, FieldValue};
pub use links::{mailto_uri, safe_http_url, tel_uri};
pub use vcard::{vcard, vcard_file_name};
