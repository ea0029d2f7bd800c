//! Reading a JSON request body against an operation's input shape: each body member checked against its shape
//! (type, lengths, ranges, enums, lists, maps, nested structures, required members); members the shape does not
//! define are refused. Errors are messages; each service wraps them in its own error type.

use serde_json::{Map, Value};

use crate::{Kind, Location, Shape};

/// The body members of `input` (the input shape of `operation`) in `body`, by JSON name, each checked.
pub fn read_body(input: &Shape, operation: &str, body: &[u8]) -> Result<Map<String, Value>, String> {
    let mut members = parse_object(body)?;
    let mut out = Map::new();
    for member in input.members().iter().filter(|m| m.location == Location::Body) {
        match members.remove(member.location_name).filter(|v| !v.is_null()) {
            Some(value) => {
                check(member.location_name, &value, member.shape)?;
                out.insert(member.location_name.to_owned(), value);
            }
            None if member.required => return Err(format!("Member {} must not be null", member.location_name)),
            None => {}
        }
    }
    if let Some(name) = members.keys().next() {
        return Err(format!("Member {name} is not defined by the input of {operation}"));
    }
    Ok(out)
}

/// A body that is a JSON object, or empty (no members).
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => Ok(members),
        Ok(_) => Err("The request body must be a JSON object".to_owned()),
        Err(e) => Err(format!("The request body is not valid JSON: {e}")),
    }
}

/// Checks one value against its shape; `path` names it in the message.
pub fn check(path: &str, value: &Value, shape: &'static Shape) -> Result<(), String> {
    check_at(Path::Member(None, path), value, shape)
}

/// Where a value sits in a body: written out only for a message, so that checking a list of 10,000 items builds no
/// 10,000 paths.
#[derive(Clone, Copy)]
enum Path<'a> {
    /// `{parent}.{name}`, or `name` at the top.
    Member(Option<&'a Path<'a>>, &'a str),
    /// `{parent}.{index}`.
    Item(&'a Path<'a>, usize),
    /// `{parent} key`.
    Key(&'a Path<'a>),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Member(None, name) => f.write_str(name),
            Path::Member(Some(parent), name) => write!(f, "{parent}.{name}"),
            Path::Item(parent, index) => write!(f, "{parent}.{index}"),
            Path::Key(parent) => write!(f, "{parent} key"),
        }
    }
}

fn check_at(path: Path<'_>, value: &Value, shape: &'static Shape) -> Result<(), String> {
    let wrong = |what: &str| format!("Member {path} must be {what}");
    match shape.kind {
        Kind::String => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            let len = s.chars().count();
            if len < shape.min_len() || len > shape.max_len() {
                return Err(wrong(&format!("between {} and {} characters long", shape.min_len(), shape.max_len())));
            }
        }
        Kind::Enum(values) => {
            let s = value.as_str().ok_or_else(|| wrong("a string"))?;
            if !values.contains(&s) {
                return Err(wrong(&format!("one of [{}]", values.join(", "))));
            }
        }
        Kind::Integer | Kind::Long => {
            let n = value.as_i64().ok_or_else(|| wrong("an integer"))?;
            if shape.min.is_some_and(|min| n < min) || shape.max.is_some_and(|max| n > max) {
                let (min, max) = (shape.min.unwrap_or(i64::MIN), shape.max.unwrap_or(i64::MAX));
                return Err(wrong(&format!("between {min} and {max}")));
            }
        }
        Kind::Double => {
            value.as_f64().ok_or_else(|| wrong("a number"))?;
        }
        Kind::Boolean => {
            value.as_bool().ok_or_else(|| wrong("a boolean"))?;
        }
        Kind::Blob | Kind::Timestamp => {
            value.as_str().ok_or_else(|| wrong("a string"))?;
        }
        Kind::List(item) => {
            let items = value.as_array().ok_or_else(|| wrong("a list"))?;
            if items.len() < shape.min_len() || items.len() > shape.max_len() {
                return Err(wrong(&format!("a list of at most {} items", shape.max_len())));
            }
            for (i, v) in items.iter().enumerate() {
                check_at(Path::Item(&path, i), v, item)?;
            }
        }
        Kind::Map(key, item) => {
            let entries = value.as_object().ok_or_else(|| wrong("a map"))?;
            if entries.len() > shape.max_len() {
                return Err(wrong(&format!("a map of at most {} entries", shape.max_len())));
            }
            for (k, v) in entries {
                check_at(Path::Key(&path), &Value::String(k.clone()), key)?;
                check_at(Path::Member(Some(&path), k), v, item)?;
            }
        }
        Kind::Structure(members) | Kind::Union(members) => {
            let object = value.as_object().ok_or_else(|| wrong("a structure"))?;
            for (name, v) in object {
                let member = members
                    .iter()
                    .find(|m| m.location_name == name)
                    .ok_or_else(|| format!("Member {path}.{name} is not defined by {}", shape.name))?;
                if !v.is_null() {
                    check_at(Path::Member(Some(&path), name), v, member.shape)?;
                }
            }
            if let Some(m) =
                members.iter().find(|m| m.required && object.get(m.location_name).is_none_or(Value::is_null))
            {
                return Err(format!("Member {path}.{} must not be null", m.location_name));
            }
        }
    }
    Ok(())
}
