"""Pure builders of the output layout: variant keys and ``<id>/manifest.json``.

Shape (docs/architecture.md)::

    {"id", "status": "done"|"rejected",
     "source": {"key", "bytes", "format", "width", "height"},
     "variants": [{"name", "key", "width", "height", "contentType", "bytes"}],
     "error": {"code", "message"} | null}

Serialisation is deterministic (no timestamps), so reprocessing writes identical bytes.
"""

from __future__ import annotations

import json
from typing import Any

import imaging

CACHE_CONTROL_IMMUTABLE = "public, max-age=31536000, immutable"
MANIFEST_CACHE_CONTROL = "no-cache"
MANIFEST_CONTENT_TYPE = "application/json"


def variant_key(upload_id: str, variant: imaging.EncodedVariant) -> str:
    return f"{upload_id}/{variant.name}.{variant.extension}"


def manifest_key(upload_id: str) -> str:
    return f"{upload_id}/manifest.json"


def done_manifest(
    upload_id: str, source_key: str, source_bytes: int, processed: imaging.ProcessedImage
) -> dict[str, Any]:
    return {
        "id": upload_id,
        "status": "done",
        "source": {
            "key": source_key,
            "bytes": source_bytes,
            "format": processed.source.format,
            "width": processed.source.width,
            "height": processed.source.height,
        },
        "variants": [
            {
                "name": variant.name,
                "key": variant_key(upload_id, variant),
                "width": variant.width,
                "height": variant.height,
                "contentType": variant.content_type,
                "bytes": variant.size,
            }
            for variant in processed.variants
        ],
        "error": None,
    }


def rejected_manifest(
    upload_id: str, source_key: str, source_bytes: int, rejection: imaging.ImageRejected
) -> dict[str, Any]:
    return {
        "id": upload_id,
        "status": "rejected",
        "source": {
            "key": source_key,
            "bytes": source_bytes,
            "format": None,
            "width": None,
            "height": None,
        },
        "variants": [],
        "error": {"code": rejection.code, "message": rejection.message},
    }


def serialise(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
