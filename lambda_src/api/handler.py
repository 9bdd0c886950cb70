"""API Lambda (handler ``api.handler.handler``): ``POST /uploads`` and ``GET /uploads/{id}``.

API Gateway REST, Lambda proxy integration (payload format 1.0); the ``OPTIONS`` preflight
is proxied here too. Every response is JSON and carries the CORS headers of :mod:`cors`.
Client mistakes are 4xx with ``{"error": code, "message": ...}``; anything unexpected is
logged with its traceback and answered ``500 internal_error``.
"""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from api import config as api_config
from api import core as api_core
from api import cors
from api.storage import S3Storage
from common import jsonlog, records, s3_client, tracing
from common import table as uploads_table

CONFIG = api_config.load_config(os.environ)
LOG = jsonlog.JsonLogger("api", CONFIG.log_level)
S3 = s3_client.make_client()
STORE = S3Storage(S3, CONFIG)
TABLE = uploads_table.UploadsTable(uploads_table.make_client(), CONFIG.uploads_table)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    started = time.perf_counter()
    request_id = getattr(context, "aws_request_id", None)
    method = str(event.get("httpMethod") or "").upper()
    origin = api_core.header(event, "Origin")
    api_request_id, trace_id = request_ids(event)
    with LOG.bound(request_id=request_id, api_request_id=api_request_id, trace_id=trace_id):
        route = api_core.resolve_route(event)
        status, body, extra_headers = dispatch(method, route, event)
        response = api_core.json_response(
            status, body, {**cors.cors_headers(origin, CONFIG.allowed_origins), **extra_headers}
        )
        if method == "OPTIONS" and status == 204:
            response["headers"].update(cors.preflight_headers(origin, CONFIG.allowed_origins))
        LOG.info(
            "request handled",
            method=method,
            route=route.template if route else None,
            status=status,
            origin_allowed=cors.is_origin_allowed(origin, CONFIG.allowed_origins),
            duration_ms=round((time.perf_counter() - started) * 1000.0, 3),
        )
        return response


Result = tuple[int, dict[str, Any] | None, dict[str, str]]


def request_ids(event: dict[str, Any]) -> tuple[str | None, str | None]:
    """API Gateway's request id and the X-Ray trace id (Lambda's, else the request header)."""
    context = event.get("requestContext")
    api_request_id = context.get("requestId") if isinstance(context, dict) else None
    trace_id = tracing.current_trace_id() or tracing.parse_root(
        api_core.header(event, "X-Amzn-Trace-Id")
    )
    return (str(api_request_id) if api_request_id else None), trace_id


def dispatch(method: str, route: api_core.Route | None, event: dict[str, Any]) -> Result:
    try:
        if route is None:
            raise api_core.not_found_route()
        if method == "OPTIONS":
            return 204, None, {}
        if method not in api_core.ROUTE_METHODS[route.template]:
            raise api_core.method_not_allowed(route.template)
        if route.template == api_core.ROUTE_UPLOADS:
            return 201, create_upload(event), {}
        return 200, get_upload(route.raw_id), {}
    except api_core.ApiError as error:
        LOG.info("client error", status=error.status, error_code=error.code)
        extra = {"Allow": _allow(route)} if error.status == 405 and route else {}
        return error.status, error.body(), extra
    except Exception:
        LOG.exception("request failed")
        body = {"error": "internal_error", "message": "Internal server error."}
        return 500, body, {}


def _allow(route: api_core.Route) -> str:
    return ", ".join((*api_core.ROUTE_METHODS[route.template], "OPTIONS"))


def create_upload(event: dict[str, Any]) -> dict[str, Any]:
    request = api_core.parse_create_upload(
        event.get("body"),
        event.get("isBase64Encoded"),
        CONFIG.allowed_content_types,
        CONFIG.max_upload_bytes,
    )
    upload_id = record_new_upload(request, event)
    LOG.bind(upload_id=upload_id)
    started = time.perf_counter()
    url = STORE.presign_upload(upload_id, request.content_type, request.size)
    LOG.info(
        "upload created",
        content_type=request.content_type,
        size=request.size,
        presign_ms=round((time.perf_counter() - started) * 1000.0, 3),
    )
    return api_core.create_upload_body(
        upload_id,
        url,
        request.content_type,
        CONFIG.upload_url_ttl_seconds,
        CONFIG.max_upload_bytes,
    )


def record_new_upload(request: api_core.CreateUpload, event: dict[str, Any]) -> str:
    """Write the upload's record before any URL exists: a fresh id, never overwriting one.

    The record keeps the request's API Gateway id and X-Ray trace: the processor logs them."""
    api_request_id, trace_id = request_ids(event)
    for _ in range(3):
        upload_id = str(uuid.uuid4())
        item = records.new_item(
            upload_id,
            records.ANONYMOUS_OWNER,
            request.filename,
            request.content_type,
            request.size,
            datetime.now(UTC),
            CONFIG.record_retention_days,
            api_request_id=api_request_id,
            trace_id=trace_id,
        )
        if TABLE.create(item):
            return upload_id
        LOG.warning("upload id already recorded; drawing another", upload_id=upload_id)
    raise RuntimeError("three random upload ids in a row were taken")


def get_upload(raw_id: str | None) -> dict[str, Any]:
    upload_id = api_core.parse_upload_id(raw_id)
    LOG.bind(upload_id=upload_id)
    watch = jsonlog.Stopwatch()
    with watch.stage("record"):
        item = TABLE.get(upload_id)
    if item is None:
        raise api_core.upload_not_found()
    with watch.stage("sign"):
        body = api_core.record_status_body(
            item,
            datetime.now(UTC),
            CONFIG.retries,
            CONFIG.upload_url_ttl_seconds,
            STORE.presign_download,
        )
    LOG.info("upload status", status=body["status"], timings_ms=watch.timings_ms)
    return body
