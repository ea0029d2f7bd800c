//! Request validation of a route, as API Gateway does it for WebSocket APIs: the route's
//! `ModelSelectionExpression` picks one of its `RequestModels` (the `$default` one when the expression is absent or
//! picks none), and a message whose body is not JSON valid against that model's schema (JSON Schema draft 4) gets
//! the `Bad request body` frame instead of reaching the integration.

use std::collections::HashMap;

use boon::{Compiler, Draft, SchemaIndex, Schemas, UrlLoader};
use serde_json::Value;

use crate::selection::SelectionExpression;

/// A model of an API: its name and its JSON Schema (draft 4, as text).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Model {
    pub name: String,
    pub schema: String,
}

/// One route's validation: its model selection and the compiled schema of each selection key.
pub struct RequestValidator {
    selection: Option<SelectionExpression>,
    schemas: Schemas,
    by_key: HashMap<String, SchemaIndex>,
}

impl std::fmt::Debug for RequestValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestValidator").field("keys", &self.by_key.keys().collect::<Vec<_>>()).finish()
    }
}

/// Schemas may not reach outside themselves: a `$ref` to a file or a URL is refused when the model is compiled.
struct NoLoader;

impl UrlLoader for NoLoader {
    fn load(&self, url: &str) -> Result<Value, Box<dyn std::error::Error>> {
        Err(format!("a model schema may refer only to itself, not to {url}").into())
    }
}

impl Model {
    /// Compiles `schema` into `schemas` as JSON Schema draft 4, with no way out of it (`NoLoader`); `location` names
    /// it among the others.
    fn compile(location: &str, schema: Value, schemas: &mut Schemas) -> Result<SchemaIndex, String> {
        let mut compiler = Compiler::new();
        compiler.set_default_draft(Draft::V4);
        compiler.use_loader(Box::new(NoLoader));
        compiler.add_resource(location, schema).map_err(|err| err.to_string())?;
        compiler.compile(location, schemas).map_err(|err| format!("{err:#}"))
    }

    /// Whether `schema` is a model's schema the data plane can validate with (the control plane checks it when a
    /// model is created or updated, as API Gateway does).
    pub fn check_schema(schema: Value) -> Result<(), String> {
        Model::compile("urn:switchboard:model", schema, &mut Schemas::new()).map(|_| ())
    }
}

impl RequestValidator {
    /// The validator of a route whose `request_models` map selection keys to model names; `None` when it has none.
    pub fn new(
        selection_expression: Option<&str>,
        request_models: &HashMap<String, String>,
        models: &[Model],
    ) -> Result<Option<RequestValidator>, String> {
        if request_models.is_empty() {
            return Ok(None);
        }
        let selection = selection_expression
            .map(|expr| SelectionExpression::parse(expr).map_err(|err| format!("model selection expression: {err}")))
            .transpose()?;
        let mut schemas = Schemas::new();
        let mut by_key = HashMap::new();
        for (key, name) in request_models {
            let model = models.iter().find(|m| &m.name == name).ok_or_else(|| format!("no model named `{name}`"))?;
            let schema: Value = serde_json::from_str(&model.schema)
                .map_err(|err| format!("model `{name}`: schema is not JSON: {err}"))?;
            let location = format!("urn:switchboard:model:{name}");
            let index =
                Model::compile(&location, schema, &mut schemas).map_err(|err| format!("model `{name}`: {err}"))?;
            by_key.insert(key.clone(), index);
        }
        Ok(Some(RequestValidator { selection, schemas, by_key }))
    }

    /// Whether a message body passes: no model applies, or the body is JSON valid against the one that does.
    pub fn accepts(&self, body: &str) -> bool {
        let selected = self.selection.as_ref().and_then(|selection| selection.evaluate(body));
        let index = selected.as_deref().and_then(|key| self.by_key.get(key)).or_else(|| self.by_key.get("$default"));
        let Some(index) = index else { return true };
        serde_json::from_str::<Value>(body).is_ok_and(|value| self.schemas.validate(&value, *index).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> Vec<Model> {
        let schema = r#"{"$schema": "http://json-schema.org/draft-04/schema#", "type": "object",
                         "required": ["action", "text"],
                         "properties": {"text": {"type": "string", "maxLength": 5}}}"#;
        let any = r#"{"type": "object", "required": ["action"]}"#;
        vec![Model { name: "Send".into(), schema: schema.into() }, Model { name: "Any".into(), schema: any.into() }]
    }

    fn keyed(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_selected_model_decides_and_default_catches_the_rest() {
        let models = models();
        let requests = keyed(&[("send", "Send"), ("$default", "Any")]);
        let validator = RequestValidator::new(Some("$request.body.action"), &requests, &models).unwrap().unwrap();
        assert!(validator.accepts(r#"{"action":"send","text":"hi"}"#));
        assert!(!validator.accepts(r#"{"action":"send","text":"too long"}"#));
        assert!(!validator.accepts(r#"{"action":"send"}"#));
        assert!(validator.accepts(r#"{"action":"other"}"#), "$default's model");
        assert!(!validator.accepts(r#"{"no":"action"}"#), "$default's model");
        assert!(!validator.accepts("not json"));

        // Without a selection expression only `$default` applies; without it, nothing does.
        let only_send = keyed(&[("send", "Send")]);
        let validator = RequestValidator::new(None, &only_send, &models).unwrap().unwrap();
        assert!(validator.accepts("anything"));
        assert!(RequestValidator::new(None, &HashMap::new(), &models).unwrap().is_none());
    }

    #[test]
    fn bad_models_are_refused_when_loaded() {
        let mut models = models();
        assert!(RequestValidator::new(None, &keyed(&[("$default", "Missing")]), &models).is_err());
        models.push(Model { name: "Leaky".into(), schema: r#"{"$ref": "file:///etc/passwd"}"#.into() });
        models.push(Model { name: "Remote".into(), schema: r#"{"$ref": "https://example.com/s.json"}"#.into() });
        models.push(Model { name: "Broken".into(), schema: r#"{"type": 5}"#.into() });
        for name in ["Leaky", "Remote", "Broken"] {
            let err = RequestValidator::new(None, &keyed(&[("$default", name)]), &models).unwrap_err();
            assert!(err.contains(name), "{err}");
        }
    }
}
