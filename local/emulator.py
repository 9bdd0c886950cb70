#!/usr/bin/env python3
"""Start, stop and inspect LocalStack running on the host (no Docker).

    python local/emulator.py start  [--port 4566] [--state-dir .local/emulator]
    python local/emulator.py stop   [--state-dir ...] [--purge]
    python local/emulator.py status [--state-dir ...]

Everything LocalStack writes (state, temp files, logs, S3 objects, the pid file) stays under
the state folder. Standard library only, so any Python 3 can run it.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCALSTACK_PYTHON = REPO / ".local" / "venvs" / "localstack" / "bin" / "python"
LAMBDA_PYTHON = REPO / ".local" / "venvs" / "lambda-python3.12" / "bin" / "python"
DEFAULT_STATE_DIR = REPO / ".local" / "emulator"
SERVICES = "s3,iam,sts,lambda,apigateway,logs,cloudwatch,sqs"
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20


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


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def read_pid(state_dir: Path) -> int | None:
    try:
        pid = int((state_dir / "localstack.pid").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def emulator_environment(port: int, state_dir: Path) -> dict[str, str]:
    tmp = state_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for leaked in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        env.pop(leaked, None)
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",  # the machine may carry /.dockerenv; LocalStack runs on the host
            "DISABLE_EVENTS": "1",  # no analytics: offline, and its shutdown hook would hang
            "DNS_ADDRESS": "0",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "SERVICES": SERVICES,
            "FILESYSTEM_ROOT": str(state_dir / "filesystem"),
            "TMPDIR": str(tmp),
            "XDG_CACHE_HOME": str(state_dir / "cache"),
            "S3_SKIP_SIGNATURE_VALIDATION": "0",  # presigned URLs are enforced, as on AWS
            "LAMBDA_RUNTIME_EXECUTOR": "host",
            "HOST_LAMBDA_INTERPRETERS": f"python3.12={LAMBDA_PYTHON}",
            "LAMBDA_KEEPALIVE_MS": "120000",
            # Async retries wait 1 s, 2 s, ... instead of 60 s, 120 s: same path, faster feedback.
            "LAMBDA_RETRY_BASE_DELAY": os.environ.get("LAMBDA_RETRY_BASE_DELAY", "1"),
        }
    )
    return env


def start(port: int, state_dir: Path) -> None:
    pid = read_pid(state_dir)
    if pid and health(port):
        say(f"already running (pid {pid}) on http://127.0.0.1:{port}")
        return
    if port_in_use(port):
        fail(
            f"port {port} is already taken by another program, so LocalStack cannot start. "
            f"Find it with `ss -ltnp 'sport = :{port}'` and stop it, or use another port."
        )
    if not LOCALSTACK_PYTHON.exists():
        fail("LocalStack is not installed: run `make setup` (local/setup.sh) first.")
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "localstack.log"
    say(f"starting LocalStack on http://127.0.0.1:{port} (logs: {log_path})")
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"],
            env=emulator_environment(port, state_dir),
            cwd=state_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (state_dir / "localstack.pid").write_text(str(process.pid))
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            fail(f"LocalStack exited with code {process.returncode} during start; see {log_path}")
        status = health(port)
        if status and status.get("services", {}).get("lambda") in ("available", "running"):
            say(
                f"ready in {START_TIMEOUT_SECONDS - (deadline - time.monotonic()):.1f} s (pid {process.pid})"
            )
            return
        time.sleep(0.3)
    stop_process(process.pid)
    fail(f"LocalStack was not healthy after {START_TIMEOUT_SECONDS} s; see {log_path}")


def stop_process(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        try:  # reap it if it is our own child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.2)
    say(f"LocalStack (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT_SECONDS} s: killing it")
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def stop(state_dir: Path, purge: bool) -> None:
    pid = read_pid(state_dir)
    if pid:
        say(f"stopping LocalStack (pid {pid})")
        stop_process(pid)
    else:
        say("not running")
    (state_dir / "localstack.pid").unlink(missing_ok=True)
    if purge and state_dir.exists():
        shutil.rmtree(state_dir, ignore_errors=True)
        say(f"removed state in {state_dir}")


def status(port: int, state_dir: Path) -> None:
    pid = read_pid(state_dir)
    current = health(port)
    if pid and current:
        say(f"running (pid {pid}) on http://127.0.0.1:{port}")
        services = {
            name: state
            for name, state in current.get("services", {}).items()
            if state != "disabled"
        }
        print(json.dumps(services, indent=2))
    else:
        say("not running")
        sys.exit(3)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", 4566)))
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--purge", action="store_true", help="stop: also delete the state folder")
    args = parser.parse_args()
    state_dir = args.state_dir.resolve()
    if args.command == "start":
        start(args.port, state_dir)
    elif args.command == "stop":
        stop(state_dir, args.purge)
    else:
        status(args.port, state_dir)


if __name__ == "__main__":
    main()
