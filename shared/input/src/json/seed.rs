//! A `serde` seed that builds a `serde_json::Value` like `serde_json`'s own, but refuses duplicate member names and
//! nesting past [`MAX_DEPTH`], knowing the JSON path of every value.

use super::{JsonError, MAX_DEPTH, Names};
use crate::display::shown;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;

/// What one parse shares between its seeds: the naming rule, and the first refusal (`serde` errors carry only text).
pub(super) struct State {
    names: Names,
    failure: Cell<Option<JsonError>>,
}

impl State {
    pub(super) fn new(names: Names) -> Self {
        Self { names, failure: Cell::new(None) }
    }

    /// The refusal that stopped the parse, if it was one of ours.
    pub(super) fn take_failure(&self) -> Option<JsonError> {
        self.failure.take()
    }

    fn refuse<E: de::Error>(&self, error: JsonError) -> E {
        let message = error.to_string();
        self.failure.set(Some(error));
        E::custom(message)
    }
}

/// Where a value sits in the document.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Member(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// `Operations[0].value.userName`; the top level is `the top level`.
    fn render(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        if out.is_empty() { "the top level".to_owned() } else { out }
    }

    fn write(&self, out: &mut String) {
        match self {
            Path::Root => {}
            Path::Member(parent, name) => {
                parent.write(out);
                if !matches!(parent, Path::Root) {
                    out.push('.');
                }
                out.push_str(&shown(name));
            }
            Path::Index(parent, index) => {
                parent.write(out);
                out.push_str(&format!("[{index}]"));
            }
        }
    }
}

/// Deserializes one value at `path`, `depth` arrays and objects deep.
pub(super) struct ValueSeed<'a> {
    state: &'a State,
    path: Path<'a>,
    depth: usize,
}

impl<'a> ValueSeed<'a> {
    pub(super) fn root(state: &'a State) -> Self {
        Self { state, path: Path::Root, depth: 0 }
    }

    /// The depth of this value's members, if it may have any.
    fn enter<E: de::Error>(&self) -> Result<usize, E> {
        let depth = self.depth + 1;
        if depth > MAX_DEPTH {
            return Err(self.state.refuse(JsonError::TooDeep { max: MAX_DEPTH, path: self.path.render() }));
        }
        Ok(depth)
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        let mut items = Vec::new();
        loop {
            let seed = ValueSeed { state: self.state, path: Path::Index(&self.path, items.len()), depth };
            match seq.next_element_seed(seed)? {
                Some(item) => items.push(item),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let depth = self.enter()?;
        let mut members = Map::new();
        let mut names = NamesSeen::default();
        while let Some(name) = map.next_key::<String>()? {
            let path = Path::Member(&self.path, &name);
            if let Some(first) = names.repeated(self.state.names, &members, &name) {
                let error = if first == name {
                    JsonError::DuplicateMember { name: shown(&name), path: path.render() }
                } else {
                    JsonError::CaseVariantMember { name: shown(&name), first: shown(&first), path: path.render() }
                };
                return Err(self.state.refuse(error));
            }
            let value = map.next_value_seed(ValueSeed { state: self.state, path, depth })?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

/// Objects up to this many members are searched member by member for a case variant; larger ones get an index.
const SCANNED_MEMBERS: usize = 32;

/// The member names of one object seen so far, as [`Names`] compares them.
#[derive(Default)]
struct NamesSeen {
    /// Lower-cased name -> name as first sent: built only once an object outgrows [`SCANNED_MEMBERS`], so that a
    /// SCIM document (a few members per object) costs no second map and no folded copies of its names.
    folded: Option<HashMap<String, String>>,
}

impl NamesSeen {
    /// The earlier name of `members` that `name` repeats (itself, or for SCIM names a case variant), and records
    /// `name` otherwise. Linear in the object's size at most [`SCANNED_MEMBERS`] times per member.
    fn repeated(&mut self, names: Names, members: &Map<String, Value>, name: &str) -> Option<String> {
        if names == Names::Exact {
            return members.contains_key(name).then(|| name.to_owned());
        }
        if self.folded.is_none() {
            if members.len() < SCANNED_MEMBERS {
                return members.keys().find(|earlier| earlier.eq_ignore_ascii_case(name)).cloned();
            }
            let index = members.keys().map(|earlier| (earlier.to_ascii_lowercase(), earlier.clone())).collect();
            self.folded = Some(index);
        }
        let folded = self.folded.as_mut()?;
        let key = name.to_ascii_lowercase();
        if let Some(first) = folded.get(&key) {
            return Some(first.clone());
        }
        folded.insert(key, name.to_owned());
        None
    }
}
