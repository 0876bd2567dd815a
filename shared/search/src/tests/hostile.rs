use super::{find, person};
use crate::{Contact, Index, MAX_QUERY_CHARS, Query, QueryError};

#[test]
fn query_text_over_200_characters_is_refused() {
    let index = Index::build(vec![person("a", "Ada")]);
    let at_limit = "é".repeat(MAX_QUERY_CHARS);
    assert!(index.search(&Query::text(at_limit.clone())).is_ok());
    let over = format!("{at_limit}a");
    let err = index.search(&Query::text(over.clone())).unwrap_err();
    assert_eq!(err, QueryError::TooLong { chars: 201, max: 200 });
    assert_eq!(err.to_string(), "the query is 201 characters long; at most 200 are allowed");
    assert_eq!(index.facets(&Query::text(over), 5).unwrap_err(), err);
}

#[test]
fn html_and_bidi_controls_are_plain_data() {
    let index = Index::build(vec![
        person("html", "<script>alert(1)</script> Mallory"),
        person("rtl", "\u{202E}eciL\u{202C} Bidi"),
        Contact { title: Some("\"; DROP TABLE users; --".into()), ..person("sql", "Bobby") },
    ]);
    assert_eq!(find(&index, "<script>"), ["html"]);
    assert_eq!(find(&index, "alert(1)"), ["html"]);
    assert_eq!(find(&index, "mall"), ["html"]);
    assert_eq!(find(&index, "ecil"), ["rtl"]);
    assert_eq!(find(&index, "\u{202E}bidi"), ["rtl"]);
    assert_eq!(find(&index, "drop table"), ["sql"]);
    assert_eq!(find(&index, "'; --"), Vec::<String>::new());
}

#[test]
fn long_unbroken_strings_are_searchable_by_their_start() {
    let long = "x".repeat(4096);
    let index = Index::build(vec![
        Contact { title: Some(long.clone()), ..person("long", "Long Title") },
        person("other", &format!("{}y", "ž".repeat(3000))),
    ]);
    assert_eq!(find(&index, "xxxx"), ["long"]);
    assert_eq!(find(&index, &"x".repeat(200)), ["long"]);
    assert_eq!(find(&index, "zzz"), ["other"]);
    assert_eq!(find(&index, &"z".repeat(200)), ["other"]);
    let page = index.search(&Query::text(&long[..200])).unwrap();
    assert_eq!(page.total, 1);
    assert!(index.search(&Query::text(long)).is_err());
}

#[test]
fn odd_code_points_do_not_break_anything() {
    let index = Index::build(vec![
        person("nul", "A\u{0}B"),
        person("emoji", "🚀 Rocket Team"),
        person("zalgo", "Z\u{336}\u{31b}a\u{334}lgo"),
        person("empty", ""),
    ]);
    assert_eq!(find(&index, "rocket"), ["emoji"]);
    assert_eq!(find(&index, "🚀"), Vec::<String>::new());
    assert_eq!(find(&index, "zalgo"), ["zalgo"]);
    assert_eq!(find(&index, "a b"), ["nul"]);
    assert_eq!(index.search(&Query::default()).unwrap().total, 4);
}

#[test]
fn many_short_words_are_looked_up_once_each() {
    let index = Index::build(vec![person("a", "Ada Lovelace"), person("b", "Bob")]);
    let query = "a ".repeat(100);
    assert_eq!(find(&index, &query), ["a"]);
    assert_eq!(find(&index, "a ad ada l lo"), ["a"]);
    assert!(find(&index, "a ad ada l lo x").is_empty());
}

#[test]
fn the_index_can_be_shared_between_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Index>();
}
