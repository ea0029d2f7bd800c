//! Switchboard's own runtime clients (`crates/functions/runtimes/`) over the real Runtime API, held to what the
//! official clients do: the handler names and module kinds they load, the `context` they pass, the error documents
//! they post (on `/init/error` and on an invocation's `/error`), callback and async handlers, uncaught exceptions,
//! and their log lines. Each test skips, saying so, when `python3` or `node` is not installed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use functions::{FunctionRef, FunctionSpec, Functions, Invoke, InvokeError, Runtime, Settings};
use serde_json::{Value, json};
use tasks::Background;

use super::RuntimeApiListeners;

fn installed(program: &str) -> bool {
    let found = std::process::Command::new(program).arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: {program} is not installed");
    }
    found
}

/// Hosts function `f` of `runtime` with `handler`, its code directory `dir` holding `files`.
fn host(dir: &Path, runtime: &str, handler: &str, files: &[(&str, &str)]) -> Functions {
    let code = dir.join("code");
    for (name, text) in files {
        let path = code.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::create_dir_all(&code).unwrap();
    let spec = FunctionSpec {
        name: "f".to_owned(),
        runtime: Runtime::parse(runtime).unwrap(),
        handler: handler.to_owned(),
        code_dir: code,
        environment: Default::default(),
        timeout: Duration::from_secs(5),
        memory_mb: 256,
        reserved_concurrency: None,
    };
    let settings = Settings::new(dir.join("functions"), "eu-west-1", "123456789012", "http://127.0.0.1:1");
    let listeners = RuntimeApiListeners { background: Background::new() };
    Functions::new(vec![spec], settings, Arc::new(listeners)).unwrap()
}

async fn invoke(functions: &Functions, event: Value) -> Result<Value, Value> {
    let target = FunctionRef::parse("f").unwrap();
    match functions.invoke(&target, Bytes::from(event.to_string())).await {
        Ok(answer) => Ok(serde_json::from_slice(&answer).unwrap()),
        Err(InvokeError::Function { payload }) => Err(serde_json::from_slice(&payload).unwrap()),
        Err(other) => panic!("not a function error: {other}"),
    }
}

/// A handler, its code directory's files, and the error type and message its init fails with.
type InitCase = (&'static str, &'static [(&'static str, &'static str)], &'static str, &'static str);

/// The error the first invocation of a function that cannot init answers.
async fn init_error(runtime: &str, handler: &str, files: &[(&str, &str)]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let functions = host(dir.path(), runtime, handler, files);
    let error = invoke(&functions, json!({})).await.unwrap_err();
    assert!(functions.shutdown(Duration::from_secs(5)).await);
    let log = std::fs::read_to_string(dir.path().join("functions/f.log")).unwrap();
    assert!(log.contains("Phase: init\tStatus: error"), "{log}");
    error
}

/// The function's output, without the time the log file adds to each line.
fn log(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join("functions/f.log")).unwrap();
    text.lines().map(|line| line.split_once('\t').map_or(line, |(_, rest)| rest)).collect::<Vec<_>>().join("\n")
}

const PYTHON_APP: &str = r#"
import decimal, logging, os, time
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    if event.get("raise"):
        raise ValueError("bad " + event["raise"])
    if event.get("set"):
        return {1, 2}
    if event.get("exit"):
        os._exit(7)
    logger.info("handling %s", event)
    print("printed", flush=False)
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "arn": context.invoked_function_arn,
        "name": context.function_name,
        "version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "group": context.log_group_name,
        "remaining": context.get_remaining_time_in_millis(),
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "cwd": os.getcwd(),
        "price": decimal.Decimal("1.5"),
        "count": decimal.Decimal("3"),
    }
"#;

#[tokio::test]
async fn python_runs_a_package_handler_with_lambdas_context_errors_and_logs() {
    if !installed("python3") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let functions = host(dir.path(), "python3.12", "pkg/app.handler", &[("pkg/app.py", PYTHON_APP)]);
    let answer = invoke(&functions, json!({"n": 1})).await.unwrap();
    assert_eq!(answer["event"], json!({"n": 1}));
    assert_eq!(answer["request_id"].as_str().unwrap().len(), 36);
    assert_eq!(answer["arn"], "arn:aws:lambda:eu-west-1:123456789012:function:f");
    assert_eq!(
        (&answer["name"], &answer["version"], &answer["memory"]),
        (&json!("f"), &json!("$LATEST"), &json!("256"))
    );
    assert_eq!(answer["group"], "/aws/lambda/f");
    let remaining = answer["remaining"].as_i64().unwrap();
    assert!(remaining > 0 && remaining <= 5000, "{remaining}");
    assert!(answer["trace"].as_str().unwrap().starts_with("Root=1-"));
    assert_eq!(answer["cwd"], dir.path().join("code").display().to_string());
    assert_eq!((&answer["price"], &answer["count"]), (&json!(1.5), &json!(3)), "Decimals are numbers");

    let error = invoke(&functions, json!({"raise": "input"})).await.unwrap_err();
    assert_eq!((&error["errorType"], &error["errorMessage"]), (&json!("ValueError"), &json!("bad input")));
    assert_eq!(error["requestId"].as_str().unwrap().len(), 36);
    let stack: Vec<&str> = error["stackTrace"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(stack[0].contains("pkg/app.py\", line 8, in handler"), "the client's own frames are left out: {stack:?}");
    assert_eq!(stack.len(), 1, "{stack:?}");
    let error = invoke(&functions, json!({"set": true})).await.unwrap_err();
    assert_eq!(error["errorType"], "Runtime.MarshalError");
    assert!(error["errorMessage"].as_str().unwrap().starts_with("Unable to marshal response: "), "{error}");
    assert_eq!(functions.environments("f"), 1, "handled errors keep the environment warm");
    let error = invoke(&functions, json!({"exit": true})).await.unwrap_err();
    assert_eq!(error["errorType"], "Runtime.ExitError");
    invoke(&functions, json!({"n": 2})).await.unwrap();
    assert!(functions.shutdown(Duration::from_secs(5)).await);

    let log = log(dir.path());
    let record = log.lines().find(|l| l.starts_with("[INFO]\t")).expect("a logging record");
    let fields: Vec<&str> = record.split('\t').collect();
    assert_eq!(fields.len(), 4, "{record}");
    assert!(fields[1].ends_with('Z') && fields[2].len() == 36 && fields[3] == "handling {'n': 1}", "{record}");
    assert!(log.lines().any(|l| l == "printed"), "print is unbuffered: {log}");
    assert!(log.contains("[ERROR] ValueError: bad input\rTraceback (most recent call last):\r"), "{log}");
}

#[tokio::test]
async fn python_init_errors_are_awslambdarics() {
    if !installed("python3") {
        return;
    }
    let cases: [InitCase; 6] = [
        ("nope.handler", &[], "Runtime.ImportModuleError", "Unable to import module 'nope': No module named 'nope'"),
        (
            "app.handler",
            &[("app.py", "def handler(:\n")],
            "Runtime.UserCodeSyntaxError",
            "Syntax error in module 'app'",
        ),
        (
            "app.missing",
            &[("app.py", "x = 1\n")],
            "Runtime.HandlerNotFound",
            "Handler 'missing' missing on module 'app'",
        ),
        ("app", &[], "Runtime.MalformedHandlerName", "Bad handler 'app'"),
        ("sys.handler", &[], "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
        ("app.handler", &[("app.py", "import os\nos.environ['MISSING']\n")], "KeyError", "'MISSING'"),
    ];
    for (handler, files, error_type, message) in cases {
        let error = init_error("python3.12", handler, files).await;
        assert_eq!(error["errorType"], error_type, "{handler}: {error}");
        assert!(error["errorMessage"].as_str().unwrap().starts_with(message), "{handler}: {error}");
    }
}

const NODE_ESM: &str = r#"
export const handler = async (event, context) => {
  if (event.throw) throw new TypeError(`bad ${event.throw}`);
  if (event.throwString) throw "just a string";
  if (event.uncaught) { setTimeout(() => { throw new RangeError("later"); }, 10); return new Promise(() => {}); }
  if (event.reject) { Promise.reject(new Error("nobody waits")); return new Promise(() => {}); }
  console.log("handling", event);
  return {
    event,
    requestId: context.awsRequestId,
    arn: context.invokedFunctionArn,
    name: context.functionName,
    memory: context.memoryLimitInMB,
    remaining: context.getRemainingTimeInMillis(),
    waits: context.callbackWaitsForEmptyEventLoop,
    kind: typeof require,
  };
};
"#;

const NODE_CJS: &str = r#"
exports.nested = {
  handler(event, context, callback) {
    const result = { seen: [] };
    if (event.noWait) context.callbackWaitsForEmptyEventLoop = false;
    if (event.sync) return "ignored";
    if (event.fail) return callback(new Error("called back with an error"));
    setTimeout(() => result.seen.push("timer"), 100);
    callback(null, result);
    result.seen.push("after callback");
  },
};
"#;

#[tokio::test]
async fn node_runs_es_modules_and_commonjs_async_and_callback_handlers() {
    if !installed("node") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = [("esm/package.json", r#"{"type":"module"}"#), ("esm/app.js", NODE_ESM)];
    let functions = host(dir.path(), "nodejs22.x", "esm/app.handler", &files);
    let answer = invoke(&functions, json!({"n": 1})).await.unwrap();
    assert_eq!(answer["event"], json!({"n": 1}));
    assert_eq!(answer["requestId"].as_str().unwrap().len(), 36);
    assert_eq!(answer["arn"], "arn:aws:lambda:eu-west-1:123456789012:function:f");
    assert_eq!((&answer["name"], &answer["memory"], &answer["waits"]), (&json!("f"), &json!("256"), &json!(true)));
    assert!(answer["remaining"].as_i64().unwrap() > 0);
    assert_eq!(answer["kind"], "undefined", "an ES module: no require");
    let error = invoke(&functions, json!({"throw": "input"})).await.unwrap_err();
    assert_eq!((&error["errorType"], &error["errorMessage"]), (&json!("TypeError"), &json!("bad input")));
    assert_eq!(error["trace"][0], "TypeError: bad input");
    let error = invoke(&functions, json!({"throwString": true})).await.unwrap_err();
    assert_eq!(error, json!({"errorType": "string", "errorMessage": "just a string", "trace": []}));
    let error = invoke(&functions, json!({"uncaught": true})).await.unwrap_err();
    assert_eq!((&error["errorType"], &error["errorMessage"]), (&json!("RangeError"), &json!("later")));
    let error = invoke(&functions, json!({"reject": true})).await.unwrap_err();
    assert_eq!(error["errorType"], "Runtime.UnhandledPromiseRejection");
    assert_eq!(error["errorMessage"], "Error: nobody waits");
    invoke(&functions, json!({"n": 2})).await.unwrap();
    assert!(functions.shutdown(Duration::from_secs(5)).await);
    let log = log(dir.path());
    let line = log.lines().find(|l| l.contains("\tINFO\thandling")).expect("a console.log line");
    let fields: Vec<&str> = line.split('\t').collect();
    assert!(fields[0].ends_with('Z') && fields[1].len() == 36 && fields[3] == "handling { n: 1 }", "{line}");
    // The uncaught exception and the unhandled rejection ended their processes: three environments in all.
    assert_eq!(log.matches("Init Duration: ").count(), 3, "{log}");

    let dir = tempfile::tempdir().unwrap();
    let functions = host(dir.path(), "nodejs20.x", "lib/app.nested.handler", &[("lib/app.js", NODE_CJS)]);
    let waited = invoke(&functions, json!({})).await.unwrap();
    assert_eq!(waited, json!({"seen": ["after callback", "timer"]}), "the callback waits for the empty event loop");
    let at_once = invoke(&functions, json!({"noWait": true})).await.unwrap();
    assert_eq!(at_once, json!({"seen": []}), "callbackWaitsForEmptyEventLoop = false answers in the callback");
    assert_eq!(invoke(&functions, json!({"sync": true})).await.unwrap(), Value::Null, "a sync return is ignored");
    let error = invoke(&functions, json!({"fail": true})).await.unwrap_err();
    assert_eq!((&error["errorType"], &error["errorMessage"]), (&json!("Error"), &json!("called back with an error")));
    assert_eq!(functions.environments("f"), 1);
    assert!(functions.shutdown(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn node_init_errors_are_aws_lambda_rics() {
    if !installed("node") {
        return;
    }
    let cases: [InitCase; 6] = [
        ("nope.handler", &[], "Runtime.ImportModuleError", "Error: Cannot find module 'nope'"),
        ("app.handler", &[("app.mjs", "export const handler = (;\n")], "Runtime.UserCodeSyntaxError", "SyntaxError: "),
        (
            "app.missing",
            &[("app.cjs", "exports.handler = () => 1;\n")],
            "Runtime.HandlerNotFound",
            "app.missing is undefined or not exported",
        ),
        (
            "app.value",
            &[("app.mjs", "export const value = 1;\n")],
            "Runtime.HandlerNotFound",
            "app.value is not a function",
        ),
        ("app", &[], "Runtime.MalformedHandlerName", "Bad handler"),
        ("app.handler", &[("app.js", "throw new URIError('at load');\n")], "URIError", "at load"),
    ];
    for (handler, files, error_type, message) in cases {
        let error = init_error("nodejs22.x", handler, files).await;
        assert_eq!(error["errorType"], error_type, "{handler}: {error}");
        assert!(error["errorMessage"].as_str().unwrap().starts_with(message), "{handler}: {error}");
    }
}
