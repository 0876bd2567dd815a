use super::*;
use serde_json::json;

fn code_point(err: TextError) -> char {
    match err {
        TextError::Control { code_point, .. }
        | TextError::C1Control { code_point, .. }
        | TextError::Noncharacter { code_point, .. } => code_point.0,
    }
}

#[test]
fn accepts_ordinary_text() {
    for value in
        ["", "Ada Lovelace", "José Ñúñez", "李小龙", "Ελένη", "O'Brien & Söhne", "😀", "\u{FFFD}", "a\u{200B}b"]
    {
        assert_eq!(check_string("displayName", value, false), Ok(()), "{value:?}");
    }
}

#[test]
fn refuses_every_c0_control_and_del() {
    for c in ('\0'..='\u{1F}').chain(['\u{7F}']) {
        let value = format!("ab{c}cd");
        let err = check_string("name.givenName", &value, false).unwrap_err();
        assert_eq!(err, TextError::Control { attribute: "name.givenName".into(), code_point: CodePoint(c) });
    }
}

#[test]
fn multiline_attributes_allow_tab_and_line_feed_only() {
    assert_eq!(check_string("addresses.formatted", "1 Main St\n\tSpringfield", true), Ok(()));
    for c in ['\r', '\0', '\u{B}', '\u{C}', '\u{1B}', '\u{7F}'] {
        let value = format!("1 Main St{c}Springfield");
        assert_eq!(code_point(check_string("addresses.formatted", &value, true).unwrap_err()), c);
    }
    for c in ['\t', '\n'] {
        let err = check_string("title", &format!("a{c}"), false).unwrap_err();
        assert_eq!(err, TextError::Control { attribute: "title".into(), code_point: CodePoint(c) });
    }
}

#[test]
fn refuses_c1_controls() {
    for c in '\u{80}'..='\u{9F}' {
        let err = check_string("title", &format!("x{c}"), true).unwrap_err();
        assert_eq!(err, TextError::C1Control { attribute: "title".into(), code_point: CodePoint(c) });
    }
    // The neighbours are fine.
    assert_eq!(check_string("title", "~\u{A0}", false), Ok(()));
}

#[test]
fn refuses_noncharacters_in_every_plane() {
    let mut nonchars: Vec<u32> = (0xFDD0..=0xFDEF).collect();
    for plane in 0..=0x10u32 {
        nonchars.extend([plane << 16 | 0xFFFE, plane << 16 | 0xFFFF]);
    }
    assert_eq!(nonchars.len(), 66);
    for cp in nonchars {
        let c = char::from_u32(cp).unwrap();
        let err = check_string("nickName", &format!("a{c}b"), true).unwrap_err();
        assert_eq!(err, TextError::Noncharacter { attribute: "nickName".into(), code_point: CodePoint(c) });
    }
    for cp in [0xFDCF, 0xFDF0, 0xFFFD, 0x1FFFD, 0x10000, 0x10FFFD] {
        assert_eq!(check_string("nickName", &char::from_u32(cp).unwrap().to_string(), false), Ok(()));
    }
}

#[test]
fn messages_name_the_attribute_and_code_point_not_the_value() {
    let err = check_string("name.givenName", "secret\u{0}value", false).unwrap_err();
    let message = err.to_string();
    assert_eq!(message, "Attribute \"name.givenName\" contains the control character U+0000, which is not allowed.");
    assert!(!message.contains("secret"));
    let err = check_string("x\u{1}y", "\u{FFFF}", false).unwrap_err();
    assert!(err.to_string().contains("\"x\\u{0001}y\"") && err.to_string().contains("U+FFFF"), "{err}");
}

#[test]
fn multiline_attributes() {
    for path in [
        "addresses.formatted",
        "addresses.streetAddress",
        "Addresses.StreetAddress",
        "ADDRESSES.FORMATTED",
        "urn:ietf:params:scim:schemas:core:2.0:User:addresses.formatted",
        "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER:addresses.streetAddress",
        "addresses[type eq \"work\"].formatted",
        "addresses[type eq \"a]b\"].streetAddress",
        r#"addresses[type eq "a\"]"].formatted"#,
    ] {
        assert!(is_multiline_attribute(path), "{path}");
    }
    for path in [
        "addresses",
        "addresses.locality",
        "formatted",
        "name.formatted",
        "streetAddress",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:addresses.formatted",
        "addresses.formatted.x",
        "addresses[type eq \"x\"].locality",
        "",
    ] {
        assert!(!is_multiline_attribute(path), "{path}");
    }
}

#[test]
fn walks_a_user_with_scim_attribute_paths() {
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "kim@example.com",
        "name": {"givenName": "Kim", "familyName": "Lee"},
        "emails": [{"value": "kim@example.com", "primary": true}],
        "addresses": [{"formatted": "1 Main St\nSpringfield", "streetAddress": "1 Main St\n\tFlat 2"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "department": "Sales",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
        },
        "active": true,
        "x": null
    });
    assert_eq!(check_json_strings(&user, "", is_multiline_attribute), Ok(()));

    let cases = [
        (json!({"name": {"givenName": "K\u{7}im"}}), "name.givenName"),
        (json!({"emails": [{"value": "ok"}, {"value": "bad\u{0}"}]}), "emails.value"),
        (json!({"emails": [[{"value": "bad\u{85}"}]]}), "emails.value"),
        (json!({"addresses": [{"locality": "a\nb"}]}), "addresses.locality"),
        (json!({"addresses": [{"formatted": "a\r\nb"}]}), "addresses.formatted"),
        (json!({"addresses": [{"formatted": "a\n\tb\u{7}"}]}), "addresses.formatted"),
        (json!({"schemas": ["urn:x\u{9}"]}), "schemas"),
        (
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "\u{FDD0}"}}),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        ),
        (
            json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "\u{1F}"}}}),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ),
        (json!({"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "\u{0}"}), ""),
        (json!({"name.givenName": "\u{0}"}), "name.givenName"),
        (json!({"nick\u{0}Name": "fine"}), "nick\\u{0000}Name"),
        (json!("\u{0}"), ""),
    ];
    for (value, attribute) in cases {
        let err = check_json_strings(&value, "", is_multiline_attribute).unwrap_err();
        let expected = if attribute.is_empty() {
            value.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default()
        } else {
            attribute.to_owned()
        };
        let (TextError::Control { attribute: got, .. }
        | TextError::C1Control { attribute: got, .. }
        | TextError::Noncharacter { attribute: got, .. }) = err;
        assert_eq!(got, crate::display::shown(&expected), "{value}");
    }
}

#[test]
fn walks_patch_values_under_their_path() {
    let multiline = is_multiline_attribute;
    assert_eq!(check_json_strings(&json!([{"formatted": "a\nb"}]), "addresses", multiline), Ok(()));
    assert_eq!(check_json_strings(&json!("a\nb"), "addresses[type eq \"work\"].formatted", multiline), Ok(()));
    assert_eq!(check_json_strings(&json!({"streetAddress": "a\nb"}), "addresses[type eq \"work\"]", multiline), Ok(()));
    let err = check_json_strings(&json!({"givenName": "a\nb"}), "name", multiline).unwrap_err();
    assert_eq!(err, TextError::Control { attribute: "name.givenName".into(), code_point: CodePoint('\n') });

    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let err = check_json_strings(&json!({"department": "\u{0}"}), enterprise, multiline).unwrap_err();
    assert_eq!(err, TextError::Control { attribute: format!("{enterprise}:department"), code_point: CodePoint('\0') });
    let custom = "urn:example:params:scim:schemas:extension:custom:1.0:User:";
    let err = check_json_strings(&json!({"badge": "\u{0}"}), custom, multiline).unwrap_err();
    assert_eq!(err, TextError::Control { attribute: format!("{custom}badge"), code_point: CodePoint('\0') });
    let err = check_json_strings(&json!({"value": "\u{0}"}), &format!("{enterprise}:manager"), multiline).unwrap_err();
    assert_eq!(
        err,
        TextError::Control { attribute: format!("{enterprise}:manager.value"), code_point: CodePoint('\0') }
    );
}

fn text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    // Mostly printable ASCII, with TAB, LF, other controls, C1 and noncharacters mixed in.
    let unit = prop_oneof![
        8 => proptest::char::range(' ', '~'),
        1 => prop::sample::select(vec!['\t', '\n', '\r', '\0', '\u{7F}', '\u{85}', '\u{FDD0}', '\u{FFFF}', '\u{e9}']),
        1 => any::<char>(),
    ];
    prop::collection::vec(unit, 0..12).prop_map(|chars| chars.into_iter().collect())
}

proptest::proptest! {
    /// A value is refused exactly when one of its code points is not allowed, and the walk of a document refuses
    /// a value exactly as checking it alone under its attribute's rule does.
    #[test]
    fn the_walk_refuses_what_each_value_s_rule_refuses(formatted in text(), title in text()) {
        let reference = |value: &str, multiline: bool| value.chars().find(|&c| !allowed(c, multiline));
        for multiline in [false, true] {
            proptest::prop_assert_eq!(
                check_string("x", &title, multiline).err().map(code_point),
                reference(&title, multiline)
            );
        }
        let document = json!({"addresses": [{"formatted": formatted}], "title": title});
        let expected = check_string("addresses.formatted", &formatted, true)
            .and_then(|()| check_string("title", &title, false));
        proptest::prop_assert_eq!(check_json_strings(&document, "", is_multiline_attribute), expected);
    }
}
