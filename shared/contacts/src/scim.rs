//! Lenient readers for SCIM JSON: a missing or wrongly-typed attribute is simply absent.

use serde_json::{Map, Value};

/// A string attribute, trimmed; `None` when absent, not a string, or blank.
pub(crate) fn text(value: Option<&Value>) -> Option<String> {
    let trimmed = value?.as_str()?.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

/// The string sub-attribute `key` of a JSON object (see [`text`]).
pub(crate) fn text_at(object: &Map<String, Value>, key: &str) -> Option<String> {
    text(object.get(key))
}

/// The object-valued attribute `key`, when it is an object.
pub(crate) fn object<'a>(value: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    value.get(key)?.as_object()
}

/// The object entries of the multi-valued attribute `key` (non-object entries are skipped).
pub(crate) fn entries<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Map<String, Value>> {
    value.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_object)
}

/// Whether a multi-valued entry is marked `"primary": true`.
pub(crate) fn is_primary(entry: &Map<String, Value>) -> bool {
    entry.get("primary").and_then(Value::as_bool).unwrap_or(false)
}

/// Whether a multi-valued entry's `type` is `kind` (case-insensitively).
pub(crate) fn has_type(entry: &Map<String, Value>, kind: &str) -> bool {
    entry_type(entry).is_some_and(|t| t.eq_ignore_ascii_case(kind))
}

/// A multi-valued entry's `type`, trimmed, when it is a non-blank string.
pub(crate) fn entry_type(entry: &Map<String, Value>) -> Option<&str> {
    entry.get("type").and_then(Value::as_str).map(str::trim).filter(|t| !t.is_empty())
}
