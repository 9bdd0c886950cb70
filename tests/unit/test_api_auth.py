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
    caller = verifier.verify(tokens.token("user-1", email="a@example.com", auth_time=1234))
    assert caller == auth.Caller(sub="user-1", email="a@example.com", session_started=1234)


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


class FlakyKeys:
    """A key-set endpoint that fails until told otherwise, counting every fetch."""

    def __init__(self, tokens: TokenFactory) -> None:
        self.tokens = tokens
        self.up = False
        self.calls = 0

    def __call__(self, url: str) -> bytes:
        self.calls += 1
        if not self.up:
            raise OSError("timed out")
        return self.tokens.jwks().encode()


def test_an_unreachable_key_set_is_not_fetched_again_until_the_backoff_ends(tokens) -> None:
    endpoint = FlakyKeys(tokens)
    clock = [1000.0]
    keys = auth.JwksCache(url="https://k/j", fetch=endpoint, clock=lambda: clock[0])
    verifier = auth.TokenVerifier(ISSUER, CLIENT_ID, keys)
    token = tokens.token("u")

    waits = []
    for _ in range(9):  # each back-off runs out exactly, then the next fetch fails again
        with pytest.raises(auth.KeySetUnavailable) as first:
            verifier.verify(token)
        waits.append(first.value.retry_after)
        calls = endpoint.calls
        for _ in range(50):  # requests inside the back-off are answered without a fetch
            with pytest.raises(auth.KeySetUnavailable) as during:
                verifier.verify(token)
            assert 1 <= during.value.retry_after <= first.value.retry_after
        assert endpoint.calls == calls
        clock[0] += first.value.retry_after - 0.5
        with pytest.raises(auth.KeySetUnavailable) as late:
            verifier.verify(token)
        assert late.value.retry_after == 1  # half a second left, rounded up
        assert endpoint.calls == calls
        clock[0] += 0.5
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert endpoint.calls == 9

    endpoint.up = True  # the first fetch after the back-off finds the keys: no more fetches
    assert verifier.verify(token).sub == "u"
    assert verifier.verify(token).sub == "u"
    assert endpoint.calls == 10


def test_after_a_success_a_new_outage_backs_off_from_one_second_again(tokens) -> None:
    assert [auth.backoff_seconds(n) for n in (1, 2, 3, 7, 8, 100)] == [1, 2, 4, 60, 60, 60]
    endpoint = FlakyKeys(tokens)
    clock = [0.0]
    keys = auth.JwksCache(url="https://k/j", fetch=endpoint, clock=lambda: clock[0])
    for _ in range(3):
        with pytest.raises(auth.KeySetUnavailable):
            keys.key(tokens.kid)
        clock[0] += 100
    endpoint.up = True
    assert keys.key(tokens.kid) is not None
    fresh = auth.JwksCache(url="https://k/j", fetch=endpoint, clock=lambda: clock[0])
    endpoint.up = False
    with pytest.raises(auth.KeySetUnavailable) as error:
        fresh.key(tokens.kid)
    assert error.value.retry_after == 1


def test_a_failed_refetch_for_an_unknown_kid_keeps_the_known_keys(tokens) -> None:
    endpoint = FlakyKeys(tokens)
    endpoint.up = True
    clock = [0.0]
    keys = auth.JwksCache(url="https://k/j", fetch=endpoint, clock=lambda: clock[0])
    verifier = auth.TokenVerifier(ISSUER, CLIENT_ID, keys)
    assert verifier.verify(tokens.token("u")).sub == "u"
    endpoint.up = False
    clock[0] += auth.REFETCH_INTERVAL_SECONDS
    assert refused(verifier, tokens.token(kid="rotated")) == "unknown_kid"
    assert verifier.verify(tokens.token("u")).sub == "u"
    assert endpoint.calls == 2


# -- revocation -----------------------------------------------------------------------------


def test_the_session_start_is_auth_time_then_iat(verifier, tokens) -> None:
    assert verifier.verify(tokens.token("u", auth_time=100, iat=200)).session_started == 100
    assert verifier.verify(tokens.token("u", auth_time=None, iat=200)).session_started == 200


def test_a_session_begun_before_the_revocation_is_refused_and_a_later_one_accepted() -> None:
    revocations = auth.RevocationCache(lambda sub: {"alice": 1000}.get(sub))
    for started in (0, 999):
        with pytest.raises(auth.AuthError) as error:
            revocations.check(auth.Caller("alice", None, session_started=started))
        assert error.value.reason == "revoked"
        assert "Sign in again" in error.value.message
    revocations.check(auth.Caller("alice", None, session_started=1000))
    revocations.check(auth.Caller("bob", None, session_started=0))  # never revoked


def test_revocation_times_are_cached_per_user_for_at_most_the_window() -> None:
    stored: dict[str, int] = {}
    clock = [0.0]
    revocations = auth.RevocationCache(stored.get, clock=lambda: clock[0])
    alice = auth.Caller("alice", None, session_started=500)
    revocations.check(alice)
    stored["alice"] = 1000  # revoked just after this container read "never"
    clock[0] += auth.REVOCATION_CACHE_SECONDS - 0.001
    revocations.check(alice)  # still inside the window: the cached answer
    assert revocations.reads == 1
    clock[0] += 0.001
    with pytest.raises(auth.AuthError):
        revocations.check(alice)
    assert revocations.reads == 2
    assert auth.REVOCATION_CACHE_SECONDS <= 60


def test_the_revocation_cache_is_bounded() -> None:
    revocations = auth.RevocationCache(lambda sub: None, max_entries=3)
    for n in range(10):
        revocations.revoked_at(f"user-{n}")
    assert len(revocations._entries) <= 3
    assert revocations.reads == 10


def test_a_failing_revocation_read_fails_closed() -> None:
    def read(sub: str) -> int | None:
        raise OSError("table unavailable")

    with pytest.raises(OSError, match="table unavailable"):
        auth.RevocationCache(read).check(auth.Caller("alice", None, session_started=1))


def test_the_revocation_item_outlives_every_token_issued_before_it() -> None:
    item = auth.revocation_item("alice", 1000)
    assert item == {
        "id": "alice#revoked",
        "revokedAt": 1000,
        "expiresAt": 1000 + auth.REVOCATION_KEEP_SECONDS,
    }
    assert auth.REVOCATION_KEEP_SECONDS > 24 * 3600  # Cognito's longest ID-token lifetime
    assert auth.revoked_before(item) == 1000
    assert auth.revoked_before(None) is None
    assert auth.revoked_before({"id": "x", "revokedAt": True}) is None


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
