"""Abuse of the deployed API (API Gateway -> api function on the emulator).

Every refusal is checked for its status code and the JSON error shape
``{"error": code, "message": text}`` (nothing else in it), with ``Cache-Control: no-store``
and ``nosniff``. Accepted requests with odd filenames are checked to change nothing about
where the upload goes: the key is always ``uploads/<server-generated uuid4>``.
"""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from typing import Any

import pytest
import requests

from support.pipeline import new_upload_id

pytestmark = pytest.mark.integration

MAX_BYTES = 100 * 1024 * 1024  # variables.tf: max_upload_bytes
MULTIPART_THRESHOLD = 16 * 1024 * 1024  # variables.tf: multipart_threshold_bytes
EVIL_ORIGIN = "https://evil.example"


@pytest.fixture(scope="module")
def api_url(local_stack_outputs: dict[str, Any]) -> str:
    return local_stack_outputs["api_url"]


@pytest.fixture(scope="module")
def page_origin(local_stack_outputs: dict[str, Any]) -> str:
    return local_stack_outputs["allowed_origins"][0]


def post(api_url: str, body: Any, raw: bool = False, **headers: str) -> requests.Response:
    data = body if raw else json.dumps(body)
    if isinstance(data, str):
        data = data.encode("utf-8", errors="surrogatepass")
    return requests.post(
        f"{api_url}/uploads",
        data=data,
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


def assert_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers.get("Cache-Control") == "no-store"
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    body = response.json()
    assert set(body) == {"error", "message"}, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def assert_created(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    grant = response.json()
    path = urllib.parse.urlsplit(grant["uploadUrl"]).path
    assert re.fullmatch(r"/[a-z0-9.-]+/uploads/[0-9a-f-]{36}", path), path
    assert path.endswith(f"/uploads/{grant['id']}")
    return grant


# -- POST /uploads: the body ---------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{bad",
        "",
        "   ",
        '{"contentType": "image/png", "size": 10',
        '{"contentType": "image/png", "size": 10}trailing',
        "{'contentType': 'image/png', 'size': 10}",
        '{"contentType": "image/png", "size": NaN}',
        '{"contentType": "image/png", "size": Infinity}',
        "[" * 2000 + "]" * 2000,
        '{"contentType": "image/png", "size": 10, "filename": "\udcff"}',
    ],
    ids=[
        "garbage",
        "empty",
        "blank",
        "unterminated",
        "trailing",
        "single-quotes",
        "nan",
        "infinity",
        "deep-nesting",
        "lone-surrogate",
    ],
)
def test_malformed_json_is_invalid_json(api_url, body):
    assert_error(post(api_url, body, raw=True), 400, "invalid_json")


@pytest.mark.parametrize("body", ["[1, 2]", '"image/png"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_invalid_request(api_url, body):
    assert_error(post(api_url, body, raw=True), 400, "invalid_request")


@pytest.mark.parametrize(
    "body",
    [
        {"contentType": "image/png", "size": 10, "pad": "x" * 5000},
        "x" * 1_000_000,
        "{" * 10_000,
    ],
    ids=["5-kB-json", "1-MB-garbage", "10-kB-braces"],
)
def test_huge_bodies_are_refused_before_parsing(api_url, body):
    raw = isinstance(body, str)
    assert_error(post(api_url, body, raw=raw), 413, "body_too_large")


@pytest.mark.parametrize(
    "content_type", [123, None, ["image/png"], {"type": "image/png"}, True], ids=repr
)
def test_a_content_type_of_the_wrong_type_is_invalid_request(api_url, content_type):
    assert_error(post(api_url, {"contentType": content_type, "size": 10}), 400, "invalid_request")


def test_a_missing_size_is_invalid_request(api_url):
    assert_error(post(api_url, {"contentType": "image/png"}), 400, "invalid_request")


@pytest.mark.parametrize(
    "size",
    ["10", 10.5, 10.0, True, None, [10], {"bytes": 10}, -1, 0, -(2**63)],
    ids=repr,
)
def test_a_size_that_is_not_a_positive_integer_is_invalid_size(api_url, size):
    assert_error(post(api_url, {"contentType": "image/png", "size": size}), 400, "invalid_size")


@pytest.mark.parametrize("size", [MAX_BYTES + 1, 2**63, 10**30], ids=repr)
def test_a_size_over_the_limit_is_file_too_large(api_url, size):
    assert_error(post(api_url, {"contentType": "image/png", "size": size}), 413, "file_too_large")


def test_the_size_limit_itself_is_accepted(api_url):
    response = post(api_url, {"contentType": "image/png", "size": MAX_BYTES})
    assert response.status_code == 201, response.text
    grant = response.json()
    assert grant["method"] == "MULTIPART"  # above the threshold: parts, granted just in time
    assert grant["multipart"]["size"] == MAX_BYTES
    assert "uploadUrl" not in grant


def test_the_multipart_threshold_itself_is_a_single_put(api_url):
    grant = assert_created(post(api_url, {"contentType": "image/png", "size": MULTIPART_THRESHOLD}))
    assert grant["method"] == "PUT"


@pytest.mark.parametrize(
    "content_type",
    [
        "image/svg+xml",
        "text/html",
        "application/octet-stream",
        "image/bmp",
        "image/tiff",
        "image/png; charset=utf-8",
        "image/*",
        "",
        "x" * 3000,
    ],
    ids=lambda value: value[:20] or "empty",
)
def test_disallowed_types_are_unsupported_media_type(api_url, content_type):
    body = assert_error(
        post(api_url, {"contentType": content_type, "size": 10}), 415, "unsupported_media_type"
    )
    assert len(body["message"]) < 400  # the echoed type is cut short


@pytest.mark.parametrize("filename", [123, ["a.png"], {"name": "a.png"}, "a" * 256], ids=repr)
def test_a_bad_filename_is_invalid_request(api_url, filename):
    assert_error(
        post(api_url, {"contentType": "image/png", "size": 10, "filename": filename}),
        400,
        "invalid_request",
    )


@pytest.mark.parametrize(
    "filename",
    [
        "../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "/absolute/path.png",
        "uploads/../../other-bucket/x.png",
        "photo.png\x00.html",
        "<script>alert(1)</script>.png",
        "фото 😀 \u202egnp.exe",
        "a" * 255,
    ],
    ids=["dots", "backslashes", "absolute", "prefix-escape", "nul", "html", "unicode-rlo", "255"],
)
def test_odd_filenames_never_influence_the_key(api_url, filename):
    grant = assert_created(
        post(api_url, {"contentType": "image/png", "size": 10, "filename": filename})
    )
    assert filename not in grant["uploadUrl"]
    assert "etc" not in urllib.parse.urlsplit(grant["uploadUrl"]).path


def test_unknown_fields_are_ignored(api_url):
    grant = assert_created(
        post(api_url, {"contentType": "image/png", "size": 10, "key": "uploads/mine", "id": "x"})
    )
    assert grant["id"] != "x"
    assert "uploads/mine" not in grant["uploadUrl"]


# -- methods ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "GET"])
def test_a_wrong_method_on_uploads_is_405(api_url, method):
    response = requests.request(method, f"{api_url}/uploads", json={}, timeout=30)

    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST, OPTIONS"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_a_wrong_method_on_an_upload_is_405(api_url, method):
    response = requests.request(method, f"{api_url}/uploads/{new_upload_id()}", timeout=30)

    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "GET, OPTIONS"


# -- CORS --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        EVIL_ORIGIN,
        "null",
        "http://127.0.0.1:1",
        "{page}.evil.example",
        "{page}@evil.example",
        "https://{host}",
    ],
    ids=["other-site", "null", "other-port", "suffix", "userinfo", "other-scheme"],
)
def test_an_origin_that_is_not_allowed_gets_no_grant(api_url, page_origin, origin):
    host = urllib.parse.urlsplit(page_origin).netloc
    origin = origin.format(page=page_origin, host=host)
    body = {"contentType": "image/png", "size": 10}

    created = post(api_url, body, Origin=origin)
    refused = post(api_url, "{bad", raw=True, Origin=origin)
    preflight = requests.options(
        f"{api_url}/uploads",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
        timeout=30,
    )

    for response in (created, refused, preflight):
        assert "Access-Control-Allow-Origin" not in response.headers, response.headers
        assert "Access-Control-Allow-Methods" not in response.headers
        assert "Origin" in response.headers.get("Vary", "")
    assert created.status_code == 201  # CORS protects browsers' readers; the grant is unusable
    assert_error(refused, 400, "invalid_json")


def test_the_page_origin_is_granted_on_answers_and_errors(api_url, page_origin):
    created = post(api_url, {"contentType": "image/png", "size": 10}, Origin=page_origin)
    refused = post(api_url, {"contentType": "text/html", "size": 10}, Origin=page_origin)
    preflight = requests.options(
        f"{api_url}/uploads",
        headers={"Origin": page_origin, "Access-Control-Request-Method": "POST"},
        timeout=30,
    )

    for response in (created, refused, preflight):
        assert response.headers.get("Access-Control-Allow-Origin") == page_origin
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert_error(refused, 415, "unsupported_media_type")


# -- GET /uploads/{id} -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_id",
    [
        "abc",
        "E2581F21-38BD-4448-98B6-F0146ECE953D",
        "e2581f21-38bd-1448-98b6-f0146ece953d",  # version 1
        "%7Be2581f21-38bd-4448-98b6-f0146ece953d%7D",  # braces
        "e2581f2138bd444898b6f0146ece953d",
        "x" * 5000,
        "%00",
        "%20",
        "%D1%84%D0%BE%D1%82%D0%BE",
        "..%2F..%2Fetc%2Fpasswd",
        "..%2Fmanifest.json",
        "%2e%2e%2f%2e%2e%2f",
        "%2E%2E%5C%2E%2E%5C",
        "..%252F..%252F",
        "ID%2Fmanifest.json",
        "ID%2F..%2FOTHER",
        "ID%00",
        "ID%0A",
        "ID.json",
    ],
)
def test_malformed_and_traversal_ids_are_invalid_id(api_url, raw_id):
    raw_id = raw_id.replace("ID", new_upload_id()).replace("OTHER", new_upload_id())
    assert_error(requests.get(f"{api_url}/uploads/{raw_id}", timeout=30), 400, "invalid_id")


def test_an_unknown_id_is_not_found(api_url):
    assert_error(requests.get(f"{api_url}/uploads/{new_upload_id()}", timeout=30), 404, "not_found")


def raw_get(api_url: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` (appended to the API's path) exactly as written: requests (urllib3) would
    remove dot segments before sending, so the request line is written by http.client."""
    base = urllib.parse.urlsplit(api_url)
    connection = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
    try:
        connection.putrequest("GET", base.path + path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("segment", ["..", "."])
def test_a_dot_segment_id_sent_as_is_is_an_invalid_id(api_url, segment):
    """``GET /uploads/..`` on the wire (not resolved to /uploads by the client): the function
    gets the dot segment as the id and refuses it with its JSON error."""
    status, headers, body = raw_get(api_url, f"/uploads/{segment}")
    response = requests.Response()
    response.status_code, response._content = status, body
    response.headers.update(headers)
    assert_error(response, 400, "invalid_id")


@pytest.mark.parametrize(
    "path",
    ["/uploads/ID/..", "/uploads/ID/../OTHER", "/uploads/./ID", "/uploads/../uploads/ID"],
)
def test_a_dot_segment_path_sent_as_is_matches_no_resource(api_url, path):
    """Dot segments are not resolved on the way in: ``/uploads/./ID`` is not ``/uploads/ID``
    (404 not_found) nor is ``/uploads/ID/..`` ``/uploads``: the gateway finds no resource
    and answers 403 with its JSON message, the function never runs."""
    path = path.replace("ID", new_upload_id()).replace("OTHER", new_upload_id())
    status, headers, body = raw_get(api_url, path)
    assert status == 403, (path, status, body[:300])
    assert headers["Content-Type"].startswith("application/json"), headers
    assert headers.get("x-amzn-ErrorType") == "MissingAuthenticationTokenException", headers
    assert json.loads(body)["message"] == "Missing Authentication Token"
    assert b"uploadUrl" not in body
