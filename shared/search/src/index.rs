//! The in-memory index of one company: contacts, their terms, their filterable values, and incremental updates.
//!
//! Every version of a contact lives in a *slot* (a `u32`). Slots `0..base_len` are the *base*: built in one go,
//! numbered in display-name order, with their terms in an immutable [`Segment`]. A contact added or replaced
//! later gets a new slot at the end (the *delta*), with its terms in a small ordered map, and the slot it replaces
//! is marked dead. When the delta and the dead slots together exceed the compaction threshold (1,024 slots or
//! 1/16 of the live contacts, whichever is larger), the update that crosses it merges the delta into a new base
//! and renumbers the live slots (no contact is tokenised again: about 10 ms at 10,000 contacts, 100 ms at
//! 100,000). Updates so cost O(log n) plus the contact's own terms on average, while searches stay on sorted
//! arrays; a search cost grows only slightly with the delta (a small ordered map, merged in at the end).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use crate::bitset::Bitset;
use crate::columns::{Column, Columns};
use crate::contact::Contact;
use crate::normalize::normalize;
use crate::segment::{Segment, clip};
use crate::terms::{Fields, contact_terms};

/// The smallest number of delta plus dead slots that triggers a rebuild of the base.
const COMPACTION_FLOOR: usize = 1024;

/// A searchable, updatable set of contacts (see the module docs for the layout).
///
/// Memory, measured on the benchmark's synthetic company of 100,000 contacts (about 20 distinct terms per
/// contact, 6 of them unique to it: phone digit suffixes, email local parts, employee numbers): the index holds
/// about 350 bytes per contact besides the contacts themselves (about 850 bytes each there): 220 for the
/// vocabulary and postings (6 bytes a posting), 90 for the filter columns and 37 for the id map; see
/// [`Index::heap_bytes`]. Limits: 2³² − 1 slots, postings and vocabulary bytes.
#[derive(Debug)]
pub struct Index {
    /// Every slot's contact; dead slots keep theirs until the next rebuild.
    pub(crate) contacts: Vec<Contact>,
    /// The slots holding the current version of a contact.
    pub(crate) live: Bitset,
    /// The slots whose contact is active.
    pub(crate) active: Bitset,
    /// Contact id to its live slot.
    slot_of: HashMap<Box<str>, u32>,
    /// The terms of the base slots.
    pub(crate) base: Segment,
    /// The number of base slots.
    pub(crate) base_len: u32,
    /// The terms of the delta slots, each with its slots (ascending) and field bits.
    pub(crate) delta: BTreeMap<Box<str>, Vec<(u32, Fields)>>,
    /// Per delta slot (index `slot - base_len`): the number of base slots that sort before it.
    delta_base_pos: Vec<u32>,
    /// Per delta slot: its display-order key (see [`Index::order_key`]).
    delta_keys: Vec<u64>,
    /// The delta slots in display order (dead ones included).
    pub(crate) delta_order: Vec<u32>,
    /// Filterable values per slot.
    pub(crate) columns: Columns,
    /// The number of dead slots.
    dead: usize,
    /// The smallest delta-plus-dead count that triggers a rebuild.
    compaction_floor: usize,
}

impl Default for Index {
    fn default() -> Self {
        Self::build(Vec::new())
    }
}

/// The display order: normalised display name, then display name, then id.
fn display_order(a: &Contact, a_normalized: &str, b: &Contact, b_normalized: &str) -> Ordering {
    a_normalized.cmp(b_normalized).then_with(|| a.display_name.cmp(&b.display_name)).then_with(|| a.id.cmp(&b.id))
}

impl Index {
    /// Builds the index of `contacts`. When two contacts share an id, the later one wins, as with [`Index::upsert`].
    pub fn build(contacts: Vec<Contact>) -> Self {
        Self::build_with_floor(contacts, COMPACTION_FLOOR)
    }

    pub(crate) fn build_with_floor(contacts: Vec<Contact>, compaction_floor: usize) -> Self {
        let mut last: HashMap<&str, usize> = HashMap::with_capacity(contacts.len());
        for (i, contact) in contacts.iter().enumerate() {
            last.insert(contact.id.as_str(), i);
        }
        let keep: Vec<bool> = (0..contacts.len()).map(|i| last.get(contacts[i].id.as_str()) == Some(&i)).collect();
        drop(last);
        let mut keyed: Vec<(String, Contact)> = contacts
            .into_iter()
            .zip(keep)
            .filter(|(_, keep)| *keep)
            .map(|(contact, _)| (normalize(&contact.display_name), contact))
            .collect();
        keyed.sort_unstable_by(|(na, a), (nb, b)| display_order(a, na, b, nb));
        Self::from_sorted(keyed.into_iter().map(|(_, contact)| contact).collect(), compaction_floor)
    }

    /// Builds the index of contacts with distinct ids that are already in display order.
    fn from_sorted(contacts: Vec<Contact>, compaction_floor: usize) -> Self {
        let base = Segment::build(contacts.iter().enumerate().map(|(slot, c)| (to_slot(slot), contact_terms(c))));
        Self::from_parts(contacts, base, compaction_floor)
    }

    /// The index of contacts with distinct ids in display order, whose terms are `base` (slot = position).
    fn from_parts(contacts: Vec<Contact>, base: Segment, compaction_floor: usize) -> Self {
        let n = contacts.len();
        let mut columns = Columns::default();
        let mut active = Bitset::new(n);
        let mut slot_of = HashMap::with_capacity(n);
        for (slot, contact) in contacts.iter().enumerate() {
            let slot = to_slot(slot);
            columns.push(slot, contact);
            if contact.active {
                active.insert(slot);
            }
            slot_of.insert(contact.id.as_str().into(), slot);
        }
        Self {
            contacts,
            live: Bitset::full(n),
            active,
            slot_of,
            base,
            base_len: to_slot(n),
            delta: BTreeMap::new(),
            delta_base_pos: Vec::new(),
            delta_keys: Vec::new(),
            delta_order: Vec::new(),
            columns,
            dead: 0,
            compaction_floor,
        }
    }

    /// The number of contacts.
    pub fn len(&self) -> usize {
        self.slot_of.len()
    }

    /// Whether the index has no contacts.
    pub fn is_empty(&self) -> bool {
        self.slot_of.is_empty()
    }

    /// The contact with this id.
    pub fn get(&self, id: &str) -> Option<&Contact> {
        self.slot_of.get(id).and_then(|&slot| self.contacts.get(slot as usize))
    }

    /// Adds `contact`, or replaces the contact with the same id (its old terms and values stop matching).
    pub fn upsert(&mut self, contact: Contact) {
        if let Some(old) = self.slot_of.get(contact.id.as_str()).copied() {
            self.live.remove(old);
            self.dead += 1;
        }
        let slot = to_slot(self.contacts.len());
        let normalized = normalize(&contact.display_name);
        let base_pos = self.base_position(&contact, &normalized);
        let order_position = self.delta_order.partition_point(|&other| {
            let other_pos = self.delta_base_pos.get((other - self.base_len) as usize).copied().unwrap_or(0);
            other_pos.cmp(&base_pos).then_with(|| self.compare_with(other, &contact, &normalized)) == Ordering::Less
        });
        for (term, fields) in contact_terms(&contact) {
            let term = clip(&term);
            match self.delta.get_mut(term) {
                // Two long terms can clip to the same stored term: one posting, both fields.
                Some(postings) => match postings.last_mut() {
                    Some((last, bits)) if *last == slot => *bits |= fields,
                    _ => postings.push((slot, fields)),
                },
                None => {
                    self.delta.insert(term.into(), vec![(slot, fields)]);
                }
            }
        }
        let len = self.contacts.len() + 1;
        self.live.grow(len);
        self.active.grow(len);
        self.live.insert(slot);
        if contact.active {
            self.active.insert(slot);
        }
        self.columns.push(slot, &contact);
        self.slot_of.insert(contact.id.as_str().into(), slot);
        self.contacts.push(contact);
        self.delta_base_pos.push(base_pos);
        self.delta_keys.push(0);
        self.delta_order.insert(order_position, slot);
        self.renumber_delta();
        self.compact_if_needed();
    }

    /// Removes the contact with this id; returns whether it was there.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.slot_of.remove(id) else { return false };
        self.live.remove(slot);
        self.dead += 1;
        self.compact_if_needed();
        true
    }

    /// The direct reports of the contact with id `manager_id` (contacts whose resolved manager id equals it), in
    /// display-name order.
    pub fn direct_reports(&self, manager_id: &str) -> Vec<&Contact> {
        let mut slots: Vec<u32> = self
            .columns
            .slots_with(Column::Manager, manager_id)
            .iter()
            .copied()
            .filter(|&slot| self.live.contains(slot))
            .collect();
        slots.sort_unstable_by_key(|&slot| self.order_key(slot));
        slots.iter().filter_map(|&slot| self.contacts.get(slot as usize)).collect()
    }

    /// Heap bytes held by the index, contacts excluded (hash tables counted at capacity; allocator overhead not).
    pub fn heap_bytes(&self) -> usize {
        let id_map = self.slot_of.capacity() * (std::mem::size_of::<(Box<str>, u32)>() + 1)
            + self.slot_of.keys().map(|k| k.len()).sum::<usize>();
        let delta: usize = self
            .delta
            .iter()
            .map(|(term, postings)| term.len() + 8 * postings.capacity() + std::mem::size_of::<(Box<str>, Vec<u8>)>())
            .sum();
        self.base.heap_bytes()
            + self.columns.heap_bytes()
            + id_map
            + delta
            + (self.live.capacity() + self.active.capacity()) / 8
            + 4 * self.delta_base_pos.capacity()
            + 8 * self.delta_keys.capacity()
            + 4 * self.delta_order.capacity()
    }

    /// Heap bytes held by the contacts themselves (strings and vectors), dead slots included.
    pub fn contacts_heap_bytes(&self) -> usize {
        let optional = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        self.contacts.capacity() * std::mem::size_of::<Contact>()
            + self
                .contacts
                .iter()
                .map(|c| {
                    c.id.capacity()
                        + c.directory.capacity()
                        + c.display_name.capacity()
                        + c.user_name.capacity()
                        + c.emails.iter().map(String::capacity).sum::<usize>()
                        + c.emails.capacity() * std::mem::size_of::<String>()
                        + c.phones.iter().map(String::capacity).sum::<usize>()
                        + c.phones.capacity() * std::mem::size_of::<String>()
                        + [
                            &c.given_name,
                            &c.family_name,
                            &c.nick_name,
                            &c.primary_email,
                            &c.primary_phone,
                            &c.title,
                            &c.department,
                            &c.division,
                            &c.employee_number,
                            &c.manager_id,
                        ]
                        .into_iter()
                        .map(optional)
                        .sum::<usize>()
                })
                .sum::<usize>()
    }

    /// A number that orders slots by display name: base slots by slot number, each delta slot just before the
    /// first base slot that sorts after it, delta slots among themselves by their rank in `delta_order`.
    pub(crate) fn order_key(&self, slot: u32) -> u64 {
        if slot < self.base_len {
            (u64::from(slot) << 33) | (1 << 32)
        } else {
            self.delta_keys.get((slot - self.base_len) as usize).copied().unwrap_or(u64::MAX)
        }
    }

    /// The number of base slots that sort before `contact` (whose normalised display name is `normalized`).
    fn base_position(&self, contact: &Contact, normalized: &str) -> u32 {
        let (mut low, mut high) = (0u32, self.base_len);
        while low < high {
            let mid = low + (high - low) / 2;
            if self.compare_with(mid, contact, normalized) == Ordering::Less {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        low
    }

    /// How the contact in `slot` sorts against `contact`.
    fn compare_with(&self, slot: u32, contact: &Contact, normalized: &str) -> Ordering {
        match self.contacts.get(slot as usize) {
            Some(other) => display_order(other, &normalize(&other.display_name), contact, normalized),
            None => Ordering::Greater,
        }
    }

    fn renumber_delta(&mut self) {
        for (rank, &slot) in self.delta_order.iter().enumerate() {
            let i = (slot - self.base_len) as usize;
            let pos = self.delta_base_pos.get(i).copied().unwrap_or(0);
            if let Some(key) = self.delta_keys.get_mut(i) {
                *key = (u64::from(pos) << 33) | rank as u64;
            }
        }
    }

    /// Rebuilds the base from the live slots once enough updates are pending (see [`Index::compact`]): the base and delta postings are
    /// merged and renumbered in display order (no contact is tokenised again), and dead slots are dropped.
    fn compact_if_needed(&mut self) {
        let pending = self.dead + self.delta_order.len();
        if pending > self.compaction_floor.max(self.len() / 16) {
            self.compact();
        }
    }

    /// Rebuilds the base now (see [`Index::compact_if_needed`]), renumbering the live slots in display order.
    pub(crate) fn compact(&mut self) {
        let mut order: Vec<u32> = self.live.iter().collect();
        order.sort_unstable_by_key(|&slot| self.order_key(slot));
        let mut remap = vec![u32::MAX; self.contacts.len()];
        for (new, &old) in order.iter().enumerate() {
            if let Some(entry) = remap.get_mut(old as usize) {
                *entry = to_slot(new);
            }
        }
        let n = order.len();
        self.base = self.base.merge(&self.delta, &remap);
        let mut old_contacts = std::mem::take(&mut self.contacts);
        self.contacts =
            order.iter().filter_map(|&slot| old_contacts.get_mut(slot as usize).map(std::mem::take)).collect();
        drop(old_contacts);
        let mut active = Bitset::new(n);
        for (new, &old) in order.iter().enumerate() {
            if self.active.contains(old) {
                active.insert(to_slot(new));
            }
        }
        self.active = active;
        self.live = Bitset::full(n);
        for slot in self.slot_of.values_mut() {
            *slot = remap.get(*slot as usize).copied().unwrap_or(u32::MAX);
        }
        self.columns.remap(&order, &remap);
        self.base_len = to_slot(n);
        self.delta = BTreeMap::new();
        self.delta_base_pos = Vec::new();
        self.delta_keys = Vec::new();
        self.delta_order = Vec::new();
        self.dead = 0;
    }
}

fn to_slot(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
