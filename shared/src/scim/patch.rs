//! PATCH (RFC 7644 §3.5.2): parse a PatchOp message and apply it to a User document.
//!
//! Supported: `add`, `replace`, `remove` (operation names case-insensitive, as Microsoft Entra ID capitalises
//! them); no `path` with a value object (Okta's deactivate and reactivate); paths naming an attribute, a
//! sub-attribute of a singular complex attribute, or an extension attribute (`urn:…:enterprise:2.0:User:department`).
//! Paths with value filters (`emails[type eq "work"].value`) are refused with 400 `invalidPath`, never guessed at.
//! The patched document is validated again as a whole, so a PATCH can never store what a PUT could not.

use super::error::{ScimError, ScimType};
use super::schema::{
    AttrType, AttributeDef, Mutability, PATCH_OP_SCHEMA, SchemaDef, USER_SCHEMA, user_attribute, user_extension,
};
use super::user::UserDoc;
use serde_json::{Map, Value};

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 100;

/// A PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// An attribute path, resolved against the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The extension schema URN, for extension attributes.
    pub extension: Option<&'static str>,
    /// Canonical attribute name (or the name as sent, for attributes outside the schema).
    pub attribute: String,
    /// Canonical sub-attribute name.
    pub sub_attribute: Option<String>,
}

/// A PATCH target: the whole resource, a whole extension object, or an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Resource,
    Extension(&'static str),
    Attribute(AttrPath),
}

/// One operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub kind: OpKind,
    pub target: Target,
    pub value: Option<Value>,
}

/// A parsed PatchOp request.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<Operation>,
}

impl PatchRequest {
    /// Parses a PatchOp message body.
    pub fn parse(body: Value) -> Result<Self, ScimError> {
        let Value::Object(mut body) = body else {
            return Err(ScimError::invalid_syntax("The request body must be a JSON object."));
        };
        let schemas = take_ci(&mut body, "schemas");
        let has_schema = schemas
            .as_ref()
            .and_then(Value::as_array)
            .is_some_and(|s| s.iter().any(|u| u.as_str().is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))));
        if !has_schema {
            return Err(ScimError::invalid_syntax(format!("\"schemas\" must be [\"{PATCH_OP_SCHEMA}\"].")));
        }
        let Some(Value::Array(ops)) = take_ci(&mut body, "Operations") else {
            return Err(ScimError::invalid_syntax("\"Operations\" must be a non-empty array."));
        };
        if ops.is_empty() {
            return Err(ScimError::invalid_syntax("\"Operations\" must be a non-empty array."));
        }
        if ops.len() > MAX_OPERATIONS {
            return Err(ScimError::bad_request(
                ScimType::TooMany,
                format!("At most {MAX_OPERATIONS} operations per request."),
            ));
        }
        let operations = ops.into_iter().map(parse_operation).collect::<Result<_, _>>()?;
        Ok(Self { operations })
    }

    /// Applies every operation to `doc`, all or nothing, and validates the result.
    pub fn apply(&self, doc: &UserDoc) -> Result<UserDoc, ScimError> {
        let mut attrs = doc.attributes().clone();
        for op in &self.operations {
            apply_operation(&mut attrs, op)?;
        }
        declare_extensions(&mut attrs);
        UserDoc::from_request(Value::Object(attrs))
    }
}

fn take_ci(map: &mut Map<String, Value>, key: &str) -> Option<Value> {
    let actual = map.keys().find(|k| k.eq_ignore_ascii_case(key))?.clone();
    map.remove(&actual)
}

fn parse_operation(op: Value) -> Result<Operation, ScimError> {
    let Value::Object(mut op) = op else {
        return Err(ScimError::invalid_syntax("Each operation must be a JSON object."));
    };
    let kind = match take_ci(&mut op, "op").as_ref().and_then(Value::as_str) {
        Some(k) if k.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(k) if k.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(k) if k.eq_ignore_ascii_case("remove") => OpKind::Remove,
        _ => {
            return Err(ScimError::invalid_syntax("\"op\" must be one of add, replace, remove."));
        }
    };
    let target = match take_ci(&mut op, "path") {
        None | Some(Value::Null) => Target::Resource,
        Some(Value::String(p)) if p.trim().is_empty() => Target::Resource,
        Some(Value::String(p)) => parse_path(p.trim())?,
        Some(_) => return Err(ScimError::invalid_path("\"path\" must be a string.")),
    };
    let value = take_ci(&mut op, "value").filter(|v| !v.is_null());
    match (kind, &target, &value) {
        (OpKind::Remove, Target::Resource, _) => {
            Err(ScimError::bad_request(ScimType::NoTarget, "\"remove\" requires a \"path\"."))
        }
        (OpKind::Add | OpKind::Replace, _, None) => {
            Err(ScimError::invalid_value("\"add\" and \"replace\" require a \"value\"."))
        }
        (OpKind::Add | OpKind::Replace, Target::Resource | Target::Extension(_), Some(v)) if !v.is_object() => {
            Err(ScimError::invalid_value("Without an attribute path, \"value\" must be a JSON object."))
        }
        _ => Ok(Operation { kind, target, value }),
    }
}

/// Parses a PATCH `path` (attribute paths only; value filters are not supported).
pub fn parse_path(path: &str) -> Result<Target, ScimError> {
    if path.contains('[') || path.contains(']') {
        return Err(ScimError::invalid_path(
            "Value filters in PATCH paths are not supported by this server; send the whole multi-valued attribute.",
        ));
    }
    if path.len() > 512 {
        return Err(ScimError::invalid_path("The path is too long."));
    }
    let (schema, rest): (Option<&'static SchemaDef>, &str) = match split_urn(path) {
        Some((urn, rest)) => {
            if urn.eq_ignore_ascii_case(USER_SCHEMA) {
                (None, rest)
            } else if let Some(ext) = user_extension(urn) {
                if rest.is_empty() {
                    return Ok(Target::Extension(ext.id));
                }
                (Some(ext), rest)
            } else {
                return Err(ScimError::invalid_path(format!("Unknown schema in path \"{path}\".")));
            }
        }
        None => (None, path),
    };
    let (attr, sub) = match rest.split_once('.') {
        Some((a, s)) => (a, Some(s)),
        None => (rest, None),
    };
    if attr.is_empty() || sub.is_some_and(|s| s.is_empty() || s.contains('.')) || !is_attr_name(attr) {
        return Err(ScimError::invalid_path(format!("\"{path}\" is not a valid attribute path.")));
    }
    let def = match schema {
        Some(ext) => ext.attribute(attr),
        None => user_attribute(attr),
    };
    let Some(def) = def else {
        if schema.is_some() {
            return Err(ScimError::invalid_path(format!("\"{path}\" names no attribute of its schema.")));
        }
        // An attribute outside the schema, kept as the client sent it.
        return Ok(Target::Attribute(AttrPath {
            extension: None,
            attribute: attr.to_string(),
            sub_attribute: sub.map(str::to_string),
        }));
    };
    if def.mutability == Mutability::ReadOnly {
        return Err(ScimError::bad_request(ScimType::Mutability, format!("\"{}\" is read-only.", def.name)));
    }
    let sub_attribute = match sub {
        None => None,
        Some(s) => {
            if def.ty != AttrType::Complex {
                return Err(ScimError::invalid_path(format!("\"{}\" has no sub-attributes.", def.name)));
            }
            if def.multi_valued {
                return Err(ScimError::invalid_path(format!(
                    "Sub-attributes of the multi-valued \"{}\" need a value filter, which this server does not support.",
                    def.name
                )));
            }
            Some(def.sub_attribute(s).map_or_else(|| s.to_string(), |d| d.name.to_string()))
        }
    };
    Ok(Target::Attribute(AttrPath { extension: schema.map(|s| s.id), attribute: def.name.to_string(), sub_attribute }))
}

fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Splits `urn:…:Schema:attr.sub` into the schema URN and the rest (`""` when the path is the URN alone).
fn split_urn(path: &str) -> Option<(&str, &str)> {
    if !path.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
        return None;
    }
    for candidate in std::iter::once(USER_SCHEMA).chain(super::schema::USER_EXTENSIONS.iter().map(|s| s.id)) {
        if let Some(head) = path.get(..candidate.len()) {
            if head.eq_ignore_ascii_case(candidate) {
                let rest = &path[candidate.len()..];
                if rest.is_empty() {
                    return Some((head, ""));
                }
                if let Some(rest) = rest.strip_prefix(':') {
                    return Some((head, rest));
                }
            }
        }
    }
    // An unknown URN: everything up to the last ':' before the attribute.
    let (urn, rest) = path.rsplit_once(':')?;
    Some((urn, rest))
}

fn def_for(path: &AttrPath) -> Option<&'static AttributeDef> {
    match path.extension {
        Some(ext) => user_extension(ext).and_then(|s| s.attribute(&path.attribute)),
        None => user_attribute(&path.attribute),
    }
}

fn apply_operation(attrs: &mut Map<String, Value>, op: &Operation) -> Result<(), ScimError> {
    match &op.target {
        Target::Resource => {
            let Some(Value::Object(values)) = &op.value else {
                return Ok(());
            };
            for (key, value) in values {
                if key.eq_ignore_ascii_case("schemas") {
                    continue;
                }
                if let Some(ext) = user_extension(key) {
                    merge_extension(attrs, ext, value, op.kind)?;
                    continue;
                }
                let Target::Attribute(path) = parse_path(key)? else {
                    return Err(ScimError::invalid_path(format!("\"{key}\" is not an attribute.")));
                };
                set(attrs, &path, value.clone(), op.kind)?;
            }
            Ok(())
        }
        Target::Extension(urn) => match op.kind {
            OpKind::Remove => {
                remove_ci(attrs, urn);
                Ok(())
            }
            kind => {
                let ext = user_extension(urn).ok_or_else(|| ScimError::invalid_path("Unknown extension."))?;
                merge_extension(attrs, ext, op.value.as_ref().unwrap_or(&Value::Null), kind)
            }
        },
        Target::Attribute(path) => match op.kind {
            OpKind::Remove => remove(attrs, path),
            kind => set(attrs, path, op.value.clone().unwrap_or(Value::Null), kind),
        },
    }
}

fn merge_extension(
    attrs: &mut Map<String, Value>,
    ext: &'static SchemaDef,
    value: &Value,
    kind: OpKind,
) -> Result<(), ScimError> {
    let Value::Object(values) = value else {
        return Err(ScimError::invalid_value(format!("The value of {} must be a JSON object.", ext.id)));
    };
    for (key, v) in values {
        let attribute = ext.attribute(key).map_or_else(|| key.clone(), |d| d.name.to_string());
        let path = AttrPath { extension: Some(ext.id), attribute, sub_attribute: None };
        set(attrs, &path, v.clone(), kind)?;
    }
    Ok(())
}

/// The object holding `path`'s attribute: the resource itself or its extension object (created on demand).
fn container<'a>(
    attrs: &'a mut Map<String, Value>,
    path: &AttrPath,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    match path.extension {
        None => Some(attrs),
        Some(urn) => {
            if !attrs.contains_key(urn) {
                if !create {
                    return None;
                }
                attrs.insert(urn.to_string(), Value::Object(Map::new()));
            }
            attrs.get_mut(urn).and_then(Value::as_object_mut)
        }
    }
}

fn set(attrs: &mut Map<String, Value>, path: &AttrPath, value: Value, kind: OpKind) -> Result<(), ScimError> {
    let def = def_for(path);
    if let Some(def) = def {
        if def.mutability == Mutability::ReadOnly {
            return Err(ScimError::bad_request(ScimType::Mutability, format!("\"{}\" is read-only.", def.name)));
        }
        if def.mutability == Mutability::WriteOnly {
            // The password is accepted and never stored.
            return Ok(());
        }
    }
    let Some(target) = container(attrs, path, true) else {
        return Ok(());
    };
    let key = existing_key(target, &path.attribute);
    match &path.sub_attribute {
        Some(sub) => {
            let slot = target.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(inner) = slot else {
                return Err(ScimError::invalid_value(format!("\"{}\" is not a complex attribute.", path.attribute)));
            };
            let sub_key = existing_key(inner, sub);
            inner.insert(sub_key, value);
        }
        None => {
            let multi = def.is_some_and(|d| d.multi_valued);
            let complex = def.is_some_and(|d| d.ty == AttrType::Complex);
            match (target.get_mut(&key), value) {
                // add to a multi-valued attribute appends the new values (RFC 7644 §3.5.2.1).
                (Some(Value::Array(existing)), Value::Array(new)) if multi && kind == OpKind::Add => {
                    for item in new {
                        if !existing.contains(&item) {
                            existing.push(item);
                        }
                    }
                }
                // a singular complex attribute: the sub-attributes given replace or add; others stay.
                (Some(Value::Object(existing)), Value::Object(new)) if complex && !multi => {
                    for (k, v) in new {
                        let k = existing_key(existing, &k);
                        existing.insert(k, v);
                    }
                }
                (_, value) => {
                    target.insert(key, value);
                }
            }
        }
    }
    Ok(())
}

fn remove(attrs: &mut Map<String, Value>, path: &AttrPath) -> Result<(), ScimError> {
    if let Some(def) = def_for(path) {
        if def.required && path.sub_attribute.is_none() {
            return Err(ScimError::bad_request(ScimType::Mutability, format!("\"{}\" is required.", def.name)));
        }
    }
    let Some(target) = container(attrs, path, false) else {
        return Ok(());
    };
    match &path.sub_attribute {
        None => {
            remove_ci(target, &path.attribute);
        }
        Some(sub) => {
            let key = existing_key(target, &path.attribute);
            if let Some(Value::Object(inner)) = target.get_mut(&key) {
                remove_ci(inner, sub);
                if inner.is_empty() {
                    target.remove(&key);
                }
            }
        }
    }
    Ok(())
}

fn existing_key(map: &Map<String, Value>, name: &str) -> String {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.to_string())
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    let key = existing_key(map, name);
    map.remove(&key);
}

/// Lists every extension present in `schemas`, so validation sees them declared.
fn declare_extensions(attrs: &mut Map<String, Value>) {
    let present: Vec<&'static str> =
        super::schema::USER_EXTENSIONS.iter().map(|s| s.id).filter(|urn| attrs.contains_key(*urn)).collect();
    let schemas = attrs.entry("schemas").or_insert_with(|| Value::Array(vec![Value::String(USER_SCHEMA.into())]));
    if let Value::Array(list) = schemas {
        for urn in present {
            if !list.iter().any(|u| u.as_str() == Some(urn)) {
                list.push(Value::String(urn.into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::ENTERPRISE_USER_SCHEMA;
    use serde_json::json;

    fn doc() -> UserDoc {
        UserDoc::from_request(json!({
            "schemas": [USER_SCHEMA],
            "userName": "ada@example.com",
            "displayName": "Ada",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            "active": true,
        }))
        .unwrap()
    }

    fn patch(ops: Value) -> Result<UserDoc, ScimError> {
        PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))?.apply(&doc())
    }

    #[test]
    fn okta_deactivate_and_reactivate() {
        let off = patch(json!([{"op": "replace", "value": {"active": false}}])).unwrap();
        assert!(!off.active());
        let on = PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA],
            "Operations": [{"op": "replace", "value": {"active": true}}]}))
        .unwrap()
        .apply(&off)
        .unwrap();
        assert!(on.active());
        assert_eq!(on.attributes()["name"], doc().attributes()["name"]);
    }

    #[test]
    fn entra_capitalised_op_and_string_boolean() {
        let out = patch(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
        assert!(!out.active());
    }

    #[test]
    fn sub_attribute_and_extension_paths() {
        let out = patch(json!([
            {"op": "replace", "path": "name.familyName", "value": "Byron"},
            {"op": "add", "path": format!("{ENTERPRISE_USER_SCHEMA}:department"), "value": "Analytics"},
            {"op": "add", "path": format!("{ENTERPRISE_USER_SCHEMA}:manager"), "value": {"displayName": "Babbage"}},
        ]))
        .unwrap();
        assert_eq!(out.attributes()["name"], json!({"givenName": "Ada", "familyName": "Byron"}));
        assert_eq!(out.attributes()[ENTERPRISE_USER_SCHEMA]["department"], "Analytics");
        assert_eq!(out.attributes()[ENTERPRISE_USER_SCHEMA]["manager"]["displayName"], "Babbage");
        assert!(out.attributes()["schemas"].as_array().unwrap().contains(&json!(ENTERPRISE_USER_SCHEMA)));
    }

    #[test]
    fn add_appends_to_multi_valued_and_remove_deletes() {
        let out = patch(json!([
            {"op": "add", "path": "emails", "value": [{"value": "ada@home.example", "type": "home"}]},
            {"op": "remove", "path": "name.givenName"},
        ]))
        .unwrap();
        assert_eq!(out.attributes()["emails"].as_array().map(Vec::len), Some(2));
        assert_eq!(out.attributes()["name"], json!({"familyName": "Lovelace"}));
    }

    #[test]
    fn no_path_replace_merges_complex_attributes() {
        let out =
            patch(json!([{"op": "replace", "value": {"name": {"familyName": "King"}, "title": "Countess"}}])).unwrap();
        assert_eq!(out.attributes()["name"], json!({"givenName": "Ada", "familyName": "King"}));
        assert_eq!(out.attributes()["title"], "Countess");
    }

    #[test]
    fn errors_are_scim_errors() {
        let cases: Vec<(Value, ScimType)> = vec![
            (json!([{"op": "remove"}]), ScimType::NoTarget),
            (json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "x"}]), ScimType::InvalidPath),
            (json!([{"op": "replace", "path": "id", "value": "x"}]), ScimType::Mutability),
            (json!([{"op": "remove", "path": "userName"}]), ScimType::Mutability),
            (json!([{"op": "replace", "path": "active", "value": "perhaps"}]), ScimType::InvalidValue),
            (json!([{"op": "replace", "path": "displayName"}]), ScimType::InvalidValue),
            (json!([{"op": "move", "path": "title", "value": "x"}]), ScimType::InvalidSyntax),
            (json!([{"op": "replace", "path": "urn:example:unknown:attr", "value": "x"}]), ScimType::InvalidPath),
            (json!([{"op": "replace", "path": "name..x", "value": "x"}]), ScimType::InvalidPath),
            (json!([{"op": "replace", "value": "not an object"}]), ScimType::InvalidValue),
        ];
        for (ops, expected) in cases {
            let err = patch(ops.clone()).unwrap_err();
            assert_eq!((err.status, err.scim_type), (400, Some(expected)), "{ops}");
        }
        let err = PatchRequest::parse(json!({"Operations": [{"op": "remove", "path": "title"}]})).unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidSyntax));
        let err = PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []})).unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn a_failing_operation_changes_nothing() {
        let before = doc();
        let request = PatchRequest::parse(json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
            {"op": "replace", "path": "title", "value": "Countess"},
            {"op": "replace", "path": "active", "value": 3},
        ]}))
        .unwrap();
        assert!(request.apply(&before).is_err());
        assert_eq!(before, doc());
    }

    #[test]
    fn password_is_accepted_and_dropped() {
        let out = patch(json!([{"op": "replace", "path": "password", "value": "hunter2"}])).unwrap();
        assert!(!out.attributes().contains_key("password"));
    }
}
