"""tools/smoke.py's preflight check and its round-trip figures, against canned answers (no
network): a deployment's preflight must allow the page's origin for 2 h."""

from __future__ import annotations

from typing import Any

import pytest

from tools import smoke

pytestmark = pytest.mark.unit

OUTPUTS = {
    "api_url": "https://abc123.execute-api.eu-west-1.amazonaws.com/v1",
    "web_url": "https://d111111abcdef8.cloudfront.net/",
}
ORIGIN = "https://d111111abcdef8.cloudfront.net"


class Answer:
    def __init__(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        self.headers = headers or {}

    def close(self) -> None:
        return None


def preflight_answers(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> list[dict[str, str]]:
    asked: list[dict[str, str]] = []

    def options(url: str, headers: dict[str, str], **_: Any) -> Answer:
        assert url == f"{OUTPUTS['api_url']}/uploads"
        asked.append(headers)
        return answer

    monkeypatch.setattr(smoke.requests, "options", options)
    return asked


def test_a_preflight_for_the_page_reusable_for_two_hours_passes(monkeypatch) -> None:
    asked = preflight_answers(
        monkeypatch,
        Answer(204, {"Access-Control-Allow-Origin": ORIGIN, "Access-Control-Max-Age": "7200"}),
    )
    detail = smoke.Smoke(OUTPUTS, timeout=1).preflight_is_reusable()
    assert detail == f"OPTIONS /uploads from {ORIGIN}: Max-Age 7200"
    assert asked == [
        {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        }
    ]


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"Access-Control-Allow-Origin": ORIGIN, "Access-Control-Max-Age": "600"}, "Max-Age"),
        ({"Access-Control-Allow-Origin": ORIGIN}, "Max-Age is None"),
        ({"Access-Control-Max-Age": "7200"}, "allows None"),
        (
            {
                "Access-Control-Allow-Origin": "https://other.example",
                "Access-Control-Max-Age": "7200",
            },
            "allows",
        ),
    ],
)
def test_a_short_or_missing_grant_fails(monkeypatch, headers, problem) -> None:
    preflight_answers(monkeypatch, Answer(204, headers))
    with pytest.raises(smoke.SmokeFailed, match=problem):
        smoke.Smoke(OUTPUTS, timeout=1).preflight_is_reusable()


def test_round_trips_time_a_new_then_reused_connection_to_each_host(monkeypatch) -> None:
    sessions: list[list[tuple[str, str]]] = []

    class Session:
        def __init__(self) -> None:
            self.asked: list[tuple[str, str]] = []
            sessions.append(self.asked)

        def __enter__(self) -> Session:
            return self

        def __exit__(self, *_: object) -> None:
            return None

        def request(self, method: str, url: str, **_: Any) -> Answer:
            self.asked.append((method, url))
            return Answer(200)

    monkeypatch.setattr(smoke.requests, "Session", Session)
    detail = smoke.Smoke(OUTPUTS, timeout=1).round_trips()
    api, page = detail.split("; ")
    assert api.startswith("API ")
    assert page.startswith("page ")
    assert detail.count("reused") == 2
    assert [set(asked) for asked in sessions] == [
        {("OPTIONS", f"{OUTPUTS['api_url']}/uploads")},
        {("HEAD", OUTPUTS["web_url"])},
    ]
    assert [len(asked) for asked in sessions] == [1 + smoke.ROUND_TRIP_SAMPLES] * 2
