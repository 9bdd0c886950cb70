"""Unit tier fixtures: no network, fake AWS credentials, moto S3, fresh handler modules.

The Lambda packages (``api``, ``processor``, ``common``) are importable because pyproject's
``pythonpath`` puts ``lambda_src`` on the path, as the functions' zips lay them out. A handler
reads its configuration at import, so each test imports it afresh after setting the environment.
"""

from __future__ import annotations

import importlib
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from support.lambda_env import (
    API_ENV,
    OUTPUT_BUCKET,
    PROCESSOR_ENV,
    QUOTA_TABLE,
    REGION,
    UPLOAD_BUCKET,
    UPLOADS_TABLE,
    create_quota_table,
    create_uploads_table,
)
from support.tokens import CLIENT_ID, ISSUER, TokenFactory


class NetworkBlocked(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any outgoing IP connection (moto works in-process and needs none)."""

    def refuse(self: socket.socket, address: Any, *args: Any, **kwargs: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkBlocked(f"unit tests must not open network connections ({address!r})")
        return original_connect(self, address, *args, **kwargs)

    original_connect = socket.socket.connect
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and a fixed region; no endpoint, profile or config file leaks in."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def lambda_context() -> SimpleNamespace:
    return SimpleNamespace(
        aws_request_id="req-" + uuid.uuid4().hex[:12],
        function_name="unit-test-function",
        memory_limit_in_mb=1024,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:unit-test",
        get_remaining_time_in_millis=lambda: 30_000,
    )


@pytest.fixture(scope="module")
def _moto() -> Iterator[Any]:
    """One moto mock per test module (starting one per test re-creates the boto3 session,
    which costs far more than the tests themselves). Stopped at the end of the module so it
    can never intercept another tier's calls."""
    from moto import mock_aws

    mock = mock_aws()
    mock.start()
    try:
        yield mock
    finally:
        mock.stop()


@pytest.fixture
def s3(_moto: Any, aws_credentials: None) -> Any:
    """moto S3 with empty upload and output buckets, reset for every test."""
    import boto3

    _moto.reset()
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=UPLOAD_BUCKET)
    client.create_bucket(Bucket=OUTPUT_BUCKET)
    create_uploads_table(boto3.client("dynamodb", region_name=REGION))
    return client


@pytest.fixture
def uploads(s3: Any) -> Any:
    """The moto uploads table the handlers use (created with the buckets)."""
    from common.table import UploadsTable
    from common.table import make_client as dynamodb_client

    return UploadsTable(dynamodb_client({"AWS_REGION": REGION}), UPLOADS_TABLE)


def load_handler(module_name: str) -> ModuleType:
    """Import ``module_name`` (e.g. ``api.handler``) afresh: its module-level config and client."""
    sys.modules.pop(module_name, None)
    return importlib.import_module(module_name)


def environment_setter(
    monkeypatch: pytest.MonkeyPatch, defaults: dict[str, str]
) -> Callable[..., None]:
    """Set ``defaults`` now; the returned function re-applies them with single overrides
    (``None`` unsets a variable)."""

    def apply(**overrides: str | None) -> None:
        for name, value in {**defaults, **overrides}.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)

    apply()
    return apply


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the API environment; keyword arguments override single variables."""
    return environment_setter(monkeypatch, API_ENV)


@pytest.fixture
def processor_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the processor environment; keyword arguments override single variables."""
    return environment_setter(monkeypatch, PROCESSOR_ENV)


@pytest.fixture
def load_api(s3: Any, api_env: Callable[..., None]) -> Callable[..., ModuleType]:
    """Return a loader of the API handler module (after the moto mock has started)."""

    def load(**overrides: str | None) -> ModuleType:
        api_env(**overrides)
        return load_handler("api.handler")

    return load


@pytest.fixture
def load_processor(s3: Any, processor_env: Callable[..., None]) -> Callable[..., ModuleType]:
    """Return a loader of the processor handler module (after the moto mock has started)."""

    def load(**overrides: str | None) -> ModuleType:
        processor_env(**overrides)
        return load_handler("processor.handler")

    return load


@pytest.fixture
def api(load_api: Callable[..., ModuleType]) -> ModuleType:
    return load_api()


@pytest.fixture
def processor(load_processor: Callable[..., ModuleType]) -> ModuleType:
    return load_processor()


@pytest.fixture
def load_signed_in(load_api: Callable[..., ModuleType], s3: Any) -> Callable[..., ModuleType]:
    """A loader of the API with sign-in (``AUTH_MODE=cognito``) on moto, trusting the tokens of
    ``support.tokens.TokenFactory()``, with the quota table sign-in always has (it also holds
    each user's revocation time); keyword arguments override its environment."""
    import boto3

    create_quota_table(boto3.client("dynamodb", region_name=REGION))
    signed_in = {
        "AUTH_MODE": "cognito",
        "AUTH_ISSUER": ISSUER,
        "AUTH_CLIENT_ID": CLIENT_ID,
        "AUTH_JWKS": TokenFactory().jwks(),
        "QUOTA_TABLE": QUOTA_TABLE,
    }

    def load(**overrides: str | None) -> ModuleType:
        return load_api(**{**signed_in, **overrides})

    return load


@pytest.fixture
def atomic_item_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each conditional write to an item atomically; in-process moto does not
    (two threads can both pass one condition): the sidecar's lock, for this test only."""
    from local import moto_sidecar

    moto_sidecar.serialise_item_writes(monkeypatch.setattr)
