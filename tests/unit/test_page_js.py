"""The page's JavaScript modules under node's built-in test runner (tests/unit/js).

Part of the unit tier: pure functions, no DOM, no network. Node comes from `make setup`
(local/setup.sh installs Debian's nodejs when it is missing); without it this test fails.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

JS_TESTS = Path(__file__).resolve().parent / "js"


def test_page_modules_pass_node_unit_tests() -> None:
    node = shutil.which("node")
    assert node, "node is not installed: run `make setup` (installs Debian's nodejs)"
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, "no JavaScript unit tests found"
    result = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
