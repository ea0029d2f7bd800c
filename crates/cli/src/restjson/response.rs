//! restJson1 answers read back through the model: a success becomes the output shape's members in model order
//! under their member names (body members by their JSON names, header members, the status code, the payload),
//! with timestamps as the AWS CLI prints them; an error becomes its code and message, found where restJson1 puts
//! them (`x-amzn-ErrorType`, the body's `code` or `__type`, and `message`/`Message`/`errorMessage`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::HeaderMap;
use serde_json::{Map, Value};

use crate::model::{Kind, Location, Operation, Shape, printed_output};
use crate::output::timestamp;

/// The output of `operation` from a successful answer; `None` when the AWS CLI prints nothing for it.
pub(crate) fn decode(
    operation: &Operation,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Option<Value>, serde_json::Error> {
    let Some(shape) = printed_output(operation) else {
        return Ok(None);
    };
    let members = shape.members();
    let is_json_payload =
        members.iter().any(|m| m.location == Location::Payload && !matches!(m.shape.kind, Kind::Blob | Kind::String));
    let has_body = members.iter().any(|m| m.location == Location::Body) || is_json_payload;
    let json = if has_body && !body.iter().all(u8::is_ascii_whitespace) {
        serde_json::from_slice::<Value>(body)?
    } else {
        Value::Object(Map::new())
    };
    let mut out = Map::new();
    for member in members {
        let value = match member.location {
            Location::Body => json.get(member.location_name).and_then(|v| from_wire(v, member.shape)),
            Location::Header => header(headers, member.location_name).and_then(|text| header_value(text, member.shape)),
            Location::Headers => prefixed(headers, member.location_name),
            Location::StatusCode => Some(Value::Number(status.into())),
            Location::Payload => match member.shape.kind {
                Kind::Blob if !body.is_empty() => Some(Value::String(BASE64.encode(body))),
                Kind::String if !body.is_empty() => Some(Value::String(String::from_utf8_lossy(body).into_owned())),
                Kind::Blob | Kind::String => None,
                _ => from_wire(&json, member.shape),
            },
            Location::Uri | Location::Querystring => None,
        };
        if let Some(value) = value {
            out.insert(member.name.to_owned(), value);
        }
    }
    Ok(Some(Value::Object(out)))
}

/// A JSON value of the answer as the AWS CLI prints it: structure members under their member names in model
/// order (unknown keys dropped), map entries in the order they came, timestamps as ISO 8601, nulls left out.
pub(crate) fn from_wire(value: &Value, shape: &Shape) -> Option<Value> {
    Some(match (&shape.kind, value) {
        (_, Value::Null) => return None,
        (Kind::Structure(members) | Kind::Union(members), Value::Object(map)) => Value::Object(
            members
                .iter()
                .filter_map(|m| Some((m.name.to_owned(), from_wire(map.get(m.location_name)?, m.shape)?)))
                .collect(),
        ),
        (Kind::List(item), Value::Array(items)) => {
            Value::Array(items.iter().filter_map(|i| from_wire(i, item)).collect())
        }
        (Kind::Map(_, item), Value::Object(map)) => {
            Value::Object(map.iter().filter_map(|(k, v)| Some((k.clone(), from_wire(v, item)?))).collect())
        }
        (Kind::Timestamp, value) => Value::String(time_text(value)?),
        (_, value) => value.clone(),
    })
}

/// A timestamp of the answer (epoch seconds, or ISO 8601 text as services with `timestampFormat: iso8601` send
/// it) as the AWS CLI prints it.
fn time_text(value: &Value) -> Option<String> {
    use time::format_description::well_known::{Iso8601, Rfc2822, Rfc3339};
    match value {
        Value::Number(n) => {
            let seconds = n.as_f64()?;
            let whole = seconds.floor();
            Some(timestamp(whole as i64, ((seconds - whole) * 1e6).round() as u32 * 1000))
        }
        Value::String(text) => {
            let parsed = time::OffsetDateTime::parse(text, &Rfc3339)
                .or_else(|_| time::OffsetDateTime::parse(text, &Iso8601::DEFAULT))
                .or_else(|_| time::OffsetDateTime::parse(&text.replace("GMT", "+0000"), &Rfc2822));
            match parsed {
                Ok(at) => Some(timestamp(at.unix_timestamp(), at.nanosecond())),
                Err(_) => Some(text.clone()),
            }
        }
        _ => None,
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_value(text: &str, shape: &Shape) -> Option<Value> {
    match &shape.kind {
        Kind::Integer | Kind::Long => text.trim().parse::<i64>().ok().map(Value::from),
        Kind::Double => text.trim().parse::<f64>().ok().map(Value::from),
        Kind::Boolean => text.trim().parse::<bool>().ok().map(Value::Bool),
        Kind::Timestamp => time_text(&Value::String(text.to_owned())).map(Value::String),
        Kind::List(item) => {
            Some(Value::Array(text.split(',').filter_map(|part| header_value(part.trim(), item)).collect()))
        }
        _ => Some(Value::String(text.to_owned())),
    }
}

/// Every header whose name starts with `prefix`, as a map of the rest of the name to the value.
fn prefixed(headers: &HeaderMap, prefix: &str) -> Option<Value> {
    let prefix = prefix.to_ascii_lowercase();
    let map: Map<String, Value> = headers
        .iter()
        .filter_map(|(name, value)| {
            let rest = name.as_str().strip_prefix(&prefix)?;
            Some((rest.to_owned(), Value::String(value.to_str().ok()?.to_owned())))
        })
        .collect();
    (!map.is_empty()).then_some(Value::Object(map))
}

/// The code and message of an error answer. The code is the shape name restJson1 carries (namespace and
/// `:`-suffix removed); `None` when the answer names none.
pub(crate) fn error(headers: &HeaderMap, body: &[u8]) -> (Option<String>, String) {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| json.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let code = header(headers, "x-amzn-errortype")
        .filter(|s| !s.is_empty())
        .or_else(|| text("code"))
        .or_else(|| text("__type"))
        .map(sanitize);
    let message = text("message").or_else(|| text("Message")).or_else(|| text("errorMessage")).unwrap_or_default();
    (code, message.to_owned())
}

fn sanitize(code: &str) -> String {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code).trim().to_owned()
}
