//! Every target replays its seed corpus (`corpus/<target>/`) and its regressions (`regressions/<target>/`, inputs
//! that once crashed it) on a plain `cargo test`: the fuzzers' checks, run on known inputs without libFuzzer.

use std::path::{Path, PathBuf};

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.expect("a directory entry").path()).collect();
    files.sort();
    files
}

fn replay(target: &fuzz::Target, files: &[PathBuf]) {
    for file in files {
        let data = std::fs::read(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        let outcome = std::panic::catch_unwind(|| (target.run)(&data));
        assert!(outcome.is_ok(), "target {} failed on {}", target.name, file.display());
    }
}

#[test]
fn every_target_has_a_seed_corpus_and_every_corpus_a_target() {
    for target in fuzz::TARGETS {
        assert!(inputs("corpus", target.name).len() >= 3, "corpus/{} needs seeds", target.name);
    }
    for kind in ["corpus", "regressions"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(kind);
        for entry in std::fs::read_dir(&dir).into_iter().flatten() {
            let name = entry.expect("a directory entry").file_name().to_string_lossy().into_owned();
            assert!(fuzz::TARGETS.iter().any(|t| t.name == name), "{kind}/{name} belongs to no target");
        }
    }
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    for target in fuzz::TARGETS {
        assert!(manifest.contains(&format!("name = \"{}\"", target.name)), "no [[bin]] for {}", target.name);
    }
}

macro_rules! replays {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let target = fuzz::TARGETS.iter().find(|t| t.name == stringify!($name)).expect("a target");
            replay(target, &inputs("corpus", target.name));
            replay(target, &inputs("regressions", target.name));
        }
    )*};
}

replays!(
    sigv4,
    selection,
    chat_frame,
    chat_token,
    cli_shorthand,
    cli_yaml,
    ivschat_control,
    apigatewayv2_control,
    management_path,
    mapping,
    websocket,
    template,
);
