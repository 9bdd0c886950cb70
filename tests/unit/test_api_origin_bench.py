"""bench/api_origin.py's pure parts: the proxy's routes and rewrites, and the request counts.

The browser run itself needs the emulator and Chromium (docs/benchmarks.md, "The API's
origin"); these tests keep its bookkeeping honest, and fail when web/js/api.js changes so that
the bench could no longer serve the page as it was before the preflight-cache fix.
"""

from __future__ import annotations

import json

import pytest

from support import bench_scripts
from support.pipeline import REPO

pytestmark = pytest.mark.unit

EMULATOR = "http://127.0.0.1:4620"
API = f"{EMULATOR}/_aws/execute-api/abc123/v1"
WEB = f"{EMULATOR}/web-bucket/"


@pytest.fixture(scope="module")
def bench():
    return bench_scripts.load("api_origin")


def route(bench, mode: str):
    return bench.Route(mode, "http://127.0.0.1:4821", WEB, API)


def test_only_the_same_origin_proxy_forwards_the_api_path(bench) -> None:
    same, cross = route(bench, "same"), route(bench, "cross")
    assert same.target("/api/uploads/x/parts") == f"{API}/uploads/x/parts"
    assert same.target("/") == f"{WEB}index.html"
    assert same.target("/js/main.js") == f"{WEB}js/main.js"
    assert cross.target("/api/uploads") is None
    assert cross.target("/config.json") == f"{WEB}config.json"


def test_config_json_points_at_the_same_origin_api_only_in_mode_same(bench) -> None:
    config = json.dumps({"apiUrl": API, "maxBytes": 1}).encode()
    same = json.loads(bench.rewrite_page("/config.json", config, route(bench, "same")))
    assert same == {"apiUrl": "http://127.0.0.1:4821/api", "maxBytes": 1}
    assert bench.rewrite_page("/config.json", config, route(bench, "cross")) == config


def test_the_page_before_the_fix_is_todays_api_js_with_no_store_put_back(bench) -> None:
    api_js = (REPO / "web" / "js" / "api.js").read_bytes()
    before = bench.rewrite_page("/js/api.js", api_js, route(bench, "cross_nostore")).decode()
    assert before.count("credentials: 'omit', cache: 'no-store' }") == 1
    assert len(before) == len(api_js) + len(", cache: 'no-store'")
    assert bench.rewrite_page("/js/api.js", api_js, route(bench, "cross")) == api_js
    with pytest.raises(RuntimeError, match=r"api\.js changed"):
        bench.rewrite_page("/js/api.js", b"fetch(url)", route(bench, "cross_nostore"))


def event(url: str, method: str, kind: str = "Fetch", **headers: str) -> dict:
    return {"type": kind, "request": {"url": url, "method": method, "headers": headers}}


def test_requests_are_counted_by_kind_and_preflights_named(bench) -> None:
    storage = f"{EMULATOR}/"
    preflight = event(
        f"{API}/uploads/u1/parts",
        "OPTIONS",
        "Preflight",
        **{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x"},
    )
    assert bench.classify(preflight, API, storage) == "api_preflight"
    assert bench.preflight_label(preflight, API) == "API POST /uploads/u1/parts [x]"
    assert bench.classify(event(f"{API}/uploads", "POST"), API, storage) == "api"
    assert bench.classify(event(f"{EMULATOR}/up/u1?X-Amz=1", "PUT"), API, storage) == "s3_put"
    assert bench.classify(event(f"{EMULATOR}/up/u1", "OPTIONS"), API, storage) == "s3_preflight"
    assert bench.classify(event(f"{EMULATOR}/out/u1/a.avif", "GET"), API, storage) == "s3_get"
    assert bench.classify(event("http://127.0.0.1:4821/js/a.js", "GET"), API, storage) == "other"


def test_the_summary_splits_first_and_later_uploads_and_sums_preflights(bench) -> None:
    def upload(index: int, api_preflight: int, uploaded: float) -> dict:
        requests = {"api": 2, "api_preflight": api_preflight, "s3_put": 1, "s3_preflight": 1}
        return {
            "multipart": False,
            "index_in_session": index,
            "status": "done",
            "requests": requests,
            "pick_to_uploaded_ms": uploaded,
            "pick_to_done_ms": uploaded + 500,
        }

    summary = bench.summarise([upload(0, 1, 160.0), upload(1, 0, 120.0), upload(2, 0, 124.0)])
    assert summary["single (first in session)"]["preflights_per_upload"] == 2.0
    assert summary["single (later in session)"]["requests_per_upload"]["api_preflight"] == 0.0
    assert summary["single"]["uploads"] == 3
    assert summary["single"]["pick_to_uploaded_ms"] == {"p50": 124.0, "p95": 160.0}
