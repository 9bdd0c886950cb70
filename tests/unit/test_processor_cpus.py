"""Issue 26: the worker count the processor gives the image core (processor/cpus.py), read
from fake cgroup trees: v1 and v2 quotas, "max", -1, nested groups, absent or broken files."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processor import cpus

pytestmark = pytest.mark.unit

V2_SELF = "0::/lambda/function\n"
V1_SELF = "4:memory:/x\n3:cpu,cpuacct:/bench/group\n2:cpuset:/\n"


def v2_tree(root: Path, quotas: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpu memory\n")
    for group, value in quotas.items():
        directory = root / group
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cpu.max").write_text(value + "\n")
    return root


def v1_tree(root: Path, quotas: dict[str, tuple[int, int]]) -> Path:
    controller = root / "cpu,cpuacct"
    controller.mkdir(parents=True, exist_ok=True)
    for group, (quota, period) in quotas.items():
        directory = controller / group
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        (directory / "cpu.cfs_period_us").write_text(f"{period}\n")
    return root


def test_v2_quota_of_the_own_group(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, {"": "max 100000", "lambda/function": "150000 100000"})
    assert cpus.quota_from_cgroup(root, V2_SELF) == 1.5


def test_v2_max_everywhere_is_no_limit(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, {"": "max 100000", "lambda": "max 100000"})
    assert cpus.quota_from_cgroup(root, V2_SELF) is None


def test_v2_a_tighter_parent_wins(tmp_path: Path) -> None:
    root = v2_tree(tmp_path, {"lambda": "58000 100000", "lambda/function": "200000 100000"})
    assert cpus.quota_from_cgroup(root, V2_SELF) == pytest.approx(0.58)


def test_v2_namespaced_view_reads_the_root_file(tmp_path: Path) -> None:
    """Inside a cgroup namespace the own group is the root: its path does not exist there."""
    root = v2_tree(tmp_path, {"": "50000 100000"})
    assert cpus.quota_from_cgroup(root, "0::/not/visible/here\n") == 0.5


def test_v1_quota_and_period(tmp_path: Path) -> None:
    root = v1_tree(tmp_path, {"": (-1, 100000), "bench/group": (200000, 100000)})
    assert cpus.quota_from_cgroup(root, V1_SELF) == 2.0


def test_v1_minus_one_is_no_limit(tmp_path: Path) -> None:
    root = v1_tree(tmp_path, {"": (-1, 100000), "bench/group": (-1, 100000)})
    assert cpus.quota_from_cgroup(root, V1_SELF) is None


def test_v1_plain_cpu_controller_directory(tmp_path: Path) -> None:
    group = tmp_path / "cpu" / "g"
    group.mkdir(parents=True)
    (group / "cpu.cfs_quota_us").write_text("25000")
    (group / "cpu.cfs_period_us").write_text("50000")
    assert cpus.quota_from_cgroup(tmp_path, "1:cpu:/g\n") == 0.5


def test_absent_files_broken_values_and_no_cgroup_line_are_no_limit(tmp_path: Path) -> None:
    assert cpus.quota_from_cgroup(tmp_path, V2_SELF) is None
    assert cpus.quota_from_cgroup(tmp_path, "") is None
    broken = v2_tree(tmp_path / "broken", {"lambda/function": "lots 100000"})
    assert cpus.quota_from_cgroup(broken, V2_SELF) is None
    zero = v2_tree(tmp_path / "zero", {"lambda/function": "100000 0"})
    assert cpus.quota_from_cgroup(zero, V2_SELF) is None


@pytest.mark.parametrize(
    ("quota", "affinity", "memory", "expected"),
    [
        (None, None, None, 1),
        (None, 2, None, 2),
        (1.5, 2, None, 2),  # one and a half CPUs: two threads use the half
        (1.0, 4, None, 1),  # exactly one CPU: the sequential path
        (0.58, 2, None, 1),
        (None, 2, 1024, 1),  # Lambda at 1,024 MB shows two CPUs but grants 0.58 of one
        (None, 2, 1769, 1),
        (None, 2, 3008, 2),
        (None, 6, 10240, 6),
        (3.0, 6, 10240, 3),
        (None, 2, 0, 2),  # an unset or odd memory size is ignored
    ],
)
def test_worker_count(quota, affinity, memory, expected: int) -> None:
    assert cpus.worker_count(quota, affinity, memory) == expected


@given(
    quota=st.none() | st.floats(0.01, 64),
    affinity=st.none() | st.integers(1, 64),
    memory=st.none() | st.integers(128, 10240),
)
def test_worker_count_never_exceeds_a_known_limit_rounded_up(quota, affinity, memory) -> None:
    workers = cpus.worker_count(quota, affinity, memory)
    assert workers >= 1
    for limit in (quota, affinity, None if memory is None else memory / cpus.ONE_VCPU_MB):
        if limit is not None:
            assert workers <= max(1, -(-limit // 1))


def test_detect_workers_reads_lambdas_memory_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cpus, "CGROUP_ROOT", Path("/nonexistent-cgroup-root"))
    assert cpus.detect_workers({"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024"}) == 1
    assert cpus.detect_workers({}) == cpus.worker_count(None, cpus.affinity(), None)
