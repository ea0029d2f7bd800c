// Switchboard's runtime client for Node.js Lambda functions (nodejs18.x and later), with nothing but Node itself.
//
// Speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API and runs the handler named by _HANDLER (`file.export`,
// `dir/file.export`, `file.nested.export`) from LAMBDA_TASK_ROOT as the official client, aws-lambda-ric, does:
// - modules found as Lambda finds them (an extensionless file, `.js` as CommonJS unless the nearest package.json says
//   "type": "module", then `.js` as an ES module, `.mjs`, `.cjs`, then Node's own resolution);
// - async handlers (the returned promise answers at once) and callback handlers (the callback answers once the event
//   loop is empty, unless `context.callbackWaitsForEmptyEventLoop` is false; a handler that neither returns a
//   promise nor calls back answers null when the event loop empties);
// - Lambda's `context` object, its log lines (`time\trequestId\tLEVEL\tmessage`, one line per call), and its error
//   documents (`errorType`, `errorMessage`, `trace`): Runtime.ImportModuleError, Runtime.UserCodeSyntaxError,
//   Runtime.HandlerNotFound and Runtime.MalformedHandlerName on /init/error, an uncaught exception or an unhandled
//   rejection (Runtime.UnhandledPromiseRejection) failing the running invocation (or the init) before the process
//   exits with 129 or 128.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import util from "node:util";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const BASE = "/2018-06-01/runtime";
const ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
const HANDLER = process.env._HANDLER || "";
const require = createRequire(path.join(ROOT, "index.js"));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const [host, port] = splitHostPort(process.env.AWS_LAMBDA_RUNTIME_API);

function splitHostPort(value) {
  if (!value) {
    process.stderr.write("AWS_LAMBDA_RUNTIME_API is not set\n");
    process.exit(1);
  }
  const at = value.lastIndexOf(":");
  return at < 0 ? [value, 80] : [value.slice(0, at), Number(value.slice(at + 1))];
}

// ---- The Runtime API

function request(method, pathname, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const all = data ? { ...headers, "content-length": data.length } : headers;
    const req = http.request({ host, port, method, path: pathname, agent, headers: all }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(data);
  });
}

async function post(pathname, body, headers) {
  const answer = await request("POST", pathname, body, headers);
  if (answer.status >= 300) {
    process.stderr.write(`the Runtime API answered ${answer.status} to ${pathname}: ${answer.body}\n`);
    if (answer.status >= 500) process.exit(1);
  }
}

// ---- Errors, shaped as aws-lambda-ric shapes them

function runtimeError(name, message) {
  const err = new Error(message);
  err.name = `Runtime.${name}`;
  return err;
}

function isErrorLike(e) {
  return e && typeof e.name === "string" && typeof e.message === "string" && typeof e.stack === "string";
}

function errorDocument(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: String(error.stack).split("\n") };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return {
      errorType: "handled",
      errorMessage:
        "callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack",
    };
  }
}

function postError(pathname, error) {
  const document = errorDocument(error);
  return post(pathname, JSON.stringify(document), {
    "content-type": "application/json",
    "lambda-runtime-function-error-type": document.errorType,
  });
}

// ---- Logs: every console call is one line of `time\trequestId\tLEVEL\tmessage`

let requestId;
for (const [method, level] of [
  ["log", "INFO"], ["info", "INFO"], ["debug", "DEBUG"], ["warn", "WARN"], ["error", "ERROR"], ["trace", "TRACE"],
  ["fatal", "FATAL"],
]) {
  console[method] = (message, ...params) => {
    const text = `${new Date().toISOString()}\t${requestId}\t${level}\t${util.format(message, ...params)}`;
    process.stdout.write(`${text.replace(/\n/g, "\r")}\n`);
  };
}

// ---- Loading the handler

function hasTypeModule(file) {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        return JSON.parse(fs.readFileSync(manifest, "utf8")).type === "module";
      } catch {
        return false;
      }
    }
    if (path.dirname(dir) === dir) return false;
  }
}

const isFile = (file) => fs.existsSync(file) && fs.statSync(file).isFile();

async function loadModule(moduleRoot, module) {
  const base = path.resolve(ROOT, moduleRoot, module);
  if (fs.existsSync(base)) return require(base);
  const typeModule = hasTypeModule(base);
  if (!typeModule && isFile(`${base}.js`)) return require(`${base}.js`);
  if (typeModule && isFile(`${base}.js`)) return import(pathToFileURL(`${base}.js`).href);
  if (isFile(`${base}.mjs`)) return import(pathToFileURL(`${base}.mjs`).href);
  if (isFile(`${base}.cjs`)) return require(`${base}.cjs`);
  return require(require.resolve(module, { paths: [path.resolve(ROOT, moduleRoot), ROOT] }));
}

async function loadHandler(full) {
  const file = path.basename(full);
  const moduleRoot = full.substring(0, full.indexOf(file));
  if (moduleRoot.split(/[\\/]/).includes("..")) throw runtimeError("MalformedHandlerName", "'../' not allowed in handler name");
  const match = file.match(/^([^.]*)\.(.*)$/);
  if (!match) throw runtimeError("MalformedHandlerName", "Bad handler");
  const [, module, property] = match;
  let app;
  try {
    app = await loadModule(moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw runtimeError("UserCodeSyntaxError", String(e));
    if (e?.code === "MODULE_NOT_FOUND" || e?.code === "ERR_MODULE_NOT_FOUND") {
      throw runtimeError("ImportModuleError", String(e));
    }
    throw e;
  }
  const resolve = (root) => property.split(".").reduce((nested, key) => nested?.[key], root);
  const fn = resolve(app) ?? resolve(app?.default);
  if (fn === undefined || fn === null) throw runtimeError("HandlerNotFound", `${full} is undefined or not exported`);
  if (typeof fn !== "function") throw runtimeError("HandlerNotFound", `${full} is not a function`);
  return fn;
}

// ---- Invocations

// What runs when the event loop empties during an invocation (Lambda's "before exit" listener).
let beforeExit = () => {};
process.on("beforeExit", () => beforeExit());

// Fails the running invocation (or the init) and exits, as aws-lambda-ric does for what the handler did not catch.
let current = null;
let initialized = false;
function fatal(error, exitCode) {
  const exit = () => process.exit(exitCode);
  if (current) postError(`${BASE}/invocation/${current}/error`, error).then(exit, exit);
  else if (!initialized) postError(`${BASE}/init/error`, error).then(exit, exit);
  else exit();
}
process.on("uncaughtException", (error) => {
  console.error("Uncaught Exception", JSON.stringify(errorDocument(error)));
  fatal(error, 129);
});
process.on("unhandledRejection", (reason) => {
  const error = runtimeError("UnhandledPromiseRejection", String(reason));
  error.reason = reason;
  console.error("Unhandled Promise Rejection", JSON.stringify(errorDocument(error)));
  fatal(error, 128);
});

function parseHeader(value) {
  try {
    return value ? JSON.parse(value) : undefined;
  } catch {
    return undefined;
  }
}

// The handler's callback and context for invocation `id`, and `markCompleted` for the default answer.
function callbackContext(id, headers, scheduleNext) {
  let invoked = false;
  let waitForEmptyEventLoop = true;
  const complete = (result) => {
    if (invoked) {
      console.error("Invocation has already been reported as done. Cannot call complete more than once per invocation.");
      return;
    }
    invoked = true;
    let body;
    try {
      body = JSON.stringify(result === undefined ? null : result);
    } catch {
      postError(`${BASE}/invocation/${id}/error`, new Error("Unable to stringify response body")).then(scheduleNext, scheduleNext);
      return;
    }
    post(`${BASE}/invocation/${id}/response`, body, { "content-type": "application/json" }).then(scheduleNext, scheduleNext);
  };
  const fail = (error) => {
    if (invoked) return;
    invoked = true;
    console.error("Invoke Error", JSON.stringify(errorDocument(error)));
    postError(`${BASE}/invocation/${id}/error`, error).then(scheduleNext, scheduleNext);
  };
  const done = (err, result) => {
    beforeExit = () => {};
    if (err !== undefined && err !== null) fail(err);
    else complete(result);
  };
  const callback = (err, result) => {
    beforeExit = () => {};
    if (err !== undefined && err !== null) fail(err);
    else if (!waitForEmptyEventLoop) complete(result);
    else beforeExit = () => setImmediate(() => complete(result));
  };
  const deadline = Number(headers["lambda-runtime-deadline-ms"]);
  const context = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => done(err === undefined || err === null ? "handled" : err, null),
    done,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseHeader(headers["lambda-runtime-client-context"]),
    identity: parseHeader(headers["lambda-runtime-cognito-identity"]),
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"],
    awsRequestId: id,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  return { callback, context, markCompleted: () => (invoked = true) };
}

function scheduleNext(handler) {
  setImmediate(() => {
    current = null;
    handleOnce(handler).catch((error) => {
      process.stderr.write(`the Runtime API failed: ${error?.stack ?? error}\n`);
      process.exit(1);
    });
  });
}

async function handleOnce(handler) {
  const next = await request("GET", `${BASE}/invocation/next`);
  if (next.status !== 200) {
    process.stderr.write(`the Runtime API answered ${next.status} to next: ${next.body}\n`);
    process.exit(1);
  }
  const headers = next.headers;
  const id = headers["lambda-runtime-aws-request-id"];
  current = id;
  requestId = id;
  if (headers["lambda-runtime-trace-id"]) process.env._X_AMZN_TRACE_ID = headers["lambda-runtime-trace-id"];
  else delete process.env._X_AMZN_TRACE_ID;
  const again = () => scheduleNext(handler);
  const { callback, context, markCompleted } = callbackContext(id, headers, again);
  beforeExit = () => {
    markCompleted();
    beforeExit = () => {};
    post(`${BASE}/invocation/${id}/response`, "null", { "content-type": "application/json" }).then(again, again);
  };
  try {
    const result = handler(JSON.parse(next.body.toString("utf8")), context, callback);
    if (result && typeof result.then === "function") result.then(context.succeed, context.fail);
  } catch (error) {
    callback(error);
  }
}

let handler;
try {
  handler = await loadHandler(HANDLER);
} catch (error) {
  console.error("Init Error", JSON.stringify(errorDocument(error)));
  await postError(`${BASE}/init/error`, error).catch(() => {});
  process.exit(129);
}
initialized = true;
scheduleNext(handler);
