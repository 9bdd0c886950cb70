"""Processor Lambda (handler ``processor.handler.handler``): S3 ``ObjectCreated`` on ``uploads/`` ->
variants and ``<id>/manifest.json`` in OUTPUT_BUCKET.

Thin AWS layer over :mod:`imaging` (pure). A bad image is not an error: it produces a
``rejected`` manifest and the invocation succeeds. Anything unexpected (S3 errors, bugs)
is logged with its traceback and re-raised, so Lambda's retries and the DLQ apply.
Processing is idempotent: outputs are deterministic and simply overwritten on a replay.

A delete wins over processing: when the record is a tombstone (``DELETE /uploads/{id}`` while
the attempt ran, or before a late PUT with a URL granted earlier), the conditional update that
refuses the attempt (start, finish or the failed-attempt count) answers the tombstone, and the
processor erases the original and whatever it wrote, logs ``deleted_upload_erased`` and
succeeds: no retry, no dead letter, nothing left behind.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from common import contract, emf, event_bus, events, jsonlog, records, s3_client, tracing
from common import table as uploads_table
from processor import config as processor_config
from processor import cpus, decode_budget, imaging, manifest, metrics, s3_events
from processor.storage import S3Storage

CONFIG = processor_config.load_config(os.environ)
LOG = jsonlog.JsonLogger("processor", CONFIG.log_level)
# CPUs the core may use (cgroup quota, affinity, Lambda's memory share): 1 = sequential.
WORKERS = cpus.detect_workers(os.environ)
S3 = s3_client.make_client()
STORE = S3Storage(S3, CONFIG.output_bucket)
TABLE = uploads_table.UploadsTable(uploads_table.make_client(), CONFIG.uploads_table)
EVENT_SETTINGS = event_bus.settings_from(os.environ)
BUS = event_bus.EventBus(
    event_bus.make_client() if EVENT_SETTINGS.enabled else None, EVENT_SETTINGS
)


@dataclass(frozen=True)
class Outcome:
    upload_id: str
    # "done" | "rejected" | "missing" | "finished" | "deleted"; reprocessing: "reprocessed" |
    # "current" | "skipped" | "refused" (error_code: the record status or the rejection code)
    status: str
    error_code: str | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    request_id = getattr(context, "aws_request_id", None)
    with LOG.bound(request_id=request_id, trace_id=tracing.current_trace_id()):
        uploads, ignored = s3_events.parse_event(event, CONFIG.upload_prefix)
        for record in ignored:
            LOG.info("record ignored", key=record.key, reason=record.reason)
        # tools/reprocess.py sends the S3 event of a kept original, marked "reprocess": bring
        # that done upload up to the current rules (same retries and dead letters as uploads).
        work = reprocess_upload if event.get("reprocess") is True else process_upload
        outcomes = [work(upload, remaining_ms(context)) for upload in uploads]
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
            if record_failure(upload.upload_id, error):
                return erase_deleted(upload, "failed_attempt", error_type=type(error).__name__)
            LOG.exception("processing failed; the invocation will be retried", key=upload.key)
            publish(lambda ns, svc, props: metrics.failed_attempt(ns, svc, props))
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


def record_failure(upload_id: str, error: BaseException) -> bool:
    """Count the failed attempt in the record; after the last one the upload is failed.
    True when the record is a tombstone instead: the caller erases, and the attempt succeeds.

    Never hides the original error otherwise: a failure to record is logged, and the attempt
    still fails (so Lambda's retries and the dead-letter queue apply).
    """
    now = datetime.now(UTC)
    try:
        counted = TABLE.attempt(records.failed_attempt_update(upload_id, now, type(error).__name__))
        if not counted.applied:
            return records.is_tombstone(counted.item)
        attempts = counted.item["failedAttempts"] if counted.item else None
        if attempts is not None and attempts >= CONFIG.processing_attempts:
            failed = TABLE.update(records.give_up_update(upload_id, now))
            if failed:
                publish_outcome(failed)
    except Exception:
        LOG.exception("could not record the failed attempt (or publish that it failed)")
        return False
    LOG.warning("failed attempt recorded", attempts=attempts, error_type=type(error).__name__)
    return False


def begin(upload_id: str) -> uploads_table.Answer:
    """Move the record to ``processing``: a first or retried attempt, else (``failed``) a
    replay's new epoch. Refused for a finished or deleted upload (the answer says which)."""
    now = datetime.now(UTC)
    started = TABLE.attempt(records.start_update(upload_id, now, CONFIG.record_retention_days))
    if started.applied or (started.item or {}).get("status") != records.RecordStatus.FAILED:
        return started
    LOG.info("a failed upload starts again (replay)")
    return TABLE.attempt(records.restart_update(upload_id, now, CONFIG.processing_attempts))


def erase_deleted(upload: s3_events.UploadRef, refused_at: str, **fields: Any) -> Outcome:
    """The owner deleted this upload: erase the original and every output, then succeed."""
    keys = STORE.erase(upload.bucket, upload.key, upload.upload_id, CONFIG.outputs)
    LOG.info(
        "upload deleted while processing; original and outputs erased",
        event="deleted_upload_erased",
        refused_at=refused_at,
        key=upload.key,
        output_keys=keys,
        **fields,
    )
    return Outcome(upload.upload_id, "deleted")


def _process(upload: s3_events.UploadRef, remaining: Callable[[], float]) -> Outcome:
    watch = jsonlog.Stopwatch()
    with watch.stage("head"):
        head = STORE.head_upload(upload.bucket, upload.key)
    if head is None:
        if records.is_tombstone(TABLE.get(upload.upload_id)):  # an earlier attempt may have
            return erase_deleted(upload, "missing_original")  # written before it was killed
        LOG.warning("upload no longer exists; nothing to do", key=upload.key)
        return Outcome(upload.upload_id, "missing")
    with watch.stage("record"):
        answer = begin(upload.upload_id)
    if not answer.applied:
        if records.is_tombstone(answer.item):  # deleted, e.g. a PUT after the DELETE
            return erase_deleted(upload, "start")
        LOG.info("upload already finished; event ignored", key=upload.key)  # duplicate, late
        # At least once: the attempt that finished may have failed before its event left.
        publish_outcome(answer.item or {})
        return Outcome(upload.upload_id, "finished")
    started = answer.item or {}
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
                    data, CONFIG.variants, CONFIG.limits, decode_deadline=deadline, workers=WORKERS
                )
        except imaging.ImageRejected as error:
            rejection = error
    with watch.stage("put"):
        if processed is not None:
            STORE.store_variants(upload.upload_id, processed, CONFIG.outputs)
            document = manifest.done_manifest(
                upload.upload_id, upload.key, size, processed, CONFIG.outputs
            )
        else:
            assert rejection is not None
            document = manifest.rejected_manifest(upload.upload_id, upload.key, size, rejection)
        STORE.store_manifest(upload.upload_id, document)
    with watch.stage("record"):
        finished = TABLE.attempt(
            records.finish_update(
                upload.upload_id, datetime.now(UTC), record_outcome(document), watch.total_ms()
            )
        )
    if not finished.applied:
        if finished.item is None or records.is_tombstone(finished.item):
            return erase_deleted(upload, "finish")  # deleted while this attempt worked
        LOG.info("a concurrent attempt finished the record first")
    else:
        publish_outcome(finished.item or {})
    log_outcome(size, processed, rejection, watch)
    return Outcome(upload.upload_id, document["status"], rejection.code if rejection else None)


def publish_outcome(record: Mapping[str, Any]) -> None:
    """Publish the outcome ``record`` stands for (events on, record finished or failed). An
    error propagates: the attempt fails, and its retry publishes the same ``eventId`` again."""
    outcome = events.outcome_of(record)
    if not BUS.settings.enabled or outcome is None or outcome == events.Outcome.DELETED:
        return
    ttl = CONFIG.event_url_ttl_seconds
    expires = records.iso(datetime.now(UTC) + timedelta(seconds=ttl))
    detail = events.detail(
        record, outcome, CONFIG.output_bucket, lambda key: STORE.presign_download(key, ttl), expires
    )
    BUS.publish(detail)
    LOG.info(
        "outcome event published",
        event="outcome_published",
        outcome=outcome.value,
        event_id=detail["eventId"],
    )


def reprocess_upload(upload: s3_events.UploadRef, remaining: Callable[[], float]) -> Outcome:
    with LOG.bound(upload_id=upload.upload_id, reprocess=True):
        try:
            return _reprocess(upload, remaining)
        except Exception:
            LOG.exception("reprocessing failed; the invocation will be retried", key=upload.key)
            raise


def _reprocess(upload: s3_events.UploadRef, remaining: Callable[[], float]) -> Outcome:
    """Write the outputs of the current rules a ``done`` upload lacks, then its manifest and
    record (conditional on ``done``: a deleted upload is never revived) and a processed event.

    The whole current rule set is processed (an output's fingerprint covers the shared pipeline,
    so only the full set makes the promised bytes); only missing outputs are stored."""
    record = TABLE.get(upload.upload_id)
    if record is None or record.get("status") != records.RecordStatus.DONE:
        status = (record or {}).get("status")
        LOG.info("not reprocessed: the upload is not done", status=status)
        return Outcome(upload.upload_id, "skipped", status)
    missing = contract.missing_outputs(record.get("variants"), CONFIG.outputs)
    if not missing:
        LOG.info("already current; nothing to reprocess")
        return Outcome(upload.upload_id, "current")
    head = STORE.head_upload(upload.bucket, upload.key)
    if head is None:
        LOG.warning("original no longer kept; cannot reprocess", key=upload.key)
        return Outcome(upload.upload_id, "missing")
    data = STORE.read_upload(upload.bucket, upload.key, head["ETag"])
    try:
        processed = imaging.process_image(
            data,
            CONFIG.variants,
            CONFIG.limits,
            decode_deadline=decode_deadline(remaining()),
            workers=WORKERS,
        )
    except imaging.ImageRejected as rejection:  # e.g. a limit lowered since: keep what it has
        LOG.warning("original refused by the current limits", error_code=rejection.code)
        return Outcome(upload.upload_id, "refused", rejection.code)
    keys = {output.key(upload.upload_id) for output in missing}
    STORE.store_variants(upload.upload_id, processed, CONFIG.outputs, only_keys=keys)
    document = manifest.done_manifest(
        upload.upload_id, upload.key, int(head["ContentLength"]), processed, CONFIG.outputs
    )
    STORE.store_manifest(upload.upload_id, document)
    changed = TABLE.attempt(
        records.reprocessed_update(
            upload.upload_id, datetime.now(UTC), document["variants"], len(missing)
        )
    )
    if not changed.applied:
        if changed.item is None or records.is_tombstone(changed.item):
            return erase_deleted(upload, "reprocess")
        LOG.info("the record changed meanwhile; left as it is", status=changed.item.get("status"))
        return Outcome(upload.upload_id, "skipped", changed.item.get("status"))
    publish_outcome(changed.item or {})
    LOG.info(
        "upload reprocessed",
        event="upload_reprocessed",
        outputs_added=sorted(keys),
        source_bytes=int(head["ContentLength"]),
    )
    return Outcome(upload.upload_id, "reprocessed")


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
        output_bytes={f"{v.name}.{v.format}": v.size for v in processed.variants},
        animated=processed.animation is not None,
        frames=processed.animation.frames if processed.animation else 1,
        duration_ms=processed.animation.duration_ms if processed.animation else None,
        placeholder_bytes=len(processed.placeholder.thumbhash) if processed.placeholder else 0,
        workers=WORKERS,
        timings_ms=timings,
    )
