"""bench/cost_model.py (docs/cost.md's tables) runs on the committed measurements and adds up."""

from __future__ import annotations

import subprocess
import sys

from support.pipeline import REPO


def test_the_cost_model_prints_its_three_tables() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "bench" / "cost_model.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "| **total** |" in out
    assert "| 1769 | 1.00 |" in out  # the memory table, one vCPU
    assert "| enable_vpc (own VPC) | $0.0000 |" in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "$" in line]
    parts = [line for line in rows if "per 1,000" not in line][:10]
    values = [float(line.rsplit("$", 1)[1].strip(" |*")) for line in parts]
    total = float(next(line for line in rows if "**total**" in line).rsplit("$", 1)[1].strip(" |*"))
    assert abs(sum(values) - total) < 0.001
