//! Remote functions: two Switchboard servers on loopback — B hosts the `lambda_runtime` fixture, A hosts nothing and
//! calls functions it does not host through the Lambda Invoke API at `--lambda-endpoint` (B) with the official
//! `aws-sdk-lambda`. A client on A reaches the function on B, which posts back to A's other client; failures and a
//! REQUEST authorizer go the same way.

use serde_json::{Value, json};

use crate::functions::{ARN, code_dir, function_toml};
use crate::harness::*;

async fn whoami(ws: &mut Ws) -> Value {
    send_text(ws, r#"{"action":"whoami"}"#).await;
    serde_json::from_str(&recv_text(ws).await).unwrap()
}

#[tokio::test]
async fn a_client_on_one_server_reaches_a_function_hosted_by_another() {
    let Some(code) = code_dir("1") else { return };
    let b = TestServer::start(&function_toml(code.path(), ""), |_| {}).await;
    let endpoint = b.url("");
    let a = TestServer::start("", |args| {
        args.routes = vec![
            format!("$connect={ARN}"),
            format!("$default=arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}/invocations"),
            format!("whoami={ARN}:live"),
            "missing=arn:aws:lambda:us-east-1:000000000000:function:missing".to_owned(),
        ];
        args.route_responses = vec!["$default".to_owned(), "whoami".to_owned(), "missing".to_owned()];
        args.functions.remote.lambda_endpoint = Some(endpoint);
        args.functions.remote.lambda_access_key_id = Some(AKID.to_owned());
        args.functions.remote.lambda_secret_access_key = Some(SECRET.to_owned());
    })
    .await;
    assert!(a.state().functions.is_empty(), "A hosts nothing");

    let mut alice = a.connect("/prod").await;
    let mut bob = a.connect("/prod").await;
    let me = whoami(&mut alice).await;
    assert_eq!(me["arn"], format!("{ARN}:live"), "the qualifier reaches B's runtime");
    assert_eq!(me["domainName"], a.addr.to_string(), "the event is A's");
    let bob_id = whoami(&mut bob).await["connectionId"].as_str().unwrap().to_owned();
    let log = std::fs::read_to_string(b.data_dir().path().join("functions/chat.log")).unwrap();
    assert!(log.contains("$connect of"), "B ran A's $connect: {log}");

    // The function on B posts to A's management API, built from A's event.
    let relay = json!({"action": "relay", "to": bob_id, "data": "across two servers"});
    send_text(&mut alice, &relay.to_string()).await;
    assert_eq!(recv_text(&mut bob).await, "across two servers");
    assert_eq!(recv_text(&mut alice).await, "relayed");

    // A function error, a timeout on B, and a function B does not have fail the integration as API Gateway does.
    for action in [r#"{"action":"fail"}"#, r#"{"action":"sleep","ms":3000}"#, r#"{"action":"missing"}"#] {
        send_text(&mut alice, action).await;
        let frame = recv_text(&mut alice).await;
        assert!(frame.starts_with(r#"{"message": "Internal server error""#), "{action}: {frame}");
    }
    let crashed = a.try_connect("/prod?crash=1", &[]).await.unwrap_err();
    assert!(crashed.to_string().contains("502"), "{crashed}");
    let denied = a.try_connect("/prod?deny=1", &[]).await.unwrap_err();
    assert!(denied.to_string().contains("403"), "{denied}");

    // B gone: $connect on A answers 502.
    b.shutdown().await;
    let unreachable = a.try_connect("/prod", &[]).await.unwrap_err();
    assert!(unreachable.to_string().contains("502"), "{unreachable}");
    a.shutdown().await;
}

#[tokio::test]
async fn remote_functions_entries_and_a_remote_authorizer() {
    let Some(code) = code_dir("1") else { return };
    let b = TestServer::start(&function_toml(code.path(), ""), |_| {}).await;
    let uri = format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{ARN}/invocations");
    let toml = format!(
        r#"
        [[remote_functions]]
        name = "chat"
        endpoint = "{endpoint}"
        access_key_id = "{AKID}"
        secret_access_key = "{SECRET}"

        [[apis]]
        api_id = "guarded"
        stages = [{{ stage_name = "prod" }}]
        integrations = [{{ integration_id = "fn", integration_type = "AWS_PROXY", integration_uri = "{ARN}" }}]
        authorizers = [{{ authorizer_id = "auth", authorizer_uri = "{uri}", identity_source = ["route.request.header.Auth"] }}]
        routes = [
          {{ route_key = "$connect", target = "fn", authorization_type = "CUSTOM", authorizer_id = "auth" }},
          {{ route_key = "whoami", target = "fn", route_response_selection_expression = "$default" }},
        ]
        route_responses = [{{ route_key = "whoami" }}]
        "#,
        endpoint = b.url(""),
    );
    let a = TestServer::start(&toml, |_| {}).await;
    let refused = a.try_connect("/prod", &[("Auth", "deny")]).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");
    let mut ws = a.try_connect("/prod", &[("Auth", "allow")]).await.unwrap();
    let me = whoami(&mut ws).await;
    assert_eq!(me["authorizer"]["principalId"], "alice", "{me}");
    assert_eq!(me["authorizer"]["methodArn"], "arn:aws:execute-api:us-east-1:000000000000:guarded/prod/$connect");
    a.shutdown().await;
    b.shutdown().await;
}
