"""Loader of the sample Lambda events stored as JSON in ``tests/support/events/``."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent / "events"
SAMPLE_UPLOAD_ID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


@cache
def _read(name: str) -> str:
    return (EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8")


def load_event(name: str) -> dict[str, Any]:
    """A fresh (deep-copied) event from ``tests/support/events/<name>.json``."""
    return copy.deepcopy(json.loads(_read(name)))


def api_event(
    name: str,
    *,
    method: str | None = None,
    body: str | object | None = ...,
    origin: str | object | None = ...,
    upload_id: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An API Gateway proxy event from a sample, with the usual parts replaced."""
    event = load_event(name)
    if method is not None:
        event["httpMethod"] = method
        event["requestContext"]["httpMethod"] = method
    if body is not ...:
        event["body"] = body
    if origin is not ...:
        for key in ("headers", "multiValueHeaders"):
            event[key] = {k: v for k, v in event[key].items() if k.lower() != "origin"}
        if origin is not None:
            event["headers"]["Origin"] = origin
            event["multiValueHeaders"]["Origin"] = [origin]
    if upload_id is not None:
        event["pathParameters"] = {"id": upload_id}
        event["path"] = f"/uploads/{upload_id}"
    event.update(fields)
    return event


def s3_event(*keys: str, bucket: str = "sip-uploads-test", name: str = "ObjectCreated:Put"):
    """An S3 notification with one record per (already URL-encoded) key."""
    template = load_event("s3_object_created")["Records"][0]
    records = []
    for key in keys:
        record = copy.deepcopy(template)
        record["eventName"] = name
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{bucket}"
        record["s3"]["object"]["key"] = key
        records.append(record)
    return {"Records": records}
