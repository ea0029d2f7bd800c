//! Whole templates applied through a real apigatewayv2 control plane over SQLite: the chat sample's shape, restarts
//! that keep the API id, overrides, JSON, conditions, inline code and the errors a user sees.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use apigatewayv2::{Config, ControlPlane};
use http::Method;
use serde_json::{Value, json};

use crate::{Applied, Options, Template, apply};

/// The AWS sample chat application's shape: three functions, the API with its routes and `!Sub` Lambda URIs, a
/// Deployment that DependsOn the routes, a Stage, a table, permissions.
const CHAT: &str = r#"
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Parameters:
  TableName:
    Type: String
    Default: simplechat_connections
    AllowedPattern: ^[A-Za-z_]+$
Conditions:
  WithLogs: !Equals [!Ref TableName, logs]
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables:
        TABLE_NAME: !Ref TableName
Resources:
  ChatApi:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: !Sub ${AWS::StackName}-chat
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref ChatApi
      RouteKey: $connect
      AuthorizationType: NONE
      OperationName: ConnectRoute
      Target: !Join [/, [integrations, !Ref ConnectInteg]]
  ConnectInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref ChatApi
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${OnConnectFunction.Arn}/invocations
  SendRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref ChatApi
      RouteKey: sendmessage
      Target: !Join [/, [integrations, !Ref SendInteg]]
  SendInteg:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref ChatApi
      IntegrationType: AWS_PROXY
      TimeoutInMillis: '5000'
      IntegrationUri: !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${SendMessageFunction.Arn}/invocations
  Deployment:
    Type: AWS::ApiGatewayV2::Deployment
    DependsOn: [ConnectRoute, SendRoute]
    Properties:
      ApiId: !Ref ChatApi
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      StageName: Prod
      DeploymentId: !Ref Deployment
      ApiId: !Ref ChatApi
      StageVariables:
        table: !Ref TableName
  ConnectionsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Ref TableName
  LogTable:
    Type: AWS::DynamoDB::Table
    Condition: WithLogs
  OnConnectFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: onconnect/
      Handler: app.handler
      MemorySize: 256
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref TableName
  OnConnectPermission:
    Type: AWS::Lambda::Permission
    DependsOn: [ChatApi]
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref OnConnectFunction
      Principal: apigateway.amazonaws.com
  SendMessageFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: sendmessage/
      Handler: app.handler
      ReservedConcurrentExecutions: 2
      Environment:
        Variables:
          TABLE_ARN: !GetAtt ConnectionsTable.Arn
          ROLE: !GetAtt SendMessageFunctionRole.Arn
Outputs:
  WebSocketURI:
    Description: The WSS Protocol URI to connect to
    Value: !Join ['', ['wss://', !Ref ChatApi, '.execute-api.', !Ref 'AWS::Region', '.amazonaws.com/', !Ref Stage]]
  ConnectionsUrl:
    Value: !Sub https://${ChatApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}/@connections
  TableArn:
    Value: !GetAtt ConnectionsTable.Arn
  LogTableArn:
    Condition: WithLogs
    Value: !GetAtt LogTable.Arn
"#;

struct World {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    control: ControlPlane,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    for code in ["onconnect", "sendmessage"] {
        std::fs::create_dir_all(root.join("project").join(code)).unwrap();
    }
    let store = Arc::new(store::SqliteStore::open(&root).await.unwrap());
    let control = ControlPlane::new(store, Config::new("us-east-1", "123456789012", "ws://127.0.0.1:4510"));
    World { _dir: dir, root, control }
}

impl World {
    fn options(&self, overrides: &[(&str, &str)]) -> Options {
        Options {
            stack_name: "chat".to_owned(),
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
            parameter_overrides: overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            data_dir: self.root.join("data"),
        }
    }

    fn template(&self, text: &str) -> Template {
        Template::from_text(text, &self.root.join("project").join("template.yaml")).unwrap()
    }

    async fn apply(&self, text: &str, overrides: &[(&str, &str)]) -> Result<Applied, String> {
        apply(&self.template(text), &self.options(overrides), &self.control).await.map_err(|e| e.to_string())
    }

    async fn get(&self, path: &str) -> Value {
        let reply = self.control.handle(&Method::GET, path, None, b"").await.unwrap();
        serde_json::from_slice(&reply.body).unwrap()
    }

    async fn items(&self, path: &str) -> Vec<Value> {
        self.get(path).await["items"].as_array().cloned().unwrap()
    }
}

fn lambda_uri(function: &str) -> String {
    format!(
        "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:{function}/invocations"
    )
}

#[tokio::test]
async fn the_chat_sample_is_provisioned_with_resolved_references() {
    let w = world().await;
    let applied = w.apply(CHAT, &[]).await.unwrap();
    let api = &applied.apis[0];
    assert_eq!(
        (api.logical_id.as_str(), api.stages.as_slice(), api.updated),
        ("ChatApi", &["Prod".to_owned()][..], false)
    );
    let base = format!("/v2/apis/{}", api.api_id);
    assert_eq!(w.get(&base).await["name"], "chat-chat");
    let tags = &w.get(&base).await["tags"];
    assert_eq!(
        (&tags["aws:cloudformation:stack-name"], &tags["aws:cloudformation:logical-id"]),
        (&json!("chat"), &json!("ChatApi"))
    );

    let integrations = w.items(&format!("{base}/integrations")).await;
    let mut uris: Vec<&str> = integrations.iter().map(|i| i["integrationUri"].as_str().unwrap()).collect();
    uris.sort_unstable();
    assert_eq!(uris, [lambda_uri("OnConnectFunction"), lambda_uri("SendMessageFunction")]);
    assert!(integrations.iter().any(|i| i["timeoutInMillis"] == 5000), "the string '5000' is the integer 5000");
    let routes = w.items(&format!("{base}/routes")).await;
    let connect = routes.iter().find(|r| r["routeKey"] == "$connect").unwrap();
    let target = connect["target"].as_str().unwrap().trim_start_matches("integrations/");
    let integration = integrations.iter().find(|i| i["integrationId"] == target).unwrap();
    assert_eq!(integration["integrationUri"], lambda_uri("OnConnectFunction"));
    assert_eq!(connect["operationName"], "ConnectRoute");

    let stage = w.get(&format!("{base}/stages/Prod")).await;
    assert_eq!(stage["stageVariables"], json!({"table": "simplechat_connections"}));
    let deployments = w.items(&format!("{base}/deployments")).await;
    assert_eq!(deployments.len(), 1);
    assert_eq!(stage["deploymentId"], deployments[0]["deploymentId"]);
    let deployed = w.control.deployed_stage(&api.api_id, "Prod").await.unwrap().unwrap();
    assert_eq!(deployed.definitions["routes"].as_object().unwrap().len(), 2, "the deployment came after the routes");

    let names: Vec<&str> = applied.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["OnConnectFunction", "SendMessageFunction"]);
    let connect_fn = &applied.functions[0];
    assert_eq!(connect_fn.environment["TABLE_NAME"], "simplechat_connections");
    assert_eq!((connect_fn.memory_mb, connect_fn.timeout.as_secs()), (256, 10));
    assert!(connect_fn.code_dir.ends_with("project/onconnect/"), "{}", connect_fn.code_dir.display());
    let send_fn = &applied.functions[1];
    assert_eq!(send_fn.reserved_concurrency, Some(2));
    assert_eq!(
        send_fn.environment["TABLE_ARN"],
        "arn:aws:dynamodb:us-east-1:123456789012:table/simplechat_connections"
    );
    assert_eq!(send_fn.environment["ROLE"], "arn:aws:iam::123456789012:role/chat-SendMessageFunctionRole");

    let ignored: Vec<(&str, &str)> = applied.ignored.iter().map(|i| (i.logical_id.as_str(), i.kind.as_str())).collect();
    assert_eq!(
        ignored,
        [("ConnectionsTable", "AWS::DynamoDB::Table"), ("OnConnectPermission", "AWS::Lambda::Permission")]
    );
    assert!(applied.ignored[0].placeholders.starts_with("Ref → simplechat_connections"), "{:?}", applied.ignored[0]);
    assert_eq!(applied.skipped, [("LogTable".to_owned(), "WithLogs".to_owned())]);

    let outputs: BTreeMap<&str, (&str, Option<&str>)> =
        applied.outputs.iter().map(|o| (o.name.as_str(), (o.value.as_str(), o.local.as_deref()))).collect();
    let id = &api.api_id;
    assert_eq!(
        outputs["WebSocketURI"],
        (
            format!("wss://{id}.execute-api.us-east-1.amazonaws.com/Prod").as_str(),
            Some(format!("ws://127.0.0.1:4510/@apis/{id}/Prod").as_str())
        )
    );
    assert_eq!(
        outputs["ConnectionsUrl"].1,
        Some(format!("http://127.0.0.1:4510/@apis/{id}/Prod/@connections").as_str())
    );
    assert_eq!(outputs["TableArn"], ("arn:aws:dynamodb:us-east-1:123456789012:table/simplechat_connections", None));
    assert!(!outputs.contains_key("LogTableArn"), "an output whose condition is false is left out");
    let report = applied.report().join("\n");
    assert!(report.contains("ConnectionsTable (AWS::DynamoDB::Table): Ref → simplechat_connections"), "{report}");
    assert!(report.contains(&format!("served locally at ws://127.0.0.1:4510/@apis/{id}/Prod")), "{report}");
}

#[tokio::test]
async fn applying_again_keeps_the_api_id_and_redefines_it_without_duplicates() {
    let w = world().await;
    let first = w.apply(CHAT, &[]).await.unwrap();
    let api_id = first.apis[0].api_id.clone();
    let base = format!("/v2/apis/{api_id}");
    let changed = CHAT.replace("RouteKey: sendmessage", "RouteKey: send").replace("table: !Ref TableName", "other: x");
    let second = w.apply(&changed, &[("TableName", "renamed")]).await.unwrap();
    assert_eq!((second.apis[0].api_id.as_str(), second.apis[0].updated), (api_id.as_str(), true));
    assert_eq!(w.items("/v2/apis").await.len(), 1, "no second API");
    let mut keys: Vec<String> =
        w.items(&format!("{base}/routes")).await.iter().map(|r| r["routeKey"].as_str().unwrap().to_owned()).collect();
    keys.sort();
    assert_eq!(keys, ["$connect", "send"]);
    assert_eq!(w.items(&format!("{base}/integrations")).await.len(), 2);
    let stage = w.get(&format!("{base}/stages/Prod")).await;
    assert_eq!(stage["stageVariables"], json!({"other": "x"}), "a variable the template dropped is removed");
    let deployments = w.items(&format!("{base}/deployments")).await;
    assert_eq!(deployments.len(), 1, "the replaced deployment is deleted");
    assert_eq!(stage["deploymentId"], deployments[0]["deploymentId"]);
    assert!(
        w.control.deployed_stage(&api_id, "Prod").await.unwrap().unwrap().definitions["routes"]
            .as_object()
            .unwrap()
            .values()
            .any(|r| r["routeKey"] == "send")
    );
    assert_eq!(second.functions[0].environment["TABLE_NAME"], "renamed");

    // An API the template no longer defines is deleted; another stack's are not touched.
    let other = Options { stack_name: "other".to_owned(), ..w.options(&[]) };
    let theirs = apply(&w.template(CHAT), &other, &w.control).await.unwrap();
    let without_api = r#"
Resources:
  Table:
    Type: AWS::DynamoDB::Table
"#;
    let applied = w.apply(without_api, &[]).await.unwrap();
    assert_eq!(applied.removed, [format!("ChatApi ({api_id})")]);
    let left: Vec<Value> = w.items("/v2/apis").await.iter().map(|a| a["apiId"].clone()).collect();
    assert_eq!(left, [json!(theirs.apis[0].api_id)]);
}

#[tokio::test]
async fn a_json_template_with_auto_deploy_and_inline_code_applies() {
    let w = world().await;
    let template = json!({
        "Resources": {
            "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {
                "Name": "json", "ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action",
                "Tags": [{"Key": "team", "Value": "chat"}]}},
            "Echo": {"Type": "AWS::ApiGatewayV2::Integration", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationType": "MOCK", "RequestTemplates": {"$default": "{\"statusCode\": 200}"}}},
            "EchoResponse": {"Type": "AWS::ApiGatewayV2::IntegrationResponse", "Properties": {
                "ApiId": {"Ref": "Api"}, "IntegrationId": {"Ref": "Echo"}, "IntegrationResponseKey": "$default",
                "ResponseTemplates": {"$default": "pong"}}},
            "Ping": {"Type": "AWS::ApiGatewayV2::Route", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteKey": "ping", "RouteResponseSelectionExpression": "$default",
                "Target": {"Fn::Sub": "integrations/${Echo}"},
                "RequestParameters": {"route.request.header.x-id": {"Required": false}}}},
            "PingResponse": {"Type": "AWS::ApiGatewayV2::RouteResponse", "Properties": {
                "ApiId": {"Ref": "Api"}, "RouteId": {"Ref": "Ping"}, "RouteResponseKey": "$default"}},
            "Schema": {"Type": "AWS::ApiGatewayV2::Model", "Properties": {
                "ApiId": {"Ref": "Api"}, "Name": "Message", "Schema": {"type": "object"}}},
            "Live": {"Type": "AWS::ApiGatewayV2::Stage", "Properties": {
                "ApiId": {"Ref": "Api"}, "StageName": "live", "AutoDeploy": true}},
            "Inline": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "index.handler",
                "Code": {"ZipFile": "def handler(event, context):\n    return {'statusCode': 200}\n"}}},
        },
        "Outputs": {"Endpoint": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}}}
    });
    let applied = w.apply(&template.to_string(), &[]).await.unwrap();
    let api_id = &applied.apis[0].api_id;
    let base = format!("/v2/apis/{api_id}");
    assert_eq!(w.get(&base).await["tags"]["team"], "chat");
    let route = &w.items(&format!("{base}/routes")).await[0];
    assert_eq!(route["requestParameters"], json!({"route.request.header.x-id": {"required": false}}));
    assert_eq!(w.items(&format!("{base}/models")).await[0]["schema"], "{\"type\":\"object\"}");
    let stage = w.get(&format!("{base}/stages/live")).await;
    assert_eq!(stage["autoDeploy"], true);
    assert!(stage["deploymentId"].is_string(), "an AutoDeploy stage is deployed once everything is defined");
    let deployed = w.control.deployed_stage(api_id, "live").await.unwrap().unwrap();
    assert_eq!(deployed.definitions["routes"].as_object().unwrap().len(), 1);
    assert_eq!(applied.outputs[0].value, format!("ws://127.0.0.1:4510/@apis/{api_id}"));
    let inline = &applied.functions[0];
    assert_eq!(inline.name, "Inline");
    let source = std::fs::read_to_string(inline.code_dir.join("index.py")).unwrap();
    assert!(source.starts_with("def handler"), "{source}");
    assert!(inline.code_dir.starts_with(w.root.join("data/functions/inline/chat")), "{}", inline.code_dir.display());
}

#[tokio::test]
async fn errors_name_the_resource_and_the_property() {
    let w = world().await;
    let cases: Vec<(String, &str)> = vec![
        (
            CHAT.replace("!Ref ConnectInteg", "!Ref ConnectIntegration"),
            "resource ConnectRoute (AWS::ApiGatewayV2::Route), property Target: Ref: `ConnectIntegration` is not a \
             parameter, a pseudo parameter or a resource of this template",
        ),
        (
            CHAT.replace("${OnConnectFunction.Arn}", "${OnConnectFunction.Name}"),
            "resource ConnectInteg (AWS::ApiGatewayV2::Integration), property IntegrationUri: Fn::GetAtt \
             OnConnectFunction.Name: OnConnectFunction has no attribute Name (it has: Arn)",
        ),
        (
            CHAT.replace("RouteKey: sendmessage", "RouteKey: $bogus"),
            "resource SendRoute (AWS::ApiGatewayV2::Route): CreateRoute answered BadRequestException: Invalid route key $bogus",
        ),
        (
            CHAT.replace("OperationName: ConnectRoute", "Operation: x"),
            "resource ConnectRoute (AWS::ApiGatewayV2::Route), property Operation: is not a property",
        ),
        (
            CHAT.replace("MemorySize: 256", "MemorySize: 64"),
            "resource OnConnectFunction (AWS::Serverless::Function): function `OnConnectFunction`: MemorySize 64 is outside 128..=32768",
        ),
        (
            CHAT.replace("CodeUri: onconnect/", "CodeUri: missing/"),
            "property CodeUri: `missing/` is not a directory next to the template",
        ),
        (CHAT.replace("Runtime: python3.12", "Runtime: java21"), "property Runtime: runtime `java21` is not supported"),
        (
            CHAT.replace("Condition: WithLogs", "Condition: Nope"),
            "resource LogTable (AWS::DynamoDB::Table): Condition Nope is not in the Conditions section",
        ),
    ];
    for (text, message) in cases {
        let err = w.apply(&text, &[]).await.unwrap_err();
        assert!(err.starts_with(message) || err.contains(message), "got: {err}\nwant: {message}");
    }
    let err = w.apply(CHAT, &[("TableName", "has-dash")]).await.unwrap_err();
    assert!(err.starts_with("parameter TableName: value `has-dash` does not match"), "{err}");
    for (text, message) in [
        ("Resources: {}\n", "must have a Resources section"),
        ("Transform: AWS::Include\nResources:\n  A:\n    Type: X\n", "Transform AWS::Include is not supported"),
        ("Resourcez: {}\n", "unknown section Resourcez"),
        ("Resources:\n  A:\n    Properties: {}\n", "resource A: must have a Type"),
    ] {
        let err = Template::from_text(text, Path::new("t.yaml")).unwrap_err().to_string();
        assert!(err.contains(message), "{err}");
    }
}

#[tokio::test]
async fn a_template_that_does_not_resolve_changes_nothing() {
    let w = world().await;
    let applied = w.apply(CHAT, &[]).await.unwrap();
    let base = format!("/v2/apis/{}", applied.apis[0].api_id);
    let before = (w.items(&format!("{base}/routes")).await, w.items(&format!("{base}/integrations")).await);
    let broken = CHAT.replace("${SendMessageFunction.Arn}", "${SendMessageFunktion.Arn}");
    let err = w.apply(&broken, &[]).await.unwrap_err();
    assert!(err.starts_with("resource SendInteg (AWS::ApiGatewayV2::Integration), property IntegrationUri"), "{err}");
    let after = (w.items(&format!("{base}/routes")).await, w.items(&format!("{base}/integrations")).await);
    assert_eq!(before, after, "the broken template touched nothing");
}

#[tokio::test]
async fn an_auto_deploy_stage_keeps_serving_its_deployment_when_applying_again_fails_half_way() {
    let w = world().await;
    let text = CHAT.replace("      DeploymentId: !Ref Deployment\n", "      AutoDeploy: true\n");
    let first = w.apply(&text, &[]).await.unwrap();
    let api_id = &first.apis[0].api_id;
    let live =
        || async { w.control.deployed_stage(api_id, "Prod").await.unwrap().unwrap().definitions["routes"].clone() };
    let before = live().await;
    assert_eq!(before.as_object().unwrap().len(), 2);
    // The control plane refuses the second route after the first was defined again: nothing was deployed meanwhile.
    let refused = text.replace("RouteKey: sendmessage", "RouteKey: $bogus");
    let err = w.apply(&refused, &[]).await.unwrap_err();
    assert!(err.contains("Invalid route key $bogus"), "{err}");
    assert_eq!(live().await, before, "the stage still serves the whole earlier definition");
    w.apply(&text, &[]).await.unwrap();
    let stage = w.get(&format!("/v2/apis/{api_id}/stages/Prod")).await;
    assert_eq!(stage["autoDeploy"], true);
    assert_eq!(live().await.as_object().unwrap().len(), 2);
}
