//! Tests of the management API's paths, request checks and operations on a hub.

use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use hub::{ConnectionInfo, Hub, HubConfig, Scope};
use time::OffsetDateTime;
use wire::ErrorCode;

use super::{Call, Op, Reply, Target, apply, apply_within};
use crate::ApiSet;

#[test]
fn parses_management_paths() {
    let t = |p| Target::parse(p);
    assert_eq!(
        t("/prod/@connections/L0SM9cOFvHcCIhw%3D"),
        Some(Target { api: None, stage: Some("prod"), raw_id: "L0SM9cOFvHcCIhw%3D" })
    );
    assert_eq!(t("/@connections/abc"), Some(Target { api: None, stage: None, raw_id: "abc" }));
    assert_eq!(t("/prod/%40connections/abc"), Some(Target { api: None, stage: Some("prod"), raw_id: "abc" }));
    assert_eq!(t("/prod/@connections/"), Some(Target { api: None, stage: Some("prod"), raw_id: "" }));
    assert_eq!(t("/prod/@connections/a/b"), Some(Target { api: None, stage: Some("prod"), raw_id: "a/b" }));
    assert_eq!(
        t("/@apis/abcdefghij/prod/@connections/abc"),
        Some(Target { api: Some("abcdefghij"), stage: Some("prod"), raw_id: "abc" })
    );
    assert_eq!(t("/@apis/abcdefghij/@connections/abc"), None);
    assert_eq!(t("/prod"), None);
    assert_eq!(t("/prod/other/abc"), None);
    assert_eq!(t("/"), None);
}

fn connection(hub: &Hub, scope: Scope) -> Arc<hub::Connection> {
    let conn = hub.new_connection(ConnectionInfo {
        scope,
        connected_at: OffsetDateTime::UNIX_EPOCH,
        source_ip: "192.0.2.1".to_owned(),
        user_agent: Some("test".into()),
    });
    hub.register(conn.clone());
    conn
}

fn api_scope() -> Scope {
    Scope::Api { api_id: "a".into(), stage: "prod".into() }
}

#[test]
fn checks_method_stage_and_id() {
    let apis = crate::testing::one_api();
    let id = Hub::new(HubConfig::default()).new_connection(ConnectionInfo {
        scope: api_scope(),
        connected_at: OffsetDateTime::UNIX_EPOCH,
        source_ip: String::new(),
        user_agent: None,
    });
    let raw = id.id().to_string();
    let target = Target { api: None, stage: Some("prod"), raw_id: &raw };
    let call = Call::parse(&apis, &Method::DELETE, &target, None).unwrap();
    assert_eq!(call, Call { op: Op::Delete, id: id.id(), api: Some("a"), stage: Some("prod") });

    let code = |method: Method, target: Target<'_>| Call::parse(&apis, &method, &target, None).unwrap_err().code;
    assert_eq!(code(Method::PUT, Target { api: None, stage: Some("prod"), raw_id: &raw }), ErrorCode::Forbidden);
    assert_eq!(code(Method::GET, Target { api: None, stage: Some("nostage"), raw_id: &raw }), ErrorCode::Forbidden);
    assert_eq!(code(Method::GET, Target { api: None, stage: None, raw_id: "not-an-id" }), ErrorCode::BadRequest);
    let defined = Target { api: Some("abcdefghij"), stage: Some("nostage"), raw_id: &raw };
    assert_eq!(
        Call::parse(&apis, &Method::GET, &defined, None).unwrap().api,
        Some("abcdefghij"),
        "checked by the caller"
    );
    assert_eq!(Op::of(&Method::POST).map(Op::name), Some("PostToConnection"));
}

#[test]
fn applies_operations_to_api_connections_only() {
    let hub = Hub::new(HubConfig::default());
    let api = connection(&hub, api_scope());
    let chat = connection(&hub, Scope::Chat { room_id: "r".into(), user_id: "u".into() });

    let post = apply(&hub, Op::Post, api.id(), Some("prod"), Bytes::from_static(b"hi")).unwrap();
    assert_eq!(post, Reply { status: 200, json: None });
    let get = apply(&hub, Op::Get, api.id(), None, Bytes::new()).unwrap();
    assert_eq!(get.status, 200);
    assert!(get.json.unwrap().contains(r#""sourceIp":"192.0.2.1""#));

    let gone = |result: Result<Reply, wire::ApiError>| result.unwrap_err().code == ErrorCode::Gone;
    assert!(gone(apply(&hub, Op::Get, api.id(), Some("dev"), Bytes::new())), "another stage");
    assert!(gone(apply(&hub, Op::Get, chat.id(), None, Bytes::new())), "a chat connection");
    let within = |api_id| apply_within(&hub, Op::Get, api.id(), Some(api_id), Some("prod"), Bytes::new());
    assert_eq!(within("a").unwrap().status, 200);
    assert!(gone(within("b")), "another API's path");

    assert_eq!(apply(&hub, Op::Delete, api.id(), None, Bytes::new()).unwrap(), Reply { status: 204, json: None });
    assert!(gone(apply(&hub, Op::Delete, api.id(), None, Bytes::new())), "already closing");
    hub.unregister(api.id());
    assert!(gone(apply(&hub, Op::Post, api.id(), None, Bytes::new())), "unregistered");
}

#[test]
fn the_host_chooses_the_api_a_call_reaches_as_it_chooses_the_api_of_an_upgrade() {
    let mut two = crate::testing::one_api().apis().map(|api| api.api.clone()).collect::<Vec<_>>();
    let mut other = two[0].clone();
    other.api_id = "other".to_owned();
    two.push(other);
    let apis = ApiSet::new(two).unwrap();
    let raw = "L0SM9cOFvHcCIhw=";
    let staged = Target { api: None, stage: Some("prod"), raw_id: raw };
    let api =
        |target: &Target<'static>, host| Call::parse(&apis, &Method::GET, target, host).unwrap().api.map(str::to_owned);
    assert_eq!(api(&staged, Some("other.execute-api.us-east-1.amazonaws.com")), Some("other".to_owned()));
    assert_eq!(api(&staged, Some("a.localhost:4510")), Some("a".to_owned()));
    assert_eq!(api(&staged, Some("localhost:4510")), Some("a".to_owned()), "the first declared, as for an upgrade");
    assert_eq!(api(&staged, None), Some("a".to_owned()));
    let stageless = Target { api: None, stage: None, raw_id: raw };
    assert_eq!(api(&stageless, Some("other.localhost")), Some("other".to_owned()));
    assert_eq!(api(&stageless, Some("localhost")), None, "a Host that names no API reaches every API");
    let defined = Target { api: Some("abcdefghij"), stage: Some("prod"), raw_id: raw };
    assert_eq!(api(&defined, Some("other.localhost")), Some("abcdefghij".to_owned()), "the path's API wins");
}

#[test]
fn a_post_to_connections_walks_its_ids_in_the_order_they_were_issued() {
    let hub = Hub::new(HubConfig::default());
    let issued: Vec<String> = (0..200).map(|_| connection(&hub, api_scope()).id().to_string()).collect();
    // The caller lists them backwards, with a malformed id and one id twice.
    let mut listed: Vec<String> = issued.iter().rev().cloned().collect();
    listed.insert(50, "nope".to_owned());
    listed.push(issued[7].clone());
    let walk = super::ext::walk(&listed);
    let place = |id: &String| listed.iter().position(|l| l == id).unwrap();
    let mut expected = vec![50];
    for (i, id) in issued.iter().enumerate() {
        expected.push(place(id));
        if i == 7 {
            expected.push(listed.len() - 1);
        }
    }
    let at: Vec<usize> = walk.iter().map(|&(_, at)| at).collect();
    assert_eq!(at, expected, "the malformed id first, then in issue order, a repeated id in the caller's order");
    for (id, at) in walk {
        assert_eq!(id, hub::ConnectionId::parse(&listed[at]), "each id beside its place in the caller's list");
    }
}
