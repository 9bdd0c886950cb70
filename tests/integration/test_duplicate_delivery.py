"""Duplicate delivery of one S3 event: the deployed processor changes nothing.

S3 delivers notifications at least once and Lambda retries asynchronous invocations, so the
processor must be idempotent. The same event is delivered again by invoking the deployed
function with boto3: twice in a row, then twice at the same moment. The upload's record says
it is done, so the conditional start refuses each duplicate ("finished"): every output object
keeps its bytes, ETag and Content-Type, the manifest is byte-identical, no object is added, and
the original is untouched. (Duplicates that arrive while the first attempt is still running
both process; outputs are deterministic and only the first finish is recorded: unit-tested in
test_records.py.)
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from support import images
from support.pipeline import output_objects, s3_event

pytestmark = pytest.mark.integration


def photo(width: int = 1600, height: int = 1200) -> bytes:
    return images.photo_bytes((width, height))


def invoke(lambda_client, function_name: str, event: dict[str, Any]) -> dict[str, Any]:
    response = lambda_client.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    return payload


def comparable(objects: dict[str, dict[str, Any]]) -> dict[str, tuple[bytes, str, str | None]]:
    return {
        key: (item["body"], item["etag"], item["content_type"]) for key, item in objects.items()
    }


@pytest.fixture(scope="module")
def processed(api, s3, local_stack_outputs) -> dict[str, Any]:
    """One real upload through the API, processed once by its own S3 notification."""
    data = photo()
    upload_id = api.upload(data, "image/jpeg", "duplicate.jpg")
    assert api.wait_for_final(upload_id)["status"] == "done"
    key = f"uploads/{upload_id}"
    bucket = local_stack_outputs["upload_bucket"]
    head = s3.head_object(Bucket=bucket, Key=key)
    return {
        "id": upload_id,
        "event": s3_event(bucket, key, len(data), head["ETag"].strip('"')),
        "original_etag": head["ETag"],
        "outputs": output_objects(s3, local_stack_outputs["output_bucket"], upload_id),
    }


def test_the_first_delivery_wrote_variants_and_a_manifest(processed):
    keys = set(processed["outputs"])
    manifest = json.loads(processed["outputs"][f"{processed['id']}/manifest.json"]["body"])

    assert keys == {f"{processed['id']}/manifest.json"} | {
        s["key"] for v in manifest["variants"] for s in v["sources"]
    }
    assert manifest["status"] == "done"


def test_sequential_redelivery_changes_nothing(processed, lambda_client, s3, local_stack_outputs):
    function = local_stack_outputs["processor_function_name"]
    for _ in range(2):
        answer = invoke(lambda_client, function, processed["event"])
        # the record says done: the duplicate is recognised and does no work at all
        assert answer["processed"] == [
            {"upload_id": processed["id"], "status": "finished", "error_code": None}
        ]
        again = output_objects(s3, local_stack_outputs["output_bucket"], processed["id"])
        assert comparable(again) == comparable(processed["outputs"])


def test_concurrent_redelivery_changes_nothing(processed, lambda_client, s3, local_stack_outputs):
    function = local_stack_outputs["processor_function_name"]
    answers: list[dict[str, Any]] = []
    start = threading.Barrier(2)

    def deliver() -> None:
        start.wait()
        answers.append(invoke(lambda_client, function, processed["event"]))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer["processed"][0]["status"] for answer in answers] == ["finished", "finished"]
    again = output_objects(s3, local_stack_outputs["output_bucket"], processed["id"])
    assert comparable(again) == comparable(processed["outputs"])


def test_one_event_listing_the_same_object_twice_is_processed_once(
    processed, lambda_client, local_stack_outputs
):
    event = processed["event"]
    doubled = {"Records": event["Records"] * 2}

    answer = invoke(lambda_client, local_stack_outputs["processor_function_name"], doubled)

    assert [item["upload_id"] for item in answer["processed"]] == [processed["id"]]


def test_redelivery_never_touches_the_original(processed, s3, local_stack_outputs):
    head = s3.head_object(
        Bucket=local_stack_outputs["upload_bucket"], Key=f"uploads/{processed['id']}"
    )

    assert head["ETag"] == processed["original_etag"]
