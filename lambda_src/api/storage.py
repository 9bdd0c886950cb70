"""The API function's only contact with S3: presigned URLs (it reads and lists nothing).

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


def is_missing(error: ClientError) -> bool:
    """True when S3 answered that the key does not exist (404, NoSuchKey, NotFound)."""
    return error.response.get("Error", {}).get("Code") in _MISSING_CODES
