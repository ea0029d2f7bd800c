//! APIs defined through the apigatewayv2 control plane, as the data plane serves them: the path of their sockets
//! (`/@apis/{apiId}/{stage}`) and a deployment's snapshot converted into the model the router executes.
//!
//! A snapshot holds the definitions as the control plane answers them (lowerCamel members, one collection per kind:
//! `api`, `routes`, `routeResponses` by route id, `integrations`, `integrationResponses` by integration id).

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::access_log::AccessLogSettings;
use crate::model::{
    Api, ApiRuntime, Authorizer, Integration, IntegrationResponse, IntegrationType, Model, ModelError,
    PassthroughBehavior, Route, RouteResponse, RouteSettings, Stage, default_selection_expression, is_url, validate,
};

/// The path prefix of a defined API's endpoint: `{ApiEndpoint}` is `ws://{listen}/@apis/{apiId}`.
pub const APIS_PREFIX: &str = "/@apis/";

/// `/@apis/{apiId}/{stage}` (a trailing `/` allowed) → `(apiId, stage)`.
pub fn endpoint_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix(APIS_PREFIX)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (api_id, stage) = rest.split_once('/')?;
    (!api_id.is_empty() && !stage.is_empty() && !stage.contains('/')).then_some((api_id, stage))
}

/// What a deployed stage serves: its API with this one stage, validated as configured APIs are.
///
/// Integrations the router cannot execute (URIs that are neither `http(s)://` URLs nor Lambda function ARNs) are
/// left out with a warning, so the routes targeting them run no integration.
pub fn runtime(
    api_id: &str,
    stage_name: &str,
    stage: &Map<String, Value>,
    definitions: &Value,
) -> Result<ApiRuntime, ModelError> {
    let api = definitions.get("api");
    let text =
        |item: Option<&Value>, key: &str| item.and_then(|i| i.get(key)).and_then(Value::as_str).map(str::to_owned);
    let integration_responses = definitions.get("integrationResponses");
    let mut integrations = Vec::new();
    for (id, item) in items(definitions.get("integrations")) {
        match integration(id, item, integration_responses.and_then(|r| r.get(id))) {
            Some(integration) => integrations.push(integration),
            None => tracing::warn!(
                api = api_id,
                integration = id,
                "This integration cannot run here yet; its routes run none."
            ),
        }
    }
    let known: Vec<&str> = integrations.iter().map(|i| i.integration_id.as_str()).collect();
    let mut routes = Vec::new();
    let mut route_responses = Vec::new();
    for (id, item) in items(definitions.get("routes")) {
        let Some(route_key) = text(Some(item), "routeKey") else { continue };
        let target =
            text(Some(item), "target").filter(|t| known.contains(&t.strip_prefix("integrations/").unwrap_or(t)));
        for (_, response) in items(definitions.get("routeResponses").and_then(|r| r.get(id))) {
            if let Some(route_response_key) = text(Some(response), "routeResponseKey") {
                route_responses.push(RouteResponse { route_key: route_key.clone(), route_response_key });
            }
        }
        let route_response_selection_expression = text(Some(item), "routeResponseSelectionExpression");
        // CUSTOM (a REQUEST authorizer) and AWS_IAM act on `$connect`; the control plane refuses them elsewhere.
        let authorization_type = text(Some(item), "authorizationType").filter(|t| t == "CUSTOM" || t == "AWS_IAM");
        let authorizer_id =
            authorization_type.as_deref().filter(|t| *t == "CUSTOM").and_then(|_| text(Some(item), "authorizerId"));
        routes.push(Route {
            route_key,
            target,
            route_response_selection_expression,
            authorization_type,
            authorizer_id,
            model_selection_expression: text(Some(item), "modelSelectionExpression"),
            request_models: strings(item.get("requestModels")),
            api_key_required: item.get("apiKeyRequired").and_then(Value::as_bool).unwrap_or(false),
        });
    }
    let models = items(definitions.get("models"))
        .into_iter()
        .filter_map(|(_, item)| Some(Model { name: text(Some(item), "name")?, schema: text(Some(item), "schema")? }))
        .collect();
    let authorizers = items(definitions.get("authorizers"))
        .into_iter()
        .filter_map(|(id, item)| {
            Some(Authorizer {
                authorizer_id: id.to_owned(),
                name: text(Some(item), "name"),
                authorizer_uri: text(Some(item), "authorizerUri")?,
                identity_source: item
                    .get("identitySource")
                    .and_then(Value::as_array)
                    .map(|sources| sources.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default(),
            })
        })
        .collect();
    let api = Api {
        api_id: api_id.to_owned(),
        name: text(api, "name"),
        route_selection_expression: text(api, "routeSelectionExpression").unwrap_or_else(default_selection_expression),
        api_key_selection_expression: text(api, "apiKeySelectionExpression"),
        stages: vec![Stage {
            stage_name: stage_name.to_owned(),
            stage_variables: stage.get("stageVariables").and_then(Value::as_object).cloned().unwrap_or_default(),
            default_route_settings: stage.get("defaultRouteSettings").map(route_settings),
            route_settings: stage
                .get("routeSettings")
                .and_then(Value::as_object)
                .map(|routes| routes.iter().map(|(key, settings)| (key.clone(), route_settings(settings))).collect())
                .unwrap_or_default(),
            access_log_settings: stage.get("accessLogSettings").and_then(access_log_settings),
        }],
        routes,
        integrations,
        route_responses,
        authorizers,
        models,
    };
    validate(api)
}

/// A configured API's members as apigatewayv2's GetApi answers them (without `apiEndpoint`, which the control
/// plane adds): what GetApis lists for the APIs of the configuration file and flags.
pub fn listed(api: &Api) -> Map<String, Value> {
    let text = |s: &str| Value::String(s.to_owned());
    let mut out = Map::new();
    out.insert("apiId".to_owned(), text(&api.api_id));
    out.insert("name".to_owned(), text(api.name.as_deref().unwrap_or(&api.api_id)));
    out.insert("protocolType".to_owned(), text("WEBSOCKET"));
    out.insert("routeSelectionExpression".to_owned(), text(&api.route_selection_expression));
    let api_key_selection = api.api_key_selection_expression.as_deref().unwrap_or(crate::api_keys::DEFAULT_SELECTION);
    out.insert("apiKeySelectionExpression".to_owned(), text(api_key_selection));
    out.insert("disableExecuteApiEndpoint".to_owned(), Value::Bool(false));
    out.insert("tags".to_owned(), Value::Object(Map::new()));
    out
}

/// The items of a collection, sorted by id so that conversion is deterministic.
fn items(collection: Option<&Value>) -> Vec<(&str, &Value)> {
    let mut out: Vec<(&str, &Value)> = collection
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
        .unwrap_or_default();
    out.sort_by_key(|(id, _)| *id);
    out
}

/// The throttling of a stored `RouteSettings` (its logging and metrics members do not act here).
fn route_settings(item: &Value) -> RouteSettings {
    RouteSettings {
        throttling_rate_limit: item.get("throttlingRateLimit").and_then(Value::as_f64),
        throttling_burst_limit: item
            .get("throttlingBurstLimit")
            .and_then(Value::as_u64)
            .map(|n| n.min(u64::from(u32::MAX)) as u32),
    }
}

/// A stored `AccessLogSettings` that names both a destination and a format.
fn access_log_settings(item: &Value) -> Option<AccessLogSettings> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(AccessLogSettings { destination_arn: text("destinationArn")?, format: text("format")? })
}

fn strings(value: Option<&Value>) -> HashMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// An integration the router can execute, with its integration responses.
fn integration(id: &str, item: &Value, responses: Option<&Value>) -> Option<Integration> {
    let integration_type = match item.get("integrationType").and_then(Value::as_str)? {
        "AWS_PROXY" => IntegrationType::AwsProxy,
        "AWS" => IntegrationType::Aws,
        "HTTP_PROXY" => IntegrationType::HttpProxy,
        "HTTP" => IntegrationType::Http,
        "MOCK" => IntegrationType::Mock,
        _ => return None,
    };
    let integration_uri = item.get("integrationUri").and_then(Value::as_str).map(str::to_owned);
    if integration_type != IntegrationType::Mock && !integration_uri.as_deref().is_some_and(is_url) {
        return None;
    }
    let text = |item: &Value, key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let integration_responses = items(responses)
        .into_iter()
        .filter_map(|(_, r)| {
            Some(IntegrationResponse {
                integration_response_key: text(r, "integrationResponseKey")?,
                response_templates: strings(r.get("responseTemplates")),
                template_selection_expression: text(r, "templateSelectionExpression"),
                content_handling_strategy: text(r, "contentHandlingStrategy"),
            })
        })
        .collect();
    let mut integration = Integration::new(id, integration_type, integration_uri);
    integration.timeout_in_millis = item.get("timeoutInMillis").and_then(Value::as_u64).unwrap_or(29_000);
    integration.integration_method = text(item, "integrationMethod");
    integration.request_parameters = strings(item.get("requestParameters"));
    integration.request_templates = strings(item.get("requestTemplates"));
    integration.template_selection_expression = text(item, "templateSelectionExpression");
    integration.passthrough_behavior =
        text(item, "passthroughBehavior").and_then(|p| PassthroughBehavior::parse(&p)).unwrap_or_default();
    integration.content_handling_strategy = text(item, "contentHandlingStrategy");
    integration.integration_response_selection_expression = text(item, "integrationResponseSelectionExpression");
    integration.integration_responses = integration_responses;
    Some(integration)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{endpoint_path, listed, runtime};

    #[test]
    fn recognises_endpoint_paths() {
        assert_eq!(endpoint_path("/@apis/abcdefghij/prod"), Some(("abcdefghij", "prod")));
        assert_eq!(endpoint_path("/@apis/abcdefghij/prod/"), Some(("abcdefghij", "prod")));
        for other in ["/@apis/abcdefghij", "/@apis//prod", "/@apis/a/b/c", "/prod", "/@apis/a/"] {
            assert_eq!(endpoint_path(other), None, "{other}");
        }
    }

    #[test]
    fn converts_a_snapshot_into_the_executed_model() {
        let definitions = json!({
            "api": {"apiId": "abcdefghij", "name": "chat", "routeSelectionExpression": "$request.body.type"},
            "routes": {
                "r1": {"routeId": "r1", "routeKey": "send", "target": "integrations/i1",
                       "routeResponseSelectionExpression": "$default", "apiKeyRequired": true},
                "r2": {"routeId": "r2", "routeKey": "$default", "target": "integrations/i2"},
            },
            "routeResponses": {"r1": {"x": {"routeResponseKey": "$default"}}},
            "integrations": {
                "i1": {"integrationType": "AWS_PROXY", "integrationUri": "http://127.0.0.1:1/", "timeoutInMillis": 500},
                "i2": {"integrationType": "AWS_PROXY",
                       "integrationUri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/f/invocations"},
                "i3": {"integrationType": "MOCK", "requestTemplates": {"$default": "{\"statusCode\": 200}"}},
            },
            "integrationResponses": {"i3": {"y": {"integrationResponseKey": "$default",
                                                  "responseTemplates": {"$default": "hi"}}}},
        });
        let stage = json!({"stageName": "prod", "stageVariables": {"v": "1"},
                           "defaultRouteSettings": {"throttlingRateLimit": 1.0, "throttlingBurstLimit": 1,
                                                    "loggingLevel": "OFF"},
                           "routeSettings": {"$default": {"throttlingBurstLimit": 3}},
                           "accessLogSettings": {"destinationArn": "arn:aws:logs:us-east-1:000000000000:log-group:g",
                                                 "format": "$context.requestId"}});
        let api = runtime("abcdefghij", "prod", stage.as_object().unwrap(), &definitions).unwrap();
        assert_eq!(api.api.name.as_deref(), Some("chat"));
        assert_eq!(api.api.route_selection_expression, "$request.body.type");
        assert_eq!(api.stage("prod").unwrap().stage_variables["v"], "1");
        let send = api.route("send").unwrap();
        assert!(send.two_way && send.api_key_required);
        assert!(!api.route("$default").unwrap().api_key_required);
        assert_eq!(api.access_log("prod").unwrap().destination_arn, "arn:aws:logs:us-east-1:000000000000:log-group:g");
        assert_eq!(send.integration.as_ref().unwrap().timeout_in_millis, 500);
        let lambda = api.route("$default").unwrap().integration.as_ref().unwrap();
        assert!(lambda.integration_uri.as_deref().unwrap().ends_with("functions/f/invocations"), "a Lambda ARN runs");
        let mock = api.api.integrations.iter().find(|i| i.integration_id == "i3").unwrap();
        let response = &mock.integration_responses[0];
        assert_eq!(
            (response.integration_response_key.as_str(), &response.response_templates["$default"]),
            ("$default", &"hi".to_owned())
        );
        let members = listed(&api.api);
        assert_eq!(members["apiId"], "abcdefghij");
        assert_eq!((&members["name"], &members["protocolType"]), (&json!("chat"), &json!("WEBSOCKET")));
        assert!(!api.connect_requires_iam());
        let prod = api.stage("prod").unwrap();
        assert_eq!(prod.default_route_settings.unwrap().throttling_rate_limit, Some(1.0));
        assert_eq!(prod.route_settings["$default"].throttling_burst_limit, Some(3));
    }

    #[test]
    fn aws_iam_on_connect_is_enforced_by_the_executed_model() {
        let definitions = json!({
            "api": {"apiId": "abcdefghij"},
            "routes": {"r1": {"routeId": "r1", "routeKey": "$connect", "authorizationType": "AWS_IAM"}},
        });
        let api = runtime("abcdefghij", "prod", &serde_json::Map::new(), &definitions).unwrap();
        assert!(api.connect_requires_iam());
        let route = api.route("$connect").unwrap();
        assert!(route.iam && route.authorizer.is_none());
    }
}
