"""Processor configuration: environment variables parsed and validated once at cold start.

The variables are those of ``docs/architecture.md`` (processor function). A bad value raises
:class:`ConfigError` naming the variable, so the function fails at init with a clear message.
Variant rules are :mod:`common.contract`'s (the same ``rules.json`` Terraform validates with).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property

from common import contract, env_config
from processor import imaging

ConfigError = env_config.ConfigError  # re-exported: load_config raises it

DEFAULTS = {
    "UPLOAD_PREFIX": contract.DEFAULT_UPLOAD_PREFIX,
    "MAX_UPLOAD_BYTES": str(contract.RULES["max_upload_bytes"]["default"]),
    "MAX_PIXELS": str(imaging.DEFAULT_MAX_PIXELS),
    "ALLOWED_FORMATS": ",".join(imaging.DEFAULT_ALLOWED_FORMATS),
    "LOG_LEVEL": "INFO",
    "PROCESSING_ATTEMPTS": "3",
    "RECORD_RETENTION_DAYS": "",
    "METRICS_NAMESPACE": "",
    "METRICS_SERVICE": "image-pipeline",
    "EVENT_URL_TTL_SECONDS": "3600",
}


@dataclass(frozen=True)
class ProcessorConfig:
    output_bucket: str
    upload_prefix: str
    max_upload_bytes: int
    max_pixels: int
    allowed_formats: tuple[str, ...]
    sizes: tuple[contract.SizeRule, ...]
    log_level: str
    uploads_table: str = ""
    processing_attempts: int = 3
    record_retention_days: int | None = None
    metrics_namespace: str = ""  # empty: no EMF metric lines (processor/metrics.py)
    metrics_service: str = "image-pipeline"
    event_url_ttl_seconds: int = 3600  # lifetime of the presigned URLs in outcome events

    @cached_property
    def outputs(self) -> tuple[contract.OutputRule, ...]:
        """Every object an upload gets (a size in one format), with its fingerprint."""
        return contract.output_rules(self.sizes)

    @cached_property
    def variants(self) -> tuple[imaging.VariantSpec, ...]:
        """What the image core encodes: one spec per output, in the same order."""
        return tuple(variant_spec(output) for output in self.outputs)

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
        sizes=parse_variants("VARIANTS", env_config.required(env, "VARIANTS")),
        log_level=env_config.parse_log_level("LOG_LEVEL", env["LOG_LEVEL"]),
        uploads_table=env_config.required(env, "UPLOADS_TABLE"),
        processing_attempts=env_config.parse_int(
            "PROCESSING_ATTEMPTS", env["PROCESSING_ATTEMPTS"], 1, 3
        ),
        record_retention_days=env_config.parse_optional_int(
            "RECORD_RETENTION_DAYS", env["RECORD_RETENTION_DAYS"], 1, 36_500
        ),
        metrics_namespace=env["METRICS_NAMESPACE"].strip(),
        metrics_service=env_config.required(env, "METRICS_SERVICE"),
        event_url_ttl_seconds=env_config.parse_int(
            "EVENT_URL_TTL_SECONDS", env["EVENT_URL_TTL_SECONDS"], 1, 43_200
        ),
    )


def parse_formats(name: str, raw: str) -> tuple[str, ...]:
    """Pillow format names, a subset of those the contract maps content types to."""
    known = sorted(set(contract.CONTENT_TYPE_FORMATS.values()))
    formats = env_config.split_csv(raw.upper())
    unknown = [fmt for fmt in formats if fmt not in known]
    if not formats or unknown:
        raise ConfigError(
            name, f"must be a comma-separated subset of {', '.join(known)}, got {raw!r}"
        )
    return formats


def parse_variants(name: str, raw: str) -> tuple[contract.SizeRule, ...]:
    """The ``VARIANTS`` JSON list of sizes, checked against the contract's variant rules."""
    try:
        items = json.loads(raw)
    except ValueError as error:
        raise ConfigError(name, f"is not valid JSON ({error})") from None
    try:
        return contract.size_rules(items)
    except ValueError as error:
        raise ConfigError(name, str(error)) from None


def variant_spec(output: contract.OutputRule) -> imaging.VariantSpec:
    """The image core's spec of one output: effort is libwebp's method, and for AVIF
    ``imaging.AVIF_MAX_SPEED - effort`` (rules.json: higher effort, slower and smaller)."""
    rule = output.rule
    spec = imaging.VariantSpec(output.size, output.max_edge, rule.format, animate=output.animate)
    if rule.quality is not None:
        spec = replace(spec, quality=rule.quality)
    if rule.format == "webp" and rule.effort is not None:
        spec = replace(spec, webp_method=rule.effort)
    if rule.format == "avif" and rule.effort is not None:
        spec = replace(spec, avif_speed=imaging.AVIF_MAX_SPEED - rule.effort)
    return spec
