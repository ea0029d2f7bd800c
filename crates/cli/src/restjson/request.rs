//! restJson1 requests from an operation's model and its checked parameters, as botocore's `RestJSONSerializer`
//! builds them: `{label}` and greedy `{label+}` path parameters, querystring members (lists repeat the key, maps
//! add their keys), header members (and prefixed header maps), and a JSON body of the remaining members or the
//! payload member (raw bytes for a blob, JSON for a structure).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Number, Value};

use crate::CliError;
use crate::model::{Kind, Location, Member, Operation, Shape};
use crate::output::date_time;

/// What RFC 3986 leaves unreserved stays as it is; everything else is percent-encoded (AWS's label encoding).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A greedy label (`{key+}`) keeps its slashes.
const GREEDY: &AsciiSet = &UNRESERVED.remove(b'/');

/// An HTTP request ready to be signed and sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) method: &'static str,
    /// The endpoint's scheme, authority and path prefix, the operation's path and its query.
    pub(crate) url: String,
    /// In order: header members, then `Content-Type` when there is a body.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

/// The request of `operation` with `params` (checked, keyed by member name, blobs as base64 text) to `endpoint`.
pub(crate) fn build(operation: &Operation, params: &Map<String, Value>, endpoint: &str) -> Result<Request, CliError> {
    let (template, literal_query) = match operation.http.request_uri.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (operation.http.request_uri, None),
    };
    let members = operation.input_members();
    let path = expand(template, members, params, operation)?;
    let mut query: Vec<String> = literal_query.into_iter().flat_map(|q| q.split('&')).map(str::to_owned).collect();
    let mut headers = Vec::new();
    for member in members {
        let Some(value) = params.get(member.name).filter(|v| !v.is_null()) else {
            continue;
        };
        match member.location {
            Location::Querystring => query_pairs(member, value, &mut query)?,
            Location::Header => {
                if let Some(text) = header_text(value, member.shape)? {
                    headers.push((member.location_name.to_owned(), text));
                }
            }
            Location::Headers => {
                for (key, item) in value.as_object().into_iter().flatten() {
                    headers.push((format!("{}{key}", member.location_name), scalar_text(item, Format::Plain)?));
                }
            }
            _ => {}
        }
    }
    let (body, content_type) = body(operation, members, params)?;
    if let Some(content_type) = content_type {
        headers.push(("Content-Type".to_owned(), content_type.to_owned()));
    }
    let mut url = format!("{}{path}", endpoint.trim_end_matches('/'));
    if !query.is_empty() {
        url.push('?');
        url.push_str(&query.join("&"));
    }
    Ok(Request { method: operation.http.method, url, headers, body })
}

/// The path with every `{label}` replaced by its member's value.
fn expand(
    template: &str,
    members: &[Member],
    params: &Map<String, Value>,
    operation: &Operation,
) -> Result<String, CliError> {
    let mut path = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').map(|i| start + i).unwrap_or(rest.len());
        path.push_str(&rest[..start]);
        let label = &rest[start + 1..end];
        let (name, greedy) = match label.strip_suffix('+') {
            Some(name) => (name, true),
            None => (label, false),
        };
        let value = members
            .iter()
            .find(|m| m.location == Location::Uri && m.location_name == name)
            .and_then(|m| params.get(m.name).map(|v| (m, v)))
            .map(|(m, v)| label_text(v, m.shape))
            .transpose()?
            .filter(|text| !text.is_empty())
            .ok_or_else(|| {
                CliError::usage(format!(
                    "Parameter validation failed: Missing required parameter in input: \"{name}\" (the {} \
                     operation's path needs it)",
                    operation.name
                ))
            })?;
        path.extend(utf8_percent_encode(&value, if greedy { GREEDY } else { UNRESERVED }));
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    path.push_str(rest);
    Ok(path)
}

fn label_text(value: &Value, shape: &Shape) -> Result<String, CliError> {
    match shape.kind {
        Kind::Timestamp => scalar_text(value, Format::Iso8601),
        _ => scalar_text(value, Format::Plain),
    }
}

fn query_pairs(member: &Member, value: &Value, query: &mut Vec<String>) -> Result<(), CliError> {
    let pair = |key: &str, text: &str| {
        format!("{}={}", utf8_percent_encode(key, UNRESERVED), utf8_percent_encode(text, UNRESERVED))
    };
    let format = if matches!(member.shape.kind, Kind::Timestamp) { Format::Iso8601 } else { Format::Plain };
    match value {
        Value::Array(items) => {
            for item in items {
                query.push(pair(member.location_name, &scalar_text(item, list_format(member.shape))?));
            }
        }
        // A map in the querystring: its keys are the query keys (lists repeat them).
        Value::Object(map) => {
            for (key, item) in map {
                match item {
                    Value::Array(items) => {
                        for item in items {
                            query.push(pair(key, &scalar_text(item, Format::Plain)?));
                        }
                    }
                    item => query.push(pair(key, &scalar_text(item, Format::Plain)?)),
                }
            }
        }
        value => query.push(pair(member.location_name, &scalar_text(value, format)?)),
    }
    Ok(())
}

fn list_format(shape: &Shape) -> Format {
    match shape.kind {
        Kind::List(item) if matches!(item.kind, Kind::Timestamp) => Format::Iso8601,
        _ => Format::Plain,
    }
}

/// A header member's text: lists are joined with commas; timestamps are HTTP dates, as botocore sends them.
fn header_text(value: &Value, shape: &Shape) -> Result<Option<String>, CliError> {
    let text = match (&shape.kind, value) {
        (Kind::List(item), Value::Array(items)) => {
            let format = if matches!(item.kind, Kind::Timestamp) { Format::Header } else { Format::Plain };
            items.iter().map(|i| scalar_text(i, format)).collect::<Result<Vec<_>, _>>()?.join(", ")
        }
        (Kind::Timestamp, value) => scalar_text(value, Format::Header)?,
        (_, value) => scalar_text(value, Format::Plain)?,
    };
    Ok(Some(text))
}

/// How a timestamp is written outside the JSON body.
#[derive(Clone, Copy)]
enum Format {
    /// Not a timestamp: the value's text.
    Plain,
    /// `2020-04-30T20:10:33Z` (URI labels and query strings).
    Iso8601,
    /// `Thu, 30 Apr 2020 20:10:33 GMT` (headers).
    Header,
}

fn scalar_text(value: &Value, format: Format) -> Result<String, CliError> {
    match format {
        Format::Iso8601 => Ok(iso8601(epoch(value)?)),
        Format::Header => http_date(epoch(value)?),
        Format::Plain => Ok(match value {
            Value::String(text) => text.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other => other.to_string(),
        }),
    }
}

/// The body and its content type: the payload member's (raw bytes of a blob, JSON of a structure) or the JSON
/// object of the members bound to no location; `{}` when the input has such members but none is given.
fn body(
    operation: &Operation,
    members: &[Member],
    params: &Map<String, Value>,
) -> Result<(Vec<u8>, Option<&'static str>), CliError> {
    if let Some(payload) = members.iter().find(|m| m.location == Location::Payload) {
        let value = params.get(payload.name).filter(|v| !v.is_null());
        return match (&payload.shape.kind, value) {
            (Kind::Blob, Some(Value::String(encoded))) => {
                let bytes = BASE64.decode(encoded).map_err(|_| {
                    CliError::other(format!("the {} of the {} request is not valid", payload.name, operation.name))
                })?;
                Ok((bytes, Some("application/octet-stream")))
            }
            (Kind::String, Some(Value::String(text))) => Ok((text.clone().into_bytes(), Some("text/plain"))),
            (Kind::Blob | Kind::String, _) => Ok((Vec::new(), None)),
            (_, Some(value)) => Ok((json_bytes(&to_wire(value, payload.shape)?), Some("application/json"))),
            (_, None) => Ok((b"{}".to_vec(), Some("application/json"))),
        };
    }
    let mut object = Map::new();
    let mut has_body_members = false;
    for member in members.iter().filter(|m| m.location == Location::Body) {
        has_body_members = true;
        if let Some(value) = params.get(member.name).filter(|v| !v.is_null()) {
            object.insert(member.location_name.to_owned(), to_wire(value, member.shape)?);
        }
    }
    if !has_body_members {
        return Ok((Vec::new(), None));
    }
    Ok((json_bytes(&Value::Object(object)), Some("application/json")))
}

fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A parameter as it travels in a JSON body: members under their JSON names, timestamps as epoch seconds (the
/// restJson1 default), blobs as base64 text (as the parameters already carry them).
pub(crate) fn to_wire(value: &Value, shape: &Shape) -> Result<Value, CliError> {
    Ok(match (&shape.kind, value) {
        (Kind::Structure(members) | Kind::Union(members), Value::Object(map)) => {
            let mut out = Map::new();
            for member in *members {
                if let Some(item) = map.get(member.name).filter(|v| !v.is_null()) {
                    out.insert(member.location_name.to_owned(), to_wire(item, member.shape)?);
                }
            }
            Value::Object(out)
        }
        (Kind::List(item), Value::Array(items)) => {
            Value::Array(items.iter().map(|i| to_wire(i, item)).collect::<Result<_, _>>()?)
        }
        (Kind::Map(_, item), Value::Object(map)) => {
            Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), to_wire(v, item)?))).collect::<Result<_, CliError>>()?)
        }
        (Kind::Timestamp, value) => {
            let (seconds, nanos) = epoch(value)?;
            if nanos == 0 {
                Value::Number(seconds.into())
            } else {
                Number::from_f64(seconds as f64 + f64::from(nanos) / 1e9).map_or(Value::Null, Value::Number)
            }
        }
        (_, value) => value.clone(),
    })
}

/// A timestamp parameter (epoch seconds, or text as the AWS CLI takes it: epoch seconds, ISO 8601) as seconds and
/// nanoseconds since the epoch.
fn epoch(value: &Value) -> Result<(i64, u32), CliError> {
    let parsed = match value {
        Value::Number(n) => n.as_f64().and_then(split_seconds),
        Value::String(text) => epoch_text(text),
        _ => None,
    };
    parsed.ok_or_else(|| CliError::usage(format!("Parameter validation failed: Invalid timestamp value: {value}")))
}

fn epoch_text(text: &str) -> Option<(i64, u32)> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let text = text.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return split_seconds(seconds);
    }
    let parsed = time::OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|_| time::OffsetDateTime::parse(text, &Iso8601::DEFAULT))
        .or_else(|_| time::PrimitiveDateTime::parse(text, &Iso8601::DEFAULT).map(|t| t.assume_utc()))
        .or_else(|_| time::Date::parse(text, &Iso8601::DEFAULT).map(|d| d.midnight().assume_utc()))
        .ok()?;
    Some((parsed.unix_timestamp(), parsed.nanosecond()))
}

fn split_seconds(seconds: f64) -> Option<(i64, u32)> {
    if !seconds.is_finite() {
        return None;
    }
    let whole = seconds.floor();
    let nanos = ((seconds - whole) * 1e9).round() as u32;
    Some((whole as i64, nanos.min(999_999_999)))
}

fn iso8601((seconds, nanos): (i64, u32)) -> String {
    let Some(base) = date_time(seconds) else {
        return seconds.to_string();
    };
    match nanos / 1000 {
        0 => format!("{base}Z"),
        micros => format!("{base}.{micros:06}Z"),
    }
}

fn http_date((seconds, _): (i64, u32)) -> Result<String, CliError> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .ok_or_else(|| CliError::usage(format!("Parameter validation failed: Invalid timestamp value: {seconds}")))
}
