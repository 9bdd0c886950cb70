"""The upload page in Chromium against the stack deployed on the local emulator."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_helpers import (
    EXTENSIONS,
    SETTLE_TIMEOUT_MS,
    expected_size,
    make_image,
    natural_sizes,
    row_for,
    start_recording_concurrency,
    wait_for_row_status,
    wait_until_all_settled,
)
from playwright.sync_api import expect

from support import images

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def api_status(api_url: str, upload_id: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{api_url}/uploads/{upload_id}", timeout=30) as response:
        return json.load(response)


def assert_variants_match_config(page: Any, name: str, size: tuple[int, int], config: dict) -> None:
    """Every configured variant is shown, at its configured size (longest edge, no upscaling)."""
    sizes = natural_sizes(page, name)
    assert set(sizes) == {v["name"] for v in config["variants"]}, sizes
    for variant in config["variants"]:
        want = expected_size(*size, variant["maxEdge"])
        got = tuple(sizes[variant["name"]])
        assert max(got) == max(want), (name, variant, got, want)
        assert abs(got[0] - want[0]) <= 1, (name, variant, got, want)
        assert abs(got[1] - want[1]) <= 1, (name, variant, got, want)
    # Each image has a caption with its dimensions and a link to open it.
    row = row_for(page, name)
    for variant in config["variants"]:
        selector = f"img[data-variant='{variant['name']}']"
        image = row.locator(selector)
        card = row.locator(".variant").filter(has=page.locator(selector))
        width, height = sizes[variant["name"]]
        assert (
            f"{width} \u00d7 {height} px" in card.inner_text()
        )  # "W x H px" with a multiplication sign
        # one link per configured format, in preference order; the <img> is the last (fallback)
        links = card.locator("a.variant__link")
        formats = [links.nth(i).get_attribute("data-format") for i in range(links.count())]
        assert formats == variant["formats"], (name, variant, formats)
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        assert hrefs[-1] == image.get_attribute("src")
        assert all(href.startswith(("http://", "https://")) for href in hrefs)
        assert (
            card.get_by_role("button", name=f"Copy the HTML of the {variant['name']} size").count()
            == 1
        )


def test_jpeg_upload_shows_progress_then_variants_at_configured_sizes(
    app: Any, web_config: dict, api_url: str, tmp_path: Path, results_dir: Path
) -> None:
    photo = make_image(tmp_path / "holiday.jpg", (2000, 1500), "image/jpeg")

    app.set_input_files("#file-input", str(photo))

    row = row_for(app, "holiday.jpg")
    assert row.locator("progress").count() == 1
    assert row.locator("label").filter(has_text="Upload progress for holiday.jpg").count() == 1
    wait_for_row_status(app, "holiday.jpg", ("done",), SETTLE_TIMEOUT_MS)

    # Real upload progress (xhr.upload.onprogress) reached 100 %.
    assert float(row.get_attribute("data-progress-max")) == 100
    # The PUT went to the presigned URL with the headers the API asked for.
    puts = [r for r in app.probe.requests if r.method == "PUT"]
    assert len(puts) == 1
    assert puts[0].headers.get("if-none-match") == "*"
    assert puts[0].headers.get("content-type") == "image/jpeg"
    posts = app.probe.requests_to("POST", f"{api_url}/uploads")
    assert len(posts) == 1
    assert json.loads(posts[0].post_data) == {
        "contentType": "image/jpeg",
        "size": photo.stat().st_size,
        "filename": "holiday.jpg",
    }

    assert_variants_match_config(app, "holiday.jpg", (2000, 1500), web_config)
    status = api_status(api_url, row.get_attribute("data-upload-id"))
    assert status["status"] == "done"

    expect(app.locator("#announcer")).to_contain_text("holiday.jpg is ready")
    assert app.probe.csp_violations() == []
    assert app.probe.page_errors == []
    app.screenshot(path=str(results_dir / "single-upload-1280.png"), full_page=True)


def test_text_file_named_jpg_is_rejected_by_the_processor(
    app: Any, api_url: str, tmp_path: Path
) -> None:
    fake = tmp_path / "not-a-photo.jpg"
    fake.write_text("This is a shopping list, not a picture.\n" * 40, encoding="utf-8")

    app.set_input_files("#file-input", str(fake))

    status = wait_for_row_status(
        app, "not-a-photo.jpg", ("rejected", "done", "error"), SETTLE_TIMEOUT_MS
    )
    row = row_for(app, "not-a-photo.jpg")
    message = row.locator("[data-message]").inner_text().strip()
    assert status == "rejected", message
    server = api_status(api_url, row.get_attribute("data-upload-id"))
    assert server["status"] == "rejected"
    assert server["error"]["message"]
    assert message == server["error"]["message"].strip()
    assert row.locator("img[data-variant]").count() == 0


def test_oversized_file_is_refused_in_the_browser_without_calling_the_api(
    app: Any, web_config: dict, api_url: str, tmp_path: Path
) -> None:
    big = tmp_path / "huge-scan.jpg"
    with big.open("wb") as handle:  # sparse: no real disk use
        handle.truncate(web_config["maxBytes"] + 1)

    app.set_input_files("#file-input", str(big))

    row = row_for(app, "huge-scan.jpg")
    assert row.get_attribute("data-status") == "refused"
    message = row.locator("[data-message]").inner_text()
    assert "or smaller" in message
    app.wait_for_timeout(1500)  # give a (wrong) request time to show up
    assert app.probe.requests_to("POST", api_url) == []
    assert [r for r in app.probe.requests if r.method == "PUT"] == []
    assert row.get_attribute("data-status") == "refused"
    expect(app.locator("#announcer")).to_contain_text("huge-scan.jpg")


def test_several_files_at_once_all_complete(
    app: Any, web_config: dict, tmp_path: Path, results_dir: Path
) -> None:
    wanted = [
        ("image/jpeg", (2000, 1500)),
        ("image/png", (300, 200)),  # smaller than every variant: never upscaled
        ("image/webp", (1600, 900)),
        ("image/gif", (640, 480)),
    ]
    allowed = [(t, s) for t, s in wanted if t in web_config["allowedTypes"]]
    while len(allowed) < 4:  # a config allowing fewer types still gets four files
        allowed.append(("image/jpeg", (1200 + 100 * len(allowed), 800)))
    files = []
    for index, (content_type, size) in enumerate(allowed):
        path = make_image(
            tmp_path / f"photo-{index + 1}.{EXTENSIONS[content_type]}",
            size,
            content_type,
            seed=index,
        )
        files.append((path, size))

    start_recording_concurrency(app)
    app.set_input_files("#file-input", [str(p) for p, _ in files])

    assert app.locator("[data-file-row]").count() == 4
    wait_until_all_settled(app, SETTLE_TIMEOUT_MS)
    statuses = {p.name: row_for(app, p.name).get_attribute("data-status") for p, _ in files}
    assert set(statuses.values()) == {"done"}, {
        name: row_for(app, name).locator("[data-message]").inner_text() for name in statuses
    }
    for path, size in files:
        assert float(row_for(app, path.name).get_attribute("data-progress-max")) == 100
        assert_variants_match_config(app, path.name, size, web_config)
    assert app.evaluate("() => window.__maxUploading") <= 3
    assert "4 files: 4 done." in app.locator("#files-summary").inner_text()
    assert app.probe.csp_violations() == []

    app.screenshot(path=str(results_dir / "several-files-1280.png"), full_page=True)
    app.set_viewport_size({"width": 390, "height": 844})
    overflow = app.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways at phone width"
    app.screenshot(path=str(results_dir / "several-files-390.png"), full_page=True)


def test_drop_zone_button_opens_the_chooser_from_the_keyboard(app: Any, tmp_path: Path) -> None:
    picture = make_image(tmp_path / "keyboard.png", (400, 300), "image/png")
    # Playwright turns on file-chooser interception without waiting for it: do the Tab key
    # presses inside the block so it is in force before Enter.
    with app.expect_file_chooser() as chooser_info:
        app.keyboard.press("Tab")  # skip link
        app.keyboard.press("Tab")
        assert app.evaluate("() => document.activeElement.id") == "drop-zone"
        app.keyboard.press("Enter")
    chooser = chooser_info.value
    assert chooser.is_multiple()
    chooser.set_files(str(picture))
    assert wait_for_row_status(app, "keyboard.png", ("done",), SETTLE_TIMEOUT_MS) == "done"


def test_dropping_files_uses_the_same_path_as_choosing(app: Any, web_config: dict) -> None:
    # A real PNG made in the page, dropped on the drop zone as a DataTransfer.
    data_transfer = app.evaluate_handle(
        """async () => {
            const canvas = document.createElement('canvas');
            canvas.width = 900; canvas.height = 600;
            const ctx = canvas.getContext('2d');
            ctx.fillStyle = '#2a6'; ctx.fillRect(0, 0, 900, 600);
            ctx.fillStyle = '#fd0'; ctx.fillRect(200, 150, 500, 300);
            const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
            const dt = new DataTransfer();
            dt.items.add(new File([blob], 'dropped.png', { type: 'image/png' }));
            dt.items.add(new File(['plain text'], 'notes.txt', { type: 'text/plain' }));
            return dt;
        }"""
    )
    app.dispatch_event("#drop-zone", "dragenter", {"dataTransfer": data_transfer})
    assert "is-dragover" in app.get_attribute("#drop-zone", "class")
    app.dispatch_event("#drop-zone", "drop", {"dataTransfer": data_transfer})
    assert "is-dragover" not in app.get_attribute("#drop-zone", "class")

    assert row_for(app, "notes.txt").get_attribute("data-status") == "refused"
    assert wait_for_row_status(app, "dropped.png", ("done",), SETTLE_TIMEOUT_MS) == "done"
    assert_variants_match_config(app, "dropped.png", (900, 600), web_config)


def test_unreachable_api_shows_a_network_message_and_can_retry(
    app: Any, api_url: str, tmp_path: Path
) -> None:
    picture = make_image(tmp_path / "offline.jpg", (640, 480), "image/jpeg")
    app.route(lambda url: url.startswith(api_url), lambda route: route.abort("connectionrefused"))

    app.set_input_files("#file-input", str(picture))

    assert wait_for_row_status(app, "offline.jpg", ("error",), 30_000) == "error"
    row = row_for(app, "offline.jpg")
    assert "Could not reach the image service" in row.locator("[data-message]").inner_text()

    app.unroute_all()
    row.get_by_role("button", name="Try again").click()
    assert wait_for_row_status(app, "offline.jpg", ("done",), SETTLE_TIMEOUT_MS) == "done"


def test_api_error_message_from_the_server_is_shown(
    app: Any, web_config: dict, api_url: str, tmp_path: Path
) -> None:
    """The real API refuses a declared size over maxBytes; the page shows its message."""
    picture = make_image(tmp_path / "liar.jpg", (320, 240), "image/jpeg")
    answers: list[Any] = []
    app.on("response", lambda r: answers.append(r) if r.request.method == "POST" else None)

    def lie_about_size(route: Any) -> None:
        body = json.loads(route.request.post_data)
        body["size"] = web_config["maxBytes"] + 1
        route.continue_(post_data=json.dumps(body))

    app.route(f"{api_url}/uploads", lie_about_size)
    app.set_input_files("#file-input", str(picture))

    assert wait_for_row_status(app, "liar.jpg", ("error",), 30_000) == "error"
    assert len(answers) == 1
    assert answers[0].status == 413
    server_message = answers[0].json()["message"]
    assert (
        row_for(app, "liar.jpg").locator("[data-message]").inner_text().strip()
        == server_message.strip()
    )


def test_missing_config_shows_a_clear_message(new_context: Any, page_url: str) -> None:
    page = new_context().new_page()
    page.route("**/config.json", lambda route: route.fulfill(status=404, body="NoSuchKey"))
    page.goto(page_url)
    page.wait_for_selector("#app[data-app-state='error']")
    alert = page.get_by_role("alert")
    assert "config.json" in alert.inner_text()
    assert page.is_disabled("#drop-zone")
    assert page.is_disabled("#file-input")


def test_without_javascript_the_form_and_a_note_are_shown(new_context: Any, page_url: str) -> None:
    page = new_context(java_script_enabled=False).new_page()
    page.goto(page_url)
    assert page.get_by_label("Upload images").count() == 1
    assert page.is_visible("#file-input")
    assert page.get_attribute("#file-input", "aria-describedby") == "file-hint"
    assert "needs JavaScript" in page.inner_text("main")


def test_accessibility_with_axe(
    app: Any, axe_source: str, tmp_path: Path, web_config: dict
) -> None:
    """axe-core finds no violations on the empty page nor on a page with results and errors."""
    # The page's CSP forbids injected <script>: evaluate the source through the DevTools protocol.
    session = app.context.new_cdp_session(app)
    session.send("Runtime.evaluate", {"expression": axe_source})

    def run_axe() -> list[dict]:
        return app.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target)}))"
        )

    assert run_axe() == []
    good = make_image(tmp_path / "axe.jpg", (800, 600), "image/jpeg")
    big = tmp_path / "too-big.jpg"
    with big.open("wb") as handle:
        handle.truncate(web_config["maxBytes"] + 1)
    app.set_input_files("#file-input", [str(good), str(big)])
    wait_until_all_settled(app, SETTLE_TIMEOUT_MS)
    app.focus("#drop-zone")
    assert run_axe() == []


def test_a_reload_still_shows_this_browsers_finished_upload_until_forgotten(
    app: Any, web_config: dict, tmp_path: Path
) -> None:
    photo = make_image(tmp_path / "remember-me.jpg", (1200, 900), "image/jpeg")
    app.set_input_files("#file-input", str(photo))
    wait_for_row_status(app, "remember-me.jpg", ("done",), SETTLE_TIMEOUT_MS)
    upload_id = row_for(app, "remember-me.jpg").get_attribute("data-upload-id")

    app.reload()
    app.wait_for_selector("#app[data-app-state='ready']")
    assert wait_for_row_status(app, "remember-me.jpg", ("done",), SETTLE_TIMEOUT_MS) == "done"
    row = row_for(app, "remember-me.jpg")
    assert row.get_attribute("data-upload-id") == upload_id
    assert_variants_match_config(app, "remember-me.jpg", (1200, 900), web_config)
    stored = app.evaluate("() => JSON.parse(localStorage.getItem('sip.uploads.v1'))")
    assert [entry["id"] for entry in stored] == [upload_id]  # ids and list facts only

    row.get_by_role("button", name="Forget remember-me.jpg").click()
    expect(app.locator("[data-file-row]")).to_have_count(0)
    app.reload()
    app.wait_for_selector("#app[data-app-state='ready']")
    expect(app.locator("[data-file-row]")).to_have_count(0)
    assert app.probe.page_errors == []


def test_a_heic_photo_chosen_in_the_page_ends_with_visible_upright_results(
    app: Any, web_config: dict, api_url: str, tmp_path: Path, results_dir: Path
) -> None:
    """An iPhone-like HEIC (stored sideways, irot) chosen in the page: upright JPEG, WebP and
    AVIF variants are shown, each after its placeholder."""
    assert "image/heic" in web_config["allowedTypes"], (
        "the stack under test must accept HEIC (variables.tf's default allowed_content_types)"
    )
    photo = tmp_path / "IMG_0001.HEIC"
    photo.write_bytes(images.oriented_heif(images.HEIC_PHOTO, 6))  # upright 461 x 451

    app.set_input_files("#file-input", str(photo))
    assert wait_for_row_status(app, photo.name, ("done",), SETTLE_TIMEOUT_MS) == "done"

    posts = app.probe.requests_to("POST", f"{api_url}/uploads")
    assert json.loads(posts[-1].post_data)["contentType"] == "image/heic"
    assert_variants_match_config(app, photo.name, (461, 451), web_config)
    row = row_for(app, photo.name)
    status = api_status(api_url, row.get_attribute("data-upload-id"))
    assert status["placeholder"]["thumbhash"]
    for variant in web_config["variants"]:
        expect(row.locator(f"img[data-variant='{variant['name']}']")).to_be_visible()
    expect(row.locator("canvas[data-placeholder]")).to_have_count(0)  # replaced once loaded
    assert app.probe.csp_violations() == []
    assert app.probe.page_errors == []
    app.screenshot(path=str(results_dir / "heic-upload-1280.png"), full_page=True)


def test_the_results_grid_loads_each_sizes_first_format_through_picture(
    app: Any, web_config: dict, api_url: str, tmp_path: Path, results_dir: Path
) -> None:
    """Chromium picks the first configured format of every size (AVIF for the default large
    and medium), fetches nothing else, and the grid transfers fewer bytes than the grid before
    sizes had formats (one <img> per variant: large and medium JPEG, thumb WebP, large AVIF)."""
    photo = tmp_path / "street.jpg"
    photo.write_bytes(images.photo_bytes((2400, 1800)))
    app.set_input_files("#file-input", str(photo))
    assert wait_for_row_status(app, photo.name, ("done",), SETTLE_TIMEOUT_MS) == "done"
    natural_sizes(app, photo.name)  # every image decoded
    row = row_for(app, photo.name)
    status = api_status(api_url, row.get_attribute("data-upload-id"))
    sources = {(v["name"], s["format"]): s for v in status["variants"] for s in v["sources"]}
    current = row.evaluate(
        """(row) => Object.fromEntries([...row.querySelectorAll('img[data-variant]')].map(
            (img) => [img.dataset.variant, img.currentSrc]))"""
    )
    # every status call signs afresh: compare the objects (URL paths), not the signatures
    fetched = {urlsplit(r.url).path for r in app.probe.requests if r.method == "GET"}
    for variant in web_config["variants"]:
        chosen = sources[variant["name"], variant["formats"][0]]
        assert urlsplit(current[variant["name"]]).path == urlsplit(chosen["url"]).path, variant
        for fmt in variant["formats"][1:]:
            assert urlsplit(sources[variant["name"], fmt]["url"]).path not in fetched, (
                variant,
                fmt,
            )
    assert "avif" in {v["formats"][0] for v in web_config["variants"]}
    after = sum(s["bytes"] for s in sources.values() if urlsplit(s["url"]).path in fetched)
    before_grid = [("large", "jpeg"), ("medium", "jpeg"), ("thumb", "webp"), ("large", "avif")]
    before = sum(sources[key]["bytes"] for key in before_grid)
    report = {"source": "2400x1800 JPEG", "before_bytes": before, "after_bytes": after}
    (results_dir / "grid-bytes.json").write_text(json.dumps(report, indent=1) + "\n")
    assert after < before, report
    assert app.probe.csp_violations() == []
    assert app.probe.page_errors == []
