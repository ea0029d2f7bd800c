//! `switchboard apigatewaymanagementapi …`, `switchboard apigatewayv2 …`, `switchboard ivschat …` and
//! `switchboard lambda …`: a command line that behaves like the AWS CLI for these services, against a Switchboard
//! server (the default endpoint) or against AWS itself.
//!
//! The flow of one command: `args` splits the words into global options and the operation's options; `params`
//! turns those (and `--cli-input-json`/`--cli-input-yaml`) into the operation's parameters and validates them
//! against the tables of `model`; `env` resolves endpoint, region and credentials; `restjson` builds the
//! operation's request from its model, signs, sends and retries it, and reads the answer back through the model;
//! `output` prints the answer. Exit codes are the AWS CLI v2's: 252 usage, 253 configuration, 254 service error,
//! 255 anything else.

mod apigw;
mod args;
pub mod console;
mod env;
mod help;
mod ivschat;
mod lambda;
mod model;
mod output;
mod paginate;
mod params;
mod restjson;
mod shorthand;
mod skeleton;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use args::{Call, Command, Globals, SkeletonKind};
use model::Service;

/// The services of the command line, by command name.
static SERVICES: [&Service; 4] = [
    &aws_models::apigatewaymanagementapi::SERVICE,
    &aws_models::ivschat::SERVICE,
    &aws_models::apigatewayv2::SERVICE,
    &aws_models::lambda::SERVICE,
];

/// What went wrong, as the AWS CLI v2 tells it by its exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// Bad syntax or parameters (252).
    Usage,
    /// No region, no credentials, a profile that does not exist (253).
    Config,
    /// The service answered with an error (254).
    Service,
    /// Anything else: unreachable endpoints, undecodable input (255).
    Other,
}

/// An error of the command line: one line on stderr and an exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
}

impl CliError {
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError { kind: ErrorKind::Usage, message: message.into() }
    }

    pub(crate) fn config(message: impl Into<String>) -> CliError {
        CliError { kind: ErrorKind::Config, message: message.into() }
    }

    pub(crate) fn service(message: impl Into<String>) -> CliError {
        CliError { kind: ErrorKind::Service, message: message.into() }
    }

    pub(crate) fn other(message: impl Into<String>) -> CliError {
        CliError { kind: ErrorKind::Other, message: message.into() }
    }

    fn exit_code(&self) -> u8 {
        match self.kind {
            ErrorKind::Usage => 252,
            ErrorKind::Config => 253,
            ErrorKind::Service => 254,
            ErrorKind::Other => 255,
        }
    }
}

/// Runs the command line when `args` (a whole command line, program name first) name one of its services,
/// possibly after global options (`switchboard --region us-west-2 ivschat list-rooms`); `None` otherwise.
pub fn run_if_cli(args: impl IntoIterator<Item = OsString>) -> Option<ExitCode> {
    let args: Vec<OsString> = args.into_iter().skip(1).collect();
    args::service_position(&args, &SERVICES)?;
    Some(run(args))
}

/// Runs one command (`args` without the program name) and returns its exit code.
pub fn run(args: Vec<OsString>) -> ExitCode {
    print_outcome(execute(args))
}

/// Prints a command's text on stdout, or its error on stderr, and answers the exit code.
pub(crate) fn print_outcome(outcome: Result<String, CliError>) -> ExitCode {
    match outcome {
        Ok(text) => {
            if !text.is_empty() {
                let mut stdout = std::io::stdout().lock();
                // A closed stdout (`| head`) is not an error of the command.
                let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            let message = err.message.replace(['\r', '\n'], " ");
            let _ = writeln!(std::io::stderr().lock(), "{}", message.trim_end());
            ExitCode::from(err.exit_code())
        }
    }
}

/// Everything but the printing: the text for stdout, or the error.
fn execute(args: Vec<OsString>) -> Result<String, CliError> {
    let words = args
        .into_iter()
        .map(|arg| {
            arg.into_string().map_err(|arg| {
                CliError::usage(format!("switchboard: error: argument is not valid UTF-8: {}", arg.to_string_lossy()))
            })
        })
        .collect::<Result<Vec<String>, CliError>>()?;
    let invocation = args::parse(&words, &SERVICES)?;
    if invocation.globals.debug {
        init_debug_logging();
    }
    match invocation.command {
        Command::ServiceHelp(service) => Ok(help::service_page(service)),
        Command::OperationHelp(service, operation) => Ok(help::operation_page(service, operation)),
        Command::Call(call) => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|err| CliError::other(format!("cannot start the runtime: {err}")))?;
            runtime.block_on(call_operation(&invocation.globals, &call))
        }
    }
}

async fn call_operation(globals: &Globals, call: &Call) -> Result<String, CliError> {
    let profiles = env::Profiles::load(globals).await?;
    match call.skeleton {
        Some(SkeletonKind::Input) => return Ok(skeleton::input_json(call.operation)),
        Some(SkeletonKind::YamlInput) => return Ok(skeleton::input_yaml(call.operation)),
        _ => {}
    }
    let binary = globals.binary_format.or_else(|| profiles.binary_format()).unwrap_or_default();
    let parameters = params::build(call, binary)?;
    tracing::debug!(operation = call.operation.name, parameters = %serde_json::Value::Object(parameters.clone()),
        "Parameters after validation.");
    let format = output::Format::resolve(globals.output.as_deref(), profiles.output())?;
    let query = globals.query.as_deref().map(output::Query::compile).transpose()?;
    if call.skeleton == Some(SkeletonKind::Output) {
        return match skeleton::output_sample(call.operation) {
            Some(sample) => output::render(sample, format, query.as_ref()),
            None => Ok(String::new()),
        };
    }
    let target = env::resolve(globals, call.service, &profiles).await?;
    let answer = match paginate::Plan::of(call, &parameters, globals.no_paginate)? {
        Some(plan) => {
            let target = &target;
            plan.run(
                parameters,
                |params| async move { restjson::call(target, call.service, call.operation, &params).await },
            )
            .await?
        }
        None => restjson::call(&target, call.service, call.operation, &parameters).await?,
    };
    match answer {
        Some(value) => {
            let value = match &call.outfile {
                Some(path) => write_payload(value, path)?,
                None => value,
            };
            output::render(value, format, query.as_ref())
        }
        None => Ok(String::new()),
    }
}

/// The AWS CLI's shorthand syntax (`Key=value,List=[a,b],Map={k=v}`) as an option's value is read, before it is
/// fitted to the operation's model; the error is the message the command would print. Public for the fuzz targets
/// (`crates/fuzz`), which drive the command line's parsers of text a user may have been handed.
pub fn parse_shorthand(text: &str) -> Result<serde_json::Value, String> {
    shorthand::parse(text).map_err(|err| err.0)
}

/// A `--cli-input-yaml` document as the command line reads it, before it is checked against an operation's input
/// (`!!binary` values become base64 text); the error is the message the command would print. Public for the fuzz
/// targets, as [`parse_shorthand`].
pub fn parse_yaml_input(text: &str) -> Result<serde_json::Value, String> {
    params::yaml_input(text).map_err(|err| err.message)
}

/// Writes the answer's blob `Payload` (base64 in the decoded answer) to `path`, raw, and answers the rest, as the AWS
/// CLI's `lambda invoke` does with its `outfile`.
fn write_payload(mut value: serde_json::Value, path: &str) -> Result<serde_json::Value, CliError> {
    use base64::Engine;
    let payload = value.as_object_mut().and_then(|answer| answer.remove("Payload"));
    let bytes = match payload.as_ref().and_then(serde_json::Value::as_str) {
        Some(text) => base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| CliError::other("the answer's Payload is not valid base64"))?,
        None => Vec::new(),
    };
    std::fs::write(path, bytes).map_err(|err| CliError::other(format!("cannot write {path}: {err}")))?;
    Ok(value)
}

/// An error with its sources, on one line.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `--debug`: the credential chain's and the command line's debug logs on stderr, as the AWS CLI prints botocore's.
fn init_debug_logging() {
    let filter = tracing_subscriber::EnvFilter::new("debug,hyper=info,hyper_util=info,h2=info,rustls=info");
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).try_init();
}

#[cfg(test)]
mod tests;
