#!/usr/bin/env python3
"""What one variant link costs the API function: a presigned S3 GET (what it does today) or a
CloudFront signed URL (canned policy, RSA-2048 key of a key group), per URL and in length.

    .venv/bin/python bench/url_signing.py [--urls 3000] [--rounds 5]

No network: both are computed locally with fake credentials and a key generated on the spot.
Prints the median over rounds of the mean time per URL; docs/cdn.md quotes a run.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import time
from collections.abc import Callable

import boto3
from botocore.config import Config
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY = "0f8e2c7a-1b2c-4d5e-8f90-123456789abc/large.jpg"


def per_url_microseconds(make: Callable[[], str], urls: int, rounds: int) -> float:
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(urls):
            make()
        results.append((time.perf_counter() - start) / urls * 1e6)
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    s3 = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIAEXAMPLEEXAMPLE00",
        aws_secret_access_key="example-secret",
        config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}),
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = CloudFrontSigner(
        "K2JCJMDEHXQW5F", lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1())
    )
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=300)

    def presigned() -> str:
        return s3.generate_presigned_url(
            "get_object", Params={"Bucket": "sip-output-abc123", "Key": KEY}, ExpiresIn=300
        )

    def signed() -> str:
        return signer.generate_presigned_url(
            f"https://d111111abcdef8.cloudfront.net/{KEY}", date_less_than=expires
        )

    for label, make in (
        ("presigned S3 GET (SigV4)", presigned),
        ("CloudFront signed URL (RSA-2048)", signed),
    ):
        micros = per_url_microseconds(make, args.urls, args.rounds)
        print(f"{label:34} {micros:7.1f} us/url  {len(make()):4d} characters")


if __name__ == "__main__":
    main()
