"""The API function's own check of Cognito ID tokens (lambda_src/api/auth.py)."""

from __future__ import annotations

import json
import time

import pytest

from api import auth
from support.tokens import (
    CLIENT_ID,
    ISSUER,
    TokenFactory,
    cached_key,
    tamper_payload,
    unsigned_token,
)


@pytest.fixture
def tokens() -> TokenFactory:
    return TokenFactory()


@pytest.fixture
def verifier(tokens: TokenFactory) -> auth.TokenVerifier:
    return auth.TokenVerifier(ISSUER, CLIENT_ID, auth.JwksCache(document=tokens.jwks()))


def refused(verifier: auth.TokenVerifier, token: str) -> str:
    with pytest.raises(auth.AuthError) as excinfo:
        verifier.verify(token)
    return excinfo.value.reason


def test_a_good_id_token_names_its_user(verifier, tokens) -> None:
    caller = verifier.verify(tokens.token("user-1", email="a@example.com"))
    assert caller == auth.Caller(sub="user-1", email="a@example.com")


def test_an_expired_token_is_refused(verifier, tokens) -> None:
    past = int(time.time()) - 3600
    assert refused(verifier, tokens.token(iat=past - 60, exp=past)) == "expired"


def test_a_few_seconds_of_clock_skew_are_tolerated_but_no_more(verifier, tokens) -> None:
    now = int(time.time())
    assert verifier.verify(tokens.token("u", exp=now - 2)).sub == "u"
    assert refused(verifier, tokens.token("u", exp=now - 30)) == "expired"


def test_a_token_of_another_issuer_is_refused(verifier, tokens) -> None:
    other = ISSUER.replace("TestPool1", "OtherPool")
    assert refused(verifier, tokens.token(iss=other)) == "issuer"


def test_a_token_for_another_client_is_refused(verifier, tokens) -> None:
    assert refused(verifier, tokens.token(aud="another-client")) == "audience"


def test_an_access_token_is_refused(verifier, tokens) -> None:
    assert refused(verifier, tokens.token(token_use="access")) == "token_use"


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "token_use"])
def test_a_token_without_a_required_claim_is_refused(verifier, tokens, claim: str) -> None:
    assert refused(verifier, tokens.token(**{claim: None})) == "MissingRequiredClaimError"


def test_a_tampered_payload_breaks_the_signature(verifier, tokens) -> None:
    token = tamper_payload(tokens.token("user-1"), sub="user-2")
    assert refused(verifier, token) == "signature"


def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(verifier, tokens) -> None:
    token = tokens.token(key=cached_key("attacker"))
    assert refused(verifier, token) == "signature"


def test_an_unknown_kid_is_refused(verifier, tokens) -> None:
    assert refused(verifier, tokens.token(kid="someone-elses-key")) == "unknown_kid"


def test_alg_none_is_refused_before_any_key_is_used(verifier, tokens) -> None:
    assert refused(verifier, unsigned_token(tokens.claims("user-1"))) == "algorithm"


def test_hs256_signed_with_the_public_key_is_refused(verifier, tokens) -> None:
    """The classic key-confusion attack: HMAC keyed with the published RSA key."""
    import base64
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    def part(value: dict) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    secret = tokens.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{part({'alg': 'HS256', 'kid': tokens.kid})}.{part(tokens.claims('u'))}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
    assert refused(verifier, token) == "algorithm"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c.d", "x" * 9000, "!!!.???.***"])
def test_malformed_tokens_are_refused(verifier, garbage: str) -> None:
    assert refused(verifier, garbage) in {"malformed", "header"}


def test_the_key_set_is_fetched_once_per_container(tokens) -> None:
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        return tokens.jwks().encode()

    verifier = auth.TokenVerifier(
        ISSUER, CLIENT_ID, auth.JwksCache(url="https://keys.example/jwks.json", fetch=fetch)
    )
    for _ in range(3):
        assert verifier.verify(tokens.token("u")).sub == "u"
    assert calls == ["https://keys.example/jwks.json"]


def test_unknown_kids_refetch_the_key_set_at_most_once_per_interval(tokens) -> None:
    calls: list[str] = []
    clock = [1000.0]

    def fetch(url: str) -> bytes:
        calls.append(url)
        return tokens.jwks().encode()

    keys = auth.JwksCache(url="https://keys.example/jwks.json", fetch=fetch, clock=lambda: clock[0])
    verifier = auth.TokenVerifier(ISSUER, CLIENT_ID, keys)
    verifier.verify(tokens.token("u"))
    for attempt in range(20):
        refused(verifier, tokens.token(kid=f"made-up-{attempt}"))
    assert len(calls) == 1
    clock[0] += auth.REFETCH_INTERVAL_SECONDS
    refused(verifier, tokens.token(kid="made-up-later"))
    assert len(calls) == 2


def test_an_unreachable_key_set_fails_closed(tokens) -> None:
    def fetch(url: str) -> bytes:
        raise OSError("no route to host")

    verifier = auth.TokenVerifier(ISSUER, CLIENT_ID, auth.JwksCache(url="https://k/j", fetch=fetch))
    with pytest.raises(auth.KeySetUnavailable):
        verifier.verify(tokens.token("u"))


def test_a_jwks_without_rs256_signing_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="no RS256 signing key"):
        auth.parse_jwks(json.dumps({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}))


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer abc.def.ghi"}, "abc.def.ghi"),
        ({"authorization": "abc.def.ghi"}, "abc.def.ghi"),
        ({"AUTHORIZATION": "bearer   t.o.k "}, "t.o.k"),
        ({"Authorization": "Bearer "}, None),
        ({"Authorization": ""}, None),
        ({}, None),
        (None, None),
    ],
)
def test_bearer_token(headers, expected) -> None:
    assert auth.bearer_token(headers) == expected
