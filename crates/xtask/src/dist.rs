//! `cargo xtask dist`: the release binary as it ships. `cargo build --release -p switchboard` (thin LTO, one codegen
//! unit: the release profile), then its debug information and symbols moved with `objcopy` into
//! `target/dist/switchboard.debug`, which the shipped `target/dist/switchboard` names in its `.gnu_debuglink`: a
//! backtrace shows functions, files and lines when the `.debug` file is beside the binary (or under
//! `/usr/lib/debug`), and the binary stays within [`MAX_BINARY_BYTES`].

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The most the shipped binary may weigh (30 MB, issue 16's target).
pub(crate) const MAX_BINARY_BYTES: u64 = 30_000_000;

/// Builds, splits and checks the shipped binary; its path and the debug file's, with their sizes.
pub(crate) fn run(root: &Path) -> Result<Vec<(PathBuf, u64)>> {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "--locked", "-p", "switchboard"])
        .current_dir(root)
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build --release -p switchboard failed");
    }
    let out = root.join("target/dist");
    let (binary, debug) = split(&root.join("target/release/switchboard"), &out)?;
    let size = std::fs::metadata(&binary)?.len();
    if size > MAX_BINARY_BYTES {
        bail!("{} is {size} bytes, over the {MAX_BINARY_BYTES} bytes it may weigh", binary.display());
    }
    let debug_size = std::fs::metadata(&debug)?.len();
    Ok(vec![(binary, size), (debug, debug_size)])
}

/// Copies `built` into `out` without its debug information and symbols, which go to `{name}.debug` beside it, named
/// by the copy's `.gnu_debuglink`. Answers the two paths.
pub(crate) fn split(built: &Path, out: &Path) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out)?;
    let name = built.file_name().context("the built binary has no file name")?;
    let binary = out.join(name);
    let debug = out.join(format!("{}.debug", name.to_string_lossy()));
    objcopy([OsStr::new("--only-keep-debug"), built.as_os_str(), debug.as_os_str()])?;
    // The link names the debug file by its name alone (with its CRC), so the two may move together.
    let link = format!("--add-gnu-debuglink={}", debug.display());
    objcopy([OsStr::new("--strip-all"), OsStr::new(&link), built.as_os_str(), binary.as_os_str()])?;
    Ok((binary, debug))
}

fn objcopy<const N: usize>(args: [&OsStr; N]) -> Result<()> {
    let output = Command::new("objcopy").args(args).output().context("cannot run objcopy (binutils)")?;
    if !output.status.success() {
        bail!("objcopy {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
