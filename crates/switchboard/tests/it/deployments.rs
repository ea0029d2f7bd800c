//! APIs defined through the apigatewayv2 control plane acting on live sockets: `{ApiEndpoint}/{stage}` connects once
//! the stage has a deployment, a redeployment applies to open connections, stage variables reach integrations, and
//! deleting the stage closes its connections.

use std::time::Duration;

use aws_sdk_apigatewaymanagement::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigatewayv2::types::{IntegrationType, ProtocolType};
use serde_json::{Value, json};

use crate::apigatewayv2::sdk;
use crate::harness::*;

/// A management client for the connections of one deployed stage, at `{base}` (`/@apis/{apiId}/{stage}`).
fn management(server: &TestServer, base: &str) -> aws_sdk_apigatewaymanagement::Client {
    let config = aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(AKID, SECRET, None, None, "test"))
        .endpoint_url(server.url(base))
        .build();
    aws_sdk_apigatewaymanagement::Client::from_conf(config)
}

/// An HTTP_PROXY integration to `uri` that tells the backend the event type and connection id in headers.
async fn integration(sdk: &aws_sdk_apigatewayv2::Client, api: &str, uri: &str) -> String {
    let created = sdk
        .create_integration()
        .api_id(api)
        .integration_type(IntegrationType::HttpProxy)
        .integration_method("POST")
        .integration_uri(uri)
        .request_parameters("integration.request.header.x-event", "context.eventType")
        .request_parameters("integration.request.header.x-connection", "context.connectionId")
        .send()
        .await
        .unwrap();
    format!("integrations/{}", created.integration_id().unwrap())
}

/// The next request `backend` receives with the given `x-event`, and its `x-connection` header.
pub async fn next_event(backend: &mut Backend, event: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    next_event_before(backend, event, deadline).await.unwrap_or_else(|| panic!("no {event} request within 5 s"))
}

/// The `x-connection` header of the next request with the given `x-event` received before `deadline`, or `None`.
pub async fn next_event_before(backend: &mut Backend, event: &str, deadline: tokio::time::Instant) -> Option<String> {
    loop {
        let parts = backend.next_request_before(deadline).await?;
        if parts.headers.get("x-event").is_some_and(|v| v == event) {
            return Some(parts.headers["x-connection"].to_str().unwrap().to_owned());
        }
    }
}

/// An API defined through the SDK: `$connect`, `$disconnect` and the two-way `send` reach `first`; integration
/// `two` reaches the backend the stage variable `second` names; stage `prod` names `second` there, undeployed.
pub struct Defined {
    pub api: String,
    pub endpoint: String,
    pub send: String,
    pub two: String,
}

pub async fn define(sdk: &aws_sdk_apigatewayv2::Client, first: &Backend, second: &Backend) -> Defined {
    let created = sdk
        .create_api()
        .name("live")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap();
    let api = created.api_id().unwrap().to_owned();
    let one = integration(sdk, &api, &first.url()).await;
    let two = integration(sdk, &api, "http://${stageVariables.second}/fn").await;
    for key in ["$connect", "$disconnect"] {
        sdk.create_route().api_id(&api).route_key(key).target(&one).send().await.unwrap();
    }
    let send = sdk
        .create_route()
        .api_id(&api)
        .route_key("send")
        .target(&one)
        .route_response_selection_expression("$default")
        .send()
        .await
        .unwrap();
    let send = send.route_id().unwrap().to_owned();
    sdk.create_route_response().api_id(&api).route_id(&send).route_response_key("$default").send().await.unwrap();
    let second_host = second.url().trim_start_matches("http://").trim_end_matches("/fn").to_owned();
    sdk.create_stage().api_id(&api).stage_name("prod").stage_variables("second", &second_host).send().await.unwrap();
    Defined { api, endpoint: created.api_endpoint().unwrap().to_owned(), send, two }
}

/// Sends `{"action":"send","n":n}` and returns the route response.
pub async fn exchange(ws: &mut Ws, n: u32) -> Value {
    send_text(ws, &format!(r#"{{"action":"send","n":{n}}}"#)).await;
    serde_json::from_str(&recv_text(ws).await).unwrap()
}

/// Exchanges messages from `n` on until the `second` backend answers one (a deployment reaches open connections once
/// their node's copy of the stage is older than half a second); fails after five seconds. Returns that answer.
async fn until_second_answers(ws: &mut Ws, mut n: u32) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let answer = exchange(ws, n).await;
        if answer.get("second").is_some() {
            return answer;
        }
        assert!(tokio::time::Instant::now() < deadline, "the deployment never reached the connection: {answer}");
        n += 1;
    }
}

#[tokio::test]
async fn a_deployed_stage_serves_its_endpoint_and_follows_redeployments() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let mut first = Backend::start(|event| Reply::Json(json!({ "first": event }))).await;
    let second = Backend::start(|event| Reply::Json(json!({ "second": event }))).await;
    let Defined { api, endpoint, send, two } = define(&sdk, &first, &second).await;

    // A stage without a deployment refuses handshakes.
    let url = format!("{endpoint}/prod");
    let refused = tokio_tungstenite::connect_async(url.as_str()).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");

    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let id = next_event(&mut first, "CONNECT").await;
    assert_eq!(exchange(&mut ws, 1).await, json!({"first": {"action": "send", "n": 1}}));

    // Edits change nothing live until they are deployed; then the open connection follows at once.
    sdk.update_route().api_id(&api).route_id(&send).target(&two).send().await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(exchange(&mut ws, 2).await, json!({"first": {"action": "send", "n": 2}}), "not deployed yet");
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let answer = until_second_answers(&mut ws, 3).await;
    assert_eq!(answer["second"]["action"], "send");

    // The management API answers under the endpoint, for this API's connections only.
    let base = format!("/@apis/{api}/prod");
    let own = management(&server, &base);
    own.post_to_connection().connection_id(&id).data("pushed".as_bytes().to_vec().into()).send().await.unwrap();
    assert_eq!(recv_text(&mut ws).await, "pushed");
    own.get_connection().connection_id(&id).send().await.unwrap();
    let other = management(&server, "/@apis/otherapi00/prod");
    let err = other.get_connection().connection_id(&id).send().await.unwrap_err();
    assert!(err.into_service_error().is_gone_exception());

    // Deleting the stage closes its connections with 1001 and `$disconnect`; their ids are gone.
    sdk.delete_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    assert_eq!(recv_close(&mut ws).await.0, 1001);
    assert_eq!(next_event(&mut first, "DISCONNECT").await, id);
    let err = own.get_connection().connection_id(&id).send().await.unwrap_err();
    assert!(err.into_service_error().is_gone_exception());
    assert!(tokio_tungstenite::connect_async(url.as_str()).await.is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn get_apis_lists_the_configured_apis_read_only() {
    let file = "[[apis]]\napi_id = \"filed\"\nname = \"from the file\"\nstages = [{ stage_name = \"prod\" }]\n";
    // The default API that `--route` shapes is listed too (a server without routes lists none: `it::apigatewayv2`).
    let server = TestServer::start(file, |a| a.routes = vec!["$default=http://127.0.0.1:9/".to_owned()]).await;
    let sdk = sdk(&server);
    let stored = sdk
        .create_api()
        .name("stored")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap();
    let listed = sdk.get_apis().send().await.unwrap();
    let ids: Vec<&str> = listed.items().iter().filter_map(|api| api.api_id()).collect();
    assert_eq!(ids, ["filed", "switchboard", stored.api_id().unwrap()]);
    let default = sdk.get_api().api_id("switchboard").send().await.unwrap();
    assert_eq!((default.name(), default.route_selection_expression()), (Some("default"), Some("$request.body.action")));
    let filed = sdk.get_api().api_id("filed").send().await.unwrap();
    assert_eq!(filed.name(), Some("from the file"));
    // Its endpoint works as it is: `{ApiEndpoint}/{stage}`.
    let url = format!("{}/prod", filed.api_endpoint().unwrap());
    tokio_tungstenite::connect_async(url.as_str()).await.unwrap();
    let err = sdk.update_api().api_id("filed").name("x").send().await.unwrap_err();
    assert!(err.into_service_error().is_not_found_exception(), "read-only");
    server.shutdown().await;
}

#[tokio::test]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn every_node_of_a_cluster_follows_deployments_within_a_second() {
    let env = crate::cluster::ClusterEnv::get();
    let nodes_backend = Backend::ok().await;
    let (a, b) = (crate::cluster::node(&env, &nodes_backend).await, crate::cluster::node(&env, &nodes_backend).await);
    let (sdk_a, sdk_b) = (sdk(&a), sdk(&b));
    let mut first = Backend::start(|event| Reply::Json(json!({ "first": event }))).await;
    let second = Backend::start(|event| Reply::Json(json!({ "second": event }))).await;
    let Defined { api, send, two, .. } = define(&sdk_a, &first, &second).await;
    sdk_a.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();

    // Defined on node a, served by node b.
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{}/@apis/{api}/prod", b.addr)).await.unwrap();
    let id = next_event(&mut first, "CONNECT").await;
    assert_eq!(exchange(&mut ws, 1).await, json!({"first": {"action": "send", "n": 1}}));
    // Through node a, only under its own API's path.
    management(&a, &format!("/@apis/{api}/prod")).get_connection().connection_id(&id).send().await.unwrap();
    let err = management(&a, "/@apis/otherapi00/prod").get_connection().connection_id(&id).send().await.unwrap_err();
    assert!(err.into_service_error().is_gone_exception());
    sdk_b.update_route().api_id(&api).route_id(&send).target(&two).send().await.unwrap();
    sdk_a.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let answer = until_second_answers(&mut ws, 2).await;
    assert_eq!(answer["second"]["action"], "send");

    // Deleting the API on node a closes its connection on node b.
    sdk_a.delete_api().api_id(&api).send().await.unwrap();
    assert_eq!(recv_close(&mut ws).await.0, 1001);
    next_event(&mut first, "DISCONNECT").await;
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}
