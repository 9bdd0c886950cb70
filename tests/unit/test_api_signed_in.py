"""The API with sign-in (AUTH_MODE=cognito) on moto: tokens, ownership, listing, cursors,
deletion and daily quotas. Tokens are signed by the test's own key (support/tokens.py)."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest

from common import contract
from support.lambda_env import OUTPUT_BUCKET, QUOTA_TABLE, REGION, UPLOAD_BUCKET
from support.lambda_events import api_event
from support.tokens import CLIENT_ID, ISSUER, TokenFactory, unsigned_token

ALICE = "0b4f8f64-1111-4a1a-9a1a-aaaaaaaaaaaa"
BOB = "0b4f8f64-2222-4b2b-9b2b-bbbbbbbbbbbb"
TOKENS = TokenFactory()


@pytest.fixture
def load_signed_in(load_signed_in: Callable[..., ModuleType]) -> Callable[..., ModuleType]:
    """The signed-in API (tests/unit/conftest.py) with small daily quotas."""

    def load(**overrides: str | None) -> ModuleType:
        quotas = {"QUOTA_UPLOADS_PER_DAY": "5", "QUOTA_BYTES_PER_DAY": "1000000"}
        return load_signed_in(**{**quotas, **overrides})

    return load


@pytest.fixture
def api(load_signed_in: Callable[..., ModuleType]) -> ModuleType:
    return load_signed_in()


def request(
    api: ModuleType,
    context: Any,
    method: str,
    path: str,
    *,
    token: str | None = None,
    user: str | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    name = "api_post_uploads" if path == "/uploads" else "api_get_upload"
    upload_id = path.rsplit("/", 1)[1] if path != "/uploads" else None
    event = api_event(
        name,
        method=method,
        body=json.dumps(body) if body is not None else None,
        upload_id=upload_id,
    )
    if path == "/uploads":
        event["path"] = "/uploads"
    event["queryStringParameters"] = query
    if user is not None:
        token = TOKENS.token(user)
    if token is not None:
        event["headers"]["Authorization"] = token
    response = api.handler(event, context)
    payload = json.loads(response["body"]) if response["body"] else None
    return response["statusCode"], response["headers"], payload


def create(api, context, user: str, size: int = 1000, name: str = "cat.jpg") -> str:
    status, _, body = request(
        api,
        context,
        "POST",
        "/uploads",
        user=user,
        body={"contentType": "image/jpeg", "size": size, "filename": name},
    )
    assert status == 201, body
    return body["id"]


# -- tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/uploads"),
        ("GET", "/uploads"),
        ("GET", f"/uploads/{BOB}"),
        ("DELETE", f"/uploads/{BOB}"),
    ],
)
def test_every_route_needs_a_token(api, lambda_context, method: str, path: str) -> None:
    body = {"contentType": "image/jpeg", "size": 10} if method == "POST" else None
    status, headers, payload = request(api, lambda_context, method, path, body=body)
    assert (status, payload["error"]) == (401, "unauthorized")
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert payload["message"]


@pytest.mark.parametrize(
    "token",
    [
        TOKENS.token(ALICE, exp=1),
        TOKENS.token(ALICE, aud="other"),
        TOKENS.token(ALICE, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
        TOKENS.token(ALICE, token_use="access"),
        TOKENS.token(ALICE, kid="unknown"),
        unsigned_token(TOKENS.claims(ALICE)),
        "Bearer not-a-token",
    ],
    ids=["expired", "client", "issuer", "token_use", "kid", "alg_none", "garbage"],
)
def test_bad_tokens_get_401_and_create_nothing(api, lambda_context, uploads, token: str) -> None:
    status, _, payload = request(
        api,
        lambda_context,
        "POST",
        "/uploads",
        token=token,
        body={"contentType": "image/jpeg", "size": 10},
    )
    assert (status, payload["error"]) == (401, "unauthorized")
    assert uploads.list_owner(ALICE, 10) == ([], None)


def test_options_preflight_stays_anonymous_and_allows_the_authorization_header(
    api, lambda_context
) -> None:
    event = api_event("api_options_uploads")
    response = api.handler(event, lambda_context)
    assert response["statusCode"] == 204
    assert "Authorization" in response["headers"]["Access-Control-Allow-Headers"]
    assert "DELETE" in response["headers"]["Access-Control-Allow-Methods"]


def test_bearer_prefix_and_bare_tokens_both_work(api, lambda_context) -> None:
    token = TOKENS.token(ALICE)
    for value in (token, f"Bearer {token}"):
        status, _, _ = request(api, lambda_context, "GET", "/uploads", token=value)
        assert status == 200


# -- revocation (tools/users.py disable / sign-out) ----------------------------------------


def revoke(user: str, revoked_at: int) -> None:
    """What tools/users.py writes after Cognito's global sign-out."""
    import boto3

    from api import auth
    from common.table import serialise

    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=QUOTA_TABLE, Item=serialise(auth.revocation_item(user, revoked_at))
    )


def test_a_token_issued_before_the_revocation_is_refused_with_401(api, lambda_context) -> None:
    now = int(time.time())
    revoke(ALICE, now - 100)
    before = TOKENS.token(ALICE, auth_time=now - 101, iat=now - 101)
    for method, path in (("GET", "/uploads"), ("GET", f"/uploads/{BOB}"), ("POST", "/uploads")):
        body = {"contentType": "image/jpeg", "size": 10} if method == "POST" else None
        status, headers, payload = request(
            api, lambda_context, method, path, token=before, body=body
        )
        assert (status, payload["error"]) == (401, "unauthorized")
        assert "signed out everywhere" in payload["message"]
        assert headers["WWW-Authenticate"].startswith("Bearer")
    # A refreshed token keeps the session's auth_time: refused too.
    refreshed = TOKENS.token(ALICE, auth_time=now - 101, iat=now - 10)
    assert request(api, lambda_context, "GET", "/uploads", token=refreshed)[0] == 401
    # Signing in again afterwards works; other users are not affected.
    after = TOKENS.token(ALICE, auth_time=now - 100, iat=now - 100)
    assert request(api, lambda_context, "GET", "/uploads", token=after)[0] == 200
    assert request(api, lambda_context, "GET", "/uploads", user=BOB)[0] == 200


def test_a_revocation_holds_within_the_cache_window(api, lambda_context) -> None:
    from api import auth

    clock = [0.0]
    api.REVOCATIONS = auth.RevocationCache(api.read_revocation, clock=lambda: clock[0])
    token = TOKENS.token(ALICE)
    assert request(api, lambda_context, "GET", "/uploads", token=token)[0] == 200
    revoke(ALICE, int(time.time()) + 1)
    clock[0] += auth.REVOCATION_CACHE_SECONDS - 1
    assert request(api, lambda_context, "GET", "/uploads", token=token)[0] == 200  # cached
    clock[0] += 1
    assert request(api, lambda_context, "GET", "/uploads", token=token)[0] == 401
    assert api.REVOCATIONS.reads == 2  # one read per user per window, not one per request


def test_sign_in_without_the_table_that_holds_revocations_is_refused() -> None:
    from api.config import ConfigError, load_config
    from support.lambda_env import API_ENV

    env = {
        **API_ENV,
        "AUTH_MODE": "cognito",
        "AUTH_ISSUER": ISSUER,
        "AUTH_CLIENT_ID": CLIENT_ID,
        "AUTH_JWKS": TOKENS.jwks(),
    }
    with pytest.raises(ConfigError, match=r"QUOTA_TABLE.*revocations"):
        load_config(env)


def test_an_unreachable_key_set_is_503_with_the_backoff_as_retry_after(
    load_signed_in, lambda_context
) -> None:
    api = load_signed_in(AUTH_JWKS="", AUTH_JWKS_URL="https://keys.invalid/jwks.json")
    calls: list[str] = []

    def fetch(url: str) -> bytes:
        calls.append(url)
        raise OSError("timed out")

    from api import auth

    clock = [0.0]
    api.VERIFIER.keys = auth.JwksCache(url="https://k/j", fetch=fetch, clock=lambda: clock[0])
    first = request(api, lambda_context, "GET", "/uploads", user=ALICE)
    second = request(api, lambda_context, "GET", "/uploads", user=ALICE)
    assert [r[0] for r in (first, second)] == [503, 503]
    assert first[2]["error"] == "sign_in_unavailable"
    assert (first[1]["Retry-After"], second[1]["Retry-After"]) == ("1", "1")
    assert len(calls) == 1
    clock[0] += 1
    third = request(api, lambda_context, "GET", "/uploads", user=ALICE)
    assert (third[0], third[1]["Retry-After"], len(calls)) == (503, "2", 2)


# -- ownership ----------------------------------------------------------------------------


def test_the_token_subject_owns_the_upload(api, lambda_context, uploads) -> None:
    upload_id = create(api, lambda_context, ALICE)
    assert uploads.get(upload_id)["owner"] == ALICE


def test_another_users_upload_is_a_404_like_a_missing_one(api, lambda_context) -> None:
    upload_id = create(api, lambda_context, ALICE)
    own = request(api, lambda_context, "GET", f"/uploads/{upload_id}", user=ALICE)
    other = request(api, lambda_context, "GET", f"/uploads/{upload_id}", user=BOB)
    missing = request(api, lambda_context, "GET", f"/uploads/{uuid.uuid4()}", user=BOB)
    assert own[0] == 200
    assert (other[0], other[2]) == (missing[0], missing[2]) == (404, missing[2])
    assert other[2]["error"] == "not_found"


def test_each_user_lists_only_their_own_uploads_newest_first(api, lambda_context) -> None:
    alice = [create(api, lambda_context, ALICE, name=f"a{n}.jpg") for n in range(3)]
    bob = [create(api, lambda_context, BOB, name="b.jpg")]
    status, _, body = request(api, lambda_context, "GET", "/uploads", user=ALICE)
    assert status == 200
    assert [item["id"] for item in body["uploads"]] == alice[::-1]
    assert body["nextCursor"] is None
    first = body["uploads"][0]
    assert first["fileName"] == "a2.jpg"
    assert first["status"] == "processing"
    assert (first["contentType"], first["bytes"]) == ("image/jpeg", 1000)
    _, _, bobs = request(api, lambda_context, "GET", "/uploads", user=BOB)
    assert [item["id"] for item in bobs["uploads"]] == bob


def test_listing_pages_with_a_cursor(api, lambda_context) -> None:
    made = [create(api, lambda_context, ALICE) for _ in range(5)][::-1]
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, _, body = request(api, lambda_context, "GET", "/uploads", user=ALICE, query=query)
        assert status == 200, body
        seen += [item["id"] for item in body["uploads"]]
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert seen == made


def _cursor(payload: Any) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_cursors_cannot_be_forged_into_another_users_listing(api, lambda_context) -> None:
    create(api, lambda_context, BOB)
    alices = {create(api, lambda_context, ALICE) for _ in range(3)}
    _, _, page = request(api, lambda_context, "GET", "/uploads", user=ALICE, query={"limit": "1"})
    alices_cursor = page["nextCursor"]
    assert alices_cursor
    decoded = json.loads(base64.urlsafe_b64decode(alices_cursor + "=" * (-len(alices_cursor) % 4)))
    forged_key = {**decoded["k"], "owner": BOB}
    forgeries = {
        "alice's cursor used by bob": alices_cursor,
        "key owner swapped": _cursor({**decoded, "k": forged_key}),
        "extra key field": _cursor({**decoded, "k": {**decoded["k"], "x": 1}}),
        "bad id": _cursor({**decoded, "o": BOB, "k": {**forged_key, "id": "../etc"}}),
        "bad time": _cursor({**decoded, "o": BOB, "k": {**forged_key, "createdAt": "yesterday"}}),
        "wrong version": _cursor({**decoded, "v": 9}),
        "not base64": "%%%",
        "not json": base64.urlsafe_b64encode(b"nope").decode(),
        "too long": "A" * 2000,
    }
    for label, cursor in forgeries.items():
        status, _, body = request(
            api, lambda_context, "GET", "/uploads", user=BOB, query={"cursor": cursor}
        )
        assert (status, body.get("error")) == (400, "invalid_cursor"), label
    # A cursor rewritten to bob's name is a position in bob's own listing: the query always
    # names the caller's partition, so it can only ever return bob's uploads.
    rewritten = _cursor({**decoded, "o": BOB, "k": forged_key})
    status, _, body = request(
        api, lambda_context, "GET", "/uploads", user=BOB, query={"cursor": rewritten}
    )
    assert status in (200, 400)
    if status == 200:
        assert all(item["id"] not in alices for item in body["uploads"])


@pytest.mark.parametrize("limit", ["0", "51", "-1", "two", "1.5", "²"])
def test_bad_page_sizes_are_400(api, lambda_context, limit: str) -> None:
    status, _, body = request(
        api, lambda_context, "GET", "/uploads", user=ALICE, query={"limit": limit}
    )
    assert (status, body["error"]) == (400, "invalid_request")


# -- deletion -----------------------------------------------------------------------------


def _put_outputs(s3: Any, upload_id: str) -> None:
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{upload_id}", Body=b"original")
    for name in ("large.jpg", "medium.jpg", "thumb.webp", "manifest.json"):
        s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"{upload_id}/{name}", Body=b"x")


def test_delete_removes_every_object_and_leaves_a_tombstone(
    api, lambda_context, s3, uploads
) -> None:
    upload_id = create(api, lambda_context, ALICE)
    keep = create(api, lambda_context, ALICE)
    _put_outputs(s3, upload_id)
    _put_outputs(s3, keep)
    moment = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    api.clock = lambda: moment
    status, _, body = request(api, lambda_context, "DELETE", f"/uploads/{upload_id}", user=ALICE)
    assert (status, body) == (204, None)
    tombstone = uploads.get(upload_id)
    assert (tombstone["status"], tombstone["deletedBy"]) == ("deleted", ALICE)
    assert not {"owner", "fileName"} & set(tombstone)  # nothing personal stays
    # kept past the URL's lifetime (60 s) + the processor's retry window (420 s) + 300 s grace
    assert tombstone["expiresAt"] == int(moment.timestamp()) + 60 + 420 + 300
    assert [item["id"] for item in uploads.list_owner(ALICE, 10)[0]] == [keep]
    assert "Contents" not in s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix=f"{upload_id}/")
    assert "Contents" not in s3.list_objects_v2(Bucket=UPLOAD_BUCKET, Prefix=f"uploads/{upload_id}")
    # The other upload is untouched.
    assert uploads.get(keep) is not None
    assert len(s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix=f"{keep}/")["Contents"]) == 4
    status, _, _ = request(api, lambda_context, "GET", f"/uploads/{upload_id}", user=ALICE)
    assert status == 404


def test_delete_is_idempotent_and_a_repeat_erases_again(api, lambda_context, s3) -> None:
    upload_id = create(api, lambda_context, ALICE)
    for _ in range(2):
        _put_outputs(s3, upload_id)  # e.g. the first erasure failed half-way
        status, _, _ = request(api, lambda_context, "DELETE", f"/uploads/{upload_id}", user=ALICE)
        assert status == 204
        assert "Contents" not in s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix=f"{upload_id}/")
    status, _, _ = request(api, lambda_context, "DELETE", f"/uploads/{upload_id}", user=BOB)
    assert status == 204  # a tombstone is not BOB's to repeat
    status, _, _ = request(api, lambda_context, "GET", f"/uploads/{upload_id}", user=ALICE)
    assert status == 404
    status, _, _ = request(api, lambda_context, "DELETE", f"/uploads/{uuid.uuid4()}", user=ALICE)
    assert status == 204


def test_nobody_deletes_another_users_upload(api, lambda_context, s3, uploads) -> None:
    upload_id = create(api, lambda_context, ALICE)
    _put_outputs(s3, upload_id)
    status, _, _ = request(api, lambda_context, "DELETE", f"/uploads/{upload_id}", user=BOB)
    assert status == 204  # answered like a missing id: ids leak nothing
    assert uploads.get(upload_id)["owner"] == ALICE
    assert len(s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix=f"{upload_id}/")["Contents"]) == 4


def test_delete_checks_the_id(api, lambda_context) -> None:
    status, _, body = request(api, lambda_context, "DELETE", "/uploads/not-a-uuid", user=ALICE)
    assert (status, body["error"]) == (400, "invalid_id")


# -- quotas -------------------------------------------------------------------------------


def test_the_daily_upload_count_is_enforced_with_429_and_retry_after(api, lambda_context) -> None:
    for _ in range(5):
        create(api, lambda_context, ALICE, size=10)
    status, headers, body = request(
        api,
        lambda_context,
        "POST",
        "/uploads",
        user=ALICE,
        body={"contentType": "image/jpeg", "size": 10},
    )
    assert (status, body["error"]) == (429, "quota_exceeded")
    assert "Daily upload limit" in body["message"]
    assert 1 <= int(headers["Retry-After"]) <= 86_400
    # Another user has a quota of their own.
    create(api, lambda_context, BOB, size=10)


def test_the_daily_bytes_are_enforced(api, lambda_context, uploads) -> None:
    create(api, lambda_context, ALICE, size=600_000)
    status, _, body = request(
        api,
        lambda_context,
        "POST",
        "/uploads",
        user=ALICE,
        body={"contentType": "image/jpeg", "size": 400_001},
    )
    assert (status, body["error"]) == (429, "quota_exceeded")
    create(api, lambda_context, ALICE, size=400_000)  # exactly the rest of the day's bytes
    assert len(uploads.list_owner(ALICE, 10)[0]) == 2


def test_a_file_larger_than_a_whole_day_is_refused_at_once(api, lambda_context) -> None:
    status, _, body = request(
        api,
        lambda_context,
        "POST",
        "/uploads",
        user=ALICE,
        body={"contentType": "image/jpeg", "size": 1_000_001},
    )
    assert (status, body["error"]) == (429, "quota_exceeded")
    assert "larger than the daily" in body["message"]


def test_an_invalid_request_does_not_use_quota(api, lambda_context) -> None:
    for _ in range(8):
        status, _, _ = request(
            api,
            lambda_context,
            "POST",
            "/uploads",
            user=ALICE,
            body={"contentType": "text/html", "size": 10},
        )
        assert status == 415
    create(api, lambda_context, ALICE)


def counter(user: str, day: str) -> tuple[int, int] | None:
    """The quota table's (uploads, bytes) of ``user`` on ``day`` (YYYY-MM-DD), as stored."""
    import boto3

    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=QUOTA_TABLE, Key={"id": {"S": f"{user}#{day}"}}, ConsistentRead=True
    )
    if "Item" not in item:
        return None
    return int(item["Item"]["uploads"]["N"]), int(item["Item"]["bytes"]["N"])


def post_upload(api, context, user: str, size: int = 10) -> tuple[int, dict[str, str], Any]:
    body = {"contentType": "image/jpeg", "size": size}
    return request(api, context, "POST", "/uploads", user=user, body=body)


class Clock:
    """An injectable clock for the API module (``api.clock``)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize("failing", ["record", "presign"])
def test_a_request_that_fails_after_the_charge_is_refunded(
    api, lambda_context, monkeypatch, failing
) -> None:
    api.clock = Clock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    create(api, lambda_context, ALICE, size=100)
    target = (api.TABLE, "create") if failing == "record" else (api.STORE, "presign_upload")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{failing} failed")

    monkeypatch.setattr(*target, broken)
    status, _, body = post_upload(api, lambda_context, ALICE, size=5000)
    assert (status, body["error"]) == (500, "internal_error")
    assert counter(ALICE, "2026-12-03") == (1, 100)  # only the upload that exists


def test_a_refund_after_midnight_goes_to_the_day_that_was_charged(
    api, lambda_context, monkeypatch
) -> None:
    clock = Clock(datetime(2026, 12, 3, 23, 59, 59, 900_000, tzinfo=UTC))
    api.clock = clock
    create(api, lambda_context, ALICE, size=100)

    def slow_then_broken(item: Any) -> bool:  # the request crosses midnight, then fails
        clock.now = datetime(2026, 12, 4, 0, 0, 0, 200_000, tzinfo=UTC)
        raise RuntimeError("throttled")

    monkeypatch.setattr(api.TABLE, "create", slow_then_broken)
    status, _, _ = post_upload(api, lambda_context, ALICE, size=5000)
    assert status == 500
    assert counter(ALICE, "2026-12-03") == (1, 100)
    assert counter(ALICE, "2026-12-04") is None  # never a negative or new counter


def test_the_limit_resets_at_midnight_utc(api, lambda_context) -> None:
    clock = Clock(datetime(2026, 12, 3, 23, 59, 58, tzinfo=UTC))
    api.clock = clock
    for _ in range(5):
        create(api, lambda_context, ALICE, size=10)
    status, headers, _ = post_upload(api, lambda_context, ALICE)
    assert (status, headers["Retry-After"]) == (429, "2")
    clock.now = datetime(2026, 12, 4, 0, 0, 0, tzinfo=UTC)
    create(api, lambda_context, ALICE, size=10)
    assert counter(ALICE, "2026-12-03") == (5, 50)
    assert counter(ALICE, "2026-12-04") == (1, 10)


@pytest.mark.usefixtures("atomic_item_writes")
def test_concurrent_charges_never_pass_the_limit(api, lambda_context) -> None:
    """Twelve requests at once against a limit of five (real threads on the moto table, whose
    item writes are made atomic as DynamoDB's are): five URLs, seven 429s, and the counter says
    five. The same race on the stack's table: tests/integration/test_delete_erases.py."""
    api.clock = Clock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    barrier = threading.Barrier(12)
    statuses: list[int] = []

    def one() -> None:
        barrier.wait()
        statuses.append(post_upload(api, lambda_context, ALICE, size=10)[0])

    threads = [threading.Thread(target=one) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 5 + [429] * 7
    assert counter(ALICE, "2026-12-03") == (5, 50)


def test_quotas_can_be_turned_off(load_signed_in, lambda_context) -> None:
    api = load_signed_in(QUOTA_UPLOADS_PER_DAY="", QUOTA_BYTES_PER_DAY="")
    for _ in range(7):
        create(api, lambda_context, ALICE)


# -- without sign-in ----------------------------------------------------------------------


def test_without_sign_in_listing_and_deleting_do_not_exist(load_api, lambda_context) -> None:
    api = load_api()
    for method, path in (("GET", "/uploads"), ("DELETE", f"/uploads/{ALICE}")):
        status, headers, body = request(api, lambda_context, method, path)
        assert (status, body["error"]) == (405, "method_not_allowed")
        assert "DELETE" not in headers["Allow"] or method == "GET"


def test_config_refuses_quotas_without_a_table(load_signed_in) -> None:
    from api.config import ConfigError, load_config
    from support.lambda_env import API_ENV

    env = {
        **API_ENV,
        "AUTH_MODE": "cognito",
        "AUTH_ISSUER": ISSUER,
        "AUTH_CLIENT_ID": CLIENT_ID,
        "AUTH_JWKS": TOKENS.jwks(),
        "QUOTA_UPLOADS_PER_DAY": "3",
    }
    with pytest.raises(ConfigError, match="QUOTA_TABLE"):
        load_config(env)
    with pytest.raises(ConfigError, match="AUTH_MODE"):
        load_config({**env, "AUTH_MODE": "magic"})
    with pytest.raises(ConfigError, match="AUTH_ISSUER"):
        load_config({**env, "AUTH_ISSUER": "http://plain.example"})
    config = load_config({**env, "QUOTA_TABLE": "q", "AUTH_JWKS": ""})
    assert config.auth.jwks_url == f"{ISSUER}/.well-known/jwks.json"
    assert contract.is_upload_id(str(uuid.uuid4()))


def test_without_sign_in_the_function_never_imports_pyjwt() -> None:
    """PyJWT and cryptography cost a few hundred ms of cold start: only sign-in pays for it."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from support.lambda_env import API_ENV

    repo = Path(__file__).resolve().parents[2]
    script = (
        "import sys, api.handler; sys.exit('jwt' in sys.modules or 'cryptography' in sys.modules)"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AUTH_")},
        **API_ENV,
        "PYTHONPATH": str(repo / "lambda_src"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("signed_in", [False, True])
def test_the_dispatch_table_is_the_rule_sets_routes(load_signed_in, load_api, signed_in) -> None:
    module = load_signed_in() if signed_in else load_api()
    expected = module.api_core.route_table(signed_in)
    assert {key: f.__name__ for key, f in module.ROUTES.items()} == expected
    # every registered handler serves a route of the rule set (with sign-in, all of them)
    assert set(module.HANDLERS) == set(module.api_core.route_table(True).values())


# -- multipart: the quota counts the declared bytes at the start, a cancel gives them back ---

MIB = 1024 * 1024


def multipart_request(api, context, method: str, path: str, user: str) -> tuple[int, Any]:
    event = api_event("api_get_upload", method=method, body=None)
    event["resource"] = None
    event["pathParameters"] = None
    event["path"] = path
    event["headers"]["Authorization"] = TOKENS.token(user)
    response = api.handler(event, context)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


@pytest.fixture
def multipart_api(load_signed_in) -> ModuleType:
    return load_signed_in(
        MULTIPART_THRESHOLD_BYTES=str(5 * MIB),
        MULTIPART_PART_BYTES=str(5 * MIB),
        MAX_UPLOAD_BYTES=str(100 * MIB),
        QUOTA_BYTES_PER_DAY=str(200 * MIB),
    )


def test_a_cancelled_multipart_upload_gives_its_bytes_back(multipart_api, lambda_context) -> None:
    api = multipart_api
    api.clock = Clock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))
    upload_id = create(api, lambda_context, ALICE, size=12 * MIB)
    assert counter(ALICE, "2026-12-03") == (1, 12 * MIB)  # counted when it was granted

    status, body = multipart_request(
        api, lambda_context, "DELETE", f"/uploads/{upload_id}/parts", BOB
    )
    assert (status, body["error"]) == (404, "not_found")  # another user's upload
    assert counter(ALICE, "2026-12-03") == (1, 12 * MIB)

    status, _ = multipart_request(
        api, lambda_context, "DELETE", f"/uploads/{upload_id}/parts", ALICE
    )
    assert status == 204
    assert counter(ALICE, "2026-12-03") == (0, 0)  # never completed: refunded
    status, _ = multipart_request(
        api, lambda_context, "DELETE", f"/uploads/{upload_id}/parts", ALICE
    )
    assert status == 204
    assert counter(ALICE, "2026-12-03") == (0, 0)  # once only


def test_a_multipart_start_that_fails_is_refunded(multipart_api, lambda_context, monkeypatch):
    api = multipart_api
    api.clock = Clock(datetime(2026, 12, 3, 12, 0, tzinfo=UTC))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("S3 refused")

    monkeypatch.setattr(api.STORE, "start_multipart", broken)
    status, _, body = post_upload(api, lambda_context, ALICE, size=12 * MIB)
    assert (status, body["error"]) == (500, "internal_error")
    assert counter(ALICE, "2026-12-03") in (None, (0, 0))
