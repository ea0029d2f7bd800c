//! REQUEST authorizers on `$connect`, end to end: the authorizer is the `lambda_runtime` fixture hosted as a
//! function, defined through the official `aws-sdk-apigatewayv2` (CreateAuthorizer, a CUSTOM `$connect` route, a
//! deployment) and through `[[apis]]`; its policy decides the handshake, and what it answered reaches the
//! connection's later events as `requestContext.authorizer`.

use aws_sdk_apigatewayv2::types::{AuthorizationType, AuthorizerType, IntegrationType};
use serde_json::{Value, json};

use crate::apigatewayv2::{sdk, websocket_api};
use crate::functions::{ARN, code_dir, function_toml};
use crate::harness::*;

fn invocations() -> String {
    format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}/invocations")
}

/// The status a refused handshake answered.
async fn refused(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> String {
    let err = server.try_connect(path, headers).await.expect_err("refused");
    match err {
        tokio_tungstenite::tungstenite::Error::Http(response) => {
            let body = String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned();
            format!("{} {body}", response.status().as_u16())
        }
        other => panic!("{other}"),
    }
}

async fn whoami(ws: &mut Ws) -> Value {
    send_text(ws, r#"{"action":"whoami"}"#).await;
    serde_json::from_str(&recv_text(ws).await).unwrap()
}

#[tokio::test]
async fn a_request_authorizer_defined_through_apigatewayv2_guards_connect() {
    let Some(code) = code_dir("1") else { return };
    let server = TestServer::start(&function_toml(code.path(), ""), |_| {}).await;
    let sdk = sdk(&server);
    let api = websocket_api(&sdk, "guarded").await;
    let integration = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(invocations())
        .send()
        .await
        .unwrap();
    let target = format!("integrations/{}", integration.integration_id().unwrap());
    let authorizer = sdk
        .create_authorizer()
        .api_id(&api)
        .name("tokens")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri(invocations())
        .identity_source("route.request.header.Auth")
        .send()
        .await
        .unwrap();
    sdk.create_route()
        .api_id(&api)
        .route_key("$connect")
        .target(&target)
        .authorization_type(AuthorizationType::Custom)
        .authorizer_id(authorizer.authorizer_id().unwrap())
        .send()
        .await
        .unwrap();
    let whoami_route = sdk
        .create_route()
        .api_id(&api)
        .route_key("whoami")
        .target(&target)
        .route_response_selection_expression("$default")
        .send()
        .await
        .unwrap();
    let route_id = whoami_route.route_id().unwrap();
    sdk.create_route_response().api_id(&api).route_id(route_id).route_response_key("$default").send().await.unwrap();
    sdk.create_stage().api_id(&api).stage_name("prod").stage_variables("v", "sv").send().await.unwrap();
    sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let path = format!("/@apis/{api}/prod");

    assert_eq!(refused(&server, &path, &[]).await, r#"401 {"message": "Unauthorized"}"#, "no identity");
    assert_eq!(refused(&server, &path, &[("Auth", "")]).await, r#"401 {"message": "Unauthorized"}"#, "empty");
    assert_eq!(
        refused(&server, &path, &[("Auth", "deny")]).await,
        r#"403 {"message": "User is not authorized to access this resource with an explicit deny"}"#
    );
    assert_eq!(
        refused(&server, &path, &[("Auth", "elsewhere")]).await,
        r#"403 {"message": "User is not authorized to access this resource"}"#
    );
    assert_eq!(refused(&server, &path, &[("Auth", "fail")]).await, r#"500 {"message": "Internal server error"}"#);
    assert_eq!(refused(&server, &path, &[("Auth", "slow")]).await, r#"500 {"message": "Internal server error"}"#);
    assert_eq!(refused(&server, &path, &[("Auth", "crash")]).await, r#"500 {"message": "Internal server error"}"#);

    let mut ws = server.try_connect(&path, &[("Auth", "allow")]).await.unwrap();
    let me = whoami(&mut ws).await;
    let authorizer = &me["authorizer"];
    let method_arn = format!("arn:aws:execute-api:us-east-1:000000000000:{api}/prod/$connect");
    assert_eq!(authorizer["principalId"], "alice", "{me}");
    assert_eq!(
        (&authorizer["user"], &authorizer["level"], &authorizer["admin"]),
        (&json!("alice"), &json!(7), &json!(true))
    );
    assert_eq!(authorizer["methodArn"], method_arn, "the REQUEST event's methodArn");
    assert_eq!((&authorizer["routeKey"], &authorizer["eventType"]), (&json!("$connect"), &json!("CONNECT")));
    assert_eq!((&authorizer["stage"], &authorizer["stageVariable"]), (&json!("prod"), &json!("sv")));
    assert_eq!(authorizer["connectionId"], me["connectionId"], "the event names the connection being made");
    assert!(authorizer["integrationLatency"].is_u64(), "{authorizer}");
    assert_eq!(whoami(&mut ws).await["authorizer"], *authorizer, "every later event carries it");
    let log = std::fs::read_to_string(server.data_dir().path().join("functions/chat.log")).unwrap();
    assert!(log.contains("authorizing"), "{log}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_authorizer_of_a_configured_api_reads_the_query_string() {
    let Some(code) = code_dir("1") else { return };
    let toml = format!(
        r#"
        {}
        [[apis]]
        api_id = "guarded"
        stages = [{{ stage_name = "prod" }}]
        integrations = [{{ integration_id = "fn", integration_type = "AWS_PROXY", integration_uri = "{ARN}" }}]
        authorizers = [{{ authorizer_id = "auth", authorizer_uri = "{uri}", identity_source = ["route.request.querystring.token"] }}]
        routes = [
          {{ route_key = "$connect", target = "fn", authorization_type = "CUSTOM", authorizer_id = "auth" }},
          {{ route_key = "whoami", target = "fn", route_response_selection_expression = "$default" }},
        ]
        route_responses = [{{ route_key = "whoami" }}]
        "#,
        function_toml(code.path(), ""),
        uri = invocations(),
    );
    let server = TestServer::start(&toml, |_| {}).await;
    assert!(refused(&server, "/prod", &[]).await.starts_with("401 "));
    assert!(refused(&server, "/prod?token=deny", &[]).await.starts_with("403 "));
    let mut ws = server.connect("/prod?token=allow").await;
    let me = whoami(&mut ws).await;
    assert_eq!(me["authorizer"]["principalId"], "alice");
    assert_eq!(me["authorizer"]["methodArn"], "arn:aws:execute-api:us-east-1:000000000000:guarded/prod/$connect");
    server.shutdown().await;
}
