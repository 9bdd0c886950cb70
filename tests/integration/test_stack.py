"""The real stack applied with Terraform (through tftest) on the emulator, with real images.

`local_stack_outputs` (tests/support/stacks.py) applies the root configuration once per run and
destroys it at the end, checking that nothing is left behind.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import requests
from PIL import Image

from support import images, second_plan

pytestmark = pytest.mark.integration

PROCESSING_TIMEOUT_SECONDS = 60


def upload(api, body: bytes, content_type: str) -> str:
    return api.upload(body, content_type, filename="photo.jpg")


def wait_for_result(api, upload_id: str) -> dict[str, Any]:
    return api.wait_for_final(upload_id, timeout=PROCESSING_TIMEOUT_SECONDS)


def photo_jpeg(width: int, height: int) -> bytes:
    return images.photo_bytes((width, height))


@pytest.fixture(scope="module")
def configured_variants(local_stack_outputs: dict[str, Any]) -> list[dict[str, Any]]:
    config = requests.get(
        local_stack_outputs["web_url"].replace("index.html", "config.json"), timeout=30
    ).json()
    return config["variants"]


def test_second_plan_shows_no_changes(local_stack_deployment):
    assert second_plan.real_changes(local_stack_deployment) == {}


def test_the_page_and_its_config_are_served(local_stack_outputs):
    page = requests.get(local_stack_outputs["web_url"], timeout=30)
    config = requests.get(
        local_stack_outputs["web_url"].replace("index.html", "config.json"), timeout=30
    )

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert config.status_code == 200
    assert config.json()["apiUrl"] == local_stack_outputs["api_url"]


def test_a_jpeg_goes_through_the_whole_pipeline(api, configured_variants):
    upload_id = upload(api, photo_jpeg(2400, 1600), "image/jpeg")

    status = wait_for_result(api, upload_id)

    assert status["status"] == "done", status
    assert status["error"] is None
    by_name = {variant["name"]: variant for variant in status["variants"]}
    assert set(by_name) == {variant["name"] for variant in configured_variants}
    for configured in configured_variants:
        variant = by_name[configured["name"]]
        assert [s["format"] for s in variant["sources"]] == configured["formats"]
        for source in variant["sources"]:
            downloaded = requests.get(source["url"], timeout=30)
            assert downloaded.status_code == 200
            assert len(downloaded.content) == source["bytes"]
            image = Image.open(io.BytesIO(downloaded.content))
            image.load()
            expected_long_edge = min(configured["maxEdge"], 2400)
            assert image.size == (expected_long_edge, round(expected_long_edge * 1600 / 2400))
            assert (variant["width"], variant["height"]) == image.size
            assert downloaded.headers["Content-Type"] == source["type"]
            assert image.format.lower() == source["format"]


def test_a_non_image_is_rejected(api):
    upload_id = upload(api, b"this is plain text, not a photo" * 10, "image/jpeg")

    status = wait_for_result(api, upload_id)

    assert status["status"] == "rejected", status
    assert status["variants"] == []
    assert status["error"]["code"] == "not_an_image"
    assert status["error"]["message"]


def test_the_processor_never_writes_to_the_upload_bucket(aws_client, local_stack_outputs, api):
    upload_id = upload(api, photo_jpeg(640, 480), "image/jpeg")
    assert wait_for_result(api, upload_id)["status"] == "done"

    keys = [
        item["Key"]
        for item in aws_client("s3")
        .list_objects_v2(Bucket=local_stack_outputs["upload_bucket"])
        .get("Contents", [])
    ]
    assert all(key.startswith("uploads/") for key in keys), keys
    assert f"uploads/{upload_id}" in keys


def test_the_manifest_is_written_last_and_lists_every_output(aws_client, local_stack_outputs, api):
    upload_id = upload(api, photo_jpeg(800, 600), "image/jpeg")
    assert wait_for_result(api, upload_id)["status"] == "done"
    s3 = aws_client("s3")
    bucket = local_stack_outputs["output_bucket"]

    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=f"{upload_id}/manifest.json")["Body"].read()
    )
    listed = {
        item["Key"]
        for item in s3.list_objects_v2(Bucket=bucket, Prefix=f"{upload_id}/")["Contents"]
    }

    assert listed == {f"{upload_id}/manifest.json"} | {
        source["key"] for variant in manifest["variants"] for source in variant["sources"]
    }
