"""Fixtures shared by every tier that needs the local emulator.

The emulator is started once per test run, on its own port and state folder (so a developer's
`make up` emulator on 4566 is never touched), and stopped with its state removed at the end.
Set EMULATOR_ENDPOINT=http://127.0.0.1:4566 to run against an emulator you started yourself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from local import cloud_settings, emulator, stack
from tools import stack_access

REPO = cloud_settings.REPO

TIERS = ("unit", "terraform", "localcloud", "integration", "e2e")


@pytest.hookimpl(tryfirst=True)  # before -m / -k deselect anything
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """A test's tier is its folder: everything under tests/<tier>/ gets the <tier> marker.

    The tiers' counts are checked against their floors here too (see below).
    """
    tests_dir = Path(__file__).resolve().parent
    counts: dict[str, int] = {}
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(tests_dir)
        if relative.parts and relative.parts[0] in TIERS:
            item.add_marker(relative.parts[0])
            counts[relative.parts[0]] = counts.get(relative.parts[0], 0) + 1
    session.config.stash[_FLOOR_PROBLEMS] = tier_floor_problems(
        counts, tier_floors(), whole_tiers(session.config)
    )


# -- tier floors: a tier that collects fewer tests than tests/tier_floors.json fails the run ---
#
# Checked whenever a run collects whole tier folders (`make test`, `make test-fast`, `pytest
# tests/unit`; -m only deselects, so it still counts), not for a file, a node id or -k. A lost
# file, a broken parametrisation or a JS file without tests (each node test is one pytest test,
# see tests/unit/test_page_js.py) then fails CI instead of shrinking the suite silently. Raise a
# floor when a tier grows.

TIER_FLOORS_FILE = Path(
    os.environ.get("TIER_FLOORS_FILE") or Path(__file__).resolve().parent / "tier_floors.json"
)  # the variable is for tests/unit/test_tier_floors.py only
_FLOOR_PROBLEMS = pytest.StashKey[list[str]]()


def whole_tiers(config: pytest.Config) -> set[str]:
    """The tiers whose folder this run collects completely."""
    if config.getoption("keyword", ""):
        return set()
    tests_dir = Path(__file__).resolve().parent
    tiers: set[str] = set()
    for arg in config.args:
        if "::" in arg:
            continue
        path = (config.invocation_params.dir / arg).resolve()
        if path in (tests_dir, tests_dir.parent):
            tiers.update(TIERS)
        elif path.parent == tests_dir and path.name in TIERS:
            tiers.add(path.name)
    return tiers


def tier_floor_problems(
    counts: dict[str, int], floors: dict[str, int], tiers: set[str]
) -> list[str]:
    return [
        f"tests/{tier} collected {counts.get(tier, 0)} tests, fewer than its floor {floors[tier]}"
        f" ({TIER_FLOORS_FILE.name})"
        for tier in sorted(tiers)
        if counts.get(tier, 0) < floors[tier]
    ]


def tier_floors() -> dict[str, int]:
    floors = json.loads(TIER_FLOORS_FILE.read_text())
    if set(floors) != set(TIERS):
        raise pytest.UsageError(f"{TIER_FLOORS_FILE} must name exactly the tiers {TIERS}")
    return floors


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    problems = session.config.stash.get(_FLOOR_PROBLEMS, [])
    if problems and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for problem in terminalreporter.config.stash.get(_FLOOR_PROBLEMS, []):
        terminalreporter.write_line(f"TIER FLOOR: {problem}", red=True, bold=True)


FIRST_TEST_PORT = 4567  # 4566 stays free for the developer's `make up` emulator


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_test_port() -> int:
    """TEST_EMULATOR_PORT, or the first port from 4567 that is free with its sidecar's port
    (so concurrent runs do not collide)."""
    if os.environ.get("TEST_EMULATOR_PORT"):
        return int(os.environ["TEST_EMULATOR_PORT"])
    for port in range(FIRST_TEST_PORT, FIRST_TEST_PORT + 40):
        if _port_free(port) and _port_free(emulator.sidecar_port(port)):
            return port
    raise RuntimeError("no free port for the test emulator in 4567-4606")


FAKE_CREDENTIALS = cloud_settings.FAKE_CLIENT_KWARGS


def _emulator_cli(*args: str) -> None:
    subprocess.run([sys.executable, str(REPO / "local" / "emulator.py"), *args], check=True)


@pytest.fixture(scope="session")
def emulator_endpoint() -> Iterator[str]:
    """Endpoint URL of a running LocalStack with the host Lambda executor."""
    external = os.environ.get("EMULATOR_ENDPOINT")
    if external:
        yield external
        return
    port = free_test_port()
    state = ["--state-dir", str(REPO / ".local" / f"test-emulator-{port}")]
    _emulator_cli("stop", *state, "--purge")  # leftovers of an interrupted run on this port
    _emulator_cli("start", "--port", str(port), *state)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _emulator_cli("stop", *state, "--purge")


@pytest.fixture(scope="session")
def sidecar_endpoint(emulator_endpoint: str) -> str:
    """Endpoint URL of the moto sidecar (cognitoidp, cloudfront, wafv2, dynamodb) beside the emulator.

    SIDECAR_ENDPOINT overrides it, for an emulator started by hand with --sidecar-port.
    """
    return os.environ.get("SIDECAR_ENDPOINT") or emulator.sidecar_endpoint(
        urlsplit(emulator_endpoint).port or 4566
    )


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


STACK_NAME_PREFIX = "sit"
# Every option the local cloud can serve, so the one shared apply exercises them: the
# CloudFront distribution (OAC, headers and cache policies) and both WAF web ACLs live on the
# moto sidecar. The page itself is served path-style by the emulator's S3 (web_delivery =
# "emulator"): moto's CloudFront serves no traffic. The private network (LocalStack's EC2; the
# host Lambda executor ignores vpc_config), tracing settings, alarms with an email topic and
# 60 s alarm periods (LocalStack evaluates an alarm once per period).
LOCAL_CLOUD_OPTIONS = {
    "enable_cdn": True,
    "enable_waf": True,
    "enable_vpc": True,
    "enable_tracing": True,
    "enable_alarms": True,
    "alarm_email": "ops@example.com",
    "alarm_period_seconds": 60,
}


def layer_names(aws_client: Callable[..., Any], prefix: str) -> list[str]:
    try:
        layers = aws_client("lambda").list_layers()["Layers"]
    except ClientError as error:
        # LocalStack 2026.3 answers ListLayers with an InternalError once a layer's last version is
        # deleted (the layer object stays, empty). Ask for that layer's versions instead.
        if error.response["Error"]["Code"] != "InternalError":
            raise
        return [
            name
            for name in (f"{prefix}-processor-pillow",)
            if aws_client("lambda").list_layer_versions(LayerName=name)["LayerVersions"]
        ]
    return [layer["LayerName"] for layer in layers if layer["LayerName"].startswith(prefix)]


def leftovers(aws_client: Callable[..., Any], prefix: str, sidecar: str) -> list[str]:
    """Everything named with `prefix` that still exists on the emulator and its sidecar."""
    import boto3

    dynamodb = boto3.client("dynamodb", endpoint_url=sidecar, **FAKE_CREDENTIALS)
    found = [
        f"table {name}" for name in dynamodb.list_tables()["TableNames"] if name.startswith(prefix)
    ]
    found += [
        f"bucket {b['Name']}"
        for b in aws_client("s3").list_buckets()["Buckets"]
        if b["Name"].startswith(prefix)
    ]
    found += [
        f"function {f['FunctionName']}"
        for f in aws_client("lambda").list_functions()["Functions"]
        if f["FunctionName"].startswith(prefix)
    ]
    cognito = boto3.client("cognito-idp", endpoint_url=sidecar, **FAKE_CREDENTIALS)
    found += [
        f"user pool {pool['Name']}"
        for pool in cognito.list_user_pools(MaxResults=60)["UserPools"]
        if pool["Name"].startswith(prefix)
    ]
    found += [f"layer {name}" for name in layer_names(aws_client, prefix)]
    found += [
        f"api {a['name']}"
        for a in aws_client("apigateway").get_rest_apis()["items"]
        if a["name"].startswith(prefix)
    ]
    found += [
        f"queue {q}"
        for q in aws_client("sqs").list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    ]
    found += [
        f"role {r['RoleName']}"
        for r in aws_client("iam").list_roles()["Roles"]
        if r["RoleName"].startswith(prefix)
    ]
    found += [
        f"vpc {vpc['VpcId']}"
        for vpc in aws_client("ec2").describe_vpcs(
            Filters=[{"Name": "tag:Name", "Values": [f"{prefix}*"]}]
        )["Vpcs"]
    ]
    found += [
        f"alarm {a['AlarmName']}"
        for a in aws_client("cloudwatch").describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
    ]
    found += [
        f"dashboard {d['DashboardName']}"
        for d in aws_client("cloudwatch").list_dashboards(DashboardNamePrefix=prefix)[
            "DashboardEntries"
        ]
    ]
    found += [
        f"topic {t['TopicArn']}"
        for t in aws_client("sns").list_topics()["Topics"]
        if t["TopicArn"].rsplit(":", 1)[-1].startswith(prefix)
    ]
    found += [
        f"log group {g['logGroupName']}"
        for g in aws_client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")[
            "logGroups"
        ]
    ]
    return found


@pytest.fixture(scope="session")
def local_stack_deployment(
    emulator_endpoint: str,
    sidecar_endpoint: str,
    aws_client: Callable[..., Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[stack.LocalDeployment]:
    """The root stack applied on the emulator with tftest, once per run.

    At the end it is destroyed, and the destroy is checked: nothing named after it may remain.
    """
    assert not leftovers(aws_client, STACK_NAME_PREFIX, sidecar_endpoint), (
        "the emulator is not clean before the apply"
    )
    deployment = stack.LocalDeployment(
        workdir=tmp_path_factory.mktemp("stack"),
        endpoint=emulator_endpoint,
        extra_vars={"name_prefix": STACK_NAME_PREFIX, **LOCAL_CLOUD_OPTIONS},
        sidecar_endpoint=sidecar_endpoint,
    )
    try:
        deployment.apply()
        yield deployment
    finally:
        deployment.destroy()
    remaining = leftovers(aws_client, STACK_NAME_PREFIX, sidecar_endpoint)
    assert not remaining, f"terraform destroy left resources behind: {remaining}"


@pytest.fixture(scope="session")
def local_stack_outputs(local_stack_deployment: stack.LocalDeployment) -> dict[str, Any]:
    """`terraform output` of the stack on the emulator: web_url, api_url, upload_bucket, ..."""
    return local_stack_deployment.outputs()


@pytest.fixture(scope="session")
def api(local_stack_outputs: dict[str, Any]) -> stack_access.ApiClient:
    """The page's upload protocol (POST, presigned PUT, polling) against the deployed API."""
    return stack_access.ApiClient(local_stack_outputs["api_url"])


# -- the signed-in stack (auth = "cognito") ---------------------------------------------------
#
# The shared stack above stays anonymous (auth = "none", the default): every integration and
# browser test of the original flow runs against it unchanged. The sign-in tests get ONE more
# stack, applied on the same emulator and sidecar only when such a test is collected, under a
# prefix of its own so the two never meet. Quotas are small so a test can reach them.

AUTH_STACK_NAME_PREFIX = "sia"
AUTH_STACK_QUOTA_UPLOADS = 6


@pytest.fixture(scope="session")
def auth_stack_deployment(
    emulator_endpoint: str,
    sidecar_endpoint: str,
    aws_client: Callable[..., Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[stack.LocalDeployment]:
    """The root stack with auth = "cognito", applied once per run when a test needs it."""
    assert not leftovers(aws_client, AUTH_STACK_NAME_PREFIX, sidecar_endpoint), (
        "the emulator is not clean before the signed-in stack's apply"
    )
    deployment = stack.LocalDeployment(
        workdir=tmp_path_factory.mktemp("auth-stack"),
        endpoint=emulator_endpoint,
        extra_vars={
            "name_prefix": AUTH_STACK_NAME_PREFIX,
            "auth": "cognito",
            "auth_self_sign_up": True,
            "quota_uploads_per_day": AUTH_STACK_QUOTA_UPLOADS,
            "quota_bytes_per_day": 50 * 1024 * 1024,
        },
        sidecar_endpoint=sidecar_endpoint,
    )
    try:
        deployment.apply()
        yield deployment
    finally:
        deployment.destroy()
    remaining = leftovers(aws_client, AUTH_STACK_NAME_PREFIX, sidecar_endpoint)
    assert not remaining, f"terraform destroy left resources behind: {remaining}"


@pytest.fixture(scope="session")
def auth_stack_outputs(auth_stack_deployment: stack.LocalDeployment) -> dict[str, Any]:
    return auth_stack_deployment.outputs()


@pytest.fixture(scope="session")
def make_user(auth_stack_outputs: dict[str, Any], sidecar_endpoint: str) -> Callable[..., Any]:
    """``make_user() -> SignedInUser``: a fresh confirmed user of the signed-in stack."""
    import uuid

    import boto3

    auth = auth_stack_outputs["auth"]
    cognito = boto3.client("cognito-idp", endpoint_url=sidecar_endpoint, **FAKE_CREDENTIALS)

    def make(label: str = "user") -> SignedInUser:
        email = f"{label}-{uuid.uuid4().hex[:8]}@example.com"
        password = f"Pw-{uuid.uuid4().hex[:10]}-9!"
        cognito.admin_create_user(
            UserPoolId=auth["user_pool_id"],
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=auth["user_pool_id"], Username=email, Password=password, Permanent=True
        )
        tokens = stack_access.sign_in(auth["cognito_endpoint"], auth["client_id"], email, password)
        return SignedInUser(
            email=email,
            password=password,
            tokens=tokens,
            api=stack_access.ApiClient(auth_stack_outputs["api_url"], token=tokens["IdToken"]),
        )

    return make


class SignedInUser:
    def __init__(
        self, email: str, password: str, tokens: dict[str, Any], api: stack_access.ApiClient
    ) -> None:
        self.email = email
        self.password = password
        self.tokens = tokens
        self.api = api

    @property
    def sub(self) -> str:
        import base64
        import json

        payload = self.tokens["IdToken"].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
