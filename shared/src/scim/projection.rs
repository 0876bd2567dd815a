//! Partial representations: the `attributes` and `excludedAttributes` parameters (RFC 7644 §3.4.2.5, §3.9).
//!
//! A [`Projection`] is parsed from either parameter and applied in place to a rendered resource, honouring the
//! `returned` characteristic of each attribute (RFC 7643 §7):
//!
//! - `always` (`id`, `schemas`) is returned whatever is asked, and cannot be excluded;
//! - `never` (`password`) is never returned, even when named;
//! - `default` is returned unless excluded, or unless `attributes` is given and does not name it;
//! - `request` is returned only when named in `attributes`.
//!
//! Paths are comma-separated, case-insensitive, in standard attribute notation (RFC 7644 §3.10): `userName`,
//! `name.familyName`, `urn:ietf:params:scim:schemas:core:2.0:User:userName`,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName`, or a whole schema URN (an
//! extension's object, or for the core User schema every core attribute). Naming a sub-attribute returns its parent
//! with only that sub-attribute (in every value of a multi-valued attribute). Paths that name no attribute of the
//! resource select nothing and are ignored, as RFC 7644 §3.4.2.5 allows; a path that is not attribute notation at all
//! (`emails[type eq "work"]`, `name..givenName`) is a 400 `invalidValue`. The two parameters are mutually exclusive
//! (RFC 7644 §3.9: `excludedAttributes` is relative to the default set, which `attributes` replaces): both together
//! are a 400 `invalidValue`.
//!
//! After projection `schemas` lists the core schema and only the extensions still present (RFC 7643 §3). `meta` is
//! `returned: default` in the schema definitions, so `attributes=userName` omits it, as in RFC 7644 §3.9.
//!
//! Without either parameter nothing is applied: stored users never hold a `never` attribute (`password` is dropped
//! on input) and the schemas define no `request` attribute, so the full rendering is already the default set.

use super::error::ScimError;
use super::schema::{AttributeDef, Returned, SchemaDef, USER_EXTENSIONS, USER_SCHEMA, user_attribute, user_extension};
use serde_json::{Map, Value};

/// Longest `attributes` or `excludedAttributes` value accepted, in bytes.
pub const MAX_PROJECTION_BYTES: usize = 4096;

/// Whether the listed attributes are the ones to return or the ones to leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `attributes`: the minimum set plus the listed attributes.
    Include,
    /// `excludedAttributes`: the default set minus the listed attributes.
    Exclude,
}

/// A parsed `attributes` or `excludedAttributes` parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    mode: Mode,
    /// The named paths as a tree: top-level attribute names and schema URNs, then sub-attributes.
    root: Node,
    /// The core User schema URN was named on its own: every core attribute.
    all_core: bool,
}

/// A selected attribute: all of it, or some of its sub-attributes (or, for an extension, some of its attributes).
#[derive(Debug, Clone, Default, PartialEq)]
struct Node {
    whole: bool,
    children: Vec<(String, Node)>,
}

impl Node {
    fn get(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, node)| node)
    }

    fn child(&mut self, name: &str) -> &mut Node {
        let position = match self.children.iter().position(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(position) => position,
            None => {
                self.children.push((name.to_string(), Node::default()));
                self.children.len() - 1
            }
        };
        &mut self.children[position].1
    }

    /// Selects `sub` of this node, or all of it.
    fn select(&mut self, sub: Option<&str>) {
        match sub {
            None => self.whole = true,
            Some(sub) => self.child(sub).whole = true,
        }
    }
}

/// One reading of a path: `urn` is `None` for core attributes; `attribute` is `None` for a whole schema.
struct Path<'a> {
    urn: Option<&'a str>,
    attribute: Option<&'a str>,
    sub: Option<&'a str>,
}

impl Projection {
    /// From the `attributes` and `excludedAttributes` query parameters (already percent-decoded; names
    /// case-insensitive; repeated parameters are concatenated). `None` when neither is given or both are empty.
    pub fn from_query<'a>(params: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Option<Self>, ScimError> {
        let mut attributes: Option<String> = None;
        let mut excluded: Option<String> = None;
        for (name, value) in params {
            let target = if name.eq_ignore_ascii_case("attributes") {
                &mut attributes
            } else if name.eq_ignore_ascii_case("excludedAttributes") {
                &mut excluded
            } else {
                continue;
            };
            match target {
                Some(list) => {
                    list.push(',');
                    list.push_str(value);
                }
                None => *target = Some(value.to_string()),
            }
        }
        Self::parse(attributes.as_deref(), excluded.as_deref())
    }

    /// From the values of `attributes` and `excludedAttributes`, when given.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Option<Self>, ScimError> {
        let attributes = attributes.filter(|v| !is_blank(v));
        let excluded = excluded.filter(|v| !is_blank(v));
        match (attributes, excluded) {
            (None, None) => Ok(None),
            (Some(_), Some(_)) => Err(ScimError::invalid_value(
                "\"attributes\" and \"excludedAttributes\" are mutually exclusive; send one of them.",
            )),
            (Some(list), None) => Self::from_list(Mode::Include, "attributes", list).map(Some),
            (None, Some(list)) => Self::from_list(Mode::Exclude, "excludedAttributes", list).map(Some),
        }
    }

    fn from_list(mode: Mode, parameter: &str, list: &str) -> Result<Self, ScimError> {
        if list.len() > MAX_PROJECTION_BYTES {
            return Err(ScimError::invalid_value(format!(
                "\"{parameter}\" is limited to {MAX_PROJECTION_BYTES} bytes."
            )));
        }
        let mut projection = Projection { mode, root: Node::default(), all_core: false };
        for text in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (first, second) = readings(text).ok_or_else(|| {
                ScimError::invalid_value(format!(
                    "\"{parameter}\": \"{text}\" is not an attribute path (attribute, attribute.subAttribute, or \
                     schema URN followed by either)."
                ))
            })?;
            projection.insert(first);
            if let Some(second) = second {
                projection.insert(second);
            }
        }
        Ok(projection)
    }

    fn insert(&mut self, path: Path<'_>) {
        match (path.urn, path.attribute) {
            (None, None) => self.all_core = true,
            (None, Some(attribute)) => self.root.child(attribute).select(path.sub),
            (Some(urn), None) => self.root.child(urn).whole = true,
            (Some(urn), Some(attribute)) => self.root.child(urn).child(attribute).select(path.sub),
        }
    }

    /// Whether this is `attributes` or `excludedAttributes`.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Reduces a rendered User (with `id`, `schemas` and `meta`) to the requested attributes, in place.
    pub fn apply(&self, resource: &mut Value) {
        let Value::Object(map) = resource else { return };
        self.apply_map(map, &self.root, Level::Resource);
        prune_schemas(map);
    }

    fn apply_map(&self, map: &mut Map<String, Value>, node: &Node, level: Level) {
        map.retain(|key, value| {
            let def = level.attribute(key);
            match def.map(|d| d.returned) {
                Some(Returned::Always) => return true,
                Some(Returned::Never) => return false,
                Some(Returned::Request) if self.mode == Mode::Exclude => return false,
                _ => {}
            }
            let whole_core = self.all_core && level.is_core_attribute(key);
            match (self.mode, node.get(key)) {
                (Mode::Include, Some(selected)) if selected.whole => true,
                (Mode::Exclude, Some(selected)) if selected.whole => false,
                (Mode::Include, _) if whole_core => def.is_none_or(|d| d.returned != Returned::Request),
                (Mode::Exclude, _) if whole_core => false,
                (_, Some(selected)) => self.narrow(value, selected, level.below(key, def)),
                (Mode::Include, None) => false,
                (Mode::Exclude, None) => true,
            }
        });
    }

    /// Applies a selection of sub-attributes to a complex value (or to each value of a multi-valued one); whether
    /// anything is left.
    fn narrow(&self, value: &mut Value, node: &Node, level: Level) -> bool {
        match value {
            Value::Object(map) => {
                self.apply_map(map, node, level);
                !map.is_empty()
            }
            Value::Array(items) => {
                items.retain_mut(|item| match item {
                    Value::Object(map) => {
                        self.apply_map(map, node, level);
                        !map.is_empty()
                    }
                    // A simple value has no sub-attributes: none of it is selected, none of it is excluded.
                    _ => self.mode == Mode::Exclude,
                });
                !items.is_empty()
            }
            _ => self.mode == Mode::Exclude,
        }
    }
}

/// Where in a resource a JSON object sits, to find the definitions of its members.
#[derive(Clone, Copy)]
enum Level {
    Resource,
    /// An extension's object (`None` for an extension outside the schemas this server knows).
    Extension(Option<&'static SchemaDef>),
    /// A complex attribute's value (`None` for an attribute outside the schemas).
    Complex(Option<&'static AttributeDef>),
}

impl Level {
    fn attribute(self, key: &str) -> Option<&'static AttributeDef> {
        match self {
            Level::Resource => user_attribute(key),
            Level::Extension(schema) => schema?.attribute(key),
            Level::Complex(def) => def?.sub_attribute(key),
        }
    }

    fn below(self, key: &str, def: Option<&'static AttributeDef>) -> Level {
        match self {
            Level::Resource if is_urn(key) => Level::Extension(user_extension(key)),
            _ => Level::Complex(def),
        }
    }

    fn is_core_attribute(self, key: &str) -> bool {
        matches!(self, Level::Resource) && !is_urn(key)
    }
}

fn is_urn(text: &str) -> bool {
    text.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
}

fn is_blank(value: &str) -> bool {
    value.split(',').all(|t| t.trim().is_empty())
}

/// `schemas` keeps the core schema and the URNs whose attributes are still present.
fn prune_schemas(map: &mut Map<String, Value>) {
    let present: Vec<String> = map.keys().filter(|k| is_urn(k)).cloned().collect();
    if let Some(Value::Array(schemas)) = map.get_mut("schemas") {
        schemas.retain(|urn| {
            urn.as_str().is_none_or(|urn| {
                urn.eq_ignore_ascii_case(USER_SCHEMA) || present.iter().any(|p| p.eq_ignore_ascii_case(urn))
            })
        });
    }
}

/// The readings of one path: `None` when it is not attribute notation. A URN outside the known schemas has two:
/// the whole URN as an extension, and its last segment as an attribute of the URN before it.
fn readings(text: &str) -> Option<(Path<'_>, Option<Path<'_>>)> {
    if !is_urn(text) {
        let (attribute, sub) = attribute_path(text)?;
        return Some((Path { urn: None, attribute: Some(attribute), sub }, None));
    }
    for (urn, canonical) in
        std::iter::once((USER_SCHEMA, None)).chain(USER_EXTENSIONS.iter().map(|s| (s.id, Some(s.id))))
    {
        let Some(rest) =
            text.get(..urn.len()).filter(|head| head.eq_ignore_ascii_case(urn)).map(|_| &text[urn.len()..])
        else {
            continue;
        };
        if rest.is_empty() {
            return Some((Path { urn: canonical, attribute: None, sub: None }, None));
        }
        if let Some(rest) = rest.strip_prefix(':') {
            let (attribute, sub) = attribute_path(rest)?;
            return Some((Path { urn: canonical, attribute: Some(attribute), sub }, None));
        }
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control() || "\"[](),".contains(c)) {
        return None;
    }
    let whole = Path { urn: Some(text), attribute: None, sub: None };
    let qualified = text.rsplit_once(':').and_then(|(urn, rest)| {
        let (attribute, sub) = attribute_path(rest)?;
        (urn.len() > 4).then_some(Path { urn: Some(urn), attribute: Some(attribute), sub })
    });
    Some((whole, qualified))
}

/// `attribute[.subAttribute]`, each an ATTRNAME of RFC 7644 §3.10 (`$ref` included).
fn attribute_path(text: &str) -> Option<(&str, Option<&str>)> {
    let (attribute, sub) = match text.split_once('.') {
        Some((attribute, sub)) => (attribute, Some(sub)),
        None => (text, None),
    };
    (is_attribute_name(attribute) && sub.is_none_or(is_attribute_name)).then_some((attribute, sub))
}

fn is_attribute_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '$'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::schema::{COMMON_ATTRIBUTES, ENTERPRISE_USER_SCHEMA, USER};
    use serde_json::json;

    const CUSTOM: &str = "urn:example:params:scim:schemas:extension:custom:1.0:User";

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, CUSTOM],
            "id": "2819c223",
            "userName": "bjensen",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            "displayName": "Babs",
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            ENTERPRISE_USER_SCHEMA: {"department": "Tour Operations", "manager": {"value": "26118915", "displayName": "John"}},
            CUSTOM: {"badge": "42"},
            "meta": {"resourceType": "User", "version": "W/\"3\"", "location": "https://x/Users/2819c223"}
        })
    }

    fn project(attributes: Option<&str>, excluded: Option<&str>) -> Value {
        let mut resource = user();
        Projection::parse(attributes, excluded).unwrap().unwrap().apply(&mut resource);
        resource
    }

    fn keys(resource: &Value) -> Vec<&str> {
        resource.as_object().unwrap().keys().map(String::as_str).collect()
    }

    #[test]
    fn attributes_return_the_minimum_set_and_the_named_attributes() {
        let out = project(Some("userName"), None);
        assert_eq!(out, json!({"schemas": [USER_SCHEMA], "id": "2819c223", "userName": "bjensen"}));
        let out = project(Some("USERNAME, Name.FamilyName ,emails.value,meta.version"), None);
        assert_eq!(keys(&out), ["schemas", "id", "userName", "name", "emails", "meta"]);
        assert_eq!(out["name"], json!({"familyName": "Jensen"}));
        assert_eq!(out["emails"], json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]));
        assert_eq!(out["meta"], json!({"version": "W/\"3\""}));
        // A whole attribute wins over one of its sub-attributes, in either order.
        assert_eq!(project(Some("name.givenName,name"), None)["name"], user()["name"]);
        assert_eq!(project(Some("name,name.givenName"), None)["name"], user()["name"]);
    }

    #[test]
    fn schema_qualified_paths() {
        let out = project(Some(&format!("{USER_SCHEMA}:userName,{ENTERPRISE_USER_SCHEMA}:department")), None);
        assert_eq!(keys(&out), ["schemas", "id", "userName", ENTERPRISE_USER_SCHEMA]);
        assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"department": "Tour Operations"}));
        assert_eq!(out["schemas"], json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA]));
        let upper = format!("{}:MANAGER.DISPLAYNAME", ENTERPRISE_USER_SCHEMA.to_uppercase());
        let out = project(Some(&upper), None);
        assert_eq!(out[ENTERPRISE_USER_SCHEMA], json!({"manager": {"displayName": "John"}}));
        let out = project(Some(ENTERPRISE_USER_SCHEMA), None);
        assert_eq!(out[ENTERPRISE_USER_SCHEMA], user()[ENTERPRISE_USER_SCHEMA]);
        assert!(out.get("userName").is_none());
        // The core schema on its own: every core attribute, no extension.
        let out = project(Some(USER_SCHEMA), None);
        assert_eq!(keys(&out), ["schemas", "id", "userName", "name", "displayName", "active", "emails", "meta"]);
        assert_eq!(out["schemas"], json!([USER_SCHEMA]));
        // Extensions outside the known schemas: whole, or one attribute.
        assert_eq!(project(Some(CUSTOM), None)[CUSTOM], json!({"badge": "42"}));
        assert_eq!(project(Some(&format!("{CUSTOM}:BADGE")), None)[CUSTOM], json!({"badge": "42"}));
        assert_eq!(project(Some(&format!("{CUSTOM}:other")), None).get(CUSTOM), None);
    }

    #[test]
    fn excluded_attributes_remove_from_the_default_set() {
        let out = project(None, Some("emails,name.givenName,meta"));
        assert_eq!(
            keys(&out),
            ["schemas", "id", "userName", "name", "displayName", "active", ENTERPRISE_USER_SCHEMA, CUSTOM]
        );
        assert_eq!(out["name"], json!({"familyName": "Jensen"}));
        let out = project(None, Some("emails.type,emails.primary"));
        assert_eq!(out["emails"], json!([{"value": "bjensen@example.com"}, {"value": "babs@jensen.org"}]));
        // Removing every attribute of an extension removes it, and its URN from schemas.
        let out = project(None, Some(&format!("{ENTERPRISE_USER_SCHEMA}:department,{ENTERPRISE_USER_SCHEMA}:manager")));
        assert!(out.get(ENTERPRISE_USER_SCHEMA).is_none());
        assert_eq!(out["schemas"], json!([USER_SCHEMA, CUSTOM]));
        let out = project(None, Some(&format!("{ENTERPRISE_USER_SCHEMA},{CUSTOM}")));
        assert_eq!(out["schemas"], json!([USER_SCHEMA]));
        assert_eq!(keys(&project(None, Some(USER_SCHEMA))), ["schemas", "id", ENTERPRISE_USER_SCHEMA, CUSTOM]);
    }

    #[test]
    fn returned_characteristics_are_honoured() {
        // `always` cannot be excluded, nor left out by `attributes`.
        assert_eq!(project(None, Some("id,schemas,ID")), user());
        assert_eq!(keys(&project(Some("displayName"), None)), ["schemas", "id", "displayName"]);
        // `never` is not returned even when named (or when some record held it).
        let mut resource = user();
        resource["password"] = json!("secret");
        Projection::parse(Some("password,userName"), None).unwrap().unwrap().apply(&mut resource);
        assert_eq!(keys(&resource), ["schemas", "id", "userName"]);
        let mut resource = user();
        resource["password"] = json!("secret");
        Projection::parse(None, Some("title")).unwrap().unwrap().apply(&mut resource);
        assert!(resource.get("password").is_none());
        // The rendering without any parameter is the default set: nothing is `returned: request`.
        let all = USER.attributes.iter().chain(COMMON_ATTRIBUTES);
        let subs = all.clone().flat_map(|a| a.sub_attributes.iter());
        assert!(all.chain(subs).all(|a| a.returned != Returned::Request));
    }

    #[test]
    fn unknown_attributes_are_ignored() {
        assert_eq!(keys(&project(Some("nonexistent,name.nonexistent,urn:example:nope:x"), None)), ["schemas", "id"]);
        assert_eq!(project(None, Some("nonexistent,name.nonexistent,urn:example:nope:x,userName.x")), user());
    }

    #[test]
    fn parameters() {
        assert_eq!(Projection::parse(None, None).unwrap(), None);
        assert_eq!(Projection::parse(Some(" , "), Some("")).unwrap(), None);
        let both = Projection::parse(Some("userName"), Some("emails")).unwrap_err();
        assert_eq!((both.status, both.scim_type), (400, Some(ScimType::InvalidValue)));
        let merged = Projection::from_query([("ATTRIBUTES", "userName"), ("filter", "x"), ("attributes", "title")])
            .unwrap()
            .unwrap();
        assert_eq!(merged.mode(), Mode::Include);
        assert_eq!(merged, Projection::parse(Some("userName,title"), None).unwrap().unwrap());
        assert_eq!(Projection::from_query([("excludedattributes", "x")]).unwrap().unwrap().mode(), Mode::Exclude);
        assert_eq!(Projection::from_query([("startIndex", "1")]).unwrap(), None);
    }

    #[test]
    fn malformed_paths_are_invalid_value() {
        let long = "a,".repeat(MAX_PROJECTION_BYTES);
        for text in [
            "name..givenName",
            "name.givenName.x",
            r#"emails[type eq "work"]"#,
            "user name",
            "1userName",
            "userName.",
            ".userName",
            "urn:example:a b",
            &format!("{USER_SCHEMA}:"),
            &format!("{ENTERPRISE_USER_SCHEMA}:manager..value"),
            &long,
        ] {
            let err = Projection::parse(Some(text), None).expect_err(text);
            assert_eq!((err.status, err.scim_type), (400, Some(ScimType::InvalidValue)), "{text}");
            assert!(Projection::parse(None, Some(text)).is_err(), "{text}");
        }
    }
}
