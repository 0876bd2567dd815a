//! `filter` query parameter (RFC 7644 §3.4.2.2).
//!
//! This server answers the equality filters provisioning clients use for lookups, each from an index:
//! `userName eq "…"` (case-insensitive, as `userName` is not case-exact), `externalId eq "…"` and `id eq "…"`.
//! Any other well-formed filter is refused with 400 `invalidFilter` rather than answered wrongly.

use super::error::ScimError;
use super::schema::USER_SCHEMA;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_BYTES: usize = 2048;

/// A filter this server can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserFilter {
    /// `userName eq "value"` (compared case-insensitively).
    UserName(String),
    /// `externalId eq "value"` (case-exact).
    ExternalId(String),
    /// `id eq "value"` (case-exact).
    Id(String),
}

const OPERATORS: &[&str] = &["eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"];

/// Parses a `filter` parameter.
pub fn parse(filter: &str) -> Result<UserFilter, ScimError> {
    if filter.len() > MAX_FILTER_BYTES {
        return Err(ScimError::invalid_filter(format!("Filters are limited to {MAX_FILTER_BYTES} bytes.")));
    }
    let text = filter.trim();
    let (attr, rest) = split_word(text);
    let (op, value) = split_word(rest);
    if attr.is_empty() || op.is_empty() {
        return Err(ScimError::invalid_filter("Expected a filter of the form: attribute operator value."));
    }
    if !OPERATORS.iter().any(|o| o.eq_ignore_ascii_case(op)) {
        return Err(ScimError::invalid_filter(format!("Unknown operator \"{op}\".")));
    }
    let value: String = match serde_json::from_str::<serde_json::Value>(value.trim()) {
        Ok(serde_json::Value::String(s)) => s,
        _ => return Err(unsupported()),
    };
    if !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let attr = strip_core_prefix(attr);
    if attr.eq_ignore_ascii_case("userName") {
        Ok(UserFilter::UserName(value))
    } else if attr.eq_ignore_ascii_case("externalId") {
        Ok(UserFilter::ExternalId(value))
    } else if attr.eq_ignore_ascii_case("id") {
        Ok(UserFilter::Id(value))
    } else {
        Err(unsupported())
    }
}

fn unsupported() -> ScimError {
    ScimError::invalid_filter(
        "Unsupported filter: this server answers userName eq \"…\", externalId eq \"…\" and id eq \"…\".",
    )
}

fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

fn strip_core_prefix(attr: &str) -> &str {
    let prefix_len = USER_SCHEMA.len() + 1;
    match (attr.get(..USER_SCHEMA.len()), attr.get(USER_SCHEMA.len()..prefix_len)) {
        (Some(urn), Some(":")) if urn.eq_ignore_ascii_case(USER_SCHEMA) => &attr[prefix_len..],
        _ => attr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_okta_lookup() {
        assert_eq!(parse(r#"userName eq "ada@example.com""#), Ok(UserFilter::UserName("ada@example.com".into())));
        assert_eq!(parse(r#"USERNAME EQ "Ada""#), Ok(UserFilter::UserName("Ada".into())));
        assert_eq!(
            parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a b""#),
            Ok(UserFilter::UserName("a b".into()))
        );
        assert_eq!(parse(r#"externalId eq "00u1""#), Ok(UserFilter::ExternalId("00u1".into())));
        assert_eq!(parse(r#"id eq "x\"y""#), Ok(UserFilter::Id("x\"y".into())));
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        for f in [
            r#"userName sw "a""#,
            r#"userName eq "a" and active eq true"#,
            r#"title eq "Boss""#,
            "userName eq unquoted",
            "userName pr",
            "",
            "userName",
            r#"userName xx "a""#,
            r#"userName eq "unterminated"#,
        ] {
            let err = parse(f).unwrap_err();
            assert_eq!(err.status, 400, "{f}");
            assert_eq!(err.scim_type, Some(crate::scim::error::ScimType::InvalidFilter), "{f}");
        }
        assert_eq!(parse(&"a".repeat(MAX_FILTER_BYTES + 1)).unwrap_err().status, 400);
    }
}
