#!/usr/bin/env python3
"""The processor's resize core under CPU quotas that mimic Lambda's memory sizes (docs/cost.md).

    .venv/bin/python bench/lambda_memory.py [--rounds 3] [--out docs/benchmarks/lambda_memory.json]   (as root: cgroups)

Lambda gives a function CPU in proportion to its memory: 1,769 MB is one vCPU (AWS's
documented figure), so 1,024 MB is 58 % of one. This script cannot run Lambda; it runs
``bench/worker.py``'s ``core`` strategy (``imaging.process_image``, the Lambda's code) in a fresh
process inside a cgroup (v1 ``cpu`` controller, CFS period 100 ms) whose quota is
``memory / 1769`` of one CPU (capped at the machine's CPUs), and reports the median wall time
per image. What it does not model: Lambda's own scheduler and CPU model, the network stages
(head, get, put and the record updates are taken from the end-to-end benchmark, constant),
memory pressure, and cold starts. Rounds interleave the sizes so drift on the shared machine
spreads over all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent

import defaults  # noqa: E402  (bench/defaults.py: the shipped variant set)
import inputs  # noqa: E402  (bench/inputs.py: the seeded photo-like inputs)

CGROUP_ROOT = Path("/sys/fs/cgroup/cpu")
# CFS period of the quota groups. 10 ms: a task of ~150 ms then gets its share in fine slices;
# with the kernel's default 100 ms, where the period ends fell decided much of a run's time
# (bench/vcpu.py on a quiet machine: per-round ratio spreads 20-26 % at 100 ms, 4-6 % at 10 ms).
# BENCH_CFS_PERIOD_US overrides it; each JSON records the period it ran with.
PERIOD_US = int(os.environ.get("BENCH_CFS_PERIOD_US", "10000"))
ONE_VCPU_MB = 1769
MEMORY_SIZES = (256, 512, 768, 1024, 1536, 1769, 2048, 3008)
PROJECT_VARIANTS = defaults.shipped_variants()  # what a deployment makes (rules.json)
CLASSES = [spec for spec in inputs.FULL_CLASSES if spec.name in ("jpeg_12mp", "png_rgba")]


def cgroup_problem() -> str | None:
    """Why the CPU-quota groups cannot be made on this machine, or ``None`` when they can."""
    if not (CGROUP_ROOT / "cpu.cfs_quota_us").exists() or not os.access(CGROUP_ROOT, os.W_OK):
        return f"needs a writable cgroup v1 cpu controller at {CGROUP_ROOT} (root)"
    return None


def cpu_fraction(memory_mb: int) -> float:
    return min(memory_mb / ONE_VCPU_MB, float(os.cpu_count() or 1))


class CpuQuota:
    """A cgroup v1 ``cpu`` group with a CFS quota; processes join it at exec."""

    def __init__(self, name: str, fraction: float) -> None:
        self.path = CGROUP_ROOT / name
        self.fraction = fraction

    def __enter__(self) -> CpuQuota:
        self.path.mkdir(exist_ok=True)
        (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        self.set_fraction(self.fraction)
        return self

    def set_fraction(self, fraction: float) -> None:
        """The group's share of one CPU (its CFS quota per period); members keep running."""
        self.fraction = fraction
        (self.path / "cpu.cfs_quota_us").write_text(str(int(PERIOD_US * fraction)))

    def join(self) -> None:  # runs in the child between fork and exec
        (self.path / "tasks").write_text(str(os.getpid()))

    def throttled(self) -> dict[str, int]:
        stats = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        return {key: int(value) for key, value in stats.items()}

    def __exit__(self, *exc: object) -> None:
        self.path.rmdir()


def run_core(path: Path, quota: CpuQuota | None, iterations: int) -> dict[str, Any]:
    job = {
        "strategy": "core",
        "input": str(path),
        "variants": PROJECT_VARIANTS,
        "warmup": 1,
        "iterations": iterations,
    }
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO / "lambda_src")}
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench" / "worker.py"), json.dumps(job)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        preexec_fn=quota.join if quota else None,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=REPO / "docs" / "benchmarks" / "lambda_memory.json"
    )
    args = parser.parse_args(argv)
    if problem := cgroup_problem():
        print(problem, file=sys.stderr)
        return 2
    folder = REPO / ".local" / "bench" / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    paths = {spec.name: inputs.ensure(spec, folder) for spec in CLASSES}
    samples: dict[str, dict[str, list[float]]] = {spec.name: {} for spec in CLASSES}
    cpu: dict[str, dict[str, list[float]]] = {spec.name: {} for spec in CLASSES}
    started = time.monotonic()
    sizes: list[int | None] = [None, *MEMORY_SIZES]  # None: no quota (the machine's core)
    for round_index in range(args.rounds):
        order = sizes[round_index % len(sizes) :] + sizes[: round_index % len(sizes)]
        for spec in CLASSES:
            for memory in order:
                key = "unlimited" if memory is None else str(memory)
                if memory is None:
                    report = run_core(paths[spec.name], None, args.iterations)
                else:
                    with CpuQuota(f"sip-bench-{memory}", cpu_fraction(memory)) as quota:
                        report = run_core(paths[spec.name], quota, args.iterations)
                samples[spec.name].setdefault(key, []).append(statistics.median(report["wall_ms"]))
                cpu[spec.name].setdefault(key, []).append(statistics.median(report["cpu_ms"]))
        print(
            f"lambda_memory: round {round_index + 1}/{args.rounds} after "
            f"{time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    result = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "method": (
            "bench/worker.py core strategy (imaging.process_image, project variants) in a cgroup "
            f"v1 cpu group, CFS period {PERIOD_US} us, quota = memory/{ONE_VCPU_MB} of one CPU; "
            f"median of {args.iterations} timed calls after 1 warm-up per fresh process, "
            f"median over {args.rounds} interleaved rounds"
        ),
        "cpus": os.cpu_count(),
        "inputs": {spec.name: spec.label for spec in CLASSES},
        "core_ms": {
            name: {key: round(statistics.median(values), 1) for key, values in by_size.items()}
            for name, by_size in samples.items()
        },
        "core_cpu_ms": {
            name: {key: round(statistics.median(values), 1) for key, values in by_size.items()}
            for name, by_size in cpu.items()
        },
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["core_ms"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
