//! `switchboard-bench`: the load generator and report behind docs/benchmarks.md.
//!
//! The orchestrator (`switchboard-bench run`) starts a fresh server per run (Switchboard or Sockudo, pinned to the
//! server core), spreads the WebSocket clients over worker processes (`switchboard-bench worker`, each within the
//! 20,000-open-files limit, bound to several 127.0.0.x source addresses), drives the scenario's traffic itself
//! (PostToConnection, SendEvent, SEND_MESSAGE or Pusher's HTTP API), reads CPU and memory from `/proc`, and writes a
//! Markdown report with SVG charts. The floor target (`switchboard-bench floor-server`) runs the same scenarios with
//! the least possible work per delivery, so every figure is also reported as a ratio to the machine's own limit. Every phase is bounded in time; traffic goes to loopback only.

pub mod backend;
pub mod floor;
pub mod hist;
pub mod http1;
pub mod payload;
pub mod procfs;
pub mod progress;
pub mod report;
pub mod run;
pub mod sign;
pub mod svg;
pub mod target;
pub mod worker;
pub mod workers;
pub mod ws;
