"""How many CPUs this process may really use: the image core's ``workers`` (issue 26).

A machine's CPU count says little: a container or a cgroup grants a share of them (a CFS quota),
an affinity mask a subset, and Lambda a share in proportion to memory (1,769 MB is one vCPU)
inside a VM that shows at least two. The count here is the smallest of what is known, rounded
up (1.5 CPUs of quota is two threads: the half is used), and at least 1:

* the cgroup CPU quota of this process's group and of each group above it: v2 ``cpu.max``
  (``"max 100000"`` is no limit, ``"150000 100000"`` one and a half), v1
  ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (``-1`` is no limit);
* ``os.sched_getaffinity``;
* ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE`` / 1769, when set (Lambda's documented share).

Pure parsing (:func:`quota_from_cgroup`, :func:`worker_count`) on paths and strings given by the
caller; :func:`detect_workers` is the one function that reads the real files, once at cold start.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

CGROUP_ROOT = Path("/sys/fs/cgroup")
SELF_CGROUP = Path("/proc/self/cgroup")
ONE_VCPU_MB = 1769  # AWS: a Lambda function has one full vCPU at 1,769 MB
_V1_CPU_CONTROLLERS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def quota_from_cgroup(root: Path, self_cgroup: str) -> float | None:
    """The tightest CPU quota (in CPUs) on this process's cgroup path and its ancestors, or
    ``None`` when none is set or nothing is readable. ``self_cgroup`` is ``/proc/self/cgroup``'s
    text; a group directory that does not exist (a namespaced view) falls back to ``root``."""
    quotas = [
        quota
        for directory in _group_directories(root, self_cgroup)
        if (quota := read_quota(directory)) is not None
    ]
    return min(quotas) if quotas else None


def read_quota(directory: Path) -> float | None:
    """One group's quota in CPUs: v2 ``cpu.max``, else v1 ``cpu.cfs_quota_us``; ``None``
    for no limit, a missing file or one that does not parse."""
    try:
        if (directory / "cpu.max").is_file():
            quota, _, period = (directory / "cpu.max").read_text().strip().partition(" ")
            return None if quota == "max" else int(quota) / int(period or "100000")
        if (directory / "cpu.cfs_quota_us").is_file():
            quota_us = int((directory / "cpu.cfs_quota_us").read_text().strip())
            period_us = int((directory / "cpu.cfs_period_us").read_text().strip())
            return None if quota_us < 0 else quota_us / period_us
    except (OSError, ValueError, ZeroDivisionError):
        return None
    return None


def _group_directories(root: Path, self_cgroup: str) -> list[Path]:
    directories: list[Path] = []
    for line in self_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, group = rest.partition(":")
        if not group:
            continue
        if hierarchy == "0" and controllers == "":  # v2 (unified)
            base = root if (root / "cgroup.controllers").exists() else root / "unified"
        elif controllers in _V1_CPU_CONTROLLERS:
            base = next(
                (root / name for name in _V1_CPU_CONTROLLERS if (root / name).is_dir()), root
            )
        else:
            continue
        directories.extend(_with_ancestors(base, group))
    return directories


def _with_ancestors(base: Path, group: str) -> list[Path]:
    parts = PurePosixPath(group).parts[1:]  # drop the leading "/"
    paths = [base.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]
    existing = [path for path in paths if path.is_dir()]
    return existing or [base]


def worker_count(quota: float | None, affinity: int | None, memory_mb: int | None = None) -> int:
    """CPUs to use: the smallest of quota, affinity and Lambda's memory share, rounded up,
    at least 1 (``None`` for what is not known)."""
    limits = [float(value) for value in (quota, affinity) if value is not None]
    if memory_mb is not None and memory_mb > 0:
        limits.append(memory_mb / ONE_VCPU_MB)
    if not limits:
        return 1
    return max(1, math.ceil(min(limits) - 1e-9))


def detect_workers(environ: Mapping[str, str]) -> int:
    """:func:`worker_count` of this process (reads the cgroup files and the affinity mask)."""
    try:
        self_cgroup = SELF_CGROUP.read_text()
    except OSError:
        self_cgroup = ""
    memory = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return worker_count(
        quota_from_cgroup(CGROUP_ROOT, self_cgroup),
        affinity(),
        int(memory) if memory.isdigit() else None,
    )


def affinity() -> int | None:
    """CPUs this process may be scheduled on (``os.sched_getaffinity``, else ``os.cpu_count``)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()
