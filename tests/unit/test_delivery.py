"""api/delivery.py: each mode's variant URL, and every CloudFront signature verified with the
public key (the resource it covers, its expiry, refusal of another user's upload); then the
handler's status answers in public and signed mode on moto (signing key in SSM)."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from api import config as api_config
from api import delivery
from support.lambda_env import API_ENV, REGION
from support.lambda_events import api_event

BASE = "https://d111111abcdef8.cloudfront.net"
KEY_PAIR_ID = "K2JCJMDEHXQW5F"
NOW = 1_800_000_010.0
ALICE = "11111111-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
BOB = "22222222-bbbb-4bbb-8bbb-bbbbbbbbbbbb"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def private_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def settings(mode: str, ttl: int | None = 3600) -> delivery.DeliverySettings:
    return delivery.DeliverySettings(
        mode=mode,
        ttl_seconds=ttl,
        base_url=None if mode == "presigned" else BASE,
        key_pair_id=KEY_PAIR_ID if mode == "signed" else None,
        private_key_parameter="/sip/cdn-signing/a" if mode == "signed" else None,
    )


def signed_delivery(pem: bytes, ttl: int = 3600, now: float = NOW) -> delivery.Delivery:
    return delivery.Delivery(
        settings("signed", ttl),
        presign=_no_presign,
        load_signer=lambda: delivery.rsa_sha1_signer(pem),
        now=lambda: now,
    )


def _no_presign(key: str) -> str:
    raise AssertionError(f"presigned S3 GET asked for {key} outside presigned mode")


def record(upload_id: str, owner: str | None) -> dict[str, Any]:
    return {"id": upload_id, "owner": owner} if owner else {"id": upload_id}


def from_cloudfront_base64(text: str) -> bytes:
    return base64.b64decode(text.translate(str.maketrans("-_~", "+=/")))


def verify_as_cloudfront(url: str, public_key: rsa.RSAPublicKey, now: float) -> str:
    """What CloudFront does with a canned-policy signed URL: rebuild the policy from the URL
    without its three parameters, verify RSA-SHA1 with the key group's public key, refuse it
    once expired. Returns the URL the policy covers."""
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    assert set(params) == {"Expires", "Signature", "Key-Pair-Id"}, params
    assert params["Key-Pair-Id"] == KEY_PAIR_ID
    resource = f"{parts.scheme}://{parts.netloc}{parts.path}"
    expires = int(params["Expires"])
    policy = json.dumps(
        {
            "Statement": [
                {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
            ]
        },
        separators=(",", ":"),
    ).encode()
    public_key.verify(
        from_cloudfront_base64(params["Signature"]), policy, padding.PKCS1v15(), hashes.SHA1()
    )
    if now >= expires:
        raise PermissionError("expired")
    return resource


# -- the pure core ------------------------------------------------------------------------


def test_public_urls_are_the_distribution_path_of_the_key() -> None:
    upload_id = str(uuid.uuid4())
    made = delivery.Delivery(settings("public", None), presign=_no_presign)
    url = made.signer(record(upload_id, None), None)(f"{upload_id}/large.jpg")
    assert url == f"{BASE}/{upload_id}/large.jpg"
    assert made.url(f"{upload_id}/a b+c.jpg") == f"{BASE}/{upload_id}/a%20b%2Bc.jpg"


def test_presigned_mode_hands_the_key_to_the_s3_presigner() -> None:
    upload_id = str(uuid.uuid4())
    made = delivery.Delivery(settings("presigned", 300), presign=lambda key: f"s3://{key}")
    assert made.signer(record(upload_id, None), None)(f"{upload_id}/thumb.webp") == (
        f"s3://{upload_id}/thumb.webp"
    )


def test_a_signed_url_verifies_with_the_public_key_for_exactly_its_object(
    private_key: rsa.RSAPrivateKey, private_pem: bytes
) -> None:
    upload_id = str(uuid.uuid4())
    url = signed_delivery(private_pem).signer(record(upload_id, ALICE), ALICE)(
        f"{upload_id}/large.jpg"
    )

    resource = verify_as_cloudfront(url, private_key.public_key(), NOW)

    assert resource == f"{BASE}/{upload_id}/large.jpg"
    # The signature covers that one object: the same query on any other path is refused.
    other = url.replace("/large.jpg?", "/thumb.webp?")
    with pytest.raises(InvalidSignature):
        verify_as_cloudfront(other, private_key.public_key(), NOW)
    forged = url.replace(upload_id, str(uuid.uuid4()))
    with pytest.raises(InvalidSignature):
        verify_as_cloudfront(forged, private_key.public_key(), NOW)


def test_a_signature_from_another_key_is_refused(private_pem: bytes) -> None:
    upload_id = str(uuid.uuid4())
    url = signed_delivery(private_pem).url(f"{upload_id}/large.jpg")
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with pytest.raises(InvalidSignature):
        verify_as_cloudfront(url, stranger, NOW)


@pytest.mark.parametrize("ttl", [60, 300, 3600, 86_400])
def test_a_signature_lives_at_least_its_lifetime_and_at_most_a_minute_more(
    private_key: rsa.RSAPrivateKey, private_pem: bytes, ttl: int
) -> None:
    upload_id = str(uuid.uuid4())
    url = signed_delivery(private_pem, ttl=ttl).url(f"{upload_id}/large.jpg")
    expires = int(parse_qs(urlsplit(url).query)["Expires"][0])

    assert NOW + ttl <= expires < NOW + ttl + delivery.EXPIRY_STEP_SECONDS
    verify_as_cloudfront(url, private_key.public_key(), NOW + ttl - 1)
    with pytest.raises(PermissionError):
        verify_as_cloudfront(url, private_key.public_key(), expires)
    # Tampering with the expiry breaks the signature.
    longer = url.replace(f"Expires={expires}", f"Expires={expires + 86_400}")
    with pytest.raises(InvalidSignature):
        verify_as_cloudfront(longer, private_key.public_key(), NOW)


def test_urls_of_one_upload_stay_the_same_string_within_a_step(private_pem: bytes) -> None:
    """A page polling the status gets the same URL back, so its browser cache hits."""
    key = f"{uuid.uuid4()}/large.jpg"
    first = signed_delivery(private_pem, now=NOW).url(key)
    assert signed_delivery(private_pem, now=NOW + 30).url(key) == first
    assert signed_delivery(private_pem, now=NOW + 90).url(key) != first


@pytest.mark.parametrize("mode", delivery.MODES)
def test_another_users_upload_is_refused_in_every_mode(private_pem: bytes, mode: str) -> None:
    made = (
        signed_delivery(private_pem)
        if mode == "signed"
        else delivery.Delivery(settings(mode), presign=lambda key: key)
    )
    upload_id = str(uuid.uuid4())
    with pytest.raises(delivery.DeliveryRefused):
        made.signer(record(upload_id, BOB), ALICE)
    assert made.signer(record(upload_id, ALICE), ALICE)(f"{upload_id}/large.jpg")


def test_signed_mode_never_signs_for_an_anonymous_viewer_of_an_owned_upload(
    private_pem: bytes,
) -> None:
    with pytest.raises(delivery.DeliveryRefused):
        signed_delivery(private_pem).signer(record(str(uuid.uuid4()), ALICE), None)


@pytest.mark.parametrize("mode", delivery.MODES)
def test_a_key_outside_the_upload_is_refused(private_pem: bytes, mode: str) -> None:
    made = (
        signed_delivery(private_pem)
        if mode == "signed"
        else delivery.Delivery(settings(mode), presign=lambda key: key)
    )
    upload_id = str(uuid.uuid4())
    sign = made.signer(record(upload_id, ALICE), ALICE)
    for key in (f"{uuid.uuid4()}/large.jpg", f"{upload_id}-x/large.jpg", "index.html"):
        with pytest.raises(delivery.DeliveryRefused):
            sign(key)


def test_the_signing_key_is_loaded_once_and_only_when_first_needed(private_pem: bytes) -> None:
    loads: list[int] = []

    def load() -> delivery.Signer:
        loads.append(1)
        return delivery.rsa_sha1_signer(private_pem)

    made = delivery.Delivery(
        settings("signed"), presign=_no_presign, load_signer=load, now=lambda: NOW
    )
    assert loads == []
    upload_id = str(uuid.uuid4())
    made.url(f"{upload_id}/a.jpg")
    made.url(f"{upload_id}/b.jpg")
    assert loads == [1]


def test_a_non_rsa_signing_key_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="RSA"):
        delivery.rsa_sha1_signer(pem)


@pytest.mark.parametrize(
    ("mode", "missing"),
    [("public", "base_url"), ("signed", "base_url"), ("signed", "key_pair_id"), ("bogus", None)],
)
def test_an_incomplete_mode_is_refused(mode: str, missing: str | None) -> None:
    broken = settings("signed" if mode == "bogus" else mode)
    broken = delivery.DeliverySettings(
        **{**broken.__dict__, "mode": mode, **({missing: None} if missing else {})}
    )
    with pytest.raises(ValueError, match=r"mode|needs"):
        delivery.Delivery(broken, presign=_no_presign, load_signer=lambda: _no_signer)


def _no_signer(message: bytes) -> bytes:
    raise AssertionError("no signature expected")


def test_the_page_config_names_the_mode_and_lifetime() -> None:
    assert settings("signed", 900).page_config() == {"mode": "signed", "ttl_seconds": 900}
    assert settings("public", None).page_config() == {"mode": "public", "ttl_seconds": None}


# -- configuration ------------------------------------------------------------------------


def test_config_defaults_to_presigned_with_the_download_lifetime() -> None:
    config = api_config.load_config(API_ENV)
    assert config.delivery == delivery.DeliverySettings(mode="presigned", ttl_seconds=300)


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DELIVERY_MODE": "cdn"}, "DELIVERY_MODE"),
        ({"DELIVERY_MODE": "public"}, "DELIVERY_BASE_URL"),
        (
            {"DELIVERY_MODE": "public", "DELIVERY_BASE_URL": "d1.cloudfront.net"},
            "DELIVERY_BASE_URL",
        ),
        ({"DELIVERY_MODE": "signed", "DELIVERY_BASE_URL": BASE}, "DELIVERY_KEY_PAIR_ID"),
        (
            {"DELIVERY_MODE": "signed", "DELIVERY_BASE_URL": BASE, "DELIVERY_KEY_PAIR_ID": "K1"},
            "DELIVERY_PRIVATE_KEY_PARAMETER",
        ),
        (
            {
                "DELIVERY_MODE": "signed",
                "DELIVERY_BASE_URL": BASE,
                "DELIVERY_KEY_PAIR_ID": "K1",
                "DELIVERY_PRIVATE_KEY_PARAMETER": "/p",
                "DELIVERY_TTL_SECONDS": "59",
            },
            "DELIVERY_TTL_SECONDS",
        ),
    ],
)
def test_config_names_the_variable_a_mode_lacks(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(api_config.ConfigError, match=variable):
        api_config.load_config({**API_ENV, **overrides})


# -- through the handler (moto) -----------------------------------------------------------


def _done(uploads: Any, upload_id: str, owner: str | None) -> None:
    from datetime import UTC, datetime

    from common import records

    item = records.new_item(upload_id, owner, "a.jpg", "image/jpeg", 10, datetime.now(UTC), 30)
    item.update(
        status="done",
        variants=[
            {
                "name": "large",
                "key": f"{upload_id}/large.jpg",
                "width": 4,
                "height": 2,
                "contentType": "image/jpeg",
                "bytes": 321,
            }
        ],
        error=None,
    )
    assert uploads.create(item)


def _status(api: Any, context: Any, upload_id: str) -> dict[str, Any]:
    response = api.handler(api_event("api_get_upload", upload_id=upload_id), context)
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])


def test_the_handler_answers_public_distribution_urls(load_api, uploads, lambda_context) -> None:
    api = load_api(DELIVERY_MODE="public", DELIVERY_BASE_URL=BASE + "/")
    upload_id = str(uuid.uuid4())
    _done(uploads, upload_id, None)
    body = _status(api, lambda_context, upload_id)
    assert [v["sources"][0]["url"] for v in body["variants"]] == [f"{BASE}/{upload_id}/large.jpg"]


def test_the_handler_signs_with_the_key_from_ssm(
    load_api, uploads, lambda_context, private_key, private_pem
) -> None:
    import boto3

    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/sip/cdn-signing/a", Value=private_pem.decode(), Type="SecureString"
    )
    api = load_api(
        DELIVERY_MODE="signed",
        DELIVERY_BASE_URL=BASE,
        DELIVERY_KEY_PAIR_ID=KEY_PAIR_ID,
        DELIVERY_PRIVATE_KEY_PARAMETER="/sip/cdn-signing/a",
        DELIVERY_TTL_SECONDS="600",
    )
    upload_id = str(uuid.uuid4())
    _done(uploads, upload_id, None)

    (variant,) = _status(api, lambda_context, upload_id)["variants"]

    expires = int(parse_qs(urlsplit(variant["sources"][0]["url"]).query)["Expires"][0])
    assert verify_as_cloudfront(
        variant["sources"][0]["url"], private_key.public_key(), expires - 600
    ) == (f"{BASE}/{upload_id}/large.jpg")
