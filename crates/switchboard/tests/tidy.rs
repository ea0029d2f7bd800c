//! The habits of this codebase, checked on every `cargo test`: each source file says its role in a `//!` line,
//! stays small, reads time through the clock tests can pause, locks with `parking_lot`, and spawns tasks only through
//! a tracker.
//!
//! Unused dependencies are found by `cargo shear` and licences and duplicate crates by `cargo deny`, both in `.ci/run`.

use std::path::{Path, PathBuf};

/// Longest hand-written source file, in lines; tests and generated code are exempt.
const MAX_LINES: usize = 600;

/// Crates that speak HTTP as a server (hyper), with the load generator's own test backend.
const HTTP_SERVER_CRATES: &[&str] = &["server", "bench", "switchboard", "test-support"];

/// Crates that neither do IO nor read a clock: their callers pass bytes and `now`.
const PURE_CRATES: &[&str] = &["wire", "sigv4", "yaml", "mapping"];

/// The load generator, exempt from the server's rules: it measures other processes in wall time
/// (`std::time::Instant`), and its tasks and locks live only as long as one measurement.
const LOAD_GENERATOR: &[&str] = &["crates/bench/"];

#[derive(Debug)]
struct Source {
    /// Relative to the workspace root, with `/` separators.
    path: String,
    text: String,
    /// Declared `#[cfg(test)] mod …;` by its parent module.
    test_module: bool,
}

impl Source {
    /// Test code: integration suites and their support crate, benches, examples, `tests.rs` modules, `tests/`
    /// folders and modules declared under `#[cfg(test)]`.
    fn is_test(&self) -> bool {
        let p = &self.path;
        self.test_module
            || p.starts_with("crates/test-support/")
            || p.contains("/tests/")
            || p.ends_with("/tests.rs")
            || p.contains("/benches/")
            || p.contains("/examples/")
    }

    /// Where the files of `mod name;` declared in this file live: `dir/name.rs` or `dir/name/…`.
    fn child_module_dir(&self, name: &str) -> String {
        let (dir, file) = self.path.rsplit_once('/').expect("a file in a folder");
        match file {
            "lib.rs" | "main.rs" | "mod.rs" => format!("{dir}/{name}"),
            _ => format!("{dir}/{}/{name}", file.trim_end_matches(".rs")),
        }
    }

    /// The module names this file declares under `#[cfg(test)]`.
    fn test_children(&self) -> Vec<&str> {
        let lines: Vec<&str> = self.text.lines().map(str::trim).collect();
        lines
            .windows(2)
            .filter(|pair| pair[0] == "#[cfg(test)]")
            .filter_map(|pair| pair[1].strip_prefix("mod ")?.strip_suffix(';'))
            .collect()
    }

    fn is_generated(&self) -> bool {
        self.text.lines().take(5).any(|line| line.contains("@generated"))
    }

    fn in_any(&self, prefixes: &[&str]) -> bool {
        prefixes.iter().any(|prefix| self.path.starts_with(prefix))
    }

    /// Lines of code outside `#[cfg(test)]` tails and comments, with their numbers.
    fn code_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        self.text
            .lines()
            .enumerate()
            .take_while(|(_, line)| line.trim() != "#[cfg(test)]")
            .filter(|(_, line)| !line.trim_start().starts_with("//"))
            .map(|(n, line)| (n + 1, line))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).expect("crates/switchboard sits two levels down").into()
}

fn sources() -> Vec<Source> {
    let root = workspace_root();
    let mut found = Vec::new();
    let mut stack = vec![root.join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|err| panic!("{}: {err}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                if path.file_name().is_some_and(|name| name != "target" && name != "node_modules") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
                let relative = path.strip_prefix(&root).expect("under the root").to_string_lossy().replace('\\', "/");
                found.push(Source { path: relative, text, test_module: false });
            }
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    let test_dirs: Vec<String> = found
        .iter()
        .flat_map(|s| s.test_children().into_iter().map(|name| s.child_module_dir(name)).collect::<Vec<_>>())
        .collect();
    for source in &mut found {
        let stem = source.path.trim_end_matches(".rs");
        source.test_module = test_dirs.iter().any(|dir| stem == dir || source.path.starts_with(&format!("{dir}/")));
    }
    assert!(found.len() > 50, "the walk found only {} files under {}", found.len(), root.display());
    found
}

/// Fails with every offence at once, so one run shows all there is to mend.
#[track_caller]
fn assert_none(rule: &str, offences: Vec<String>) {
    assert!(offences.is_empty(), "{rule}:\n  {}", offences.join("\n  "));
}

#[test]
fn every_file_opens_with_its_role() {
    let offences = sources()
        .into_iter()
        .filter(|s| !s.text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("//!")))
        .map(|s| s.path)
        .collect();
    assert_none("files whose first line is not a `//!` line saying what the file is for", offences);
}

#[test]
fn hand_written_files_stay_small() {
    let offences = sources()
        .into_iter()
        .filter(|s| !s.is_test() && !s.is_generated())
        .filter_map(|s| {
            let lines = s.text.lines().count();
            (lines > MAX_LINES).then(|| format!("{} has {lines} lines", s.path))
        })
        .collect();
    assert_none(&format!("files over {MAX_LINES} lines: split them by what they do"), offences);
}

/// The code lines of hand-written, non-test files outside `exempt` crates that match `rule`, as `path:line: text`.
fn offending_lines(exempt: &[&str], rule: fn(&str) -> bool) -> Vec<String> {
    sources()
        .iter()
        .filter(|s| !s.is_test() && !s.in_any(exempt))
        .flat_map(|s| {
            s.code_lines()
                .filter(|(_, line)| rule(line))
                .map(move |(n, line)| format!("{}:{n}: {}", s.path, line.trim()))
        })
        .collect()
}

#[test]
fn time_is_read_from_the_clock_tests_can_pause() {
    let offences = offending_lines(LOAD_GENERATOR, uses_std_instant);
    assert_none("`std::time::Instant` outside the benchmark: use `tokio::time::Instant`", offences);
}

#[test]
fn locks_are_parking_lot() {
    let offences = offending_lines(LOAD_GENERATOR, uses_std_lock);
    assert_none("`std::sync` or `tokio::sync` locks: use `parking_lot`, and hold it for a short section", offences);
}

#[test]
fn tasks_are_spawned_on_a_tracker() {
    let offences = offending_lines(LOAD_GENERATOR, untracked_spawn);
    assert_none("tasks spawned outside a `TaskTracker`: spawn them on the tracker shutdown waits for", offences);
}

/// A test that needs an external service reads its URL through `test_support::service_url` (and is
/// `#[ignore = "needs …"]`), so it can neither pass having checked nothing nor hide in a plain `cargo test`. Only
/// `test-support` and the examples (which are programs, not tests) read the variables themselves.
#[test]
fn service_tests_are_ignored_not_skipped() {
    let offences: Vec<String> = sources()
        .iter()
        .filter(|s| {
            !s.in_any(&["crates/test-support/", "crates/switchboard/examples/", "crates/switchboard/tests/tidy.rs"])
        })
        .flat_map(|s| {
            s.text
                .lines()
                .enumerate()
                .filter(|(_, line)| line.contains("env::var") && line.contains("SWITCHBOARD_TEST_"))
                .map(move |(n, line)| format!("{}:{}: {}", s.path, n + 1, line.trim()))
        })
        .collect();
    assert_none("a test reads a service variable itself: use `test_support::service_url` and `#[ignore]`", offences);
}

fn uses_std_instant(line: &str) -> bool {
    line.contains("std::time::Instant")
        || line
            .split("std::time::{")
            .nth(1)
            .is_some_and(|rest| rest.split('}').next().unwrap_or("").contains("Instant"))
}

/// A `Mutex` or `RwLock` of `std::sync` or `tokio::sync` (a tokio lock exists to be held across `.await`, which
/// no code here does).
fn uses_std_lock(line: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    ["std::sync::", "tokio::sync::"].iter().flat_map(|module| line.split(module).skip(1)).any(|rest| {
        match rest.strip_prefix('{') {
            Some(list) => list
                .split('}')
                .next()
                .unwrap_or("")
                .split(|c| !is_ident(c))
                .any(|name| name == "Mutex" || name == "RwLock"),
            None => matches!(rest.split(|c| !is_ident(c)).next(), Some("Mutex" | "RwLock")),
        }
    })
}

/// `tokio::spawn`, `tokio::task::spawn`, `spawn_local` and `std::thread::spawn`; `spawn_blocking` is awaited where it is
/// called, so it cannot outlive its caller.
fn untracked_spawn(line: &str) -> bool {
    ["tokio::spawn(", "task::spawn(", "spawn_local(", "thread::spawn("].iter().any(|call| line.contains(call))
}

/// Every crate's name and its manifest, parsed.
fn manifests() -> Vec<(String, toml::Table)> {
    let crates = workspace_root().join("crates");
    let mut found: Vec<_> = std::fs::read_dir(&crates)
        .expect("crates/")
        .map(|entry| entry.expect("directory entry").path().join("Cargo.toml"))
        .filter(|path| path.exists())
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("manifest");
            let table: toml::Table = text.parse().unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            let name = table["package"]["name"].as_str().expect("package.name").to_owned();
            (name, table)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// The names in a manifest's `[dependencies]` (not dev- or build-dependencies).
fn dependencies(manifest: &toml::Table) -> Vec<&str> {
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .map_or_else(Vec::new, |d| d.keys().map(String::as_str).collect())
}

#[test]
fn only_the_server_knows_http_servers() {
    let offences = manifests()
        .iter()
        .filter(|(name, _)| !HTTP_SERVER_CRATES.contains(&name.as_str()))
        .flat_map(|(name, manifest)| {
            dependencies(manifest)
                .into_iter()
                .filter(|dep| matches!(*dep, "hyper" | "hyper-util" | "axum" | "tower-http"))
                .map(move |dep| format!("{name} depends on {dep}"))
        })
        .collect();
    assert_none("HTTP servers outside the server crate: take `http` types and let the server call down", offences);
}

#[test]
fn pure_crates_do_no_io_and_read_no_clock() {
    let mut offences: Vec<String> = manifests()
        .iter()
        .filter(|(name, _)| PURE_CRATES.contains(&name.as_str()))
        .flat_map(|(name, manifest)| {
            dependencies(manifest)
                .into_iter()
                .filter(|dep| matches!(*dep, "tokio" | "reqwest" | "hyper" | "rand"))
                .map(move |dep| format!("{name} depends on {dep}"))
        })
        .collect();
    let prefixes: Vec<String> = PURE_CRATES.iter().map(|name| format!("crates/{name}/src/")).collect();
    for source in sources().iter().filter(|s| !s.is_test() && prefixes.iter().any(|p| s.path.starts_with(p.as_str()))) {
        for (n, line) in source.code_lines() {
            if ["::now(", "now_utc(", "std::fs", "std::net", "std::env"].iter().any(|call| line.contains(call)) {
                offences.push(format!("{}:{n}: {}", source.path, line.trim()));
            }
        }
    }
    assert_none("IO or clock reads in wire/sigv4: take bytes and `now` from the caller", offences);
}

#[test]
fn the_rules_recognise_what_they_forbid() {
    assert!(uses_std_instant("use std::time::{Duration, Instant};"));
    assert!(uses_std_instant("let t = std::time::Instant::now();"));
    assert!(!uses_std_instant("use tokio::time::Instant;"));
    assert!(!uses_std_instant("use std::time::{Duration, SystemTime};"));
    assert!(uses_std_lock("use std::sync::Mutex;"));
    assert!(uses_std_lock("use std::sync::{Arc, Mutex};"));
    assert!(uses_std_lock("let rx = Rc::new(tokio::sync::Mutex::new(rx));"));
    assert!(!uses_std_lock("use std::sync::Arc;"));
    assert!(!uses_std_lock("use std::sync::{Arc, MutexGuard};"));
    assert!(!uses_std_lock("use tokio::sync::mpsc;"));
    assert!(untracked_spawn("        tokio::spawn(async move {"));
    assert!(untracked_spawn("let h = tokio::task::spawn(fut);"));
    assert!(!untracked_spawn("state.tasks.spawn(async move {"));
    assert!(!untracked_spawn("tokio::task::spawn_blocking(move || work()).await"));
    let source = |path: &str, text: &str| Source { path: path.into(), text: text.into(), test_module: false };
    let lib = source("crates/x/src/lib.rs", "//! X.\nfn a() {}\n#[cfg(test)]\nmod t {}\n");
    assert_eq!(lib.code_lines().map(|(n, _)| n).collect::<Vec<_>>(), vec![2]);
    assert!(source("crates/x/src/tests.rs", "").is_test());
    assert!(source("crates/x/src/a.rs", "//! A.\n// @generated by xtask\n").is_generated());
    let session =
        source("crates/x/src/session.rs", "//! S.\n#[cfg(test)]\nmod tests;\n#[cfg(test)]\nmod suite;\nmod real;\n");
    assert_eq!(session.test_children(), ["tests", "suite"]);
    assert_eq!(session.child_module_dir("suite"), "crates/x/src/session/suite");
    assert_eq!(lib.child_module_dir("behaviour"), "crates/x/src/behaviour");
    let names: Vec<String> = manifests().into_iter().map(|(name, _)| name).collect();
    for name in PURE_CRATES.iter().chain(["server", "hub"].iter()) {
        assert!(names.iter().any(|n| n == name), "{name} not found among {names:?}");
    }
    assert!(dependencies(&manifests().into_iter().find(|(n, _)| n == "server").expect("server").1).contains(&"hyper"));
}
