"""The stack's own VPC (enable_vpc, no vpc_subnet_ids) and its interface endpoints: EventBridge
with outcome events, SSM when the API signs image URLs (it reads its CloudFront key there), each
through the network module's one code path (interface_endpoints), and nothing else billed.

What only AWS shows (private DNS answering ssm.<region>.amazonaws.com with the endpoint's
addresses, the API reading its key through it, the policy's decision) is pinned here by plan
and proven after a real deploy by tools/smoke.py's signed-mode checks: every variant URL the API
signs is served by the distribution, and no signature exists without the key read (docs/cdn.md).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tftest
from terraform.test_plan_images import KEY_A, hcl_keys

from support.pipeline import REPO

pytestmark = pytest.mark.terraform

SUFFIX = "t1"
ZONES = ["us-east-1a", "us-east-1b"]
NETWORK = "module.network[0]"
PARAMETER_ARN = "arn:aws:ssm:us-east-1:*:parameter/sip/image-signing/a"
SIGNED = {"image_access": "signed", "image_signing_public_keys": hcl_keys(a=KEY_A)}
OWN_VPC = {"enable_vpc": True, "vpc_availability_zones": ZONES}
BEFORE = Path(__file__).parent / "fixtures" / "network_before_interface_endpoints"


@pytest.fixture(scope="module")
def signed_vpc(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, **OWN_VPC, **SIGNED)


def interface_endpoints(plan) -> dict[str, dict[str, Any]]:
    """The planned interface endpoints by their key in the network module."""
    prefix = f"{NETWORK}.aws_vpc_endpoint.interface["
    return {
        address[len(prefix) + 1 : -2]: values
        for address, values in plan.of_type("aws_vpc_endpoint").items()
        if address.startswith(prefix)
    }


def ingress_rules(plan) -> dict[str, dict[str, Any]]:
    return plan.of_type("aws_vpc_security_group_ingress_rule")


def test_signed_images_in_the_own_vpc_read_the_key_through_an_ssm_endpoint(signed_vpc) -> None:
    endpoints = interface_endpoints(signed_vpc)
    assert sorted(endpoints) == ["events", "ssm"]  # events are on by default
    ssm = endpoints["ssm"]
    assert ssm["service_name"] == "com.amazonaws.us-east-1.ssm"
    assert ssm["vpc_endpoint_type"] == "Interface"
    assert ssm["private_dns_enabled"] is True  # the SDK's ssm.<region> name resolves to it
    config = signed_vpc.config_resource(["network"], "aws_vpc_endpoint.interface")["expressions"]
    assert "aws_subnet.private" in config["subnet_ids"]["references"]  # every private subnet
    assert "aws_security_group.interface_endpoint" in config["security_group_ids"]["references"]
    # still no way out
    assert not signed_vpc.of_type("aws_nat_gateway")
    assert not signed_vpc.of_type("aws_internet_gateway")


def test_the_ssm_endpoint_admits_only_the_apis_role_reading_the_one_parameter(
    signed_vpc, root_local
) -> None:
    address = f'{NETWORK}.data.aws_iam_policy_document.interface_endpoint["ssm"]'
    change = signed_vpc.changes[address]["change"]
    (statement,) = change["after"]["statement"]
    assert statement["sid"] == "ImageSigningKey"
    assert statement["effect"] == "Allow"
    assert statement["actions"] == ["ssm:GetParameter"]
    assert statement["resources"] == [PARAMETER_ARN]
    # The same ARN the API's role may read: nothing else is reachable through the endpoint.
    role = signed_vpc.statements("module.api.data.aws_iam_policy_document.function")
    assert role["ReadImageSigningKey"]["resources"] == [PARAMETER_ARN]
    # The caller: the API's role only (its account is known after apply).
    (condition,) = statement["condition"]
    assert (condition["test"], condition["variable"]) == ("ArnEquals", "aws:PrincipalArn")
    (unknown,) = change["after_unknown"]["statement"][0]["condition"]
    assert unknown["values"] == [True]  # one role
    assert ":role/${local.api_role_name}" in root_local("api_role_arn")
    role_name = signed_vpc.values("module.api.module.function.aws_iam_role.this")["name"]
    assert role_name == "sip-api-us-east-1"
    call = signed_vpc.raw["configuration"]["root_module"]["module_calls"]["api"]["expressions"]
    assert call["role_name"]["references"] == ["local.api_role_name"]


def test_the_api_role_needs_no_kms_right_for_the_securestring(signed_vpc) -> None:
    """aws/ssm (the runbook's default key) is used by SSM on its own side for a caller allowed
    ssm:GetParameter: no kms:Decrypt in the role, no KMS endpoint in the VPC."""
    role = signed_vpc.statements("module.api.data.aws_iam_policy_document.function")
    assert not [sid for sid, st in role.items() if any(a.startswith("kms:") for a in st["actions"])]
    assert role["ReadImageSigningKey"]["actions"] == ["ssm:GetParameter"]
    assert "kms" not in interface_endpoints(signed_vpc)


def test_the_ssm_endpoint_takes_https_from_the_functions_only(signed_vpc) -> None:
    groups = signed_vpc.of_type("aws_security_group")
    group = groups[f'{NETWORK}.aws_security_group.interface_endpoint["ssm"]']
    assert group["name"] == "sip-ssm-endpoint"
    assert group["description"] == (
        "Systems Manager (SSM) interface endpoint of sip: HTTPS in from the functions only"
    )
    assert group.get("ingress") in ([], None)
    assert group.get("egress") in ([], None)
    ingress = (
        f'{NETWORK}.aws_vpc_security_group_ingress_rule.interface_endpoint_from_functions["ssm"]'
    )
    egress = f'{NETWORK}.aws_vpc_security_group_egress_rule.https_to_interface_endpoints["ssm"]'
    for address in (ingress, egress):
        rule = signed_vpc.values(address)
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
        assert rule.get("cidr_ipv4") is None
        assert rule.get("prefix_list_id") is None
    ingress_config = signed_vpc.config_resource(
        ["network"], "aws_vpc_security_group_ingress_rule.interface_endpoint_from_functions"
    )["expressions"]
    assert ingress_config["referenced_security_group_id"]["references"][-1] == (
        "aws_security_group.functions"
    )
    egress_config = signed_vpc.config_resource(
        ["network"], "aws_vpc_security_group_egress_rule.https_to_interface_endpoints"
    )["expressions"]
    assert egress_config["security_group_id"]["references"][-1] == "aws_security_group.functions"
    # the only ingress anywhere: HTTPS from the functions into each endpoint's group
    assert sorted(ingress_rules(signed_vpc)) == sorted(
        f'{NETWORK}.aws_vpc_security_group_ingress_rule.interface_endpoint_from_functions["{k}"]'
        for k in ("events", "ssm")
    )


def test_the_functions_wait_for_the_interface_endpoints(signed_vpc) -> None:
    network = signed_vpc.raw["configuration"]["root_module"]["module_calls"]["network"]["module"]
    for name in ("private_subnet_ids", "function_security_group_id"):
        assert {
            "aws_vpc_endpoint.interface",
            "aws_vpc_security_group_egress_rule.https_to_interface_endpoints",
        } <= set(network["outputs"][name]["depends_on"]), name


@pytest.mark.parametrize(
    ("tf_vars", "expected"),
    [
        ({**OWN_VPC}, ["events"]),  # public images: no key to read
        ({**OWN_VPC, **SIGNED, "enable_events": False}, ["ssm"]),
        ({**OWN_VPC, "enable_events": False}, []),
        ({**OWN_VPC, **SIGNED, "enable_cdn": False}, ["events"]),  # presigned S3 GETs, no key
        # on the emulator "signed" hands out presigned S3 GETs: no key read, no endpoint
        (
            {
                **OWN_VPC,
                "auth": "cognito",
                "emulator_endpoint": "http://127.0.0.1:4566",
                "emulator_sidecar_endpoint": "http://127.0.0.1:5566",
            },
            ["events"],
        ),
    ],
)
def test_an_interface_endpoint_only_for_a_call_the_functions_make(
    plan_factory, tf_vars: dict[str, Any], expected: list[str]
) -> None:
    plan = plan_factory(bucket_name_suffix=SUFFIX, **tf_vars)
    assert sorted(interface_endpoints(plan)) == expected
    groups = [a for a in plan.of_type("aws_security_group") if "interface_endpoint" in a]
    assert len(groups) == len(ingress_rules(plan)) == len(expected)


def test_with_the_users_subnets_the_stack_makes_no_endpoint(plan_factory) -> None:
    """vpc_subnet_ids: the user's network routes to SSM (their endpoint or NAT); the plan is no
    longer refused and creates no VPC resource."""
    plan = plan_factory(
        bucket_name_suffix=SUFFIX,
        enable_vpc=True,
        vpc_subnet_ids=["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
        vpc_security_group_ids=["sg-0123456789abcdef0"],
        **SIGNED,
    )
    assert not plan.of_type("aws_vpc_endpoint")
    assert not [a for a in plan.resources if a.startswith("module.network")]
    assert plan.output("image_delivery")["mode"] == "signed"


# -- the network module's own rules ---------------------------------------------------------


@pytest.fixture(scope="module")
def network_variables(tmp_path_factory, tf_env):
    """The network module's variables.tf alone: its validation rules, planned in a second."""
    work = tmp_path_factory.mktemp("network-interface-vars")
    (work / "variables.tf").write_text((REPO / "modules/network/variables.tf").read_text())
    handle = tftest.TerraformTest(str(work), env=tf_env)
    handle.setup(cleanup_on_exit=True)
    return handle


ROLE = "arn:aws:iam::111122223333:role/sip-api-us-east-1"


def interface_plan(handle, resources: list[str], principals: list[str] | None = None) -> str:
    """Plan the module's variables with one ssm endpoint; the error text, or "" when valid."""
    statement: dict[str, Any] = {
        "sid": "K",
        "actions": ["ssm:GetParameter"],
        "resources": resources,
    }
    if principals is not None:
        statement["principal_arns"] = principals
    tf_vars = {
        "name": "sip",
        "region": "us-east-1",
        "s3_endpoint_statements": [],
        "dynamodb_endpoint_statements": [],
        "interface_endpoints": {
            "ssm": {"service": "ssm", "label": "SSM", "statements": [statement]}
        },
    }
    try:
        handle.plan(output=False, tf_vars=tf_vars, refresh=False)
    except tftest.TerraformTestError as error:
        return " ".join((error.cmd_error or str(error)).replace("│", " ").split())
    return ""


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:ssm:us-east-1:*:parameter/*",
        "arn:aws:ssm:us-east-1:111122223333:*",
        "arn:aws:ssm:*:*:parameter/sip/image-signing/*",
        "arn:aws:events:us-east-1:111122223333:event-bus/sip",  # another service's ARN
    ],
)
def test_a_wildcard_or_foreign_interface_endpoint_resource_fails_the_plan(
    network_variables, resource: str
) -> None:
    error = interface_plan(network_variables, [PARAMETER_ARN, resource])
    assert "interface_endpoints statements' resources must be named ARNs" in error


def test_an_interface_endpoint_principal_must_be_a_role(network_variables) -> None:
    error = interface_plan(network_variables, [PARAMETER_ARN], ["*"])
    assert "principal_arns must be IAM role ARNs" in error


def test_the_stacks_parameter_and_role_pass(network_variables) -> None:
    assert interface_plan(network_variables, [PARAMETER_ARN], [ROLE]) == ""
    assert interface_plan(network_variables, [PARAMETER_ARN]) == ""


# -- existing deployments keep their EventBridge endpoint ------------------------------------

UPGRADE_TEST = """
mock_provider "aws" {
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\\"Version\\": \\"2012-10-17\\", \\"Statement\\": []}" }
  }
}

variables {
  name                         = "sip"
  region                       = "us-east-1"
  availability_zones           = ["us-east-1a", "us-east-1b"]
  s3_endpoint_statements       = [{ sid = "S", actions = ["s3:GetObject"], resources = ["arn:aws:s3:::sip-output-t1/*"] }]
  dynamodb_endpoint_statements = [{ sid = "D", actions = ["dynamodb:GetItem"], resources = ["arn:aws:dynamodb:us-east-1:111122223333:table/sip-uploads"] }]
}

run "before" {
  command   = apply
  state_key = "network"
  module {
    source = "./before"
  }
  variables {
    events_endpoint_statements = [{ sid = "StackBus", actions = ["events:PutEvents"], resources = ["arn:aws:events:us-east-1:111122223333:event-bus/sip-uploads"] }]
  }
}

run "after" {
  command   = plan
  state_key = "network"
  module {
    source = "./after"
  }
  variables {
    interface_endpoints = {
      events = {
        service    = "events"
        label      = "EventBridge"
        statements = [{ sid = "StackBus", actions = ["events:PutEvents"], resources = ["arn:aws:events:us-east-1:111122223333:event-bus/sip-uploads"] }]
      }
    }
  }

  assert {
    condition     = output.interface_endpoint_ids["events"] == run.before.events_endpoint_id
    error_message = "the EventBridge endpoint would be replaced"
  }
}
"""

MOVES = [
    ("aws_security_group.events_endpoint[0]", 'aws_security_group.interface_endpoint["events"]'),
    (
        "aws_vpc_security_group_ingress_rule.events_from_functions[0]",
        'aws_vpc_security_group_ingress_rule.interface_endpoint_from_functions["events"]',
    ),
    (
        "aws_vpc_security_group_egress_rule.https_to_events[0]",
        'aws_vpc_security_group_egress_rule.https_to_interface_endpoints["events"]',
    ),
    ("aws_vpc_endpoint.events[0]", 'aws_vpc_endpoint.interface["events"]'),
]


def test_an_existing_eventbridge_endpoint_is_moved_not_replaced(
    tmp_path: Path, tf_env: dict[str, str]
) -> None:
    """A deployment made with the module before interface_endpoints (its files as released,
    fixtures/network_before_interface_endpoints) is applied with a mocked provider; the same
    state planned with today's module moves its events endpoint, group and rules and changes
    nothing."""
    (tmp_path / "before").symlink_to(BEFORE, target_is_directory=True)
    (tmp_path / "after").symlink_to(REPO / "modules" / "network", target_is_directory=True)
    (tmp_path / "main.tf").write_text((BEFORE / "versions.tf").read_text())
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "upgrade.tftest.hcl").write_text(UPGRADE_TEST)
    env = {**os.environ, **tf_env}
    for command in (["init", "-input=false"], ["test", "-verbose"]):
        result = subprocess.run(
            ["terraform", *command, "-no-color"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        out = result.stdout + result.stderr
        assert result.returncode == 0, out
    after = out[out.index('run "after"') :]
    assert "Success! 2 passed, 0 failed." in out, out
    for old, new in MOVES:
        assert f"# {old} has moved to {new}" in after, after
    assert "Plan: 0 to add, 0 to change, 0 to destroy." in after, after
