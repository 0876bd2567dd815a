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
        // Lower-cased name -> name as first sent, for `Names::AsciiCaseInsensitive`.
        let mut folded: Option<HashMap<String, String>> =
            (self.state.names == Names::AsciiCaseInsensitive).then(HashMap::new);
        while let Some(name) = map.next_key::<String>()? {
            let path = Path::Member(&self.path, &name);
            if members.contains_key(&name) {
                return Err(self.state.refuse(JsonError::DuplicateMember { name: shown(&name), path: path.render() }));
            }
            if let Some(folded) = folded.as_mut() {
                let key = name.to_ascii_lowercase();
                if let Some(first) = folded.get(&key) {
                    return Err(self.state.refuse(JsonError::CaseVariantMember {
                        name: shown(&name),
                        first: shown(first),
                        path: path.render(),
                    }));
                }
                folded.insert(key, name.clone());
            }
            let value = map.next_value_seed(ValueSeed { state: self.state, path, depth })?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}
