//! The apigatewayv2 control plane through the official `aws-sdk-apigatewayv2` client: every implemented operation,
//! the typed errors, pagination and a restart.

use aws_sdk_apigatewayv2::Client;
use aws_sdk_apigatewayv2::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_apigatewayv2::types::{
    AccessLogSettings, AuthorizationType, AuthorizerType, ConnectionType, IntegrationType, ParameterConstraints,
    ProtocolType, RouteSettings,
};

use crate::harness::*;

pub(crate) fn sdk(server: &TestServer) -> Client {
    sdk_at(&server.url(""))
}

/// The client pointed at `url`, a server of this process or another.
pub(crate) fn sdk_at(url: &str) -> Client {
    let config = aws_sdk_apigatewayv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(AKID, SECRET, None, None, "test"))
        .endpoint_url(url)
        .build();
    Client::from_conf(config)
}

/// A WebSocket API named `name`, routing on `$request.body.action`; its id.
pub(crate) async fn websocket_api(sdk: &Client, name: &str) -> String {
    let api = sdk
        .create_api()
        .name(name)
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .send()
        .await
        .unwrap();
    api.api_id().unwrap().to_owned()
}

#[tokio::test]
async fn every_operation_through_the_sdk() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let created = sdk
        .create_api()
        .name("chat")
        .protocol_type(ProtocolType::Websocket)
        .route_selection_expression("$request.body.action")
        .description("d")
        .tags("team", "a")
        .send()
        .await
        .unwrap();
    let api = created.api_id().unwrap().to_owned();
    assert_eq!(api.len(), 10);
    assert_eq!(created.api_endpoint(), Some(format!("ws://{}/@apis/{api}", server.addr).as_str()));
    assert_eq!(created.protocol_type(), Some(&ProtocolType::Websocket));
    assert!(created.created_date().is_some());
    assert_eq!(created.api_key_selection_expression(), Some("$request.header.x-api-key"));
    assert_eq!(sdk.get_api().api_id(&api).send().await.unwrap().name(), Some("chat"));
    let updated = sdk.update_api().api_id(&api).name("renamed").send().await.unwrap();
    assert_eq!((updated.name(), updated.description()), (Some("renamed"), Some("d")));
    assert_eq!(sdk.get_apis().send().await.unwrap().items().len(), 1);

    // Integrations and their responses.
    let integration = sdk
        .create_integration()
        .api_id(&api)
        .integration_type(IntegrationType::HttpProxy)
        .integration_uri("http://127.0.0.1:9/hook")
        .integration_method("POST")
        .timeout_in_millis(5000)
        .send()
        .await
        .unwrap();
    let integration_id = integration.integration_id().unwrap().to_owned();
    assert_eq!(integration.connection_type(), Some(&ConnectionType::Internet));
    assert_eq!(integration.timeout_in_millis(), Some(5000));
    sdk.update_integration().api_id(&api).integration_id(&integration_id).timeout_in_millis(6000).send().await.unwrap();
    let got = sdk.get_integration().api_id(&api).integration_id(&integration_id).send().await.unwrap();
    assert_eq!(got.timeout_in_millis(), Some(6000));
    assert_eq!(sdk.get_integrations().api_id(&api).send().await.unwrap().items().len(), 1);
    let response = sdk
        .create_integration_response()
        .api_id(&api)
        .integration_id(&integration_id)
        .integration_response_key("$default")
        .send()
        .await
        .unwrap();
    let response_id = response.integration_response_id().unwrap().to_owned();
    sdk.update_integration_response()
        .api_id(&api)
        .integration_id(&integration_id)
        .integration_response_id(&response_id)
        .template_selection_expression("$integration.response.statuscode")
        .send()
        .await
        .unwrap();
    let got = sdk
        .get_integration_response()
        .api_id(&api)
        .integration_id(&integration_id)
        .integration_response_id(&response_id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.template_selection_expression(), Some("$integration.response.statuscode"));
    let responses = sdk.get_integration_responses().api_id(&api).integration_id(&integration_id).send().await;
    assert_eq!(responses.unwrap().items().len(), 1);

    // Models, authorizers, routes and their responses.
    let schema = r#"{"type":"object","properties":{"action":{"type":"string"}}}"#;
    let model = sdk.create_model().api_id(&api).name("Msg").schema(schema).send().await.unwrap();
    let model_id = model.model_id().unwrap().to_owned();
    sdk.update_model().api_id(&api).model_id(&model_id).description("m").send().await.unwrap();
    assert_eq!(sdk.get_model().api_id(&api).model_id(&model_id).send().await.unwrap().description(), Some("m"));
    assert_eq!(sdk.get_models().api_id(&api).send().await.unwrap().items().len(), 1);
    let template = sdk.get_model_template().api_id(&api).model_id(&model_id).send().await.unwrap();
    assert!(template.value().unwrap().contains("$input.json('$.action')"));
    let authorizer = sdk
        .create_authorizer()
        .api_id(&api)
        .name("auth")
        .authorizer_type(AuthorizerType::Request)
        .authorizer_uri("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:a/invocations")
        .identity_source("route.request.header.Auth")
        .send()
        .await
        .unwrap();
    let authorizer_id = authorizer.authorizer_id().unwrap().to_owned();
    sdk.update_authorizer().api_id(&api).authorizer_id(&authorizer_id).name("auth2").send().await.unwrap();
    let got = sdk.get_authorizer().api_id(&api).authorizer_id(&authorizer_id).send().await.unwrap();
    assert_eq!(got.name(), Some("auth2"));
    assert_eq!(sdk.get_authorizers().api_id(&api).send().await.unwrap().items().len(), 1);
    let connect = sdk
        .create_route()
        .api_id(&api)
        .route_key("$connect")
        .authorization_type(AuthorizationType::Custom)
        .authorizer_id(&authorizer_id)
        .target(format!("integrations/{integration_id}"))
        .request_parameters("route.request.header.x", ParameterConstraints::builder().required(false).build())
        .send()
        .await
        .unwrap();
    let route_id = connect.route_id().unwrap().to_owned();
    assert_eq!(route_id.len(), 7);
    sdk.delete_route_request_parameter()
        .api_id(&api)
        .route_id(&route_id)
        .request_parameter_key("route.request.header.x")
        .send()
        .await
        .unwrap();
    let got = sdk.get_route().api_id(&api).route_id(&route_id).send().await.unwrap();
    assert!(got.request_parameters().is_none_or(|p| p.is_empty()));
    let send = sdk.create_route().api_id(&api).route_key("send").send().await.unwrap();
    let send_id = send.route_id().unwrap().to_owned();
    sdk.update_route()
        .api_id(&api)
        .route_id(&send_id)
        .model_selection_expression("$request.body.action")
        .request_models("send", "Msg")
        .send()
        .await
        .unwrap();
    assert_eq!(sdk.get_routes().api_id(&api).send().await.unwrap().items().len(), 2);
    let route_response =
        sdk.create_route_response().api_id(&api).route_id(&send_id).route_response_key("$default").send().await;
    let route_response_id = route_response.unwrap().route_response_id().unwrap().to_owned();
    sdk.update_route_response()
        .api_id(&api)
        .route_id(&send_id)
        .route_response_id(&route_response_id)
        .model_selection_expression("$default")
        .send()
        .await
        .unwrap();
    let got = sdk.get_route_response().api_id(&api).route_id(&send_id).route_response_id(&route_response_id).send();
    assert_eq!(got.await.unwrap().model_selection_expression(), Some("$default"));
    assert_eq!(sdk.get_route_responses().api_id(&api).route_id(&send_id).send().await.unwrap().items().len(), 1);

    // Stages and deployments.
    let stage = sdk.create_stage().api_id(&api).stage_name("prod").stage_variables("v", "1").send().await.unwrap();
    assert_eq!(stage.stage_name(), Some("prod"));
    let deployment = sdk.create_deployment().api_id(&api).stage_name("prod").description("first").send().await;
    let deployment_id = deployment.unwrap().deployment_id().unwrap().to_owned();
    let got = sdk.get_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    assert_eq!(got.deployment_id(), Some(deployment_id.as_str()));
    sdk.update_deployment().api_id(&api).deployment_id(&deployment_id).description("again").send().await.unwrap();
    let got = sdk.get_deployment().api_id(&api).deployment_id(&deployment_id).send().await.unwrap();
    assert_eq!(got.description(), Some("again"));
    assert_eq!(sdk.get_deployments().api_id(&api).send().await.unwrap().items().len(), 1);
    sdk.update_stage()
        .api_id(&api)
        .stage_name("prod")
        .route_settings("send", RouteSettings::builder().throttling_burst_limit(5).throttling_rate_limit(10.0).build())
        .access_log_settings(
            AccessLogSettings::builder()
                .destination_arn("arn:aws:logs:us-east-1:000000000000:log-group:g")
                .format("$context.requestId")
                .build(),
        )
        .send()
        .await
        .unwrap();
    sdk.delete_route_settings().api_id(&api).stage_name("prod").route_key("send").send().await.unwrap();
    sdk.delete_access_log_settings().api_id(&api).stage_name("prod").send().await.unwrap();
    sdk.reset_authorizers_cache().api_id(&api).stage_name("prod").send().await.unwrap();
    let got = sdk.get_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    assert!(got.access_log_settings().is_none());
    assert!(got.route_settings().is_none_or(|s| s.is_empty()));
    assert_eq!(sdk.get_stages().api_id(&api).send().await.unwrap().items().len(), 1);

    // Tags, on the API and on a stage.
    let arn = format!("arn:aws:apigateway:{REGION}::/apis/{api}");
    sdk.tag_resource().resource_arn(&arn).tags("env", "test").send().await.unwrap();
    sdk.untag_resource().resource_arn(&arn).tag_keys("team").send().await.unwrap();
    let tags = sdk.get_tags().resource_arn(&arn).send().await.unwrap();
    assert_eq!(tags.tags().unwrap().get("env").map(String::as_str), Some("test"));
    assert_eq!(tags.tags().unwrap().len(), 1);
    let stage_arn = format!("{arn}/stages/prod");
    sdk.tag_resource().resource_arn(&stage_arn).tags("s", "1").send().await.unwrap();
    assert_eq!(sdk.get_tags().resource_arn(&stage_arn).send().await.unwrap().tags().unwrap().len(), 1);

    // Deletes, innermost first.
    sdk.delete_route_response()
        .api_id(&api)
        .route_id(&send_id)
        .route_response_id(&route_response_id)
        .send()
        .await
        .unwrap();
    sdk.delete_route().api_id(&api).route_id(&send_id).send().await.unwrap();
    sdk.delete_route().api_id(&api).route_id(&route_id).send().await.unwrap();
    sdk.delete_authorizer().api_id(&api).authorizer_id(&authorizer_id).send().await.unwrap();
    sdk.delete_model().api_id(&api).model_id(&model_id).send().await.unwrap();
    sdk.delete_integration_response()
        .api_id(&api)
        .integration_id(&integration_id)
        .integration_response_id(&response_id)
        .send()
        .await
        .unwrap();
    sdk.delete_integration().api_id(&api).integration_id(&integration_id).send().await.unwrap();
    sdk.delete_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    sdk.delete_deployment().api_id(&api).deployment_id(&deployment_id).send().await.unwrap();
    sdk.delete_api().api_id(&api).send().await.unwrap();
    assert!(sdk.get_apis().send().await.unwrap().items().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn errors_arrive_typed() {
    use aws_sdk_apigatewayv2::operation::{
        create_api::CreateApiError, create_route::CreateRouteError, create_stage::CreateStageError,
        get_api::GetApiError, get_domain_names::GetDomainNamesError,
    };
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let err = sdk.get_api().api_id("nosuchapi0").send().await.unwrap_err().into_service_error();
    let GetApiError::NotFoundException(not_found) = &err else { panic!("{err:?}") };
    assert_eq!(not_found.resource_type(), Some("Api"));
    assert_eq!(not_found.message(), Some("Invalid API identifier specified 000000000000:nosuchapi0"));
    let err = sdk.create_api().name("h").protocol_type(ProtocolType::Http).send().await.unwrap_err();
    let err = err.into_service_error();
    assert!(matches!(err, CreateApiError::BadRequestException(_)), "{err:?}");
    assert!(err.to_string().contains("ProtocolType HTTP is not supported"), "{err}");
    let api = websocket_api(&sdk, "errors").await;
    sdk.create_route().api_id(&api).route_key("$default").send().await.unwrap();
    let err = sdk.create_route().api_id(&api).route_key("$default").send().await.unwrap_err().into_service_error();
    assert!(matches!(err, CreateRouteError::ConflictException(_)), "{err:?}");
    let err = sdk.create_route().api_id(&api).route_key("$bogus").send().await.unwrap_err().into_service_error();
    assert!(matches!(err, CreateRouteError::BadRequestException(_)), "{err:?}");
    for i in 0..10 {
        sdk.create_stage().api_id(&api).stage_name(format!("s{i}")).send().await.unwrap();
    }
    let err = sdk.create_stage().api_id(&api).stage_name("s10").send().await.unwrap_err().into_service_error();
    let CreateStageError::TooManyRequestsException(quota) = &err else { panic!("{err:?}") };
    assert_eq!(quota.limit_type(), Some("Stages"));
    let err = sdk.get_domain_names().send().await.unwrap_err().into_service_error();
    let GetDomainNamesError::BadRequestException(unsupported) = &err else { panic!("{err:?}") };
    assert!(unsupported.message().unwrap().starts_with("GetDomainNames is not supported by Switchboard"));
    server.shutdown().await;
}

#[tokio::test]
async fn listings_page_through_next_tokens() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(websocket_api(&sdk, &format!("api{i}")).await);
    }
    created.sort();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = sdk.get_apis().max_results("2").set_next_token(token.clone()).send().await.unwrap();
        assert!(page.items().len() <= 2);
        seen.extend(page.items().iter().map(|a| a.api_id().unwrap().to_owned()));
        match page.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, created);
    for key in ["a", "b", "c"] {
        sdk.create_route().api_id(&created[0]).route_key(key).send().await.unwrap();
    }
    let first = sdk.get_routes().api_id(&created[0]).max_results("2").send().await.unwrap();
    let next = first.next_token().unwrap();
    let rest = sdk.get_routes().api_id(&created[0]).next_token(next).send().await.unwrap();
    assert_eq!(first.items().len() + rest.items().len(), 3);
    let err = sdk.get_routes().api_id(&created[1]).next_token(next).send().await.unwrap_err();
    assert!(err.into_service_error().is_bad_request_exception());
    server.shutdown().await;
}

#[tokio::test]
async fn a_restart_keeps_apis_and_everything_under_them() {
    let server = TestServer::start("", |_| {}).await;
    let sdk = sdk(&server);
    let api = websocket_api(&sdk, "kept").await;
    let integration =
        sdk.create_integration().api_id(&api).integration_type(IntegrationType::Mock).send().await.unwrap();
    let target = format!("integrations/{}", integration.integration_id().unwrap());
    let route = sdk.create_route().api_id(&api).route_key("$default").target(&target).send().await.unwrap();
    sdk.create_stage().api_id(&api).stage_name("prod").tags("k", "v").send().await.unwrap();
    let deployment = sdk.create_deployment().api_id(&api).stage_name("prod").send().await.unwrap();
    let before = sdk.get_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    let dir = server.data_dir();
    server.shutdown().await;

    let server = TestServer::start_in(dir, "", |_| {}).await;
    let sdk = self::sdk(&server);
    let got = sdk.get_api().api_id(&api).send().await.unwrap();
    assert_eq!(got.name(), Some("kept"));
    assert_eq!(got.api_endpoint(), Some(format!("ws://{}/@apis/{api}", server.addr).as_str()));
    let got = sdk.get_route().api_id(&api).route_id(route.route_id().unwrap()).send().await.unwrap();
    assert_eq!(got.target(), Some(target.as_str()));
    let stage = sdk.get_stage().api_id(&api).stage_name("prod").send().await.unwrap();
    assert_eq!(stage.deployment_id(), deployment.deployment_id());
    assert_eq!(stage.last_updated_date(), before.last_updated_date());
    assert_eq!(stage.tags().unwrap().get("k").map(String::as_str), Some("v"));
    let got = sdk.get_deployment().api_id(&api).deployment_id(deployment.deployment_id().unwrap()).send().await;
    assert_eq!(got.unwrap().deployment_status().map(|s| s.as_str()), Some("DEPLOYED"));
    server.shutdown().await;
}

#[tokio::test]
#[ignore = "needs Redis and PostgreSQL: SWITCHBOARD_TEST_REDIS_URL, SWITCHBOARD_TEST_POSTGRES_URL"]
async fn every_node_of_a_cluster_serves_the_same_apis() {
    let env = crate::cluster::ClusterEnv::get();
    let backend = Backend::ok().await;
    let (a, b) = (crate::cluster::node(&env, &backend).await, crate::cluster::node(&env, &backend).await);
    let (sdk_a, sdk_b) = (sdk(&a), sdk(&b));
    let first = websocket_api(&sdk_a, "one").await;
    websocket_api(&sdk_b, "two").await;
    assert_eq!(sdk_b.get_api().api_id(&first).send().await.unwrap().name(), Some("one"));
    // A page token of one node is good on the other: the key is shared through the store. The nodes' API from
    // `--route` (`default`) is listed beside the two created.
    let page = sdk_a.get_apis().max_results("1").send().await.unwrap();
    let rest = sdk_b.get_apis().next_token(page.next_token().unwrap()).send().await.unwrap();
    let mut names: Vec<&str> = page.items().iter().chain(rest.items()).filter_map(|api| api.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["default", "one", "two"]);
    // Writers on both nodes at once: every change lands.
    let creates = (0..6).map(|i| {
        let sdk = if i % 2 == 0 { sdk_a.clone() } else { sdk_b.clone() };
        let api = first.clone();
        async move { sdk.create_route().api_id(api).route_key(format!("k{i}")).send().await.map(drop) }
    });
    for outcome in futures_util::future::join_all(creates).await {
        outcome.unwrap();
    }
    assert_eq!(sdk_a.get_routes().api_id(&first).send().await.unwrap().items().len(), 6);
    a.shutdown().await;
    b.shutdown().await;
    env.cleanup().await;
}
