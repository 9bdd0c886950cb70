"""A DELETE racing the processor on the applied signed-in stack (issue 20).

A large-ish photo is uploaded and deleted right after its PUT, while the S3 event is on its way
to the deployed processor. Whichever step the processor is at when the tombstone lands (before
its start, during its work, or after its finish), after the 204 nothing of the upload may
remain or appear later. The test waits (polling, with a deadline: the processor's own timeout
for each attempt) for the processor's invocation to end, then checks that the original, the
variants and the manifest are gone and that the record is a tombstone. The unit tests
(tests/unit/test_delete_races.py) interleave every ordering deterministically; this one shows
the deployed pieces (IAM, the emulator's DynamoDB answering a refused update with the item,
the processor's deletes) do it for real.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.table import deserialise
from support import images
from support.pipeline import wait_until

pytestmark = pytest.mark.integration

# How the processor's invocation for an upload ends: it erased a deleted upload, or it had
# finished before the delete (then the API's own erasure removed the outputs).
ENDINGS = ("deleted_upload_erased", "upload processed")


@pytest.fixture(scope="module")
def outputs(auth_stack_outputs: dict[str, Any]) -> dict[str, Any]:
    return auth_stack_outputs


def processor_ending(logs: Any, function: str, upload_id: str) -> str | None:
    """The processor's last word on ``upload_id`` (one of ENDINGS), or ``None`` yet."""
    events = logs.filter_log_events(
        logGroupName=f"/aws/lambda/{function}", filterPattern=f'"{upload_id}"'
    )["events"]
    for event in events:
        try:
            line = json.loads(event["message"])
        except ValueError:
            continue
        if line.get("upload_id") != upload_id:
            continue
        if line.get("event") == "deleted_upload_erased":
            return ENDINGS[0]
        if line.get("message") == "upload processed":
            return ENDINGS[1]
    return None


def objects_left(s3: Any, outputs: dict[str, Any], upload_id: str) -> list[str]:
    keys = []
    for bucket, prefix in (
        (outputs["output_bucket"], f"{upload_id}/"),
        (outputs["upload_bucket"], f"uploads/{upload_id}"),
    ):
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        keys += [item["Key"] for item in listing.get("Contents", [])]
    return keys


def record_of(dynamodb: Any, table: str, upload_id: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=table, Key={"id": {"S": upload_id}}, ConsistentRead=True)
    return deserialise(item["Item"]) if "Item" in item else None


@pytest.mark.parametrize("when", ["right after the PUT", "while the processor works"])
def test_after_a_delete_nothing_of_the_upload_remains(
    make_user, outputs, aws_client, dynamodb, when
) -> None:
    s3 = aws_client("s3")
    logs = aws_client("logs")
    function = outputs["processor_function_name"]
    table = outputs["uploads_table"]
    timeout = aws_client("lambda").get_function_configuration(FunctionName=function)["Timeout"]
    user = make_user("racer")
    upload_id = user.api.upload(images.photo_bytes((4000, 3000)), "image/jpeg", "race.jpg")
    if when == "while the processor works":  # its start is recorded; its finish is seconds away
        started = wait_until(
            lambda: (record_of(dynamodb, table, upload_id) or {}).get("status") == "processing",
            timeout,
            0.05,
        )
        assert started, f"the processor did not start on {upload_id} within {timeout} s"

    assert user.api.delete(upload_id).status_code == 204

    ending = wait_until(lambda: processor_ending(logs, function, upload_id), 3 * timeout, 0.5)
    assert ending in ENDINGS, f"the processor did not end on {upload_id} within {3 * timeout} s"
    if when == "while the processor works":
        assert ending == "deleted_upload_erased"  # its finish was refused by the tombstone
    assert objects_left(s3, outputs, upload_id) == []
    item = record_of(dynamodb, table, upload_id)
    assert item is not None
    assert (item["status"], item["deletedBy"]) == ("deleted", user.sub)
    assert "owner" not in item
    assert "fileName" not in item
    assert user.api.status(upload_id).status_code == 404
    assert upload_id not in [u["id"] for u in user.api.list_uploads().json()["uploads"]]


def test_concurrent_charges_on_the_stacks_quota_table_never_pass_the_limit(
    make_user, outputs, aws_client, dynamodb
) -> None:
    """The deployed function and the emulator's table: more requests at once than the day
    allows never get more than the limit's worth of URLs, the counter says exactly how many
    were given, and the day then ends at the limit exactly.

    A request the emulator itself throttles or fails under load (its own 429 or a 5xx, not
    the function's ``quota_exceeded``) never reached the charge or was refunded; it is sent
    again one at a time after the burst, so the run ends in the same place either way."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import UTC, datetime

    config = aws_client("lambda").get_function_configuration(
        FunctionName=outputs["api_function_name"]
    )
    per_day = int(config["Environment"]["Variables"]["QUOTA_UPLOADS_PER_DAY"])
    user = make_user("burst")
    user.api.attempts = 1  # a 429 is an answer here, not something to retry
    user.api.timeout = 120.0
    day = datetime.now(UTC).date().isoformat()

    def outcome(answer) -> str:
        if answer.status_code == 201:
            return "url"
        if answer.status_code == 429 and '"quota_exceeded"' in answer.text:
            return "quota_exceeded"
        return f"emulator_{answer.status_code}"

    def counted() -> tuple[int, int]:
        days = {day, datetime.now(UTC).date().isoformat()}  # a burst across midnight
        totals = [0, 0]
        for each in days:
            item = dynamodb.get_item(
                TableName=outputs["auth"]["quota_table"],
                Key={"id": {"S": f"{user.sub}#{each}"}},
                ConsistentRead=True,
            ).get("Item")
            if item:
                totals[0] += int(item["uploads"]["N"])
                totals[1] += int(item["bytes"]["N"])
        return totals[0], totals[1]

    with ThreadPoolExecutor(max_workers=6) as pool:
        burst = [
            outcome(answer)
            for answer in pool.map(
                lambda _: user.api.create_upload("image/jpeg", 1000), range(per_day + 4)
            )
        ]

    urls = burst.count("url")
    assert urls <= per_day, burst
    assert counted() == (urls, urls * 1000), burst
    retried = [each for each in burst if each.startswith("emulator_")]
    for _ in retried:
        if outcome(user.api.create_upload("image/jpeg", 1000)) == "url":
            urls += 1
    assert urls <= per_day, burst
    assert outcome(user.api.create_upload("image/jpeg", 1000)) == "quota_exceeded"
    if day == datetime.now(UTC).date().isoformat():
        assert (urls, counted()) == (per_day, (per_day, per_day * 1000)), burst
