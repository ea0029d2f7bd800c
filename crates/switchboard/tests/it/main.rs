//! Integration tests: real servers on 127.0.0.1:0 driven by real clients (the AWS SDK for Rust, a WebSocket client,
//! raw signed HTTP) and a recording HTTP backend.

#![allow(unreachable_pub)]

mod abuse;
mod apigatewayv2;
mod authorizers;
mod aws_limits;
mod chat;
mod chat_client;
mod chat_extensions;
mod cli;
mod cluster;
mod cluster_faults;
mod cluster_trust;
mod console;
mod control;
mod deployments;
mod deps;
mod extensions;
mod functions;
mod gateway;
mod iam;
mod lambda;
mod limits;
mod management;
mod mapping;
mod observability;
mod overload;
mod power_cut;
mod readme;
mod remote;
mod route_rules;

mod runtime_clients;
mod serve;
mod shutdown;
mod stage_settings;
mod templates;
mod terraform;
mod terraform_cli;

/// The shared harness (`crates/test-support`): servers on 127.0.0.1:0, the recording backend, clients.
use test_support as harness;
