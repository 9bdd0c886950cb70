"""API configuration: environment variables parsed and validated once at cold start.

The variables are those of ``docs/architecture.md`` (API function). A bad value raises
:class:`ConfigError` naming the variable, so the function fails at init with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import jsonlog

DEFAULTS = {
    "UPLOAD_PREFIX": "uploads/",
    "ALLOWED_CONTENT_TYPES": "image/jpeg,image/png,image/webp,image/gif",
    "MAX_UPLOAD_BYTES": "20971520",
    "UPLOAD_URL_TTL_SECONDS": "60",
    "DOWNLOAD_URL_TTL_SECONDS": "300",
    "LOG_LEVEL": "INFO",
}
MAX_URL_TTL_SECONDS = 3600
_MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_ORIGIN = re.compile(r"^https?://[^/\s]+$")


class ConfigError(ValueError):
    """An environment variable is missing or invalid."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"environment variable {variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class ApiConfig:
    upload_bucket: str
    output_bucket: str
    upload_prefix: str
    allowed_content_types: tuple[str, ...]
    max_upload_bytes: int
    upload_url_ttl_seconds: int
    download_url_ttl_seconds: int
    allowed_origins: tuple[str, ...]  # ("*",) allows any origin
    log_level: str

    @property
    def allows_any_origin(self) -> bool:
        return self.allowed_origins == ("*",)


def load_config(environ: Mapping[str, str]) -> ApiConfig:
    """Build the configuration from ``environ`` or raise :class:`ConfigError`."""
    return ApiConfig(
        upload_bucket=_required(environ, "UPLOAD_BUCKET"),
        output_bucket=_required(environ, "OUTPUT_BUCKET"),
        upload_prefix=parse_prefix("UPLOAD_PREFIX", _get(environ, "UPLOAD_PREFIX")),
        allowed_content_types=parse_content_types(
            "ALLOWED_CONTENT_TYPES", _get(environ, "ALLOWED_CONTENT_TYPES")
        ),
        max_upload_bytes=parse_int_in_range(
            "MAX_UPLOAD_BYTES", _get(environ, "MAX_UPLOAD_BYTES"), 1, 5 * 1024**3
        ),
        upload_url_ttl_seconds=parse_int_in_range(
            "UPLOAD_URL_TTL_SECONDS",
            _get(environ, "UPLOAD_URL_TTL_SECONDS"),
            1,
            MAX_URL_TTL_SECONDS,
        ),
        download_url_ttl_seconds=parse_int_in_range(
            "DOWNLOAD_URL_TTL_SECONDS",
            _get(environ, "DOWNLOAD_URL_TTL_SECONDS"),
            1,
            MAX_URL_TTL_SECONDS,
        ),
        allowed_origins=parse_origins("ALLOWED_ORIGINS", _required(environ, "ALLOWED_ORIGINS")),
        log_level=_log_level(_get(environ, "LOG_LEVEL")),
    )


def _get(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    return value or DEFAULTS[name]


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(name, "is required")
    return value


def _log_level(raw: str) -> str:
    try:
        return jsonlog.parse_level(raw)
    except ValueError as error:
        raise ConfigError("LOG_LEVEL", str(error)) from None


def parse_prefix(name: str, raw: str) -> str:
    if not raw.endswith("/") or raw.startswith("/") or "//" in raw:
        raise ConfigError(name, f"must be a key prefix like 'uploads/', got {raw!r}")
    return raw


def parse_int_in_range(name: str, raw: str, low: int, high: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be an integer in {low}..{high}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"must be an integer in {low}..{high}, got {raw!r}")
    return value


def parse_content_types(name: str, raw: str) -> tuple[str, ...]:
    types = _csv(raw.lower())
    invalid = [value for value in types if not _MIME_TYPE.match(value)]
    if not types or invalid:
        raise ConfigError(name, f"must be comma-separated MIME types, got {raw!r}")
    return types


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    if raw.strip() == "*":
        return ("*",)
    origins = tuple(origin.rstrip("/") for origin in _csv(raw.lower()))
    invalid = [origin for origin in origins if not _ORIGIN.match(origin)]
    if not origins or invalid:
        raise ConfigError(
            name, f"must be '*' or comma-separated origins like https://example.com, got {raw!r}"
        )
    return origins


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
