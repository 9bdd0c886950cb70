"""Abuse of the presigned PUT: S3 itself refuses every deviation from what the API signed.

The API signs ``Content-Type``, ``Content-Length``, ``If-None-Match: *``, the bucket, the key,
the method and the lifetime (SigV4 query signature). Each test changes one of them and checks
that the emulator's S3 (signature validation on, as on AWS) answers 403 and stores nothing,
next to a control request that differs only in the tampered part and is accepted.

Expiry: the deployed lifetime is ``upload_url_ttl_seconds`` (default 60). Waiting a minute
per run is avoided by generating a URL through the same code path as the API function
(``api.storage.S3Storage.presign_upload`` with the deployed function's own environment, read back
from Lambda) and a 1 s lifetime; the deployed lifetime itself is checked on a real API grant.
"""

from __future__ import annotations

import io
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from PIL import Image, PngImagePlugin

from support.pipeline import new_upload_id, wait_until

pytestmark = pytest.mark.integration


def png_bytes(tag: int = 0) -> bytes:
    """A small PNG; every ``tag`` (0-9) gives other bytes of the same length."""
    info = PngImagePlugin.PngInfo()
    info.add_text("tag", str(tag))
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 40, 200)).save(buffer, "PNG", pnginfo=info)
    return buffer.getvalue()


BODY = png_bytes()


@pytest.fixture
def grant(api) -> dict[str, Any]:
    response = api.create_upload("image/png", len(BODY), "abuse.png")
    assert response.status_code == 201, response.text
    return response.json()


def put(url: str, data: bytes, headers: dict[str, str], method: str = "PUT") -> requests.Response:
    return requests.request(method, url, data=data, headers=headers, timeout=30)


def s3_error_code(response: requests.Response) -> str:
    start = response.text.find("<Code>")
    end = response.text.find("</Code>")
    return response.text[start + 6 : end] if start >= 0 else ""


def stored(s3, bucket: str, key: str) -> bytes | None:
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def key_of(grant: dict[str, Any]) -> str:
    return f"uploads/{grant['id']}"


def assert_refused(response: requests.Response, *codes: str) -> None:
    assert response.status_code == 403, response.text
    assert s3_error_code(response) in codes, response.text


def test_the_exact_request_is_accepted(grant, s3, local_stack_outputs):
    response = put(grant["uploadUrl"], BODY, grant["headers"])

    assert response.status_code == 200, response.text
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) == BODY


@pytest.mark.parametrize("content_type", ["image/jpeg", "text/html", "image/svg+xml"])
def test_another_content_type_is_refused(grant, s3, local_stack_outputs, content_type):
    headers = {**grant["headers"], "Content-Type": content_type}

    assert_refused(put(grant["uploadUrl"], BODY, headers), "SignatureDoesNotMatch")
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) is None


@pytest.mark.parametrize(
    "body", [BODY + b"\0", BODY[:-1], BODY * 100], ids=["one-more", "one-less", "100x"]
)
def test_another_length_is_refused(grant, s3, local_stack_outputs, body):
    assert_refused(put(grant["uploadUrl"], body, grant["headers"]), "SignatureDoesNotMatch")
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) is None


def test_the_if_none_match_condition_cannot_be_dropped(grant, s3, local_stack_outputs):
    headers = {"Content-Type": grant["headers"]["Content-Type"]}

    assert_refused(put(grant["uploadUrl"], BODY, headers), "SignatureDoesNotMatch")
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) is None


def tampered_keys(grant: dict[str, Any]) -> dict[str, str]:
    upload_id = grant["id"]
    return {
        "other-id": new_upload_id(),
        "suffix": f"{upload_id}x",
        "sub-key": f"{upload_id}/evil.html",
        "dot-segments": f"..%2F{upload_id}",
    }


@pytest.mark.parametrize("variant", ["other-id", "suffix", "sub-key", "dot-segments"])
def test_another_key_is_refused(grant, s3, local_stack_outputs, variant):
    replacement = tampered_keys(grant)[variant]
    parts = urllib.parse.urlsplit(grant["uploadUrl"])
    path = parts.path.replace(f"/uploads/{grant['id']}", f"/uploads/{replacement}")
    assert path != parts.path
    url = urllib.parse.urlunsplit(parts._replace(path=path))

    assert_refused(put(url, BODY, grant["headers"]), "SignatureDoesNotMatch")
    bucket = local_stack_outputs["upload_bucket"]
    assert stored(s3, bucket, key_of(grant)) is None
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert not [key for key in keys if grant["id"] in key or replacement in key]


def test_another_bucket_is_refused(grant, local_stack_outputs):
    parts = urllib.parse.urlsplit(grant["uploadUrl"])
    bucket = local_stack_outputs["upload_bucket"]
    path = parts.path.replace(f"/{bucket}/", f"/{local_stack_outputs['output_bucket']}/")
    assert path != parts.path
    url = urllib.parse.urlunsplit(parts._replace(path=path))

    assert_refused(put(url, BODY, grant["headers"]), "SignatureDoesNotMatch")


@pytest.mark.parametrize(
    "extra",
    [
        {"x-amz-storage-class": "GLACIER"},
        {"x-amz-acl": "public-read"},
        {"x-amz-website-redirect-location": "https://evil.example/"},
        {"x-amz-meta-owner": "attacker"},
        {
            "x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
            "x-amz-server-side-encryption-customer-key-MD5": "Ujxwq+Yt9oxh4tzPEEPV0g==",
        },
    ],
    ids=["storage-class", "public-acl", "redirect", "metadata", "sse-c"],
)
def test_unsigned_amz_headers_are_refused(grant, s3, local_stack_outputs, extra):
    """An object the processor could not read (SSE-C, Glacier) or a public one cannot be made."""
    response = put(grant["uploadUrl"], BODY, {**grant["headers"], **extra})

    assert_refused(response, "AccessDenied", "SignatureDoesNotMatch")
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) is None


def test_the_lifetime_cannot_be_extended(grant, s3, local_stack_outputs):
    assert "X-Amz-Expires=60" in grant["uploadUrl"]
    url = grant["uploadUrl"].replace("X-Amz-Expires=60", "X-Amz-Expires=604800")

    assert_refused(put(url, BODY, grant["headers"]), "SignatureDoesNotMatch")
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) is None


@pytest.mark.parametrize("method", ["GET", "DELETE", "POST", "HEAD"])
def test_the_url_signs_only_put(grant, s3, local_stack_outputs, method):
    assert put(grant["uploadUrl"], BODY, grant["headers"]).status_code == 200

    response = requests.request(method, grant["uploadUrl"], timeout=30)

    assert response.status_code == 403
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) == BODY


def test_the_deployed_lifetime_is_the_terraform_default(grant):
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(grant["uploadUrl"]).query)

    assert grant["expiresIn"] == 60  # variables.tf: upload_url_ttl_seconds
    assert query["X-Amz-Expires"] == ["60"]
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host;if-none-match"]


@pytest.fixture
def short_lived_store(lambda_client, local_stack_outputs, emulator_endpoint):
    """The API function's presign code with its deployed environment, but a 1 s lifetime."""
    import boto3

    from api import config as api_config
    from api.storage import S3Storage
    from common import s3_client

    environment = lambda_client.get_function_configuration(
        FunctionName=local_stack_outputs["api_function_name"]
    )["Environment"]["Variables"]
    environment = {
        **environment,
        "UPLOAD_URL_TTL_SECONDS": "1",
        "AWS_ENDPOINT_URL": emulator_endpoint,
        "AWS_REGION": "us-east-1",
    }
    client = boto3.client(
        "s3",
        endpoint_url=emulator_endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
        config=s3_client.client_config(environment),
    )
    return S3Storage(client, api_config.load_config(environment))


def expiry_of(url: str) -> datetime:
    """When a presigned URL stops being valid (its signing time plus its lifetime)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    signed = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return signed + timedelta(seconds=int(query["X-Amz-Expires"][0]) + 1)  # whole seconds


def test_an_expired_url_is_refused(short_lived_store, s3, local_stack_outputs):
    headers = {"Content-Type": "image/png", "If-None-Match": "*"}
    expired_id, fresh_id = new_upload_id(), new_upload_id()
    expired_url = short_lived_store.presign_upload(expired_id, "image/png", len(BODY))
    assert "X-Amz-Expires=1&" in expired_url

    # Not a pause: wait for the URL's own expiry instant (X-Amz-Date + X-Amz-Expires) to pass.
    assert wait_until(lambda: datetime.now(UTC) > expiry_of(expired_url), 30, 0.1)
    expired = put(expired_url, BODY, headers)
    fresh = put(short_lived_store.presign_upload(fresh_id, "image/png", len(BODY)), BODY, headers)

    assert_refused(expired, "AccessDenied")
    assert "expired" in expired.text.lower()
    assert fresh.status_code == 200, fresh.text  # same code path, within its lifetime
    bucket = local_stack_outputs["upload_bucket"]
    assert stored(s3, bucket, f"uploads/{expired_id}") is None
    assert stored(s3, bucket, f"uploads/{fresh_id}") == BODY


def test_a_second_put_never_replaces_the_original(grant, s3, local_stack_outputs):
    bucket = local_stack_outputs["upload_bucket"]
    first = put(grant["uploadUrl"], BODY, grant["headers"])
    etag = s3.head_object(Bucket=bucket, Key=key_of(grant))["ETag"]
    other = png_bytes(1)
    assert len(other) == len(BODY)
    assert other != BODY

    second = put(grant["uploadUrl"], other, grant["headers"])

    assert first.status_code == 200
    assert second.status_code == 412, second.text
    assert s3_error_code(second) == "PreconditionFailed"
    assert stored(s3, bucket, key_of(grant)) == BODY
    assert s3.head_object(Bucket=bucket, Key=key_of(grant))["ETag"] == etag


def test_racing_puts_store_exactly_one_original(grant, s3, local_stack_outputs):
    bodies = [png_bytes(index) for index in range(6)]
    assert len({len(body) for body in bodies}) == 1
    assert len(set(bodies)) == len(bodies)
    statuses: dict[int, int] = {}
    start = threading.Barrier(len(bodies))

    def race(index: int) -> None:
        start.wait()
        statuses[index] = put(grant["uploadUrl"], bodies[index], grant["headers"]).status_code

    threads = [threading.Thread(target=race, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [index for index, status in statuses.items() if status == 200]
    assert len(winners) == 1, statuses
    # AWS answers 409 ConditionalRequestConflict to a PUT racing an in-flight one, else 412
    assert all(status in (409, 412) for index, status in statuses.items() if index not in winners)
    assert stored(s3, local_stack_outputs["upload_bucket"], key_of(grant)) == bodies[winners[0]]
