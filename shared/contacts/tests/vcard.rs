//! vCard output read back with a small RFC 6350 reader: unfolding, escaping, folding and hostile input.

use fd_contacts::{Address, Contact, ENTERPRISE_USER_SCHEMA, vcard, vcard_file_name};
use proptest::prelude::*;
use serde_json::json;

/// One content line, unfolded and split; `value` is still escaped.
#[derive(Debug, Clone, PartialEq)]
struct Property {
    name: String,
    params: Vec<String>,
    value: String,
}

impl Property {
    /// The value unescaped as one TEXT value.
    fn text(&self) -> String {
        unescape(&self.value)
    }

    /// The value split into unescaped components (N, ADR, ORG).
    fn components(&self) -> Vec<String> {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut chars = self.value.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    current.push('\\');
                    current.extend(chars.next());
                }
                ';' => parts.push(unescape(&std::mem::take(&mut current))),
                c => current.push(c),
            }
        }
        parts.push(unescape(&current));
        parts
    }
}

fn unescape(value: &str) -> String {
    let mut out = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => panic!("dangling backslash in {value:?}"),
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// Checks the physical form (CRLF only, no line over 75 octets) and returns the unfolded content lines.
fn unfold(card: &str) -> Vec<String> {
    assert!(card.ends_with("\r\n"), "ends with CRLF");
    for physical in card.split_terminator("\r\n") {
        assert!(physical.len() <= 75, "{} octets: {physical:?}", physical.len());
        assert!(!physical.contains(['\r', '\n']), "bare CR or LF in {physical:?}");
    }
    card.replace("\r\n ", "").replace("\r\n\t", "").split_terminator("\r\n").map(str::to_string).collect()
}

/// Parses a vCard into its properties, checking BEGIN, VERSION and END.
fn parse(card: &str) -> Vec<Property> {
    let lines = unfold(card);
    let properties: Vec<Property> = lines
        .iter()
        .map(|line| {
            let (head, value) = line.split_once(':').unwrap_or_else(|| panic!("no colon in {line:?}"));
            let (name, params) = head.split_once(';').unwrap_or((head, ""));
            let name = name.to_string();
            assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'-'), "{name:?}");
            let params = params.split(';').filter(|p| !p.is_empty()).map(str::to_string).collect();
            Property { name, params, value: value.to_string() }
        })
        .collect();
    assert_eq!(properties.first().map(|p| (p.name.as_str(), p.value.as_str())), Some(("BEGIN", "VCARD")));
    assert_eq!(properties.get(1).map(|p| (p.name.as_str(), p.value.as_str())), Some(("VERSION", "4.0")));
    assert_eq!(properties.last().map(|p| (p.name.as_str(), p.value.as_str())), Some(("END", "VCARD")));
    assert_eq!(properties.iter().filter(|p| p.name == "BEGIN" || p.name == "END").count(), 2);
    properties
}

fn all<'a>(properties: &'a [Property], name: &str) -> Vec<&'a Property> {
    properties.iter().filter(|p| p.name == name).collect()
}

fn one<'a>(properties: &'a [Property], name: &str) -> &'a Property {
    let found = all(properties, name);
    assert_eq!(found.len(), 1, "{name}: {properties:?}");
    found[0]
}

#[test]
fn full_okta_user_round_trips() {
    let resource = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER_SCHEMA],
        "id": "2819C223-7F76-453A-919D-413861904646",
        "externalId": "00u1a2b3c4",
        "userName": "ada@example.com",
        "displayName": "Lovelace, Ada; Countess of Lovelace",
        "name": {"givenName": "Augusta Ada", "familyName": "King-Noel; Lovelace"},
        "nickName": "Ada",
        "emails": [
            {"type": "other", "value": "ada@analytical.example"},
            {"type": "work", "primary": true, "value": "ada@example.com"}
        ],
        "profileUrl": "https://intranet.example.com/people/ada?tab=about,contact",
        "phoneNumbers": [
            {"type": "mobile", "value": "+44 7700 900123"},
            {"type": "work", "primary": true, "value": "+44 (0)20 7946 0018"}
        ],
        "addresses": [{
            "type": "work", "primary": true, "streetAddress": "12 St James's Square\nFloor 3, Suite 7",
            "locality": "London", "region": "Greater London", "postalCode": "SW1Y 4LB", "country": "gb"
        }],
        "preferredLanguage": "en-GB, fr;q=0.5",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "userType": "Employee",
        "title": "Analyst, Engines",
        "active": true,
        ENTERPRISE_USER_SCHEMA: {
            "employeeNumber": "1815",
            "costCenter": "CC-42",
            "division": "Engines",
            "department": "Analytical; Difference",
            "manager": {"value": "c0ffee00-0000-4000-8000-000000000001", "displayName": "Charles Babbage"}
        }
    });
    let contact = Contact::from_scim(&resource);
    let card = vcard(&contact);
    assert!(!card.contains("00u1a2b3c4"), "externalId is not exported");
    let props = parse(&card);

    assert_eq!(one(&props, "UID").value, "urn:uuid:2819c223-7f76-453a-919d-413861904646");
    assert_eq!(one(&props, "FN").text(), "Lovelace, Ada; Countess of Lovelace");
    assert_eq!(one(&props, "FN").value, r"Lovelace\, Ada\; Countess of Lovelace");
    assert_eq!(one(&props, "N").components(), ["King-Noel; Lovelace", "Augusta Ada", "", "", ""]);
    assert_eq!(one(&props, "NICKNAME").text(), "Ada");
    assert_eq!(one(&props, "TITLE").text(), "Analyst, Engines");
    assert_eq!(one(&props, "ORG").components(), ["", "Engines", "Analytical; Difference"]);

    let emails = all(&props, "EMAIL");
    assert_eq!(emails.len(), 2);
    assert_eq!(
        (emails[0].params.clone(), emails[0].text()),
        (vec!["TYPE=work".into(), "PREF=1".into()], "ada@example.com".into())
    );
    assert_eq!((emails[1].params.clone(), emails[1].text()), (vec![], "ada@analytical.example".into()));

    let phones = all(&props, "TEL");
    assert_eq!(phones.len(), 2);
    assert_eq!(phones[0].params, ["VALUE=uri", "TYPE=work,voice", "PREF=1"]);
    assert_eq!(phones[0].value, "tel:+442079460018");
    assert_eq!(phones[1].params, ["VALUE=uri", "TYPE=cell"]);
    assert_eq!(phones[1].value, "tel:+447700900123");

    let adr = one(&props, "ADR");
    assert_eq!(adr.params, ["TYPE=work", "CC=GB"]);
    assert_eq!(
        adr.components(),
        ["", "", "12 St James's Square\nFloor 3, Suite 7", "London", "Greater London", "SW1Y 4LB", "United Kingdom"]
    );
    assert_eq!(one(&props, "URL").value, "https://intranet.example.com/people/ada?tab=about,contact");
    let langs: Vec<_> = all(&props, "LANG").iter().map(|p| (p.params.clone(), p.value.clone())).collect();
    assert_eq!(
        langs,
        [(vec!["PREF=1".to_string()], "en-GB".to_string()), (vec!["PREF=2".to_string()], "fr".to_string())]
    );
    assert_eq!(one(&props, "TZ").text(), "Europe/London");

    let names: Vec<&str> = props.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "BEGIN", "VERSION", "UID", "FN", "N", "NICKNAME", "TITLE", "ORG", "EMAIL", "EMAIL", "TEL", "TEL", "ADR",
            "URL", "LANG", "LANG", "TZ", "END"
        ]
    );
    assert_eq!(vcard_file_name(&contact), "lovelace-ada-countess-of-lovelace.vcf");
}

#[test]
fn minimal_contact() {
    let contact = Contact::from_scim(&json!({"id": "user-42", "userName": "grace"}));
    let card = vcard(&contact);
    assert_eq!(card, "BEGIN:VCARD\r\nVERSION:4.0\r\nUID;VALUE=text:user-42\r\nFN:grace\r\nEND:VCARD\r\n");
}

#[test]
fn unsafe_links_and_odd_numbers_become_text_or_nothing() {
    let contact = Contact::from_scim(&json!({
        "userName": "u",
        "profileUrl": "javascript:alert(1)",
        "phoneNumbers": [{"type": "work", "value": "+1 555 0100 ext. 7; x"}, {"type": "home", "value": "555-0199"}],
        "addresses": [{"type": "work", "formatted": "1 Main St\nSpringfield"}],
        "preferredLanguage": "*",
    }));
    let props = parse(&vcard(&contact));
    assert!(all(&props, "URL").is_empty());
    assert!(all(&props, "LANG").is_empty());
    let phones = all(&props, "TEL");
    assert_eq!(phones[0].params, ["TYPE=work,voice", "PREF=1"]);
    assert_eq!(phones[0].text(), "+1 555 0100 ext. 7; x");
    assert_eq!(phones[1].params, ["VALUE=uri", "TYPE=home,voice"]);
    assert_eq!(phones[1].value, "tel:5550199");
    assert_eq!(one(&props, "ADR").components(), ["", "", "1 Main St\nSpringfield", "", "", "", ""]);
}

#[test]
fn every_special_character_is_escaped() {
    let contact = Contact {
        display_name: "back\\slash, comma; semi\nnew\r\nline\rcr".into(),
        given_name: Some("a,b;c\\d".into()),
        family_name: Some("x;y".into()),
        ..Contact::default()
    };
    let card = vcard(&contact);
    assert!(card.contains("\r\nFN:back\\\\slash\\, comma\\; semi\\nnew\\nline\\ncr\r\n"), "{card}");
    assert!(card.contains("\r\nN:x\\;y;a\\,b\\;c\\\\d;;;\r\n"), "{card}");
    let props = parse(&card);
    assert_eq!(one(&props, "FN").text(), "back\\slash, comma; semi\nnew\nline\ncr");
    assert_eq!(one(&props, "N").components(), ["x;y", "a,b;c\\d", "", "", ""]);
}

#[test]
fn folding_keeps_multibyte_characters_whole() {
    for unit in ["é", "€", "😀", "a😀", "ab€", "\\", ",", "e\u{301}"] {
        for count in [1, 20, 37, 38, 74, 75, 200] {
            let name = unit.repeat(count);
            let contact = Contact { display_name: name.clone(), title: Some(format!("x{name}")), ..Contact::default() };
            let card = vcard(&contact);
            // `unfold` asserts that no physical line is over 75 octets; `String` guarantees whole characters.
            let props = parse(&card);
            assert_eq!(one(&props, "FN").text(), name);
            assert_eq!(one(&props, "TITLE").text(), format!("x{name}"));
        }
    }
}

#[test]
fn hostile_strings() {
    let script = "<script>alert('x')</script><img src=x onerror=alert(1)>";
    let rtl = "Ada \u{202E}fdp.exe\u{202C} Lovelace";
    let long = "A".repeat(4096);
    let long_multibyte = "ü".repeat(2048);
    let injection = "Eve\r\nEND:VCARD\r\nBEGIN:VCARD\r\nFN:Mallory\nTEL:666\u{0}\u{7}";
    for hostile in [script, rtl, &long, &long_multibyte, injection] {
        let contact = Contact {
            display_name: hostile.into(),
            nick_name: Some(hostile.into()),
            department: Some(hostile.into()),
            address: Some(Address { street_address: Some(hostile.into()), ..Address::default() }),
            timezone: Some(hostile.into()),
            profile_url: Some(format!("https://example.com/{hostile}")),
            ..Contact::default()
        };
        let card = vcard(&contact);
        let props = parse(&card);
        let expected = hostile.replace("\r\n", "\n").replace(['\u{0}', '\u{7}'], "");
        assert_eq!(one(&props, "FN").text(), expected);
        assert_eq!(one(&props, "NICKNAME").text(), expected);
        assert_eq!(one(&props, "ORG").components(), ["", expected.as_str()]);
        assert_eq!(one(&props, "ADR").components()[2], expected);
        assert_eq!(one(&props, "TZ").text(), expected);
        assert_eq!(all(&props, "TEL").len(), 0);
        let file = vcard_file_name(&contact);
        assert!(
            file.len() <= 68 && file.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
            "{file}"
        );
        assert!(all(&props, "URL").is_empty(), "{hostile:?}");
    }
}

/// What a vCard can carry of a text: line breaks become LF; other control characters but TAB are dropped.
fn representable(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_ascii_control() || matches!(c, '\n' | '\t'))
        .collect()
}

fn round_trip(text: &str) {
    let contact = Contact {
        display_name: text.into(),
        given_name: Some(text.into()),
        family_name: Some(text.into()),
        nick_name: Some(text.into()),
        title: Some(text.into()),
        division: Some(text.into()),
        department: Some(text.into()),
        timezone: Some(text.into()),
        address: Some(Address {
            street_address: Some(text.into()),
            locality: Some(text.into()),
            region: Some(text.into()),
            postal_code: Some(text.into()),
            ..Address::default()
        }),
        ..Contact::default()
    };
    let props = parse(&vcard(&contact));
    let want = representable(text);
    for name in ["FN", "NICKNAME", "TITLE", "TZ"] {
        assert_eq!(one(&props, name).text(), want, "{name}");
    }
    assert_eq!(one(&props, "N").components(), [want.as_str(), &want, "", "", ""]);
    assert_eq!(one(&props, "ORG").components(), ["", want.as_str(), &want]);
    if want.trim().is_empty() {
        assert!(all(&props, "ADR").is_empty(), "a blank address is no address");
    } else {
        assert_eq!(one(&props, "ADR").components(), ["", "", want.as_str(), &want, &want, &want, ""]);
    }
}

proptest! {
    #[test]
    fn arbitrary_text_round_trips(text in any::<String>()) {
        round_trip(&text);
    }

    #[test]
    fn special_heavy_text_round_trips(text in "[\\\\,;:\r\n\t a-zé€😀\u{202E}\u{0}\"]{0,300}") {
        round_trip(&text);
    }

    #[test]
    fn text_without_controls_round_trips_exactly(text in "[^\\p{Cc}]{0,200}") {
        prop_assert_eq!(representable(&text), text.clone());
        round_trip(&text);
    }
}
