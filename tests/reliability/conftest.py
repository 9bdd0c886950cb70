"""Fixtures of the reliability tier (issue #7: nothing lost, hostile input refused).

Emulator tests (marker ``integration``) run against the one stack that tests/conftest.py
applies per run (``local_stack_outputs``). In-process tests are marked ``unit``; the checkov
scan is marked ``terraform``. The operator commands under tools/ are imported from there.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"

for folder in (TOOLS, Path(__file__).resolve().parent):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


@pytest.fixture(scope="session")
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


@pytest.fixture(scope="session")
def lambda_client(aws_client: Callable[..., Any]) -> Any:
    # synchronous invokes of the processor may take up to its timeout
    return aws_client("lambda", read_timeout=120)


@pytest.fixture(scope="session")
def sqs(aws_client: Callable[..., Any]) -> Any:
    return aws_client("sqs")


@pytest.fixture(scope="session")
def processor_config(lambda_client: Any, local_stack_outputs: dict[str, Any]) -> dict[str, Any]:
    """The deployed processor's configuration (timeout, memory, environment)."""
    return lambda_client.get_function_configuration(
        FunctionName=local_stack_outputs["processor_function_name"]
    )


@pytest.fixture(scope="session")
def outputs_file(
    local_stack_outputs: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The outputs as a JSON file, the way an operator passes them to the tools."""
    path = tmp_path_factory.mktemp("outputs") / "outputs.json"
    path.write_text(json.dumps(local_stack_outputs))
    return path
