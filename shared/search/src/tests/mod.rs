//! Unit tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod facets;
mod filters;
mod hostile;
mod normalize;
mod paging;
mod phones;
mod ranking;
mod reference;
mod text;
mod updates;

use crate::{Contact, Index, Query};

/// An active contact of directory `d1` with only an id, a display name and a userName.
fn person(id: &str, display_name: &str) -> Contact {
    Contact {
        id: id.to_owned(),
        directory: "d1".to_owned(),
        display_name: display_name.to_owned(),
        user_name: format!("{id}@example.com"),
        active: true,
        ..Contact::default()
    }
}

/// A person with given and family names, display name "given family".
fn named(id: &str, given: &str, family: &str) -> Contact {
    Contact {
        given_name: Some(given.to_owned()),
        family_name: Some(family.to_owned()),
        ..person(id, &format!("{given} {family}"))
    }
}

/// The ids of the first page (up to 50) of `query`.
fn ids(index: &Index, query: &Query) -> Vec<String> {
    let query = Query { limit: 50, ..query.clone() };
    index.search(&query).unwrap().hits.iter().map(|c| c.id.clone()).collect()
}

/// The ids found for `text`.
fn find(index: &Index, text: &str) -> Vec<String> {
    ids(index, &Query::text(text))
}
