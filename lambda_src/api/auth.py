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
rotate a pool's keys, so a stream of made-up kids costs one request, not one each).
"""

from __future__ import annotations

import json
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
MAX_TOKEN_CHARS = 8192


class AuthError(Exception):
    """The request carries no acceptable token: answer 401 (the message is safe to show)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # for the logs only: which check failed


class KeySetUnavailable(Exception):
    """The pool's keys could not be fetched (answer 503, never let the request through)."""


@dataclass(frozen=True)
class Caller:
    sub: str  # the upload owner
    email: str | None


def _fetch_url(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
        return response.read(1_000_000)


class JwksCache:
    """The pool's public keys by ``kid``, loaded once per container."""

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
        self.fetches = 0
        if document:
            self._keys = parse_jwks(document)
            self._url = None  # inline keys are the whole truth: never fetched

    def key(self, kid: str) -> Any | None:
        with self._lock:
            if self._keys is None or (kid not in self._keys and self._may_refetch()):
                self._load()
            assert self._keys is not None
            return self._keys.get(kid)

    def _may_refetch(self) -> bool:
        if self._url is None:
            return False
        return self._fetched_at is None or (
            self._clock() - self._fetched_at >= REFETCH_INTERVAL_SECONDS
        )

    def _load(self) -> None:
        assert self._url is not None
        self._fetched_at = self._clock()
        self.fetches += 1
        try:
            keys = parse_jwks(self._fetch(self._url))
        except Exception as error:
            if self._keys is None:
                raise KeySetUnavailable(f"the key set at {self._url} is unavailable") from error
            return  # keep the keys we have
        self._keys = keys


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
        return Caller(sub=sub, email=email if isinstance(email, str) else None)


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
