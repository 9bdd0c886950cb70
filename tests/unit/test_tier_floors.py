"""The tier floors (tests/tier_floors.json, checked in tests/conftest.py) fail a run that
collects fewer tests than a floor, and only for tiers the run collects whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
FLOORS = json.loads((TESTS / "tier_floors.json").read_text())


def collect(tmp_path: Path, floors: dict[str, int], *args: str) -> subprocess.CompletedProcess[str]:
    floors_file = tmp_path / "floors.json"
    floors_file.write_text(json.dumps(floors))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=TESTS.parent,
        env={**os.environ, "TIER_FLOORS_FILE": str(floors_file)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_floors_name_every_tier() -> None:
    assert set(FLOORS) == {"unit", "terraform", "localcloud", "integration", "e2e"}
    assert all(isinstance(v, int) and v > 0 for v in FLOORS.values())


def test_a_tier_below_its_floor_fails_the_run(tmp_path: Path) -> None:
    result = collect(tmp_path, {**FLOORS, "localcloud": 10_000}, "tests/localcloud")
    assert result.returncode == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "TIER FLOOR: tests/localcloud collected" in result.stdout
    assert "fewer than its floor 10000" in result.stdout


def test_a_tier_at_its_floor_passes(tmp_path: Path) -> None:
    result = collect(tmp_path, FLOORS, "tests/localcloud")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "TIER FLOOR" not in result.stdout


def test_a_single_file_or_keyword_is_not_held_to_the_tier_floor(tmp_path: Path) -> None:
    high = {**FLOORS, "localcloud": 10_000}
    one_file = collect(tmp_path, high, "tests/localcloud/test_sidecar.py")
    assert one_file.returncode == 0, one_file.stdout[-2000:]
    keyword = collect(tmp_path, high, "tests/localcloud", "-k", "sidecar")
    assert keyword.returncode == 0, keyword.stdout[-2000:]
