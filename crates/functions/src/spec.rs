//! A function's definition — name, runtime, handler, code directory, environment, timeout, memory and reserved
//! concurrency — validated against the Lambda model's constraints, whatever defined it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use aws_models::Kind;
use aws_models::lambda::shapes as model;

/// Lambda's default timeout when a definition gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// Lambda's default memory size, in MB, when a definition gives none.
pub const DEFAULT_MEMORY_MB: u32 = 128;

/// The runtimes Switchboard can start, as Lambda names them; listed in the error for any other.
pub const SUPPORTED_RUNTIMES: &str =
    "provided.al2023, provided.al2, provided, python3.9–python3.14, nodejs18.x–nodejs24.x";

/// How an execution environment is started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Runtime {
    /// `provided`, `provided.al2`, `provided.al2023`: the `bootstrap` executable in the code directory.
    Provided(String),
    /// `python3.x`: `awslambdaric` when the function's environment has it, else Switchboard's own client.
    Python(String),
    /// `nodejsNN.x`: `aws-lambda-ric` when the code directory has it, else Switchboard's own client.
    Node(String),
}

impl Runtime {
    /// Parses a Lambda runtime name; one the model does not know, or Switchboard cannot start, is an error naming
    /// the supported ones.
    pub fn parse(name: &str) -> Result<Runtime, SpecError> {
        let known = matches!(model::RUNTIME.kind, Kind::Enum(values) if values.contains(&name));
        let unsupported = || SpecError::Runtime(name.to_owned());
        if !known {
            return Err(unsupported());
        }
        if matches!(name, "provided" | "provided.al2" | "provided.al2023") {
            return Ok(Runtime::Provided(name.to_owned()));
        }
        if let Some(minor) = name.strip_prefix("python3.").and_then(|m| m.parse::<u32>().ok()) {
            return if minor >= 9 { Ok(Runtime::Python(name.to_owned())) } else { Err(unsupported()) };
        }
        if let Some(major) =
            name.strip_prefix("nodejs").and_then(|m| m.strip_suffix(".x")).and_then(|m| m.parse::<u32>().ok())
        {
            return if major >= 18 { Ok(Runtime::Node(name.to_owned())) } else { Err(unsupported()) };
        }
        Err(unsupported())
    }

    /// Lambda's name for the runtime (`python3.12`).
    pub fn name(&self) -> &str {
        match self {
            Runtime::Provided(name) | Runtime::Python(name) | Runtime::Node(name) => name,
        }
    }
}

/// One function's definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The function's name (`[a-zA-Z0-9-_]{1,64}`); integrations name it in their ARN.
    pub name: String,
    pub runtime: Runtime,
    /// `module.function` (Python), `file.export` (Node); ignored by `provided` runtimes but passed as `_HANDLER`.
    pub handler: String,
    /// The function's code: the `bootstrap`, the handler's module, and any dependencies beside it.
    pub code_dir: PathBuf,
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// `ReservedConcurrentExecutions`: the most environments that run at once (`None`: the server's default).
    pub reserved_concurrency: Option<u32>,
}

/// Why a definition was refused; each names the field and the rule.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("runtime `{0}` is not supported; supported runtimes: {SUPPORTED_RUNTIMES}")]
    Runtime(String),
    #[error("function name `{0}` must be 1 to 64 characters of letters, digits, `-` and `_`")]
    Name(String),
    #[error("function `{function}`: {field} {value} is outside {min}..={max}")]
    Range { function: String, field: &'static str, value: u64, min: u64, max: u64 },
    #[error("function `{function}`: environment variable name `{name}` must match [a-zA-Z]([a-zA-Z0-9_])+")]
    Variable { function: String, name: String },
    #[error("function `{function}`: handler `{handler}` must be 1 to 128 characters with no whitespace")]
    Handler { function: String, handler: String },
    #[error(
        "function `{function}`: Lambda was unable to configure your environment variables because the environment \
         variables you have provided contains reserved keys that are currently not supported for modification. \
         Reserved keys used in this request: {name}"
    )]
    Reserved { function: String, name: String },
    #[error("function `{0}` is defined twice")]
    Duplicate(String),
}

impl FunctionSpec {
    /// Checks the definition against the Lambda model's constraints (name, handler, timeout, memory size,
    /// environment variable names).
    pub fn validate(&self) -> Result<(), SpecError> {
        let name_ok = (1..=64).contains(&self.name.len())
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(SpecError::Name(self.name.clone()));
        }
        let handler_max = model::HANDLER.max.unwrap_or(128) as usize;
        if self.handler.is_empty() || self.handler.len() > handler_max || self.handler.contains(char::is_whitespace) {
            return Err(SpecError::Handler { function: self.name.clone(), handler: self.handler.clone() });
        }
        self.range("Timeout", self.timeout.as_secs(), &model::TIMEOUT)?;
        self.range("MemorySize", u64::from(self.memory_mb), &model::MEMORY_SIZE)?;
        for name in self.environment.keys() {
            let mut chars = name.chars();
            let ok = name.len() >= 2
                && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return Err(SpecError::Variable { function: self.name.clone(), name: name.clone() });
            }
            if crate::launch::RESERVED_VARIABLES.contains(&name.as_str()) {
                return Err(SpecError::Reserved { function: self.name.clone(), name: name.clone() });
            }
        }
        Ok(())
    }

    fn range(&self, field: &'static str, value: u64, shape: &aws_models::Shape) -> Result<(), SpecError> {
        let min = shape.min.unwrap_or(0) as u64;
        let max = shape.max.map_or(u64::MAX, |m| m as u64);
        if (min..=max).contains(&value) {
            Ok(())
        } else {
            Err(SpecError::Range { function: self.name.clone(), field, value, min, max })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FunctionSpec {
        FunctionSpec {
            name: "onconnect".to_owned(),
            runtime: Runtime::parse("python3.12").unwrap(),
            handler: "app.handler".to_owned(),
            code_dir: PathBuf::from("."),
            environment: BTreeMap::from([("TABLE_NAME".to_owned(), "t".to_owned())]),
            timeout: DEFAULT_TIMEOUT,
            memory_mb: DEFAULT_MEMORY_MB,
            reserved_concurrency: None,
        }
    }

    #[test]
    fn runtimes_are_parsed_or_refused_with_the_supported_list() {
        for (name, expected) in [
            ("provided.al2023", Some(Runtime::Provided("provided.al2023".into()))),
            ("python3.12", Some(Runtime::Python("python3.12".into()))),
            ("nodejs22.x", Some(Runtime::Node("nodejs22.x".into()))),
            ("nodejs16.x", None),
            ("python2.7", None),
            ("java21", None),
            ("cobol", None),
        ] {
            match (Runtime::parse(name), expected) {
                (Ok(runtime), Some(expected)) => assert_eq!(runtime, expected),
                (Err(err), None) => assert!(err.to_string().contains("provided.al2023"), "{err}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn definitions_are_checked_against_the_model() {
        assert_eq!(spec().validate(), Ok(()));
        type Change = fn(&mut FunctionSpec);
        let cases: [(Change, &str); 6] = [
            (|s| s.name = "has space".into(), "function name"),
            (|s| s.timeout = Duration::from_secs(0), "Timeout 0 is outside 1..=5400"),
            (|s| s.memory_mb = 64, "MemorySize 64 is outside 128..=32768"),
            (|s| s.handler = String::new(), "handler"),
            (|s| _ = s.environment.insert("1X".into(), "v".into()), "environment variable name `1X`"),
            (
                |s| _ = s.environment.insert("AWS_REGION".into(), "v".into()),
                "Reserved keys used in this request: AWS_REGION",
            ),
        ];
        for (change, message) in cases {
            let mut s = spec();
            change(&mut s);
            let err = s.validate().unwrap_err().to_string();
            assert!(err.contains(message), "{err} should mention {message}");
        }
    }
}
