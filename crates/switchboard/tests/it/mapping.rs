//! Non-proxy integrations with mapping templates, defined through the official `aws-sdk-apigatewayv2`: an HTTP
//! integration whose request template builds the backend's body, an AWS integration invoking a hosted Python
//! function with its template's output, integration responses chosen by status or by the function's error message
//! and their response templates, route responses that send the result back, and a MOCK whose passthrough behaviour
//! `NEVER` refuses what no template matches.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::types::{IntegrationType, PassthroughBehavior};
use serde_json::{Value, json};

use crate::apigatewayv2::{sdk, websocket_api};
use crate::deps;
use crate::harness::*;

const UPPER: &str = "\
def handler(event, context):
    if event.get('fail'):
        raise Exception('bad input: ' + event['text'])
    return {'upper': event['text'].upper(), 'conn': event['conn']}
";

fn function_toml(code: &std::path::Path) -> String {
    format!(
        r#"
        [[functions]]
        name = "upper"
        runtime = "python3.11"
        handler = "app.handler"
        code = "{}"
        timeout = 5
        environment = {{ PYTHONDONTWRITEBYTECODE = "1" }}
        "#,
        code.display()
    )
}

/// Adds an integration response with one `$default` template (or one per status with a status selection).
async fn respond(sdk: &Client, api: &str, integration: &str, key: &str, templates: &[(&str, &str)], by_status: bool) {
    let mut response =
        sdk.create_integration_response().api_id(api).integration_id(integration).integration_response_key(key);
    for (selection, template) in templates {
        response = response.response_templates(*selection, *template);
    }
    if by_status {
        response = response.template_selection_expression("${integration.response.statuscode}");
    }
    response.send().await.unwrap();
}

/// A two-way route `key` targeting `integration`.
async fn two_way(sdk: &Client, api: &str, key: &str, integration: &str) {
    let route = sdk
        .create_route()
        .api_id(api)
        .route_key(key)
        .target(format!("integrations/{integration}"))
        .route_response_selection_expression("$default")
        .send()
        .await
        .unwrap();
    let route = route.route_id().unwrap();
    sdk.create_route_response().api_id(api).route_id(route).route_response_key("$default").send().await.unwrap();
}

#[tokio::test]
async fn non_proxy_integrations_transform_messages_with_mapping_templates() {
    if !deps::installed("python3") {
        return;
    }
    let code = tempfile::tempdir().unwrap();
    std::fs::write(code.path().join("app.py"), UPPER).unwrap();
    let server = TestServer::start(&function_toml(code.path()), |_| {}).await;
    let mut backend = Backend::start(|event| match event["say"].as_str() {
        Some("nope") => Reply::Status(404),
        _ => Reply::Json(json!({"echo": event["say"], "env": event["env"]})),
    })
    .await;
    let sdk = sdk(&server);
    let api = websocket_api(&sdk, "mapped").await;

    let http = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::Http)
        .integration_method("PUT")
        .integration_uri(backend.url())
        .template_selection_expression("\\$default")
        .request_templates(
            "$default",
            r#"{"say": $input.json('$.text'), "conn": "$context.connectionId", "env": "$stageVariables.env"}"#,
        )
        .passthrough_behavior(PassthroughBehavior::Never)
        .send()
        .await
        .unwrap();
    let http = http.integration_id().unwrap();
    respond(
        &sdk,
        &api,
        http,
        "/2\\d\\d/",
        &[("$default", "#set($r = $input.path('$'))heard $r.echo in $r.env")],
        false,
    )
    .await;
    respond(&sdk, &api, http, "$default", &[("404", "not found by $context.routeKey"), ("$default", "?")], true).await;
    two_way(&sdk, &api, "say", http).await;
    let quiet = sdk.create_route().api_id(&api).route_key("quiet").target(format!("integrations/{http}"));
    quiet.send().await.unwrap();

    let function = "arn:aws:lambda:us-east-1:000000000000:function:upper";
    let aws = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::Aws)
        .integration_uri(format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{function}/invocations"))
        .request_templates(
            "$default",
            r#"{"text": $input.json('$.text'), "conn": "$context.connectionId", "fail": #if($input.path('$.fail'))true#{else}false#end}"#,
        )
        .send()
        .await
        .unwrap();
    let aws = aws.integration_id().unwrap();
    let answer = "UP: $input.path('$.upper') #if($input.path('$.conn') == $context.connectionId)mine#{else}theirs#end";
    respond(&sdk, &api, aws, "$default", &[("$default", answer)], false).await;
    respond(&sdk, &api, aws, "/bad input.*/", &[("$default", "error: $input.path('$.errorMessage')")], false).await;
    two_way(&sdk, &api, "shout", aws).await;

    let strict = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::Mock)
        .template_selection_expression("${request.body.kind}")
        .request_templates("known", r#"{"statusCode": 200}"#)
        .passthrough_behavior(PassthroughBehavior::Never)
        .send()
        .await
        .unwrap();
    let strict = strict.integration_id().unwrap();
    respond(&sdk, &api, strict, "$default", &[("$default", "known kind")], false).await;
    two_way(&sdk, &api, "strict", strict).await;

    sdk.create_stage().api_id(&api).stage_name("prod").stage_variables("env", "test").send().await.unwrap();
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let mut ws = server.connect(&format!("/@apis/{api}/prod")).await;

    // HTTP: the backend receives the request template's output; the 2xx response's template answers.
    send_text(&mut ws, r#"{"action":"say","text":"hello"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "heard hello in test");
    assert_eq!(backend.next_request().await.method, "PUT", "with the integration's method");
    let received = backend.next().await;
    assert_eq!((&received["say"], &received["env"]), (&json!("hello"), &json!("test")), "{received}");
    let connection_id = received["conn"].as_str().unwrap().to_owned();
    assert_eq!(connection_id.len(), 16, "{received}");
    // A 404 picks the `$default` response, whose template is chosen by the status.
    send_text(&mut ws, r#"{"action":"say","text":"nope"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "not found by say");
    assert_eq!(backend.next().await["say"], "nope");
    // Without a route response the backend is called and the client hears nothing: the next answer is `say`'s.
    send_text(&mut ws, r#"{"action":"quiet","text":"shh"}"#).await;
    assert_eq!(backend.next().await["say"], "shh");
    send_text(&mut ws, r#"{"action":"say","text":"after"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "heard after in test");
    assert_eq!(backend.next().await["say"], "after");

    // AWS: the hosted function is invoked with the template's output; its result, or its error message, is
    // the integration response's input.
    send_text(&mut ws, r#"{"action":"shout","text":"hi"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "UP: HI mine");
    send_text(&mut ws, r#"{"action":"shout","text":"x","fail":true}"#).await;
    assert_eq!(recv_text(&mut ws).await, "error: bad input: x");

    // MOCK with passthrough NEVER: a message no template matches is refused with AWS's frame.
    send_text(&mut ws, r#"{"action":"strict","kind":"known"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "known kind");
    send_text(&mut ws, r#"{"action":"strict","kind":"other"}"#).await;
    let frame: Value = serde_json::from_str(&recv_text(&mut ws).await).unwrap();
    assert_eq!(frame["message"], "Unsupported Media Type", "{frame}");
    assert_eq!(frame["connectionId"], connection_id.as_str(), "{frame}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_template_that_fails_answers_internal_server_error_and_the_connection_stays() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let api = websocket_api(&sdk, "broken").await;
    let mock = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::Mock)
        .request_templates("$default", r#"{"statusCode": 200}"#)
        .send()
        .await
        .unwrap();
    let mock = mock.integration_id().unwrap();
    // The response template is picked by the message's `mode`: `loop` runs past the iteration limit.
    sdk.create_integration_response()
        .api_id(&api)
        .integration_id(mock)
        .integration_response_key("$default")
        .template_selection_expression("${request.body.mode}")
        .response_templates("loop", "#foreach($i in [1..5000])#end")
        .response_templates("$default", "fine")
        .send()
        .await
        .unwrap();
    two_way(&sdk, &api, "go", mock).await;
    sdk.create_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let mut ws = server.connect(&format!("/@apis/{api}/prod")).await;
    send_text(&mut ws, r#"{"action":"go","mode":"loop"}"#).await;
    let frame: Value = serde_json::from_str(&recv_text(&mut ws).await).unwrap();
    assert_eq!(frame["message"], "Internal server error", "{frame}");
    send_text(&mut ws, r#"{"action":"go"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "fine");
    server.shutdown().await;
}
