"""What every tier shares: a test's tier is its folder, and each tier's count has a floor.

The emulator and the stacks applied on it are a plugin of the emulator tiers only
(tests/support/stacks.py, registered by the conftest.py of tests/integration, tests/e2e and
tests/localcloud), so the unit and terraform tiers never import the emulator's code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

TIERS = ("unit", "terraform", "localcloud", "integration", "e2e")


@pytest.hookimpl(tryfirst=True)  # before -m / -k deselect anything
def pytest_collection_modifyitems(session: pytest.Session, items: list[pytest.Item]) -> None:
    """A test's tier is its folder: everything under tests/<tier>/ gets the <tier> marker.

    The tiers' counts are checked against their floors here too (see below).
    """
    tests_dir = Path(__file__).resolve().parent
    counts: dict[str, int] = {}
    for item in items:
        relative = Path(str(item.path)).resolve().relative_to(tests_dir)
        if relative.parts and relative.parts[0] in TIERS:
            item.add_marker(relative.parts[0])
            counts[relative.parts[0]] = counts.get(relative.parts[0], 0) + 1
    session.config.stash[_FLOOR_PROBLEMS] = tier_floor_problems(
        counts, tier_floors(), whole_tiers(session.config)
    )


# -- tier floors: a tier that collects fewer tests than tests/tier_floors.json fails the run ---
#
# Checked whenever a run collects whole tier folders (`make test`, `make test-fast`, `pytest
# tests/unit`; -m only deselects, so it still counts), not for a file, a node id or -k. A lost
# file, a broken parametrisation or a JS file without tests (each node test is one pytest test,
# see tests/unit/test_page_js.py) then fails CI instead of shrinking the suite silently. Raise a
# floor when a tier grows.

TIER_FLOORS_FILE = Path(
    os.environ.get("TIER_FLOORS_FILE") or Path(__file__).resolve().parent / "tier_floors.json"
)  # the variable is for tests/unit/test_tier_floors.py only
_FLOOR_PROBLEMS = pytest.StashKey[list[str]]()


def whole_tiers(config: pytest.Config) -> set[str]:
    """The tiers whose folder this run collects completely."""
    if config.getoption("keyword", ""):
        return set()
    tests_dir = Path(__file__).resolve().parent
    tiers: set[str] = set()
    for arg in config.args:
        if "::" in arg:
            continue
        path = (config.invocation_params.dir / arg).resolve()
        if path in (tests_dir, tests_dir.parent):
            tiers.update(TIERS)
        elif path.parent == tests_dir and path.name in TIERS:
            tiers.add(path.name)
    return tiers


def tier_floor_problems(
    counts: dict[str, int], floors: dict[str, int], tiers: set[str]
) -> list[str]:
    return [
        f"tests/{tier} collected {counts.get(tier, 0)} tests, fewer than its floor {floors[tier]}"
        f" ({TIER_FLOORS_FILE.name})"
        for tier in sorted(tiers)
        if counts.get(tier, 0) < floors[tier]
    ]


def tier_floors() -> dict[str, int]:
    floors = json.loads(TIER_FLOORS_FILE.read_text())
    if set(floors) != set(TIERS):
        raise pytest.UsageError(f"{TIER_FLOORS_FILE} must name exactly the tiers {TIERS}")
    return floors


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    problems = session.config.stash.get(_FLOOR_PROBLEMS, [])
    if problems and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for problem in terminalreporter.config.stash.get(_FLOOR_PROBLEMS, []):
        terminalreporter.write_line(f"TIER FLOOR: {problem}", red=True, bold=True)
