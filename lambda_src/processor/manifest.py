"""Pure builder of ``<id>/manifest.json`` (keys come from :mod:`common.contract`).

Shape (docs/architecture.md)::

    {"id", "status": "done"|"rejected",
     "source": {"key", "bytes", "format", "width", "height", "animation"},
     "variants": [{"name", "key", "width", "height", "contentType", "bytes", "frames"}],
     "placeholder": {"thumbhash", "color", "aspectRatio"} | null,
     "error": {"code", "message"} | null}

``source.animation`` is ``{"frames", "durationMs", "loop"}`` for an animated source whose
animating variants were streamed (``loop``: plays, 0 = for ever), else ``null``; a variant's
``frames`` is 1 for a still and the frame count of an animated variant (issue 24).

Serialisation is deterministic (no timestamps), so reprocessing writes identical bytes.
"""

from __future__ import annotations

import json
from typing import Any

from common import contract
from processor import imaging

# Variants are written once per upload id and never change, but they are private objects
# delivered through short-lived presigned URLs: caches may keep them, shared caches must not.
VARIANT_CACHE_CONTROL = "private, max-age=31536000, immutable"
MANIFEST_CACHE_CONTROL = "no-cache"


def variant_key(upload_id: str, variant: imaging.EncodedVariant) -> str:
    return contract.variant_key(upload_id, variant.name, variant.format)


def done_manifest(
    upload_id: str, source_key: str, source_bytes: int, processed: imaging.ProcessedImage
) -> dict[str, Any]:
    return {
        "id": upload_id,
        "status": contract.Status.DONE.value,
        "source": {
            "key": source_key,
            "bytes": source_bytes,
            "format": processed.source.format,
            "width": processed.source.width,
            "height": processed.source.height,
            "animation": animation_json(processed),
        },
        "variants": [
            {
                "name": variant.name,
                "key": variant_key(upload_id, variant),
                "width": variant.width,
                "height": variant.height,
                "contentType": variant.content_type,
                "bytes": variant.size,
                "frames": variant.frames,
            }
            for variant in processed.variants
        ],
        "placeholder": processed.placeholder.as_json() if processed.placeholder else None,
        "error": None,
    }


def animation_json(processed: imaging.ProcessedImage) -> dict[str, int] | None:
    info = processed.animation
    if info is None:
        return None
    return {"frames": info.frames, "durationMs": info.duration_ms, "loop": info.loop}


def rejected_manifest(
    upload_id: str, source_key: str, source_bytes: int, rejection: imaging.ImageRejected
) -> dict[str, Any]:
    return {
        "id": upload_id,
        "status": contract.Status.REJECTED.value,
        "source": {
            "key": source_key,
            "bytes": source_bytes,
            "format": None,
            "width": None,
            "height": None,
            "animation": None,
        },
        "variants": [],
        "placeholder": None,
        "error": {"code": rejection.code, "message": rejection.message},
    }


def serialise(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
