"""tools/replay_dead_letters.py in-process: the queue is moto's SQS, the processor a fake.

The emulator test (test_dead_letters.py) replays real dead letters; these tests pin down the
rules on every kind of message: what is replayed, what is skipped, that a message is deleted
only after a successful invocation, and that ``--dry-run``, ``--max`` and ``--upload-id`` hold.
"""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from support.pipeline import new_upload_id, s3_event
from tools import replay_dead_letters as replay

pytestmark = pytest.mark.unit

UPLOAD_BUCKET = "sip-uploads-test"
FUNCTION = "sip-processor"


def dead_letter(event: Any) -> str:
    return json.dumps(
        {
            "version": "1.0",
            "requestContext": {"condition": "RetriesExhausted", "approximateInvokeCount": 3},
            "requestPayload": event,
            "responsePayload": {"errorType": "ClientError"},
        }
    )


class FakeProcessor:
    """Records invocations; fails for the keys in ``failing``."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.events: list[dict[str, Any]] = []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict[str, Any]:
        assert (FunctionName, InvocationType) == (FUNCTION, "RequestResponse")
        event = json.loads(Payload)
        self.events.append(event)
        key = event["Records"][0]["s3"]["object"]["key"]
        if key in self.failing:
            body = {"errorType": "ClientError", "errorMessage": "still broken"}
            return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": _stream(body)}
        return {"StatusCode": 200, "Payload": _stream({"processed": [], "ignored": 0})}


def _stream(document: Any) -> io.BytesIO:
    return io.BytesIO(json.dumps(document).encode())


@pytest.fixture
def sqs(monkeypatch):
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.client("sqs", region_name="us-east-1")


@pytest.fixture
def queue_url(sqs) -> str:
    return sqs.create_queue(QueueName="sip-processor-dlq")["QueueUrl"]


def send(sqs, queue_url: str, body: str) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)


def remaining(sqs, queue_url: str) -> list[str]:
    messages = sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
    ).get("Messages", [])
    return [message["Body"] for message in messages]


def upload_letter(upload_id: str | None = None, bucket: str = UPLOAD_BUCKET) -> tuple[str, str]:
    key = f"uploads/{upload_id or new_upload_id()}"
    return key, dead_letter(s3_event(bucket, key))


def run(sqs, queue_url, processor, **options) -> list[replay.Outcome]:
    return replay.replay(
        sqs, processor, queue_url, FUNCTION, UPLOAD_BUCKET, say=lambda line: None, **options
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        (json.dumps([1, 2]), "no requestPayload"),
        (json.dumps({"requestPayload": "x"}), "no requestPayload"),
        (dead_letter({"Records": []}), "not an S3 event"),
        (dead_letter({"detail": {}}), "not an S3 event"),
        (dead_letter({"Records": [{"eventSource": "aws:s3"}]}), "not an S3 event record"),
        (
            dead_letter(
                {
                    "Records": [
                        {
                            **s3_event(UPLOAD_BUCKET, "uploads/x")["Records"][0],
                            "eventName": "ObjectRemoved:Delete",
                        }
                    ]
                }
            ),
            "not an S3 ObjectCreated event",
        ),
        (
            dead_letter(
                {
                    "Records": [
                        {**s3_event(UPLOAD_BUCKET, "k")["Records"][0], "eventSource": "aws:sqs"}
                    ]
                }
            ),
            "not an S3 ObjectCreated event",
        ),
        (upload_letter(bucket="another-bucket")[1], "not the upload bucket"),
        (
            dead_letter(
                {
                    "Records": s3_event(UPLOAD_BUCKET, "uploads/a")["Records"]
                    + s3_event("another-bucket", "uploads/b")["Records"]
                }
            ),
            "not the upload bucket",
        ),
    ],
)
def test_classify_refuses_everything_but_upload_events(body, reason):
    decision = replay.classify(body, UPLOAD_BUCKET)

    assert decision.event is None
    assert reason in decision.reason


def test_classify_returns_the_original_event():
    key, body = upload_letter()

    decision = replay.classify(body, UPLOAD_BUCKET)

    assert decision.event == s3_event(UPLOAD_BUCKET, key)
    assert decision.keys == (key,)


def test_replays_upload_events_and_deletes_them_after_success(sqs, queue_url):
    keys = []
    for _ in range(3):
        key, body = upload_letter()
        keys.append(key)
        send(sqs, queue_url, body)
    processor = FakeProcessor()

    outcomes = run(sqs, queue_url, processor)

    assert sorted(outcome.action for outcome in outcomes) == ["replayed"] * 3
    assert sorted(e["Records"][0]["s3"]["object"]["key"] for e in processor.events) == sorted(keys)
    assert remaining(sqs, queue_url) == []


def test_a_failed_replay_keeps_the_message_visible(sqs, queue_url):
    broken_key, broken = upload_letter()
    _, fine = upload_letter()
    send(sqs, queue_url, broken)
    send(sqs, queue_url, fine)

    outcomes = run(sqs, queue_url, FakeProcessor(failing={broken_key}))

    assert sorted(outcome.action for outcome in outcomes) == ["failed", "replayed"]
    failed = next(outcome for outcome in outcomes if outcome.action == "failed")
    assert "still broken" in failed.detail
    assert remaining(sqs, queue_url) == [broken]  # visible again at once, not after 15 min


def test_skipped_messages_are_never_invoked_nor_deleted(sqs, queue_url):
    bodies = ["not json", upload_letter(bucket="another-bucket")[1]]
    for body in bodies:
        send(sqs, queue_url, body)
    processor = FakeProcessor()

    outcomes = run(sqs, queue_url, processor)

    assert [outcome.action for outcome in outcomes] == ["skipped", "skipped"]
    assert processor.events == []
    assert sorted(remaining(sqs, queue_url)) == sorted(bodies)


def test_dry_run_invokes_and_deletes_nothing(sqs, queue_url):
    _, body = upload_letter()
    send(sqs, queue_url, body)
    processor = FakeProcessor()

    outcomes = run(sqs, queue_url, processor, dry_run=True)

    assert [outcome.action for outcome in outcomes] == ["would-replay"]
    assert processor.events == []
    assert remaining(sqs, queue_url) == [body]


def test_max_limits_the_messages_acted_on(sqs, queue_url):
    for _ in range(5):
        send(sqs, queue_url, upload_letter()[1])
    processor = FakeProcessor()

    outcomes = run(sqs, queue_url, processor, maximum=2)

    assert [outcome.action for outcome in outcomes] == ["replayed", "replayed"]
    assert len(processor.events) == 2
    assert len(remaining(sqs, queue_url)) == 3


def test_upload_id_selects_the_letters_to_replay(sqs, queue_url):
    wanted = new_upload_id()
    _, wanted_body = upload_letter(wanted)
    _, other_body = upload_letter()
    send(sqs, queue_url, wanted_body)
    send(sqs, queue_url, other_body)
    processor = FakeProcessor()

    outcomes = run(sqs, queue_url, processor, only_ids={wanted})

    acted = [outcome for outcome in outcomes if outcome.action != "filtered"]
    assert [outcome.action for outcome in acted] == ["replayed"]
    assert acted[0].keys == (f"uploads/{wanted}",)
    assert remaining(sqs, queue_url) == [other_body]


def test_an_empty_queue_is_a_success(sqs, queue_url, monkeypatch, capsys):
    monkeypatch.setattr(replay.stack_access, "aws_client", lambda service, endpoint, **_: sqs)
    code = replay.main(
        ["--queue-url", queue_url, "--function-name", FUNCTION, "--upload-bucket", UPLOAD_BUCKET]
    )

    assert code == 0
    assert "queue empty" in capsys.readouterr().out
