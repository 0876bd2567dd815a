//! Facet counts: for each filterable attribute, its values among the matches, with every other filter applied.
//!
//! The attributes without a filter of their own share one set (text, `active_only` and all filters) and are
//! counted in a single pass over it, reading each slot's row of value ids; each filtered attribute gets its own
//! set (all filters but its own) and pass. Counting is into dense arrays indexed by value id, so a facet request
//! costs the search's bitset work plus one pass over the matches per filtered attribute, plus one.

use std::cmp::Ordering;

use crate::columns::{Column, NO_VALUE};
use crate::index::Index;
use crate::matching::filter_values;
use crate::query::{FacetValue, Facets, Query, QueryError};

impl Index {
    /// The facet counts of `query` (its offset and limit are ignored), at most `max_values_per_field` values per
    /// attribute, most frequent first (see [`Facets`]).
    pub fn facets(&self, query: &Query, max_values_per_field: usize) -> Result<Facets<'_>, QueryError> {
        query.validate()?;
        let text = self.unfiltered_matches(query).all;
        let filters = filter_values(&query.filters);
        let mut counts = self.columns.counters();
        let shared: Vec<Column> =
            filters.iter().filter(|(_, value)| value.is_none()).map(|(column, _)| *column).collect();
        if !shared.is_empty() {
            let mut set = text.clone();
            set.intersect(&self.filter_mask(query, None));
            self.columns.count(&set, &shared, &mut counts);
        }
        for (column, value) in filters {
            if value.is_some() {
                let mut set = text.clone();
                set.intersect(&self.filter_mask(query, Some(column)));
                self.columns.count(&set, &[column], &mut counts);
            }
        }

        let [given_name, family_name, title, manager, division, department, directory] =
            Column::ALL.map(|column| self.top_values(column, &counts[column.index()], max_values_per_field));
        Ok(Facets { given_name, family_name, title, manager, division, department, directory })
    }

    /// The `max` most frequent values of `column` by `counts` (count descending, then value ascending).
    fn top_values(&self, column: Column, counts: &[u32], max: usize) -> Vec<FacetValue<'_>> {
        if max == 0 {
            return Vec::new();
        }
        let counts = counts.get(..self.columns.value_count(column)).unwrap_or_default();
        let mut nonzero: Vec<(u32, u32)> = counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(id, &n)| (n, u32::try_from(id).unwrap_or(NO_VALUE)))
            .collect();
        if nonzero.len() > max {
            // Keep the values counted at least as often as the max-th one, then order those by value too.
            let mut by_count: Vec<u32> = nonzero.iter().map(|&(n, _)| n).collect();
            let (_, &mut threshold, _) = by_count.select_nth_unstable_by(max - 1, |a, b| b.cmp(a));
            nonzero.retain(|&(n, _)| n >= threshold);
        }
        let mut values: Vec<(u32, &str)> =
            nonzero.into_iter().map(|(n, id)| (n, self.columns.value(column, id))).collect();
        let order = |a: &(u32, &str), b: &(u32, &str)| -> Ordering { b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)) };
        if values.len() > max {
            values.select_nth_unstable_by(max - 1, order);
            values.truncate(max);
        }
        values.sort_unstable_by(order);
        values
            .into_iter()
            .map(|(n, value)| FacetValue {
                value,
                label: (column == Column::Manager).then(|| self.get(value).map(|m| m.display_name.as_str())).flatten(),
                count: n as usize,
            })
            .collect()
    }
}
