"""Fixtures of the integration tier: the stacks tests/support/stacks.py applies per run.

Every test here runs against the real stack on the local emulator (``local_stack_outputs``):
the pipeline end to end, hostile uploads and images, duplicate delivery, dead letters, load.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """The emulator and the stacks (tests/support/stacks.py): this tier's shared fixtures."""
    config.pluginmanager.import_plugin("support.stacks")  # once per run, whichever tier is first


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
