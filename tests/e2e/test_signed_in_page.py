"""The page with sign-in (auth = "cognito", the second stack of tests/support/stacks.py): sign in,
upload, see the image in "My images", delete it, sign out; errors are clear; axe passes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_helpers import (
    SETTLE_TIMEOUT_MS,
    deliver_csp,
    deployed_csp,
    emulator_csp,
    make_image,
    wait_for_row_status,
)
from playwright.sync_api import expect


@pytest.fixture(scope="module")
def signed_in_page_url(auth_stack_outputs: dict[str, Any]) -> str:
    url = auth_stack_outputs["web_url"]
    return url if urlsplit(url).path.endswith(".html") else url.rstrip("/") + "/index.html"


@pytest.fixture(scope="module")
def signed_in_csp(
    auth_stack_outputs: dict[str, Any], sidecar_endpoint: str, signed_in_page_url: str
) -> str:
    """The signed-in stack's CloudFront CSP (conftest.py), enforced on every page here."""
    return emulator_csp(deployed_csp(auth_stack_outputs, sidecar_endpoint), signed_in_page_url)


@pytest.fixture
def page(chromium_browser: Any, signed_in_page_url: str, signed_in_csp: str) -> Iterator[Any]:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    deliver_csp(context, signed_in_page_url, signed_in_csp)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.page_errors = errors
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.csp_violations = violations
    page.set_default_timeout(30_000)
    page.goto(signed_in_page_url)
    page.wait_for_selector("#app[data-app-state='ready']")
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Any, email: str, password: str) -> None:
    page.get_by_label("Email address").first.fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signed-in-email")).to_have_text(email)


def run_axe(page: Any, axe_source: str) -> list[dict]:
    session = page.context.new_cdp_session(page)
    session.send("Runtime.evaluate", {"expression": axe_source})
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target)}))"
    )


def test_signed_out_the_page_asks_to_sign_in_and_cannot_upload(page: Any, axe_source: str) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.is_disabled("#drop-zone")
    assert page.is_hidden("#gallery")
    assert page.is_visible("#show-sign-up")  # the test stack allows self sign-up
    assert run_axe(page, axe_source) == []


def test_a_wrong_password_gets_a_clear_message(page: Any, make_user) -> None:
    user = make_user("wrong")
    page.get_by_label("Email address").first.fill(user.email)
    page.get_by_label("Password", exact=True).fill("Not-the-password-1!")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#auth-error")).to_contain_text("Incorrect email address or password.")
    assert page.is_disabled("#drop-zone")


def test_sign_in_upload_gallery_delete_sign_out(
    page: Any, make_user, tmp_path: Path, axe_source: str, results_dir: Path
) -> None:
    user = make_user("browser")
    sign_in(page, user.email, user.password)
    assert page.is_enabled("#drop-zone")
    expect(page.locator("#gallery-summary")).to_have_text("You have not uploaded any images yet.")
    # Tokens live in sessionStorage only.
    assert page.evaluate("() => Object.keys(localStorage).length") == 0
    assert page.evaluate("() => Boolean(sessionStorage.getItem('sip.session'))")

    photo = make_image(tmp_path / "sunset.jpg", (1200, 800), "image/jpeg")
    page.set_input_files("#file-input", str(photo))
    wait_for_row_status(page, "sunset.jpg", ("done",), SETTLE_TIMEOUT_MS)

    item = page.locator(".gallery__item").filter(has_text="sunset.jpg")
    expect(item).to_have_count(1, timeout=30_000)
    expect(item.locator("img")).to_have_attribute("alt", "sunset.jpg")
    assert run_axe(page, axe_source) == []
    page.screenshot(path=str(results_dir / "signed-in-gallery.png"), full_page=True)

    upload_id = item.get_attribute("data-upload-id")
    assert user.api.status(upload_id).status_code == 200
    item.get_by_role("button", name="Delete sunset.jpg").click()
    expect(page.locator(".gallery__item")).to_have_count(0)
    expect(page.locator("#announcer")).to_contain_text("sunset.jpg deleted")
    assert user.api.status(upload_id).status_code == 404

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.is_disabled("#drop-zone")
    assert page.is_hidden("#gallery")
    assert page.evaluate("() => sessionStorage.getItem('sip.session')") is None
    assert page.page_errors == []
    # Cognito, the API, the PUT and the gallery's images all passed the stack's CSP.
    assert page.csp_violations == []


def test_a_reload_keeps_the_tab_signed_in(page: Any, make_user, signed_in_page_url: str) -> None:
    user = make_user("reload")
    sign_in(page, user.email, user.password)
    page.reload()
    page.wait_for_selector("#app[data-app-state='ready']")
    expect(page.locator("#signed-in-email")).to_have_text(user.email)
