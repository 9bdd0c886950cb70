"""A DELETE racing the processor, interleaved deterministically on moto (issue 20).

Each test runs the real API handler (signed in) and the real processor handler against one moto
S3 and DynamoDB, and performs the DELETE from a hook placed at one exact step of the
processor's work. Whatever the order, after the 204 nothing of the upload remains: no
original, no variant, no manifest, and the record is a tombstone that no processor update
brings back; the processor's invocation succeeds (no retry, no dead letter).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from support import images as factory
from support.lambda_env import OUTPUT_BUCKET, UPLOAD_BUCKET
from support.lambda_events import api_event, s3_event
from support.tokens import TokenFactory

OWNER = "0b4f8f64-1111-4a1a-9a1a-aaaaaaaaaaaa"
TOKENS = TokenFactory()


@pytest.fixture
def api(load_signed_in: Callable[..., ModuleType], uploads: Any) -> ModuleType:
    return load_signed_in()


@pytest.fixture
def processor(api: ModuleType, load_processor: Callable[..., ModuleType]) -> ModuleType:
    return load_processor()


def call(api: ModuleType, context: Any, method: str, upload_id: str | None = None) -> Any:
    if upload_id is None:
        body = json.dumps({"contentType": "image/jpeg", "size": 1000, "filename": "cat.jpg"})
        event = api_event("api_post_uploads", method=method, body=body)
    else:
        event = api_event("api_get_upload", method=method, upload_id=upload_id)
    event["headers"]["Authorization"] = TOKENS.token(OWNER)
    response = api.handler(event, context)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def granted_and_put(api: ModuleType, s3: Any, context: Any) -> str:
    """POST /uploads, then the PUT the presigned URL allows."""
    status, body = call(api, context, "POST")
    assert status == 201
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{body['id']}", Body=factory.jpeg((640, 480)))
    return body["id"]


def delete(api: ModuleType, context: Any, upload_id: str) -> None:
    assert call(api, context, "DELETE", upload_id) == (204, None)


def nothing_left(s3: Any, uploads: Any, upload_id: str) -> None:
    assert "Contents" not in s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix=f"{upload_id}/")
    assert "Contents" not in s3.list_objects_v2(Bucket=UPLOAD_BUCKET, Prefix=f"uploads/{upload_id}")
    assert uploads.get(upload_id)["status"] == "deleted"


def before(target: Any, name: str, hook: Callable[[], None]) -> None:
    """Run ``hook`` just before ``target.name`` (a step of the processor)."""
    original = getattr(target, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        hook()
        return original(*args, **kwargs)

    setattr(target, name, wrapped)


def erased_event(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return next(line for line in lines if line.get("event") == "deleted_upload_erased")


@pytest.mark.parametrize("step", ["store_variants", "store_manifest"])
def test_delete_while_the_processor_works(
    api, processor, s3, uploads, lambda_context, capsys, step
) -> None:
    """204 first, then the processor writes outputs: its finish is refused by the tombstone,
    and it erases what it wrote and the original."""
    upload_id = granted_and_put(api, s3, lambda_context)
    before(processor.STORE, step, lambda: delete(api, lambda_context, upload_id))

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "deleted"
    nothing_left(s3, uploads, upload_id)
    assert erased_event(capsys)["refused_at"] == "finish"


def test_delete_between_the_processors_read_and_its_start(
    api, processor, s3, uploads, lambda_context, capsys
) -> None:
    """The start is refused (no record re-created as anonymous `processing`): erased, done."""
    upload_id = granted_and_put(api, s3, lambda_context)
    before(processor, "begin", lambda: delete(api, lambda_context, upload_id))

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "deleted"
    nothing_left(s3, uploads, upload_id)
    assert "owner" not in uploads.get(upload_id)
    assert erased_event(capsys)["refused_at"] == "start"


def test_delete_while_the_processor_reads_the_original(
    api, processor, s3, uploads, lambda_context, capsys
) -> None:
    """The original disappears under the read (NoSuchKey): not a failure to retry into the
    dead-letter queue, but a deleted upload."""
    upload_id = granted_and_put(api, s3, lambda_context)
    before(processor.STORE, "read_upload", lambda: delete(api, lambda_context, upload_id))

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "deleted"
    nothing_left(s3, uploads, upload_id)
    assert uploads.get(upload_id).get("failedAttempts", 0) == 0
    assert erased_event(capsys)["refused_at"] == "failed_attempt"


def test_a_put_after_the_delete_is_erased(api, processor, s3, uploads, lambda_context) -> None:
    """The presigned URL is still valid after the DELETE: the late original is erased."""
    _status, body = call(api, lambda_context, "POST")
    upload_id = body["id"]
    delete(api, lambda_context, upload_id)
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{upload_id}", Body=factory.jpeg((64, 48)))

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "deleted"
    nothing_left(s3, uploads, upload_id)


def test_a_retry_after_a_killed_late_writer_erases_its_outputs(
    api, processor, s3, uploads, lambda_context
) -> None:
    """An attempt killed (timeout) after writing a variant past the API's erasure leaves it
    behind; the retry finds the original gone and the tombstone, and erases the rest."""
    upload_id = granted_and_put(api, s3, lambda_context)
    delete(api, lambda_context, upload_id)
    late_key = processor.CONFIG.outputs[0].key(upload_id)  # the key that attempt wrote
    s3.put_object(Bucket=OUTPUT_BUCKET, Key=late_key, Body=b"late")

    result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)

    assert result["processed"][0]["status"] == "deleted"
    nothing_left(s3, uploads, upload_id)


def test_a_delete_after_the_finish_leaves_nothing(
    api, processor, s3, uploads, lambda_context
) -> None:
    upload_id = granted_and_put(api, s3, lambda_context)
    first = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    assert first["processed"][0]["status"] == "done"
    delete(api, lambda_context, upload_id)
    nothing_left(s3, uploads, upload_id)
    again = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)  # duplicate
    assert again["processed"][0]["status"] == "deleted"
    nothing_left(s3, uploads, upload_id)
