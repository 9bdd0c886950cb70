"""The API function's contact with S3: presigned URLs, and (with sign-in) erasure of one
upload's objects: its original and everything under ``<id>/`` in the output bucket.

Presigned PUT: SigV4, signing ``Content-Type``, ``Content-Length`` and ``If-None-Match: *``
so S3 refuses another type or size and never overwrites an existing upload. Browsers set
``Content-Length`` themselves; other clients must send it equal to the declared size.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from api.config import ApiConfig
from common import contract

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage:
    def __init__(self, client: Any, config: ApiConfig) -> None:
        self._s3 = client
        self._config = config

    def upload_key(self, upload_id: str) -> str:
        return contract.upload_key(self._config.upload_prefix, upload_id)

    def presign_upload(self, upload_id: str, content_type: str, size: int) -> str:
        return self._s3.generate_presigned_url(
            "put_object",
            Params={
                "Bucket": self._config.upload_bucket,
                "Key": self.upload_key(upload_id),
                "ContentType": content_type,
                "ContentLength": size,
                "IfNoneMatch": "*",
            },
            ExpiresIn=self._config.upload_url_ttl_seconds,
            HttpMethod="PUT",
        )

    def presign_download(self, key: str) -> str:
        return self._s3.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._config.output_bucket, "Key": key},
            ExpiresIn=self._config.download_url_ttl_seconds,
            HttpMethod="GET",
        )

    def delete_upload(self, upload_id: str) -> int:
        """Delete the original, every variant and the manifest of ``upload_id`` (idempotent:
        missing objects are no error). Returns how many objects were asked to go."""
        self._s3.delete_object(Bucket=self._config.upload_bucket, Key=self.upload_key(upload_id))
        deleted = 1
        prefix = f"{upload_id}/"
        paginator = self._s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._config.output_bucket, Prefix=prefix):
            keys = [item["Key"] for item in page.get("Contents", [])]
            keys = [key for key in keys if contract.is_key_of(upload_id, key)]
            if not keys:
                continue
            answer = self._s3.delete_objects(
                Bucket=self._config.output_bucket,
                Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
            )
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise RuntimeError(f"S3 refused to delete {first.get('Key')}: {first.get('Code')}")
            deleted += len(keys)
        return deleted


def is_missing(error: ClientError) -> bool:
    """True when S3 answered that the key does not exist (404, NoSuchKey, NotFound)."""
    return error.response.get("Error", {}).get("Code") in _MISSING_CODES
