"""CloudWatch embedded metric format (EMF): metrics as one JSON log line, no API call.

Pure: :func:`document` builds the dictionary, :func:`emit` writes it as a line to stdout (Lambda
sends stdout to CloudWatch Logs, which extracts the metrics). No Powertools: docs/benchmarks.md
measured its import cost. The format (``_aws.CloudWatchMetrics`` directives naming metrics held
as top-level members, dimension values as top-level strings) and its limits are AWS's
specification: at most 100 metrics per directive, 30 dimensions per set, names of 1-255
characters, values finite numbers.

Usage::

    doc = emf.document(
        "ImagePipeline",
        dimensions={"Service": "sip"},
        dimension_sets=[["Service"], ["Service", "ErrorCode"]],
        metrics=[emf.Metric("ImagesRejected", 1, "Count")],
        properties={"upload_id": upload_id},
        timestamp_ms=1700000000000,
    )
    emf.emit(doc)
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

MAX_METRICS = 100
MAX_DIMENSIONS = 30
MAX_NAME_CHARS = 255
# CloudWatch's units (StandardUnit), the ones this project may use and the rest of the list.
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)


@dataclass(frozen=True)
class Metric:
    name: str
    value: float
    unit: str = "None"


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS or name == "_aws":
        raise ValueError(f"{kind} name must be 1-{MAX_NAME_CHARS} characters, not {name!r}")


def document(
    namespace: str,
    dimensions: Mapping[str, str],
    metrics: Sequence[Metric],
    dimension_sets: Iterable[Sequence[str]] | None = None,
    properties: Mapping[str, Any] | None = None,
    timestamp_ms: int | None = None,
) -> dict[str, Any]:
    """One EMF document; ``ValueError`` for anything CloudWatch would drop or refuse.

    ``dimension_sets`` default to one set of every dimension. Properties are searchable log
    fields, never metrics (an upload id must not become a dimension: one metric per id)."""
    _check_name("namespace", namespace)
    if not metrics:
        raise ValueError("an EMF document needs at least one metric")
    if len(metrics) > MAX_METRICS:
        raise ValueError(f"at most {MAX_METRICS} metrics per document, got {len(metrics)}")
    sets = [list(s) for s in dimension_sets] if dimension_sets is not None else [list(dimensions)]
    for dimension_set in sets:
        if len(dimension_set) > MAX_DIMENSIONS:
            raise ValueError(f"at most {MAX_DIMENSIONS} dimensions per set")
        missing = [name for name in dimension_set if name not in dimensions]
        if missing:
            raise ValueError(f"dimension set names dimensions without values: {missing}")
    for name, value in dimensions.items():
        _check_name("dimension", name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"dimension {name!r} needs a non-empty string value, not {value!r}")
    names = [metric.name for metric in metrics]
    if len(set(names)) != len(names):
        raise ValueError(f"metric names must be unique: {names}")
    members: dict[str, Any] = {}
    for metric in metrics:
        _check_name("metric", metric.name)
        if metric.unit not in UNITS:
            raise ValueError(f"unknown unit {metric.unit!r} for {metric.name}")
        if isinstance(metric.value, bool) or not isinstance(metric.value, int | float):
            raise ValueError(f"metric {metric.name} needs a number, not {metric.value!r}")
        if not math.isfinite(metric.value):
            raise ValueError(f"metric {metric.name} is not finite: {metric.value}")
        if metric.name in dimensions:
            raise ValueError(f"{metric.name} is both a metric and a dimension")
        members[metric.name] = metric.value
    extra = dict(properties or {})
    clashes = sorted(set(extra) & (set(members) | set(dimensions) | {"_aws"}))
    if clashes:
        raise ValueError(f"properties may not reuse metric or dimension names: {clashes}")
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else int(timestamp_ms),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": sets,
                    "Metrics": [{"Name": m.name, "Unit": m.unit} for m in metrics],
                }
            ],
        },
        **dimensions,
        **members,
        **extra,
    }


def emit(doc: Mapping[str, Any], stream: TextIO | None = None) -> None:
    """Write ``doc`` as one compact JSON line (what CloudWatch Logs parses)."""
    out = sys.stdout if stream is None else stream
    out.write(json.dumps(doc, separators=(",", ":"), default=str) + "\n")
    out.flush()
