"""The page's JavaScript modules under node's built-in test runner (tests/unit/js).

Part of the unit tier: pure functions, no DOM, no network. Node comes from `make setup`
(local/setup.sh installs Debian's nodejs when it is missing); without it this test fails.

Every node test is one pytest test (``test_page_js.py::test_node[auth.test.mjs::<name>]``), so
the tier's test count (tests/tier_floors.json) counts node tests one by one. Node runs each file
once, at collection, with the TAP reporter; a file that defines no test, does not load, skips or
leaves a test "todo" gives a failing test of its own instead of passing silently.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

JS_TESTS = Path(__file__).resolve().parent / "js"
REPO = JS_TESTS.parents[2]

# A top-level TAP result: "ok 3 - name", "not ok 4 - name # SKIP reason".
_RESULT = re.compile(
    r"^(?P<status>ok|not ok) \d+ - (?P<name>.*?)(?: # (?P<directive>SKIP|TODO)\b.*)?$"
)


@dataclass(frozen=True)
class NodeTest:
    """The outcome of one node test (or of a file that produced none)."""

    file: str
    name: str
    passed: bool
    detail: str = ""

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def parse_tap(file: str, tap: str) -> list[NodeTest]:
    """Top-level results of node's TAP output for one file, each with its diagnostic block."""
    results: list[NodeTest] = []
    lines = tap.splitlines()
    for index, line in enumerate(lines):
        match = _RESULT.match(line)
        if not match:
            continue
        block = []
        for follow in lines[index + 1 :]:
            if not follow.startswith("  "):
                break
            block.append(follow)
        name = match["name"].replace("\\#", "#")
        directive = match["directive"]
        if directive:
            detail = f"node reports {directive}: nothing in the suite may skip or stay todo"
            results.append(NodeTest(file, name, False, detail))
        else:
            results.append(NodeTest(file, name, match["status"] == "ok", "\n".join(block)))
    return results


def run_file(node: str, path: Path) -> list[NodeTest]:
    """Run one test file (not `node --test`, which reports an empty file as one passing test)."""
    completed = subprocess.run(
        [node, "--test-reporter=tap", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    results = parse_tap(path.name, completed.stdout)
    output = (completed.stdout[-3000:] + completed.stderr[-3000:]).strip()
    if not results:
        return [NodeTest(path.name, "(no tests)", False, f"the file ran no test\n{output}")]
    if completed.returncode != 0 and all(result.passed for result in results):
        detail = f"node exited with {completed.returncode}\n{output}"
        results.append(NodeTest(path.name, "(exit status)", False, detail))
    return results


def node_tests() -> list[NodeTest]:
    node = shutil.which("node")
    if not node:
        detail = "node is not installed: run `make setup` (installs Debian's nodejs)"
        return [NodeTest("node", "(missing)", False, detail)]
    files = sorted(JS_TESTS.glob("*.test.mjs"))
    if not files:
        return [NodeTest("tests/unit/js", "(no files)", False, "no JavaScript unit tests found")]
    return [result for path in files for result in run_file(node, path)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "node_test" in metafunc.fixturenames:
        results = node_tests()
        metafunc.parametrize("node_test", results, ids=[result.id for result in results])


def test_node(node_test: NodeTest) -> None:
    assert node_test.passed, f"{node_test.id}\n{node_test.detail}"


def test_an_empty_or_skipping_file_fails(tmp_path: Path) -> None:
    """The runner itself: no test, a skip or a todo is a failure, never a silent pass."""
    node = shutil.which("node")
    assert node, "node is not installed: run `make setup`"
    header = "import { test } from 'node:test';\n"
    empty = tmp_path / "empty.test.mjs"
    empty.write_text(header)
    assert [(r.name, r.passed) for r in run_file(node, empty)] == [("(no tests)", False)]
    mixed = tmp_path / "mixed.test.mjs"
    mixed.write_text(
        header
        + "test('fine', () => {});\n"
        + "test('skipped', { skip: true }, () => {});\n"
        + "test('later', { todo: true }, () => {});\n"
        + "test('broken #1', () => { throw new Error('boom'); });\n"
    )
    outcomes = {r.name: r.passed for r in run_file(node, mixed)}
    assert outcomes == {"fine": True, "skipped": False, "later": False, "broken #1": False}
    broken = tmp_path / "broken.test.mjs"
    broken.write_text(header + "test('never runs', () => {\n")  # a syntax error
    assert [(r.name, r.passed) for r in run_file(node, broken)] == [("(no tests)", False)]
