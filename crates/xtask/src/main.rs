//! `cargo xtask <task>`: the project's auxiliary commands that plain `cargo` cannot express: `codegen`, which
//! regenerates `crates/aws-models` from the botocore models vendored under `models/`, and `dist`, which builds the
//! release binary as it ships (`dist.rs`).

mod codegen;
mod dist;
mod html;
/// The naming rule shared with `aws-models`, compiled here from its source so that the generator builds even when
/// the generated modules do not.
#[path = "../../aws-models/src/names.rs"]
#[allow(unreachable_pub)]
mod names;

use names::kebab;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["codegen"] => {
            let root = codegen::workspace_root();
            let written = codegen::run(&root)?;
            if written.is_empty() {
                println!("The generated models are up to date.");
            }
            for path in written {
                println!("Wrote {}", path.strip_prefix(&root).unwrap_or(&path).display());
            }
            Ok(())
        }
        ["dist"] => {
            let root = codegen::workspace_root();
            for (path, size) in dist::run(&root)? {
                println!("{} ({size} bytes)", path.strip_prefix(&root).unwrap_or(&path).display());
            }
            Ok(())
        }
        _ => bail!(
            "usage: cargo xtask codegen (regenerates crates/aws-models from models/botocore-*/)\n       cargo xtask \
             dist (target/dist/switchboard, stripped, and its switchboard.debug)"
        ),
    }
}

#[cfg(test)]
mod tests;
