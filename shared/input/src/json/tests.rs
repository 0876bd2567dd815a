use super::*;
use proptest::prelude::*;
use serde_json::json;

fn strict(text: &str) -> Result<Value, JsonError> {
    parse_strict(text.as_bytes())
}

#[test]
fn accepts_a_scim_patch_and_keeps_member_order() {
    let body = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations":[{"op":"replace","value":{"userName":"kim@example.com","active":false}}]}"#;
    let value = strict(body).unwrap();
    assert_eq!(value, serde_json::from_str::<Value>(body).unwrap());
    let keys: Vec<_> = value["Operations"][0]["value"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["userName", "active"]);
}

#[test]
fn accepts_scalars_at_the_top_level_and_surrounding_whitespace() {
    assert_eq!(strict(" 12 \n").unwrap(), json!(12));
    assert_eq!(strict("null").unwrap(), Value::Null);
    assert_eq!(strict("\"\\ud83d\\ude00\"").unwrap(), json!("😀"));
    assert_eq!(strict("-0.5e1").unwrap(), serde_json::from_str::<Value>("-0.5e1").unwrap());
}

#[test]
fn refuses_a_duplicate_at_the_top_level() {
    let err = strict(r#"{"userName":"a","userName":"b"}"#).unwrap_err();
    assert_eq!(err, JsonError::DuplicateMember { name: "userName".into(), path: "userName".into() });
    assert_eq!(
        err.to_string(),
        "Duplicate member \"userName\" at userName: a member name may appear only once in an object."
    );
}

#[test]
fn refuses_a_duplicate_deep_inside_with_its_path() {
    let body = r#"{"schemas":[],"Operations":[{"op":"add","value":{"userName":"a","x":1,"userName":"b"}}]}"#;
    assert_eq!(
        strict(body).unwrap_err(),
        JsonError::DuplicateMember { name: "userName".into(), path: "Operations[0].value.userName".into() }
    );
    let body = r#"[[1],[2,{"a":{"b":[{},{"c":1,"c":1}]}}]]"#;
    assert_eq!(
        strict(body).unwrap_err(),
        JsonError::DuplicateMember { name: "c".into(), path: "[1][1].a.b[1].c".into() }
    );
}

#[test]
fn duplicates_are_exact_but_parse_scim_also_ignores_ascii_case() {
    let body = br#"{"userName":"a","USERNAME":"b"}"#;
    assert!(parse_strict(body).is_ok());
    let err = parse_scim(body).unwrap_err();
    assert_eq!(
        err,
        JsonError::CaseVariantMember { name: "USERNAME".into(), first: "userName".into(), path: "USERNAME".into() }
    );
    assert!(err.to_string().contains("case-insensitive"));
    // Same names in different objects are fine.
    assert!(parse_scim(br#"{"name":{"value":1},"emails":[{"value":1},{"Value":2}]}"#).is_ok());
    // Escapes are decoded before comparing: these are the same name.
    assert!(matches!(parse_strict(br#"{"a":1,"\u0061":2}"#), Err(JsonError::DuplicateMember { .. })));
}

#[test]
fn repeats_are_found_in_objects_of_every_size() {
    // Small objects are scanned member by member, large ones indexed: the same repeats are refused either way.
    for size in [1, 2, 31, 32, 33, 100] {
        let members: Vec<String> = (0..size).map(|i| format!("\"attr{i}\":{i}")).collect();
        for (repeat, first) in
            [("attr0", "attr0"), ("ATTR0", "attr0"), (&*format!("Attr{}", size - 1), &*format!("attr{}", size - 1))]
        {
            let body = format!("{{{},\"{repeat}\":true}}", members.join(","));
            let expected = if repeat == first {
                JsonError::DuplicateMember { name: repeat.into(), path: repeat.into() }
            } else {
                JsonError::CaseVariantMember { name: repeat.into(), first: first.into(), path: repeat.into() }
            };
            assert_eq!(parse_scim(body.as_bytes()).unwrap_err(), expected, "{size} members, then {repeat}");
            assert_eq!(parse_strict(body.as_bytes()).is_ok(), repeat != first, "{size} members, then {repeat}");
        }
        let distinct = format!("{{{},\"other\":true}}", members.join(","));
        assert_eq!(parse_scim(distinct.as_bytes()).unwrap().as_object().map(|o| o.len()), Some(size + 1));
    }
}

#[test]
fn long_or_hostile_member_names_are_truncated_and_escaped() {
    let name = format!("{}\u{202E}", "n".repeat(300));
    let body = format!(r#"{{"{name}":1,"{name}":2}}"#);
    let JsonError::DuplicateMember { name: shown_name, path } = strict(&body).unwrap_err() else { panic!() };
    assert_eq!(shown_name, format!("{}…", "n".repeat(crate::NAME_DISPLAY_CHARS)));
    assert_eq!(path, shown_name);
    let body = r#"{"a\nb":1,"a\nb":2}"#;
    assert!(strict(body).unwrap_err().to_string().contains(r#""a\u{000A}b""#));
}

#[test]
fn refuses_lone_surrogates() {
    for (text, offset) in [
        (r#""\ud800""#, 1),
        (r#""x\uDBFFy""#, 2),
        (r#""\udc00""#, 1),
        (r#"{"a":"\ud83d\ud83d\ude00"}"#, 6),
        (r#"{"\ude00":1}"#, 2),
        (r#""\ud800\u0041""#, 1),
        (r#""\ud800"#, 1),
    ] {
        assert_eq!(strict(text), Err(JsonError::LoneSurrogate { offset }), "{text}");
    }
    // Escaped backslashes are not escapes: `\\ud800` is the text `\ud800`.
    assert_eq!(strict(r#""\\ud800""#).unwrap(), json!("\\ud800"));
}

#[test]
fn refuses_invalid_utf8() {
    assert_eq!(parse_strict(b"{\"a\":\"\xff\"}"), Err(JsonError::InvalidUtf8 { offset: 6 }));
    assert_eq!(parse_strict(b"\"\xed\xa0\x80\""), Err(JsonError::InvalidUtf8 { offset: 1 }));
    assert_eq!(parse_strict(b"\"\xc3\""), Err(JsonError::InvalidUtf8 { offset: 1 }));
}

fn nested(depth: usize) -> String {
    let mut text = String::new();
    for i in 0..depth {
        text.push_str(if i % 2 == 0 { "[" } else { "{\"a\":" });
    }
    text.push('0');
    for i in (0..depth).rev() {
        text.push(if i % 2 == 0 { ']' } else { '}' });
    }
    text
}

#[test]
fn refuses_nesting_past_max_depth() {
    assert!(strict(&nested(MAX_DEPTH)).is_ok());
    let err = strict(&nested(MAX_DEPTH + 1)).unwrap_err();
    let JsonError::TooDeep { max, path } = &err else { panic!("{err:?}") };
    assert_eq!(*max, MAX_DEPTH);
    assert_eq!(*path, "[0].a".repeat(MAX_DEPTH / 2));
    assert!(matches!(strict(&nested(10_000)), Err(JsonError::TooDeep { .. })));
    assert!(matches!(strict(&"[".repeat(100_000)), Err(JsonError::TooDeep { .. })));
}

#[test]
fn refuses_trailing_garbage() {
    assert_eq!(strict("{} x"), Err(JsonError::TrailingCharacters { line: 1, column: 4 }));
    assert_eq!(strict("{}{}"), Err(JsonError::TrailingCharacters { line: 1, column: 3 }));
    assert_eq!(strict("1\n2"), Err(JsonError::TrailingCharacters { line: 2, column: 1 }));
}

#[test]
fn refuses_syntax_errors_with_a_position() {
    for text in ["", "{", "{\"a\":}", "[1,]", "{'a':1}", "\u{feff}{}", "\"\u{1}\"", "\"\\x\"", "1e400", "NaN"] {
        let err = strict(text).unwrap_err();
        assert!(matches!(err, JsonError::Syntax { .. }), "{text:?}: {err:?}");
        assert!(err.to_string().contains(" line "), "{err}");
    }
}

/// A JSON document whose objects may hold repeated names (which `Value` cannot).
#[derive(Debug, Clone)]
enum Doc {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Doc>),
    Object(Vec<(String, Doc)>),
}

impl Doc {
    fn write(&self, out: &mut String) {
        match self {
            Doc::Null => out.push_str("null"),
            Doc::Bool(b) => out.push_str(&b.to_string()),
            Doc::Int(i) => out.push_str(&i.to_string()),
            Doc::Float(f) => out.push_str(&serde_json::to_string(f).unwrap()),
            Doc::Str(s) => out.push_str(&serde_json::to_string(s).unwrap()),
            Doc::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Doc::Object(members) => {
                out.push('{');
                for (i, (name, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&serde_json::to_string(name).unwrap());
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn count_objects(&self) -> usize {
        match self {
            Doc::Array(items) => items.iter().map(Doc::count_objects).sum(),
            Doc::Object(members) => 1 + members.iter().map(|(_, v)| v.count_objects()).sum::<usize>(),
            _ => 0,
        }
    }

    /// The members of the `k`-th object in document order.
    fn object_mut(&mut self, k: &mut usize) -> Option<&mut Vec<(String, Doc)>> {
        match self {
            Doc::Object(members) => {
                if *k == 0 {
                    Some(members)
                } else {
                    *k -= 1;
                    members.iter_mut().find_map(|(_, v)| v.object_mut(k))
                }
            }
            Doc::Array(items) => items.iter_mut().find_map(|v| v.object_mut(k)),
            _ => None,
        }
    }
}

fn name() -> impl Strategy<Value = String> {
    // A small alphabet makes repeated names likely, plus any Unicode to exercise escapes.
    prop_oneof![4 => "[a-cA-C]{0,2}", 1 => any::<String>()]
}

fn doc() -> impl Strategy<Value = Doc> {
    let leaf = prop_oneof![
        Just(Doc::Null),
        any::<bool>().prop_map(Doc::Bool),
        any::<i64>().prop_map(Doc::Int),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Doc::Float),
        any::<String>().prop_map(Doc::Str),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Doc::Array),
            prop::collection::vec((name(), inner), 0..6).prop_map(|members| {
                // Keep the first of each name: a document without duplicates.
                let mut seen = std::collections::HashSet::new();
                Doc::Object(members.into_iter().filter(|(n, _)| seen.insert(n.clone())).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn documents_without_duplicates_parse_like_serde_json(doc in doc()) {
        let text = doc.text();
        let expected: Value = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(parse_strict(text.as_bytes()).unwrap(), expected);
    }

    #[test]
    fn a_duplicate_anywhere_is_refused(
        doc in doc(),
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        original in any::<prop::sample::Index>(),
        extra in doc(),
    ) {
        // Wrap so that there is at least one object; the duplicate goes into a random one.
        let mut doc = Doc::Object(vec![("root".into(), doc)]);
        let mut k = which.index(doc.count_objects());
        let members = doc.object_mut(&mut k).unwrap();
        let name = if members.is_empty() {
            members.push(("k".into(), Doc::Null));
            "k".to_owned()
        } else {
            original.get(members).0.clone()
        };
        let position = at.index(members.len() + 1);
        members.insert(position, (name.clone(), extra));
        let text = doc.text();
        match parse_strict(text.as_bytes()) {
            Err(JsonError::DuplicateMember { name: refused, path }) => {
                prop_assert_eq!(refused, crate::display::shown(&name));
                prop_assert!(path.ends_with(&crate::display::shown(&name)), "{} {}", path, name);
            }
            other => prop_assert!(false, "{:?} for {}", other, text),
        }
        // The SCIM parser refuses it too (as a duplicate or as an earlier case variant).
        prop_assert!(parse_scim(text.as_bytes()).is_err());
    }
}
