"""CORS headers (pure). Added to every API response, errors and preflight included.

An allowed ``Origin`` is echoed back (``*`` when the configuration allows any origin); a
disallowed or missing one gets no ``Access-Control-Allow-Origin`` at all. ``Vary: Origin``
is always present so caches never mix the answers of different origins.
"""

from __future__ import annotations

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = "Content-Type"
# With sign-in (auth = "cognito") the page also deletes, and sends its ID token.
SIGNED_IN_ALLOWED_METHODS = "GET, POST, DELETE, OPTIONS"
SIGNED_IN_ALLOWED_HEADERS = "Authorization, Content-Type"
# How long a browser may reuse a preflight answer (per origin, URL, method and headers):
# Chromium's cap, 2 h (Firefox allows 24 h). 600 s was Chromium's old cap; since Chromium 76 a
# page open longer than 10 minutes would pay a preflight again for each of its API URLs.
PREFLIGHT_MAX_AGE_SECONDS = "7200"


def is_origin_allowed(origin: str | None, allowed_origins: tuple[str, ...]) -> bool:
    if allowed_origins == ("*",):
        return True
    return origin is not None and origin.strip().rstrip("/").lower() in allowed_origins


def cors_headers(origin: str | None, allowed_origins: tuple[str, ...]) -> dict[str, str]:
    headers = {"Vary": "Origin"}
    if allowed_origins == ("*",):
        headers["Access-Control-Allow-Origin"] = "*"
    elif is_origin_allowed(origin, allowed_origins):
        assert origin is not None
        headers["Access-Control-Allow-Origin"] = origin
    return headers


def preflight_headers(
    origin: str | None, allowed_origins: tuple[str, ...], signed_in: bool = False
) -> dict[str, str]:
    headers = cors_headers(origin, allowed_origins)
    if "Access-Control-Allow-Origin" in headers:
        headers["Access-Control-Allow-Methods"] = (
            SIGNED_IN_ALLOWED_METHODS if signed_in else ALLOWED_METHODS
        )
        headers["Access-Control-Allow-Headers"] = (
            SIGNED_IN_ALLOWED_HEADERS if signed_in else ALLOWED_HEADERS
        )
        headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE_SECONDS
    return headers
