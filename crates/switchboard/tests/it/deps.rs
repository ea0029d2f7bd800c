//! The packages the Python and Node fixtures need, installed by the suite from the project's own files, once per run
//! and cached between runs: `pip install --no-deps --target target/fixtures/python/{name} -r {requirements}` (every
//! package pinned there) and `npm ci` in `tests/fixtures/lambda-node`, `tests/fixtures/ivs-chat-client` and
//! `tests/fixtures/console` (their lock files). A cached install is reused while a copy of the file it was made
//! from, kept beside it, is unchanged.
//!
//! A test skips, printing why, when the interpreter or the installer is missing or when the package registry is
//! unreachable (the installer's output says so); any other install failure fails the test with the output.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Whether `program --version` runs; prints why the test skips when not.
pub fn installed(program: &str) -> bool {
    let found = Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: {program} is not installed");
    }
    found
}

/// What an installer's output says when the registry could not be reached.
const UNREACHABLE: &[&str] = &[
    "NewConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "Connection refused",
    "ProxyError",
    "Could not fetch URL",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ECONNRESET",
    "ETIMEDOUT",
    "ENETUNREACH",
    "EHOSTUNREACH",
];

/// Runs an installer: `Ok` when it succeeded, `Err(reason)` to skip when the registry is unreachable; panics on any
/// other failure.
fn run_installer(what: &str, command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|err| format!("cannot run the installer of {what}: {err}"))?;
    if output.status.success() {
        return Ok(());
    }
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if UNREACHABLE.iter().any(|sign| text.contains(sign)) {
        return Err(format!("the package registry is unreachable, so {what} cannot be installed:\n{text}"));
    }
    panic!("installing {what} failed:\n{text}");
}

/// A cached install in `dir` made from `source` (whose copy `dir/.source` marks it complete), made by `install`
/// into a fresh directory renamed over `dir`.
fn cached(dir: &Path, source: &Path, install: impl FnOnce(&Path) -> Result<(), String>) -> Result<PathBuf, String> {
    let wanted = std::fs::read(source).unwrap();
    if std::fs::read(dir.join(".source")).is_ok_and(|had| had == wanted) {
        return Ok(dir.to_owned());
    }
    let fresh = dir.with_extension(format!("new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh).unwrap();
    if let Err(reason) = install(&fresh) {
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(reason);
    }
    std::fs::write(fresh.join(".source"), wanted).unwrap();
    let _ = std::fs::remove_dir_all(dir);
    std::fs::rename(&fresh, dir).unwrap();
    Ok(dir.to_owned())
}

/// `target/fixtures/python/{name}` holding the packages of `tests/fixtures/lambda-python/{requirements}`.
fn pip(name: &str, requirements: &str) -> Result<PathBuf, String> {
    if !installed("python3") {
        return Err("python3 is not installed".to_owned());
    }
    let pip_works = Command::new("python3").args(["-m", "pip", "--version"]).output().is_ok_and(|o| o.status.success());
    if !pip_works {
        return Err("python3 has no pip".to_owned());
    }
    let source = fixtures().join("lambda-python").join(requirements);
    let dir = root().join("target/fixtures/python").join(name);
    cached(&dir, &source, |fresh| {
        let mut command = Command::new("python3");
        command
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-cache-dir", "--no-deps"])
            .args(["--retries", "1", "--timeout", "20", "--target"])
            .arg(fresh)
            .arg("-r")
            .arg(&source)
            .env("PIP_ROOT_USER_ACTION", "ignore");
        run_installer(&format!("the packages of {requirements}"), &mut command)
    })
}

/// The directory holding boto3 and the AWS CLI (`PYTHONPATH`; the CLI is `{dir}/bin/aws`), or why the test skips.
pub fn boto3() -> Option<&'static Path> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    skip_unless(DIR.get_or_init(|| pip("boto3", "requirements.txt")))
}

/// The directory holding awslambdaric (`PYTHONPATH`), or why the test skips.
pub fn awslambdaric() -> Option<&'static Path> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    skip_unless(DIR.get_or_init(|| pip("awslambdaric", "requirements-awslambdaric.txt")))
}

/// `tests/fixtures/lambda-node` with its `node_modules` installed by `npm ci`, or why the test skips.
pub fn node_fixture() -> Option<&'static Path> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    skip_unless(DIR.get_or_init(|| npm_ci("lambda-node")))
}

/// `tests/fixtures/ivs-chat-client` (the official IVS chat client and `ws`) installed by `npm ci`, or why the test
/// skips.
pub fn ivs_chat_client() -> Option<&'static Path> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    skip_unless(DIR.get_or_init(|| npm_ci("ivs-chat-client")))
}

/// `tests/fixtures/console` (Playwright's library, driving Debian's Chromium) with its `node_modules` installed by
/// `npm ci`, or why the test skips.
pub fn console_fixture() -> Option<&'static Path> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    skip_unless(DIR.get_or_init(|| npm_ci("console")))
}

/// `npm ci` in `tests/fixtures/{name}`, unless its `node_modules` was installed from the same lock file.
fn npm_ci(name: &str) -> Result<PathBuf, String> {
    if !installed("node") || !installed("npm") {
        return Err("node and npm are needed".to_owned());
    }
    let fixture = fixtures().join(name);
    let lock = fixture.join("package-lock.json");
    let stamp = fixture.join("node_modules/.switchboard-lock");
    let wanted = std::fs::read(&lock).unwrap();
    if std::fs::read(&stamp).is_ok_and(|had| had == wanted) {
        return Ok(fixture);
    }
    let cache = root().join("target/fixtures/npm-cache");
    let mut command = Command::new("npm");
    command
        .args(["ci", "--no-audit", "--no-fund", "--fetch-retries", "1", "--cache"])
        .arg(&cache)
        .current_dir(&fixture);
    run_installer(&format!("the {name} fixture's packages"), &mut command)?;
    std::fs::write(&stamp, wanted).unwrap();
    Ok(fixture)
}

fn skip_unless(result: &'static Result<PathBuf, String>) -> Option<&'static Path> {
    match result {
        Ok(dir) => Some(dir),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            None
        }
    }
}

/// An executable script `python3-with-packages` in a new directory that runs the machine's `python3` with `dirs` on its
/// `PYTHONPATH` (and no bytecode written beside the fixtures' sources): the interpreter a server's functions get
/// through `--function-python`.
pub fn python_with(dirs: &[&Path]) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let path = std::env::join_paths(dirs).unwrap();
    let script = format!(
        "#!/bin/sh\nPYTHONPATH='{}'\"${{PYTHONPATH:+:$PYTHONPATH}}\" PYTHONDONTWRITEBYTECODE=1 exec python3 \"$@\"\n",
        path.to_string_lossy()
    );
    let file = bin.path().join("python3-with-packages");
    std::fs::write(&file, script).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}
