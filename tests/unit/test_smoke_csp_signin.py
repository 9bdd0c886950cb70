"""tools/smoke.py: the page's CSP against every URL the stack handed out, and the throwaway
sign-in on an ``auth = "cognito"`` deployment (moto's Cognito; the user is always deleted)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws

from tools import smoke

pytestmark = pytest.mark.unit

REGION = "ap-southeast-3"
PAGE = "https://d111111abcdef8.cloudfront.net/"
API = f"https://abc123.execute-api.{REGION}.amazonaws.com/v1"
UPLOAD = f"https://sip-uploads-t1.s3.{REGION}.amazonaws.com"
OUTPUT = f"https://sip-output-t1.s3.{REGION}.amazonaws.com"
HEADER = (
    "default-src 'none'; script-src 'self'; img-src 'self' data: blob: "
    f"{OUTPUT}; connect-src 'self' https://abc123.execute-api.{REGION}.amazonaws.com {UPLOAD}; "
    "frame-ancestors 'none'"
)
META = (
    '<html><head><meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "connect-src 'self' http: https:; img-src 'self' data: blob: http: https:\"></head></html>"
)
OUTPUTS = {"api_url": API, "web_url": PAGE, "web_delivery": "cloudfront", "region": REGION}


class Answer:
    def __init__(self, text: str, headers: dict[str, str]) -> None:
        self.status_code = 200
        self.text = text
        self.content = text.encode()
        self.headers = headers


def loaded(monkeypatch, header: str | None) -> smoke.Smoke:
    """A Smoke that has loaded the page (with ``header`` as its CSP, and the meta tag)."""
    headers = {"Content-Security-Policy": header} if header else {}
    monkeypatch.setattr(smoke.requests, "get", lambda url, **_: Answer(META, headers))
    check = smoke.Smoke(OUTPUTS, timeout=1)
    check.page_loads()
    return check


def hand_out(check: smoke.Smoke, upload: str = UPLOAD, output: str = OUTPUT) -> None:
    check.handed.append(("connect-src", f"{upload}/uploads/0f8f?X-Amz-Signature=a"))
    check.handed.append(("img-src", f"{output}/0f8f/large.jpg?X-Amz-Signature=b"))


def test_urls_the_csp_admits_pass(monkeypatch) -> None:
    check = loaded(monkeypatch, HEADER)
    hand_out(check)

    detail = check.csp_admits_handed_urls()

    assert detail == "3 URLs admitted by the header and meta policy"


def test_a_presigned_url_on_the_global_s3_host_fails_with_the_directive_and_host(
    monkeypatch,
) -> None:
    """The fault of issue 19: us-east-1 URLs signed for <bucket>.s3.amazonaws.com."""
    check = loaded(monkeypatch, HEADER)
    hand_out(check, upload="https://sip-uploads-t1.s3.amazonaws.com")

    with pytest.raises(smoke.SmokeFailed) as caught:
        check.csp_admits_handed_urls()

    message = str(caught.value)
    assert "header: connect-src refuses https://sip-uploads-t1.s3.amazonaws.com/uploads/0f8f" in (
        message
    )
    assert "X-Amz-Signature" not in message
    assert "meta" not in message  # the meta tag admits any https: URL


def test_a_variant_host_the_csp_lacks_fails(monkeypatch) -> None:
    check = loaded(monkeypatch, HEADER)
    hand_out(check, output="https://elsewhere.s3.eu-west-1.amazonaws.com")

    with pytest.raises(smoke.SmokeFailed, match="img-src refuses https://elsewhere"):
        check.csp_admits_handed_urls()


def test_a_page_without_any_policy_fails(monkeypatch) -> None:
    monkeypatch.setattr(smoke.requests, "get", lambda url, **_: Answer("<html></html>", {}))
    check = smoke.Smoke(OUTPUTS, timeout=1)
    check.page_loads()

    with pytest.raises(smoke.SmokeFailed, match="no Content-Security-Policy"):
        check.csp_admits_handed_urls()


def test_a_header_with_two_policies_must_admit_in_both() -> None:
    policies = smoke.page_policies(f"{HEADER}, connect-src 'self'", "<html></html>")
    assert [where for where, _ in policies] == ["header", "header"]


# -- sign-in with a throwaway user --------------------------------------------------------------


@pytest.fixture
def cognito_stack() -> Any:
    """A user pool and the page's client in moto, and the outputs of such a deployment. moto
    also answers the page's unsigned InitiateAuth POST that stack_access.sign_in sends."""
    with mock_aws():
        client = boto3.client("cognito-idp", region_name=REGION)
        pool = client.create_user_pool(PoolName="sip-users")["UserPool"]["Id"]
        app = client.create_user_pool_client(
            UserPoolId=pool, ClientName="page", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        outputs = {
            **OUTPUTS,
            "auth": {
                "mode": "cognito",
                "user_pool_id": pool,
                "client_id": app,
                "cognito_endpoint": f"https://cognito-idp.{REGION}.amazonaws.com/",
            },
        }
        yield client, pool, outputs


def users_of(client: Any, pool: str) -> list[str]:
    return [u["Username"] for u in client.list_users(UserPoolId=pool)["Users"]]


def test_the_throwaway_user_signs_in_and_its_id_token_is_used(cognito_stack) -> None:
    client, pool, outputs = cognito_stack
    check = smoke.Smoke(outputs, timeout=1)

    detail = check.sign_in_throwaway()

    (email,) = users_of(client, pool)
    assert email.startswith("smoke-")
    assert detail.startswith(email)
    token = check.api.token
    assert token.count(".") == 2  # a JWT: the ID token goes in Authorization
    assert ("connect-src", outputs["auth"]["cognito_endpoint"]) in check.handed

    check.delete_throwaway()
    assert users_of(client, pool) == []


def test_the_throwaway_user_is_deleted_even_when_a_check_fails(
    cognito_stack, monkeypatch, capsys
) -> None:
    client, pool, outputs = cognito_stack
    check = smoke.Smoke(outputs, timeout=1)
    # The API is not part of this test: its 401 is checked against the emulator
    # (tests/integration/test_smoke_tool.py).
    monkeypatch.setattr(check, "refuses_anonymous", lambda: "401")

    def broken() -> None:
        check.check("the page loads", lambda: smoke.expect(False, "GET /: 503"))

    monkeypatch.setattr(check, "run_checks", broken)

    with pytest.raises(smoke.SmokeFailed):
        check.run()

    out = capsys.readouterr().out
    assert "FAILED  the page loads: GET /: 503" in out
    assert "ok      a throwaway user signs in: smoke-" in out
    assert "ok      the throwaway user is deleted" in out
    assert users_of(client, pool) == []


def test_operator_tools_use_the_stacks_region_not_the_shells(monkeypatch) -> None:
    from tools import stack_access, users

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert stack_access.aws_client("sqs", None, REGION).meta.region_name == REGION
    auth = {"mode": "cognito", "user_pool_id": "us-east-1_abc", "cognito_endpoint": None}
    client = users.cognito_client({"api_url": API, "region": REGION}, auth)
    assert client.meta.region_name == REGION


def test_the_real_pages_meta_tag_is_read() -> None:
    from pathlib import Path

    html = (Path(__file__).resolve().parents[2] / "web" / "index.html").read_text()
    ((where, policy),) = smoke.page_policies(None, html)
    assert where == "meta"
    assert policy.directives["default-src"] == ("'none'",)
    assert "'self'" in policy.directives["connect-src"]


class JsonAnswer:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status_code = status
        self.body = body

    def json(self) -> dict[str, Any]:
        return self.body


@pytest.mark.parametrize(
    ("body", "passes"),
    [
        ({"error": "UNAUTHORIZED", "message": "Unauthorized"}, True),  # the gateway response
        ({"error": "unauthorized", "message": "Sign in first."}, False),  # only the function
    ],
)
def test_on_aws_the_401_must_come_from_the_authorizer(monkeypatch, body, passes: bool) -> None:
    monkeypatch.setattr(
        smoke.ApiClient, "create_upload", lambda self, *a, **k: JsonAnswer(401, body)
    )
    check = smoke.Smoke(OUTPUTS, timeout=1)
    if passes:
        assert check.refuses_anonymous() == "401 from API Gateway's Cognito authorizer"
    else:
        with pytest.raises(smoke.SmokeFailed, match="not the Cognito authorizer"):
            check.refuses_anonymous()
