use super::{find, named, person};
use crate::{Contact, Index};

#[test]
fn exact_name_then_name_prefix_then_other_fields() {
    let index = Index::build(vec![
        Contact { title: Some("Ada Lovelace Fellow".into()), ..person("title", "Aaron Babbage") },
        person("prefix", "Ada Lovelace-Byron"),
        Contact { given_name: Some("Ada".into()), family_name: Some("Lovelace".into()), ..person("given", "Countess") },
        person("display", "Lovelace, Ada"),
        Contact { emails: vec!["ada.lovelace@example.com".into()], ..person("email", "A. Byron") },
    ]);
    // Exact: "given family"; name prefix: the display names holding both words; then other fields.
    assert_eq!(find(&index, "ada lovelace"), ["given", "prefix", "display", "email", "title"]);
    // Exact compares words in order, ignoring punctuation: "Lovelace, Ada".
    assert_eq!(find(&index, "lovelace ada"), ["display", "prefix", "given", "email", "title"]);
    // A partial word is never exact.
    assert_eq!(find(&index, "ada love"), ["prefix", "given", "display", "email", "title"]);
}

#[test]
fn nickname_is_an_exact_name() {
    let index = Index::build(vec![
        named("bobby", "Bobby", "Tables"),
        Contact { nick_name: Some("Bob".into()), ..named("robert", "Robert", "Smith") },
    ]);
    assert_eq!(find(&index, "bob"), ["robert", "bobby"]);
    assert_eq!(find(&index, "bo"), ["bobby", "robert"]);
}

#[test]
fn a_name_match_beats_an_earlier_display_name() {
    let index = Index::build(vec![
        Contact { emails: vec!["ada@example.com".into()], ..person("aaron", "Aaron Smith") },
        Contact { user_name: "ada.b@example.com".into(), ..person("abe", "Abe Byron") },
        person("zed", "Zed Ada"),
    ]);
    assert_eq!(find(&index, "ada"), ["zed", "aaron", "abe"]);
}

#[test]
fn ties_break_by_normalised_then_raw_display_name_then_id() {
    let index = Index::build(vec![
        person("4", "émile"),
        person("3", "Émile"),
        person("2", "emile"),
        person("1", "Emile"),
        person("0", "Emile"),
        person("5", "Eloise"),
        person("6", "Ezra"),
    ]);
    assert_eq!(find(&index, "e"), ["5", "0", "1", "2", "3", "4", "6"]);
    assert_eq!(find(&index, ""), ["5", "0", "1", "2", "3", "4", "6"]);
}
