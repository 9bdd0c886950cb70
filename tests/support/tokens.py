"""Cognito-like ID tokens for tests: an RSA key pair, its JWKS and tokens signed with it.

The unit tier signs its own tokens (no network): :class:`TokenFactory` makes RS256 tokens
shaped like a Cognito user pool's (``iss``, ``aud``, ``token_use``, ``sub``, ``email``,
``exp``), and broken ones on purpose (another key, another ``kid``, ``alg: none``...).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

REGION = "us-east-1"
POOL_ID = f"{REGION}_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
CLIENT_ID = "testclientid0123456789abcd"


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


_KEYS: dict[str, rsa.RSAPrivateKey] = {}


def cached_key(name: str) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make: one per name per test run."""
    if name not in _KEYS:
        _KEYS[name] = _new_key()
    return _KEYS[name]


@dataclass
class TokenFactory:
    issuer: str = ISSUER
    client_id: str = CLIENT_ID
    kid: str = "test-key-1"
    key: rsa.RSAPrivateKey = field(default_factory=lambda: cached_key("main"))

    def jwks(self) -> str:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        public.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return json.dumps({"keys": [public]})

    def claims(self, sub: Any = ..., **overrides: Any) -> dict[str, Any]:
        """Cognito's ID token claims; a claim given as ``None`` is left out."""
        now = int(time.time())
        claims = {
            "sub": str(uuid.uuid4()) if sub is ... else sub,
            "email": "someone@example.com",
            "email_verified": True,
            "iss": self.issuer,
            "aud": self.client_id,
            "token_use": "id",
            "auth_time": now,
            "iat": now,
            "exp": now + 3600,
            "cognito:username": "someone",
        }
        claims.update(overrides)
        return {key: value for key, value in claims.items() if value is not None}

    def token(
        self,
        sub: Any = ...,
        key: rsa.RSAPrivateKey | None = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        return jwt.encode(
            self.claims(sub, **claims),
            key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid},
        )


def unsigned_token(claims: dict[str, Any], kid: str = "test-key-1") -> str:
    """An ``alg: none`` token (no signature), as an attacker would send it."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{part(claims)}."


def tamper_payload(token: str, **changes: Any) -> str:
    """The same header and signature over a changed payload."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    raw = json.dumps(claims, separators=(",", ":")).encode()
    return f"{header}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}.{signature}"
