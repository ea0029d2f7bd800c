//! One apigatewayv2 operation called with a resource's CloudFormation properties: each property is the model
//! member of the same (PascalCase) name, placed where the operation's HTTP binding puts it (a URI label or a body
//! member under its JSON name) and converted to the member's shape (CloudFormation's strings for numbers and
//! booleans, lists of `{Key, Value}` for maps, `true` for a one-boolean structure such as `ParameterConstraints`).
//! The control plane then validates everything as it validates a client's request.

use apigatewayv2::{ControlPlane, Operation};
use aws_models::{Kind, Location, Shape};
use http::Method;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value};

use crate::error::{At, Error};
use crate::eval::text;

/// Calls `op` with `properties` (CloudFormation names) and answers the reply's JSON (`null` for none); `query` is sent
/// as it is. A property that is not a member of the operation's input is an error naming it.
pub(crate) async fn call(
    control: &ControlPlane,
    op: Operation,
    properties: &Map<String, Value>,
    query: Option<&str>,
    at: &At<'_>,
) -> Result<Value, Error> {
    let model = op.model();
    let mut path = model.http.request_uri.split('?').next().unwrap_or_default().to_owned();
    let mut body = Map::new();
    for (name, value) in properties {
        let member = model.input.member(name).ok_or_else(|| {
            at.key(name).error(format!("is not a property Switchboard can set (not a member of {})", model.name))
        })?;
        let at = at.key(name);
        match member.location {
            Location::Uri => {
                let label = text(value).ok_or_else(|| at.error(format!("must be a string, got {value}")))?;
                let encoded = utf8_percent_encode(&label, NON_ALPHANUMERIC).to_string();
                path = path.replace(&format!("{{{}}}", member.location_name), &encoded);
            }
            _ => {
                body.insert(member.location_name.to_owned(), convert(value, member.shape, &at)?);
            }
        }
    }
    let method = Method::from_bytes(model.http.method.as_bytes()).unwrap_or(Method::POST);
    let bytes = if body.is_empty() && method != Method::POST {
        Vec::new()
    } else {
        Value::Object(body).to_string().into_bytes()
    };
    let reply = control
        .handle_for_stack(&method, &path, query, &bytes)
        .await
        .map_err(|err| at.error(format!("{} answered {}: {}", model.name, err.code.aws_type(), err.message)))?;
    if reply.body.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&reply.body)
        .map_err(|err| at.error(format!("{} answered something not JSON: {err}", model.name)))
}

/// Converts a CloudFormation value to `shape`, as CloudFormation converts property values for the service.
pub(crate) fn convert(value: &Value, shape: &'static Shape, at: &At<'_>) -> Result<Value, Error> {
    let wrong = |what: &str| at.error(format!("must be {what}, got {value}"));
    Ok(match shape.kind {
        Kind::String | Kind::Enum(_) | Kind::Blob | Kind::Timestamp => match value {
            // A JSON document given as a mapping (a model's Schema) is sent as its text.
            Value::Object(_) | Value::Array(_) => Value::String(value.to_string()),
            scalar => Value::String(text(scalar).ok_or_else(|| wrong("a string"))?),
        },
        Kind::Integer | Kind::Long => match value {
            Value::Number(n) if n.is_i64() => value.clone(),
            Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
                Value::from(n.as_f64().unwrap_or(0.0) as i64)
            }
            Value::String(s) => Value::from(s.trim().parse::<i64>().map_err(|_| wrong("a whole number"))?),
            _ => return Err(wrong("a whole number")),
        },
        Kind::Double => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) => serde_json::Number::from_f64(s.trim().parse::<f64>().map_err(|_| wrong("a number"))?)
                .map(Value::Number)
                .ok_or_else(|| wrong("a finite number"))?,
            _ => return Err(wrong("a number")),
        },
        Kind::Boolean => match value {
            Value::Bool(_) => value.clone(),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong("true or false")),
        },
        Kind::List(item) => {
            let items = match value {
                Value::Array(items) => items.clone(),
                scalar => vec![scalar.clone()],
            };
            let converted: Result<Vec<Value>, Error> =
                items.iter().enumerate().map(|(i, v)| convert(v, item, &at.index(i))).collect();
            Value::Array(converted?)
        }
        Kind::Map(_, item) => {
            let mut out = Map::new();
            match value {
                Value::Object(map) => {
                    for (key, v) in map {
                        out.insert(key.clone(), convert(v, item, &at.key(key))?);
                    }
                }
                // Tags written as CloudFormation's usual list of {Key, Value}.
                Value::Array(pairs) => {
                    for (i, pair) in pairs.iter().enumerate() {
                        let at = at.index(i);
                        let key = pair.get("Key").and_then(text).ok_or_else(|| at.error("must have a Key"))?;
                        let v = pair.get("Value").ok_or_else(|| at.error("must have a Value"))?;
                        out.insert(key, convert(v, item, &at)?);
                    }
                }
                _ => return Err(wrong("a mapping")),
            }
            Value::Object(out)
        }
        Kind::Structure(members) | Kind::Union(members) => match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, v) in map {
                    let member = members
                        .iter()
                        .find(|m| m.name == key || m.location_name == key)
                        .ok_or_else(|| at.key(key).error(format!("is not a member of {}", shape.name)))?;
                    out.insert(member.location_name.to_owned(), convert(v, member.shape, &at.key(key))?);
                }
                Value::Object(out)
            }
            // `{"route.request.header.x": true}` for ParameterConstraints' one member, Required.
            Value::Bool(_) | Value::String(_)
                if members.len() == 1 && matches!(members[0].shape.kind, Kind::Boolean) =>
            {
                let mut out = Map::new();
                out.insert(members[0].location_name.to_owned(), convert(value, members[0].shape, at)?);
                Value::Object(out)
            }
            _ => return Err(wrong(&format!("a mapping ({})", shape.name))),
        },
    })
}

/// Every item of a listing operation (`Get…s`), following `NextToken`s.
pub(crate) async fn list_all(
    control: &ControlPlane,
    op: Operation,
    labels: &Map<String, Value>,
    at: &At<'_>,
) -> Result<Vec<Value>, Error> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let query = match &token {
            None => "maxResults=500".to_owned(),
            Some(t) => format!("maxResults=500&nextToken={}", utf8_percent_encode(t, NON_ALPHANUMERIC)),
        };
        let page = call(control, op, labels, Some(&query), at).await?;
        items.extend(page.get("items").and_then(Value::as_array).cloned().unwrap_or_default());
        match page.get("nextToken").and_then(Value::as_str) {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return Ok(items),
        }
    }
}
