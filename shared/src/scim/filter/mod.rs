//! The `filter` query parameter (RFC 7644 §3.4.2.2): the whole grammar, typed by the schema.
//!
//! - [`parse`] turns filter text into a [`Filter`] whose attribute paths are resolved against the User schemas
//!   (case-insensitive names, schema-qualified paths, extension attributes); an unknown attribute, an operator that
//!   does not suit the attribute's type, or malformed text is a 400 `invalidFilter`.
//! - [`Filter::matches`] evaluates it against a User's SCIM representation with the schema's semantics
//!   (case-exactness per attribute, `dateTime` as instants, typed booleans and numbers, any-of for multi-valued).
//! - [`parse_value_filter`] and [`Filter::matches_value`] do the same for the filter of a value path
//!   (`emails[type eq "work"]`), relative to its complex attribute and evaluated against one of its values (PATCH).
//! - [`Filter::index_lookup`] recognises the equality filters answered from an index (`id`, `userName`,
//!   `externalId`); `Display` prints a filter back in canonical form (`parse(print(f)) == f`).
//!
//! Bounds: at most [`MAX_FILTER_BYTES`] of text, [`MAX_DEPTH`] levels of nesting and [`MAX_TERMS`] comparisons.

mod eval;
mod parser;

use super::error::ScimError;
use super::schema;
use super::schema::AttributeDef;
use std::fmt;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 2048;
/// Deepest nesting of parentheses, `not` and value paths.
pub const MAX_DEPTH: usize = 16;
/// Most comparisons in one filter.
pub const MAX_TERMS: usize = 64;

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            _ => return None,
        })
    }

    fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }
}

/// A comparison value.
#[derive(Debug, Clone, PartialEq)]
pub enum CompValue {
    String(String),
    Number(serde_json::Number),
    Bool(bool),
    Null,
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::String(s) => write!(f, "{}", serde_json::Value::String(s.clone())),
            CompValue::Number(n) => write!(f, "{n}"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Null => f.write_str("null"),
        }
    }
}

/// A resolved attribute path: `[schema:]attribute[.sub]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The extension schema URN, for extension attributes; `None` for core and common attributes.
    pub extension: Option<&'static str>,
    /// Canonical attribute name.
    pub attribute: &'static str,
    /// Canonical sub-attribute name.
    pub sub_attribute: Option<&'static str>,
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = self.extension {
            write!(f, "{urn}:")?;
        }
        f.write_str(self.attribute)?;
        if let Some(sub) = self.sub_attribute {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath op value`.
    Compare { path: AttrPath, op: CompareOp, value: CompValue },
    /// `attrPath pr`.
    Present(AttrPath),
    /// `a and b`.
    And(Box<Filter>, Box<Filter>),
    /// `a or b`.
    Or(Box<Filter>, Box<Filter>),
    /// `not (a)`.
    Not(Box<Filter>),
    /// `attr[filter]`: some value of the multi-valued (or complex) `attr` satisfies `filter`, whose paths name
    /// sub-attributes of `attr`.
    ValuePath { path: AttrPath, filter: Box<Filter> },
}

/// An equality filter answered from an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexLookup {
    /// `userName eq "value"` (compared case-insensitively).
    UserName(String),
    /// `externalId eq "value"` (case-exact).
    ExternalId(String),
    /// `id eq "value"` (case-exact).
    Id(String),
}

impl Filter {
    /// The index that answers this filter exactly, if any.
    pub fn index_lookup(&self) -> Option<IndexLookup> {
        let Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(value) } = self else {
            return None;
        };
        if path.extension.is_some() || path.sub_attribute.is_some() {
            return None;
        }
        match path.attribute {
            "userName" => Some(IndexLookup::UserName(value.clone())),
            "externalId" => Some(IndexLookup::ExternalId(value.clone())),
            "id" => Some(IndexLookup::Id(value.clone())),
            _ => None,
        }
    }

    /// Whether the User representation `resource` (as returned to clients, with `id` and `meta`) satisfies this
    /// filter.
    pub fn matches(&self, resource: &serde_json::Value) -> bool {
        eval::matches(self, resource)
    }

    /// Whether `value`, one value of the complex attribute `attribute` (an element of a multi-valued attribute, or
    /// the value of a singular one), satisfies this value filter (see [`parse_value_filter`]).
    pub fn matches_value(&self, value: &serde_json::Value, attribute: &'static AttributeDef) -> bool {
        eval::matches_value(self, value, attribute)
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => write!(f, "({a} and {b})"),
            Filter::Or(a, b) => write!(f, "({a} or {b})"),
            Filter::Not(a) => write!(f, "not ({a})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}

/// Parses the filter of a value path, the text between the brackets of `emails[type eq "work"]`: its attribute
/// paths name sub-attributes of the complex `attribute`. Malformed or ill-typed text is a 400 `invalidFilter`.
pub fn parse_value_filter(text: &str, attribute: &'static AttributeDef) -> Result<Filter, ScimError> {
    if text.len() > MAX_FILTER_BYTES {
        return Err(ScimError::invalid_filter(format!("Filters are limited to {MAX_FILTER_BYTES} bytes.")));
    }
    parser::parse_value_filter(text, attribute)
}

/// Parses a `filter` parameter.
pub fn parse(text: &str) -> Result<Filter, ScimError> {
    if text.len() > MAX_FILTER_BYTES {
        return Err(ScimError::invalid_filter(format!("Filters are limited to {MAX_FILTER_BYTES} bytes.")));
    }
    parser::parse(text)
}

/// Resolves one attribute path (`[schema:]attribute[.sub]`, case-insensitive) against the User schemas, as filters
/// do: its canonical form and the definition of the attribute it names. An unknown attribute is a 400
/// `invalidFilter`; callers outside filters map it to their own error.
pub fn resolve_path(text: &str) -> Result<(AttrPath, &'static schema::AttributeDef), ScimError> {
    parser::resolve(text, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use serde_json::json;

    fn ok(text: &str) -> Filter {
        parse(text).unwrap_or_else(|e| panic!("{text}: {}", e.detail))
    }

    fn bjensen() -> serde_json::Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen-ext",
            "userName": "bjensen",
            "name": {"familyName": "O'Malley", "givenName": "Barbara"},
            "title": "Tour Guide",
            "userType": "Employee",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "ims": [{"value": "babs@foo.com", "type": "xmpp"}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}
            },
            "meta": {"resourceType": "User", "created": "2010-01-23T04:56:22Z", "lastModified": "2011-05-13T04:42:34Z"}
        })
    }

    /// The examples of RFC 7644 §3.4.2.2, with their outcome for the user above.
    #[test]
    fn rfc_examples_parse_and_evaluate() {
        let cases = [
            (r#"userName eq "bjensen""#, true),
            // Microsoft Entra ID's unqualified manager filter names the Enterprise User manager (its value).
            (r#"manager eq "26118915-6090-4610-87e4-49d8ca9f808d""#, true),
            (r#"manager eq "someone-else""#, false),
            (r#"department eq "Tour Operations""#, true),
            (r#"name.familyName co "O'Malley""#, true),
            (r#"userName sw "J""#, false),
            (r#"userName sw "B""#, true),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "b""#, true),
            ("title pr", true),
            (r#"meta.lastModified gt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified ge "2011-05-13T04:42:34Z""#, true),
            (r#"meta.lastModified lt "2011-05-13T04:42:34Z""#, false),
            (r#"meta.lastModified le "2011-05-13T06:42:34+02:00""#, true),
            (r#"title pr and userType eq "Employee""#, true),
            (r#"title pr or userType eq "Intern""#, true),
            (r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#, true),
            (r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#, true),
            (r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#, false),
            (r#"userType eq "Employee" and (emails.type eq "work")"#, true),
            (r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#, true),
            (
                r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
                true,
            ),
            (r#"emails[type eq "home" and value co "@example.com"]"#, false),
        ];
        for (text, expected) in cases {
            assert_eq!(ok(text).matches(&bjensen()), expected, "{text}");
        }
    }

    #[test]
    fn semantics_follow_the_schema() {
        let user = bjensen();
        // userName is not case-exact; id and externalId are.
        assert!(ok(r#"USERNAME eq "BJENSEN""#).matches(&user));
        assert!(!ok(r#"externalId eq "BJENSEN-EXT""#).matches(&user));
        assert!(ok(r#"externalId eq "bjensen-ext""#).matches(&user));
        assert!(ok("active eq true").matches(&user));
        assert!(!ok("active eq false").matches(&user));
        assert!(ok("nickName eq null").matches(&user));
        assert!(ok(r#"nickName ne "x""#).matches(&user));
        assert!(!ok("nickName pr").matches(&user));
        assert!(
            ok(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#)
                .matches(&user)
        );
        assert!(
            ok(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#)
                .matches(&user)
        );
        assert!(ok(r#"emails ew "JENSEN.ORG""#).matches(&user));
        assert!(ok(r#"not (userName eq "x") and (title sw "tour" or title sw "x")"#).matches(&user));
        // and binds tighter than or.
        assert!(ok(r#"userName eq "x" and title pr or active eq true"#).matches(&user));
        assert!(!ok(r#"userName eq "x" and (title pr or active eq true)"#).matches(&user));
    }

    #[test]
    fn index_lookups_are_recognised() {
        assert_eq!(ok(r#"userName eq "Ada""#).index_lookup(), Some(IndexLookup::UserName("Ada".into())));
        assert_eq!(ok(r#"externalId eq "00u1""#).index_lookup(), Some(IndexLookup::ExternalId("00u1".into())));
        assert_eq!(ok(r#"id eq "x""#).index_lookup(), Some(IndexLookup::Id("x".into())));
        assert_eq!(ok(r#"userName co "Ada""#).index_lookup(), None);
        assert_eq!(ok(r#"userName eq "Ada" and active eq true"#).index_lookup(), None);
    }

    #[test]
    fn malformed_and_ill_typed_filters_are_invalid_filter() {
        let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_BYTES));
        let deep = format!("{}userName pr{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        let wide = vec!["title pr"; MAX_TERMS + 1].join(" or ");
        for text in [
            "",
            "userName",
            "userName eq",
            "userName eq unquoted",
            r#"userName xx "a""#,
            r#"userName eq "unterminated"#,
            r#"(userName eq "a""#,
            r#"userName eq "a")"#,
            r#"unknownAttr eq "a""#,
            r#"name eq "a""#,
            "active gt true",
            r#"active eq "true""#,
            r#"meta.created gt "yesterday""#,
            r#"emails[type eq "work"][value pr]"#,
            r#"emails[emails[type pr]]"#,
            r#"title[value pr]"#,
            r#"urn:example:unknown:attr eq "a""#,
            r#"userName eq "a" and"#,
            r#"not userName eq "a""#,
            long.as_str(),
            deep.as_str(),
            wide.as_str(),
        ] {
            let err = parse(text).expect_err(text);
            assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidFilter)), "{text}");
        }
    }

    #[test]
    fn print_then_parse_is_identity() {
        for text in [
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            r#"emails[type eq "work" and value co "@example.com"] or not (title pr)"#,
            r#"name.givenName eq "A \"quoted\" name""#,
            "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
        ] {
            let filter = ok(text);
            assert_eq!(ok(&filter.to_string()), filter, "{text} printed as {filter}");
        }
    }

    #[test]
    fn value_filters_parse_relative_to_their_attribute() {
        let emails = crate::scim::schema::user_attribute("emails").unwrap();
        let filter = parse_value_filter(r#"type eq "work" and primary eq true"#, emails).unwrap();
        assert!(filter.matches_value(&json!({"type": "WORK", "primary": true, "value": "a@b"}), emails));
        assert!(!filter.matches_value(&json!({"type": "work"}), emails));
        for text in ["", "type eq", r#"emails.type eq "work""#, r#"colour eq "x""#, r#"type[value pr]"#] {
            let err = parse_value_filter(text, emails).expect_err(text);
            assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidFilter)), "{text}");
        }
        let title = crate::scim::schema::user_attribute("title").unwrap();
        assert!(parse_value_filter("value pr", title).is_err());
    }

    mod properties {
        use super::*;
        use crate::scim::schema::{AttrType, AttributeDef, COMMON_ATTRIBUTES, ENTERPRISE_USER, USER};
        use proptest::prelude::*;
        use proptest::sample::select;

        const DATES: &[&str] = &["2011-05-13T04:42:34Z", "2010-01-23T04:56:22.5Z", "2011-05-13T06:42:34+02:00"];

        fn text() -> impl Strategy<Value = String> {
            "[a-zA-Z0-9 @.\"\\\\é()\\[\\]-]{0,10}"
        }

        /// A comparison or presence test on `path`, typed as the parser requires for `def`.
        fn term(path: AttrPath, def: &'static AttributeDef) -> BoxedStrategy<Filter> {
            use CompareOp::*;
            let present = Just(Filter::Present(path.clone()));
            let target = match (path.sub_attribute, def.ty) {
                (None, AttrType::Complex) => def.sub_attribute("value"),
                _ => Some(def),
            };
            let Some(target) = target else { return present.boxed() };
            let (ops, values): (&'static [CompareOp], BoxedStrategy<CompValue>) = match target.ty {
                AttrType::Boolean => (&[Eq, Ne], any::<bool>().prop_map(CompValue::Bool).boxed()),
                AttrType::Binary => (&[Eq, Ne], text().prop_map(CompValue::String).boxed()),
                AttrType::DateTime => {
                    (&[Eq, Ne, Gt, Ge, Lt, Le], select(DATES).prop_map(|d| CompValue::String(d.into())).boxed())
                }
                _ => (&[Eq, Ne, Co, Sw, Ew, Gt, Ge, Lt, Le], text().prop_map(CompValue::String).boxed()),
            };
            let compare_path = path.clone();
            let compare = (select(ops), values).prop_map(move |(op, value)| Filter::Compare {
                path: compare_path.clone(),
                op,
                value,
            });
            let null = select(&[Eq, Ne][..]).prop_map(move |op| Filter::Compare {
                path: path.clone(),
                op,
                value: CompValue::Null,
            });
            prop_oneof![1 => present, 4 => compare, 1 => null].boxed()
        }

        fn attributes() -> Vec<(Option<&'static str>, &'static AttributeDef)> {
            let core = USER.attributes.iter().chain(COMMON_ATTRIBUTES).map(|d| (None, d));
            core.chain(ENTERPRISE_USER.attributes.iter().map(|d| (Some(ENTERPRISE_USER.id), d))).collect()
        }

        /// Comparisons on every attribute and sub-attribute path of the User schemas.
        fn top_level_term() -> BoxedStrategy<Filter> {
            let mut paths = Vec::new();
            for (extension, def) in attributes() {
                paths.push((AttrPath { extension, attribute: def.name, sub_attribute: None }, def));
                for sub in def.sub_attributes {
                    paths.push((AttrPath { extension, attribute: def.name, sub_attribute: Some(sub.name) }, def));
                }
            }
            select(paths)
                .prop_flat_map(|(path, def)| {
                    let def = path.sub_attribute.and_then(|s| def.sub_attribute(s)).unwrap_or(def);
                    term(path, def)
                })
                .boxed()
        }

        /// `attr[filter]` on a complex attribute, the filter naming its sub-attributes.
        fn value_path() -> BoxedStrategy<Filter> {
            let complex: Vec<_> = attributes().into_iter().filter(|(_, d)| d.ty == AttrType::Complex).collect();
            select(complex)
                .prop_flat_map(|(extension, def)| {
                    let subs: Vec<_> = def.sub_attributes.iter().collect();
                    let inner = select(subs).prop_flat_map(|sub| {
                        term(AttrPath { extension: None, attribute: sub.name, sub_attribute: None }, sub)
                    });
                    let inner = inner.prop_recursive(1, 3, 2, |t| {
                        prop_oneof![
                            (t.clone(), t.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                            (t.clone(), t.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                            t.prop_map(|a| Filter::Not(Box::new(a))),
                        ]
                    });
                    let path = AttrPath { extension, attribute: def.name, sub_attribute: None };
                    inner.prop_map(move |f| Filter::ValuePath { path: path.clone(), filter: Box::new(f) })
                })
                .boxed()
        }

        fn filter() -> impl Strategy<Value = Filter> {
            prop_oneof![3 => top_level_term(), 1 => value_path()].prop_recursive(3, 12, 2, |f| {
                prop_oneof![
                    (f.clone(), f.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
                    (f.clone(), f.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
                    f.prop_map(|a| Filter::Not(Box::new(a))),
                ]
            })
        }

        proptest! {
            /// Printing a filter and parsing the text gives the same filter.
            #[test]
            fn printed_filters_parse_back(filter in filter()) {
                let text = filter.to_string();
                prop_assert_eq!(parse(&text), Ok(filter), "{}", text);
            }
        }
    }
}
