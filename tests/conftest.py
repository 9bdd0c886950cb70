"""Fixtures shared by every tier that needs the local emulator.

The emulator is started once per test run, on its own port and state folder (so a developer's
`make up` emulator on 4566 is never touched), and stopped with its state removed at the end.
Set EMULATOR_ENDPOINT=http://127.0.0.1:4566 to run against an emulator you started yourself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "local"))

import stack  # noqa: E402  (local/stack.py: prepares and applies the root stack on the emulator)

TEST_EMULATOR_PORT = int(os.environ.get("TEST_EMULATOR_PORT", "4567"))
TEST_STATE_DIR = REPO / ".local" / "test-emulator"
FAKE_CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


def _emulator_cli(*args: str) -> None:
    subprocess.run([sys.executable, str(REPO / "local" / "emulator.py"), *args], check=True)


@pytest.fixture(scope="session")
def emulator_endpoint() -> Iterator[str]:
    """Endpoint URL of a running LocalStack with the host Lambda executor."""
    external = os.environ.get("EMULATOR_ENDPOINT")
    if external:
        yield external
        return
    state = ["--state-dir", str(TEST_STATE_DIR)]
    _emulator_cli("stop", *state, "--purge")  # leftovers of an interrupted run
    _emulator_cli("start", "--port", str(TEST_EMULATOR_PORT), *state)
    try:
        yield f"http://127.0.0.1:{TEST_EMULATOR_PORT}"
    finally:
        _emulator_cli("stop", *state, "--purge")


@pytest.fixture(scope="session")
def aws_client(emulator_endpoint: str) -> Callable[..., Any]:
    """Factory of boto3 clients bound to the emulator: ``aws_client("s3")``."""
    import boto3
    from botocore.config import Config

    def make(service: str, **config: Any) -> Any:
        return boto3.client(
            service,
            endpoint_url=emulator_endpoint,
            config=Config(retries={"max_attempts": 2}, **config),
            **FAKE_CREDENTIALS,
        )

    return make


@pytest.fixture(scope="session")
def local_stack_outputs(emulator_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The root stack applied on the emulator (once per run); yields its `terraform output` values.

    Destroyed at the end of the run; the destroy itself is checked by tests/integration.
    """
    deployment = stack.LocalDeployment(
        workdir=tmp_path_factory.mktemp("stack"),
        endpoint=emulator_endpoint,
        extra_vars={"name_prefix": "sit"},
    )
    deployment.apply()
    try:
        yield deployment.outputs()
    finally:
        deployment.destroy()
