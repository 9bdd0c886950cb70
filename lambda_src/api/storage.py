"""The API function's only contact with S3: presigned URLs and two small reads.

Presigned PUT: SigV4, signing ``Content-Type``, ``Content-Length`` and ``If-None-Match: *``
so S3 refuses another type or size and never overwrites an existing upload. Browsers set
``Content-Length`` themselves; other clients must send it equal to the declared size.
"""

from __future__ import annotations

import json
from datetime import datetime
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

    def read_manifest(self, upload_id: str) -> dict[str, Any] | None:
        """The parsed ``<id>/manifest.json``, or ``None`` when it does not exist yet."""
        return self._read_json(contract.manifest_key(upload_id))

    def read_failure(self, upload_id: str) -> dict[str, Any] | None:
        """The processor's ``<id>/failure.json`` (failed attempts so far), or ``None``."""
        return self._read_json(contract.failure_key(upload_id))

    def uploaded_at(self, upload_id: str) -> datetime | None:
        """When the original was stored (S3's LastModified), or ``None`` if there is none."""
        try:
            head = self._s3.head_object(
                Bucket=self._config.upload_bucket, Key=self.upload_key(upload_id)
            )
        except ClientError as error:
            if is_missing(error):
                return None
            raise
        return head["LastModified"]

    def _read_json(self, key: str) -> dict[str, Any] | None:
        try:
            response = self._s3.get_object(Bucket=self._config.output_bucket, Key=key)
        except ClientError as error:
            if is_missing(error):
                return None
            raise
        document = json.loads(response["Body"].read())
        if not isinstance(document, dict):
            raise ValueError(f"{key} is not a JSON object")
        return document


def is_missing(error: ClientError) -> bool:
    """True when S3 answered that the key does not exist (404, NoSuchKey, NotFound)."""
    return error.response.get("Error", {}).get("Code") in _MISSING_CODES
