"""Processor configuration: environment variables parsed and validated once at cold start.

The variables are those of ``docs/architecture.md`` (processor function). A bad value raises
:class:`ConfigError` naming the variable, so the function fails at init with a clear message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import env_config
import imaging

ConfigError = env_config.ConfigError  # re-exported: load_config raises it

VARIANT_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_VARIANT_EDGE = 10_000
DEFAULTS = {
    "UPLOAD_PREFIX": "uploads/",
    "MAX_UPLOAD_BYTES": "20971520",
    "MAX_PIXELS": str(imaging.DEFAULT_MAX_PIXELS),
    "ALLOWED_FORMATS": ",".join(imaging.DEFAULT_ALLOWED_FORMATS),
    "LOG_LEVEL": "INFO",
}


@dataclass(frozen=True)
class ProcessorConfig:
    output_bucket: str
    upload_prefix: str
    max_upload_bytes: int
    max_pixels: int
    allowed_formats: tuple[str, ...]
    variants: tuple[imaging.VariantSpec, ...]
    log_level: str

    @property
    def limits(self) -> imaging.Limits:
        return imaging.Limits(
            max_pixels=self.max_pixels,
            allowed_formats=self.allowed_formats,
            max_bytes=self.max_upload_bytes,
        )


def load_config(environ: Mapping[str, str]) -> ProcessorConfig:
    """Build the configuration from ``environ`` or raise :class:`ConfigError`."""
    env = env_config.with_defaults(environ, DEFAULTS)
    return ProcessorConfig(
        output_bucket=env_config.required(env, "OUTPUT_BUCKET"),
        upload_prefix=env_config.parse_prefix("UPLOAD_PREFIX", env["UPLOAD_PREFIX"]),
        max_upload_bytes=env_config.parse_int("MAX_UPLOAD_BYTES", env["MAX_UPLOAD_BYTES"]),
        max_pixels=env_config.parse_int("MAX_PIXELS", env["MAX_PIXELS"]),
        allowed_formats=parse_formats("ALLOWED_FORMATS", env["ALLOWED_FORMATS"]),
        variants=parse_variants("VARIANTS", env_config.required(env, "VARIANTS")),
        log_level=env_config.parse_log_level("LOG_LEVEL", env["LOG_LEVEL"]),
    )


def parse_formats(name: str, raw: str) -> tuple[str, ...]:
    from PIL import Image

    Image.init()
    formats = env_config.split_csv(raw.upper())
    unknown = [fmt for fmt in formats if fmt not in Image.OPEN]
    if not formats or unknown:
        raise ConfigError(name, f"unknown Pillow format(s) {unknown or raw!r}")
    return formats


def parse_variants(name: str, raw: str) -> tuple[imaging.VariantSpec, ...]:
    try:
        items = json.loads(raw)
    except ValueError as error:
        raise ConfigError(name, f"is not valid JSON ({error})") from None
    if not isinstance(items, list) or not items:
        raise ConfigError(name, "must be a non-empty JSON list")
    variants = tuple(_parse_variant(name, index, item) for index, item in enumerate(items))
    names = [variant.name for variant in variants]
    if len(set(names)) != len(names):
        raise ConfigError(name, f"variant names must be unique, got {names}")
    return variants


def _parse_variant(name: str, index: int, item: Any) -> imaging.VariantSpec:
    where = f"item {index}"
    if not isinstance(item, dict):
        raise ConfigError(name, f"{where} must be an object")
    variant_name = item.get("name")
    if not isinstance(variant_name, str) or not VARIANT_NAME_PATTERN.match(variant_name):
        raise ConfigError(name, f"{where}: 'name' must match {VARIANT_NAME_PATTERN.pattern}")
    fmt = item.get("format")
    if fmt not in imaging.OUTPUT_FORMATS:
        raise ConfigError(
            name, f"{where}: 'format' must be one of {sorted(imaging.OUTPUT_FORMATS)}"
        )
    return imaging.VariantSpec(
        name=variant_name,
        max_edge=_int_field(name, where, item, "max_edge", None, 1, MAX_VARIANT_EDGE),
        format=fmt,
        quality=_int_field(name, where, item, "quality", 85, 1, 100),
        webp_method=_int_field(name, where, item, "webp_method", 4, 0, 6),
    )


def _int_field(
    name: str, where: str, item: dict[str, Any], key: str, default: int | None, low: int, high: int
) -> int:
    value = item.get(key)
    if value is None:  # absent or null: the default (none for required fields)
        value = default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(name, f"{where}: {key!r} must be an integer in {low}..{high}")
    return value
