//! Request validation of WebSocket routes, defined through the official `aws-sdk-apigatewayv2`: a route's
//! `ModelSelectionExpression` and `RequestModels` validate each message against a model (JSON Schema draft 4); a
//! message that fails gets the `Bad request body` frame and never reaches the integration, and a model whose schema
//! cannot be compiled is refused when it is created.

use aws_sdk_apigatewayv2::types::IntegrationType;
use serde_json::Value;

use crate::apigatewayv2::{sdk, websocket_api};
use crate::harness::*;

const SEND_SCHEMA: &str = r#"{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
  "required": ["action", "text"], "properties": {"text": {"type": "string", "maxLength": 5}}}"#;

#[tokio::test]
async fn messages_that_fail_their_routes_model_get_bad_request_body() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let api = websocket_api(&sdk, "validated").await;

    let refused = sdk.create_model().api_id(&api).name("Broken").schema(r#"{"type": 5}"#).send().await.unwrap_err();
    let refused = refused.into_service_error();
    assert!(refused.is_bad_request_exception(), "{refused:?}");
    assert!(refused.to_string().contains("Invalid model schema specified"), "{refused}");
    sdk.create_model()
        .api_id(&api)
        .name("Send")
        .content_type("application/json")
        .schema(SEND_SCHEMA)
        .send()
        .await
        .unwrap();

    // A MOCK integration that answers `ok` on a two-way route: an answer means the message passed.
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
    let route = sdk
        .create_route()
        .api_id(&api)
        .route_key("send")
        .target(format!("integrations/{integration}"))
        .route_response_selection_expression("$default")
        .model_selection_expression("$request.body.action")
        .request_models("send", "Send")
        .send()
        .await
        .unwrap();
    let route = route.route_id().unwrap().to_owned();
    sdk.create_route_response().api_id(&api).route_id(&route).route_response_key("$default").send().await.unwrap();
    sdk.create_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();

    let mut ws = server.connect(&format!("/@apis/{api}/prod")).await;
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
