"""The production Content-Security-Policy, enforced by Chromium on the emulator.

Every page of these tests is delivered with the stack's own CloudFront policy (conftest.py:
``page_csp``), so the upload tests already prove the policy admits the API, the presigned PUT
and the variants. These tests prove it is really enforced: the same policy with one role's
source taken out makes exactly that step fail, with Chromium reporting the violation. The
source removed is found by what it admits (``tools/csp_policy.py``), never spelled here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_helpers import SETTLE_TIMEOUT_MS, make_image, row_for, wait_for_row_status

from tools import csp_policy

pytestmark = pytest.mark.e2e


def without_source_for(policy: str, directive: str, url: str, page_url: str) -> str:
    """``policy`` with every source of ``directive`` that admits ``url`` removed."""
    origin = csp_policy.origin_of(page_url)
    parts = []
    for part in policy.split(";"):
        words = part.split()
        if words and words[0] == directive:
            kept = [w for w in words[1:] if not csp_policy.source_matches(w, url, origin)]
            assert len(kept) < len(words) - 1, f"{directive} has no source for {url}"
            words = [directive, *kept]
        parts.append(" ".join(words))
    narrowed = "; ".join(p for p in parts if p)
    assert not csp_policy.admits(csp_policy.parse(narrowed), directive, url, origin)
    return narrowed


def role_urls(outputs: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """(directive, a URL the page fetches in that role) for the API, the PUT and the images."""
    endpoint = f"{urlsplit(outputs['api_url']).scheme}://{urlsplit(outputs['api_url']).netloc}"
    return {
        "api": ("connect-src", f"{outputs['api_url']}/uploads"),
        "upload": ("connect-src", f"{endpoint}/{outputs['upload_bucket']}/uploads/probe"),
        "images": ("img-src", f"{endpoint}/{outputs['output_bucket']}/probe/large.jpg"),
    }


def open_page(new_context: Any, page_url: str, policy: str) -> Any:
    page = new_context(csp=policy).new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.violations = violations
    page.set_default_timeout(30_000)
    response = page.goto(page_url)
    assert response.headers["content-security-policy"] == policy
    return page


def test_the_page_gets_the_stacks_policy_as_a_header_and_works_under_it(
    new_context: Any, page_url: str, page_csp: str, tmp_path: Path
) -> None:
    page = open_page(new_context, page_url, page_csp)
    page.wait_for_selector("#app[data-app-state='ready']")
    assert "frame-ancestors 'none'" in page_csp
    assert "'self'" not in page_csp  # narrowed to the web bucket's folder on the emulator
    page.set_input_files("#file-input", str(make_image(tmp_path / "ok.jpg", (640, 480))))
    assert wait_for_row_status(page, "ok.jpg", ("done",), SETTLE_TIMEOUT_MS) == "done"
    row_for(page, "ok.jpg").locator("img[data-variant]").first.wait_for()
    assert page.violations == []


@pytest.mark.parametrize("role", ["api", "upload"])
def test_a_policy_without_the_api_or_upload_host_fails_the_upload(
    role: str,
    new_context: Any,
    page_url: str,
    page_csp: str,
    e2e_outputs: dict[str, Any],
    tmp_path: Path,
) -> None:
    directive, url = role_urls(e2e_outputs)[role]
    page = open_page(new_context, page_url, without_source_for(page_csp, directive, url, page_url))
    page.wait_for_selector("#app[data-app-state='ready']")
    page.set_input_files("#file-input", str(make_image(tmp_path / f"{role}.jpg", (320, 240))))

    assert wait_for_row_status(page, f"{role}.jpg", ("error", "done"), SETTLE_TIMEOUT_MS) == "error"
    blocked_path = urlsplit(url).path.rsplit("/", 1)[0]
    assert any("connect-src" in v and blocked_path.split("/")[1] in v for v in page.violations), (
        page.violations
    )


def test_a_policy_without_the_output_host_blocks_the_variants(
    new_context: Any, page_url: str, page_csp: str, e2e_outputs: dict[str, Any], tmp_path: Path
) -> None:
    directive, url = role_urls(e2e_outputs)["images"]
    page = open_page(new_context, page_url, without_source_for(page_csp, directive, url, page_url))
    page.wait_for_selector("#app[data-app-state='ready']")
    page.set_input_files("#file-input", str(make_image(tmp_path / "pic.jpg", (320, 240))))

    assert wait_for_row_status(page, "pic.jpg", ("done",), SETTLE_TIMEOUT_MS) == "done"
    image = row_for(page, "pic.jpg").locator("img[data-variant]").first
    image.wait_for(state="attached")
    page.wait_for_function(
        "(img) => img.complete", arg=image.element_handle(), timeout=SETTLE_TIMEOUT_MS
    )
    assert image.evaluate("(img) => img.naturalWidth") == 0
    assert any("img-src" in v and e2e_outputs["output_bucket"] in v for v in page.violations), (
        page.violations
    )
