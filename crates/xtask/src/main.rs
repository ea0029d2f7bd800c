//! `cargo xtask <task>`: the project's auxiliary commands that plain `cargo` cannot express. For now one task,
//! `codegen`, which regenerates `crates/aws-models` from the botocore models vendored under `models/`.

mod codegen;
mod html;

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
        _ => bail!("usage: cargo xtask codegen (regenerates crates/aws-models from models/botocore-*/)"),
    }
}

/// botocore's `xform_name(name, '-')`: `roomIdentifier` → `room-identifier`, `ConnectionId` → `connection-id`.
pub(crate) fn kebab(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower) {
                out.push('-');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[cfg(test)]
mod tests;
