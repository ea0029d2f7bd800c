//! `AWS::ApiGatewayV2::*` resources provisioned through the apigatewayv2 control plane, as CloudFormation does it:
//! one operation per resource, in dependency order, `Ref` and `Fn::GetAtt` answering the ids the control plane gives.
//!
//! Re-applying a template (a restart, a reload) keeps each API's id: an API is tagged with
//! `aws:cloudformation:stack-name` and `aws:cloudformation:logical-id` when created, found by those tags next time,
//! updated in place, and its routes, integrations, authorizers and models are defined again from the template
//! (new ids; nothing live changes until a deployment). Stages are updated in place, so open connections stay; the
//! deployments the template makes then move them to the new definitions, as a new deployment does. Stages with
//! `AutoDeploy` get one deployment once everything is defined. What the template no longer has — stages, APIs of
//! the stack, deployments no stage uses — is deleted at the end.

mod call;

use std::collections::{BTreeMap, BTreeSet};

use apigatewayv2::{ControlPlane, Operation};
use serde_json::{Map, Value};

use crate::error::{At, Error};
use crate::eval::Resolved;

pub(crate) use call::convert;

/// The tag naming the stack that made an API.
pub const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";
/// The tag naming the API's logical id in that stack.
pub const LOGICAL_ID_TAG: &str = "aws:cloudformation:logical-id";
const STACK_ID_TAG: &str = "aws:cloudformation:stack-id";

/// The resource types provisioned here.
pub(crate) const TYPES: [&str; 9] = [
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Route",
    "AWS::ApiGatewayV2::RouteResponse",
    "AWS::ApiGatewayV2::Integration",
    "AWS::ApiGatewayV2::IntegrationResponse",
    "AWS::ApiGatewayV2::Authorizer",
    "AWS::ApiGatewayV2::Model",
    "AWS::ApiGatewayV2::Deployment",
    "AWS::ApiGatewayV2::Stage",
];

/// One API of the stack as this apply left it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedApi {
    pub logical_id: String,
    pub api_id: String,
    /// `ApiEndpoint` as the control plane answers it (`ws://{listen}/@apis/{apiId}`).
    pub endpoint: String,
    /// The stages the template defines for it.
    pub stages: Vec<String>,
    /// Whether the API existed (found by its tags) and was brought to the template's definition.
    pub updated: bool,
}

#[derive(Debug, Default)]
struct ApiState {
    api_id: String,
    endpoint: String,
    updated: bool,
    /// Stages the API had before this apply.
    existing_stages: BTreeSet<String>,
    /// Stages the template defines, in order.
    stages: Vec<String>,
    /// Stages to deploy and switch to `AutoDeploy` at the end.
    auto_deploy: Vec<String>,
}

/// One apply of one stack's API resources.
pub(crate) struct Provisioner<'a> {
    control: &'a ControlPlane,
    stack_name: &'a str,
    stack_id: &'a str,
    region: &'a str,
    /// The stack's APIs before this apply, by logical id.
    existing: BTreeMap<String, String>,
    /// The APIs this apply defined, by logical id.
    apis: BTreeMap<String, ApiState>,
    /// Notes on what was left out, by resource.
    pub(crate) notes: Vec<String>,
}

impl<'a> Provisioner<'a> {
    /// Finds the stack's APIs by their tags.
    pub(crate) async fn new(
        control: &'a ControlPlane,
        stack_name: &'a str,
        stack_id: &'a str,
        region: &'a str,
    ) -> Result<Provisioner<'a>, Error> {
        let at_text = format!("stack {stack_name}");
        let at = At::root(&at_text);
        let mut existing = BTreeMap::new();
        for api in call::list_all(control, Operation::GetApis, &Map::new(), &at).await? {
            let tags = api.get("tags").and_then(Value::as_object);
            let tag = |key: &str| tags.and_then(|t| t.get(key)).and_then(Value::as_str);
            if tag(STACK_NAME_TAG) == Some(stack_name)
                && let (Some(logical), Some(id)) = (tag(LOGICAL_ID_TAG), api.get("apiId").and_then(Value::as_str))
            {
                existing.entry(logical.to_owned()).or_insert_with(|| id.to_owned());
            }
        }
        Ok(Provisioner { control, stack_name, stack_id, region, existing, apis: BTreeMap::new(), notes: Vec::new() })
    }

    /// Creates or updates resource `id` of `kind` with its evaluated `properties`.
    pub(crate) async fn apply(
        &mut self,
        id: &str,
        kind: &str,
        properties: Map<String, Value>,
        at: &At<'_>,
    ) -> Result<Resolved, Error> {
        let short = kind.trim_start_matches("AWS::ApiGatewayV2::");
        if short == "Api" {
            return self.api(id, properties, at).await;
        }
        if short == "Stage" {
            return self.stage(properties, at).await;
        }
        let (op, id_member) = match short {
            "Route" => (Operation::CreateRoute, "RouteId"),
            "RouteResponse" => (Operation::CreateRouteResponse, "RouteResponseId"),
            "Integration" => (Operation::CreateIntegration, "IntegrationId"),
            "IntegrationResponse" => (Operation::CreateIntegrationResponse, "IntegrationResponseId"),
            "Authorizer" => (Operation::CreateAuthorizer, "AuthorizerId"),
            "Model" => (Operation::CreateModel, "ModelId"),
            "Deployment" => (Operation::CreateDeployment, "DeploymentId"),
            other => return Err(at.error(format!("AWS::ApiGatewayV2::{other} is not a WebSocket API resource"))),
        };
        let created = call::call(self.control, op, &properties, None, at).await?;
        let json_id = op.model().output.and_then(|o| o.member(id_member)).map_or("", |m| m.location_name);
        let physical = created.get(json_id).cloned().unwrap_or(Value::Null);
        Ok(Resolved {
            reference: physical.clone(),
            attributes: BTreeMap::from([(id_member.to_owned(), physical)]),
            fallback: None,
        })
    }

    async fn api(&mut self, id: &str, mut properties: Map<String, Value>, at: &At<'_>) -> Result<Resolved, Error> {
        for import in ["Body", "BodyS3Location"] {
            if properties.contains_key(import) {
                return Err(at.key(import).error(
                    "OpenAPI import is not supported (and is for HTTP APIs); define the WebSocket API with \
                     AWS::ApiGatewayV2 resources",
                ));
            }
        }
        for option in ["BasePath", "FailOnWarnings"] {
            if properties.remove(option).is_some() {
                self.notes.push(format!("{id}: {option} (an OpenAPI import option) is ignored"));
            }
        }
        let tags_shape = Operation::CreateApi.model().input.member("Tags").map(|m| m.shape);
        let mut tags = match (properties.remove("Tags"), tags_shape) {
            (Some(tags), Some(shape)) => {
                convert(&tags, shape, &at.key("Tags"))?.as_object().cloned().unwrap_or_default()
            }
            _ => Map::new(),
        };
        for (key, value) in [(STACK_NAME_TAG, self.stack_name), (LOGICAL_ID_TAG, id), (STACK_ID_TAG, self.stack_id)] {
            tags.insert(key.to_owned(), Value::String(value.to_owned()));
        }
        let mut state = ApiState::default();
        let api = match self.existing.get(id).cloned() {
            None => {
                properties.insert("Tags".to_owned(), Value::Object(tags));
                call::call(self.control, Operation::CreateApi, &properties, None, at).await?
            }
            Some(api_id) => {
                properties.remove("ProtocolType");
                properties.insert("ApiId".to_owned(), Value::String(api_id.clone()));
                let api = call::call(self.control, Operation::UpdateApi, &properties, None, at).await?;
                self.retag(&format!("arn:aws:apigateway:{}::/apis/{api_id}", self.region), tags, at).await?;
                state.existing_stages = self.redefine(&api_id, at).await?;
                state.updated = true;
                api
            }
        };
        state.api_id = api.get("apiId").and_then(Value::as_str).unwrap_or_default().to_owned();
        state.endpoint = api.get("apiEndpoint").and_then(Value::as_str).unwrap_or_default().to_owned();
        let resolved = Resolved {
            reference: Value::String(state.api_id.clone()),
            attributes: BTreeMap::from([
                ("ApiId".to_owned(), Value::String(state.api_id.clone())),
                ("ApiEndpoint".to_owned(), Value::String(state.endpoint.clone())),
            ]),
            fallback: None,
        };
        self.apis.insert(id.to_owned(), state);
        Ok(resolved)
    }

    /// Sets exactly `tags` on the resource `arn`.
    async fn retag(&self, arn: &str, tags: Map<String, Value>, at: &At<'_>) -> Result<(), Error> {
        let label = Map::from_iter([("ResourceArn".to_owned(), Value::String(arn.to_owned()))]);
        let current = call::call(self.control, Operation::GetTags, &label, None, at).await?;
        let stale: Vec<String> = current
            .get("tags")
            .and_then(Value::as_object)
            .map(|t| t.keys().filter(|k| !tags.contains_key(*k)).cloned().collect())
            .unwrap_or_default();
        if !stale.is_empty() {
            let query: Vec<String> = stale
                .iter()
                .map(|k| {
                    format!("tagKeys={}", percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC))
                })
                .collect();
            call::call(self.control, Operation::UntagResource, &label, Some(&query.join("&")), at).await?;
        }
        if !tags.is_empty() {
            let mut input = label.clone();
            input.insert("Tags".to_owned(), Value::Object(tags));
            call::call(self.control, Operation::TagResource, &input, None, at).await?;
        }
        Ok(())
    }

    /// Deletes an existing API's routes, integrations, authorizers and models (route and integration responses go
    /// with their parents), so that the template defines them again; answers the API's stage names.
    async fn redefine(&self, api_id: &str, at: &At<'_>) -> Result<BTreeSet<String>, Error> {
        let api = Map::from_iter([("ApiId".to_owned(), Value::String(api_id.to_owned()))]);
        // First AutoDeploy off, so that no stage deploys the API while it is being defined again; `finish` turns it
        // back on for the stages the template gives it.
        let stages = call::list_all(self.control, Operation::GetStages, &api, at).await?;
        for stage in stages.iter().filter(|s| s.get("autoDeploy") == Some(&Value::Bool(true))) {
            let mut input = api.clone();
            input.insert("StageName".to_owned(), stage.get("stageName").cloned().unwrap_or_default());
            input.insert("AutoDeploy".to_owned(), Value::Bool(false));
            call::call(self.control, Operation::UpdateStage, &input, None, at).await?;
        }
        let kinds = [
            (Operation::GetRoutes, Operation::DeleteRoute, "RouteId", "routeId"),
            (Operation::GetIntegrations, Operation::DeleteIntegration, "IntegrationId", "integrationId"),
            (Operation::GetAuthorizers, Operation::DeleteAuthorizer, "AuthorizerId", "authorizerId"),
            (Operation::GetModels, Operation::DeleteModel, "ModelId", "modelId"),
        ];
        for (list, delete, member, json) in kinds {
            for item in call::list_all(self.control, list, &api, at).await? {
                let mut input = api.clone();
                input.insert(member.to_owned(), item.get(json).cloned().unwrap_or_default());
                call::call(self.control, delete, &input, None, at).await?;
            }
        }
        Ok(stages.iter().filter_map(|s| s.get("stageName").and_then(Value::as_str)).map(str::to_owned).collect())
    }

    /// The state of the API `api_id` names, if this apply defined it.
    fn state_of(&mut self, api_id: &str) -> Option<&mut ApiState> {
        self.apis.values_mut().find(|s| s.api_id == api_id)
    }

    async fn stage(&mut self, mut properties: Map<String, Value>, at: &At<'_>) -> Result<Resolved, Error> {
        let api_id = properties.get("ApiId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let name = properties.get("StageName").and_then(Value::as_str).unwrap_or_default().to_owned();
        if properties.remove("AccessPolicyId").is_some() {
            self.notes.push(format!("stage {name}: AccessPolicyId is not supported by API Gateway and is ignored"));
        }
        // AutoDeploy is turned on at the end, after one deployment of the whole definition, so that nothing live
        // sees a half-defined API.
        let auto = match properties.remove("AutoDeploy") {
            Some(value) => {
                convert(&value, &aws_models::apigatewayv2::shapes::BOOLEAN, &at.key("AutoDeploy"))? == Value::Bool(true)
            }
            None => false,
        };
        let exists = self.state_of(&api_id).is_some_and(|s| s.existing_stages.contains(&name));
        if exists {
            let label = Map::from_iter([
                ("ApiId".to_owned(), Value::String(api_id.clone())),
                ("StageName".to_owned(), Value::String(name.clone())),
            ]);
            let current = call::call(self.control, Operation::GetStage, &label, None, at).await?;
            let tags = properties.remove("Tags");
            // Variables and access log settings the template no longer has are removed, as on an update.
            let wanted = properties.get("StageVariables").and_then(Value::as_object).cloned().unwrap_or_default();
            let mut variables = wanted.clone();
            for old in current.get("stageVariables").and_then(Value::as_object).into_iter().flat_map(|v| v.keys()) {
                variables.entry(old.clone()).or_insert_with(|| Value::String(String::new()));
            }
            if !variables.is_empty() {
                properties.insert("StageVariables".to_owned(), Value::Object(variables));
            }
            if current.get("accessLogSettings").is_some() && !properties.contains_key("AccessLogSettings") {
                properties.insert("AccessLogSettings".to_owned(), Value::Object(Map::new()));
            }
            properties.insert("AutoDeploy".to_owned(), Value::Bool(false));
            call::call(self.control, Operation::UpdateStage, &properties, None, at).await?;
            let tags = match tags {
                Some(t) => convert(&t, &aws_models::apigatewayv2::shapes::TAGS, &at.key("Tags"))?
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                None => Map::new(),
            };
            let arn = format!("arn:aws:apigateway:{}::/apis/{api_id}/stages/{name}", self.region);
            self.retag(&arn, tags, at).await?;
        } else {
            properties.insert("AutoDeploy".to_owned(), Value::Bool(false));
            call::call(self.control, Operation::CreateStage, &properties, None, at).await?;
        }
        if let Some(state) = self.state_of(&api_id) {
            state.stages.push(name.clone());
            if auto {
                state.auto_deploy.push(name.clone());
            }
        }
        Ok(Resolved { reference: Value::String(name), attributes: BTreeMap::new(), fallback: None })
    }

    /// Deploys the `AutoDeploy` stages, then deletes what the template no longer has: stages of its APIs,
    /// deployments no stage uses, and the stack's APIs it no longer defines. Answers the stack's APIs.
    pub(crate) async fn finish(self) -> Result<(Vec<AppliedApi>, Vec<String>), Error> {
        let at_text = format!("stack {}", self.stack_name);
        let at = At::root(&at_text);
        let mut applied = Vec::new();
        for (logical, state) in &self.apis {
            let api = Map::from_iter([("ApiId".to_owned(), Value::String(state.api_id.clone()))]);
            for stage in &state.auto_deploy {
                let mut input = api.clone();
                input.insert("StageName".to_owned(), Value::String(stage.clone()));
                call::call(self.control, Operation::CreateDeployment, &input, None, &at).await?;
                input.insert("AutoDeploy".to_owned(), Value::Bool(true));
                call::call(self.control, Operation::UpdateStage, &input, None, &at).await?;
            }
            for stale in state.existing_stages.iter().filter(|s| !state.stages.contains(s)) {
                let mut input = api.clone();
                input.insert("StageName".to_owned(), Value::String(stale.clone()));
                call::call(self.control, Operation::DeleteStage, &input, None, &at).await?;
            }
            let stages = call::list_all(self.control, Operation::GetStages, &api, &at).await?;
            let used: BTreeSet<&str> =
                stages.iter().filter_map(|s| s.get("deploymentId").and_then(Value::as_str)).collect();
            for deployment in call::list_all(self.control, Operation::GetDeployments, &api, &at).await? {
                let Some(id) = deployment.get("deploymentId").and_then(Value::as_str) else { continue };
                if !used.contains(id) {
                    let mut input = api.clone();
                    input.insert("DeploymentId".to_owned(), Value::String(id.to_owned()));
                    call::call(self.control, Operation::DeleteDeployment, &input, None, &at).await?;
                }
            }
            applied.push(AppliedApi {
                logical_id: logical.clone(),
                api_id: state.api_id.clone(),
                endpoint: state.endpoint.clone(),
                stages: state.stages.clone(),
                updated: state.updated,
            });
        }
        let mut removed = Vec::new();
        for (logical, api_id) in &self.existing {
            if !self.apis.contains_key(logical) {
                let input = Map::from_iter([("ApiId".to_owned(), Value::String(api_id.clone()))]);
                call::call(self.control, Operation::DeleteApi, &input, None, &at).await?;
                removed.push(format!("{logical} ({api_id})"));
            }
        }
        Ok((applied, removed))
    }
}
