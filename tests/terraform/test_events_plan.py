"""Plans of the outcome events (issue 23): the bus, who may publish, the archive, the webhook
(secret out of the state), enable_vpc's EventBridge interface endpoint, and events off.

EventBridge's delivery to rules and queues is exercised on the emulator
(tests/integration/test_events_stack.py); the webhook's HTTPS call, the endpoint's private DNS and the
IAM decisions happen only on AWS: the plan pins what they are made of and tools/smoke.py checks
a real delivery."""

from __future__ import annotations

import json
from typing import Any

import hcl2
import pytest

from local.cloud_settings import REPO

pytestmark = pytest.mark.terraform

SUFFIX = "t1"
ZONES = ["us-east-1a", "us-east-1b"]
WEBHOOK = "https://hooks.example.com/image-pipeline"
PLACEHOLDER = "unset-run-aws-events-update-connection"


# On the emulator every value of the functions' environments is known at plan time.
EMULATOR = {
    "emulator_endpoint": "http://127.0.0.1:4566",
    "emulator_sidecar_endpoint": "http://127.0.0.1:5566",
}


@pytest.fixture(scope="module")
def plan(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, **EMULATOR)


@pytest.fixture(scope="module")
def everything(plan_factory):
    return plan_factory(
        bucket_name_suffix=SUFFIX,
        auth="cognito",
        event_archive_retention_days=30,
        event_webhook_url=WEBHOOK,
        event_url_ttl_seconds=900,
        **EMULATOR,
    )


def env_of(plan, module: str) -> dict[str, str]:
    function = plan.values(f"module.{module}.module.function.aws_lambda_function.this")
    return function["environment"][0]["variables"]


def statements(plan, module: str) -> dict[str, Any]:
    return plan.statements(f"module.{module}.data.aws_iam_policy_document.function")


def bus_arn_is_the_stacks(plan, root_local, module: str) -> bool:
    """The module's event_bus comes from a root local whose arn is the events module's bus
    (the ARN itself is known only after apply)."""
    call = plan.raw["configuration"]["root_module"]["module_calls"][module]
    local = {"api": "event_bus", "processor": "processor_event_bus"}[module]
    return f"local.{local}" in call["expressions"]["event_bus"]["references"] and (
        "module.events[0].bus_arn" in root_local(local)
    )


def test_by_default_the_stack_has_its_own_bus_and_the_processor_publishes_to_it(
    plan, root_local
) -> None:
    bus = plan.values("module.events[0].aws_cloudwatch_event_bus.this[0]")
    assert bus["name"] == "sip-uploads"
    env = env_of(plan, "processor")
    assert env["EVENT_BUS_NAME"] == "sip-uploads"
    assert env["EVENT_SOURCE"] == "image-pipeline.sip"
    assert env["EVENT_URL_TTL_SECONDS"] == "3600"
    publish = statements(plan, "processor")["PublishOutcomeEvents"]
    assert publish["actions"] == ["events:PutEvents"]
    assert bus_arn_is_the_stacks(plan, root_local, "processor")
    # no archive, no webhook, and without sign-in there is no DELETE: the API publishes nothing
    assert not plan.of_type("aws_cloudwatch_event_archive")
    assert not plan.of_type("aws_cloudwatch_event_connection")
    assert "PublishOutcomeEvents" not in statements(plan, "api")
    assert "EVENT_BUS_NAME" not in env_of(plan, "api")
    assert "value" not in plan.outputs["events"]  # the bus ARN is known after apply


def test_with_sign_in_the_api_publishes_deleted(everything, root_local) -> None:
    assert statements(everything, "api")["PublishOutcomeEvents"]["actions"] == ["events:PutEvents"]
    assert bus_arn_is_the_stacks(everything, root_local, "api")
    assert env_of(everything, "processor")["EVENT_URL_TTL_SECONDS"] == "900"


def test_the_archive_keeps_only_this_stacks_outcomes(everything) -> None:
    archive = everything.values("module.events[0].aws_cloudwatch_event_archive.this[0]")
    assert archive["retention_days"] == 30
    assert json.loads(archive["event_pattern"]) == {
        "source": ["image-pipeline.sip"],
        "detail-type": ["Upload Processed", "Upload Rejected", "Upload Failed", "Upload Deleted"],
    }


def test_the_webhook_secret_never_enters_the_state(everything) -> None:
    connection = everything.values("module.events[0].aws_cloudwatch_event_connection.webhook[0]")
    assert connection["authorization_type"] == "API_KEY"
    api_key = connection["auth_parameters"][0]["api_key"][0]
    assert api_key["key"] == "X-Pipeline-Secret"
    assert api_key["value"] == PLACEHOLDER  # a placeholder; the real value is set outside
    # ignore_changes on the value: Terraform never puts the placeholder back over the secret
    with (REPO / "modules" / "events" / "main.tf").open() as handle:
        resources = hcl2.load(handle)["resource"]
    connection_hcl = next(
        block['"aws_cloudwatch_event_connection"']['"webhook"']
        for block in resources
        if '"aws_cloudwatch_event_connection"' in block
    )
    assert connection_hcl["lifecycle"][0]["ignore_changes"] == [
        "${auth_parameters[0].api_key[0].value}"
    ]


def test_the_webhook_is_https_retried_and_dead_lettered(everything) -> None:
    destination = everything.values(
        "module.events[0].aws_cloudwatch_event_api_destination.webhook[0]"
    )
    assert destination["invocation_endpoint"] == WEBHOOK
    assert destination["http_method"] == "POST"
    rule = everything.values("module.events[0].aws_cloudwatch_event_rule.webhook[0]")
    assert json.loads(rule["event_pattern"])["source"] == ["image-pipeline.sip"]
    target = everything.values("module.events[0].aws_cloudwatch_event_target.webhook[0]")
    assert target["retry_policy"][0]["maximum_event_age_in_seconds"] == 86400
    assert target["dead_letter_config"]  # ARN known after apply
    role = everything.statements("module.events[0].data.aws_iam_policy_document.webhook[0]")
    assert role["InvokeTheWebhook"]["actions"] == ["events:InvokeApiDestination"]
    dlq = everything.statements("module.events[0].data.aws_iam_policy_document.webhook_dlq[0]")
    assert dlq["EventBridgeDeadLetters"]["principals"] == [("Service", ["events.amazonaws.com"])]
    assert dlq["EventBridgeDeadLetters"]["condition"][0][:2] == ("ArnEquals", "aws:SourceArn")


def test_a_webhook_must_be_https(plan_error) -> None:
    assert "event_webhook_url must be null or an https:// URL." in plan_error(
        event_webhook_url="http://hooks.example.com/x"
    )


@pytest.fixture(scope="module")
def vpc(plan_factory):
    return plan_factory(bucket_name_suffix=SUFFIX, enable_vpc=True, vpc_availability_zones=ZONES)


def test_with_enable_vpc_events_leave_through_an_interface_endpoint_for_the_bus_only(vpc) -> None:
    endpoint = vpc.values('module.network[0].aws_vpc_endpoint.interface["events"]')
    assert endpoint["vpc_endpoint_type"] == "Interface"
    assert endpoint["service_name"] == "com.amazonaws.us-east-1.events"
    assert endpoint["private_dns_enabled"] is True  # the SDK's usual host name resolves to it
    policy = vpc.statements(
        'module.network[0].data.aws_iam_policy_document.interface_endpoint["events"]'
    )
    assert set(policy) == {"StackBus"}
    assert policy["StackBus"]["actions"] == ["events:PutEvents"]
    ingress = vpc.values(
        'module.network[0].aws_vpc_security_group_ingress_rule.interface_endpoint_from_functions["events"]'
    )
    assert (ingress["ip_protocol"], ingress["from_port"], ingress["to_port"]) == ("tcp", 443, 443)
    # still no way out: no NAT gateway, no internet gateway
    assert not vpc.of_type("aws_nat_gateway")
    assert not vpc.of_type("aws_internet_gateway")


def test_events_off_leaves_no_bus_no_endpoint_and_no_right(plan_factory) -> None:
    off = plan_factory(
        bucket_name_suffix=SUFFIX,
        enable_vpc=True,
        vpc_availability_zones=ZONES,
        enable_events=False,
    )
    assert not off.of_type("aws_cloudwatch_event_bus")
    assert not off.of_type("aws_vpc_endpoint") or all(
        values["vpc_endpoint_type"] == "Gateway"
        for values in off.of_type("aws_vpc_endpoint").values()
    )
    assert "PublishOutcomeEvents" not in statements(off, "processor")
    assert "EVENT_BUS_NAME" not in env_of(off, "processor")
    assert off.outputs["events"]["value"] is None
