"""The multipart path: the pure plan/grant/completion rules, and the API's routes on moto S3
and DynamoDB (start, grant, list for resume, complete once, abort)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from support.lambda_env import UPLOAD_BUCKET
from support.lambda_events import api_event

MIB = 1024 * 1024
PART = 5 * MIB
SIZE = 2 * PART + 1234  # three parts: 5 MiB, 5 MiB, 1234 bytes


def sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def file_bytes(size: int = SIZE) -> bytes:
    return bytes(range(256)) * (size // 256) + bytes(size % 256)


# -- pure rules -----------------------------------------------------------------------------


def test_plan_cuts_equal_parts_and_a_shorter_last_one() -> None:
    from api import multipart

    plan = multipart.plan_parts(SIZE, PART)
    assert (plan.count, plan.part_size) == (3, PART)
    assert [plan.part_bytes(n) for n in (1, 2, 3)] == [PART, PART, 1234]
    assert multipart.plan_parts(2 * PART, PART).count == 2
    with pytest.raises(ValueError, match="part 4 is not in"):
        plan.part_bytes(4)


def test_plan_grows_parts_in_whole_mib_to_stay_within_the_part_limit() -> None:
    from api import multipart

    plan = multipart.plan_parts(5 * 1024 * MIB, 8 * MIB, max_parts=100)
    assert plan.count <= 100
    assert plan.part_size % MIB == 0
    assert plan.part_size * plan.count >= plan.size > plan.part_size * (plan.count - 1)


def test_the_threshold_keeps_small_files_on_the_single_put() -> None:
    from api import multipart

    assert not multipart.uses_multipart(16 * MIB, 16 * MIB)
    assert multipart.uses_multipart(16 * MIB + 1, 16 * MIB)


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        ([], "invalid_request"),
        ([{"partNumber": 4, "size": 1234, "sha256": sha(b"x")}], "invalid_part"),
        ([{"partNumber": 0, "size": PART, "sha256": sha(b"x")}], "invalid_part"),
        ([{"partNumber": True, "size": PART, "sha256": sha(b"x")}], "invalid_part"),
        ([{"partNumber": 1, "size": PART - 1, "sha256": sha(b"x")}], "invalid_part_size"),
        ([{"partNumber": 3, "size": PART, "sha256": sha(b"x")}], "invalid_part_size"),
        ([{"partNumber": 1, "size": PART, "sha256": "abc"}], "invalid_checksum"),
        ([{"partNumber": 1, "size": PART, "sha256": base64.b64encode(b"1" * 31).decode()}], "x"),
        ([{"partNumber": 1, "size": PART, "sha256": sha(b"x")}] * 2, "invalid_part"),
        ([{"partNumber": 1, "size": PART, "sha256": sha(b"x")}] * 11, "invalid_request"),
    ],
)
def test_grant_requests_are_checked_against_the_plan(parts: list[Any], code: str) -> None:
    from api import multipart
    from api.core import ApiError

    plan = multipart.plan_parts(SIZE, PART)
    with pytest.raises(ApiError) as raised:
        multipart.parse_part_grants(json.dumps({"parts": parts}), False, plan)
    assert raised.value.status == 400
    assert raised.value.code == ("invalid_checksum" if code == "x" else code)


def completion_case(**changes: Any) -> tuple[Any, list[Any]]:
    from api import multipart

    plan = multipart.plan_parts(SIZE, PART)
    granted = {n: multipart.PartGrant(n, plan.part_bytes(n), sha(bytes([n]))) for n in (1, 2, 3)}
    held = [multipart.HeldPart(n, g.size, f'"e{n}"', g.sha256) for n, g in granted.items()]
    state = multipart.MultipartState("s3-id", plan, multipart.MultipartPhase.OPEN, granted)
    if "granted" in changes:
        state = multipart.MultipartState("s3-id", plan, state.phase, changes["granted"](granted))
    if "held" in changes:
        held = changes["held"](held)
    return state, held


def test_completion_takes_exactly_the_granted_parts() -> None:
    from api import multipart

    state, held = completion_case(held=lambda parts: list(reversed(parts)))
    assert [p.number for p in multipart.completion_parts(state, held, SIZE)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        ({"held": lambda parts: parts[:2]}, 409, "parts_missing"),
        (
            {"granted": lambda granted: {n: g for n, g in granted.items() if n != 2}},
            409,
            "part_not_granted",
        ),
        (
            {"held": lambda parts: [*parts, type(parts[0])(4, 1, '"e4"', sha(b"4"))]},
            409,
            "part_not_granted",
        ),
        (
            {"held": lambda parts: [type(p)(p.number, p.size, p.etag, sha(b"z")) for p in parts]},
            409,
            "part_checksum_mismatch",
        ),
        (
            {"held": lambda parts: [*parts[:2], type(parts[2])(3, 1233, '"e3"', parts[2].sha256)]},
            409,
            "part_size_mismatch",
        ),
    ],
)
def test_completion_refuses_any_difference_from_the_grant(changes, status, code) -> None:
    from api import multipart
    from api.core import ApiError

    state, held = completion_case(**changes)
    with pytest.raises(ApiError) as raised:
        multipart.completion_parts(state, held, SIZE)
    assert (raised.value.status, raised.value.code) == (status, code)


def test_completion_enforces_the_size_limit_again() -> None:
    from api import multipart
    from api.core import ApiError

    state, held = completion_case()
    with pytest.raises(ApiError) as raised:
        multipart.completion_parts(state, held, SIZE - 1)
    assert (raised.value.status, raised.value.code) == (413, "file_too_large")


# -- the routes on moto ---------------------------------------------------------------------


def call(api: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    event = api_event("api_get_upload", method=method, body=None)
    event["resource"] = None
    event["pathParameters"] = None
    event["path"] = path
    if body is not None:
        event["body"] = json.dumps(body)
    response = api.handler(event, None)
    return response["statusCode"], (json.loads(response["body"]) if response["body"] else None)


def with_part_checksums(client: Any) -> None:
    """moto 5.2 keeps the parts but not their checksums (S3 and LocalStack answer each part's
    ``ChecksumSHA256`` in ListParts, tests/integration/test_multipart.py): read them from the
    part bytes moto stores, so the API's comparison runs against what S3 would answer."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    original = client.list_parts

    def list_parts(**kwargs: Any) -> dict[str, Any]:
        answer = original(**kwargs)
        bucket = s3_backends[DEFAULT_ACCOUNT_ID]["global"].get_bucket(kwargs["Bucket"])
        stored = bucket.multiparts[kwargs["UploadId"]].parts
        for part in answer.get("Parts", []):
            part.setdefault("ChecksumSHA256", sha(stored[part["PartNumber"]].value))
        return answer

    client.list_parts = list_parts


@pytest.fixture
def mp_api(load_api: Any) -> Any:
    api = load_api(
        MULTIPART_THRESHOLD_BYTES=str(PART),
        MULTIPART_PART_BYTES=str(PART),
        MAX_UPLOAD_BYTES=str(100 * MIB),
    )
    with_part_checksums(api.S3)
    return api


def start(api: Any, size: int = SIZE) -> dict[str, Any]:
    status, body = call(api, "POST", "/uploads", {"contentType": "image/jpeg", "size": size})
    assert status == 201, body
    return body


def grant(api: Any, upload_id: str, data: bytes, numbers: list[int]) -> tuple[int, Any]:
    parts = [
        {"partNumber": n, "size": len(chunk), "sha256": sha(chunk)}
        for n in numbers
        for chunk in [data[(n - 1) * PART : n * PART]]
    ]
    return call(api, "POST", f"/uploads/{upload_id}/parts", {"parts": parts})


def s3_upload_id(uploads: Any, upload_id: str) -> str:
    return uploads.get(upload_id)["multipart"]["s3UploadId"]


def send(
    s3: Any, uploads: Any, upload_id: str, data: bytes, number: int, body: bytes | None = None
):
    chunk = data[(number - 1) * PART : number * PART]
    return s3.upload_part(
        Bucket=UPLOAD_BUCKET,
        Key=f"uploads/{upload_id}",
        UploadId=s3_upload_id(uploads, upload_id),
        PartNumber=number,
        Body=chunk if body is None else body,
        ChecksumSHA256=sha(chunk if body is None else body),
    )


def test_a_small_file_keeps_the_single_put(mp_api: Any, uploads: Any) -> None:
    body = start(mp_api, PART)
    assert body["method"] == "PUT"
    assert "multipart" not in uploads.get(body["id"])


def test_a_large_file_starts_a_multipart_upload_recorded_with_its_plan(mp_api, uploads, s3):
    body = start(mp_api)
    assert body["method"] == "MULTIPART"
    assert body["multipart"] == {"partSize": PART, "partCount": 3, "size": SIZE}
    assert "uploadUrl" not in body
    item = uploads.get(body["id"])
    assert item["status"] == "awaiting_upload"
    assert item["multipart"]["phase"] == "open"
    assert item["multipart"]["granted"] == {}
    listed = s3.list_multipart_uploads(Bucket=UPLOAD_BUCKET)["Uploads"]
    assert [u["UploadId"] for u in listed] == [item["multipart"]["s3UploadId"]]


def test_too_large_is_refused_at_the_start(mp_api) -> None:
    status, body = call(
        mp_api, "POST", "/uploads", {"contentType": "image/jpeg", "size": 100 * MIB + 1}
    )
    assert (status, body["error"]) == (413, "file_too_large")


def test_part_urls_are_bound_to_number_size_and_checksum(mp_api, uploads) -> None:
    data = file_bytes()
    upload_id = start(mp_api)["id"]
    status, body = grant(mp_api, upload_id, data, [1, 3])
    assert status == 200, body
    assert [p["partNumber"] for p in body["parts"]] == [1, 3]
    part = body["parts"][1]
    assert part["headers"] == {"x-amz-checksum-sha256": sha(data[2 * PART :])}
    params = {k: v[0] for k, v in parse_qs(urlsplit(part["url"]).query).items()}
    assert params["partNumber"] == "3"
    assert params["X-Amz-SignedHeaders"] == "content-length;host;x-amz-checksum-sha256"
    assert params["uploadId"] == s3_upload_id(uploads, upload_id)
    granted = uploads.get(upload_id)["multipart"]["granted"]
    assert granted == {
        "1": {"size": PART, "sha256": sha(data[:PART])},
        "3": {"size": 1234, "sha256": sha(data[2 * PART :])},
    }


def test_the_whole_flow_with_resume_and_one_completion(mp_api, uploads, s3) -> None:
    data = file_bytes()
    upload_id = start(mp_api)["id"]
    assert grant(mp_api, upload_id, data, [1, 2, 3])[0] == 200
    send(s3, uploads, upload_id, data, 1)
    send(s3, uploads, upload_id, data, 3)

    status, body = call(mp_api, "GET", f"/uploads/{upload_id}/parts")  # resume: what is there
    assert status == 200
    assert [p["partNumber"] for p in body["parts"]] == [1, 3]
    assert body["bytesHeld"] == PART + 1234
    status, body = call(mp_api, "GET", f"/uploads/{upload_id}")
    assert body["status"] == "processing"
    assert body["parts"] == {"granted": 3, "count": 3, "phase": "open"}

    status, body = call(mp_api, "POST", f"/uploads/{upload_id}/complete")
    assert (status, body["error"]) == (409, "parts_missing")

    send(s3, uploads, upload_id, data, 2)
    status, body = call(mp_api, "POST", f"/uploads/{upload_id}/complete")
    assert status == 200, body
    stored = s3.get_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{upload_id}")
    assert stored["Body"].read() == data
    assert uploads.get(upload_id)["multipart"]["phase"] == "completed"

    status, body = call(mp_api, "POST", f"/uploads/{upload_id}/complete")
    assert (status, body["error"]) == (409, "already_completed")
    status, body = grant(mp_api, upload_id, data, [1])
    assert (status, body["error"]) == (409, "already_completed")


def test_a_part_sent_without_a_grant_refuses_the_completion(mp_api, uploads, s3) -> None:
    data = file_bytes()
    upload_id = start(mp_api)["id"]
    assert grant(mp_api, upload_id, data, [1, 2])[0] == 200
    for number in (1, 2, 3):  # part 3 goes up with a URL the API never gave
        send(s3, uploads, upload_id, data, number)
    status, body = call(mp_api, "POST", f"/uploads/{upload_id}/complete")
    assert (status, body["error"]) == (409, "part_not_granted")
    assert uploads.get(upload_id)["multipart"]["phase"] == "open"
    status, body = call(mp_api, "GET", f"/uploads/{upload_id}/parts")
    assert [p["partNumber"] for p in body["parts"]] == [1, 2]  # 3 is not counted as held


def test_a_part_other_than_the_granted_one_refuses_the_completion(mp_api, uploads, s3) -> None:
    data = file_bytes()
    upload_id = start(mp_api)["id"]
    assert grant(mp_api, upload_id, data, [1, 2, 3])[0] == 200
    send(s3, uploads, upload_id, data, 1)
    send(s3, uploads, upload_id, data, 2, body=bytes(PART))  # same size, other bytes
    send(s3, uploads, upload_id, data, 3)
    status, body = call(mp_api, "POST", f"/uploads/{upload_id}/complete")
    assert (status, body["error"]) == (409, "part_checksum_mismatch")


def test_abort_drops_the_parts_and_closes_the_upload(mp_api, uploads, s3) -> None:
    data = file_bytes()
    upload_id = start(mp_api)["id"]
    assert grant(mp_api, upload_id, data, [1])[0] == 200
    send(s3, uploads, upload_id, data, 1)
    assert call(mp_api, "DELETE", f"/uploads/{upload_id}/parts") == (204, None)
    assert s3.list_multipart_uploads(Bucket=UPLOAD_BUCKET).get("Uploads", []) == []
    assert uploads.get(upload_id)["multipart"]["phase"] == "aborted"
    assert call(mp_api, "DELETE", f"/uploads/{upload_id}/parts") == (204, None)  # again: fine
    status, body = grant(mp_api, upload_id, data, [2])
    assert (status, body["error"]) == (409, "aborted")
    status, body = call(mp_api, "POST", f"/uploads/{upload_id}/complete")
    assert (status, body["error"]) == (409, "aborted")
    status, body = call(mp_api, "GET", f"/uploads/{upload_id}")
    assert (status, body["error"]) == (404, "not_found")


def test_parts_routes_of_a_single_put_upload_are_409(mp_api) -> None:
    upload_id = start(mp_api, PART)["id"]
    status, body = call(mp_api, "GET", f"/uploads/{upload_id}/parts")
    assert (status, body["error"]) == (409, "not_multipart")


def test_parts_routes_of_an_unknown_upload_are_404(mp_api) -> None:
    status, body = call(mp_api, "GET", "/uploads/2f1e0d4c-3b2a-4d1e-8f7a-6b5c4d3e2f1a/parts")
    assert (status, body["error"]) == (404, "not_found")
