"""Run Lambda functions as processes on the host instead of Docker containers.

One execution environment = one long-lived interpreter process running ``bootstrap.py``.
The executor speaks to it over pipes (see the bootstrap's docstring), enforces the function's
timeout by killing the whole process group, and restarts it on the next invocation (as AWS
re-initialises a sandbox after a timeout or crash).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from localstack import config
from localstack.runtime.shutdown import SHUTDOWN_HANDLERS
from localstack.services.lambda_.invocation.executor_endpoint import StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from host_lambda_executor.interpreters import resolve_interpreter
from host_lambda_executor.output import EndOfInvocation, LogTail, LogText, OutputSplitter

LOG = logging.getLogger(__name__)

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
END_MARKER = "\x00host-lambda-end "
LOG_DRAIN_SECONDS = 2.0
# Output kept per invocation (sent to CloudWatch Logs) and per environment (LocalStack's own log
# on errors): the tail, so a handler printing without end cannot grow LocalStack's memory.
INVOCATION_LOG_LIMIT = 1024 * 1024
ENVIRONMENT_LOG_LIMIT = 256 * 1024
READ_CHUNK_BYTES = 64 * 1024
# How often the memory of a running invocation is sampled (and the finest timeout resolution).
MEMORY_SAMPLE_SECONDS = 0.05
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# Environment variables the function process inherits from LocalStack's own environment.
INHERITED_VARIABLES = ("PATH", "LANG", "LC_ALL", "HOME", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
STOPPED_ERROR = (
    "Runtime exited with error: the execution environment was stopped "
    "(function deleted or updated, or LocalStack shutting down)"
)

# LocalStack shutdown: how long running invocations may take to return their "stopped" error.
SHUTDOWN_DRAIN_SECONDS = 5.0
FOLLOW_UP_SERVICES = ("cloudwatch", "logs", "sqs")
FOLLOW_UP_GRACE_SECONDS = 1.0

_LIVE_PROCESSES: set[FunctionProcess] = set()
_LIVE_EXECUTORS: weakref.WeakSet[HostRuntimeExecutor] = weakref.WeakSet()
_LIVE_LOCK = threading.Lock()


def _kill_process_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        LOG.warning("Lambda process %s did not exit after SIGKILL", process.pid)


@atexit.register
def _kill_all_live_processes() -> None:
    with _LIVE_LOCK:
        processes = list(_LIVE_PROCESSES)
    for process in processes:
        process.kill()


def _stop_all_executors() -> None:
    """LocalStack is shutting down: end every invocation while the other services still run.

    Registered in LocalStack's shutdown handlers, which run before the services stop. A returning
    invocation makes LocalStack put an error metric (CloudWatch), its logs (CloudWatch Logs) and,
    for an asynchronous one, a retry (SQS). Those services are started first if they were never
    used; otherwise the requests would start them while the others stop, and their threads would
    keep LocalStack from exiting (SIGTERM seemingly ignored).
    """
    with _LIVE_LOCK:
        executors = list(_LIVE_EXECUTORS)
    if not executors:
        return
    _start_follow_up_services()
    busy = [executor for executor in executors if executor.busy()]
    for executor in executors:
        executor.stop()
    deadline = time.monotonic() + SHUTDOWN_DRAIN_SECONDS
    for executor in busy:
        executor.wait_idle(deadline - time.monotonic())
    if busy:  # LocalStack's follow-ups run right after each return, in its own threads
        time.sleep(FOLLOW_UP_GRACE_SECONDS)


def _start_follow_up_services() -> None:
    from localstack.services.plugins import SERVICE_PLUGINS

    for name in FOLLOW_UP_SERVICES:
        if SERVICE_PLUGINS.exists(name) and not SERVICE_PLUGINS.is_running(name):
            try:
                SERVICE_PLUGINS.require(name)
            except Exception as error:  # disabled or failing: nothing to wait for
                LOG.debug("Service %s not started before shutdown: %s", name, error)


SHUTDOWN_HANDLERS.register(_stop_all_executors)


class FunctionProcess:
    """One running bootstrap process (a process group of its own) with its readers.

    Besides the control pipe, the process gets the read end of a *lifeline* pipe whose write end
    only LocalStack holds. The bootstrap hands it to a watchdog in the same process group, which
    kills the whole group when the pipe reaches end-of-file: when this object is killed, or when
    LocalStack dies in any way (SIGKILL included), since the kernel closes a dead process's files.
    """

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str) -> None:
        control_read, control_write = os.pipe()
        lifeline_read, self._lifeline = os.pipe()
        env = {
            **env,
            "HOST_LAMBDA_CONTROL_FD": str(control_write),
            "HOST_LAMBDA_LIFELINE_FD": str(lifeline_read),
        }
        try:
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                pass_fds=(control_write, lifeline_read),
                start_new_session=True,  # its own process group: a timeout kills every child too
            )
        except BaseException:
            os.close(self._lifeline)
            os.close(control_read)
            raise
        finally:
            os.close(control_write)
            os.close(lifeline_read)
        with _LIVE_LOCK:
            _LIVE_PROCESSES.add(self)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.environment_logs = LogTail(ENVIRONMENT_LOG_LIMIT)
        self._invocation_logs = LogTail(INVOCATION_LOG_LIMIT)
        self._log_lock = threading.Lock()
        self._kill_lock = threading.Lock()
        self._ended_requests: dict[str, threading.Event] = {}
        threading.Thread(target=self._read_control, args=(control_read,), daemon=True).start()
        threading.Thread(target=self._read_logs, daemon=True).start()

    def _read_control(self, fd: int) -> None:
        with os.fdopen(fd, "r", encoding="utf-8") as stream:
            for line in stream:
                try:
                    self.messages.put(json.loads(line))
                except json.JSONDecodeError:
                    LOG.warning("Unreadable control message from Lambda process: %r", line)
        self.messages.put({"type": "exit", "returncode": self.process.wait()})

    def _read_logs(self) -> None:
        assert self.process.stdout is not None
        splitter = OutputSplitter(END_MARKER)
        while chunk := self.process.stdout.read1(READ_CHUNK_BYTES):
            self._record(splitter.feed(chunk))
        self._record(splitter.close())

    def _record(self, pieces: Iterable[LogText | EndOfInvocation]) -> None:
        for piece in pieces:
            if isinstance(piece, EndOfInvocation):
                self._end_event(piece.request_id).set()
                continue
            with self._log_lock:
                self.environment_logs.append(piece.text)
                self._invocation_logs.append(piece.text)

    def _end_event(self, request_id: str) -> threading.Event:
        with self._log_lock:
            return self._ended_requests.setdefault(request_id, threading.Event())

    def begin_invocation(self) -> None:
        with self._log_lock:
            self._invocation_logs = LogTail(INVOCATION_LOG_LIMIT)

    def invocation_logs(self, request_id: str, wait: bool) -> str:
        if wait:
            self._end_event(request_id).wait(LOG_DRAIN_SECONDS)
        with self._log_lock:
            self._ended_requests.pop(request_id, None)
            return self._invocation_logs.text()

    def all_logs(self) -> str:
        with self._log_lock:
            return self.environment_logs.text()

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the process is gone: its exit message ends the invocation

    def next_message(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.messages.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    def rss_bytes(self) -> int:
        """Resident memory of the function process and every process it started."""
        total = 0
        pending = [self.process.pid]
        while pending:
            pid = pending.pop()
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
                for task in Path(f"/proc/{pid}/task").iterdir():
                    pending += [int(child) for child in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue
        return total

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """Kill the whole process group (idempotent, safe from any thread)."""
        with self._kill_lock:
            _kill_process_group(self.process)
            if self._lifeline >= 0:
                os.close(self._lifeline)
                self._lifeline = -1
        with _LIVE_LOCK:
            _LIVE_PROCESSES.discard(self)


class HostRuntimeExecutor(RuntimeExecutor):
    """LocalStack ``RuntimeExecutor`` backed by a host process per execution environment."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._env: dict[str, str] = {}
        self._process: FunctionProcess | None = None
        self._invoke_lock = threading.Lock()  # one invocation (or start) at a time
        self._state_lock = threading.Lock()  # guards _process and _stopped, never held for long
        self._stopped = False
        self._tmp_dir: Path | None = None
        self._startup_logs = ""
        with _LIVE_LOCK:
            _LIVE_EXECUTORS.add(self)

    # --- RuntimeExecutor interface -------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        self._tmp_dir = Path(tempfile.mkdtemp(prefix=f"host-lambda-{self.id}-"))
        self._env = self._function_environment(env_vars)
        with self._invoke_lock:
            self._spawn()

    def stop(self) -> None:
        """Kill the environment now, even mid-invocation: that invocation ends with an error."""
        with self._state_lock:
            self._stopped = True
            process, self._process = self._process, None
        if process:
            process.kill()
        if self._tmp_dir:
            shutil.rmtree(self._tmp_dir, ignore_errors=True)

    def busy(self) -> bool:
        return self._invoke_lock.locked()

    def wait_idle(self, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until no invocation is running."""
        if self._invoke_lock.acquire(timeout=max(0.0, timeout)):
            self._invoke_lock.release()

    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        return "127.0.0.1"

    def get_runtime_endpoint(self) -> str:
        return f"http://127.0.0.1:{config.GATEWAY_LISTEN[0].port}/_localstack_lambda/{self.id}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        request_id = payload["invoke-id"]
        with self._invoke_lock:
            try:
                process = self._ready_process()
            except StatusErrorException as error:
                return InvocationResult(
                    request_id, error.payload, is_error=True, logs=self._startup_logs
                )
            return self._invoke(process, request_id, payload)

    def get_logs(self) -> str:
        process = self._process
        return process.all_logs() if process else self._startup_logs

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        resolve_interpreter(function_version.config.runtime)  # fails early for unknown runtimes
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
        for layer in function_version.config.layers:
            if layer.code:
                layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    # --- internals ----------------------------------------------------------------------------
    def _code_dir(self) -> str:
        code = self.function_version.config.code
        if code is None:
            raise LambdaRuntimeException("The host executor runs zip-packaged functions only")
        return str(code.get_unzipped_code_location())

    def _layer_dirs(self) -> list[Path]:
        # Later layers win on AWS (they are extracted over earlier ones into /opt).
        return [
            Path(layer.code.get_unzipped_code_location())
            for layer in reversed(self.function_version.config.layers)
            if layer.code
        ]

    def _function_environment(self, env_vars: dict[str, str]) -> dict[str, str]:
        runtime = self.function_version.config.runtime
        version = runtime.removeprefix("python")
        layer_dirs = self._layer_dirs()
        python_paths = [
            str(path)
            for layer in layer_dirs
            for path in (
                layer / "python",
                layer / "python" / "lib" / f"python{version}" / "site-packages",
            )
        ]
        env = {name: os.environ[name] for name in INHERITED_VARIABLES if name in os.environ}
        env.update({key: str(value) for key, value in env_vars.items()})
        env.update(
            {
                "LAMBDA_TASK_ROOT": self._code_dir(),
                "LAMBDA_RUNTIME_DIR": str(BOOTSTRAP.parent),
                "HOST_LAMBDA_LAYER_PATHS": os.pathsep.join(python_paths),
                "LD_LIBRARY_PATH": os.pathsep.join(str(layer / "lib") for layer in layer_dirs),
                "TMPDIR": str(self._tmp_dir),
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
            }
        )
        return env

    def _ready_process(self) -> FunctionProcess:
        """The environment's process; a fresh one after a timeout, a crash or an OOM kill."""
        process = self._process
        if process is not None and process.alive():
            return process
        if process is not None:
            process.kill()  # whatever the dead bootstrap left in its process group goes too
        return self._spawn()

    def _spawn(self) -> FunctionProcess:
        interpreter = resolve_interpreter(self.function_version.config.runtime)
        with self._state_lock:
            if self._stopped:
                raise _status_error("Runtime.ExitError", STOPPED_ERROR)
            process = FunctionProcess(
                [interpreter, "-I", "-u", str(BOOTSTRAP)], self._env, self._code_dir()
            )
            self._process = process  # from now on stop() can kill it, even during init
        message = process.next_message(config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT)
        if message and message["type"] == "ready":
            return process
        process.kill()
        with self._state_lock:
            if self._process is process:
                self._process = None
        self._startup_logs = process.all_logs()
        error = self._init_error(message)
        LOG.warning(
            "Lambda %s failed to initialise: %s", self.function_version.qualified_arn, error
        )
        raise _status_error(error["errorType"], error["errorMessage"])

    def _init_error(self, message: dict[str, Any] | None) -> dict[str, str]:
        if self._stopped:
            return {"errorType": "Runtime.ExitError", "errorMessage": STOPPED_ERROR}
        if message and message["type"] == "init_error":
            return message["error"]
        if message is None:
            return {"errorType": "Runtime.InitTimeout", "errorMessage": "Function init timed out"}
        return {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"Runtime exited during init: {message}",
        }

    def _invoke(
        self, process: FunctionProcess, request_id: str, payload: dict[str, str]
    ) -> InvocationResult:
        timeout_seconds = float(self.function_version.config.timeout)
        started = time.monotonic()
        process.begin_invocation()
        process.send(
            {
                "request_id": request_id,
                "invoked_function_arn": payload["invoked-function-arn"],
                "payload": payload["payload"],
                "trace_id": payload.get("trace-id"),
                "deadline_epoch_ms": int((time.time() + timeout_seconds) * 1000),
            }
        )
        memory_limit = self.function_version.config.memory_size * 1024 * 1024
        peak_rss = process.rss_bytes()
        while True:
            remaining = started + timeout_seconds - time.monotonic()
            message = process.next_message(min(MEMORY_SAMPLE_SECONDS, remaining))
            peak_rss = max(peak_rss, process.rss_bytes())
            if message is None and remaining <= MEMORY_SAMPLE_SECONDS:
                error = f"Task timed out after {timeout_seconds:.2f} seconds"
                return self._failed(
                    process, request_id, "Sandbox.Timedout", error, started, peak_rss
                )
            if peak_rss > memory_limit:
                error = "Runtime exited with error: signal: killed (memory limit exceeded)"
                return self._failed(
                    process, request_id, "Runtime.OutOfMemory", error, started, peak_rss
                )
            if message is None:
                continue
            if message["type"] == "exit":
                error = (
                    STOPPED_ERROR
                    if self._stopped
                    else f"Runtime exited with error: exit status {message['returncode']}"
                )
                return self._failed(
                    process, request_id, "Runtime.ExitError", error, started, peak_rss
                )
            if message["type"] == "result" and message["request_id"] == request_id:
                break
        logs = process.invocation_logs(request_id, wait=True)
        body = message["payload"] if message["ok"] else json.dumps(message["payload"])
        return InvocationResult(
            request_id,
            body.encode(),
            is_error=not message["ok"],
            logs=self._with_platform_lines(logs, request_id, started, peak_rss),
        )

    def _failed(
        self,
        process: FunctionProcess,
        request_id: str,
        error_type: str,
        error: str,
        started: float,
        peak_rss: int,
    ) -> InvocationResult:
        """The invocation ended without a result: the environment is killed and re-initialised."""
        process.kill()
        with self._state_lock:
            if self._process is process:
                self._process = None
        message = f"RequestId: {request_id} Error: {error}"
        logs = process.invocation_logs(request_id, wait=False) + f"{message}\n"
        return InvocationResult(
            request_id,
            json.dumps({"errorType": error_type, "errorMessage": message}).encode(),
            is_error=True,
            logs=self._with_platform_lines(logs, request_id, started, peak_rss),
        )

    def _with_platform_lines(
        self, logs: str, request_id: str, started: float, peak_rss: int
    ) -> str:
        duration_ms = (time.monotonic() - started) * 1000
        memory = self.function_version.config.memory_size
        return (
            f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}\n"
            f"{logs}"
            f"END RequestId: {request_id}\n"
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Memory Size: {memory} MB\tMax Memory Used: {peak_rss // (1024 * 1024)} MB\n"
        )


def _status_error(error_type: str, message: str) -> StatusErrorException:
    document = {"errorType": error_type, "errorMessage": message}
    return StatusErrorException(message, payload=json.dumps(document).encode())
