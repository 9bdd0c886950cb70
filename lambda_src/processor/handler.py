"""Processor Lambda (handler ``handler.handler``): S3 ``ObjectCreated`` on ``uploads/`` ->
variants and ``<id>/manifest.json`` in OUTPUT_BUCKET.

Thin AWS layer over :mod:`imaging` (pure). A bad image is not an error: it produces a
``rejected`` manifest and the invocation succeeds. Anything unexpected (S3 errors, bugs)
is logged with its traceback and re-raised, so Lambda's retries and the DLQ apply.
Processing is idempotent: outputs are deterministic and simply overwritten on a replay.
The upload bucket is only ever read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

import imaging
import jsonlog
import manifest
import processor_config
import s3_events

CONFIG = processor_config.load_config(os.environ)
LOG = jsonlog.JsonLogger("processor", CONFIG.log_level)
S3 = boto3.client(
    "s3",
    region_name=os.environ.get("AWS_REGION"),
    config=Config(signature_version="s3v4", retries={"mode": "standard", "max_attempts": 3}),
)


@dataclass(frozen=True)
class Outcome:
    upload_id: str
    status: str  # "done" | "rejected" | "missing"
    error_code: str | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    with LOG.bound(request_id=request_id):
        uploads, ignored = s3_events.parse_event(event, CONFIG.upload_prefix)
        for record in ignored:
            LOG.info("record ignored", key=record.key, reason=record.reason)
        outcomes = [process_upload(upload) for upload in uploads]
        return {
            "processed": [outcome.__dict__ for outcome in outcomes],
            "ignored": len(ignored),
        }


def process_upload(upload: s3_events.UploadRef) -> Outcome:
    with LOG.bound(upload_id=upload.upload_id):
        try:
            return _process(upload)
        except Exception:
            LOG.exception("processing failed; the invocation will be retried", key=upload.key)
            raise


def _process(upload: s3_events.UploadRef) -> Outcome:
    watch = jsonlog.Stopwatch()
    with watch.stage("head"):
        head = head_upload(upload)
    if head is None:
        LOG.warning("upload no longer exists; nothing to do", key=upload.key)
        return Outcome(upload.upload_id, "missing")
    size = int(head["ContentLength"])
    rejection = imaging.rejection_for_size(size, CONFIG.max_upload_bytes)
    processed: imaging.ProcessedImage | None = None
    if rejection is None:
        with watch.stage("get"):
            data = read_upload(upload, head["ETag"])
        try:
            with watch.stage("process"):
                processed = imaging.process_image(data, CONFIG.variants, CONFIG.limits)
        except imaging.ImageRejected as error:
            rejection = error
    with watch.stage("put"):
        if processed is not None:
            store_variants(upload.upload_id, processed)
            document = manifest.done_manifest(upload.upload_id, upload.key, size, processed)
        else:
            assert rejection is not None
            document = manifest.rejected_manifest(upload.upload_id, upload.key, size, rejection)
        store_manifest(upload.upload_id, document)
    log_outcome(size, processed, rejection, watch)
    return Outcome(upload.upload_id, document["status"], rejection.code if rejection else None)


def head_upload(upload: s3_events.UploadRef) -> dict[str, Any] | None:
    try:
        return S3.head_object(Bucket=upload.bucket, Key=upload.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def read_upload(upload: s3_events.UploadRef, etag: str) -> bytes:
    response = S3.get_object(Bucket=upload.bucket, Key=upload.key, IfMatch=etag)
    return response["Body"].read()


def store_variants(upload_id: str, processed: imaging.ProcessedImage) -> None:
    for variant in processed.variants:
        S3.put_object(
            Bucket=CONFIG.output_bucket,
            Key=manifest.variant_key(upload_id, variant),
            Body=variant.data,
            ContentType=variant.content_type,
            CacheControl=manifest.CACHE_CONTROL_IMMUTABLE,
        )


def store_manifest(upload_id: str, document: dict[str, Any]) -> None:
    S3.put_object(
        Bucket=CONFIG.output_bucket,
        Key=manifest.manifest_key(upload_id),
        Body=manifest.serialise(document),
        ContentType=manifest.MANIFEST_CONTENT_TYPE,
        CacheControl=manifest.MANIFEST_CACHE_CONTROL,
    )


def log_outcome(
    size: int,
    processed: imaging.ProcessedImage | None,
    rejection: imaging.ImageRejected | None,
    watch: jsonlog.Stopwatch,
) -> None:
    timings = dict(watch.timings_ms)
    if processed is None:
        assert rejection is not None
        LOG.info(
            "upload rejected",
            status="rejected",
            error_code=rejection.code,
            error_detail=rejection.detail,
            source_bytes=size,
            timings_ms=timings,
        )
        return
    timings.update(processed.timings_ms)
    for note in processed.notes:
        LOG.warning("image oddity ignored", note=note)
    LOG.info(
        "upload processed",
        status="done",
        source_bytes=size,
        source_format=processed.source.format,
        source_width=processed.source.width,
        source_height=processed.source.height,
        output_bytes={variant.name: variant.size for variant in processed.variants},
        timings_ms=timings,
    )
