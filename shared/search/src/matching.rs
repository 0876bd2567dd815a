//! Which slots a query matches, and which of those match it as a name.
//!
//! Each query word is looked up as a prefix in the base vocabulary (one contiguous range of postings) and in the
//! delta map; its matching slots go into a bitset, and the slots where it matched a name field into a second one.
//! The query's matches are the intersection over its words, masked by the live slots, `active_only` and the
//! filters. A query that is a phone number (digits and punctuation only, several groups) also matches the slots
//! with a phone digit suffix starting with all its digits. The exact-name class is one more lookup: the query's
//! exact-name key ([`crate::terms::exact_term`]).

use crate::bitset::Bitset;
use crate::columns::Column;
use crate::index::Index;
use crate::normalize::{normalize, phone_query_digits, words};
use crate::query::{Filters, Query};
use crate::segment::clip;
use crate::terms::{EXACT, Fields, NAME, PHONE, exact_term};

/// The slots a query matches, by rank class.
pub(crate) struct Matches {
    /// Every match (text, `active_only` and filters applied).
    pub(crate) all: Bitset,
    /// Matches where every query word prefixes a word of a name field (exact-name matches included).
    pub(crate) name: Bitset,
    /// Matches whose display name, "given family" or nickname equals the query.
    pub(crate) exact: Bitset,
}

impl Index {
    fn slot_count(&self) -> usize {
        self.contacts.len()
    }

    /// Calls `f` with every posting of a term that starts with (`prefix`) or equals `term`.
    fn for_each_posting(&self, term: &str, prefix: bool, mut f: impl FnMut(u32, Fields)) {
        let term = clip(term);
        let base = if prefix { self.base.prefix(term) } else { self.base.exact(term) };
        for (&slot, &fields) in base.docs.iter().zip(base.fields) {
            f(slot, fields);
        }
        for (key, postings) in self.delta.range::<str, _>((std::ops::Bound::Included(term), std::ops::Bound::Unbounded))
        {
            if !(if prefix { key.starts_with(term) } else { &**key == term }) {
                break;
            }
            for &(slot, fields) in postings {
                f(slot, fields);
            }
        }
    }

    /// The slots matching the text of `query`, by class, not yet masked by liveness, `active_only` or filters.
    pub(crate) fn unfiltered_matches(&self, query: &Query) -> Matches {
        let text = query.text.as_str();
        let n = self.slot_count();
        if text.trim().is_empty() {
            return Matches { all: Bitset::full(n), name: Bitset::new(n), exact: Bitset::new(n) };
        }
        let query_words = words(text);
        let mut all: Option<Bitset> = None;
        let mut name: Option<Bitset> = None;
        for word in necessary_words(&query_words) {
            let mut word_all = Bitset::new(n);
            let mut word_name = Bitset::new(n);
            self.for_each_posting(word, true, |slot, fields| {
                word_all.insert(slot);
                if fields & NAME != 0 {
                    word_name.insert(slot);
                }
            });
            match (&mut all, &mut name) {
                (Some(all), Some(name)) => {
                    all.intersect(&word_all);
                    name.intersect(&word_name);
                }
                _ => {
                    all = Some(word_all);
                    name = Some(word_name);
                }
            }
        }
        let mut all = all.unwrap_or_else(|| Bitset::new(n));
        let name = name.unwrap_or_else(|| Bitset::new(n));
        if query_words.len() > 1 {
            if let Some(digits) = phone_query_digits(&normalize(text)) {
                self.for_each_posting(&digits, true, |slot, fields| {
                    if fields & PHONE != 0 {
                        all.insert(slot);
                    }
                });
            }
        }
        let mut exact = Bitset::new(n);
        if let Some(term) = exact_term(text) {
            self.for_each_posting(&term, false, |slot, fields| {
                if fields & EXACT != 0 {
                    exact.insert(slot);
                }
            });
        }
        Matches { all, name, exact }
    }

    /// The live slots that pass `active_only` and every filter except `except`'s.
    pub(crate) fn filter_mask(&self, query: &Query, except: Option<Column>) -> Bitset {
        let mut mask = self.live.clone();
        if query.active_only {
            mask.intersect(&self.active);
        }
        for (column, value) in filter_values(&query.filters) {
            if Some(column) == except {
                continue;
            }
            let Some(value) = value else { continue };
            let mut with_value = Bitset::new(self.slot_count());
            for &slot in self.columns.slots_with(column, value) {
                with_value.insert(slot);
            }
            mask.intersect(&with_value);
        }
        mask
    }

    /// The matches of `query`, fully masked, by class (`name` and `exact` are subsets of `all`).
    pub(crate) fn matches(&self, query: &Query) -> Matches {
        let mut matches = self.unfiltered_matches(query);
        let mask = self.filter_mask(query, None);
        matches.all.intersect(&mask);
        matches.name.intersect(&matches.all);
        matches.exact.intersect(&matches.name);
        matches
    }
}

/// The filters of `filters`, by column.
pub(crate) fn filter_values(filters: &Filters) -> [(Column, Option<&str>); 7] {
    [
        (Column::GivenName, filters.given_name.as_deref()),
        (Column::FamilyName, filters.family_name.as_deref()),
        (Column::Title, filters.title.as_deref()),
        (Column::Manager, filters.manager.as_deref()),
        (Column::Division, filters.division.as_deref()),
        (Column::Department, filters.department.as_deref()),
        (Column::Directory, filters.directory.as_deref()),
    ]
}

/// The words whose matches decide the query: a word that prefixes another query word (or repeats it) is implied
/// by it (a contact word starting with `ada` also starts with `a`), so it is looked up only once, or not at all.
fn necessary_words(words: &[String]) -> Vec<&str> {
    let mut by_length: Vec<&str> = words.iter().map(String::as_str).collect();
    by_length.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    let mut kept: Vec<&str> = Vec::with_capacity(by_length.len());
    for word in by_length {
        if !kept.iter().any(|longer| longer.starts_with(word)) {
            kept.push(word);
        }
    }
    kept
}
