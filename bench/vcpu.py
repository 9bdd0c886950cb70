#!/usr/bin/env python3
"""Every vCPU (issue 26): the processor's core, sequential and concurrent, under CPU shares.

    .venv/bin/python bench/vcpu.py [--rounds 10] [--iterations 5]     (as root: cgroups, ~1 min/round)
    .local/venvs/bench/bin/python bench/vcpu.py --chart                 (docs/benchmarks/vcpu.png)

The 12 MP JPEG of bench/inputs.py and the shipped default variants (bench/defaults.py), through
``imaging.process_image`` (the Lambda's code), each configuration in a fresh process inside a
cgroup v1 ``cpu`` group whose CFS quota is the share (bench/lambda_memory.py's ``CpuQuota``;
1,769 MB is one vCPU). Every round runs every configuration once, in a rotated order, so drift
on the shared machine spreads over all of them; a configuration's figure is the median over
rounds of its per-process median, a ratio the median of its per-round ratios, and its spread
``(max - min) / median`` of those per-round values.

Configurations: sequential (``workers=1``) and concurrent (``workers=2``, what the processor
chooses from ``processor/cpus.py``) at shares 1.0, 1.5 and 2.0; concurrent with two workers at
1.0 (what over-subscription costs); the handler's own choice at the memory sizes the cost table
lists. A ``stages`` process times each task of the core one after the other at 1.0 (decode with
orientation and colour mode; each resize step; each encode; the placeholder), from which the
bounds are computed: Amdahl (the decode serial, the rest divided by the share), the longest
chain (decode, the resizes down to a size, that size's longest encode), and a simulation of the
pool's list scheduling at 2 and 3 workers. A 3-vCPU share cannot be measured on this 2-core
machine: only its bound is reported.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))

import cost_model  # noqa: E402
import defaults  # noqa: E402
import inputs  # noqa: E402
from lambda_memory import ONE_VCPU_MB, PERIOD_US, CpuQuota, cgroup_problem  # noqa: E402

INPUT = next(spec for spec in inputs.FULL_CLASSES if spec.name == "jpeg_12mp")
COMPARED_SHARES = (1.0, 1.5, 2.0)
BOUND_SHARES = (1.0, 1.5, 2.0, 3.0)
MEMORY_SIZES = (1024, 1536, 1769, 2048, 2654, 3008, 3538)
OUT = REPO / "docs" / "benchmarks" / "vcpu.json"
CHART = REPO / "docs" / "benchmarks" / "vcpu.png"


# -- in the child process (inside the cgroup) --------------------------------------------------


def child(job: dict[str, Any]) -> dict[str, Any]:
    from processor import imaging

    data = Path(job["input"]).read_bytes()
    specs = [imaging.VariantSpec(**entry) for entry in defaults.shipped_variants()]
    limits = imaging.Limits()
    if job["mode"] == "stages":
        runs = [stage_times(data, specs, limits) for _ in range(1 + job["iterations"])][1:]
        return {"stages_ms": {key: statistics.median(run[key] for run in runs) for key in runs[0]}}
    if job["mode"] == "avif_threads":
        return avif_threads(data, specs, limits, job["iterations"])
    wall, cpu, timings = [], [], []
    for index in range(1 + job["iterations"]):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = imaging.process_image(data, specs, limits, workers=job["workers"])
        if index:
            wall.append((time.perf_counter() - started) * 1000.0)
            cpu.append((time.process_time() - started_cpu) * 1000.0)
            timings.append(result.timings_ms)
    return {
        "wall_ms": statistics.median(wall),
        "cpu_ms": statistics.median(cpu),
        "timings_ms": {key: statistics.median(t[key] for t in timings) for key in timings[0]},
    }


def stage_times(data: bytes, specs: list[Any], limits: Any) -> dict[str, float]:
    """Each task of the core, one after the other, as the concurrent path runs them."""
    from processor import imaging, placeholder

    times: dict[str, float] = {}
    started = time.perf_counter()
    decoded, _, orientation, stored = imaging.decode(data, specs, limits)
    icc = decoded.info.get("icc_profile")
    upright = imaging.normalise_mode(imaging.apply_orientation(decoded, orientation))
    upright.info = {}
    times["decode"] = _since(started)
    size = imaging.oriented_size(stored, orientation)
    resized, current, notes = {}, upright, []
    for position, spec in enumerate(imaging.resize_order(specs)):
        started = time.perf_counter()
        current = imaging.resize_step(current, position, spec, size, icc, notes)
        times[f"resize {spec.name}"] = times.get(f"resize {spec.name}", 0.0) + _since(started)
        resized[spec.name] = current
    for spec in specs:
        started = time.perf_counter()
        imaging.encode(resized[spec.name].copy(), spec)
        times[f"encode {spec.name} {spec.format}"] = _since(started)
    smallest = min(specs, key=lambda spec: spec.max_edge).name
    started = time.perf_counter()
    placeholder.make_placeholder(resized[smallest], size)
    times["placeholder"] = _since(started)
    return times


def avif_threads(data: bytes, specs: list[Any], limits: Any, iterations: int) -> dict[str, Any]:
    """The large AVIF's encode (the end of the longest chain) with libavif's max_threads 1 and 2,
    interleaved: wall, CPU and whether the bytes are the same."""
    import io

    from processor import imaging

    large = max((spec for spec in specs if spec.format == "avif"), key=lambda spec: spec.max_edge)
    decoded, _, orientation, stored = imaging.decode(data, specs, limits)
    upright = imaging.normalise_mode(imaging.apply_orientation(decoded, orientation))
    size = imaging.target_size(*imaging.oriented_size(stored, orientation), large.max_edge)
    image = imaging.resize_to(upright, size, "avif")
    wall: dict[int, list[float]] = {1: [], 2: []}
    digests: dict[int, set[str]] = {1: set(), 2: set()}
    for _ in range(1 + iterations):
        for threads in (1, 2):
            buffer = io.BytesIO()
            started = time.perf_counter()
            image.save(
                buffer,
                "AVIF",
                quality=large.quality,
                speed=large.avif_speed,
                subsampling="4:2:0",
                max_threads=threads,
            )
            wall[threads].append(_since(started))
            digests[threads].add(hashlib.sha256(buffer.getvalue()).hexdigest())
    return {
        "wall_ms": {str(t): statistics.median(values[1:]) for t, values in wall.items()},
        "same_bytes": len(digests[1] | digests[2]) == 1,
    }


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


# -- bounds from the stage times ----------------------------------------------------------------


def bounds(stages: dict[str, float], shares: tuple[float, ...]) -> dict[str, Any]:
    """Amdahl, longest chain and (integer shares) the pool's list schedule, in ms and speedup."""
    serial = stages["decode"]
    total = sum(stages.values())
    sizes = [key.split(" ", 1)[1] for key in stages if key.startswith("resize ")]
    ready, clock = {}, serial
    for name in sizes:
        clock += stages[f"resize {name}"]
        ready[name] = clock
    encodes = {key: value for key, value in stages.items() if key.startswith("encode ")}
    chain = max(
        [ready[key.split(" ")[1]] + value for key, value in encodes.items()]
        + [ready[sizes[-1]] + stages["placeholder"]]
    )
    result: dict[str, Any] = {
        "sequential_ms": round(total, 1),
        "serial_ms": round(serial, 1),
        "longest_chain_ms": round(chain, 1),
    }
    for share in shares:
        amdahl = serial + (total - serial) / share
        bound = max(amdahl, chain) if share > 1 else total
        entry = {
            "amdahl_ms": round(amdahl, 1),
            "bound_ms": round(bound, 1),
            "bound_speedup": round(total / bound, 3),
        }
        if share == int(share) and share > 1:
            scheduled = list_schedule(serial, sizes, stages, ready, int(share))
            entry.update(
                list_schedule_ms=round(scheduled, 1), list_speedup=round(total / scheduled, 3)
            )
        result[f"{share:g}"] = entry
    return result


def list_schedule(
    serial: float, sizes: list[str], stages: dict[str, float], ready: dict[str, float], workers: int
) -> float:
    """Finish time of the pool (FIFO by release time, then submission) on ``workers`` CPUs."""
    chain_end = ready[sizes[-1]]
    tasks = []  # (release, submission, duration)
    for name in sizes:
        for key, value in stages.items():
            if key.startswith(f"encode {name} "):
                tasks.append((ready[name], len(tasks), value))
    tasks.append((ready[sizes[-1]], len(tasks), stages["placeholder"]))
    free = [chain_end] + [serial] * (workers - 1)  # one thread runs the chain
    for release, _, duration in sorted(tasks):
        thread = min(range(workers), key=lambda index: free[index])
        free[thread] = max(free[thread], release) + duration
    return max(free)


# -- the parent -----------------------------------------------------------------------------------


def configurations() -> list[dict[str, Any]]:
    from processor import cpus

    configs = [
        {"key": "stages@1", "share": 1.0, "mode": "stages", "workers": 1},
        {"key": "avif_threads@2", "share": 2.0, "mode": "avif_threads", "workers": 1},
    ]
    for share in COMPARED_SHARES:
        configs.append({"key": f"sequential@{share:g}", "share": share, "workers": 1})
        configs.append({"key": f"concurrent@{share:g}", "share": share, "workers": 2})
    for memory in MEMORY_SIZES:
        share = memory / ONE_VCPU_MB
        workers = cpus.worker_count(None, os.cpu_count(), memory)
        if any(abs(share - s) < 0.005 for s in COMPARED_SHARES):
            continue  # 1769, 2654 and 3538 MB are the compared shares' handler choice
        configs.append({"key": f"memory@{memory}", "share": share, "workers": workers})
    for config in configs:
        config.setdefault("mode", "core")
    return configs


class WeightedQuota(CpuQuota):
    """A quota group with a CFS weight (``cpu.shares``) above the default 1,024, so that on a
    machine busy with other work the group gets its quota (a Lambda's share is its own)."""

    def __init__(self, name: str, fraction: float, shares: int) -> None:
        super().__init__(name, fraction)
        self.shares = shares

    def __enter__(self) -> WeightedQuota:
        super().__enter__()
        (self.path / "cpu.shares").write_text(str(self.shares))
        return self


def run_child(
    config: dict[str, Any], path: Path, iterations: int, shares: int = 1024
) -> dict[str, Any]:
    job = {"mode": config["mode"], "workers": config["workers"], "input": str(path)}
    job["iterations"] = iterations
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONPATH": str(REPO / "lambda_src")}
    name = f"sip-vcpu-{int(config['share'] * 1000)}"
    with WeightedQuota(name, config["share"], shares) as quota:
        completed = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(job)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            preexec_fn=quota.join,
            check=True,
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> float:
    return round((max(values) - min(values)) / statistics.median(values), 4)


def iqr(values: list[float]) -> float:
    """Interquartile range / median (less moved than ``spread`` by one disturbed round)."""
    quartiles = statistics.quantiles(values, n=4)
    return round((quartiles[2] - quartiles[0]) / statistics.median(values), 4)


def summarise(samples: dict[str, list[dict[str, Any]]], rounds: int) -> dict[str, Any]:
    stages = {
        key: round(statistics.median(s["stages_ms"][key] for s in samples["stages@1"]), 2)
        for key in samples["stages@1"][0]["stages_ms"]
    }
    threads = samples["avif_threads@2"]
    walls = {
        key: [s["wall_ms"] for s in runs]
        for key, runs in samples.items()
        if key.startswith(("sequential", "concurrent", "memory"))
    }
    avif = [s["wall_ms"]["1"] / s["wall_ms"]["2"] for s in threads]
    measured = {
        key: {
            "wall_ms": round(statistics.median(values), 1),
            "spread": spread(values),
            "iqr": iqr(values),
        }
        for key, values in walls.items()
    }
    bound = bounds(stages, BOUND_SHARES)
    speedups = {}
    for share in COMPARED_SHARES:
        ratios = [
            walls[f"sequential@{share:g}"][index] / walls[f"concurrent@{share:g}"][index]
            for index in range(rounds)
        ]
        median = statistics.median(ratios)
        speedups[f"{share:g}"] = {
            "measured_speedup": round(median, 3),
            "spread": spread(ratios),
            "iqr": iqr(ratios),
            "bound_speedup": bound[f"{share:g}"]["bound_speedup"],
            "of_bound": round(median / bound[f"{share:g}"]["bound_speedup"], 3),
        }
    overhead = [
        walls["concurrent@1"][index] / walls["sequential@1"][index] for index in range(rounds)
    ]
    return {
        "stages_ms_at_1_vcpu": stages,
        "bounds": bound,
        "speedup": speedups,
        "two_workers_at_1_vcpu": {
            "ratio_to_sequential": round(statistics.median(overhead), 3),
            "spread": spread(overhead),
            "iqr": iqr(overhead),
        },
        "large_avif_two_threads_at_2_vcpu": {
            "speedup": round(statistics.median(avif), 3),
            "spread": spread(avif),
            "iqr": iqr(avif),
            "same_bytes": all(s["same_bytes"] for s in threads),
        },
        "measured": measured,
        "memory": memory_rows(walls),
    }


def memory_rows(walls: dict[str, list[float]]) -> list[dict[str, Any]]:
    """Cost x latency per memory size, with the handler's worker count (docs/cost.md's model)."""
    from processor import cpus

    e2e = cost_model.load("e2e.json")
    rows = []
    for memory in MEMORY_SIZES:
        share = memory / ONE_VCPU_MB
        key = next(
            (
                f"concurrent@{s:g}" if s > 1 else f"sequential@{s:g}"
                for s in COMPARED_SHARES
                if abs(share - s) < 0.005
            ),
            f"memory@{memory}",
        )
        core = statistics.median(walls[key])
        duration = cost_model.processor_ms(core, e2e)
        compute = 1000 * memory / 1024 * math.ceil(duration) / 1000
        cost = (
            compute * cost_model.PRICE["lambda_gb_s_x86"]
            + 1000 * cost_model.PRICE["lambda_request"]
        )
        rows.append(
            {
                "memory_mb": memory,
                "cpu_share": round(share, 2),
                "workers": cpus.worker_count(None, os.cpu_count(), memory),
                "core_ms": round(core, 1),
                "processor_ms": round(duration, 1),
                "cost_per_1000": round(cost, 5),
                "cost_x_latency": cost * duration,
            }
        )
    base = next(row for row in rows if row["memory_mb"] == 1024)["cost_x_latency"]
    for row in rows:
        row["cost_x_latency_rel_1024"] = round(row.pop("cost_x_latency") / base, 3)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--shares", type=int, default=8192, help="cpu.shares of the quota groups (default 1024)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--chart", action="store_true", help="draw the chart from --out")
    parser.add_argument(
        "--resummarise", action="store_true", help="redo --out's summary from the kept samples"
    )
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if args.chart:
        draw_chart(json.loads(args.out.read_text()), CHART)
        return 0
    raw = REPO / ".local" / "bench" / "vcpu-samples.json"  # kept: a summary can be re-made
    if args.resummarise:
        result = json.loads(args.out.read_text())
        result.update(summarise(json.loads(raw.read_text()), result["rounds"]))
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        return 0
    if problem := cgroup_problem():
        print(problem, file=sys.stderr)
        return 2
    folder = REPO / ".local" / "bench" / "inputs"
    folder.mkdir(parents=True, exist_ok=True)
    path = inputs.ensure(INPUT, folder)
    configs = configurations()
    samples: dict[str, list[dict[str, Any]]] = {config["key"]: [] for config in configs}
    load_start, started = os.getloadavg(), time.monotonic()
    for round_index in range(args.rounds):
        shift = round_index % len(configs)
        for config in configs[shift:] + configs[:shift]:
            samples[config["key"]].append(run_child(config, path, args.iterations, args.shares))
        raw.write_text(json.dumps(samples))
        print(
            f"vcpu: round {round_index + 1}/{args.rounds} after {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    result = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "input": INPUT.label,
        "variants": defaults.shipped_label(),
        "method": (
            "imaging.process_image in a fresh process per configuration and round, inside a "
            f"cgroup v1 cpu group (CFS period {PERIOD_US // 1000} ms, quota = share of one CPU); median of "
            f"{args.iterations} timed calls after 1 warm-up; {args.rounds} rounds, configurations "
            "in a rotated order; figures are medians over rounds, ratios medians of per-round "
            "ratios, spread = (max - min) / median over rounds; the groups' cpu.shares "
            f"{args.shares} (a busy shared machine: the quota, not the neighbours, binds)"
        ),
        "cpus": os.cpu_count(),
        "loadavg_start": [round(value, 2) for value in load_start],
        "loadavg_end": [round(value, 2) for value in os.getloadavg()],
        "rounds": args.rounds,
        **summarise(samples, args.rounds),
        "samples": {
            key: [round(s["wall_ms"], 1) for s in runs]
            for key, runs in samples.items()
            if key.startswith(("sequential", "concurrent", "memory"))
        },
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({key: result[key] for key in ("speedup", "bounds", "memory")}, indent=2))
    return 0


def draw_chart(result: dict[str, Any], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    shares = [f"{share:g}" for share in BOUND_SHARES]
    bound = [result["bounds"][share]["bound_speedup"] for share in shares]
    measured = [result["speedup"].get(share, {}).get("measured_speedup") for share in shares]
    positions = range(len(shares))
    left.bar([p - 0.2 for p in positions], bound, 0.4, label="bound (Amdahl, longest chain)")
    left.bar(
        [p + 0.2 for p in positions],
        [value or 0 for value in measured],
        0.4,
        label="measured (sequential / concurrent)",
    )
    for position, value in zip(positions, measured, strict=True):
        if value is None:
            left.text(position + 0.2, 0.05, "not measurable\n(2 cores)", ha="center", fontsize=7)
    left.set_xticks(list(positions), [f"{share} vCPU" for share in shares])
    left.set_ylabel("speedup over the sequential core")
    left.set_title("12 MP JPEG, shipped variants")
    rows = result["memory"]
    right.plot([r["memory_mb"] for r in rows], [r["core_ms"] for r in rows], "o-", label="core ms")
    right.set_xlabel("processor memory (MB)")
    right.set_ylabel("core wall ms")
    twin = right.twinx()
    twin.plot(
        [r["memory_mb"] for r in rows],
        [r["cost_x_latency_rel_1024"] for r in rows],
        "s--",
        color="tab:red",
        label="cost x latency (1024 = 1)",
    )
    twin.set_ylabel("cost x latency, relative to 1024 MB")
    right.set_title("Handler's worker count per memory size")
    figure.legend(loc="lower center", ncol=3, fontsize=8)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    figure.savefig(target, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
