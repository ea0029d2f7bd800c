//! `switchboard serve …` runs the whole server; `switchboard apigatewaymanagementapi …`, `switchboard apigatewayv2 …`,
//! `switchboard ivschat …` and `switchboard lambda …` are the AWS CLI-style commands; `switchboard tail`,
//! `connections` and `rooms` read a server's console. Everything happens in the `server` and `cli` crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use server::config::ServeArgs;

/// jemalloc keeps small allocations of one size together, so the buffers of handshakes in flight leave no holes
/// between idle connections' long-lived allocations, as they do in glibc's heaps.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
    /// Stream a server's live traffic log: frames, route decisions, management calls, limits, opens and closes.
    Tail(TailArgs),
    /// List the live connections of a server's node.
    Connections(ListArgs),
    /// List the chat rooms with members, and the APIs' stages with their connections, on a server's node.
    Rooms(ListArgs),
}

#[derive(Debug, clap::Args)]
struct TailArgs {
    /// The server's admin listener [default: http://127.0.0.1:4511].
    #[arg(long, value_name = "URL")]
    admin_endpoint: Option<String>,
    /// Only this stage's connections.
    #[arg(long)]
    stage: Option<String>,
    /// Only this connection.
    #[arg(long)]
    connection: Option<String>,
    /// Only this chat room's members.
    #[arg(long)]
    room: Option<String>,
    /// Only route decisions of this route key.
    #[arg(long)]
    route: Option<String>,
    /// Print up to this many earlier events first (at most 1000).
    #[arg(long, default_value_t = 0)]
    backlog: usize,
    /// One JSON document per event and line.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ListArgs {
    /// The server's admin listener [default: http://127.0.0.1:4511].
    #[arg(long, value_name = "URL")]
    admin_endpoint: Option<String>,
    /// Only this stage's connections.
    #[arg(long)]
    stage: Option<String>,
    /// Only this chat room's members.
    #[arg(long)]
    room: Option<String>,
    /// Only connections whose id, source address, user agent or user contains this.
    #[arg(long)]
    search: Option<String>,
    /// json, text or yaml [default: AWS_DEFAULT_OUTPUT, else json].
    #[arg(long)]
    output: Option<String>,
}

impl ListArgs {
    fn options(self) -> cli::console::ListOptions {
        let ListArgs { admin_endpoint, stage, room, search, output } = self;
        cli::console::ListOptions { admin_endpoint, stage, room, search, output }
    }
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
        Command::Tail(args) => {
            let TailArgs { admin_endpoint, stage, connection, room, route, backlog, json } = args;
            cli::console::tail(&cli::console::TailOptions {
                admin_endpoint,
                stage,
                connection,
                room,
                route,
                backlog,
                json,
            })
        }
        Command::Connections(args) => cli::console::connections(&args.options()),
        Command::Rooms(args) => cli::console::rooms(&args.options()),
    }
}
