"""The upload record in DynamoDB: one item per upload, and the only ways it may change.

Pure: builds items and the ``UpdateItem`` requests (in plain Python values; the adapters
serialise them), so every transition is unit-testable without AWS. The API creates the item
when it presigns (never overwriting one); the processor moves it with conditional updates, so
duplicates, retries and replays are idempotent and a late event never moves a finished upload
back::

    awaiting_upload ──▶ processing ──▶ done | rejected
                          │    ▲    ▲          (a late success after give-up: failed ──▶ done)
      failed attempt: +1  │    │ replay from the dead-letter queue (failed ──▶ processing,
                          ▼    │ one more attempt: failedAttempts = attempts - 1)
                         failed

    any state ──▶ deleted  (DELETE /uploads/{id}: a tombstone, kept until no presigned PUT
                            and no processor attempt can still write; nothing leaves it)

The tombstone is what makes a delete final: every processor update is conditional on a state
``deleted`` is not, so an attempt that is refused because of it erases what it wrote (and the
original, e.g. one PUT with a URL granted before the delete) instead of finishing.

Item attributes: ``id``, ``owner`` (signed-in uploads only: the owner index stays sparse, so
anonymous uploads never share one hot partition key), ``deletedBy``, ``deletedAt``, ``fileName``, ``contentType``, ``declaredBytes``,
``createdAt`` (ISO 8601, UTC, sortable), ``status``, ``startedAt``, ``finishedAt``,
``updatedAt``, ``variants`` ([{name, width, height, contentType, bytes, key}]), ``source``
({format, width, height, bytes}), ``placeholder`` ({thumbhash, color, aspectRatio} or null),
``error`` ({code, message}), ``processingMs``,
``failedAttempts``, ``replays``, ``lastError``, ``expiresAt`` (epoch seconds, the table's TTL),
``apiRequestId`` and ``traceId`` (the presigning request's API Gateway request id and X-Ray
trace: the processor logs them, linking the upload's two invocations), ``multipart`` (files
above the multipart threshold only: ``{s3UploadId, partSize, partCount, phase, granted:
{"<number>": {size, sha256}}}``, api/multipart.py; phase open ──▶ completing ──▶ completed, or
open ──▶ aborted; a completion S3 refused goes completing ──▶ open), ``reprocessedAt`` and
``reprocessedOutputs`` (tools/reprocess.py: ``done ──▶ done`` with the current rules' outputs).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

MAX_FILENAME_CHARS = 255


class RecordStatus(StrEnum):
    AWAITING_UPLOAD = "awaiting_upload"  # presigned; the original has not arrived yet
    PROCESSING = "processing"
    DONE = "done"
    REJECTED = "rejected"
    FAILED = "failed"  # every attempt failed; a replay may still finish it
    DELETED = "deleted"  # a tombstone: the owner deleted it; nothing of it may remain


FINISHED = (RecordStatus.DONE, RecordStatus.REJECTED)
# A processing attempt starts from these states; ``failed`` restarts (:func:`restart_update`).
STARTABLE = (RecordStatus.AWAITING_UPLOAD, RecordStatus.PROCESSING)


def iso(moment: datetime) -> str:
    """``2026-12-03T12:00:00.123Z``: UTC, millisecond precision, sorts as time does."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def expires_at(created: datetime, retention_days: int | None) -> int | None:
    """Epoch seconds at which the table's TTL removes the item (the outputs' retention)."""
    if retention_days is None:
        return None
    return int((created + timedelta(days=retention_days)).timestamp())


def sanitise_filename(raw: str | None) -> str | None:
    """The name the person chose, safe to store and show: base name only, no control or
    format characters, NFC, at most 255 characters. Never used in a key."""
    if raw is None:
        return None
    name = unicodedata.normalize("NFC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:MAX_FILENAME_CHARS] or None


def new_item(
    upload_id: str,
    owner: str | None,
    filename: str | None,
    content_type: str,
    size: int,
    now: datetime,
    retention_days: int | None,
    *,
    api_request_id: str | None = None,
    trace_id: str | None = None,
    multipart: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The item the API writes when it presigns (``create_condition`` keeps it unique).
    ``owner`` is the signed-in user's ``sub``; without one the item has no ``owner``.
    ``multipart``: the state of a multipart upload (api/multipart.py ``record_attribute``)."""
    item: dict[str, Any] = {
        "id": upload_id,
        "contentType": content_type,
        "declaredBytes": size,
        "createdAt": iso(now),
        "updatedAt": iso(now),
        "status": RecordStatus.AWAITING_UPLOAD.value,
        "failedAttempts": 0,
    }
    if owner is not None:
        item["owner"] = owner
    name = sanitise_filename(filename)
    if name:
        item["fileName"] = name
    expiry = expires_at(now, retention_days)
    if expiry is not None:
        item["expiresAt"] = expiry
    if api_request_id:
        item["apiRequestId"] = api_request_id
    if trace_id:
        item["traceId"] = trace_id
    if multipart is not None:
        item["multipart"] = dict(multipart)
    return item


def grant_parts_update(
    upload_id: str, parts: Mapping[int, Mapping[str, Any]], now: datetime, owner: str | None
) -> dict[str, Any]:
    """Record granted parts (number -> {size, sha256}; a part granted again takes the new
    checksum): only while the upload awaits its file, its multipart phase is ``open`` and (with
    sign-in) it is ``owner``'s."""
    names: dict[str, str] = {"#status": "status", "#phase": "phase"}
    values: dict[str, Any] = {
        ":awaiting": RecordStatus.AWAITING_UPLOAD.value,
        ":open": "open",
        ":now": iso(now),
    }
    sets = ["updatedAt = :now"]
    for index, (number, part) in enumerate(sorted(parts.items())):
        names[f"#p{index}"] = str(number)
        values[f":p{index}"] = {"size": part["size"], "sha256": part["sha256"]}
        sets.append(f"multipart.granted.#p{index} = :p{index}")
    condition = "#status = :awaiting AND multipart.#phase = :open"
    if owner is not None:
        names["#owner"] = "owner"
        values[":owner"] = owner
        condition += " AND #owner = :owner"
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": "SET " + ", ".join(sets),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def multipart_phase_update(
    upload_id: str, from_phase: str, to_phase: str, now: datetime, *, awaiting: bool = True
) -> dict[str, Any]:
    """Move a multipart upload's phase, once: ``open`` ──▶ ``completing`` is the lock that
    makes a second (or concurrent) completion a refusal. ``awaiting``: only while the upload
    awaits its file (not for ``completing`` ──▶ ``completed``: the processor may already have
    started on the assembled object)."""
    names = {"#phase": "phase"}
    values: dict[str, Any] = {":from": from_phase, ":to": to_phase, ":now": iso(now)}
    condition = "multipart.#phase = :from"
    if awaiting:
        names["#status"] = "status"
        values[":awaiting"] = RecordStatus.AWAITING_UPLOAD.value
        condition = "#status = :awaiting AND " + condition
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": "SET multipart.#phase = :to, updatedAt = :now",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


CREATE_CONDITION = "attribute_not_exists(id)"


def start_update(upload_id: str, now: datetime, retention_days: int | None) -> dict[str, Any]:
    """An attempt begins. Creates the item for an original written straight into the bucket
    (no presign, so no owner); refused once the upload is finished, failed (see
    :func:`restart_update`) or deleted. Answers the whole item (``ALL_NEW``): the processor
    logs the presigning request's ids from it; a refusal answers the item as it is."""
    values: dict[str, Any] = {
        ":processing": RecordStatus.PROCESSING.value,
        ":now": iso(now),
        ":zero": 0,
        **{f":s{index}": status.value for index, status in enumerate(STARTABLE)},
    }
    expression = (
        "SET #status = :processing, startedAt = :now, updatedAt = :now,"
        " createdAt = if_not_exists(createdAt, :now),"
        " failedAttempts = if_not_exists(failedAttempts, :zero)"
    )
    expiry = expires_at(now, retention_days)
    if expiry is not None:
        values[":expires"] = expiry
        expression += ", expiresAt = if_not_exists(expiresAt, :expires)"
    startable = ", ".join(f":s{index}" for index in range(len(STARTABLE)))
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": expression,
        "ConditionExpression": f"attribute_not_exists(id) OR #status IN ({startable})",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": values,
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def restart_update(upload_id: str, now: datetime, attempts: int) -> dict[str, Any]:
    """A replay of a ``failed`` upload begins: a new attempt epoch. The record reads
    ``processing`` again (the status API no longer says failed while the replay runs) with
    ``attempts - 1`` failed attempts, so the replay is one more attempt: if it fails too the
    upload is ``failed`` again (a replay is a synchronous invocation, never retried)."""
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": (
            "SET #status = :processing, startedAt = :now, updatedAt = :now,"
            " failedAttempts = :spent ADD replays :one REMOVE #error"
        ),
        "ConditionExpression": "#status = :failed",
        "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
        "ExpressionAttributeValues": {
            ":processing": RecordStatus.PROCESSING.value,
            ":failed": RecordStatus.FAILED.value,
            ":now": iso(now),
            ":spent": max(0, attempts - 1),
            ":one": 1,
        },
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def finish_update(
    upload_id: str, now: datetime, outcome: Mapping[str, Any], processing_ms: float
) -> dict[str, Any]:
    """The attempt's result (``outcome``: status, variants, source, placeholder, error), once
    only. ``placeholder`` ({thumbhash, color, aspectRatio}, or ``None``) may be absent.
    Also from ``failed``: a success after give-up (a slow attempt, a replay) ends the upload
    ``done`` beside its manifest. Refused for a tombstone (the answer carries it)."""
    status = outcome["status"]
    if status not in FINISHED:
        raise ValueError(f"an upload finishes done or rejected, not {status!r}")
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": (
            "SET #status = :status, variants = :variants, #source = :source, #error = :error,"
            " placeholder = :placeholder, processingMs = :ms, finishedAt = :now, updatedAt = :now"
            " REMOVE lastError"
        ),
        "ConditionExpression": "#status IN (:processing, :failed)",
        "ExpressionAttributeNames": {"#status": "status", "#source": "source", "#error": "error"},
        "ExpressionAttributeValues": {
            ":status": status,
            ":variants": list(outcome["variants"]),
            ":source": dict(outcome["source"]),
            ":error": outcome["error"],
            ":placeholder": outcome.get("placeholder"),
            ":ms": round(processing_ms),
            ":processing": RecordStatus.PROCESSING.value,
            ":failed": RecordStatus.FAILED.value,
            ":now": iso(now),
        },
        "ReturnValues": "ALL_NEW",  # the finished record: the outcome event is built from it
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def failed_attempt_update(upload_id: str, now: datetime, error_type: str) -> dict[str, Any]:
    """Count a failed attempt (returns the new count with ``ReturnValues=UPDATED_NEW``)."""
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": "ADD failedAttempts :one SET lastError = :error, updatedAt = :now",
        "ConditionExpression": "#status = :processing",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":one": 1,
            ":error": error_type,
            ":now": iso(now),
            ":processing": RecordStatus.PROCESSING.value,
        },
        "ReturnValues": "UPDATED_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def give_up_update(upload_id: str, now: datetime) -> dict[str, Any]:
    """The last attempt failed: the upload is ``failed`` until a replay starts it again."""
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": "SET #status = :failed, #error = :error, updatedAt = :now",
        "ConditionExpression": "#status = :processing",
        "ExpressionAttributeNames": {"#status": "status", "#error": "error"},
        "ExpressionAttributeValues": {
            ":failed": RecordStatus.FAILED.value,
            ":error": {
                "code": "processing_failed",
                "message": "Processing failed on every attempt; the operators have been notified.",
            },
            ":now": iso(now),
            ":processing": RecordStatus.PROCESSING.value,
        },
        "ReturnValues": "ALL_NEW",  # the failed record: the outcome event is built from it
    }


def reprocessed_update(
    upload_id: str, now: datetime, variants: list[Any], missing: int
) -> dict[str, Any]:
    """Reprocessing (tools/reprocess.py) brought a ``done`` upload up to the current rules: its
    sizes now list every current output. Only a ``done`` record changes: a tombstone (deleted
    meanwhile) is refused and answered, so the attempt erases what it wrote."""
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": (
            "SET variants = :variants, reprocessedAt = :now, updatedAt = :now"
            " ADD reprocessedOutputs :missing"
        ),
        "ConditionExpression": "#status = :done",
        "ExpressionAttributeNames": {"#status": "status"},
        "ExpressionAttributeValues": {
            ":variants": list(variants),
            ":now": iso(now),
            ":missing": missing,
            ":done": RecordStatus.DONE.value,
        },
        "ReturnValues": "ALL_NEW",
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


# What a tombstone drops: everything the person chose or the processor found.
_ERASED = ("#owner", "fileName", "variants", "#source", "placeholder", "#error", "lastError")


def tombstone_update(
    upload_id: str, owner: str, now: datetime, keep_seconds: int
) -> dict[str, Any]:
    """``owner`` deletes the upload: the item becomes a tombstone (``deleted``, no ``owner``, so
    it leaves the owner index; ``deletedBy`` lets the owner repeat the delete) that DynamoDB's
    TTL removes after ``keep_seconds``: longer than a presigned PUT and every processor attempt
    can still write. Refused (``None`` from the table) when the item is not the owner's."""
    return {
        "Key": {"id": upload_id},
        "UpdateExpression": (
            "SET #status = :deleted, deletedBy = :owner, deletedAt = :now, updatedAt = :now,"
            " expiresAt = :expires REMOVE " + ", ".join(_ERASED)
        ),
        "ConditionExpression": "#owner = :owner OR deletedBy = :owner",
        "ExpressionAttributeNames": {
            "#status": "status",
            "#owner": "owner",
            "#source": "source",
            "#error": "error",
        },
        "ExpressionAttributeValues": {
            ":deleted": RecordStatus.DELETED.value,
            ":owner": owner,
            ":now": iso(now),
            ":expires": int((now + timedelta(seconds=keep_seconds)).timestamp()),
        },
        "ReturnValues": "ALL_NEW",  # the tombstone: the deleted event is built from it
    }


def is_tombstone(item: Mapping[str, Any] | None) -> bool:
    return item is not None and item.get("status") == RecordStatus.DELETED.value


def plain(value: Any) -> Any:
    """An item as read from DynamoDB (``Decimal`` numbers) with ints and floats instead."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
