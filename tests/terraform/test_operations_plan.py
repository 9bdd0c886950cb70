"""Plans of the operations options (issue 16): enable_vpc, enable_tracing, enable_alarms.

Each option is planned both ways: the default plan (no VPC, no tracing, alarms without a topic),
a plan with every option on (the stack's own VPC, tracing, alarms with an email topic and an
extra action) and an existing VPC's subnets with alarms off.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import tftest

pytestmark = pytest.mark.terraform

REPO = Path(__file__).resolve().parents[2]
SUFFIX = "t1"
UPLOAD_ARN = f"arn:aws:s3:::sip-uploads-{SUFFIX}"
OUTPUT_ARN = f"arn:aws:s3:::sip-output-{SUFFIX}"
EXTRA_ACTION = "arn:aws:sns:us-east-1:111122223333:pager"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]
GROUPS = ["sg-0123456789abcdef0"]
ZONES = ["us-east-1a", "us-east-1b"]
FUNCTIONS = ("api", "processor")
NO_WAY_OUT = (
    "aws_internet_gateway",
    "aws_egress_only_internet_gateway",
    "aws_nat_gateway",
    "aws_eip",
    "aws_route",
    "aws_vpn_gateway",
    "aws_ec2_transit_gateway_vpc_attachment",
    "aws_vpc_peering_connection",
)


@pytest.fixture(scope="module")
def plan(plan_factory):
    """Defaults (the same plan test_plan.py reads)."""
    return plan_factory(bucket_name_suffix=SUFFIX)


@pytest.fixture(scope="module")
def ops_plan(plan_factory):
    return plan_factory(
        bucket_name_suffix=SUFFIX,
        enable_vpc=True,
        vpc_availability_zones=ZONES,  # [] reads the account's zones: test_network_plan.py
        enable_tracing=True,
        alarm_email="ops@example.com",
        alarm_actions=[EXTRA_ACTION],
        processor_timeout_seconds=120,
        alarm_api_4xx_threshold=75,
    )


@pytest.fixture(scope="module")
def existing_vpc_plan(plan_factory):
    return plan_factory(
        bucket_name_suffix=SUFFIX,
        enable_vpc=True,
        vpc_subnet_ids=SUBNETS,
        vpc_security_group_ids=GROUPS,
        enable_alarms=False,
    )


def function(plan, name: str) -> dict[str, Any]:
    return plan.values(f"module.{name}.module.function.aws_lambda_function.this")


def function_unknown(plan, name: str) -> dict[str, Any]:
    return plan.unknown(f"module.{name}.module.function.aws_lambda_function.this")


def types(plan) -> set[str]:
    return {r["type"] for r in plan.resources.values() if r["mode"] == "managed"}


# -- the network -------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["plan", "ops_plan", "existing_vpc_plan"])
def test_no_nat_internet_gateway_or_route_out_anywhere(which: str, request) -> None:
    planned = request.getfixturevalue(which)
    assert not types(planned) & set(NO_WAY_OUT)
    for address, table in planned.of_type("aws_route_table").items():
        # No route block in the configuration; the endpoints' routes are added by AWS.
        assert table.get("route") in ([], None), address
        assert (
            "route"
            not in planned.config_resource(["network"], "aws_route_table.private")["expressions"]
        )
    for subnet in planned.of_type("aws_subnet").values():
        assert subnet["map_public_ip_on_launch"] is False


def test_default_has_no_network_and_the_functions_no_vpc(plan) -> None:
    assert not {t for t in types(plan) if t.startswith(("aws_vpc", "aws_subnet", "aws_security"))}
    for name in FUNCTIONS:
        assert function(plan, name)["vpc_config"] == []
        assert f"module.{name}.module.function.aws_iam_role_policy.vpc[0]" not in plan.resources
    assert plan.output("vpc_id") is None
    assert plan.output("function_subnet_ids") is None


def test_the_vpc_has_private_subnets_in_two_zones(ops_plan) -> None:
    (vpc,) = ops_plan.of_type("aws_vpc").values()
    assert vpc["cidr_block"] == "10.42.0.0/16"
    subnets = sorted(ops_plan.of_type("aws_subnet").values(), key=lambda s: s["cidr_block"])
    assert [(s["availability_zone"], s["cidr_block"]) for s in subnets] == [
        ("us-east-1a", "10.42.0.0/24"),
        ("us-east-1b", "10.42.1.0/24"),
    ]
    assert len(ops_plan.of_type("aws_route_table_association")) == 2
    (default_group,) = ops_plan.of_type("aws_default_security_group").values()
    assert default_group.get("ingress") in ([], None)
    assert default_group.get("egress") in ([], None)
    config = ops_plan.config_resource(["network"], "aws_default_security_group.this")
    assert not {"ingress", "egress"} & set(config["expressions"])  # no rules: deny all


def test_only_gateway_endpoints_for_s3_and_dynamodb(ops_plan) -> None:
    endpoints = ops_plan.of_type("aws_vpc_endpoint")
    assert {e["service_name"]: e["vpc_endpoint_type"] for e in endpoints.values()} == {
        "com.amazonaws.us-east-1.s3": "Gateway",
        "com.amazonaws.us-east-1.dynamodb": "Gateway",
        # outcome events (enable_events, on by default): EventBridge has no gateway endpoint
        # (tests/terraform/test_events_plan.py)
        "com.amazonaws.us-east-1.events": "Interface",
    }
    config = ops_plan.config_resource(["network"], "aws_vpc_endpoint.gateway")
    assert "aws_route_table.private.id" in config["expressions"]["route_table_ids"]["references"]


def test_endpoint_policies_allow_only_the_stacks_buckets_and_table(ops_plan) -> None:
    s3 = ops_plan.statements('module.network[0].data.aws_iam_policy_document.endpoint["s3"]')
    assert s3["StackObjects"]["actions"] == ["s3:GetObject", "s3:PutObject"]
    assert s3["StackObjects"]["resources"] == sorted([f"{UPLOAD_ARN}/*", f"{OUTPUT_ARN}/*"])
    assert s3["StackBuckets"]["actions"] == ["s3:ListBucket"]
    assert s3["StackBuckets"]["resources"] == [UPLOAD_ARN]
    assert set(s3) == {"StackObjects", "StackBuckets"}
    dynamodb = ops_plan.statements(
        'module.network[0].data.aws_iam_policy_document.endpoint["dynamodb"]'
    )
    assert set(dynamodb) == {"StackTables"}
    assert dynamodb["StackTables"]["actions"] == [
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
    ]
    for statement in (*s3.values(), *dynamodb.values()):
        assert statement["effect"] == "Allow"
    policy = ops_plan.config_resource(["network"], "aws_vpc_endpoint.gateway")["expressions"]
    assert "data.aws_iam_policy_document.endpoint" in policy["policy"]["references"]


def endpoint_resources(plan, service: str) -> list[tuple[bool, Any]]:
    """(known at plan, value) of every resource of the endpoint's policy statements."""
    address = f'module.network[0].data.aws_iam_policy_document.endpoint["{service}"]'
    change = plan.changes[address]["change"]
    return [
        (not unknown, value)
        for statement, unknowns in zip(
            change["after"]["statement"], change["after_unknown"]["statement"], strict=True
        )
        for value, unknown in zip(statement["resources"], unknowns["resources"], strict=True)
    ]


@pytest.mark.parametrize("auth", ["none", "cognito"])
def test_the_dynamodb_endpoint_lets_through_only_the_stacks_tables(plan_factory, auth) -> None:
    """The tables' ARNs are known only after apply, so the plan shows them unknown: none may be
    a literal (a "*" would be), and the configuration names exactly the stack's tables. The
    network module's validation refuses a "*" (test below) and checks the ARNs at apply."""
    image_access = "public"  # sign-in's default, "signed", needs keys and SSM (test_plan_images.py)
    planned = plan_factory(
        bucket_name_suffix=SUFFIX,
        enable_vpc=True,
        vpc_availability_zones=ZONES,
        auth=auth,
        image_access=image_access,
    )
    resources = endpoint_resources(planned, "dynamodb")
    assert resources == [(False, None)] * (2 if auth == "none" else 3)
    call = planned.raw["configuration"]["root_module"]["module_calls"]["network"]
    references = set(call["expressions"]["dynamodb_endpoint_statements"]["references"])
    arns = {ref for ref in references if ref.endswith(("_arn", ".arn"))}
    assert arns == {"module.uploads_table.arn", "module.auth[0].quota_table_arn"}


@pytest.fixture(scope="module")
def network_variables(tmp_path_factory, tf_env):
    """The network module's variables.tf alone: its validation rules, planned in a second."""
    work = tmp_path_factory.mktemp("network-vars")
    shutil.copy2(REPO / "modules" / "network" / "variables.tf", work / "variables.tf")
    handle = tftest.TerraformTest(str(work), env=tf_env)
    handle.setup(cleanup_on_exit=True)
    return handle


TABLE_ARN = "arn:aws:dynamodb:us-east-1:111122223333:table/sip-uploads"


def network_plan(handle, s3: list[str], dynamodb: list[str]) -> str:
    """Plan the network variables with these resources; the error text, or "" when valid."""
    tf_vars = {
        "name": "sip",
        "region": "us-east-1",
        "availability_zones": ["us-east-1a", "us-east-1b"],
        "s3_endpoint_statements": [{"sid": "S", "actions": ["s3:GetObject"], "resources": s3}],
        "dynamodb_endpoint_statements": [
            {"sid": "D", "actions": ["dynamodb:GetItem"], "resources": dynamodb}
        ],
    }
    try:
        handle.plan(output=False, tf_vars=tf_vars, refresh=False)
    except tftest.TerraformTestError as error:
        return re.sub(r"[\s│╷╵]+", " ", error.cmd_error or str(error))
    return ""


@pytest.mark.parametrize(
    "resource",
    [
        "*",
        "arn:aws:dynamodb:*:*:table/*",
        "arn:aws:dynamodb:us-east-1:111122223333:table/*",
        "arn:aws:dynamodb:us-east-1:111122223333:*",
        f"{TABLE_ARN}/*",
        f"{UPLOAD_ARN}",
    ],
)
def test_a_wildcard_dynamodb_endpoint_resource_fails_the_plan(network_variables, resource):
    error = network_plan(network_variables, [f"{UPLOAD_ARN}/*"], [TABLE_ARN, resource])
    assert "dynamodb_endpoint_statements resources must be named tables' ARNs" in error


@pytest.mark.parametrize("resource", ["*", "arn:aws:s3:::*", "arn:aws:s3:::*/*"])
def test_a_wildcard_s3_endpoint_resource_fails_the_plan(network_variables, resource):
    error = network_plan(network_variables, [f"{UPLOAD_ARN}/*", resource], [TABLE_ARN])
    assert "s3_endpoint_statements resources must be named buckets' ARNs" in error


def test_the_stacks_own_tables_and_buckets_pass(network_variables):
    assert (
        network_plan(
            network_variables,
            [UPLOAD_ARN, f"{UPLOAD_ARN}/*", f"{OUTPUT_ARN}/*"],
            [TABLE_ARN, f"{TABLE_ARN}/index/*", f"{TABLE_ARN}/index/by-owner"],
        )
        == ""
    )


def test_the_functions_security_group_allows_only_https_to_the_endpoints(ops_plan) -> None:
    group = ops_plan.values("module.network[0].aws_security_group.functions")
    config = ops_plan.config_resource(["network"], "aws_security_group.functions")
    # No inline rules: Terraform removes AWS's default allow-all egress rule.
    assert not {"ingress", "egress"} & set(config["expressions"])
    assert group.get("ingress") in ([], None)
    rules = ops_plan.of_type("aws_vpc_security_group_egress_rule")
    events = 'module.network[0].aws_vpc_security_group_egress_rule.https_to_interface_endpoints["events"]'
    assert sorted(rules) == [
        'module.network[0].aws_vpc_security_group_egress_rule.https_to_endpoints["dynamodb"]',
        'module.network[0].aws_vpc_security_group_egress_rule.https_to_endpoints["s3"]',
        events,  # the EventBridge interface endpoint's group (test_events_plan.py)
    ]
    for address, rule in rules.items():
        assert (rule["ip_protocol"], rule["from_port"], rule["to_port"]) == ("tcp", 443, 443)
        assert rule.get("cidr_ipv4") is None
        assert rule.get("cidr_ipv6") is None
        target = "referenced_security_group_id" if address == events else "prefix_list_id"
        assert ops_plan.unknown(address)[target] is True  # the endpoint's prefix list or group
    # the only ingress: HTTPS from the functions into the EventBridge endpoint's group
    assert list(ops_plan.of_type("aws_vpc_security_group_ingress_rule")) == [
        'module.network[0].aws_vpc_security_group_ingress_rule.interface_endpoint_from_functions["events"]'
    ]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_both_functions_are_attached_to_the_private_subnets(ops_plan, name: str) -> None:
    (config,) = function(ops_plan, name)["vpc_config"]
    unknown = function_unknown(ops_plan, name)["vpc_config"][0]
    assert unknown["subnet_ids"] is True or len(config["subnet_ids"]) == 2
    assert unknown["security_group_ids"] is True or len(config["security_group_ids"]) == 1


@pytest.mark.parametrize("name", FUNCTIONS)
def test_network_interface_permissions_are_least_privilege(ops_plan, name: str) -> None:
    statements = ops_plan.statements(
        f"module.{name}.module.function.data.aws_iam_policy_document.vpc[0]"
    )
    assert {sid: st["actions"] for sid, st in statements.items()} == {
        "DescribeNetworkInterfaces": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
        "CreateInterfacesInOwnSubnets": ["ec2:CreateNetworkInterface"],
        "ManageOwnInterfaces": [
            "ec2:AssignPrivateIpAddresses",
            "ec2:DeleteNetworkInterface",
            "ec2:UnassignPrivateIpAddresses",
        ],
    }
    assert statements["DescribeNetworkInterfaces"]["resources"] == ["*"]  # no resource level
    policy = ops_plan.resources[f"module.{name}.module.function.aws_iam_role_policy.vpc[0]"]
    assert policy["values"]["name"] == "vpc-network-interfaces"
    assert "aws_iam_role_policy_attachment" not in types(ops_plan)  # no AWSLambdaVPCAccess...


@pytest.mark.parametrize("name", FUNCTIONS)
def test_an_existing_vpc_is_used_as_given(existing_vpc_plan, name: str) -> None:
    (config,) = function(existing_vpc_plan, name)["vpc_config"]
    assert config["subnet_ids"] == SUBNETS
    assert config["security_group_ids"] == GROUPS
    assert f"module.{name}.module.function.aws_iam_role_policy.vpc[0]" in (
        existing_vpc_plan.resources
    )
    assert "aws_vpc" not in types(existing_vpc_plan)
    assert "aws_vpc_endpoint" not in types(existing_vpc_plan)
    assert existing_vpc_plan.output("function_subnet_ids") == SUBNETS


def test_an_existing_vpc_needs_its_security_groups_and_enable_vpc(plan_error) -> None:
    error = plan_error(vpc_subnet_ids=SUBNETS)
    assert "An existing VPC needs enable_vpc = true, vpc_subnet_ids and at least one id" in error
    error = plan_error(enable_vpc=True, vpc_security_group_ids=GROUPS)
    assert "vpc_security_group_ids is only used with vpc_subnet_ids" in error


# -- tracing ------------------------------------------------------------------------------------


def test_tracing_is_off_by_default(plan) -> None:
    for name in FUNCTIONS:
        assert function(plan, name)["tracing_config"] == [{"mode": "PassThrough"}]
        assert f"module.{name}.module.function.aws_iam_role_policy.tracing[0]" not in (
            plan.resources
        )
    assert plan.values("module.api.aws_api_gateway_stage.this")["xray_tracing_enabled"] is False


def test_tracing_is_active_on_both_functions_and_the_stage(ops_plan) -> None:
    for name in FUNCTIONS:
        assert function(ops_plan, name)["tracing_config"] == [{"mode": "Active"}]
        statements = ops_plan.statements(
            f"module.{name}.module.function.data.aws_iam_policy_document.tracing[0]"
        )
        assert statements == {
            "WriteTraces": {
                "effect": "Allow",
                "actions": ["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
                "resources": ["*"],
                "condition": [],
                "principals": [],
            }
        }
    stage = ops_plan.values("module.api.aws_api_gateway_stage.this")
    assert stage["xray_tracing_enabled"] is True


# -- alarms -------------------------------------------------------------------------------------


def alarms(planned) -> dict[str, dict[str, Any]]:
    prefix = 'module.alarms[0].aws_cloudwatch_metric_alarm.this["'
    return {
        address[len(prefix) : -2]: values
        for address, values in planned.of_type("aws_cloudwatch_metric_alarm").items()
    }


def test_alarms_watch_failures_with_their_thresholds(plan) -> None:
    found = alarms(plan)
    summary = {
        key: (
            a["namespace"],
            a["metric_name"],
            a["statistic"],
            a["comparison_operator"],
            a["threshold"],
            a["dimensions"],
        )
        for key, a in found.items()
    }
    api = {"ApiName": "sip-api", "Stage": "v1"}
    processor = {"FunctionName": "sip-processor"}
    assert summary == {
        "dead-letters": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "Maximum",
            "GreaterThanThreshold",
            0,
            {"QueueName": "sip-processor-dlq"},
        ),
        "processor-errors": (
            "AWS/Lambda",
            "Errors",
            "Sum",
            "GreaterThanOrEqualToThreshold",
            1,
            processor,
        ),
        "processor-throttles": (
            "AWS/Lambda",
            "Throttles",
            "Sum",
            "GreaterThanOrEqualToThreshold",
            1,
            processor,
        ),
        "processor-duration": (
            "AWS/Lambda",
            "Duration",
            "Maximum",
            "GreaterThanOrEqualToThreshold",
            48000,
            processor,
        ),
        "api-5xx": ("AWS/ApiGateway", "5XXError", "Sum", "GreaterThanOrEqualToThreshold", 1, api),
        "api-4xx-spike": (
            "AWS/ApiGateway",
            "4XXError",
            "Sum",
            "GreaterThanOrEqualToThreshold",
            50,
            api,
        ),
    }
    for key, alarm in found.items():
        assert alarm["alarm_name"] == f"sip-{key}"
        assert (alarm["period"], alarm["evaluation_periods"]) == (300, 1)
        assert alarm["treat_missing_data"] == "notBreaching"
        assert alarm["alarm_actions"] in ([], None)  # no alarm_email, no alarm_actions
    assert "aws_sns_topic" not in types(plan)


def test_alarms_notify_the_email_topic_and_extra_actions(ops_plan) -> None:
    found = alarms(ops_plan)
    assert found["processor-duration"]["threshold"] == 96000  # 80 % of 120 s
    assert found["api-4xx-spike"]["threshold"] == 75
    (topic,) = ops_plan.of_type("aws_sns_topic").values()
    assert topic["name"] == "sip-alarms"
    (subscription,) = ops_plan.of_type("aws_sns_topic_subscription").values()
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "ops@example.com")
    for key in found:
        address = f'module.alarms[0].aws_cloudwatch_metric_alarm.this["{key}"]'
        # [topic arn (known after apply), the extra action]
        assert ops_plan.unknown(address)["alarm_actions"] in (True, [True, False])
        assert EXTRA_ACTION in (ops_plan.values(address).get("alarm_actions") or [EXTRA_ACTION])
    config = ops_plan.config_resource(["alarms"], "aws_cloudwatch_metric_alarm.this")
    assert "local.actions" in config["expressions"]["alarm_actions"]["references"]
    assert "local.actions" in config["expressions"]["ok_actions"]["references"]


def test_the_dashboard_shows_uploads_rejections_latency_and_errors(plan) -> None:
    (dashboard,) = plan.of_type("aws_cloudwatch_dashboard").values()
    assert dashboard["dashboard_name"] == "sip-us-east-1"
    body = json.loads(dashboard["dashboard_body"])
    titles = [widget["properties"]["title"] for widget in body["widgets"]]
    assert titles == [
        "Uploads: presigned, processed, rejected",
        "Rejected by code",
        "Latency (ms): processor stages p50 and the API",
        "Errors",
    ]
    text = json.dumps(body)
    for metric in ("ImagesProcessed", "ImagesRejected", "ProcessMs", "TotalMs", "5XXError"):
        assert metric in text
    assert "ErrorCode" in body["widgets"][1]["properties"]["metrics"][0][0]["expression"]


def test_the_processor_publishes_metrics_only_with_alarms(plan, existing_vpc_plan) -> None:
    env = function(plan, "processor")["environment"][0]["variables"]
    assert (env["METRICS_NAMESPACE"], env["METRICS_SERVICE"]) == ("ImagePipeline", "sip")
    off = function(existing_vpc_plan, "processor")["environment"][0]["variables"]
    assert off["METRICS_NAMESPACE"] == ""
    assert not types(existing_vpc_plan) & {
        "aws_cloudwatch_metric_alarm",
        "aws_cloudwatch_dashboard",
        "aws_sns_topic",
    }


# -- the private network with sign-in ----------------------------------------------------------


def check_status(planned, name: str) -> str | None:
    for check in planned.raw.get("checks", []):
        if check["address"].get("name") == name:
            return check["status"]
    return None


def test_sign_in_in_the_vpc_widens_the_endpoints_and_warns_without_keys(plan, plan_factory):
    signed_in = plan_factory(
        bucket_name_suffix=SUFFIX,
        enable_vpc=True,
        vpc_availability_zones=ZONES,
        auth="cognito",
        image_access="public",
    )
    s3 = signed_in.statements('module.network[0].data.aws_iam_policy_document.endpoint["s3"]')
    assert "s3:DeleteObject" in s3["StackObjects"]["actions"]
    assert s3["StackBuckets"]["resources"] == sorted([UPLOAD_ARN, OUTPUT_ARN])
    dynamodb = signed_in.statements(
        'module.network[0].data.aws_iam_policy_document.endpoint["dynamodb"]'
    )
    assert "dynamodb:DeleteItem" not in dynamodb["StackTables"]["actions"]  # deletes: tombstones
    # No route to the pool's keys from the VPC: the plan warns until auth_jwks_json is given.
    assert check_status(signed_in, "sign_in_keys_reachable_from_the_vpc") == "fail"
    assert check_status(plan, "sign_in_keys_reachable_from_the_vpc") == "pass"
