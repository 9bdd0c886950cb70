"""The X-Ray trace of the current invocation, for logs and the upload record.

Lambda sets ``_X_AMZN_TRACE_ID`` (``Root=1-...;Parent=...;Sampled=0|1``) for every invocation,
traced or not; API Gateway passes the same header to the API function as ``X-Amzn-Trace-Id``.
No X-Ray SDK: the segments are the ones Lambda and API Gateway record with active tracing on
(``enable_tracing``); the ids link a log line to its trace, and the API's trace to the
processor's through the upload record (S3 events carry no trace header).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

TRACE_ENV = "_X_AMZN_TRACE_ID"


def parse_root(header: str | None) -> str | None:
    """The ``Root`` of an X-Ray trace header, or ``None`` when there is none."""
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root" and value:
            return value
    return None


def current_trace_id(environ: Mapping[str, str] | None = None) -> str | None:
    """The trace id Lambda set for the invocation being handled (read at call time)."""
    return parse_root((os.environ if environ is None else environ).get(TRACE_ENV))
