use super::{find, named, person};
use crate::{Contact, Filters, Index, Query};

#[test]
fn upsert_replaces_the_old_terms_and_values() {
    let mut index = Index::build(vec![named("a", "Ada", "Lovelace"), named("b", "Alan", "Turing")]);
    let renamed = Contact { department: Some("Math".into()), ..named("a", "Ada", "Byron") };
    index.upsert(renamed.clone());
    assert_eq!(index.len(), 2);
    assert!(find(&index, "lovelace").is_empty());
    assert_eq!(find(&index, "byron"), ["a"]);
    assert_eq!(index.get("a"), Some(&renamed));
    let math = Query { filters: Filters { department: Some("Math".into()), ..Filters::default() }, ..Query::default() };
    assert_eq!(index.search(&math).unwrap().total, 1);
    // Upserted again: only the newest version counts, once.
    index.upsert(named("a", "Ada", "King"));
    assert_eq!(find(&index, "ada"), ["a"]);
    assert!(find(&index, "byron").is_empty());
    assert_eq!(index.search(&math).unwrap().total, 0);
    assert_eq!(index.facets(&Query::default(), 10).unwrap().department, []);
}

#[test]
fn upserted_contacts_take_their_place_in_display_order() {
    let mut index = Index::build(vec![person("b", "Bea"), person("d", "Dan"), person("f", "Fay")]);
    index.upsert(person("e", "Eve"));
    index.upsert(person("a", "Abe"));
    index.upsert(person("g", "Gus"));
    index.upsert(person("c", "Cy"));
    index.upsert(person("d", "Dee"));
    index.upsert(person("c2", "Cy"));
    assert_eq!(find(&index, ""), ["a", "b", "c", "c2", "d", "e", "f", "g"]);
    assert_eq!(find(&index, "d"), ["d"]);
}

#[test]
fn remove_forgets_a_contact() {
    let mut index = Index::build(vec![named("a", "Ada", "Lovelace"), named("b", "Alan", "Turing")]);
    assert!(index.remove("a"));
    assert!(!index.remove("a"));
    assert!(!index.remove("nobody"));
    assert_eq!(index.len(), 1);
    assert!(index.get("a").is_none());
    assert!(find(&index, "ada").is_empty());
    assert_eq!(find(&index, "a"), ["b"]);
    index.upsert(named("a", "Ada", "Lovelace"));
    assert_eq!(find(&index, "ada"), ["a"]);
}

#[test]
fn build_keeps_the_last_of_duplicate_ids() {
    let index = Index::build(vec![named("a", "Ada", "Lovelace"), named("a", "Ada", "Byron")]);
    assert_eq!(index.len(), 1);
    assert_eq!(find(&index, "ada"), ["a"]);
    assert!(find(&index, "lovelace").is_empty());
}

#[test]
fn compaction_keeps_results_identical() {
    let mut compacting = Index::build_with_floor(Vec::new(), 3);
    let mut contacts = Vec::new();
    for i in 0..40u32 {
        let contact = Contact {
            department: Some(format!("D{}", i % 3)),
            manager_id: (i > 0).then(|| format!("c{}", i / 4)),
            ..named(&format!("c{i}"), &format!("N{}", (i * 7) % 11), &format!("F{i}"))
        };
        compacting.upsert(contact.clone());
        contacts.push(contact);
        if i % 5 == 0 {
            compacting.remove(&format!("c{}", i / 2));
            contacts.retain(|c| c.id != format!("c{}", i / 2));
        }
    }
    let fresh = Index::build(contacts);
    assert_eq!(compacting.len(), fresh.len());
    for text in ["", "n", "n1", "f2", "n3 f", "zzz"] {
        let query = Query::text(text);
        assert_eq!(super::ids(&compacting, &query), super::ids(&fresh, &query), "{text:?}");
        assert_eq!(compacting.facets(&query, 20).unwrap(), fresh.facets(&query, 20).unwrap(), "{text:?}");
    }
    assert_eq!(compacting.direct_reports("c1"), fresh.direct_reports("c1"));
    compacting.compact();
    assert_eq!(compacting.base, fresh.base, "a merged base equals a fresh build");
    assert_eq!(compacting.contacts, fresh.contacts);
    for column in crate::columns::Column::ALL {
        assert_eq!(compacting.columns.value_count(column), fresh.columns.value_count(column), "{column:?}");
    }
    assert_eq!(compacting.facets(&Query::default(), 50).unwrap(), fresh.facets(&Query::default(), 50).unwrap());
}

#[test]
fn long_words_clip_alike_in_the_delta_and_the_base() {
    let long = Contact {
        title: Some(format!("{0}a {0}b", "x".repeat(300))),
        department: Some("x".repeat(400)),
        ..person("long", "Long")
    };
    let mut updated = Index::build(vec![person("a", "Ada")]);
    updated.upsert(long.clone());
    assert_eq!(find(&updated, &"x".repeat(200)), ["long"]);
    updated.compact();
    let fresh = Index::build(vec![person("a", "Ada"), long]);
    assert_eq!(updated.base, fresh.base);
    assert_eq!(find(&updated, &"x".repeat(200)), ["long"]);
}
