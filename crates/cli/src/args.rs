//! Splitting the words of a command line into global options, the service, the operation and the operation's
//! options, as the AWS CLI's argument parser does (global options anywhere, `--name value` or `--name=value`, list
//! options taking every word up to the next option), plus two conveniences: camelCase option spellings
//! (`--roomIdentifier`) and shorthand values continued in the next word after a trailing comma.

use std::ffi::OsString;

use super::CliError;
use super::model::{Kind, Member, MemberExt, Operation, Service};
use super::paginate::{self, PagingOptions};

/// Options of every command.
#[derive(Debug, Default)]
pub(crate) struct Globals {
    pub(crate) debug: bool,
    pub(crate) endpoint_url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) output: Option<String>,
    pub(crate) query: Option<String>,
    pub(crate) binary_format: Option<BinaryFormat>,
    pub(crate) read_timeout: Option<u64>,
    pub(crate) connect_timeout: Option<u64>,
    /// `--no-paginate`: one call, even for an operation with a paginator.
    pub(crate) no_paginate: bool,
}

/// How blob parameters given as text are read (`--cli-binary-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum BinaryFormat {
    /// Text is sent as is (Switchboard's default, and the AWS CLI v1's behaviour).
    #[default]
    Raw,
    /// Text is base64 and sent decoded (the AWS CLI v2's default).
    Base64,
}

impl BinaryFormat {
    pub(crate) fn parse(value: &str, origin: &str) -> Result<BinaryFormat, CliError> {
        match value {
            "raw-in-base64-out" => Ok(BinaryFormat::Raw),
            "base64" => Ok(BinaryFormat::Base64),
            _ => Err(CliError::usage(format!(
                "switchboard: error: argument {origin}: Invalid choice '{value}', valid choices are: base64 | \
                 raw-in-base64-out"
            ))),
        }
    }
}

/// `--generate-cli-skeleton [input|yaml-input|output]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SkeletonKind {
    Input,
    YamlInput,
    Output,
}

/// One operation to call (or whose skeleton to print).
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) service: &'static Service,
    pub(crate) operation: &'static Operation,
    /// Command-line values by member, in the order given: one word for scalars, maps and structures (continued
    /// words already joined), every word for lists.
    pub(crate) values: Vec<(&'static Member, Vec<String>)>,
    pub(crate) cli_input_json: Option<String>,
    pub(crate) cli_input_yaml: Option<String>,
    pub(crate) skeleton: Option<SkeletonKind>,
    /// The positional `outfile` of an operation that writes its blob payload to a file (`lambda invoke`).
    pub(crate) outfile: Option<String>,
    /// `--starting-token`, `--page-size` and `--max-items` of an operation with a paginator.
    pub(crate) paging: PagingOptions,
}

#[derive(Debug)]
pub(crate) enum Command {
    ServiceHelp(&'static Service),
    OperationHelp(&'static Service, &'static Operation),
    Call(Call),
}

#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) globals: Globals,
    pub(crate) command: Command,
}

/// Global options: name and whether it takes a value.
const GLOBAL_OPTIONS: &[(&str, bool)] = &[
    ("debug", false),
    ("endpoint-url", true),
    ("region", true),
    ("profile", true),
    ("output", true),
    ("query", true),
    ("cli-binary-format", true),
    ("cli-read-timeout", true),
    ("cli-connect-timeout", true),
    ("no-cli-pager", false),
    ("no-paginate", false),
    ("color", true),
];

fn global_option(name: &str) -> Option<bool> {
    GLOBAL_OPTIONS.iter().find(|(n, _)| *n == name).map(|(_, takes_value)| *takes_value)
}

/// Where the service name is in `args` (program name excluded), if the first word that is not a global option (or
/// its value) is the name of one of `services`.
pub(crate) fn service_position(args: &[OsString], services: &[&Service]) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        let word = args[i].to_str()?;
        if let Some(body) = word.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((name, _)) => (name, true),
                None => (body, false),
            };
            let takes_value = global_option(name)?;
            i += if takes_value && !inline { 2 } else { 1 };
            continue;
        }
        return services.iter().any(|s| s.name == word).then_some(i);
    }
    None
}

/// Parses a whole command line (program name excluded).
pub(crate) fn parse(words: &[String], services: &[&'static Service]) -> Result<Invocation, CliError> {
    let mut globals = Globals::default();
    let mut service: Option<&'static Service> = None;
    let mut call: Option<Call> = None;
    let mut help = false;
    let mut unknown: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        let Some(body) = word.strip_prefix("--").filter(|b| !b.is_empty()) else {
            if word == "-h" {
                help = true;
            } else if service.is_none() {
                service = services.iter().copied().find(|s| s.name == word);
                if service.is_none() {
                    unknown.push(word.clone());
                }
            } else if let (Some(svc), None) = (service, &call) {
                if word == "help" {
                    help = true;
                } else if let Some((model, operation)) = svc.with_extension().find(|(_, op)| op.cli_name == word) {
                    call = Some(Call {
                        service: model,
                        operation,
                        values: Vec::new(),
                        cli_input_json: None,
                        cli_input_yaml: None,
                        skeleton: None,
                        outfile: None,
                        paging: PagingOptions::default(),
                    });
                } else {
                    let choices: Vec<&str> = svc.with_extension().map(|(_, op)| op.cli_name).collect();
                    return Err(CliError::usage(format!(
                        "switchboard: error: argument operation: Invalid choice '{word}', valid choices are: {}",
                        choices.join(" | ")
                    )));
                }
            } else if word == "help" {
                help = true;
            } else if let Some(call) = call.as_mut().filter(|c| c.outfile.is_none() && takes_outfile(c.operation)) {
                call.outfile = Some(word.clone());
            } else {
                unknown.push(word.clone());
            }
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (body, None),
        };
        if name == "help" {
            help = true;
            continue;
        }
        if let Some(takes_value) = global_option(name) {
            if takes_value {
                let value = scalar_value(name, inline, words, &mut i)?;
                set_global(&mut globals, name, value)?;
            } else if inline.is_some() {
                return Err(CliError::usage(format!(
                    "switchboard: error: argument --{name}: ignored explicit argument '{}'",
                    inline.unwrap_or_default()
                )));
            } else if name == "debug" {
                globals.debug = true;
            } else if name == "no-paginate" {
                globals.no_paginate = true;
            }
            continue;
        }
        let Some(call) = call.as_mut() else {
            unknown.push(word.clone());
            continue;
        };
        match name {
            "cli-input-json" => call.cli_input_json = Some(scalar_value(name, inline, words, &mut i)?),
            "cli-input-yaml" => call.cli_input_yaml = Some(scalar_value(name, inline, words, &mut i)?),
            "generate-cli-skeleton" => {
                let value = match inline {
                    Some(value) => Some(value),
                    None if words.get(i).is_some_and(|w| !w.starts_with("--")) => {
                        i += 1;
                        Some(words[i - 1].clone())
                    }
                    None => None,
                };
                call.skeleton = Some(match value.as_deref() {
                    None | Some("input") => SkeletonKind::Input,
                    Some("yaml-input") => SkeletonKind::YamlInput,
                    Some("output") => SkeletonKind::Output,
                    Some(other) => {
                        return Err(CliError::usage(format!(
                            "switchboard: error: argument --generate-cli-skeleton: Invalid choice '{other}', valid \
                             choices are: input | yaml-input | output"
                        )));
                    }
                });
            }
            _ if paginate::is_paging_option(call.operation, name) => {
                let value = scalar_value(name, inline, words, &mut i)?;
                call.paging.set(name, value);
            }
            _ => match call.operation.input_members().iter().find(|m| m.is_spelled(name)) {
                Some(member) => {
                    let value = member_words(member, name, inline, words, &mut i)?;
                    call.values.retain(|(m, _)| m.name != member.name);
                    call.values.push((member, value));
                }
                None => {
                    unknown.push(word.clone());
                    while let Some(next) = words.get(i).filter(|w| !w.starts_with("--") && *w != "help") {
                        unknown.push(next.clone());
                        i += 1;
                    }
                }
            },
        }
    }
    let Some(service) = service else {
        return Err(CliError::usage("switchboard: error: the following arguments are required: service"));
    };
    let command = match (call, help) {
        (Some(call), true) => Command::OperationHelp(service, call.operation),
        (None, true) => Command::ServiceHelp(service),
        (None, false) => {
            return Err(CliError::usage(format!(
                "switchboard: error: the following arguments are required: operation (see 'switchboard {} help')",
                service.name
            )));
        }
        (Some(mut call), false) => {
            paginate::settle(&mut call, globals.no_paginate)?;
            if !unknown.is_empty() {
                return Err(CliError::usage(format!("switchboard: error: Unknown options: {}", unknown.join(", "))));
            }
            if call.outfile.is_none() && call.skeleton.is_none() && takes_outfile(call.operation) {
                return Err(CliError::usage("switchboard: error: the following arguments are required: outfile"));
            }
            Command::Call(call)
        }
    };
    Ok(Invocation { globals, command })
}

/// Whether `operation` takes the positional `outfile` its blob payload is written to, as the AWS CLI's
/// `lambda invoke` does.
pub(crate) fn takes_outfile(operation: &Operation) -> bool {
    std::ptr::eq(operation, aws_models::lambda::Operation::Invoke.model())
}

/// The one value of an option: inline (`--name=value`) or the next word, which must not be an option.
fn scalar_value(name: &str, inline: Option<String>, words: &[String], i: &mut usize) -> Result<String, CliError> {
    if let Some(value) = inline {
        return Ok(value);
    }
    match words.get(*i) {
        Some(next) if !next.starts_with("--") => {
            *i += 1;
            Ok(next.clone())
        }
        _ => Err(CliError::usage(format!("switchboard: error: argument --{name}: expected one argument"))),
    }
}

/// The words of a member's option: one for scalars; every word up to the next option for lists; one for maps and
/// structures, continued by the next word while the value ends with a comma (`--attributes a=1, b=2`).
fn member_words(
    member: &Member,
    name: &str,
    inline: Option<String>,
    words: &[String],
    i: &mut usize,
) -> Result<Vec<String>, CliError> {
    match member.shape.kind {
        Kind::List(_) => {
            if let Some(value) = inline {
                return Ok(vec![value]);
            }
            let mut values = Vec::new();
            while let Some(next) = words.get(*i).filter(|w| !w.starts_with("--")) {
                values.push(next.clone());
                *i += 1;
            }
            Ok(values)
        }
        Kind::Map(..) | Kind::Structure(_) | Kind::Union(_) => {
            let mut value = scalar_value(name, inline, words, i)?;
            while value.trim_end().ends_with(',') {
                match words.get(*i).filter(|w| !w.starts_with("--")) {
                    Some(next) => {
                        value.push_str(next);
                        *i += 1;
                    }
                    None => break,
                }
            }
            Ok(vec![value])
        }
        _ => Ok(vec![scalar_value(name, inline, words, i)?]),
    }
}

fn set_global(globals: &mut Globals, name: &str, value: String) -> Result<(), CliError> {
    match name {
        "endpoint-url" => globals.endpoint_url = Some(value),
        "region" => globals.region = Some(value),
        "profile" => globals.profile = Some(value),
        "output" => {
            if !matches!(value.as_str(), "json" | "text" | "yaml") {
                return Err(CliError::usage(format!(
                    "switchboard: error: argument --output: Invalid choice '{value}', valid choices are: json | text \
                     | yaml"
                )));
            }
            globals.output = Some(value);
        }
        "query" => globals.query = Some(value),
        "cli-binary-format" => globals.binary_format = Some(BinaryFormat::parse(&value, "--cli-binary-format")?),
        "cli-read-timeout" => globals.read_timeout = Some(seconds(name, &value)?),
        "cli-connect-timeout" => globals.connect_timeout = Some(seconds(name, &value)?),
        // Accepted for compatibility; Switchboard never colours its output.
        _ => {}
    }
    Ok(())
}

fn seconds(name: &str, value: &str) -> Result<u64, CliError> {
    value
        .parse()
        .map_err(|_| CliError::usage(format!("switchboard: error: argument --{name}: invalid int value: '{value}'")))
}
