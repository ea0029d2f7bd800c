//! `switchboard serve …` runs the whole server; `switchboard apigatewaymanagementapi …`, `switchboard apigatewayv2 …`,
//! `switchboard ivschat …` and `switchboard lambda …` are the AWS CLI-style commands. Everything happens in the `server` and `cli` crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use server::config::ServeArgs;

#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about = "A self-hosted, AWS-compatible real-time messaging gateway.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (API Gateway WebSocket APIs and the @connections management API).
    Serve(Box<ServeArgs>),
    /// AWS CLI-style commands of the API Gateway Management API (`switchboard apigatewaymanagementapi help`).
    #[command(name = "apigatewaymanagementapi", disable_help_flag = true)]
    Apigatewaymanagementapi(AwsArgs),
    /// AWS CLI-style commands of Amazon API Gateway V2 (`switchboard apigatewayv2 help`).
    #[command(disable_help_flag = true)]
    Apigatewayv2(AwsArgs),
    /// AWS CLI-style commands of Amazon IVS Chat (`switchboard ivschat help`).
    #[command(disable_help_flag = true)]
    Ivschat(AwsArgs),
    /// AWS CLI-style commands of AWS Lambda, for the functions a server hosts (`switchboard lambda help`).
    #[command(disable_help_flag = true)]
    Lambda(AwsArgs),
}

/// The words after the service name, parsed by the `cli` crate as the AWS CLI parses them.
#[derive(Debug, clap::Args)]
struct AwsArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<std::ffi::OsString>,
}

fn main() -> ExitCode {
    if let Some(code) = cli::run_if_cli(std::env::args_os()) {
        return code;
    }
    match Cli::parse().command {
        Command::Serve(args) => server::serve(*args),
        Command::Apigatewaymanagementapi(_) | Command::Apigatewayv2(_) | Command::Ivschat(_) | Command::Lambda(_) => {
            cli::run(std::env::args_os().skip(1).collect())
        }
    }
}
