//! SAM and CloudFormation templates run locally (`switchboard serve --template FILE`), HTTP-free.
//!
//! [`Template::load`] reads a template (YAML with CloudFormation's short-form tags, or JSON) and checks its sections;
//! [`apply`] resolves it for one stack — parameters (defaults, overrides, constraints), pseudo parameters,
//! `Mappings`, `Conditions`, SAM's `Globals`, the intrinsic functions (`eval.rs`) — and creates its resources in
//! dependency order (`graph.rs`):
//!
//! - `AWS::ApiGatewayV2::*` (WebSocket APIs) through the apigatewayv2 [`ControlPlane`], found again by their
//!   CloudFormation tags when the template is applied again, so their ids survive restarts (`apigw`);
//! - `AWS::Serverless::Function` and `AWS::Lambda::Function` into [`functions::FunctionSpec`]s for the function host
//!   (`function.rs`);
//! - anything else is not created, only given placeholders for `Ref` and `Fn::GetAtt` and listed (`ignored.rs`).
//!
//! What it did comes back as an [`Applied`]: the stack's APIs, functions, ignored resources and resolved `Outputs`
//! (with the local URL of a `wss://{apiId}.execute-api…` one). An error names the section item, the property and
//! what is wrong ([`Error`]).
//!
//! [`ControlPlane`]: apigatewayv2::ControlPlane

mod apigw;
mod error;
mod eval;
mod function;
mod graph;
mod ignored;
mod params;
mod parse;
mod stack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

pub use apigw::{AppliedApi, LOGICAL_ID_TAG, STACK_NAME_TAG};
pub use error::Error;
pub use stack::{Applied, Ignored, Output, apply};

/// The transform a SAM template declares; the only one Switchboard applies (by understanding its resource types).
pub const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";

/// The sections a template may have.
const SECTIONS: [&str; 11] = [
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Globals",
    "Resources",
    "Outputs",
];

/// A template read and checked, not yet applied.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    file: PathBuf,
    /// The template's directory: code paths are relative to it.
    dir: PathBuf,
    body: Map<String, Value>,
}

/// How a template is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The stack's name: `AWS::StackName`, and the tag that finds its APIs again.
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    /// `--parameter-overrides`: values over the parameters' defaults.
    pub parameter_overrides: BTreeMap<String, String>,
    /// The server's data directory; inline function code is written under `functions/inline/{stack}/`.
    pub data_dir: PathBuf,
}

impl Template {
    /// Reads and checks the template at `path`.
    pub fn load(path: &Path) -> Result<Template, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|err| Error::new(format!("template {}", path.display()), format!("cannot be read: {err}")))?;
        Template::from_text(&text, path)
    }

    /// Checks a template's text; `file` names it in errors and places its code paths.
    pub fn from_text(text: &str, file: &Path) -> Result<Template, Error> {
        let at = format!("template {}", file.display());
        let body = match parse::parse(text).map_err(|message| Error::new(&at, message))? {
            Value::Object(body) => body,
            _ => return Err(Error::new(&at, "must be a mapping of sections")),
        };
        if let Some(unknown) = body.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            return Err(Error::new(&at, format!("has an unknown section {unknown}")));
        }
        let transforms = match body.get("Transform") {
            None => Vec::new(),
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(items)) => {
                items.iter().map(|t| t.as_str().unwrap_or("(not a name)").to_owned()).collect()
            }
            Some(other) => vec![other.to_string()],
        };
        if let Some(other) = transforms.iter().find(|t| *t != SAM_TRANSFORM) {
            return Err(Error::new(
                &at,
                format!("Transform {other} is not supported; Switchboard understands {SAM_TRANSFORM} only"),
            ));
        }
        let resources = body
            .get("Resources")
            .and_then(Value::as_object)
            .filter(|r| !r.is_empty())
            .ok_or_else(|| Error::new(&at, "must have a Resources section with at least one resource"))?;
        for (id, resource) in resources {
            if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(Error::new(format!("resource {id}"), "logical ids are letters and digits only"));
            }
            if resource.get("Type").and_then(Value::as_str).is_none() {
                return Err(Error::new(format!("resource {id}"), "must have a Type"));
            }
            if resource.get("Properties").is_some_and(|p| !p.is_object()) {
                return Err(Error::new(format!("resource {id}, Properties"), "must be a mapping"));
            }
        }
        let dir = file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
        Ok(Template { file: file.to_path_buf(), dir, body })
    }

    pub fn file(&self) -> &Path {
        &self.file
    }
}

/// SAM's default stack name for a template: its directory's name, made a valid stack name
/// (`[A-Za-z][-A-Za-z0-9]*`, at most 128 characters).
pub fn default_stack_name(template: &Path) -> String {
    // The real directory when the file exists (`./template.yaml`, `../x/template.yaml`), else as written.
    let full = std::fs::canonicalize(template).or_else(|_| std::path::absolute(template)).unwrap_or_default();
    let dir = full.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut name: String = dir.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name = format!("stack-{name}");
    }
    name.truncate(128);
    name.trim_end_matches('-').to_owned()
}

/// `--parameter-overrides` words: `Key=Value`, or SAM's and the AWS CLI's `ParameterKey=Key,ParameterValue=Value`.
pub fn parse_overrides(words: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for word in words {
        let pair = match word.strip_prefix("ParameterKey=") {
            Some(rest) => rest.split_once(",ParameterValue="),
            None => word.split_once('='),
        };
        match pair {
            Some((key, value)) if !key.is_empty() => out.insert(key.to_owned(), value.to_owned()),
            _ => {
                return Err(Error::new(
                    format!("parameter override `{word}`"),
                    "must look like Key=Value (or ParameterKey=Key,ParameterValue=Value)",
                ));
            }
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
