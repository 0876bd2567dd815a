use std::collections::HashSet;

use super::person;
use crate::{Index, MAX_PAGE_SIZE, Query};

fn crowd(n: usize) -> Index {
    let mut contacts: Vec<_> =
        (0..n).map(|i| person(&format!("p{i:03}"), &format!("Sam {}", (i * 37) % 101))).collect();
    contacts.push(person("x", "Xavier"));
    Index::build(contacts)
}

/// All ids of `query`, page by page with `limit`; checks totals and continuations on the way.
fn all_pages(index: &Index, query: &Query, limit: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = index.search(&Query { offset, limit, ..query.clone() }).unwrap();
        assert!(page.hits.len() <= limit.min(MAX_PAGE_SIZE));
        seen.extend(page.hits.iter().map(|c| c.id.clone()));
        match page.next {
            Some(next) => {
                assert_eq!(next, seen.len());
                assert_eq!(page.hits.len(), limit.min(MAX_PAGE_SIZE));
                offset = next;
            }
            None => {
                assert_eq!(seen.len(), page.total);
                return seen;
            }
        }
    }
}

#[test]
fn pages_cover_every_match_once_in_rank_order() {
    let index = crowd(130);
    for (text, expected_total) in [("sam", 130), ("", 131), ("s", 130), ("x", 1), ("zzz", 0)] {
        for limit in [1, 7, 50, 500] {
            let seen = all_pages(&index, &Query::text(text), limit);
            assert_eq!(seen.len(), expected_total, "{text:?} by {limit}");
            assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "duplicates in {text:?} by {limit}");
            let one_go: Vec<String> = {
                let mut all = Vec::new();
                let mut offset = 0;
                while offset < expected_total {
                    let page = index.search(&Query { offset, limit: 50, ..Query::text(text) }).unwrap();
                    all.extend(page.hits.iter().map(|c| c.id.clone()));
                    offset += 50;
                }
                all
            };
            assert_eq!(seen, one_go);
        }
    }
}

#[test]
fn ranks_hold_across_page_boundaries() {
    // 60 name matches and 60 other-field matches: the second class starts on the second page.
    let mut contacts: Vec<_> = (0..60).map(|i| person(&format!("n{i:02}"), &format!("Kim {i:02}"))).collect();
    contacts
        .extend((0..60).map(|i| crate::Contact { title: Some("Kim".into()), ..person(&format!("t{i:02}"), "Aaa") }));
    let index = Index::build(contacts);
    let seen = all_pages(&index, &Query::text("kim"), 50);
    assert!(seen[..60].iter().all(|id| id.starts_with('n')));
    assert!(seen[60..].iter().all(|id| id.starts_with('t')));
}

#[test]
fn limit_is_clamped_and_zero_returns_the_total_alone() {
    let index = crowd(130);
    let page = index.search(&Query { limit: 1000, ..Query::text("sam") }).unwrap();
    assert_eq!((page.hits.len(), page.total, page.next), (MAX_PAGE_SIZE, 130, Some(50)));
    let page = index.search(&Query { limit: 0, ..Query::text("sam") }).unwrap();
    assert_eq!((page.hits.len(), page.total, page.next), (0, 130, None));
}

#[test]
fn an_offset_past_the_end_is_an_empty_last_page() {
    let index = crowd(10);
    let page = index.search(&Query { offset: 11, ..Query::text("sam") }).unwrap();
    assert_eq!((page.hits.len(), page.total, page.next), (0, 10, None));
    let page = index.search(&Query { offset: usize::MAX, ..Query::text("sam") }).unwrap();
    assert_eq!((page.hits.len(), page.total, page.next), (0, 10, None));
}
