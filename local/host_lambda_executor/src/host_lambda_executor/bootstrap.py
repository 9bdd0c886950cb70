"""Lambda runtime loop run by the function's own interpreter (standard library only).

Started by ``executor.HostRuntimeExecutor`` with:
- stdin: one JSON invocation per line ``{"request_id", "invoked_function_arn", "payload",
  "trace_id", "deadline_epoch_ms"}``;
- the file descriptor named by ``HOST_LAMBDA_CONTROL_FD``: this process writes one JSON message per
  line to it: ``{"type": "ready"}`` after the handler is imported, ``{"type": "init_error",
  "error": {...}}`` if it cannot be, then ``{"type": "result", "request_id", "ok", "payload"}``
  per invocation (``payload`` is the JSON response, or the Lambda error document when not ok);
- stdout/stderr: the function's logs. After each invocation a line ``END_MARKER + request_id``
  tells the executor that every log line of that invocation has been written;
- the file descriptor named by ``HOST_LAMBDA_LIFELINE_FD``: the read end of a pipe nobody writes
  to; see ``start_watchdog``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

END_MARKER = "\x00host-lambda-end "
WATCHDOG_SHELL = "/bin/sh"
# Reads until end-of-file (nothing is ever written), then SIGKILLs its own process group.
WATCHDOG_SCRIPT = "while read -r _; do :; done; kill -s KILL 0"


class LambdaContext:
    """The subset of the AWS Lambda Python context object that handlers use."""

    def __init__(self, invocation: dict[str, Any]) -> None:
        self.aws_request_id: str = invocation["request_id"]
        self.invoked_function_arn: str = invocation["invoked_function_arn"]
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_epoch_ms: int = invocation["deadline_epoch_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_epoch_ms - int(time.time() * 1000))


def error_document(error: BaseException, error_type: str | None = None) -> dict[str, Any]:
    frames = [
        frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__
    ]
    return {
        "errorMessage": str(error),
        "errorType": error_type or type(error).__name__,
        "stackTrace": [line.rstrip("\n") for line in traceback.format_list(frames)],
    }


def start_watchdog(lifeline_fd: int) -> None:
    """Leave no orphan, whatever happens to LocalStack (even SIGKILL) or to this interpreter.

    A small shell in this process group blocks reading the lifeline pipe, whose write end only
    LocalStack holds; end-of-file means LocalStack closed it or died, and the shell kills the
    whole group: this process and everything the handler started. Being a separate process, it
    works while the handler holds the GIL or is stuck in C code.
    """
    if os.fork() == 0:  # no thread exists yet: forking here is safe
        try:
            os.dup2(lifeline_fd, 0)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            os.execv(WATCHDOG_SHELL, ["host-lambda-watchdog", "-c", WATCHDOG_SCRIPT])
        finally:
            os._exit(127)
    os.close(lifeline_fd)


def prepare_sys_path() -> None:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    # The interpreter runs with -I, so neither this file's folder nor PYTHONPATH is on sys.path.
    layer_paths = [p for p in os.environ.get("HOST_LAMBDA_LAYER_PATHS", "").split(os.pathsep) if p]
    sys.path[:0] = [task_root, *layer_paths]
    os.chdir(task_root)


def load_handler(handler_spec: str) -> Any:
    module_name, _, function_name = handler_spec.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{handler_spec}': expected 'module.function'")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except Exception as error:
        raise RuntimeInitError(
            f"Unable to import module '{module_name}': {error}", "Runtime.ImportModuleError"
        ) from error
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise RuntimeInitError(
            f"Handler '{function_name}' missing on module '{module_name}'",
            "Runtime.HandlerNotFound",
        )
    return handler


class RuntimeInitError(Exception):
    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class ControlChannel:
    def __init__(self, fd: int) -> None:
        self._stream = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    def send(self, message: dict[str, Any]) -> None:
        self._stream.write(json.dumps(message) + "\n")
        self._stream.flush()


def flush_logs(request_id: str) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(1, f"{END_MARKER}{request_id}\n".encode())


def invoke(handler: Any, invocation: dict[str, Any]) -> dict[str, Any]:
    request_id = invocation["request_id"]
    os.environ["_X_AMZN_TRACE_ID"] = invocation.get("trace_id") or ""
    try:
        event = json.loads(invocation["payload"]) if invocation["payload"] else {}
        result = handler(event, LambdaContext(invocation))
    except Exception as error:  # every handler failure becomes a Lambda error document
        document = error_document(error)
        print(
            f"[ERROR] {document['errorType']}: {document['errorMessage']}\n"
            + "".join(traceback.format_exception(error)),
            file=sys.stderr,
        )
        return {"type": "result", "request_id": request_id, "ok": False, "payload": document}
    try:
        body = json.dumps(result)
    except (TypeError, ValueError) as error:
        document = error_document(error, "Runtime.MarshalError")
        document["errorMessage"] = f"Unable to marshal response: {error}"
        return {"type": "result", "request_id": request_id, "ok": False, "payload": document}
    return {"type": "result", "request_id": request_id, "ok": True, "payload": body}


def main() -> None:
    control = ControlChannel(int(os.environ.pop("HOST_LAMBDA_CONTROL_FD")))
    start_watchdog(int(os.environ.pop("HOST_LAMBDA_LIFELINE_FD")))
    prepare_sys_path()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except RuntimeInitError as error:
        print(f"[ERROR] {error.error_type}: {error}", file=sys.stderr)
        control.send({"type": "init_error", "error": error_document(error, error.error_type)})
        sys.exit(1)
    except Exception as error:
        traceback.print_exc()
        control.send({"type": "init_error", "error": error_document(error, "Runtime.Unknown")})
        sys.exit(1)
    control.send({"type": "ready"})
    for line in sys.stdin:
        invocation = json.loads(line)
        message = invoke(handler, invocation)
        flush_logs(invocation["request_id"])
        control.send(message)


if __name__ == "__main__":
    main()
