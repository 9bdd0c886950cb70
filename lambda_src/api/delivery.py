"""Where a variant's bytes are fetched from: the one decision of a variant's URL, per mode.

``DELIVERY_MODE`` (Terraform sets it from ``enable_cdn`` and ``image_access``, docs/cdn.md):

- ``presigned`` (``enable_cdn = false``): a presigned S3 GET of the private output bucket,
  valid ``DOWNLOAD_URL_TTL_SECONDS``.
- ``public``: ``<DELIVERY_BASE_URL>/<key>`` on the distribution (origin access control reads
  the private bucket). Permanent: the key is the upload's unguessable id plus the variant.
- ``signed``: the same URL with a CloudFront canned-policy signature (``Expires``,
  ``Signature``, ``Key-Pair-Id``; RSA-SHA1 with the private key of a public key in the
  distribution's trusted key group), valid at least ``DELIVERY_TTL_SECONDS``.

Every mode hands out URLs only for the viewer's own upload (:meth:`Delivery.signer`): a record
of another owner, or a key outside the upload, raises :class:`DeliveryRefused`.

Pure: the S3 presigner, the RSA signer and the clock are given; nothing here calls AWS.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from common import contract

MODES = ("presigned", "public", "signed")

# Signed URLs' expiry is rounded up to a multiple of this (seconds), so the URLs of one
# upload stay the same string for a minute: a page polling the status reuses the browser's
# cached image instead of downloading it again under a new query string.
EXPIRY_STEP_SECONDS = 60

Signer = Callable[[bytes], bytes]  # the canned policy's bytes -> RSA-SHA1 signature


class DeliveryRefused(Exception):
    """A URL was asked for an upload (or key) the viewer does not own."""


@dataclass(frozen=True)
class DeliverySettings:
    """The ``DELIVERY_*`` environment, parsed (api/config.py)."""

    mode: str
    ttl_seconds: int | None  # presigned and signed: URL lifetime; public: None (permanent)
    base_url: str | None = None  # public, signed: https://<distribution or domain> (no "/")
    key_pair_id: str | None = None  # signed: the CloudFront public key's id
    private_key_parameter: str | None = None  # signed: SSM SecureString holding the PEM

    def page_config(self) -> dict[str, Any]:
        """What the page's ``config.json`` says of the links (``delivery``)."""
        return {"mode": self.mode, "ttl_seconds": self.ttl_seconds}


def object_url(base_url: str, key: str) -> str:
    """The distribution URL of ``key`` (path-safe characters kept, everything else escaped)."""
    return f"{base_url.rstrip('/')}/{quote(key, safe='/-_.~')}"


def canned_policy(resource: str, expires: int) -> bytes:
    """CloudFront's canned policy of a signed URL, byte for byte as CloudFront rebuilds it
    from the request to check the signature (no whitespace)."""
    statement = {"Resource": resource, "Condition": {"DateLessThan": {"AWS:EpochTime": expires}}}
    return json.dumps({"Statement": [statement]}, separators=(",", ":")).encode()


def cloudfront_base64(data: bytes) -> str:
    """CloudFront's URL-safe base64: '+' -> '-', '=' -> '_', '/' -> '~'."""
    encoded = base64.b64encode(data).decode("ascii")
    return encoded.translate(str.maketrans("+=/", "-_~"))


def signature_expiry(now_epoch: float, ttl_seconds: int) -> int:
    """Epoch seconds a signature expires: at least ``ttl_seconds`` from now, rounded up to
    :data:`EXPIRY_STEP_SECONDS` (so at most a step longer)."""
    step = min(EXPIRY_STEP_SECONDS, ttl_seconds)
    return int(math.ceil((now_epoch + ttl_seconds) / step) * step)


def signed_url(url: str, expires: int, key_pair_id: str, sign: Signer) -> str:
    """``url`` with a canned-policy signature valid until ``expires`` (epoch seconds)."""
    signature = cloudfront_base64(sign(canned_policy(url, expires)))
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}Expires={expires}&Signature={signature}&Key-Pair-Id={key_pair_id}"


def rsa_sha1_signer(private_key_pem: bytes) -> Signer:
    """An RSA PKCS#1 v1.5 SHA-1 signer (what CloudFront verifies) over ``private_key_pem``."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the CloudFront signing key must be an RSA private key")
    return lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())


class Delivery:
    """Makes variant URLs for one configured mode."""

    def __init__(
        self,
        settings: DeliverySettings,
        presign: Callable[[str], str],
        load_signer: Callable[[], Signer] | None = None,
        now: Callable[[], float] | None = None,
    ) -> None:
        if settings.mode not in MODES:
            raise ValueError(f"delivery mode must be one of {MODES}, got {settings.mode!r}")
        if settings.mode != "presigned" and not settings.base_url:
            raise ValueError(f"delivery mode {settings.mode!r} needs the distribution's URL")
        if settings.mode == "signed" and (load_signer is None or not settings.key_pair_id):
            raise ValueError("signed delivery needs a key pair id and a signing key")
        self._settings = settings
        self._presign = presign
        self._load_signer = load_signer
        self._sign: Signer | None = None  # loaded at the first signature (cold starts stay cheap)
        self._now = now if now is not None else _epoch_now

    @property
    def mode(self) -> str:
        return self._settings.mode

    def signer(self, record: Mapping[str, Any], viewer: str | None) -> Callable[[str], str]:
        """The URL maker for the variants of ``record``, seen by ``viewer`` (a Cognito ``sub``,
        ``None`` without sign-in). Raises :class:`DeliveryRefused` for another owner's upload;
        the maker refuses any key outside the upload."""
        upload_id = str(record.get("id"))
        if record.get("owner") != viewer and (viewer is not None or self.mode == "signed"):
            raise DeliveryRefused(f"upload {upload_id} is not the viewer's")

        def url(key: str) -> str:
            if not contract.is_key_of(upload_id, key):
                raise DeliveryRefused(f"{key!r} is not a key of upload {upload_id}")
            return self.url(key)

        return url

    def url(self, key: str) -> str:
        """The URL of ``key`` in this mode (callers check ownership: use :meth:`signer`)."""
        settings = self._settings
        if settings.mode == "presigned":
            return self._presign(key)
        assert settings.base_url is not None
        plain = object_url(settings.base_url, key)
        if settings.mode == "public":
            return plain
        assert settings.ttl_seconds is not None
        assert settings.key_pair_id is not None
        expires = signature_expiry(self._now(), settings.ttl_seconds)
        return signed_url(plain, expires, settings.key_pair_id, self._rsa())

    def _rsa(self) -> Signer:
        if self._sign is None:
            assert self._load_signer is not None
            self._sign = self._load_signer()
        return self._sign


def _epoch_now() -> float:
    import time

    return time.time()
