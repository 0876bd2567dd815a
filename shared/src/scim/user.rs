//! The User resource: validation of what a client sends, and the stored record.
//!
//! A [`UserDoc`] is a client-supplied User that passed schema validation: attribute names canonicalised, types
//! checked, read-only and write-only attributes (`id`, `meta`, `groups`, `password`) removed, `null`s dropped.
//! Attributes the schemas do not define are kept as sent.

use super::error::ScimError;
use super::schema::{AttrType, AttributeDef, Mutability, SchemaDef, USER, USER_SCHEMA, user_attribute, user_extension};
use super::stored::RenderLayout;
use serde_json::{Map, Value};

/// Upper bound on the length of any single string value, in bytes.
pub const MAX_STRING_BYTES: usize = 4096;
/// Upper bound on the number of entries of a multi-valued attribute.
pub const MAX_MULTI_VALUES: usize = 100;

/// A validated User as the client asserted it (no `id`, `meta`, `password` or read-only attributes).
#[derive(Debug, Clone)]
pub struct UserDoc {
    attributes: Map<String, Value>,
    /// The attributes as JSON text, written once for the store and the response alike ([`UserDoc::json_text`]).
    text: std::sync::OnceLock<String>,
    /// Where that text takes the members a read splices in, found once ([`UserDoc::render_layout`]).
    layout: std::sync::OnceLock<Option<RenderLayout>>,
}

impl PartialEq for UserDoc {
    fn eq(&self, other: &Self) -> bool {
        self.attributes == other.attributes
    }
}

impl UserDoc {
    /// Validates a client's User document (POST and PUT): [`UserDoc::from_request`], and every URN in `schemas`
    /// must name a schema this server has (the core User and the Enterprise User extension), so that nothing a
    /// client sends under a schema is silently dropped.
    pub fn from_client(body: Value) -> Result<Self, ScimError> {
        if let Some(items) = body.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas"))) {
            for urn in items.1.as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !urn.eq_ignore_ascii_case(USER_SCHEMA) && user_extension(urn).is_none() {
                    return Err(ScimError::invalid_value(format!(
                        "\"schemas\" lists {urn}, a schema this server does not have (see /Schemas); nothing was stored."
                    )));
                }
            }
        }
        Self::from_request(body)
    }

    /// Validates a request body as a full User representation (POST and PUT).
    ///
    /// The body's maps are checked and canonicalised in place: a member keeps its entry (and its name's hash)
    /// unless the schema spells its name differently or it is unassigned, so a document as Okta sends it is
    /// validated without being rebuilt.
    pub fn from_request(body: Value) -> Result<Self, ScimError> {
        let Value::Object(mut doc) = body else {
            return Err(ScimError::invalid_syntax("The request body must be a JSON object."));
        };
        let declared = declared_schemas(&doc)?;
        let mut seen_extensions = Vec::new();
        let mut renames = Renames::default();
        for (index, (key, value)) in doc.iter_mut().enumerate() {
            if key.eq_ignore_ascii_case("schemas") {
                // Rebuilt below from what the document holds.
                *value = Value::Null;
                continue;
            }
            if let Some(ext) = user_extension(key) {
                if !declared.iter().any(|d| d.eq_ignore_ascii_case(ext.id)) {
                    return Err(ScimError::invalid_value(format!(
                        "Attributes of {} are present but the schema is not listed in \"schemas\".",
                        ext.id
                    )));
                }
                validate_extension(ext, value)?;
                if !value.is_null() {
                    renames.note(index, key, ext.id);
                    seen_extensions.push(ext.id);
                }
                continue;
            }
            if key.starts_with("urn:") && !declared.iter().any(|d| d.eq_ignore_ascii_case(key)) {
                return Err(ScimError::invalid_value(format!(
                    "Attribute {key} names a schema that is not listed in \"schemas\"."
                )));
            }
            if let Some(def) = user_attribute(key) {
                check_value(def, value, def.name)?;
                if def.mutability == Mutability::ReadOnly || def.mutability == Mutability::WriteOnly {
                    // RFC 7643 §7: read-only values sent by a client are ignored; the write-only password is
                    // accepted but never stored (sign-in goes through the identity provider).
                    *value = Value::Null;
                }
                renames.note(index, key, def.name);
            }
        }
        check_unique_names(&doc)?;
        renames.apply(&mut doc);
        // `schemas`: the core User schema first, then every extension actually present, then other declared URNs
        // (custom extensions kept as sent).
        let mut schemas = vec![Value::String(USER_SCHEMA.into())];
        for ext in seen_extensions {
            schemas.push(Value::String(ext.into()));
        }
        for urn in &declared {
            let known = urn.eq_ignore_ascii_case(USER_SCHEMA) || user_extension(urn).is_some();
            // Listed in another letter case than its attribute: the attribute's spelling is the one kept, so the
            // document validates again as it is stored.
            let key = doc.keys().find(|k| k.eq_ignore_ascii_case(urn)).cloned();
            if let Some(key) = key.filter(|_| !known) {
                if !schemas.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&key))) {
                    schemas.push(Value::String(key));
                }
            }
        }
        doc.shift_insert(0, "schemas".into(), Value::Array(schemas));
        derive_display_name(&mut doc);
        super::manager::drop_client_reference(&mut doc);
        let user = UserDoc::of(doc);
        user.check_required()?;
        // One rule for who a userName is (RFC 8265 IdentifierClass, no mapping): see fd_input::identity.
        fd_input::check_user_name(user.user_name()).map_err(|e| ScimError::invalid_value(e.to_string()))?;
        if !fits_in(&user.attributes, MAX_DOCUMENT_BYTES) {
            return Err(ScimError::payload_too_large(MAX_DOCUMENT_BYTES));
        }
        Ok(user)
    }

    fn check_required(&self) -> Result<(), ScimError> {
        for def in USER.attributes.iter().filter(|a| a.required) {
            match self.attributes.get(def.name).and_then(Value::as_str) {
                Some(s) if !s.trim().is_empty() => {}
                _ => {
                    return Err(ScimError::invalid_value(format!("\"{}\" is required.", def.name)));
                }
            }
        }
        Ok(())
    }

    /// The `userName`.
    pub fn user_name(&self) -> &str {
        self.attributes.get("userName").and_then(Value::as_str).unwrap_or_default()
    }

    /// The key the `userName` is unique and looked up by ([`user_name_key`]).
    pub fn user_name_key(&self) -> String {
        user_name_key(self.user_name())
    }

    /// The `displayName`.
    pub fn display_name(&self) -> &str {
        self.attributes.get("displayName").and_then(Value::as_str).unwrap_or_default()
    }

    /// The `displayName` folded for case-insensitive lookup (manager links).
    pub fn display_name_key(&self) -> String {
        super::manager::display_name_key(self.display_name())
    }

    /// The client's `externalId`, when set.
    pub fn external_id(&self) -> Option<&str> {
        self.attributes.get("externalId").and_then(Value::as_str)
    }

    /// `active`; an unassigned value means active.
    pub fn active(&self) -> bool {
        self.attributes.get("active").and_then(Value::as_bool).unwrap_or(true)
    }

    /// The attributes, as stored.
    pub fn attributes(&self) -> &Map<String, Value> {
        &self.attributes
    }

    /// The attributes as JSON text (what the store keeps), serialised at the first call only: a write's store
    /// and its response share one serialisation.
    pub fn json_text(&self) -> Result<&str, serde_json::Error> {
        if let Some(text) = self.text.get() {
            return Ok(text);
        }
        let text = serde_json::to_string(&self.attributes)?;
        Ok(self.text.get_or_init(|| text))
    }

    /// The [`RenderLayout`] of [`UserDoc::json_text`], found at the first call only: a write's store and its
    /// response share it. `None` for a text a read must split.
    pub fn render_layout(&self) -> Option<RenderLayout> {
        *self.layout.get_or_init(|| self.json_text().ok().and_then(RenderLayout::of))
    }

    /// Consumes the document into its attribute map.
    pub fn into_attributes(self) -> Map<String, Value> {
        self.attributes
    }

    /// Rebuilds a document from stored attributes (already validated when written).
    pub fn from_stored(attributes: Map<String, Value>) -> Self {
        Self::of(attributes)
    }

    /// A document of these attributes, its text not written yet.
    fn of(attributes: Map<String, Value>) -> Self {
        UserDoc { attributes, text: std::sync::OnceLock::new(), layout: std::sync::OnceLock::new() }
    }

    /// Keeps `attribute` from `previous` when this document does not assert it (PUT semantics for `active` and
    /// `externalId`, which Okta does not always repeat).
    pub fn inherit(&mut self, previous: &UserDoc, attribute: &str) {
        if !self.attributes.contains_key(attribute) {
            if let Some(v) = previous.attributes.get(attribute) {
                self.attributes.insert(attribute.into(), v.clone());
                self.text = std::sync::OnceLock::new();
                self.layout = std::sync::OnceLock::new();
            }
        }
    }
}

/// The largest user document stored (serialised), whatever built it (POST, PUT or the result of a PATCH): the
/// request body limit. A DynamoDB user item (the document, its keys and metadata) and its userName claim (a copy)
/// then stay far inside the 400 KB item limit.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// Microsoft Entra ID's standard create has no `displayName` (it is optional in RFC 7643; this server, like
/// Okta, needs one so that the address book always has a name to show). A missing or blank one is derived: from
/// `name.formatted`, else "givenName familyName", else `userName`.
fn derive_display_name(doc: &mut Map<String, Value>) {
    let present = doc.get("displayName").and_then(Value::as_str).is_some_and(|s| !s.trim().is_empty());
    if present {
        return;
    }
    let text =
        |v: Option<&Value>| v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    let name = doc.get("name");
    let derived = text(name.and_then(|n| n.get("formatted")))
        .or_else(|| {
            let parts: Vec<String> =
                [text(name.and_then(|n| n.get("givenName"))), text(name.and_then(|n| n.get("familyName")))]
                    .into_iter()
                    .flatten()
                    .collect();
            (!parts.is_empty()).then(|| parts.join(" "))
        })
        .or_else(|| text(doc.get("userName")));
    if let Some(derived) = derived {
        doc.insert("displayName".into(), Value::String(derived));
    }
}

/// The key a userName is unique and looked up by: its identity (`fd_input::identity_key`: NFC of the full case
/// folding), so `Straße` and `STRASSE`, or a composed and a decomposed `é`, are one user. A name the identity rule
/// refuses (stored before the rule; provisioning refuses them now) keeps the earlier key, [`legacy_user_name_key`].
pub fn user_name_key(user_name: &str) -> String {
    fd_input::identity_key(user_name).unwrap_or_else(|_| legacy_user_name_key(user_name))
}

/// The key of releases before the identity rule: the lowercase name. Stores still find users claimed under it
/// until their names are migrated (`fd-admin users migrate-names`).
pub fn legacy_user_name_key(user_name: &str) -> String {
    user_name.to_lowercase()
}

fn declared_schemas(input: &Map<String, Value>) -> Result<Vec<String>, ScimError> {
    let schemas = input
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("schemas"))
        .map(|(_, v)| v)
        .ok_or_else(|| ScimError::invalid_syntax("\"schemas\" is required."))?;
    let Value::Array(items) = schemas else {
        return Err(ScimError::invalid_syntax("\"schemas\" must be an array of URNs."));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::String(urn) = item else {
            return Err(ScimError::invalid_syntax("\"schemas\" must be an array of URNs."));
        };
        out.push(urn.clone());
    }
    if !out.iter().any(|u| u.eq_ignore_ascii_case(USER_SCHEMA)) {
        return Err(ScimError::invalid_syntax(format!("\"schemas\" must include {USER_SCHEMA}.")));
    }
    Ok(out)
}

/// Whether `doc` as compact JSON takes at most `limit` bytes. A document well under the limit is told by
/// [`json_len_bound`] alone; one near it is counted as it is written, never buffered, the writing stopping at the
/// first byte past the limit.
fn fits_in(doc: &Map<String, Value>, limit: usize) -> bool {
    object_len_bound(doc) <= limit || fits_when_written(doc, limit)
}

/// An upper bound of `value`'s length as compact JSON, from its shape and string lengths alone: a string takes at
/// most its quotes and six bytes per byte (`\u001f`), a number at most 24.
fn json_len_bound(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 24,
        Value::String(s) => string_len_bound(s),
        Value::Array(items) => {
            items.iter().fold(2, |total, item| total.saturating_add(json_len_bound(item)).saturating_add(1))
        }
        Value::Object(members) => object_len_bound(members),
    }
}

/// [`json_len_bound`] of an object.
fn object_len_bound(members: &Map<String, Value>) -> usize {
    members.iter().fold(2, |total, (name, member)| {
        total.saturating_add(string_len_bound(name)).saturating_add(json_len_bound(member)).saturating_add(2)
    })
}

/// [`json_len_bound`] of a string (a value or a member name).
fn string_len_bound(text: &str) -> usize {
    text.len().saturating_mul(6).saturating_add(2)
}

fn fits_when_written(value: &impl serde::Serialize, limit: usize) -> bool {
    struct Counter {
        written: usize,
        limit: usize,
    }
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.written = self.written.saturating_add(bytes.len());
            if self.written > self.limit {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Counter { written: 0, limit }, value).is_ok()
}

/// The members of one object whose names the schema spells otherwise: renamed once the object is checked, so
/// that an object sent in the schema's spelling (nearly every one) is never rebuilt.
#[derive(Default)]
struct Renames(Vec<(usize, &'static str)>);

impl Renames {
    /// Notes that the member at `index`, named `sent`, is named `canonical`.
    fn note(&mut self, index: usize, sent: &str, canonical: &'static str) {
        if sent != canonical {
            self.0.push((index, canonical));
        }
    }

    /// Renames the noted members and removes the unassigned ones (`null`: sent as such, or emptied by the
    /// checks), keeping the members' order.
    fn apply(self, members: &mut Map<String, Value>) {
        if self.0.is_empty() {
            members.retain(|_, value| !value.is_null());
            return;
        }
        let sent = std::mem::take(members);
        let mut renames = self.0.into_iter().peekable();
        for (index, (name, value)) in sent.into_iter().enumerate() {
            let name = match renames.next_if(|(at, _)| *at == index) {
                Some((_, canonical)) => canonical.to_owned(),
                None => name,
            };
            if !value.is_null() {
                members.insert(name, value);
            }
        }
    }
}

/// Refuses an object assigning one attribute twice: SCIM names are case-insensitive (RFC 7643 §2.1), and a name
/// and its variant in another letter case would otherwise both be stored, or one lost. Unassigned members count
/// for nothing.
fn check_unique_names(members: &Map<String, Value>) -> Result<(), ScimError> {
    let assigned = || members.iter().filter(|(_, value)| !value.is_null()).map(|(name, _)| name);
    for (index, name) in assigned().enumerate() {
        if assigned().take(index).any(|earlier| earlier.eq_ignore_ascii_case(name)) {
            return Err(ScimError::invalid_syntax(format!("Attribute \"{name}\" appears more than once.")));
        }
    }
    Ok(())
}

/// Checks an extension's object in place; `null` when it holds nothing.
fn validate_extension(ext: &SchemaDef, value: &mut Value) -> Result<(), ScimError> {
    let Value::Object(members) = value else {
        if value.is_null() {
            return Ok(());
        }
        return Err(ScimError::invalid_value(format!("{} must be a JSON object.", ext.id)));
    };
    let root = ErrorPath::root(ext.id);
    check_members(members, |name| ext.attribute(name), &root, ':')?;
    if members.is_empty() {
        *value = Value::Null;
    }
    Ok(())
}

/// Checks the members of an object in place against the definitions `lookup` finds (members it does not define
/// are kept as sent), then canonicalises their names and drops the unassigned ones.
fn check_members(
    members: &mut Map<String, Value>,
    lookup: impl Fn(&str) -> Option<&'static AttributeDef>,
    path: &ErrorPath<'_>,
    separator: char,
) -> Result<(), ScimError> {
    let mut renames = Renames::default();
    for (index, (name, member)) in members.iter_mut().enumerate() {
        if let Some(def) = lookup(name) {
            check_any(def, member, &path.child(separator, def.name))?;
            renames.note(index, name, def.name);
        }
    }
    check_unique_names(members)?;
    renames.apply(members);
    Ok(())
}

/// An attribute path for error messages, rendered only when an error is reported.
#[derive(Clone, Copy)]
struct ErrorPath<'a> {
    parent: Option<(&'a ErrorPath<'a>, char)>,
    name: &'a str,
}

impl<'a> ErrorPath<'a> {
    fn root(name: &'a str) -> Self {
        Self { parent: None, name }
    }

    fn child(&'a self, separator: char, name: &'a str) -> Self {
        Self { parent: Some((self, separator)), name }
    }
}

impl std::fmt::Display for ErrorPath<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some((parent, separator)) = self.parent {
            write!(f, "{parent}{separator}")?;
        }
        f.write_str(self.name)
    }
}

/// Checks one attribute value against its definition and leaves it in canonical form, in place: `null` when it
/// is unassigned (sent as `null`, or a complex or multi-valued attribute left empty).
fn check_value(def: &AttributeDef, value: &mut Value, path: &str) -> Result<(), ScimError> {
    check_any(def, value, &ErrorPath::root(path))
}

fn check_any(def: &AttributeDef, value: &mut Value, path: &ErrorPath<'_>) -> Result<(), ScimError> {
    if value.is_null() {
        return Ok(());
    }
    if !def.multi_valued {
        return check_single(def, value, path);
    }
    let Value::Array(items) = value else {
        return Err(ScimError::invalid_value(format!("\"{path}\" must be an array.")));
    };
    if items.len() > MAX_MULTI_VALUES {
        return Err(ScimError::invalid_value(format!("\"{path}\" has more than {MAX_MULTI_VALUES} values.")));
    }
    let mut primaries = 0;
    for item in items.iter_mut() {
        check_single(def, item, path)?;
        if item.get("primary").and_then(Value::as_bool) == Some(true) {
            primaries += 1;
        }
    }
    if primaries > 1 {
        return Err(ScimError::invalid_value(format!("\"{path}\" has more than one primary value.")));
    }
    items.retain(|item| !item.is_null());
    if items.is_empty() {
        *value = Value::Null;
    }
    Ok(())
}

fn check_single(def: &AttributeDef, value: &mut Value, path: &ErrorPath<'_>) -> Result<(), ScimError> {
    if value.is_null() {
        return Ok(());
    }
    if def.ty == AttrType::Complex {
        let Value::Object(members) = value else {
            return Err(ScimError::invalid_value(format!("\"{path}\" must be a JSON object.")));
        };
        check_members(members, |name| def.sub_attribute(name), path, '.')?;
        if members.is_empty() {
            *value = Value::Null;
        }
        return Ok(());
    }
    let ok = match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => match &*value {
            Value::String(s) => {
                if s.len() > MAX_STRING_BYTES {
                    return Err(ScimError::invalid_value(format!(
                        "\"{path}\" is longer than {MAX_STRING_BYTES} bytes."
                    )));
                }
                if def.ty == AttrType::DateTime && crate::time::parse_datetime(s).is_none() {
                    return Err(ScimError::invalid_value(format!("\"{path}\" must be an xsd:dateTime.")));
                }
                true
            }
            _ => false,
        },
        AttrType::Boolean => match &*value {
            Value::Bool(_) => true,
            // Some clients (Microsoft Entra ID) send booleans as strings.
            Value::String(s) if s.eq_ignore_ascii_case("true") => {
                *value = Value::Bool(true);
                true
            }
            Value::String(s) if s.eq_ignore_ascii_case("false") => {
                *value = Value::Bool(false);
                true
            }
            _ => false,
        },
        AttrType::Integer => value.is_i64() || value.is_u64(),
        AttrType::Decimal => value.is_number(),
        AttrType::Complex => false,
    };
    if !ok {
        return Err(ScimError::invalid_value(format!("\"{path}\" must be of type {:?}.", def.ty)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn valid() -> Value {
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "ada@example.com",
            "displayName": "Ada Lovelace",
        })
    }

    #[test]
    fn the_json_text_is_the_attributes_and_follows_what_is_inherited() {
        let mut doc = UserDoc::from_request(valid()).unwrap();
        assert_eq!(doc.json_text().unwrap(), serde_json::to_string(doc.attributes()).unwrap());
        assert!(doc.render_layout().is_some());
        let previous =
            UserDoc::from_request(json!({"schemas": [USER_SCHEMA], "userName": "a@example.com", "externalId": "x-1"}))
                .unwrap();
        doc.inherit(&previous, "externalId");
        let text: Value = serde_json::from_str(doc.json_text().unwrap()).unwrap();
        assert_eq!(text["externalId"], json!("x-1"));
        assert_eq!(doc.json_text().unwrap(), serde_json::to_string(doc.attributes()).unwrap());
        assert_eq!(doc.render_layout(), RenderLayout::of(doc.json_text().unwrap()));
    }

    #[test]
    fn a_document_fits_up_to_its_exact_length_as_json() {
        let doc = json!({"userName": "ada@example.com", "title": "\"Chief\" \u{e9}ngineer\n", "n": [1, 2.5, null]});
        let length = serde_json::to_vec(&doc).unwrap().len();
        let doc = doc.as_object().unwrap();
        assert!(object_len_bound(doc) > length, "the bound alone does not decide here");
        assert!(fits_in(doc, length));
        assert!(!fits_in(doc, length - 1));
        assert!(!fits_in(doc, 0));
        assert!(fits_in(doc, object_len_bound(doc)));
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any::<String>().prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// The bound is never below the length, so a document it admits always fits.
        #[test]
        fn the_length_bound_is_never_below_the_length(value in any_json()) {
            let length = serde_json::to_vec(&value).unwrap().len();
            proptest::prop_assert!(json_len_bound(&value) >= length, "{} < {}", json_len_bound(&value), length);
            let doc = Map::from_iter([("value".to_string(), value)]);
            let length = serde_json::to_vec(&doc).unwrap().len();
            proptest::prop_assert!(fits_in(&doc, length));
            proptest::prop_assert!(!fits_in(&doc, length - 1));
        }
    }

    #[test]
    fn a_user_past_the_document_limit_is_refused_as_too_large() {
        let mut body = valid();
        body["addresses"] = Value::Array(
            (0..40)
                .map(|i| json!({"type": "work", "streetAddress": "x".repeat(2000), "postalCode": i.to_string()}))
                .collect(),
        );
        let error = UserDoc::from_request(body).unwrap_err();
        assert_eq!(error.status, 413, "{error:?}");
    }

    #[test]
    fn accepts_minimal_user_and_canonicalises_names() {
        let mut body = valid();
        body["NAME"] = json!({"GIVENNAME": "Ada"});
        let doc = UserDoc::from_request(body).unwrap();
        assert_eq!(doc.attributes()["name"]["givenName"], "Ada");
        assert_eq!(doc.user_name_key(), "ada@example.com");
        assert!(doc.active());
    }

    #[test]
    fn drops_password_groups_id_and_meta() {
        let mut body = valid();
        body["password"] = json!("hunter2");
        body["groups"] = json!([]);
        body["id"] = json!("client-chosen");
        body["meta"] = json!({"resourceType": "User"});
        let doc = UserDoc::from_request(body).unwrap();
        for gone in ["password", "groups", "id", "meta"] {
            assert!(!doc.attributes().contains_key(gone), "{gone}");
        }
    }

    #[test]
    fn keeps_unknown_attributes() {
        let mut body = valid();
        body["favouriteColour"] = json!("green");
        body["name"] = json!({"givenName": "Ada", "pronunciation": "AY-da"});
        let doc = UserDoc::from_request(body).unwrap();
        assert_eq!(doc.attributes()["favouriteColour"], "green");
        assert_eq!(doc.attributes()["name"]["pronunciation"], "AY-da");
    }

    /// Found by fuzzing: a custom schema listed in another letter case than its attribute made a document that did
    /// not validate again (so a stored user of that shape could never be patched).
    #[test]
    fn a_document_validates_again_as_it_is_stored() {
        let body = json!({"schemas": [USER_SCHEMA, "urn:acme:ext"], "userName": "a", "displayName": "A",
                          "urn:acme:EXT": {"x": 1}});
        let doc = UserDoc::from_request(body).unwrap();
        assert_eq!(doc.attributes()["schemas"], json!([USER_SCHEMA, "urn:acme:EXT"]));
        let again = UserDoc::from_request(Value::Object(doc.attributes().clone())).unwrap();
        assert_eq!(again, doc);
    }

    #[test]
    fn requires_user_name_and_derives_a_missing_display_name() {
        let mut body = valid();
        body.as_object_mut().unwrap().remove("userName");
        let err = UserDoc::from_request(body).unwrap_err();
        assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidValue)));
        let mut body = valid();
        body.as_object_mut().unwrap().remove("displayName");
        let doc = UserDoc::from_request(body).unwrap();
        assert!(!doc.display_name().is_empty());
        let mut blank = valid();
        blank["userName"] = json!("   ");
        assert_eq!(UserDoc::from_request(blank).unwrap_err().status, 400);
    }

    #[test]
    fn rejects_wrong_types_and_schemas() {
        let cases = [
            json!({"schemas": [USER_SCHEMA], "userName": 5, "displayName": "x"}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "displayName": "x", "active": "maybe"}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "displayName": "x", "emails": {"value": "a@b"}}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "displayName": "x", "name": "Ada"}),
            json!({"schemas": ["urn:example:Other"], "userName": "a", "displayName": "x"}),
            json!({"userName": "a", "displayName": "x"}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "displayName": "x",
                   "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "displayName": "x",
                   ENTERPRISE_USER_SCHEMA: {"department": "R&D"}}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "userNAME": "b", "displayName": "x"}),
            json!(["not", "an", "object"]),
        ];
        for body in cases {
            let err = UserDoc::from_request(body.clone()).unwrap_err();
            assert_eq!(err.status, 400, "{body}");
        }
    }

    #[test]
    fn names_are_canonicalised_and_unassigned_members_dropped_at_every_level_in_order() {
        let body = json!({
            "USERNAME": "ada@example.com",
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "nickName": null,
            "Name": {"FamilyName": "Lovelace", "middleName": null, "givenName": "Ada"},
            "id": "client-chosen",
            "emails": [null, {"Value": "ada@example.com", "PRIMARY": "True", "type": null}, {"value": null}],
            "phoneNumbers": [{"value": null}],
            "favouriteColour": "green",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D", "division": null},
            "active": "false",
            "addresses": null,
            "displayName": "Ada",
        });
        let doc = UserDoc::from_request(body).unwrap();
        let expected = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "ada@example.com",
            "name": {"familyName": "Lovelace", "givenName": "Ada"},
            "emails": [{"value": "ada@example.com", "primary": true}],
            "favouriteColour": "green",
            ENTERPRISE_USER_SCHEMA: {"department": "R&D"},
            "active": false,
            "displayName": "Ada",
        });
        assert_eq!(serde_json::to_string(doc.attributes()).unwrap(), serde_json::to_string(&expected).unwrap());
        let again = UserDoc::from_request(Value::Object(doc.attributes().clone())).unwrap();
        assert_eq!(again.json_text().unwrap(), doc.json_text().unwrap());
    }

    #[test]
    fn an_attribute_assigned_twice_in_two_spellings_is_refused_at_every_level() {
        let twice = [
            json!({"schemas": [USER_SCHEMA], "userName": "a", "USERNAME": "b"}),
            json!({"schemas": [USER_SCHEMA], "USERNAME": "b", "userName": "a"}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "name": {"givenName": "A", "GIVENNAME": "B"}}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"value": "a", "VALUE": "b"}]}),
            json!({"schemas": [USER_SCHEMA], "userName": "a", "colour": "x", "COLOUR": "y"}),
            json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "userName": "a",
                   ENTERPRISE_USER_SCHEMA: {"department": "x", "Department": "y"}}),
        ];
        for body in twice {
            let error = UserDoc::from_request(body.clone()).unwrap_err();
            assert_eq!((error.status, error.scim_type), (400, Some(ScimType::InvalidSyntax)), "{body}");
        }
        // An unassigned spelling assigns nothing: the other one stands.
        let doc = UserDoc::from_request(json!({"schemas": [USER_SCHEMA], "USERNAME": null, "userName": "a"})).unwrap();
        assert_eq!(doc.user_name(), "a");
    }

    #[test]
    fn coerces_string_booleans() {
        let mut body = valid();
        body["active"] = json!("False");
        assert!(!UserDoc::from_request(body).unwrap().active());
    }

    #[test]
    fn schemas_list_extensions_present() {
        let mut body = valid();
        body["schemas"] = json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]);
        body[ENTERPRISE_USER_SCHEMA] = json!({"department": "R&D", "manager": {"displayName": "Grace"}});
        let doc = UserDoc::from_request(body).unwrap();
        assert_eq!(doc.attributes()["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
        assert_eq!(doc.attributes()[ENTERPRISE_USER_SCHEMA]["manager"]["displayName"], "Grace");
    }
}

/// A stored User: server-assigned identity and metadata around the client's document.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    /// Server-assigned, immutable id.
    pub id: String,
    /// Incremented on every write; the basis of `meta.version` and of conditional writes.
    pub version: u64,
    /// RFC 3339 creation time.
    pub created: String,
    /// RFC 3339 time of the last write.
    pub last_modified: String,
    /// The User as the client asserted it.
    pub doc: UserDoc,
}

impl UserRecord {
    /// A new record with a fresh random id, version 1.
    pub fn new(doc: UserDoc) -> Self {
        Self::with_id(crate::auth::random_uuid().to_string(), doc)
    }

    /// A new record with the id `id`, version 1, created now.
    pub fn with_id(id: String, doc: UserDoc) -> Self {
        let now = crate::time::now_rfc3339();
        Self { id, version: 1, created: now.clone(), last_modified: now, doc }
    }

    /// The successor of this record carrying `doc`: same id and creation time, next version.
    pub fn successor(&self, doc: UserDoc) -> Self {
        Self {
            id: self.id.clone(),
            version: self.version + 1,
            created: self.created.clone(),
            last_modified: crate::time::now_rfc3339(),
            doc,
        }
    }

    /// The weak ETag of this version (RFC 7644 §3.14).
    pub fn etag(&self) -> String {
        etag(self.version)
    }

    /// The SCIM representation, with `id` and `meta`; `location` is `{users_url}/{id}`.
    pub fn to_scim(&self, users_url: &str) -> Value {
        self.clone().into_scim(users_url)
    }

    /// Like [`UserRecord::to_scim`], consuming the record (no copy of its attributes).
    pub fn into_scim(self, users_url: &str) -> Value {
        let etag = self.etag();
        let location = format!("{users_url}/{}", self.id);
        let mut out = self.doc.into_attributes();
        // `schemas` first, then `id`, the client's attributes, and `meta` last.
        if out.keys().next().map(String::as_str) != Some("schemas") {
            if let Some(schemas) = out.shift_remove("schemas") {
                out.shift_insert(0, "schemas".into(), schemas);
            }
        }
        let id_position = usize::from(out.contains_key("schemas"));
        out.shift_insert(id_position, "id".into(), Value::String(self.id));
        super::manager::render_reference(&mut out, users_url);
        let mut meta = Map::with_capacity(5);
        meta.insert("resourceType".into(), Value::String("User".into()));
        meta.insert("created".into(), Value::String(self.created));
        meta.insert("lastModified".into(), Value::String(self.last_modified));
        meta.insert("location".into(), Value::String(location));
        meta.insert("version".into(), Value::String(etag));
        out.insert("meta".into(), Value::Object(meta));
        Value::Object(out)
    }
}

/// The weak ETag for a version number.
pub fn etag(version: u64) -> String {
    format!("W/\"{version}\"")
}
