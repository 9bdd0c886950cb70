"""The S3 client both functions use: SigV4, standard retries, regional virtual-host URLs.

Without a custom endpoint, ``addressing_style="virtual"`` makes botocore presign
``https://<bucket>.s3.<region>.amazonaws.com/...`` (the regional host, so a new bucket outside
us-east-1 does not answer the browser with a redirect) and ``us_east_1_regional_endpoint`` keeps
us-east-1 on that shape too (botocore's default there is the global ``<bucket>.s3.amazonaws.com``,
which the page's Content-Security-Policy, built from the same rule in main.tf, does not admit;
tests/terraform/test_csp_regions.py checks both against each other). With ``AWS_ENDPOINT_URL`` (the local
emulator on 127.0.0.1) the SDK's default keeps path-style URLs. SigV4 is required: SigV2
presigned URLs bind neither ``Content-Length`` nor ``If-None-Match``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from botocore.config import Config

RETRIES = {"mode": "standard", "max_attempts": 3}


def client_config(environ: Mapping[str, str]) -> Config:
    custom_endpoint = environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL")
    s3_options = (
        {}
        if custom_endpoint
        else {"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
    )
    return Config(signature_version="s3v4", s3=s3_options, retries=RETRIES)


def make_client(environ: Mapping[str, str] | None = None) -> Any:
    """A boto3 S3 client for the function's region (boto3 imported here, not at module load)."""
    import boto3

    environ = os.environ if environ is None else environ
    return boto3.client("s3", region_name=environ.get("AWS_REGION"), config=client_config(environ))
