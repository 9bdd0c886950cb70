"""HEIC and AVIF through the whole pipeline on the local stack (the shared applied stack):
presign, PUT, processor, status. Variants come back upright and metadata-free, AVIF among
them, and the status, the record and the manifest carry the placeholder."""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest
import requests
from PIL import Image, ImageChops, ImageStat

from processor import imaging
from support import images

PROCESSING_TIMEOUT_SECONDS = 90


def psnr(a: Image.Image, b: Image.Image) -> float:
    assert a.size == b.size, (a.size, b.size)
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(value * value for value in ImageStat.Stat(diff).rms) / 3
    return math.inf if mse == 0 else 10 * math.log10(255 * 255 / mse)


@pytest.fixture(scope="module")
def configured_variants(local_stack_outputs: dict[str, Any]) -> list[dict[str, Any]]:
    config = requests.get(
        local_stack_outputs["web_url"].replace("index.html", "config.json"), timeout=30
    ).json()
    return config["variants"]


CASES = [
    # an iPhone-like HEIC: stored sideways, irot says turn it (libheif applies it)
    ("heic-photo", lambda: images.oriented_heif(images.HEIC_PHOTO, 6), "image/heic", "p.heic"),
    # a real AVIF stored rotated with irot (Pillow reports it as EXIF orientation 6)
    ("avif-rotated", lambda: images.corpus(images.AVIF_ROTATE90), "image/avif", "k.avif"),
]


@pytest.mark.parametrize(
    ("case", "build", "content_type", "filename"), CASES, ids=[c[0] for c in CASES]
)
def test_heic_and_avif_go_through_the_pipeline(
    case, build, content_type, filename, api, configured_variants, aws_client, local_stack_outputs
):
    data = build()
    upload_id = api.upload(data, content_type, filename)
    status = api.wait_for_final(upload_id, timeout=PROCESSING_TIMEOUT_SECONDS)
    assert status["status"] == "done", status

    # what the same code gives locally for the same bytes: the variants' expected pixels
    specs = [
        imaging.VariantSpec(v["name"], v["maxEdge"], fmt)
        for v in configured_variants
        for fmt in v["formats"]
    ]
    processed = imaging.process_image(data, specs, imaging.Limits())
    local = {(v.name, v.format): v for v in processed.variants}
    got = {
        (variant["name"], source["format"]): (variant, source)
        for variant in status["variants"]
        for source in variant["sources"]
    }
    assert set(got) == set(local)
    assert "image/avif" in {source["type"] for _, source in got.values()}
    for key, (variant, source) in got.items():
        downloaded = requests.get(source["url"], timeout=30)
        assert downloaded.status_code == 200
        assert downloaded.headers["Content-Type"] == source["type"]
        image = Image.open(io.BytesIO(downloaded.content))
        image.load()
        assert (
            (variant["width"], variant["height"])
            == image.size
            == (local[key].width, local[key].height)
        )
        expected = Image.open(io.BytesIO(local[key].data))
        assert psnr(image, expected) > 30, key  # a turned or mirrored image scores ~12-16
        assert not {"exif", "xmp", "icc_profile", "XML:com.adobe.xmp"} & set(image.info)
        assert not image.getexif()

    placeholder = status["placeholder"]
    assert set(placeholder) == {"thumbhash", "color", "aspectRatio"}
    assert placeholder == processed.placeholder.as_json()  # upright: same as the local result
    assert (processed.source.width > processed.source.height) == (case == "heic-photo")
    assert placeholder["color"].startswith("#")
    assert len(placeholder["thumbhash"]) >= 20

    manifest = json.loads(
        aws_client("s3")
        .get_object(Bucket=local_stack_outputs["output_bucket"], Key=f"{upload_id}/manifest.json")[
            "Body"
        ]
        .read()
    )
    assert manifest["placeholder"] == placeholder  # the status answers from the record


def test_a_truncated_heic_is_rejected(api):
    data = images.corpus(images.HEIC_PHOTO)
    upload_id = api.upload(data[: len(data) // 2], "image/heic", "cut.heic")
    status = api.wait_for_final(upload_id, timeout=PROCESSING_TIMEOUT_SECONDS)
    assert status["status"] == "rejected", status
    assert status["error"]["code"] == "truncated_image"
    assert "placeholder" not in status
