"""API Lambda (handler ``api.handler.handler``): ``POST /uploads`` and ``GET /uploads/{id}``;
with sign-in (``AUTH_MODE=cognito``) also ``GET /uploads`` and ``DELETE /uploads/{id}``.

The routes are the ``routes`` of ``common/rules.json`` (the API Gateway methods are made from
the same list): each names the function here that answers it, registered with
:func:`route_handler`; :data:`ROUTES` binds them once, at import.

API Gateway REST, Lambda proxy integration (payload format 1.0); the ``OPTIONS`` preflight
is proxied here too and is always anonymous. Every response is JSON and carries the CORS
headers of :mod:`cors`. Client mistakes are 4xx with ``{"error": code, "message": ...}``;
anything unexpected is logged with its traceback and answered ``500 internal_error``.

With sign-in every other request must carry a valid Cognito ID token (:mod:`api.auth`, checked
here even where API Gateway's authorizer already did): its ``sub`` owns what the request
creates, and only its owner sees, lists or deletes an upload (another user's id is a 404).
A token whose session began before the user's revocation time (``tools/users.py disable`` or
``sign-out``, read from the quota table and cached per container up to 30 s) is a 401 too.
``POST /uploads`` counts against the caller's daily quota before anything is signed, and
gives the charge back when the request then fails (README "Quotas"). ``DELETE`` leaves a
tombstone the processor respects (:func:`delete_upload`).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from api import accounts, cors, multipart
from api import auth as api_auth
from api import config as api_config
from api import core as api_core
from api import delivery as api_delivery
from api.storage import S3Storage
from common import event_bus, events, jsonlog, records, s3_client, tracing
from common import table as uploads_table

CONFIG = api_config.load_config(os.environ)
LOG = jsonlog.JsonLogger("api", CONFIG.log_level)
S3 = s3_client.make_client()
STORE = S3Storage(S3, CONFIG)
DYNAMODB = uploads_table.make_client()
TABLE = uploads_table.UploadsTable(DYNAMODB, CONFIG.uploads_table)
QUOTAS = uploads_table.UploadsTable(DYNAMODB, CONFIG.quota_table) if CONFIG.quota_table else None
METHODS = api_core.route_methods(CONFIG.signed_in)
EVENT_SETTINGS = event_bus.settings_from(os.environ)
BUS = event_bus.EventBus(
    event_bus.make_client() if EVENT_SETTINGS.enabled else None, EVENT_SETTINGS
)


def load_signing_key() -> api_delivery.Signer:
    """The CloudFront signing key (signed mode), read once per container from its SSM
    SecureString parameter (docs/cdn.md: never in the repository, the state or the code)."""
    import boto3

    name = CONFIG.delivery.private_key_parameter
    answer = boto3.client("ssm").get_parameter(Name=name, WithDecryption=True)
    LOG.info("signing key loaded", parameter=name)
    return api_delivery.rsa_sha1_signer(answer["Parameter"]["Value"].encode())


DELIVERY = api_delivery.Delivery(CONFIG.delivery, STORE.presign_download, load_signing_key)


def _verifier(settings: api_config.AuthSettings | None) -> api_auth.TokenVerifier | None:
    if settings is None:
        return None
    keys = api_auth.JwksCache(url=settings.jwks_url, document=settings.jwks_document)
    return api_auth.TokenVerifier(settings.issuer, settings.client_id, keys)


VERIFIER = _verifier(CONFIG.auth)  # the key set is fetched at the first signed-in request


def read_revocation(sub: str) -> int | None:
    """The user's revocation time (tools/users.py writes it to the quota table)."""
    assert QUOTAS is not None
    return api_auth.revoked_before(QUOTAS.get(api_auth.revocation_key(sub)))


# Sign-in always has the quota table (config.py): each user's revocation time is read from it,
# kept per container at most api_auth.REVOCATION_CACHE_SECONDS.
REVOCATIONS = api_auth.RevocationCache(read_revocation) if VERIFIER and QUOTAS else None


def clock() -> datetime:
    """Now, in UTC (the tests replace it: quota days, tombstone lifetimes)."""
    return datetime.now(UTC)


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
            response["headers"].update(
                cors.preflight_headers(origin, CONFIG.allowed_origins, CONFIG.signed_in)
            )
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
# A route's handler: (the route, the proxy event, the caller's sub or None) -> the answer.
RouteHandler = Callable[[api_core.Route, dict[str, Any], str | None], Result]
HANDLERS: dict[str, RouteHandler] = {}


def route_handler(function: RouteHandler) -> RouteHandler:
    """Register ``function`` under its name: rules.json routes name their handler."""
    HANDLERS[function.__name__] = function
    return function


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
        owner = authenticate(event)
        handle = ROUTES.get((method, route.template))
        if handle is None:
            raise api_core.method_not_allowed(route.template, METHODS)
        return handle(route, event, owner)
    except api_core.ApiError as error:
        LOG.info("client error", status=error.status, error_code=error.code)
        return error.status, error.body(), error.headers
    except api_auth.AuthError as error:
        LOG.info("unauthorized", status=401, reason=error.reason)
        body = {"error": "unauthorized", "message": error.message}
        return 401, body, {"WWW-Authenticate": 'Bearer realm="uploads"'}
    except api_auth.KeySetUnavailable as error:
        LOG.exception("the user pool's key set is unavailable", retry_after=error.retry_after)
        body = {
            "error": "sign_in_unavailable",
            "message": "Sign-in cannot be checked right now. Try again in a minute.",
        }
        return 503, body, {"Retry-After": str(error.retry_after)}
    except Exception:
        LOG.exception("request failed")
        body = {"error": "internal_error", "message": "Internal server error."}
        return 500, body, {}


def authenticate(event: dict[str, Any]) -> str | None:
    """The caller's ``sub`` (the owner of what it creates); ``None`` without sign-in."""
    if VERIFIER is None:
        return None
    token = api_auth.bearer_token(event.get("headers"))
    if token is None:
        raise api_auth.AuthError("Sign in to use this service.", "missing")
    caller = VERIFIER.verify(token)
    if REVOCATIONS is not None:
        REVOCATIONS.check(caller)
    LOG.bind(owner=caller.sub)
    return caller.sub


@route_handler
def create_upload(_route: api_core.Route, event: dict[str, Any], owner: str | None) -> Result:
    """Grant an upload: one presigned PUT, or (above the multipart threshold) S3's multipart
    upload whose part URLs ``POST /uploads/{id}/parts`` grants just in time."""
    request = api_core.parse_create_upload(
        event.get("body"),
        event.get("isBase64Encoded"),
        CONFIG.allowed_content_types,
        CONFIG.max_upload_bytes,
    )
    now = clock()
    is_multipart = multipart.uses_multipart(request.size, CONFIG.multipart_threshold_bytes)
    charge = charge_quota(owner, request.size, now) if owner is not None else None
    try:
        started = time.perf_counter()
        if is_multipart:
            upload_id = str(uuid.uuid4())
            plan = multipart.plan_parts(request.size, CONFIG.multipart_part_bytes)
            s3_upload_id = STORE.start_multipart(upload_id, request.content_type)
            attribute = multipart.record_attribute(s3_upload_id, plan)
            record_new_upload(request, owner, event, now, upload_id=upload_id, multipart=attribute)
        else:
            upload_id = record_new_upload(request, owner, event, now)
            url = STORE.presign_upload(upload_id, request.content_type, request.size)
        LOG.bind(upload_id=upload_id)
    except Exception:
        if charge is not None:  # no upload came of it: the day's count must not keep it
            refund_quota(charge)
        raise
    LOG.info(
        "upload created",
        content_type=request.content_type,
        size=request.size,
        multipart=is_multipart,
        presign_ms=round((time.perf_counter() - started) * 1000.0, 3),
    )
    if is_multipart:
        body = multipart.start_body(
            upload_id,
            plan,
            CONFIG.upload_url_ttl_seconds,
            CONFIG.max_upload_bytes,
            request.content_type,
        )
        return 201, body, {}
    body = api_core.create_upload_body(
        upload_id,
        url,
        request.content_type,
        CONFIG.upload_url_ttl_seconds,
        CONFIG.max_upload_bytes,
    )
    return 201, body, {}


@dataclass(frozen=True)
class Charge:
    """One upload counted against ``owner``'s UTC day of ``at``."""

    owner: str
    size: int
    at: datetime


def charge_quota(owner: str, size: int, now: datetime) -> Charge | None:
    """Count this upload against the owner's day, or refuse it (429) before anything is
    signed. One conditional update: concurrent requests cannot overrun the limits."""
    if QUOTAS is None or not CONFIG.quota.enabled:
        return None
    counted = QUOTAS.update(accounts.quota_update(owner, size, now, CONFIG.quota))
    if counted is None:
        raise accounts.quota_exceeded(CONFIG.quota, now)
    LOG.info(
        "quota counted", uploads_today=counted.get("uploads"), bytes_today=counted.get("bytes")
    )
    return Charge(owner, size, now)


def refund_quota(charge: Charge) -> None:
    """Give a charge back (the request failed after it). Never hides the request's error: a
    refund that fails is logged, and the count keeps it (the safe side of a limit)."""
    assert QUOTAS is not None
    try:
        counted = QUOTAS.update(accounts.quota_refund(charge.owner, charge.size, charge.at))
    except Exception:
        LOG.exception("quota refund failed; the charge stays counted")
        return
    LOG.info(
        "quota refunded",
        event="quota_refunded",
        refunded=counted is not None,
        uploads_today=(counted or {}).get("uploads"),
        bytes_today=(counted or {}).get("bytes"),
    )


def record_new_upload(
    request: api_core.CreateUpload,
    owner: str | None,
    event: dict[str, Any],
    now: datetime,
    *,
    upload_id: str | None = None,
    multipart: dict[str, Any] | None = None,
) -> str:
    """Write the upload's record before any URL exists: a fresh id, never overwriting one.
    A multipart upload comes with its id (S3's upload is keyed by it already): it is tried once.

    The record keeps the request's API Gateway id and X-Ray trace: the processor logs them."""
    api_request_id, trace_id = request_ids(event)
    for _ in range(1 if upload_id else 3):
        upload_id = upload_id or str(uuid.uuid4())
        item = records.new_item(
            upload_id,
            owner,
            request.filename,
            request.content_type,
            request.size,
            now,
            CONFIG.record_retention_days,
            api_request_id=api_request_id,
            trace_id=trace_id,
            multipart=multipart,
        )
        if TABLE.create(item):
            return upload_id
        LOG.warning("upload id already recorded; drawing another", upload_id=upload_id)
        upload_id = None
    raise RuntimeError("random upload ids were taken")


@route_handler
def get_upload(route: api_core.Route, _event: dict[str, Any], owner: str | None) -> Result:
    upload_id = api_core.parse_upload_id(route.raw_id)
    LOG.bind(upload_id=upload_id)
    watch = jsonlog.Stopwatch()
    with watch.stage("record"):
        item = api_core.owned_by(TABLE.get(upload_id), owner)
    if item is None:
        raise api_core.upload_not_found()
    with watch.stage("sign"):
        body = api_core.record_status_body(
            item,
            datetime.now(UTC),
            CONFIG.retries,
            CONFIG.upload_url_ttl_seconds,
            DELIVERY.signer(item, owner),
        )
    LOG.info("upload status", status=body["status"], timings_ms=watch.timings_ms)
    return 200, body, {}


@route_handler
def list_uploads(_route: api_core.Route, event: dict[str, Any], owner: str | None) -> Result:
    """The caller's uploads, newest first, one page at a time (``limit``, ``cursor``)."""
    assert owner is not None  # the route exists only with sign-in
    request = accounts.parse_list_request(event.get("queryStringParameters"), owner)
    items, last_key = TABLE.list_owner(owner, request.limit, request.start_key)
    now = datetime.now(UTC)
    uploads = []
    for item in items:
        try:
            status = api_core.record_status_body(
                item,
                now,
                CONFIG.retries,
                CONFIG.upload_url_ttl_seconds,
                DELIVERY.signer(item, owner),
            )
        except api_core.ApiError:
            continue  # a URL handed out long ago and never used: nothing to show
        uploads.append(accounts.list_item(item, status))
    LOG.info("uploads listed", count=len(uploads), more=last_key is not None)
    return 200, {"uploads": uploads, "nextCursor": accounts.encode_cursor(owner, last_key)}, {}


@route_handler
def delete_upload(route: api_core.Route, _event: dict[str, Any], owner: str | None) -> Result:
    """Erase one of the caller's uploads: first the record becomes a tombstone (one
    conditional update: the caller's upload, or the caller's earlier delete), then the
    original, every variant and the manifest go. A processor attempt running meanwhile, or
    a later PUT with a URL granted before, finds the tombstone and erases what it wrote
    (processor/handler.py); DynamoDB's TTL drops the tombstone once neither can happen.
    Idempotent: an id that is missing or another user's is answered 204 too, and nothing is
    touched; repeating a delete repeats the erasure (a failed one can simply be retried)."""
    assert owner is not None  # the route exists only with sign-in
    upload_id = api_core.parse_upload_id(route.raw_id)
    LOG.bind(upload_id=upload_id)
    keep = api_core.tombstone_seconds(CONFIG.upload_url_ttl_seconds, CONFIG.retries)
    tombstone = TABLE.update(records.tombstone_update(upload_id, owner, clock(), keep))
    if tombstone is None:
        LOG.info("nothing to delete")
        return 204, None, {}
    objects = STORE.delete_upload(upload_id)
    LOG.info("upload deleted", objects=objects, tombstone_seconds=keep)
    publish_deleted(tombstone)
    return 204, None, {}


# -- multipart: /uploads/{id}/parts and /uploads/{id}/complete ------------------------------


def multipart_record(
    route: api_core.Route, owner: str | None
) -> tuple[str, dict[str, Any], multipart.MultipartState | None]:
    """The upload id, its record (the caller's: another user's is a 404) and its multipart
    state. A record that no longer awaits its file (processing, done, deleted...) is a 409."""
    upload_id = api_core.parse_upload_id(route.raw_id)
    LOG.bind(upload_id=upload_id)
    item = api_core.owned_by(TABLE.get(upload_id), owner)
    if item is None or records.is_tombstone(item):
        raise api_core.upload_not_found()
    state = multipart.MultipartState.from_record(item)
    if state is not None and item["status"] != records.RecordStatus.AWAITING_UPLOAD:
        raise api_core.ApiError(409, "already_completed", "This upload is already complete.")
    return upload_id, item, state


@route_handler
def grant_parts(route: api_core.Route, event: dict[str, Any], owner: str | None) -> Result:
    """Part URLs, just in time: each bound to its number, exact size and SHA-256. The grant
    is recorded first (completion compares S3's parts with it)."""
    upload_id, _item, found = multipart_record(route, owner)
    state = multipart.require_phase(found, multipart.MultipartPhase.OPEN)
    grants = multipart.parse_part_grants(
        event.get("body"), event.get("isBase64Encoded"), state.plan
    )
    parts = {grant.number: {"size": grant.size, "sha256": grant.sha256} for grant in grants}
    if TABLE.update(records.grant_parts_update(upload_id, parts, clock(), owner)) is None:
        raise api_core.ApiError(409, "not_open", "This upload no longer takes parts.")
    urls = [
        STORE.presign_part(upload_id, state.s3_upload_id, grant.number, grant.size, grant.sha256)
        for grant in grants
    ]
    LOG.info("parts granted", parts=[grant.number for grant in grants], count=state.plan.count)
    return 200, multipart.grant_body(grants, urls, CONFIG.upload_url_ttl_seconds), {}


@route_handler
def list_parts(route: api_core.Route, _event: dict[str, Any], owner: str | None) -> Result:
    """The parts S3 holds that are the granted ones (what a resumed upload need not send)."""
    upload_id, _item, found = multipart_record(route, owner)
    state = multipart.require_phase(found, multipart.MultipartPhase.OPEN)
    held = STORE.list_parts(upload_id, state.s3_upload_id)
    if held is None:
        raise api_core.ApiError(410, "expired", "This upload was abandoned; start a new one.")
    body = multipart.parts_body(upload_id, state, held)
    LOG.info("parts listed", held=len(body["parts"]), count=state.plan.count)
    return 200, body, {}


@route_handler
def complete_upload(route: api_core.Route, _event: dict[str, Any], owner: str | None) -> Result:
    """Assemble the original once S3's parts are exactly the granted ones (count, sizes,
    checksums, total = declared size <= the limit); create-only. The phase moves ``open`` ──▶
    ``completing`` first, so a second or concurrent completion is refused (409)."""
    upload_id, _item, found = multipart_record(route, owner)
    state = multipart.require_phase(found, multipart.MultipartPhase.OPEN)
    held = STORE.list_parts(upload_id, state.s3_upload_id)
    if held is None:
        raise api_core.ApiError(410, "expired", "This upload was abandoned; start a new one.")
    parts = multipart.completion_parts(state, held, CONFIG.max_upload_bytes)
    now = clock()
    lock = records.multipart_phase_update(upload_id, "open", "completing", now)
    if TABLE.update(lock) is None:
        raise api_core.ApiError(409, "completing", "This upload is already being completed.")
    try:
        STORE.complete_multipart(upload_id, state.s3_upload_id, parts)
    except Exception:
        LOG.exception("completion failed; the upload stays open")
        TABLE.update(records.multipart_phase_update(upload_id, "completing", "open", clock()))
        raise
    done = records.multipart_phase_update(upload_id, "completing", "completed", now, awaiting=False)
    TABLE.update(done)
    LOG.info("upload completed", parts=len(parts), size=state.plan.size)
    return 200, {"id": upload_id, "status": "processing", "parts": len(parts)}, {}


@route_handler
def abort_upload(route: api_core.Route, _event: dict[str, Any], owner: str | None) -> Result:
    """Cancel: S3 drops every part, the record says ``aborted`` and (with quotas) the bytes
    counted at the start are given back. Repeating it is a 204 too."""
    upload_id, item, found = multipart_record(route, owner)
    if found is not None and found.phase == multipart.MultipartPhase.ABORTED:
        return 204, None, {}
    state = multipart.require_phase(found, multipart.MultipartPhase.OPEN)
    if TABLE.update(records.multipart_phase_update(upload_id, "open", "aborted", clock())) is None:
        raise api_core.ApiError(409, "completing", "This upload is already being completed.")
    STORE.abort_multipart(upload_id, state.s3_upload_id)
    if owner is not None and QUOTAS is not None and CONFIG.quota.enabled:
        refund_quota(Charge(owner, state.plan.size, records.parse_iso(item["createdAt"])))
    LOG.info("upload aborted", size=state.plan.size)
    return 204, None, {}


def publish_deleted(tombstone: dict[str, Any]) -> None:
    """The ``deleted`` outcome event, after the erasure (a failure is a 500: the client's
    retry repeats the erasure and publishes the same ``eventId``)."""
    if not BUS.settings.enabled:
        return
    detail = events.detail(tombstone, events.Outcome.DELETED, CONFIG.output_bucket, _no_url, None)
    BUS.publish(detail)
    LOG.info(
        "outcome event published",
        event="outcome_published",
        outcome="deleted",
        event_id=detail["eventId"],
    )


def _no_url(_key: str) -> None:
    return None


# The dispatch table, from the routes of rules.json (once, at import: a route naming a missing
# handler fails the cold start, and every test importing this module).
ROUTES: dict[tuple[str, str], RouteHandler] = api_core.bind_routes(
    api_core.route_table(CONFIG.signed_in), HANDLERS
)
