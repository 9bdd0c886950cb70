"""The API's pure parts: configuration, request validation, routes, status body, CORS."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import config as api_config
from api import core as api_core
from api import cors
from common import s3_client
from support.lambda_env import API_ENV

ALLOWED_TYPES = ("image/jpeg", "image/png")
MAX_BYTES = 1000
UPLOAD_ID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


def parse(body: object, is_base64: object = False) -> api_core.CreateUpload:
    return api_core.parse_create_upload(body, is_base64, ALLOWED_TYPES, MAX_BYTES)


# -- configuration ------------------------------------------------------------------------


def test_full_configuration() -> None:
    config = api_config.load_config(API_ENV)
    assert config == api_config.ApiConfig(
        upload_bucket="sip-uploads-test",
        output_bucket="sip-output-test",
        upload_prefix="uploads/",
        allowed_content_types=("image/jpeg", "image/png", "image/webp", "image/gif"),
        max_upload_bytes=20971520,
        upload_url_ttl_seconds=60,
        download_url_ttl_seconds=300,
        allowed_origins=("https://app.example.com",),
        log_level="INFO",
        uploads_table="sip-uploads-test",
        record_retention_days=30,
    )
    assert not config.allows_any_origin


def test_defaults() -> None:
    config = api_config.load_config(
        {"UPLOAD_BUCKET": "u", "OUTPUT_BUCKET": "o", "ALLOWED_ORIGINS": "*", "UPLOADS_TABLE": "t"}
    )
    assert config.upload_url_ttl_seconds == 60
    assert config.download_url_ttl_seconds == 300
    assert config.upload_prefix == "uploads/"
    assert config.allows_any_origin


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("UPLOAD_BUCKET", ""),
        ("OUTPUT_BUCKET", "  "),
        ("ALLOWED_ORIGINS", ""),
        ("ALLOWED_ORIGINS", "example.com"),
        ("ALLOWED_ORIGINS", "https://example.com/path"),
        ("ALLOWED_CONTENT_TYPES", "jpeg"),
        ("MAX_UPLOAD_BYTES", "0"),
        ("MAX_UPLOAD_BYTES", "1.5"),
        ("UPLOAD_URL_TTL_SECONDS", "0"),
        ("UPLOAD_URL_TTL_SECONDS", "3601"),
        ("DOWNLOAD_URL_TTL_SECONDS", "soon"),
        ("UPLOAD_PREFIX", "uploads"),
        ("LOG_LEVEL", "chatty"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, value: str) -> None:
    with pytest.raises(api_config.ConfigError) as caught:
        api_config.load_config({**API_ENV, variable: value})
    assert caught.value.variable == variable
    assert variable in str(caught.value)


def test_origins_and_types_are_normalised() -> None:
    config = api_config.load_config(
        {
            **API_ENV,
            "ALLOWED_ORIGINS": " https://A.example/ ,http://localhost:3000",
            "ALLOWED_CONTENT_TYPES": "IMAGE/JPEG, image/png",
        }
    )
    assert config.allowed_origins == ("https://a.example", "http://localhost:3000")
    assert config.allowed_content_types == ("image/jpeg", "image/png")


# -- S3 client configuration --------------------------------------------------------------


def test_client_uses_regional_virtual_host_urls_on_aws() -> None:

    environ = {"AWS_REGION": "eu-west-1"}
    client = s3_client.make_client(environ)
    url = client.generate_presigned_url(
        "put_object", Params={"Bucket": "sip-uploads-abc123", "Key": "uploads/x"}, ExpiresIn=60
    )
    assert url.startswith("https://sip-uploads-abc123.s3.eu-west-1.amazonaws.com/uploads/x?")
    assert "X-Amz-Signature=" in url


def test_client_honours_the_emulator_endpoint(monkeypatch) -> None:
    import os

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    client = s3_client.make_client(os.environ)
    url = client.generate_presigned_url(
        "put_object", Params={"Bucket": "sip-uploads-abc123", "Key": "uploads/x"}, ExpiresIn=60
    )
    assert url.startswith("http://127.0.0.1:4566/sip-uploads-abc123/uploads/x?")


# -- request validation -------------------------------------------------------------------


def test_valid_request() -> None:
    body = json.dumps({"contentType": "image/png", "size": 1000, "filename": "x.png", "extra": 1})
    assert parse(body) == api_core.CreateUpload("image/png", 1000, "x.png")


def test_body_size_limit_is_4_kib() -> None:
    padding = 4096 - len('{"contentType":"image/png","size":1,"p":""}')
    exactly = '{"contentType":"image/png","size":1,"p":"' + "x" * padding + '"}'
    assert len(exactly.encode()) == 4096
    assert parse(exactly).size == 1
    with pytest.raises(api_core.ApiError) as caught:
        parse(exactly[:-2] + 'x"}')
    assert (caught.value.status, caught.value.code) == (413, "body_too_large")


def test_invalid_utf8_is_invalid_json() -> None:
    with pytest.raises(api_core.ApiError) as caught:
        parse("\ud800")
    assert caught.value.code == "invalid_json"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "contentType": json_values | st.sampled_from([*ALLOWED_TYPES, "IMAGE/PNG", "text/plain"]),
        "size": json_values | st.integers(min_value=-5, max_value=2 * MAX_BYTES),
        "filename": json_values | st.text(max_size=300),
    },
)


def outcome(body: object, is_base64: object) -> api_core.CreateUpload | api_core.ApiError:
    try:
        return parse(body, is_base64)
    except api_core.ApiError as error:
        return error


def check_outcome(body: object, is_base64: object = False) -> None:
    result = outcome(body, is_base64)
    if isinstance(result, api_core.ApiError):
        assert 400 <= result.status < 500
        assert re.fullmatch(r"[a-z_]+", result.code)
        assert result.message
        return
    assert result.content_type in ALLOWED_TYPES
    assert type(result.size) is int
    assert 0 < result.size <= MAX_BYTES
    assert result.filename is None or (
        isinstance(result.filename, str) and len(result.filename) <= 255
    )


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(request_like, json_values))
def test_any_json_body_gives_a_request_or_a_client_error(value: object) -> None:
    check_outcome(json.dumps(value))


@settings(max_examples=60, deadline=None)
@given(
    st.one_of(st.none(), st.text(max_size=200), st.binary(max_size=50)),
    st.sampled_from([False, True, None, "true"]),
)
def test_any_raw_body_gives_a_request_or_a_client_error(body: object, is_base64: object) -> None:
    check_outcome(body, is_base64)


# -- routes and ids -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ({"resource": "/uploads", "path": "/uploads"}, api_core.Route("/uploads")),
        (
            {"resource": "/uploads/{id}", "pathParameters": {"id": UPLOAD_ID}},
            api_core.Route("/uploads/{id}", UPLOAD_ID),
        ),
        (
            {"resource": "/uploads/{id}", "pathParameters": None},
            api_core.Route("/uploads/{id}", ""),
        ),
        ({"path": "/uploads/"}, api_core.Route("/uploads")),
        ({"path": "/uploads/a/b"}, api_core.Route("/uploads/{id}", "a/b")),
        ({"path": "/other"}, None),
        ({}, None),
        (
            {"resource": "/uploads/{id}/parts", "pathParameters": {"id": UPLOAD_ID}},
            api_core.Route("/uploads/{id}/parts", UPLOAD_ID),
        ),
        ({"path": f"/uploads/{UPLOAD_ID}/parts"}, api_core.Route("/uploads/{id}/parts", UPLOAD_ID)),
        (
            {"path": f"/uploads/{UPLOAD_ID}/complete/"},
            api_core.Route("/uploads/{id}/complete", UPLOAD_ID),
        ),
        ({"path": "/uploads/a/b/parts"}, api_core.Route("/uploads/{id}", "a/b/parts")),
    ],
)
def test_resolve_route(event, expected) -> None:
    assert api_core.resolve_route(event) == expected


def test_the_routes_of_the_rule_set_without_and_with_sign_in() -> None:
    # The 405's Allow header lists them in this order (then OPTIONS).
    multipart = {
        "/uploads/{id}/parts": ("GET", "POST", "DELETE"),
        "/uploads/{id}/complete": ("POST",),
    }
    assert api_core.route_methods(False) == {
        "/uploads": ("POST",),
        "/uploads/{id}": ("GET",),
        **multipart,
    }
    assert api_core.route_methods(True) == {
        "/uploads": ("GET", "POST"),
        "/uploads/{id}": ("GET", "DELETE"),
        **multipart,
    }
    assert api_core.route_table(False) == {
        ("POST", "/uploads"): "create_upload",
        ("GET", "/uploads/{id}"): "get_upload",
        ("GET", "/uploads/{id}/parts"): "list_parts",
        ("POST", "/uploads/{id}/parts"): "grant_parts",
        ("DELETE", "/uploads/{id}/parts"): "abort_upload",
        ("POST", "/uploads/{id}/complete"): "complete_upload",
    }
    assert set(api_core.route_table(True).values()) == {
        "create_upload",
        "get_upload",
        "list_uploads",
        "delete_upload",
        "list_parts",
        "grant_parts",
        "abort_upload",
        "complete_upload",
    }
    allowed = api_core.method_not_allowed("/uploads/{id}", api_core.route_methods(True))
    assert allowed.headers == {"Allow": "GET, DELETE, OPTIONS"}


def test_a_route_naming_a_missing_handler_fails_when_the_table_is_bound() -> None:
    def create_upload() -> None: ...

    table = {("POST", "/uploads"): "create_upload", ("GET", "/uploads/{id}"): "get_upload"}
    with pytest.raises(RuntimeError, match="missing handlers: get_upload"):
        api_core.bind_routes(table, {"create_upload": create_upload})
    bound = api_core.bind_routes({("POST", "/uploads"): "create_upload"}, locals())
    assert bound == {("POST", "/uploads"): create_upload}


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([{"path": "/other", "method": "GET", "handler": "h", "auth": "any"}], "not resolved"),
        ([{"path": "/uploads", "method": "FETCH", "handler": "h", "auth": "any"}], "unknown"),
        ([{"path": "/uploads", "method": "GET", "handler": "h", "auth": "admin"}], "unknown"),
        ([{"path": "/uploads", "method": "GET", "handler": "h", "auth": "any"}] * 2, "twice"),
    ],
)
def test_the_rule_sets_routes_are_checked_at_import(routes, message) -> None:
    with pytest.raises(ValueError, match=message):
        api_core._route_rules(routes)


def test_header_lookup_is_case_insensitive() -> None:
    event = {"headers": {"ORIGIN": "https://x"}, "multiValueHeaders": None}
    assert api_core.header(event, "origin") == "https://x"
    assert (
        api_core.header({"multiValueHeaders": {"origin": ["https://y"]}}, "Origin") == "https://y"
    )
    assert api_core.header({"headers": None}, "Origin") is None


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_only_canonical_uuid4_ids_are_accepted(raw: str) -> None:
    canonical = re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", raw
    )
    if canonical:
        assert api_core.parse_upload_id(raw) == raw
    else:
        with pytest.raises(api_core.ApiError) as caught:
            api_core.parse_upload_id(raw)
        assert (caught.value.status, caught.value.code) == (400, "invalid_id")


@pytest.mark.parametrize("raw", [UPLOAD_ID, "00000000-0000-4000-8000-000000000000"])
def test_valid_ids(raw: str) -> None:
    assert api_core.parse_upload_id(raw) == raw


# -- status body --------------------------------------------------------------------------


def test_a_record_from_before_formats_reads_as_sizes_with_one_source() -> None:
    """Records written before a size had formats (one output per variant) still answer."""
    record = {
        "id": UPLOAD_ID,
        "status": "done",
        "variants": [
            {
                "name": "a",
                "key": f"{UPLOAD_ID}/a.jpg",
                "width": 1,
                "height": 1,
                "contentType": "image/jpeg",
                "bytes": 5,
            }
        ],
    }
    policy = api_core.RetryPolicy(attempts=3, window_seconds=420)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    body = api_core.record_status_body(record, now, policy, 60, lambda key: f"signed:{key}")
    assert body["variants"][0]["sources"] == [
        {
            "format": "jpeg",
            "type": "image/jpeg",
            "animated": False,
            "url": f"signed:{UPLOAD_ID}/a.jpg",
            "bytes": 5,
        }
    ]
    assert body["variants"][0]["animated"] is False
    record["variants"][0]["key"] = "other/a.jpg"
    with pytest.raises(ValueError, match="foreign key"):
        api_core.record_status_body(record, now, policy, 60, lambda key: key)


# -- CORS ---------------------------------------------------------------------------------


def test_cors_headers() -> None:
    allowed = ("https://a.example",)
    assert cors.cors_headers("https://a.example", allowed) == {
        "Vary": "Origin",
        "Access-Control-Allow-Origin": "https://a.example",
    }
    assert cors.cors_headers("https://b.example", allowed) == {"Vary": "Origin"}
    assert cors.cors_headers(None, allowed) == {"Vary": "Origin"}
    assert cors.cors_headers(None, ("*",))["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Methods" not in cors.preflight_headers(
        "https://b.example", allowed
    )
    assert cors.preflight_headers("https://a.example", allowed)["Access-Control-Allow-Methods"]


def test_a_wildcard_among_origins_allows_every_origin() -> None:
    """variables.tf accepts allowed_origins = ["*"]; main.tf joins the page's origin to it."""
    config = api_config.load_config(
        {**API_ENV, "ALLOWED_ORIGINS": "https://page.example,*,https://other.example"}
    )
    assert config.allowed_origins == ("*",)
    assert config.allows_any_origin
