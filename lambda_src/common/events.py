"""Outcome events of an upload (Amazon EventBridge), built from the upload record. Pure.

One event per outcome: ``processed``, ``rejected``, ``failed`` (the processor's last attempt
gave up) and ``deleted`` (the owner's DELETE). The schema is ``schemas/upload-event.schema.json``
and docs/events.md documents it; every test that receives an event validates it with
``jsonschema``.

Delivery is at least once (a retried invocation publishes again, as does a duplicate S3 event
for a finished upload), so the detail carries its own stable ``eventId``: EventBridge assigns
the envelope's ``id`` itself on each ``PutEvents`` and cannot be told one. ``eventId`` is a
UUID derived from the upload id, the outcome and, for ``processed``, the set of output keys:
every retry of one outcome has the same id, while reprocessing that adds outputs (a new key)
is a new event that consumers must not drop. EventBridge does not keep order; ``occurredAt``
(the record's transition time, milliseconds) orders one upload's events.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from common.contract import OUTPUT_FORMATS

SCHEMA_VERSION = 1
# Namespace of the eventId UUIDs (uuid5): fixed for ever, so ids stay stable across versions.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c8f0e-5b7a-4e43-9d52-7d1f3c0a2b91")
MAX_DETAIL_BYTES = 200_000  # EventBridge's entry limit is 256 KiB; leave room for the envelope


class Outcome(StrEnum):
    PROCESSED = "processed"
    REJECTED = "rejected"
    FAILED = "failed"
    DELETED = "deleted"


DETAIL_TYPES: Mapping[Outcome, str] = {
    Outcome.PROCESSED: "Upload Processed",
    Outcome.REJECTED: "Upload Rejected",
    Outcome.FAILED: "Upload Failed",
    Outcome.DELETED: "Upload Deleted",
}
# Record status -> outcome of a finished record (a re-published outcome reads the record).
STATUS_OUTCOMES: Mapping[str, Outcome] = {
    "done": Outcome.PROCESSED,
    "rejected": Outcome.REJECTED,
    "failed": Outcome.FAILED,
    "deleted": Outcome.DELETED,
}
# Which record timestamp an outcome happened at.
_OCCURRED_FIELDS: Mapping[Outcome, str] = {
    Outcome.PROCESSED: "finishedAt",
    Outcome.REJECTED: "finishedAt",
    Outcome.FAILED: "updatedAt",
    Outcome.DELETED: "deletedAt",
}

UrlFor = Callable[[str], str | None]


def event_id(upload_id: str, outcome: Outcome, output_keys: Sequence[str] = ()) -> str:
    """Stable per upload and outcome (and, for ``processed``, per set of outputs)."""
    revision = ",".join(sorted(output_keys)) if outcome == Outcome.PROCESSED else ""
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{upload_id}|{outcome.value}|{revision}"))


def outcome_of(record: Mapping[str, Any]) -> Outcome | None:
    """The outcome a record stands for, ``None`` while it is still on its way."""
    return STATUS_OUTCOMES.get(str(record.get("status")))


def detail(
    record: Mapping[str, Any],
    outcome: Outcome,
    output_bucket: str,
    url_for: UrlFor,
    url_expires_at: str | None,
) -> dict[str, Any]:
    """The detail of ``outcome`` for the upload ``record`` (as stored, plain values).

    ``url_for(key)`` gives an output's URL (``None``: no URL); ``url_expires_at`` says until when
    those URLs work (``None``: they do not expire). ``variants`` are the record's sizes, each
    with one source per format (preference order), as the status API answers them."""
    done = outcome == Outcome.PROCESSED
    sizes = [_size(item, url_for) for item in record.get("variants") or []] if done else []
    keys = [source["key"] for size in sizes for source in size["sources"]]
    error = record.get("error") if outcome in (Outcome.REJECTED, Outcome.FAILED) else None
    return {
        "schemaVersion": SCHEMA_VERSION,
        "eventId": event_id(record["id"], outcome, keys),
        "outcome": outcome.value,
        "id": record["id"],
        "owner": record.get("owner") or record.get("deletedBy"),
        "createdAt": record.get("createdAt"),
        "occurredAt": _occurred_at(record, outcome),
        "source": _source(record.get("source")) if outcome != Outcome.DELETED else None,
        "bucket": output_bucket if done else None,
        "variants": sizes,
        "urlsExpireAt": url_expires_at if done and sizes else None,
        "placeholder": record.get("placeholder") if done else None,
        "error": _error(error) if error else None,
    }


def _occurred_at(record: Mapping[str, Any], outcome: Outcome) -> Any:
    """When the outcome happened; a reprocessed upload's new outputs: when they were added."""
    if outcome == Outcome.PROCESSED and record.get("reprocessedAt"):
        return record["reprocessedAt"]
    return record.get(_OCCURRED_FIELDS[outcome]) or record.get("updatedAt")


def _size(item: Mapping[str, Any], url_for: UrlFor) -> dict[str, Any]:
    return {
        "name": item.get("name"),
        "width": item.get("width"),
        "height": item.get("height"),
        "sources": [_output(source, url_for) for source in stored_sources(item)],
    }


def stored_sources(item: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A size's stored outputs; a record written before sizes had formats held one output per
    variant (``key``, ``contentType``, ``bytes``, no fingerprint): a size with one source."""
    if "sources" in item:
        return list(item["sources"])
    formats = [
        name
        for name, spec in OUTPUT_FORMATS.items()
        if spec["content_type"] == item.get("contentType")
    ]
    return [
        {
            "format": formats[0] if formats else None,
            "type": item.get("contentType"),
            "key": item["key"],
            "bytes": item.get("bytes"),
        }
    ]


def _output(source: Mapping[str, Any], url_for: UrlFor) -> dict[str, Any]:
    return {
        "format": source.get("format"),
        "type": source.get("type"),
        "key": source["key"],
        "bytes": source.get("bytes"),
        "fingerprint": source.get("fingerprint"),
        "url": url_for(source["key"]),
    }


def _source(source: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not source:
        return None
    return {field: source.get(field) for field in ("bytes", "format", "width", "height")}


def _error(error: Mapping[str, Any]) -> dict[str, Any]:
    return {"code": error.get("code"), "message": error.get("message")}


def entry(event_source: str, bus_name: str, event_detail: Mapping[str, Any]) -> dict[str, Any]:
    """One ``PutEvents`` entry; refuses a detail EventBridge would refuse (too large)."""
    body = json.dumps(event_detail, separators=(",", ":"), ensure_ascii=True)
    if len(body) > MAX_DETAIL_BYTES:
        raise ValueError(f"event detail is {len(body)} bytes, over {MAX_DETAIL_BYTES}")
    return {
        "Source": event_source,
        "DetailType": DETAIL_TYPES[Outcome(event_detail["outcome"])],
        "Detail": body,
        "EventBusName": bus_name,
        "Resources": [],
    }
