//! PATCH (RFC 7644 §3.5.2): parse a PatchOp message and apply it to a User document.
//!
//! Paths name an attribute (`title`), a sub-attribute (`name.givenName`), an extension attribute
//! (`urn:…:enterprise:2.0:User:department`) or object, or values selected by a value filter (`emails[type eq "work"]`,
//! `addresses[type eq "work"].locality`); value filters are the filter grammar of [`super::filter`], typed by the
//! schema. Semantics (RFC 7644 §3.5.2.1–3):
//! - `add` appends to a multi-valued attribute (a value already present is not repeated), merges the sub-attributes
//!   of a complex value and sets anything else; `replace` replaces (sub-attributes of a singular complex value
//!   merge); `remove` unassigns. A sub-attribute of a multi-valued attribute without a filter (`emails.display`)
//!   denotes that sub-attribute of every value.
//! - With a value filter, `add` and `replace` apply to the matching values (`replace` of whole values replaces
//!   them); `remove` removes the matching values, or their sub-attribute. `add` or `replace` matching nothing is 400
//!   `noTarget` (but see Microsoft Entra ID below); `remove` matching nothing changes nothing. A filter on a singular
//!   complex attribute (`…:manager[value eq "…"]`) selects its value or nothing.
//! - When an operation makes a value `primary`, the other values of the attribute stop being primary (RFC 7643 §2.4).
//!
//! Microsoft Entra ID sends shapes beyond the RFC, accepted here: operation names in any case (`"Replace"`);
//! booleans as strings (`"False"`); `manager` as the bare id of the manager (stored as `{"value": id}`); `remove` with
//! the values to remove in `value` (`{"op":"Remove","path":"emails","value":[{"value":"…"}]}`); no-path values keyed
//! by full paths (`"name.givenName"`, `"urn:…:enterprise:2.0:User:department"`); and `add` or `replace` of
//! `attr[type eq "X"].sub` when no value has type X, meaning "create it": the value `{"type": "X", "sub": …}` is
//! added (also for `add` of `attr[type eq "X"]`).
//!
//! Operations apply in order to a copy, and the result is validated again as a whole document: a request applies
//! entirely or not at all, and a PATCH can never store what a PUT could not.

use super::error::{ScimError, ScimType};
use super::filter::{self, CompValue, CompareOp, Filter};
use super::schema::{
    AttrType, AttributeDef, Mutability, PATCH_OP_SCHEMA, SchemaDef, USER_SCHEMA, user_attribute, user_extension,
};
use super::user::UserDoc;
use serde_json::{Map, Value};

mod apply;
use apply::*;

/// Most operations accepted in one PATCH request.
pub const MAX_OPERATIONS: usize = 100;
/// Longest `path` accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;

/// A PATCH operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

/// An attribute path, resolved against the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct AttrPath {
    /// The extension schema URN, for extension attributes.
    pub extension: Option<&'static str>,
    /// Canonical attribute name (or the name as sent, for attributes outside the schema).
    pub attribute: String,
    /// The value filter selecting values of a complex attribute (`emails[type eq "work"]`).
    pub filter: Option<Filter>,
    /// Canonical sub-attribute name (or the name as sent, for sub-attributes outside the schema).
    pub sub_attribute: Option<String>,
}

impl AttrPath {
    /// Whether the path names the core `active` attribute itself.
    fn is_active(&self) -> bool {
        self.extension.is_none()
            && self.attribute.eq_ignore_ascii_case("active")
            && self.filter.is_none()
            && self.sub_attribute.is_none()
    }
}

/// A PATCH target: the whole resource, a whole extension object, or an attribute.
#[derive(Debug, Clone, PartialEq)]
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
            // An unassigned `active` reads as active: removing it from a deactivated user would reactivate them.
            let removes_active =
                op.kind == OpKind::Remove && matches!(&op.target, Target::Attribute(path) if path.is_active());
            if removes_active && !UserDoc::from_stored(attrs.clone()).active() {
                return Err(ScimError::invalid_value(
                    "\"active\" cannot be removed from a deactivated user (that would reactivate them): replace it \
                     with true to reactivate.",
                ));
            }
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

/// Parses a PATCH `path` (RFC 7644 §3.5.2: `attrPath / valuePath [subAttr]`).
///
/// A malformed path, an unknown schema or attribute of a known schema, or a value filter on an attribute that is not
/// complex is 400 `invalidPath`; a malformed or ill-typed filter inside the brackets is 400 `invalidFilter`; a
/// read-only attribute is 400 `mutability`.
pub fn parse_path(path: &str) -> Result<Target, ScimError> {
    if path.len() > MAX_PATH_BYTES {
        return Err(ScimError::invalid_path("The path is too long."));
    }
    let malformed = || ScimError::invalid_path(format!("\"{path}\" is not a valid attribute path."));
    let (head, value_path) = split_value_path(path).ok_or_else(malformed)?;
    let (schema, rest): (Option<&'static SchemaDef>, &str) = match split_urn(head) {
        Some((urn, rest)) => {
            if urn.eq_ignore_ascii_case(USER_SCHEMA) {
                (None, rest)
            } else if let Some(ext) = user_extension(urn) {
                if rest.is_empty() && value_path.is_none() {
                    return Ok(Target::Extension(ext.id));
                }
                (Some(ext), rest)
            } else {
                return Err(ScimError::invalid_path(format!("Unknown schema in path \"{path}\".")));
            }
        }
        None => (None, head),
    };
    let (attr, sub) = match value_path {
        Some(value_path) => (rest, value_path.sub),
        None => match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        },
    };
    if !is_attr_name(attr) || sub.is_some_and(|s| !is_attr_name(s)) {
        return Err(malformed());
    }
    let def = match schema {
        Some(ext) => ext.attribute(attr),
        None => user_attribute(attr),
    };
    let Some(def) = def else {
        if schema.is_some() {
            return Err(ScimError::invalid_path(format!("\"{path}\" names no attribute of its schema.")));
        }
        if value_path.is_some() {
            return Err(ScimError::invalid_path(format!(
                "\"{attr}\" is not an attribute of the User schema: value filters apply to complex attributes only."
            )));
        }
        // An attribute outside the schema, kept as the client sent it.
        return Ok(Target::Attribute(AttrPath {
            extension: None,
            attribute: attr.to_string(),
            filter: None,
            sub_attribute: sub.map(str::to_string),
        }));
    };
    if def.mutability == Mutability::ReadOnly {
        return Err(read_only(def));
    }
    if def.ty != AttrType::Complex && (value_path.is_some() || sub.is_some()) {
        return Err(ScimError::invalid_path(format!(
            "\"{}\" is not a complex attribute: it has no sub-attributes and takes no value filter.",
            def.name
        )));
    }
    let filter = match value_path {
        Some(value_path) => Some(filter::parse_value_filter(value_path.filter, def)?),
        None => None,
    };
    let sub_attribute = match sub {
        None => None,
        Some(s) => match def.sub_attribute(s) {
            Some(sub_def) if sub_def.mutability == Mutability::ReadOnly => return Err(read_only(sub_def)),
            Some(sub_def) => Some(sub_def.name.to_string()),
            None => Some(s.to_string()),
        },
    };
    Ok(Target::Attribute(AttrPath {
        extension: schema.map(|s| s.id),
        attribute: def.name.to_string(),
        filter,
        sub_attribute,
    }))
}

fn read_only(def: &AttributeDef) -> ScimError {
    ScimError::bad_request(ScimType::Mutability, format!("\"{}\" is read-only.", def.name))
}

/// The bracketed part of a path and what follows it: `[filter]` and `.sub` in `attr[filter].sub`.
#[derive(Clone, Copy)]
struct ValuePathText<'a> {
    filter: &'a str,
    sub: Option<&'a str>,
}

/// Splits `attr[filter].sub` into `attr` and its value path; a path without brackets is returned whole. `None` when
/// the brackets are malformed.
fn split_value_path(path: &str) -> Option<(&str, Option<ValuePathText<'_>>)> {
    let Some(open) = path.find('[') else {
        return (!path.contains(']')).then_some((path, None));
    };
    // The matching closing bracket, outside the filter's string literals.
    let mut in_string = false;
    let mut escaped = false;
    let mut nested = 0usize;
    let mut close = None;
    for (i, c) in path[open + 1..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '[' if !in_string => nested += 1,
            ']' if !in_string && nested > 0 => nested -= 1,
            ']' if !in_string => {
                close = Some(open + 1 + i);
                break;
            }
            _ => {}
        }
    }
    let close = close?;
    let sub = match &path[close + 1..] {
        "" => None,
        tail => Some(tail.strip_prefix('.')?),
    };
    Some((&path[..open], Some(ValuePathText { filter: &path[open + 1..close], sub })))
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

#[cfg(test)]
mod tests;
