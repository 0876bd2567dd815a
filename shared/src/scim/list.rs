//! Listing: query parameters (RFC 7644 §3.4.2) and the ListResponse message.

use super::error::ScimError;
use super::filter::{self, Filter};
use super::schema::LIST_RESPONSE_SCHEMA;
use serde_json::{Value, json};

/// `count` used when the client sends none.
pub const DEFAULT_COUNT: u64 = 100;
/// Largest page served; larger `count`s are reduced to it (RFC 7644 §3.4.2.4).
pub const MAX_COUNT: u64 = 200;

/// Parsed query parameters of `GET /Users`.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// 1-based.
    pub start_index: u64,
    pub count: u64,
}

impl ListQuery {
    /// Parses the query parameters (already percent-decoded name/value pairs).
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ScimError> {
        let mut query = ListQuery { filter: None, start_index: 1, count: DEFAULT_COUNT };
        for (name, value) in params {
            if name.eq_ignore_ascii_case("filter") {
                query.filter = Some(filter::parse(value)?);
            } else if name.eq_ignore_ascii_case("startIndex") {
                // RFC 7644 §3.4.2.4: values less than 1 are interpreted as 1.
                let n = parse_integer(name, value)?;
                query.start_index = u64::try_from(n.max(1)).unwrap_or(1);
            } else if name.eq_ignore_ascii_case("count") {
                // Negative values are interpreted as 0.
                let n = parse_integer(name, value)?;
                query.count = u64::try_from(n.max(0)).unwrap_or(0).min(MAX_COUNT);
            } else if ["sortBy", "sortOrder", "attributes", "excludedAttributes", "cursor"]
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
            {
                return Err(ScimError::invalid_value(format!("The \"{name}\" parameter is not supported.")));
            }
            // Other parameters are ignored, as HTTP intermediaries may add their own.
        }
        Ok(query)
    }
}

fn parse_integer(name: &str, value: &str) -> Result<i64, ScimError> {
    value.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("\"{name}\" must be an integer.")))
}

/// A ListResponse message.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn okta_test_credentials_query() {
        let q = ListQuery::parse([("startIndex", "1"), ("count", "2")]).unwrap();
        assert_eq!(q, ListQuery { filter: None, start_index: 1, count: 2 });
    }

    #[test]
    fn bounds_are_clamped() {
        let q = ListQuery::parse([("startIndex", "-5"), ("count", "100000")]).unwrap();
        assert_eq!((q.start_index, q.count), (1, MAX_COUNT));
        let q = ListQuery::parse([("count", "-1")]).unwrap();
        assert_eq!(q.count, 0);
    }

    #[test]
    fn bad_values_are_400() {
        assert_eq!(ListQuery::parse([("count", "ten")]).unwrap_err().status, 400);
        assert_eq!(ListQuery::parse([("filter", "title xx \"x\"")]).unwrap_err().status, 400);
        assert_eq!(ListQuery::parse([("sortBy", "userName")]).unwrap_err().status, 400);
    }

    #[test]
    fn list_response_shape() {
        let body = list_response(3, 1, vec![json!({"id": "a"})]);
        assert_eq!(body["totalResults"], 3);
        assert_eq!(body["itemsPerPage"], 1);
        assert_eq!(body["Resources"][0]["id"], "a");
    }
}
