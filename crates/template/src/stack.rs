//! Applying a template for one stack: parameters, conditions, then each resource in dependency order (APIs through
//! the control plane, functions into definitions, the rest placeholders), then the `Outputs`.

use std::collections::{BTreeMap, BTreeSet};

use apigatewayv2::ControlPlane;
use functions::FunctionSpec;
use serde_json::{Map, Value};

use crate::apigw::{self, AppliedApi, Provisioner};
use crate::error::{At, Error};
use crate::eval::{self, Resolved, Scope, text};
use crate::function::{self, Places};
use crate::params::{self, Pseudo};
use crate::{Options, Template, graph, ignored};

/// What applying a template did.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    pub stack_name: String,
    /// The stack's WebSocket APIs, by logical id.
    pub apis: Vec<AppliedApi>,
    /// The functions the template defines, for the function host.
    pub functions: Vec<FunctionSpec>,
    /// Resources not created, with their placeholders.
    pub ignored: Vec<Ignored>,
    /// Resources not created because their condition is false: (logical id, condition).
    pub skipped: Vec<(String, String)>,
    /// APIs of the stack the template no longer defines, deleted.
    pub removed: Vec<String>,
    /// Properties left out, one line each.
    pub notes: Vec<String>,
    pub outputs: Vec<Output>,
}

/// A resource Switchboard does not create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ignored {
    pub logical_id: String,
    pub kind: String,
    /// What `Ref` and `Fn::GetAtt` give for it.
    pub placeholders: String,
}

/// One of the template's `Outputs`, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    pub name: String,
    pub value: String,
    pub description: Option<String>,
    /// Where a `wss://{apiId}.execute-api.{region}.{suffix}/…` (or `https://…`) URL of one of the stack's APIs is
    /// served by this server.
    pub local: Option<String>,
}

impl Applied {
    /// The lines printed at start and logged on reload: APIs, functions, ignored resources, outputs.
    pub fn report(&self) -> Vec<String> {
        let mut lines = vec![format!("Stack {}:", self.stack_name)];
        for api in &self.apis {
            let how = if api.updated { "updated" } else { "created" };
            lines.push(format!("  API {} ({}, {how}): stages {}", api.logical_id, api.api_id, api.stages.join(", ")));
        }
        for f in &self.functions {
            lines.push(format!(
                "  Function {} ({}, handler {}, code {})",
                f.name,
                f.runtime.name(),
                f.handler,
                f.code_dir.display()
            ));
        }
        if !self.ignored.is_empty() {
            lines.push(format!("  Not created ({}):", self.ignored.len()));
            for i in &self.ignored {
                lines.push(format!("    {} ({}): {}", i.logical_id, i.kind, i.placeholders));
            }
        }
        for (id, condition) in &self.skipped {
            lines.push(format!("  {id}: not created, its condition {condition} is false"));
        }
        for removed in &self.removed {
            lines.push(format!("  API {removed}: deleted, the template no longer defines it"));
        }
        for note in &self.notes {
            lines.push(format!("  Note: {note}"));
        }
        if !self.outputs.is_empty() {
            lines.push("  Outputs:".to_owned());
            for o in &self.outputs {
                lines.push(format!("    {} = {}", o.name, o.value));
                if let Some(local) = &o.local {
                    lines.push(format!("      served locally at {local}"));
                }
            }
        }
        lines
    }
}

/// Applies `template` as stack `options.stack_name` through `control`. Everything is resolved once without
/// touching the control plane first, so that a template with a broken reference, parameter or function changes
/// nothing; only what the control plane itself refuses can stop an apply half-way (stages keep their deployments
/// then, so what is live does not change).
pub async fn apply(template: &Template, options: &Options, control: &ControlPlane) -> Result<Applied, Error> {
    run(template, options, None).await?;
    let stack_id = Pseudo::new(&options.region, &options.account_id, &options.stack_name).stack_id;
    let provisioner = Provisioner::new(control, &options.stack_name, &stack_id, &options.region).await?;
    run(template, options, Some(provisioner)).await
}

/// One pass over the template; without a provisioner, the APIs' resources get placeholders instead of being made.
async fn run(
    template: &Template,
    options: &Options,
    mut provisioner: Option<Provisioner<'_>>,
) -> Result<Applied, Error> {
    let body = &template.body;
    let pseudo = Pseudo::new(&options.region, &options.account_id, &options.stack_name);
    let parameters = params::resolve(body.get("Parameters"), &options.parameter_overrides)?;
    let no_mappings = Map::new();
    let mappings = body.get("Mappings").and_then(Value::as_object).unwrap_or(&no_mappings);
    let (none, nothing, unskipped) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let base = Scope {
        pseudo: &pseudo,
        parameters: &parameters,
        mappings,
        conditions: &none,
        resources: &nothing,
        skipped: &unskipped,
    };
    let conditions = eval::conditions(body.get("Conditions"), &base)?;
    let declared = body.get("Resources").and_then(Value::as_object).cloned().unwrap_or_default();
    let globals = body.get("Globals").and_then(|g| g.get("Function")).cloned();

    // SAM makes a role for each function that names none; templates may refer to it.
    let mut resolved: BTreeMap<String, Resolved> = BTreeMap::new();
    let mut implicit = BTreeSet::new();
    for (id, resource) in &declared {
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
        let role = format!("{id}Role");
        if kind == function::SERVERLESS && !declared.contains_key(&role) {
            resolved.insert(role.clone(), ignored::placeholder(&role, "AWS::IAM::Role", None, &pseudo).0);
            implicit.insert(role);
        }
    }
    let dependencies = graph::dependencies(&declared, &implicit)?;
    let order = graph::order(&declared.keys().cloned().collect::<Vec<_>>(), &dependencies)?;

    let inline_dir = options.data_dir.join("functions").join("inline").join(&options.stack_name);
    let places = Places { template_dir: &template.dir, inline_dir: &inline_dir };
    let mut skipped = BTreeMap::new();
    let (mut functions, mut ignored_list, mut notes) = (Vec::new(), Vec::new(), Vec::new());
    for id in &order {
        let resource = &declared[id];
        let kind = resource.get("Type").and_then(Value::as_str).unwrap_or_default();
        let label = format!("resource {id} ({kind})");
        let at = At::root(&label);
        if let Some(condition) = resource.get("Condition") {
            let name = condition.as_str().ok_or_else(|| at.error("Condition must name a condition"))?;
            let holds = conditions
                .get(name)
                .copied()
                .ok_or_else(|| at.error(format!("Condition {name} is not in the Conditions section")))?;
            if !holds {
                skipped.insert(id.clone(), name.to_owned());
                continue;
            }
        }
        let scope = Scope { conditions: &conditions, resources: &resolved, skipped: &skipped, ..base };
        let mut raw = ignored::properties(resource);
        if kind == function::SERVERLESS
            && let Some(globals) = &globals
        {
            raw = function::with_globals(globals, &Value::Object(raw)).as_object().cloned().unwrap_or_default();
        }
        let created = if apigw::TYPES.contains(&kind) {
            let properties = evaluate(&scope, raw, &at)?;
            match provisioner.as_mut() {
                Some(provisioner) => provisioner.apply(id, kind, properties, &at).await?,
                None => {
                    let placeholder = Value::String(format!("({id})"));
                    Resolved {
                        reference: placeholder.clone(),
                        attributes: BTreeMap::new(),
                        fallback: Some(placeholder),
                    }
                }
            }
        } else if kind == function::SERVERLESS || kind == function::LAMBDA {
            let properties = evaluate(&scope, raw, &at)?;
            let (spec, resolved, function_notes) = function::define(id, kind, &properties, &at, places, &pseudo)?;
            notes.extend(function_notes.into_iter().map(|n| format!("{id}: {n}")));
            functions.push(spec);
            resolved
        } else {
            // Only the name property is evaluated: the rest of a resource that is not created cannot fail the stack.
            let name =
                ignored::name_property(kind).and_then(|p| raw.get(p)).and_then(|v| scope.eval(v, &at).ok().flatten());
            let (resolved, placeholders) = ignored::placeholder(id, kind, name.as_ref(), &pseudo);
            ignored_list.push(Ignored { logical_id: id.clone(), kind: kind.to_owned(), placeholders });
            resolved
        };
        resolved.insert(id.clone(), created);
    }
    let (apis, removed) = match provisioner {
        Some(mut provisioner) => {
            notes.append(&mut provisioner.notes);
            provisioner.finish().await?
        }
        None => (Vec::new(), Vec::new()),
    };
    let scope = Scope { conditions: &conditions, resources: &resolved, skipped: &skipped, ..base };
    let outputs = outputs(body.get("Outputs"), &scope, &apis, &pseudo)?;
    Ok(Applied {
        stack_name: options.stack_name.clone(),
        apis,
        functions,
        ignored: ignored_list,
        skipped: skipped.into_iter().collect(),
        removed,
        notes,
        outputs,
    })
}

fn evaluate(scope: &Scope<'_>, raw: Map<String, Value>, at: &At<'_>) -> Result<Map<String, Value>, Error> {
    match scope.eval(&Value::Object(raw), at)? {
        Some(Value::Object(properties)) => Ok(properties),
        _ => Ok(Map::new()),
    }
}

fn outputs(
    declared: Option<&Value>,
    scope: &Scope<'_>,
    apis: &[AppliedApi],
    pseudo: &Pseudo,
) -> Result<Vec<Output>, Error> {
    let Some(declared) = declared.and_then(Value::as_object) else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (name, output) in declared {
        let label = format!("output {name}");
        let at = At::root(&label);
        if let Some(condition) = output.get("Condition").and_then(Value::as_str)
            && !scope.conditions.get(condition).copied().unwrap_or(false)
        {
            continue;
        }
        let raw = output.get("Value").ok_or_else(|| at.error("must have a Value"))?;
        let value = match scope.eval(raw, &at.key("Value"))? {
            Some(Value::Array(items)) => items.iter().filter_map(text).collect::<Vec<_>>().join(","),
            Some(value) => {
                text(&value).ok_or_else(|| at.key("Value").error(format!("must be a string, got {value}")))?
            }
            None => continue,
        };
        let description = output.get("Description").and_then(text);
        let local = local_url(&value, apis, pseudo);
        out.push(Output { name: name.clone(), value, description, local });
    }
    Ok(out)
}

/// The URL this server serves for an `execute-api` URL of one of the stack's APIs: `wss://` becomes the API's
/// `ApiEndpoint` (`ws://{listen}/@apis/{apiId}`), `https://` the same over HTTP (its `@connections`).
fn local_url(value: &str, apis: &[AppliedApi], pseudo: &Pseudo) -> Option<String> {
    apis.iter().find_map(|api| {
        let host = format!("{}.execute-api.{}.{}", api.api_id, pseudo.region, pseudo.url_suffix);
        let (secure_ws, rest) = if let Some(rest) = value.strip_prefix(&format!("wss://{host}")) {
            (true, rest)
        } else {
            (false, value.strip_prefix(&format!("https://{host}"))?)
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return None;
        }
        let endpoint = if secure_ws { api.endpoint.clone() } else { api.endpoint.replacen("ws", "http", 1) };
        Some(format!("{endpoint}{rest}"))
    })
}
