use super::{find, named, person};
use crate::{Contact, Index};

fn company() -> Index {
    Index::build(vec![
        named("ada", "Ada", "Lovelace"),
        named("alan", "Alan", "Turing"),
        named("grace", "Grace", "Hopper"),
        Contact { nick_name: Some("Bob".into()), ..named("robert", "Robert", "Müller") },
        named("jose", "José", "Straße"),
        Contact {
            title: Some("Chief Engineer".into()),
            department: Some("Research & Development".into()),
            division: Some("Ops".into()),
            employee_number: Some("E-4711".into()),
            emails: vec!["k.ito@example.org".into()],
            ..named("ken", "Ken", "Ito")
        },
    ])
}

#[test]
fn every_word_must_prefix_some_word() {
    let index = company();
    assert_eq!(find(&index, "ada love"), ["ada"]);
    assert_eq!(find(&index, "love ada"), ["ada"]);
    assert_eq!(find(&index, "ada turing"), Vec::<String>::new());
    assert_eq!(find(&index, "a"), ["ada", "alan"]);
    assert_eq!(find(&index, "ovelace"), Vec::<String>::new(), "infixes do not match");
}

#[test]
fn case_and_accents_do_not_matter() {
    let index = company();
    assert_eq!(find(&index, "jose"), ["jose"]);
    assert_eq!(find(&index, "JOSÉ"), ["jose"]);
    assert_eq!(find(&index, "Jose\u{301}"), ["jose"]);
    assert_eq!(find(&index, "muller"), ["robert"]);
    assert_eq!(find(&index, "MÜLL"), ["robert"]);
    assert_eq!(find(&index, "strasse"), ["jose"]);
    assert_eq!(find(&index, "straß"), ["jose"]);
}

#[test]
fn each_searchable_field_matches() {
    let index = company();
    for (text, id) in [
        ("bob", "robert"),          // nickName
        ("rob", "robert"),          // givenName and displayName
        ("chief", "ken"),           // title
        ("engineer", "ken"),        // title, second word
        ("development", "ken"),     // department
        ("ops", "ken"),             // division
        ("4711", "ken"),            // employeeNumber
        ("e 4711", "ken"),          // employeeNumber, both words
        ("k.ito", "ken"),           // email
        ("example.org", "ken"),     // email domain
        ("grace@example", "grace"), // userName
    ] {
        assert_eq!(find(&index, text), [id], "query {text:?}");
    }
}

#[test]
fn blank_text_lists_everyone_and_wordless_text_nobody() {
    let index = company();
    assert_eq!(find(&index, "").len(), 6);
    assert_eq!(find(&index, "   ").len(), 6);
    assert!(find(&index, "!!! --").is_empty());
}

#[test]
fn repeated_words_match_the_same_word() {
    let index = company();
    assert_eq!(find(&index, "ada ada"), ["ada"]);
}

#[test]
fn apostrophes_match_with_or_without() {
    let index = Index::build(vec![person("ob", "Seán O'Brien"), person("bt", "Brienne Tarth")]);
    assert_eq!(find(&index, "obrien"), ["ob"]);
    assert_eq!(find(&index, "o'brien"), ["ob"]);
    assert_eq!(find(&index, "o’bri"), ["ob"]);
    assert_eq!(find(&index, "sean brien"), ["ob"]);
    assert_eq!(find(&index, "brien"), ["bt", "ob"]);
}

#[test]
fn words_are_matched_whole_from_their_start_only() {
    // Scripts without spaces form one word; only its start is searchable.
    let index = Index::build(vec![person("y", "山田太郎"), person("e", "Ελένη Παπαδοπούλου")]);
    assert_eq!(find(&index, "山田"), ["y"]);
    assert!(find(&index, "太郎").is_empty());
    assert_eq!(find(&index, "ελενη"), ["e"]);
    assert_eq!(find(&index, "ΠΑΠΑ"), ["e"]);
}
