"""Processor handler end to end on moto S3: outputs, manifest, rejections, idempotency, logs."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from PIL import Image

from processor.storage import S3Storage
from support import images as factory
from support.lambda_env import OUTPUT_BUCKET, UPLOAD_BUCKET
from support.lambda_events import s3_event

IMMUTABLE = "public, max-age=31536000, immutable"


def new_id() -> str:
    return str(uuid.uuid4())


def upload(s3: Any, data: bytes, upload_id: str | None = None, prefix: str = "uploads/") -> str:
    upload_id = upload_id or new_id()
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"{prefix}{upload_id}", Body=data)
    return upload_id


def output_keys(s3: Any) -> list[str]:
    listing = s3.list_objects_v2(Bucket=OUTPUT_BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def read_manifest(s3: Any, upload_id: str) -> dict[str, Any]:
    body = s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"{upload_id}/manifest.json")["Body"].read()
    return json.loads(body)


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


class RecordingS3:
    """Wraps the handler's client to record the calls it makes, in order."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            return method(**kwargs)

        return call


def test_image_produces_variants_then_manifest(s3, processor, lambda_context, capsys) -> None:
    upload_id = upload(s3, factory.gps_exif_jpeg((2000, 1500)))
    recorder = RecordingS3(processor.S3)
    processor.STORE = S3Storage(recorder, processor.CONFIG.output_bucket)

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"] == [{"upload_id": upload_id, "status": "done", "error_code": None}]
    # <id>/<size>.<fingerprint>.<ext>: the fingerprint of the rule that made the bytes
    assert output_keys(s3) == sorted(
        [output.key(upload_id) for output in processor.CONFIG.outputs]
        + [f"{upload_id}/manifest.json"]
    )
    assert [
        re.fullmatch(rf"{upload_id}/([a-z]+)\.[0-9a-f]{{12}}\.([a-z]+)", key).groups()  # type: ignore[union-attr]
        for key in (output.key(upload_id) for output in processor.CONFIG.outputs)
    ] == [("large", "jpg"), ("medium", "jpg"), ("thumb", "webp"), ("thumb", "jpg")]
    puts = [kwargs["Key"] for name, kwargs in recorder.calls if name == "put_object"]
    assert puts[-1] == f"{upload_id}/manifest.json", "manifest must be written last"
    assert all(
        kwargs["Bucket"] == OUTPUT_BUCKET for name, kwargs in recorder.calls if name == "put_object"
    )

    manifest = read_manifest(s3, upload_id)
    assert manifest["id"] == upload_id
    assert manifest["status"] == "done"
    assert manifest["error"] is None
    assert manifest["source"] == {
        "key": f"uploads/{upload_id}",
        "bytes": s3.head_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{upload_id}")["ContentLength"],
        "format": "JPEG",
        "width": 2000,
        "height": 1500,
        "animation": None,
    }
    expected = {
        "large": (1024, 768, ["image/jpeg"]),
        "medium": (512, 384, ["image/jpeg"]),
        "thumb": (128, 96, ["image/webp", "image/jpeg"]),  # preference order
    }
    assert [variant["name"] for variant in manifest["variants"]] == ["large", "medium", "thumb"]
    fingerprints = {(o.size, o.format): o.fingerprint for o in processor.CONFIG.outputs}
    for variant in manifest["variants"]:
        width, height, types = expected[variant["name"]]
        assert (variant["width"], variant["height"]) == (width, height)
        assert [source["type"] for source in variant["sources"]] == types
        for source in variant["sources"]:
            assert source["fingerprint"] == fingerprints[variant["name"], source["format"]]
            assert source["fingerprint"] in source["key"]
            stored = s3.get_object(Bucket=OUTPUT_BUCKET, Key=source["key"])
            assert stored["ContentType"] == source["type"]
            assert stored["CacheControl"] == IMMUTABLE
            assert stored["ContentLength"] == source["bytes"]
            with Image.open(stored["Body"]) as image:
                assert image.size == (width, height)
    stored_manifest = s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"{upload_id}/manifest.json")
    assert stored_manifest["ContentType"] == "application/json"

    lines = log_lines(capsys)
    done = next(line for line in lines if line["message"] == "upload processed")
    assert done["level"] == "INFO"
    assert done["request_id"] == lambda_context.aws_request_id
    assert done["upload_id"] == upload_id
    assert {"head", "get", "decode", "resize", "encode", "put"} <= set(done["timings_ms"])
    assert set(done["output_bytes"]) == {"large.jpeg", "medium.jpeg", "thumb.webp", "thumb.jpeg"}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (factory.text_file(), "not_an_image"),
        (factory.truncated_jpeg(), "truncated_image"),
        (factory.png_bomb(), "too_many_pixels"),
        (factory.bmp(), "unsupported_format"),
    ],
    ids=["text", "truncated", "bomb", "bmp"],
)
def test_bad_image_writes_a_rejected_manifest_and_returns(
    s3, processor, lambda_context, data, code
) -> None:
    upload_id = upload(s3, data)

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "rejected"
    assert output_keys(s3) == [f"{upload_id}/manifest.json"]
    manifest = read_manifest(s3, upload_id)
    assert manifest["status"] == "rejected"
    assert manifest["variants"] == []
    assert manifest["error"]["code"] == code
    assert manifest["error"]["message"]
    assert manifest["source"]["key"] == f"uploads/{upload_id}"
    assert manifest["source"]["bytes"] == len(data)


@pytest.mark.parametrize(
    ("data", "code", "max_bytes"),
    [(b"", "empty_file", "1000"), (b"x" * 2000, "too_large", "1000")],
    ids=["empty", "too-large"],
)
def test_size_rejections_never_read_the_object(
    s3, load_processor, lambda_context, data, code, max_bytes
) -> None:
    processor = load_processor(MAX_UPLOAD_BYTES=max_bytes)
    recorder = RecordingS3(processor.S3)
    processor.STORE = S3Storage(recorder, processor.CONFIG.output_bucket)
    upload_id = upload(s3, data)

    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert read_manifest(s3, upload_id)["error"]["code"] == code
    assert "get_object" not in [name for name, _ in recorder.calls]


# One variant of every output format, so reprocessing is checked for each encoder.
EVERY_FORMAT_VARIANTS = json.dumps(
    [
        {"name": "large", "max_edge": 640, "formats": [{"format": "jpeg", "quality": 85}]},
        {"name": "web", "max_edge": 480, "formats": [{"format": "webp", "quality": 80}]},
        {"name": "lossless", "max_edge": 320, "formats": [{"format": "png"}]},
        {"name": "modern", "max_edge": 400, "formats": [{"format": "avif", "quality": 60}]},
    ]
)


def test_processing_twice_is_idempotent(s3, load_processor, lambda_context) -> None:
    """A second delivery really processes the original again (its record back in
    ``processing``, every output removed) and writes byte-identical objects in every format."""
    import boto3

    processor = load_processor(VARIANTS=EVERY_FORMAT_VARIANTS)
    upload_id = upload(s3, factory.photo_bytes((900, 600), "PNG"))
    event = s3_event(f"uploads/{upload_id}")

    processor.handler(event, lambda_context)
    first = {
        key: s3.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read() for key in output_keys(s3)
    }
    for key in first:
        s3.delete_object(Bucket=OUTPUT_BUCKET, Key=key)
    boto3.client("dynamodb", region_name="us-east-1").update_item(
        TableName=processor.CONFIG.uploads_table,
        Key={"id": {"S": upload_id}},
        UpdateExpression="SET #status = :processing",
        ExpressionAttributeNames={"#status": "status"},
        ExpressionAttributeValues={":processing": {"S": "processing"}},
    )
    result = processor.handler(event, lambda_context)
    second = {
        key: s3.get_object(Bucket=OUTPUT_BUCKET, Key=key)["Body"].read() for key in output_keys(s3)
    }

    assert result["processed"] == [{"upload_id": upload_id, "status": "done", "error_code": None}]
    assert sorted(first) == sorted(
        [output.key(upload_id) for output in processor.CONFIG.outputs]
        + [f"{upload_id}/manifest.json"]
    )
    assert len(first) == 5
    assert first == second


def test_duplicate_records_in_one_event_are_processed_once(s3, processor, lambda_context) -> None:
    upload_id = upload(s3, factory.jpeg((100, 80)))
    result = processor.handler(
        s3_event(f"uploads/{upload_id}", f"uploads/{upload_id}"), lambda_context
    )
    assert len(result["processed"]) == 1


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("other/{id}", "outside_prefix"),
        ("uploads/not-a-uuid", "not_an_upload_id"),
        ("uploads/{id}/nested", "not_an_upload_id"),
        ("uploads/{ID}", "not_an_upload_id"),
    ],
)
def test_keys_that_are_not_uploads_are_ignored_and_logged(
    s3, processor, lambda_context, capsys, key, reason
) -> None:
    upload_id = new_id()
    key = key.format(id=upload_id, ID=upload_id.upper())
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=key, Body=factory.jpeg((40, 30)))

    result = processor.handler(s3_event(key), lambda_context)

    assert result == {"processed": [], "ignored": 1}
    assert output_keys(s3) == []
    ignored = [line for line in log_lines(capsys) if line["message"] == "record ignored"]
    assert ignored
    assert ignored[0]["reason"] == reason
    assert ignored[0]["key"] == key


def test_url_encoded_keys_are_decoded(s3, load_processor, lambda_context) -> None:
    processor = load_processor(UPLOAD_PREFIX="incoming files/")
    upload_id = upload(s3, factory.jpeg((100, 80)), prefix="incoming files/")

    processor.handler(s3_event(f"incoming+files/{upload_id}"), lambda_context)

    assert read_manifest(s3, upload_id)["source"]["key"] == f"incoming files/{upload_id}"


def test_event_for_a_deleted_object_is_skipped(s3, processor, lambda_context) -> None:
    upload_id = new_id()
    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    assert result["processed"][0]["status"] == "missing"
    assert output_keys(s3) == []


def test_non_s3_events_are_ignored(processor, lambda_context) -> None:
    assert processor.handler({"Event": "s3:TestEvent"}, lambda_context)["ignored"] == 1


def test_s3_failure_is_logged_and_raised_for_retry(s3, processor, lambda_context, capsys) -> None:
    upload_id = upload(s3, factory.jpeg((100, 80)))
    s3.delete_bucket(Bucket=OUTPUT_BUCKET)

    with pytest.raises(ClientError):
        processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    failure = next(line for line in log_lines(capsys) if line["level"] == "ERROR")
    assert failure["upload_id"] == upload_id
    assert failure["exception"] in ("ClientError", "NoSuchBucket")
    assert "NoSuchBucket" in failure["traceback"]


def test_failed_attempts_are_counted_then_the_record_says_failed(
    s3, uploads, processor, lambda_context
) -> None:
    upload_id = upload(s3, factory.jpeg((100, 80)))
    failing = RecordingS3(processor.S3)
    read = failing.get_object

    def get_object(**kwargs: Any) -> Any:
        if kwargs["Bucket"] == UPLOAD_BUCKET:
            raise ClientError({"Error": {"Code": "InvalidObjectState"}}, "GetObject")
        return read(**kwargs)

    failing.get_object = get_object  # type: ignore[method-assign]
    processor.STORE = S3Storage(failing, processor.CONFIG.output_bucket)
    for attempt in (1, 2, 3):
        with pytest.raises(ClientError):
            processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
        assert uploads.get(upload_id)["failedAttempts"] == attempt
    item = uploads.get(upload_id)
    assert (item["status"], item["error"]["code"]) == ("failed", "processing_failed")
    assert item["lastError"] == "ClientError"
    assert output_keys(s3) == []  # no manifest, no variant


def test_the_record_follows_the_upload_to_done(s3, uploads, processor, lambda_context) -> None:
    upload_id = upload(s3, factory.jpeg((2000, 1500)))
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    item = uploads.get(upload_id)
    assert item["status"] == "done"
    assert [v["name"] for v in item["variants"]] == ["large", "medium", "thumb"]
    assert (item["source"]["width"], item["source"]["height"]) == (2000, 1500)
    assert item["processingMs"] >= 0
    assert "owner" not in item  # written straight into the bucket: no owner (sparse index)


def test_a_late_duplicate_event_changes_nothing(s3, uploads, processor, lambda_context) -> None:
    upload_id = upload(s3, factory.jpeg((300, 200)))
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    before = {key: s3.head_object(Bucket=OUTPUT_BUCKET, Key=key)["ETag"] for key in output_keys(s3)}
    record = uploads.get(upload_id)

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "finished"
    assert uploads.get(upload_id) == record
    after = {key: s3.head_object(Bucket=OUTPUT_BUCKET, Key=key)["ETag"] for key in output_keys(s3)}
    assert after == before


def test_a_rejected_image_is_recorded_with_its_code(s3, uploads, processor, lambda_context) -> None:
    upload_id = upload(s3, b"<html>not an image</html>")
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    item = uploads.get(upload_id)
    assert (item["status"], item["error"]["code"]) == ("rejected", "not_an_image")


def test_never_writes_to_the_upload_bucket(s3, processor, lambda_context) -> None:
    upload_id = upload(s3, factory.jpeg((300, 200)))
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=UPLOAD_BUCKET)["Contents"]]
    assert keys == [f"uploads/{upload_id}"]


def test_variants_come_from_configuration(s3, load_processor, lambda_context) -> None:
    processor = load_processor(
        VARIANTS='[{"name": "only", "max_edge": 64, "formats": [{"format": "png"}]}]',
        ALLOWED_FORMATS="PNG",
    )
    good = upload(s3, factory.greyscale_png((300, 100)))
    jpeg = upload(s3, factory.jpeg((300, 100)))

    processor.handler(s3_event(f"uploads/{good}", f"uploads/{jpeg}"), lambda_context)

    assert [(v["name"], v["width"], v["height"]) for v in read_manifest(s3, good)["variants"]] == [
        ("only", 64, 21)
    ]
    assert read_manifest(s3, jpeg)["error"]["code"] == "unsupported_format"


def fail_reads(processor: Any) -> None:
    """Every read of an original fails (an S3 error, not the image): retried, then failed."""
    failing = RecordingS3(processor.S3)
    read = failing.get_object

    def get_object(**kwargs: Any) -> Any:
        if kwargs["Bucket"] == UPLOAD_BUCKET:
            raise ClientError({"Error": {"Code": "InvalidObjectState"}}, "GetObject")
        return read(**kwargs)

    failing.get_object = get_object  # type: ignore[method-assign]
    processor.STORE = S3Storage(failing, processor.CONFIG.output_bucket)


def given_up(s3: Any, uploads: Any, processor: Any, lambda_context: Any) -> str:
    upload_id = upload(s3, factory.jpeg((300, 200)))
    fail_reads(processor)
    for _ in range(3):
        with pytest.raises(ClientError):
            processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    assert uploads.get(upload_id)["status"] == "failed"
    processor.STORE = S3Storage(processor.S3, processor.CONFIG.output_bucket)  # the cause fixed
    return upload_id


def test_a_replay_reads_processing_while_it_runs_then_done(
    s3, uploads, processor, lambda_context
) -> None:
    """The replay starts a new attempt epoch: the status API says processing, not failed."""
    from api.core import RetryPolicy, record_status_body

    upload_id = given_up(s3, uploads, processor, lambda_context)
    seen: list[dict[str, Any]] = []
    store = processor.STORE.store_variants

    def store_variants(*args: Any) -> None:
        item = uploads.get(upload_id)
        seen.append(record_status_body(item, datetime.now(UTC), RetryPolicy(3, 420), 60, str))
        store(*args)

    processor.STORE.store_variants = store_variants
    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "done"
    assert [(body["status"], body["error"]) for body in seen] == [("processing", None)]
    item = uploads.get(upload_id)
    assert (item["status"], item["replays"], item["error"]) == ("done", 1, None)


def test_a_failed_replay_leaves_the_upload_failed_again(
    s3, uploads, processor, lambda_context
) -> None:
    upload_id = given_up(s3, uploads, processor, lambda_context)
    fail_reads(processor)  # the cause is not fixed yet
    with pytest.raises(ClientError):
        processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    item = uploads.get(upload_id)
    assert (item["status"], item["failedAttempts"], item["replays"]) == ("failed", 3, 1)


def test_a_success_after_the_give_up_finishes_the_record(
    s3, uploads, processor, lambda_context
) -> None:
    """A slow attempt started before the last one gave up: its success ends the upload done
    (not `failed` beside a done manifest)."""
    upload_id = upload(s3, factory.jpeg((300, 200)))
    give_up = records_give_up(uploads, upload_id)
    processor.STORE.store_manifest = after(processor.STORE.store_manifest, give_up)

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "done"
    assert uploads.get(upload_id)["status"] == "done"
    assert read_manifest(s3, upload_id)["status"] == "done"


def records_give_up(uploads: Any, upload_id: str) -> Any:
    """What the other attempts do meanwhile: fail three times and give up."""
    from common import records

    def run() -> None:
        now = datetime.now(UTC)
        for _ in range(3):
            uploads.update(records.failed_attempt_update(upload_id, now, "TimeoutError"))
        assert uploads.update(records.give_up_update(upload_id, now)) is not None

    return run


def after(step: Any, hook: Any) -> Any:
    def wrapped(*args: Any) -> Any:
        answer = step(*args)
        hook()
        return answer

    return wrapped
