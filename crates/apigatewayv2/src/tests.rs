//! Unit tests of the apigatewayv2 control plane over a real SQLite store, in ivschat's style: requests as the SDKs
//! send them, answers pinned.

use std::sync::Arc;

use http::Method;
use serde_json::{Value, json};
use store::{ApiStore, SqliteStore};
use time::macros::datetime;

use crate::{Config, ControlPlane};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<SqliteStore>,
    control: ControlPlane,
}

async fn fixture() -> Fixture {
    fixture_with(Vec::new()).await
}

/// A fixture whose configuration defines `configured` APIs.
async fn fixture_with(configured: Vec<serde_json::Map<String, Value>>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).await.unwrap());
    let mut config = Config::new("us-east-1", "123456789012", "ws://127.0.0.1:4510/");
    config.pagination_key = b"key".to_vec();
    config.configured = configured;
    let control = ControlPlane::new(store.clone(), config).with_clock(|| datetime!(2024-01-01 00:00:00.123 UTC));
    Fixture { _dir: dir, store, control }
}

impl Fixture {
    /// Status and body of one call.
    async fn call(&self, method: Method, path: &str, body: Value) -> (u16, Value) {
        let (path, query) = match path.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (path, None),
        };
        let body = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
        match self.control.handle(&method, path, query, &body).await {
            Ok(reply) => {
                let value =
                    if reply.body.is_empty() { Value::Null } else { serde_json::from_slice(&reply.body).unwrap() };
                (reply.status.as_u16(), value)
            }
            Err(err) => {
                let mut body: Value = serde_json::from_slice(&err.body()).unwrap();
                body["__type"] = Value::String(err.code.aws_type().to_owned());
                (err.status().as_u16(), body)
            }
        }
    }

    async fn ok(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, value) = self.call(method, path, body).await;
        assert!((200..300).contains(&status), "{status} {value}");
        value
    }

    async fn api(&self) -> String {
        let api = self
            .ok(Method::POST, "/v2/apis", json!({"name": "chat", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"}))
            .await;
        api["apiId"].as_str().unwrap().to_owned()
    }
}

fn message(value: &Value) -> &str {
    value["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn create_api_answers_the_models_members() {
    let f = fixture().await;
    let (status, api) = f
        .call(
            Method::POST,
            "/v2/apis",
            json!({"name": "chat", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action", "tags": {"team": "a"}}),
        )
        .await;
    assert_eq!(status, 201);
    let id = api["apiId"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert!(id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let mut pinned = api.clone();
    pinned["apiId"] = json!("ID");
    pinned["apiEndpoint"] = json!(api["apiEndpoint"].as_str().unwrap().replace(id, "ID"));
    assert_eq!(
        pinned,
        json!({
            "apiKeySelectionExpression": "$request.header.x-api-key",
            "createdDate": "2024-01-01T00:00:00.123Z",
            "disableExecuteApiEndpoint": false,
            "ipAddressType": "ipv4",
            "tags": {"team": "a"},
            "name": "chat",
            "protocolType": "WEBSOCKET",
            "routeSelectionExpression": "$request.body.action",
            "apiId": "ID",
            "apiEndpoint": "ws://127.0.0.1:4510/@apis/ID"
        })
    );
    assert_eq!(f.ok(Method::GET, &format!("/v2/apis/{id}"), Value::Null).await, api);
    let updated = f.ok(Method::PATCH, &format!("/v2/apis/{id}"), json!({"description": "d", "name": "renamed"})).await;
    assert_eq!((updated["name"].as_str(), updated["description"].as_str()), (Some("renamed"), Some("d")));
    assert_eq!(f.call(Method::DELETE, &format!("/v2/apis/{id}"), Value::Null).await, (204, Value::Null));
    let (status, body) = f.call(Method::GET, &format!("/v2/apis/{id}"), Value::Null).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"message": format!("Invalid API identifier specified 123456789012:{id}"), "resourceType": "Api", "__type": "NotFoundException"})
    );
}

#[tokio::test]
async fn http_apis_and_other_services_are_refused_by_name() {
    let f = fixture().await;
    let (status, body) = f.call(Method::POST, "/v2/apis", json!({"name": "h", "protocolType": "HTTP"})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({"message": "ProtocolType HTTP is not supported by Switchboard: only WEBSOCKET APIs can be created", "__type": "BadRequestException"})
    );
    let (status, body) = f.call(Method::POST, "/v2/apis", json!({"name": "w", "protocolType": "WEBSOCKET"})).await;
    assert_eq!((status, message(&body)), (400, "RouteSelectionExpression is required for WEBSOCKET APIs"));
    let (status, body) = f.call(Method::GET, "/v2/domainnames", Value::Null).await;
    assert_eq!(status, 400);
    assert!(message(&body).starts_with("GetDomainNames is not supported by Switchboard"), "{body}");
    let (status, body) =
        f.call(Method::POST, "/v2/apis", json!({"name": "w", "protocolType": "WEBSOCKET", "extra": 1})).await;
    assert_eq!((status, message(&body)), (400, "Member extra is not defined by the input of CreateApi"));
}

#[tokio::test]
async fn routes_integrations_and_their_rules() {
    let f = fixture().await;
    let api = f.api().await;
    let base = format!("/v2/apis/{api}");
    let integration = f
        .ok(Method::POST, &format!("{base}/integrations"), json!({"integrationType": "AWS_PROXY", "integrationUri": "arn:aws:lambda:us-east-1:123456789012:function:f"}))
        .await;
    let integration_id = integration["integrationId"].as_str().unwrap();
    assert_eq!(integration_id.len(), 7);
    assert_eq!(integration["timeoutInMillis"], json!(29000));
    assert_eq!(integration["connectionType"], json!("INTERNET"));
    let target = format!("integrations/{integration_id}");
    let (status, route) =
        f.call(Method::POST, &format!("{base}/routes"), json!({"routeKey": "$connect", "target": target})).await;
    assert_eq!(status, 201);
    assert_eq!(route["authorizationType"], json!("NONE"));
    assert_eq!(route["apiKeyRequired"], json!(false));
    let (status, body) = f.call(Method::POST, &format!("{base}/routes"), json!({"routeKey": "$connect"})).await;
    assert_eq!(
        (status, body),
        (409, json!({"message": "Route with key $connect already exists for this API", "__type": "ConflictException"}))
    );
    for (body, expected) in [
        (
            json!({"routeKey": "$other"}),
            "Invalid route key $other: keys starting with $ are reserved for $connect, $disconnect and $default",
        ),
        (
            json!({"routeKey": "send", "target": "integrations/nope"}),
            "Invalid target integrations/nope: use integrations/{integrationId} of this API",
        ),
        (
            json!({"routeKey": "send", "authorizationType": "AWS_IAM"}),
            "Currently, authorization is restricted to the $connect route only",
        ),
        (json!({"routeKey": "send", "requestModels": {"send": "Nope"}}), "Invalid model Nope: no model of that name"),
        (
            json!({"routeKey": "send", "routeResponseSelectionExpression": "$request.body.x"}),
            "RouteResponseSelectionExpression must be $default for WEBSOCKET APIs",
        ),
    ] {
        let (status, answer) = f.call(Method::POST, &format!("{base}/routes"), body.clone()).await;
        assert_eq!((status, message(&answer)), (400, expected), "{body}");
    }
    for (body, expected) in [
        (
            json!({"integrationType": "HTTP_PROXY", "integrationUri": "ftp://x", "integrationMethod": "POST"}),
            "Invalid HTTP endpoint specified for URI: ftp://x",
        ),
        (
            json!({"integrationType": "HTTP_PROXY", "integrationUri": "http://x"}),
            "IntegrationMethod is required for integration type HTTP_PROXY",
        ),
        (
            json!({"integrationType": "MOCK", "timeoutInMillis": 29001}),
            "TimeoutInMillis must be between 50 and 29000 milliseconds for WEBSOCKET APIs",
        ),
        (json!({"integrationType": "AWS_PROXY"}), "IntegrationUri is required for integration type AWS_PROXY"),
        (
            json!({"integrationType": "MOCK", "connectionType": "VPC_LINK"}),
            "VPC_LINK connections are not supported by Switchboard",
        ),
    ] {
        let (status, answer) = f.call(Method::POST, &format!("{base}/integrations"), body.clone()).await;
        assert_eq!((status, message(&answer)), (400, expected), "{body}");
    }
    // An integration a route targets stays until the route lets go of it.
    let (status, _) = f.call(Method::DELETE, &format!("{base}/integrations/{integration_id}"), Value::Null).await;
    assert_eq!(status, 409);
    let route_id = route["routeId"].as_str().unwrap();
    let path = format!("{base}/routes/{route_id}");
    f.ok(Method::PATCH, &path, json!({"requestParameters": {"route.request.header.x": {"required": true}}})).await;
    assert_eq!(
        f.call(Method::DELETE, &format!("{path}/requestparameters/route.request.header.x"), Value::Null).await.0,
        204
    );
    assert_eq!(f.ok(Method::GET, &path, Value::Null).await["requestParameters"], json!({}));
    let response = f.ok(Method::POST, &format!("{path}/routeresponses"), json!({"routeResponseKey": "$default"})).await;
    assert_eq!(
        f.call(Method::POST, &format!("{path}/routeresponses"), json!({"routeResponseKey": "$default"})).await.0,
        409
    );
    let listed = f.ok(Method::GET, &format!("{path}/routeresponses"), Value::Null).await;
    assert_eq!(listed, json!({"items": [response]}));
    assert_eq!(f.call(Method::DELETE, &path, Value::Null).await.0, 204);
    let (status, body) = f.call(Method::GET, &format!("{path}/routeresponses"), Value::Null).await;
    assert_eq!((status, body["resourceType"].as_str()), (404, Some("Route")));
}

#[tokio::test]
async fn deployments_snapshot_the_definitions_for_a_stage() {
    let f = fixture().await;
    let api = f.api().await;
    let base = format!("/v2/apis/{api}");
    let (status, body) = f.call(Method::POST, &format!("{base}/deployments"), json!({})).await;
    assert_eq!((status, message(&body)), (400, "At least one route is required before deploying the Api."));
    f.ok(Method::POST, &format!("{base}/routes"), json!({"routeKey": "$default"})).await;
    let stage =
        f.ok(Method::POST, &format!("{base}/stages"), json!({"stageName": "prod", "stageVariables": {"v": "1"}})).await;
    assert_eq!(f.control.deployed_stage(&api, "prod").await.unwrap(), None, "no deployment yet");
    assert_eq!(stage["createdDate"], json!("2024-01-01T00:00:00.123Z"));
    assert_eq!(f.call(Method::POST, &format!("{base}/stages"), json!({"stageName": "prod"})).await.0, 409);
    assert_eq!(f.call(Method::POST, &format!("{base}/stages"), json!({"stageName": "bad name"})).await.0, 400);
    let deployment =
        f.ok(Method::POST, &format!("{base}/deployments"), json!({"stageName": "prod", "description": "first"})).await;
    let deployment_id = deployment["deploymentId"].as_str().unwrap();
    assert_eq!(deployment["deploymentStatus"], json!("DEPLOYED"));
    let stage = f.ok(Method::GET, &format!("{base}/stages/prod"), Value::Null).await;
    assert_eq!(stage["deploymentId"].as_str(), Some(deployment_id));
    // What the data plane will load: the definitions as deployed, not later edits.
    f.ok(Method::POST, &format!("{base}/routes"), json!({"routeKey": "later"})).await;
    let snapshot = f.store.get_snapshot(&api, deployment_id).await.unwrap();
    let definitions: Value = serde_json::from_str(&snapshot.definitions).unwrap();
    let keys: Vec<&str> =
        definitions["routes"].as_object().unwrap().values().map(|r| r["routeKey"].as_str().unwrap()).collect();
    assert_eq!(keys, ["$default"]);
    let served = f.control.deployed_stage(&api, "prod").await.unwrap().unwrap();
    assert_eq!(served.deployment_id, deployment_id);
    assert_eq!(served.stage["stageVariables"], json!({"v": "1"}));
    assert_eq!(served.definitions, definitions);
    assert_eq!(f.control.deployed_stage(&api, "nope").await.unwrap(), None);
    assert_eq!(f.control.deployed_stage("nosuchapi0", "prod").await.unwrap(), None);
    let (status, body) = f.call(Method::DELETE, &format!("{base}/deployments/{deployment_id}"), Value::Null).await;
    assert_eq!((status, message(&body)), (400, "Active stages pointing to this deployment must be moved or deleted"));
    // AutoDeploy: turned on, it deploys at once (the answer names the deployment); then every change deploys.
    let turned_on = f.ok(Method::PATCH, &format!("{base}/stages/prod"), json!({"autoDeploy": true})).await;
    let first_auto = turned_on["deploymentId"].as_str().unwrap().to_owned();
    assert_ne!(first_auto, deployment_id, "deployed at once: {turned_on}");
    let created = f.ok(Method::POST, &format!("{base}/stages"), json!({"stageName": "auto", "autoDeploy": true})).await;
    assert!(created["deploymentId"].is_string(), "a stage created with AutoDeploy is deployed at once: {created}");
    f.ok(Method::POST, &format!("{base}/routes"), json!({"routeKey": "again"})).await;
    let stage = f.ok(Method::GET, &format!("{base}/stages/prod"), Value::Null).await;
    let auto = stage["deploymentId"].as_str().unwrap();
    assert_ne!(auto, deployment_id);
    assert_eq!(
        f.ok(Method::GET, &format!("{base}/deployments/{auto}"), Value::Null).await["autoDeployed"],
        json!(true)
    );
    assert_eq!(f.call(Method::DELETE, &format!("{base}/deployments/{deployment_id}"), Value::Null).await.0, 204);
    assert!(f.store.get_snapshot(&api, deployment_id).await.is_err());
    // Stage settings.
    let (status, body) = f
        .call(
            Method::PATCH,
            &format!("{base}/stages/prod"),
            json!({"routeSettings": {"nope": {"throttlingBurstLimit": 1}}}),
        )
        .await;
    assert_eq!((status, message(&body)), (400, "Unable to find Route by key nope within the provided RouteSettings"));
    f.ok(
        Method::PATCH,
        &format!("{base}/stages/prod"),
        json!({"routeSettings": {"$default": {"throttlingBurstLimit": 1}}, "accessLogSettings": {"destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:g", "format": "$context.requestId"}}),
    )
    .await;
    assert_eq!(
        f.call(Method::DELETE, &format!("{base}/stages/prod/routesettings/%24default"), Value::Null).await.0,
        204
    );
    assert_eq!(f.call(Method::DELETE, &format!("{base}/stages/prod/accesslogsettings"), Value::Null).await.0, 204);
    assert_eq!(f.call(Method::DELETE, &format!("{base}/stages/prod/cache/authorizers"), Value::Null).await.0, 204);
    let stage = f.ok(Method::GET, &format!("{base}/stages/prod"), Value::Null).await;
    assert_eq!((stage["routeSettings"].clone(), stage.get("accessLogSettings")), (json!({}), None));
}

#[tokio::test]
async fn models_authorizers_and_tags() {
    let f = fixture().await;
    let api = f.api().await;
    let base = format!("/v2/apis/{api}");
    let schema = r#"{"type":"object","properties":{"action":{"type":"string"}}}"#;
    let model = f
        .ok(
            Method::POST,
            &format!("{base}/models"),
            json!({"name": "Msg", "schema": schema, "contentType": "application/json"}),
        )
        .await;
    assert_eq!(f.call(Method::POST, &format!("{base}/models"), json!({"name": "Msg", "schema": schema})).await.0, 409);
    let model_id = model["modelId"].as_str().unwrap();
    let template = f.ok(Method::GET, &format!("{base}/models/{model_id}/template"), Value::Null).await;
    assert_eq!(
        template,
        json!({"value": "#set($inputRoot = $input.path('$'))\n{\n  \"action\" : $input.json('$.action')\n}"})
    );
    let authorizer = f
        .ok(
            Method::POST,
            &format!("{base}/authorizers"),
            json!({"name": "auth", "authorizerType": "REQUEST", "authorizerUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:a/invocations", "identitySource": ["route.request.header.Auth"]}),
        )
        .await;
    let authorizer_id = authorizer["authorizerId"].as_str().unwrap();
    let (status, body) = f
        .call(
            Method::POST,
            &format!("{base}/authorizers"),
            json!({"name": "jwt", "authorizerType": "JWT", "identitySource": ["$request.header.Authorization"]}),
        )
        .await;
    assert_eq!(
        (status, message(&body)),
        (400, "AuthorizerType must be REQUEST for WEBSOCKET APIs (JWT is for HTTP APIs)")
    );
    f.ok(
        Method::POST,
        &format!("{base}/routes"),
        json!({"routeKey": "$connect", "authorizationType": "CUSTOM", "authorizerId": authorizer_id}),
    )
    .await;
    assert_eq!(f.call(Method::DELETE, &format!("{base}/authorizers/{authorizer_id}"), Value::Null).await.0, 409);
    // Tags of the API and of a stage, by ARN.
    f.ok(Method::POST, &format!("{base}/stages"), json!({"stageName": "dev"})).await;
    let arn = format!("arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2F{api}");
    assert_eq!(f.call(Method::POST, &format!("/v2/tags/{arn}"), json!({"tags": {"a": "1", "b": "2"}})).await.0, 201);
    assert_eq!(f.call(Method::DELETE, &format!("/v2/tags/{arn}?tagKeys=a"), Value::Null).await.0, 204);
    assert_eq!(f.ok(Method::GET, &format!("/v2/tags/{arn}"), Value::Null).await, json!({"tags": {"b": "2"}}));
    let stage_arn = format!("{arn}%2Fstages%2Fdev");
    f.ok(Method::POST, &format!("/v2/tags/{stage_arn}"), json!({"tags": {"s": "1"}})).await;
    assert_eq!(f.ok(Method::GET, &format!("{base}/stages/dev"), Value::Null).await["tags"], json!({"s": "1"}));
    let (status, body) = f.call(Method::GET, &format!("/v2/tags/{arn}%2Fstages%2Fnope"), Value::Null).await;
    assert_eq!((status, body["resourceType"].as_str()), (404, Some("Stage")));
}

#[tokio::test]
async fn listings_page_with_tamper_evident_tokens() {
    let f = fixture().await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(f.api().await);
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut query = "?maxResults=2".to_owned();
    loop {
        let page = f.ok(Method::GET, &format!("/v2/apis{query}"), Value::Null).await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|a| a["apiId"].as_str().unwrap().to_owned()));
        match page["nextToken"].as_str() {
            Some(token) => query = format!("?maxResults=2&nextToken={token}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let base = format!("/v2/apis/{}", ids[0]);
    for key in ["a", "b", "c"] {
        f.ok(Method::POST, &format!("{base}/routes"), json!({"routeKey": key})).await;
    }
    let page = f.ok(Method::GET, &format!("{base}/routes?maxResults=2"), Value::Null).await;
    let token = page["nextToken"].as_str().unwrap();
    let rest = f.ok(Method::GET, &format!("{base}/routes?nextToken={token}"), Value::Null).await;
    assert_eq!(page["items"].as_array().unwrap().len() + rest["items"].as_array().unwrap().len(), 3);
    // A token of another API's listing, or an altered one, is refused.
    let other = format!("/v2/apis/{}/routes?nextToken={token}", ids[1]);
    assert_eq!(f.call(Method::GET, &other, Value::Null).await.1["message"], json!("The NextToken is invalid"));
    assert_eq!(f.call(Method::GET, &format!("{base}/routes?maxResults=0"), Value::Null).await.0, 400);
}

#[tokio::test]
async fn update_stage_merges_variables_and_an_empty_access_log_block_removes_it() {
    let f = fixture().await;
    let api = f.api().await;
    let stage = format!("/v2/apis/{api}/stages/prod");
    let log =
        json!({"destinationArn": "arn:aws:logs:us-east-1:123456789012:log-group:g", "format": "$context.requestId"});
    let created = json!({"stageName": "prod", "stageVariables": {"a": "1", "b": "2"}, "accessLogSettings": log});
    f.ok(Method::POST, &format!("/v2/apis/{api}/stages"), created).await;
    // Terraform sends only the changed variables, a removed one as "".
    let changed = json!({"stageVariables": {"a": "10", "b": "", "c": "3"}, "accessLogSettings": {}});
    let updated = f.ok(Method::PATCH, &stage, changed).await;
    assert_eq!(updated["stageVariables"], json!({"a": "10", "c": "3"}));
    assert!(updated.get("accessLogSettings").is_none(), "{updated}");
    let got = f.ok(Method::GET, &stage, Value::Null).await;
    assert_eq!(got["stageVariables"], json!({"a": "10", "c": "3"}));
    assert!(got.get("accessLogSettings").is_none(), "{got}");
}

#[tokio::test]
async fn update_integration_removes_request_parameters_sent_empty() {
    let f = fixture().await;
    let api = f.api().await;
    let parameters =
        json!({"integration.request.header.a": "route.request.header.a", "integration.request.header.b": "'b'"});
    let body = json!({"integrationType": "MOCK", "requestParameters": parameters});
    let created = f.ok(Method::POST, &format!("/v2/apis/{api}/integrations"), body).await;
    let path = format!("/v2/apis/{api}/integrations/{}", created["integrationId"].as_str().unwrap());
    let changed = json!({"integrationType": "MOCK", "requestParameters": {"integration.request.header.a": "route.request.header.a", "integration.request.header.b": ""}});
    f.ok(Method::PATCH, &path, changed).await;
    let got = f.ok(Method::GET, &path, Value::Null).await;
    assert_eq!(got["requestParameters"], json!({"integration.request.header.a": "route.request.header.a"}));
}

#[tokio::test]
async fn quotas_answer_too_many_requests() {
    let f = fixture().await;
    let api = f.api().await;
    for i in 0..10 {
        f.ok(Method::POST, &format!("/v2/apis/{api}/stages"), json!({"stageName": format!("s{i}")})).await;
    }
    let (status, body) = f.call(Method::POST, &format!("/v2/apis/{api}/stages"), json!({"stageName": "s10"})).await;
    assert_eq!(
        (status, body),
        (
            429,
            json!({"message": "Limit of 10 Stages reached", "limitType": "Stages", "__type": "TooManyRequestsException"})
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_to_one_api_all_land() {
    let f = Arc::new(fixture().await);
    let api = f.api().await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (f, api) = (f.clone(), api.clone());
        calls.spawn(async move {
            f.call(Method::POST, &format!("/v2/apis/{api}/routes"), json!({"routeKey": format!("k{i}")})).await.0
        });
    }
    while let Some(status) = calls.join_next().await {
        assert_eq!(status.unwrap(), 201);
    }
    let routes = f.ok(Method::GET, &format!("/v2/apis/{api}/routes"), Value::Null).await;
    assert_eq!(routes["items"].as_array().unwrap().len(), 16);
    // Every committed change moved the version once: the creation, then one per route.
    assert_eq!(f.store.get_api(&api).await.unwrap().version, 17);
}

#[tokio::test]
async fn configured_apis_are_listed_first_and_read_only() {
    let configured = ["zeta", "alpha", "mid"]
        .map(|id| json!({"apiId": id, "name": id, "protocolType": "WEBSOCKET"}).as_object().unwrap().clone());
    let f = fixture_with(configured.to_vec()).await;
    let stored = [f.api().await, f.api().await];
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let query = token.as_ref().map(|t| format!("&nextToken={t}")).unwrap_or_default();
        let page = f.ok(Method::GET, &format!("/v2/apis?maxResults=2{query}"), Value::Null).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        listed.extend(items.iter().map(|i| i["apiId"].as_str().unwrap().to_owned()));
        match page["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    let mut expected: Vec<String> = ["alpha", "mid", "zeta"].map(str::to_owned).to_vec();
    let mut stored = stored.to_vec();
    stored.sort();
    expected.extend(stored);
    assert_eq!(listed, expected);
    let got = f.ok(Method::GET, "/v2/apis/mid", Value::Null).await;
    assert_eq!((got["name"].as_str(), got["apiEndpoint"].as_str()), (Some("mid"), Some("ws://127.0.0.1:4510")));
    assert_eq!(f.call(Method::PATCH, "/v2/apis/mid", json!({"name": "x"})).await.0, 404, "read-only");
}

#[tokio::test]
async fn tags_with_the_reserved_prefix_are_refused_but_cloudformations_own_from_a_stack() {
    let f = fixture().await;
    let api = f.api().await;
    let base = format!("/v2/apis/{api}");
    let arn = format!("arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2F{api}");
    let refused = |(status, body): (u16, Value)| {
        assert_eq!((status, body["message"].as_str()), (400, Some(crate::rules::RESERVED_TAG_KEY)), "{body}");
    };
    for key in ["aws:team", "AWS:team", "Aws:cloudformation:stack-name"] {
        refused(f.call(Method::POST, &format!("/v2/tags/{arn}"), json!({"tags": {"ok": "1", key: "x"}})).await);
    }
    let create = json!({"name": "t", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
                        "tags": {"aws:cloudformation:stack-name": "s"}});
    refused(f.call(Method::POST, "/v2/apis", create.clone()).await);
    refused(f.call(Method::POST, &format!("{base}/stages"), json!({"stageName": "p", "tags": {"aws:x": "1"}})).await);
    assert_eq!(f.ok(Method::GET, &format!("/v2/tags/{arn}"), Value::Null).await, json!({"tags": {}}), "nothing set");
    // Tags that merely contain the prefix are the user's.
    f.ok(Method::POST, &format!("/v2/tags/{arn}"), json!({"tags": {"team-aws:": "1", "aws": "2"}})).await;

    // The template loader sets CloudFormation's own tags, and no other `aws:` ones.
    let control = &f.control;
    let stack = |body: &Value| {
        let bytes = body.to_string().into_bytes();
        async move { control.handle_for_stack(&Method::POST, "/v2/apis", None, &bytes).await }
    };
    let created = stack(&create).await.unwrap();
    assert_eq!(created.status.as_u16(), 201);
    let other = json!({"name": "t", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action",
                       "tags": {"aws:team": "s"}});
    assert_eq!(stack(&other).await.unwrap_err().message, crate::rules::RESERVED_TAG_KEY);
}
