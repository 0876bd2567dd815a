//! A user as the store keeps it, its document still JSON text, and its SCIM representation rendered from that text.
//!
//! A read that returns a user unchanged (a GET without `attributes`, a `userName eq` filter) needs no `Value` maps:
//! the stored members are copied as they are, with `id`, `meta` and the manager's `$ref` spliced in. The result is
//! byte for byte what serialising [`UserRecord::into_scim`] gives (the tests compare the two on generated users);
//! a document this does not recognise (a member it would have to move or escape) is rendered the slow way.

use super::manager::render_reference;
use super::schema::ENTERPRISE_USER_SCHEMA;
use super::user::{UserRecord, etag};
use crate::json_text::{Escaped, object_members, write_string};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// A user record whose document is the stored JSON text of its attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUser {
    /// Server-assigned id.
    pub id: String,
    /// Incremented on every write.
    pub version: u64,
    /// RFC 3339 creation time.
    pub created: String,
    /// RFC 3339 time of the last write.
    pub last_modified: String,
    /// The attributes as stored: a JSON object, as `serde_json` wrote it.
    pub doc: String,
}

impl StoredUser {
    /// The stored form of a record.
    pub fn from_record(record: &UserRecord) -> Result<Self, serde_json::Error> {
        Ok(Self {
            id: record.id.clone(),
            version: record.version,
            created: record.created.clone(),
            last_modified: record.last_modified.clone(),
            doc: record.doc.json_text()?.to_owned(),
        })
    }

    /// The record, its document parsed.
    pub fn into_record(self) -> Result<UserRecord, serde_json::Error> {
        let attributes: Map<String, Value> = serde_json::from_str(&self.doc)?;
        Ok(UserRecord {
            id: self.id,
            version: self.version,
            created: self.created,
            last_modified: self.last_modified,
            doc: super::user::UserDoc::from_stored(attributes),
        })
    }

    /// The weak ETag of this version.
    pub fn etag(&self) -> String {
        etag(self.version)
    }

    /// The SCIM representation as JSON text: what `serde_json::to_string(&record.into_scim(users_url))` gives.
    pub fn render(self, users_url: &str) -> Result<String, serde_json::Error> {
        match self.render_from_text(users_url) {
            Some(text) => Ok(text),
            None => serde_json::to_string(&self.into_record()?.into_scim(users_url)),
        }
    }

    /// The fast path of [`StoredUser::render`]: `None` for a document it does not handle.
    fn render_from_text(&self, users_url: &str) -> Option<String> {
        Parts {
            id: &self.id,
            version: self.version,
            created: &self.created,
            last_modified: &self.last_modified,
            doc: &self.doc,
        }
        .render(users_url)
    }
}

/// A record's SCIM representation rendered from its document's JSON text, as a read renders a stored user (the
/// text is the one the store was given: [`super::user::UserDoc::json_text`]). `None` for a document the fast path
/// does not handle; the caller then renders the record through a `Value`.
pub fn render_record(record: &UserRecord, users_url: &str) -> Option<String> {
    Parts {
        id: &record.id,
        version: record.version,
        created: &record.created,
        last_modified: &record.last_modified,
        doc: record.doc.json_text().ok()?,
    }
    .render(users_url)
}

/// A user's stored fields, borrowed.
struct Parts<'a> {
    id: &'a str,
    version: u64,
    created: &'a str,
    last_modified: &'a str,
    doc: &'a str,
}

impl Parts<'_> {
    /// What `serde_json::to_string(&record.into_scim(users_url))` gives, without a `Value`; `None` for a document
    /// this does not handle (a member it would have to move or escape).
    fn render(&self, users_url: &str) -> Option<String> {
        let members = object_members(self.doc)?;
        if members.iter().any(|(key, _)| matches!(*key, "id" | "meta")) {
            return None;
        }
        let mut out = Object::with_capacity(self.doc.len() + users_url.len() * 2 + 256);
        if let Some((_, schemas)) = members.iter().find(|(key, _)| *key == "schemas") {
            out.member("schemas", schemas);
        }
        out.string_member("id", self.id);
        for &(key, value) in members.iter().filter(|(key, _)| *key != "schemas") {
            if key == ENTERPRISE_USER_SCHEMA {
                out.key(key);
                render_extension(&mut out.text, value, users_url)?;
            } else {
                out.member(key, value);
            }
        }
        out.key("meta");
        let text = &mut out.text;
        text.push_str("{\"resourceType\":\"User\",\"created\":");
        let _ = write_string(text, self.created);
        text.push_str(",\"lastModified\":");
        let _ = write_string(text, self.last_modified);
        text.push_str(",\"location\":\"");
        let _ = Escaped(&mut *text).write_str(users_url);
        text.push('/');
        let _ = Escaped(&mut *text).write_str(self.id);
        text.push_str("\",\"version\":");
        let _ = write_string(text, &etag(self.version));
        text.push('}');
        Some(out.finish())
    }
}

/// Appends the enterprise extension's text with the manager's `$ref` rendered.
fn render_extension(out: &mut String, text: &str, users_url: &str) -> Option<()> {
    let members = object_members(text)?;
    out.push('{');
    for (n, &(key, value)) in members.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(key);
        out.push_str("\":");
        if key == "manager" {
            render_manager(out, value, users_url)?;
        } else {
            out.push_str(value);
        }
    }
    out.push('}');
    Some(())
}

/// Appends the manager's text with its `$ref` (the rule of [`render_reference`]). A manager that carries a
/// `$ref`, or whose `value` is not a plain string, goes through that rule itself.
fn render_manager(out: &mut String, text: &str, users_url: &str) -> Option<()> {
    let members = object_members(text)?;
    if members.iter().any(|(key, _)| *key == "$ref") {
        return render_manager_as_value(out, text, users_url);
    }
    let value = members.iter().find(|(key, _)| *key == "value").map(|&(_, value)| value);
    match value {
        // No `value`: no `$ref` to add (and none to remove).
        None => out.push_str(text),
        Some(value) => {
            let Some(id) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
                return render_manager_as_value(out, text, users_url);
            };
            if id.is_empty() || id.contains('\\') {
                return render_manager_as_value(out, text, users_url);
            }
            // The object without its closing brace, then the reference: an unescaped JSON string's text is
            // the string itself.
            out.push_str(text.strip_suffix('}')?);
            out.push_str(",\"$ref\":\"");
            let _ = Escaped(&mut *out).write_str(users_url);
            out.push('/');
            out.push_str(id);
            out.push_str("\"}");
        }
    }
    Some(())
}

/// The manager rendered through [`render_reference`], on its parsed value.
fn render_manager_as_value(out: &mut String, text: &str, users_url: &str) -> Option<()> {
    let manager: Value = serde_json::from_str(text).ok()?;
    let extension = Map::from_iter([("manager".to_string(), manager)]);
    let mut attributes = Map::from_iter([(ENTERPRISE_USER_SCHEMA.to_string(), Value::Object(extension))]);
    render_reference(&mut attributes, users_url);
    out.push_str(&serde_json::to_string(attributes.get(ENTERPRISE_USER_SCHEMA)?.get("manager")?).ok()?);
    Some(())
}

/// A JSON object written member by member.
struct Object {
    text: String,
}

impl Object {
    fn with_capacity(capacity: usize) -> Self {
        let mut text = String::with_capacity(capacity);
        text.push('{');
        Self { text }
    }

    /// Appends `"key":value`; `key` needs no escaping (it was read from JSON without escapes) and `value` is JSON.
    fn member(&mut self, key: &str, value: &str) {
        self.key(key);
        self.text.push_str(value);
    }

    /// Appends `"key":"value"`, `value` escaped as `serde_json` escapes it.
    fn string_member(&mut self, key: &str, value: &str) {
        self.key(key);
        // Writing into a `String` cannot fail.
        let _ = write_string(&mut self.text, value);
    }

    fn key(&mut self, key: &str) {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        self.text.push('"');
        self.text.push_str(key);
        self.text.push_str("\":");
    }

    fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::user::UserDoc;
    use proptest::prelude::*;
    use serde_json::json;

    const USERS_URL: &str = "https://directory.example/scim/v2/Users";

    fn record(body: Value) -> UserRecord {
        UserRecord::new(UserDoc::from_request(body).unwrap())
    }

    fn slow(record: &UserRecord) -> String {
        serde_json::to_string(&record.to_scim(USERS_URL)).unwrap()
    }

    fn fast(record: &UserRecord) -> Option<String> {
        StoredUser::from_record(record).unwrap().render_from_text(USERS_URL)
    }

    #[test]
    fn an_okta_user_renders_as_the_record_does() {
        let mut body = Map::new();
        body.insert("schemas".into(), json!([crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
        for (n, attribute) in crate::okta::OKTA_ATTRIBUTES.iter().enumerate() {
            attribute.write(&mut body, &format!("value {n} of {}", attribute.variable));
        }
        body.insert("userName".into(), json!("ada@example.com"));
        if let Some(manager) = body.get_mut(ENTERPRISE_USER_SCHEMA).and_then(|e| e.get_mut("manager")) {
            *manager = json!({"value": "m-7"});
        }
        let okta = record(Value::Object(body));
        assert_eq!(fast(&okta).as_deref(), Some(slow(&okta).as_str()));
        let reparsed: Value = serde_json::from_str(&fast(&okta).unwrap()).unwrap();
        assert_eq!(reparsed, okta.to_scim(USERS_URL));
    }

    #[test]
    fn a_written_record_renders_from_its_text_as_through_a_value() {
        let user = record(json!({
            "schemas": [crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "bob@example.com",
            "name": {"givenName": "Bob \"B\" \u{e9}"},
            ENTERPRISE_USER_SCHEMA: {"manager": {"displayName": "Ada", "value": "m-1"}},
        }));
        assert_eq!(render_record(&user, USERS_URL), Some(slow(&user)));
    }

    #[test]
    fn the_manager_gets_its_reference_and_schemas_come_first() {
        let user = record(json!({
            "userName": "bob@example.com",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m-1"}, "department": "R&D \"ops\""},
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "name": {"givenName": "Bob \u{e9}\u{301} \\ \n"},
        }));
        let text = fast(&user).unwrap();
        assert_eq!(text, slow(&user));
        assert!(text.starts_with("{\"schemas\":"), "{text}");
        assert!(text.contains(&format!("\"$ref\":\"{USERS_URL}/m-1\"")), "{text}");
    }

    #[test]
    fn every_form_of_manager_renders_as_the_record_does() {
        let managers = [
            json!({}),
            json!({"displayName": "Ada"}),
            json!({"value": "m-1"}),
            json!({"displayName": "Ada", "value": "m-1"}),
            json!({"value": "m-1", "displayName": "Ada"}),
            json!({"value": ""}),
            json!({"value": "a \"quoted\" \\ id"}),
            json!({"value": "caf\u{e9} \u{2028}"}),
            json!({"value": "m-1", "$ref": "https://directory.example/scim/v2/Users/m-1"}),
            json!({"value": "x-9", "$ref": "https://elsewhere.example/Users/x-9"}),
            json!({"$ref": "https://directory.example/scim/v2/Users/m-1"}),
        ];
        for manager in managers {
            let user = record(json!({
                "schemas": [crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "bob@example.com",
                ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": manager},
            }));
            for users_url in [USERS_URL, "http://127.0.0.1:8080/scim/v2/Users", "https://a\"b\\c.example/Users"] {
                let stored = StoredUser::from_record(&user).unwrap();
                let expected = serde_json::to_string(&user.to_scim(users_url)).unwrap();
                assert_eq!(stored.render_from_text(users_url).as_deref(), Some(expected.as_str()), "{manager}");
            }
        }
    }

    #[test]
    fn documents_the_fast_path_does_not_handle_render_the_slow_way() {
        let user = record(json!({"schemas": [crate::scim::schema::USER_SCHEMA], "userName": "eve@example.com"}));
        let mut stored = StoredUser::from_record(&user).unwrap();
        stored.doc = r#"{"user\u004eame":"eve@example.com"}"#.into();
        assert_eq!(stored.render_from_text(USERS_URL), None);
        assert!(stored.clone().render(USERS_URL).unwrap().contains("\"userName\":\"eve@example.com\""));
        stored.doc = r#"{"id":"spoofed","userName":"eve@example.com"}"#.into();
        assert_eq!(stored.render_from_text(USERS_URL), None);
        let rendered: Value = serde_json::from_str(&stored.clone().render(USERS_URL).unwrap()).unwrap();
        assert_eq!(rendered["id"], json!(user.id));
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z0-9 .@_-]{1,12}",
            any::<String>().prop_filter("a valid string", |s| fd_input::check_string("title", s, false).is_ok()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Whatever the attributes and their order, the fast path renders exactly what the record renders.
        #[test]
        fn renders_exactly_as_the_record(
            given in text(), family in text(), title in text(), manager in proptest::option::of("[a-f0-9-]{1,36}"),
            schemas_first in any::<bool>(), active in any::<bool>(), emails in 0usize..3,
            manager_first in any::<bool>(), manager_name in proptest::option::of(text()),
        ) {
            let mut body = Map::new();
            let schemas = json!(["urn:ietf:params:scim:schemas:core:2.0:User",
                                 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]);
            if schemas_first { body.insert("schemas".into(), schemas.clone()); }
            body.insert("userName".into(), json!("user@example.com"));
            body.insert("name".into(), json!({"givenName": given, "familyName": family}));
            body.insert("title".into(), json!(title));
            body.insert("active".into(), json!(active));
            let list: Vec<Value> = (0..emails).map(|i| json!({"value": format!("e{i}@example.com"), "type": "work"})).collect();
            if !list.is_empty() { body.insert("emails".into(), Value::Array(list)); }
            let mut enterprise = Map::new();
            let mut manager = manager.map(|value| json!({"value": value}));
            if let (Some(manager), Some(name)) = (manager.as_mut(), manager_name) { manager["displayName"] = json!(name); }
            if manager_first { if let Some(m) = manager.take() { enterprise.insert("manager".into(), m); } }
            enterprise.insert("department".into(), json!(title));
            if let Some(m) = manager { enterprise.insert("manager".into(), m); }
            body.insert(ENTERPRISE_USER_SCHEMA.into(), Value::Object(enterprise));
            if !schemas_first { body.insert("schemas".into(), schemas); }
            let doc = UserDoc::from_request(Value::Object(body));
            prop_assume!(doc.is_ok());
            let user = UserRecord::new(doc.unwrap());
            prop_assert_eq!(fast(&user), Some(slow(&user)));
        }
    }
}
