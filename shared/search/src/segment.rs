//! The immutable part of the index: a sorted vocabulary with compressed-row postings.
//!
//! All terms are stored back to back in one string, sorted bytewise (which is code point order), with the end
//! offset of each term in `term_ends`. The postings of term `i` are `docs[posting_ends[i-1]..posting_ends[i]]`
//! (slot numbers, ascending) with the matching `fields` bits. Because postings are laid out in term order, all
//! terms starting with a prefix form one contiguous range of terms, and so one contiguous range of postings, found
//! with two binary searches.

use std::collections::{BTreeMap, HashMap};

use crate::terms::Fields;

/// Terms longer than this many bytes are cut (at a character boundary) before they are stored or looked up.
pub(crate) const MAX_TERM_BYTES: usize = 256;

/// `term` cut to at most [`MAX_TERM_BYTES`] bytes at a character boundary.
pub(crate) fn clip(term: &str) -> &str {
    if term.len() <= MAX_TERM_BYTES {
        return term;
    }
    let mut end = MAX_TERM_BYTES;
    while !term.is_char_boundary(end) {
        end -= 1;
    }
    &term[..end]
}

/// A sorted vocabulary and its postings.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Segment {
    text: String,
    term_ends: Vec<u32>,
    posting_ends: Vec<u32>,
    docs: Vec<u32>,
    fields: Vec<Fields>,
}

/// The postings of a range of terms: slots (ascending within each term) and their field bits.
pub(crate) struct Postings<'a> {
    pub(crate) docs: &'a [u32],
    pub(crate) fields: &'a [Fields],
}

impl Segment {
    /// Builds the segment from each slot's deduplicated terms, given in ascending slot order.
    pub(crate) fn build(slots: impl IntoIterator<Item = (u32, Vec<(String, Fields)>)>) -> Self {
        let mut term_ids: HashMap<String, u32> = HashMap::new();
        let mut entries: Vec<(u32, u32, Fields)> = Vec::new();
        for (slot, terms) in slots {
            for (mut term, fields) in terms {
                term.truncate(clip(&term).len());
                let id = match term_ids.get(term.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = to_u32(term_ids.len());
                        term_ids.insert(term, id);
                        id
                    }
                };
                entries.push((id, slot, fields));
            }
        }
        let mut sorted: Vec<(String, u32)> = term_ids.into_iter().collect();
        sorted.sort_unstable();
        let mut rank = vec![0u32; sorted.len()];
        let mut text = String::with_capacity(sorted.iter().map(|(t, _)| t.len()).sum());
        let mut term_ends = Vec::with_capacity(sorted.len());
        for (position, (term, id)) in sorted.iter().enumerate() {
            text.push_str(term);
            term_ends.push(to_u32(text.len()));
            if let Some(r) = rank.get_mut(*id as usize) {
                *r = to_u32(position);
            }
        }
        // Counting sort of the entries by term rank; entries arrive in slot order, so each term's postings
        // stay sorted by slot. Clipping can map two terms of one slot to the same stored term: merge those.
        let mut starts = vec![0u32; sorted.len() + 1];
        for (id, _, _) in &entries {
            starts[rank[*id as usize] as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut cursor = starts.clone();
        let mut docs = vec![0u32; entries.len()];
        let mut fields = vec![0 as Fields; entries.len()];
        for (id, slot, bits) in entries {
            let position = &mut cursor[rank[id as usize] as usize];
            docs[*position as usize] = slot;
            fields[*position as usize] = bits;
            *position += 1;
        }
        let mut segment = Segment { text, term_ends, posting_ends: Vec::new(), docs, fields };
        segment.dedup_postings(&starts);
        segment
    }

    /// A new segment holding this segment's postings and `delta`'s, with every slot renumbered by `remap`
    /// (`remap[old]` is the new slot, or `u32::MAX` to drop the posting). Base slots must keep their relative
    /// order under `remap`; terms left without postings are dropped. Costs one pass over both, no tokenising.
    pub(crate) fn merge(&self, delta: &BTreeMap<Box<str>, Vec<(u32, Fields)>>, remap: &[u32]) -> Self {
        let mut out = Segment {
            text: String::with_capacity(self.text.len()),
            term_ends: Vec::with_capacity(self.term_count()),
            posting_ends: Vec::with_capacity(self.term_count()),
            docs: Vec::with_capacity(self.docs.len()),
            fields: Vec::with_capacity(self.fields.len()),
        };
        let new_slot = |old: u32| remap.get(old as usize).copied().filter(|&s| s != u32::MAX);
        let mut scratch: Vec<(u32, Fields)> = Vec::new();
        let mut delta = delta.iter().peekable();
        let mut i = 0;
        loop {
            let base_term = (i < self.term_count()).then(|| self.term(i));
            let delta_term = delta.peek().map(|(term, _)| &***term);
            let term = match (base_term, delta_term) {
                (None, None) => break,
                (Some(b), Some(d)) => b.min(d),
                (Some(b), None) => b,
                (None, Some(d)) => d,
            };
            scratch.clear();
            if base_term == Some(term) {
                let postings = self.postings_of_terms(i, i + 1);
                for (&slot, &bits) in postings.docs.iter().zip(postings.fields) {
                    if let Some(slot) = new_slot(slot) {
                        scratch.push((slot, bits));
                    }
                }
                i += 1;
            }
            if delta_term == Some(term) {
                if let Some((_, postings)) = delta.next() {
                    let from_base = scratch.len();
                    scratch.extend(postings.iter().filter_map(|&(slot, bits)| Some((new_slot(slot)?, bits))));
                    if scratch.len() > from_base {
                        scratch.sort_unstable_by_key(|&(slot, _)| slot);
                    }
                }
            }
            if scratch.is_empty() {
                continue;
            }
            out.text.push_str(term);
            out.term_ends.push(to_u32(out.text.len()));
            for &(slot, bits) in &scratch {
                out.docs.push(slot);
                out.fields.push(bits);
            }
            out.posting_ends.push(to_u32(out.docs.len()));
        }
        out.text.shrink_to_fit();
        out.term_ends.shrink_to_fit();
        out.posting_ends.shrink_to_fit();
        out.docs.shrink_to_fit();
        out.fields.shrink_to_fit();
        out
    }

    /// Merges adjacent postings of one term that name the same slot, and sets `posting_ends`.
    fn dedup_postings(&mut self, starts: &[u32]) {
        let mut write = 0usize;
        let mut posting_ends = Vec::with_capacity(starts.len().saturating_sub(1));
        for window in starts.windows(2) {
            let (start, end) = (window[0] as usize, window[1] as usize);
            let term_start = write;
            for read in start..end {
                if write > term_start && self.docs[write - 1] == self.docs[read] {
                    self.fields[write - 1] |= self.fields[read];
                } else {
                    self.docs[write] = self.docs[read];
                    self.fields[write] = self.fields[read];
                    write += 1;
                }
            }
            posting_ends.push(to_u32(write));
        }
        self.docs.truncate(write);
        self.fields.truncate(write);
        self.docs.shrink_to_fit();
        self.fields.shrink_to_fit();
        self.posting_ends = posting_ends;
    }

    /// The number of distinct terms.
    pub(crate) fn term_count(&self) -> usize {
        self.term_ends.len()
    }

    /// Heap bytes held by the segment.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.text.capacity()
            + 4 * (self.term_ends.capacity() + self.posting_ends.capacity() + self.docs.capacity())
            + std::mem::size_of::<Fields>() * self.fields.capacity()
    }

    fn term(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.term_ends[i - 1] as usize };
        &self.text[start..self.term_ends[i] as usize]
    }

    fn postings_of_terms(&self, first: usize, end: usize) -> Postings<'_> {
        if first >= end {
            return Postings { docs: &[], fields: &[] };
        }
        let start = if first == 0 { 0 } else { self.posting_ends[first - 1] as usize };
        let stop = self.posting_ends[end - 1] as usize;
        Postings { docs: &self.docs[start..stop], fields: &self.fields[start..stop] }
    }

    /// The postings of every term that starts with `prefix` (already clipped).
    pub(crate) fn prefix(&self, prefix: &str) -> Postings<'_> {
        let n = self.term_count();
        let first = partition_point(n, |i| self.term(i) < prefix);
        let end = first + partition_point(n - first, |i| self.term(first + i).starts_with(prefix));
        self.postings_of_terms(first, end)
    }

    /// The postings of the term equal to `term` (already clipped).
    pub(crate) fn exact(&self, term: &str) -> Postings<'_> {
        let n = self.term_count();
        let first = partition_point(n, |i| self.term(i) < term);
        let end = if first < n && self.term(first) == term { first + 1 } else { first };
        self.postings_of_terms(first, end)
    }
}

/// The first index in `0..n` for which `pred` is false (`pred` must be true then false).
fn partition_point(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (0, n);
    while low < high {
        let mid = low + (high - low) / 2;
        if pred(mid) {
            low = mid + 1;
        } else {
            high = mid;
        }
    }
    low
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
