//! Evaluation of a parsed filter against a User's SCIM representation.

use super::parser::target_def;
use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::schema::{AttrType, AttributeDef, user_attribute, user_extension};
use serde_json::Value;
use std::cmp::Ordering;

pub(super) fn matches(filter: &Filter, resource: &Value) -> bool {
    eval(filter, resource, None)
}

/// Evaluates a value filter against one value of the complex attribute `attribute`.
pub(super) fn matches_value(filter: &Filter, value: &Value, attribute: &'static AttributeDef) -> bool {
    eval(filter, value, Some(attribute))
}

/// `context`: inside a value filter, the complex attribute `object` is one value of.
fn eval(filter: &Filter, object: &Value, context: Option<&'static AttributeDef>) -> bool {
    match filter {
        Filter::And(a, b) => eval(a, object, context) && eval(b, object, context),
        Filter::Or(a, b) => eval(a, object, context) || eval(b, object, context),
        Filter::Not(a) => !eval(a, object, context),
        Filter::Present(path) => values(path, object, context).iter().any(|v| is_present(v)),
        Filter::Compare { path, op, value } => {
            let Some(def) = definition(path, context) else { return false };
            let Some(target) = target_def(def, path.sub_attribute) else { return false };
            let found = values(path, object, context);
            match (op, value) {
                (CompareOp::Eq, CompValue::Null) => !found.iter().any(|v| is_present(v)),
                (CompareOp::Ne, CompValue::Null) => found.iter().any(|v| is_present(v)),
                (CompareOp::Ne, _) => !found.iter().any(|v| compare(CompareOp::Eq, v, value, target)),
                _ => found.iter().any(|v| compare(*op, v, value, target)),
            }
        }
        Filter::ValuePath { path, filter } => {
            let Some(def) = definition(path, context) else { return false };
            let Some(attribute) = container(path, object).and_then(|c| get(c, path.attribute)) else { return false };
            match attribute {
                Value::Array(items) => items.iter().any(|item| eval(filter, item, Some(def))),
                single => eval(filter, single, Some(def)),
            }
        }
    }
}

fn definition(path: &AttrPath, context: Option<&'static AttributeDef>) -> Option<&'static AttributeDef> {
    match (context, path.extension) {
        (Some(outer), _) => outer.sub_attribute(path.attribute),
        (None, Some(urn)) => user_extension(urn)?.attribute(path.attribute),
        (None, None) => user_attribute(path.attribute),
    }
}

fn container<'a>(path: &AttrPath, object: &'a Value) -> Option<&'a Value> {
    match path.extension {
        Some(urn) => get(object, urn),
        None => Some(object),
    }
}

/// A member by exact name, else case-insensitively (attribute names are case-insensitive).
fn get<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let map = object.as_object()?;
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// The values a path denotes: every value of a multi-valued attribute (its `value` sub-attribute when complex and
/// no sub-attribute is named), or the single value.
fn values<'a>(path: &AttrPath, object: &'a Value, context: Option<&'static AttributeDef>) -> Vec<&'a Value> {
    let attribute = match context {
        Some(_) => get(object, path.attribute),
        None => container(path, object).and_then(|c| get(c, path.attribute)),
    };
    let Some(attribute) = attribute else { return Vec::new() };
    let items: Vec<&Value> = match attribute {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let sub = match path.sub_attribute {
        Some(sub) => Some(sub),
        None if items.iter().any(|i| i.is_object()) => Some("value"),
        None => None,
    };
    match sub {
        Some(sub) => items.into_iter().filter_map(|i| get(i, sub)).collect(),
        None => items,
    }
}

fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(op: CompareOp, actual: &Value, expected: &CompValue, target: &AttributeDef) -> bool {
    let ordering = match (target.ty, actual, expected) {
        (AttrType::Boolean, Value::Bool(a), CompValue::Bool(b)) => Some(a.cmp(b)),
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), CompValue::Number(b)) => {
            a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
        }
        (AttrType::DateTime, Value::String(a), CompValue::String(b)) => {
            match (crate::time::parse_datetime(a), crate::time::parse_datetime(b)) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => None,
            }
        }
        (_, Value::String(a), CompValue::String(b)) => {
            let (a, b) = if target.case_exact { (a.clone(), b.clone()) } else { (a.to_lowercase(), b.to_lowercase()) };
            return match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                _ => ordered(op, a.cmp(&b)),
            };
        }
        _ => None,
    };
    ordering.is_some_and(|o| ordered(op, o))
}

fn ordered(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}
