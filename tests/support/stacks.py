"""The emulator and the stacks applied on it: a pytest plugin of the emulator tiers only.

tests/integration, tests/e2e and tests/localcloud register it from their conftest.py
(``config.pluginmanager.import_plugin("support.stacks")`` in their ``pytest_configure``: once
per run, whichever of them is collected first, so its session fixtures exist once); the unit and terraform tiers never import it (nor local.emulator or local.stack).

The emulator is started once per test run, on its own port and state folder (so a developer's
`make up` emulator on 4566 is never touched), and stopped with its state removed at the end.
Set EMULATOR_ENDPOINT=http://127.0.0.1:4566 to run against an emulator you started yourself.

Every stack a test needs is stood up by ``deployed_stack``: apply, hand over, destroy, then
check that each resource the state held before the destroy is really gone (Terraform re-reads
each one from the emulator; see ``leftovers``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local import cloud_settings, emulator
from local.stack import LocalDeployment
from tools import stack_access

REPO = cloud_settings.REPO
FAKE_CREDENTIALS = cloud_settings.FAKE_CLIENT_KWARGS
FIRST_TEST_PORT = 4567  # 4566 stays free for the developer's `make up` emulator


# -- the stacks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedStack:
    deployment: LocalDeployment
    outputs: dict[str, Any]


@contextmanager
def deployed_stack(
    prefix: str,
    variables: dict[str, Any],
    *,
    endpoint: str,
    sidecar_endpoint: str,
    workdir: Path,
) -> Iterator[AppliedStack]:
    """The root stack applied on the emulator under ``prefix`` with ``variables``.

    On leaving: ``terraform destroy``, then every resource the state held before the destroy
    must be gone from the emulator and its sidecar (an ``AssertionError`` names the rest).
    """
    deployment = LocalDeployment(
        workdir=workdir,
        endpoint=endpoint,
        extra_vars={"name_prefix": prefix, **variables},
        sidecar_endpoint=sidecar_endpoint,
    )
    before_destroy: str | None = None
    try:
        deployment.apply()
        yield AppliedStack(deployment, deployment.outputs())
    finally:
        before_destroy = state_snapshot(deployment.workdir)
        deployment.destroy()
    remaining = leftovers(
        deployment.workdir,
        before_destroy,
        cloud_settings.provider_override(endpoint, sidecar_endpoint),
    )
    assert not remaining, f"terraform destroy left resources behind: {remaining}"


def state_snapshot(workdir: Path) -> str | None:
    """The local state file of the Terraform working folder ``workdir``, if it has one."""
    state = workdir / "terraform.tfstate"
    return state.read_text() if state.exists() else None


def managed_resources(state: dict[str, Any]) -> list[str]:
    """``type id (address)`` of each managed resource in ``terraform show -json``'s state."""
    found: list[str] = []
    modules = [state.get("values", {}).get("root_module", {})]
    while modules:
        module = modules.pop()
        modules.extend(module.get("child_modules", []))
        found += [
            f"{r['type']} {r.get('values', {}).get('id')} ({r['address']})"
            for r in module.get("resources", [])
            if r.get("mode") == "managed"
        ]
    return sorted(found)


def leftovers(workdir: Path, before_destroy: str | None, provider_config: str) -> list[str]:
    """The resources of the pre-destroy state that the emulator still has.

    The pre-destroy state is refreshed (``terraform apply -refresh-only``) in a folder of its
    own beside ``workdir``, holding only ``provider_config`` (the ``provider "aws"`` blocks the
    stack was applied with): no configuration, outputs or checks to evaluate, so the provider
    just reads every resource of the state from the emulator and drops each one that is gone.
    What stays in that state is what the destroy left behind, whatever its kind.
    """
    if before_destroy is None:
        return []
    check = workdir / "leftover-check"
    check.mkdir(exist_ok=True)
    (check / "provider.tf").write_text(provider_config)
    (check / "terraform.tfstate").write_text(before_destroy)
    terraform(check, "init", "-input=false", "-no-color")
    refresh(check)
    return managed_resources(json.loads(terraform(check, "show", "-json", "-no-color")))


# A few reads of a deleted resource get an answer the provider does not take for "gone" (the
# moto sidecar's NoCachePolicy and NoResponseHeadersPolicy, LocalStack's InvalidParameterValue
# "does not exist" for a dashboard); such an answer still says the resource is gone.
GONE_ANSWER = re.compile(r"\((?P<id>[^()]+)\): .*(not found|does not exist)", re.IGNORECASE)


def refresh(check: Path, rounds: int = 4) -> None:
    """``terraform apply -refresh-only`` in ``check``; a resource whose read failed with an
    answer that says it is gone is taken out of the state and the refresh repeated."""
    for _ in range(rounds):
        done = subprocess.run(
            ["terraform", "apply", "-refresh-only", "-auto-approve", "-input=false", "-no-color"],
            cwd=check,
            env=terraform_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            return
        errors = [e.strip() for e in done.stderr.split("Error: ")[1:]]
        ids = [match["id"] for e in errors if (match := GONE_ANSWER.search(e))]
        if not errors or len(ids) < len(errors):
            raise AssertionError(f"the leftover check could not refresh the state:\n{done.stderr}")
        state = json.loads(terraform(check, "show", "-json", "-no-color"))
        terraform(check, "state", "rm", *(address_of(state, id_) for id_ in ids))
    raise AssertionError(f"the leftover check could not refresh the state in {rounds} rounds")


def address_of(state: dict[str, Any], resource_id: str) -> str:
    """The one managed resource of ``state`` with this id."""
    found = [
        entry.rsplit("(", 1)[1].rstrip(")")
        for entry in managed_resources(state)
        if entry.split(" ", 2)[1] == resource_id
    ]
    if len(found) != 1:
        raise AssertionError(f"the leftover check cannot tell which resource {resource_id} is")
    return found[0]


def terraform(workdir: Path, *args: str) -> str:
    """``terraform <args>`` in ``workdir``: its standard output; its error output on a failure."""
    done = subprocess.run(
        ["terraform", *args],
        cwd=workdir,
        env=terraform_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"terraform {args[0]} in {workdir} failed:\n{done.stderr}")
    return done.stdout


def terraform_env() -> dict[str, str]:
    """The environment of a local Terraform command: this one's (PATH, HOME) with the fake
    account over it, the way tftest runs Terraform."""
    return {**os.environ, **cloud_settings.terraform_env()}


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


def _emulator_cli(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "local.emulator", *args], check=True, cwd=REPO)


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
def dynamodb(sidecar_endpoint: str) -> Any:
    """A DynamoDB client of the sidecar, which serves the stacks' tables on the emulator."""
    import boto3

    return boto3.client("dynamodb", endpoint_url=sidecar_endpoint, **FAKE_CREDENTIALS)


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


# -- the shared anonymous stack -------------------------------------------------------------

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


@pytest.fixture(scope="session")
def local_stack(
    emulator_endpoint: str, sidecar_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppliedStack]:
    """The root stack applied on the emulator, once per run, destroyed and checked at the end."""
    with deployed_stack(
        STACK_NAME_PREFIX,
        LOCAL_CLOUD_OPTIONS,
        endpoint=emulator_endpoint,
        sidecar_endpoint=sidecar_endpoint,
        workdir=tmp_path_factory.mktemp("stack"),
    ) as applied:
        yield applied


@pytest.fixture(scope="session")
def local_stack_deployment(local_stack: AppliedStack) -> LocalDeployment:
    return local_stack.deployment


@pytest.fixture(scope="session")
def local_stack_outputs(local_stack: AppliedStack) -> dict[str, Any]:
    """`terraform output` of the stack on the emulator: web_url, api_url, upload_bucket, ..."""
    return local_stack.outputs


@pytest.fixture(scope="session")
def api(local_stack_outputs: dict[str, Any]) -> stack_access.ApiClient:
    """The page's upload protocol (POST, presigned PUT, polling) against the deployed API."""
    return stack_access.ApiClient(local_stack_outputs["api_url"])


# -- the signed-in stack (auth = "cognito") -------------------------------------------------
#
# The shared stack above stays anonymous (auth = "none", the default): every integration and
# browser test of the original flow runs against it unchanged. The sign-in tests get ONE more
# stack, applied on the same emulator and sidecar only when such a test is collected, under a
# prefix of its own so the two never meet. Quotas are small so a test can reach them.

AUTH_STACK_NAME_PREFIX = "sia"
AUTH_STACK_QUOTA_UPLOADS = 6
AUTH_STACK_OPTIONS = {
    "auth": "cognito",
    "auth_self_sign_up": True,
    "quota_uploads_per_day": AUTH_STACK_QUOTA_UPLOADS,
    "quota_bytes_per_day": 50 * 1024 * 1024,
}


@pytest.fixture(scope="session")
def auth_stack(
    emulator_endpoint: str, sidecar_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppliedStack]:
    """The root stack with auth = "cognito", applied once per run when a test needs it."""
    with deployed_stack(
        AUTH_STACK_NAME_PREFIX,
        AUTH_STACK_OPTIONS,
        endpoint=emulator_endpoint,
        sidecar_endpoint=sidecar_endpoint,
        workdir=tmp_path_factory.mktemp("auth-stack"),
    ) as applied:
        yield applied


@pytest.fixture(scope="session")
def auth_stack_deployment(auth_stack: AppliedStack) -> LocalDeployment:
    return auth_stack.deployment


@pytest.fixture(scope="session")
def auth_stack_outputs(auth_stack: AppliedStack) -> dict[str, Any]:
    return auth_stack.outputs


@pytest.fixture(scope="session")
def make_user(auth_stack_outputs: dict[str, Any], sidecar_endpoint: str) -> Callable[..., Any]:
    """``make_user() -> SignedInUser``: a fresh confirmed user of the signed-in stack."""
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
        payload = self.tokens["IdToken"].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]
