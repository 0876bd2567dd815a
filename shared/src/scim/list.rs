//! Listing: query parameters (RFC 7644 §3.4.2, and `cursor` from RFC 9865), the SearchRequest message (§3.4.3)
//! and the ListResponse message.

use super::error::ScimError;
use super::filter::{self, Filter};
use super::projection::Projection;
use super::schema::{LIST_RESPONSE_SCHEMA, SEARCH_REQUEST_SCHEMA};
use super::sort::Sort;
use serde_json::{Value, json};

/// `count` used when the client sends none.
pub const DEFAULT_COUNT: u64 = 100;
/// Largest page served; larger `count`s are reduced to it (RFC 7644 §3.4.2.4).
pub const MAX_COUNT: u64 = 200;

/// How the client pages through the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paging {
    /// Index paging (RFC 7644 §3.4.2.4) from this 1-based `startIndex`: the default when neither `startIndex` nor
    /// `cursor` is sent.
    Index(u64),
    /// Cursor paging (RFC 9865): `None` for the first page (`cursor` empty), else a previous page's `nextCursor`.
    Cursor(Option<String>),
}

/// Parsed query parameters of `GET /Users`, or the members of a SearchRequest.
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    pub filter: Option<Filter>,
    /// `startIndex` or `cursor`.
    pub paging: Paging,
    /// At most [`MAX_COUNT`].
    pub count: u64,
    /// `sortBy` and `sortOrder`.
    pub sort: Option<Sort>,
    /// `attributes` or `excludedAttributes`.
    pub projection: Option<Projection>,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery { filter: None, paging: Paging::Index(1), count: DEFAULT_COUNT, sort: None, projection: None }
    }
}

impl ListQuery {
    /// Parses the query parameters (already percent-decoded name/value pairs; names case-insensitive).
    pub fn parse<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)> + Clone) -> Result<Self, ScimError> {
        let mut query = ListQuery::default();
        let mut sort_by = None;
        let mut sort_order = None;
        let mut start_index = None;
        let mut cursor = None;
        for (name, value) in params.clone() {
            if name.eq_ignore_ascii_case("filter") {
                query.filter = Some(filter::parse(value)?);
            } else if name.eq_ignore_ascii_case("startIndex") {
                // RFC 7644 §3.4.2.4: values less than 1 are interpreted as 1.
                let n = parse_integer(name, value)?;
                start_index = Some(u64::try_from(n.max(1)).unwrap_or(1));
            } else if name.eq_ignore_ascii_case("cursor") {
                cursor = Some(value);
            } else if name.eq_ignore_ascii_case("count") {
                // Negative values are interpreted as 0.
                let n = parse_integer(name, value)?;
                query.count = u64::try_from(n.max(0)).unwrap_or(0).min(MAX_COUNT);
            } else if name.eq_ignore_ascii_case("sortBy") {
                sort_by = Some(value);
            } else if name.eq_ignore_ascii_case("sortOrder") {
                sort_order = Some(value);
            }
            // Other parameters are ignored, as HTTP intermediaries may add their own.
        }
        query.paging = match (start_index, cursor) {
            // RFC 9865 has a client pick one method per query, and defines no error code for asking for both.
            (Some(_), Some(_)) => {
                return Err(ScimError::invalid_value(
                    "\"startIndex\" and \"cursor\" select different pagination methods; send one of them.",
                ));
            }
            (_, Some("")) => Paging::Cursor(None),
            (_, Some(token)) => Paging::Cursor(Some(token.to_string())),
            (start_index, None) => Paging::Index(start_index.unwrap_or(1)),
        };
        match (sort_by, sort_order) {
            (Some(sort_by), order) => query.sort = Some(Sort::parse(sort_by, order)?),
            // Without sortBy there is nothing to order, but a malformed sortOrder is still reported.
            (None, Some(order)) => {
                super::sort::SortOrder::parse(order)?;
            }
            (None, None) => {}
        }
        query.projection = Projection::from_query(params)?;
        Ok(query)
    }

    /// Parses a SearchRequest message (the body of `POST /Users/.search`), with the same semantics as the query
    /// parameters of `GET /Users`. Member names are case-insensitive; `attributes` and `excludedAttributes` are
    /// arrays of paths (a comma-separated string is accepted too); unknown members are ignored.
    pub fn from_search_request(body: Value) -> Result<Self, ScimError> {
        let Value::Object(members) = body else {
            return Err(ScimError::invalid_syntax("The request body must be a JSON object."));
        };
        let has_schema = members
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
            .and_then(|(_, v)| v.as_array())
            .is_some_and(|s| {
                s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA)))
            });
        if !has_schema {
            return Err(ScimError::invalid_syntax(format!("\"schemas\" must be [\"{SEARCH_REQUEST_SCHEMA}\"].")));
        }
        let mut params: Vec<(String, String)> = Vec::with_capacity(members.len());
        for (name, value) in &members {
            let kind = SEARCH_MEMBERS.iter().find(|(member, _)| member.eq_ignore_ascii_case(name)).map(|(_, k)| *k);
            let Some(kind) = kind else { continue };
            let text = match (kind, value) {
                (_, Value::Null) => continue,
                (Member::Text, Value::String(s)) => s.clone(),
                (Member::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => n.to_string(),
                (Member::Paths, Value::String(s)) => s.clone(),
                (Member::Paths, Value::Array(items)) => {
                    let mut paths = Vec::with_capacity(items.len());
                    for item in items {
                        let Value::String(path) = item else {
                            return Err(ScimError::invalid_syntax(format!("\"{name}\" must be an array of strings.")));
                        };
                        paths.push(path.as_str());
                    }
                    paths.join(",")
                }
                (Member::Text, _) => return Err(ScimError::invalid_syntax(format!("\"{name}\" must be a string."))),
                (Member::Integer, _) => {
                    return Err(ScimError::invalid_syntax(format!("\"{name}\" must be an integer.")));
                }
                (Member::Paths, _) => {
                    return Err(ScimError::invalid_syntax(format!("\"{name}\" must be an array of strings.")));
                }
            };
            params.push((name.clone(), text));
        }
        Self::parse(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// The JSON type of a SearchRequest member.
#[derive(Clone, Copy)]
enum Member {
    Text,
    Integer,
    Paths,
}

/// The members of a SearchRequest (RFC 7644 §3.4.3, and `cursor` from RFC 9865 §3) and their types.
const SEARCH_MEMBERS: [(&str, Member); 8] = [
    ("attributes", Member::Paths),
    ("excludedAttributes", Member::Paths),
    ("filter", Member::Text),
    ("sortBy", Member::Text),
    ("sortOrder", Member::Text),
    ("startIndex", Member::Integer),
    ("count", Member::Integer),
    ("cursor", Member::Text),
];

fn parse_integer(name: &str, value: &str) -> Result<i64, ScimError> {
    value.trim().parse::<i64>().map_err(|_| ScimError::invalid_value(format!("\"{name}\" must be an integer.")))
}

/// A ListResponse message of index paging.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// [`list_response`] of at most one resource already rendered as JSON text, as text: the same bytes as
/// serialising `list_response(total, start_index, resources)`.
pub fn list_response_text(total: u64, start_index: u64, resource: Option<&str>) -> String {
    use std::fmt::Write as _;
    let shown = usize::from(resource.is_some());
    let resource = resource.unwrap_or_default();
    // Sized for the resource at once: `format!` sizes its buffer for the literal text only, and grew it several
    // times to take a user's 1.7 KB.
    let mut text = String::with_capacity(LIST_RESPONSE_SCHEMA.len() + resource.len() + 128);
    let _ = write!(
        text,
        "{{\"schemas\":[\"{LIST_RESPONSE_SCHEMA}\"],\"totalResults\":{total},\"startIndex\":{start_index},\
         \"itemsPerPage\":{shown},\"Resources\":[{resource}]}}"
    );
    text
}

/// A ListResponse message of cursor paging (RFC 9865 §2): `nextCursor` unless this is the last page, no
/// `startIndex`.
pub fn cursor_list_response(total: u64, resources: Vec<Value>, next_cursor: Option<String>) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE_SCHEMA],
        "totalResults": total,
        "itemsPerPage": resources.len(),
    });
    if let (Some(next), Some(members)) = (next_cursor, body.as_object_mut()) {
        members.insert("nextCursor".into(), Value::String(next));
    }
    if let Some(members) = body.as_object_mut() {
        members.insert("Resources".into(), Value::Array(resources));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;

    #[test]
    fn okta_test_credentials_query() {
        let q = ListQuery::parse([("startIndex", "1"), ("count", "2")]).unwrap();
        assert_eq!(q, ListQuery { count: 2, ..ListQuery::default() });
    }

    #[test]
    fn bounds_are_clamped() {
        let q = ListQuery::parse([("startIndex", "-5"), ("count", "100000")]).unwrap();
        assert_eq!((q.paging, q.count), (Paging::Index(1), MAX_COUNT));
        let q = ListQuery::parse([("count", "-1")]).unwrap();
        assert_eq!(q.count, 0);
    }

    #[test]
    fn bad_values_are_400() {
        assert_eq!(ListQuery::parse([("count", "ten")]).unwrap_err().status, 400);
        assert_eq!(ListQuery::parse([("filter", "title xx \"x\"")]).unwrap_err().status, 400);
        for params in [
            vec![("sortBy", "nonexistent")],
            vec![("sortBy", "userName"), ("sortOrder", "sideways")],
            vec![("sortOrder", "sideways")],
            vec![("attributes", "emails[type eq \"work\"]")],
            vec![("attributes", "userName"), ("excludedAttributes", "emails")],
        ] {
            let err = ListQuery::parse(params.clone()).unwrap_err();
            assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidValue)), "{params:?}");
        }
    }

    #[test]
    fn cursor_parameters() {
        assert_eq!(ListQuery::parse([("cursor", "")]).unwrap().paging, Paging::Cursor(None));
        let q = ListQuery::parse([("Cursor", "abc-_"), ("count", "7")]).unwrap();
        assert_eq!((q.paging, q.count), (Paging::Cursor(Some("abc-_".into())), 7));
        assert_eq!(ListQuery::parse([("count", "3")]).unwrap().paging, Paging::Index(1));
        for params in [vec![("cursor", ""), ("startIndex", "1")], vec![("startIndex", "5"), ("cursor", "abc")]] {
            let err = ListQuery::parse(params.clone()).unwrap_err();
            assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidValue)), "{params:?}");
        }
        let search = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "cursor": "", "count": 2});
        assert_eq!(ListQuery::from_search_request(search).unwrap().paging, Paging::Cursor(None));
        let both = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "cursor": "abc", "startIndex": 2});
        assert_eq!(ListQuery::from_search_request(both).unwrap_err().scim_type, Some(ScimType::InvalidValue));
        let number = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "cursor": 5});
        assert_eq!(ListQuery::from_search_request(number).unwrap_err().scim_type, Some(ScimType::InvalidSyntax));
    }

    #[test]
    fn sort_and_projection_parameters() {
        let q =
            ListQuery::parse([("SORTBY", "name.familyName"), ("sortorder", "descending"), ("attributes", "userName")])
                .unwrap();
        assert_eq!(q.sort, Some(Sort::parse("name.familyName", Some("descending")).unwrap()));
        assert_eq!(q.projection, Projection::parse(Some("userName"), None).unwrap());
        let q = ListQuery::parse([("excludedAttributes", "emails")]).unwrap();
        assert_eq!(q.projection.map(|p| p.mode()), Some(super::super::projection::Mode::Exclude));
    }

    #[test]
    fn search_request_has_the_semantics_of_the_query() {
        let body = json!({
            "schemas": [SEARCH_REQUEST_SCHEMA],
            "attributes": ["userName", "name.familyName"],
            "filter": "title pr",
            "sortBy": "userName",
            "sortOrder": "descending",
            "startIndex": 3,
            "count": 7,
            "unknownMember": true
        });
        let expected = ListQuery::parse([
            ("attributes", "userName,name.familyName"),
            ("filter", "title pr"),
            ("sortBy", "userName"),
            ("sortOrder", "descending"),
            ("startIndex", "3"),
            ("count", "7"),
        ])
        .unwrap();
        assert_eq!(ListQuery::from_search_request(body).unwrap(), expected);
        let minimal = json!({"SCHEMAS": [SEARCH_REQUEST_SCHEMA.to_uppercase()], "filter": null});
        assert_eq!(ListQuery::from_search_request(minimal).unwrap(), ListQuery::default());
        let excluded = json!({"schemas": [SEARCH_REQUEST_SCHEMA], "excludedAttributes": "emails,title"});
        assert_eq!(
            ListQuery::from_search_request(excluded).unwrap().projection,
            Projection::parse(None, Some("emails,title")).unwrap()
        );
    }

    #[test]
    fn malformed_search_requests() {
        let cases = [
            (json!([]), ScimType::InvalidSyntax),
            (json!({"filter": "title pr"}), ScimType::InvalidSyntax),
            (json!({"schemas": "x"}), ScimType::InvalidSyntax),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "count": "ten"}), ScimType::InvalidSyntax),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "count": 1.5}), ScimType::InvalidSyntax),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "filter": 5}), ScimType::InvalidSyntax),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "attributes": [5]}), ScimType::InvalidSyntax),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "attributes": {"a": 1}}), ScimType::InvalidSyntax),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "filter": "title xx"}), ScimType::InvalidFilter),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "sortBy": "nonexistent"}), ScimType::InvalidValue),
            (json!({"schemas": [SEARCH_REQUEST_SCHEMA], "sortOrder": "up", "sortBy": "id"}), ScimType::InvalidValue),
            (
                json!({"schemas": [SEARCH_REQUEST_SCHEMA], "attributes": ["id"], "excludedAttributes": ["title"]}),
                ScimType::InvalidValue,
            ),
        ];
        for (body, scim_type) in cases {
            let err = ListQuery::from_search_request(body.clone()).unwrap_err();
            assert_eq!((err.status, err.scim_type), (400, Some(scim_type)), "{body}");
        }
    }

    #[test]
    fn list_response_text_is_the_serialised_list_response() {
        let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "a", "userName": "x\"y"});
        let text = serde_json::to_string(&user).unwrap();
        for (total, start, resource) in [(1, 1, Some(text.as_str())), (1, 2, None), (0, 1, None), (1, 1, None)] {
            let resources: Vec<Value> = resource.map(|r| serde_json::from_str(r).unwrap()).into_iter().collect();
            let expected = serde_json::to_string(&list_response(total, start, resources)).unwrap();
            assert_eq!(list_response_text(total, start, resource), expected);
        }
    }

    #[test]
    fn list_response_shape() {
        let body = list_response(3, 1, vec![json!({"id": "a"})]);
        assert_eq!(body["totalResults"], 3);
        assert_eq!(body["itemsPerPage"], 1);
        assert_eq!(body["Resources"][0]["id"], "a");

        let page = cursor_list_response(3, vec![json!({"id": "a"})], Some("next".into()));
        assert_eq!((page["nextCursor"].clone(), page.get("startIndex")), (json!("next"), None));
        assert_eq!((page["totalResults"].clone(), page["itemsPerPage"].clone()), (json!(3), json!(1)));
        assert!(cursor_list_response(3, vec![], None).get("nextCursor").is_none());
    }
}
