"""bench/vcpu.py's bounds (issue 26): Amdahl, the longest chain and the pool's list schedule,
computed from stage times, on hand-checked figures."""

from __future__ import annotations

from types import ModuleType

import pytest

from support import bench_scripts

pytestmark = pytest.mark.unit

# The figures at one vCPU (ms), split by task.
STAGES = {
    "decode": 45.0,
    "resize large": 30.0,
    "resize medium": 8.0,
    "resize thumb": 1.0,
    "encode large avif": 30.0,
    "encode large jpeg": 3.0,
    "encode medium avif": 7.0,
    "encode medium jpeg": 0.5,
    "encode thumb webp": 0.4,
    "encode thumb jpeg": 0.1,
    "placeholder": 3.0,
}


@pytest.fixture(scope="module")
def vcpu() -> ModuleType:
    return bench_scripts.load("vcpu")


def test_bounds_from_stage_times(vcpu: ModuleType) -> None:
    bounds = vcpu.bounds(STAGES, (1.0, 1.5, 2.0, 3.0))
    assert bounds["sequential_ms"] == 128.0
    assert bounds["serial_ms"] == 45.0
    assert bounds["longest_chain_ms"] == 105.0  # decode + resize large + encode large avif
    assert bounds["1"]["bound_speedup"] == 1.0
    assert bounds["1.5"]["amdahl_ms"] == pytest.approx(45 + 83 / 1.5, abs=0.05)
    assert bounds["1.5"]["bound_ms"] == 105.0  # the chain is longer than Amdahl's time
    assert bounds["2"]["bound_speedup"] == pytest.approx(128 / 105, abs=0.001)
    assert bounds["3"]["bound_ms"] == 105.0


def test_list_schedule_is_never_below_the_bound_and_at_one_thread_is_the_sum(
    vcpu: ModuleType,
) -> None:
    bounds = vcpu.bounds(STAGES, (2.0, 3.0))
    for share in ("2", "3"):
        assert bounds[share]["list_schedule_ms"] >= bounds[share]["bound_ms"]
    sizes = ["large", "medium", "thumb"]
    ready = {"large": 75.0, "medium": 83.0, "thumb": 84.0}
    assert vcpu.list_schedule(45.0, sizes, STAGES, ready, 1) == pytest.approx(128.0)
    # two threads: the chain ends at 84, the other thread encodes from 75 on: large avif
    # (75-105), then the rest behind it; the chain's thread takes over at 84
    assert vcpu.list_schedule(45.0, sizes, STAGES, ready, 2) == pytest.approx(105.0)
