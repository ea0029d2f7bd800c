//! Reading a request against the operation's input shape of the generated model: URI labels, query strings and
//! the JSON body, each body member checked against its shape by `aws_models::input` (type, lengths, ranges, enums,
//! lists, maps, nested structures, required members; members the shape does not define are refused). Failures are
//! BadRequestException, as apigatewayv2 answers them.

use aws_models::Location;
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
    let body = aws_models::input::read_body(shape, op.name(), body).map_err(bad_request)?;
    let query = parse_query(raw_query);
    let missing = shape.members().iter().find(|member| {
        member.location == Location::Querystring
            && member.required
            && !query.iter().any(|(n, _)| n == member.location_name)
    });
    if let Some(member) = missing {
        return Err(bad_request(format!("Parameter {} is required", member.location_name)));
    }
    Ok(Input { labels, query, body })
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
