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
                // Keys may be attribute names, extension URNs, or full paths (Microsoft Entra ID sends
                // `"name.givenName"` and `"urn:…:enterprise:2.0:User:department"`).
                match parse_path(key)? {
                    Target::Attribute(path) => apply_at(attrs, &path, op.kind, Some(value.clone()))?,
                    Target::Extension(urn) => merge_extension(attrs, urn, value, op.kind)?,
                    Target::Resource => return Err(ScimError::invalid_path(format!("\"{key}\" is not an attribute."))),
                }
            }
            Ok(())
        }
        Target::Extension(urn) => match op.kind {
            OpKind::Remove => {
                remove_ci(attrs, urn);
                Ok(())
            }
            kind => merge_extension(attrs, urn, op.value.as_ref().unwrap_or(&Value::Null), kind),
        },
        Target::Attribute(path) => apply_at(attrs, path, op.kind, op.value.clone()),
    }
}

/// Applies the members of an extension object, each as an operation on that extension's attribute.
fn merge_extension(
    attrs: &mut Map<String, Value>,
    urn: &'static str,
    value: &Value,
    kind: OpKind,
) -> Result<(), ScimError> {
    let ext = user_extension(urn).ok_or_else(|| ScimError::invalid_path("Unknown extension."))?;
    let Value::Object(values) = value else {
        return Err(ScimError::invalid_value(format!("The value of {} must be a JSON object.", ext.id)));
    };
    for (key, v) in values {
        let path = if ext.attribute(key).is_none() && is_attr_name(key) {
            // An attribute the extension does not define, kept as sent.
            AttrPath { extension: Some(ext.id), attribute: key.clone(), filter: None, sub_attribute: None }
        } else {
            match parse_path(&format!("{}:{key}", ext.id))? {
                Target::Attribute(path) => path,
                _ => return Err(ScimError::invalid_path(format!("\"{key}\" is not an attribute of {}.", ext.id))),
            }
        };
        apply_at(attrs, &path, kind, Some(v.clone()))?;
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
            let key = existing_key(attrs, urn);
            if !attrs.contains_key(&key) {
                if !create {
                    return None;
                }
                attrs.insert(key.clone(), Value::Object(Map::new()));
            }
            attrs.get_mut(&key).and_then(Value::as_object_mut)
        }
    }
}

/// Checks that an operation may change the attribute `def`, currently assigned or not (RFC 7643 §7, RFC 7644
/// §3.5.2: an immutable attribute may only be added when it has no value).
fn check_mutability(def: &AttributeDef, assigned: bool) -> Result<(), ScimError> {
    match def.mutability {
        Mutability::ReadOnly => Err(read_only(def)),
        Mutability::Immutable if assigned => Err(ScimError::bad_request(
            ScimType::Mutability,
            format!("\"{}\" is immutable and already has a value.", def.name),
        )),
        _ => Ok(()),
    }
}

fn apply_at(
    attrs: &mut Map<String, Value>,
    path: &AttrPath,
    kind: OpKind,
    value: Option<Value>,
) -> Result<(), ScimError> {
    let def = def_for(path);
    if let Some(def) = def {
        let assigned = container(attrs, path, false).is_some_and(|c| c.contains_key(&existing_key(c, def.name)));
        check_mutability(def, assigned)?;
        if def.mutability == Mutability::WriteOnly {
            // The password is accepted and never stored.
            return Ok(());
        }
    }
    match kind {
        OpKind::Remove => remove(attrs, path, def, value.as_ref()),
        OpKind::Add | OpKind::Replace => {
            let value =
                value.ok_or_else(|| ScimError::invalid_value("\"add\" and \"replace\" require a \"value\"."))?;
            match (&path.filter, def) {
                (Some(filter), Some(def)) => set_selected(attrs, path, def, filter, value, kind),
                _ => set(attrs, path, def, value, kind),
            }
        }
    }
}

/// `add` and `replace` without a value filter.
fn set(
    attrs: &mut Map<String, Value>,
    path: &AttrPath,
    def: Option<&'static AttributeDef>,
    value: Value,
    kind: OpKind,
) -> Result<(), ScimError> {
    let Some(target) = container(attrs, path, true) else {
        return Ok(());
    };
    let key = existing_key(target, &path.attribute);
    let multi = def.is_some_and(|d| d.multi_valued);
    match (&path.sub_attribute, def) {
        // The sub-attribute of every value (a value is created when there is none).
        (Some(sub), Some(def)) if multi => {
            let items = multi_values(target, &key, def)?;
            if items.is_empty() {
                items.push(Value::Object(Map::new()));
            }
            let all: Vec<usize> = (0..items.len()).collect();
            set_sub_of(items, &all, def, sub, &value)
        }
        (Some(sub), _) => {
            let slot = target.entry(key).or_insert_with(|| Value::Object(Map::new()));
            set_sub(slot, &path.attribute, sub, value)
        }
        (None, Some(def)) if multi => {
            let new = elements(def, value);
            match kind {
                // add to a multi-valued attribute appends the new values (RFC 7644 §3.5.2.1).
                OpKind::Add => {
                    let items = multi_values(target, &key, def)?;
                    let mut made_primary = Vec::new();
                    for item in new {
                        if !items.contains(&item) {
                            if is_primary(&item) {
                                made_primary.push(items.len());
                            }
                            items.push(item);
                        }
                    }
                    keep_one_primary(items, &made_primary);
                }
                _ => {
                    target.insert(key, Value::Array(new));
                }
            }
            Ok(())
        }
        (None, _) => {
            let complex = def.filter(|d| d.ty == AttrType::Complex);
            let value = match complex {
                Some(def) => complex_value(def, value),
                None => value,
            };
            match (target.get_mut(&key), value) {
                // a singular complex attribute: the sub-attributes given replace or add; others stay.
                (Some(Value::Object(existing)), Value::Object(new)) if complex.is_some() => {
                    for (k, v) in new {
                        let k = existing_key(existing, &k);
                        existing.insert(k, v);
                    }
                }
                (_, value) => {
                    target.insert(key, value);
                }
            }
            Ok(())
        }
    }
}

/// `add` and `replace` of the values a value filter selects.
fn set_selected(
    attrs: &mut Map<String, Value>,
    path: &AttrPath,
    def: &'static AttributeDef,
    filter: &Filter,
    value: Value,
    kind: OpKind,
) -> Result<(), ScimError> {
    let no_target =
        || ScimError::bad_request(ScimType::NoTarget, format!("No value of \"{}\" matches the filter.", def.name));
    let Some(target) = container(attrs, path, true) else {
        return Ok(());
    };
    let key = existing_key(target, &path.attribute);
    if !def.multi_valued {
        // A singular complex attribute: the filter selects its value or nothing.
        let Some(slot) = target.get_mut(&key).filter(|v| filter.matches_value(v, def)) else {
            return Err(no_target());
        };
        return match &path.sub_attribute {
            Some(sub) => set_sub(slot, def.name, sub, value),
            None => {
                let value = complex_value(def, value);
                match (kind, slot.as_object_mut(), &value) {
                    (OpKind::Add, Some(existing), Value::Object(new)) => {
                        for (k, v) in new {
                            existing.insert(existing_key(existing, k), v.clone());
                        }
                    }
                    _ => *slot = value,
                }
                Ok(())
            }
        };
    }
    let items = multi_values(target, &key, def)?;
    let selected: Vec<usize> = (0..items.len()).filter(|&i| filter.matches_value(&items[i], def)).collect();
    if selected.is_empty() {
        // Microsoft Entra ID: `add` or `replace` of `attr[type eq "X"].sub`, or `add` of `attr[type eq "X"]`, when
        // no value has type X creates that value.
        let creates = path.sub_attribute.is_some() || kind == OpKind::Add;
        let Some(ty) = created_type(filter, def).filter(|_| creates) else {
            return Err(no_target());
        };
        let mut element = Map::new();
        element.insert("type".into(), Value::String(ty));
        items.push(Value::Object(element));
        let created = [items.len() - 1];
        return match &path.sub_attribute {
            Some(sub) => set_sub_of(items, &created, def, sub, &value),
            None => merge_into(items, &created, def, value),
        };
    }
    match (&path.sub_attribute, kind) {
        (Some(sub), _) => set_sub_of(items, &selected, def, sub, &value),
        (None, OpKind::Add) => merge_into(items, &selected, def, value),
        (None, _) => {
            let Value::Object(_) = value else {
                return Err(ScimError::invalid_value(format!("Values of \"{}\" are JSON objects.", def.name)));
            };
            let replacement = element(def, value);
            for &i in &selected {
                items[i] = replacement.clone();
            }
            let made_primary = if is_primary(&replacement) { selected } else { Vec::new() };
            keep_one_primary(items, &made_primary);
            Ok(())
        }
    }
}

/// The type a value filter of the form `type eq "X"` selects, when `def` has a `type` sub-attribute.
fn created_type(filter: &Filter, def: &AttributeDef) -> Option<String> {
    match filter {
        Filter::Compare { path, op: CompareOp::Eq, value: CompValue::String(ty) }
            if path.attribute == "type" && path.sub_attribute.is_none() && def.sub_attribute("type").is_some() =>
        {
            Some(ty.clone())
        }
        _ => None,
    }
}

/// Sets the sub-attribute `sub` of the values at `indices`.
fn set_sub_of(
    items: &mut [Value],
    indices: &[usize],
    def: &AttributeDef,
    sub: &str,
    value: &Value,
) -> Result<(), ScimError> {
    for &i in indices {
        set_sub(&mut items[i], def.name, sub, value.clone())?;
    }
    let made_primary = if sub == "primary" && is_true(value) { indices.to_vec() } else { Vec::new() };
    keep_one_primary(items, &made_primary);
    Ok(())
}

/// Merges the sub-attributes of the object `value` into the values at `indices`.
fn merge_into(items: &mut [Value], indices: &[usize], def: &AttributeDef, value: Value) -> Result<(), ScimError> {
    let Value::Object(new) = element(def, value) else {
        return Err(ScimError::invalid_value(format!("Values of \"{}\" are JSON objects.", def.name)));
    };
    for &i in indices {
        if let Value::Object(existing) = &mut items[i] {
            for (k, v) in &new {
                existing.insert(existing_key(existing, k), v.clone());
            }
        }
    }
    let made_primary = if new.get("primary").is_some_and(is_true) { indices.to_vec() } else { Vec::new() };
    keep_one_primary(items, &made_primary);
    Ok(())
}

fn set_sub(slot: &mut Value, attribute: &str, sub: &str, value: Value) -> Result<(), ScimError> {
    let Value::Object(inner) = slot else {
        return Err(ScimError::invalid_value(format!("\"{attribute}\" is not a complex attribute.")));
    };
    let sub_key = existing_key(inner, sub);
    inner.insert(sub_key, value);
    Ok(())
}

/// The array of a multi-valued attribute, created empty when unassigned.
fn multi_values<'a>(
    target: &'a mut Map<String, Value>,
    key: &str,
    def: &AttributeDef,
) -> Result<&'a mut Vec<Value>, ScimError> {
    match target.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(items) => Ok(items),
        _ => Err(ScimError::invalid_value(format!("\"{}\" must be an array.", def.name))),
    }
}

/// The values an `add` or `replace` of a whole multi-valued attribute gives: an array, or one value.
fn elements(def: &AttributeDef, value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.into_iter().map(|v| element(def, v)).collect(),
        single => vec![element(def, single)],
    }
}

/// One value of a complex attribute with canonical sub-attribute names and without `null`s, so that equal values
/// compare equal.
fn element(def: &AttributeDef, value: Value) -> Value {
    match value {
        Value::Object(members) if def.ty == AttrType::Complex => Value::Object(
            members
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| match def.sub_attribute(&k) {
                    Some(sub) if sub.ty == AttrType::Boolean => {
                        let coerced = v.as_str().and_then(boolean_string);
                        (sub.name.to_string(), coerced.unwrap_or(v))
                    }
                    Some(sub) => (sub.name.to_string(), v),
                    None => (k, v),
                })
                .collect(),
        ),
        other => other,
    }
}

fn boolean_string(s: &str) -> Option<Value> {
    if s.eq_ignore_ascii_case("true") {
        Some(Value::Bool(true))
    } else if s.eq_ignore_ascii_case("false") {
        Some(Value::Bool(false))
    } else {
        None
    }
}

/// The value of a singular complex attribute: an object, or (Microsoft Entra ID's `manager`) the bare `value`.
fn complex_value(def: &AttributeDef, value: Value) -> Value {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) if def.sub_attribute("value").is_some() => {
            let mut members = Map::new();
            members.insert("value".into(), value);
            Value::Object(members)
        }
        other => element(def, other),
    }
}

fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn is_primary(value: &Value) -> bool {
    value.get("primary").is_some_and(is_true)
}

/// RFC 7643 §2.4: when an operation made the values at `made_primary` primary, the others stop being primary.
fn keep_one_primary(items: &mut [Value], made_primary: &[usize]) {
    if made_primary.is_empty() {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if made_primary.contains(&i) || !is_primary(item) {
            continue;
        }
        if let Value::Object(members) = item {
            let key = existing_key(members, "primary");
            members.insert(key, Value::Bool(false));
        }
    }
}

fn remove(
    attrs: &mut Map<String, Value>,
    path: &AttrPath,
    def: Option<&'static AttributeDef>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    if let Some(def) = def {
        if def.required && path.sub_attribute.is_none() {
            return Err(ScimError::bad_request(ScimType::Mutability, format!("\"{}\" is required.", def.name)));
        }
    }
    let Some(target) = container(attrs, path, false) else {
        return Ok(());
    };
    let key = existing_key(target, &path.attribute);
    let Some(current) = target.get_mut(&key) else {
        return Ok(());
    };
    let now_empty = match (&path.filter, def, &path.sub_attribute) {
        (Some(filter), Some(def), sub) => match current {
            Value::Array(items) => {
                for item in items.iter_mut().filter(|v| filter.matches_value(v, def)) {
                    match sub {
                        Some(sub) => remove_sub(item, sub),
                        None => *item = Value::Null,
                    }
                }
                items.retain(|v| !is_unassigned(v));
                items.is_empty()
            }
            single if filter.matches_value(single, def) => match sub {
                Some(sub) => {
                    remove_sub(single, sub);
                    is_unassigned(single)
                }
                None => true,
            },
            _ => false,
        },
        (_, _, Some(sub)) => match current {
            Value::Array(items) => {
                items.iter_mut().for_each(|item| remove_sub(item, sub));
                items.retain(|v| !is_unassigned(v));
                items.is_empty()
            }
            single => {
                remove_sub(single, sub);
                is_unassigned(single)
            }
        },
        // Microsoft Entra ID names the values to remove in `value`.
        (_, _, None) => match (value, current) {
            (None, _) => true,
            (Some(given), Value::Array(items)) => {
                let given: Vec<&Value> = match given {
                    Value::Array(values) => values.iter().collect(),
                    one => vec![one],
                };
                items.retain(|item| !given.iter().any(|g| same_value(def, item, g)));
                items.is_empty()
            }
            (Some(given), single) => {
                let given: Vec<&Value> = match given {
                    Value::Array(values) => values.iter().collect(),
                    one => vec![one],
                };
                given.iter().any(|g| same_value(def, single, g))
            }
        },
    };
    if now_empty {
        target.remove(&key);
    }
    Ok(())
}

fn remove_sub(value: &mut Value, sub: &str) {
    if let Value::Object(members) = value {
        remove_ci(members, sub);
    }
}

fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(members) => members.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Whether the stored `value` of attribute `def` is the one `given` names: every sub-attribute `given` has is equal
/// (compared as the schema says), or for a bare value, the `value` sub-attribute.
fn same_value(def: Option<&AttributeDef>, value: &Value, given: &Value) -> bool {
    match (value, given) {
        (Value::Object(members), Value::Object(wanted)) => {
            let mut wanted = wanted.iter().filter(|(_, v)| !v.is_null()).peekable();
            wanted.peek().is_some()
                && wanted.all(|(k, w)| {
                    let sub = def.and_then(|d| d.sub_attribute(k));
                    get_ci(members, k).is_some_and(|v| same_scalar(sub, v, w))
                })
        }
        (Value::Object(members), scalar) => {
            get_ci(members, "value").is_some_and(|v| same_scalar(def.and_then(|d| d.sub_attribute("value")), v, scalar))
        }
        (single, given) => same_scalar(def, single, given),
    }
}

fn same_scalar(def: Option<&AttributeDef>, value: &Value, given: &Value) -> bool {
    match (value, given) {
        (Value::String(a), Value::String(b)) if def.is_some_and(|d| !d.case_exact) => {
            a.to_lowercase() == b.to_lowercase()
        }
        (Value::Bool(a), Value::String(b)) => boolean_string(b) == Some(Value::Bool(*a)),
        _ => value == given,
    }
}

fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
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
mod tests;
