"""Who is calling: the API function's own check of a Cognito ID token (``auth = "cognito"``).

API Gateway's Cognito authorizer checks the token on AWS; this module checks it again inside
the function, so the same rules hold where no authorizer runs (the local emulator) and a
misconfigured method can never let anyone through. PyJWT (over ``cryptography``, vendored in
the SDK layer) does the cryptography; this module decides what is acceptable:

* the header names ``alg: RS256`` (anything else, ``none`` included, is refused before any key
  is looked at) and a ``kid`` the pool's key set (JWKS) has;
* the RS256 signature verifies against that key;
* ``iss`` is the pool's issuer, ``aud`` the page's app client id, ``token_use`` is ``id``
  (an access token is refused: API Gateway's authorizer, without OAuth scopes, takes ID tokens),
  ``exp`` is in the future (no leeway beyond a few seconds of clock skew), ``sub`` is present.

The key set comes from :class:`JwksCache`: an inline document (``AUTH_JWKS``, for a VPC without
internet) or a URL fetched at first use and kept for the container's life (``AUTH_JWKS_URL``:
the pool's ``/.well-known/jwks.json`` on AWS, the moto sidecar's on the emulator). An unknown
``kid`` causes at most one re-fetch per :data:`REFETCH_INTERVAL_SECONDS` (Cognito does not
rotate a pool's keys, so a stream of made-up kids costs one request, not one each). While the
keys cannot be fetched at all, failed fetches back off exponentially (1 s, 2 s, 4 s ... capped at
:data:`MAX_BACKOFF_SECONDS`): a request in between is answered at once (503 with
``Retry-After``, :class:`KeySetUnavailable`) instead of waiting up to
:data:`FETCH_TIMEOUT_SECONDS` on yet another fetch. 503, not 401: the token may be perfectly
good, and the page ends the session on a 401 (web/js/client.js), which an outage of the key set
must not do.

Revocation (:class:`RevocationCache`): a valid token is still refused when its session began
(``auth_time``, else ``iat``) before the user's revocation time, which ``tools/users.py disable``
and ``sign-out`` write to the quota table (item ``<sub>#revoked``). Each container keeps what it
read for a user at most :data:`REVOCATION_CACHE_SECONDS`, so a revocation holds everywhere
within that time, at the cost of one ``GetItem`` per user per container per window.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# PyJWT (and cryptography under it) is imported at the first token check, not at module load:
# with auth = "none" the function never pays for it at cold start.

ALGORITHM = "RS256"
CLOCK_SKEW_SECONDS = 5
REFETCH_INTERVAL_SECONDS = 300.0
FETCH_TIMEOUT_SECONDS = 3.0
MIN_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
MAX_TOKEN_CHARS = 8192
REVOCATION_CACHE_SECONDS = 30.0
REVOCATION_CACHE_ENTRIES = 10_000
# The revocation item outlives every token issued before it: Cognito's longest ID-token
# lifetime is one day (then DynamoDB's TTL drops it, within a few days).
REVOCATION_KEEP_SECONDS = 86_400 + 3_600


class AuthError(Exception):
    """The request carries no acceptable token: answer 401 (the message is safe to show)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # for the logs only: which check failed


class KeySetUnavailable(Exception):
    """The pool's keys could not be fetched (answer 503, never let the request through);
    ``retry_after``: whole seconds until the next fetch may be tried."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Caller:
    sub: str  # the upload owner
    email: str | None
    session_started: int = 0  # auth_time (else iat), seconds since the epoch


def _fetch_url(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
        return response.read(1_000_000)


class JwksCache:
    """The pool's public keys by ``kid``, loaded once per container; failed loads back off."""

    def __init__(
        self,
        url: str | None = None,
        document: str | None = None,
        fetch: Callable[[str], bytes] = _fetch_url,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not url and not document:
            raise ValueError("a JWKS needs a URL or an inline document")
        self._url = url
        self._fetch = fetch
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, Any] | None = None
        self._fetched_at: float | None = None
        self._failures = 0  # failed fetches in a row while no keys are known
        self._retry_at = 0.0
        self.fetches = 0
        if document:
            self._keys = parse_jwks(document)
            self._url = None  # inline keys are the whole truth: never fetched

    def key(self, kid: str) -> Any | None:
        with self._lock:
            if self._keys is None:
                self._load_first()
            elif kid not in self._keys and self._may_refetch():
                self._refetch()
            assert self._keys is not None
            return self._keys.get(kid)

    def _may_refetch(self) -> bool:
        if self._url is None:
            return False
        return self._fetched_at is None or (
            self._clock() - self._fetched_at >= REFETCH_INTERVAL_SECONDS
        )

    def _load_first(self) -> None:
        """No keys yet: fetch, unless the last failure's back-off has not run out."""
        assert self._url is not None
        now = self._clock()
        if now < self._retry_at:
            raise self._unavailable(self._retry_at - now)
        try:
            self._keys = self._download()
        except Exception as error:
            self._failures += 1
            delay = backoff_seconds(self._failures)
            self._retry_at = now + delay
            raise self._unavailable(delay) from error
        self._failures = 0

    def _refetch(self) -> None:
        """An unknown ``kid``: look for new keys, keeping the ones we have if the fetch fails."""
        try:
            self._keys = self._download()
        except Exception:
            return

    def _download(self) -> dict[str, Any]:
        assert self._url is not None
        self._fetched_at = self._clock()
        self.fetches += 1
        return parse_jwks(self._fetch(self._url))

    def _unavailable(self, wait: float) -> KeySetUnavailable:
        return KeySetUnavailable(
            f"the key set at {self._url} is unavailable", retry_after=max(1, math.ceil(wait))
        )


def backoff_seconds(failures: int) -> float:
    """Wait after ``failures`` failed fetches in a row: 1, 2, 4 ... 60 seconds."""
    return min(MAX_BACKOFF_SECONDS, MIN_BACKOFF_SECONDS * 2.0 ** min(failures - 1, 16))


def parse_jwks(document: str | bytes) -> dict[str, Any]:
    """``{kid: public key}`` of the RSA signing keys of a JWKS document."""
    import jwt

    data = json.loads(document)
    keys: dict[str, Any] = {}
    for entry in data.get("keys", []) if isinstance(data, dict) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        keys[str(entry["kid"])] = jwt.PyJWK.from_dict(entry, algorithm=ALGORITHM).key
    if not keys:
        raise ValueError("the JWKS has no RS256 signing key")
    return keys


class TokenVerifier:
    def __init__(self, issuer: str, client_id: str, keys: JwksCache) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.keys = keys

    def verify(self, token: str) -> Caller:
        """The caller of a valid ID token; :class:`AuthError` for anything else."""
        import jwt

        if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 2:
            raise AuthError("The sign-in token is malformed. Sign in again.", "malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("The sign-in token is malformed. Sign in again.", "header") from None
        if header.get("alg") != ALGORITHM:
            raise AuthError("The sign-in token is not signed as expected.", "algorithm")
        kid = header.get("kid")
        key = self.keys.key(kid) if isinstance(kid, str) and kid else None
        if key is None:
            raise AuthError("The sign-in token was not issued by this site.", "unknown_kid")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.client_id,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("Your session has expired. Sign in again.", "expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("The sign-in token is for another app.", "audience") from None
        except jwt.InvalidIssuerError:
            raise AuthError("The sign-in token was not issued by this site.", "issuer") from None
        except jwt.InvalidSignatureError:
            raise AuthError("The sign-in token's signature is invalid.", "signature") from None
        except jwt.PyJWTError as error:
            raise AuthError(
                "The sign-in token is not valid. Sign in again.", type(error).__name__
            ) from None
        if claims.get("token_use") != "id":
            raise AuthError("Send the ID token from sign-in, not another token.", "token_use")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub or len(sub) > 128:
            raise AuthError("The sign-in token names no user.", "sub")
        email = claims.get("email")
        return Caller(
            sub=sub,
            email=email if isinstance(email, str) else None,
            session_started=session_start(claims),
        )


def session_start(claims: Mapping[str, Any]) -> int:
    """When the token's session began: ``auth_time`` (kept by refreshed tokens), else ``iat``."""
    for name in ("auth_time", "iat"):
        value = claims.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return int(value)
    return 0


# -- revocation ---------------------------------------------------------------------------


def revocation_key(sub: str) -> str:
    """The user's revocation item in the quota table (day counters are ``<sub>#<date>``)."""
    return f"{sub}#revoked"


def revocation_item(sub: str, revoked_at: int) -> dict[str, Any]:
    """The item ``tools/users.py`` writes: sessions begun before ``revoked_at`` are refused."""
    return {
        "id": revocation_key(sub),
        "revokedAt": int(revoked_at),
        "expiresAt": int(revoked_at) + REVOCATION_KEEP_SECONDS,
    }


def revoked_before(item: Mapping[str, Any] | None) -> int | None:
    """The revocation time an item holds (``None``: never revoked or unreadable)."""
    value = (item or {}).get("revokedAt")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    return None


class RevocationCache:
    """Per-user revocation times, read through ``read(sub)`` and kept at most
    :data:`REVOCATION_CACHE_SECONDS` per container (a read fails closed: it raises)."""

    def __init__(
        self,
        read: Callable[[str], int | None],
        clock: Callable[[], float] = time.monotonic,
        max_age: float = REVOCATION_CACHE_SECONDS,
        max_entries: int = REVOCATION_CACHE_ENTRIES,
    ) -> None:
        self._read = read
        self._clock = clock
        self._max_age = max_age
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[int | None, float]] = {}
        self.reads = 0

    def revoked_at(self, sub: str) -> int | None:
        now = self._clock()
        with self._lock:
            cached = self._entries.get(sub)
            if cached is not None and now - cached[1] < self._max_age:
                return cached[0]
        value = self._read(sub)
        with self._lock:
            self.reads += 1
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # rare: many users in one container; start afresh
            self._entries[sub] = (value, now)
        return value

    def check(self, caller: Caller) -> None:
        """:class:`AuthError` when the caller's session began before their revocation."""
        revoked = self.revoked_at(caller.sub)
        if revoked is not None and caller.session_started < revoked:
            raise AuthError(
                "You were signed out everywhere or your account was disabled. Sign in again.",
                "revoked",
            )


def bearer_token(headers: Mapping[str, Any] | None) -> str | None:
    """The token of an ``Authorization`` header: ``Bearer <token>`` or the bare token (which is
    what API Gateway's Cognito authorizer reads)."""
    value = None
    for name, raw in (headers or {}).items():
        if isinstance(name, str) and name.lower() == "authorization" and isinstance(raw, str):
            value = raw.strip()
    if not value:
        return None
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        return rest.strip() or None
    return value
