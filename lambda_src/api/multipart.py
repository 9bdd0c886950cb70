"""Pure core of the multipart path: the part plan, part grants and the completion check.

No AWS here. A file larger than the threshold (``MULTIPART_THRESHOLD_BYTES``) goes up as an S3
multipart upload whose parts the API plans (:func:`plan_parts`: every part ``part_bytes`` long
but the last), grants one URL at a time bound to the part's number, exact size and SHA-256
(:func:`parse_part_grants`), and completes only when what S3 holds is exactly what it granted
(:func:`completion_parts`). The upload's record keeps the state (:class:`MultipartState`); the
browser's word is never taken for a part.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from api.core import ApiError, decode_json_object
from common import contract

RULES: Mapping[str, Any] = contract.RULES["multipart"]
MAX_PARTS: int = RULES["max_parts"]
GRANT_BATCH_MAX: int = RULES["grant_batch_max"]
SHA256_BYTES = 32


class MultipartPhase(StrEnum):
    OPEN = "open"  # parts may be granted, uploaded, listed
    COMPLETING = "completing"  # one completion is under way: no second one, no grant
    COMPLETED = "completed"  # S3 assembled the object (create-only); nothing more
    ABORTED = "aborted"  # cancelled: S3 dropped the parts, the quota got the bytes back


@dataclass(frozen=True)
class PartPlan:
    """How a file of ``size`` bytes is cut: ``count`` parts of ``part_size`` but the last."""

    size: int
    part_size: int
    count: int

    def part_bytes(self, number: int) -> int:
        """The exact size of part ``number`` (1-based)."""
        if not 1 <= number <= self.count:
            raise ValueError(f"part {number} is not in 1..{self.count}")
        if number < self.count:
            return self.part_size
        return self.size - self.part_size * (self.count - 1)


def uses_multipart(size: int, threshold: int) -> bool:
    """Files larger than the threshold go up in parts; the rest keep the single PUT."""
    return size > threshold


def plan_parts(size: int, part_bytes: int, max_parts: int = MAX_PARTS) -> PartPlan:
    """Parts of ``part_bytes``, grown in whole MiB when the file would need more than
    ``max_parts`` of them (S3 allows 10,000; the record keeps one entry per granted part)."""
    if size <= 0:
        raise ValueError("size must be positive")
    mib = 1024 * 1024
    part_size = part_bytes
    if _ceil_div(size, part_size) > max_parts:
        part_size = _ceil_div(_ceil_div(size, max_parts), mib) * mib
    return PartPlan(size=size, part_size=part_size, count=_ceil_div(size, part_size))


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


@dataclass(frozen=True)
class PartGrant:
    """One part as granted: its number, exact size and SHA-256 (base64, as S3 spells it)."""

    number: int
    size: int
    sha256: str


@dataclass(frozen=True)
class HeldPart:
    """One part as S3 holds it (``ListParts``)."""

    number: int
    size: int
    etag: str
    sha256: str | None


@dataclass(frozen=True)
class MultipartState:
    """The multipart state an upload's record keeps (attribute ``multipart``)."""

    s3_upload_id: str
    plan: PartPlan
    phase: MultipartPhase
    granted: Mapping[int, PartGrant]

    @classmethod
    def from_record(cls, item: Mapping[str, Any]) -> MultipartState | None:
        raw = item.get("multipart")
        if not isinstance(raw, Mapping):
            return None
        plan = PartPlan(
            size=int(item["declaredBytes"]),
            part_size=int(raw["partSize"]),
            count=int(raw["partCount"]),
        )
        granted = {
            int(number): PartGrant(int(number), int(part["size"]), str(part["sha256"]))
            for number, part in (raw.get("granted") or {}).items()
        }
        return cls(str(raw["s3UploadId"]), plan, MultipartPhase(raw["phase"]), granted)


def record_attribute(s3_upload_id: str, plan: PartPlan) -> dict[str, Any]:
    """The record's ``multipart`` attribute of a new multipart upload."""
    return {
        "s3UploadId": s3_upload_id,
        "partSize": plan.part_size,
        "partCount": plan.count,
        "phase": MultipartPhase.OPEN.value,
        "granted": {},
    }


def is_sha256(value: Any) -> bool:
    """True for the base64 text of exactly 32 bytes (a SHA-256 digest, as S3 takes it)."""
    if not isinstance(value, str) or len(value) != 44:
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == SHA256_BYTES
    except (binascii.Error, ValueError):
        return False


def parse_part_grants(body: Any, is_base64_encoded: Any, plan: PartPlan) -> tuple[PartGrant, ...]:
    """Validate ``{"parts": [{"partNumber", "size", "sha256"}]}`` (1 to
    :data:`GRANT_BATCH_MAX` parts, each number once, each size exactly the plan's)."""
    payload = decode_json_object(body, is_base64_encoded)
    parts = payload.get("parts")
    if not isinstance(parts, list) or not 1 <= len(parts) <= GRANT_BATCH_MAX:
        raise ApiError(
            400, "invalid_request", f"'parts' must list 1 to {GRANT_BATCH_MAX} parts to grant."
        )
    grants = tuple(_part_grant(item, plan) for item in parts)
    if len({grant.number for grant in grants}) != len(grants):
        raise ApiError(400, "invalid_part", "Each part number may be asked for once per request.")
    return grants


def _part_grant(item: Any, plan: PartPlan) -> PartGrant:
    if not isinstance(item, Mapping):
        raise ApiError(400, "invalid_part", "Each part must be an object.")
    number, size, sha256 = item.get("partNumber"), item.get("size"), item.get("sha256")
    if not _is_int(number) or not 1 <= number <= plan.count:
        raise ApiError(
            400, "invalid_part", f"'partNumber' must be an integer from 1 to {plan.count}."
        )
    expected = plan.part_bytes(number)
    if not _is_int(size) or size != expected:
        raise ApiError(
            400, "invalid_part_size", f"Part {number} must be exactly {expected} bytes long."
        )
    if not is_sha256(sha256):
        raise ApiError(
            400, "invalid_checksum", "'sha256' must be the base64 SHA-256 of the part's bytes."
        )
    return PartGrant(number=number, size=size, sha256=sha256)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def require_phase(state: MultipartState | None, wanted: MultipartPhase) -> MultipartState:
    """The state if it is a multipart upload in phase ``wanted``, else a clear 4xx."""
    if state is None:
        raise ApiError(
            409, "not_multipart", "This upload goes up in one PUT: it has no parts to manage."
        )
    if state.phase == wanted:
        return state
    if state.phase == MultipartPhase.COMPLETED:
        raise ApiError(409, "already_completed", "This upload is already complete.")
    if state.phase == MultipartPhase.ABORTED:
        raise ApiError(409, "aborted", "This upload was cancelled; start a new one.")
    raise ApiError(409, "completing", "This upload is being completed; check its status.")


def completion_parts(
    state: MultipartState, held: Sequence[HeldPart], max_upload_bytes: int
) -> list[HeldPart]:
    """The parts to complete with, in order, once S3's list is exactly what was granted:
    every planned part there (no more), each of its granted size and SHA-256, summing to the
    declared size (itself within ``max_upload_bytes``). Raises a 409/413 naming the first
    difference."""
    plan = state.plan
    if plan.size > max_upload_bytes:
        raise ApiError(
            413, "file_too_large", f"The file is too large: the limit is {max_upload_bytes} bytes."
        )
    by_number = {part.number: part for part in held}
    missing = [number for number in range(1, plan.count + 1) if number not in by_number]
    if missing:
        raise ApiError(
            409,
            "parts_missing",
            f"{len(missing)} of {plan.count} parts are not uploaded yet (first: {missing[0]}).",
        )
    extra = sorted(set(by_number) - set(range(1, plan.count + 1)))
    if extra:
        raise ApiError(409, "part_not_granted", f"Part {extra[0]} was never granted.")
    for number in range(1, plan.count + 1):
        _check_part(state.granted.get(number), by_number[number])
    total = sum(part.size for part in by_number.values())
    if total != plan.size:
        raise ApiError(
            409, "size_mismatch", f"The parts hold {total} bytes, not the declared {plan.size}."
        )
    return [by_number[number] for number in range(1, plan.count + 1)]


def _check_part(grant: PartGrant | None, part: HeldPart) -> None:
    if grant is None:
        raise ApiError(409, "part_not_granted", f"Part {part.number} was never granted.")
    if part.size != grant.size:
        raise ApiError(
            409,
            "part_size_mismatch",
            f"Part {part.number} holds {part.size} bytes, not the granted {grant.size}.",
        )
    if part.sha256 != grant.sha256:
        raise ApiError(
            409, "part_checksum_mismatch", f"Part {part.number} is not the part that was granted."
        )


def start_body(
    upload_id: str, plan: PartPlan, expires_in: int, max_bytes: int, content_type: str
) -> dict[str, Any]:
    """The ``POST /uploads`` answer of a multipart upload: the plan; part URLs come from
    ``POST /uploads/{id}/parts``, just in time."""
    return {
        "id": upload_id,
        "method": "MULTIPART",
        "multipart": {"partSize": plan.part_size, "partCount": plan.count, "size": plan.size},
        "headers": {"Content-Type": content_type},
        "expiresIn": expires_in,
        "maxBytes": max_bytes,
        "batchMax": GRANT_BATCH_MAX,
    }


def grant_body(grants: Sequence[PartGrant], urls: Sequence[str], expires_in: int) -> dict:
    """The ``POST /uploads/{id}/parts`` answer: one URL per granted part and the headers the
    PUT must carry (the checksum is signed: another one, or none, is a 403)."""
    return {
        "parts": [
            {
                "partNumber": grant.number,
                "url": url,
                "method": "PUT",
                "headers": {"x-amz-checksum-sha256": grant.sha256},
                "size": grant.size,
            }
            for grant, url in zip(grants, urls, strict=True)
        ],
        "expiresIn": expires_in,
    }


def parts_body(upload_id: str, state: MultipartState, held: Sequence[HeldPart]) -> dict:
    """The ``GET /uploads/{id}/parts`` answer: the plan and the parts S3 holds that are the
    granted ones (a part S3 holds with another size or checksum is not counted: resend it)."""
    good = [
        part
        for part in sorted(held, key=lambda item: item.number)
        if (grant := state.granted.get(part.number)) is not None
        and grant.size == part.size
        and grant.sha256 == part.sha256
    ]
    return {
        "id": upload_id,
        "phase": state.phase.value,
        "partSize": state.plan.part_size,
        "partCount": state.plan.count,
        "size": state.plan.size,
        "parts": [
            {"partNumber": part.number, "size": part.size, "sha256": part.sha256} for part in good
        ],
        "bytesHeld": sum(part.size for part in good),
    }
