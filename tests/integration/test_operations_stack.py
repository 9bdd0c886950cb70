"""The operations options on the shared stack (tests/support/stacks.py turns them on): the private
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


def test_gateway_endpoints_for_s3_and_dynamodb_and_one_for_events(
    ec2, vpc_id, local_stack_outputs
) -> None:
    """No NAT: S3 and DynamoDB through free gateway endpoints, and the outcome events (on by
    default) through the one interface endpoint, EventBridge's; the functions' group reaches
    those on HTTPS only."""
    endpoints = ec2.describe_vpc_endpoints(Filters=vpc_filter(vpc_id))["VpcEndpoints"]
    assert {e["ServiceName"]: e["VpcEndpointType"] for e in endpoints} == {
        "com.amazonaws.us-east-1.s3": "Gateway",
        "com.amazonaws.us-east-1.dynamodb": "Gateway",
        "com.amazonaws.us-east-1.events": "Interface",
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
    prefix_lists = {
        pl["PrefixListId"]
        for pl in ec2.describe_prefix_lists()["PrefixLists"]
        if pl["PrefixListName"] in {e["ServiceName"] for e in endpoints}
    }
    egress = group["IpPermissionsEgress"]
    assert {(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in egress} == {("tcp", 443, 443)}
    assert all(r.get("IpRanges", []) == [] and r.get("Ipv6Ranges", []) == [] for r in egress)
    assert {pl["PrefixListId"] for r in egress for pl in r.get("PrefixListIds", [])} == (
        prefix_lists
    )
    # (the rule to the EventBridge endpoint's group: LocalStack reads it back without the group
    # it references, tests/support/second_plan.py; its plan: tests/terraform/test_events_plan.py)
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


def alarm_emails(emulator_endpoint: str, alarm: str) -> list[dict[str, Any]]:
    """The emails SNS sent for ``alarm`` going to ALARM (LocalStack's SES keeps every message;
    its SNS puts the notification, AWS's JSON, in the text body under a fixed subject)."""
    messages = requests.get(f"{emulator_endpoint}/_aws/ses", timeout=10).json()["messages"]
    found = []
    for message in messages:
        text = (message.get("Body") or {}).get("text_part") or ""
        try:
            notification = json.loads(text)
        except ValueError:
            continue
        if notification.get("AlarmName") == alarm and notification.get("NewStateValue") == "ALARM":
            found.append(message)
    return found


def depth_over_last_period(cloudwatch, queue_name: str, period: int = 60) -> float | None:
    """The alarm's view of the queue: Maximum depth over the last ``period`` seconds (None
    before LocalStack has published a value in it)."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/SQS",
        MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": queue_name}],
        StartTime=now - timedelta(seconds=period),
        EndTime=now,
        Period=period,
        Statistics=["Maximum"],
    )["Datapoints"]
    return max((point["Maximum"] for point in points), default=None)


def take_letters(sqs, queue_url: str, visibility: int) -> list[dict[str, Any]]:
    """Every visible letter, received (so invisible for ``visibility`` seconds)."""
    taken: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=visibility
    ).get("Messages", []):
        taken += batch
    return taken


def give_back(sqs, queue_url: str, letters: list[dict[str, Any]]) -> None:
    for letter in letters:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=letter["ReceiptHandle"], VisibilityTimeout=0
        )


def alarm_state(cloudwatch, alarm: str) -> dict[str, Any]:
    found = cloudwatch.describe_alarms(AlarmNames=[alarm])["MetricAlarms"][0]
    return {key: found[key] for key in ("StateValue", "StateReason", "StateUpdatedTimestamp")}


def test_the_dead_letter_alarm_goes_off_for_this_tests_own_letter(
    s3, sqs, cloudwatch, local_stack_outputs, emulator_endpoint
) -> None:
    """OK -> ALARM, caused by the letter this test makes, not by letters earlier tests left.

    Letters already in the queue are held invisible while the test runs (and given back at its
    end); once the metric the alarm watches has read 0 over a whole period, the alarm is reset
    to OK and only then is the test's own letter made. LocalStack publishes queue depths every
    5 s (local/emulator.py) and evaluates an alarm once per period (60 s here), as AWS does with
    its own cadence. Every wait below is a bound on a condition, not a pause.
    """
    queue_url = local_stack_outputs["dead_letter_queue_url"]
    queue_name = queue_url.rsplit("/", 1)[-1]
    alarm = local_stack_outputs["alarm_names"]["dead-letters"]
    held = take_letters(sqs, queue_url, visibility=900)
    key = None
    try:
        assert wait_until(lambda: depth_over_last_period(cloudwatch, queue_name) == 0, 150, 3), (
            "the queue-depth metric never read 0 over a whole period with earlier letters held"
        )
        cloudwatch.set_alarm_state(
            AlarmName=alarm, StateValue="OK", StateReason="reset by the test before its letter"
        )
        reset = alarm_state(cloudwatch, alarm)
        assert reset["StateValue"] == "OK", reset
        emails_before = len(alarm_emails(emulator_endpoint, alarm))
        key = unreadable_original(s3, local_stack_outputs["upload_bucket"])
        assert wait_until(
            lambda: (depth_over_last_period(cloudwatch, queue_name) or 0) >= 1, 120, 2
        ), "the test's dead letter never reached the queue-depth metric"
        # From the OK set above to ALARM: a state change after the reset, to ALARM.
        fired = wait_until(
            lambda: (
                alarm_state(cloudwatch, alarm)["StateValue"] == "ALARM"
                and alarm_state(cloudwatch, alarm)["StateUpdatedTimestamp"]
                > reset["StateUpdatedTimestamp"]
            ),
            150,
            3,
        )
        assert fired, f"{alarm} did not go from OK to ALARM: {alarm_state(cloudwatch, alarm)}"
        # The only letter the alarm could see is this test's own.
        visible = take_letters(sqs, queue_url, visibility=30)
        give_back(sqs, queue_url, visible)
        assert visible, "no letter in the queue"
        assert all(key in letter["Body"] for letter in visible), [v["Body"][:200] for v in visible]
        # ...and the operator is told: LocalStack's SES keeps what SNS sent to the address.
        emails = wait_until(lambda: alarm_emails(emulator_endpoint, alarm)[emails_before:], 30, 1)
        assert emails, f"no email about {alarm} to ops@example.com after the test's letter"
        assert emails[0]["Destination"]["ToAddresses"] == ["ops@example.com"]
    finally:
        if key:
            drain(sqs, queue_url, key)
        give_back(sqs, queue_url, held)


def drain(sqs, queue_url: str, key: str) -> None:
    """Delete this test's dead letter (others are given back)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=10, WaitTimeSeconds=1
        ).get("Messages", [])
        mine = [m for m in batch if key in m["Body"]]
        for message in mine:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        give_back(sqs, queue_url, [m for m in batch if m not in mine])
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
