//! Access logs of a stage (`AccessLogSettings`): its `Format` read once into text and `$context.*` variables, and
//! one line rendered per event (connect, message, disconnect, and the handshakes and messages refused) from the
//! connection's context and what the event did. Writing the lines is the [`AccessLogSink`]'s business (the server's
//! bounded writer); nothing here does IO.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;
use wire::apigw::EventType;
use wire::timefmt;

use crate::connect::ConnContext;

/// What a stage's access log names: where its lines go and their format.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AccessLogSettings {
    /// A CloudWatch Logs log group's ARN or a Firehose delivery stream's.
    pub destination_arn: String,
    /// A line with `$context.*` variables, which must include `$context.requestId` or `$context.extendedRequestId`.
    pub format: String,
}

/// Why a format was refused: API Gateway's `BadRequestException` message.
pub const FORMAT_NEEDS_REQUEST_ID: &str =
    "Access log format must contain either $context.requestId or $context.extendedRequestId";

/// Checks a format as API Gateway does: it must name the request.
pub fn check_format(format: &str) -> Result<(), &'static str> {
    let parsed = LogFormat::parse(format);
    let names_request = parsed
        .parts
        .iter()
        .any(|part| matches!(part, Part::Variable(name) if name == "requestId" || name == "extendedRequestId"));
    if names_request { Ok(()) } else { Err(FORMAT_NEEDS_REQUEST_ID) }
}

/// Where an event reaches the log: the line and the destination ARN whose file it is appended to.
pub trait AccessLogSink: Send + Sync + std::fmt::Debug {
    /// Takes the line without waiting (dropping and counting it when the writer is behind).
    fn write(&self, destination_arn: &str, line: String);
}

/// A stage's access log, ready to render.
#[derive(Debug)]
pub struct AccessLog {
    pub destination_arn: String,
    format: LogFormat,
}

impl AccessLog {
    pub fn new(settings: &AccessLogSettings) -> AccessLog {
        AccessLog { destination_arn: settings.destination_arn.clone(), format: LogFormat::parse(&settings.format) }
    }
}

/// What one event did, beside what its connection's context says.
#[derive(Debug)]
pub struct AccessEvent<'a> {
    pub event_type: EventType,
    pub route_key: &'a str,
    pub request_id: &'a str,
    pub message_id: Option<&'a str>,
    /// The status API Gateway answered: 200, or the refusal's.
    pub status: u16,
    /// The integration's status and latency in milliseconds, when one ran.
    pub integration: Option<(Option<u16>, u64)>,
    /// The error message a client was told (`Forbidden`, `Too Many Requests`, …).
    pub error: Option<&'a str>,
    pub at: OffsetDateTime,
}

impl<'a> AccessEvent<'a> {
    /// An event of `route_key` at `request_id`, answered 200 with nothing ran yet.
    pub fn new(event_type: EventType, route_key: &'a str, request_id: &'a str) -> AccessEvent<'a> {
        AccessEvent {
            event_type,
            route_key,
            request_id,
            message_id: None,
            status: 200,
            integration: None,
            error: None,
            at: OffsetDateTime::now_utc(),
        }
    }

    /// Refused with `status` and the message the client was told.
    pub fn refused(mut self, status: u16, error: &'a str) -> AccessEvent<'a> {
        self.status = status;
        self.error = Some(error);
        self
    }
}

/// Writes the event's line to `sink` when the connection's stage has an access log.
pub fn record(sink: Option<&dyn AccessLogSink>, ctx: &ConnContext, event: &AccessEvent<'_>) {
    let (Some(sink), Some(log)) = (sink, ctx.api.access_log(&ctx.stage)) else { return };
    sink.write(&log.destination_arn, log.format.render(&|name| variable(ctx, event, name)));
}

/// The value of `$context.{name}`, or `None` (rendered `-`) when the event has none.
fn variable(ctx: &ConnContext, event: &AccessEvent<'_>, name: &str) -> Option<String> {
    let text = |s: &str| Some(s.to_owned());
    let caller = ctx.caller.as_deref();
    let integration_status = event.integration.and_then(|(status, _)| status).map(|s| s.to_string());
    let integration_latency = event.integration.map(|(_, ms)| ms.to_string());
    match name {
        "apiId" => text(&ctx.api.api.api_id),
        "connectionId" => text(&ctx.connection_id),
        "connectedAt" => Some(timefmt::epoch_millis(ctx.connected_at).to_string()),
        "domainName" => text(&ctx.domain_name),
        "eventType" => Some(event_type(event.event_type).to_owned()),
        "requestId" | "extendedRequestId" => text(event.request_id),
        "messageId" => event.message_id.map(str::to_owned),
        "messageDirection" => text("IN"),
        "routeKey" => text(event.route_key),
        "stage" => text(&ctx.stage),
        "status" => Some(event.status.to_string()),
        "requestTime" => Some(timefmt::common_log(event.at)),
        "requestTimeEpoch" => Some(timefmt::epoch_millis(event.at).to_string()),
        "identity.sourceIp" => text(&ctx.identity.source_ip),
        "identity.userAgent" => ctx.identity.user_agent.clone(),
        "identity.accessKey" => caller.map(|c| c.access_key.clone()),
        "identity.accountId" => caller.map(|c| c.account_id.clone()),
        "identity.caller" => caller.map(|c| c.caller.clone()),
        "identity.user" => caller.map(|c| c.user.clone()),
        "identity.userArn" => caller.map(|c| c.user_arn.clone()),
        "integrationStatus" | "integration.integrationStatus" | "integration.status" => integration_status,
        "integrationLatency" | "integration.latency" => integration_latency,
        "error.message" => event.error.map(str::to_owned),
        // The message as a JSON string, quotes included (`"-"` without one), so that it can stand as a JSON value.
        "error.messageString" => Some(Value::String(event.error.unwrap_or("-").to_owned()).to_string()),
        _ => {
            let key = name.strip_prefix("authorizer.")?;
            match ctx.authorizer.as_ref()?.get(key)? {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        }
    }
}

fn event_type(event_type: EventType) -> &'static str {
    match event_type {
        EventType::Connect => "CONNECT",
        EventType::Message => "MESSAGE",
        EventType::Disconnect => "DISCONNECT",
    }
}

/// A format read once: literal text and the variables between it.
#[derive(Debug)]
struct LogFormat {
    parts: Vec<Part>,
}

#[derive(Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    /// The name after `$context.`.
    Variable(String),
}

const PREFIX: &str = "$context.";

impl LogFormat {
    /// A variable is `$context.` followed by letters, digits, `_` and `.`, a trailing `.` being text (`$context.a.`
    /// ends a sentence); anything else is text.
    fn parse(format: &str) -> LogFormat {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        while let Some(at) = rest.find(PREFIX) {
            let after = &rest[at + PREFIX.len()..];
            let len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(after.len());
            let name = after[..len].trim_end_matches('.');
            text.push_str(&rest[..at]);
            if name.is_empty() {
                text.push_str(PREFIX);
                rest = after;
                continue;
            }
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Variable(name.to_owned()));
            rest = &after[name.len()..];
        }
        text.push_str(rest);
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        LogFormat { parts }
    }

    /// The line, each variable's value or `-` where it has none, as API Gateway writes it.
    fn render(&self, value: &dyn Fn(&str) -> Option<String>) -> String {
        let mut line = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => line.push_str(text),
                Part::Variable(name) => match value(name) {
                    Some(v) if !v.is_empty() => line.push_str(&v),
                    _ => line.push('-'),
                },
            }
        }
        // One event, one line.
        if line.contains(['\n', '\r']) {
            let mut flat = String::with_capacity(line.len());
            for c in line.chars() {
                match c {
                    '\n' => flat.push_str("\\n"),
                    '\r' => flat.push_str("\\r"),
                    c => {
                        let _ = flat.write_char(c);
                    }
                }
            }
            line = flat;
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: &str, values: &[(&str, &str)]) -> String {
        LogFormat::parse(format).render(&|name| values.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn variables_are_substituted_and_unknown_ones_are_dashes() {
        let values = [("requestId", "r1"), ("status", "200"), ("authorizer.user", "alice"), ("empty", "")];
        assert_eq!(
            render(r#"{"id":"$context.requestId","s":$context.status,"u":"$context.authorizer.user"}"#, &values),
            r#"{"id":"r1","s":200,"u":"alice"}"#
        );
        assert_eq!(render("$context.requestId $context.nope $context.empty.", &values), "r1 - -.");
        assert_eq!(render("$context. $context.requestId,$context.status", &values), "$context. r1,200");
        assert_eq!(render("no variables", &values), "no variables");
        assert_eq!(render("$context.requestId\nnext", &values), "r1\\nnext", "one line per event");
    }

    #[test]
    fn a_format_must_name_the_request() {
        assert!(check_format("$context.requestId").is_ok());
        assert!(check_format("[$context.extendedRequestId]").is_ok());
        for bad in ["", "$context.status", "$context.requestIdentity", "requestId", "$context.requestId2"] {
            assert_eq!(check_format(bad), Err(FORMAT_NEEDS_REQUEST_ID), "{bad}");
        }
    }
}
