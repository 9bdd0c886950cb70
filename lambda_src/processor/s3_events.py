"""Pure helpers for S3 ``ObjectCreated`` notifications: which records are uploads to process.

Only keys of the exact form ``<UPLOAD_PREFIX><uuid4>`` are uploads (the API creates nothing
else); every other record is returned as ignored, with a reason, for the handler to log.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from common import contract


@dataclass(frozen=True)
class UploadRef:
    bucket: str
    key: str
    upload_id: str


@dataclass(frozen=True)
class IgnoredRecord:
    key: str | None
    reason: str


def parse_event(
    event: Mapping[str, Any], prefix: str
) -> tuple[list[UploadRef], list[IgnoredRecord]]:
    """Split an S3 notification into uploads to process and ignored records."""
    uploads: list[UploadRef] = []
    ignored: list[IgnoredRecord] = []
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        return uploads, [IgnoredRecord(None, "no_records")]
    for record in records:
        outcome = _parse_record(record, prefix)
        if isinstance(outcome, IgnoredRecord):
            ignored.append(outcome)
        elif outcome not in uploads:
            uploads.append(outcome)
    return uploads, ignored


def _parse_record(record: Any, prefix: str) -> UploadRef | IgnoredRecord:
    try:
        bucket = record["s3"]["bucket"]["name"]
        raw_key = record["s3"]["object"]["key"]
        event_name = record.get("eventName", "")
    except (KeyError, TypeError):
        return IgnoredRecord(None, "not_an_s3_record")
    if not isinstance(bucket, str) or not isinstance(raw_key, str):
        return IgnoredRecord(None, "not_an_s3_record")
    key = urllib.parse.unquote_plus(raw_key)
    if not str(event_name).startswith("ObjectCreated"):
        return IgnoredRecord(key, "not_object_created")
    if not key.startswith(prefix):
        return IgnoredRecord(key, "outside_prefix")
    upload_id = contract.upload_id_from_key(key, prefix)
    if upload_id is None:
        return IgnoredRecord(key, "not_an_upload_id")
    return UploadRef(bucket, key, upload_id)
