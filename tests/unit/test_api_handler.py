"""API handler through proxy events on moto S3: every route, error path and CORS case."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from common import records
from support.lambda_env import ALLOWED_ORIGIN, OUTPUT_BUCKET, UPLOAD_BUCKET
from support.lambda_events import api_event

UUID4 = "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def call(api: Any, event: dict[str, Any], context: Any) -> tuple[int, dict[str, str], Any]:
    response = api.handler(event, context)
    assert set(response) == {"statusCode", "headers", "body", "isBase64Encoded"}
    assert response["isBase64Encoded"] is False
    body = json.loads(response["body"]) if response["body"] else None
    return response["statusCode"], response["headers"], body


def post(api: Any, context: Any, payload: Any = None, *, raw: str | None = None, **kw: Any):
    body = raw if raw is not None else json.dumps(payload)
    return call(api, api_event("api_post_uploads", body=body, **kw), context)


def get(api: Any, context: Any, upload_id: str, **kw: Any):
    return call(api, api_event("api_get_upload", upload_id=upload_id, **kw), context)


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def assert_error(result, status: int, code: str) -> None:
    got_status, headers, body = result
    assert (got_status, body["error"]) == (status, code), body
    assert isinstance(body["message"], str)
    assert body["message"]
    assert set(body) == {"error", "message"}
    assert headers["Content-Type"] == "application/json"
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert headers["Vary"] == "Origin"


# -- POST /uploads ------------------------------------------------------------------------


def test_create_upload_returns_a_presigned_put(api, lambda_context, capsys) -> None:
    status, headers, body = post(
        api, lambda_context, {"contentType": "image/jpeg", "size": 123456, "filename": "cat.jpg"}
    )

    assert status == 201
    assert set(body) == {"id", "uploadUrl", "method", "headers", "expiresIn", "maxBytes"}
    assert uuid.UUID(body["id"]).version == 4
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert body["method"] == "PUT"
    assert body["headers"] == {"Content-Type": "image/jpeg", "If-None-Match": "*"}
    assert body["expiresIn"] == 60
    assert body["maxBytes"] == 20971520
    url = urlsplit(body["uploadUrl"])
    assert url.path.endswith(f"/uploads/{body['id']}")
    assert UPLOAD_BUCKET in body["uploadUrl"]
    assert "cat" not in body["uploadUrl"], "the filename must never reach the key"
    params = query(body["uploadUrl"])
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert params["X-Amz-SignedHeaders"] == "content-length;content-type;host;if-none-match"
    assert params["X-Amz-Expires"] == "60"
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert headers["Cache-Control"] == "no-store"

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    created = next(line for line in lines if line["message"] == "upload created")
    assert created["upload_id"] == body["id"]
    assert created["request_id"] == lambda_context.aws_request_id
    assert created["level"] == "INFO"
    handled = next(line for line in lines if line["message"] == "request handled")
    assert handled["status"] == 201
    assert "duration_ms" in handled


def test_upload_url_ttl_comes_from_configuration(load_api, lambda_context) -> None:
    api = load_api(UPLOAD_URL_TTL_SECONDS="120", MAX_UPLOAD_BYTES="5000")
    status, _, body = post(api, lambda_context, {"contentType": "image/png", "size": 5000})
    assert status == 201
    assert body["expiresIn"] == 120
    assert body["maxBytes"] == 5000
    assert query(body["uploadUrl"])["X-Amz-Expires"] == "120"


def test_content_type_is_normalised_and_signed(api, lambda_context) -> None:
    status, _, body = post(api, lambda_context, {"contentType": " Image/PNG ", "size": 10})
    assert status == 201
    assert body["headers"]["Content-Type"] == "image/png"


def test_each_upload_gets_a_new_id(api, lambda_context) -> None:
    payload = {"contentType": "image/gif", "size": 1}
    ids = {post(api, lambda_context, payload)[2]["id"] for _ in range(3)}
    assert len(ids) == 3


def test_base64_body_is_accepted(api, lambda_context) -> None:
    raw = base64.b64encode(b'{"contentType": "image/webp", "size": 42}').decode()
    status, _, body = post(api, lambda_context, raw=raw, isBase64Encoded=True)
    assert status == 201
    assert body["headers"]["Content-Type"] == "image/webp"


def test_create_upload_records_the_upload_before_granting(api, uploads, lambda_context) -> None:
    before = datetime.now(UTC)
    _, _, body = post(
        api, lambda_context, {"contentType": "image/png", "size": 42, "filename": "a/../b\x07.png"}
    )

    item = uploads.get(body["id"])
    assert item["status"] == "awaiting_upload"
    assert "owner" not in item
    assert item["fileName"] == "b.png"
    assert (item["contentType"], item["declaredBytes"]) == ("image/png", 42)
    created = records.parse_iso(item["createdAt"])
    assert created >= before.replace(microsecond=0)
    assert item["expiresAt"] == int((created + timedelta(days=30)).timestamp())  # outputs' TTL


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "invalid_json"),
        ("", 400, "invalid_json"),
        ('{"contentType": "image/jpeg", "size": NaN}', 400, "invalid_json"),
        ("[1, 2]", 400, "invalid_request"),
        ('"text"', 400, "invalid_request"),
        ('{"size": 10}', 400, "invalid_request"),
        ('{"contentType": 5, "size": 10}', 400, "invalid_request"),
        ('{"contentType": "image/jpeg"}', 400, "invalid_request"),
        ('{"contentType": "image/jpeg", "size": true}', 400, "invalid_size"),
        ('{"contentType": "image/jpeg", "size": "10"}', 400, "invalid_size"),
        ('{"contentType": "image/jpeg", "size": 10.5}', 400, "invalid_size"),
        ('{"contentType": "image/jpeg", "size": 10.0}', 400, "invalid_size"),
        ('{"contentType": "image/jpeg", "size": 0}', 400, "invalid_size"),
        ('{"contentType": "image/jpeg", "size": -5}', 400, "invalid_size"),
        ('{"contentType": "image/jpeg", "size": null}', 400, "invalid_size"),
        ('{"contentType": "image/jpeg", "size": 20971521}', 413, "file_too_large"),
        ('{"contentType": "image/jpeg", "size": 1e400}', 400, "invalid_size"),
        ('{"contentType": "text/html", "size": 10}', 415, "unsupported_media_type"),
        ('{"contentType": "image/svg+xml", "size": 10}', 415, "unsupported_media_type"),
        ('{"contentType": "", "size": 10}', 415, "unsupported_media_type"),
        ('{"contentType": "image/jpeg", "size": 10, "filename": 7}', 400, "invalid_request"),
        (
            '{"contentType": "image/jpeg", "size": 10, "filename": "' + "a" * 256 + '"}',
            400,
            "invalid_request",
        ),
        (
            '{"contentType": "image/jpeg", "size": 10, "pad": "' + "x" * 5000 + '"}',
            413,
            "body_too_large",
        ),
        ("[" * 3000 + "]" * 3000, 413, "body_too_large"),
        ("[" * 2000 + "]" * 2000, 400, "invalid_json"),
    ],
)
def test_create_upload_client_errors(api, lambda_context, raw: str, status: int, code: str) -> None:
    assert_error(post(api, lambda_context, raw=raw), status, code)


def test_missing_body_and_bad_base64(api, lambda_context) -> None:
    event = api_event("api_post_uploads", body=None)
    assert_error(call(api, event, lambda_context), 400, "invalid_json")
    assert_error(post(api, lambda_context, raw="!!!", isBase64Encoded=True), 400, "invalid_json")


def test_filename_at_the_limit_and_null_filename_are_fine(api, lambda_context) -> None:
    for filename in ("a" * 255, None, "../../etc/passwd"):
        status, _, body = post(
            api, lambda_context, {"contentType": "image/jpeg", "size": 1, "filename": filename}
        )
        assert status == 201
        assert urlsplit(body["uploadUrl"]).path.endswith(f"/uploads/{body['id']}")


# -- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method", "allow"),
    [
        ("api_post_uploads", "GET", "POST, OPTIONS"),
        ("api_post_uploads", "PUT", "POST, OPTIONS"),
        ("api_get_upload", "DELETE", "GET, OPTIONS"),
        ("api_get_upload", "POST", "GET, OPTIONS"),
    ],
)
def test_wrong_method_is_405_json(api, lambda_context, name, method, allow) -> None:
    result = call(api, api_event(name, method=method), lambda_context)
    assert_error(result, 405, "method_not_allowed")
    assert result[1]["Allow"] == allow


@pytest.mark.parametrize("path", ["/", "/foo", "/uploadsx", "/v2/uploads"])
def test_unknown_route_is_404_json(api, lambda_context, path) -> None:
    event = api_event("api_get_upload", resource=path, path=path, pathParameters=None)
    assert_error(call(api, event, lambda_context), 404, "not_found")


def test_route_falls_back_to_the_path_without_a_resource(api, uploads, lambda_context) -> None:
    upload_id = put_record(uploads, status="processing")
    event = api_event("api_get_upload", resource=None, path=f"/uploads/{upload_id}/")
    assert call(api, event, lambda_context)[2]["status"] == "processing"


# -- GET /uploads/{id} --------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_id",
    [
        "abc",
        "../x",
        "..%2Fx",
        "",
        "3F1C2D4E-5A6B-4C7D-8E9F-0A1B2C3D4E5F",
        "3f1c2d4e-5a6b-1c7d-8e9f-0a1b2c3d4e5f",
        "3f1c2d4e5a6b4c7d8e9f0a1b2c3d4e5f",
        "{3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f}",
        "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f/../manifest.json",
    ],
)
def test_malformed_id_is_400(api, lambda_context, raw_id) -> None:
    assert_error(get(api, lambda_context, raw_id), 400, "invalid_id")


def test_path_traversal_through_the_path_is_400(api, lambda_context) -> None:
    event = api_event("api_get_upload", resource=None, path="/uploads/../x", pathParameters=None)
    assert_error(call(api, event, lambda_context), 400, "invalid_id")


def test_unknown_id_is_404(api, lambda_context) -> None:
    assert_error(get(api, lambda_context, str(uuid.uuid4())), 404, "not_found")


def test_a_fresh_grant_reads_as_processing(api, uploads, lambda_context) -> None:
    upload_id = put_record(uploads, status="awaiting_upload")
    status, _, body = get(api, lambda_context, upload_id)
    assert status == 200
    assert body == {"id": upload_id, "status": "processing", "variants": [], "error": None}


def test_a_grant_never_used_is_404_once_its_url_has_long_expired(
    api, uploads, lambda_context
) -> None:
    upload_id = put_record(uploads, status="awaiting_upload", age=timedelta(minutes=10))
    assert_error(get(api, lambda_context, upload_id), 404, "not_found")


def test_an_upload_whose_every_attempt_failed_is_failed(api, uploads, lambda_context) -> None:
    retrying = put_record(uploads, status="processing", failedAttempts=2)
    assert get(api, lambda_context, retrying)[2]["status"] == "processing"  # one retry left

    exhausted = put_record(uploads, status="processing", failedAttempts=3)
    given_up = put_record(
        uploads,
        status="failed",
        failedAttempts=3,
        error={"code": "processing_failed", "message": "Processing failed on every attempt."},
    )
    for upload_id in (exhausted, given_up):
        status, _, body = get(api, lambda_context, upload_id)
        assert status == 200
        assert body["status"] == "failed"
        assert body["error"]["code"] == "processing_failed"


def test_an_upload_past_the_retry_window_is_failed(load_api, uploads, lambda_context) -> None:
    api = load_api(PROCESSING_WINDOW_SECONDS="60")
    upload_id = put_record(uploads, status="processing", age=timedelta(seconds=61))

    body = get(api, lambda_context, upload_id)[2]
    assert body["status"] == "failed"
    assert body["error"]["code"] == "processing_timed_out"
    assert get(api, lambda_context, put_record(uploads, status="processing"))[2]["status"] == (
        "processing"
    )


def test_status_reads_only_the_record(api, uploads, s3, lambda_context) -> None:
    """No S3 read, no listing: the status is the record, strongly consistent."""
    upload_id = str(uuid.uuid4())
    put_record(uploads, id=upload_id, **done_record(upload_id))
    for bucket in (UPLOAD_BUCKET, OUTPUT_BUCKET):  # neither bucket is looked at
        s3.delete_bucket(Bucket=bucket)
    assert get(api, lambda_context, upload_id)[2]["status"] == "done"


def put_record(uploads: Any, age: timedelta = timedelta(0), **fields: Any) -> str:
    """An upload record as the functions write it, created ``age`` ago."""
    created = datetime.now(UTC) - age
    item = records.new_item(
        fields.pop("id", str(uuid.uuid4())), None, "a.jpg", "image/jpeg", 10, created, 30
    )
    item.update(startedAt=records.iso(created), **fields)
    assert uploads.create(item)
    return item["id"]


def done_record(upload_id: str) -> dict[str, Any]:
    return {
        "status": "done",
        "source": {
            "key": f"uploads/{upload_id}",
            "bytes": 10,
            "format": "JPEG",
            "width": 4,
            "height": 2,
        },
        "variants": [
            {
                "name": "large",
                "width": 4,
                "height": 2,
                "sources": [
                    {
                        "format": "jpeg",
                        "type": "image/jpeg",
                        "key": f"{upload_id}/large.0123456789ab.jpg",
                        "bytes": 321,
                        "fingerprint": "0123456789ab",
                    }
                ],
            },
            {
                "name": "thumb",
                "width": 2,
                "height": 1,
                "sources": [
                    {
                        "format": "webp",
                        "type": "image/webp",
                        "key": f"{upload_id}/thumb.ba9876543210.webp",
                        "bytes": 99,
                        "fingerprint": "ba9876543210",
                    }
                ],
            },
        ],
        "error": None,
    }


def test_done_upload_lists_variants_with_presigned_urls(api, uploads, lambda_context) -> None:
    upload_id = str(uuid.uuid4())
    put_record(uploads, id=upload_id, **done_record(upload_id))

    status, headers, body = get(api, lambda_context, upload_id)

    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert body["id"] == upload_id
    assert body["status"] == "done"
    assert body["error"] is None
    assert [set(v) for v in body["variants"]] == [
        {"name", "width", "height", "animated", "sources", "picture"}
    ] * 2
    assert [v["animated"] for v in body["variants"]] == [False, False]  # records without frames
    assert body["animation"] is None
    assert {"srcset", "picture", "placeholder"} <= set(body)
    large, thumb = body["variants"]
    assert (large["name"], large["width"], large["height"]) == ("large", 4, 2)
    assert [set(s) for s in large["sources"]] == [{"format", "type", "animated", "url", "bytes"}]
    assert large["sources"][0]["bytes"] == 321
    assert thumb["sources"][0]["type"] == "image/webp"
    for variant, suffix in ((large, "large.0123456789ab.jpg"), (thumb, "thumb.ba9876543210.webp")):
        url = variant["sources"][0]["url"]
        assert OUTPUT_BUCKET in url
        assert urlsplit(url).path.endswith(f"/{upload_id}/{suffix}")
        assert query(url)["X-Amz-Expires"] == "300"
        assert query(url)["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"


def test_animated_upload_says_so_with_frames_duration_and_loop(
    api, uploads, lambda_context
) -> None:
    upload_id = str(uuid.uuid4())
    record = done_record(upload_id)
    record["source"]["animation"] = {"frames": 12, "durationMs": 1200, "loop": 0}
    large, thumb = record["variants"]
    large["sources"][0]["frames"] = 1
    thumb["sources"][0]["frames"] = 12  # the thumbnail's WebP animates, its JPEG does not
    thumb["sources"].append(
        {
            "format": "jpeg",
            "type": "image/jpeg",
            "key": f"{upload_id}/thumb.ba9876543211.jpg",
            "bytes": 50,
            "fingerprint": "ba9876543211",
            "frames": 1,
        }
    )
    put_record(uploads, id=upload_id, **record)

    status, _, body = get(api, lambda_context, upload_id)

    assert status == 200
    assert body["animation"] == {"frames": 12, "durationMs": 1200, "loop": 0}
    assert [(v["name"], v["animated"]) for v in body["variants"]] == [
        ("large", False),
        ("thumb", True),
    ]
    assert [
        (v["name"], s["format"], s["animated"]) for v in body["variants"] for s in v["sources"]
    ] == [("large", "jpeg", False), ("thumb", "webp", True), ("thumb", "jpeg", False)]


def test_rejected_upload_reports_the_error(api, uploads, lambda_context) -> None:
    upload_id = str(uuid.uuid4())
    put_record(
        uploads,
        id=upload_id,
        status="rejected",
        source={
            "key": f"uploads/{upload_id}",
            "bytes": 3,
            "format": None,
            "width": None,
            "height": None,
        },
        variants=[],
        error={"code": "not_an_image", "message": "The file is not a recognised image."},
    )
    status, _, body = get(api, lambda_context, upload_id)
    assert status == 200
    assert body == {
        "id": upload_id,
        "status": "rejected",
        "variants": [],
        "error": {"code": "not_an_image", "message": "The file is not a recognised image."},
    }


@pytest.mark.parametrize("fault", ["bad-status", "foreign-key"])
def test_a_corrupt_record_is_a_logged_500_with_cors(
    api, uploads, lambda_context, capsys, fault
) -> None:
    upload_id = str(uuid.uuid4())
    document = done_record(upload_id)
    if fault == "foreign-key":
        document["variants"][0]["sources"][0]["key"] = "someone-else/large.jpg"
    else:
        document["status"] = "weird"
    put_record(uploads, id=upload_id, **document)

    assert_error(get(api, lambda_context, upload_id), 500, "internal_error")
    errors = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    failure = next(line for line in errors if line["level"] == "ERROR")
    assert failure["upload_id"] == upload_id
    assert "traceback" in failure


# -- CORS ---------------------------------------------------------------------------------


def test_preflight_for_an_allowed_origin(api, lambda_context) -> None:
    status, headers, body = call(api, api_event("api_options_uploads"), lambda_context)
    assert status == 204
    assert body is None
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
    assert headers["Vary"] == "Origin"
    assert set(headers["Access-Control-Allow-Methods"].replace(" ", "").split(",")) >= {
        "GET",
        "POST",
        "OPTIONS",
    }
    assert "content-type" in headers["Access-Control-Allow-Headers"].lower()
    # Chromium's cap (2 h): the longest a browser of the page reuses a preflight.
    assert headers["Access-Control-Max-Age"] == "7200"


def test_preflight_on_the_item_route(api, lambda_context) -> None:
    event = api_event("api_get_upload", method="OPTIONS", upload_id="anything")
    status, headers, _ = call(api, event, lambda_context)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "https://app.example.com.evil.io", None]
)
def test_disallowed_or_missing_origin_gets_no_cors_grant(api, lambda_context, origin) -> None:
    for event in (
        api_event("api_options_uploads", origin=origin),
        api_event(
            "api_post_uploads", origin=origin, body='{"contentType": "image/jpeg", "size": 1}'
        ),
        api_event("api_post_uploads", origin=origin, body="nope"),
    ):
        _, headers, _ = call(api, event, lambda_context)
        assert "Access-Control-Allow-Origin" not in headers
        assert "Access-Control-Allow-Methods" not in headers
        assert headers["Vary"] == "Origin"


def test_origin_header_is_case_insensitive_and_list_is_honoured(load_api, lambda_context) -> None:
    api = load_api(ALLOWED_ORIGINS="https://a.example, http://localhost:8080")
    for origin in ("https://a.example", "http://localhost:8080"):
        event = api_event("api_post_uploads", origin=None, body="{}")
        event["headers"]["oRiGiN"] = origin
        assert call(api, event, lambda_context)[1]["Access-Control-Allow-Origin"] == origin
    event = api_event("api_post_uploads", origin="https://b.example", body="{}")
    assert "Access-Control-Allow-Origin" not in call(api, event, lambda_context)[1]


def test_wildcard_configuration_allows_any_origin(load_api, lambda_context) -> None:
    api = load_api(ALLOWED_ORIGINS="*")
    for origin in ("https://anything.example", None):
        _, headers, _ = call(api, api_event("api_options_uploads", origin=origin), lambda_context)
        assert headers["Access-Control-Allow-Origin"] == "*"


def test_missing_configuration_fails_at_import_naming_the_variable(load_api) -> None:
    from api import config as api_config

    with pytest.raises(api_config.ConfigError, match="UPLOAD_BUCKET"):
        load_api(UPLOAD_BUCKET=None)
