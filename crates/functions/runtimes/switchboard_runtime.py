"""Switchboard's runtime client for Python Lambda functions (python3.9 and later), standard library only.

Speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API and runs the handler named by _HANDLER (``module.function``,
``package/module.function``) from LAMBDA_TASK_ROOT as the official client, awslambdaric, does: the same errors on
``/init/error`` (Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, Runtime.HandlerNotFound,
Runtime.MalformedHandlerName, Runtime.BuiltInModuleConflict, or the exception a module raised while imported) and on
an invocation's ``/error`` (``errorMessage``, ``errorType``, ``requestId``, ``stackTrace``), the ``context`` object,
Lambda's log format for the ``logging`` module, and unbuffered output.

When the function's Python can import awslambdaric (installed, on PYTHONPATH, or in the code directory), this client
hands over to it at once: the process becomes ``python3 -m awslambdaric HANDLER``.
"""

import decimal
import http.client
import importlib
import importlib.util
import json
import logging
import os
import sys
import time
import traceback
from types import SimpleNamespace

BASE = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"

_request_id = None


def _hand_over_to_awslambdaric(root, handler):
    """Execs ``python -m awslambdaric HANDLER`` when the function's Python can import it."""
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        found = importlib.util.find_spec("awslambdaric") is not None
    except (ImportError, ValueError):
        found = False
    if found:
        os.execv(sys.executable, [sys.executable, "-m", "awslambdaric", handler])


class _Unbuffered:
    """A stream flushed after every write, as Lambda's are."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, data):
        self.stream.write(data)
        self.stream.flush()

    def writelines(self, lines):
        self.stream.writelines(lines)
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        return True


def _setup_logging():
    """The root logger writes Lambda's format to stdout; AWS_LAMBDA_LOG_LEVEL sets its level, as on Lambda."""
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.terminator = ""
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level in logging._nameToLevel:  # noqa: SLF001 - the names logging itself accepts
        root.setLevel(level)


class FaultException(Exception):
    """A failure of the runtime's own (Lambda's ``Runtime.*`` error types)."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.msg = message
        self.trace = trace


def _make_error(message, error_type, stack, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id or "",
        "stackTrace": stack or [],
    }


def _fault_of(exc, request_id=None):
    """The error document of an exception the function raised: its frames from the function's code on."""
    frames = traceback.extract_tb(exc.__traceback__)
    here = os.path.abspath(__file__)
    while frames and os.path.abspath(frames[0].filename) == here:
        frames = frames[1:]
    return _make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)


def _log_error(error):
    """One log record, its lines joined by carriage returns (as Lambda's Python runtime writes it)."""
    lines = ["[ERROR] " + error["errorType"] + (": " + error["errorMessage"] if error["errorMessage"] else "")]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")


def load_handler(handler):
    """The handler function, or the FaultException that awslambdaric raises for it."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise FaultException("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}")
    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise FaultException("Runtime.BuiltInModuleConflict",
                                 f"Cannot use built-in module {module_name} as a handler module")
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise FaultException("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:
        trace = ['  File "%s" Line %s\n    %s' % (exc.filename, exc.lineno, exc.text)]
        raise FaultException("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {exc}", trace)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultException("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")


class LambdaContext:
    """The ``context`` argument of a Python handler, with awslambdaric's attributes."""

    def __init__(self, request_id, arn, deadline_ms, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = arn
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.tenant_id = None
        self.client_context = None
        if client_context is not None:
            self.client_context = SimpleNamespace(
                client=SimpleNamespace(**client_context.get("client") or {}) if client_context.get("client") else None,
                custom=client_context.get("custom"),
                env=client_context.get("env"),
            )
        identity = identity or {}
        self.identity = SimpleNamespace(
            cognito_identity_id=identity.get("cognitoIdentityId"),
            cognito_identity_pool_id=identity.get("cognitoIdentityPoolId"),
        )
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        return (f"LambdaContext([aws_request_id={self.aws_request_id},function_name={self.function_name},"
                f"invoked_function_arn={self.invoked_function_arn}])")


def _json_header(value, name):
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        raise FaultException("Runtime.LambdaContextUnmarshalError", f"Unable to parse {name} JSON: {exc}")


class _Encoder(json.JSONEncoder):
    """JSON with DynamoDB's Decimals as numbers, as awslambdaric writes them."""

    def default(self, o):
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() and o.is_finite() else float(o)
        return super().default(o)


def marshal(result):
    """The response body and its content type."""
    if isinstance(result, bytes):
        return result, "application/unknown"
    try:
        return _Encoder(ensure_ascii=False).encode(result).encode("utf-8"), "application/json"
    except Exception as exc:  # what json refuses, whatever the type
        raise FaultException("Runtime.MarshalError", f"Unable to marshal response: {exc}")


class RuntimeApi:
    """One keep-alive HTTP/1.1 connection to the Runtime API."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host, self.port = (host, int(port)) if host else (address, 80)
        self.conn = None

    def call(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.headers, response.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def post_error(self, path, error):
        data = json.dumps(error).encode("utf-8")
        headers = {"Content-Type": "application/json", ERROR_TYPE_HEADER: error["errorType"]}
        status, _, body = self.call("POST", path, data, headers)
        if status >= 300:
            sys.exit(f"the Runtime API answered {status} to {path}: {body!r}")


def handle(api, handler, headers, body):
    """Runs one invocation and posts its response or its error."""
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    try:
        context = LambdaContext(
            request_id,
            headers.get("Lambda-Runtime-Invoked-Function-Arn"),
            int(headers.get("Lambda-Runtime-Deadline-Ms") or 0),
            _json_header(headers.get("Lambda-Runtime-Client-Context"), "Client Context"),
            _json_header(headers.get("Lambda-Runtime-Cognito-Identity"), "Cognito Identity"),
        )
        content_type = headers.get("Content-Type") or "application/json"
        if content_type == "application/json":
            try:
                event = json.loads(body)
            except ValueError as exc:
                raise FaultException("Runtime.UnmarshalError", f"Unable to unmarshal input: {exc}")
        else:
            event = body
        data, data_type = marshal(handler(event, context))
    except FaultException as exc:
        error = _make_error(exc.msg, exc.error_type, exc.trace, request_id)
    except Exception as exc:  # the function's own failure goes back to its caller
        error = _fault_of(exc, request_id)
    else:
        status, _, answer = api.call("POST", f"{BASE}/invocation/{request_id}/response", data,
                                     {"Content-Type": data_type})
        if status >= 300:
            sys.stderr.write(f"the Runtime API answered {status} to the response of {request_id}: {answer!r}\n")
        return
    _log_error(error)
    api.post_error(f"{BASE}/invocation/{request_id}/error", error)


def main():
    global _request_id
    address = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not address:
        sys.exit("AWS_LAMBDA_RUNTIME_API is not set")
    root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    name = os.environ.get("_HANDLER", "")
    _hand_over_to_awslambdaric(root, name)
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    _setup_logging()
    api = RuntimeApi(address)
    try:
        handler = load_handler(name)
    except FaultException as exc:
        error = _make_error(exc.msg, exc.error_type, exc.trace)
    except Exception as exc:  # the module raised while it was imported
        error = _fault_of(exc)
    else:
        error = None
    if error is not None:
        _log_error(error)
        api.post_error(f"{BASE}/init/error", error)
        sys.exit(1)

    while True:
        status, headers, body = api.call("GET", f"{BASE}/invocation/next")
        if status != 200:
            sys.exit(f"the Runtime API answered {status} to next: {body!r}")
        _request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace = headers.get("Lambda-Runtime-Trace-Id")
        if trace:
            os.environ["_X_AMZN_TRACE_ID"] = trace
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        handle(api, handler, headers, body)


if __name__ == "__main__":
    main()
