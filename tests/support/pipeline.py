"""Helpers shared by the emulator tiers' tests (``from support.pipeline import ...``: pyproject puts tests/ on the path)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def new_upload_id() -> str:
    return str(uuid.uuid4())


def s3_event(bucket: str, key: str, size: int = 0, etag: str = "") -> dict[str, Any]:
    """An S3 ObjectCreated:Put notification as S3 delivers it to the processor."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": "2026-01-01T00:00:00.000Z",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "process-originals",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": key, "size": size, "eTag": etag},
                },
            }
        ]
    }


def output_objects(s3: Any, bucket: str, upload_id: str) -> dict[str, dict[str, Any]]:
    """Every object under ``<id>/`` in the output bucket: bytes, ETag, Content-Type."""
    found = {}
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=f"{upload_id}/").get("Contents", [])
    for item in listing:
        response = s3.get_object(Bucket=bucket, Key=item["Key"])
        found[item["Key"]] = {
            "body": response["Body"].read(),
            "etag": response["ETag"],
            "content_type": response.get("ContentType"),
            "last_modified": response["LastModified"],
        }
    return found


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """The first truthy value of ``predicate()``, or ``None`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
