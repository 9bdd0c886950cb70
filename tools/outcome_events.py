"""Receiving outcome events (docs/events.md) as a consumer would: a rule on the stack's bus that
copies events to an SQS queue, and validation of each against
``schemas/upload-event.schema.json`` with ``jsonschema`` (Draft 2020-12, formats checked).
Used by ``tools/smoke.py`` (a real delivery on AWS) and by the tests (moto and LocalStack)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "upload-event.schema.json"


@cache
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def validate(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` when it matches the schema; else ``jsonschema.ValidationError`` (the first)."""
    error = jsonschema.exceptions.best_match(validator().iter_errors(event))
    if error is not None:
        raise error
    return event


def rule_to_queue(events: Any, sqs: Any, bus_name: str, name: str, pattern: dict[str, Any]) -> str:
    """A rule on ``bus_name`` sending what matches ``pattern`` to a new queue; its URL."""
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    rule_arn = events.put_rule(Name=name, EventBusName=bus_name, EventPattern=json.dumps(pattern))[
        "RuleArn"
    ]
    sqs.set_queue_attributes(
        QueueUrl=queue_url,
        Attributes={"Policy": json.dumps(queue_policy(queue_arn, rule_arn))},
    )
    events.put_targets(
        Rule=name, EventBusName=bus_name, Targets=[{"Id": "queue", "Arn": queue_arn}]
    )
    return queue_url


def queue_policy(queue_arn: str, rule_arn: str) -> dict[str, Any]:
    """What a real queue needs before EventBridge may send to it (the emulators ignore it)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        ],
    }


def drain(sqs: Any, queue_url: str, wait_seconds: int = 0) -> list[dict[str, Any]]:
    """Every event now in the queue (deleted from it), each validated, in receipt order."""
    received: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
        ).get("Messages", [])
        if not batch:
            return received
        for message in batch:
            received.append(validate(json.loads(message["Body"])))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def of_upload(received: list[dict[str, Any]], upload_id: str) -> list[dict[str, Any]]:
    """One upload's events, in the order they happened (``detail.occurredAt``)."""
    mine = [event for event in received if event["detail"]["id"] == upload_id]
    return sorted(mine, key=by_occurrence)


def by_occurrence(event: dict[str, Any]) -> str:
    return event["detail"]["occurredAt"]


def remove_rule(events: Any, sqs: Any, bus_name: str, name: str, queue_url: str) -> None:
    """Undo :func:`rule_to_queue`."""
    events.remove_targets(Rule=name, EventBusName=bus_name, Ids=["queue"])
    events.delete_rule(Name=name, EventBusName=bus_name)
    sqs.delete_queue(QueueUrl=queue_url)
