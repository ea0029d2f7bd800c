//! The stored form of one API (the JSON document `store::ApiStore` keeps, see `store`'s `apis.rs` for why one
//! document): the API's own members under `api`, and one collection per resource kind, each item stored exactly as
//! the model's output shape answers it (lowerCamel members). Items of a kind that lives under another resource
//! (route responses, integration responses) are grouped by their parent's id.
//!
//! ```json
//! {"api": {...}, "routes": {"id": {...}}, "routeResponses": {"routeId": {"id": {...}}}, "stages": {"name": {...}}}
//! ```
//!
//! A deployment's snapshot is the document without `stages` and `deployments`: what the data plane serves.

use serde_json::{Map, Value};
use wire::ApiError;

use crate::errors;

/// A kind of resource inside an API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Collection {
    /// The document key.
    pub(crate) key: &'static str,
    /// The member (and URI label) carrying an item's id.
    pub(crate) id: &'static str,
    /// `resourceType` of its NotFoundException, and its name in messages.
    pub(crate) resource_type: &'static str,
    /// The URI label of the parent's id, for kinds under another resource.
    pub(crate) parent: Option<&'static Collection>,
    /// AWS's quota per API (per parent for nested kinds), if any, with its `limitType`.
    pub(crate) quota: Option<(u64, &'static str)>,
}

pub(crate) const ROUTES: Collection =
    Collection { key: "routes", id: "routeId", resource_type: "Route", parent: None, quota: Some((300, "Routes")) };
pub(crate) const ROUTE_RESPONSES: Collection = Collection {
    key: "routeResponses",
    id: "routeResponseId",
    resource_type: "RouteResponse",
    parent: Some(&ROUTES),
    quota: None,
};
pub(crate) const INTEGRATIONS: Collection = Collection {
    key: "integrations",
    id: "integrationId",
    resource_type: "Integration",
    parent: None,
    quota: Some((300, "Integrations")),
};
pub(crate) const INTEGRATION_RESPONSES: Collection = Collection {
    key: "integrationResponses",
    id: "integrationResponseId",
    resource_type: "IntegrationResponse",
    parent: Some(&INTEGRATIONS),
    quota: None,
};
pub(crate) const MODELS: Collection =
    Collection { key: "models", id: "modelId", resource_type: "Model", parent: None, quota: Some((200, "Models")) };
pub(crate) const AUTHORIZERS: Collection = Collection {
    key: "authorizers",
    id: "authorizerId",
    resource_type: "Authorizer",
    parent: None,
    quota: Some((10, "Authorizers")),
};
pub(crate) const STAGES: Collection =
    Collection { key: "stages", id: "stageName", resource_type: "Stage", parent: None, quota: Some((10, "Stages")) };
pub(crate) const DEPLOYMENTS: Collection =
    Collection { key: "deployments", id: "deploymentId", resource_type: "Deployment", parent: None, quota: None };

/// The kinds a deployment captures.
const DEPLOYED: [&Collection; 6] =
    [&ROUTES, &ROUTE_RESPONSES, &INTEGRATIONS, &INTEGRATION_RESPONSES, &MODELS, &AUTHORIZERS];

/// One API's document, being read or changed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Document {
    root: Map<String, Value>,
}

impl Document {
    pub(crate) fn new(api: Map<String, Value>) -> Document {
        let mut root = Map::new();
        root.insert("api".to_owned(), Value::Object(api));
        Document { root }
    }

    pub(crate) fn parse(text: &str) -> Result<Document, ApiError> {
        match serde_json::from_str(text) {
            Ok(Value::Object(root)) => Ok(Document { root }),
            _ => Err(errors::internal(&"a stored API document is not a JSON object")),
        }
    }

    pub(crate) fn to_text(&self) -> String {
        Value::Object(self.root.clone()).to_string()
    }

    /// The definitions a deployment serves.
    pub(crate) fn snapshot(&self) -> String {
        let mut root = Map::new();
        for key in std::iter::once("api").chain(DEPLOYED.iter().map(|c| c.key)) {
            if let Some(v) = self.root.get(key) {
                root.insert(key.to_owned(), v.clone());
            }
        }
        Value::Object(root).to_string()
    }

    pub(crate) fn api(&self) -> &Map<String, Value> {
        match self.root.get("api") {
            Some(Value::Object(api)) => api,
            _ => empty(),
        }
    }

    pub(crate) fn api_mut(&mut self) -> &mut Map<String, Value> {
        object_mut(&mut self.root, "api")
    }

    /// The items of `c` (under `parent` for nested kinds).
    pub(crate) fn items(&self, c: &Collection, parent: Option<&str>) -> &Map<String, Value> {
        let top = match self.root.get(c.key) {
            Some(Value::Object(m)) => m,
            _ => return empty(),
        };
        match parent {
            None => top,
            Some(p) => match top.get(p) {
                Some(Value::Object(m)) => m,
                _ => empty(),
            },
        }
    }

    pub(crate) fn items_mut(&mut self, c: &Collection, parent: Option<&str>) -> &mut Map<String, Value> {
        let top = object_mut(&mut self.root, c.key);
        match parent {
            None => top,
            Some(p) => object_mut(top, p),
        }
    }

    pub(crate) fn get(&self, c: &Collection, parent: Option<&str>, id: &str) -> Option<&Map<String, Value>> {
        self.items(c, parent).get(id).and_then(Value::as_object)
    }

    pub(crate) fn get_mut(
        &mut self,
        c: &Collection,
        parent: Option<&str>,
        id: &str,
    ) -> Option<&mut Map<String, Value>> {
        self.items_mut(c, parent).get_mut(id).and_then(Value::as_object_mut)
    }

    /// Removes every item under parent `parent_id` of the kinds nested in `c`.
    pub(crate) fn remove_children(&mut self, c: &Collection, parent_id: &str) {
        for child in [&ROUTE_RESPONSES, &INTEGRATION_RESPONSES] {
            if child.parent == Some(c) {
                object_mut(&mut self.root, child.key).remove(parent_id);
            }
        }
    }

    /// A fresh 7-character id (`[a-z0-9]`, as AWS's) no item of `c` has.
    pub(crate) fn fresh_id(&self, c: &Collection) -> String {
        loop {
            let id = ids::api_resource_id();
            let taken = match c.parent {
                None => self.items(c, None).contains_key(&id),
                Some(_) => match self.root.get(c.key) {
                    Some(Value::Object(groups)) => {
                        groups.values().any(|g| g.as_object().is_some_and(|g| g.contains_key(&id)))
                    }
                    _ => false,
                },
            };
            if !taken {
                return id;
            }
        }
    }
}

fn empty() -> &'static Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Map::new)
}

fn object_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_items_are_grouped_by_parent_and_go_with_it() {
        let mut doc = Document::new(Map::new());
        doc.items_mut(&ROUTES, None).insert("r1".into(), serde_json::json!({"routeId": "r1"}));
        doc.items_mut(&ROUTE_RESPONSES, Some("r1")).insert("x".into(), serde_json::json!({"routeResponseId": "x"}));
        assert!(doc.get(&ROUTE_RESPONSES, Some("r1"), "x").is_some());
        assert!(doc.get(&ROUTE_RESPONSES, Some("r2"), "x").is_none());
        let reread = Document::parse(&doc.to_text()).unwrap();
        assert_eq!(reread, doc);
        doc.remove_children(&ROUTES, "r1");
        assert!(doc.items(&ROUTE_RESPONSES, Some("r1")).is_empty());
        let snapshot: Value = serde_json::from_str(&doc.snapshot()).unwrap();
        assert!(snapshot.get("routes").is_some() && snapshot.get("stages").is_none());
    }
}
