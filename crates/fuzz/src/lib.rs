//! Switchboard's fuzz targets: one function per parser of bytes a client (or a user handed a command line) controls,
//! each small, deterministic for a given input and checking what it can besides "no panic".
//!
//! The same functions run three ways: `cargo test -p fuzz` replays every file of `corpus/<target>/` and
//! `regressions/<target>/` through them (cheap, always on); `.ci/fuzz` builds `src/bin/<target>.rs` with libFuzzer
//! and the compiler's coverage instrumentation on the stable toolchain and runs them for a bounded time; and
//! `docs/fuzzing.md` records the long runs. A new target is a function in [`targets`], a row in [`TARGETS`], a
//! `src/bin/<name>.rs` with its `[[bin]]` in `Cargo.toml`, and a seed corpus in `corpus/<name>/`.

mod fixture;
mod replay;
pub mod request;
pub mod targets;

/// A fuzz target: its name (the binary's and the corpus folder's) and its function.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub name: &'static str,
    pub run: fn(&[u8]),
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target { name: "sigv4", run: targets::sigv4 },
    Target { name: "selection", run: targets::selection },
    Target { name: "chat_frame", run: targets::chat_frame },
    Target { name: "chat_token", run: targets::chat_token },
    Target { name: "cli_shorthand", run: targets::cli_shorthand },
    Target { name: "cli_yaml", run: targets::cli_yaml },
    Target { name: "ivschat_control", run: targets::ivschat_control },
    Target { name: "apigatewayv2_control", run: targets::apigatewayv2_control },
    Target { name: "management_path", run: targets::management_path },
    Target { name: "websocket", run: targets::websocket },
    Target { name: "template", run: targets::template },
    Target { name: "mapping", run: targets::mapping },
];
