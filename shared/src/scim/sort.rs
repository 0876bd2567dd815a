//! Sorting: the `sortBy` and `sortOrder` parameters (RFC 7644 §3.4.2.3).
//!
//! `sortBy` is an attribute path resolved against the User schemas as filters resolve theirs (case-insensitive,
//! optionally schema-qualified, sub-attributes with a dot). Values compare by the attribute's type: strings
//! case-insensitively unless the attribute is `caseExact`, `dateTime` as instants, booleans and numbers as such. A
//! multi-valued attribute sorts by its primary value, else its first (for a complex one without a sub-attribute
//! named, the `value` sub-attribute); a singular complex attribute must be sorted by one of its sub-attributes.
//! Resources without a value (or with an empty string) sort last in ascending order and first in descending order;
//! equal values keep the order they came in (by id). An unknown attribute or an unusable `sortOrder` is a 400
//! `invalidValue` (the parameter value is not compatible with the resource schema; `invalidFilter` is reserved for
//! `filter`).

use super::error::ScimError;
use super::filter::{self, AttrPath};
use super::schema::{AttrType, AttributeDef};
use serde_json::Value;
use std::cmp::Ordering;
use time::OffsetDateTime;

/// `sortOrder`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Ascending,
    Descending,
}

impl SortOrder {
    /// Parses `ascending` or `descending` (case-insensitively).
    pub fn parse(text: &str) -> Result<Self, ScimError> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("ascending") {
            Ok(SortOrder::Ascending)
        } else if text.eq_ignore_ascii_case("descending") {
            Ok(SortOrder::Descending)
        } else {
            Err(ScimError::invalid_value(format!(
                "\"sortOrder\" must be \"ascending\" or \"descending\", not \"{text}\"."
            )))
        }
    }
}

/// A parsed `sortBy` with its `sortOrder`.
#[derive(Debug, Clone)]
pub struct Sort {
    path: AttrPath,
    /// Definition of the compared values (a sub-attribute, or the attribute itself).
    target: &'static AttributeDef,
    /// The sub-attribute read from each value of a complex attribute, if any.
    sub_attribute: Option<&'static str>,
    order: SortOrder,
}

impl PartialEq for Sort {
    fn eq(&self, other: &Self) -> bool {
        // The definition follows from the path.
        (&self.path, self.sub_attribute, self.order) == (&other.path, other.sub_attribute, other.order)
    }
}

impl Sort {
    /// Parses `sortBy` (and `sortOrder`, ascending when absent).
    pub fn parse(sort_by: &str, sort_order: Option<&str>) -> Result<Self, ScimError> {
        let text = sort_by.trim();
        let unknown = || ScimError::invalid_value(format!("\"sortBy\": \"{text}\" is not an attribute of Users."));
        let (path, def) = filter::resolve_path(text).map_err(|_| unknown())?;
        let sub_attribute = match path.sub_attribute {
            Some(sub) => Some(sub),
            None if def.ty == AttrType::Complex && def.multi_valued && def.sub_attribute("value").is_some() => {
                Some("value")
            }
            None if def.ty == AttrType::Complex => {
                return Err(ScimError::invalid_value(format!(
                    "\"sortBy\": \"{path}\" is complex; sort by one of its sub-attributes (e.g. \"{path}.{}\").",
                    def.sub_attributes.first().map_or("value", |s| s.name)
                )));
            }
            None => None,
        };
        let target = match sub_attribute {
            Some(sub) => def.sub_attribute(sub).ok_or_else(unknown)?,
            None => def,
        };
        let order = sort_order.map(SortOrder::parse).transpose()?.unwrap_or(SortOrder::Ascending);
        Ok(Sort { path, target, sub_attribute, order })
    }

    /// The order.
    pub fn order(&self) -> SortOrder {
        self.order
    }

    /// Sorts rendered Users (stable: equal values keep their relative order).
    pub fn sort(&self, resources: Vec<Value>) -> Vec<Value> {
        let mut keyed: Vec<(Option<Key>, Value)> = resources.into_iter().map(|r| (self.key(&r), r)).collect();
        keyed.sort_by(|(a, _), (b, _)| {
            let ascending = match (a, b) {
                (Some(a), Some(b)) => a.cmp(b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            };
            match self.order {
                SortOrder::Ascending => ascending,
                SortOrder::Descending => ascending.reverse(),
            }
        });
        keyed.into_iter().map(|(_, r)| r).collect()
    }

    /// The value a resource sorts by.
    fn key(&self, resource: &Value) -> Option<Key> {
        let container = match self.path.extension {
            Some(urn) => get(resource, urn)?,
            None => resource,
        };
        let value = match get(container, self.path.attribute)? {
            Value::Array(items) => {
                let primary = items.iter().find(|i| get(i, "primary").and_then(Value::as_bool) == Some(true));
                primary.or_else(|| items.first())?
            }
            single => single,
        };
        let value = match self.sub_attribute {
            Some(sub) => get(value, sub)?,
            None => value,
        };
        Key::of(value, self.target)
    }
}

impl std::fmt::Display for Sort {
    /// The canonical form: the resolved attribute path and the order.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let order = match self.order {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        };
        match (self.path.sub_attribute, self.sub_attribute) {
            // The implied `value` sub-attribute of a multi-valued attribute.
            (None, Some(sub)) => write!(f, "{}.{sub} {order}", self.path),
            _ => write!(f, "{} {order}", self.path),
        }
    }
}

/// A comparable value, computed once per resource.
#[derive(Debug)]
enum Key {
    Text(String),
    Boolean(bool),
    Number(f64),
    Instant(OffsetDateTime),
}

impl Key {
    fn of(value: &Value, def: &AttributeDef) -> Option<Key> {
        match (def.ty, value) {
            (AttrType::Boolean, Value::Bool(b)) => Some(Key::Boolean(*b)),
            (AttrType::Integer | AttrType::Decimal, Value::Number(n)) => n.as_f64().map(Key::Number),
            (AttrType::DateTime, Value::String(s)) => crate::time::parse_datetime(s).map(Key::Instant),
            (_, Value::String(s)) if s.is_empty() => None,
            (_, Value::String(s)) if def.case_exact => Some(Key::Text(s.clone())),
            (_, Value::String(s)) => Some(Key::Text(s.to_lowercase())),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Key::Text(_) => 0,
            Key::Boolean(_) => 1,
            Key::Number(_) => 2,
            Key::Instant(_) => 3,
        }
    }

    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (Key::Boolean(a), Key::Boolean(b)) => a.cmp(b),
            (Key::Number(a), Key::Number(b)) => a.total_cmp(b),
            (Key::Instant(a), Key::Instant(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

/// A member by exact name, else case-insensitively.
fn get<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn users() -> Vec<Value> {
        vec![
            json!({"id": "1", "userName": "carol", "name": {"familyName": "Zeta"}, "active": true,
                   "emails": [{"value": "b@x", "primary": false}, {"value": "z@x", "primary": true}],
                   "meta": {"lastModified": "2024-01-01T00:00:00Z"}}),
            json!({"id": "2", "userName": "Alice", "active": false, "emails": [{"value": "y@x"}],
                   ENTERPRISE_USER_SCHEMA: {"department": "R&D"},
                   "meta": {"lastModified": "2024-01-01T01:00:00+02:00"}}),
            json!({"id": "3", "userName": "bob", "name": {"familyName": "alpha"}, "externalId": "b",
                   ENTERPRISE_USER_SCHEMA: {"department": "Ops"},
                   "meta": {"lastModified": "2023-06-01T00:00:00Z"}}),
            json!({"id": "4", "userName": "dave", "name": {"familyName": ""}, "externalId": "B",
                   "meta": {"lastModified": "2025-01-01T00:00:00Z"}}),
        ]
    }

    fn ids(sort_by: &str, order: Option<&str>) -> Vec<String> {
        let sort = Sort::parse(sort_by, order).unwrap_or_else(|e| panic!("{sort_by}: {}", e.detail));
        sort.sort(users()).iter().map(|u| u["id"].as_str().unwrap().to_string()).collect()
    }

    #[test]
    fn strings_follow_case_exactness() {
        assert_eq!(ids("userName", None), ["2", "3", "1", "4"]);
        assert_eq!(ids("USERNAME", Some("Descending")), ["4", "1", "3", "2"]);
        // externalId is case-exact: "B" < "b"; users without one last.
        assert_eq!(ids("externalId", None), ["4", "3", "1", "2"]);
    }

    #[test]
    fn missing_values_sort_last_ascending_and_first_descending() {
        // An empty string is no value.
        assert_eq!(ids("name.familyName", None), ["3", "1", "2", "4"]);
        assert_eq!(ids("name.familyName", Some("descending")), ["2", "4", "1", "3"]);
        let department = format!("{ENTERPRISE_USER_SCHEMA}:department");
        assert_eq!(ids(&department, Some("ascending")), ["3", "2", "1", "4"]);
    }

    #[test]
    fn typed_values() {
        assert_eq!(ids("meta.lastModified", None), ["3", "2", "1", "4"]);
        assert_eq!(ids("active", None), ["2", "1", "3", "4"]);
        assert_eq!(ids("id", Some("descending")), ["4", "3", "2", "1"]);
    }

    #[test]
    fn multi_valued_attributes_sort_by_the_primary_value() {
        assert_eq!(ids("emails", None), ["2", "1", "3", "4"]);
        assert_eq!(ids("emails.value", Some("descending")), ["3", "4", "1", "2"]);
    }

    #[test]
    fn bad_parameters_are_invalid_value() {
        for (sort_by, order) in [
            ("nonexistent", None),
            ("name", None),
            ("addresses", None),
            ("name.nonexistent", None),
            (r#"emails[type eq "work"]"#, None),
            ("", None),
            ("userName", Some("up")),
            ("userName", Some("")),
        ] {
            let err = Sort::parse(sort_by, order).expect_err(sort_by);
            assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidValue)), "{sort_by} {order:?}");
        }
        assert_eq!(Sort::parse("userName", None).unwrap().order(), SortOrder::Ascending);
    }
}
