"""A processor failure that is not a bad image: retried, dead-lettered, then replayed.

The failure: an original the processor cannot read yet. It is stored in the upload bucket
with the ``GLACIER`` storage class (written straight into the bucket: the presigned URL does
not allow that header, see test_upload_abuse.py), so ``GetObject`` answers
``InvalidObjectState``. That is an S3 error, not a property of the image, so the processor
re-raises it; Lambda retries the asynchronous S3 invocation ``maximum_retry_attempts`` times
and the on-failure destination sends a record to the dead-letter queue. Nothing shared is
changed: the test only adds its own objects, like any upload. The operator's fix is to
restore the object (``RestoreObject``, instant on the emulator, hours on AWS), then replay.

Every test finds its own messages by key and gives other messages back to the queue.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from PIL import Image

from support.pipeline import new_upload_id, wait_until
from tools import replay_dead_letters

pytestmark = pytest.mark.integration

DEAD_LETTER_TIMEOUT = 120  # 3 attempts with the emulator's fast retry delays take ~5 s


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 90, 160)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def unreadable_upload(s3, bucket: str) -> tuple[str, str]:
    """An original that exists but cannot be read yet; returns (upload id, key)."""
    upload_id = new_upload_id()
    key = f"uploads/{upload_id}"
    s3.put_object(
        Bucket=bucket, Key=key, Body=jpeg(), ContentType="image/jpeg", StorageClass="GLACIER"
    )
    return upload_id, key


def dead_letters_for(sqs, queue_url: str, key: str) -> list[dict[str, Any]]:
    """The queue's messages about ``key`` (all left in the queue, visible again)."""
    found = []
    handles = []
    seen = set()
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=1
        ).get("Messages", [])
        fresh = [message for message in batch if message["MessageId"] not in seen]
        if not fresh:
            break
        for message in fresh:
            seen.add(message["MessageId"])
            handles.append(message["ReceiptHandle"])
            if key in message["Body"]:
                found.append(message)
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


def wait_for_dead_letter(sqs, queue_url: str, key: str) -> dict[str, Any]:
    messages = wait_until(lambda: dead_letters_for(sqs, queue_url, key), DEAD_LETTER_TIMEOUT, 1)
    assert messages, f"no dead letter for {key} after {DEAD_LETTER_TIMEOUT} s"
    assert len(messages) == 1, messages
    return messages[0]


def delete_dead_letters(sqs, queue_url: str, key: str) -> None:
    for _ in range(3):
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=1
        ).get("Messages", [])
        if not batch:
            return
        for message in batch:
            if key in message["Body"]:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            else:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )


def run_replay(outputs_file, emulator_endpoint, capsys, *args: str) -> tuple[int, str]:
    code = replay_dead_letters.main(
        ["--outputs-json", str(outputs_file), "--endpoint-url", emulator_endpoint, *args]
    )
    return code, capsys.readouterr().out


def lines_starting(out: str, word: str) -> int:
    return sum(line.startswith(word) for line in out.splitlines())


@pytest.fixture(scope="module")
def queue_url(local_stack_outputs) -> str:
    return local_stack_outputs["dead_letter_queue_url"]


def test_the_processor_retries_then_dead_letters_with_the_original_event(
    s3, sqs, lambda_client, api, aws_client, local_stack_outputs, queue_url
):
    logs = aws_client("logs")
    bucket = local_stack_outputs["upload_bucket"]
    function = local_stack_outputs["processor_function_name"]
    invoke_config = lambda_client.get_function_event_invoke_config(FunctionName=function)
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    upload_id, key = unreadable_upload(s3, bucket)
    try:
        message = wait_for_dead_letter(sqs, queue_url, key)
        record = json.loads(message["Body"])

        assert invoke_config["MaximumRetryAttempts"] == 2  # variables.tf default
        assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == queue_arn
        assert record["requestContext"]["condition"] == "RetriesExhausted"
        assert record["requestContext"]["approximateInvokeCount"] == 1 + 2
        assert record["requestContext"]["functionArn"].split(":")[6] == function
        (event_record,) = record["requestPayload"]["Records"]
        assert event_record["eventSource"] == "aws:s3"
        assert event_record["eventName"].startswith("ObjectCreated")
        assert event_record["s3"]["bucket"]["name"] == bucket
        assert event_record["s3"]["object"]["key"] == key
        assert record["responsePayload"]["errorType"] == "InvalidObjectState"
        # nothing half-written: no manifest, no variant
        listing = s3.list_objects_v2(
            Bucket=local_stack_outputs["output_bucket"], Prefix=f"{upload_id}/"
        )
        assert listing.get("KeyCount", 0) == 0
        # every attempt failed: the status is terminal, with a code, not "processing" for ever
        body = api.status(upload_id).json()
        assert body["status"] == "failed", body
        assert body["error"]["code"] == "processing_failed"
        assert body["variants"] == []
        # the processor's own log shows the three attempts
        attempts = wait_until(lambda: failed_attempts(logs, function, upload_id) >= 3, 30)
        assert attempts
        assert failed_attempts(logs, function, upload_id) == 3
    finally:
        delete_dead_letters(sqs, queue_url, key)


def failed_attempts(logs, function: str, upload_id: str) -> int:
    events = logs.filter_log_events(
        logGroupName=f"/aws/lambda/{function}", filterPattern=f'"{upload_id}"'
    )["events"]
    return sum(
        "processing failed" in event["message"] and upload_id in event["message"]
        for event in events
    )


def upload_record(sidecar_endpoint: str, table: str, upload_id: str) -> dict[str, Any]:
    import boto3

    from common.table import deserialise

    client = boto3.client(
        "dynamodb",
        endpoint_url=sidecar_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    item = client.get_item(TableName=table, Key={"id": {"S": upload_id}}, ConsistentRead=True)
    return deserialise(item["Item"])


def test_replay_keeps_failing_letters_and_clears_fixed_ones(
    s3,
    sqs,
    api,
    local_stack_outputs,
    queue_url,
    outputs_file,
    emulator_endpoint,
    sidecar_endpoint,
    capsys,
):
    bucket = local_stack_outputs["upload_bucket"]
    upload_id, key = unreadable_upload(s3, bucket)
    only = ("--upload-id", upload_id)
    try:
        wait_for_dead_letter(sqs, queue_url, key)

        # a dry run lists it and changes nothing
        code, out = run_replay(outputs_file, emulator_endpoint, capsys, "--dry-run", *only)
        assert code == 0, out
        assert "would-replay" in out
        assert key in out
        assert len(dead_letters_for(sqs, queue_url, key)) == 1
        assert api.status(upload_id).json()["status"] == "failed"

        # the cause is not fixed yet: the replay fails and the letter stays
        code, out = run_replay(outputs_file, emulator_endpoint, capsys, *only)
        assert code == 1, out
        assert lines_starting(out, "failed") == 1
        assert "InvalidObjectState" in out
        assert len(dead_letters_for(sqs, queue_url, key)) == 1
        # a failed replay was one more attempt (a new epoch), and the upload is failed again
        table = local_stack_outputs["uploads_table"]
        record = upload_record(sidecar_endpoint, table, upload_id)
        assert (record["status"], record["failedAttempts"], record["replays"]) == ("failed", 3, 1)
        assert api.status(upload_id).json()["status"] == "failed"

        # fixed: the replay processes the upload and only then deletes the letter
        s3.restore_object(Bucket=bucket, Key=key, RestoreRequest={"Days": 1})
        code, out = run_replay(outputs_file, emulator_endpoint, capsys, *only)
        assert code == 0, out
        assert "summary: replayed 1" in out
        assert api.status(upload_id).json()["status"] == "done"
        record = upload_record(sidecar_endpoint, table, upload_id)
        assert (record["status"], record["replays"], record["error"]) == ("done", 2, None)
        assert dead_letters_for(sqs, queue_url, key) == []
    finally:
        delete_dead_letters(sqs, queue_url, key)


def test_replay_skips_letters_that_are_not_upload_events(
    sqs, local_stack_outputs, queue_url, outputs_file, emulator_endpoint, capsys
):
    marker = new_upload_id()
    foreign_key = f"uploads/{marker}"
    foreign = {
        "requestContext": {"condition": "RetriesExhausted"},
        "requestPayload": {
            "Records": [
                {
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": "someone-elses-bucket"},
                        "object": {"key": foreign_key},
                    },
                }
            ]
        },
    }
    bodies = [json.dumps(foreign), f"not json {marker}", json.dumps({"note": marker})]
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    try:
        code, out = run_replay(outputs_file, emulator_endpoint, capsys)

        assert code == 1, out
        assert lines_starting(out, "skipped") >= 3
        assert "not the upload bucket" in out
        assert "not JSON" in out
        assert "no requestPayload" in out
        # still there for a person to look at
        remaining = wait_until(lambda: dead_letters_for(sqs, queue_url, marker), 10)
        assert len(remaining) == 3
    finally:
        delete_dead_letters(sqs, queue_url, marker)


def test_replay_max_limits_the_messages_acted_on(
    sqs, queue_url, outputs_file, emulator_endpoint, capsys
):
    marker = new_upload_id()
    for index in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"not json {marker} {index}")
    try:
        code, out = run_replay(outputs_file, emulator_endpoint, capsys, "--dry-run", "--max", "2")

        assert code == 1, out  # skipped letters are reported
        assert lines_starting(out, "skipped") == 2
        # all given back (visible again once the replay releases them)
        assert wait_until(lambda: len(dead_letters_for(sqs, queue_url, marker)) == 3, 30)
    finally:
        delete_dead_letters(sqs, queue_url, marker)
