"""The processor's only contact with S3: read an original, write variants and the manifest,
and erase them all when the owner deleted the upload while it worked (:meth:`S3Storage.erase`).

The original is read with ``IfMatch`` on the ETag the HEAD saw, so a changed object is never
mixed up with the one the event announced. Nothing is deleted but for a tombstoned upload.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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

    def store_variants(
        self,
        upload_id: str,
        processed: imaging.ProcessedImage,
        outputs: Sequence[contract.OutputRule],
        only_keys: set[str] | None = None,
    ) -> None:
        """PUT every output (``only_keys``: just those, as reprocessing writes what is missing)."""
        for variant, output in manifest.stored_outputs(upload_id, processed, outputs):
            if only_keys is not None and output.key(upload_id) not in only_keys:
                continue
            self._s3.put_object(
                Bucket=self._output_bucket,
                Key=output.key(upload_id),
                Body=variant.data,
                ContentType=variant.content_type,
                CacheControl=manifest.VARIANT_CACHE_CONTROL,
            )

    def presign_download(self, key: str, ttl_seconds: int) -> str:
        """A presigned GET of one output (for the outcome event; no call to S3)."""
        return self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._output_bucket, "Key": key},
            ExpiresIn=ttl_seconds,
            HttpMethod="GET",
        )

    def store_manifest(self, upload_id: str, document: dict[str, Any]) -> None:
        self._s3.put_object(
            Bucket=self._output_bucket,
            Key=contract.manifest_key(upload_id),
            Body=manifest.serialise(document),
            ContentType=contract.MANIFEST_CONTENT_TYPE,
            CacheControl=manifest.MANIFEST_CACHE_CONTROL,
        )

    def erase(
        self, bucket: str, key: str, upload_id: str, outputs: Iterable[contract.OutputRule]
    ) -> list[str]:
        """Delete the original and every object this deployment writes for ``upload_id`` (the
        configured variants' keys and the manifest: known, so nothing is listed). Missing
        objects are no error. Returns the output keys asked to go."""
        self._s3.delete_object(Bucket=bucket, Key=key)
        keys = [output.key(upload_id) for output in outputs]
        keys.append(contract.manifest_key(upload_id))
        answer = self._s3.delete_objects(
            Bucket=self._output_bucket,
            Delete={"Objects": [{"Key": item} for item in keys], "Quiet": True},
        )
        if answer.get("Errors"):
            first = answer["Errors"][0]
            raise RuntimeError(f"S3 refused to delete {first.get('Key')}: {first.get('Code')}")
        return keys
