"""Helpers for the page tests: test images and waiting on the page's data-* hooks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3

from local import cloud_settings
from support import images

# How long a file may take from choosing to a final state on the emulator (cold starts included);
# the page itself stops polling after 2 minutes.
SETTLE_TIMEOUT_MS = 150_000

PIL_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/gif": "GIF"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


def make_image(
    path: Path, size: tuple[int, int], content_type: str = "image/jpeg", seed: int = 1
) -> Path:
    """A photo-like picture (gradient, shapes, a little noise) so encoders do real work."""
    path.write_bytes(images.photo_bytes(size, PIL_FORMATS[content_type], seed))
    return path


def expected_size(width: int, height: int, max_edge: int) -> tuple[int, int]:
    """Longest edge = max_edge, aspect ratio kept, never upscaled."""
    scale = min(1.0, max_edge / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def row_for(page: Any, name: str) -> Any:
    """The [data-file-row] for a file name."""
    return page.locator("[data-file-row]").filter(
        has=page.locator(".file-row__name", has_text=name)
    )


def wait_for_row_status(page: Any, name: str, statuses: tuple[str, ...], timeout_ms: int) -> str:
    row = row_for(page, name)
    selector = ", ".join(f"[data-status='{s}']" for s in statuses)
    row.and_(page.locator(selector)).wait_for(timeout=timeout_ms)
    return row.get_attribute("data-status")


def wait_until_all_settled(page: Any, timeout_ms: int) -> None:
    page.wait_for_function(
        """() => {
            const rows = [...document.querySelectorAll('[data-file-row]')];
            return rows.length > 0 && rows.every(
                (r) => ['refused', 'done', 'rejected', 'error'].includes(r.dataset.status));
        }""",
        timeout=timeout_ms,
    )


def natural_sizes(page: Any, name: str) -> dict[str, tuple[int, int]]:
    """{variant name: (naturalWidth, naturalHeight)} of a row's images, once they have loaded."""
    row = row_for(page, name)
    row.locator("img[data-variant]").first.wait_for()
    row.evaluate(
        """async (row) => {
            const images = [...row.querySelectorAll('img[data-variant]')];
            await Promise.all(images.map((img) => img.decode().catch(() => null)));
        }"""
    )
    return row.evaluate(
        """(row) => Object.fromEntries([...row.querySelectorAll('img[data-variant]')].map(
            (img) => [img.dataset.variant, [img.naturalWidth, img.naturalHeight]]))"""
    )


def start_recording_concurrency(page: Any) -> None:
    """Record the highest number of rows in the 'uploading' state at the same time."""
    page.evaluate(
        """() => {
            window.__maxUploading = 0;
            const count = () => {
                const rows = "[data-file-row][data-status='uploading']";
                const n = document.querySelectorAll(rows).length;
                window.__maxUploading = Math.max(window.__maxUploading, n);
            };
            new MutationObserver(count).observe(document.body, {
                subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
            });
        }"""
    )


# ---- the production Content-Security-Policy, on the emulator ---------------------------


def deployed_csp(outputs: dict[str, Any], sidecar_endpoint: str) -> str:
    """The CSP of the stack's CloudFront response-headers policy (on the moto sidecar)."""
    cloudfront = boto3.client(
        "cloudfront", endpoint_url=sidecar_endpoint, **cloud_settings.FAKE_CLIENT_KWARGS
    )
    distribution = cloudfront.get_distribution(Id=outputs["cdn_distribution_id"])
    config = distribution["Distribution"]["DistributionConfig"]
    policy_id = config["DefaultCacheBehavior"]["ResponseHeadersPolicyId"]
    policy = cloudfront.get_response_headers_policy(Id=policy_id)["ResponseHeadersPolicy"]
    headers = policy["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    return headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]


def emulator_csp(policy: str, page_url: str) -> str:
    """``policy`` with ``'self'`` narrowed to the folder the page is served from."""
    folder = page_url.rsplit("/", 1)[0] + "/"
    return policy.replace("'self'", folder)


def deliver_csp(context: Any, page_url: str, policy: str) -> None:
    """Serve the stored page at ``page_url`` in ``context`` with ``policy`` as its header."""

    def fulfil(route: Any) -> None:
        response = route.fetch()
        route.fulfill(
            response=response,
            headers={**response.headers, "content-security-policy": policy},
        )

    context.route(page_url, fulfil)
    # A document Playwright fulfils has no IP address space of its own, so Chromium's Local
    # Network Access treats it as public and refuses its calls to another loopback origin (the
    # sidecar's Cognito) unless granted; on AWS the page and Cognito are both public.
    context.grant_permissions(["local-network-access"])
