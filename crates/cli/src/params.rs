//! An operation's parameters from the command line: `--cli-input-json`/`--cli-input-yaml` first, then every option
//! given (which wins), each read as the AWS CLI reads it (`file://`, `fileb://`, JSON, shorthand, blobs), then the
//! checks botocore makes before sending (required members, unknown keys, types, minimums, unions).
//!
//! Blobs are carried as the base64 text of their bytes; the adapters decode them.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Number, Value};

use super::args::{BinaryFormat, Call, SkeletonKind};
use yaml::Node;

use super::model::{Kind, Member, MemberExt, Shape, ShapeExt};
use super::{CliError, shorthand};

/// The checked parameters of `call`, keyed by model member name.
pub(crate) fn build(call: &Call, binary: BinaryFormat) -> Result<Map<String, Value>, CliError> {
    let input_shape = call.operation.input;
    let mut params = match (&call.cli_input_json, &call.cli_input_yaml) {
        (Some(_), Some(_)) => return Err(CliError::usage("Only one --cli-input- parameter may be specified.")),
        (Some(text), None) => {
            let text = paramfile(text, "cli-input-json")?;
            let value: Value = serde_json::from_str(&text).map_err(|err| {
                tracing::debug!(%err, "The --cli-input-json value is not JSON.");
                CliError::usage("Error parsing parameter 'cli-input-json': Invalid JSON received.")
            })?;
            let Value::Object(mut map) = value else {
                return Err(CliError::usage(
                    "Error parsing parameter 'cli-input-json': Invalid JSON received (expected an object).",
                ));
            };
            for (key, value) in map.iter_mut() {
                if let Some(member) = input_shape.member(key) {
                    blobs_from_text(value, member.shape, binary)?;
                }
            }
            map
        }
        (None, Some(text)) => {
            let text = paramfile(text, "cli-input-yaml")?;
            let node = yaml::parse(&text).map_err(|err| {
                CliError::usage(format!("Error parsing parameter 'cli-input-yaml': Invalid YAML received: {err}"))
            })?;
            match from_yaml(node, Some(input_shape), binary)? {
                Value::Object(map) => map,
                _ => {
                    return Err(CliError::usage(
                        "Error parsing parameter 'cli-input-yaml': Invalid YAML received (expected a mapping).",
                    ));
                }
            }
        }
        (None, None) => Map::new(),
    };
    let from_input = call.cli_input_json.is_some() || call.cli_input_yaml.is_some();
    if !from_input && !matches!(call.skeleton, Some(SkeletonKind::Input | SkeletonKind::YamlInput)) {
        let missing: Vec<String> = call
            .operation
            .input_members()
            .iter()
            .filter(|m| m.required && !call.values.iter().any(|(given, _)| given.name == m.name))
            .map(Member::option)
            .collect();
        if !missing.is_empty() {
            return Err(CliError::usage(format!(
                "switchboard: error: the following arguments are required: {}",
                missing.join(", ")
            )));
        }
    }
    for (member, words) in &call.values {
        params.insert(member.name.to_owned(), member_value(member, words, binary)?);
    }
    let mut errors = Vec::new();
    validate(&Value::Object(params.clone()), input_shape, "", &mut errors);
    if !errors.is_empty() {
        return Err(CliError::usage(format!("Parameter validation failed: {}", errors.join("; "))));
    }
    Ok(params)
}

/// The value of one option, from its words.
fn member_value(member: &Member, words: &[String], binary: BinaryFormat) -> Result<Value, CliError> {
    let option = member.option();
    let first = words.first().map(String::as_str).unwrap_or_default();
    match member.shape.kind {
        Kind::Blob => Ok(Value::String(BASE64.encode(blob(first, binary, &option)?))),
        Kind::List(item) => {
            if let [single] = words {
                let text = paramfile(single, &option)?;
                if text.trim_start().starts_with('[') {
                    let mut value = json_value(&text, &option)?;
                    blobs_from_text(&mut value, member.shape, binary)?;
                    return Ok(value);
                }
            }
            let mut items = Vec::with_capacity(words.len());
            for word in words {
                let text = paramfile(word, &option)?;
                items.push(if item.is_complex() {
                    complex_value(&text, item, &option, binary)?
                } else {
                    scalar_value(&text, item, &option)?
                });
            }
            Ok(Value::Array(items))
        }
        Kind::Map(..) | Kind::Structure(_) | Kind::Union(_) => {
            complex_value(&paramfile(first, &option)?, member.shape, &option, binary)
        }
        _ => scalar_value(&paramfile(first, &option)?, member.shape, &option),
    }
}

fn scalar_value(text: &str, shape: &Shape, option: &str) -> Result<Value, CliError> {
    match shape.kind {
        Kind::Integer | Kind::Long => text.trim().parse::<i64>().map(|i| Value::Number(i.into())).map_err(|_| {
            CliError::usage(format!(
                "Error parsing parameter '{option}': invalid literal for int() with base 10: '{text}'"
            ))
        }),
        Kind::Double => {
            text.trim().parse::<f64>().ok().and_then(Number::from_f64).map(Value::Number).ok_or_else(|| {
                CliError::usage(format!(
                    "Error parsing parameter '{option}': could not convert string to float: '{text}'"
                ))
            })
        }
        Kind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(CliError::usage(format!("Error parsing parameter '{option}': expected true or false: '{text}'"))),
        },
        _ => Ok(Value::String(text.to_owned())),
    }
}

/// A map, structure or list of those: JSON when it looks like JSON, shorthand otherwise.
fn complex_value(text: &str, shape: &Shape, option: &str, binary: BinaryFormat) -> Result<Value, CliError> {
    if text.trim_start().starts_with(['{', '[']) {
        let mut value = json_value(text, option)?;
        blobs_from_text(&mut value, shape, binary)?;
        return Ok(value);
    }
    let mut value = shorthand::parse(text)
        .map_err(|err| CliError::usage(format!("Error parsing parameter '{option}': {}", err.0)))?;
    fit_to_model(&mut value, shape);
    Ok(value)
}

fn json_value(text: &str, option: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|err| {
        CliError::usage(format!("Error parsing parameter '{option}': Invalid JSON: {err}, JSON received: {text}"))
    })
}

/// What the AWS CLI's shorthand visitor does: scalars where the model wants lists become one-element lists, and
/// integers are converted from their text.
fn fit_to_model(value: &mut Value, shape: &Shape) {
    match (&shape.kind, &mut *value) {
        (Kind::Structure(_) | Kind::Union(_), Value::Object(map)) => {
            for (key, item) in map.iter_mut() {
                if let Some(member) = shape.member(key) {
                    fit_to_model(item, member.shape);
                }
            }
        }
        (Kind::Map(_, value_shape), Value::Object(map)) => {
            for item in map.values_mut() {
                fit_to_model(item, value_shape);
            }
        }
        (Kind::List(item_shape), Value::Array(items)) => {
            for item in items {
                fit_to_model(item, item_shape);
            }
        }
        (Kind::List(item_shape), scalar) if !scalar.is_null() => {
            let mut item = scalar.take();
            fit_to_model(&mut item, item_shape);
            *value = Value::Array(vec![item]);
        }
        (Kind::Integer | Kind::Long, Value::String(text)) => {
            if let Ok(i) = text.trim().parse::<i64>() {
                *value = Value::Number(i.into());
            }
        }
        _ => {}
    }
}

/// Blob members given as JSON text: base64 (`--cli-binary-format base64`) or the text's own bytes.
fn blobs_from_text(value: &mut Value, shape: &Shape, binary: BinaryFormat) -> Result<(), CliError> {
    match (&shape.kind, &mut *value) {
        (Kind::Blob, Value::String(text)) => {
            let bytes = decode_text(text, binary)?;
            *text = BASE64.encode(bytes);
        }
        (Kind::Structure(_) | Kind::Union(_), Value::Object(map)) => {
            for (key, item) in map.iter_mut() {
                if let Some(member) = shape.member(key) {
                    blobs_from_text(item, member.shape, binary)?;
                }
            }
        }
        (Kind::Map(_, value_shape), Value::Object(map)) => {
            for item in map.values_mut() {
                blobs_from_text(item, value_shape, binary)?;
            }
        }
        (Kind::List(item_shape), Value::Array(items)) => {
            for item in items {
                blobs_from_text(item, item_shape, binary)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A `--cli-input-yaml` text as parameters of no particular operation: what [`build`] reads before the model.
pub(crate) fn yaml_input(text: &str) -> Result<Value, CliError> {
    let node = yaml::parse(text).map_err(|err| {
        CliError::usage(format!("Error parsing parameter 'cli-input-yaml': Invalid YAML received: {err}"))
    })?;
    from_yaml(node, None, BinaryFormat::default())
}

/// A YAML node as parameters: `!!binary` values are blobs as they are, other text follows the binary format.
fn from_yaml(node: Node, shape: Option<&Shape>, binary: BinaryFormat) -> Result<Value, CliError> {
    let is_blob = shape.is_some_and(|s| matches!(s.kind, Kind::Blob));
    Ok(match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::Number(i.into()),
        Node::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Node::Str(text) if is_blob => Value::String(BASE64.encode(decode_text(&text, binary)?)),
        Node::Str(text) => Value::String(text),
        Node::Binary(bytes) => Value::String(BASE64.encode(bytes)),
        Node::Seq(items) => {
            let item_shape = shape.and_then(|s| match s.kind {
                Kind::List(item) => Some(item),
                _ => None,
            });
            Value::Array(items.into_iter().map(|item| from_yaml(item, item_shape, binary)).collect::<Result<_, _>>()?)
        }
        Node::Map(entries) => {
            let mut map = Map::new();
            for (key, item) in entries {
                let item_shape = shape.and_then(|s| match s.kind {
                    Kind::Map(_, value) => Some(value),
                    Kind::Structure(_) | Kind::Union(_) => s.member(&key).map(|m| m.shape),
                    _ => None,
                });
                map.insert(key, from_yaml(item, item_shape, binary)?);
            }
            Value::Object(map)
        }
        // As the AWS CLI's YAML loader, which has no constructor for local tags.
        Node::Tagged(tag, _) => {
            return Err(CliError::usage(format!(
                "Error parsing parameter 'cli-input-yaml': Invalid YAML received: unsupported tag !{tag}"
            )));
        }
    })
}

/// A blob option: `fileb://` is raw bytes; `file://` and plain text follow the binary format.
fn blob(word: &str, binary: BinaryFormat, option: &str) -> Result<Vec<u8>, CliError> {
    if let Some(path) = word.strip_prefix("fileb://") {
        return std::fs::read(expand_home(path)).map_err(|err| unreadable(option, word, &err));
    }
    decode_text(&paramfile(word, option)?, binary)
}

fn decode_text(text: &str, binary: BinaryFormat) -> Result<Vec<u8>, CliError> {
    match binary {
        BinaryFormat::Raw => Ok(text.as_bytes().to_vec()),
        BinaryFormat::Base64 => {
            // Python's lenient b64decode: characters outside the alphabet are dropped, the padding must be right.
            let compact: String =
                text.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')).collect();
            BASE64.decode(compact).map_err(|_| CliError::other(format!("Invalid base64: \"{text}\"")))
        }
    }
}

/// The text of a value that may name a file (`file://path`, `fileb://path`).
fn paramfile(value: &str, option: &str) -> Result<String, CliError> {
    if let Some(path) = value.strip_prefix("file://") {
        return std::fs::read_to_string(expand_home(path)).map_err(|err| unreadable(option, value, &err));
    }
    if let Some(path) = value.strip_prefix("fileb://") {
        let bytes = std::fs::read(expand_home(path)).map_err(|err| unreadable(option, value, &err))?;
        return String::from_utf8(bytes)
            .map_err(|_| CliError::usage(format!("Error parsing parameter '{option}': {value} is not UTF-8 text")));
    }
    Ok(value.to_owned())
}

fn unreadable(option: &str, value: &str, err: &std::io::Error) -> CliError {
    CliError::usage(format!("Error parsing parameter '{option}': Unable to load paramfile {value}: {err}"))
}

fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

/// botocore's `ParamValidator`: every problem of `value` against `shape`, with botocore's wording.
pub(crate) fn validate(value: &Value, shape: &Shape, path: &str, errors: &mut Vec<String>) {
    let name = if path.is_empty() { "input" } else { path };
    let type_error = |valid: &str, errors: &mut Vec<String>| {
        errors.push(format!(
            "Invalid type for parameter {name}, value: {}, type: {}, valid types: {valid}",
            python_str(value),
            python_type(value)
        ));
    };
    match shape.kind {
        Kind::Structure(members) | Kind::Union(members) => {
            let Value::Object(map) = value else {
                return type_error("<class 'dict'>", errors);
            };
            if matches!(shape.kind, Kind::Union(_)) {
                let names: Vec<&str> = members.iter().map(|m| m.name).collect();
                if map.is_empty() {
                    errors.push(format!(
                        "Must set one of the following keys for tagged union structure {name}: {}.",
                        names.join(", ")
                    ));
                } else if map.len() > 1 {
                    errors.push(format!(
                        "Invalid number of parameters set for tagged union structure {name}. Can only set one of \
                         the following keys: {}.",
                        names.join(", ")
                    ));
                }
            }
            for member in members.iter().filter(|m| m.required && !map.contains_key(m.name)) {
                errors.push(format!("Missing required parameter in {name}: \"{}\"", member.name));
            }
            for (key, item) in map {
                match shape.member(key) {
                    Some(member) => validate(item, member.shape, &join(path, key), errors),
                    None => {
                        let names: Vec<&str> = members.iter().map(|m| m.name).collect();
                        errors.push(format!(
                            "Unknown parameter in {name}: \"{key}\", must be one of: {}",
                            names.join(", ")
                        ));
                    }
                }
            }
        }
        Kind::String | Kind::Enum(_) => match value {
            Value::String(s) => check_length(name, s.chars().count(), shape, errors),
            _ => type_error("<class 'str'>", errors),
        },
        Kind::Integer | Kind::Long => match value.as_i64() {
            Some(i) if value.is_i64() || value.is_u64() => {
                if let Some(min) = shape.min.filter(|min| i < *min) {
                    errors.push(format!("Invalid value for parameter {name}, value: {i}, valid min value: {min}"));
                }
            }
            _ => type_error("<class 'int'>", errors),
        },
        Kind::Double => {
            if !value.is_number() {
                type_error("<class 'float'>, <class 'decimal.Decimal'>, <class 'int'>", errors);
            }
        }
        Kind::Boolean => {
            if !value.is_boolean() {
                type_error("<class 'bool'>", errors);
            }
        }
        Kind::Blob => {
            if !value.is_string() {
                type_error("<class 'bytes'>, <class 'bytearray'>, file-like object", errors);
            }
        }
        Kind::Timestamp => {
            if !value.is_string() && !value.is_number() {
                type_error("<class 'datetime.datetime'>, <class 'str'>", errors);
            }
        }
        Kind::List(item_shape) => match value {
            Value::Array(items) => {
                check_length(name, items.len(), shape, errors);
                for (i, item) in items.iter().enumerate() {
                    validate(item, item_shape, &format!("{name}[{i}]"), errors);
                }
            }
            _ => type_error("<class 'list'>, <class 'tuple'>", errors),
        },
        Kind::Map(_, value_shape) => match value {
            Value::Object(map) => {
                check_length(name, map.len(), shape, errors);
                for (key, item) in map {
                    validate(item, value_shape, &join(path, key), errors);
                }
            }
            _ => type_error("<class 'dict'>", errors),
        },
    }
}

fn check_length(name: &str, len: usize, shape: &Shape, errors: &mut Vec<String>) {
    if let Some(min) = shape.min.filter(|min| i64::try_from(len).is_ok_and(|len| len < *min)) {
        errors.push(format!("Invalid length for parameter {name}, value: {len}, valid min length: {min}"));
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// Python's `type(value)` for the JSON value, as botocore's messages show it.
fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "<class 'NoneType'>",
        Value::Bool(_) => "<class 'bool'>",
        Value::Number(n) if n.is_f64() => "<class 'float'>",
        Value::Number(_) => "<class 'int'>",
        Value::String(_) => "<class 'str'>",
        Value::Array(_) => "<class 'list'>",
        Value::Object(_) => "<class 'dict'>",
    }
}

/// Python's `str(value)`.
fn python_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// Python's `repr(value)`.
fn python_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(items) => format!("[{}]", items.iter().map(python_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("'{k}': {}", python_repr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}
