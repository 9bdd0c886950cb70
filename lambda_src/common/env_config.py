"""Environment-variable helpers shared by ``api_config`` and ``processor_config``.

Each config module reads its variables through :func:`with_defaults` and :func:`required`,
then parses them with the ``parse_*`` helpers here or its own. A missing or bad value raises
:class:`ConfigError` naming the variable, so the function fails at init with a clear message.
"""

from __future__ import annotations

from collections.abc import Mapping

from common import jsonlog


class ConfigError(ValueError):
    """An environment variable is missing or invalid."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"environment variable {variable}: {problem}")
        self.variable = variable


def with_defaults(environ: Mapping[str, str], defaults: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with values stripped and ``defaults`` filling unset or blank variables."""
    values = {name: value.strip() for name, value in environ.items()}
    return values | {name: value for name, value in defaults.items() if not values.get(name)}


def required(environ: Mapping[str, str], name: str) -> str:
    """The stripped value of ``name``; unset or blank raises :class:`ConfigError`."""
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigError(name, "is required")
    return value


def parse_log_level(name: str, raw: str) -> str:
    """A level name :mod:`jsonlog` accepts, upper-cased."""
    try:
        return jsonlog.parse_level(raw)
    except ValueError as error:
        raise ConfigError(name, str(error)) from None


def parse_prefix(name: str, raw: str) -> str:
    """An S3 key prefix like ``uploads/``: ends with ``/``, no leading ``/``, no ``//``."""
    if not raw.endswith("/") or raw.startswith("/") or "//" in raw:
        raise ConfigError(name, f"must be a key prefix like 'uploads/', got {raw!r}")
    return raw


def parse_int(name: str, raw: str, low: int = 1, high: int | None = None) -> int:
    """An integer in ``low..high`` (no upper bound when ``high`` is ``None``)."""
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"in {low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(name, f"must be an integer {bounds}, got {raw!r}")
    return value


def parse_optional_int(name: str, raw: str, low: int = 1, high: int | None = None) -> int | None:
    """Like :func:`parse_int`, but a blank value means ``None`` (no limit, no expiry)."""
    return None if not raw.strip() else parse_int(name, raw, low, high)


def split_csv(raw: str) -> tuple[str, ...]:
    """The non-blank, stripped comma-separated parts of ``raw``, first occurrence kept."""
    return tuple(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
