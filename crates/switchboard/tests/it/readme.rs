//! The README's worked example, run as written: its code blocks are read from `README.md` here, so the README cannot
//! drift from what Switchboard does. The Python handler is written to `chat.py` in a fresh directory, the `switchboard
//! serve` command runs there (the real binary, on `127.0.0.1:0` instead of 4510), two WebSocket clients connect to
//! the `websocat` URL and chat through the handler's boto3 `post_to_connection`, the `export` lines must be the ones
//! `serve` printed, and the `ls` and `aws apigatewaymanagementapi` commands run in a shell with those variables
//! (the AWS CLI from the fixtures' pinned requirements). The only changes: the port, and the example connection id
//! replaced by a real one.
//!
//! The handler's Python gets boto3 through `SWITCHBOARD_FUNCTION_PYTHON` (the `pip install boto3` step); the test
//! skips, saying why, when Python or the package registry is unavailable.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::deps;
use crate::harness::*;

/// The fenced blocks of the README's section `heading`: (language, text).
fn blocks(heading: &str) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(deps::root().join("README.md")).unwrap();
    let start = readme.find(heading).unwrap_or_else(|| panic!("README has no section {heading}"));
    let section = &readme[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let mut out = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(language) = line.strip_prefix("```") {
            let text: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
            out.push((language.to_owned(), text.join("\n") + "\n"));
        }
    }
    out
}

/// A shell block's commands: continuation lines joined, comments and blank lines dropped.
fn commands(block: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let code = line.split(" #").next().unwrap_or_default().trim_end();
        if code.trim().is_empty() || code.trim_start().starts_with('#') {
            continue;
        }
        match code.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(code);
                out.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
                current.clear();
            }
        }
    }
    out
}

/// Whether a printed line is what a README line shows, `…` standing for any text.
fn shows(readme: &str, printed: &str) -> bool {
    let parts: Vec<&str> = readme.split('…').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    let Some(mut rest) = printed.strip_prefix(first) else { return false };
    if parts.len() == 1 {
        return rest.is_empty();
    }
    for part in &parts[1..parts.len() - 1] {
        let Some(at) = rest.find(part) else { return false };
        rest = &rest[at + part.len()..];
    }
    rest.ends_with(last)
}

/// `export A=1 B=2` → the pairs.
fn exported(line: &str) -> Vec<(String, String)> {
    let words = line.strip_prefix("export ").unwrap_or_default().split_whitespace();
    words.filter_map(|w| w.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// Runs `command` with `sh` in `dir` with only `env`; its standard output, or a panic with what it printed.
fn sh(command: &str, dir: &Path, env: &[(String, String)]) -> String {
    let output = Command::new("sh").arg("-c").arg(command).current_dir(dir).env_clear().envs(env.to_vec()).output();
    let output = output.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "`{command}` failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

fn members(dir: &Path, ls: &str, env: &[(String, String)]) -> Vec<String> {
    let mut ids: Vec<String> = sh(ls, dir, env).split_whitespace().map(str::to_owned).collect();
    ids.sort();
    ids
}

/// Waits until `ls` lists `n` members (a `$connect` or `$disconnect` ran).
async fn until_members(dir: &Path, ls: &str, env: &[(String, String)], n: usize) -> Vec<String> {
    for _ in 0..100 {
        let ids = members(dir, ls, env);
        if ids.len() == n {
            return ids;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("never {n} members: {:?}", members(dir, ls, env));
}

#[tokio::test]
async fn the_worked_example_runs_as_written() {
    let Some(boto3) = deps::boto3() else { return };
    let blocks = blocks("## Worked example: a chat backend in 20 lines");
    let [(python, handler), (sh1, serving), (sh2, workflow)] = &blocks[..] else {
        panic!("the worked example has a Python block and two shell blocks: {blocks:?}")
    };
    assert_eq!((python.as_str(), sh1.as_str(), sh2.as_str()), ("python", "sh", "sh"));
    let file = handler.lines().next().unwrap().trim_start_matches("# ").split_whitespace().next().unwrap();
    assert_eq!(file, "chat.py", "the handler's block names its file first");
    let project = tempfile::tempdir().unwrap();
    std::fs::write(project.path().join(file), handler).unwrap();

    let serving = commands(serving);
    let [pip, serve, websocat] = &serving[..] else { panic!("pip, serve and websocat: {serving:?}") };
    assert_eq!(pip, "pip install boto3", "the interpreter the test gives the function has what this installs");
    assert!(serve.starts_with("switchboard serve "), "{serve}");
    let url = websocat.strip_prefix("websocat ").unwrap();

    // `serve` as written, on a free port, with a fresh home (so its credentials are generated and printed).
    let home = tempfile::tempdir().unwrap();
    let python = deps::python_with(&[boto3]);
    let binary = Path::new(env!("CARGO_BIN_EXE_switchboard"));
    let path = format!("{}:{}", binary.parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {serve} --listen 127.0.0.1:0"))
        .current_dir(project.path())
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", &path)
        .env("SWITCHBOARD_FUNCTION_PYTHON", python.path().join("python3-with-packages"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Killed(child);
    let banner = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let done = line.starts_with("Try:");
            lines.push(line.trim().to_owned());
            if done {
                break;
            }
        }
        lines
    });
    let banner = tokio::time::timeout(Duration::from_secs(30), banner).await.unwrap().unwrap();
    let addr = banner[0].strip_prefix("Switchboard is listening on ").expect("the banner names the address");
    let local = |text: &str| text.replace("127.0.0.1:4510", addr);

    // The README's `export` lines are the ones serve printed, and the CLI gets their values.
    let workflow = commands(workflow);
    let readme_exports: Vec<&String> = workflow.iter().filter(|c| c.starts_with("export ")).collect();
    let printed_exports: Vec<&String> = banner.iter().filter(|l| l.starts_with("export ")).collect();
    assert_eq!(readme_exports.len(), printed_exports.len(), "{readme_exports:?} vs {printed_exports:?}");
    for (readme, printed) in readme_exports.iter().zip(&printed_exports) {
        assert!(shows(readme, printed), "the README shows `{readme}`, serve printed `{printed}`");
    }
    let mut env: Vec<(String, String)> = printed_exports.iter().flat_map(|l| exported(l)).collect();
    env.push(("HOME".to_owned(), home.path().display().to_string()));
    env.push(("PATH".to_owned(), format!("{}/bin:{path}", boto3.display())));
    env.push(("PYTHONPATH".to_owned(), boto3.display().to_string()));
    let ls = workflow.iter().find(|c| c.starts_with("ls ")).expect("the workflow lists the members");

    // Two clients chat: what one sends, both receive, through the handler's post_to_connection.
    let (mut alice, _) = tokio_tungstenite::connect_async(local(url)).await.unwrap();
    let alice_id = until_members(project.path(), ls, &env, 1).await.remove(0);
    let (mut bob, _) = tokio_tungstenite::connect_async(local(url)).await.unwrap();
    let ids = until_members(project.path(), ls, &env, 2).await;
    send_text(&mut alice, "hello bob").await;
    assert_eq!(recv_text(&mut bob).await, "hello bob");
    assert_eq!(recv_text(&mut alice).await, "hello bob");
    send_text(&mut bob, "hi alice").await;
    assert_eq!(recv_text(&mut alice).await, "hi alice");
    assert_eq!(recv_text(&mut bob).await, "hi alice");

    // The AWS CLI commands, as written, on Alice's connection.
    let cli: Vec<String> = workflow
        .iter()
        .filter(|c| c.starts_with("aws "))
        .map(|c| local(c).replace("L0SM9cOFvHcCIhw=", &alice_id))
        .collect();
    let [post, get, delete] = &cli[..] else { panic!("post, get and delete: {cli:?}") };
    sh(post, project.path(), &env);
    assert_eq!(recv_text(&mut alice).await, "Hello from API Gateway!");
    let connection: serde_json::Value = serde_json::from_str(&sh(get, project.path(), &env)).unwrap();
    assert!(connection["ConnectedAt"].is_string() && connection["Identity"]["SourceIp"] == "127.0.0.1", "{connection}");
    sh(delete, project.path(), &env);
    let (code, _) = recv_close(&mut alice).await;
    assert_eq!(code, 1000, "DeleteConnection closes Alice's socket normally");
    let bob_id = ids.into_iter().find(|id| *id != alice_id).unwrap();
    assert_eq!(until_members(project.path(), ls, &env, 1).await, [bob_id], "her $disconnect removed her");
}

/// The `serve` process, killed when the test ends however it ends.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn readme_lines_match_printed_lines_with_ellipses_as_wildcards() {
    assert!(shows("export A=SBAK… B=…", "export A=SBAK123 B=xyz"));
    assert!(shows("export R=us-east-1", "export R=us-east-1"));
    assert!(!shows("export R=us-east-1", "export R=us-east-1 X=1"));
    assert!(!shows("export A=SBAK… B=…", "export A=XBAK123 B=xyz"));
    assert!(!shows("export A=… B=…", "export A=1 C=2"));
    assert!(shows("a…c", "abbbc") && !shows("a…c", "abbbd"));
}
