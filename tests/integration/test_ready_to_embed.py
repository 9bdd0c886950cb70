"""Ready to embed, on the real stack (the emulator's S3 serves the URLs: mode ``presigned``).

One photo through the deployed pipeline with variables.tf's default variants. The status gives
per size its sources (one per configured format, in preference order), per format a
``srcset`` and a complete ``<picture>``; every URL in them serves exactly the bytes and type the
status names; the stored objects carry the immutable ``Cache-Control`` and keys with the
fingerprint the manifest and the record store.
"""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from PIL import Image

from support import images

pytestmark = pytest.mark.integration

PROCESSING_TIMEOUT_SECONDS = 60
IMMUTABLE = "public, max-age=31536000, immutable"
SOURCE = (1600, 1200)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


@pytest.fixture(scope="module")
def configured(local_stack_outputs: dict[str, Any]) -> list[dict[str, Any]]:
    config = requests.get(
        local_stack_outputs["web_url"].replace("index.html", "config.json"), timeout=30
    ).json()
    return config["variants"]


@pytest.fixture(scope="module")
def done(api) -> dict[str, Any]:
    upload_id = api.upload(images.photo_bytes(SOURCE), "image/jpeg", filename="photo.jpg")
    status = api.wait_for_final(upload_id, timeout=PROCESSING_TIMEOUT_SECONDS)
    assert status["status"] == "done", status
    return status


def test_each_size_has_one_source_per_configured_format(done, configured) -> None:
    assert [v["name"] for v in done["variants"]] == [c["name"] for c in configured]
    for variant, rule in zip(done["variants"], configured, strict=True):
        assert [s["format"] for s in variant["sources"]] == rule["formats"]
        assert variant["width"] == min(rule["maxEdge"], SOURCE[0])
        for source in variant["sources"]:
            response = requests.get(source["url"], timeout=30)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == source["type"]
            assert len(response.content) == source["bytes"]
            with Image.open(io.BytesIO(response.content)) as image:
                assert image.size == (variant["width"], variant["height"])
                assert image.format.lower() == source["format"]


def test_the_stored_objects_are_immutable_and_keyed_by_their_fingerprint(
    done, s3, local_stack_outputs, dynamodb
) -> None:
    bucket = local_stack_outputs["output_bucket"]
    upload_id = done["id"]
    manifest = json.loads(
        s3.get_object(Bucket=bucket, Key=f"{upload_id}/manifest.json")["Body"].read()
    )
    stored = [source for size in manifest["variants"] for source in size["sources"]]
    assert len(stored) == sum(len(v["sources"]) for v in done["variants"])
    for source in stored:
        assert re.fullmatch(
            rf"{upload_id}/[a-z0-9_-]+\.{source['fingerprint']}\.[a-z]+", source["key"]
        )
        head = s3.head_object(Bucket=bucket, Key=source["key"])
        assert head["CacheControl"] == IMMUTABLE
        assert head["ContentType"] == source["type"]
        assert head["ContentLength"] == source["bytes"]
    record = dynamodb.get_item(
        TableName=local_stack_outputs["uploads_table"], Key={"id": {"S": upload_id}}
    )["Item"]
    recorded = [
        (s["M"]["key"]["S"], s["M"]["fingerprint"]["S"])
        for size in record["variants"]["L"]
        for s in size["M"]["sources"]["L"]
    ]
    assert recorded == [(s["key"], s["fingerprint"]) for s in stored]


def test_srcset_and_picture_snippet(done) -> None:
    by_type = {entry["type"]: entry["srcset"] for entry in done["srcset"]}
    types = {source["type"] for v in done["variants"] for source in v["sources"]}
    widths = {
        kind: sorted(
            {v["width"] for v in done["variants"] if any(s["type"] == kind for s in v["sources"])}
        )
        for kind in types
    }
    assert set(by_type) == types
    for kind, srcset in by_type.items():
        candidates = [item.rsplit(" ", 1) for item in srcset.split(", ")]
        assert sorted(int(w[:-1]) for _, w in candidates) == widths[kind]
        for url, _ in candidates:
            assert requests.get(url, timeout=30).headers["Content-Type"] == kind

    tags = parse(done["picture"])
    assert tags[0][0] == "picture"
    assert tags[-1][0] == "img"
    largest = max(done["variants"], key=lambda v: v["width"])
    img = tags[-1][1]
    assert (img["width"], img["height"]) == (str(largest["width"]), str(largest["height"]))
    assert (img["loading"], img["decoding"], img["alt"]) == ("lazy", "async", "")
    assert img["src"] == largest["sources"][-1]["url"]
    assert requests.get(img["src"], timeout=30).status_code == 200
    offered = [attrs["type"] for tag, attrs in tags if tag == "source"]
    preference = list(dict.fromkeys(s["type"] for v in done["variants"] for s in v["sources"]))
    assert offered == [t for t in preference if t != largest["sources"][-1]["type"]]
