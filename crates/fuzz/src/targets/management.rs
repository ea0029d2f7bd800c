//! `management_path`: a request in the text form of [`crate::request`] through the `@connections` management API as
//! the server runs it after the signature check: the path ([`Target::parse`], `/@apis/{apiId}/{stage}` endpoints),
//! the method, stage and connection id ([`Call::parse`]) and the operation on a hub ([`apply_within`]); an extension
//! path ([`ExtensionPath`]) instead has its body read against the extension model's input shape and runs its
//! operation (CloseConnection through [`Call::close`], UpdateConnection, and the per-node [`NodeCall`]s). `{id}` in the path and body stands for the id of a live connection of API
//! `a`, stage `prod`, so inputs can reach it.

use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;

use apigw::management::ext::NodeCall;
use apigw::management::{Call, Op, Reply, Target, apply_within};
use apigw::{Api, ApiSet, Stage};
use aws_models::apigatewaymanagementapi_ext::Operation;
use aws_models::extension::ExtensionPath;
use bytes::Bytes;
use http::Method;
use hub::{ConnectionInfo, Hub, HubConfig, Scope};
use serde_json::Value;
use time::OffsetDateTime;
use wire::ApiError;

use crate::fixture::once;
use crate::request::Request;

thread_local! {
    static FIXTURE: OnceCell<Rc<Fixture>> = const { OnceCell::new() };
}

struct Fixture {
    apis: ApiSet,
    hub: Hub,
}

impl Fixture {
    fn new() -> Fixture {
        let api = |id: &str, stages: &[&str]| {
            let stages = stages.iter().map(|s| Stage { stage_name: (*s).to_owned(), ..Stage::default() });
            Api::with_stages(id, stages.collect())
        };
        let apis = ApiSet::new(vec![api("a", &["prod", "dev"]), api("b", &["prod"])]).expect("valid APIs");
        Fixture { apis, hub: Hub::new(HubConfig { node: 7, outbox_limit: 64 * 1024 }) }
    }
}

pub fn management_path(data: &[u8]) {
    let Some(request) = Request::parse(data) else { return };
    let fixture = once(&FIXTURE, Fixture::new);
    let conn = fixture.hub.new_connection(ConnectionInfo {
        scope: Scope::Api { api_id: Arc::from("a"), stage: Arc::from("prod") },
        connected_at: OffsetDateTime::UNIX_EPOCH,
        source_ip: "192.0.2.1".to_owned(),
        user_agent: None,
    });
    fixture.hub.register(conn.clone());
    let path = request.path.replace("{id}", &conn.id().to_string());
    let body = String::from_utf8_lossy(request.body).replace("{id}", &conn.id().to_string());

    if let Some((api_id, stage)) = apigw::deployed::endpoint_path(&path) {
        assert!(!api_id.is_empty() && !stage.is_empty() && !stage.contains('/'));
    }
    // The Host chooses between the two APIs with a `prod` stage as it would for an upgrade.
    let host = request.body.first().map(|b| if b % 2 == 0 { "a.localhost" } else { "b.execute-api.localhost" });
    if let Some(target) = Target::parse(&path) {
        let method = Method::from_bytes(request.method.as_bytes()).unwrap_or(Method::PUT);
        match Call::parse(&fixture.apis, &method, &target, host) {
            Ok(call) => {
                let body = Bytes::copy_from_slice(request.body);
                answered(apply_within(&fixture.hub, call.op, call.id, call.api, call.stage, body));
            }
            Err(err) => assert!(err.status().is_client_error(), "{err:?}"),
        }
    }
    if let Some(extension) = ExtensionPath::parse(&path) {
        assert!(!path.starts_with("/@apis/") || extension.api.is_some(), "{extension:?}");
        if let Some(result) = extension_call(&fixture, &extension, host, body.as_bytes()) {
            answered(result);
        }
    }
    fixture.hub.unregister(conn.id());
}

/// An extension call of the management API, as the server runs it after the signature check.
fn extension_call(
    fixture: &Fixture,
    path: &ExtensionPath<'_>,
    host: Option<&str>,
    body: &[u8],
) -> Option<Result<Reply, ApiError>> {
    let (_, operation) = path.operation_of(&aws_models::apigatewaymanagementapi::SERVICE)?;
    let result = aws_models::input::read_body(operation.input, operation.name, body)
        .map_err(|message| ApiError::new(wire::ErrorCode::BadRequest, message))
        .and_then(|input| {
            let text = |name: &str| input.get(name).and_then(Value::as_str).map(str::to_owned);
            let (api, stage) = (path.api.map(str::to_owned), path.stage.map(str::to_owned));
            let call = match Operation::from_name(operation.name) {
                Some(Operation::CloseConnection) => Call::close(
                    &fixture.apis,
                    (path.api, path.stage),
                    host,
                    &text("ConnectionId").unwrap_or_default(),
                    body,
                )?,
                Some(Operation::UpdateConnection) => {
                    let id = apigw::management::parse_id(&text("ConnectionId").unwrap_or_default())?;
                    Call { op: Op::Update, id, api: path.api, stage: path.stage }
                }
                Some(Operation::ListConnections) => {
                    let limit = input.get("MaxResults").and_then(Value::as_u64).unwrap_or(100) as usize;
                    let after = text("NextToken");
                    return NodeCall::List { api, stage, group: text("Group"), after, limit }.apply(&fixture.hub);
                }
                Some(Operation::PostToConnections) => {
                    let ids = input["ConnectionIds"].as_array().cloned().unwrap_or_default();
                    let ids = ids.iter().filter_map(Value::as_str).map(str::to_owned).collect();
                    return NodeCall::Post { api, stage, ids, data: text("Data").unwrap_or_default() }
                        .apply(&fixture.hub);
                }
                Some(Operation::PostToGroup) => {
                    let (group, data) = (text("Group").unwrap_or_default(), text("Data").unwrap_or_default());
                    return NodeCall::PostGroup { api, stage, group, data }.apply(&fixture.hub);
                }
                None => return Err(ApiError::forbidden()),
            };
            apply_within(&fixture.hub, call.op, call.id, call.api, call.stage, Bytes::copy_from_slice(body))
        });
    Some(result)
}

/// A management answer: a success with a JSON body or none, or a client error.
fn answered(result: Result<Reply, ApiError>) {
    match result {
        Ok(reply) => {
            assert!(matches!(reply.status, 200 | 204), "{reply:?}");
            if let Some(json) = reply.json {
                serde_json::from_str::<serde_json::Value>(&json).expect("a JSON answer");
            }
        }
        Err(err) => assert!(err.status().is_client_error(), "{err:?}"),
    }
}
