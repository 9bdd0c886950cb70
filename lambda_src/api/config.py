"""API configuration: environment variables parsed and validated once at cold start.

The variables are those of ``docs/architecture.md`` (API function). A bad value raises
:class:`ConfigError` naming the variable, so the function fails at init with a clear message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from api.accounts import Quota
from api.core import RetryPolicy
from api.delivery import MODES as DELIVERY_MODES
from api.delivery import DeliverySettings
from common import contract, env_config

ConfigError = env_config.ConfigError  # re-exported: load_config raises it

DEFAULTS = {
    "UPLOAD_PREFIX": contract.DEFAULT_UPLOAD_PREFIX,
    "ALLOWED_CONTENT_TYPES": ",".join(contract.CONTENT_TYPE_FORMATS),
    "MAX_UPLOAD_BYTES": str(contract.RULES["max_upload_bytes"]["default"]),
    "MULTIPART_THRESHOLD_BYTES": str(contract.RULES["multipart"]["threshold_bytes"]["default"]),
    "MULTIPART_PART_BYTES": str(contract.RULES["multipart"]["part_bytes"]["default"]),
    "UPLOAD_URL_TTL_SECONDS": "60",
    "DOWNLOAD_URL_TTL_SECONDS": "300",
    "LOG_LEVEL": "INFO",
    # The processor's retry policy (Terraform passes the deployed one): 1 + 2 retries, and
    # 3 x 60 s attempts + Lambda's 1 and 2 min retry delays + 1 min of slack.
    "PROCESSING_ATTEMPTS": "3",
    "PROCESSING_WINDOW_SECONDS": "420",
    "RECORD_RETENTION_DAYS": "",  # blank: records never expire (outputs kept for ever)
    "AUTH_MODE": "none",
    "QUOTA_UPLOADS_PER_DAY": "",  # blank: no limit
    "QUOTA_BYTES_PER_DAY": "",
    "DELIVERY_MODE": "presigned",  # enable_cdn = false: today's presigned S3 GETs
    "DELIVERY_TTL_SECONDS": "3600",
}
AUTH_MODES = ("none", "cognito")
PRESIGNED_DELIVERY = DeliverySettings(mode="presigned", ttl_seconds=300)
NO_QUOTA = Quota(uploads_per_day=None, bytes_per_day=None)
DEFAULT_RETRIES = RetryPolicy(attempts=3, window_seconds=420)
MAX_URL_TTL_SECONDS: int = contract.RULES["url_ttl_seconds"]["max"]
MAX_UPLOAD_BYTES: int = contract.RULES["max_upload_bytes"]["max"]
MULTIPART_RULES = contract.RULES["multipart"]
_ORIGIN = re.compile(r"^https?://[^/\s]+$")


@dataclass(frozen=True)
class AuthSettings:
    """How ID tokens are checked (api/auth.py)."""

    issuer: str
    client_id: str
    jwks_url: str | None
    jwks_document: str | None


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
    retries: RetryPolicy = DEFAULT_RETRIES
    uploads_table: str = ""
    record_retention_days: int | None = None
    multipart_threshold_bytes: int = MULTIPART_RULES["threshold_bytes"]["default"]
    multipart_part_bytes: int = MULTIPART_RULES["part_bytes"]["default"]

    auth: AuthSettings | None = None  # None: anonymous uploads (auth = "none")
    quota: Quota = NO_QUOTA
    quota_table: str = ""
    delivery: DeliverySettings = PRESIGNED_DELIVERY

    @property
    def signed_in(self) -> bool:
        return self.auth is not None

    @property
    def allows_any_origin(self) -> bool:
        return self.allowed_origins == ("*",)


def load_config(environ: Mapping[str, str]) -> ApiConfig:
    """Build the configuration from ``environ`` or raise :class:`ConfigError`."""
    env = env_config.with_defaults(environ, DEFAULTS)
    config = ApiConfig(
        upload_bucket=env_config.required(env, "UPLOAD_BUCKET"),
        output_bucket=env_config.required(env, "OUTPUT_BUCKET"),
        upload_prefix=env_config.parse_prefix("UPLOAD_PREFIX", env["UPLOAD_PREFIX"]),
        allowed_content_types=parse_content_types(
            "ALLOWED_CONTENT_TYPES", env["ALLOWED_CONTENT_TYPES"]
        ),
        max_upload_bytes=env_config.parse_int(
            "MAX_UPLOAD_BYTES", env["MAX_UPLOAD_BYTES"], 1, MAX_UPLOAD_BYTES
        ),
        upload_url_ttl_seconds=env_config.parse_int(
            "UPLOAD_URL_TTL_SECONDS", env["UPLOAD_URL_TTL_SECONDS"], 1, MAX_URL_TTL_SECONDS
        ),
        download_url_ttl_seconds=env_config.parse_int(
            "DOWNLOAD_URL_TTL_SECONDS",
            env["DOWNLOAD_URL_TTL_SECONDS"],
            1,
            MAX_URL_TTL_SECONDS,
        ),
        allowed_origins=parse_origins(
            "ALLOWED_ORIGINS", env_config.required(env, "ALLOWED_ORIGINS")
        ),
        log_level=env_config.parse_log_level("LOG_LEVEL", env["LOG_LEVEL"]),
        uploads_table=env_config.required(env, "UPLOADS_TABLE"),
        record_retention_days=env_config.parse_optional_int(
            "RECORD_RETENTION_DAYS", env.get("RECORD_RETENTION_DAYS", ""), 1, 36_500
        ),
        auth=parse_auth(env),
        multipart_threshold_bytes=_bounded(env, "MULTIPART_THRESHOLD_BYTES", "threshold_bytes"),
        multipart_part_bytes=_bounded(env, "MULTIPART_PART_BYTES", "part_bytes"),
        quota=Quota(
            uploads_per_day=env_config.parse_optional_int(
                "QUOTA_UPLOADS_PER_DAY", env["QUOTA_UPLOADS_PER_DAY"], 1, 1_000_000
            ),
            bytes_per_day=env_config.parse_optional_int(
                "QUOTA_BYTES_PER_DAY", env["QUOTA_BYTES_PER_DAY"], 1
            ),
        ),
        quota_table=env.get("QUOTA_TABLE", ""),
        delivery=parse_delivery(env),
        retries=RetryPolicy(
            attempts=env_config.parse_int("PROCESSING_ATTEMPTS", env["PROCESSING_ATTEMPTS"], 1, 3),
            window_seconds=env_config.parse_int(
                "PROCESSING_WINDOW_SECONDS", env["PROCESSING_WINDOW_SECONDS"], 1, 86_400
            ),
        ),
    )
    if config.signed_in and not config.quota_table:
        raise ConfigError(
            "QUOTA_TABLE", "AUTH_MODE=cognito needs the quota table (it also holds revocations)"
        )
    if config.quota.enabled and not (config.signed_in and config.quota_table):
        raise ConfigError(
            "QUOTA_TABLE", "daily quotas need AUTH_MODE=cognito and the quota table's name"
        )
    return config


def _bounded(env: Mapping[str, str], name: str, rule: str) -> int:
    """An integer within the multipart rule's bounds (rules.json ``multipart``)."""
    bounds = MULTIPART_RULES[rule]
    return env_config.parse_int(name, env[name], bounds["min"], bounds["max"])


def parse_auth(env: Mapping[str, str]) -> AuthSettings | None:
    """``AUTH_MODE=cognito`` needs the pool's issuer, the app client id and a key set: a URL
    (``AUTH_JWKS_URL``, default ``<issuer>/.well-known/jwks.json``) or the document itself
    (``AUTH_JWKS``, for a function without internet access)."""
    mode = env["AUTH_MODE"].lower()
    if mode not in AUTH_MODES:
        raise ConfigError("AUTH_MODE", f"must be one of {', '.join(AUTH_MODES)}, got {mode!r}")
    if mode == "none":
        return None
    issuer = env_config.required(env, "AUTH_ISSUER").rstrip("/")
    if not issuer.startswith("https://"):
        raise ConfigError("AUTH_ISSUER", f"must be an https:// issuer URL, got {issuer!r}")
    document = env.get("AUTH_JWKS") or None
    url = env.get("AUTH_JWKS_URL") or (None if document else f"{issuer}/.well-known/jwks.json")
    if url and not url.startswith(("https://", "http://")):
        raise ConfigError("AUTH_JWKS_URL", f"must be an http(s) URL, got {url!r}")
    return AuthSettings(
        issuer=issuer,
        client_id=env_config.required(env, "AUTH_CLIENT_ID"),
        jwks_url=url,
        jwks_document=document,
    )


MAX_SIGNATURE_TTL_SECONDS = 7 * 86_400


def parse_delivery(env: Mapping[str, str]) -> DeliverySettings:
    """``DELIVERY_MODE`` (api/delivery.py) and what it needs: the distribution's URL
    (``DELIVERY_BASE_URL``) for ``public`` and ``signed``; the signature lifetime, the public
    key's id and the SSM parameter of its private key for ``signed``."""
    mode = env["DELIVERY_MODE"].lower()
    if mode not in DELIVERY_MODES:
        raise ConfigError(
            "DELIVERY_MODE", f"must be one of {', '.join(DELIVERY_MODES)}, got {mode!r}"
        )
    if mode == "presigned":
        ttl = env_config.parse_int(
            "DOWNLOAD_URL_TTL_SECONDS", env["DOWNLOAD_URL_TTL_SECONDS"], 1, MAX_URL_TTL_SECONDS
        )
        return DeliverySettings(mode=mode, ttl_seconds=ttl)
    base_url = env_config.required(env, "DELIVERY_BASE_URL").rstrip("/")
    if not base_url.startswith(("https://", "http://")):
        raise ConfigError("DELIVERY_BASE_URL", f"must be an http(s) URL, got {base_url!r}")
    if mode == "public":
        return DeliverySettings(mode=mode, ttl_seconds=None, base_url=base_url)
    return DeliverySettings(
        mode=mode,
        ttl_seconds=env_config.parse_int(
            "DELIVERY_TTL_SECONDS", env["DELIVERY_TTL_SECONDS"], 60, MAX_SIGNATURE_TTL_SECONDS
        ),
        base_url=base_url,
        key_pair_id=env_config.required(env, "DELIVERY_KEY_PAIR_ID"),
        private_key_parameter=env_config.required(env, "DELIVERY_PRIVATE_KEY_PARAMETER"),
    )


def parse_content_types(name: str, raw: str) -> tuple[str, ...]:
    types = env_config.split_csv(raw.lower())
    invalid = [value for value in types if value not in contract.CONTENT_TYPE_FORMATS]
    if not types or invalid:
        allowed = ", ".join(contract.CONTENT_TYPE_FORMATS)
        raise ConfigError(name, f"must be a comma-separated subset of {allowed}, got {raw!r}")
    return types


def parse_origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(origin.rstrip("/") for origin in env_config.split_csv(raw.lower()))
    if "*" in origins:  # the wildcard allows every origin, whatever else is listed with it
        return ("*",)
    invalid = [origin for origin in origins if not _ORIGIN.match(origin)]
    if not origins or invalid:
        raise ConfigError(
            name, f"must be '*' or comma-separated origins like https://example.com, got {raw!r}"
        )
    return origins
