//! Applying parsed operations to a document's attributes (the semantics in the module documentation above).

use super::*;

pub(super) fn apply_operation(attrs: &mut Map<String, Value>, op: &Operation) -> Result<(), ScimError> {
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
pub(super) fn merge_extension(
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
pub(super) fn container<'a>(
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
pub(super) fn check_mutability(def: &AttributeDef, assigned: bool) -> Result<(), ScimError> {
    match def.mutability {
        Mutability::ReadOnly => Err(read_only(def)),
        Mutability::Immutable if assigned => Err(ScimError::bad_request(
            ScimType::Mutability,
            format!("\"{}\" is immutable and already has a value.", def.name),
        )),
        _ => Ok(()),
    }
}

pub(super) fn apply_at(
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
pub(super) fn set(
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
pub(super) fn set_selected(
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
pub(super) fn created_type(filter: &Filter, def: &AttributeDef) -> Option<String> {
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
pub(super) fn set_sub_of(
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
pub(super) fn merge_into(
    items: &mut [Value],
    indices: &[usize],
    def: &AttributeDef,
    value: Value,
) -> Result<(), ScimError> {
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

pub(super) fn set_sub(slot: &mut Value, attribute: &str, sub: &str, value: Value) -> Result<(), ScimError> {
    let Value::Object(inner) = slot else {
        return Err(ScimError::invalid_value(format!("\"{attribute}\" is not a complex attribute.")));
    };
    let sub_key = existing_key(inner, sub);
    inner.insert(sub_key, value);
    Ok(())
}

/// The array of a multi-valued attribute, created empty when unassigned.
pub(super) fn multi_values<'a>(
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
pub(super) fn elements(def: &AttributeDef, value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.into_iter().map(|v| element(def, v)).collect(),
        single => vec![element(def, single)],
    }
}

/// One value of a complex attribute with canonical sub-attribute names and without `null`s, so that equal values
/// compare equal.
pub(super) fn element(def: &AttributeDef, value: Value) -> Value {
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

pub(super) fn boolean_string(s: &str) -> Option<Value> {
    if s.eq_ignore_ascii_case("true") {
        Some(Value::Bool(true))
    } else if s.eq_ignore_ascii_case("false") {
        Some(Value::Bool(false))
    } else {
        None
    }
}

/// The value of a singular complex attribute: an object, or (Microsoft Entra ID's `manager`) the bare `value`.
pub(super) fn complex_value(def: &AttributeDef, value: Value) -> Value {
    match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) if def.sub_attribute("value").is_some() => {
            let mut members = Map::new();
            members.insert("value".into(), value);
            Value::Object(members)
        }
        other => element(def, other),
    }
}

pub(super) fn is_true(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

pub(super) fn is_primary(value: &Value) -> bool {
    value.get("primary").is_some_and(is_true)
}

/// RFC 7643 §2.4: when an operation made the values at `made_primary` primary, the others stop being primary.
pub(super) fn keep_one_primary(items: &mut [Value], made_primary: &[usize]) {
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

pub(super) fn remove(
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

pub(super) fn remove_sub(value: &mut Value, sub: &str) {
    if let Value::Object(members) = value {
        remove_ci(members, sub);
    }
}

pub(super) fn is_unassigned(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(members) => members.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// Whether the stored `value` of attribute `def` is the one `given` names: every sub-attribute `given` has is equal
/// (compared as the schema says), or for a bare value, the `value` sub-attribute.
pub(super) fn same_value(def: Option<&AttributeDef>, value: &Value, given: &Value) -> bool {
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

pub(super) fn same_scalar(def: Option<&AttributeDef>, value: &Value, given: &Value) -> bool {
    match (value, given) {
        (Value::String(a), Value::String(b)) if def.is_some_and(|d| !d.case_exact) => {
            a.to_lowercase() == b.to_lowercase()
        }
        (Value::Bool(a), Value::String(b)) => boolean_string(b) == Some(Value::Bool(*a)),
        _ => value == given,
    }
}

pub(super) fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

pub(super) fn existing_key(map: &Map<String, Value>, name: &str) -> String {
    map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.to_string())
}

pub(super) fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    let key = existing_key(map, name);
    map.remove(&key);
}

/// Lists every extension present in `schemas`, so validation sees them declared.
pub(super) fn declare_extensions(attrs: &mut Map<String, Value>) {
    let present: Vec<&'static str> =
        crate::scim::schema::USER_EXTENSIONS.iter().map(|s| s.id).filter(|urn| attrs.contains_key(*urn)).collect();
    let schemas = attrs.entry("schemas").or_insert_with(|| Value::Array(vec![Value::String(USER_SCHEMA.into())]));
    if let Value::Array(list) = schemas {
        for urn in present {
            if !list.iter().any(|u| u.as_str() == Some(urn)) {
                list.push(Value::String(urn.into()));
            }
        }
    }
}
