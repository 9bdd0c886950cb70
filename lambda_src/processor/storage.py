"""The processor's only contact with S3: read an original, write variants and the manifest.

The upload bucket is only ever read (with ``IfMatch`` on the ETag the HEAD saw, so a changed
object is never mixed up with the one the event announced); the output bucket is only written.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from common import contract
from processor import imaging, manifest

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage:
    def __init__(self, client: Any, output_bucket: str) -> None:
        self._s3 = client
        self._output_bucket = output_bucket

    def head_upload(self, bucket: str, key: str) -> dict[str, Any] | None:
        """The original's HEAD response, or ``None`` when it no longer exists."""
        try:
            return self._s3.head_object(Bucket=bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _MISSING_CODES:
                return None
            raise

    def read_upload(self, bucket: str, key: str, etag: str) -> bytes:
        response = self._s3.get_object(Bucket=bucket, Key=key, IfMatch=etag)
        return response["Body"].read()

    def store_variants(self, upload_id: str, processed: imaging.ProcessedImage) -> None:
        for variant in processed.variants:
            self._s3.put_object(
                Bucket=self._output_bucket,
                Key=manifest.variant_key(upload_id, variant),
                Body=variant.data,
                ContentType=variant.content_type,
                CacheControl=manifest.VARIANT_CACHE_CONTROL,
            )

    def record_failed_attempt(self, upload_id: str, error: BaseException) -> int:
        """Count one failed attempt in ``<id>/failure.json``; return the attempts so far.

        Read-modify-write: two attempts of one upload never run at the same time (Lambda
        retries an event after the previous attempt has ended), and a lost count only makes the
        API wait for its time-based verdict.
        """
        key = contract.failure_key(upload_id)
        attempts = 1
        try:
            previous = json.loads(
                self._s3.get_object(Bucket=self._output_bucket, Key=key)["Body"].read()
            )
            attempts += int(previous.get("attempts", 0))
        except ClientError as read_error:
            if read_error.response.get("Error", {}).get("Code") not in _MISSING_CODES:
                raise
        record = {"attempts": attempts, "error": type(error).__name__}
        self._s3.put_object(
            Bucket=self._output_bucket,
            Key=key,
            Body=json.dumps(record, separators=(",", ":")).encode(),
            ContentType=contract.MANIFEST_CONTENT_TYPE,
            CacheControl=manifest.MANIFEST_CACHE_CONTROL,
        )
        return attempts

    def store_manifest(self, upload_id: str, document: dict[str, Any]) -> None:
        self._s3.put_object(
            Bucket=self._output_bucket,
            Key=contract.manifest_key(upload_id),
            Body=manifest.serialise(document),
            ContentType=contract.MANIFEST_CONTENT_TYPE,
            CacheControl=manifest.MANIFEST_CACHE_CONTROL,
        )
