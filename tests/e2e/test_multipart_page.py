"""The multipart path in Chromium against the stack on the local emulator: a large photo whose
network is cut mid-way, the page reloaded, the same file picked again and only the missing
parts sent; pause and cancel; axe in every new state."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import SETTLE_TIMEOUT_MS, row_for, wait_for_row_status
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

PART = 8 * 1024 * 1024  # rules.json: multipart.part_bytes


def big_photo(path: Path) -> Path:
    """A 15.6 MP noisy JPEG of about 17 MiB: three parts (8, 8, about 1 MiB)."""
    image = Image.frombytes("RGB", (3000, 5200), os.urandom(3000 * 5200 * 3))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    path.write_bytes(buffer.getvalue())
    return path


def is_part_put(request: Any) -> bool:
    return request.method == "PUT" and "partNumber=" in request.url


def part_number(url: str) -> int:
    return int(url.split("partNumber=", 1)[1].split("&", 1)[0])


def starts(page: Any, api_url: str) -> list[Any]:
    """The page's POST /uploads requests (new uploads)."""
    return [
        r
        for r in page.probe.requests_to("POST", f"{api_url}/uploads")
        if r.url.endswith("/uploads")
    ]


def run_axe(page: Any, axe_source: str) -> list[dict]:
    session = page.context.new_cdp_session(page)
    session.send("Runtime.evaluate", {"expression": axe_source})
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target)}))"
    )


def test_a_cut_upload_resumes_after_a_reload_sending_only_the_missing_parts(
    app: Any, web_config: dict, api_url: str, tmp_path: Path, axe_source: str
) -> None:
    assert web_config["multipart"]["thresholdBytes"] < 17 * 1024 * 1024
    photo = big_photo(tmp_path / "pano.jpg")
    parts = -(-photo.stat().st_size // PART)
    assert parts == 3

    # The network to storage dies after the first part: every other part PUT fails.
    def cut(route: Any) -> None:
        if part_number(route.request.url) == 1:
            route.continue_()
        else:
            route.abort("internetdisconnected")

    app.route(lambda url: "partNumber=" in url, cut)
    app.set_input_files("#file-input", str(photo))
    assert wait_for_row_status(app, "pano.jpg", ("error",), 120_000) == "error"
    assert "could not be reached" in row_for(app, "pano.jpg").locator("[data-message]").inner_text()
    assert run_axe(app, axe_source) == []

    app.unroute_all()
    app.reload()  # the tab is reloaded: only localStorage remains
    app.wait_for_selector("#app[data-app-state='ready']")
    before = len(app.probe.requests)
    starts_before = len(starts(app, api_url))

    app.set_input_files("#file-input", str(photo))  # the same file, picked again
    assert wait_for_row_status(app, "pano.jpg", ("done",), SETTLE_TIMEOUT_MS) == "done"
    after = app.probe.requests[before:]
    sent = sorted(part_number(r.url) for r in after if is_part_put(r))
    assert sent == [2, 3], "part 1 was already in S3 and is not sent again"
    assert len(starts(app, api_url)) == starts_before == 1, "no new upload was started"
    assert [r for r in after if r.method == "GET" and r.url.endswith("/parts")], "asked S3's list"
    assert app.probe.page_errors == []
    assert run_axe(app, axe_source) == []


def test_pause_then_cancel_aborts_the_upload(
    app: Any, api_url: str, tmp_path: Path, axe_source: str
) -> None:
    photo = big_photo(tmp_path / "cancel-me.jpg")
    app.route(lambda url: "partNumber=" in url, lambda route: route.abort("internetdisconnected"))
    app.set_input_files("#file-input", str(photo))
    row = row_for(app, "cancel-me.jpg")
    row.get_by_role("button", name="Pause").click()
    assert wait_for_row_status(app, "cancel-me.jpg", ("paused",), 30_000) == "paused"
    assert row.get_by_role("button", name="Resume").is_visible()
    assert run_axe(app, axe_source) == []

    with app.expect_response(
        lambda r: r.request.method == "DELETE" and r.url.endswith("/parts")
    ) as aborted:
        row.get_by_role("button", name="Cancel the upload of cancel-me.jpg").click()
    assert aborted.value.status == 204
    assert wait_for_row_status(app, "cancel-me.jpg", ("cancelled",), 30_000) == "cancelled"
    upload_id = row.get_attribute("data-upload-id")
    status = app.request.get(f"{api_url}/uploads/{upload_id}")
    assert status.status == 404
    assert run_axe(app, axe_source) == []
