"""Pure builder of ``<id>/manifest.json`` (keys come from :mod:`common.contract`).

Shape (docs/architecture.md)::

    {"id", "status": "done"|"rejected",
     "source": {"key", "bytes", "format", "width", "height", "animation"},
     "variants": [{"name", "width", "height", "animated",
                   "sources": [{"format", "type", "key", "bytes", "fingerprint", "frames"}]}],
     "placeholder": {"thumbhash", "color", "aspectRatio"} | null,
     "error": {"code", "message"} | null}

``variants`` are the sizes in the rule set's order, each with its formats in preference order;
``fingerprint`` (common/contract.py ``output_fingerprint``) is also in the output's key.
``source.animation`` is ``{"frames", "durationMs", "loop"}`` for an animated source whose
animating outputs were streamed (``loop``: plays, 0 = for ever), else ``null``; a source's
``frames`` is 1 for a still and the frame count of an animated output, and a size is
``animated`` when one of its sources is (issue 24).

Serialisation is deterministic (no timestamps), so reprocessing writes identical bytes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from common import contract
from processor import imaging

# Outputs never change at a key (the fingerprint is in it): public, immutable, for a year.
VARIANT_CACHE_CONTROL = contract.OUTPUT_CACHE_CONTROL
MANIFEST_CACHE_CONTROL = "no-cache"


def stored_outputs(
    upload_id: str, processed: imaging.ProcessedImage, outputs: Sequence[contract.OutputRule]
) -> list[tuple[imaging.EncodedVariant, contract.OutputRule]]:
    """Each encoded output with the rule it was made from (both in the rule set's order)."""
    pairs = list(zip(processed.variants, outputs, strict=True))
    for variant, output in pairs:
        if (variant.name, variant.format) != (output.size, output.format):
            raise ValueError(f"{upload_id}: output {variant.name}/{variant.format} out of order")
    return pairs


def done_manifest(
    upload_id: str,
    source_key: str,
    source_bytes: int,
    processed: imaging.ProcessedImage,
    outputs: Sequence[contract.OutputRule],
) -> dict[str, Any]:
    sizes: dict[str, dict[str, Any]] = {}
    for variant, output in stored_outputs(upload_id, processed, outputs):
        size = sizes.setdefault(
            variant.name,
            {
                "name": variant.name,
                "width": variant.width,
                "height": variant.height,
                "animated": False,
                "sources": [],
            },
        )
        size["animated"] = size["animated"] or variant.frames > 1
        size["sources"].append(
            {
                "format": variant.format,
                "type": variant.content_type,
                "key": output.key(upload_id),
                "bytes": variant.size,
                "fingerprint": output.fingerprint,
                "frames": variant.frames,
            }
        )
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
        "variants": list(sizes.values()),
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
