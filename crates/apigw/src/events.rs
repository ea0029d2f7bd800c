//! Builds the Lambda proxy event for a connection, route and event type (reference apigw.md §3.4).

use serde_json::{Map, Value};
use time::OffsetDateTime;
use wire::apigw::{EventIdentity, EventType, ProxyEvent, RequestContext};
use wire::timefmt;

use crate::connect::ConnContext;

/// What distinguishes one event from another on the same connection.
#[derive(Debug)]
pub(crate) struct EventFacts<'a> {
    pub(crate) event_type: EventType,
    pub(crate) route_key: &'a str,
    pub(crate) request_id: &'a str,
    pub(crate) message_id: Option<&'a str>,
    pub(crate) body: Option<&'a str>,
    pub(crate) disconnect: Option<(u16, &'a str)>,
    pub(crate) now: OffsetDateTime,
}

type JsonMap = Map<String, Value>;

/// Serialises the proxy event to JSON.
pub(crate) fn proxy_event(ctx: &ConnContext, facts: &EventFacts<'_>) -> Vec<u8> {
    with_event(ctx, facts, |event| serde_json::to_vec(event).unwrap_or_default())
}

/// The REQUEST authorizer event of a `$connect` (reference apigw.md §3.4): the CONNECT event with `type` and
/// `methodArn`, `stageVariables` always present, and no `isBase64Encoded`.
pub(crate) fn authorizer_event(ctx: &ConnContext, facts: &EventFacts<'_>, method_arn: &str) -> Value {
    let mut event = with_event(ctx, facts, |event| serde_json::to_value(event).unwrap_or_default());
    if let Value::Object(map) = &mut event {
        map.remove("isBase64Encoded");
        map.entry("stageVariables").or_insert_with(|| Value::Object(Map::new()));
        map.insert("type".to_owned(), Value::String("REQUEST".to_owned()));
        map.insert("methodArn".to_owned(), Value::String(method_arn.to_owned()));
    }
    event
}

fn with_event<T>(ctx: &ConnContext, facts: &EventFacts<'_>, render: impl FnOnce(&ProxyEvent<'_>) -> T) -> T {
    let (headers, multi_headers) = match facts.event_type {
        EventType::Connect => header_maps(ctx.headers.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
        EventType::Disconnect => {
            let host = ctx.domain_name.split('/').next().unwrap_or_default();
            let fixed = [("Host", host), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")];
            header_maps(fixed.into_iter())
        }
        EventType::Message => (None, None),
    };
    let (query, multi_query) = if facts.event_type == EventType::Connect && !ctx.query.is_empty() {
        header_maps(ctx.query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    } else {
        (None, None)
    };
    let event = ProxyEvent {
        headers,
        multi_value_headers: multi_headers,
        query_string_parameters: query,
        multi_value_query_string_parameters: multi_query,
        stage_variables: (!ctx.stage_variables.is_empty()).then_some(&ctx.stage_variables),
        request_context: RequestContext {
            route_key: facts.route_key,
            message_id: facts.message_id,
            disconnect_status_code: facts.disconnect.map(|(code, _)| code),
            event_type: facts.event_type,
            extended_request_id: facts.request_id,
            request_time: timefmt::common_log(facts.now),
            message_direction: "IN",
            disconnect_reason: facts.disconnect.map(|(_, reason)| reason),
            stage: &ctx.stage,
            connected_at: timefmt::epoch_millis(ctx.connected_at),
            request_time_epoch: timefmt::epoch_millis(facts.now),
            identity: EventIdentity { connection: &ctx.identity, caller: ctx.caller.as_deref() },
            request_id: facts.request_id,
            domain_name: &ctx.domain_name,
            connection_id: &ctx.connection_id,
            api_id: &ctx.api.api.api_id,
            authorizer: ctx.authorizer.as_ref(),
        },
        body: facts.body,
        is_base64_encoded: false,
    };
    render(&event)
}

/// `headers` keeps the last value of each name, `multiValueHeaders` all of them, names as given.
fn header_maps<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> (Option<JsonMap>, Option<JsonMap>) {
    let mut single = Map::new();
    let mut multi = Map::new();
    for (k, v) in pairs {
        single.insert(k.to_owned(), Value::String(v.to_owned()));
        if let Some(Value::Array(values)) = multi.get_mut(k) {
            values.push(Value::String(v.to_owned()));
        } else {
            multi.insert(k.to_owned(), Value::Array(vec![Value::String(v.to_owned())]));
        }
    }
    (Some(single), Some(multi))
}
