//! `management_path`: a request in the text form of [`crate::request`] through the `@connections` management API as
//! the server runs it after the signature check: the path ([`Target::parse`], `/@apis/{apiId}/{stage}` endpoints),
//! the method, stage and connection id ([`Call::parse`]) and the operation on a hub ([`apply_within`]). `{id}` in
//! the path stands for the id of a live connection of API `a`, stage `prod`, so inputs can reach it.

use std::cell::OnceCell;
use std::rc::Rc;
use std::sync::Arc;

use apigw::management::{Call, Target, apply_within};
use apigw::{Api, ApiSet, Stage};
use bytes::Bytes;
use http::Method;
use hub::{ConnectionInfo, Hub, HubConfig, Scope};
use time::OffsetDateTime;

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
        let api = |id: &str, stages: &[&str]| Api {
            api_id: id.to_owned(),
            name: None,
            route_selection_expression: apigw::model::default_selection_expression(),
            stages: stages
                .iter()
                .map(|s| Stage { stage_name: (*s).to_owned(), stage_variables: Default::default() })
                .collect(),
            routes: Vec::new(),
            integrations: Vec::new(),
            route_responses: Vec::new(),
            authorizers: Vec::new(),
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

    if let Some((api_id, stage)) = apigw::deployed::endpoint_path(&path) {
        assert!(!api_id.is_empty() && !stage.is_empty() && !stage.contains('/'));
    }
    if let Some(target) = Target::parse(&path) {
        let method = Method::from_bytes(request.method.as_bytes()).unwrap_or(Method::PUT);
        // The Host chooses between the two APIs with a `prod` stage as it would for an upgrade.
        let host = request.body.first().map(|b| if b % 2 == 0 { "a.localhost" } else { "b.execute-api.localhost" });
        match Call::parse(&fixture.apis, &method, &target, host) {
            Ok(call) => {
                let body = Bytes::copy_from_slice(request.body);
                match apply_within(&fixture.hub, call.op, call.id, call.api, call.stage, body) {
                    Ok(reply) => {
                        assert!(matches!(reply.status, 200 | 204), "{reply:?}");
                        if let Some(json) = reply.json {
                            serde_json::from_str::<serde_json::Value>(&json).expect("a JSON answer");
                        }
                    }
                    Err(err) => assert!(err.status().is_client_error(), "{err:?}"),
                }
            }
            Err(err) => assert!(err.status().is_client_error(), "{err:?}"),
        }
    }
    fixture.hub.unregister(conn.id());
}
