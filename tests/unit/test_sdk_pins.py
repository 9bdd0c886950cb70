"""The SDK the functions ship is the SDK the tests use, and it signs what the API promises.

Both functions load boto3/botocore from their own layer (``lambda_src/requirements-sdk-layer.txt``,
vendored by build.sh), never from the Lambda runtime, whose bundled SDK lags behind (runtime
SDKs older than botocore 1.35 reject PutObject's ``IfNoneMatch``, which would fail every
``POST /uploads``). The local Lambda interpreter deliberately carries such an older SDK, so the
emulator tiers prove the layer is what the functions really import.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import boto3
import botocore

from api.config import load_config
from api.storage import S3Storage
from common import s3_client

REPO = Path(__file__).resolve().parents[2]


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            found[name.strip().lower()] = version.strip()
    return found


def test_the_layer_pins_the_sdk_the_tests_run_with() -> None:
    layer = pins(REPO / "lambda_src" / "requirements-sdk-layer.txt")
    dev = pins(REPO / "requirements" / "dev.txt")
    assert {name: dev.get(name) for name in layer} == layer
    assert (boto3.__version__, botocore.__version__) == (layer["boto3"], layer["botocore"])


def test_the_local_runtime_sdk_is_older_than_the_layer() -> None:
    """Otherwise the emulator could not tell the layer's SDK from the runtime's."""
    runtime = pins(REPO / "local" / "requirements-lambda-runtime.txt")
    layer = pins(REPO / "lambda_src" / "requirements-sdk-layer.txt")
    version = lambda text: tuple(int(part) for part in text.split("."))  # noqa: E731
    assert version(runtime["botocore"]) < (1, 35) <= version(layer["botocore"])


def test_the_presigned_put_signs_exactly_type_length_host_and_if_none_match() -> None:
    config = load_config(
        {"UPLOAD_BUCKET": "u", "OUTPUT_BUCKET": "o", "ALLOWED_ORIGINS": "*", "UPLOADS_TABLE": "t"}
    )
    client = boto3.client(
        "s3",
        aws_access_key_id="x",
        aws_secret_access_key="y",
        region_name="eu-west-1",
        config=s3_client.client_config({}),
    )
    url = S3Storage(client, config).presign_upload(
        "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "image/png", 1234
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["X-Amz-SignedHeaders"] == ["content-length;content-type;host;if-none-match"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["60"]
