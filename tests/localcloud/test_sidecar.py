"""The moto sidecar beside LocalStack: cognito-idp, cloudfront and wafv2, which LocalStack
community lacks (local/emulator.py starts, checks and stops it with the emulator).

The Terraform tests apply a tiny throwaway configuration with the provider block that
local/cloud_settings.py generates for local runs, so they also prove that its override routes those three services to
the sidecar. moto's state is in memory and goes with the sidecar at the end of the run, so the
configuration is not destroyed.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
import tftest

from local import cloud_settings, emulator

pytestmark = pytest.mark.localcloud

REPO = Path(__file__).resolve().parents[2]
REGION = cloud_settings.REGION
MANAGED_CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
PAGE_ORIGIN = "http://localhost:8000"

CONFIGURATION = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "name" {
  description = "Prefix of every name, unique per test run."
  type        = string
}

resource "aws_cloudfront_origin_access_control" "page" {
  name                              = "${var.name}-page"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_wafv2_web_acl" "this" {
  name  = var.name
  scope = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "rate-limit"
    priority = 1
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit              = 500
        aggregate_key_type = "IP"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = false
      metric_name                = "rate-limit"
      sampled_requests_enabled   = false
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = false
    metric_name                = var.name
    sampled_requests_enabled   = false
  }
}

resource "aws_cloudfront_distribution" "this" {
  enabled             = true
  default_root_object = "index.html"
  wait_for_deployment = false
  web_acl_id          = aws_wafv2_web_acl.this.arn

  origin {
    origin_id                = "page"
    domain_name              = "${var.name}-page.s3.us-east-1.amazonaws.com"
    origin_access_control_id = aws_cloudfront_origin_access_control.page.id
  }

  default_cache_behavior {
    target_origin_id       = "page"
    viewer_protocol_policy = "redirect-to-https"
    allowed_methods        = ["GET", "HEAD"]
    cached_methods         = ["GET", "HEAD"]
    cache_policy_id        = "658327ea-f89d-4fab-a63d-7e88639e58f6"
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}

resource "aws_cognito_user_pool" "this" {
  name = var.name

  password_policy {
    minimum_length = 8
  }
}

resource "aws_cognito_user_pool_client" "page" {
  name                = "${var.name}-page"
  user_pool_id        = aws_cognito_user_pool.this.id
  explicit_auth_flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
}

output "distribution_id" {
  value = aws_cloudfront_distribution.this.id
}

output "origin_access_control_id" {
  value = aws_cloudfront_origin_access_control.page.id
}

output "web_acl" {
  value = { id = aws_wafv2_web_acl.this.id, arn = aws_wafv2_web_acl.this.arn }
}

output "user_pool_id" {
  value = aws_cognito_user_pool.this.id
}

output "client_id" {
  value = aws_cognito_user_pool_client.page.id
}
"""

# Plain moto 5.2.5 answers three attributes of a distribution differently from what the
# provider wrote, so every plan after an apply would show aws_cloudfront_distribution.this as an
# in-place update (the paths are the plan's, `[]` standing for any element). The sidecar
# (local/moto_sidecar.py) corrects them; tests/unit/test_moto_sidecar.py proves plain moto
# still needs each correction.
KNOWN_MOTO_DISTRIBUTION_DIFFS = {
    # moto/cloudfront/models.py `Origin` keeps no OriginAccessControlId: reads lose the OAC.
    "origin[].origin_access_control_id",
    # `DefaultCacheBehaviour` always fills ForwardedValues (QueryString false, Cookies none),
    # even beside a CachePolicyId, where AWS returns none.
    "default_cache_behavior[].forwarded_values",
    # `ViewerCertificate` answers SSLSupportMethod "sni-only" with the default certificate.
    "viewer_certificate[].ssl_support_method",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def client(sidecar_endpoint: str, service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=sidecar_endpoint, **cloud_settings.FAKE_CLIENT_KWARGS)


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def free_ports(count: int) -> list[int]:
    """`count` ports that are free now, from the kernel's ephemeral range."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for listener in sockets:
            listener.bind(("127.0.0.1", 0))
        return [listener.getsockname()[1] for listener in sockets]
    finally:
        for listener in sockets:
            listener.close()


def emulator_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "local" / "emulator.py"), *args],
        capture_output=True,
        text=True,
        timeout=180,
    )


def process_group(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def jwt_part(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def verify_rs256(token: str, jwk: dict[str, str]) -> None:
    """Raises unless `token`'s signature checks out against the RSA public key `jwk`."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    def number(value: str) -> int:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")

    key = rsa.RSAPublicNumbers(number(jwk["e"]), number(jwk["n"])).public_key()
    signing_input, signature = token.rsplit(".", 1)
    key.verify(
        base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
        signing_input.encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def changed_paths(before: Any, after: Any, path: str = "") -> set[str]:
    """Attribute paths whose values differ between a plan's `before` and `after`."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: set[str] = set()
        for key in before.keys() | after.keys():
            found |= changed_paths(before.get(key), after.get(key), f"{path}.{key}".lstrip("."))
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = set()
        for old, new in zip(before, after, strict=True):
            found |= changed_paths(old, new, f"{path}[]")
        return found
    return set() if before == after else {path}


@pytest.fixture(scope="module")
def applied(
    tmp_path_factory: pytest.TempPathFactory, emulator_endpoint: str, sidecar_endpoint: str
) -> tuple[tftest.TerraformTest, dict[str, Any]]:
    """The throwaway configuration applied on the sidecar: (tftest handle, outputs)."""
    workdir = tmp_path_factory.mktemp("sidecar-tf")
    (workdir / "main.tf").write_text(CONFIGURATION)
    (workdir / "provider.tf").write_text(
        cloud_settings.provider_override(emulator_endpoint, sidecar_endpoint)
    )
    (workdir / "run.auto.tfvars.json").write_text(json.dumps({"name": unique("sidecar")}))
    terraform = tftest.TerraformTest(str(workdir), env=cloud_settings.terraform_env())
    terraform.setup(cleanup_on_exit=True)
    terraform.apply()
    return terraform, dict(terraform.output())


def test_sidecar_starts_with_the_emulator_and_serves_its_three_services(sidecar_endpoint):
    health = requests.get(f"{sidecar_endpoint}/moto-api/config", timeout=5)

    assert health.status_code in (200, 201)
    assert isinstance(health.json(), dict)
    assert client(sidecar_endpoint, "cognito-idp").list_user_pools(MaxResults=1)
    assert client(sidecar_endpoint, "cloudfront").list_distributions()["DistributionList"]
    assert "WebACLs" in client(sidecar_endpoint, "wafv2").list_web_acls(Scope="CLOUDFRONT")


def test_provider_override_routes_the_sidecar_services_to_it():
    override = cloud_settings.provider_override("http://127.0.0.1:4566", "http://127.0.0.1:5566")

    for service in ("cognitoidp", "cloudfront", "wafv2"):
        assert f'{service:<10} = "http://127.0.0.1:5566"' in override
    for service in cloud_settings.EMULATED_SERVICES:
        assert f'{service:<10} = "http://127.0.0.1:4566"' in override
    assert emulator.sidecar_endpoint(4566) == "http://127.0.0.1:5566"
    default = cloud_settings.provider_override("http://127.0.0.1:4567")
    assert default == cloud_settings.provider_override(
        "http://127.0.0.1:4567", emulator.sidecar_endpoint(4567)
    )
    assert "endpoints" not in cloud_settings.provider_override(None)


def test_terraform_creates_a_distribution_with_origin_access_control(applied, sidecar_endpoint):
    _, outputs = applied
    cloudfront = client(sidecar_endpoint, "cloudfront")

    distribution = cloudfront.get_distribution(Id=outputs["distribution_id"])["Distribution"]
    control = cloudfront.get_origin_access_control(Id=outputs["origin_access_control_id"])

    config = distribution["DistributionConfig"]
    assert distribution["DomainName"].endswith(".cloudfront.net")
    assert config["Origins"]["Items"][0]["DomainName"].endswith(".s3.us-east-1.amazonaws.com")
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultCacheBehavior"]["CachePolicyId"] == MANAGED_CACHING_OPTIMIZED
    assert config["WebACLId"] == outputs["web_acl"]["arn"]
    control_config = control["OriginAccessControl"]["OriginAccessControlConfig"]
    assert control_config["OriginAccessControlOriginType"] == "s3"
    assert control_config["SigningBehavior"] == "always"


def test_terraform_creates_a_web_acl(applied, sidecar_endpoint):
    _, outputs = applied
    name = outputs["web_acl"]["arn"].split("/")[-2]

    acl = client(sidecar_endpoint, "wafv2").get_web_acl(
        Name=name, Scope="CLOUDFRONT", Id=outputs["web_acl"]["id"]
    )["WebACL"]

    assert "Allow" in acl["DefaultAction"]
    assert acl["Rules"][0]["Statement"]["RateBasedStatement"]["Limit"] == 500


def test_second_plan_changes_nothing_with_the_sidecars_corrections(applied):
    terraform, _ = applied

    plan = terraform.plan(output=True)

    changes = {
        address: change["change"]
        for address, change in plan.resource_changes.items()
        if change["change"]["actions"] not in (["no-op"], ["read"])
    }
    found = {
        address: changed_paths(change["before"], change["after"])
        for address, change in changes.items()
    }
    assert found == {}, f"moto differs again (known in plain moto: {KNOWN_MOTO_DISTRIBUTION_DIFFS})"


def test_a_user_signs_in_and_gets_an_rs256_jwt_whose_key_the_sidecar_publishes(
    applied, sidecar_endpoint
):
    _, outputs = applied
    pool_id, client_id = outputs["user_pool_id"], outputs["client_id"]
    cognito = client(sidecar_endpoint, "cognito-idp")
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username="alice",
        TemporaryPassword="Temporary-1",
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username="alice", Password="Correct-horse-1", Permanent=True
    )

    # Unsigned, as the page's browser sends it.
    response = requests.post(
        f"{sidecar_endpoint}/",
        headers={
            "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
            "Content-Type": "application/x-amz-json-1.1",
            "Origin": PAGE_ORIGIN,
        },
        data=json.dumps(
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client_id,
                "AuthParameters": {"USERNAME": "alice", "PASSWORD": "Correct-horse-1"},
            }
        ),
        timeout=10,
    )
    jwks = requests.get(f"{sidecar_endpoint}/{pool_id}/.well-known/jwks.json", timeout=10).json()

    assert response.status_code == 200, response.text
    assert response.headers.get("Access-Control-Allow-Origin") in (PAGE_ORIGIN, "*")
    tokens = response.json()["AuthenticationResult"]
    keys = {key["kid"]: key for key in jwks["keys"]}
    for kind in ("id", "access"):
        token = tokens[f"{kind.capitalize()}Token"]
        header, claims = jwt_part(token, 0), jwt_part(token, 1)
        assert header["alg"] == "RS256"
        assert header["kid"] in keys
        verify_rs256(token, keys[header["kid"]])
        assert claims["iss"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}"
        assert claims["token_use"] == kind
        assert claims["exp"] > time.time()
    assert jwt_part(tokens["IdToken"], 1)["aud"] == client_id


def test_stop_leaves_no_sidecar_process_and_frees_its_port(tmp_path):
    port, side_port = free_ports(2)
    state = ["--state-dir", str(tmp_path / "emulator")]
    started = emulator_cli("start", "--port", str(port), "--sidecar-port", str(side_port), *state)
    try:
        assert started.returncode == 0, started.stderr
        status = emulator_cli("status", "--port", str(port), *state)
        moto_pid = int((tmp_path / "emulator" / "sidecar" / "moto.pid").read_text())
        assert status.returncode == 0, status.stdout + status.stderr
        assert f"sidecar running (pid {moto_pid}) on http://127.0.0.1:{side_port}" in status.stdout
        assert emulator.sidecar_endpoint(port, tmp_path / "emulator").endswith(f":{side_port}")
        assert process_group(moto_pid)
    finally:
        stopped = emulator_cli("stop", *state)

    assert stopped.returncode == 0, stopped.stderr
    assert process_group(moto_pid) == []
    assert not port_in_use(side_port)
    assert not port_in_use(port)
    assert emulator_cli("status", "--port", str(port), *state).returncode == 3


def test_start_refuses_clearly_when_the_sidecar_port_is_taken(tmp_path):
    port = next(
        candidate
        for candidate in free_ports(8)
        if candidate + emulator.SIDECAR_PORT_OFFSET <= 65535
        and not port_in_use(candidate + emulator.SIDECAR_PORT_OFFSET)
    )
    side_port = emulator.sidecar_port(port)
    state = ["--state-dir", str(tmp_path / "emulator")]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", side_port))
        squatter.listen()
        try:
            refused = emulator_cli("start", "--port", str(port), *state)
        finally:
            emulator_cli("stop", *state)  # in case it did start something

    assert refused.returncode != 0
    assert f"port {side_port} is already taken" in refused.stderr
    assert "moto sidecar" in refused.stderr
    assert not port_in_use(port), "LocalStack must not be started when the sidecar cannot be"
