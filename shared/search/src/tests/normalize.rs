use crate::{normalize, words};

#[test]
fn accents_and_case_are_folded() {
    assert_eq!(normalize("José"), "jose");
    assert_eq!(normalize("JOSÉ"), "jose");
    assert_eq!(normalize("Müller"), "muller");
    assert_eq!(normalize("Ångström"), "angstrom");
    assert_eq!(normalize("François"), "francois");
    assert_eq!(normalize("Dvořák"), "dvorak");
}

#[test]
fn nfc_and_nfd_input_agree() {
    let nfc = "Jos\u{e9} M\u{fc}ller";
    let nfd = "Jose\u{301} Mu\u{308}ller";
    assert_ne!(nfc, nfd);
    assert_eq!(normalize(nfc), normalize(nfd));
    assert_eq!(normalize(nfd), "jose muller");
}

#[test]
fn sharp_s_folds_to_ss() {
    assert_eq!(normalize("Straße"), "strasse");
    assert_eq!(normalize("STRAẞE"), "strasse");
}

#[test]
fn letters_without_decomposition_map_to_their_base() {
    assert_eq!(normalize("Ørsted"), "orsted");
    assert_eq!(normalize("Łukasz Wałęsa"), "lukasz walesa");
    assert_eq!(normalize("Ægir Cœur"), "aegir coeur");
    assert_eq!(normalize("Þór Đorđe"), "thor dorde");
    assert_eq!(normalize("Yıldız"), "yildiz");
    assert_eq!(normalize("İstanbul"), "istanbul");
}

#[test]
fn compatibility_forms_fold() {
    assert_eq!(normalize("ＡＢＣ１２３"), "abc123");
    assert_eq!(normalize("ﬁnance"), "finance");
    assert_eq!(normalize("x²"), "x2");
}

#[test]
fn invisible_format_characters_are_dropped() {
    assert_eq!(normalize("Jo\u{AD}hn"), "john");
    assert_eq!(normalize("\u{202E}Ada\u{202C}"), "ada");
    assert_eq!(normalize("Zero\u{200B}Width"), "zerowidth");
    assert_eq!(normalize("\u{FEFF}bom"), "bom");
}

#[test]
fn words_split_on_anything_not_alphanumeric() {
    assert_eq!(words("Ada Lovelace"), ["ada", "lovelace"]);
    assert_eq!(words("  ada.lovelace@Example.com "), ["ada", "lovelace", "example", "com"]);
    assert_eq!(words("Jean-Luc O'Brien"), ["jean", "luc", "o", "brien"]);
    assert_eq!(words("+31 (20) 555-0101"), ["31", "20", "555", "0101"]);
    assert_eq!(words("Ελένη Παπαδοπούλου"), ["ελενη", "παπαδοπουλου"]);
    assert_eq!(words("山田 太郎"), ["山田", "太郎"]);
    assert!(words("").is_empty());
    assert!(words(" -- ... !! ").is_empty());
}

#[test]
fn apostrophe_names_are_indexed_joined_too() {
    let mut seen = Vec::new();
    crate::normalize::for_each_index_word(&normalize("Seán O’Brien d'Angelo l'"), |w| seen.push(w.to_owned()));
    assert_eq!(seen, ["sean", "o", "brien", "obrien", "d", "angelo", "dangelo", "l"]);
}

#[test]
fn phone_suffixes_start_at_each_digit_group() {
    let mut seen = Vec::new();
    crate::normalize::for_each_phone_suffix(&normalize("+31-20-555 0101"), |d| seen.push(d.to_owned()));
    assert_eq!(seen, ["31205550101", "205550101", "5550101", "0101"]);
}

#[test]
fn phone_queries_are_digits_and_punctuation_only() {
    use crate::normalize::phone_query_digits;
    assert_eq!(phone_query_digits("+31 20").as_deref(), Some("3120"));
    assert_eq!(phone_query_digits("(020) 555-01").as_deref(), Some("02055501"));
    assert_eq!(phone_query_digits("ada 20"), None);
    assert_eq!(phone_query_digits("+ -"), None);
}
