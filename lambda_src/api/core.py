"""Pure core of the API function: routing, request validation and response bodies.

No AWS here: the handler passes in what it read from S3 and a URL-signing callable.

* :func:`resolve_route` maps an API Gateway REST (proxy, format 1.0) event to a route.
* :func:`parse_create_upload` validates the ``POST /uploads`` body, raising
  :class:`ApiError` (always a 4xx) for anything a client could send.
* :func:`parse_upload_id` accepts only canonical lower-case UUID4 strings.
* :func:`route_table` and :func:`route_methods` derive the dispatch table and the 405's
  ``Allow`` header from the routes of ``common/rules.json``.
* :func:`record_status_body` builds the ``GET /uploads/{id}`` answer from the upload's record:
  per size its sources (one per format, with URLs from the delivery seam), per format a
  ``srcset`` and a ``<picture>`` snippet (:mod:`api.embed`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from api import embed
from common import contract
from common.records import parse_iso

MAX_BODY_BYTES = 4096
MAX_FILENAME_CHARS = 255

ROUTE_UPLOADS = "/uploads"
ROUTE_UPLOAD = "/uploads/{id}"
ROUTE_AUTH = ("any", "signed_in")  # signed_in: only with sign-in (auth = "cognito")
ROUTE_METHOD_NAMES = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")


@dataclass(frozen=True)
class RouteRule:
    """One route of ``rules.json``: the path template, the method, the name of the
    ``api/handler.py`` function answering it and who may call it (:data:`ROUTE_AUTH`)."""

    path: str
    method: str
    handler: str
    auth: str


def _route_rules(raw: Any) -> tuple[RouteRule, ...]:
    """The rule set's routes, checked once at import: a path :func:`resolve_route` knows, a
    method, an ``auth`` of :data:`ROUTE_AUTH`, and no (method, path) twice."""
    rules = tuple(RouteRule(**entry) for entry in raw)
    for rule in rules:
        if rule.path not in (ROUTE_UPLOADS, ROUTE_UPLOAD):
            raise ValueError(f"rules.json route path {rule.path!r} is not resolved by api/core.py")
        if rule.method not in ROUTE_METHOD_NAMES or rule.auth not in ROUTE_AUTH:
            raise ValueError(f"rules.json route {rule} has an unknown method or auth")
    if len({(rule.method, rule.path) for rule in rules}) != len(rules):
        raise ValueError("rules.json lists a route twice")
    return rules


ROUTES: tuple[RouteRule, ...] = _route_rules(contract.RULES["routes"])


def routes(signed_in: bool) -> tuple[RouteRule, ...]:
    """The routes this deployment serves: with sign-in every one, else the ``any`` ones."""
    return tuple(rule for rule in ROUTES if signed_in or rule.auth == "any")


def route_methods(signed_in: bool) -> dict[str, tuple[str, ...]]:
    """Path template -> its methods, in the rule set's order (the 405's Allow header)."""
    methods: dict[str, tuple[str, ...]] = {}
    for rule in routes(signed_in):
        methods[rule.path] = (*methods.get(rule.path, ()), rule.method)
    return methods


def route_table(signed_in: bool) -> dict[tuple[str, str], str]:
    """(method, path template) -> the name of the handler function answering it."""
    return {(rule.method, rule.path): rule.handler for rule in routes(signed_in)}


def bind_routes(
    table: Mapping[tuple[str, str], str], handlers: Mapping[str, Callable[..., Any]]
) -> dict[tuple[str, str], Callable[..., Any]]:
    """The dispatch table: each route's handler function, looked up once (at import). A route
    naming a function that is not among ``handlers`` fails here, not at its first request."""
    missing = sorted({name for name in table.values() if name not in handlers})
    if missing:
        raise RuntimeError(f"rules.json routes name missing handlers: {', '.join(missing)}")
    return {key: handlers[name] for key, name in table.items()}


class ApiError(Exception):
    """A client error: HTTP ``status`` with body ``{"error": code, "message": message}``."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})  # e.g. Retry-After on a 429

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


@dataclass(frozen=True)
class Route:
    template: str  # ROUTE_UPLOADS or ROUTE_UPLOAD
    raw_id: str | None = None


@dataclass(frozen=True)
class CreateUpload:
    content_type: str
    size: int
    filename: str | None


# -- routing ------------------------------------------------------------------------------


def resolve_route(event: Mapping[str, Any]) -> Route | None:
    """Return the route of a proxy event, or ``None`` for an unknown path."""
    resource = event.get("resource")
    if resource == ROUTE_UPLOADS:
        return Route(ROUTE_UPLOADS)
    if resource == ROUTE_UPLOAD:
        parameters = event.get("pathParameters") or {}
        raw_id = parameters.get("id") if isinstance(parameters, Mapping) else None
        return Route(ROUTE_UPLOAD, raw_id if isinstance(raw_id, str) else "")
    return _route_from_path(event.get("path"))


def _route_from_path(path: Any) -> Route | None:
    if not isinstance(path, str):
        return None
    path = path.rstrip("/") or "/"
    if path == ROUTE_UPLOADS:
        return Route(ROUTE_UPLOADS)
    if path.startswith(ROUTE_UPLOADS + "/"):
        return Route(ROUTE_UPLOAD, path[len(ROUTE_UPLOADS) + 1 :])
    return None


def method_not_allowed(template: str, methods: Mapping[str, tuple[str, ...]]) -> ApiError:
    allowed = ", ".join((*methods.get(template, ()), "OPTIONS"))
    return ApiError(405, "method_not_allowed", f"Use one of: {allowed}.", {"Allow": allowed})


def not_found_route() -> ApiError:
    return ApiError(404, "not_found", "No such resource.")


def header(event: Mapping[str, Any], name: str) -> str | None:
    """Case-insensitive single header value from a proxy event."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if isinstance(key, str) and key.lower() == wanted and isinstance(value, str):
            return value
    for key, values in (event.get("multiValueHeaders") or {}).items():
        if isinstance(key, str) and key.lower() == wanted and values:
            return str(values[0])
    return None


# -- POST /uploads ------------------------------------------------------------------------


def parse_create_upload(
    body: Any,
    is_base64_encoded: Any,
    allowed_content_types: tuple[str, ...],
    max_upload_bytes: int,
) -> CreateUpload:
    """Validate the JSON body of ``POST /uploads``; raise :class:`ApiError` on any problem."""
    payload = decode_json_object(body, is_base64_encoded)
    content_type = _content_type(payload, allowed_content_types)
    size = _size(payload, max_upload_bytes)
    return CreateUpload(content_type=content_type, size=size, filename=_filename(payload))


def decode_json_object(body: Any, is_base64_encoded: Any) -> dict[str, Any]:
    raw = _body_bytes(body, is_base64_encoded)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(
            413, "body_too_large", f"The request body must be at most {MAX_BODY_BYTES} bytes."
        )
    if not raw.strip():
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    try:
        payload = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_request", "The request body must be a JSON object.")
    return payload


def _body_bytes(body: Any, is_base64_encoded: Any) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise ApiError(400, "invalid_json", "The request body must be a JSON object.")
    if len(body) > 2 * MAX_BODY_BYTES:  # cheap early exit before any decoding
        raise ApiError(
            413, "body_too_large", f"The request body must be at most {MAX_BODY_BYTES} bytes."
        )
    if is_base64_encoded is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise ApiError(400, "invalid_json", "The request body is not valid base64.") from None
    return body.encode("utf-8", errors="surrogatepass")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _content_type(payload: dict[str, Any], allowed: tuple[str, ...]) -> str:
    value = payload.get("contentType")
    if not isinstance(value, str):
        raise ApiError(400, "invalid_request", "'contentType' is required and must be a string.")
    normalised = value.strip().lower()
    if normalised not in allowed:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content type {value[:100]!r} is not allowed; use one of: {', '.join(allowed)}.",
        )
    return normalised


def _size(payload: dict[str, Any], max_upload_bytes: int) -> int:
    if "size" not in payload:
        raise ApiError(400, "invalid_request", "'size' is required (the file size in bytes).")
    value = payload["size"]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ApiError(400, "invalid_size", "'size' must be a positive integer number of bytes.")
    if value > max_upload_bytes:
        raise ApiError(
            413, "file_too_large", f"The file is too large: the limit is {max_upload_bytes} bytes."
        )
    return value


def _filename(payload: dict[str, Any]) -> str | None:
    value = payload.get("filename")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_FILENAME_CHARS:
        raise ApiError(
            400,
            "invalid_request",
            f"'filename' must be a string of at most {MAX_FILENAME_CHARS} characters.",
        )
    return value


def create_upload_body(
    upload_id: str, upload_url: str, content_type: str, expires_in: int, max_bytes: int
) -> dict[str, Any]:
    return {
        "id": upload_id,
        "uploadUrl": upload_url,
        "method": "PUT",
        "headers": {"Content-Type": content_type, "If-None-Match": "*"},
        "expiresIn": expires_in,
        "maxBytes": max_bytes,
    }


# -- GET /uploads/{id} --------------------------------------------------------------------


def parse_upload_id(raw: str | None) -> str:
    if raw is None or not contract.is_upload_id(raw):
        raise ApiError(400, "invalid_id", "The upload id must be a lower-case UUID version 4.")
    return raw


def upload_not_found() -> ApiError:
    return ApiError(404, "not_found", "No upload with this id.")


def owned_by(item: Mapping[str, Any] | None, owner: str | None) -> Mapping[str, Any] | None:
    """The record if ``owner`` may see it (``None``: no sign-in, every record is visible).

    Another user's upload is answered exactly like a missing one (404, never 403), so an id
    tells nobody whether it exists."""
    if item is None or owner is None:
        return item
    return item if item.get("owner") == owner else None


@dataclass(frozen=True)
class RetryPolicy:
    """When the processor has given up on an upload that has no manifest."""

    attempts: int  # 1 + the S3 trigger's maximum_retry_attempts
    window_seconds: int  # after the upload, the latest time an attempt can still end


# A record still waiting for its original this long after the grant expired never got one.
AWAITING_UPLOAD_GRACE_SECONDS = 300


def tombstone_seconds(upload_url_ttl_seconds: int, policy: RetryPolicy) -> int:
    """How long a deleted upload's tombstone must outlive the DELETE: a PUT with a URL granted
    before it may still arrive (the URL's lifetime), then every processor attempt on that
    original must still find it (the retry window), plus the same grace as above."""
    return upload_url_ttl_seconds + policy.window_seconds + AWAITING_UPLOAD_GRACE_SECONDS


def record_status_body(
    item: Mapping[str, Any],
    now: datetime,
    policy: RetryPolicy,
    upload_url_ttl_seconds: int,
    sign_url: Callable[[str], str],
) -> dict[str, Any]:
    """The ``GET /uploads/{id}`` body from the upload's record (common/records.py).

    ``awaiting_upload`` reads as ``processing`` while the original may still arrive and as 404
    once its URL has long expired; ``processing`` turns ``failed`` when the retry policy says
    every attempt is over (:func:`failure_of`).
    """
    upload_id = item["id"]
    status = item["status"]
    if status == "deleted":  # a tombstone: nothing of the upload exists any more
        raise upload_not_found()
    if status == "awaiting_upload":
        waited = (now - parse_iso(item["createdAt"])).total_seconds()
        if waited > upload_url_ttl_seconds + AWAITING_UPLOAD_GRACE_SECONDS:
            raise ApiError(404, "not_found", "No file was uploaded with this id's upload URL.")
        return _pending_body(upload_id, None)
    if status == "processing":
        started = parse_iso(item.get("startedAt") or item["createdAt"])
        failure = failure_of(
            {"attempts": item.get("failedAttempts", 0)}, (now - started).total_seconds(), policy
        )
        return _pending_body(upload_id, failure)
    if status == "failed":
        return _pending_body(upload_id, _public_error(item.get("error")))
    return _outcome_body(upload_id, item, sign_url)


def _pending_body(upload_id: str, failure: Mapping[str, str] | None) -> dict[str, Any]:
    status = contract.Status.FAILED if failure else contract.Status.PROCESSING
    return {"id": upload_id, "status": status, "variants": [], "error": failure}


def failure_of(
    failure: Mapping[str, Any] | None, age_seconds: float, policy: RetryPolicy
) -> dict[str, str] | None:
    """The ``error`` of a ``failed`` upload, or ``None`` while it may still be processed."""
    attempts = failure.get("attempts") if failure else 0
    if isinstance(attempts, int) and attempts >= policy.attempts:
        return {
            "code": "processing_failed",
            "message": f"Processing failed {attempts} times; the operators have been notified.",
        }
    if age_seconds > policy.window_seconds:
        return {
            "code": "processing_timed_out",
            "message": "Processing did not finish in time; the operators have been notified.",
        }
    return None


def _outcome_body(
    upload_id: str, record: Mapping[str, Any], sign_url: Callable[[str], str]
) -> dict[str, Any]:
    """The body of an upload with an outcome: ``done`` (its variants, signed) or ``rejected``."""
    status = record.get("status")
    if status not in (contract.Status.DONE, contract.Status.REJECTED):
        raise ValueError(f"record of {upload_id} has an invalid status {status!r}")
    variants = [_public_variant(upload_id, item, sign_url) for item in record.get("variants") or []]
    body = {
        "id": upload_id,
        "status": status,
        "variants": variants if status == contract.Status.DONE else [],
        "error": _public_error(record.get("error")) if status == contract.Status.REJECTED else None,
    }
    if status == contract.Status.DONE:  # what a page shows while the variants load
        body["placeholder"] = _public_placeholder(record.get("placeholder"))
        body["animation"] = _public_animation(record.get("source"))
        body["srcset"] = embed.srcsets(variants)  # and what a site needs to embed them
        body["picture"] = embed.picture_html(variants)
    return body


def _public_variant(
    upload_id: str, item: Mapping[str, Any], sign_url: Callable[[str], str]
) -> dict[str, Any]:
    """One size of the record: its width, height and one source per format (preference
    order), each with the URL the delivery seam gives its key."""
    size = {
        "name": item["name"],
        "width": item["width"],
        "height": item["height"],
        "animated": any(int(source.get("frames") or 1) > 1 for source in _stored_sources(item)),
        "sources": [
            _public_source(upload_id, source, sign_url) for source in _stored_sources(item)
        ],
    }
    size["picture"] = embed.size_picture_html(size)
    return size


def _stored_sources(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A size's stored sources; a record written before sizes had formats held one output
    per variant (``key``, ``contentType``, ``bytes``): that is a size with one source."""
    if "sources" in item:
        return list(item["sources"])
    content_type = item["contentType"]
    formats = [
        name
        for name, spec in contract.OUTPUT_FORMATS.items()
        if spec["content_type"] == content_type
    ]
    return [
        {
            "format": formats[0] if formats else None,
            "type": content_type,
            "key": item["key"],
            "bytes": item["bytes"],
        }
    ]


def _public_source(
    upload_id: str, source: Mapping[str, Any], sign_url: Callable[[str], str]
) -> dict[str, Any]:
    key = source["key"]
    if not isinstance(key, str) or not contract.is_key_of(upload_id, key):
        raise ValueError(f"record of {upload_id} names a foreign key {key!r}")
    return {
        "format": source["format"],
        "type": source["type"],
        "animated": int(source.get("frames") or 1) > 1,
        "url": sign_url(key),
        "bytes": source["bytes"],
    }


def _public_animation(source: Any) -> dict[str, int] | None:
    """``{frames, durationMs, loop}`` of an animated upload, else None (and for older records)."""
    animation = source.get("animation") if isinstance(source, Mapping) else None
    if not isinstance(animation, Mapping):
        return None
    return {key: int(animation[key]) for key in ("frames", "durationMs", "loop")}


def _public_placeholder(placeholder: Any) -> dict[str, Any] | None:
    """``{thumbhash, color, aspectRatio}`` of a done upload (None for older records)."""
    if not isinstance(placeholder, Mapping):
        return None
    return {
        "thumbhash": str(placeholder.get("thumbhash", "")),
        "color": str(placeholder.get("color", "")),
        "aspectRatio": placeholder.get("aspectRatio"),
    }


def _public_error(error: Any) -> dict[str, str]:
    if isinstance(error, Mapping):
        return {
            "code": str(error.get("code", "rejected")),
            "message": str(error.get("message", "")),
        }
    return {"code": "rejected", "message": "The image was rejected."}


# -- responses ----------------------------------------------------------------------------


def json_response(
    status: int, body: Mapping[str, Any] | None, headers: Mapping[str, str]
) -> dict[str, Any]:
    """A Lambda proxy response with a JSON body and API-wide headers."""
    return {
        "statusCode": status,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            **headers,
        },
        "body": "" if body is None else json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }
