"""`make test`: the whole suite as two pytest runs side by side, so CI's two cores both work.

    .venv/bin/python -m local.test_tiers [pytest options...]

The plan tiers (unit, terraform) keep a core busy with ``terraform plan`` while the emulator
tiers (localcloud, integration, e2e) spend much of their time waiting on the emulator, its
Lambda executor and Chromium. Each group is a whole set of tier folders, so the tier floors of
tests/conftest.py are still checked in both. The emulator group streams to the terminal; the
plan group's output is kept in ``.local/test-logs/plan-tiers.log`` and printed when it ends.
The run fails when either group fails, collects nothing (pytest's exit code 5) or is
interrupted.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOGS = REPO / ".local" / "test-logs"
PLAN_TIERS = ("tests/unit", "tests/terraform")
EMULATOR_TIERS = ("tests/localcloud", "tests/integration", "tests/e2e")


def pytest_command(folders: tuple[str, ...], extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", *folders, *extra]


def verdict(name: str, code: int) -> str | None:
    """None when the group passed, else why the run fails."""
    if code == 0:
        return None
    if code == 5:
        return f"{name}: no tests were collected (pytest exit code 5)"
    return f"{name}: pytest exit code {code}"


def main(extra: list[str]) -> int:
    LOGS.mkdir(parents=True, exist_ok=True)
    plan_log = LOGS / "plan-tiers.log"
    started = time.monotonic()
    with plan_log.open("w") as sink:
        plan = subprocess.Popen(
            pytest_command(PLAN_TIERS, extra), cwd=REPO, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            emulator_code = subprocess.call(pytest_command(EMULATOR_TIERS, extra), cwd=REPO)
            plan_code = plan.wait()
        except KeyboardInterrupt:
            plan.terminate()
            plan.wait()
            raise
    print(f"\n----- {', '.join(PLAN_TIERS)} ({plan_log.relative_to(REPO)}) -----", flush=True)
    print(plan_log.read_text(), end="", flush=True)
    failures = [
        problem
        for problem in (
            verdict("emulator tiers", emulator_code),
            verdict("plan tiers", plan_code),
        )
        if problem
    ]
    print(f"\nwhole suite: {time.monotonic() - started:.0f} s, both groups side by side")
    for problem in failures:
        print(f"FAILED {problem}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
