//! The index against a linear scan that applies the documented rules to every contact.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::normalize::{for_each_index_word, for_each_phone_suffix, normalize, phone_query_digits};
use crate::{Contact, Filters, Index, MAX_PAGE_SIZE, Query, words};

/// The terms of `value` as the rules define them, and whether they belong to a name field.
fn field_terms(contact: &Contact) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut add = |value: &str, name: bool, phone: bool| {
        let normalized = normalize(value);
        for_each_index_word(&normalized, |w| out.push((w.to_owned(), name, false)));
        if phone {
            for_each_phone_suffix(&normalized, |d| out.push((d.to_owned(), false, true)));
            for_each_index_word(&normalized, |w| out.push((w.to_owned(), false, true)));
        }
    };
    add(&contact.display_name, true, false);
    for value in [&contact.given_name, &contact.family_name, &contact.nick_name].into_iter().flatten() {
        add(value, true, false);
    }
    for value in
        [&contact.title, &contact.department, &contact.division, &contact.employee_number, &contact.primary_email]
            .into_iter()
            .flatten()
    {
        add(value, false, false);
    }
    add(&contact.user_name, false, false);
    for email in &contact.emails {
        add(email, false, false);
    }
    for phone in contact.phones.iter().chain(&contact.primary_phone) {
        add(phone, false, true);
    }
    out
}

/// The rank class of `contact` for `text` (0 exact, 1 name prefix, 2 other), or `None` when it does not match.
fn naive_class(contact: &Contact, text: &str) -> Option<u8> {
    if text.trim().is_empty() {
        return Some(2);
    }
    let query = words(text);
    if query.is_empty() {
        return None;
    }
    let terms = field_terms(contact);
    let matches = |q: &String| terms.iter().any(|(t, _, _)| t.starts_with(q.as_str()));
    let name_matches = |q: &String| terms.iter().any(|(t, name, _)| *name && t.starts_with(q.as_str()));
    let phone_match = query.len() > 1
        && phone_query_digits(&normalize(text))
            .is_some_and(|d| terms.iter().any(|(t, _, phone)| *phone && t.starts_with(&d)));
    if !query.iter().all(matches) && !phone_match {
        return None;
    }
    if !query.iter().all(matches) || !query.iter().all(name_matches) {
        return Some(2);
    }
    let key = query.join(" ");
    let full_name = format!(
        "{} {}",
        contact.given_name.as_deref().unwrap_or_default(),
        contact.family_name.as_deref().unwrap_or_default()
    );
    let names = [Some(contact.display_name.as_str()), Some(full_name.as_str()), contact.nick_name.as_deref()];
    if names.into_iter().flatten().any(|name| words(name).join(" ") == key) { Some(0) } else { Some(1) }
}

fn column_values(contact: &Contact) -> [Option<&str>; 7] {
    [
        contact.given_name.as_deref(),
        contact.family_name.as_deref(),
        contact.title.as_deref(),
        contact.manager_id.as_deref(),
        contact.division.as_deref(),
        contact.department.as_deref(),
        Some(contact.directory.as_str()),
    ]
}

fn filter_list(filters: &Filters) -> [Option<&str>; 7] {
    [
        filters.given_name.as_deref(),
        filters.family_name.as_deref(),
        filters.title.as_deref(),
        filters.manager.as_deref(),
        filters.division.as_deref(),
        filters.department.as_deref(),
        filters.directory.as_deref(),
    ]
}

/// Whether `contact` passes `active_only` and every filter except number `except`.
fn naive_passes(contact: &Contact, query: &Query, except: Option<usize>) -> bool {
    let values = column_values(contact);
    (!query.active_only || contact.active)
        && filter_list(&query.filters)
            .iter()
            .enumerate()
            .all(|(i, filter)| Some(i) == except || filter.is_none_or(|f| values[i] == Some(f)))
}

/// The total and the page's ids, by scanning everyone.
fn naive_search(contacts: &[Contact], query: &Query) -> (usize, Vec<String>, Option<usize>) {
    let mut ranked: Vec<(u8, String, &str, &str)> = contacts
        .iter()
        .filter(|c| naive_passes(c, query, None))
        .filter_map(|c| {
            naive_class(c, &query.text).map(|class| (class, normalize(&c.display_name), &*c.display_name, &*c.id))
        })
        .collect();
    ranked.sort();
    let total = ranked.len();
    let limit = query.limit.min(MAX_PAGE_SIZE);
    let page: Vec<String> = ranked.iter().skip(query.offset).take(limit).map(|r| r.3.to_owned()).collect();
    let end = query.offset + page.len();
    (total, page, (limit > 0 && end < total).then_some(end))
}

/// Facet (value, count) lists by scanning everyone.
fn naive_facets(contacts: &[Contact], query: &Query, max: usize) -> Vec<Vec<(String, usize)>> {
    (0..7)
        .map(|column| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for contact in contacts {
                if naive_passes(contact, query, Some(column)) && naive_class(contact, &query.text).is_some() {
                    if let Some(value) = column_values(contact)[column] {
                        *counts.entry(value).or_default() += 1;
                    }
                }
            }
            let mut list: Vec<(String, usize)> = counts.into_iter().map(|(v, n)| (v.to_owned(), n)).collect();
            list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            list.truncate(max);
            list
        })
        .collect()
}

const WORDS: &[&str] =
    &["Ada", "ada", "Ádám", "Love", "lovelace", "O'Brien", "Straße", "strasse", "Bob", "b", "Jo", "José", "12", "Æsir"];
const PHONES: &[&str] = &["+31-20-555 0101", "+31 10 444", "020 555", "(212) 12-55"];
const QUERY_WORDS: &[&str] = &[
    "a", "ad", "ada", "love", "lovelace", "o", "obrien", "o'b", "brien", "stras", "bo", "b", "jo", "jose", "12", "31",
    "20", "555", "+31 20", "3120", "2055", "aes", "x",
];
const VALUES: &[&str] = &["A", "B", "a"];

fn text_value() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(WORDS), prop::sample::select(&[" ", "-", "'", ", "][..])), 0..3)
        .prop_map(|parts| parts.into_iter().map(|(w, sep)| format!("{w}{sep}")).collect::<String>())
}

fn optional<T: std::fmt::Debug>(strategy: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::of(strategy)
}

/// A filter: set in one query out of six, so that most queries have at most one.
fn rare<T: std::fmt::Debug>(strategy: impl Strategy<Value = T>) -> impl Strategy<Value = Option<T>> {
    prop::option::weighted(1.0 / 6.0, strategy)
}

fn value() -> impl Strategy<Value = String> {
    prop::sample::select(VALUES).prop_map(str::to_owned)
}

fn contact() -> impl Strategy<Value = Contact> {
    (
        (0..12u8, text_value(), optional(text_value()), optional(text_value()), optional(text_value())),
        (
            prop::collection::vec(prop::sample::select(PHONES), 0..2),
            optional(text_value()),
            any::<bool>(),
            prop::sample::select(&["u", "ada.", "bob_"][..]),
        ),
        (
            optional(value()),
            optional(value()),
            optional(value()),
            optional(0..12u8),
            prop::sample::select(&["d1", "d2"][..]),
        ),
    )
        .prop_map(
            |((id, display_name, given_name, family_name, nick_name), (phones, title, active, login), filters)| {
                let (department, division, _, manager, directory) = filters;
                Contact {
                    id: format!("c{id}"),
                    directory: directory.to_owned(),
                    display_name,
                    given_name,
                    family_name,
                    nick_name,
                    user_name: format!("{login}{id}"),
                    emails: Vec::new(),
                    primary_email: None,
                    phones: phones.into_iter().map(str::to_owned).collect(),
                    primary_phone: None,
                    title,
                    department,
                    division,
                    employee_number: None,
                    manager_id: manager.map(|m| format!("c{m}")),
                    active,
                }
            },
        )
}

fn query() -> impl Strategy<Value = Query> {
    (
        prop_oneof![
            prop::collection::vec(prop::sample::select(QUERY_WORDS), 0..3).prop_map(|words| words.join(" ")),
            // Drawn like names, so that exact-name matches are frequent.
            text_value(),
        ],
        (rare(prop::sample::select(WORDS).prop_map(str::to_owned)), rare(value()), rare(value())),
        (rare(prop::sample::select(&["c1", "c2", "c3"][..]).prop_map(str::to_owned)), rare(value())),
        (prop::bool::weighted(0.25), 0..6usize, 1..8usize),
    )
        .prop_map(
            |(text, (given_name, department, division), (manager, directory), (active_only, offset, limit))| Query {
                text,
                filters: Filters {
                    given_name,
                    family_name: None,
                    title: None,
                    manager,
                    division,
                    department,
                    directory: directory.map(|d| if d == "A" { "d1".to_owned() } else { d }),
                },
                active_only,
                offset,
                limit,
            },
        )
}

/// An edit after the initial build.
#[derive(Debug, Clone)]
enum Edit {
    Upsert(Box<Contact>),
    Remove(u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![3 => contact().prop_map(|c| Edit::Upsert(Box::new(c))), 1 => (0..12u8).prop_map(Edit::Remove)]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn index_agrees_with_a_linear_scan(
        initial in prop::collection::vec(contact(), 0..12),
        edits in prop::collection::vec(edit(), 0..8),
        queries in prop::collection::vec(query(), 1..6),
        floor in 1..8usize,
    ) {
        let mut index = Index::build_with_floor(initial.clone(), floor);
        let mut model: Vec<Contact> = Vec::new();
        for contact in initial {
            model.retain(|c| c.id != contact.id);
            model.push(contact);
        }
        for edit in edits {
            match edit {
                Edit::Upsert(contact) => {
                    model.retain(|c| c.id != contact.id);
                    model.push((*contact).clone());
                    index.upsert(*contact);
                }
                Edit::Remove(id) => {
                    let id = format!("c{id}");
                    let present = model.iter().any(|c| c.id == id);
                    model.retain(|c| c.id != id);
                    prop_assert_eq!(index.remove(&id), present);
                }
            }
        }
        prop_assert_eq!(index.len(), model.len());
        for query in queries {
            let page = index.search(&query).unwrap();
            let got: Vec<String> = page.hits.iter().map(|c| c.id.clone()).collect();
            let (total, expected, next) = naive_search(&model, &query);
            prop_assert_eq!((page.total, &got, page.next), (total, &expected, next), "query {:?}", query);
            let facets = index.facets(&query, 3).unwrap();
            let got: Vec<Vec<(String, usize)>> = [
                &facets.given_name,
                &facets.family_name,
                &facets.title,
                &facets.manager,
                &facets.division,
                &facets.department,
                &facets.directory,
            ]
            .iter()
            .map(|values| values.iter().map(|v| (v.value.to_owned(), v.count)).collect())
            .collect();
            prop_assert_eq!(got, naive_facets(&model, &query, 3), "facets of {:?}", query);
        }
    }
}
