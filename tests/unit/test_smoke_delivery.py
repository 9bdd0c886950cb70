"""tools/smoke.py's CloudFront checks (headers, HTTPS redirect, private bucket), which only a
real deployment can pass: here against canned answers, no network."""

from __future__ import annotations

from typing import Any

import pytest

from tools import smoke

pytestmark = pytest.mark.unit

OUTPUTS = {
    "api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1",
    "web_url": "https://d111111abcdef8.cloudfront.net/",
    "web_bucket": "sip-web-t1",
    "web_delivery": "cloudfront",
    "region": "eu-west-1",  # the regional host: a global-host read is redirected outside us-east-1
}
GOOD_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
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


def test_a_cloudfront_deployment_passes_the_three_checks(monkeypatch) -> None:
    asked = answering(
        monkeypatch,
        {
            OUTPUTS["web_url"]: Answer(200, GOOD_HEADERS),
            "http://d111111abcdef8.cloudfront.net/": Answer(
                301, {"Location": "https://d111111abcdef8.cloudfront.net/"}
            ),
            "https://sip-web-t1.s3.eu-west-1.amazonaws.com/index.html": Answer(403),
        },
    )
    check = smoke.Smoke(OUTPUTS, timeout=1)

    check.security_headers()
    check.redirects_to_https()
    check.bucket_is_private()

    assert len(asked) == 3


@pytest.mark.parametrize(
    ("method", "answers", "problem"),
    [
        ("security_headers", {OUTPUTS["web_url"]: Answer(200, {})}, "missing headers"),
        (
            "redirects_to_https",
            {"http://d111111abcdef8.cloudfront.net/": Answer(200)},
            "GET http://",
        ),
        (
            "bucket_is_private",
            {"https://sip-web-t1.s3.eu-west-1.amazonaws.com/index.html": Answer(200)},
            "anonymous GET",
        ),
    ],
)
def test_each_check_fails_clearly(monkeypatch, method: str, answers: dict, problem: str) -> None:
    answering(monkeypatch, answers)

    with pytest.raises(smoke.SmokeFailed, match=problem):
        getattr(smoke.Smoke(OUTPUTS, timeout=1), method)()
