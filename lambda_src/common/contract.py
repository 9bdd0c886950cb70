"""What both functions (and the Terraform root) must agree on, in one place.

The machine-readable part lives in ``rules.json`` beside this module: Terraform's
``variables.tf`` reads the same file, and ``main.tf`` copies its variant rules into the page's
``config.json``, so a rule changed there changes every layer at once (the drift test in
``tests/terraform/test_rule_drift.py`` proves they agree). This module adds what only Python needs:
object keys, status values and error codes.

Output layout (docs/architecture.md)::

    <upload bucket>/<UPLOAD_PREFIX><id>        the original, written once by a presigned PUT
    <output bucket>/<id>/<size>.<fingerprint>.<ext>   one object per size and format
    <output bucket>/<id>/manifest.json                written last: done or rejected

A variant is a size (``name``, ``max_edge``) with an ordered list of formats (the order is the
preference: a ``<picture>`` offers them in that order). Each stored output's key embeds its
:func:`output_fingerprint`, a hash of everything that decides its bytes, so bytes at a key never
change: a rule change that could alter an output gives it a new key (docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

# Part of every output's fingerprint. Bump OUTPUT_CODE_VERSION whenever processor code changes
# the bytes of any output for the same rule (resize, colour, encoder settings);
# tests/unit/test_fingerprint.py pins the bytes of a reference set to it. ENCODER_LIBRARIES is
# the Pillow layer's pin (its libjpeg-turbo, libwebp and libavif make the bytes): the same test
# fails until it matches lambda_src/requirements-pillow-layer.txt.
OUTPUT_CODE_VERSION = "1"
ENCODER_LIBRARIES = "Pillow==13.0.0"
FINGERPRINT_HEX_DIGITS = 12
# Immutable outputs (the fingerprint is in the key): every cache may keep them for a year.
OUTPUT_CACHE_CONTROL = "public, max-age=31536000, immutable"

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


def output_key(upload_id: str, size: str, fingerprint: str, variant_format: str) -> str:
    """Key of one output (a size in one format) in the output bucket."""
    extension = OUTPUT_FORMATS[variant_format]["extension"]
    return f"{upload_id}/{size}.{fingerprint}.{extension}"


def manifest_key(upload_id: str) -> str:
    """Key of an upload's manifest in the output bucket."""
    return f"{upload_id}/{MANIFEST_NAME}"


def is_key_of(upload_id: str, key: str) -> bool:
    """True when ``key`` belongs to ``upload_id``'s folder of the output bucket."""
    return key.startswith(f"{upload_id}/")


@dataclass(frozen=True)
class FormatRule:
    """One format of a size, its settings resolved (a default filled in, ``None`` where the
    encoder has no such setting)."""

    format: str
    quality: int | None
    effort: int | None

    @property
    def content_type(self) -> str:
        return OUTPUT_FORMATS[self.format]["content_type"]


@dataclass(frozen=True)
class SizeRule:
    """A variant: a size and its formats in preference order."""

    name: str
    max_edge: int
    formats: tuple[FormatRule, ...]
    animate: bool = True  # an animated source's formats that can animate do (rules.json)


@dataclass(frozen=True)
class OutputRule:
    """One object every upload gets: a size in one format, with its fingerprint."""

    size: str
    max_edge: int
    rule: FormatRule
    fingerprint: str
    animate: bool = True

    @property
    def format(self) -> str:
        return self.rule.format

    def key(self, upload_id: str) -> str:
        return output_key(upload_id, self.size, self.fingerprint, self.rule.format)


def output_fingerprint(
    max_edge: int,
    rule: FormatRule,
    sizes: Sequence[SizeRule],
    code_version: str = OUTPUT_CODE_VERSION,
    animate: bool = True,
) -> str:
    """A short stable hash of everything that decides one output's bytes.

    That is its own size and format settings, the code version and encoder libraries, and the
    pixel pipeline every output shares: the JPEG decode scale and the resize cascade follow
    from the whole set's edges and formats (not from their qualities or efforts), so those
    are in too. Equal fingerprints mean equal bytes for the same original; a change that could
    alter an output changes its fingerprint (a quality change only that output's).
    """
    pipeline = sorted([size.max_edge, sorted({f.format for f in size.formats})] for size in sizes)
    document = {
        "code": code_version,
        "libraries": ENCODER_LIBRARIES,
        "max_edge": max_edge,
        "format": rule.format,
        "quality": rule.quality,
        "effort": rule.effort,
        "pipeline": pipeline,
    }
    if OUTPUT_FORMATS[rule.format].get("animates") and not animate:
        document["still"] = True  # an animated source's variant kept still: other bytes
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:FINGERPRINT_HEX_DIGITS]


def default_sizes() -> tuple[SizeRule, ...]:
    """The sizes a deployment makes by default (rules.json ``default_variants``, which
    ``variables.tf``'s default repeats): what the benchmarks measure as shipped."""
    return size_rules(RULES["default_variants"])


def output_rules(sizes: Sequence[SizeRule]) -> tuple[OutputRule, ...]:
    """Every output of ``sizes``: size by size, each size's formats in preference order."""
    return tuple(
        OutputRule(
            size.name,
            size.max_edge,
            rule,
            output_fingerprint(size.max_edge, rule, sizes, animate=size.animate),
            size.animate,
        )
        for size in sizes
        for rule in size.formats
    )


def size_rules(items: Any) -> tuple[SizeRule, ...]:
    """The ``VARIANTS`` list as rules with defaults filled in; ``ValueError`` lists every
    problem (:func:`variant_list_problems`)."""
    problems = variant_list_problems(items)
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(
        SizeRule(
            item["name"],
            item["max_edge"],
            tuple(_format_rule(entry) for entry in item["formats"]),
            VARIANT_RULES["animate"]["default"] if item.get("animate") is None else item["animate"],
        )
        for item in items
    )


def _format_rule(entry: Mapping[str, Any]) -> FormatRule:
    spec = OUTPUT_FORMATS[entry["format"]]
    resolved = {}
    for setting in ("quality", "effort"):
        value = entry.get(setting)
        rules = spec.get(setting)
        resolved[setting] = (
            None if rules is None else (rules["default"] if value is None else value)
        )
    return FormatRule(entry["format"], resolved["quality"], resolved["effort"])


def variant_problems(index: int, item: Any) -> list[str]:
    """What is wrong with one size object of ``VARIANTS`` (empty when it is valid)."""
    where = f"item {index}"
    if not isinstance(item, Mapping):
        return [f"{where} must be an object"]
    problems = []
    name = item.get("name")
    if not isinstance(name, str) or not VARIANT_NAME_PATTERN.fullmatch(name):
        problems.append(f"{where}: 'name' must match {VARIANT_NAME_PATTERN.pattern}")
    if not _is_int_in(item.get("max_edge"), VARIANT_RULES["max_edge"]):
        low, high = VARIANT_RULES["max_edge"]["min"], VARIANT_RULES["max_edge"]["max"]
        problems.append(f"{where}: 'max_edge' must be an integer in {low}..{high}")
    if item.get("animate") not in (None, True, False):  # absent or null: the default
        problems.append(f"{where}: 'animate' must be true or false")
    formats = item.get("formats")
    bounds = VARIANT_RULES["formats"]
    if not isinstance(formats, list) or not bounds["min"] <= len(formats) <= bounds["max"]:
        problems.append(f"{where}: 'formats' must be a list of {bounds['min']} to {bounds['max']}")
        return problems
    for position, entry in enumerate(formats):
        problems.extend(format_problems(f"{where} format {position}", entry))
    names = [entry.get("format") for entry in formats if isinstance(entry, Mapping)]
    if len(set(map(str, names))) != len(names):
        problems.append(f"{where}: a format may appear once per size, got {names}")
    return problems


def format_problems(where: str, entry: Any) -> list[str]:
    """What is wrong with one ``{format, quality, effort}`` entry of a size."""
    if not isinstance(entry, Mapping):
        return [f"{where} must be an object"]
    unknown = sorted(set(entry) - {"format", "quality", "effort"})
    if unknown:
        return [f"{where}: unknown settings {unknown}"]
    spec = OUTPUT_FORMATS.get(entry.get("format"))  # type: ignore[arg-type]
    if spec is None:
        return [f"{where}: 'format' must be one of {sorted(OUTPUT_FORMATS)}"]
    problems = []
    for setting, bounds in (
        ("quality", VARIANT_RULES["quality"] if spec.get("quality") else None),
        ("effort", spec.get("effort")),
    ):
        value = entry.get(setting)
        if value is None:  # absent or null: the format's default
            continue
        if bounds is None:
            problems.append(f"{where}: {entry['format']} has no {setting!r} setting")
        elif not _is_int_in(value, bounds):
            problems.append(
                f"{where}: {setting!r} must be an integer in {bounds['min']}..{bounds['max']}"
            )
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


def stored_fingerprints(sizes: Any) -> set[str]:
    """Fingerprints of the outputs a record or manifest lists (``variants``: sizes with
    ``sources``). A record written before fingerprints has none: all of it counts as outdated."""
    found: set[str] = set()
    for size in sizes or []:
        for source in size.get("sources") or [] if isinstance(size, Mapping) else []:
            if isinstance(source, Mapping) and isinstance(source.get("fingerprint"), str):
                found.add(source["fingerprint"])
    return found


def missing_outputs(sizes: Any, outputs: Sequence[OutputRule]) -> tuple[OutputRule, ...]:
    """The outputs of the current rules (``outputs``) an upload whose record lists ``sizes`` does
    not have: new or changed rules, or rules whose bytes the code now makes differently (their
    fingerprint is not among the stored ones). Empty: the upload is current
    (tools/reprocess.py, the processor's reprocess path)."""
    have = stored_fingerprints(sizes)
    return tuple(output for output in outputs if output.fingerprint not in have)
