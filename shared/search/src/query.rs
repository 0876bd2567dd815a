//! What a search asks for, what it answers, and how it can be refused.

use crate::contact::Contact;

/// The longest query text accepted, in characters (Unicode scalar values), a product rule.
pub const MAX_QUERY_CHARS: usize = 200;

/// The largest page; a larger [`Query::limit`] is clamped to it.
pub const MAX_PAGE_SIZE: usize = 50;

/// The page size of [`Query::default`].
pub const DEFAULT_PAGE_SIZE: usize = 20;

/// A search: text, filters, and the page wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// What the person typed. Blank text matches every contact (a filtered listing); text with no word (only
    /// punctuation or symbols) matches none.
    pub text: String,
    /// Exact-value filters, all of which must hold.
    pub filters: Filters,
    /// Hide deactivated contacts (by default they are found like anyone else).
    pub active_only: bool,
    /// The number of ranked results to skip: 0, or a previous [`Page::next`].
    pub offset: usize,
    /// The page size, clamped to [`MAX_PAGE_SIZE`]; 0 returns the total alone.
    pub limit: usize,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            text: String::new(),
            filters: Filters::default(),
            active_only: false,
            offset: 0,
            limit: DEFAULT_PAGE_SIZE,
        }
    }
}

impl Query {
    /// A first-page query for `text`, without filters.
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: text.into(), ..Self::default() }
    }

    /// Checks the query against the product rules.
    pub fn validate(&self) -> Result<(), QueryError> {
        let chars = self.text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong { chars, max: MAX_QUERY_CHARS });
        }
        Ok(())
    }
}

/// Exact-match filters on stored values (case and accents matter here); `None` does not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only contacts with this given name.
    pub given_name: Option<String>,
    /// Only contacts with this family name.
    pub family_name: Option<String>,
    /// Only contacts with this title.
    pub title: Option<String>,
    /// Only the direct reports of the contact with this id (their resolved manager id equals it).
    pub manager: Option<String>,
    /// Only contacts in this division.
    pub division: Option<String>,
    /// Only contacts in this department.
    pub department: Option<String>,
    /// Only contacts of the directory with this id.
    pub directory: Option<String>,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The query text is longer than [`MAX_QUERY_CHARS`].
    #[error("the query is {chars} characters long; at most {max} are allowed")]
    TooLong {
        /// The length of the text, in characters.
        chars: usize,
        /// The limit, [`MAX_QUERY_CHARS`].
        max: usize,
    },
}

/// One page of ranked results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<'a> {
    /// The number of contacts matching the query and filters, over all pages.
    pub total: usize,
    /// This page's contacts, best first.
    pub hits: Vec<&'a Contact>,
    /// The offset of the next page, absent on the last page.
    pub next: Option<usize>,
}

/// Facet counts for a query, per filterable attribute.
///
/// The counts of each attribute are taken over the contacts matching the text, `active_only` and every filter
/// except that attribute's own, so a person can see the alternatives to what they picked. Values are sorted by
/// count (descending), then value (ascending, bytewise); contacts without a value are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets<'a> {
    /// Given names.
    pub given_name: Vec<FacetValue<'a>>,
    /// Family names.
    pub family_name: Vec<FacetValue<'a>>,
    /// Titles.
    pub title: Vec<FacetValue<'a>>,
    /// Manager ids, labelled with the manager's display name when the manager is in the index.
    pub manager: Vec<FacetValue<'a>>,
    /// Divisions.
    pub division: Vec<FacetValue<'a>>,
    /// Departments.
    pub department: Vec<FacetValue<'a>>,
    /// Directory ids.
    pub directory: Vec<FacetValue<'a>>,
}

/// One facet value and the number of matching contacts that have it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FacetValue<'a> {
    /// The stored value (for the manager facet, the manager's contact id): the value to filter on.
    pub value: &'a str,
    /// For the manager facet, the manager's display name when the manager is in the index.
    pub label: Option<&'a str>,
    /// The number of contacts with this value.
    pub count: usize,
}
