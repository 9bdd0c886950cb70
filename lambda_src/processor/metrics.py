"""The processor's own metrics, as EMF documents (:mod:`common.emf`): one log line per upload.

Namespace ``METRICS_NAMESPACE`` (default ``ImagePipeline``), dimension ``Service`` (the stack's
``name_prefix``, so two stacks in one account never mix). Metrics (docs/operations.md):

* ``ImagesProcessed`` (Count) per ``Service``: an upload ended ``done``;
* ``ImagesRejected`` (Count) per ``Service`` and per ``Service`` x ``ErrorCode``;
* ``<Stage>Ms`` (Milliseconds) per ``Service``: ``HeadMs``, ``RecordMs``, ``GetMs``,
  ``ProcessMs``, ``PutMs`` (the handler's stages), ``DecodeMs``, ``ResizeMs``, ``EncodeMs``
  and ``VariantsMs`` (the core's, done uploads only) and ``TotalMs`` (the sum of the handler's
  stages). With more than one worker the core resizes and encodes concurrently: ``ResizeMs``
  and ``EncodeMs`` are then sums of task durations that overlap, and ``VariantsMs`` is the wall
  time of that whole phase (resize, encode, animated variants, placeholder); sequentially it is
  their sum;
* ``ProcessingFailures`` (Count) per ``Service``: an attempt raised (it will be retried).

The upload id, request id and trace ids are properties (searchable log fields), never
dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common import emf

DEFAULT_NAMESPACE = "ImagePipeline"
SERVICE = "Service"
ERROR_CODE = "ErrorCode"
HANDLER_STAGES = ("head", "record", "get", "process", "put")
CORE_STAGES = ("decode", "resize", "encode", "variants")


def stage_metric_name(stage: str) -> str:
    return f"{stage.capitalize()}Ms"


def _stage_metrics(timings_ms: Mapping[str, float]) -> list[emf.Metric]:
    metrics = [
        emf.Metric(stage_metric_name(stage), round(float(timings_ms[stage]), 3), "Milliseconds")
        for stage in (*HANDLER_STAGES, *CORE_STAGES)
        if stage in timings_ms
    ]
    total = sum(float(timings_ms[stage]) for stage in HANDLER_STAGES if stage in timings_ms)
    metrics.append(emf.Metric("TotalMs", round(total, 3), "Milliseconds"))
    return metrics


def processed(
    namespace: str,
    service: str,
    timings_ms: Mapping[str, float],
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """An upload ended ``done``: one image, and where its time went."""
    return emf.document(
        namespace,
        {SERVICE: service},
        [emf.Metric("ImagesProcessed", 1, "Count"), *_stage_metrics(timings_ms)],
        properties=properties,
        timestamp_ms=timestamp_ms,
    )


def rejected(
    namespace: str,
    service: str,
    error_code: str,
    timings_ms: Mapping[str, float],
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """An upload ended ``rejected`` with ``error_code``: counted in total and per code."""
    return emf.document(
        namespace,
        {SERVICE: service, ERROR_CODE: error_code},
        [emf.Metric("ImagesRejected", 1, "Count"), *_stage_metrics(timings_ms)],
        dimension_sets=[[SERVICE], [SERVICE, ERROR_CODE]],
        properties=properties,
        timestamp_ms=timestamp_ms,
    )


def failed_attempt(
    namespace: str,
    service: str,
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """An attempt raised: Lambda retries it, then dead-letters the event."""
    return emf.document(
        namespace,
        {SERVICE: service},
        [emf.Metric("ProcessingFailures", 1, "Count")],
        properties=properties,
        timestamp_ms=timestamp_ms,
    )
