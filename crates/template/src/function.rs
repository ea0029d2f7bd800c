//! `AWS::Serverless::Function` and `AWS::Lambda::Function` into the function host's definitions
//! (`functions::FunctionSpec`): the code directory (SAM's `CodeUri` or a packaged template's local `Code`, relative
//! to the template; inline `InlineCode` / `Code.ZipFile` written under the data directory as `index.py` or
//! `index.js`, as Lambda names it), handler, runtime, environment, timeout, memory and reserved concurrency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use functions::{FunctionSpec, Runtime};
use serde_json::{Map, Value};

use crate::error::{At, Error};
use crate::eval::{Resolved, text};
use crate::params::Pseudo;

pub(crate) const SERVERLESS: &str = "AWS::Serverless::Function";
pub(crate) const LAMBDA: &str = "AWS::Lambda::Function";

/// Where a function's files are found or written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Places<'a> {
    /// The template's directory: code paths are relative to it.
    pub(crate) template_dir: &'a Path,
    /// Where inline code is written, one directory per function.
    pub(crate) inline_dir: &'a Path,
}

/// A function resource's definition, what `Ref` and `Fn::GetAtt` answer for it, and what was left out (said once
/// at start).
pub(crate) fn define(
    id: &str,
    kind: &str,
    properties: &Map<String, Value>,
    at: &At<'_>,
    places: Places<'_>,
    pseudo: &Pseudo,
) -> Result<(FunctionSpec, Resolved, Vec<String>), Error> {
    let mut notes = Vec::new();
    let string = |name: &str| -> Result<Option<String>, Error> {
        match properties.get(name) {
            None => Ok(None),
            Some(value) => {
                text(value).map(Some).ok_or_else(|| at.key(name).error(format!("must be a string, got {value}")))
            }
        }
    };
    let number = |name: &str| -> Result<Option<u64>, Error> {
        match string(name)? {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| at.key(name).error(format!("must be a whole number, got {s}"))),
        }
    };
    if string("PackageType")?.as_deref() == Some("Image") || properties.contains_key("ImageUri") {
        return Err(at.error("container image functions (PackageType Image) are not supported; use a zip runtime"));
    }
    let name = string("FunctionName")?.unwrap_or_else(|| id.to_owned());
    let runtime_name = string("Runtime")?.ok_or_else(|| at.key("Runtime").error("is required"))?;
    let runtime = Runtime::parse(&runtime_name).map_err(|err| at.key("Runtime").error(err.to_string()))?;
    let handler = string("Handler")?.ok_or_else(|| at.key("Handler").error("is required"))?;
    let inline_source = |source: &str| -> Result<PathBuf, Error> {
        let dir = places.inline_dir.join(id);
        let file = dir.join(match runtime {
            Runtime::Python(_) => "index.py",
            _ => "index.js",
        });
        write_if_changed(&file, source)
            .map_err(|err| at.error(format!("cannot write its inline code to {}: {err}", file.display())))?;
        Ok(dir)
    };
    let local = |property: &str, path: &str| -> Result<PathBuf, Error> {
        let dir = places.template_dir.join(path);
        if dir.is_dir() {
            Ok(dir)
        } else {
            Err(at.key(property).error(format!(
                "`{path}` is not a directory next to the template ({}); give the function's code directory",
                dir.display()
            )))
        }
    };
    let code_dir = match kind {
        SERVERLESS => match (properties.get("InlineCode"), properties.get("CodeUri")) {
            (Some(source), _) => {
                inline_source(&text(source).ok_or_else(|| at.key("InlineCode").error("must be a string"))?)?
            }
            (None, Some(Value::String(path))) => local("CodeUri", path)?,
            (None, Some(other)) => {
                return Err(at.key("CodeUri").error(format!(
                    "only a local directory is supported, got {other}; point CodeUri at the code next to the template"
                )));
            }
            (None, None) => return Err(at.error("CodeUri or InlineCode is required")),
        },
        _ => match properties.get("Code") {
            Some(Value::String(path)) => local("Code", path)?,
            Some(Value::Object(code)) => match code.get("ZipFile") {
                Some(source) => inline_source(
                    &text(source).ok_or_else(|| at.key("Code").key("ZipFile").error("must be a string"))?,
                )?,
                None => {
                    return Err(at.key("Code").error(
                        "only Code.ZipFile or a local directory (Code: ./path, as before `aws cloudformation package`) \
                         is supported, not S3 or image code",
                    ));
                }
            },
            _ => return Err(at.key("Code").error("is required")),
        },
    };
    let mut environment = BTreeMap::new();
    if let Some(variables) = properties.get("Environment").and_then(|e| e.get("Variables")) {
        let at = at.key("Environment");
        let at = at.key("Variables");
        let variables = variables.as_object().ok_or_else(|| at.error("must be a mapping"))?;
        for (key, value) in variables {
            let value = text(value).ok_or_else(|| at.key(key).error(format!("must be a string, got {value}")))?;
            environment.insert(key.clone(), value);
        }
    }
    if properties.contains_key("Layers") {
        notes.push("its Layers are not added".to_owned());
    }
    let spec = FunctionSpec {
        name: name.clone(),
        runtime,
        handler,
        code_dir,
        environment,
        timeout: number("Timeout")?.map_or(functions::spec::DEFAULT_TIMEOUT, Duration::from_secs),
        memory_mb: match number("MemorySize")? {
            None => functions::spec::DEFAULT_MEMORY_MB,
            Some(mb) => u32::try_from(mb).map_err(|_| at.key("MemorySize").error(format!("{mb} is too large")))?,
        },
        reserved_concurrency: number("ReservedConcurrentExecutions")?
            .map(|n| u32::try_from(n).map_err(|_| at.key("ReservedConcurrentExecutions").error("is too large")))
            .transpose()?,
    };
    spec.validate().map_err(|err| at.error(err.to_string()))?;
    let arn = format!("arn:{}:lambda:{}:{}:function:{name}", pseudo.partition, pseudo.region, pseudo.account_id);
    let resolved = Resolved {
        reference: Value::String(name),
        attributes: BTreeMap::from([("Arn".to_owned(), Value::String(arn))]),
        fallback: None,
    };
    Ok((spec, resolved, notes))
}

/// Writes `text` to `file` unless it already holds it, so that a re-applied template does not touch code a function
/// host may be watching.
fn write_if_changed(file: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(file).is_ok_and(|existing| existing == text) {
        return Ok(());
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let partial = file.with_extension("partial");
    std::fs::write(&partial, text)?;
    std::fs::rename(&partial, file)
}

/// SAM's `Globals.Function` merged under a function's own properties: mappings merge (the function's entries
/// win), lists add the function's after the globals', anything else is the function's when it has one.
pub(crate) fn with_globals(globals: &Value, properties: &Value) -> Value {
    match (globals, properties) {
        (Value::Object(g), Value::Object(p)) => {
            let mut out = g.clone();
            for (key, value) in p {
                let merged = match out.get(key) {
                    Some(global) if !is_intrinsic(value) && !is_intrinsic(global) => with_globals(global, value),
                    _ => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(g), Value::Array(p)) => Value::Array(g.iter().chain(p).cloned().collect()),
        (_, p) => p.clone(),
    }
}

fn is_intrinsic(value: &Value) -> bool {
    value.as_object().is_some_and(|m| m.len() == 1 && m.keys().all(|k| k == "Ref" || k.starts_with("Fn::")))
}
