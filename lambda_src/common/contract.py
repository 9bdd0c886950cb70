"""What both functions (and the Terraform root) must agree on, in one place.

The machine-readable part lives in ``rules.json`` beside this module: Terraform's
``variables.tf`` reads the same file, and ``main.tf`` copies its variant rules into the page's
``config.json``, so a rule changed there changes every layer at once (the drift test in
``tests/terraform/test_rule_drift.py`` proves they agree). This module adds what only Python needs:
object keys, status values and error codes.

Output layout (docs/architecture.md)::

    <upload bucket>/<UPLOAD_PREFIX><id>        the original, written once by a presigned PUT
    <output bucket>/<id>/<variant>.<ext>       one object per variant
    <output bucket>/<id>/manifest.json         written last: done or rejected
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

RULES: Mapping[str, Any] = json.loads(Path(__file__).with_name("rules.json").read_text())

DEFAULT_UPLOAD_PREFIX: str = RULES["upload_prefix"]
UPLOAD_ID_PATTERN = re.compile(RULES["upload_id_pattern"])

# MIME type the API presigns -> Pillow format name the processor opens it as.
CONTENT_TYPE_FORMATS: Mapping[str, str] = RULES["content_types"]
# Variant format -> {"content_type", "extension", "pillow", "animates"}.
OUTPUT_FORMATS: Mapping[str, Mapping[str, str]] = RULES["output_formats"]
VARIANT_RULES: Mapping[str, Any] = RULES["variant"]
VARIANT_NAME_PATTERN = re.compile(VARIANT_RULES["name_pattern"])

MANIFEST_NAME = "manifest.json"
MANIFEST_CONTENT_TYPE = "application/json"


class Status(StrEnum):
    """The states of an upload as the status API reports them."""

    PROCESSING = "processing"
    DONE = "done"  # the manifest lists the variants
    REJECTED = "rejected"  # the file is not an acceptable image (REJECTION_CODES)
    FAILED = "failed"  # the processor gave up (FAILURE_CODES); a dead-letter replay can still
    # turn it into done or rejected, since the manifest, once written, always wins


# Codes of a ``failed`` upload: the service, not the file, is at fault.
FAILURE_CODES: tuple[str, ...] = (
    "processing_failed",  # every attempt Lambda makes (1 + retries) ended in an error
    "processing_timed_out",  # no outcome within the retry window (timeouts, killed attempts)
)


# Codes of a rejection because decoding would take unbounded work (processor/decode_budget.py).
WORK_CODES: tuple[str, ...] = (
    "too_many_scans",
    "too_many_segments",
    "too_many_chunks",
    "too_many_blocks",
    "too_many_frames",
    "too_many_items",
    "icc_profile_too_large",
    "decode_time_exceeded",
    # animations (processor/animation.py, AnimationLimits); too_many_frames above as well
    "animation_too_large",  # summed area of all frames
    "animation_too_long",  # total playing time
    "animation_work_exceeded",  # output frames x animated variants: the encode work
)
# Codes of a ``rejected`` upload: the file is not an image this service accepts.
REJECTION_CODES: tuple[str, ...] = (
    "empty_file",
    "too_large",
    "not_an_image",
    "unsupported_format",
    "too_many_pixels",
    "corrupt_image",
    "truncated_image",
    *WORK_CODES,
)


def is_upload_id(value: str) -> bool:
    """True for a canonical lower-case UUID version 4 string (the only ids the API makes)."""
    return bool(UPLOAD_ID_PATTERN.fullmatch(value))


def upload_key(prefix: str, upload_id: str) -> str:
    """Key of the original in the upload bucket."""
    return f"{prefix}{upload_id}"


def upload_id_from_key(key: str, prefix: str) -> str | None:
    """The upload id of ``<prefix><uuid4>``, else ``None``."""
    if not key.startswith(prefix):
        return None
    candidate = key[len(prefix) :]
    return candidate if is_upload_id(candidate) else None


def variant_key(upload_id: str, name: str, variant_format: str) -> str:
    """Key of one variant in the output bucket."""
    return f"{upload_id}/{name}.{OUTPUT_FORMATS[variant_format]['extension']}"


def manifest_key(upload_id: str) -> str:
    """Key of an upload's manifest in the output bucket."""
    return f"{upload_id}/{MANIFEST_NAME}"


def is_key_of(upload_id: str, key: str) -> bool:
    """True when ``key`` belongs to ``upload_id``'s folder of the output bucket."""
    return key.startswith(f"{upload_id}/")


def variant_problems(index: int, item: Any) -> list[str]:
    """What is wrong with one variant object of ``VARIANTS`` (empty when it is valid)."""
    where = f"item {index}"
    if not isinstance(item, Mapping):
        return [f"{where} must be an object"]
    problems = []
    name = item.get("name")
    if not isinstance(name, str) or not VARIANT_NAME_PATTERN.fullmatch(name):
        problems.append(f"{where}: 'name' must match {VARIANT_NAME_PATTERN.pattern}")
    if item.get("format") not in OUTPUT_FORMATS:
        problems.append(f"{where}: 'format' must be one of {sorted(OUTPUT_FORMATS)}")
    if item.get("animate") not in (None, True, False):  # absent or null: the default
        problems.append(f"{where}: 'animate' must be true or false")
    for field in ("max_edge", "quality", "webp_method"):
        value = item.get(field)
        if value is None:  # absent or null: the default (max_edge has none)
            value = VARIANT_RULES[field].get("default")
        if not _is_int_in(value, VARIANT_RULES[field]):
            low, high = VARIANT_RULES[field]["min"], VARIANT_RULES[field]["max"]
            problems.append(f"{where}: {field!r} must be an integer in {low}..{high}")
    return problems


def variant_list_problems(items: Any) -> list[str]:
    """What is wrong with the whole ``VARIANTS`` list (count, items, unique names)."""
    count = VARIANT_RULES["count"]
    if not isinstance(items, list) or not count["min"] <= len(items) <= count["max"]:
        return [f"must be a JSON list of {count['min']} to {count['max']} variants"]
    problems = [
        problem for index, item in enumerate(items) for problem in variant_problems(index, item)
    ]
    names = [item.get("name") for item in items if isinstance(item, Mapping)]
    if len(set(map(str, names))) != len(names):
        problems.append(f"variant names must be unique, got {names}")
    return problems


def _is_int_in(value: Any, bounds: Mapping[str, int]) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and bounds["min"] <= value <= bounds["max"]
    )
