//! Reading a request against the operation's input shape of the generated model: URI labels, query strings and
//! the JSON body, each body member checked against its shape (type, lengths, ranges, enums, lists, maps, nested
//! structures, required members); members the shape does not define are refused. Failures are
//! BadRequestException, as apigatewayv2 answers them.

use aws_models::{Kind, Location, Shape};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};
use wire::ApiError;

use crate::Operation;
use crate::errors::bad_request;

/// A validated request: labels and query values by location name, body members by JSON name.
#[derive(Debug, Default)]
pub(crate) struct Input {
    pub(crate) labels: Vec<(&'static str, String)>,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) body: Map<String, Value>,
}

impl Input {
    pub(crate) fn label(&self, name: &str) -> &str {
        self.labels.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v.as_str())
    }

    pub(crate) fn query_value(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn query_values(&self, name: &str) -> Vec<String> {
        self.query.iter().filter(|(n, _)| n == name).map(|(_, v)| v.clone()).collect()
    }

    pub(crate) fn str(&self, name: &str) -> Option<&str> {
        self.body.get(name).and_then(Value::as_str)
    }
}

/// Reads `body` and `raw_query` against `op`'s input shape.
pub(crate) fn read(
    op: Operation,
    labels: Vec<(&'static str, String)>,
    raw_query: Option<&str>,
    body: &[u8],
) -> Result<Input, ApiError> {
    let shape = op.model().input;
    let mut members = parse_body(body)?;
    let query = parse_query(raw_query);
    let mut out = Map::new();
    for member in shape.members() {
        match member.location {
            Location::Body => match members.remove(member.location_name).filter(|v| !v.is_null()) {
                Some(value) => {
                    check(member.location_name, &value, member.shape)?;
                    out.insert(member.location_name.to_owned(), value);
                }
                None if member.required => {
                    return Err(bad_request(format!("Member {} must not be null", member.location_name)));
                }
                None => {}
            },
            Location::Querystring if member.required && !query.iter().any(|(n, _)| n == member.location_name) => {
                return Err(bad_request(format!("Parameter {} is required", member.location_name)));
            }
            _ => {}
        }
    }
    if let Some(name) = members.keys().next() {
        return Err(bad_request(format!("Member {name} is not defined by the input of {}", op.name())));
    }
    Ok(Input { labels, query, body: out })
}

fn parse_body(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(members)) => Ok(members),
        Ok(_) => Err(bad_request("The request body must be a JSON object")),
        Err(e) => Err(bad_request(format!("The request body is not valid JSON: {e}"))),
    }
}

fn parse_query(raw_query: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    raw_query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Checks one value against its shape; `path` names it in the message.
pub(crate) fn check(path: &str, value: &Value, shape: &'static Shape) -> Result<(), ApiError> {
    let wrong = |what: &str| bad_request(format!("Member {path} must be {what}"));
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
                check(&format!("{path}.{i}"), v, item)?;
            }
        }
        Kind::Map(key, item) => {
            let entries = value.as_object().ok_or_else(|| wrong("a map"))?;
            if entries.len() > shape.max_len() {
                return Err(wrong(&format!("a map of at most {} entries", shape.max_len())));
            }
            for (k, v) in entries {
                check(&format!("{path} key"), &Value::String(k.clone()), key)?;
                check(&format!("{path}.{k}"), v, item)?;
            }
        }
        Kind::Structure(members) | Kind::Union(members) => {
            let object = value.as_object().ok_or_else(|| wrong("a structure"))?;
            for (name, v) in object {
                let member = members
                    .iter()
                    .find(|m| m.location_name == name)
                    .ok_or_else(|| bad_request(format!("Member {path}.{name} is not defined by {}", shape.name)))?;
                if !v.is_null() {
                    check(&format!("{path}.{name}"), v, member.shape)?;
                }
            }
            if let Some(m) =
                members.iter().find(|m| m.required && object.get(m.location_name).is_none_or(Value::is_null))
            {
                return Err(bad_request(format!("Member {path}.{} must not be null", m.location_name)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create_route(body: &str) -> Result<Input, ApiError> {
        read(Operation::CreateRoute, vec![("apiId", "a".to_owned())], None, body.as_bytes())
    }

    #[test]
    fn body_members_are_checked_against_their_shapes() {
        let input = create_route(r#"{"routeKey":"$default","apiKeyRequired":true,"requestParameters":{"route.request.header.x":{"required":true}}}"#).unwrap();
        assert_eq!(input.str("routeKey"), Some("$default"));
        assert_eq!(input.label("apiId"), "a");
        for (body, message) in [
            ("{}", "Member routeKey must not be null"),
            (r#"{"routeKey":"k","bogus":1}"#, "Member bogus is not defined by the input of CreateRoute"),
            (r#"{"routeKey":7}"#, "Member routeKey must be a string"),
            (r#"{"routeKey":"k","apiKeyRequired":"yes"}"#, "Member apiKeyRequired must be a boolean"),
            (
                r#"{"routeKey":"k","authorizationType":"OPEN"}"#,
                "Member authorizationType must be one of [NONE, AWS_IAM, CUSTOM, JWT]",
            ),
            (
                r#"{"routeKey":"k","requestParameters":{"x":{"required":1}}}"#,
                "Member requestParameters.x.required must be a boolean",
            ),
            (
                r#"{"routeKey":"k","requestParameters":{"x":{"other":true}}}"#,
                "Member requestParameters.x.other is not defined by ParameterConstraints",
            ),
            ("[]", "The request body must be a JSON object"),
        ] {
            let err = create_route(body).unwrap_err();
            assert_eq!((err.code, err.message.as_str()), (wire::ErrorCode::BadRequest, message), "{body}");
        }
    }

    #[test]
    fn ranges_come_from_the_model() {
        let read_integration = |timeout: i64| {
            let body = format!(r#"{{"integrationType":"MOCK","timeoutInMillis":{timeout}}}"#);
            read(Operation::CreateIntegration, Vec::new(), None, body.as_bytes())
        };
        assert!(read_integration(50).is_ok());
        assert_eq!(read_integration(49).unwrap_err().message, "Member timeoutInMillis must be between 50 and 30000");
    }

    #[test]
    fn query_values_are_decoded() {
        let input = read(Operation::UntagResource, Vec::new(), Some("tagKeys=a%20b&tagKeys=c+d"), b"").unwrap();
        assert_eq!(input.query_values("tagKeys"), ["a b", "c d"]);
        let err = read(Operation::UntagResource, Vec::new(), None, b"").unwrap_err();
        assert_eq!(err.message, "Parameter tagKeys is required");
    }
}
