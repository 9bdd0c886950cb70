"""tools/smoke.py's checks of processed images on the distribution (only a real deployment can
pass them): against canned answers, no network. Each passes on AWS's answers and fails
clearly on the answer a misconfiguration would give."""

from __future__ import annotations

from typing import Any

import pytest

from tools import smoke

pytestmark = pytest.mark.unit

EDGE = "https://d111111abcdef8.cloudfront.net"
UPLOAD = "0469cb81-9123-4f5a-8013-1efeca9d557f"
KEY = f"{UPLOAD}/large.jpg"
SIGNED = f"{EDGE}/{KEY}?Expires=1800000060&Signature=abc~_-&Key-Pair-Id=K2JCJMDEHXQW5F"
DIRECT = f"https://sip-output-t1.s3.eu-west-1.amazonaws.com/{KEY}"
OUTPUTS = {
    "api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1",
    "web_url": f"{EDGE}/",
    "output_bucket": "sip-output-t1",
    "region": "eu-west-1",
    "image_delivery": {"mode": "signed", "ttl_seconds": 3600},
}
EDGE_HEADERS = {
    "Content-Type": "image/jpeg",
    "Cache-Control": "public, max-age=31536000, immutable",
    "Via": "1.1 abc.cloudfront.net (CloudFront)",
}


class Answer:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}


def answering(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Answer]) -> list[str]:
    asked: list[str] = []

    def get(url: str, **_: Any) -> Answer:
        asked.append(url)
        return answers[url]

    monkeypatch.setattr(smoke.requests, "get", get)
    return asked


def smoke_with_a_done_upload(url: str = SIGNED) -> smoke.Smoke:
    check = smoke.Smoke(OUTPUTS, timeout=1)
    check.done_id = UPLOAD
    check.done_variants = [
        {
            "name": "large",
            "width": 4,
            "height": 2,
            "sources": [{"format": "jpeg", "type": "image/jpeg", "url": url, "bytes": 321}],
        }
    ]
    return check


def signed_variants(url: str) -> dict[str, Answer]:
    return {
        url.split("?")[0]: Answer(403),
        url.replace("Expires=1800000060", "Expires=1800086460"): Answer(403),
        url.replace("Expires=1800000060", "Expires=1"): Answer(403),
    }


def test_a_signed_deployment_passes_the_image_checks(monkeypatch) -> None:
    asked = answering(
        monkeypatch,
        {SIGNED: Answer(200, EDGE_HEADERS), DIRECT: Answer(403), **signed_variants(SIGNED)},
    )
    check = smoke_with_a_done_upload()

    check.variants_on_the_edge()
    check.outputs_are_private()
    check.refuses_unsigned()

    assert asked[:2] == [SIGNED, DIRECT]
    assert len(asked) == 5


def test_signed_urls_prove_the_apis_key_read_and_name_the_vpc(monkeypatch) -> None:
    answering(monkeypatch, {SIGNED: Answer(200, EDGE_HEADERS)})
    check = smoke_with_a_done_upload()
    check.outputs = {
        **OUTPUTS,
        "vpc_id": "vpc-0123456789abcdef0",
        "image_delivery": {**OUTPUTS["image_delivery"], "signing_key_parameter": "/sip/is/a"},
    }
    detail = check.signed_with_the_key()
    assert "key pair K2JCJMDEHXQW5F" in detail
    assert "read /sip/is/a from SSM inside vpc-0123456789abcdef0" in detail


def test_an_unsigned_url_in_signed_mode_fails_the_key_check(monkeypatch) -> None:
    answering(monkeypatch, {})
    check = smoke_with_a_done_upload(SIGNED.split("?")[0])
    with pytest.raises(smoke.SmokeFailed, match="lacks Expires, Signature, Key-Pair-Id"):
        check.signed_with_the_key()


@pytest.mark.parametrize(
    ("method", "answers", "problem"),
    [
        ("variants_on_the_edge", {SIGNED: Answer(403, EDGE_HEADERS)}, "GET https://"),
        (
            "variants_on_the_edge",
            {SIGNED: Answer(200, {**EDGE_HEADERS, "Content-Type": "binary/octet-stream"})},
            "Content-Type",
        ),
        (
            "variants_on_the_edge",
            {SIGNED: Answer(200, {**EDGE_HEADERS, "Cache-Control": "no-cache"})},
            "Cache-Control",
        ),
        ("outputs_are_private", {DIRECT: Answer(200)}, "anonymous GET"),
        ("signed_with_the_key", {SIGNED: Answer(403)}, "the key group does not trust"),
        (
            "refuses_unsigned",
            {**signed_variants(SIGNED), SIGNED.split("?")[0]: Answer(200)},
            r"answered \[200, 403, 403\]",
        ),
    ],
)
def test_each_image_check_fails_clearly(monkeypatch, method: str, answers: dict, problem: str):
    answering(monkeypatch, answers)

    with pytest.raises(smoke.SmokeFailed, match=problem):
        getattr(smoke_with_a_done_upload(), method)()


def test_a_variant_off_the_distribution_fails(monkeypatch) -> None:
    answering(monkeypatch, {})
    check = smoke_with_a_done_upload(f"https://sip-output-t1.s3.amazonaws.com/{KEY}")
    with pytest.raises(smoke.SmokeFailed, match=r"is not on d111111abcdef8\.cloudfront\.net"):
        check.variants_on_the_edge()


class FakeApi:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete(self, upload_id: str) -> Answer:
        self.deleted.append(upload_id)
        return Answer(204)


def test_after_delete_the_edge_must_stop_serving(monkeypatch) -> None:
    asked = answering(monkeypatch, {SIGNED: Answer(403)})
    check = smoke_with_a_done_upload()
    check.api = FakeApi()  # type: ignore[assignment]

    assert "answers 403 after DELETE" in check.stops_after_delete()
    assert check.api.deleted == [UPLOAD]  # type: ignore[attr-defined]
    assert asked == [SIGNED]


def test_a_url_still_served_past_the_timeout_fails(monkeypatch) -> None:
    answering(monkeypatch, {SIGNED: Answer(200)})
    check = smoke_with_a_done_upload()
    check.timeout = 0
    check.api = FakeApi()  # type: ignore[assignment]
    with pytest.raises(smoke.SmokeFailed, match="still 200"):
        check.stops_after_delete()
