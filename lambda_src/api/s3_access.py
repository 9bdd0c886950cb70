"""The API function's only contact with S3: presigned URLs and two small reads.

Presigned PUT: SigV4, signing ``Content-Type``, ``Content-Length`` and ``If-None-Match: *``
so S3 refuses another type or size and never overwrites an existing upload. Browsers set
``Content-Length`` themselves; other clients must send it equal to the declared size.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

import api_config

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


def client_config(environ: Mapping[str, str]) -> Config:
    """SigV4 always; virtual-hosted regional URLs on AWS, the SDK's choice on an emulator.

    Without a custom endpoint, ``addressing_style="virtual"`` makes botocore presign
    ``https://<bucket>.s3.<region>.amazonaws.com/...`` (the regional host, so a new bucket
    outside us-east-1 does not answer the browser with a redirect). With ``AWS_ENDPOINT_URL``
    (the local emulator on 127.0.0.1) the default keeps path-style URLs.
    """
    custom_endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    s3_options = {} if custom_endpoint else {"addressing_style": "virtual"}
    return Config(
        signature_version="s3v4",
        s3=s3_options,
        retries={"mode": "standard", "max_attempts": 3},
    )


def client_kwargs(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    return {"region_name": environ.get("AWS_REGION"), "config": client_config(environ)}


class S3Access:
    def __init__(self, client: Any, config: api_config.ApiConfig) -> None:
        self._s3 = client
        self._config = config

    def upload_key(self, upload_id: str) -> str:
        return f"{self._config.upload_prefix}{upload_id}"

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
        try:
            response = self._s3.get_object(
                Bucket=self._config.output_bucket, Key=f"{upload_id}/manifest.json"
            )
        except ClientError as error:
            if _is_missing(error):
                return None
            raise
        document = json.loads(response["Body"].read())
        if not isinstance(document, dict):
            raise ValueError(f"manifest of {upload_id} is not a JSON object")
        return document

    def upload_exists(self, upload_id: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._config.upload_bucket, Key=self.upload_key(upload_id))
        except ClientError as error:
            if _is_missing(error):
                return False
            raise
        return True


def _is_missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in _MISSING_CODES
