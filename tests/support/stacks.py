"""The emulator and the stacks applied on it: a pytest plugin of the emulator tiers only.

tests/integration, tests/e2e and tests/localcloud register it from their conftest.py
(``config.pluginmanager.import_plugin("support.stacks")`` in their ``pytest_configure``: once
per run, whichever of them is collected first, so its session fixtures exist once); the unit and terraform tiers never import it (nor local.emulator or local.stack).

The emulator is started once per test run, on its own port and state folder (so a developer's
`make up` emulator on 4566 is never touched), and stopped with its state removed at the end.
Set EMULATOR_ENDPOINT=http://127.0.0.1:4566 to run against an emulator you started yourself.

Every stack the collected tests need (:data:`STACKS`: the shared anonymous stack, the
signed-in one, the reprocessing one) starts applying before the first test, each in a thread of
its own (:class:`StackPool`), so the applies overlap each other and the tests that need no stack;
a test waits only for its own stack. At the end all are destroyed side by side, then each
resource the state held before the destroy must really be gone (Terraform re-reads each one
from the emulator; see ``leftovers``).
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
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


@dataclass(frozen=True)
class StackSpec:
    """A stack the tests need: the root module under ``prefix`` with ``variables``."""

    prefix: str
    variables: dict[str, Any]


class BackgroundStack:
    """One stack applied in a thread of its own, so several stacks (and the tests that need none
    yet) proceed side by side: Terraform spends most of an apply waiting on the emulator.

    :meth:`result` waits for the apply; :meth:`destroy` runs ``terraform destroy`` and then
    checks that every resource the state held before it is really gone from the emulator and
    its sidecar (:func:`leftovers`).
    """

    def __init__(self, spec: StackSpec, *, endpoint: str, sidecar_endpoint: str, workdir: Path):
        self.deployment = LocalDeployment(
            workdir=workdir,
            endpoint=endpoint,
            extra_vars={"name_prefix": spec.prefix, **spec.variables},
            sidecar_endpoint=sidecar_endpoint,
        )
        self._provider_config = cloud_settings.provider_override(endpoint, sidecar_endpoint)
        self._applied: AppliedStack | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._apply, name=f"apply-{spec.prefix}")
        self._thread.start()

    def _apply(self) -> None:
        try:
            self.deployment.apply()
            self._applied = AppliedStack(self.deployment, self.deployment.outputs())
        except BaseException as error:  # handed to the test that needs the stack
            self._error = error

    def result(self) -> AppliedStack:
        self._thread.join()
        if self._error is not None:
            raise RuntimeError(f"terraform apply of {self.deployment.workdir} failed") from (
                self._error
            )
        assert self._applied is not None
        return self._applied

    def destroy(self) -> list[str]:
        """``terraform destroy``; what it left behind (empty when everything is gone)."""
        self._thread.join()
        before_destroy = state_snapshot(self.deployment.workdir)
        self.deployment.destroy()
        return leftovers(self.deployment.workdir, before_destroy, self._provider_config)


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
def local_stack(stack_pool: StackPool) -> AppliedStack:
    """The root stack applied on the emulator, once per run, destroyed and checked at the end."""
    return stack_pool.get("local_stack")


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
def auth_stack(stack_pool: StackPool) -> AppliedStack:
    """The root stack with auth = "cognito", applied once per run when a test needs it."""
    return stack_pool.get("auth_stack")


# -- the reprocessing stack -----------------------------------------------------------------
#
# tests/integration/test_reprocess_stack.py changes this stack's rules with terraform apply, so
# it is a stack of its own (prefix "sir"): the shared stacks' rules never change.

REPROCESS_STACK_NAME_PREFIX = "sir"
REPROCESS_STACK_SIZES = [{"name": "large", "max_edge": 640, "formats": [{"format": "jpeg"}]}]
REPROCESS_STACK_OPTIONS = {
    "variants": REPROCESS_STACK_SIZES,
    "enable_cdn": False,
    "enable_alarms": False,
}


@pytest.fixture(scope="session")
def reprocess_stack(stack_pool: StackPool) -> AppliedStack:
    """The stack whose rules the reprocessing test changes."""
    return stack_pool.get("reprocess_stack")


# -- applying the stacks side by side -------------------------------------------------------

STACKS = {
    "local_stack": StackSpec(STACK_NAME_PREFIX, LOCAL_CLOUD_OPTIONS),
    "auth_stack": StackSpec(AUTH_STACK_NAME_PREFIX, AUTH_STACK_OPTIONS),
    "reprocess_stack": StackSpec(REPROCESS_STACK_NAME_PREFIX, REPROCESS_STACK_OPTIONS),
}
NEEDED_STACKS = pytest.StashKey[list[str]]()


class StackPool:
    """The run's stacks (:data:`STACKS`), each applied once in the background on first
    :meth:`start` and destroyed together at the end of the run."""

    def __init__(self, endpoint: str, sidecar_endpoint: str, folders: pytest.TempPathFactory):
        self._endpoint = endpoint
        self._sidecar_endpoint = sidecar_endpoint
        self._folders = folders
        self._stacks: dict[str, BackgroundStack] = {}

    def start(self, name: str) -> BackgroundStack:
        if name not in self._stacks:
            self._stacks[name] = BackgroundStack(
                STACKS[name],
                endpoint=self._endpoint,
                sidecar_endpoint=self._sidecar_endpoint,
                workdir=self._folders.mktemp(name.replace("_", "-")),
            )
        return self._stacks[name]

    def get(self, name: str) -> AppliedStack:
        return self.start(name).result()

    def destroy_all(self) -> None:
        """Destroy every started stack side by side; an ``AssertionError`` names what any
        destroy left behind (or the destroy's own error)."""
        with ThreadPoolExecutor(max_workers=max(1, len(self._stacks))) as workers:
            outcomes = {name: workers.submit(stack.destroy) for name, stack in self._stacks.items()}
        problems = []
        for name, outcome in outcomes.items():
            if outcome.exception() is not None:
                problems.append(f"{name}: the destroy failed: {outcome.exception()}")
            elif outcome.result():
                problems.append(
                    f"{name}: terraform destroy left resources behind: {outcome.result()}"
                )
        assert not problems, "\n".join(problems)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Which stacks the collected tests need (through any chain of fixtures)."""
    session.config.stash[NEEDED_STACKS] = [
        name
        for name in STACKS
        if any(name in getattr(item, "fixturenames", ()) for item in session.items)
    ]


@pytest.fixture(scope="session")
def stack_pool(
    request: pytest.FixtureRequest,
    emulator_endpoint: str,
    sidecar_endpoint: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[StackPool]:
    """Every stack the run needs, its applies started at once, side by side."""
    pool = StackPool(emulator_endpoint, sidecar_endpoint, tmp_path_factory)
    try:
        for name in request.config.stash.get(NEEDED_STACKS, []):
            pool.start(name)
        yield pool
    finally:
        pool.destroy_all()


@pytest.fixture(scope="session", autouse=True)
def _stacks_applied_from_the_start(request: pytest.FixtureRequest) -> None:
    """The stacks the run needs start applying before its first test, so their applies overlap
    each other and the tests that need no stack (the localcloud tier runs first)."""
    if request.config.stash.get(NEEDED_STACKS, []):
        request.getfixturevalue("stack_pool")


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
