use super::*;
use proptest::prelude::*;

fn refused(value: &str) -> (char, usize, Reason) {
    match check_user_name(value) {
        Err(IdentityError::Disallowed { code_point, position, reason }) => (code_point.0, position, reason),
        other => panic!("{value:?}: {other:?}"),
    }
}

fn key(value: &str) -> String {
    identity_key(value).unwrap()
}

#[test]
fn accepts_typical_emails_and_okta_logins() {
    for value in [
        "kim@example.com",
        "ada.lovelace+test@example.co.uk",
        "o'brien@example.com",
        "josé@example.com",
        "jose\u{301}@example.com",
        "user_name-1",
        "12345",
        "Ada.Lovelace@Example.COM",
        "first.last@sub.example.org",
        "a!#$%&*/=?^`{|}~@example.com",
        "straße@example.de",
        "müller@example.de",
        "李小龙@example.cn",
        "ελένη@example.gr",
        "пётр@example.ru",
        "한국어@example.kr",
        "l·l@example.cat",
        "שלום",
        "مثال",
        "x",
    ] {
        assert_eq!(check_user_name(value), Ok(()), "{value:?}");
    }
}

#[test]
fn refuses_the_kelvin_sign() {
    let value = "\u{212A}im@example.com";
    assert_eq!(refused(value), ('\u{212A}', 1, Reason::Compatibility));
    assert!(!same_identity(value, "kim@example.com"));
    let message = check_user_name(value).unwrap_err().to_string();
    assert!(message.starts_with("userName contains U+212A (character 1), which is not allowed: a compatibility"));
    assert!(!message.contains("im@example.com"), "{message}");
}

#[test]
fn refuses_whitespace_controls_invisibles_and_compatibility_characters() {
    for (value, c, position, reason) in [
        ("kim@example.com ", ' ', 16, Reason::Whitespace),
        (" kim@example.com", ' ', 1, Reason::Whitespace),
        ("kim lee@example.com", ' ', 4, Reason::Whitespace),
        ("kim@example.com\u{A0}", '\u{A0}', 16, Reason::Whitespace),
        ("kim\u{3000}lee", '\u{3000}', 4, Reason::Whitespace),
        ("k\u{200B}im@example.com", '\u{200B}', 2, Reason::Invisible),
        ("k\u{200D}im@example.com", '\u{200D}', 2, Reason::Invisible),
        ("k\u{200C}im@example.com", '\u{200C}', 2, Reason::Invisible),
        // After a virama PRECIS would allow the joiner; this rule refuses every invisible character.
        ("\u{915}\u{94D}\u{200D}\u{937}", '\u{200D}', 3, Reason::Invisible),
        ("k\u{AD}im@example.com", '\u{AD}', 2, Reason::Invisible),
        ("kim\u{200F}@example.com", '\u{200F}', 4, Reason::Invisible),
        ("kim\u{202E}@example.com", '\u{202E}', 4, Reason::Invisible),
        ("\u{FEFF}kim@example.com", '\u{FEFF}', 1, Reason::Invisible),
        ("kim\t@example.com", '\t', 4, Reason::Control),
        ("kim@example.com\n", '\n', 16, Reason::Control),
        ("kim\0@example.com", '\0', 4, Reason::Control),
        ("kim\u{85}", '\u{85}', 4, Reason::Control),
        ("\u{FF4B}im@example.com", '\u{FF4B}', 1, Reason::Compatibility),
        ("kim\u{FF20}example.com", '\u{FF20}', 4, Reason::Compatibility),
        ("\u{FB01}ona@example.com", '\u{FB01}', 1, Reason::Compatibility),
        ("\u{2126}mega", '\u{2126}', 1, Reason::Compatibility),
        ("o\u{2019}brien@example.com", '\u{2019}', 2, Reason::NotIdentifier),
        ("kim\u{1F600}", '\u{1F600}', 4, Reason::NotIdentifier),
        ("kim\u{FFFF}", '\u{FFFF}', 4, Reason::NotIdentifier),
        ("\u{1100}\u{1161}", '\u{1100}', 1, Reason::NotIdentifier),
        ("a\u{B7}b", '\u{B7}', 2, Reason::Context),
        ("kim\u{0378}", '\u{0378}', 4, Reason::Unassigned),
        // U+A7C0 LATIN CAPITAL LETTER OLD POLISH O: assigned in Unicode 14, after the PRECIS tables' 6.3.
        ("\u{A7C0}la", '\u{A7C0}', 1, Reason::Unassigned),
    ] {
        assert_eq!(refused(value), (c, position, reason), "{value:?}");
    }
}

#[test]
fn refuses_empty_and_bidi_violations() {
    assert_eq!(check_user_name(""), Err(IdentityError::Empty));
    // Latin first, then Hebrew: an LTR label may not contain R characters.
    assert_eq!(check_user_name("kim\u{5E9}"), Err(IdentityError::Bidi));
    // An RTL label may not start with a digit.
    assert_eq!(check_user_name("1\u{5E9}"), Err(IdentityError::Bidi));
    assert!(IdentityError::Bidi.to_string().contains("RFC 5893"));
}

#[test]
fn messages_never_contain_the_value() {
    for value in ["secret\u{200B}", "secret ", "\u{212A}secret", "secret\u{5E9}", "secret\u{FFFF}"] {
        let message = check_user_name(value).unwrap_err().to_string();
        assert!(!message.contains("secret"), "{message}");
        assert!(message.starts_with("userName "), "{message}");
    }
}

#[test]
fn composed_and_decomposed_are_one_user() {
    assert_eq!(key("jos\u{E9}@example.com"), key("jose\u{301}@example.com"));
    assert_eq!(key("jose\u{301}@example.com"), "jos\u{E9}@example.com");
    assert!(same_identity("JOSE\u{301}@example.com", "jos\u{E9}@example.com"));
    // Canonical reordering of combining marks: same string, same user.
    assert!(same_identity("a\u{323}\u{302}", "a\u{302}\u{323}"));
}

#[test]
fn case_is_ignored() {
    assert_eq!(key("KIM@Example.COM"), "kim@example.com");
    assert!(same_identity("KIM@example.com", "kim@example.com"));
    assert!(same_identity("ÉLÈVE", "élève"));
    assert!(same_identity("ΣΊΣΥΦΟΣ", "σίσυφος"));
    assert!(same_identity("σίσυφος", "σίσυφοσ"));
    assert!(same_identity("ПЁТР", "пётр"));
    assert!(!same_identity("kim@example.com", "kim@example.org"));
}

#[test]
fn sharp_s_folds_to_ss() {
    assert_eq!(key("straße@example.de"), "strasse@example.de");
    assert!(same_identity("straße@example.de", "STRASSE@example.de"));
    assert!(same_identity("\u{1E9E}", "ss"));
}

#[test]
fn folding_is_not_turkic() {
    assert!(!same_identity("\u{131}", "i"));
    assert!(!same_identity("\u{130}", "i"));
    assert_eq!(key("\u{130}"), "i\u{307}");
}

#[test]
fn invalid_values_are_never_the_same_identity() {
    assert!(!same_identity("kim@example.com ", "kim@example.com "));
    assert!(!same_identity("", ""));
    assert!(same_identity("kim@example.com", "kim@example.com"));
    assert_eq!(
        identity_key("\u{212A}im"),
        Err(IdentityError::Disallowed {
            code_point: CodePoint('\u{212A}'),
            position: 1,
            reason: Reason::Compatibility,
        })
    );
}

/// Characters that exercise case folding and normalization, plus typical login characters.
const POOL: &[char] = &[
    'a', 'b', 'k', 'K', 'i', 'I', 's', 'S', 'z', '0', '9', '@', '.', '+', '-', '_', '\'', 'é', 'É', 'e', '\u{301}',
    '\u{302}', '\u{323}', '\u{308}', 'ß', '\u{1E9E}', 'ı', '\u{130}', 'σ', 'ς', 'Σ', 'Ω', 'ω', '\u{345}', 'ᾳ', 'ᾼ',
    '\u{1F0}', 'ǅ', 'ǆ', 'Ǆ', 'ŉ', 'ﬁ', 'П', 'ё', 'Ё', 'ı', 'Å', '\u{30A}', 'ǰ', 'J', '\u{30C}', '李', '한', 'ა', 'Ⴀ',
    'Ꭰ', '\u{212A}', '\u{FF4B}', ' ', '\u{200B}',
];

fn candidate() -> impl Strategy<Value = String> {
    let c = prop_oneof![9 => prop::sample::select(POOL), 1 => any::<char>()];
    prop::collection::vec(c, 1..12).prop_map(|chars| chars.into_iter().collect())
}

fn valid() -> impl Strategy<Value = String> {
    candidate().prop_filter("a valid userName", |s| check_user_name(s).is_ok())
}

/// Spellings of `s` that may or may not be the same user.
fn variant(s: &str, how: u8) -> String {
    match how % 5 {
        0 => s.to_uppercase(),
        1 => s.to_lowercase(),
        2 => s.nfd().collect(),
        3 => s.nfc().collect(),
        _ => s.to_owned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn identity_key_is_idempotent(s in valid()) {
        let k = key(&s);
        prop_assert_eq!(fold(&k), k.clone());
        // Keys of valid userNames are valid userNames themselves.
        prop_assert_eq!(identity_key(&k), Ok(k.clone()));
        prop_assert!(same_identity(&s, &k));
    }

    #[test]
    fn same_identity_is_an_equivalence(s in valid(), x in any::<u8>(), y in any::<u8>()) {
        let (a, b, c) = (s.clone(), variant(&s, x), variant(&s, y));
        prop_assert!(same_identity(&a, &a));
        for (p, q) in [(&a, &b), (&b, &c), (&a, &c)] {
            prop_assert_eq!(same_identity(p, q), same_identity(q, p));
        }
        if same_identity(&a, &b) && same_identity(&b, &c) {
            prop_assert!(same_identity(&a, &c));
        }
        // Normalization never changes who a valid userName is.
        let nfd: String = s.nfd().collect();
        if check_user_name(&nfd).is_ok() {
            prop_assert!(same_identity(&s, &nfd));
        }
        let nfc: String = s.nfc().collect();
        if check_user_name(&nfc).is_ok() {
            prop_assert!(same_identity(&s, &nfc));
        }
    }

    #[test]
    fn validity_ignores_nothing(s in candidate()) {
        // A value that is valid keeps every character: nothing is trimmed or mapped away before comparing.
        if check_user_name(&s).is_ok() {
            prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
            prop_assert_eq!(fold(&s).nfc().collect::<String>(), fold(&s));
        }
    }
}

/// Every printable ASCII character, alone: the fast path agrees with PRECIS on each.
#[test]
fn every_printable_ascii_character_is_valid_and_folds_to_lowercase() {
    for b in 0x21u8..=0x7e {
        let s = (b as char).to_string();
        assert_eq!(check_with_precis(&s), Ok(()), "{s:?}");
        assert_eq!(identity_key_with_precis(&s), Ok(s.to_ascii_lowercase()), "{s:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    /// The ASCII fast path of `check_user_name` and `identity_key` answers exactly as the PRECIS path, for any ASCII
    /// value (controls, space and DEL included) and for values with one non-ASCII character among ASCII ones.
    #[test]
    fn the_ascii_fast_path_agrees_with_precis(
        s in "[\\x00-\\x7f]{0,24}|[ -~]{0,12}[\\x00-\\x7f\u{80}-\u{10ffff}][ -~]{0,12}"
    ) {
        prop_assert_eq!(check_user_name(&s), check_with_precis(&s));
        prop_assert_eq!(identity_key(&s), identity_key_with_precis(&s));
    }
}
