"""Fixtures for the browser tests of the upload page (Playwright, Debian's Chromium).

The tests target the real stack applied on the local emulator through the session fixture
``local_stack_outputs`` (tests/support/stacks.py). Mode: that stack has enable_cdn = true, but the
page is loaded path-style from the emulator's S3 (output ``web_delivery = "emulator"``; moto's
CloudFront serves no traffic). So that Chromium enforces the production policy anyway, every
page is delivered with the Content-Security-Policy header of the stack's own CloudFront
response-headers policy (read from the sidecar, where Terraform put it), with one substitution
only Terraform cannot make: ``'self'`` becomes the web bucket's path, because on the emulator the
page, the API and the buckets share one origin (main.tf gives the other roles their path
prefixes). The stored page itself is fetched and fulfilled unchanged (e2e_helpers.deliver_csp).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from e2e_helpers import deliver_csp, deployed_csp, emulator_csp

from support.browser import CHROMIUM, CHROMIUM_ARGS

REPO = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO / "test-results" / "e2e"


# ---- the target ------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """The emulator and the stacks (tests/support/stacks.py): this tier's shared fixtures."""
    config.pluginmanager.import_plugin("support.stacks")  # once per run, whichever tier is first


@pytest.fixture(scope="session")
def e2e_outputs(local_stack_outputs: dict[str, Any]) -> dict[str, Any]:
    """Terraform outputs of the stack under test (web_url, api_url, buckets)."""
    assert local_stack_outputs["web_delivery"] == "emulator", "these tests drive the local page"
    return local_stack_outputs


@pytest.fixture(scope="session")
def page_url(e2e_outputs: dict[str, Any]) -> str:
    """Address of index.html (web_url may end in /index.html or in a folder)."""
    url = e2e_outputs["web_url"]
    path = urlsplit(url).path
    if path.endswith(".html"):
        return url
    return url.rstrip("/") + "/index.html"


@pytest.fixture(scope="session")
def api_url(e2e_outputs: dict[str, Any]) -> str:
    return e2e_outputs["api_url"].rstrip("/")


@pytest.fixture(scope="session")
def web_config(page_url: str) -> dict[str, Any]:
    """The config.json the page itself reads."""
    with urllib.request.urlopen(urljoin(page_url, "config.json"), timeout=30) as response:
        return json.load(response)


# ---- the production Content-Security-Policy, on the emulator ---------------------------


@pytest.fixture(scope="session")
def page_csp(e2e_outputs: dict[str, Any], sidecar_endpoint: str, page_url: str) -> str:
    """The policy every page of the anonymous stack is delivered with."""
    return emulator_csp(deployed_csp(e2e_outputs, sidecar_endpoint), page_url)


# ---- the browser -----------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class PageProbe:
    """Records what a test needs to assert on: requests, console errors, CSP violations."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.requests: list[Any] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request))
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)

    def requests_to(self, method: str, url_prefix: str) -> list[Any]:
        return [r for r in self.requests if r.method == method and r.url.startswith(url_prefix)]

    def csp_violations(self) -> list[str]:
        return [m for m in self.console_errors if "Content Security Policy" in m]


@pytest.fixture
def app(chromium_browser: Any, page_url: str, page_csp: str) -> Iterator[Any]:
    """A fresh page (own context) with the uploader loaded and ready, under the stack's CSP
    header; has .probe."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})
    deliver_csp(context, page_url, page_csp)
    page = context.new_page()
    page.probe = PageProbe(page)
    page.set_default_timeout(30_000)
    page.goto(page_url)
    page.wait_for_selector("#app[data-app-state='ready']")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def new_context(
    chromium_browser: Any, page_url: str, page_csp: str
) -> Iterator[Callable[..., Any]]:
    """Factory for extra contexts (no JavaScript, routes, ...), closed after the test; the page
    gets the stack's CSP header unless ``csp`` says otherwise (``None``: no header)."""
    contexts: list[Any] = []

    def make(csp: str | None = page_csp, **options: Any) -> Any:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = chromium_browser.new_context(**options)
        if csp is not None:
            deliver_csp(context, page_url, csp)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def results_dir() -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    return RESULTS_DIR


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser build, installed by `make setup` (local/setup.sh) into .local/npm."""
    target = REPO / ".local" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
    if not target.exists():
        pytest.fail(f"{target} is missing: run `make setup` (it installs axe-core from npm)")
    return target.read_text(encoding="utf-8")
