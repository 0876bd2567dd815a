//! Ranking and paging: three classes of matches, each in display-name order, read without sorting.
//!
//! The classes are, best first: exact name (the query's words equal those of the display name, of "given family"
//! or of the nickname), name prefix (every query word prefixes a word of a name field), and everything else.
//! Base slots are numbered in display order, so a class's base slots come out of its bitset already sorted; the
//! few delta slots are merged in by their order key. Paging skips whole classes by their counts, so a page costs
//! the bitset operations plus the items up to its end, never a sort of all matches.

use std::iter::Peekable;

use crate::bitset::Bitset;
use crate::index::Index;
use crate::query::{MAX_PAGE_SIZE, Page, Query, QueryError};

impl Index {
    /// The page of `query`'s ranked matches starting at `query.offset`, with the exact total.
    pub fn search(&self, query: &Query) -> Result<Page<'_>, QueryError> {
        query.validate()?;
        let matches = self.matches(query);
        let total = matches.all.count();
        let limit = query.limit.min(MAX_PAGE_SIZE);
        let mut hits = Vec::with_capacity(limit.min(total));
        if limit > 0 {
            let mut name_only = matches.name.clone();
            name_only.subtract(&matches.exact);
            let mut other = matches.all;
            other.subtract(&matches.name);
            let mut skip = query.offset;
            for class in [&matches.exact, &name_only, &other] {
                if hits.len() == limit {
                    break;
                }
                let count = class.count();
                if skip >= count {
                    skip -= count;
                    continue;
                }
                let wanted = limit - hits.len();
                hits.extend(
                    self.in_display_order(class)
                        .skip(skip)
                        .take(wanted)
                        .filter_map(|slot| self.contacts.get(slot as usize)),
                );
                skip = 0;
            }
        }
        let end = query.offset.saturating_add(hits.len());
        let next = (limit > 0 && end < total).then_some(end);
        Ok(Page { total, hits, next })
    }

    /// The slots of `set` in display order.
    pub(crate) fn in_display_order<'a>(&'a self, set: &'a Bitset) -> impl Iterator<Item = u32> + 'a {
        let base = set.iter().take_while(move |&slot| slot < self.base_len);
        let delta = self.delta_order.iter().copied().filter(move |&slot| set.contains(slot));
        Merge { left: base.peekable(), right: delta.peekable(), index: self }
    }
}

/// Two slot iterators, each in display order, merged.
struct Merge<'a, L: Iterator<Item = u32>, R: Iterator<Item = u32>> {
    left: Peekable<L>,
    right: Peekable<R>,
    index: &'a Index,
}

impl<L: Iterator<Item = u32>, R: Iterator<Item = u32>> Iterator for Merge<'_, L, R> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        match (self.left.peek(), self.right.peek()) {
            (Some(&l), Some(&r)) => {
                if self.index.order_key(l) <= self.index.order_key(r) {
                    self.left.next()
                } else {
                    self.right.next()
                }
            }
            (Some(_), None) => self.left.next(),
            (None, _) => self.right.next(),
        }
    }
}
