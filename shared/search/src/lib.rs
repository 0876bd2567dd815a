//! `fd-search`: the address book's search, pure (no I/O).
//!
//! An [`Index`] holds a company's contacts (one or more directories) in memory and answers, as the person types:
//!
//! - **Text**: every word of [`Query::text`] must prefix a word of some searchable field (display, given, family
//!   and nick names, userName, emails, title, department, division, employee number, phones), after
//!   [`normalize`]: case, accents and compatibility forms do not matter. A query of digits and punctuation only
//!   (`+31 20`) also finds a phone whose digits, from the start of one of its digit groups, begin with the query's
//!   digits (`+31-20-555 0101`).
//! - **Ranking**: exact name, then name prefix, then other fields; ties in display-name order.
//! - **Filters** ([`Filters`]), exact on stored values, and `active_only`; **facets** ([`Index::facets`]) with the
//!   usual "all filters but my own" counts; **pages** of at most [`MAX_PAGE_SIZE`] with an exact total.
//!
//! Queries cost prefix lookups in a sorted vocabulary plus bitset operations over the contacts; no query scans
//! the contacts' strings. The crate's README describes the data structure and its measured costs.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod bitset;
mod columns;
mod contact;
mod facets;
mod index;
mod matching;
mod normalize;
mod query;
mod rank;
mod segment;
mod terms;

#[cfg(test)]
mod tests;

pub use contact::Contact;
pub use index::Index;
pub use normalize::{normalize, words};
pub use query::{
    DEFAULT_PAGE_SIZE, FacetValue, Facets, Filters, MAX_PAGE_SIZE, MAX_QUERY_CHARS, Page, Query, QueryError,
};
