"""`make test` runs the suite as two pytest runs side by side (local/test_tiers.py)."""

from __future__ import annotations

import json
from pathlib import Path

from local import test_tiers


def test_the_two_groups_are_every_tier_folder_once() -> None:
    floors = json.loads((test_tiers.REPO / "tests" / "tier_floors.json").read_text())
    groups = [*test_tiers.PLAN_TIERS, *test_tiers.EMULATOR_TIERS]
    assert sorted(Path(folder).name for folder in groups) == sorted(floors)
    assert all((test_tiers.REPO / folder).is_dir() for folder in groups)


def test_a_group_that_collects_nothing_or_fails_fails_the_run() -> None:
    assert test_tiers.verdict("plan tiers", 0) is None
    assert "no tests were collected" in (test_tiers.verdict("plan tiers", 5) or "")
    assert "exit code 1" in (test_tiers.verdict("emulator tiers", 1) or "")
    assert "exit code 2" in (test_tiers.verdict("emulator tiers", 2) or "")
