"""Outcome events (issue 23): the pure detail builder against the JSON Schema, stable event ids,
and both handlers publishing to an EventBridge bus (moto) whose rule copies events to a queue."""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import ModuleType
from typing import Any

import jsonschema
import pytest

from common import event_bus, events
from support import images as factory
from support.lambda_env import OUTPUT_BUCKET, REGION, UPLOAD_BUCKET
from support.lambda_events import api_event, s3_event
from support.tokens import TokenFactory
from tools import outcome_events as received_events

UPLOAD_ID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
OWNER = "0b4f8f64-1111-4a1a-9a1a-aaaaaaaaaaaa"
BUS = "sip-test-events"
SOURCE = "image-pipeline.sip-test"
TOKENS = TokenFactory()

DONE_RECORD = {
    "id": UPLOAD_ID,
    "owner": OWNER,
    "status": "done",
    "createdAt": "2026-12-06T10:00:00.000Z",
    "finishedAt": "2026-12-06T10:00:01.250Z",
    "updatedAt": "2026-12-06T10:00:01.250Z",
    "source": {"bytes": 123456, "format": "JPEG", "width": 4000, "height": 3000},
    "variants": [
        {
            "name": "large",
            "width": 1024,
            "height": 768,
            "sources": [
                {
                    "format": "avif",
                    "type": "image/avif",
                    "key": f"{UPLOAD_ID}/large.0123456789ab.avif",
                    "bytes": 60000,
                    "fingerprint": "0123456789ab",
                },
                {
                    "format": "jpeg",
                    "type": "image/jpeg",
                    "key": f"{UPLOAD_ID}/large.ba9876543210.jpg",
                    "bytes": 90000,
                    "fingerprint": "ba9876543210",
                },
            ],
        }
    ],
    "placeholder": {
        "thumbhash": "1QcSHQRnh493V4dIh4eXh1h4kJUI",
        "color": "#336699",
        "aspectRatio": 1.3333,
    },
    "error": None,
}


def envelope(detail: dict[str, Any]) -> dict[str, Any]:
    """The event as EventBridge delivers it (the envelope around the detail)."""
    entry = events.entry(SOURCE, BUS, detail)
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": entry["DetailType"],
        "source": SOURCE,
        "account": "123456789012",
        "time": "2026-12-06T10:00:02Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def url(key: str) -> str:
    return f"https://{OUTPUT_BUCKET}.s3.{REGION}.amazonaws.com/{key}?X-Amz-Signature=abc"


def build(record: dict[str, Any], outcome: events.Outcome) -> dict[str, Any]:
    return events.detail(record, outcome, OUTPUT_BUCKET, url, "2026-12-06T11:00:01.250Z")


def test_each_outcome_built_from_its_record_matches_the_schema() -> None:
    rejected = {
        **DONE_RECORD,
        "status": "rejected",
        "variants": [],
        "placeholder": None,
        "source": {"bytes": 10, "format": None, "width": None, "height": None},
        "error": {"code": "not_an_image", "message": "The file is not an image."},
    }
    failed = {
        **DONE_RECORD,
        "status": "failed",
        "variants": None,
        "finishedAt": None,
        "error": {"code": "processing_failed", "message": "Processing failed."},
    }
    deleted = {
        "id": UPLOAD_ID,
        "status": "deleted",
        "deletedBy": OWNER,
        "createdAt": DONE_RECORD["createdAt"],
        "deletedAt": "2026-12-06T10:05:00.000Z",
        "updatedAt": "2026-12-06T10:05:00.000Z",
    }
    for record in (DONE_RECORD, rejected, failed, deleted):
        outcome = events.outcome_of(record)
        assert outcome is not None
        received_events.validate(envelope(build(record, outcome)))
    processed = build(DONE_RECORD, events.Outcome.PROCESSED)
    sources = processed["variants"][0]["sources"]
    assert [source["format"] for source in sources] == ["avif", "jpeg"]  # preference order
    assert sources[1]["url"] == url(f"{UPLOAD_ID}/large.ba9876543210.jpg")
    assert sources[1]["fingerprint"] == "ba9876543210"
    assert processed["owner"] == OWNER
    assert processed["occurredAt"] == DONE_RECORD["finishedAt"]
    assert build(deleted, events.Outcome.DELETED)["owner"] == OWNER


def test_the_schema_refuses_what_a_consumer_could_not_act_on() -> None:
    good = envelope(build(DONE_RECORD, events.Outcome.PROCESSED))
    for breaks in (
        lambda event: event["detail"].pop("eventId"),
        lambda event: event["detail"].update(variants=[]),  # processed with nothing
        lambda event: event["detail"]["variants"][0]["sources"][0].pop("key"),
        lambda event: event["detail"]["variants"][0].update(sources=[]),
        lambda event: event["detail"].update(outcome="deleted"),  # against the detail-type
        lambda event: event["detail"].update(id="not-an-upload-id"),
        lambda event: event["detail"].update(surprise=True),
    ):
        broken = copy.deepcopy(good)
        breaks(broken)
        with pytest.raises(jsonschema.ValidationError):
            received_events.validate(broken)


def test_event_ids_are_stable_per_upload_and_outcome_and_new_for_new_outputs() -> None:
    first = build(DONE_RECORD, events.Outcome.PROCESSED)["eventId"]
    assert build(copy.deepcopy(DONE_RECORD), events.Outcome.PROCESSED)["eventId"] == first
    more = copy.deepcopy(DONE_RECORD)
    more["variants"].append({**more["variants"][0], "name": "huge"})
    more["variants"][1]["sources"] = [
        {**more["variants"][0]["sources"][1], "key": f"{UPLOAD_ID}/huge.ffffffffffff.jpg"}
    ]
    assert build(more, events.Outcome.PROCESSED)["eventId"] != first  # reprocessing: new event
    ids = {events.event_id(UPLOAD_ID, outcome) for outcome in events.Outcome}
    assert len(ids) == len(events.Outcome)


def test_a_record_from_before_fingerprints_reads_as_sizes_with_one_source() -> None:
    legacy = {
        **DONE_RECORD,
        "variants": [
            {
                "name": "large",
                "key": f"{UPLOAD_ID}/large.jpg",
                "width": 1024,
                "height": 768,
                "contentType": "image/jpeg",
                "bytes": 90000,
            }
        ],
    }
    processed = received_events.validate(envelope(build(legacy, events.Outcome.PROCESSED)))
    (source,) = processed["detail"]["variants"][0]["sources"]
    assert (source["format"], source["key"], source["fingerprint"]) == (
        "jpeg",
        f"{UPLOAD_ID}/large.jpg",
        None,
    )


def test_a_detail_over_eventbridges_limit_is_refused_before_the_call() -> None:
    huge = {
        **build(DONE_RECORD, events.Outcome.PROCESSED),
        "error": {"code": "x", "message": "m" * 300_000},
    }
    with pytest.raises(ValueError, match="over"):
        events.entry(SOURCE, BUS, huge)


class RefusingClient:
    """An events client whose every entry is refused, as PutEvents reports it (200 + count)."""

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "FailedEntryCount": 1,
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "x"}],
        }


def test_a_refused_entry_is_an_error_and_events_off_calls_nothing() -> None:
    detail = build(DONE_RECORD, events.Outcome.PROCESSED)
    with pytest.raises(event_bus.PublishError, match="InternalFailure"):
        event_bus.EventBus(RefusingClient(), event_bus.BusSettings(BUS, SOURCE)).publish(detail)
    assert event_bus.EventBus(None, event_bus.BusSettings("", SOURCE)).publish(detail) is False


# --- both handlers publishing on moto ---------------------------------------------------------


@pytest.fixture
def queue(s3: Any) -> tuple[Any, str]:
    import boto3

    client = boto3.client("events", region_name=REGION)
    client.create_event_bus(Name=BUS)
    sqs = boto3.client("sqs", region_name=REGION)
    pattern = {"source": [SOURCE]}
    return sqs, received_events.rule_to_queue(client, sqs, BUS, "all-outcomes", pattern)


EVENT_ENV = {"EVENT_BUS_NAME": BUS, "EVENT_SOURCE": SOURCE}


@pytest.fixture
def api(load_signed_in: Callable[..., ModuleType], uploads: Any, queue: Any) -> ModuleType:
    return load_signed_in(**EVENT_ENV)


@pytest.fixture
def processor(api: ModuleType, load_processor: Callable[..., ModuleType]) -> ModuleType:
    return load_processor(**EVENT_ENV)


def signed_in(api: ModuleType, context: Any, method: str, upload_id: str | None = None) -> Any:
    import json

    if upload_id is None:
        body = json.dumps({"contentType": "image/jpeg", "size": 1000, "filename": "cat.jpg"})
        event = api_event("api_post_uploads", method=method, body=body)
    else:
        event = api_event("api_get_upload", method=method, upload_id=upload_id)
    event["headers"]["Authorization"] = TOKENS.token(OWNER)
    return api.handler(event, context)


def presigned_and_put(api: ModuleType, s3: Any, context: Any, data: bytes) -> str:
    import json

    upload_id = json.loads(signed_in(api, context, "POST")["body"])["id"]
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{upload_id}", Body=data)
    return upload_id


def test_processed_then_deleted_reach_the_rule_with_everything_to_act_on(
    api, processor, s3, queue, lambda_context
) -> None:
    sqs, queue_url = queue
    upload_id = presigned_and_put(api, s3, lambda_context, factory.jpeg((640, 480)))
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    assert signed_in(api, lambda_context, "DELETE", upload_id)["statusCode"] == 204

    mine = received_events.of_upload(received_events.drain(sqs, queue_url), upload_id)
    assert [event["detail-type"] for event in mine] == ["Upload Processed", "Upload Deleted"]
    processed, deleted = (event["detail"] for event in mine)
    assert processed["owner"] == deleted["owner"] == OWNER
    assert processed["source"]["format"] == "JPEG"
    assert processed["source"]["width"] == 640
    assert [size["name"] for size in processed["variants"]] == ["large", "medium", "thumb"]
    thumb = processed["variants"][2]["sources"]
    assert [source["format"] for source in thumb] == ["webp", "jpeg"]
    keys = {output.key(upload_id) for output in processor.CONFIG.outputs}
    sources = [source for size in processed["variants"] for source in size["sources"]]
    assert {source["key"] for source in sources} == keys
    assert all(source["url"].startswith("https://") for source in sources)
    assert processed["placeholder"]["thumbhash"]
    assert processed["createdAt"] == deleted["createdAt"]


def test_a_duplicate_event_publishes_the_same_event_id_again(
    api, processor, s3, queue, lambda_context
) -> None:
    sqs, queue_url = queue
    upload_id = presigned_and_put(api, s3, lambda_context, b"not an image at all")
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)  # a duplicate delivery
    mine = received_events.of_upload(received_events.drain(sqs, queue_url), upload_id)
    assert [event["detail"]["outcome"] for event in mine] == ["rejected", "rejected"]
    assert mine[0]["detail"]["eventId"] == mine[1]["detail"]["eventId"]
    assert mine[0]["detail"]["error"]["code"] == "not_an_image"


def test_the_last_failed_attempt_publishes_failed(
    api, processor, s3, queue, lambda_context
) -> None:
    sqs, queue_url = queue
    upload_id = presigned_and_put(api, s3, lambda_context, factory.jpeg((64, 48)))

    def broken_read(*_args: Any, **_kwargs: Any) -> bytes:
        raise ConnectionError("S3 is unreachable")

    processor.STORE.read_upload = broken_read
    for _attempt in range(processor.CONFIG.processing_attempts):
        with pytest.raises(ConnectionError):
            processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    mine = received_events.of_upload(received_events.drain(sqs, queue_url), upload_id)
    assert [event["detail"]["outcome"] for event in mine] == ["failed"]
    assert mine[0]["detail"]["error"]["code"] == "processing_failed"


def test_a_publish_failure_fails_the_attempt_and_its_retry_publishes(
    api, processor, s3, queue, lambda_context
) -> None:
    sqs, queue_url = queue
    upload_id = presigned_and_put(api, s3, lambda_context, factory.jpeg((64, 48)))
    working = processor.BUS
    processor.BUS = event_bus.EventBus(RefusingClient(), working.settings)
    with pytest.raises(event_bus.PublishError):
        processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    processor.BUS = working
    retried = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    assert retried["processed"][0]["status"] == "finished"
    mine = received_events.of_upload(received_events.drain(sqs, queue_url), upload_id)
    assert [event["detail"]["outcome"] for event in mine] == ["processed"]
