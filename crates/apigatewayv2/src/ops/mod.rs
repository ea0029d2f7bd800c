//! The operations: one generic create/get/update/delete/list over the document's collections, with the checks and
//! defaults of each kind; APIs and tags (`apis.rs`); deployments and the single-purpose operations (`extra.rs`).

mod apis;
mod extra;

use serde_json::{Map, Value};
use wire::ApiError;

use crate::document::{
    AUTHORIZERS, Collection, DEPLOYMENTS, Document, INTEGRATION_RESPONSES, INTEGRATIONS, MODELS, ROUTE_RESPONSES,
    ROUTES, STAGES,
};
use crate::input::Input;
use crate::{ControlPlane, Effects, Operation, errors, rules};

/// What an operation does to its collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    Create,
    Get,
    Update,
    Delete,
    List,
}

/// The generic operations: verb and collection.
fn crud(op: Operation) -> Option<(Verb, &'static Collection)> {
    use Operation as O;
    use Verb::*;
    Some(match op {
        O::CreateRoute => (Create, &ROUTES),
        O::GetRoute => (Get, &ROUTES),
        O::UpdateRoute => (Update, &ROUTES),
        O::DeleteRoute => (Delete, &ROUTES),
        O::GetRoutes => (List, &ROUTES),
        O::CreateRouteResponse => (Create, &ROUTE_RESPONSES),
        O::GetRouteResponse => (Get, &ROUTE_RESPONSES),
        O::UpdateRouteResponse => (Update, &ROUTE_RESPONSES),
        O::DeleteRouteResponse => (Delete, &ROUTE_RESPONSES),
        O::GetRouteResponses => (List, &ROUTE_RESPONSES),
        O::CreateIntegration => (Create, &INTEGRATIONS),
        O::GetIntegration => (Get, &INTEGRATIONS),
        O::UpdateIntegration => (Update, &INTEGRATIONS),
        O::DeleteIntegration => (Delete, &INTEGRATIONS),
        O::GetIntegrations => (List, &INTEGRATIONS),
        O::CreateIntegrationResponse => (Create, &INTEGRATION_RESPONSES),
        O::GetIntegrationResponse => (Get, &INTEGRATION_RESPONSES),
        O::UpdateIntegrationResponse => (Update, &INTEGRATION_RESPONSES),
        O::DeleteIntegrationResponse => (Delete, &INTEGRATION_RESPONSES),
        O::GetIntegrationResponses => (List, &INTEGRATION_RESPONSES),
        O::CreateModel => (Create, &MODELS),
        O::GetModel => (Get, &MODELS),
        O::UpdateModel => (Update, &MODELS),
        O::DeleteModel => (Delete, &MODELS),
        O::GetModels => (List, &MODELS),
        O::CreateAuthorizer => (Create, &AUTHORIZERS),
        O::GetAuthorizer => (Get, &AUTHORIZERS),
        O::UpdateAuthorizer => (Update, &AUTHORIZERS),
        O::DeleteAuthorizer => (Delete, &AUTHORIZERS),
        O::GetAuthorizers => (List, &AUTHORIZERS),
        O::CreateStage => (Create, &STAGES),
        O::GetStage => (Get, &STAGES),
        O::UpdateStage => (Update, &STAGES),
        O::DeleteStage => (Delete, &STAGES),
        O::GetStages => (List, &STAGES),
        O::GetDeployment => (Get, &DEPLOYMENTS),
        O::UpdateDeployment => (Update, &DEPLOYMENTS),
        O::DeleteDeployment => (Delete, &DEPLOYMENTS),
        O::GetDeployments => (List, &DEPLOYMENTS),
        _ => return None,
    })
}

/// The listing number of a collection's `NextToken`s (the API listing is 1).
fn listing(c: &Collection) -> u8 {
    [&ROUTES, &ROUTE_RESPONSES, &INTEGRATIONS, &INTEGRATION_RESPONSES, &MODELS, &AUTHORIZERS, &STAGES, &DEPLOYMENTS]
        .iter()
        .position(|k| *k == c)
        .map_or(0, |i| i as u8 + 2)
}

/// AWS's page size when `MaxResults` is absent, and the largest accepted.
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 500;

/// Copies the members of `body` that `op`'s answer carries into `item` (what the resource stores).
fn merge(item: &mut Map<String, Value>, body: &Map<String, Value>, op: Operation) {
    let answered = op.model().output.map_or(&[][..], |s| s.members());
    for (name, value) in body {
        if answered.iter().any(|m| m.location_name == name) {
            item.insert(name.clone(), value.clone());
        }
    }
}

fn timestamp(t: time::OffsetDateTime) -> Value {
    Value::String(wire::timefmt::rfc3339_millis(t))
}

impl ControlPlane {
    pub(crate) async fn dispatch(&self, op: Operation, input: Input) -> Result<Option<Value>, ApiError> {
        if let Some((verb, c)) = crud(op) {
            return match verb {
                Verb::Create => self.create(op, c, &input).await.map(Some),
                Verb::Get => self.get(c, &input).await.map(Some),
                Verb::Update => self.update(op, c, &input).await.map(Some),
                Verb::Delete => self.delete(c, &input).await.map(|()| None),
                Verb::List => self.list(c, &input).await.map(Some),
            };
        }
        use Operation as O;
        match op {
            O::CreateApi => self.create_api(&input).await.map(Some),
            O::GetApi => self.get_api(&input).await.map(Some),
            O::UpdateApi => self.update_api(&input).await.map(Some),
            O::DeleteApi => self.delete_api(&input).await.map(|()| None),
            O::GetApis => self.get_apis(&input).await.map(Some),
            O::TagResource => self.tag_resource(&input).await.map(Some),
            O::UntagResource => self.untag_resource(&input).await.map(|()| None),
            O::GetTags => self.get_tags(&input).await.map(Some),
            O::CreateDeployment => self.create_deployment(&input).await.map(Some),
            O::DeleteRouteRequestParameter => self.delete_route_request_parameter(&input).await.map(|()| None),
            O::DeleteRouteSettings => self.delete_route_settings(&input).await.map(|()| None),
            O::DeleteAccessLogSettings => self.delete_access_log_settings(&input).await.map(|()| None),
            O::ResetAuthorizersCache => self.reset_authorizers_cache(&input).await.map(|()| None),
            O::GetModelTemplate => self.get_model_template(&input).await.map(Some),
            // The router lets through only the operations above.
            other => Err(errors::unsupported_operation(other.name())),
        }
    }

    /// The parent id of a nested kind, after checking the parent exists.
    fn parent<'a>(&self, doc: &Document, c: &Collection, input: &'a Input) -> Result<Option<&'a str>, ApiError> {
        let Some(p) = c.parent else { return Ok(None) };
        let id = input.label(p.id);
        match doc.get(p, None, id) {
            Some(_) => Ok(Some(id)),
            None => Err(self.not_found(p.resource_type, id)),
        }
    }

    /// The checks of kind `c` on `item` as it will be stored.
    fn check(
        &self,
        doc: &Document,
        c: &Collection,
        parent: Option<&str>,
        item: &Map<String, Value>,
        id: &str,
        creating: bool,
    ) -> Result<(), ApiError> {
        match c.key {
            "routes" => rules::route(doc, item, id),
            "routeResponses" => rules::route_response(doc, parent.unwrap_or_default(), item, id),
            "integrations" => rules::integration(item),
            "integrationResponses" => rules::integration_response(doc, parent.unwrap_or_default(), item, id),
            "models" => rules::model(doc, item, id),
            "authorizers" => rules::authorizer(item),
            "stages" => rules::stage(doc, item, creating),
            _ => Ok(()),
        }
    }

    async fn create(&self, op: Operation, c: &'static Collection, input: &Input) -> Result<Value, ApiError> {
        let now = self.now();
        self.change(input.label("apiId"), |doc, effects| {
            let parent = self.parent(doc, c, input)?;
            if let Some((limit, limit_type)) = c.quota
                && doc.items(c, parent).len() as u64 >= limit
            {
                return Err(errors::quota(limit_type, limit));
            }
            let id = if *c == STAGES { input.str("stageName").unwrap_or_default().to_owned() } else { doc.fresh_id(c) };
            let mut item = Map::new();
            item.insert(c.id.to_owned(), Value::String(id.clone()));
            defaults(c, &mut item, now);
            merge(&mut item, &input.body, op);
            if *c == INTEGRATIONS {
                integration_defaults(&mut item);
            }
            let mut candidate = item.clone();
            candidate.extend(input.body.clone());
            self.check(doc, c, parent, &candidate, &id, true)?;
            doc.items_mut(c, parent).insert(id.clone(), Value::Object(item.clone()));
            if rules_deployed(c) || turns_auto_deploy_on(c, None, &item) {
                self.auto_deploy(doc, effects, now);
            }
            // A stage created with AutoDeploy is deployed at once (its answer says with which deployment).
            Ok(doc.get(c, parent, &id).map_or(Value::Object(item), |item| Value::Object(item.clone())))
        })
        .await
    }

    async fn get(&self, c: &Collection, input: &Input) -> Result<Value, ApiError> {
        let (_, doc) = self.load(input.label("apiId")).await?;
        let parent = self.parent(&doc, c, input)?;
        let id = input.label(c.id);
        doc.get(c, parent, id)
            .map(|item| Value::Object(item.clone()))
            .ok_or_else(|| self.not_found(c.resource_type, id))
    }

    async fn update(&self, op: Operation, c: &'static Collection, input: &Input) -> Result<Value, ApiError> {
        let now = self.now();
        self.change(input.label("apiId"), |doc, effects| {
            let parent = self.parent(doc, c, input)?;
            let id = input.label(c.id);
            let mut item = doc.get(c, parent, id).cloned().ok_or_else(|| self.not_found(c.resource_type, id))?;
            let before = item.clone();
            merge(&mut item, &input.body, op);
            if *c == STAGES {
                stage_update(&before, &mut item);
                item.insert("lastUpdatedDate".to_owned(), timestamp(now));
            }
            if *c == INTEGRATIONS
                && let Some(Value::Object(parameters)) = item.get_mut("requestParameters")
            {
                // A parameter sent as "" is removed, as on AWS.
                parameters.retain(|_, v| v.as_str() != Some(""));
            }
            let mut candidate = item.clone();
            candidate.extend(input.body.clone());
            self.check(doc, c, parent, &candidate, id, false)?;
            doc.items_mut(c, parent).insert(id.to_owned(), Value::Object(item.clone()));
            if rules_deployed(c) || turns_auto_deploy_on(c, Some(&before), &item) {
                self.auto_deploy(doc, effects, now);
            }
            Ok(doc.get(c, parent, id).map_or(Value::Object(item), |item| Value::Object(item.clone())))
        })
        .await
    }

    async fn delete(&self, c: &'static Collection, input: &Input) -> Result<(), ApiError> {
        let now = self.now();
        self.change(input.label("apiId"), |doc, effects| {
            let parent = self.parent(doc, c, input)?;
            let id = input.label(c.id);
            if doc.get(c, parent, id).is_none() {
                return Err(self.not_found(c.resource_type, id));
            }
            self.check_delete(doc, c, id)?;
            doc.items_mut(c, parent).remove(id);
            doc.remove_children(c, id);
            if *c == DEPLOYMENTS {
                effects.drop.push(id.to_owned());
            }
            if rules_deployed(c) {
                self.auto_deploy(doc, effects, now);
            }
            Ok(())
        })
        .await
    }

    /// What must not be deleted while something refers to it.
    fn check_delete(&self, doc: &Document, c: &Collection, id: &str) -> Result<(), ApiError> {
        let referring = |other: &Collection, member: &str, value: &str| {
            doc.items(other, None).values().any(|r| r.get(member).and_then(Value::as_str) == Some(value))
        };
        if *c == DEPLOYMENTS && referring(&STAGES, "deploymentId", id) {
            return Err(errors::bad_request("Active stages pointing to this deployment must be moved or deleted"));
        }
        if *c == AUTHORIZERS && referring(&ROUTES, "authorizerId", id) {
            return Err(errors::conflict(format!("Authorizer {id} is in use by a route")));
        }
        if *c == INTEGRATIONS && referring(&ROUTES, "target", &format!("integrations/{id}")) {
            return Err(errors::conflict(format!("Integration {id} is the target of a route")));
        }
        Ok(())
    }

    async fn list(&self, c: &Collection, input: &Input) -> Result<Value, ApiError> {
        let api_id = input.label("apiId");
        let (_, doc) = self.load(api_id).await?;
        let parent = self.parent(&doc, c, input)?;
        let scope = store::page_scope(&[Some(api_id), parent]);
        let (limit, after) = self.page_request(input, listing(c), &scope)?;
        let mut ids: Vec<&String> =
            doc.items(c, parent).keys().filter(|id| after.as_deref().is_none_or(|a| id.as_str() > a)).collect();
        ids.sort();
        let more = ids.len() > limit;
        ids.truncate(limit);
        let items: Vec<Value> = ids.iter().filter_map(|id| doc.items(c, parent).get(id.as_str()).cloned()).collect();
        let mut out = Map::new();
        out.insert("items".to_owned(), Value::Array(items));
        if more && let Some(last) = ids.last() {
            let cursor = store::Cursor { update_time_ms: 0, id: (*last).clone() };
            out.insert("nextToken".to_owned(), Value::String(self.pages.encode(listing(c), &scope, &cursor)));
        }
        Ok(Value::Object(out))
    }

    /// `MaxResults` and `NextToken` of a listing: the page size and the id to resume after.
    fn page_request(&self, input: &Input, listing: u8, scope: &[u8]) -> Result<(usize, Option<String>), ApiError> {
        let limit = match input.query_value("maxResults") {
            None => DEFAULT_PAGE,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
                _ => {
                    return Err(errors::bad_request(format!("MaxResults must be an integer between 1 and {MAX_PAGE}")));
                }
            },
        };
        let after = match input.query_value("nextToken") {
            None | Some("") => None,
            Some(token) => match self.pages.decode(listing, scope, token) {
                Some(cursor) => Some(cursor.id),
                None => return Err(errors::bad_request("The NextToken is invalid")),
            },
        };
        Ok((limit, after))
    }
}

/// Whether changes to `c` change what a deployment would capture.
fn rules_deployed(c: &Collection) -> bool {
    ![&STAGES, &DEPLOYMENTS].contains(&c)
}

/// Whether a stage is created with `AutoDeploy`, or has it turned on: it is deployed at once, as on AWS, so that it
/// serves the current definitions without waiting for their next change.
fn turns_auto_deploy_on(c: &Collection, before: Option<&Map<String, Value>>, after: &Map<String, Value>) -> bool {
    let on = |item: &Map<String, Value>| item.get("autoDeploy").and_then(Value::as_bool) == Some(true);
    *c == STAGES && on(after) && !before.is_some_and(on)
}

/// The members AWS sets on a new resource of kind `c`.
fn defaults(c: &Collection, item: &mut Map<String, Value>, now: time::OffsetDateTime) {
    let mut set = |name: &str, value: Value| {
        item.insert(name.to_owned(), value);
    };
    match c.key {
        "routes" => {
            set("apiKeyRequired", Value::Bool(false));
            set("authorizationType", Value::String("NONE".to_owned()));
        }
        "integrations" => {
            set("connectionType", Value::String("INTERNET".to_owned()));
            set("timeoutInMillis", Value::from(*rules::TIMEOUT_MS.end()));
            set("payloadFormatVersion", Value::String("1.0".to_owned()));
        }
        "stages" => {
            set("createdDate", timestamp(now));
            set("lastUpdatedDate", timestamp(now));
            set("autoDeploy", Value::Bool(false));
            set(
                "defaultRouteSettings",
                serde_json::json!({"dataTraceEnabled": false, "detailedMetricsEnabled": false}),
            );
            set("routeSettings", Value::Object(Map::new()));
            set("stageVariables", Value::Object(Map::new()));
            set("tags", Value::Object(Map::new()));
        }
        _ => {}
    }
}

/// UpdateStage as AWS applies it: `StageVariables` are merged into the stage's, a variable set to "" is removed;
/// an empty `AccessLogSettings` removes the settings.
fn stage_update(before: &Map<String, Value>, item: &mut Map<String, Value>) {
    if let Some(Value::Object(changed)) = item.get("stageVariables") {
        let mut variables = before.get("stageVariables").and_then(Value::as_object).cloned().unwrap_or_default();
        for (name, value) in changed {
            match value.as_str() {
                Some("") => variables.remove(name),
                _ => variables.insert(name.clone(), value.clone()),
            };
        }
        item.insert("stageVariables".to_owned(), Value::Object(variables));
    }
    if item.get("accessLogSettings").and_then(Value::as_object).is_some_and(Map::is_empty) {
        item.remove("accessLogSettings");
    }
}

/// Non-proxy integrations pass bodies through when no template matches, unless told otherwise.
fn integration_defaults(item: &mut Map<String, Value>) {
    let kind = item.get("integrationType").and_then(Value::as_str).unwrap_or_default();
    if matches!(kind, "AWS" | "HTTP" | "MOCK") && !item.contains_key("passthroughBehavior") {
        item.insert("passthroughBehavior".to_owned(), Value::String("WHEN_NO_MATCH".to_owned()));
    }
}

impl ControlPlane {
    /// Stages with `AutoDeploy` get a new deployment of the changed definitions (one shared by all of them).
    fn auto_deploy(&self, doc: &mut Document, effects: &mut Effects, now: time::OffsetDateTime) {
        let auto: Vec<String> = doc
            .items(&STAGES, None)
            .iter()
            .filter(|(_, s)| s.get("autoDeploy").and_then(Value::as_bool) == Some(true))
            .map(|(name, _)| name.clone())
            .collect();
        if auto.is_empty() {
            return;
        }
        let id = self.deploy(doc, effects, now, None, true);
        for name in auto {
            if let Some(stage) = doc.get_mut(&STAGES, None, &name) {
                stage.insert("deploymentId".to_owned(), Value::String(id.clone()));
                stage.insert("lastUpdatedDate".to_owned(), timestamp(now));
            }
        }
    }
}
