//! The Lambda API of hosted functions through clients nobody in this project wrote: the official
//! `aws-sdk-lambda`, and the AWS CLI and boto3 (the machine's, else installed from `fixtures/aws-clients`; the test
//! says why and skips when neither can be had),
//! against the `lambda_runtime` fixture (`tests/fixtures/lambda-rust`) hosted as a `provided.al2023` function.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine;
use serde_json::{Value, json};

use crate::functions::code_dir;
use crate::harness::*;

pub(crate) fn sdk(server: &TestServer) -> Client {
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(AKID, SECRET, None, None, "test"))
        .endpoint_url(server.url(""))
        .build();
    Client::from_conf(config)
}

/// `[[functions]]`: the fixture as `echo` (1 s timeout) and as `reserved`, which reserves no concurrency at all.
fn functions_toml(dir: &Path) -> String {
    format!(
        r#"
        [[functions]]
        name = "echo"
        runtime = "provided.al2023"
        handler = "bootstrap"
        code = "{dir}"
        timeout = 1
        memory_size = 256
        environment = {{ STAGE = "test" }}

        [[functions]]
        name = "reserved"
        runtime = "provided.al2023"
        handler = "bootstrap"
        code = "{dir}"
        reserved_concurrency = 0
        "#,
        dir = dir.display()
    )
}

fn payload_json(payload: Option<&Blob>) -> Value {
    serde_json::from_slice(payload.expect("a payload").as_ref()).unwrap()
}

#[tokio::test]
async fn the_sdk_invokes_describes_and_lists_hosted_functions() {
    let Some(code) = code_dir("1") else { return };
    let server = TestServer::start(&functions_toml(code.path()), |_| {}).await;
    let sdk = sdk(&server);

    let payload = json!({"echo": {"a": 1}, "print": "hello from the function"});
    let out = sdk
        .invoke()
        .function_name("echo")
        .log_type(LogType::Tail)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!((out.status_code(), out.executed_version(), out.function_error()), (200, Some("$LATEST"), None));
    let answer = payload_json(out.payload());
    assert_eq!(answer["echo"], json!({"a": 1}));
    assert_eq!(answer["arn"], "arn:aws:lambda:us-east-1:000000000000:function:echo");
    let log = base64::engine::general_purpose::STANDARD.decode(out.log_result().unwrap()).unwrap();
    let log = String::from_utf8(log).unwrap();
    let request_id = answer["requestId"].as_str().unwrap();
    assert!(log.starts_with(&format!("START RequestId: {request_id} Version: $LATEST\n")), "{log}");
    assert!(log.contains("hello from the function\n"), "{log}");
    assert!(log.contains(&format!("END RequestId: {request_id}\nREPORT RequestId: {request_id}\t")), "{log}");

    // A full ARN with a qualifier, a partial ARN with `Qualifier`.
    let arn = "arn:aws:lambda:us-east-1:000000000000:function:echo:live";
    let out = sdk.invoke().function_name(arn).send().await.unwrap();
    assert_eq!(
        payload_json(out.payload())["arn"],
        arn,
        "an empty payload is {{}} and the qualifier reaches the runtime"
    );
    let out = sdk.invoke().function_name("000000000000:function:echo").qualifier("7").send().await.unwrap();
    assert_eq!(payload_json(out.payload())["arn"], "arn:aws:lambda:us-east-1:000000000000:function:echo:7");

    // Function errors: a handled one and a timeout answer 200 with X-Amz-Function-Error and the error document.
    let failed = sdk.invoke().function_name("echo").payload(Blob::new(r#"{"fail":"nope"}"#)).send().await.unwrap();
    assert_eq!((failed.status_code(), failed.function_error()), (200, Some("Unhandled")));
    assert_eq!(payload_json(failed.payload())["errorMessage"], "nope");
    let slow = sdk.invoke().function_name("echo").payload(Blob::new(r#"{"sleep":3000}"#)).send().await.unwrap();
    assert_eq!(slow.function_error(), Some("Unhandled"));
    let timed_out = payload_json(slow.payload());
    assert_eq!(timed_out["errorType"], "Sandbox.Timedout", "{timed_out}");

    // Event: 202 at once, the function runs in the background.
    let marker = server.data_dir().path().join("event-ran");
    let event = json!({"touch": marker.display().to_string(), "sleep": 200});
    let accepted = sdk
        .invoke()
        .function_name("echo")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!((accepted.status_code(), accepted.payload().map(|p| p.as_ref().len()).unwrap_or(0)), (202, 0));
    assert!(!marker.exists(), "accepted before it ran");
    let mut waited = 0;
    while !marker.exists() && waited < 100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert_eq!(serde_json::from_str::<Value>(&std::fs::read_to_string(&marker).unwrap()).unwrap(), event);
    let dry = sdk.invoke().function_name("echo").invocation_type(InvocationType::DryRun).send().await.unwrap();
    assert_eq!(dry.status_code(), 204);

    // Service errors, typed.
    let missing = sdk.invoke().function_name("nope").send().await.unwrap_err().into_service_error();
    assert!(missing.is_resource_not_found_exception(), "{missing:?}");
    let throttled = sdk.invoke().function_name("reserved").send().await.unwrap_err().into_service_error();
    let aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(throttled) = throttled else {
        panic!("{throttled:?}")
    };
    assert_eq!(throttled.reason().map(|r| r.as_str()), Some("ReservedFunctionConcurrentInvocationLimitExceeded"));
    let bad = sdk.invoke().function_name("echo").payload(Blob::new("{nope")).send().await.unwrap_err();
    assert!(bad.into_service_error().is_invalid_request_content_exception());

    // GetFunction and ListFunctions, paginated.
    let function = sdk.get_function().function_name("echo").send().await.unwrap();
    let configuration = function.configuration().unwrap();
    assert_eq!(configuration.function_name(), Some("echo"));
    assert_eq!(configuration.function_arn(), Some("arn:aws:lambda:us-east-1:000000000000:function:echo"));
    assert_eq!(configuration.runtime().map(|r| r.as_str()), Some("provided.al2023"));
    assert_eq!((configuration.timeout(), configuration.memory_size()), (Some(1), Some(256)));
    assert_eq!(configuration.state().map(|s| s.as_str()), Some("Active"));
    let variables = configuration.environment().and_then(|e| e.variables()).unwrap();
    assert_eq!(variables.get("STAGE").map(String::as_str), Some("test"));
    let reserved = sdk.get_function().function_name("reserved").send().await.unwrap();
    assert_eq!(reserved.concurrency().and_then(|c| c.reserved_concurrent_executions()), Some(0));
    let names: Vec<String> = sdk
        .list_functions()
        .max_items(1)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.function_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["echo", "reserved"]);
    let gone = sdk.get_function().function_name("nope").send().await.unwrap_err().into_service_error();
    assert!(gone.is_resource_not_found_exception());

    // A client without the server's keys is refused.
    let stranger = Client::from_conf(
        sdk.config().to_builder().credentials_provider(Credentials::new(AKID, "wrong", None, None, "t")).build(),
    );
    let refused = stranger.invoke().function_name("echo").send().await.unwrap_err();
    assert_eq!(refused.raw_response().map(|r| r.status().as_u16()), Some(403));
    server.shutdown().await;
}

/// Where `python3` finds the AWS CLI and boto3: the machine's own (`Some(None)`), else a directory they were
/// installed into once from `tests/it/fixtures/aws-clients/requirements.txt`; `None` (said why) when neither works.
fn aws_clients() -> Option<&'static Option<PathBuf>> {
    static CLIENTS: OnceLock<Option<Option<PathBuf>>> = OnceLock::new();
    let importable = |path: Option<&Path>| {
        let mut command = std::process::Command::new("python3");
        command.args(["-c", "import awscli, boto3"]);
        if let Some(path) = path {
            command.env("PYTHONPATH", path);
        }
        command.output().is_ok_and(|o| o.status.success())
    };
    CLIENTS
        .get_or_init(|| {
            if importable(None) {
                return Some(None);
            }
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
            let target = root.join("target/fixtures/aws-clients");
            if !importable(Some(&target)) {
                let requirements = root.join("crates/switchboard/tests/it/fixtures/aws-clients/requirements.txt");
                let installed = std::process::Command::new("python3")
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--root-user-action=ignore",
                        "--target",
                    ])
                    .arg(&target)
                    .arg("-r")
                    .arg(&requirements)
                    .output();
                if let Ok(output) = &installed
                    && !output.status.success()
                {
                    eprintln!(
                        "skipped: cannot install the AWS CLI and boto3: {}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
            }
            if importable(Some(&target)) {
                Some(Some(target))
            } else {
                eprintln!("skipped: python3 with the AWS CLI and boto3 is not available");
                None
            }
        })
        .as_ref()
}

/// The AWS CLI (`aws lambda invoke … outfile`, `list-functions`) and boto3, as a user runs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_and_boto3_invoke_hosted_functions() {
    let Some(code) = code_dir("1") else { return };
    let Some(pythonpath) = tokio::task::block_in_place(aws_clients) else { return };
    let server = TestServer::start(&functions_toml(code.path()), |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = server.url("");
    let python = |args: &[&str]| {
        let mut command = std::process::Command::new("python3");
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("AWS_ACCESS_KEY_ID", AKID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_DEFAULT_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("ENDPOINT", &endpoint);
        if let Some(path) = pythonpath {
            command.env("PYTHONPATH", path);
        }
        let output = tokio::task::block_in_place(|| command.output()).unwrap();
        assert!(output.status.success(), "python3 {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };

    // The AWS CLI (version 1: blobs are sent as written).
    let outfile = dir.path().join("out.json");
    let printed = python(&[
        "-m",
        "awscli",
        "lambda",
        "invoke",
        "--endpoint-url",
        &endpoint,
        "--function-name",
        "echo",
        "--payload",
        r#"{"echo":"from the aws cli"}"#,
        "--log-type",
        "Tail",
        outfile.to_str().unwrap(),
    ]);
    assert_eq!((&printed["StatusCode"], &printed["ExecutedVersion"]), (&json!(200), &json!("$LATEST")));
    let log = base64::engine::general_purpose::STANDARD.decode(printed["LogResult"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8(log).unwrap().contains("REPORT RequestId: "), "{printed}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&outfile).unwrap()).unwrap();
    assert_eq!(written["echo"], "from the aws cli");
    let listed = python(&["-m", "awscli", "lambda", "list-functions", "--endpoint-url", &endpoint, "--max-items", "1"]);
    assert_eq!(listed["Functions"][0]["FunctionName"], "echo");
    assert!(listed["NextToken"].is_string(), "the CLI pages with its own token over Marker: {listed}");
    // The project's command line pages as the AWS CLI does, to the same answer and token, and resumes from it.
    let ours = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["lambda", "list-functions", "--endpoint-url", &endpoint, "--region", REGION])
            .args(args)
            .env_clear()
            .env("HOME", dir.path())
            .env("AWS_ACCESS_KEY_ID", AKID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    assert_eq!(tokio::task::block_in_place(|| ours(&["--max-items", "1"])), listed);
    let token = listed["NextToken"].as_str().unwrap();
    let rest =
        tokio::task::block_in_place(|| ours(&["--starting-token", token, "--query", "Functions[].FunctionName"]));
    assert_eq!(rest, json!(["reserved"]));

    // boto3.
    let script = r#"
import json, os, boto3
client = boto3.client("lambda", endpoint_url=os.environ["ENDPOINT"])
answer = client.invoke(FunctionName="echo", Payload=json.dumps({"echo": "from boto3"}))
failed = client.invoke(FunctionName="echo", Payload=b'{"fail": "boto3 failure"}')
event = client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
try:
    client.invoke(FunctionName="nope")
    missing = None
except client.exceptions.ResourceNotFoundException as err:
    missing = err.response["Error"]["Code"]
print(json.dumps({
    "status": answer["StatusCode"],
    "payload": json.loads(answer["Payload"].read()),
    "error": failed.get("FunctionError"),
    "errorPayload": json.loads(failed["Payload"].read()),
    "event": event["StatusCode"],
    "missing": missing,
    "functions": [f["FunctionName"] for f in client.list_functions()["Functions"]],
}))
"#;
    let printed = python(&["-c", script]);
    assert_eq!(printed["status"], 200);
    assert_eq!(printed["payload"]["echo"], "from boto3");
    assert_eq!(printed["error"], "Unhandled");
    assert_eq!(printed["errorPayload"]["errorMessage"], "boto3 failure");
    assert_eq!(printed["event"], 202);
    assert_eq!(printed["missing"], "ResourceNotFoundException");
    assert_eq!(printed["functions"], json!(["echo", "reserved"]));
    server.shutdown().await;
}

/// `switchboard lambda …`: the project's own command line, model-driven, with the AWS CLI's `outfile`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switchboard_lambda_invoke_writes_the_payload_to_its_outfile() {
    let Some(code) = code_dir("1") else { return };
    let server = TestServer::start(&functions_toml(code.path()), |_| {}).await;
    let dir = tempfile::tempdir().unwrap();
    let endpoint = server.url("");
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("lambda")
            .args(args)
            .args(["--endpoint-url", &endpoint, "--region", REGION])
            .env_clear()
            .env("HOME", dir.path())
            .env("AWS_ACCESS_KEY_ID", AKID)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap();
        (output.status.code(), String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };
    let outfile = dir.path().join("answer.json");
    let (code, stdout, stderr) = tokio::task::block_in_place(|| {
        run(&["invoke", "--function-name", "echo", "--payload", r#"{"echo":[1,2]}"#, outfile.to_str().unwrap()])
    });
    assert_eq!((code, stderr.as_str()), (Some(0), ""), "{stdout}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap(),
        json!({"StatusCode": 200, "ExecutedVersion": "$LATEST"})
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&outfile).unwrap()).unwrap();
    assert_eq!(written["echo"], json!([1, 2]));

    let (code, stdout, _) = tokio::task::block_in_place(|| {
        run(&["invoke", "--function-name", "echo", "--payload", r#"{"fail":"cli"}"#, outfile.to_str().unwrap()])
    });
    assert_eq!(code, Some(0));
    assert_eq!(serde_json::from_str::<Value>(&stdout).unwrap()["FunctionError"], "Unhandled");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&outfile).unwrap()).unwrap();
    assert_eq!(written["errorMessage"], "cli");

    let (code, _, stderr) =
        tokio::task::block_in_place(|| run(&["invoke", "--function-name", "nope", outfile.to_str().unwrap()]));
    assert_eq!(code, Some(254));
    assert!(stderr.contains("ResourceNotFoundException"), "{stderr}");
    let (code, stdout, _) =
        tokio::task::block_in_place(|| run(&["list-functions", "--query", "Functions[].FunctionName"]));
    assert_eq!((code, serde_json::from_str::<Value>(&stdout).unwrap()), (Some(0), json!(["echo", "reserved"])));
    // Every page, one function a call; and with --no-paginate, one call and the service's own token.
    let (code, stdout, _) = tokio::task::block_in_place(|| {
        run(&["list-functions", "--page-size", "1", "--query", "[Functions[].FunctionName, NextMarker]"])
    });
    assert_eq!((code, serde_json::from_str::<Value>(&stdout).unwrap()), (Some(0), json!([["echo", "reserved"], null])));
    let (code, stdout, _) =
        tokio::task::block_in_place(|| run(&["list-functions", "--no-paginate", "--max-items", "1"]));
    let one: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((code, one["Functions"].as_array().map(Vec::len)), (Some(0), Some(1)), "{one}");
    assert!(one["NextMarker"].is_string() && one.get("NextToken").is_none(), "{one}");
    let (code, _, stderr) =
        tokio::task::block_in_place(|| run(&["list-functions", "--no-paginate", "--starting-token", "x"]));
    assert_eq!(code, Some(252));
    assert!(
        stderr.contains("Cannot specify --no-paginate along with pagination arguments: --starting-token"),
        "{stderr}"
    );
    server.shutdown().await;
}
