//! The order resources are created in: each after what it refers to (`Ref`, `Fn::GetAtt`, `${…}` in `Fn::Sub`) and
//! what its `DependsOn` names, otherwise in template order, as CloudFormation orders them. A cycle is an error naming
//! its resources.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::error::Error;

/// Every resource another refers to, by the referring resource; `names` are the template's logical ids (anything else
/// a reference names is a parameter or pseudo parameter, or an error found when evaluating).
pub(crate) fn dependencies(
    resources: &Map<String, Value>,
    implicit: &BTreeSet<String>,
) -> Result<BTreeMap<String, BTreeSet<String>>, Error> {
    let mut out = BTreeMap::new();
    for (id, resource) in resources {
        let mut names = BTreeSet::new();
        if let Some(properties) = resource.get("Properties") {
            references(properties, &mut names);
        }
        let depends_on = match resource.get("DependsOn") {
            None => Vec::new(),
            Some(Value::String(name)) => vec![name.clone()],
            Some(Value::Array(items)) => {
                items.iter().map(|i| i.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>().ok_or_else(|| {
                    Error::new(format!("resource {id}, DependsOn"), "must be a name or a list of names")
                })?
            }
            Some(_) => {
                return Err(Error::new(format!("resource {id}, DependsOn"), "must be a name or a list of names"));
            }
        };
        for name in depends_on {
            if !resources.contains_key(&name) && !implicit.contains(&name) {
                return Err(Error::new(format!("resource {id}, DependsOn"), format!("names no resource: {name}")));
            }
            names.insert(name);
        }
        names.retain(|n| resources.contains_key(n) && n != id);
        out.insert(id.clone(), names);
    }
    Ok(out)
}

/// The names `Ref`, `Fn::GetAtt` and `Fn::Sub` use in `value`.
fn references(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (name, argument) = map.iter().next().expect("one entry");
            match (name.as_str(), argument) {
                ("Ref", Value::String(target)) => {
                    out.insert(target.clone());
                }
                ("Fn::GetAtt", Value::String(s)) => {
                    out.insert(s.split('.').next().unwrap_or_default().to_owned());
                }
                ("Fn::GetAtt", Value::Array(items)) => {
                    out.extend(items.first().and_then(Value::as_str).map(str::to_owned));
                    items.iter().skip(1).for_each(|i| references(i, out));
                }
                ("Fn::Sub", Value::String(s)) => substituted(s, &Map::new(), out),
                ("Fn::Sub", Value::Array(items)) => {
                    let variables = items.get(1).and_then(Value::as_object).cloned().unwrap_or_default();
                    if let Some(s) = items.first().and_then(Value::as_str) {
                        substituted(s, &variables, out);
                    }
                    references(&Value::Object(variables), out);
                }
                _ => references(argument, out),
            }
        }
        Value::Object(map) => map.values().for_each(|v| references(v, out)),
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// The resources `${Name}` and `${Name.Attribute}` in a `Fn::Sub` string name (variables and `${!…}` excepted).
fn substituted(template: &str, variables: &Map<String, Value>, out: &mut BTreeSet<String>) {
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { return };
        let name = after[..end].trim();
        rest = &after[end + 1..];
        if name.starts_with('!') || variables.contains_key(name) {
            continue;
        }
        out.insert(name.split('.').next().unwrap_or_default().to_owned());
    }
}

/// The resources in creation order: dependencies first, otherwise in `declared` (template) order.
pub(crate) fn order(
    declared: &[String],
    dependencies: &BTreeMap<String, BTreeSet<String>>,
) -> Result<Vec<String>, Error> {
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < declared.len() {
        let next = declared.iter().find(|id| {
            !done.contains(id.as_str())
                && dependencies.get(*id).is_none_or(|deps| deps.iter().all(|d| done.contains(d.as_str())))
        });
        match next {
            Some(id) => {
                done.insert(id);
                out.push(id.clone());
            }
            None => {
                let stuck: Vec<&str> = declared.iter().map(String::as_str).filter(|id| !done.contains(id)).collect();
                return Err(Error::new(
                    "template",
                    format!(
                        "these resources cannot be ordered, as some of them depend on each other in a cycle: {}",
                        stuck.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}
