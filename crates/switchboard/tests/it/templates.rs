//! `switchboard serve --template`: a SAM template in the style of the AWS sample chat application
//! (`fixtures/chat-app`, python3.12 handlers with boto3) provisioned through the control plane and seen through the
//! official SDK, two WebSocket clients chatting through its stage URL and its three functions (and through Node
//! handlers of the same shape), its API id kept across restarts; a JSON template with parameter overrides; `--watch` reloads; the errors and the list of what is
//! not created; the banner of the `serve` process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use server::Server;
use server::config::{Config, FileConfig, ServeArgs};

use crate::apigatewayv2::sdk;
use crate::harness::*;

fn chat_app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/chat-app/template.yaml")
}

fn lambda_uri(function: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:{function}/invocations"
    )
}

/// The stack's only API, its routes by key (with their integration's URI) and its stages, through the SDK.
async fn described(server: &TestServer) -> (String, Vec<(String, String)>, Vec<(String, String)>) {
    let sdk = sdk(server);
    let apis = sdk.get_apis().send().await.unwrap();
    let [api] = apis.items() else { panic!("one API, got {:?}", apis.items()) };
    let api_id = api.api_id().unwrap().to_owned();
    assert_eq!(api.tags().unwrap()["aws:cloudformation:logical-id"], "SimpleChatWebSocket");
    let integrations = sdk.get_integrations().api_id(&api_id).send().await.unwrap();
    let uri_of = |target: &str| {
        let id = target.trim_start_matches("integrations/");
        let found = integrations.items().iter().find(|i| i.integration_id() == Some(id)).expect("the target exists");
        found.integration_uri().unwrap().to_owned()
    };
    let mut routes: Vec<(String, String)> = sdk
        .get_routes()
        .api_id(&api_id)
        .send()
        .await
        .unwrap()
        .items()
        .iter()
        .map(|r| (r.route_key().unwrap().to_owned(), uri_of(r.target().unwrap())))
        .collect();
    routes.sort();
    let stages = sdk.get_stages().api_id(&api_id).send().await.unwrap();
    let stages = stages
        .items()
        .iter()
        .map(|s| (s.stage_name().unwrap().to_owned(), s.deployment_id().unwrap_or_default().to_owned()))
        .collect();
    (api_id, routes, stages)
}

/// The sample's functions keep their connections in `connections` and run under a Python with boto3 (when it could
/// be installed: without it, the chat is skipped and the rest runs).
fn chat_args(a: &mut ServeArgs, connections: &Path, python: Option<&Path>) {
    a.template.template = Some(chat_app());
    a.template.stack_name = Some("chat".to_owned());
    a.template.parameter_overrides = vec![format!("ConnectionsDir={}", connections.display())];
    a.functions.function_python = python.map(Path::to_owned);
}

#[tokio::test]
async fn the_sam_chat_sample_runs_two_clients_chat_and_it_keeps_its_api_id_across_restarts() {
    let connections = tempfile::tempdir().unwrap();
    let boto3 = crate::deps::boto3();
    let python = boto3.map(|dir| crate::deps::python_with(&[dir]));
    let python = python.as_ref().map(|bin| bin.path().join("python3-with-packages"));
    let server = TestServer::start("", |a| chat_args(a, connections.path(), python.as_deref())).await;
    let (api_id, routes, stages) = described(&server).await;
    assert_eq!(
        routes,
        [
            ("$connect".to_owned(), lambda_uri("OnConnectFunction")),
            ("$disconnect".to_owned(), lambda_uri("OnDisconnectFunction")),
            ("sendmessage".to_owned(), lambda_uri("SendMessageFunction")),
        ]
    );
    assert_eq!(stages.len(), 1);
    assert_eq!(stages[0].0, "Prod");
    assert!(!stages[0].1.is_empty(), "the stage has the template's deployment");

    let applied = server.state().stack.applied.lock().clone().unwrap();
    let functions: Vec<(&str, &str)> = applied.functions.iter().map(|f| (f.name.as_str(), f.runtime.name())).collect();
    assert_eq!(
        functions,
        [
            ("OnConnectFunction", "python3.12"),
            ("OnDisconnectFunction", "python3.12"),
            ("SendMessageFunction", "python3.12")
        ]
    );
    assert_eq!(applied.functions[0].environment["TABLE_NAME"], "simplechat_connections");
    assert_eq!(server.state().config.functions.specs, applied.functions, "the template's functions are hosted");
    let hosted: Vec<&str> = server.state().functions.specs().map(|f| f.name.as_str()).collect();
    assert_eq!(hosted, ["OnConnectFunction", "OnDisconnectFunction", "SendMessageFunction"]);
    let ignored: Vec<&str> = applied.ignored.iter().map(|i| i.kind.as_str()).collect();
    assert_eq!(
        ignored,
        ["AWS::DynamoDB::Table", "AWS::Lambda::Permission", "AWS::Lambda::Permission", "AWS::Lambda::Permission"]
    );
    let uri = applied.outputs.iter().find(|o| o.name == "WebSocketURI").unwrap();
    assert_eq!(uri.value, format!("wss://{api_id}.execute-api.us-east-1.amazonaws.com/Prod"));
    let local = uri.local.clone().unwrap();
    assert_eq!(local, format!("ws://{}/@apis/{api_id}/Prod", server.addr));

    // Two clients connect to the stage URL ($connect records them) and chat through sendmessage's boto3.
    chat(&local, connections.path(), python.is_some()).await;

    // A restart on the same data directory finds the API by its tags: same id, no duplicate, one deployment.
    let dir = server.data_dir();
    server.shutdown().await;
    let server = TestServer::start_in(dir, "", |a| chat_args(a, connections.path(), python.as_deref())).await;
    let (again, routes_again, stages_again) = described(&server).await;
    assert_eq!(again, api_id);
    assert_eq!(routes_again, routes);
    assert_eq!(stages_again.len(), 1);
    let deployments = sdk(&server).get_deployments().api_id(&api_id).send().await.unwrap();
    assert_eq!(deployments.items().len(), 1, "the replaced deployment is gone");
    assert_eq!(deployments.items()[0].deployment_id().unwrap(), stages_again[0].1);
    chat(&format!("ws://{}/@apis/{api_id}/Prod", server.addr), connections.path(), python.is_some()).await;
    server.shutdown().await;
}

/// Alice and Bob connect to `url`; with boto3, Alice sends `sendmessage` and both receive it; then both leave
/// (`$disconnect` forgets them).
async fn chat(url: &str, connections: &Path, with_boto3: bool) {
    let count = || std::fs::read_dir(connections).map_or(0, Iterator::count);
    let (mut alice, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let (mut bob, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_eq!(count(), 2, "OnConnectFunction recorded both connections");
    if with_boto3 {
        send_text(&mut alice, r#"{"action":"sendmessage","data":"hi"}"#).await;
        assert_eq!(recv_text(&mut alice).await, "hi");
        assert_eq!(recv_text(&mut bob).await, "hi");
        send_text(&mut bob, r#"{"action":"sendmessage","data":"hello alice"}"#).await;
        assert_eq!(recv_text(&mut alice).await, "hello alice");
        assert_eq!(recv_text(&mut bob).await, "hello alice");
    } else {
        eprintln!("skipped the chat: boto3 could not be installed");
    }
    drop((alice, bob));
    for _ in 0..100 {
        if count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("OnDisconnectFunction left {} connections", count());
}

/// The same sample with Node handlers (`tests/fixtures/lambda-node/chat-app`, ES modules with the official SDK): the
/// template is the Python one with its runtime and code directories changed.
#[tokio::test]
async fn the_sam_chat_sample_runs_with_node_handlers_too() {
    let Some(node) = crate::deps::node_fixture() else { return };
    let project = tempfile::tempdir().unwrap();
    let mut template =
        std::fs::read_to_string(chat_app()).unwrap().replace("Runtime: python3.12", "Runtime: nodejs22.x");
    for function in ["onconnect", "ondisconnect", "sendmessage"] {
        let dir = node.join("chat-app").join(function);
        template = template.replace(&format!("CodeUri: {function}/"), &format!("CodeUri: {}", dir.display()));
    }
    let path = project.path().join("template.yaml");
    std::fs::write(&path, template).unwrap();
    let connections = tempfile::tempdir().unwrap();
    let server = TestServer::start("", |a| {
        chat_args(a, connections.path(), None);
        a.template.template = Some(path.clone());
    })
    .await;
    let applied = server.state().stack.applied.lock().clone().unwrap();
    assert!(applied.functions.iter().all(|f| f.runtime.name() == "nodejs22.x" && f.handler == "app.handler"));
    let local = applied.outputs.iter().find(|o| o.name == "WebSocketURI").unwrap().local.clone().unwrap();
    chat(&local, connections.path(), true).await;
    server.shutdown().await;
}

/// A JSON template in a directory of its own, with a parameter the overrides set.
fn json_template(dir: &Path) -> PathBuf {
    let template = json!({
        "Parameters": {"Greeting": {"Type": "String", "AllowedValues": ["hello", "bonjour"], "Default": "hello"}},
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
                "Name": {"Fn::Sub": "${AWS::StackName}-echo"}, "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": "$request.body.action"}},
            "Mock": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "MOCK",
                "RequestTemplates": {"$default": "{\"statusCode\": 200}"}}},
            "MockResponse": {"Type": "AWS::ApiGatewayV2::IntegrationResponse", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationId": {"Ref": "Mock"}, "IntegrationResponseKey": "$default",
                "ResponseTemplates": {"$default": {"Ref": "Greeting"}}}},
            "Hello": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteKey": "hello", "RouteResponseSelectionExpression": "$default",
                "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Mock"}]]}}},
            "HelloResponse": {"Type": "AWS::ApiGatewayV2::RouteResponse", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteId": {"Ref": "Hello"}, "RouteResponseKey": "$default"}},
            "Live": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
                "ApiId": {"Ref": "Api"}, "StageName": "live", "AutoDeploy": true}},
            "Queue": {"Type": "AWS::SQS::Queue"}
        },
        "Outputs": {"Url": {"Value": {"Fn::Sub": "wss://${Api}.execute-api.${AWS::Region}.amazonaws.com/${Live}"}}}
    });
    let path = dir.join("template.json");
    std::fs::write(&path, serde_json::to_string_pretty(&template).unwrap()).unwrap();
    path
}

#[tokio::test]
async fn a_json_template_takes_parameter_overrides_and_serves_its_stage() {
    let project = tempfile::tempdir().unwrap();
    let path = json_template(project.path());
    let server = TestServer::start("", |a| {
        a.template.template = Some(path.clone());
        a.template.parameter_overrides = vec!["Greeting=bonjour".to_owned()];
    })
    .await;
    let applied = server.state().stack.applied.lock().clone().unwrap();
    assert!(applied.stack_name.starts_with("stack-"), "a temporary directory `.tmp…` names stack `stack--tmp…`");
    let api_id = applied.apis[0].api_id.clone();
    let api = sdk(&server).get_api().api_id(&api_id).send().await.unwrap();
    assert_eq!(api.name().unwrap(), format!("{}-echo", applied.stack_name));
    assert_eq!(
        applied.ignored[0].placeholders,
        format!(
            "Ref → https://sqs.us-east-1.amazonaws.com/000000000000/{}-Queue, Fn::GetAtt → arn:aws:sqs:us-east-1:000000000000:{}-Queue",
            applied.stack_name, applied.stack_name
        )
    );
    let local = applied.outputs[0].local.clone().unwrap();
    let (mut ws, _) = tokio_tungstenite::connect_async(local.as_str()).await.unwrap();
    send_text(&mut ws, r#"{"action":"hello"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "bonjour", "the override reached the deployed response template");
    server.shutdown().await;
}

#[tokio::test]
async fn watch_applies_a_changed_template_and_keeps_the_running_api_when_the_change_is_broken() {
    let project = tempfile::tempdir().unwrap();
    let path = json_template(project.path());
    let server = TestServer::start("", |a| {
        a.template.template = Some(path.clone());
        a.watch = true;
    })
    .await;
    let api_id = server.state().stack.applied.lock().as_ref().unwrap().apis[0].api_id.clone();
    let local = format!("ws://{}/@apis/{api_id}/live", server.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(local.as_str()).await.unwrap();
    send_text(&mut ws, r#"{"action":"hello"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "hello");

    // A broken template is refused; what runs stays.
    let good = std::fs::read_to_string(&path).unwrap();
    replace_file(&path, &good.replace("\"Ref\": \"Greeting\"", "\"Ref\": \"Greting\""));
    until_reloads(&server, "refused", 1).await;
    assert_eq!(reloads(&server, "applied").await, 0);
    send_text(&mut ws, r#"{"action":"hello"}"#).await;
    assert_eq!(recv_text(&mut ws).await, "hello");

    // A good change is applied as a new deployment: the open connection follows it, the API id stays.
    replace_file(&path, &good.replace("\"Default\": \"hello\"", "\"Default\": \"bonjour\""));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        send_text(&mut ws, r#"{"action":"hello"}"#).await;
        if recv_text(&mut ws).await == "bonjour" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the change was not applied");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let applied = server.state().stack.applied.lock().clone().unwrap();
    assert_eq!((applied.apis[0].api_id.as_str(), applied.apis[0].updated), (api_id.as_str(), true));
    assert_eq!((reloads(&server, "applied").await, reloads(&server, "refused").await), (1, 1));
    assert_eq!(sdk(&server).get_apis().send().await.unwrap().items().len(), 1);
    server.shutdown().await;
}

/// Replaces the file's contents at once (a rename), so the watcher never reads half of them.
fn replace_file(path: &Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// How many of `--watch`'s reloads ended with `outcome`, as the server's metrics count them.
async fn reloads(server: &TestServer, outcome: &str) -> u64 {
    let line = format!("switchboard_template_reloads_total{{outcome=\"{outcome}\"}} ");
    let text = server.metrics().await;
    text.lines().find_map(|l| l.strip_prefix(line.as_str())).map_or(0, |n| n.trim().parse().unwrap())
}

/// Waits (at most 15 s) until the server has counted `n` reloads that ended with `outcome`.
async fn until_reloads(server: &TestServer, outcome: &str, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while reloads(server, outcome).await < n {
        assert!(tokio::time::Instant::now() < deadline, "the server never counted {n} {outcome} reloads");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starting a server on `template` fails; its error.
async fn start_error(template: &Path) -> String {
    let data = tempfile::tempdir().unwrap();
    let args = ServeArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(data.path().to_owned()),
        access_key_id: Some(AKID.to_owned()),
        secret_access_key: Some(SECRET.to_owned()),
        template: server::config::TemplateArgs { template: Some(template.to_owned()), ..Default::default() },
        ..ServeArgs::default()
    };
    let config = Config::merge(args, FileConfig::default()).unwrap();
    format!("{:#}", Server::start(config).await.unwrap_err())
}

#[tokio::test]
async fn a_broken_reference_stops_the_start_naming_the_resource_and_the_property() {
    let project = tempfile::tempdir().unwrap();
    let fixture = chat_app();
    for code in ["onconnect", "ondisconnect", "sendmessage"] {
        std::fs::create_dir(project.path().join(code)).unwrap();
    }
    let path = project.path().join("template.yaml");
    let text = std::fs::read_to_string(&fixture).unwrap();
    std::fs::write(&path, text.replace("${SendMessageFunction.Arn}", "${SendMessage.Arn}")).unwrap();
    let err = start_error(&path).await;
    assert!(
        err.ends_with(
            "resource SendInteg (AWS::ApiGatewayV2::Integration), property IntegrationUri: Fn::GetAtt SendMessage.Arn: \
             `SendMessage` is not a parameter, a pseudo parameter or a resource of this template"
        ),
        "{err}"
    );
    assert!(err.starts_with(&format!("cannot run template {}", path.display())), "{err}");
}

/// `switchboard serve --template` prints the stack, what it does not create and the outputs with their local URLs.
#[tokio::test]
async fn the_serve_process_prints_the_stack_and_its_outputs() {
    let home = tempfile::tempdir().unwrap();
    let template = chat_app();
    let flags = [
        "--template".as_ref(),
        template.as_os_str(),
        "--parameter-overrides".as_ref(),
        "TableName=chat_connections".as_ref(),
    ];
    let (mut child, lines) = crate::serve::serve_process(home.path(), &flags).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let text = lines.join("\n");
    assert!(text.contains("Stack chat-app:"), "the directory names the stack: {text}");
    assert!(text.contains("ConnectionsTable (AWS::DynamoDB::Table): Ref → chat_connections"), "{text}");
    assert!(text.contains("Function SendMessageFunction (python3.12, handler app.handler"), "{text}");
    let uri = lines.iter().find(|l| l.contains("WebSocketURI = wss://")).expect("the output is printed");
    let api_id = uri.split("wss://").nth(1).unwrap().split('.').next().unwrap();
    assert!(text.contains("served locally at ws://127.0.0.1:"), "{text}");
    assert!(text.contains(&format!("/@apis/{api_id}/Prod")), "{text}");
}
