//! CreateApi, GetApi, UpdateApi, DeleteApi, GetApis, and the tag operations (on APIs and stages, whose tags live in
//! the API's document).

use serde_json::{Map, Value};
use store::{ApiStoreError, NewApi};
use wire::ApiError;

use super::{merge, timestamp};
use crate::document::{Document, STAGES};
use crate::input::Input;
use crate::{ControlPlane, Operation, errors, rules};

/// The API listing's number among the `NextToken`s.
const API_LISTING: u8 = 1;
/// How many fresh API ids to try when one is already taken.
const ID_ATTEMPTS: usize = 3;

/// A taggable resource named by an ARN `arn:aws:apigateway:{region}::/apis/{apiId}[/stages/{stageName}]`.
struct Tagged {
    api_id: String,
    stage: Option<String>,
}

impl ControlPlane {
    pub(super) async fn create_api(&self, input: &Input) -> Result<Value, ApiError> {
        let now = self.now();
        let mut api = Map::new();
        api.insert("apiKeySelectionExpression".to_owned(), Value::String("$request.header.x-api-key".to_owned()));
        api.insert("createdDate".to_owned(), timestamp(now));
        api.insert("disableExecuteApiEndpoint".to_owned(), Value::Bool(false));
        api.insert("ipAddressType".to_owned(), Value::String("ipv4".to_owned()));
        api.insert("tags".to_owned(), Value::Object(Map::new()));
        merge(&mut api, &input.body, Operation::CreateApi);
        let mut candidate = api.clone();
        candidate.extend(input.body.clone());
        rules::api(&candidate, true)?;
        for _ in 0..ID_ATTEMPTS {
            let id = ids::api_id();
            let mut api = api.clone();
            api.insert("apiId".to_owned(), Value::String(id.clone()));
            let doc = Document::new(api);
            let new = NewApi { id, create_time: now, document: doc.to_text() };
            match self.store.create_api(new, self.config.max_apis).await {
                Ok(_) => return Ok(self.render_api(&doc)),
                Err(ApiStoreError::AlreadyExists { .. }) => continue,
                Err(e) => return Err(self.store_error(e)),
            }
        }
        Err(errors::internal(&"no free api id"))
    }

    pub(super) async fn get_api(&self, input: &Input) -> Result<Value, ApiError> {
        let id = input.label("apiId");
        match self.load(id).await {
            Ok((_, doc)) => Ok(self.render_api(&doc)),
            Err(err) if err.code == wire::ErrorCode::NotFound => self.configured(id).map(Value::Object).ok_or(err),
            Err(err) => Err(err),
        }
    }

    /// The configured API `id` as answered, if there is one.
    fn configured(&self, id: &str) -> Option<Map<String, Value>> {
        let api = self.config.configured.iter().find(|a| a.get("apiId").and_then(Value::as_str) == Some(id))?;
        let mut api = api.clone();
        api.insert("apiEndpoint".to_owned(), Value::String(self.config.endpoint_base.clone()));
        Some(api)
    }

    /// The configured APIs' ids in listing order.
    fn configured_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> =
            self.config.configured.iter().filter_map(|a| a.get("apiId").and_then(Value::as_str)).collect();
        ids.sort_unstable();
        ids
    }

    pub(super) async fn update_api(&self, input: &Input) -> Result<Value, ApiError> {
        let doc = self
            .change(input.label("apiId"), |doc, _| {
                let mut api = doc.api().clone();
                merge(&mut api, &input.body, Operation::UpdateApi);
                let mut candidate = api.clone();
                candidate.extend(input.body.clone());
                rules::api(&candidate, false)?;
                *doc.api_mut() = api;
                Ok(doc.clone())
            })
            .await?;
        Ok(self.render_api(&doc))
    }

    pub(super) async fn delete_api(&self, input: &Input) -> Result<(), ApiError> {
        self.store.delete_api(input.label("apiId")).await.map(drop).map_err(|e| self.store_error(e))
    }

    /// The configured APIs by id, then the stored ones. A token resuming among the configured APIs carries
    /// `CONFIGURED_CURSOR` and the last id listed (a stored API's id never contains `/`).
    pub(super) async fn get_apis(&self, input: &Input) -> Result<Value, ApiError> {
        let (limit, after) = self.page_request(input, API_LISTING, b"")?;
        let (configured_after, store_after) = match after {
            None => (Some(String::new()), None),
            Some(id) => match id.strip_prefix(CONFIGURED_CURSOR) {
                Some(last) => (Some(last.to_owned()), None),
                None => (None, Some(store::Cursor { update_time_ms: 0, id })),
            },
        };
        let mut items = Vec::new();
        if let Some(last) = configured_after {
            let ids = self.configured_ids();
            let pending: Vec<&str> = ids.into_iter().filter(|id| last.is_empty() || *id > last.as_str()).collect();
            for id in pending.iter().take(limit) {
                items.extend(self.configured(id).map(Value::Object));
            }
            if pending.len() >= limit {
                let last = pending[limit - 1];
                let next = store::Cursor { update_time_ms: 0, id: format!("{CONFIGURED_CURSOR}{last}") };
                return Ok(listing(items, Some(self.pages.encode(API_LISTING, b"", &next))));
            }
        }
        let page =
            self.store.list_apis(store_after.as_ref(), limit - items.len()).await.map_err(|e| self.store_error(e))?;
        for record in &page.items {
            items.push(self.render_api(&Document::parse(&record.document)?));
        }
        Ok(listing(items, page.next.map(|next| self.pages.encode(API_LISTING, b"", &next))))
    }

    /// The resource an ARN names, if it is one of this region's taggable WebSocket resources.
    fn tagged(&self, arn: &str) -> Result<Tagged, ApiError> {
        let prefix = format!("arn:aws:apigateway:{}::/apis/", self.config.region);
        let invalid = || errors::bad_request(format!("Invalid resource ARN specified: {arn}"));
        let rest = arn.strip_prefix(&prefix).ok_or_else(invalid)?;
        let mut parts = rest.split('/');
        let api_id = parts.next().filter(|s| !s.is_empty()).ok_or_else(invalid)?.to_owned();
        match (parts.next(), parts.next(), parts.next()) {
            (None, _, _) => Ok(Tagged { api_id, stage: None }),
            (Some("stages"), Some(stage), None) if !stage.is_empty() => {
                Ok(Tagged { api_id, stage: Some(stage.to_owned()) })
            }
            _ => Err(invalid()),
        }
    }

    /// The tags of the tagged resource in `doc`.
    fn tags_in<'a>(&self, doc: &'a mut Document, tagged: &Tagged) -> Result<&'a mut Map<String, Value>, ApiError> {
        let owner = match &tagged.stage {
            None => doc.api_mut(),
            Some(name) => doc.get_mut(&STAGES, None, name).ok_or_else(|| self.not_found("Stage", name))?,
        };
        let slot = owner.entry("tags").or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        Ok(slot.as_object_mut().expect("made an object above"))
    }

    pub(super) async fn tag_resource(&self, input: &Input) -> Result<Value, ApiError> {
        let tagged = self.tagged(input.label("resource-arn"))?;
        let new = input.body.get("tags").and_then(Value::as_object).cloned().unwrap_or_default();
        self.change(&tagged.api_id, |doc, _| {
            let tags = self.tags_in(doc, &tagged)?;
            let added = new.keys().filter(|k| !tags.contains_key(*k)).count();
            if tags.len() + added > MAX_TAGS {
                return Err(errors::bad_request(format!("A resource can have at most {MAX_TAGS} tags")));
            }
            tags.extend(new.clone());
            Ok(())
        })
        .await?;
        Ok(Value::Object(Map::new()))
    }

    pub(super) async fn untag_resource(&self, input: &Input) -> Result<(), ApiError> {
        let tagged = self.tagged(input.label("resource-arn"))?;
        let keys = input.query_values("tagKeys");
        self.change(&tagged.api_id, |doc, _| {
            let tags = self.tags_in(doc, &tagged)?;
            for key in &keys {
                tags.remove(key);
            }
            Ok(())
        })
        .await
    }

    pub(super) async fn get_tags(&self, input: &Input) -> Result<Value, ApiError> {
        let tagged = self.tagged(input.label("resource-arn"))?;
        let (_, mut doc) = self.load(&tagged.api_id).await?;
        let tags = self.tags_in(&mut doc, &tagged)?.clone();
        Ok(serde_json::json!({ "tags": tags }))
    }
}

/// The start of a GetApis cursor that resumes among the configured APIs.
const CONFIGURED_CURSOR: &str = "configured/";

/// A GetApis answer.
fn listing(items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = Map::new();
    out.insert("items".to_owned(), Value::Array(items));
    if let Some(next) = next {
        out.insert("nextToken".to_owned(), Value::String(next));
    }
    Value::Object(out)
}

/// AWS's limit of tags per resource.
pub(crate) const MAX_TAGS: usize = 50;
