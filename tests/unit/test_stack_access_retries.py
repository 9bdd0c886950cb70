"""tools/stack_access.ApiClient: which answers are retried.

A test must see every 5xx (a crashing function answers 502 once and may succeed on a retry,
which would hide the crash); throttling (429) is retried; a caller that expects 5xx (the load
tool) opts in with ``retry_server_errors=True``. The HTTP session is a scripted stand-in:
unit tests open no connection.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tools import stack_access


class ScriptedSession:
    """Answers each request with the next status of the script."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.calls = 0

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls += 1
        response = requests.Response()
        response.status_code = self.statuses.pop(0)
        response._content = b'{"id": "x", "status": "processing"}'
        return response


def client_with(statuses: list[int], **options: Any) -> tuple[stack_access.ApiClient, Any]:
    client = stack_access.ApiClient("http://api.test/stage", **options)
    session = ScriptedSession(statuses)
    client._local.session = session
    return client, session


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack_access.time, "sleep", lambda seconds: None)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_reaches_the_test_unretried(status: int) -> None:
    client, session = client_with([status, 200])
    assert client.status("x").status_code == status
    assert session.calls == 1
    assert client.counters.retries == {}


def test_throttling_is_retried() -> None:
    client, session = client_with([429, 429, 200])
    assert client.status("x").status_code == 200
    assert session.calls == 3
    assert client.counters.retries == {"http_429": 2}


def test_a_caller_expecting_server_errors_opts_in() -> None:
    client, _ = client_with([502, 503, 200], retry_server_errors=True)
    assert client.status("x").status_code == 200
    assert client.counters.retries == {"http_502": 1, "http_503": 1}


def test_retries_end_with_the_last_answer() -> None:
    client, session = client_with([503] * 3, retry_server_errors=True, attempts=3)
    assert client.status("x").status_code == 503
    assert session.calls == 3
