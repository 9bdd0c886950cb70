#!/usr/bin/env python3
"""Start, stop and inspect LocalStack running on the host (no Docker), with its moto sidecar.

    python3 -m local.emulator start  [--port 4566] [--sidecar-port PORT] [--state-dir .local/emulator]
    python3 -m local.emulator stop   [--state-dir ...] [--purge]
    python3 -m local.emulator status [--port 4566] [--state-dir ...]

LocalStack community has no cognito-idp, cloudfront or wafv2, so a moto server (the sidecar)
runs beside it on the emulator port + SIDECAR_PORT_OFFSET (5566 for 4566) unless
--sidecar-port says otherwise; `sidecar_endpoint()` tells other code where it is. The two
start, stop and report together.

Everything they write (state, temp files, logs, S3 objects, the pid files) stays under the
state folder, the sidecar's under `<state-dir>/sidecar/`. Standard library only, so any
Python 3 can run it, from the repository root or as a file (`python3 local/emulator.py start`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
LOCALSTACK_PYTHON = REPO / ".local" / "venvs" / "localstack" / "bin" / "python"
LAMBDA_PYTHON = REPO / ".local" / "venvs" / "lambda-python3.12" / "bin" / "python"
MOTO_PYTHON = REPO / ".local" / "venvs" / "moto" / "bin" / "python"
# moto.server plus the CloudFront policy APIs moto lacks (response headers and cache policies).
MOTO_SIDECAR = REPO / "local" / "moto_sidecar.py"
DEFAULT_STATE_DIR = REPO / ".local" / "emulator"
# ec2: enable_vpc; sns + ses: the alarm email (LocalStack keeps sent mail at /_aws/ses);
# events: the outcome events (EventBridge bus, rules, archive, API destination).
SERVICES = "s3,iam,sts,lambda,apigateway,logs,cloudwatch,sqs,ec2,sns,ses,events"
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20
SIDECAR_PORT_OFFSET = 1000  # the sidecar listens on the emulator port + this, unless told otherwise
# Terraform endpoint names the sidecar serves. DynamoDB too: LocalStack community's DynamoDB
# downloads DynamoDB Local (Java) from AWS's CDN at first use, which an offline machine cannot.
SIDECAR_SERVICES = ("cognitoidp", "cloudfront", "wafv2", "dynamodb")
SIDECAR_START_TIMEOUT_SECONDS = 30


def sidecar_dir(state_dir: Path) -> Path:
    return state_dir / "sidecar"


def sidecar_port(emulator_port: int, state_dir: Path | None = None) -> int:
    """The sidecar's port: the one a running sidecar recorded in `state_dir`, else the default."""
    if state_dir is not None:
        try:
            return int((sidecar_dir(state_dir) / "port").read_text().strip())
        except (FileNotFoundError, ValueError):
            pass
    return emulator_port + SIDECAR_PORT_OFFSET


def sidecar_endpoint(emulator_port: int, state_dir: Path | None = None) -> str:
    """Endpoint URL of the moto sidecar beside the emulator on `emulator_port`.

    Route SIDECAR_SERVICES (cognitoidp, cloudfront, wafv2, dynamodb) there. Give `state_dir` when the
    emulator may have been started with --sidecar-port.
    """
    return f"http://127.0.0.1:{sidecar_port(emulator_port, state_dir)}"


def say(message: str) -> None:
    print(f"[emulator] {message}", flush=True)


def fail(message: str) -> None:
    print(f"[emulator] ERROR: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/_localstack/health", timeout=2
        ) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def sidecar_health(port: int) -> dict | None:
    """moto's own configuration document, which only a moto server answers."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/moto-api/config", timeout=2
        ) as response:
            document = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def read_pid(state_dir: Path, name: str = "localstack") -> int | None:
    try:
        pid = int((state_dir / f"{name}.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def clean_environment(state_dir: Path) -> dict[str, str]:
    """os.environ without another Python's paths, with TMPDIR under `state_dir`."""
    tmp = state_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for leaked in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(leaked, None)
    env["TMPDIR"] = str(tmp)
    return env


def emulator_environment(port: int, state_dir: Path) -> dict[str, str]:
    env = clean_environment(state_dir)
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",  # the machine may carry /.dockerenv; LocalStack runs on the host
            "DISABLE_EVENTS": "1",  # no analytics: offline, and its shutdown hook would hang
            "DNS_ADDRESS": "0",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "SERVICES": SERVICES,
            "FILESYSTEM_ROOT": str(state_dir / "filesystem"),
            "XDG_CACHE_HOME": str(state_dir / "cache"),
            "S3_SKIP_SIGNATURE_VALIDATION": "0",  # presigned URLs are enforced, as on AWS
            "LAMBDA_RUNTIME_EXECUTOR": "host",
            "HOST_LAMBDA_INTERPRETERS": f"python3.12={LAMBDA_PYTHON}",
            "LAMBDA_KEEPALIVE_MS": "120000",
            # Async retries wait 1 s, 2 s, ... instead of 60 s, 120 s: same path, faster feedback.
            "LAMBDA_RETRY_BASE_DELAY": os.environ.get("LAMBDA_RETRY_BASE_DELAY", "1"),
            # Queue depths reach CloudWatch every 5 s instead of 60 s (the dead-letter alarm).
            "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL": os.environ.get(
                "SQS_CLOUDWATCH_METRICS_REPORT_INTERVAL", "5"
            ),
        }
    )
    return env


def sidecar_environment(port: int, state_dir: Path) -> dict[str, str]:
    env = clean_environment(sidecar_dir(state_dir))
    env.update({"MOTO_PORT": str(port), "AWS_DEFAULT_REGION": "us-east-1"})
    return env


class StartError(Exception):
    """A process did not come up; the message says which and where its log is."""


def require_free_port(port: int, who: str, option: str) -> None:
    if port_in_use(port):
        fail(
            f"port {port} is already taken by another program, so {who} cannot start. "
            f"Find it with `ss -ltnp 'sport = :{port}'` and stop it, or use another port "
            f"({option})."
        )


def launch(command: list[str], env: dict[str, str], workdir: Path, name: str) -> subprocess.Popen:
    """Start `command` in a session of its own, logging to and recording its pid in `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / f"{name}.log", "ab") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (workdir / f"{name}.pid").write_text(str(process.pid))
    return process


def wait_ready(
    process: subprocess.Popen, label: str, ready: Callable[[], bool], log: Path, timeout: float
) -> float:
    """Seconds until `ready()`; StartError if the process exits or the timeout passes first."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise StartError(
                f"{label} exited with code {process.returncode} during start; see {log}"
            )
        if ready():
            return time.monotonic() - started
        time.sleep(0.3)
    raise StartError(f"{label} was not healthy after {timeout:.0f} s; see {log}")


def localstack_ready(port: int) -> bool:
    status = health(port)
    return bool(status and status.get("services", {}).get("lambda") in ("available", "running"))


def start_localstack(port: int, state_dir: Path) -> subprocess.Popen:
    say(f"starting LocalStack on http://127.0.0.1:{port} (logs: {state_dir / 'localstack.log'})")
    return launch(
        [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"],
        emulator_environment(port, state_dir),
        state_dir,
        "localstack",
    )


def start_sidecar(port: int, state_dir: Path) -> subprocess.Popen:
    workdir = sidecar_dir(state_dir)
    say(
        f"starting the moto sidecar ({', '.join(SIDECAR_SERVICES)}) on http://127.0.0.1:{port} "
        f"(logs: {workdir / 'moto.log'})"
    )
    process = launch(
        [str(MOTO_PYTHON), str(MOTO_SIDECAR), "--host", "127.0.0.1", "--port", str(port)],
        sidecar_environment(port, state_dir),
        workdir,
        "moto",
    )
    (workdir / "port").write_text(str(port))
    return process


class Starting(NamedTuple):
    process: subprocess.Popen
    label: str
    ready: Callable[[], bool]
    log: Path
    timeout: float


def sidecar_ready(port: int) -> bool:
    return sidecar_health(port) is not None


def start(port: int, side_port: int | None, state_dir: Path) -> None:
    localstack_pid = read_pid(state_dir)
    localstack_up = bool(localstack_pid and health(port))
    moto_pid = read_pid(sidecar_dir(state_dir), "moto")
    running_side_port = sidecar_port(port, state_dir)
    sidecar_up = bool(moto_pid and sidecar_ready(running_side_port))
    if localstack_up:
        say(f"LocalStack already running (pid {localstack_pid}) on http://127.0.0.1:{port}")
    if sidecar_up:
        say(f"sidecar already running (pid {moto_pid}) on http://127.0.0.1:{running_side_port}")
    if localstack_up and sidecar_up:
        return
    side_port = side_port or port + SIDECAR_PORT_OFFSET
    if not sidecar_up and side_port == port:
        fail(f"the sidecar cannot share the emulator's port {port}: choose another --sidecar-port.")
    if not localstack_up:
        require_free_port(port, "LocalStack", "--port")
    if not sidecar_up:
        require_free_port(side_port, "the moto sidecar", "--sidecar-port, or another --port")
    for python, what in ((LOCALSTACK_PYTHON, "LocalStack"), (MOTO_PYTHON, "the moto sidecar")):
        if not python.exists():
            fail(f"{what} is not installed: run `make setup` (local/setup.sh) first.")
    state_dir.mkdir(parents=True, exist_ok=True)
    starting: list[Starting] = []
    if not localstack_up:
        starting.append(
            Starting(
                start_localstack(port, state_dir),
                "LocalStack",
                functools.partial(localstack_ready, port),
                state_dir / "localstack.log",
                START_TIMEOUT_SECONDS,
            )
        )
    if not sidecar_up:
        starting.append(
            Starting(
                start_sidecar(side_port, state_dir),
                "the moto sidecar",
                functools.partial(sidecar_ready, side_port),
                sidecar_dir(state_dir) / "moto.log",
                SIDECAR_START_TIMEOUT_SECONDS,
            )
        )
    await_all(starting)


def await_all(starting: list[Starting]) -> None:
    """Waits until each is ready; on the first failure stops them all and fails."""
    try:
        for item in starting:
            seconds = wait_ready(item.process, item.label, item.ready, item.log, item.timeout)
            say(f"{item.label} ready in {seconds:.1f} s (pid {item.process.pid})")
    except StartError as error:
        stop_processes({item.process.pid: item.label for item in starting})
        fail(str(error))


def group_alive(pgid: int) -> bool:
    """True while any process of the group (session) led by `pgid` exists, zombies reaped."""
    try:  # reap the leader if it is our own child
        os.waitpid(pgid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_processes(groups: dict[int, str]) -> None:
    """SIGTERM to each process group (leader pid -> label) at once, then SIGKILL to any group
    with a process left after STOP_TIMEOUT_SECONDS."""
    for pid in groups:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    alive = [pid for pid in groups if group_alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if group_alive(pid)]
    for pid in alive:
        say(f"{groups[pid]} (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT_SECONDS} s: killing it")
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stop(state_dir: Path, purge: bool) -> None:
    """Stops the sidecar and LocalStack together; says which of them was not running."""
    running: dict[int, str] = {}
    for workdir, name, label in (
        (sidecar_dir(state_dir), "moto", "the moto sidecar"),
        (state_dir, "localstack", "LocalStack"),
    ):
        pid = read_pid(workdir, name)
        if pid:
            say(f"stopping {label} (pid {pid})")
            running[pid] = label
        else:
            say(f"{label} not running")
    stop_processes(running)
    for pid_file in (sidecar_dir(state_dir) / "moto.pid", state_dir / "localstack.pid"):
        pid_file.unlink(missing_ok=True)
    (sidecar_dir(state_dir) / "port").unlink(missing_ok=True)
    if purge and state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
        say(f"removed state in {state_dir}")


def status(port: int, state_dir: Path) -> None:
    """Prints what runs; exits 3 unless both LocalStack and the sidecar do."""
    pid = read_pid(state_dir)
    current = health(port)
    if pid and current:
        say(f"LocalStack running (pid {pid}) on http://127.0.0.1:{port}")
        services = {
            name: state
            for name, state in current.get("services", {}).items()
            if state != "disabled"
        }
        print(json.dumps(services, indent=2))
    else:
        say("LocalStack not running")
    moto_pid = read_pid(sidecar_dir(state_dir), "moto")
    side_port = sidecar_port(port, state_dir)
    sidecar_up = bool(moto_pid and sidecar_health(side_port))
    if sidecar_up:
        say(
            f"sidecar running (pid {moto_pid}) on {sidecar_endpoint(port, state_dir)}: "
            f"{', '.join(SIDECAR_SERVICES)}"
        )
    else:
        say("sidecar not running")
    if not (pid and current and sidecar_up):
        sys.exit(3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", 4566)))
    parser.add_argument(
        "--sidecar-port",
        type=int,
        default=None,
        help=f"start: the moto sidecar's port (default: --port + {SIDECAR_PORT_OFFSET})",
    )
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--purge", action="store_true", help="stop: also delete the state folder")
    args = parser.parse_args()
    state_dir = args.state_dir.resolve()
    if args.command == "start":
        start(args.port, args.sidecar_port, state_dir)
    elif args.command == "stop":
        stop(state_dir, args.purge)
    else:
        status(args.port, state_dir)


if __name__ == "__main__":
    main()
