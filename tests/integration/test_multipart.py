"""The multipart path on the local stack (LocalStack's S3 with signature validation, the API
behind API Gateway, the processor on the S3 event): parts are bound to number, size and
checksum by S3 itself; completion checks S3's part list against the grants, once."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from PIL import Image

from tools.stack_access import ApiClient, sha256_b64

pytestmark = pytest.mark.integration

THRESHOLD = 16 * 1024 * 1024  # variables.tf: multipart_threshold_bytes
PART = 8 * 1024 * 1024  # rules.json: multipart.part_bytes


@pytest.fixture(scope="module")
def photo() -> bytes:
    """A 15.6 MP noisy JPEG (about 17 MiB: three parts of 8, 8 and about 1 MiB)."""
    image = Image.frombytes("RGB", (3000, 5200), os.urandom(3000 * 5200 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    assert THRESHOLD < len(data) <= 3 * PART
    return data


def start(api: ApiClient, data: bytes) -> dict[str, Any]:
    created = api.create_upload("image/jpeg", len(data), "pano.jpg")
    assert created.status_code == 201, created.text
    grant = created.json()
    assert grant["method"] == "MULTIPART"
    assert grant["multipart"] == {"partSize": PART, "partCount": 3, "size": len(data)}
    return grant


def chunk(data: bytes, number: int) -> bytes:
    return data[(number - 1) * PART : number * PART]


def grant_one(api: ApiClient, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
    part = chunk(data, number)
    answer = api.grant_parts(
        upload_id, [{"partNumber": number, "size": len(part), "sha256": sha256_b64(part)}]
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["parts"][0]


def held(api: ApiClient, upload_id: str) -> list[int]:
    answer = api.list_parts(upload_id)
    assert answer.status_code == 200, answer.text
    return [part["partNumber"] for part in answer.json()["parts"]]


def test_resume_sends_only_the_missing_part_and_the_upload_ends_done(api, photo, s3, outputs):
    upload_id = start(api, photo)["id"]
    first = api.send_parts(upload_id, photo, PART, [1, 3])  # then the connection is lost
    assert [answer.status_code for answer in first] == [200, 200]

    assert held(api, upload_id) == [1, 3]  # "the API is asked again" after a reload
    status = api.status(upload_id).json()
    assert status["status"] == "processing"
    assert status["parts"] == {"granted": 2, "count": 3, "phase": "open"}
    early = api.complete(upload_id)
    assert (early.status_code, early.json()["error"]) == (409, "parts_missing")

    (rest,) = api.send_parts(upload_id, photo, PART, [2])
    assert rest.status_code == 200, rest.text
    completed = api.complete(upload_id)
    assert completed.status_code == 200, completed.text
    stored = s3.get_object(Bucket=outputs["upload_bucket"], Key=f"uploads/{upload_id}")
    assert stored["Body"].read() == photo

    again = api.complete(upload_id)
    assert (again.status_code, again.json()["error"]) == (409, "already_completed")
    final = api.wait_for_final(upload_id, timeout=120)
    assert final["status"] == "done", final
    assert final["variants"]


def test_a_part_with_a_wrong_checksum_is_refused_by_s3_and_not_stored(api, photo):
    upload_id = start(api, photo)["id"]
    part = grant_one(api, upload_id, 1, photo)
    other = bytes(len(chunk(photo, 1)))  # same size, other bytes, the granted checksum header
    refused = api.put_part(part, other)
    assert refused.status_code == 400, refused.text
    assert "BadDigest" in refused.text
    unsigned = api.put_part(
        {**part, "headers": {"x-amz-checksum-sha256": sha256_b64(other)}}, other
    )
    assert unsigned.status_code == 403, unsigned.text  # the checksum is part of the signature
    assert held(api, upload_id) == []
    assert api.abort(upload_id).status_code == 204


def test_a_part_the_api_did_not_grant_refuses_the_completion(api, photo, s3, outputs):
    upload_id = start(api, photo)["id"]
    assert [a.status_code for a in api.send_parts(upload_id, photo, PART, [1, 2])] == [200, 200]
    s3_upload_id = next(
        item["UploadId"]
        for item in s3.list_multipart_uploads(Bucket=outputs["upload_bucket"])["Uploads"]
        if item["Key"] == f"uploads/{upload_id}"
    )
    last = chunk(photo, 3)
    s3.upload_part(  # straight into S3, past the API: no grant for part 3
        Bucket=outputs["upload_bucket"],
        Key=f"uploads/{upload_id}",
        UploadId=s3_upload_id,
        PartNumber=3,
        Body=last,
        ChecksumSHA256=sha256_b64(last),
    )
    refused = api.complete(upload_id)
    assert (refused.status_code, refused.json()["error"]) == (409, "part_not_granted")
    assert held(api, upload_id) == [1, 2]
    assert api.abort(upload_id).status_code == 204


def test_abort_drops_every_part_and_a_second_abort_is_fine(api, photo, s3, outputs):
    upload_id = start(api, photo)["id"]
    assert [a.status_code for a in api.send_parts(upload_id, photo, PART, [1])] == [200]
    assert api.abort(upload_id).status_code == 204
    uploads = s3.list_multipart_uploads(Bucket=outputs["upload_bucket"]).get("Uploads", [])
    assert f"uploads/{upload_id}" not in [item["Key"] for item in uploads]
    assert api.abort(upload_id).status_code == 204
    assert api.status(upload_id).status_code == 404
    refused = api.complete(upload_id)
    assert (refused.status_code, refused.json()["error"]) == (409, "aborted")


@pytest.fixture(scope="module")
def outputs(local_stack_outputs: dict[str, Any]) -> dict[str, Any]:
    return local_stack_outputs
