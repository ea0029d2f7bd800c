//! The Runtime API over real HTTP, spoken by a runtime client nobody in this crate wrote: a Python 3 script using
//! only the standard library (`urllib`), as a `provided.al2023` function's `bootstrap`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use functions::{FunctionRef, FunctionSpec, Functions, Invoke, Runtime, Settings};
use serde_json::Value;
use tasks::Background;

use super::RuntimeApiListeners;

const CLIENT: &str = r#"#!/usr/bin/env python3
import json, os, urllib.request, urllib.error

api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = f"http://{api}/2018-06-01/runtime"

def call(method, url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()

if os.environ.get("MODE") == "init-error":
    document = json.dumps({"errorMessage": "no handler", "errorType": "Runtime.ImportModuleError"}).encode()
    status, _, _ = call("POST", f"{base}/init/error", document)
    print("init error answered", status, flush=True)
    raise SystemExit(1)

while True:
    status, headers, body = call("GET", f"{base}/invocation/next")
    if status != 200:
        raise SystemExit(f"next answered {status}")
    rid = headers["Lambda-Runtime-Aws-Request-Id"]
    event = json.loads(body)
    do = event.get("do")
    if do == "error":
        call("POST", f"{base}/invocation/{rid}/error", b"", {"Lambda-Runtime-Function-Error-Type": "Function.Oops"})
    elif do == "big":
        status, _, body = call("POST", f"{base}/invocation/{rid}/response", b"x" * (6 * 1024 * 1024 + 1))
        print("big answered", status, body.decode(), flush=True)
    else:
        probes = {
            "wrong_id": call("POST", f"{base}/invocation/not-{rid}/response", b"{}")[0],
            "init_error_late": call("POST", f"{base}/init/error", b"{}")[0],
            "unknown": call("GET", f"{base}/unknown")[0],
        }
        answer = {
            "headers": {k.lower(): v for k, v in headers.items() if k.lower().startswith("lambda-runtime-")},
            "probes": probes,
            "event": event,
            "env": {k: os.environ.get(k) for k in ["AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "TZ", "HOME"]},
        }
        # Without the version prefix, as some clients build it.
        status, _, body = call("POST", f"http://{api}/runtime/invocation/{rid}/response", json.dumps(answer).encode())
        print("answered", status, body.decode(), flush=True)
"#;

fn host(dir: &Path, mode: &str) -> Functions {
    use std::os::unix::fs::PermissionsExt;
    let bootstrap = dir.join("bootstrap");
    std::fs::write(&bootstrap, CLIENT).unwrap();
    std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
    let spec = FunctionSpec {
        name: "py".to_owned(),
        runtime: Runtime::parse("provided.al2023").unwrap(),
        handler: "main".to_owned(),
        code_dir: dir.to_owned(),
        environment: [("MODE".to_owned(), mode.to_owned())].into_iter().collect(),
        timeout: Duration::from_secs(10),
        memory_mb: 256,
        reserved_concurrency: None,
    };
    let settings = Settings::new(dir.join("functions"), "eu-west-1", "123456789012", "http://127.0.0.1:1");
    let listeners = RuntimeApiListeners { background: Background::new() };
    Functions::new(vec![spec], settings, Arc::new(listeners)).unwrap()
}

fn python_available() -> bool {
    let found = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: python3 is not installed");
    }
    found
}

#[tokio::test]
async fn a_runtime_client_gets_events_headers_and_aws_answers() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let functions = host(dir.path(), "serve");
    let target = FunctionRef::parse("py:live").unwrap();
    let answer = functions.invoke(&target, Bytes::from_static(br#"{"do":"probe"}"#)).await.unwrap();
    let answer: Value = serde_json::from_slice(&answer).unwrap();
    assert_eq!(answer["event"]["do"], "probe");
    let headers = &answer["headers"];
    assert_eq!(
        headers["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:eu-west-1:123456789012:function:py:live"
    );
    assert_eq!(headers["lambda-runtime-aws-request-id"].as_str().unwrap().len(), 36);
    assert!(headers["lambda-runtime-deadline-ms"].as_str().unwrap().parse::<i64>().is_ok());
    assert!(headers["lambda-runtime-trace-id"].as_str().unwrap().starts_with("Root=1-"));
    assert_eq!(answer["probes"], serde_json::json!({"wrong_id": 400, "init_error_late": 403, "unknown": 404}));
    assert_eq!(answer["env"]["AWS_LAMBDA_FUNCTION_NAME"], "py");
    assert_eq!(answer["env"]["_HANDLER"], "main");
    assert_eq!(answer["env"]["TZ"], ":UTC");
    assert_eq!(answer["env"]["HOME"], Value::Null, "the server's environment is not inherited");

    let failed = functions.invoke(&target, Bytes::from_static(br#"{"do":"error"}"#)).await.unwrap_err();
    assert_eq!(failed.error_type(), "Function.Oops");
    let big = functions.invoke(&target, Bytes::from_static(br#"{"do":"big"}"#)).await.unwrap_err();
    assert_eq!(big.error_type(), "Function.ResponseSizeTooLarge");
    functions.invoke(&target, Bytes::from_static(br#"{"do":"probe"}"#)).await.unwrap();
    assert_eq!(functions.environments("py"), 1, "one warm environment served them all");
    assert!(functions.shutdown(Duration::from_secs(5)).await);
    let log = std::fs::read_to_string(dir.path().join("functions/py.log")).unwrap();
    for line in [
        "answered 202 {\"status\":\"OK\"}",
        "big answered 413",
        "RequestEntityTooLarge",
        "START RequestId:",
        "REPORT RequestId:",
        "Max Memory Used: ",
    ] {
        assert!(log.contains(line), "{line} in {log}");
    }
}

#[tokio::test]
async fn an_init_error_answers_the_invocation() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let functions = host(dir.path(), "init-error");
    let err = functions.invoke(&FunctionRef::parse("py").unwrap(), Bytes::from_static(b"{}")).await.unwrap_err();
    assert_eq!(err.error_type(), "Runtime.ImportModuleError");
    // The runtime exits by itself after reporting, as the Runtime API asks it to.
    for _ in 0..100 {
        if functions.environments("py") == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(functions.environments("py"), 0);
    assert!(functions.shutdown(Duration::from_secs(5)).await);
    let log = std::fs::read_to_string(dir.path().join("functions/py.log")).unwrap();
    assert!(log.contains("init error answered 202"), "{log}");
}

#[test]
fn paths_name_resources_whatever_precedes_them() {
    use super::{Resource, resource};
    assert_eq!(resource("/2018-06-01/runtime/invocation/next"), Some(Resource::Next));
    assert_eq!(resource("/runtime/invocation/next"), Some(Resource::Next));
    assert_eq!(resource("/2018-06-01/runtime/invocation/abc/response"), Some(Resource::Response("abc")));
    assert_eq!(resource("/x/runtime/invocation/abc/error/"), Some(Resource::Error("abc")));
    assert_eq!(resource("/2018-06-01/runtime/init/error"), Some(Resource::InitError));
    for other in ["/", "/2018-06-01/runtime/invocation//response", "/runtime/invocation/a/b/response", "/runtime/x"] {
        assert_eq!(resource(other), None, "{other}");
    }
}
