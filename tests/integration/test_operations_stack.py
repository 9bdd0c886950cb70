"""The operations options on the shared stack (tests/conftest.py turns them on): the private
network, tracing settings, alarms with their topic and dashboard, the metric the dead-letter
alarm watches, and the ids and metrics the processor writes for an upload.

The rest of the integration tier proves the pipeline works end to end inside the VPC (the host
Lambda executor runs the functions on the host and ignores vpc_config; LocalStack's EC2, which is
moto, records the network without routing anything).
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from PIL import Image

from support.pipeline import new_upload_id, wait_until

pytestmark = pytest.mark.integration

ALARM_ROLES = (
    "dead-letters",
    "processor-errors",
    "processor-throttles",
    "processor-duration",
    "api-5xx",
    "api-4xx-spike",
)


@pytest.fixture(scope="module")
def ec2(aws_client):
    return aws_client("ec2")


@pytest.fixture(scope="module")
def cloudwatch(aws_client):
    return aws_client("cloudwatch")


@pytest.fixture(scope="module")
def vpc_id(local_stack_outputs) -> str:
    assert local_stack_outputs["vpc_id"], "the shared stack is applied with enable_vpc = true"
    return local_stack_outputs["vpc_id"]


def vpc_filter(vpc_id: str) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [vpc_id]}]


@pytest.mark.parametrize("which", ["api_function_name", "processor_function_name"])
def test_both_functions_are_attached_with_tracing(
    lambda_client, local_stack_outputs, vpc_id, which: str
) -> None:
    config = lambda_client.get_function_configuration(FunctionName=local_stack_outputs[which])
    assert sorted(config["VpcConfig"]["SubnetIds"]) == sorted(
        local_stack_outputs["function_subnet_ids"]
    )
    assert (
        config["VpcConfig"]["SecurityGroupIds"]
        == (local_stack_outputs["function_security_group_ids"])
    )
    assert config["VpcConfig"]["VpcId"] == vpc_id
    assert config["TracingConfig"]["Mode"] == "Active"


def test_the_api_stage_is_traced(aws_client, local_stack_outputs) -> None:
    api_url = local_stack_outputs["api_url"]
    stage = aws_client("apigateway").get_stage(
        restApiId=local_stack_outputs["rest_api_id"], stageName=api_url.rsplit("/", 1)[-1]
    )
    assert stage["tracingEnabled"] is True


def test_the_vpc_has_no_way_out(ec2, vpc_id, local_stack_outputs) -> None:
    attached = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
    )["InternetGateways"]
    assert attached == []
    nat = ec2.describe_nat_gateways(Filters=vpc_filter(vpc_id))["NatGateways"]
    assert [n for n in nat if n["State"] not in ("deleted", "failed")] == []
    subnets = ec2.describe_subnets(Filters=vpc_filter(vpc_id))["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert not any(s["MapPublicIpOnLaunch"] for s in subnets)
    for table in ec2.describe_route_tables(Filters=vpc_filter(vpc_id))["RouteTables"]:
        for route in table["Routes"]:
            assert route.get("GatewayId", "local") in ("local",) or route.get(
                "DestinationPrefixListId"
            ), route
            assert "NatGatewayId" not in route
            assert route.get("DestinationCidrBlock") != "0.0.0.0/0"


def test_gateway_endpoints_for_s3_and_dynamodb_only(ec2, vpc_id, local_stack_outputs) -> None:
    endpoints = ec2.describe_vpc_endpoints(Filters=vpc_filter(vpc_id))["VpcEndpoints"]
    assert {e["ServiceName"]: e["VpcEndpointType"] for e in endpoints} == {
        "com.amazonaws.us-east-1.s3": "Gateway",
        "com.amazonaws.us-east-1.dynamodb": "Gateway",
    }
    s3_policy = json.loads(
        next(e for e in endpoints if e["ServiceName"].endswith(".s3"))["PolicyDocument"]
    )
    resources = json.dumps(s3_policy)
    assert local_stack_outputs["upload_bucket"] in resources
    assert local_stack_outputs["output_bucket"] in resources
    (group_id,) = local_stack_outputs["function_security_group_ids"]
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    assert group["IpPermissions"] == []
    # EC2 groups rules by protocol and ports: one permission, the two endpoints' prefix lists.
    prefix_lists = {
        pl["PrefixListId"]
        for pl in ec2.describe_prefix_lists()["PrefixLists"]
        if pl["PrefixListName"] in {e["ServiceName"] for e in endpoints}
    }
    (rule,) = group["IpPermissionsEgress"]
    assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    assert rule.get("IpRanges", []) == []
    assert rule.get("Ipv6Ranges", []) == []
    assert {pl["PrefixListId"] for pl in rule["PrefixListIds"]} == prefix_lists
    assert len(prefix_lists) == 2


def test_alarms_are_applied_with_the_email_topic(aws_client, cloudwatch, local_stack_outputs):
    names = local_stack_outputs["alarm_names"]
    assert sorted(names) == sorted(ALARM_ROLES)
    found = {
        alarm["AlarmName"]: alarm
        for alarm in cloudwatch.describe_alarms(AlarmNames=list(names.values()))["MetricAlarms"]
    }
    assert sorted(found) == sorted(names.values())
    topic = local_stack_outputs["alarm_topic_arn"]
    for alarm in found.values():
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]
        assert alarm["Period"] == 60  # the shared stack's alarm_period_seconds
    dead = found[names["dead-letters"]]
    queue_name = local_stack_outputs["dead_letter_queue_url"].rsplit("/", 1)[-1]
    assert dead["Dimensions"] == [{"Name": "QueueName", "Value": queue_name}]
    subscriptions = aws_client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == [("email", "ops@example.com")]
    dashboard = cloudwatch.get_dashboard(DashboardName=local_stack_outputs["dashboard_name"])
    assert "ImagesProcessed" in dashboard["DashboardBody"]


def unreadable_original(s3, bucket: str) -> str:
    """An original the processor cannot read (GLACIER, as in test_dead_letters.py)."""
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    key = f"uploads/{new_upload_id()}"
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=buffer.getvalue(),
        ContentType="image/jpeg",
        StorageClass="GLACIER",
    )
    return key


def queue_depth(cloudwatch, queue_name: str) -> float:
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
    )["Datapoints"]
    return max((point["Maximum"] for point in points), default=0.0)


def alarm_email(emulator_endpoint: str, alarm: str) -> dict[str, Any] | None:
    """The email SNS sent for ``alarm`` going to ALARM (LocalStack's SES keeps every message;
    its SNS puts the notification, AWS's JSON, in the text body under a fixed subject)."""
    messages = requests.get(f"{emulator_endpoint}/_aws/ses", timeout=10).json()["messages"]
    for message in messages:
        text = (message.get("Body") or {}).get("text_part") or ""
        try:
            notification = json.loads(text)
        except ValueError:
            continue
        if notification.get("AlarmName") == alarm and notification.get("NewStateValue") == "ALARM":
            return message
    return None


def test_a_dead_letter_moves_the_queue_depth_the_alarm_watches(
    s3, sqs, cloudwatch, local_stack_outputs, emulator_endpoint
) -> None:
    """LocalStack publishes queue depths to CloudWatch every 5 s (local/emulator.py) and evaluates
    an alarm once per period (60 s here), as AWS does with its own cadence."""
    queue_url = local_stack_outputs["dead_letter_queue_url"]
    queue_name = queue_url.rsplit("/", 1)[-1]
    alarm = local_stack_outputs["alarm_names"]["dead-letters"]
    key = unreadable_original(s3, local_stack_outputs["upload_bucket"])
    started = time.monotonic()
    try:
        assert wait_until(lambda: queue_depth(cloudwatch, queue_name) >= 1, 120, 2), (
            "the dead letter never reached the queue-depth metric"
        )
        metric_s = time.monotonic() - started
        state = wait_until(
            lambda: (
                cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]["StateValue"]
                == "ALARM"
            ),
            150,
            3,
        )
        assert state, f"{alarm} did not go to ALARM within 150 s of the metric ({metric_s:.0f} s)"
        # ...and the operator is told: LocalStack's SES keeps what SNS sent to the address.
        email = wait_until(lambda: alarm_email(emulator_endpoint, alarm), 30, 1)
        assert email, f"no email about {alarm} to ops@example.com"
        assert email["Destination"]["ToAddresses"] == ["ops@example.com"]
    finally:
        drain(sqs, queue_url, key)


def drain(sqs, queue_url: str, key: str) -> None:
    """Delete this test's dead letter (others are given back)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=10, WaitTimeSeconds=1
        ).get("Messages", [])
        mine = [m for m in batch if key in m["Body"]]
        for message in batch:
            if message in mine:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        if mine:
            return


def processor_lines(aws_client, function: str, upload_id: str) -> list[dict[str, Any]]:
    events = aws_client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    lines = []
    for event in events:
        if upload_id not in event["message"]:
            continue
        try:
            lines.append(json.loads(event["message"]))
        except ValueError:
            continue
    return lines


def test_an_upload_carries_its_api_request_to_the_processor_logs_and_metrics(
    api, aws_client, local_stack_outputs
) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (10, 120, 60)).save(buffer, "JPEG")
    upload_id = api.upload(buffer.getvalue(), "image/jpeg", filename="ops.jpg")
    assert api.wait_for_final(upload_id, timeout=60)["status"] == "done"
    function = local_stack_outputs["processor_function_name"]

    def outcome_and_metrics():
        lines = processor_lines(aws_client, function, upload_id)
        outcome = [line for line in lines if line.get("message") == "upload processed"]
        documents = [line for line in lines if "_aws" in line]
        return (outcome, documents) if outcome and documents else None

    found = wait_until(outcome_and_metrics, 30, 1)
    assert found, "the processor's outcome and metric lines were not logged"
    (outcome,), (document,) = found
    assert outcome["api_request_id"]  # API Gateway's request id, from the upload record
    assert document["ImagesProcessed"] == 1
    assert document["Service"] == "sit"
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == local_stack_outputs["metrics_namespace"]
    assert document["api_request_id"] == outcome["api_request_id"]
