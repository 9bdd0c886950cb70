"""Structured JSON logging: one JSON object per line on stdout.

Shared by both functions (``from common import jsonlog``); build.sh puts the ``common``
package into each function's zip.

Usage::

    log = JsonLogger("api", level="INFO")
    with log.bound(request_id=context.aws_request_id):
        log.info("upload created", upload_id=upload_id, duration_ms=3.2)

Every line carries ``timestamp``, ``level``, ``logger``, ``message``, the fields bound
with :meth:`JsonLogger.bound` (``request_id``, ``upload_id``, ...) and the keyword
fields of the call. Exceptions add ``exception`` (type) and ``traceback``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

_bound_fields: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "jsonlog_bound_fields", default=MappingProxyType({})
)

VALID_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def parse_level(raw: str | None, default: str = "INFO") -> str:
    """Return an upper-case logging level name; raise ``ValueError`` for unknown names."""
    level = (raw or default).strip().upper()
    if level not in VALID_LEVELS:
        raise ValueError(f"must be one of {', '.join(VALID_LEVELS)}, got {raw!r}")
    return level


def bound_fields() -> dict[str, Any]:
    """The fields bound by the enclosing :meth:`JsonLogger.bound` blocks (ids), without Nones."""
    return {key: value for key, value in _bound_fields.get().items() if value is not None}


class JsonFormatter(logging.Formatter):
    """Render a record as a single JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_bound_fields.get())
        payload.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            payload["exception"] = record.exc_info[0].__name__
            payload["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(payload, default=str, separators=(",", ":"))


class _StdoutHandler(logging.Handler):
    """Write to whatever ``sys.stdout`` is at emit time (Lambda and pytest capture it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:  # pragma: no cover - logging must never break the handler
            self.handleError(record)


class JsonLogger:
    """Thin wrapper over :mod:`logging` taking structured keyword fields."""

    def __init__(self, name: str, level: str = "INFO") -> None:
        self._logger = logging.getLogger(name)
        self._logger.setLevel(parse_level(level))
        self._logger.propagate = False  # keep the Lambda runtime's text handler out
        for existing in list(self._logger.handlers):
            self._logger.removeHandler(existing)
        handler = _StdoutHandler()
        handler.setFormatter(JsonFormatter())
        self._logger.addHandler(handler)

    def _log(
        self, level: int, message: str, fields: dict[str, Any], exc_info: bool = False
    ) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, message, exc_info=exc_info, extra={"fields": fields})

    def debug(self, message: str, **fields: Any) -> None:
        self._log(logging.DEBUG, message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log(logging.INFO, message, fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log(logging.WARNING, message, fields)

    def error(self, message: str, **fields: Any) -> None:
        self._log(logging.ERROR, message, fields)

    def exception(self, message: str, **fields: Any) -> None:
        """Log at ERROR with the active exception's type and traceback."""
        self._log(logging.ERROR, message, fields, exc_info=True)

    @contextmanager
    def bound(self, **fields: Any) -> Iterator[None]:
        """Add ``fields`` to every line logged inside the block (nests)."""
        token = _bound_fields.set({**_bound_fields.get(), **fields})
        try:
            yield
        finally:
            _bound_fields.reset(token)

    def bind(self, **fields: Any) -> None:
        """Add ``fields`` until the enclosing :meth:`bound` block ends (e.g. a request id)."""
        _bound_fields.set({**_bound_fields.get(), **fields})


class Stopwatch:
    """Collect named stage durations in milliseconds."""

    def __init__(self) -> None:
        self.timings_ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000.0
            self.timings_ms[name] = round(self.timings_ms.get(name, 0.0) + elapsed, 3)

    def total_ms(self) -> float:
        """The sum of every stage so far."""
        return sum(self.timings_ms.values())
