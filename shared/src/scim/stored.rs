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
    /// Where `doc` takes the members a read splices in, when the store kept it ([`RenderLayout`]).
    pub layout: Option<RenderLayout>,
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
            layout: record.doc.render_layout(),
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
        .render_laid_out(self.layout, users_url)
    }
}

/// Where a stored document's text takes the members a read splices in (`id` after `schemas`, the manager's
/// `$ref`), found once when the text is written ([`RenderLayout::of`]) and kept beside it: a read then copies the
/// text in two or three pieces instead of splitting it into members again. Byte offsets into the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderLayout {
    /// End of the leading `"schemas":[…]` member: the text starts `{"schemas":`.
    schemas_end: u32,
    /// The manager's reference: `(closing brace of the manager object, start, end of its id)`, the id a JSON
    /// string without escapes.
    manager: Option<(u32, u32, u32)>,
}

/// A stored text cut where a read splices members in.
struct Pieces<'a> {
    /// `{"schemas":[…]`.
    head: &'a str,
    /// The members after `schemas` (each with its leading comma), up to the manager's closing brace, or all of them.
    middle: &'a str,
    /// The manager's id and the rest of the members (from the manager's closing brace, without the object's).
    manager: Option<(&'a str, &'a str)>,
}

impl RenderLayout {
    /// The layout of a document's JSON text as `serde_json` wrote it; `None` for a text the read must split
    /// (`schemas` not first, a top-level `id` or `meta`, a manager whose `$ref` goes through the reference rule).
    pub fn of(text: &str) -> Option<Self> {
        let offset = |piece: &str| u32::try_from(piece.as_ptr() as usize - text.as_ptr() as usize).ok();
        let members = object_members(text)?;
        let (&(first, schemas), rest) = members.split_first()?;
        if first != "schemas" || rest.iter().any(|(key, _)| matches!(*key, "id" | "meta" | "schemas")) {
            return None;
        }
        let schemas_end = offset(schemas)?.checked_add(u32::try_from(schemas.len()).ok()?)?;
        let manager = rest
            .iter()
            .find(|(key, _)| *key == ENTERPRISE_USER_SCHEMA)
            .map(|&(_, extension)| -> Option<Option<(u32, u32, u32)>> {
                let Some(&(_, manager)) = object_members(extension)?.iter().find(|(key, _)| *key == "manager") else {
                    return Some(None);
                };
                let members = object_members(manager)?;
                if members.iter().any(|(key, _)| *key == "$ref") {
                    return None;
                }
                let Some(&(_, value)) = members.iter().find(|(key, _)| *key == "value") else {
                    return Some(None);
                };
                let id = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'))?;
                if id.is_empty() || id.contains('\\') {
                    return None;
                }
                let brace = offset(manager)?.checked_add(u32::try_from(manager.len()).ok()? - 1)?;
                Some(Some((brace, offset(id)?, offset(id)?.checked_add(u32::try_from(id.len()).ok()?)?)))
            })
            .unwrap_or(Some(None))?;
        Some(Self { schemas_end, manager })
    }

    /// The layout as the store keeps it: `schemas_end[,brace,id_start,id_end]`.
    pub fn encode(&self) -> String {
        match self.manager {
            None => self.schemas_end.to_string(),
            Some((brace, start, end)) => format!("{},{brace},{start},{end}", self.schemas_end),
        }
    }

    /// The layout [`RenderLayout::encode`] wrote; `None` for any other text.
    pub fn decode(text: &str) -> Option<Self> {
        let mut numbers = text.split(',').map(|n| n.parse::<u32>().ok());
        let schemas_end = numbers.next()??;
        let manager = match (numbers.next(), numbers.next(), numbers.next(), numbers.next()) {
            (None, None, None, None) => None,
            (Some(brace), Some(start), Some(end), None) => Some((brace?, start?, end?)),
            _ => return None,
        };
        Some(Self { schemas_end, manager })
    }

    /// `text` cut at this layout; `None` when the layout does not fit the text (then the read splits the text).
    fn pieces(self, text: &str) -> Option<Pieces<'_>> {
        let bytes = text.as_bytes();
        let schemas_end = self.schemas_end as usize;
        let last = text.len().checked_sub(1).filter(|&last| bytes[last] == b'}')?;
        if !text.starts_with("{\"schemas\":") || schemas_end > last || !matches!(bytes[schemas_end], b',' | b'}') {
            return None;
        }
        let head = text.get(..schemas_end)?;
        let Some((brace, start, end)) = self.manager else {
            return Some(Pieces { head, middle: text.get(schemas_end..last)?, manager: None });
        };
        let (brace, start, end) = (brace as usize, start as usize, end as usize);
        let fits = schemas_end < start
            && start < end
            && end < brace
            && brace < last
            && bytes[start - 1] == b'"'
            && bytes[end] == b'"'
            && bytes[brace] == b'}';
        let id = text.get(start..end).filter(|id| fits && !id.contains(['"', '\\']))?;
        Some(Pieces { head, middle: text.get(schemas_end..brace)?, manager: Some((id, text.get(brace..last)?)) })
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
    .render_laid_out(record.doc.render_layout(), users_url)
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
    /// [`Parts::render`], from the pieces `layout` cuts the text into when it fits the text.
    fn render_laid_out(&self, layout: Option<RenderLayout>, users_url: &str) -> Option<String> {
        match layout.and_then(|layout| layout.pieces(self.doc)) {
            Some(pieces) => Some(self.render_pieces(pieces, users_url)),
            None => self.render(users_url),
        }
    }

    /// [`Parts::render`] from a text already cut by its [`RenderLayout`]: the same bytes, without a split.
    fn render_pieces(&self, pieces: Pieces<'_>, users_url: &str) -> String {
        let mut text = String::with_capacity(self.doc.len() + users_url.len() * 2 + 256);
        text.push_str(pieces.head);
        text.push_str(",\"id\":");
        let _ = write_string(&mut text, self.id);
        text.push_str(pieces.middle);
        if let Some((id, rest)) = pieces.manager {
            text.push_str(",\"$ref\":\"");
            let _ = Escaped(&mut text).write_str(users_url);
            text.push('/');
            text.push_str(id);
            text.push('"');
            text.push_str(rest);
        }
        text.push(',');
        self.write_meta(&mut text, users_url);
        text.push('}');
        text
    }

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
        out.text.push(',');
        self.write_meta(&mut out.text, users_url);
        Some(out.finish())
    }

    /// Appends `"meta":{…}`.
    fn write_meta(&self, text: &mut String, users_url: &str) {
        text.push_str("\"meta\":{\"resourceType\":\"User\",\"created\":");
        let _ = write_string(text, self.created);
        text.push_str(",\"lastModified\":");
        let _ = write_string(text, self.last_modified);
        text.push_str(",\"location\":\"");
        let _ = Escaped(&mut *text).write_str(users_url);
        text.push('/');
        let _ = Escaped(&mut *text).write_str(self.id);
        // The weak ETag (`etag`) as a JSON string: `"W/\"<version>\""`, its digits written in place.
        let _ = write!(text, "\",\"version\":\"W/\\\"{}\\\"\"}}", self.version);
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

    /// The fast path, split and laid out: both give the same text, or the layout is `None`.
    fn fast(record: &UserRecord) -> Option<String> {
        let mut stored = StoredUser::from_record(record).unwrap();
        assert_eq!(stored.layout, RenderLayout::of(&stored.doc), "the record's layout is its text's");
        stored.layout = None;
        let split = stored.render_from_text(USERS_URL);
        stored.layout = RenderLayout::of(&stored.doc);
        if stored.layout.is_some() {
            assert_eq!(stored.render_from_text(USERS_URL), split, "laid out as split: {}", stored.doc);
        }
        split
    }

    fn laid_out(record: &UserRecord) -> StoredUser {
        let mut stored = StoredUser::from_record(record).unwrap();
        stored.layout = RenderLayout::of(&stored.doc);
        stored
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
        let stored = laid_out(&okta);
        assert!(stored.layout.is_some_and(|layout| layout.manager.is_some()), "Okta's user is laid out");
        assert_eq!(stored.render_from_text(USERS_URL), Some(slow(&okta)));
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
        assert!(user.doc.render_layout().is_some());
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
                let expected = serde_json::to_string(&user.to_scim(users_url)).unwrap();
                let split = StoredUser { layout: None, ..StoredUser::from_record(&user).unwrap() };
                for stored in [split, laid_out(&user)] {
                    assert_eq!(stored.render_from_text(users_url).as_deref(), Some(expected.as_str()), "{manager}");
                }
            }
        }
    }

    #[test]
    fn documents_the_fast_path_does_not_handle_render_the_slow_way() {
        let user = record(json!({"schemas": [crate::scim::schema::USER_SCHEMA], "userName": "eve@example.com"}));
        let mut stored = StoredUser { layout: None, ..StoredUser::from_record(&user).unwrap() };
        stored.doc = r#"{"user\u004eame":"eve@example.com"}"#.into();
        assert_eq!(stored.render_from_text(USERS_URL), None);
        assert!(stored.clone().render(USERS_URL).unwrap().contains("\"userName\":\"eve@example.com\""));
        stored.doc = r#"{"id":"spoofed","userName":"eve@example.com"}"#.into();
        assert_eq!(stored.render_from_text(USERS_URL), None);
        let rendered: Value = serde_json::from_str(&stored.clone().render(USERS_URL).unwrap()).unwrap();
        assert_eq!(rendered["id"], json!(user.id));
    }

    #[test]
    fn a_layout_is_kept_only_for_what_it_can_render() {
        let with_manager = |manager: Value| {
            laid_out(&record(json!({
                "schemas": [crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "bob@example.com",
                ENTERPRISE_USER_SCHEMA: {"department": "R&D", "manager": manager},
            })))
            .layout
        };
        assert!(with_manager(json!({"value": "m-1"})).is_some_and(|l| l.manager.is_some()));
        assert!(with_manager(json!({"displayName": "Ada"})).is_some_and(|l| l.manager.is_none()));
        // The reference rule renders these: no layout, the read splits.
        assert_eq!(with_manager(json!({"value": "m-1", "$ref": "https://elsewhere.example/Users/m-1"})), None);
        assert_eq!(with_manager(json!({"value": "a \"quoted\" id"})), None);
        assert_eq!(with_manager(json!({"value": ""})), None);
        for text in [
            r#"{"userName":"x","schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}"#,
            r#"{"schemas":[],"id":"spoofed"}"#,
            r#"{"schemas":[],"meta":{}}"#,
            r#"{"schemas":[], "userName":"not compact"}"#,
            "[]",
        ] {
            assert_eq!(RenderLayout::of(text), None, "{text}");
        }
    }

    #[test]
    fn layouts_read_back_as_written_and_nothing_else_reads_as_one() {
        for layout in [
            RenderLayout { schemas_end: 61, manager: None },
            RenderLayout { schemas_end: 61, manager: Some((900, 880, 899)) },
        ] {
            assert_eq!(RenderLayout::decode(&layout.encode()), Some(layout));
        }
        for text in ["", ",", "61,", "61,1,2", "61,1,2,3,4", "-1", "61,a,2,3", "4294967296"] {
            assert_eq!(RenderLayout::decode(text), None, "{text}");
        }
    }

    #[test]
    fn a_layout_that_does_not_fit_its_text_is_not_used() {
        let user = |department: &str| {
            record(json!({
                "schemas": [crate::scim::schema::USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
                "userName": "bob@example.com",
                ENTERPRISE_USER_SCHEMA: {"department": department, "manager": {"value": "m-1"}},
            }))
        };
        let (short, long) = (user("R&D"), user("Research and development"));
        let mut stored = StoredUser::from_record(&long).unwrap();
        stored.layout = RenderLayout::of(&StoredUser::from_record(&short).unwrap().doc);
        assert!(stored.layout.is_some_and(|layout| layout.pieces(&stored.doc).is_none()));
        assert_eq!(stored.render_from_text(USERS_URL), Some(slow(&long)));
        // Offsets past the text, or onto bytes that are not where the layout says, are refused too.
        for layout in [
            RenderLayout { schemas_end: 10_000, manager: None },
            RenderLayout { schemas_end: 3, manager: None },
            RenderLayout { schemas_end: stored.layout.unwrap().schemas_end, manager: Some((10_000, 9_000, 9_001)) },
        ] {
            assert!(layout.pieces(&stored.doc).is_none(), "{layout:?}");
        }
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
