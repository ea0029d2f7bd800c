//! CreateDeployment (a snapshot of the definitions, optionally deployed to a stage at once) and the single-purpose
//! operations: DeleteRouteRequestParameter, DeleteRouteSettings, DeleteAccessLogSettings, ResetAuthorizersCache and
//! GetModelTemplate.

use serde_json::{Map, Value};
use store::Snapshot;
use wire::ApiError;

use super::timestamp;
use crate::document::{DEPLOYMENTS, Document, MODELS, ROUTES, STAGES};
use crate::input::Input;
use crate::{ControlPlane, Effects, errors};

impl ControlPlane {
    /// Records a new deployment of `doc`'s definitions and its snapshot; returns its id.
    pub(crate) fn deploy(
        &self,
        doc: &mut Document,
        effects: &mut Effects,
        now: time::OffsetDateTime,
        description: Option<&str>,
        auto: bool,
    ) -> String {
        let id = doc.fresh_id(&DEPLOYMENTS);
        let mut item = Map::new();
        item.insert("autoDeployed".to_owned(), Value::Bool(auto));
        item.insert("createdDate".to_owned(), timestamp(now));
        item.insert("deploymentId".to_owned(), Value::String(id.clone()));
        item.insert("deploymentStatus".to_owned(), Value::String("DEPLOYED".to_owned()));
        if let Some(d) = description {
            item.insert("description".to_owned(), Value::String(d.to_owned()));
        }
        let api_id = doc.api().get("apiId").and_then(Value::as_str).unwrap_or_default().to_owned();
        effects.snapshot =
            Some(Snapshot { api_id, deployment_id: id.clone(), create_time: now, definitions: doc.snapshot() });
        doc.items_mut(&DEPLOYMENTS, None).insert(id.clone(), Value::Object(item));
        id
    }

    pub(super) async fn create_deployment(&self, input: &Input) -> Result<Value, ApiError> {
        let now = self.now();
        self.change(input.label("apiId"), |doc, effects| {
            if doc.items(&ROUTES, None).is_empty() {
                return Err(errors::bad_request("At least one route is required before deploying the Api."));
            }
            let stage = input.str("stageName");
            if let Some(name) = stage
                && doc.get(&STAGES, None, name).is_none()
            {
                return Err(errors::bad_request(format!("Invalid stage identifier specified: {name}")));
            }
            let id = self.deploy(doc, effects, now, input.str("description"), false);
            if let Some(name) = stage
                && let Some(stage) = doc.get_mut(&STAGES, None, name)
            {
                stage.insert("deploymentId".to_owned(), Value::String(id.clone()));
                stage.insert("lastUpdatedDate".to_owned(), timestamp(now));
            }
            Ok(Value::Object(doc.get(&DEPLOYMENTS, None, &id).cloned().unwrap_or_default()))
        })
        .await
    }

    pub(super) async fn delete_route_request_parameter(&self, input: &Input) -> Result<(), ApiError> {
        let (route_id, key) = (input.label("routeId"), input.label("requestParameterKey"));
        self.change(input.label("apiId"), |doc, _| {
            let route = doc.get_mut(&ROUTES, None, route_id).ok_or_else(|| self.not_found("Route", route_id))?;
            let removed = route.get_mut("requestParameters").and_then(Value::as_object_mut).and_then(|p| p.remove(key));
            removed.map(drop).ok_or_else(|| self.not_found("RouteRequestParameter", key))
        })
        .await
    }

    /// Applies `f` to a stage, answering NotFoundException when the stage does not exist.
    async fn change_stage(
        &self,
        input: &Input,
        f: impl Fn(&mut Map<String, Value>) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let name = input.label("stageName");
        let now = self.now();
        self.change(input.label("apiId"), |doc, _| {
            let stage = doc.get_mut(&STAGES, None, name).ok_or_else(|| self.not_found("Stage", name))?;
            f(stage)?;
            stage.insert("lastUpdatedDate".to_owned(), timestamp(now));
            Ok(())
        })
        .await
    }

    pub(super) async fn delete_route_settings(&self, input: &Input) -> Result<(), ApiError> {
        let key = input.label("routeKey");
        self.change_stage(input, |stage| {
            let removed = stage.get_mut("routeSettings").and_then(Value::as_object_mut).and_then(|s| s.remove(key));
            removed.map(drop).ok_or_else(|| self.not_found("RouteSettings", key))
        })
        .await
    }

    pub(super) async fn delete_access_log_settings(&self, input: &Input) -> Result<(), ApiError> {
        self.change_stage(input, |stage| {
            stage.remove("accessLogSettings");
            Ok(())
        })
        .await
    }

    /// Authorizer answers are not cached (every `$connect` runs its authorizer), so this only checks the stage.
    pub(super) async fn reset_authorizers_cache(&self, input: &Input) -> Result<(), ApiError> {
        let (_, doc) = self.load(input.label("apiId")).await?;
        let name = input.label("stageName");
        doc.get(&STAGES, None, name).map(drop).ok_or_else(|| self.not_found("Stage", name))
    }

    /// A Velocity mapping template that passes the model's top-level properties through, as AWS generates one.
    pub(super) async fn get_model_template(&self, input: &Input) -> Result<Value, ApiError> {
        let (_, doc) = self.load(input.label("apiId")).await?;
        let id = input.label("modelId");
        let model = doc.get(&MODELS, None, id).ok_or_else(|| self.not_found("Model", id))?;
        let schema: Value =
            model.get("schema").and_then(Value::as_str).and_then(|s| serde_json::from_str(s).ok()).unwrap_or_default();
        Ok(serde_json::json!({ "value": template(&schema) }))
    }
}

/// `#set($inputRoot = $input.path('$'))` and one line per top-level property of an object schema.
fn template(schema: &Value) -> String {
    let mut out = String::from("#set($inputRoot = $input.path('$'))\n{\n");
    let properties = schema.get("properties").and_then(Value::as_object);
    let lines: Vec<String> =
        properties.map(|p| p.keys().map(|k| format!("  \"{k}\" : $input.json('$.{k}')")).collect()).unwrap_or_default();
    out.push_str(&lines.join(",\n"));
    if !lines.is_empty() {
        out.push('\n');
    }
    out.push('}');
    out
}
