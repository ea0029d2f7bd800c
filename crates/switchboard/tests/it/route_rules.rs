//! What a stage applies to each message before its integration, defined through the official
//! `aws-sdk-apigatewayv2`: request validation (a route's `ModelSelectionExpression` and `RequestModels`, JSON Schema
//! draft 4 models: a failing message gets the `Bad request body` frame and never reaches the integration; a model
//! that cannot compile is refused when created) and route throttling (the stage's `DefaultRouteSettings` and
//! `RouteSettings`: a throttled message gets the `Too Many Requests` frame, a throttled `$connect` answers 429).

use aws_sdk_apigatewayv2::types::{IntegrationType, RouteSettings};
use serde_json::Value;

use crate::apigatewayv2::{sdk, websocket_api};
use crate::harness::*;

const SEND_SCHEMA: &str = r#"{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
  "required": ["action", "text"], "properties": {"text": {"type": "string", "maxLength": 5}}}"#;

/// A deployed API whose `$connect` and two-way route `send` have a MOCK integration answering `ok` (an answer means
/// the message passed), `send` validated with model `Send` when `validated`; stage `prod` has the given route settings. Its path.
async fn mock_api(
    server: &TestServer,
    validated: bool,
    default_route_settings: Option<RouteSettings>,
    route_settings: Option<(&str, RouteSettings)>,
) -> String {
    let sdk = sdk(server);
    let api = websocket_api(&sdk, "checked").await;
    let integration = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::Mock)
        .request_templates("$default", r#"{"statusCode": 200}"#)
        .template_selection_expression("\\$default")
        .send()
        .await
        .unwrap();
    let integration = integration.integration_id().unwrap().to_owned();
    sdk.create_integration_response()
        .api_id(&api)
        .integration_id(&integration)
        .integration_response_key("$default")
        .response_templates("$default", "ok")
        .send()
        .await
        .unwrap();
    let target = format!("integrations/{integration}");
    sdk.create_route().api_id(&api).route_key("$connect").target(&target).send().await.unwrap();
    let mut route = sdk
        .create_route()
        .api_id(&api)
        .route_key("send")
        .target(&target)
        .route_response_selection_expression("$default");
    if validated {
        let model = sdk.create_model().api_id(&api).name("Send").content_type("application/json").schema(SEND_SCHEMA);
        model.send().await.unwrap();
        route = route.model_selection_expression("$request.body.action").request_models("send", "Send");
    }
    let route = route.send().await.unwrap().route_id().unwrap().to_owned();
    sdk.create_route_response().api_id(&api).route_id(&route).route_response_key("$default").send().await.unwrap();
    let mut stage =
        sdk.create_stage().api_id(&api).stage_name("prod").set_default_route_settings(default_route_settings);
    if let Some((key, settings)) = route_settings {
        stage = stage.route_settings(key, settings);
    }
    stage.send().await.unwrap();
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    format!("/@apis/{api}/prod")
}

#[tokio::test]
async fn messages_that_fail_their_routes_model_get_bad_request_body() {
    let server = TestServer::start("", |_| {}).await;
    let path = mock_api(&server, true, None, None).await;
    let sdk = sdk(&server);
    let api = path.split('/').nth(2).unwrap();
    let refused = sdk.create_model().api_id(api).name("Broken").schema(r#"{"type": 5}"#).send().await.unwrap_err();
    let refused = refused.into_service_error();
    assert!(refused.is_bad_request_exception(), "{refused:?}");
    assert!(refused.to_string().contains("Invalid model schema specified"), "{refused}");

    let mut ws = server.connect(&path).await;
    send_text(&mut ws, r#"{"action":"send","text":"hi"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "ok");
    for bad in [r#"{"action":"send","text":"far too long"}"#, r#"{"action":"send"}"#, r#"{"action":"send","text":5}"#] {
        send_text(&mut ws, bad).await;
        let frame: Value = serde_json::from_str(&recv_text(&mut ws).await).unwrap();
        assert_eq!(frame["message"], "Bad request body", "{bad}: {frame}");
        assert!(frame["connectionId"].is_string() && frame["messageId"].is_string(), "{frame}");
    }
    // The connection stays open and valid messages still pass.
    send_text(&mut ws, r#"{"action":"send","text":"again"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "ok");
    server.shutdown().await;
}

#[tokio::test]
async fn a_stages_route_throttling_refuses_what_is_over_its_limits() {
    let server = TestServer::start("", |_| {}).await;
    // Two messages at once, then one every hundred seconds; `$connect` once.
    let slow = |burst| RouteSettings::builder().throttling_burst_limit(burst).throttling_rate_limit(0.01).build();
    let path = mock_api(&server, false, Some(slow(2)), Some(("$connect", slow(1)))).await;

    let mut ws = server.connect(&path).await;
    for _ in 0..4 {
        send_text(&mut ws, r#"{"action":"send"}"#).await;
    }
    let mut answers = Vec::new();
    for _ in 0..4 {
        answers.push(recv_text(&mut ws).await);
    }
    assert_eq!(answers.iter().filter(|a| *a == "ok").count(), 2, "{answers:?}");
    let throttled: Vec<Value> = answers.iter().filter_map(|a| serde_json::from_str(a).ok()).collect();
    assert_eq!(throttled.len(), 2, "{answers:?}");
    assert!(throttled.iter().all(|frame| frame["message"] == "Too Many Requests"), "{answers:?}");

    let second = server.try_connect(&path, &[]).await.expect_err("throttled");
    match second {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status().as_u16(), 429),
        other => panic!("{other}"),
    }
    server.shutdown().await;
}
