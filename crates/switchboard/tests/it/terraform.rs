//! The calls Terraform's `aws_apigatewayv2_*` resources make (create, refresh, in-place update, destroy), replayed
//! in the provider's order through `aws-sdk-apigatewayv2`; `docs/terraform-apigatewayv2.md` writes them down.

use std::collections::HashMap;

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::error::ProvideErrorMetadata;
use aws_sdk_apigatewayv2::types::{
    AccessLogSettings, AuthorizationType, AuthorizerType, ConnectionType, IntegrationType, LoggingLevel,
    PassthroughBehavior, ProtocolType, RouteSettings,
};

use crate::apigatewayv2::sdk;
use crate::harness::*;

const LAMBDA: &str = "arn:aws:lambda:us-east-1:000000000000:function:handler";
const LOG_GROUP: &str = "arn:aws:logs:us-east-1:000000000000:log-group:ws-access";

fn lambda_uri(function: &str) -> String {
    format!("arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function}/invocations")
}

/// The ids Terraform keeps in its state after `apply`.
struct State {
    api: String,
    integration: String,
    authorizer: String,
    connect: String,
    default: String,
    deployment: String,
    stage: &'static str,
}

impl State {
    fn api_arn(&self) -> String {
        format!("arn:aws:apigateway:{REGION}::/apis/{}", self.api)
    }

    fn stage_arn(&self) -> String {
        format!("{}/stages/{}", self.api_arn(), self.stage)
    }
}

/// The default route settings of the stage, as the provider expands them for a WEBSOCKET API.
fn default_route_settings(burst: i32, rate: f64) -> RouteSettings {
    RouteSettings::builder()
        .data_trace_enabled(false)
        .detailed_metrics_enabled(false)
        .logging_level(LoggingLevel::Info)
        .throttling_burst_limit(burst)
        .throttling_rate_limit(rate)
        .build()
}

/// `terraform apply` of a fresh configuration: each resource's Create, then its Read, in dependency order.
async fn apply(sdk: &Client) -> State {
    // aws_apigatewayv2_api: CreateApi with the schema defaults, then GetApi.
    let created = sdk
        .create_api()
        .name("tf-ws")
        .protocol_type(ProtocolType::Websocket)
        .api_key_selection_expression("$request.header.x-api-key")
        .route_selection_expression("$request.body.action")
        .description("managed by terraform")
        .version("1")
        .tags("env", "dev")
        .send()
        .await
        .unwrap();
    let api = created.api_id().unwrap().to_owned();
    let got = sdk.get_api().api_id(&api).send().await.unwrap();
    assert!(got.api_endpoint().is_some_and(|e| e.starts_with("ws://")), "{got:?}");
    assert_eq!(got.api_key_selection_expression(), Some("$request.header.x-api-key"));
    assert_eq!(got.route_selection_expression(), Some("$request.body.action"));
    assert_eq!(got.protocol_type(), Some(&ProtocolType::Websocket));
    assert_eq!(
        (got.name(), got.description(), got.version()),
        (Some("tf-ws"), Some("managed by terraform"), Some("1"))
    );
    assert!(got.created_date().is_some());
    assert_eq!(got.tags().unwrap().get("env").map(String::as_str), Some("dev"));

    // aws_apigatewayv2_integration: every defaulted member is sent, then GetIntegration.
    let integration = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::AwsProxy)
        .integration_uri(lambda_uri(LAMBDA))
        .integration_method("POST")
        .connection_type(ConnectionType::Internet)
        .content_handling_strategy(aws_sdk_apigatewayv2::types::ContentHandlingStrategy::ConvertToText)
        .passthrough_behavior(PassthroughBehavior::WhenNoMatch)
        .payload_format_version("1.0")
        .description("lambda")
        .send()
        .await
        .unwrap();
    let integration = integration.integration_id().unwrap().to_owned();
    let got = sdk.get_integration().api_id(&api).integration_id(&integration).send().await.unwrap();
    assert_eq!(got.integration_type(), Some(&IntegrationType::AwsProxy));
    assert_eq!(got.integration_uri(), Some(lambda_uri(LAMBDA).as_str()));
    assert_eq!(got.connection_type(), Some(&ConnectionType::Internet));
    assert_eq!(got.passthrough_behavior(), Some(&PassthroughBehavior::WhenNoMatch));
    assert_eq!(got.payload_format_version(), Some("1.0"));
    assert_eq!(got.timeout_in_millis(), Some(29_000), "timeout_milliseconds is computed");

    // aws_apigatewayv2_authorizer: GetApi (for the protocol), CreateAuthorizer, GetAuthorizer.
    sdk.get_api().api_id(&api).send().await.unwrap();
    let authorizer = sdk
        .create_authorizer()
        .api_id(&api)
        .authorizer_type(AuthorizerType::Request)
        .identity_source("route.request.header.Auth")
        .identity_source("route.request.querystring.token")
        .name("tf-auth")
        .authorizer_uri(lambda_uri(LAMBDA))
        .send()
        .await
        .unwrap();
    let authorizer = authorizer.authorizer_id().unwrap().to_owned();
    let got = sdk.get_authorizer().api_id(&api).authorizer_id(&authorizer).send().await.unwrap();
    assert_eq!(got.authorizer_type(), Some(&AuthorizerType::Request));
    assert_eq!(got.identity_source(), ["route.request.header.Auth", "route.request.querystring.token"]);
    assert_eq!((got.name(), got.authorizer_uri()), (Some("tf-auth"), Some(lambda_uri(LAMBDA).as_str())));

    // aws_apigatewayv2_route (twice): ApiKeyRequired and AuthorizationType are always sent, then GetRoute.
    let target = format!("integrations/{integration}");
    let connect = sdk
        .create_route()
        .api_id(&api)
        .api_key_required(false)
        .authorization_type(AuthorizationType::Custom)
        .authorizer_id(&authorizer)
        .route_key("$connect")
        .operation_name("Connect")
        .target(&target)
        .send()
        .await
        .unwrap();
    let connect = connect.route_id().unwrap().to_owned();
    let default = sdk
        .create_route()
        .api_id(&api)
        .api_key_required(false)
        .authorization_type(AuthorizationType::None)
        .route_key("$default")
        .target(&target)
        .send()
        .await
        .unwrap();
    let default = default.route_id().unwrap().to_owned();
    let got = sdk.get_route().api_id(&api).route_id(&connect).send().await.unwrap();
    assert_eq!((got.route_key(), got.target()), (Some("$connect"), Some(target.as_str())));
    assert_eq!(got.authorization_type(), Some(&AuthorizationType::Custom));
    assert_eq!((got.authorizer_id(), got.api_key_required()), (Some(authorizer.as_str()), Some(false)));
    let got = sdk.get_route().api_id(&api).route_id(&default).send().await.unwrap();
    assert_eq!(got.authorization_type(), Some(&AuthorizationType::None));

    // aws_apigatewayv2_deployment: CreateDeployment (no stage), wait on GetDeployment for DEPLOYED, then read.
    let deployment = sdk.create_deployment().api_id(&api).description("v1").send().await.unwrap();
    let deployment = deployment.deployment_id().unwrap().to_owned();
    let got = sdk.get_deployment().api_id(&api).deployment_id(&deployment).send().await.unwrap();
    assert_eq!(got.deployment_status().map(|s| s.as_str()), Some("DEPLOYED"));
    assert_eq!((got.auto_deployed(), got.description()), (Some(false), Some("v1")));

    // aws_apigatewayv2_stage: GetApi, CreateStage (AutoDeploy always sent), GetStage, GetApi.
    sdk.get_api().api_id(&api).send().await.unwrap();
    let stage = "prod";
    sdk.create_stage()
        .api_id(&api)
        .stage_name(stage)
        .auto_deploy(false)
        .deployment_id(&deployment)
        .description("production")
        .default_route_settings(default_route_settings(100, 50.0))
        .route_settings(
            "$connect",
            RouteSettings::builder().throttling_burst_limit(10).throttling_rate_limit(5.0).build(),
        )
        .stage_variables("backend", "blue")
        .stage_variables("region", "eu")
        .access_log_settings(
            AccessLogSettings::builder().destination_arn(LOG_GROUP).format("$context.requestId").build(),
        )
        .tags("tier", "web")
        .send()
        .await
        .unwrap();
    let state = State { api, integration, authorizer, connect, default, deployment, stage };
    read_stage(sdk, &state, &[("backend", "blue"), ("region", "eu")]).await;
    state
}

/// The stage's Read: GetStage for the members it keeps, then GetApi for the invoke URL.
async fn read_stage(
    sdk: &Client,
    state: &State,
    variables: &[(&str, &str)],
) -> aws_sdk_apigatewayv2::operation::get_stage::GetStageOutput {
    let got = sdk.get_stage().api_id(&state.api).stage_name(state.stage).send().await.unwrap();
    assert_eq!(got.stage_name(), Some(state.stage));
    assert_eq!(got.auto_deploy(), Some(false));
    let want: HashMap<String, String> = variables.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(got.stage_variables().cloned().unwrap_or_default(), want);
    assert!(got.created_date().is_some() && got.last_updated_date().is_some());
    sdk.get_api().api_id(&state.api).send().await.unwrap();
    got
}

/// `terraform plan`'s refresh: every resource's Read, asserting what the provider keeps in state.
async fn refresh(sdk: &Client, state: &State) {
    let api = sdk.get_api().api_id(&state.api).send().await.unwrap();
    assert!(api.api_endpoint().is_some() && api.created_date().is_some());
    sdk.get_integration().api_id(&state.api).integration_id(&state.integration).send().await.unwrap();
    sdk.get_authorizer().api_id(&state.api).authorizer_id(&state.authorizer).send().await.unwrap();
    for route in [&state.connect, &state.default] {
        sdk.get_route().api_id(&state.api).route_id(route).send().await.unwrap();
    }
    let deployment = sdk.get_deployment().api_id(&state.api).deployment_id(&state.deployment).send().await.unwrap();
    assert_eq!(deployment.deployment_status().map(|s| s.as_str()), Some("DEPLOYED"));
    let stage = sdk.get_stage().api_id(&state.api).stage_name(state.stage).send().await.unwrap();
    assert_eq!(stage.deployment_id(), Some(state.deployment.as_str()));
    sdk.get_api().api_id(&state.api).send().await.unwrap();
}

/// An in-place change of typical attributes of every resource: only the changed members are sent, then Read.
async fn update(sdk: &Client, state: &State) {
    let (api, arn) = (&state.api, state.api_arn());
    // The api: UpdateApi with the changed members, tags through the ARN the provider builds.
    sdk.update_api().api_id(api).description("still terraform").send().await.unwrap();
    sdk.untag_resource().resource_arn(&arn).tag_keys("env").send().await.unwrap();
    sdk.tag_resource().resource_arn(&arn).tags("env", "prod").tags("owner", "ops").send().await.unwrap();
    let got = sdk.get_api().api_id(api).send().await.unwrap();
    assert_eq!((got.name(), got.description()), (Some("tf-ws"), Some("still terraform")));
    assert_eq!(got.route_selection_expression(), Some("$request.body.action"));
    let tags = got.tags().unwrap();
    assert_eq!((tags.get("env").map(String::as_str), tags.len()), (Some("prod"), 2));

    // The integration: IntegrationType is always sent, with the changed members.
    sdk.update_integration()
        .api_id(api)
        .integration_id(&state.integration)
        .integration_type(IntegrationType::AwsProxy)
        .timeout_in_millis(10_000)
        .description("lambda, faster")
        .send()
        .await
        .unwrap();
    let got = sdk.get_integration().api_id(api).integration_id(&state.integration).send().await.unwrap();
    assert_eq!((got.timeout_in_millis(), got.description()), (Some(10_000), Some("lambda, faster")));
    assert_eq!(got.integration_uri(), Some(lambda_uri(LAMBDA).as_str()));

    // The authorizer: a new name and identity sources.
    sdk.update_authorizer()
        .api_id(api)
        .authorizer_id(&state.authorizer)
        .name("tf-auth-2")
        .identity_source("route.request.header.Authorization")
        .send()
        .await
        .unwrap();
    let got = sdk.get_authorizer().api_id(api).authorizer_id(&state.authorizer).send().await.unwrap();
    assert_eq!(
        (got.name(), got.identity_source()),
        (Some("tf-auth-2"), &["route.request.header.Authorization".to_owned()][..])
    );
    assert_eq!(got.authorizer_type(), Some(&AuthorizerType::Request));

    // A route: the operation name and API key requirement.
    sdk.update_route()
        .api_id(api)
        .route_id(&state.default)
        .api_key_required(true)
        .operation_name("Fallback")
        .send()
        .await
        .unwrap();
    let got = sdk.get_route().api_id(api).route_id(&state.default).send().await.unwrap();
    assert_eq!((got.api_key_required(), got.operation_name()), (Some(true), Some("Fallback")));
    assert_eq!(got.target(), Some(format!("integrations/{}", state.integration).as_str()));

    // The deployment: UpdateDeployment, wait for DEPLOYED, read.
    sdk.update_deployment()
        .api_id(api)
        .deployment_id(&state.deployment)
        .description("v1, described")
        .send()
        .await
        .unwrap();
    let got = sdk.get_deployment().api_id(api).deployment_id(&state.deployment).send().await.unwrap();
    assert_eq!(got.deployment_status().map(|s| s.as_str()), Some("DEPLOYED"));
    assert_eq!(got.description(), Some("v1, described"));

    // The stage: GetApi; a removed route setting is deleted first (NotFound tolerated); stage variables are sent
    // as a diff (a removed one as ""); a removed access log block as an empty object; then the stage's Read.
    sdk.get_api().api_id(api).send().await.unwrap();
    sdk.delete_route_settings().api_id(api).stage_name(state.stage).route_key("$connect").send().await.unwrap();
    sdk.update_stage()
        .api_id(api)
        .stage_name(state.stage)
        .default_route_settings(default_route_settings(200, 100.0))
        .description("production, tuned")
        .stage_variables("backend", "green")
        .stage_variables("region", "")
        .access_log_settings(AccessLogSettings::builder().build())
        .send()
        .await
        .unwrap();
    let got = read_stage(sdk, state, &[("backend", "green")]).await;
    assert_eq!(got.description(), Some("production, tuned"));
    let settings = got.default_route_settings().unwrap();
    assert_eq!((settings.throttling_burst_limit(), settings.throttling_rate_limit()), (Some(200), Some(100.0)));
    assert_eq!(settings.logging_level(), Some(&LoggingLevel::Info));
    assert!(got.route_settings().is_none_or(|s| s.is_empty()), "{got:?}");
    assert!(got.access_log_settings().is_none(), "an empty AccessLogSettings removes them: {got:?}");
    let stage_arn = state.stage_arn();
    sdk.tag_resource().resource_arn(&stage_arn).tags("tier", "edge").send().await.unwrap();
    let got = sdk.get_stage().api_id(api).stage_name(state.stage).send().await.unwrap();
    assert_eq!(got.tags().unwrap().get("tier").map(String::as_str), Some("edge"));
}

/// `terraform destroy`: dependents first; a NotFoundException on a delete counts as done.
async fn destroy(sdk: &Client, state: &State) {
    let api = &state.api;
    sdk.delete_stage().api_id(api).stage_name(state.stage).send().await.unwrap();
    sdk.delete_deployment().api_id(api).deployment_id(&state.deployment).send().await.unwrap();
    for route in [&state.connect, &state.default] {
        sdk.delete_route().api_id(api).route_id(route).send().await.unwrap();
    }
    sdk.delete_authorizer().api_id(api).authorizer_id(&state.authorizer).send().await.unwrap();
    sdk.delete_integration().api_id(api).integration_id(&state.integration).send().await.unwrap();
    sdk.delete_api().api_id(api).send().await.unwrap();
}

fn not_found<E: ProvideErrorMetadata>(outcome: Result<impl std::fmt::Debug, E>) {
    let err = outcome.unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"), "{:?}", err.message());
}

/// The refresh after destroy (and a repeated destroy): every Read and Delete answers NotFoundException, which the
/// provider takes as "gone" and drops from its state.
async fn all_gone(sdk: &Client, state: &State) {
    let api = &state.api;
    not_found(sdk.get_api().api_id(api).send().await.map_err(|e| e.into_service_error()));
    not_found(sdk.get_stage().api_id(api).stage_name(state.stage).send().await.map_err(|e| e.into_service_error()));
    let deployment = sdk.get_deployment().api_id(api).deployment_id(&state.deployment).send().await;
    not_found(deployment.map_err(|e| e.into_service_error()));
    not_found(sdk.get_route().api_id(api).route_id(&state.connect).send().await.map_err(|e| e.into_service_error()));
    let authorizer = sdk.get_authorizer().api_id(api).authorizer_id(&state.authorizer).send().await;
    not_found(authorizer.map_err(|e| e.into_service_error()));
    let integration = sdk.get_integration().api_id(api).integration_id(&state.integration).send().await;
    not_found(integration.map_err(|e| e.into_service_error()));
    not_found(sdk.delete_api().api_id(api).send().await.map_err(|e| e.into_service_error()));
    not_found(sdk.delete_stage().api_id(api).stage_name(state.stage).send().await.map_err(|e| e.into_service_error()));
    not_found(sdk.delete_route().api_id(api).route_id(&state.default).send().await.map_err(|e| e.into_service_error()));
}

#[tokio::test]
async fn a_websocket_stack_through_its_terraform_lifecycle() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let state = apply(&sdk).await;
    refresh(&sdk, &state).await;
    update(&sdk, &state).await;
    refresh(&sdk, &state).await;
    destroy(&sdk, &state).await;
    all_gone(&sdk, &state).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_resource_deleted_outside_terraform_reads_as_gone() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let state = apply(&sdk).await;
    // Someone deletes the stage by hand: the next refresh finds the stage gone and the rest still there.
    sdk.delete_stage().api_id(&state.api).stage_name(state.stage).send().await.unwrap();
    not_found(
        sdk.get_stage().api_id(&state.api).stage_name(state.stage).send().await.map_err(|e| e.into_service_error()),
    );
    sdk.get_deployment().api_id(&state.api).deployment_id(&state.deployment).send().await.unwrap();
    // A route settings block removed from the configuration that is already gone: NotFound, which is tolerated.
    sdk.create_stage().api_id(&state.api).stage_name(state.stage).auto_deploy(false).send().await.unwrap();
    let err = sdk.delete_route_settings().api_id(&state.api).stage_name(state.stage).route_key("$connect").send().await;
    not_found(err.map_err(|e| e.into_service_error()));
    server.shutdown().await;
}
