//! Values as Velocity treats them: written out as Java writes them, true unless null or false, compared
//! numerically or as text, and the methods of strings, lists and maps that templates call.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::expr::Op;
use crate::{MAX_OUTPUT_BYTES, MAX_VALUE_DEPTH, MAX_WORK_BYTES, TemplateError};

/// A value written into the output: strings as they are, lists and maps as Java's `toString` writes them.
pub(crate) fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                write(item, out);
            }
            out.push('}');
        }
    }
}

pub(crate) fn text(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Velocity's truth: everything but null and `false`.
pub(crate) fn truthy(value: Option<&Value>) -> bool {
    !matches!(value, None | Some(Value::Null) | Some(Value::Bool(false)))
}

/// The bytes `value` stands for (16 per item, strings by their length), refused past `limit` or when it nests
/// deeper than [`MAX_VALUE_DEPTH`]; the walk stops there, so measuring costs at most `limit`.
pub(crate) fn measure(value: &Value, limit: usize) -> Result<usize, TemplateError> {
    fn walk(value: &Value, depth: usize, total: &mut usize, limit: usize) -> Result<(), TemplateError> {
        if depth > MAX_VALUE_DEPTH {
            return Err(TemplateError::Limit(format!("values nest at most {MAX_VALUE_DEPTH} levels deep")));
        }
        *total += 16;
        match value {
            Value::Array(items) => {
                for item in items {
                    walk(item, depth + 1, total, limit)?;
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    *total += key.len();
                    walk(item, depth + 1, total, limit)?;
                }
            }
            Value::String(s) => *total += s.len(),
            _ => {}
        }
        if *total > limit {
            return Err(TemplateError::Limit(format!("a rendering creates at most {MAX_WORK_BYTES} bytes of values")));
        }
        Ok(())
    }
    let mut total = 0;
    walk(value, 0, &mut total, limit)?;
    Ok(total)
}

/// Equality as Velocity decides it: numbers by value, anything else by its text.
pub(crate) fn equals(a: Option<&Value>, b: Option<&Value>) -> bool {
    match (a, b) {
        (None | Some(Value::Null), None | Some(Value::Null)) => true,
        (None | Some(Value::Null), _) | (_, None | Some(Value::Null)) => false,
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y),
        (Some(x), Some(y)) => x == y || text(x) == text(y),
    }
}

/// A binary operator; `None` when it does not apply (Velocity's null).
pub(crate) fn binary(op: Op, a: Option<&Value>, b: Option<&Value>) -> Option<Value> {
    match op {
        Op::Eq => Some(Value::Bool(equals(a, b))),
        Op::Ne => Some(Value::Bool(!equals(a, b))),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ordering = order(a?, b?)?;
            let holds = match op {
                Op::Lt => ordering == Ordering::Less,
                Op::Le => ordering != Ordering::Greater,
                Op::Gt => ordering == Ordering::Greater,
                _ => ordering != Ordering::Less,
            };
            Some(Value::Bool(holds))
        }
        Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Rem => arithmetic(op, a?, b?),
        Op::And | Op::Or => None,
    }
}

fn order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn arithmetic(op: Op, a: &Value, b: &Value) -> Option<Value> {
    let (Value::Number(x), Value::Number(y)) = (a, b) else { return None };
    if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
        let n = match op {
            Op::Add => x.checked_add(y),
            Op::Sub => x.checked_sub(y),
            Op::Mul => x.checked_mul(y),
            Op::Div => x.checked_div(y),
            _ => x.checked_rem(y),
        };
        return n.map(Value::from);
    }
    let (x, y) = (x.as_f64()?, y.as_f64()?);
    let n = match op {
        Op::Add => x + y,
        Op::Sub => x - y,
        Op::Mul => x * y,
        Op::Div if y != 0.0 => x / y,
        Op::Rem if y != 0.0 => x % y,
        _ => return None,
    };
    serde_json::Number::from_f64(n).map(Value::Number)
}

/// A property: a map's entry, or else the method of that name without arguments (`$list.size`).
pub(crate) fn property(value: &Value, name: &str) -> Option<Value> {
    match value {
        Value::Object(map) => map.get(name).cloned(),
        _ => method(value, name, &[]).ok().flatten(),
    }
}

/// `value[index]`: a list by position, a map by key.
pub(crate) fn index(value: &Value, key: &Value) -> Option<Value> {
    match (value, key) {
        (Value::Array(items), Value::Number(n)) => items.get(usize::try_from(n.as_i64()?).ok()?).cloned(),
        (Value::Object(map), key) => map.get(&text(key)).cloned(),
        _ => None,
    }
}

/// The Java methods templates call on strings, lists and maps; `Ok(None)` when the method answers null or does
/// not exist (Velocity writes the reference as it is then).
pub(crate) fn method(value: &Value, name: &str, args: &[Option<Value>]) -> Result<Option<Value>, TemplateError> {
    let arg = |i: usize| args.get(i).and_then(Option::as_ref);
    let int_arg = |i: usize| arg(i).and_then(Value::as_i64);
    let str_arg = |i: usize| arg(i).map(text);
    if name == "toString" && args.is_empty() {
        return Ok(Some(Value::String(text(value))));
    }
    if name == "equals" && args.len() == 1 {
        return Ok(Some(Value::Bool(equals(Some(value), arg(0)))));
    }
    let answer = match value {
        Value::String(s) => string_method(s, name, args.len(), str_arg, int_arg)?,
        Value::Array(items) => match (name, args.len()) {
            ("size", 0) => Some(Value::from(items.len())),
            ("isEmpty", 0) => Some(Value::Bool(items.is_empty())),
            ("get", 1) => int_arg(0).and_then(|i| items.get(usize::try_from(i).ok()?).cloned()),
            ("contains", 1) => Some(Value::Bool(items.iter().any(|item| equals(Some(item), arg(0))))),
            _ => None,
        },
        Value::Object(map) => match (name, args.len()) {
            ("size", 0) => Some(Value::from(map.len())),
            ("isEmpty", 0) => Some(Value::Bool(map.is_empty())),
            ("get", 1) => str_arg(0).and_then(|key| map.get(&key).cloned()),
            ("containsKey", 1) => Some(Value::Bool(str_arg(0).is_some_and(|key| map.contains_key(&key)))),
            ("keySet", 0) => Some(Value::Array(map.keys().cloned().map(Value::String).collect())),
            ("values", 0) => Some(Value::Array(map.values().cloned().collect())),
            _ => None,
        },
        _ => None,
    };
    Ok(answer)
}

fn string_method(
    s: &str,
    name: &str,
    arity: usize,
    str_arg: impl Fn(usize) -> Option<String>,
    int_arg: impl Fn(usize) -> Option<i64>,
) -> Result<Option<Value>, TemplateError> {
    let chars = || s.chars().count();
    let answer = match (name, arity) {
        ("length", 0) => Value::from(chars()),
        ("isEmpty", 0) => Value::Bool(s.is_empty()),
        ("toLowerCase", 0) => Value::String(s.to_lowercase()),
        ("toUpperCase", 0) => Value::String(s.to_uppercase()),
        ("trim", 0) => Value::String(s.trim().to_owned()),
        ("contains", 1) => Value::Bool(str_arg(0).is_some_and(|x| s.contains(&x))),
        ("startsWith", 1) => Value::Bool(str_arg(0).is_some_and(|x| s.starts_with(&x))),
        ("endsWith", 1) => Value::Bool(str_arg(0).is_some_and(|x| s.ends_with(&x))),
        ("indexOf", 1) => {
            let Some(x) = str_arg(0) else { return Ok(None) };
            Value::from(s.find(&x).map_or(-1, |at| s[..at].chars().count() as i64))
        }
        ("substring", 1 | 2) => {
            let len = chars() as i64;
            let (Some(from), to) = (int_arg(0), if arity == 2 { int_arg(1) } else { Some(len) }) else {
                return Ok(None);
            };
            let Some(to) = to else { return Ok(None) };
            if from < 0 || to > len || from > to {
                return Err(TemplateError::Eval(format!("substring({from}, {to}) of a string of {len} characters")));
            }
            Value::String(s.chars().skip(from as usize).take((to - from) as usize).collect())
        }
        ("replace", 2) => {
            let (Some(from), Some(to)) = (str_arg(0), str_arg(1)) else { return Ok(None) };
            if from.is_empty() {
                return Ok(Some(Value::String(s.to_owned())));
            }
            let grown = s.matches(&from).count().saturating_mul(to.len());
            if s.len().saturating_add(grown) > MAX_OUTPUT_BYTES {
                return Err(TemplateError::Limit(format!("a string is at most {MAX_OUTPUT_BYTES} bytes")));
            }
            Value::String(s.replace(&from, &to))
        }
        ("split", 1) => {
            let Some(by) = str_arg(0).filter(|by| !by.is_empty()) else { return Ok(None) };
            let parts: Vec<Value> = s.split(by.as_str()).map(|p| Value::String(p.to_owned())).collect();
            Value::Array(parts)
        }
        _ => return Ok(None),
    };
    Ok(Some(answer))
}

/// `#set($map.key = value)`: puts into the map `target` names, making maps along the way.
pub(crate) fn put(target: &mut Value, props: &[String], value: Value) -> bool {
    let Some((last, path)) = props.split_last() else {
        *target = value;
        return true;
    };
    let mut at = target;
    for prop in path {
        let Value::Object(map) = at else { return false };
        at = map.entry(prop.clone()).or_insert_with(|| Value::Object(Map::new()));
    }
    match at {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            true
        }
        _ => false,
    }
}
