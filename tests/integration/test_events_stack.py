"""Outcome events end to end on the applied signed-in stack (issue 23).

A rule on the stack's own bus (the pattern the stack outputs) sends every outcome event to an SQS
queue the test owns. Real uploads through the API and the presigned PUT reach each outcome:
processed (a photo), rejected (not an image), deleted (the owner's DELETE of the photo) and
failed (an original the processor cannot read: stored with the GLACIER class straight into the
bucket, as test_dead_letters.py does, so every attempt fails and the last one gives up). Every
event received is validated against schemas/upload-event.schema.json with jsonschema.

Order: LocalStack delivers a rule's targets from a thread pool, and was seen here to deliver two
events put 1 ms apart in the opposite order (so does EventBridge: it promises no order). One
upload's events are therefore ordered by ``detail.occurredAt`` (docs/events.md); the test
checks that this order is the order in which things happened.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from support import images
from support.pipeline import new_upload_id, wait_until
from tools import outcome_events as received_events

pytestmark = pytest.mark.integration

EVENT_TIMEOUT = 120  # three failing attempts with the emulator's fast retry delays take ~5 s


@pytest.fixture(scope="module")
def outputs(auth_stack_outputs: dict[str, Any]) -> dict[str, Any]:
    return auth_stack_outputs


@pytest.fixture(scope="module")
def queue(outputs: dict[str, Any], aws_client: Any) -> Iterator[tuple[Any, str]]:
    """A rule with the stack's own outcome pattern, targeting a new queue; removed afterwards."""
    events, sqs = aws_client("events"), aws_client("sqs")
    bus = outputs["events"]["bus_name"]
    name = f"it-outcomes-{uuid.uuid4().hex[:8]}"
    pattern = json.loads(outputs["events"]["event_pattern"])
    queue_url = received_events.rule_to_queue(events, sqs, bus, name, pattern)
    try:
        yield sqs, queue_url
    finally:
        received_events.remove_rule(events, sqs, bus, name, queue_url)


class Inbox:
    """Everything the queue received so far (validated), kept across polls."""

    def __init__(self, sqs: Any, queue_url: str) -> None:
        self.sqs, self.queue_url, self.events = sqs, queue_url, []

    def of(self, upload_id: str, count: int) -> list[dict[str, Any]] | None:
        """``upload_id``'s events once at least ``count`` arrived (ordered), else ``None``."""

        def poll() -> list[dict[str, Any]] | None:
            self.events += received_events.drain(self.sqs, self.queue_url, wait_seconds=1)
            mine = received_events.of_upload(self.events, upload_id)
            return mine if len(mine) >= count else None

        return wait_until(poll, EVENT_TIMEOUT)


@pytest.fixture(scope="module")
def inbox(queue: tuple[Any, str]) -> Inbox:
    return Inbox(*queue)


def test_processed_then_deleted_for_a_real_upload(make_user, inbox, outputs, aws_client) -> None:
    user = make_user("events")
    upload_id = user.api.upload(images.jpeg((1200, 800)), "image/jpeg", "photo.jpg")
    assert user.api.wait_for_final(upload_id)["status"] == "done"
    assert user.api.delete(upload_id).status_code == 204

    mine = inbox.of(upload_id, 2)
    assert mine is not None, f"no processed+deleted events for {upload_id}: {inbox.events}"
    assert [event["detail-type"] for event in mine] == ["Upload Processed", "Upload Deleted"]
    processed, deleted = (event["detail"] for event in mine)
    assert processed["owner"] == deleted["owner"] == user.sub
    assert processed["source"]["width"] == 1200
    assert processed["bucket"] == outputs["output_bucket"]
    sources = [source for size in processed["variants"] for source in size["sources"]]
    assert sources
    assert all(source["key"].startswith(f"{upload_id}/") for source in sources)
    assert all(source["fingerprint"] in source["key"] for source in sources)
    assert all(event["source"] == outputs["events"]["source"] for event in mine)
    assert all(source["url"] for source in sources)  # presigned; the objects are gone now


def test_rejected_carries_the_error_code(make_user, inbox) -> None:
    user = make_user("events-rejected")
    upload_id = user.api.upload(b"GIF89a but not really an image", "image/gif", "fake.gif")
    assert user.api.wait_for_final(upload_id)["status"] == "rejected"
    mine = inbox.of(upload_id, 1)
    assert mine is not None
    assert [event["detail"]["outcome"] for event in mine] == ["rejected"]
    assert mine[0]["detail"]["error"]["code"] in (
        "not_an_image",
        "corrupt_image",
        "truncated_image",
    )
    assert mine[0]["detail"]["owner"] == user.sub


def test_failed_after_the_last_attempt(inbox, outputs, aws_client) -> None:
    s3 = aws_client("s3")
    upload_id = new_upload_id()
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), (30, 90, 160)).save(buffer, "JPEG", quality=85)
    s3.put_object(
        Bucket=outputs["upload_bucket"],
        Key=f"uploads/{upload_id}",
        Body=buffer.getvalue(),
        ContentType="image/jpeg",
        StorageClass="GLACIER",  # GetObject answers InvalidObjectState: every attempt fails
    )
    mine = inbox.of(upload_id, 1)
    assert mine is not None
    assert [event["detail"]["outcome"] for event in mine] == ["failed"]
    assert mine[0]["detail"]["error"]["code"] == "processing_failed"
    assert mine[0]["detail"]["owner"] is None  # written straight into the bucket: no owner
    s3.delete_object(Bucket=outputs["upload_bucket"], Key=f"uploads/{upload_id}")


def test_every_event_received_was_schema_valid_and_ids_are_unique_per_outcome(inbox) -> None:
    assert inbox.events, "the other tests of this module received events"
    for event in inbox.events:
        received_events.validate(event)
    keys = {(e["detail"]["id"], e["detail"]["outcome"]) for e in inbox.events}
    ids = {e["detail"]["eventId"] for e in inbox.events}
    assert len(ids) == len(keys)  # one eventId per upload and outcome, duplicates share it
