"""Lifecycle guarantees of the host Lambda executor, against real LocalStacks of their own.

Each test starts a private emulator (local/emulator.py on a free port), because it stops or kills
it: timeouts of asynchronous invocations are retried exactly ``maximum_retry_attempts`` times and
then dead-lettered; a stopped environment interrupts its invocation; a killed LocalStack leaves no
process behind; a handler's output cannot grow LocalStack's memory.
"""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.localcloud

REPO = Path(__file__).resolve().parents[2]
EMULATOR = REPO / "local" / "emulator.py"
# "It finished / did not hang" bounds only: the mechanisms under test take well under a second.
GONE_WITHIN_SECONDS = 15
STOP_HANG_BOUND_SECONDS = 120


@dataclass
class Emulator:
    endpoint: str
    state_dir: Path

    @property
    def pid(self) -> int:
        return int((self.state_dir / "localstack.pid").read_text())

    def client(self, service: str, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            config=Config(retries={"max_attempts": 1}, **config),
            aws_access_key_id="test",
            aws_secret_access_key="test",
            region_name="us-east-1",
        )

    def cli(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(EMULATOR), *args, "--state-dir", str(self.state_dir)],
            capture_output=True,
            text=True,
            check=True,
            timeout=timeout,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def private_emulator() -> Iterator[Emulator]:
    port = free_port()
    emulator = Emulator(f"http://127.0.0.1:{port}", REPO / ".local" / f"test-emulator-{port}")
    emulator.cli("start", "--port", str(port))
    try:
        yield emulator
    finally:
        emulator.cli("stop", "--purge")


def stop_promptly(emulator: Emulator) -> None:
    """local/emulator.py stop returns without having to SIGKILL LocalStack (it says so when a
    process ignores SIGTERM); the subprocess timeout only bounds a hang."""
    output = emulator.cli("stop", timeout=STOP_HANG_BOUND_SECONDS).stdout
    assert "ignored SIGTERM" not in output, output


def zip_bytes(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def role_arn(emulator: Emulator) -> str:
    return emulator.client("iam").create_role(
        RoleName=unique("lifecycle"), AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]


def create_function(
    emulator: Emulator, role: str, code: str, timeout: int, **environment: str
) -> str:
    lambda_client = emulator.client("lambda")
    name = unique("fn")
    lambda_client.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": zip_bytes({"app.py": code})},
        Timeout=timeout,
        MemorySize=256,
        Environment={"Variables": environment},
    )
    lambda_client.get_waiter("function_active_v2").wait(FunctionName=name)
    return name


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (ProcessLookupError, FileNotFoundError):
        return False
    return state != "Z"


def processes_of_function(name: str) -> list[int]:
    """Live processes whose environment names the function: bootstrap, watchdog, children."""
    needle = f"\0AWS_LAMBDA_FUNCTION_NAME={name}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = b"\0" + (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ and process_exists(int(entry.name)):
            found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], bool], seconds: float = GONE_WITHIN_SECONDS) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def read_pids(path: Path) -> list[int]:
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []


# --- 1. a timed-out asynchronous invocation: 1 + retries starts, then the on-failure queue ------

BUSY_IN_C = """
import hashlib, os


def handler(event, context):
    with open(os.environ["STARTS_FILE"], "a") as starts:
        starts.write(f"{os.getpid()}\\n")
    # Busy in C code for far longer than the timeout (2**31 - 1 is OpenSSL's largest count).
    hashlib.pbkdf2_hmac("sha256", b"x", b"y", 2**31 - 1)
"""

QUICK = """
def handler(event, context):
    return {"echo": event.get("n")}
"""

MAX_RETRIES = 2
# Long enough for a fresh process to start and be seen busy, short enough that three attempts
# and the retry delays fit in well under a minute (the asynchronous path is what is tested).
BUSY_TIMEOUT_SECONDS = 10


def dead_letter_queue(emulator: Emulator) -> tuple[str, str]:
    sqs = emulator.client("sqs")
    url = sqs.create_queue(QueueName=unique("on-failure"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def notify_on_object_created(emulator: Emulator, function: str) -> str:
    s3, lambda_client = emulator.client("s3"), emulator.client("lambda")
    bucket = unique("source")
    s3.create_bucket(Bucket=bucket)
    lambda_client.add_permission(
        FunctionName=function,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn=f"arn:aws:s3:::{bucket}",
    )
    arn = lambda_client.get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    s3.put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}
            ]
        },
    )
    return bucket


def receive_dead_letter(emulator: Emulator, queue_url: str, quick: str) -> tuple[dict, int]:
    """Waits for the first on-failure record, invoking another function meanwhile."""
    sqs, lambda_client = emulator.client("sqs"), emulator.client("lambda")
    completed = 0
    deadline = time.monotonic() + 8 * 60  # 3 attempts plus retry delays; generous
    while time.monotonic() < deadline:
        response = lambda_client.invoke(FunctionName=quick, Payload=json.dumps({"n": completed}))
        assert "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == {"echo": completed}
        completed += 1
        messages = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=10).get("Messages", [])
        if messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=messages[0]["ReceiptHandle"])
            return json.loads(messages[0]["Body"]), completed
    raise AssertionError("no on-failure record within 8 minutes")


def test_s3_triggered_timeout_is_retried_then_sent_to_the_on_failure_queue(tmp_path):
    starts_file = tmp_path / "starts"
    with private_emulator() as emulator:
        role = role_arn(emulator)
        busy = create_function(
            emulator, role, BUSY_IN_C, timeout=BUSY_TIMEOUT_SECONDS, STARTS_FILE=str(starts_file)
        )
        quick = create_function(emulator, role, QUICK, timeout=10)
        queue_url, queue_arn = dead_letter_queue(emulator)
        emulator.client("lambda").put_function_event_invoke_config(
            FunctionName=busy,
            MaximumRetryAttempts=MAX_RETRIES,
            DestinationConfig={"OnFailure": {"Destination": queue_arn}},
        )
        bucket = notify_on_object_created(emulator, busy)

        emulator.client("s3").put_object(Bucket=bucket, Key="in/one.jpg", Body=b"x")
        record, quick_invocations = receive_dead_letter(emulator, queue_url, quick)

        starts = read_pids(starts_file)
        assert len(starts) == 1 + MAX_RETRIES, starts
        assert len(set(starts)) == len(starts), "each attempt runs in a fresh process"
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 1 + MAX_RETRIES
        assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "in/one.jpg"
        assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
        assert quick_invocations >= 3, "the other function kept answering meanwhile"
        sqs = emulator.client("sqs")
        assert not sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=2).get("Messages")

        emulator.client("lambda").delete_function(FunctionName=busy)
        assert wait_until(lambda: not processes_of_function(busy)), processes_of_function(busy)
        assert len(read_pids(starts_file)) == 1 + MAX_RETRIES
        stop_promptly(emulator)


# --- 2. no orphans, interruptible environments, bounded logs -----------------------------------

SPAWNS_AND_HOLDS = """
import os, re, subprocess, time


def handler(event, context):
    child = subprocess.Popen(["sh", "-c", "sleep 600 & echo $!; wait"], stdout=subprocess.PIPE)
    grandchild = int(child.stdout.readline())
    with open(os.environ["PID_FILE"], "w") as pids:
        pids.write(f"{os.getpid()} {child.pid} {grandchild}")
    if event.get("hold_the_gil"):
        re.fullmatch(r"(a|aa)+b", "a" * 80)  # exponential, in C, never releases the GIL
    time.sleep(event.get("seconds", 600))
"""


def test_killed_localstack_takes_the_handler_and_its_children_with_it(tmp_path):
    pid_file = tmp_path / "pids"
    with private_emulator() as emulator:
        name = create_function(
            emulator, role_arn(emulator), SPAWNS_AND_HOLDS, timeout=300, PID_FILE=str(pid_file)
        )
        emulator.client("lambda").invoke(
            FunctionName=name, InvocationType="Event", Payload=json.dumps({"hold_the_gil": True})
        )
        assert wait_until(lambda: len(read_pids(pid_file)) == 3, seconds=60), "handler not started"
        pids = read_pids(pid_file)
        assert all(process_exists(pid) for pid in pids)

        os.kill(emulator.pid, signal.SIGKILL)

        assert wait_until(lambda: not any(process_exists(pid) for pid in pids)), [
            pid for pid in pids if process_exists(pid)
        ]
        assert not processes_of_function(name)


def test_localstack_stops_promptly_while_an_invocation_runs(tmp_path):
    pid_file = tmp_path / "pids"
    with private_emulator() as emulator:
        name = create_function(
            emulator, role_arn(emulator), SPAWNS_AND_HOLDS, timeout=300, PID_FILE=str(pid_file)
        )
        emulator.client("lambda").invoke(FunctionName=name, InvocationType="Event", Payload="{}")
        assert wait_until(lambda: len(read_pids(pid_file)) == 3, seconds=60), "handler not started"

        stop_promptly(emulator)

        assert not any(process_exists(pid) for pid in read_pids(pid_file))
        assert not processes_of_function(name)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with private_emulator() as started:
        yield started
        stop_promptly(started)


def test_deleting_a_function_interrupts_its_running_invocation(emulator, tmp_path):
    pid_file = tmp_path / "pids"
    name = create_function(
        emulator, role_arn(emulator), SPAWNS_AND_HOLDS, timeout=300, PID_FILE=str(pid_file)
    )
    lambda_client = emulator.client("lambda", read_timeout=400)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            lambda_client.invoke, FunctionName=name, Payload=json.dumps({"seconds": 250})
        )
        assert wait_until(lambda: len(read_pids(pid_file)) == 3, seconds=60), "handler not started"

        emulator.client("lambda").delete_function(FunctionName=name)
        response = pending.result(timeout=60)  # not the 250 s of the handler

    body = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "execution environment was stopped" in body["errorMessage"]
    assert wait_until(lambda: not any(process_exists(pid) for pid in read_pids(pid_file)))
    assert not processes_of_function(name)


LOUD = """
import sys


def handler(event, context):
    block = ("x" * 1023 + "\\n") * 1024  # 1 MiB of lines
    for _ in range(event["megabytes"]):
        sys.stdout.write(block)
    sys.stdout.write("y" * event["megabytes"] * 64 * 1024)  # and one long unterminated line
    print("the last line")
    return "done"
"""


def resident_megabytes(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) // 1024


def test_a_handler_printing_hundreds_of_megabytes_keeps_localstack_small(emulator):
    import base64

    name = create_function(emulator, role_arn(emulator), LOUD, timeout=120)
    lambda_client = emulator.client("lambda", read_timeout=200)
    lambda_client.invoke(FunctionName=name, Payload=json.dumps({"megabytes": 0}))  # warm-up
    before = resident_megabytes(emulator.pid)

    response = lambda_client.invoke(
        FunctionName=name, Payload=json.dumps({"megabytes": 400}), LogType="Tail"
    )

    growth = resident_megabytes(emulator.pid) - before
    assert "FunctionError" not in response
    assert json.loads(response["Payload"].read()) == "done"
    assert growth < 100, f"LocalStack grew by {growth} MB for 425 MB of output"
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "the last line" in tail
    paginator = emulator.client("logs").get_paginator("filter_log_events")
    pages = paginator.paginate(logGroupName=f"/aws/lambda/{name}")
    messages = [event["message"] for page in pages for event in page["events"]]
    assert sum("output truncated" in message for message in messages) == 1
    assert sum(len(message) for message in messages) < 2 * 1024 * 1024, "only the tail is kept"
