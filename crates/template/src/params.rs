//! The values a template starts from: its `Parameters` (default, `--parameter-overrides`, checked against
//! `AllowedValues`, `AllowedPattern`, lengths and bounds, typed String, Number, CommaDelimitedList, `List<Number>`
//! and the AWS-specific types, which are strings here), and the pseudo parameters (`AWS::Region`, …).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::Error;

/// The pseudo parameters of one stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pseudo {
    pub(crate) region: String,
    pub(crate) account_id: String,
    pub(crate) stack_name: String,
    pub(crate) stack_id: String,
    pub(crate) partition: String,
    pub(crate) url_suffix: String,
}

impl Pseudo {
    pub(crate) fn new(region: &str, account_id: &str, stack_name: &str) -> Pseudo {
        let (partition, url_suffix) = if region.starts_with("cn-") {
            ("aws-cn", "amazonaws.com.cn")
        } else if region.starts_with("us-gov-") {
            ("aws-us-gov", "amazonaws.com")
        } else {
            ("aws", "amazonaws.com")
        };
        Pseudo {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            stack_name: stack_name.to_owned(),
            stack_id: format!(
                "arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/{}",
                stable_uuid(stack_name)
            ),
            partition: partition.to_owned(),
            url_suffix: url_suffix.to_owned(),
        }
    }

    /// The value of `AWS::{name}`; `Some(None)` for `AWS::NoValue`, `None` for a name that is not a pseudo
    /// parameter.
    pub(crate) fn get(&self, name: &str) -> Option<Option<Value>> {
        let text = |s: &str| Some(Some(Value::String(s.to_owned())));
        match name {
            "AWS::Region" => text(&self.region),
            "AWS::AccountId" => text(&self.account_id),
            "AWS::StackName" => text(&self.stack_name),
            "AWS::StackId" => text(&self.stack_id),
            "AWS::Partition" => text(&self.partition),
            "AWS::URLSuffix" => text(&self.url_suffix),
            "AWS::NotificationARNs" => Some(Some(Value::Array(Vec::new()))),
            "AWS::NoValue" => Some(None),
            _ => None,
        }
    }
}

/// A UUID-shaped id that is the same for the same stack name on every start (FNV-1a over the name, twice).
fn stable_uuid(name: &str) -> String {
    let fnv = |seed: u64| name.bytes().fold(seed, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    let hex = format!("{:016x}{:016x}", fnv(0xcbf2_9ce4_8422_2325), fnv(0x8422_2325_cbf2_9ce4));
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// Each parameter's value, as `Ref` answers it: a string, or a list of strings for the list types.
pub(crate) fn resolve(
    declared: Option<&Value>,
    overrides: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Value>, Error> {
    let empty = Map::new();
    let declared = match declared {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err(Error::new("template", "Parameters must be a mapping")),
    };
    if let Some(unknown) = overrides.keys().find(|name| !declared.contains_key(*name)) {
        let known: Vec<&str> = declared.keys().map(String::as_str).collect();
        return Err(Error::new(
            format!("parameter override {unknown}"),
            format!("the template declares no such parameter (it declares: {})", list_or_none(&known)),
        ));
    }
    let mut values = BTreeMap::new();
    for (name, spec) in declared {
        let at = format!("parameter {name}");
        let spec = spec.as_object().ok_or_else(|| Error::new(&at, "must be a mapping with a Type"))?;
        let text = match (overrides.get(name), spec.get("Default")) {
            (Some(value), _) => value.clone(),
            (None, Some(default)) => scalar_text(default)
                .ok_or_else(|| Error::new(&at, "Default must be a string, a number or a list of them"))?,
            (None, None) => {
                return Err(Error::new(
                    &at,
                    format!("has no Default; give it with --parameter-overrides {name}=VALUE"),
                ));
            }
        };
        values.insert(name.clone(), check(&at, spec, &text)?);
    }
    Ok(values)
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// A parameter value's text: a list default is written as CloudFormation reads it, comma-separated.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => items.iter().map(scalar_text).collect::<Option<Vec<_>>>().map(|v| v.join(",")),
        _ => None,
    }
}

/// Checks `text` against the parameter's type and constraints; answers the value `Ref` gives.
fn check(at: &str, spec: &Map<String, Value>, text: &str) -> Result<Value, Error> {
    let kind = spec.get("Type").and_then(Value::as_str).ok_or_else(|| Error::new(at, "must have a Type"))?;
    let described = |message: String| {
        let hint = spec.get("ConstraintDescription").and_then(Value::as_str);
        Error::new(at, hint.map_or(message.clone(), |hint| format!("{message} ({hint})")))
    };
    let list = kind == "CommaDelimitedList" || kind.starts_with("List<");
    let items: Vec<&str> = if list {
        if text.is_empty() { Vec::new() } else { text.split(',').map(str::trim).collect() }
    } else {
        vec![text]
    };
    let numeric = kind == "Number" || kind == "List<Number>";
    if !(numeric || list || kind == "String" || kind.starts_with("AWS::")) {
        return Err(Error::new(
            at,
            format!("Type {kind} is not one of String, Number, CommaDelimitedList, List<Number> or an AWS type"),
        ));
    }
    for item in &items {
        if numeric && item.parse::<f64>().is_err() {
            return Err(described(format!("value `{item}` is not a number")));
        }
        if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_array) {
            let allowed: Vec<String> = allowed.iter().filter_map(scalar_text).collect();
            let same = |a: &String| a == item || (numeric && a.parse::<f64>().ok() == item.parse::<f64>().ok());
            if !allowed.iter().any(same) {
                return Err(described(format!(
                    "value `{item}` is not one of the AllowedValues [{}]",
                    allowed.join(", ")
                )));
            }
        }
        if let Some(pattern) = spec.get("AllowedPattern").and_then(Value::as_str) {
            let regex = regex::Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|err| Error::new(at, format!("AllowedPattern `{pattern}` is not a valid pattern: {err}")))?;
            if !regex.is_match(item) {
                return Err(described(format!("value `{item}` does not match the AllowedPattern {pattern}")));
            }
        }
        let length = item.chars().count() as f64;
        let bound = |key: &str| spec.get(key).and_then(|v| scalar_text(v)?.parse::<f64>().ok());
        if let Some(min) = bound("MinLength").filter(|min| length < *min) {
            return Err(described(format!("value `{item}` is shorter than MinLength {min}")));
        }
        if let Some(max) = bound("MaxLength").filter(|max| length > *max) {
            return Err(described(format!("value `{item}` is longer than MaxLength {max}")));
        }
        if numeric {
            let n = item.parse::<f64>().unwrap_or_default();
            if let Some(min) = bound("MinValue").filter(|min| n < *min) {
                return Err(described(format!("value {item} is below MinValue {min}")));
            }
            if let Some(max) = bound("MaxValue").filter(|max| n > *max) {
                return Err(described(format!("value {item} is above MaxValue {max}")));
            }
        }
    }
    Ok(if list {
        Value::Array(items.into_iter().map(|s| Value::String(s.to_owned())).collect())
    } else {
        Value::String(text.to_owned())
    })
}
