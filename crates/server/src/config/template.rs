//! Running a SAM or CloudFormation template: `--template`, `--parameter-overrides`, `--stack-name`, their
//! `SWITCHBOARD_*` variables and the `[template]` table (`--watch` and the top-level `watch` key are the server's).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use serde::Deserialize;

/// Template flags.
#[derive(Debug, Default, clap::Args)]
pub struct TemplateArgs {
    /// A SAM or CloudFormation template (YAML or JSON) whose WebSocket APIs and functions to run.
    #[arg(long, env = "SWITCHBOARD_TEMPLATE", value_name = "FILE")]
    pub template: Option<PathBuf>,
    /// Template parameter values over their defaults, 'Key=Value' (or ParameterKey=Key,ParameterValue=Value).
    /// Repeatable, or several after one flag.
    #[arg(
        long = "parameter-overrides",
        env = "SWITCHBOARD_PARAMETER_OVERRIDES",
        value_name = "KEY=VALUE",
        num_args = 1..,
        value_delimiter = ' '
    )]
    pub parameter_overrides: Vec<String>,
    /// The template's stack name (AWS::StackName, and the tag that finds its APIs again) [default: the template's
    /// directory name].
    #[arg(long, env = "SWITCHBOARD_STACK_NAME", value_name = "NAME")]
    pub stack_name: Option<String>,
}

/// The `[template]` table of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateFile {
    pub file: Option<PathBuf>,
    pub stack_name: Option<String>,
    #[serde(default)]
    pub parameter_overrides: BTreeMap<String, String>,
}

/// The template to run, as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSettings {
    pub file: PathBuf,
    pub stack_name: String,
    pub parameter_overrides: BTreeMap<String, String>,
}

impl TemplateSettings {
    /// Flags over the file; `None` without a template (overrides or a stack name alone are an error).
    pub fn merge(args: TemplateArgs, file: TemplateFile) -> anyhow::Result<Option<TemplateSettings>> {
        let mut overrides = file.parameter_overrides;
        overrides.extend(template::parse_overrides(&args.parameter_overrides)?);
        let stack_name = args.stack_name.or(file.stack_name);
        let Some(path) = args.template.or(file.file) else {
            if !overrides.is_empty() || stack_name.is_some() {
                bail!("--parameter-overrides and --stack-name need --template");
            }
            return Ok(None);
        };
        let stack_name = stack_name.unwrap_or_else(|| template::default_stack_name(&path));
        let valid = stack_name.len() <= 128
            && stack_name.starts_with(|c: char| c.is_ascii_alphabetic())
            && stack_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            bail!(
                "stack name `{stack_name}` must start with a letter and have only letters, digits and -, at most 128"
            );
        }
        Ok(Some(TemplateSettings { file: path, stack_name, parameter_overrides: overrides }))
    }
}
