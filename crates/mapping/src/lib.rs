//! API Gateway mapping templates: the subset of the Velocity Template Language (VTL) that API Gateway evaluates
//! for WebSocket APIs' request and response templates, with its variables (`$context`, `$stageVariables`, `$input`,
//! `$util`), bounded so that no template can run long, grow large or panic.
//!
//! Supported: references (`$x`, `${x}`, quiet `$!x` / `$!{x}`, properties, `[index]`, method calls), `#set`,
//! `#if` / `#elseif` / `#else` / `#end`, `#foreach` (with `$foreach.index`, `count`, `hasNext`, `first`, `last`),
//! comments (`##`, `#* *#`), string (double quotes interpolate), number, boolean, list, range and map literals,
//! arithmetic, comparison and logical operators (symbols and `and`/`or`/`not`/`eq`/`ne`/`lt`/`le`/`gt`/`ge`).
//! A directive alone on its line takes its line with it, as Velocity 2 does. `\$` and `\#` write the character.
//!
//! ```
//! let template = mapping::Template::parse(r#"{"said": $input.json('$.text'), "by": "$context.connectionId"}"#)?;
//! let context = serde_json::json!({"connectionId": "abc="});
//! let inputs = mapping::Inputs { body: r#"{"text": "hi"}"#, context: &context, ..mapping::Inputs::default() };
//! assert_eq!(template.render(&inputs)?, r#"{"said": "hi", "by": "abc="}"#);
//! # Ok::<(), mapping::TemplateError>(())
//! ```

mod builtins;
mod eval;
mod expr;
mod parse;
mod value;

use serde_json::Value;

/// API Gateway's largest mapping template (300 KB).
pub const MAX_TEMPLATE_BYTES: usize = 300 * 1024;
/// The most a template may write, and the longest string it may build: 1 MiB.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
/// The iterations of one `#foreach`, as API Gateway limits them; and the length of a range literal.
pub const MAX_LOOP_ITERATIONS: usize = 1000;
/// Every evaluation step of one rendering (nodes, expressions, iterations together), so nested loops stay bounded.
pub const MAX_STEPS: u64 = 1_000_000;
/// How deeply directives, parentheses and literals may nest.
pub const MAX_DEPTH: usize = 64;
/// The work of one rendering, in bytes of the values it creates (each item counted as 16, strings by their
/// length) and of the output it writes: 64 MiB.
pub const MAX_WORK_BYTES: usize = 64 * 1024 * 1024;
/// How deeply the lists and maps a template reads or builds may nest (as `serde_json` reads JSON).
pub const MAX_VALUE_DEPTH: usize = 128;

/// Why a template could not be read or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template syntax error at byte {at}: {message}")]
    Syntax { at: usize, message: String },
    #[error("template limit exceeded: {0}")]
    Limit(String),
    #[error("template evaluation failed: {0}")]
    Eval(String),
}

/// What a template reads: the body `$input` reads, the `$context` object, the stage variables, and the request's
/// parameters that `$input.params()` answers (`header`, `querystring`, `path`; `$connect` only on AWS).
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs<'a> {
    pub body: &'a str,
    pub context: &'a Value,
    pub stage_variables: &'a Value,
    pub params: &'a Value,
}

/// A parsed template, ready to render any number of times.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<parse::Node>,
}

impl Template {
    /// Reads a template; refuses one over [`MAX_TEMPLATE_BYTES`] or that is not well formed.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError::Limit(format!("a template is at most {MAX_TEMPLATE_BYTES} bytes")));
        }
        Ok(Template { nodes: parse::template(source)? })
    }

    /// Renders the template against `inputs`, within the output, loop and step limits.
    pub fn render(&self, inputs: &Inputs<'_>) -> Result<String, TemplateError> {
        eval::Renderer::new(inputs).render(&self.nodes)
    }
}

/// Reads and renders `source` once.
pub fn render(source: &str, inputs: &Inputs<'_>) -> Result<String, TemplateError> {
    Template::parse(source)?.render(inputs)
}

#[cfg(test)]
mod tests;
