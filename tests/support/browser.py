"""The browser every page test (tests/e2e) and bench/api_origin.py drive: the system's Chromium
(installed by local/setup.sh --browser), headless, without background traffic."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
