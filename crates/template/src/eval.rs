//! The intrinsic functions, evaluated over one stack's parameters, pseudo parameters, mappings, conditions and the
//! resources created so far: `Ref`, `Fn::GetAtt`, `Fn::Sub` (both forms, `${!Literal}`), `Fn::Join`, `Fn::Select`,
//! `Fn::Split`, `Fn::If`, `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Fn::FindInMap`, `Fn::Base64`,
//! `Fn::GetAZs`, `Fn::ToJsonString`, `Fn::Length`; and the `Conditions` section.
//!
//! A value evaluates to `None` where `AWS::NoValue` removes it; such members and list items are dropped.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::{At, Error};
use crate::params::Pseudo;

/// What a resource answers to `Ref` and `Fn::GetAtt` once it exists.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Resolved {
    pub(crate) reference: Value,
    pub(crate) attributes: BTreeMap<String, Value>,
    /// For resources Switchboard does not create: what any attribute not in `attributes` resolves to.
    pub(crate) fallback: Option<Value>,
}

/// Everything an intrinsic function can read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scope<'a> {
    pub(crate) pseudo: &'a Pseudo,
    pub(crate) parameters: &'a BTreeMap<String, Value>,
    pub(crate) mappings: &'a Map<String, Value>,
    pub(crate) conditions: &'a BTreeMap<String, bool>,
    pub(crate) resources: &'a BTreeMap<String, Resolved>,
    /// Declared resources that are not created, with the condition that is false.
    pub(crate) skipped: &'a BTreeMap<String, String>,
}

/// The text of a scalar, as CloudFormation substitutes it into strings.
pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `value` with an intrinsic function's name, if it is one (an object of one key, `Ref` or `Fn::…`).
fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object().filter(|m| m.len() == 1)?;
    let (name, argument) = map.iter().next()?;
    (name == "Ref" || name.starts_with("Fn::")).then_some((name.as_str(), argument))
}

impl Scope<'_> {
    /// Evaluates every intrinsic function in `value`.
    pub(crate) fn eval(&self, value: &Value, at: &At<'_>) -> Result<Option<Value>, Error> {
        if let Some((name, argument)) = intrinsic(value) {
            return self.function(name, argument, at);
        }
        Ok(Some(match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, item) in map {
                    if let Some(item) = self.eval(item, &at.key(key))? {
                        out.insert(key.clone(), item);
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.extend(self.eval(item, &at.index(i))?);
                }
                Value::Array(out)
            }
            scalar => scalar.clone(),
        }))
    }

    /// Evaluates `value`, which must not be removed by `AWS::NoValue`.
    fn required(&self, value: &Value, at: &At<'_>, function: &str) -> Result<Value, Error> {
        self.eval(value, at)?.ok_or_else(|| at.error(format!("{function}: AWS::NoValue cannot be used here")))
    }

    fn string(&self, value: &Value, at: &At<'_>, function: &str) -> Result<String, Error> {
        let value = self.required(value, at, function)?;
        text(&value).ok_or_else(|| at.error(format!("{function}: expected a string, got {value}")))
    }

    fn list(&self, value: &Value, at: &At<'_>, function: &str) -> Result<Vec<Value>, Error> {
        match self.required(value, at, function)? {
            Value::Array(items) => Ok(items),
            other => Err(at.error(format!("{function}: expected a list, got {other}"))),
        }
    }

    /// The arguments of a function that takes a list of exactly `n`.
    fn arguments<'v>(argument: &'v Value, n: usize, at: &At<'_>, function: &str) -> Result<&'v [Value], Error> {
        match argument.as_array() {
            Some(items) if items.len() == n => Ok(items),
            _ => Err(at.error(format!("{function} takes a list of {n} arguments, got {argument}"))),
        }
    }

    fn function(&self, name: &str, argument: &Value, at: &At<'_>) -> Result<Option<Value>, Error> {
        let frozen = at.frozen();
        let at = &frozen;
        let value = match name {
            "Ref" => {
                let target = argument.as_str().ok_or_else(|| {
                    at.error(format!("Ref takes the name of a parameter or resource, got {argument}"))
                })?;
                return self.reference(target, at);
            }
            "Fn::GetAtt" => {
                let (resource, attribute) = match argument {
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(r, a)| (r.to_owned(), a.to_owned()))
                        .ok_or_else(|| at.error(format!("Fn::GetAtt `{s}` must name Resource.Attribute")))?,
                    Value::Array(items) if items.len() == 2 => (
                        items[0].as_str().map(str::to_owned).ok_or_else(|| {
                            at.error(format!("Fn::GetAtt takes a resource's logical id first, got {}", items[0]))
                        })?,
                        self.string(&items[1], at, "Fn::GetAtt")?,
                    ),
                    other => return Err(at.error(format!("Fn::GetAtt takes [Resource, Attribute], got {other}"))),
                };
                self.attribute(&resource, &attribute, at)?
            }
            "Fn::Sub" => {
                let (template, variables) = match argument {
                    Value::String(s) => (s.clone(), Map::new()),
                    Value::Array(items) if items.len() == 2 => {
                        let template = items[0]
                            .as_str()
                            .ok_or_else(|| at.error(format!("Fn::Sub takes a string first, got {}", items[0])))?;
                        let variables = match self.required(&items[1], at, "Fn::Sub")? {
                            Value::Object(map) => map,
                            other => return Err(at.error(format!("Fn::Sub variables must be a mapping, got {other}"))),
                        };
                        (template.to_owned(), variables)
                    }
                    other => {
                        return Err(at.error(format!("Fn::Sub takes a string or [String, Variables], got {other}")));
                    }
                };
                Value::String(self.substitute(&template, &variables, at)?)
            }
            "Fn::Join" => {
                let args = Self::arguments(argument, 2, at, name)?;
                let delimiter = args[0]
                    .as_str()
                    .ok_or_else(|| at.error(format!("Fn::Join takes a string delimiter, got {}", args[0])))?;
                let parts = self.list(&args[1], at, name)?;
                let parts = parts
                    .iter()
                    .map(|p| {
                        text(p).ok_or_else(|| at.error(format!("Fn::Join: cannot join {p}, which is not a string")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Value::String(parts.join(delimiter))
            }
            "Fn::Select" => {
                let args = Self::arguments(argument, 2, at, name)?;
                let index = self.string(&args[0], at, name)?;
                let items = self.list(&args[1], at, name)?;
                let i: usize =
                    index.parse().map_err(|_| at.error(format!("Fn::Select: index `{index}` is not a number")))?;
                items.get(i).cloned().ok_or_else(|| {
                    at.error(format!("Fn::Select: index {i} is out of range for a list of {}", items.len()))
                })?
            }
            "Fn::Split" => {
                let args = Self::arguments(argument, 2, at, name)?;
                let delimiter = self.string(&args[0], at, name)?;
                if delimiter.is_empty() {
                    return Err(at.error("Fn::Split: the delimiter must not be empty"));
                }
                let source = self.string(&args[1], at, name)?;
                Value::Array(source.split(delimiter.as_str()).map(|s| Value::String(s.to_owned())).collect())
            }
            "Fn::If" => {
                let args = Self::arguments(argument, 3, at, name)?;
                let condition = args[0]
                    .as_str()
                    .ok_or_else(|| at.error(format!("Fn::If takes a condition name first, got {}", args[0])))?;
                let branch = if self.condition(condition, at)? { &args[1] } else { &args[2] };
                return self.eval(branch, at);
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let mut single = Map::new();
                single.insert(name.to_owned(), argument.clone());
                Value::Bool(self.truth(&Value::Object(single), at)?)
            }
            "Fn::FindInMap" => {
                let items = argument.as_array().filter(|a| a.len() == 3 || a.len() == 4).ok_or_else(|| {
                    at.error(format!("Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey], got {argument}"))
                })?;
                let map = self.string(&items[0], at, name)?;
                let top = self.string(&items[1], at, name)?;
                let second = self.string(&items[2], at, name)?;
                let found = self.mappings.get(&map).and_then(|m| m.get(&top)).and_then(|m| m.get(&second)).cloned();
                let default = items.get(3).and_then(|d| d.get("DefaultValue"));
                match (found, default) {
                    (Some(value), _) => value,
                    (None, Some(default)) => self.required(default, at, name)?,
                    (None, None) => {
                        return Err(at.error(format!("Fn::FindInMap: Mappings has no {map} / {top} / {second}")));
                    }
                }
            }
            "Fn::Base64" => {
                Value::String(base64::engine::general_purpose::STANDARD.encode(self.string(argument, at, name)?))
            }
            "Fn::GetAZs" => {
                let region = self.string(argument, at, name)?;
                let region = if region.is_empty() { self.pseudo.region.clone() } else { region };
                Value::Array(["a", "b", "c"].iter().map(|zone| Value::String(format!("{region}{zone}"))).collect())
            }
            "Fn::ToJsonString" => Value::String(self.required(argument, at, name)?.to_string()),
            "Fn::Length" => Value::from(self.list(argument, at, name)?.len()),
            "Fn::ImportValue" | "Fn::Cidr" | "Fn::Transform" => {
                return Err(at.error(format!(
                    "{name} is not supported when running a template locally (no other stacks, networks or macros)"
                )));
            }
            other => return Err(at.error(format!("unknown intrinsic function {other}"))),
        };
        Ok(Some(value))
    }

    /// `Ref`: a pseudo parameter, a parameter or a resource.
    fn reference(&self, name: &str, at: &At<'_>) -> Result<Option<Value>, Error> {
        if let Some(value) = self.pseudo.get(name) {
            return Ok(value);
        }
        if let Some(value) = self.parameters.get(name) {
            return Ok(Some(value.clone()));
        }
        if let Some(resource) = self.resources.get(name) {
            return Ok(Some(resource.reference.clone()));
        }
        Err(at.error(self.missing("Ref", name)))
    }

    fn attribute(&self, resource: &str, attribute: &str, at: &At<'_>) -> Result<Value, Error> {
        let Some(found) = self.resources.get(resource) else {
            return Err(at.error(self.missing(&format!("Fn::GetAtt {resource}.{attribute}"), resource)));
        };
        if let Some(value) = found.attributes.get(attribute).or(found.fallback.as_ref()) {
            return Ok(value.clone());
        }
        let known: Vec<&str> = found.attributes.keys().map(String::as_str).collect();
        Err(at.error(format!(
            "Fn::GetAtt {resource}.{attribute}: {resource} has no attribute {attribute} (it has: {})",
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        )))
    }

    /// Why `name` cannot be resolved.
    fn missing(&self, what: &str, name: &str) -> String {
        match self.skipped.get(name) {
            Some(condition) => format!("{what}: resource {name} is not created, as its condition {condition} is false"),
            None => format!("{what}: `{name}` is not a parameter, a pseudo parameter or a resource of this template"),
        }
    }

    /// `Fn::Sub`'s substitution: `${Name}` (a variable, parameter, pseudo parameter or resource), `${Res.Attr}`,
    /// and `${!Literal}` for a literal `${Literal}`.
    fn substitute(&self, template: &str, variables: &Map<String, Value>, at: &At<'_>) -> Result<String, Error> {
        let mut out = String::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str("${");
                rest = after;
                continue;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let name = name.trim();
            let value = match variables.get(name) {
                Some(value) => value.clone(),
                None => match name.split_once('.') {
                    Some((resource, attribute)) => self.attribute(resource, attribute, at)?,
                    None => self
                        .reference(name, at)?
                        .ok_or_else(|| at.error(format!("Fn::Sub: ${{{name}}} is AWS::NoValue")))?,
                },
            };
            let value = text(&value).ok_or_else(|| {
                at.error(format!("Fn::Sub: ${{{name}}} is {value}, which is not a string that can be substituted"))
            })?;
            out.push_str(&value);
        }
        out.push_str(rest);
        Ok(out)
    }

    fn condition(&self, name: &str, at: &At<'_>) -> Result<bool, Error> {
        self.conditions.get(name).copied().ok_or_else(|| at.error(format!("no condition named {name} in Conditions")))
    }

    /// A condition: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `{"Condition": Name}`, or a value that is `true`
    /// or `false`.
    pub(crate) fn truth(&self, expression: &Value, at: &At<'_>) -> Result<bool, Error> {
        if let Some(map) = expression.as_object().filter(|m| m.len() == 1) {
            let (name, argument) = map.iter().next().expect("one entry");
            let items = || argument.as_array().map(Vec::as_slice).unwrap_or_default();
            match name.as_str() {
                "Condition" => {
                    let name = argument
                        .as_str()
                        .ok_or_else(|| at.error(format!("Condition takes a condition name, got {argument}")))?;
                    return self.condition(name, at);
                }
                "Fn::Equals" => {
                    let args = Self::arguments(argument, 2, at, name)?;
                    let (a, b) = (self.eval(&args[0], at)?, self.eval(&args[1], at)?);
                    let canonical = |v: Option<Value>| v.map(|v| text(&v).map_or(v, Value::String));
                    return Ok(canonical(a) == canonical(b));
                }
                "Fn::Not" => {
                    let args = Self::arguments(argument, 1, at, name)?;
                    return Ok(!self.truth(&args[0], at)?);
                }
                "Fn::And" | "Fn::Or" => {
                    if !(2..=10).contains(&items().len()) {
                        return Err(at.error(format!("{name} takes 2 to 10 conditions, got {argument}")));
                    }
                    let mut values = Vec::new();
                    for item in items() {
                        values.push(self.truth(item, at)?);
                    }
                    return Ok(if name == "Fn::And" { values.iter().all(|v| *v) } else { values.iter().any(|v| *v) });
                }
                _ => {}
            }
        }
        match self.eval(expression, at)? {
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
            other => Err(at.error(format!("expected a condition (true or false), got {}", other.unwrap_or_default()))),
        }
    }
}

/// The `Conditions` section, each evaluated once (a condition may use others, not itself through a cycle).
pub(crate) fn conditions(declared: Option<&Value>, scope: &Scope<'_>) -> Result<BTreeMap<String, bool>, Error> {
    let empty = Map::new();
    let declared = match declared {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err(Error::new("template", "Conditions must be a mapping")),
    };
    let mut done = BTreeMap::new();
    for name in declared.keys() {
        resolve_condition(name, declared, scope, &mut done, &mut Vec::new())?;
    }
    Ok(done)
}

fn resolve_condition(
    name: &str,
    declared: &Map<String, Value>,
    scope: &Scope<'_>,
    done: &mut BTreeMap<String, bool>,
    visiting: &mut Vec<String>,
) -> Result<bool, Error> {
    if let Some(value) = done.get(name) {
        return Ok(*value);
    }
    let at_text = format!("condition {name}");
    if visiting.iter().any(|v| v == name) {
        return Err(Error::new(at_text, format!("refers to itself through {}", visiting.join(" → "))));
    }
    let definition = declared.get(name).ok_or_else(|| {
        let from = visiting.last().map_or(String::new(), |v| format!("condition {v}: "));
        Error::new(format!("{from}Condition {name}"), "no condition of that name in Conditions")
    })?;
    visiting.push(name.to_owned());
    let mut used = Vec::new();
    referenced_conditions(definition, &mut used);
    for other in used {
        resolve_condition(&other, declared, scope, done, visiting)?;
    }
    visiting.pop();
    let scope = Scope { conditions: done, ..*scope };
    let value = scope.truth(definition, &At::root(&at_text))?;
    done.insert(name.to_owned(), value);
    Ok(value)
}

/// The names in `{"Condition": Name}` anywhere in `value`.
fn referenced_conditions(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1
                && let Some(Value::String(name)) = map.get("Condition")
            {
                out.push(name.clone());
            }
            map.values().for_each(|v| referenced_conditions(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| referenced_conditions(v, out)),
        _ => {}
    }
}
