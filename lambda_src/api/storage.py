"""The API function's contact with S3: presigned URLs, and (with sign-in) erasure of one
upload's objects: its original and everything under ``<id>/`` in the output bucket.

Presigned PUT: SigV4, signing ``Content-Type``, ``Content-Length`` and ``If-None-Match: *``
so S3 refuses another type or size and never overwrites an existing upload. Browsers set
``Content-Length`` themselves; other clients must send it equal to the declared size.

Multipart (files above the threshold, api/multipart.py): the upload starts with SHA-256 part
checksums; each part URL signs ``Content-Length`` and ``x-amz-checksum-sha256``, so S3 takes
that part number only with that size and a body of that checksum (anything else is a 403 or a
``BadDigest`` 400, and nothing is stored); completion is create-only (``If-None-Match: *``).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from api.config import ApiConfig
from api.multipart import HeldPart
from common import contract

_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
NO_SUCH_UPLOAD = "NoSuchUpload"


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

    def start_multipart(self, upload_id: str, content_type: str) -> str:
        """Begin S3's multipart upload of the original; answers S3's upload id."""
        answer = self._s3.create_multipart_upload(
            Bucket=self._config.upload_bucket,
            Key=self.upload_key(upload_id),
            ContentType=content_type,
            ChecksumAlgorithm="SHA256",
        )
        return str(answer["UploadId"])

    def presign_part(
        self, upload_id: str, s3_upload_id: str, number: int, size: int, sha256: str
    ) -> str:
        """A PUT URL for one part, bound to its number, exact size and SHA-256."""
        return self._s3.generate_presigned_url(
            "upload_part",
            Params={
                "Bucket": self._config.upload_bucket,
                "Key": self.upload_key(upload_id),
                "UploadId": s3_upload_id,
                "PartNumber": number,
                "ContentLength": size,
                "ChecksumSHA256": sha256,
            },
            ExpiresIn=self._config.upload_url_ttl_seconds,
            HttpMethod="PUT",
        )

    def list_parts(self, upload_id: str, s3_upload_id: str) -> list[HeldPart] | None:
        """The parts S3 holds (``None``: S3 no longer knows the upload: aborted or done)."""
        parts: list[HeldPart] = []
        marker = 0
        while True:
            try:
                page = self._s3.list_parts(
                    Bucket=self._config.upload_bucket,
                    Key=self.upload_key(upload_id),
                    UploadId=s3_upload_id,
                    PartNumberMarker=marker,
                )
            except ClientError as error:
                if error_code(error) == NO_SUCH_UPLOAD:
                    return None
                raise
            parts.extend(
                HeldPart(
                    number=int(part["PartNumber"]),
                    size=int(part["Size"]),
                    etag=str(part["ETag"]),
                    sha256=part.get("ChecksumSHA256"),
                )
                for part in page.get("Parts", [])
            )
            if not page.get("IsTruncated"):
                return parts
            marker = int(page["NextPartNumberMarker"])

    def complete_multipart(self, upload_id: str, s3_upload_id: str, parts: list[HeldPart]) -> None:
        """Assemble the original from ``parts``, create-only: S3 refuses (412) when an object
        already has the key, so nothing stored is ever replaced."""
        self._s3.complete_multipart_upload(
            Bucket=self._config.upload_bucket,
            Key=self.upload_key(upload_id),
            UploadId=s3_upload_id,
            IfNoneMatch="*",
            MultipartUpload={
                "Parts": [
                    {"PartNumber": part.number, "ETag": part.etag, "ChecksumSHA256": part.sha256}
                    for part in parts
                ]
            },
        )

    def abort_multipart(self, upload_id: str, s3_upload_id: str) -> None:
        """Drop the upload and every part S3 holds (idempotent: a gone upload is no error)."""
        try:
            self._s3.abort_multipart_upload(
                Bucket=self._config.upload_bucket,
                Key=self.upload_key(upload_id),
                UploadId=s3_upload_id,
            )
        except ClientError as error:
            if error_code(error) != NO_SUCH_UPLOAD:
                raise

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


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def is_missing(error: ClientError) -> bool:
    """True when S3 answered that the key does not exist (404, NoSuchKey, NotFound)."""
    return error.response.get("Error", {}).get("Code") in _MISSING_CODES
