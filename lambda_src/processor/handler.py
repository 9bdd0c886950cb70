"""Processor Lambda (handler ``processor.handler.handler``): S3 ``ObjectCreated`` on ``uploads/`` ->
variants and ``<id>/manifest.json`` in OUTPUT_BUCKET.

Thin AWS layer over :mod:`imaging` (pure). A bad image is not an error: it produces a
``rejected`` manifest and the invocation succeeds. Anything unexpected (S3 errors, bugs)
is logged with its traceback and re-raised, so Lambda's retries and the DLQ apply.
Processing is idempotent: outputs are deterministic and simply overwritten on a replay.
The upload bucket is only ever read.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common import emf, jsonlog, records, s3_client, tracing
from common import table as uploads_table
from processor import config as processor_config
from processor import decode_budget, imaging, manifest, metrics, s3_events
from processor.storage import S3Storage

CONFIG = processor_config.load_config(os.environ)
LOG = jsonlog.JsonLogger("processor", CONFIG.log_level)
S3 = s3_client.make_client()
STORE = S3Storage(S3, CONFIG.output_bucket)
TABLE = uploads_table.UploadsTable(uploads_table.make_client(), CONFIG.uploads_table)


@dataclass(frozen=True)
class Outcome:
    upload_id: str
    status: str  # "done" | "rejected" | "missing"
    error_code: str | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    with LOG.bound(request_id=request_id, trace_id=tracing.current_trace_id()):
        uploads, ignored = s3_events.parse_event(event, CONFIG.upload_prefix)
        for record in ignored:
            LOG.info("record ignored", key=record.key, reason=record.reason)
        outcomes = [process_upload(upload, remaining_ms(context)) for upload in uploads]
        return {
            "processed": [outcome.__dict__ for outcome in outcomes],
            "ignored": len(ignored),
        }


def remaining_ms(context: Any) -> Callable[[], float]:
    """The invocation's remaining time in ms (no context, as in a direct call: no limit)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return remaining if callable(remaining) else (lambda: math.inf)


def process_upload(upload: s3_events.UploadRef, remaining: Callable[[], float]) -> Outcome:
    with LOG.bound(upload_id=upload.upload_id):
        try:
            return _process(upload, remaining)
        except Exception as error:
            LOG.exception("processing failed; the invocation will be retried", key=upload.key)
            publish(lambda ns, svc, props: metrics.failed_attempt(ns, svc, props))
            record_failure(upload.upload_id, error)
            raise


def publish(build: Callable[[str, str, dict[str, Any]], dict[str, Any]]) -> None:
    """Write one EMF metric line (when METRICS_NAMESPACE is set) with the bound ids as
    properties. A metric is never worth failing an upload for: errors are logged."""
    if not CONFIG.metrics_namespace:
        return
    try:
        emf.emit(build(CONFIG.metrics_namespace, CONFIG.metrics_service, jsonlog.bound_fields()))
    except Exception:
        LOG.exception("metric document not written")


def record_failure(upload_id: str, error: BaseException) -> None:
    """Count the failed attempt in the record; after the last one the upload is failed.

    Never hides the original error: a failure to record is logged, and the attempt still
    fails (so Lambda's retries and the dead-letter queue apply).
    """
    now = datetime.now(UTC)
    try:
        counted = TABLE.update(records.failed_attempt_update(upload_id, now, type(error).__name__))
        attempts = counted["failedAttempts"] if counted else None
        if attempts is not None and attempts >= CONFIG.processing_attempts:
            TABLE.update(records.give_up_update(upload_id, now))
    except Exception:
        LOG.exception("could not record the failed attempt")
        return
    LOG.warning("failed attempt recorded", attempts=attempts, error_type=type(error).__name__)


def _process(upload: s3_events.UploadRef, remaining: Callable[[], float]) -> Outcome:
    watch = jsonlog.Stopwatch()
    with watch.stage("head"):
        head = STORE.head_upload(upload.bucket, upload.key)
    if head is None:
        LOG.warning("upload no longer exists; nothing to do", key=upload.key)
        return Outcome(upload.upload_id, "missing")
    with watch.stage("record"):
        started = TABLE.update(
            records.start_update(upload.upload_id, datetime.now(UTC), CONFIG.record_retention_days)
        )
    if started is None:  # a duplicate or late event: the upload is already done or rejected
        LOG.info("upload already finished; event ignored", key=upload.key)
        return Outcome(upload.upload_id, "finished")
    # The presigning request's ids (docs/operations.md, "Tracing an upload"): every later line.
    LOG.bind(api_request_id=started.get("apiRequestId"), api_trace_id=started.get("traceId"))
    size = int(head["ContentLength"])
    rejection = imaging.rejection_for_size(size, CONFIG.max_upload_bytes)
    processed: imaging.ProcessedImage | None = None
    if rejection is None:
        with watch.stage("get"):
            data = STORE.read_upload(upload.bucket, upload.key, head["ETag"])
        deadline = decode_deadline(remaining())
        try:
            with watch.stage("process"):
                processed = imaging.process_image(
                    data, CONFIG.variants, CONFIG.limits, decode_deadline=deadline
                )
        except imaging.ImageRejected as error:
            rejection = error
    with watch.stage("put"):
        if processed is not None:
            STORE.store_variants(upload.upload_id, processed)
            document = manifest.done_manifest(upload.upload_id, upload.key, size, processed)
        else:
            assert rejection is not None
            document = manifest.rejected_manifest(upload.upload_id, upload.key, size, rejection)
        STORE.store_manifest(upload.upload_id, document)
    with watch.stage("record"):
        finished = TABLE.update(
            records.finish_update(
                upload.upload_id, datetime.now(UTC), record_outcome(document), watch.total_ms()
            )
        )
    if finished is None:
        LOG.info("a concurrent attempt finished the record first")
    log_outcome(size, processed, rejection, watch)
    return Outcome(upload.upload_id, document["status"], rejection.code if rejection else None)


def record_outcome(document: dict[str, Any]) -> dict[str, Any]:
    """What the record keeps of the manifest: status, variants, source, placeholder, error."""
    return {
        "status": document["status"],
        "variants": document["variants"],
        "source": document["source"],
        "placeholder": document.get("placeholder"),
        "error": document["error"],
    }


def decode_deadline(remaining_ms: float) -> float:
    """The decode's deadline; too little time left is a retry, never a rejection of the file."""
    if remaining_ms == math.inf:
        return math.inf
    seconds = decode_budget.decode_budget_seconds(remaining_ms)
    if seconds < decode_budget.MIN_BUDGET_SECONDS:
        raise TimeoutError(
            f"only {remaining_ms:.0f} ms left before decoding: retrying with a fresh budget"
        )
    return time.monotonic() + seconds


def log_outcome(
    size: int,
    processed: imaging.ProcessedImage | None,
    rejection: imaging.ImageRejected | None,
    watch: jsonlog.Stopwatch,
) -> None:
    timings = dict(watch.timings_ms)
    if processed is None:
        assert rejection is not None
        code = rejection.code
        publish(lambda ns, svc, props: metrics.rejected(ns, svc, code, timings, props))
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
    publish(lambda ns, svc, props: metrics.processed(ns, svc, timings, props))
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
        placeholder_bytes=len(processed.placeholder.thumbhash) if processed.placeholder else 0,
        timings_ms=timings,
    )
