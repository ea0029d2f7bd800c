//! API Gateway wire shapes: GetConnection's output, the Lambda proxy event and answer, and the error frames.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `GetConnection` output (reference apigw.md §1.5).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetConnectionOutput {
    pub connected_at: String,
    pub identity: Identity,
    pub last_active_at: String,
}

/// The caller identity shown by GetConnection and in every event's `requestContext.identity`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub source_ip: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// The caller of a `$connect` whose route's authorization is `AWS_IAM`, in every event's `requestContext.identity`
/// beside the connection's [`Identity`] (GetConnection does not show it: its model has no such members). A key pair
/// Switchboard accepts acts for the whole account, as an account's root credentials do on AWS, so the caller is
/// the account: `caller` and `user` are its id, `userArn` is `arn:aws:iam::{account}:root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamCaller {
    pub access_key: String,
    pub account_id: String,
    pub caller: String,
    pub user: String,
    pub user_arn: String,
}

impl IamCaller {
    /// The caller who signed with `access_key` for `account_id`.
    pub fn of_account(access_key: &str, account_id: &str) -> IamCaller {
        IamCaller {
            access_key: access_key.to_owned(),
            account_id: account_id.to_owned(),
            caller: account_id.to_owned(),
            user: account_id.to_owned(),
            user_arn: format!("arn:aws:iam::{account_id}:root"),
        }
    }
}

/// `requestContext.identity` of an event: the connection's identity, and its IAM caller if it has one.
#[derive(Debug, Serialize)]
pub struct EventIdentity<'a> {
    #[serde(flatten)]
    pub connection: &'a Identity,
    #[serde(flatten)]
    pub caller: Option<&'a IamCaller>,
}

/// The kind of event a route integration receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventType {
    Connect,
    Message,
    Disconnect,
}

/// The Lambda proxy (`AWS_PROXY`) event, reference apigw.md §3.4.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyEvent<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_value_headers: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_value_query_string_parameters: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage_variables: Option<&'a Map<String, Value>>,
    pub request_context: RequestContext<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    pub is_base64_encoded: bool,
}

/// `requestContext` of a proxy event; epoch fields are milliseconds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext<'a> {
    pub route_key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_status_code: Option<u16>,
    pub event_type: EventType,
    pub extended_request_id: &'a str,
    pub request_time: String,
    pub message_direction: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disconnect_reason: Option<&'a str>,
    pub stage: &'a str,
    pub connected_at: i64,
    pub request_time_epoch: i64,
    pub identity: EventIdentity<'a>,
    pub request_id: &'a str,
    pub domain_name: &'a str,
    pub connection_id: &'a str,
    pub api_id: &'a str,
    /// What the connection's REQUEST authorizer answered on `$connect`: `principalId`, its `context` values and
    /// `integrationLatency`; on every event of that connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<&'a Map<String, Value>>,
}

/// A Lambda proxy answer `{statusCode, headers, multiValueHeaders, body, isBase64Encoded}`.
///
/// Every member is optional: a handler that returns nothing (or `null`) accepts with 200, as API Gateway does for
/// WebSocket routes.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponse {
    #[serde(default)]
    pub status_code: Option<u16>,
    #[serde(default)]
    pub headers: Option<Map<String, Value>>,
    #[serde(default)]
    pub multi_value_headers: Option<Map<String, Value>>,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub is_base64_encoded: bool,
}

impl ProxyResponse {
    /// Parses a handler's answer; `null`, an empty body or a non-object means "no answer".
    pub fn parse(bytes: &[u8]) -> Result<ProxyResponse, serde_json::Error> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(ProxyResponse::default());
        }
        match serde_json::from_slice::<Value>(bytes)? {
            Value::Object(map) => serde_json::from_value(Value::Object(map)),
            _ => Ok(ProxyResponse::default()),
        }
    }

    /// The body as text: a JSON string as is, any other JSON value serialised.
    pub fn body_text(&self) -> Option<String> {
        match &self.body {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        }
    }

    /// Response headers as name/value pairs (multi-value headers included), values rendered as text.
    pub fn header_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let Some(h) = &self.headers {
            out.extend(h.iter().map(|(k, v)| (k.clone(), text(v))));
        }
        if let Some(h) = &self.multi_value_headers {
            for (k, vs) in h {
                if out.iter().any(|(name, _)| name.eq_ignore_ascii_case(k)) {
                    continue;
                }
                if let Value::Array(vs) = vs {
                    out.extend(vs.iter().map(|v| (k.clone(), text(v))));
                }
            }
        }
        out
    }
}

/// The error frames API Gateway sends to a client (reference apigw.md §3.7), with its exact spacing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFrame {
    /// The integration failed.
    InternalServerError,
    /// No route matched and there is no `$default` route.
    Forbidden,
    /// The integration did not answer in time.
    EndpointTimedOut,
    /// The route's throttling (its stage's route settings), or the node's bound on integrations in flight, refused the
    /// message.
    TooManyRequests,
    /// No request template of a non-proxy integration matched and its passthrough behaviour refuses such
    /// messages.
    UnsupportedMediaType,
}

impl ErrorFrame {
    pub fn message(self) -> &'static str {
        match self {
            ErrorFrame::InternalServerError => "Internal server error",
            ErrorFrame::Forbidden => "Forbidden",
            ErrorFrame::EndpointTimedOut => "Endpoint request timed out",
            ErrorFrame::TooManyRequests => "Too Many Requests",
            ErrorFrame::UnsupportedMediaType => "Unsupported Media Type",
        }
    }

    /// `{"message": "Forbidden", "connectionId":"…", "requestId":"…"}`.
    pub fn render(self, connection_id: &str, request_id: &str) -> String {
        format!(
            r#"{{"message": "{}", "connectionId":{}, "requestId":{}}}"#,
            self.message(),
            Value::String(connection_id.to_owned()),
            Value::String(request_id.to_owned())
        )
    }

    /// The frame of a message that failed its route's request validation; it names the message, not a request:
    /// `{"message": "Bad request body", "connectionId":"…", "messageId":"…"}`.
    pub fn bad_request_body(connection_id: &str, message_id: &str) -> String {
        format!(
            r#"{{"message": "Bad request body", "connectionId":{}, "messageId":{}}}"#,
            Value::String(connection_id.to_owned()),
            Value::String(message_id.to_owned())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_frames_match_aws_spacing() {
        assert_eq!(
            ErrorFrame::InternalServerError.render("VNRUSeldSwMCIRQ=", "VNRXVFJOywMF3-Q="),
            r#"{"message": "Internal server error", "connectionId":"VNRUSeldSwMCIRQ=", "requestId":"VNRXVFJOywMF3-Q="}"#
        );
        assert_eq!(
            ErrorFrame::Forbidden.render("a", "b"),
            r#"{"message": "Forbidden", "connectionId":"a", "requestId":"b"}"#
        );
        assert_eq!(
            ErrorFrame::EndpointTimedOut.render("a", "b"),
            r#"{"message": "Endpoint request timed out", "connectionId":"a", "requestId":"b"}"#
        );
        assert_eq!(
            ErrorFrame::TooManyRequests.render("a", "b"),
            r#"{"message": "Too Many Requests", "connectionId":"a", "requestId":"b"}"#
        );
        assert_eq!(
            ErrorFrame::UnsupportedMediaType.render("a", "b"),
            r#"{"message": "Unsupported Media Type", "connectionId":"a", "requestId":"b"}"#
        );
        assert_eq!(
            ErrorFrame::bad_request_body("a", "m"),
            r#"{"message": "Bad request body", "connectionId":"a", "messageId":"m"}"#
        );
    }

    #[test]
    fn proxy_response_parsing() {
        let r = ProxyResponse::parse(br#"{"statusCode":200,"headers":{"Sec-WebSocket-Protocol":"chat"},"body":"hi"}"#)
            .unwrap();
        assert_eq!(r.status_code, Some(200));
        assert_eq!(r.header_pairs(), vec![("Sec-WebSocket-Protocol".to_owned(), "chat".to_owned())]);
        assert_eq!(r.body_text().as_deref(), Some("hi"));
        assert_eq!(ProxyResponse::parse(b"null").unwrap().status_code, None);
        assert_eq!(ProxyResponse::parse(b"").unwrap().status_code, None);
        assert_eq!(ProxyResponse::parse(br#"{"body":{"a":1}}"#).unwrap().body_text().as_deref(), Some(r#"{"a":1}"#));
        assert!(ProxyResponse::parse(b"{not json").is_err());
        assert!(ProxyResponse::parse(br#"{"statusCode":"x"}"#).is_err());
    }
}
