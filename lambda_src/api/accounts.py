"""Pure rules of signed-in use (``auth = "cognito"``): listings, cursors and daily quotas.

* :func:`encode_cursor` / :func:`decode_cursor`: the ``GET /uploads`` page cursor is opaque to
  the page (base64url JSON) and bound to its owner: it holds the owner's ``sub`` and the
  index key DynamoDB returned, and :func:`decode_cursor` refuses (400 ``invalid_cursor``) any
  cursor whose owner is not the caller or whose key is not exactly an owner-index key of the
  caller's (``id`` a UUID4, ``owner`` the caller, ``createdAt`` an ISO time). The query itself
  always names the caller's partition, so no cursor can reach another user's listing.
* :func:`quota_update`: one conditional ``UpdateItem`` that counts an upload and its declared
  bytes against the caller's day (UTC) and fails, atomically, once either limit would be passed.
  :func:`quota_exceeded` is the 429 (with ``Retry-After``: seconds until the next UTC day).
  :func:`quota_refund` takes one charge back (a request that failed after it was charged),
  on the day it was charged, never below zero. The policy is in README "Quotas".
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from api.core import ApiError
from common import contract
from common.records import parse_iso

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 50
MAX_CURSOR_CHARS = 1024
CURSOR_VERSION = 1
QUOTA_COUNTER_TTL_DAYS = 2  # a day's counter is kept one more day, then DynamoDB's TTL drops it


# -- listing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRequest:
    limit: int
    start_key: dict[str, Any] | None


def parse_list_request(query: Mapping[str, Any] | None, owner: str) -> ListRequest:
    query = query or {}
    raw_limit = query.get("limit")
    limit = DEFAULT_PAGE_SIZE
    if raw_limit is not None:
        if not isinstance(raw_limit, str) or not raw_limit.isdigit() or not raw_limit.isascii():
            raise _bad_limit()
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise _bad_limit()
    cursor = query.get("cursor")
    start_key = decode_cursor(cursor, owner) if cursor else None
    return ListRequest(limit=limit, start_key=start_key)


def _bad_limit() -> ApiError:
    return ApiError(
        400, "invalid_request", f"'limit' must be an integer from 1 to {MAX_PAGE_SIZE}."
    )


def encode_cursor(owner: str, last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    payload = {"v": CURSOR_VERSION, "o": owner, "k": dict(last_key)}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: Any, owner: str) -> dict[str, Any]:
    """The index key to start after, or 400 ``invalid_cursor``."""
    if not isinstance(cursor, str) or len(cursor) > MAX_CURSOR_CHARS:
        raise invalid_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
        raise invalid_cursor()
    key = payload.get("k")
    if (
        payload.get("o") != owner
        or not isinstance(key, dict)
        or set(key)
        != {
            "id",
            "owner",
            "createdAt",
        }
    ):
        raise invalid_cursor()
    if key["owner"] != owner or not contract.is_upload_id(str(key["id"])):
        raise invalid_cursor()
    try:
        parse_iso(str(key["createdAt"]))
    except ValueError:
        raise invalid_cursor() from None
    return {"id": key["id"], "owner": key["owner"], "createdAt": key["createdAt"]}


def invalid_cursor() -> ApiError:
    return ApiError(400, "invalid_cursor", "The page cursor is not valid: list from the start.")


def list_item(item: Mapping[str, Any], status: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of ``GET /uploads``: the status body plus what the person chose and when."""
    return {
        **status,
        "fileName": item.get("fileName"),
        "contentType": item.get("contentType"),
        "bytes": item.get("declaredBytes"),
        "createdAt": item.get("createdAt"),
    }


# -- quotas -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quota:
    uploads_per_day: int | None  # None: no limit
    bytes_per_day: int | None

    @property
    def enabled(self) -> bool:
        return self.uploads_per_day is not None or self.bytes_per_day is not None


def quota_key(owner: str, now: datetime) -> str:
    return f"{owner}#{now.astimezone(UTC).date().isoformat()}"


def seconds_until_next_day(now: datetime) -> int:
    moment = now.astimezone(UTC)
    tomorrow = datetime.combine(moment.date() + timedelta(days=1), datetime.min.time(), UTC)
    return max(1, int((tomorrow - moment).total_seconds() + 0.999))


def quota_update(owner: str, size: int, now: datetime, quota: Quota) -> dict[str, Any]:
    """The conditional counter update (``common.table.UploadsTable.update`` shape); raises the
    429 at once when this one file is larger than a whole day's bytes."""
    if quota.bytes_per_day is not None and size > quota.bytes_per_day:
        raise quota_exceeded(quota, now, "bytes")
    conditions = []
    values: dict[str, Any] = {
        ":one": 1,
        ":size": size,
        ":expires": int(
            (datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), UTC)).timestamp()
        )
        + QUOTA_COUNTER_TTL_DAYS * 86_400,
    }
    if quota.uploads_per_day is not None:
        conditions.append("uploads < :max_uploads")
        values[":max_uploads"] = quota.uploads_per_day
    if quota.bytes_per_day is not None:
        conditions.append("#bytes <= :bytes_room")
        values[":bytes_room"] = quota.bytes_per_day - size
    return {
        "Key": {"id": quota_key(owner, now)},
        "UpdateExpression": "ADD uploads :one, #bytes :size SET expiresAt = :expires",
        "ConditionExpression": "attribute_not_exists(id) OR (" + " AND ".join(conditions) + ")",
        "ExpressionAttributeNames": {"#bytes": "bytes"},
        "ExpressionAttributeValues": values,
        "ReturnValues": "UPDATED_NEW",
    }


def quota_refund(owner: str, size: int, charged_at: datetime) -> dict[str, Any]:
    """Give back one charge of :func:`quota_update` made at ``charged_at`` (its UTC day's
    counter, even after midnight). Conditional: a counter never goes below zero, and a
    counter that is gone (a refund after its TTL) is not re-created."""
    return {
        "Key": {"id": quota_key(owner, charged_at)},
        "UpdateExpression": "ADD uploads :minus_one, #bytes :minus_size",
        "ConditionExpression": "uploads >= :one AND #bytes >= :size",
        "ExpressionAttributeNames": {"#bytes": "bytes"},
        "ExpressionAttributeValues": {
            ":minus_one": -1,
            ":minus_size": -size,
            ":one": 1,
            ":size": size,
        },
        "ReturnValues": "UPDATED_NEW",
    }


def quota_exceeded(quota: Quota, now: datetime, which: str | None = None) -> ApiError:
    limits = []
    if quota.uploads_per_day is not None:
        limits.append(f"{quota.uploads_per_day} uploads")
    if quota.bytes_per_day is not None:
        limits.append(f"{quota.bytes_per_day} bytes")
    message = (
        f"Daily upload limit reached ({' and '.join(limits)} a day). Try again tomorrow (UTC)."
    )
    if which == "bytes":
        message = (
            f"This file is larger than the daily upload allowance of {quota.bytes_per_day} bytes."
        )
    return ApiError(
        429, "quota_exceeded", message, {"Retry-After": str(seconds_until_next_day(now))}
    )
