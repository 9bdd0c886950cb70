"""The status body's sizes, srcsets and ``<picture>`` snippets (api/core.py, api/embed.py).

The snippets are parsed back with the standard library's HTML parser: what a browser reads
(attribute values, unescaped) must be exactly the URLs and sizes of the record.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from api import core as api_core
from api import embed

pytestmark = pytest.mark.unit

UPLOAD_ID = "0b0e6f0c-6a58-4b8e-9a53-3f1f4c0c2a11"
POLICY = api_core.RetryPolicy(attempts=3, window_seconds=420)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def source(size: str, fmt: str, ext: str, kind: str, n: int) -> dict[str, Any]:
    return {
        "format": fmt,
        "type": kind,
        "key": f"{UPLOAD_ID}/{size}.0123456789ab.{ext}",
        "bytes": n,
        "fingerprint": "0123456789ab",
    }


RECORD = {
    "id": UPLOAD_ID,
    "status": "done",
    "variants": [
        {
            "name": "large",
            "width": 1024,
            "height": 683,
            "sources": [
                source("large", "avif", "avif", "image/avif", 90_000),
                source("large", "jpeg", "jpg", "image/jpeg", 160_000),
            ],
        },
        {
            "name": "medium",
            "width": 512,
            "height": 342,
            "sources": [
                source("medium", "avif", "avif", "image/avif", 30_000),
                source("medium", "jpeg", "jpg", "image/jpeg", 45_000),
            ],
        },
        {
            "name": "thumb",
            "width": 128,
            "height": 85,
            "sources": [
                source("thumb", "webp", "webp", "image/webp", 3_000),
                source("thumb", "jpeg", "jpg", "image/jpeg", 4_000),
            ],
        },
    ],
    "placeholder": None,
    "error": None,
}


def sign(key: str) -> str:  # like a presigned URL: a query with & and characters to escape
    return f"https://cdn.example/{key}?X-Amz-Signature=a%2Fb&X-Amz-Expires=300&p=1,2"


def status_body() -> dict[str, Any]:
    return api_core.record_status_body(RECORD, NOW, POLICY, 60, sign)


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parsed(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(html)
    parser.close()
    return parser.tags


def test_each_size_has_its_sources_in_preference_order() -> None:
    body = status_body()
    assert [v["name"] for v in body["variants"]] == ["large", "medium", "thumb"]
    large = body["variants"][0]
    assert (large["width"], large["height"]) == (1024, 683)
    assert large["sources"] == [
        {
            "format": "avif",
            "type": "image/avif",
            "animated": False,  # records without frames: stills
            "url": sign(f"{UPLOAD_ID}/large.0123456789ab.avif"),
            "bytes": 90_000,
        },
        {
            "format": "jpeg",
            "type": "image/jpeg",
            "animated": False,  # records without frames: stills
            "url": sign(f"{UPLOAD_ID}/large.0123456789ab.jpg"),
            "bytes": 160_000,
        },
    ]


def test_one_srcset_per_format_across_the_sizes_that_have_it() -> None:
    body = status_body()
    url = sign(f"{UPLOAD_ID}/x").replace(",", "%2C")  # a comma would split a candidate
    assert [entry["type"] for entry in body["srcset"]] == ["image/avif", "image/jpeg", "image/webp"]
    sets = {entry["type"]: entry["srcset"] for entry in body["srcset"]}
    assert sets["image/jpeg"] == ", ".join(
        f"{url.replace('/x', f'/{name}.0123456789ab.jpg')} {w}w"
        for name, w in (("thumb", 128), ("medium", 512), ("large", 1024))
    )
    assert sets["image/webp"].endswith(" 128w")
    assert sets["image/webp"].count("w,") == 0


def test_the_picture_snippet_lets_the_browser_pick_format_and_size() -> None:
    body = status_body()
    tags = parsed(body["picture"])
    assert [tag for tag, _ in tags] == ["picture", "source", "source", "img"]
    sources = [attrs for tag, attrs in tags if tag == "source"]
    assert [s["type"] for s in sources] == ["image/avif", "image/webp"]  # preference order
    sets = {entry["type"]: entry["srcset"] for entry in body["srcset"]}
    assert [s["srcset"] for s in sources] == [sets["image/avif"], sets["image/webp"]]
    img = tags[-1][1]
    assert img["src"] == sign(f"{UPLOAD_ID}/large.0123456789ab.jpg")  # unescaped exactly
    assert img["srcset"] == sets["image/jpeg"]
    assert (img["width"], img["height"]) == ("1024", "683")
    assert img["loading"] == "lazy"
    assert img["decoding"] == "async"
    assert img["alt"] == ""
    assert all(a["sizes"] == "(max-width: 1024px) 100vw, 1024px" for _, a in tags[1:])
    assert "&amp;" in body["picture"]
    assert "&X" not in body["picture"]


def test_each_size_has_a_fixed_size_picture() -> None:
    thumb = status_body()["variants"][2]
    tags = parsed(thumb["picture"])
    assert [(tag, attrs.get("type")) for tag, attrs in tags] == [
        ("picture", None),
        ("source", "image/webp"),
        ("img", None),
    ]
    assert tags[-1][1]["src"] == thumb["sources"][-1]["url"]
    assert (tags[-1][1]["width"], tags[-1][1]["height"]) == ("128", "85")


def test_sizes_as_wide_as_a_small_original_give_one_candidate_per_width() -> None:
    variants = [
        {"name": n, "width": 300, "height": 200, "sources": [{"type": "image/jpeg", "url": n}]}
        for n in ("large", "medium")
    ]
    assert embed.srcsets(variants) == [{"type": "image/jpeg", "srcset": "large 300w"}]


def test_not_done_bodies_have_no_snippet_and_rejected_no_variants() -> None:
    rejected = {**RECORD, "status": "rejected", "error": {"code": "not_an_image", "message": "x"}}
    body = api_core.record_status_body(rejected, NOW, POLICY, 60, sign)
    assert body["variants"] == []
    assert "picture" not in body
    assert embed.picture_html([]) is None
