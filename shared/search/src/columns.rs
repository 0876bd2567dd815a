//! The filterable attributes of every slot, interned: one value id per slot and field, plus each value's slots.

use std::collections::HashMap;

use crate::bitset::Bitset;
use crate::contact::Contact;

/// An attribute that can be filtered on and faceted by. Values are compared exactly, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    GivenName,
    FamilyName,
    Title,
    Manager,
    Division,
    Department,
    Directory,
}

impl Column {
    /// Every column, in the order of [`Columns`] rows.
    pub(crate) const ALL: [Column; COLUMNS] = [
        Column::GivenName,
        Column::FamilyName,
        Column::Title,
        Column::Manager,
        Column::Division,
        Column::Department,
        Column::Directory,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    fn value(self, contact: &Contact) -> Option<&str> {
        match self {
            Column::GivenName => contact.given_name.as_deref(),
            Column::FamilyName => contact.family_name.as_deref(),
            Column::Title => contact.title.as_deref(),
            Column::Manager => contact.manager_id.as_deref(),
            Column::Division => contact.division.as_deref(),
            Column::Department => contact.department.as_deref(),
            Column::Directory => Some(contact.directory.as_str()),
        }
    }
}

/// The number of columns.
pub(crate) const COLUMNS: usize = 7;

/// The value id of a slot that has no value for a column.
pub(crate) const NO_VALUE: u32 = u32::MAX;

/// The distinct values of one column.
#[derive(Debug, Default)]
struct Values {
    ids: HashMap<Box<str>, u32>,
    values: Vec<Box<str>>,
    slots: Vec<Vec<u32>>,
}

/// Per-slot value ids for every column, and the slots holding each value (dead slots included; callers mask).
#[derive(Debug, Default)]
pub(crate) struct Columns {
    values: [Values; COLUMNS],
    rows: Vec<[u32; COLUMNS]>,
}

impl Columns {
    /// Appends the row of the next slot, `slot`, which must equal the number of rows so far.
    pub(crate) fn push(&mut self, slot: u32, contact: &Contact) {
        let mut row = [NO_VALUE; COLUMNS];
        for column in Column::ALL {
            let Some(value) = column.value(contact) else { continue };
            let table = &mut self.values[column.index()];
            let id = match table.ids.get(value) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(table.values.len()).unwrap_or(NO_VALUE);
                    table.ids.insert(value.into(), id);
                    table.values.push(value.into());
                    table.slots.push(Vec::new());
                    id
                }
            };
            if let Some(slots) = table.slots.get_mut(id as usize) {
                slots.push(slot);
            }
            row[column.index()] = id;
        }
        self.rows.push(row);
    }

    /// Renumbers the slots: the row of new slot `i` is the row of old slot `order[i]`, and `remap[old]` is the new
    /// slot (`u32::MAX` for a dropped slot). Values no slot holds any more are forgotten.
    pub(crate) fn remap(&mut self, order: &[u32], remap: &[u32]) {
        let mut rows: Vec<[u32; COLUMNS]> =
            order.iter().map(|&old| self.rows.get(old as usize).copied().unwrap_or([NO_VALUE; COLUMNS])).collect();
        for (c, table) in self.values.iter_mut().enumerate() {
            let mut new_ids = vec![NO_VALUE; table.values.len()];
            let mut kept = Values::default();
            for (id, (value, slots)) in table.values.iter().zip(&table.slots).enumerate() {
                let mut slots: Vec<u32> =
                    slots.iter().filter_map(|&s| remap.get(s as usize).copied().filter(|&s| s != u32::MAX)).collect();
                if slots.is_empty() {
                    continue;
                }
                slots.sort_unstable();
                let new_id = u32::try_from(kept.values.len()).unwrap_or(NO_VALUE);
                new_ids[id] = new_id;
                kept.ids.insert(value.clone(), new_id);
                kept.values.push(value.clone());
                kept.slots.push(slots);
            }
            for row in &mut rows {
                row[c] = new_ids.get(row[c] as usize).copied().unwrap_or(NO_VALUE);
            }
            *table = kept;
        }
        self.rows = rows;
    }

    /// The slots whose `column` equals `value` exactly (empty when no slot has it).
    pub(crate) fn slots_with(&self, column: Column, value: &str) -> &[u32] {
        let table = &self.values[column.index()];
        table.ids.get(value).and_then(|&id| table.slots.get(id as usize)).map_or(&[], Vec::as_slice)
    }

    /// Empty counters for [`Columns::count`]: per column, one per value id plus a last one for "no value".
    pub(crate) fn counters(&self) -> [Vec<u32>; COLUMNS] {
        Column::ALL.map(|column| vec![0; self.value_count(column) + 1])
    }

    /// Adds, for every slot of `set` and every column in `columns`, one to the counter of the slot's value.
    ///
    /// Several columns are counted in one pass over the set that counts all of them (a fixed-length inner loop is
    /// faster than choosing columns), into one flat array; the unwanted counts are dropped.
    pub(crate) fn count(&self, set: &Bitset, columns: &[Column], counters: &mut [Vec<u32>; COLUMNS]) {
        let mut offsets = [0usize; COLUMNS];
        let mut sinks = [0usize; COLUMNS];
        let mut total = 0;
        for column in Column::ALL {
            offsets[column.index()] = total;
            sinks[column.index()] = self.value_count(column);
            total += self.value_count(column) + 1;
        }
        let mut flat = vec![0u32; total];
        let mut tally = |c: usize, id: u32| {
            if let Some(n) = flat.get_mut(offsets[c] + (id as usize).min(sinks[c])) {
                *n += 1;
            }
        };
        if let [column] = columns {
            let c = column.index();
            for slot in set.iter() {
                tally(c, self.rows.get(slot as usize).map_or(NO_VALUE, |row| row[c]));
            }
        } else {
            for slot in set.iter() {
                let Some(row) = self.rows.get(slot as usize) else { continue };
                for (c, &id) in row.iter().enumerate() {
                    tally(c, id);
                }
            }
        }
        for column in columns {
            let c = column.index();
            counters[c] = flat.get(offsets[c]..=offsets[c] + sinks[c]).map(<[u32]>::to_vec).unwrap_or_default();
        }
    }

    /// The number of distinct values of `column` (ids are `0..n`).
    pub(crate) fn value_count(&self, column: Column) -> usize {
        self.values[column.index()].values.len()
    }

    /// The value with id `id` of `column`.
    pub(crate) fn value(&self, column: Column, id: u32) -> &str {
        self.values[column.index()].values.get(id as usize).map_or("", |v| v)
    }

    /// Heap bytes held, roughly (hash tables counted at their capacity).
    pub(crate) fn heap_bytes(&self) -> usize {
        let tables: usize = self
            .values
            .iter()
            .map(|t| {
                t.ids.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
                    + t.values.iter().map(|v| 2 * v.len()).sum::<usize>()
                    + t.values.capacity() * std::mem::size_of::<Box<str>>()
                    + t.slots.iter().map(|s| 4 * s.capacity() + std::mem::size_of::<Vec<u32>>()).sum::<usize>()
            })
            .sum();
        tables + self.rows.capacity() * std::mem::size_of::<[u32; COLUMNS]>()
    }
}
