#!/usr/bin/env python3
"""End to end as a user waits, on the local emulator (a few minutes; as root: cgroups).

    .venv/bin/python bench/e2e.py [--uploads 30] [--vcpu 0.58,1.0] [--concurrency 1,2,4,8]

One command re-runs everything: it starts its own LocalStack (port 4568, state in
.local/bench/e2e, so neither `make up` on 4566 nor the tests on 4567 are touched), builds the
artefacts into .local/bench/e2e/dist, applies the root stack with the name prefix ``sbe``, then:

* **latency as a user waits**: from the presigned PUT finishing to the first read of the upload
  record (the record the page's status poll reads; read every 25 ms) that shows it ``done``,
  warm, one upload at a time, for the 12 MP phone JPEG and the 12 MP phone-bitrate HEIC (bench/inputs.py),
  each under every ``--vcpu`` CPU share, interleaved (inputs and shares rotate every round);
* the processor runs under that share: its execution environment's processes (found by their
  ``AWS_LAMBDA_FUNCTION_NAME``) are moved into a cgroup v1 ``cpu`` group whose CFS quota is
  set before each upload (bench/lambda_memory.py's quota method); the default shares are the
  default ``processor_memory_mb`` (variables.tf) / 1769 MB, Lambda's one vCPU, and 1.0. A
  sample during which a new environment appeared is left out (it was neither warm nor capped);
* where the time goes, per upload: the processor's per-stage timings (its ``upload processed``
  JSON log line) and the rest (S3 event delivery, the asynchronous invoke): a breakdown at p50;
* throughput at increasing concurrency, without a CPU cap (each new environment would need its
  own group), and the executor's REPORT lines; terraform apply and destroy durations.

It compares p50/p95 with the page's first status poll (``initialDelayMs`` of web/js/uploads.js),
always destroys the stack and stops its emulator (``--purge``), writes docs/benchmarks/e2e.json
(``bench/report.py`` adds its summary to docs/benchmarks.md), rewrites the table between
``<!-- e2e-latency:begin -->`` and ``<!-- e2e-latency:end -->`` in docs/benchmarks.md and draws
docs/benchmarks/e2e.png (with the benchmark venv's matplotlib, ``bash bench/setup.sh``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))  # the local package (local.stack); bench/ is this script's folder

import inputs  # noqa: E402
import lambda_memory  # noqa: E402  (the cgroup v1 CPU-quota method)

PORT = 4568
WORK = REPO / ".local" / "bench" / "e2e"
INPUTS = REPO / ".local" / "bench" / "full" / "inputs"
PREFIX = "sbe"
FAKE = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
REPORT_LINE = re.compile(
    r"REPORT RequestId: \S+\s+Duration: (?P<duration>[\d.]+) ms.*?"
    r"Max Memory Used: (?P<memory>\d+) MB(?:.*?Init Duration: (?P<init>[\d.]+) ms)?"
)
DOC = REPO / "docs" / "benchmarks.md"
DOC_BEGIN = "<!-- e2e-latency:begin -->"
DOC_END = "<!-- e2e-latency:end -->"
FINISHED = ("done", "rejected", "failed")
POLL_SECONDS = 0.025  # how often the benchmark reads the record while it waits
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The handler's own stages (processor/handler.py); anything else in timings_ms is inside "process".
HANDLER_STAGES = ("head", "record", "get", "process", "put")
REST = "delivery_invoke"  # PUT finished -> handler running: S3 event, async invoke, runtime
INPUT_CLASSES = {"jpeg": inputs.FULL_CLASSES[0], "heic": inputs.PHONE_HEIC}


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 1)


def timed(function, *args, **kwargs) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, round(time.perf_counter() - started, 2)


def rotated(items: Sequence[Any], by: int) -> list[Any]:
    by %= len(items)
    return [*items[by:], *items[:by]]


def default_vcpu(variables_tf: Path = REPO / "variables.tf") -> float:
    """The CPU share of the default ``processor_memory_mb``: memory / 1769 MB of one vCPU."""
    match = re.search(
        r'variable "processor_memory_mb" \{.*?default\s*=\s*(\d+)', variables_tf.read_text(), re.S
    )
    if not match:
        raise ValueError(f"no processor_memory_mb default in {variables_tf}")
    return round(int(match[1]) / lambda_memory.ONE_VCPU_MB, 2)


def first_poll_ms(uploads_js: Path = REPO / "web" / "js" / "uploads.js") -> int:
    """When the page first asks for the status after the PUT (its polling's initialDelayMs)."""
    match = re.search(r"initialDelayMs:\s*(\d+)", uploads_js.read_text())
    if not match:
        raise ValueError(f"no initialDelayMs in {uploads_js}")
    return int(match[1])


def function_pids(function_name: str, proc: Path = Path("/proc")) -> set[int]:
    """The processes whose environment names ``function_name`` (the executor's environments)."""
    needle = f"\0AWS_LAMBDA_FUNCTION_NAME={function_name}\0".encode()
    found: set[int] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = b"\0" + (entry / "environ").read_bytes()
        except OSError:  # gone, or a kernel thread
            continue
        if needle in environ + b"\0":
            found.add(int(entry.name))
    return found


def cpu_ms(pids: Iterable[int], proc: Path = Path("/proc")) -> float:
    """User + system CPU time of ``pids`` (all their threads), ms, 1/CLK_TCK resolution."""
    total = 0
    for pid in pids:
        try:
            fields = (proc / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of proc(5))
    return total * 1000 / CLOCK_TICKS


class SharedQuota(lambda_memory.CpuQuota):
    """A CPU-quota group that running processes are moved into and whose share can change."""

    def adopt(self, pids: Iterable[int]) -> None:
        for pid in pids:
            try:
                (self.path / "cgroup.procs").write_text(str(pid))
            except ProcessLookupError:
                continue

    def holds(self, pid: int) -> bool:
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return True  # gone: it ran nothing outside the group
        relative = "/" + self.path.relative_to(lambda_memory.CGROUP_ROOT).as_posix()
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "cpu" in controllers.split(","):
                return path == relative
        return False

    def release(self) -> None:
        """Every member back to the root group (no cap)."""
        root = lambda_memory.CGROUP_ROOT / "cgroup.procs"
        for pid in (self.path / "cgroup.procs").read_text().split():
            try:
                root.write_text(pid)
            except ProcessLookupError:
                continue

    def __exit__(self, *exc: object) -> None:
        self.release()
        super().__exit__(*exc)


class Stack:
    def __init__(self, endpoint: str, outputs: Mapping[str, Any]) -> None:
        import boto3
        import requests

        self.requests = requests
        self.outputs = outputs
        self.s3 = boto3.client("s3", endpoint_url=endpoint, **FAKE)
        self.logs = boto3.client("logs", endpoint_url=endpoint, **FAKE)
        self.dynamodb = boto3.client(
            "dynamodb", endpoint_url=outputs["emulator_dynamodb_endpoint"] or endpoint, **FAKE
        )

    def put(self, body: bytes, content_type: str, filename: str) -> tuple[str, float]:
        """Ask for a presigned PUT and upload: (upload id, wall time the PUT finished)."""
        grant = self.requests.post(
            f"{self.outputs['api_url']}/uploads",
            json={"contentType": content_type, "size": len(body), "filename": filename},
            timeout=30,
        )
        grant.raise_for_status()
        grant_body = grant.json()
        response = self.requests.request(
            grant_body["method"],
            grant_body["uploadUrl"],
            data=body,
            headers=grant_body["headers"],
            timeout=60,
        )
        response.raise_for_status()
        return grant_body["id"], time.time()

    def record(self, upload_id: str) -> dict[str, Any]:
        item = self.dynamodb.get_item(
            TableName=self.outputs["uploads_table"],
            Key={"id": {"S": upload_id}},
            ConsistentRead=True,
        ).get("Item", {})
        return {name: next(iter(value.values())) for name, value in item.items()}

    def wait_finished(self, upload_id: str, put_done: float, timeout: float = 120.0) -> dict:
        """Poll the record (every ``POLL_SECONDS``) until finished.

        ``latency_ms``: the PUT's end -> the first read that sees the record finished (what a
        status poll could first return; late by at most one poll interval and one read).
        ``stamped_ms``: the PUT's end -> the record's ``finishedAt``, stamped by the processor
        just before its last record write (no poll in it, the write not either).
        ``started_ms``: the PUT's end -> the record's ``startedAt``, stamped by the processor
        after its ``head`` stage: S3 event delivery, the asynchronous invoke and ``head``.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            record = self.record(upload_id)
            seen = time.time()
            if record.get("status") in FINISHED:
                return {
                    "id": upload_id,
                    "status": record["status"],
                    "latency_ms": round((seen - put_done) * 1000, 1),
                    "stamped_ms": since(put_done, record.get("finishedAt")),
                    "started_ms": since(put_done, record.get("startedAt")),
                }
            time.sleep(POLL_SECONDS)  # a benchmark's poll, like the page's (not a test's sync)
        return {"id": upload_id, "status": "timeout", "latency_ms": None}

    def upload_and_wait(self, body: bytes, content_type: str, filename: str) -> dict[str, Any]:
        upload_id, put_done = self.put(body, content_type, filename)
        return self.wait_finished(upload_id, put_done)

    def processor_log_lines(self) -> list[str]:
        group = f"/aws/lambda/{self.outputs['processor_function_name']}"
        lines: list[str] = []
        token = None
        while True:
            kwargs = {"logGroupName": group, **({"nextToken": token} if token else {})}
            page = self.logs.filter_log_events(**kwargs)
            lines += [event["message"] for event in page.get("events", [])]
            token = page.get("nextToken")
            if not token or not page.get("events"):
                return lines


def finished_epoch(stamp: str) -> float:
    """``2026-12-03T12:00:00.123Z`` (records.iso) as seconds since the epoch."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def since(start: float, stamp: str | None) -> float | None:
    """ms from ``start`` (epoch seconds) to a record's timestamp."""
    return round((finished_epoch(stamp) - start) * 1000, 1) if stamp else None


def json_records(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for line in lines:
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def stage_timings(lines: Iterable[str]) -> dict[str, dict[str, float]]:
    """upload id -> the processor's ``timings_ms`` of its ``upload processed`` line."""
    return {
        record["upload_id"]: {k: float(v) for k, v in record.get("timings_ms", {}).items()}
        for record in json_records(lines)
        if record.get("message") == "upload processed" and "upload_id" in record
    }


def components(latency_ms: float, timings: Mapping[str, float]) -> dict[str, float]:
    """One upload's latency split into the rest (delivery, invoke) and the handler's stages.

    Inside ``process`` the core's stages (decode, resize, encode, placeholder) are listed when
    they ran one after another (their sum fits in ``process``; the remainder is
    ``process_other``); when they overlapped (a concurrent core), ``process`` stays one block.
    ``latency_ms`` ends when a read first sees the record finished, after both record updates
    (``record``), so ``REST`` also holds up to one poll interval and read of the benchmark.
    """
    handler = {stage: timings.get(stage, 0.0) for stage in HANDLER_STAGES}
    inner = {k: v for k, v in timings.items() if k not in HANDLER_STAGES}
    parts = {REST: latency_ms - sum(handler.values())}
    for stage, value in handler.items():
        if stage == "process" and inner and sum(inner.values()) <= value:
            parts.update(inner)
            parts["process_other"] = value - sum(inner.values())
        else:
            parts[stage] = value
    return parts


def breakdown(samples: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Median of every component over ``samples`` ({latency_ms, timings_ms}) with timings."""
    split = [components(s["latency_ms"], s["timings_ms"]) for s in samples if s.get("timings_ms")]
    names = list(dict.fromkeys(name for parts in split for name in parts))
    return {
        name: round(statistics.median(parts.get(name, 0.0) for parts in split), 1) for name in names
    }


def summary(samples: Sequence[Mapping[str, Any]], goal_ms: int, vcpu: float) -> dict[str, Any]:
    """p50/p95 of the done uploads, against the first poll; the processor's CPU time per upload
    and that CPU time at ``vcpu`` of one CPU (a floor on its wall time under that share)."""
    done = [s for s in samples if s["status"] == "done" and s["latency_ms"] is not None]
    if not done:
        return {"uploads": len(samples), "done": 0}
    latencies = [s["latency_ms"] for s in done]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    stamped = [s["stamped_ms"] for s in done if s.get("stamped_ms") is not None]
    started = [s["started_ms"] for s in done if s.get("started_ms") is not None]
    cpu = [s["cpu_ms"] for s in done if s.get("cpu_ms") is not None]
    return {
        "uploads": len(samples),
        "done": len(latencies),
        "latency_ms_p50": p50,
        "latency_ms_p95": p95,
        "latency_ms_min": round(min(latencies), 1),
        "latency_ms_max": round(max(latencies), 1),
        "latency_ms_mean": round(statistics.fmean(latencies), 1),
        "p50_before_first_poll": p50 < goal_ms,
        "p95_before_first_poll": p95 < goal_ms,
        "stamped_ms_p50": percentile(stamped, 0.5) if stamped else None,
        "started_ms_p50": percentile(started, 0.5) if started else None,
        "cpu_ms_p50": percentile(cpu, 0.5) if cpu else None,
        "cpu_at_share_ms_p50": round(percentile(cpu, 0.5) / vcpu, 1) if cpu else None,
        "breakdown_ms_p50": breakdown(done),
    }


def log_figures(lines: list[str]) -> dict[str, Any]:
    """Stage and REPORT percentiles over every processor log line (read by bench/report.py)."""
    stages: dict[str, list[float]] = {}
    reports: dict[str, list[float]] = {"duration_ms": [], "init_ms": [], "max_memory_mb": []}
    for line in lines:
        match = REPORT_LINE.search(line)
        if match:
            reports["duration_ms"].append(float(match["duration"]))
            reports["max_memory_mb"].append(float(match["memory"]))
            if match["init"]:
                reports["init_ms"].append(float(match["init"]))
    for record in json_records(lines):
        if record.get("message") == "upload processed":
            for stage, value in record.get("timings_ms", {}).items():
                stages.setdefault(stage, []).append(float(value))
    return {
        "processed": len(stages.get("process", [])),
        "stages_ms_p50": {stage: percentile(values, 0.5) for stage, values in stages.items()},
        "stages_ms_p95": {stage: percentile(values, 0.95) for stage, values in stages.items()},
        "reports": {
            name: {"count": len(values), "p50": percentile(values, 0.5), "max": max(values)}
            for name, values in reports.items()
            if values
        },
    }


def halves_spread(latencies: Sequence[float | None]) -> float | None:
    """|p50 of the first half of the rounds - p50 of the second half| / p50 of all: how far
    the p50 moved within the run (the machine's drift), as a fraction."""
    done = [value for value in latencies if value is not None]
    if len(done) < 4:
        return None
    half = len(done) // 2
    first, second = statistics.median(done[:half]), statistics.median(done[half:])
    return round(abs(first - second) / statistics.median(done), 3)


def latency_table(results: Mapping[str, Any]) -> str:
    """The markdown between the doc's e2e-latency markers."""
    latency = results["latency"]
    goal = latency["first_poll_ms"]
    lines = [
        f"Run {results['generated_at']}: {latency['method']}. Load average "
        f"{latency['loadavg_start']} at the start, {latency['loadavg_end']} at the end "
        f"({os.cpu_count()} cores shared with other sessions).",
        "",
        f"| input | vCPU share | done | p50 ms | p95 ms | min-max ms | before the first poll "
        f"({goal} ms)? | processor CPU ms p50 | CPU / share ms | throttled periods | "
        "p50 drift (halves) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in latency["runs"]:
        s = row["summary"]
        if not s.get("done"):
            lines.append(f"| {row['label']} | {row['vcpu']} | 0/{s['uploads']} |" + " - |" * 8)
            continue
        verdict = (
            "yes, p95 too"
            if s["p95_before_first_poll"]
            else ("p50 yes, p95 no" if s["p50_before_first_poll"] else "no")
        )
        lines.append(
            f"| {row['label']} ({row['bytes'] / 1e6:.1f} MB) | {row['vcpu']} | "
            f"{s['done']}/{s['uploads']} | {s['latency_ms_p50']:.0f} | {s['latency_ms_p95']:.0f} | "
            f"{s['latency_ms_min']:.0f}-{s['latency_ms_max']:.0f} | {verdict} | "
            f"{s['cpu_ms_p50']:.0f} | {s['cpu_at_share_ms_p50']:.0f} | {row['throttled_periods']} | "
            f"{spread_text(halves_spread(row['latency_ms']))} |"
        )
    names = list(
        dict.fromkeys(
            n for row in latency["runs"] for n in row["summary"].get("breakdown_ms_p50", {})
        )
    )
    lines += [
        "",
        "Where the time goes (median of each part over the same uploads, ms; "
        f"`{REST}` = the latency minus the handler's stages: S3 event delivery, the "
        "asynchronous invoke and the benchmark's own poll; `startedAt` = PUT finished -> the "
        "record's startedAt, i.e. delivery + invoke + `head`, measured directly):",
        "",
        "| input | vCPU | " + " | ".join(names) + " | startedAt |",
        "|---|---:|" + "---:|" * (len(names) + 1),
    ]
    for row in latency["runs"]:
        parts = row["summary"].get("breakdown_ms_p50", {})
        started = row["summary"].get("started_ms_p50")
        lines.append(
            f"| {row['label']} | {row['vcpu']} | "
            + " | ".join(f"{parts.get(n, 0.0):.0f}" for n in names)
            + f" | {'-' if started is None else f'{started:.0f}'} |"
        )
    return "\n".join(lines)


def spread_text(spread: float | None) -> str:
    return "-" if spread is None else f"{spread:.0%}"


def rewrite_doc(doc: Path, table: str) -> None:
    text = doc.read_text()
    begin, end = text.find(DOC_BEGIN), text.find(DOC_END)
    if begin < 0 or end < begin:
        raise ValueError(f"{doc} has no {DOC_BEGIN} ... {DOC_END} block")
    doc.write_text(text[: begin + len(DOC_BEGIN)] + "\n" + table + "\n" + text[end:])


def chart(results: Mapping[str, Any], path: Path) -> None:
    """Stacked p50 breakdown per input and share, the page's first poll as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    latency = results["latency"]
    runs = [row for row in latency["runs"] if row["summary"].get("breakdown_ms_p50")]
    names = list(dict.fromkeys(n for row in runs for n in row["summary"]["breakdown_ms_p50"]))
    figure, axes = plt.subplots(figsize=(11, 1.6 + 0.6 * len(runs)))
    colours = plt.get_cmap("tab20").colors
    labels = [f"{row['label'].split(' (')[0]}, {row['vcpu']} vCPU" for row in runs]
    left = [0.0] * len(runs)
    for index, name in enumerate(names):
        widths = [max(0.0, row["summary"]["breakdown_ms_p50"].get(name, 0.0)) for row in runs]
        axes.barh(labels, widths, left=left, color=colours[index % len(colours)], label=name)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    for y, row in enumerate(runs):
        s = row["summary"]
        axes.plot([s["latency_ms_p50"]], [y], "k|", markersize=14)
        axes.plot([s["latency_ms_p95"]], [y], "kx")
    axes.axvline(latency["first_poll_ms"], color="red", linestyle="--", label="page's first poll")
    axes.set_xlabel("ms after the PUT finished (| p50, x p95 of the whole latency)")
    axes.set_title("PUT finished -> record done, warm, one upload at a time (local emulator)")
    axes.invert_yaxis()
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def bench_python() -> str:
    done = subprocess.run(
        ["bash", str(BENCH / "setup.sh")], check=True, capture_output=True, text=True
    )
    return done.stdout.strip().splitlines()[-1]


def input_body(key: str, python: str) -> bytes:
    """The input's bytes; HEIC is generated by the benchmark venv (pillow-heif)."""
    if key == "heic":
        done = subprocess.run(
            [python, str(BENCH / "inputs.py"), inputs.PHONE_HEIC.name, str(INPUTS)],
            check=True,
            capture_output=True,
            text=True,
        )
        return Path(done.stdout.strip()).read_bytes()
    return inputs.ensure(INPUT_CLASSES[key], INPUTS).read_bytes()


def emulator(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "local" / "emulator.py"), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def measure_latency(
    target: Stack,
    quota: SharedQuota,
    bodies: Mapping[str, bytes],
    vcpus: Sequence[float],
    rounds: int,
) -> dict[tuple[str, float], dict[str, Any]]:
    """Interleaved warm uploads under each share: (input, vcpu) -> samples and throttling."""
    function = target.outputs["processor_function_name"]
    cells: dict[tuple[str, float], dict[str, Any]] = {
        (key, vcpu): {"samples": [], "left_out": 0, "throttled_periods": 0}
        for key in bodies
        for vcpu in vcpus
    }
    for round_index in range(rounds):
        for key in rotated(list(bodies), round_index):
            for vcpu in rotated(list(vcpus), round_index // len(bodies)):
                before = function_pids(function)
                if not before:
                    raise RuntimeError(f"no process of {function} found to cap")
                quota.set_fraction(vcpu)
                quota.adopt(before)
                if not all(quota.holds(pid) for pid in before):
                    raise RuntimeError(f"{function}'s processes did not join {quota.path}")
                throttled, cpu = quota.throttled()["nr_throttled"], cpu_ms(before)
                content_type = INPUT_CLASSES[key].content_type
                outcome = target.upload_and_wait(
                    bodies[key], content_type, f"photo.{INPUT_CLASSES[key].extension}"
                )
                outcome["cpu_ms"] = round(cpu_ms(before) - cpu, 1)
                cell = cells[(key, vcpu)]
                cell["throttled_periods"] += quota.throttled()["nr_throttled"] - throttled
                after = function_pids(function)
                if after - before:  # a new environment ran it: not warm, not capped
                    quota.adopt(after)
                    cell["left_out"] += 1
                    continue
                cell["samples"].append(outcome)
        print(f"e2e: round {round_index + 1}/{rounds}", file=sys.stderr, flush=True)
    return cells


def attach_timings(target: Stack, ids: set[str], timeout: float = 60.0) -> dict:
    """The per-upload stage timings, once every upload's log line has arrived."""
    deadline = time.monotonic() + timeout
    while True:
        lines = target.processor_log_lines()
        timings = stage_timings(lines)
        if ids <= timings.keys() or time.monotonic() > deadline:
            return {"lines": lines, "timings": timings}
        time.sleep(0.5)  # CloudWatch Logs receives the lines after the invocation


def throughput(target: Stack, body: bytes, levels: Sequence[int], per_level: int) -> list[dict]:
    rows = []
    for level in levels:
        lock = threading.Lock()
        outcomes: list[dict[str, Any]] = []

        def one(_: int, outcomes=outcomes, lock=lock) -> None:
            outcome = target.upload_and_wait(body, "image/jpeg", "photo.jpg")
            with lock:
                outcomes.append(outcome)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=level) as pool:
            list(pool.map(one, range(per_level)))
        wall = time.perf_counter() - started
        done = [item["latency_ms"] for item in outcomes if item["status"] == "done"]
        rows.append(
            {
                "concurrency": level,
                "uploads": per_level,
                "done": len(done),
                "wall_s": round(wall, 2),
                "images_per_s": round(len(done) / wall, 2),
                "latency_ms_p50": percentile(done, 0.5) if done else None,
                "latency_ms_p95": percentile(done, 0.95) if done else None,
            }
        )
        print(f"e2e: concurrency {level}: {rows[-1]}", file=sys.stderr, flush=True)
    return rows


def run(args: argparse.Namespace) -> dict[str, Any]:
    from local import stack as local_stack

    vcpus = [float(v) for v in args.vcpu.split(",")]
    goal = first_poll_ms()
    python = bench_python()
    bodies = {key: input_body(key, python) for key in INPUT_CLASSES}
    results: dict[str, Any] = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    results["upload"] = {"label": INPUT_CLASSES["jpeg"].label, "bytes": len(bodies["jpeg"])}
    dist = WORK / "dist"
    _, results["build_s"] = timed(
        subprocess.run,
        [str(REPO / "build.sh"), "--out", str(dist)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    state = ["--state-dir", str(WORK / "emulator")]
    emulator("stop", *state, "--purge")
    _, results["emulator_start_s"] = timed(emulator, "start", "--port", str(PORT), *state)
    endpoint = f"http://127.0.0.1:{PORT}"
    deployment = local_stack.LocalDeployment(
        workdir=WORK / "stack",
        endpoint=endpoint,
        extra_vars={"name_prefix": PREFIX, "artifacts_dir": str(dist)},
    )
    quota = SharedQuota(f"sip-e2e-{os.getpid()}", vcpus[0])
    try:
        _, results["terraform_apply_s"] = timed(deployment.apply)
        target = Stack(endpoint, deployment.outputs())
        # the environment starts with the first upload (no cap yet); the HEIC one loads libheif
        results["cold_upload"] = target.upload_and_wait(bodies["jpeg"], "image/jpeg", "photo.jpg")
        results["cold_upload"]["cpu"] = "uncapped: the environment starts with this upload"
        target.upload_and_wait(bodies["heic"], "image/heic", "photo.heic")
        loadavg_start = [round(v, 2) for v in os.getloadavg()]
        with quota:
            cells = measure_latency(target, quota, bodies, vcpus, args.uploads)
            quota.release()
            loadavg_end = [round(v, 2) for v in os.getloadavg()]
            levels = [int(v) for v in args.concurrency.split(",") if v]
            results["throughput"] = throughput(target, bodies["jpeg"], levels, args.per_level)
        ids = {s["id"] for cell in cells.values() for s in cell["samples"]}
        logs = attach_timings(target, ids)
    finally:
        try:
            _, results["terraform_destroy_s"] = timed(deployment.destroy)
        finally:
            emulator("stop", *state, "--purge")
    runs = []
    for (key, vcpu), cell in cells.items():
        samples = [{**s, "timings_ms": logs["timings"].get(s["id"])} for s in cell["samples"]]
        runs.append(
            {
                "input": key,
                "label": INPUT_CLASSES[key].label,
                "bytes": len(bodies[key]),
                "vcpu": vcpu,
                "left_out_new_environment": cell["left_out"],
                "throttled_periods": cell["throttled_periods"],
                "summary": summary(samples, goal, vcpu),
                "latency_ms": [s["latency_ms"] for s in samples],
                "cpu_ms": [s.get("cpu_ms") for s in samples],
            }
        )
    results["latency"] = {
        "method": (
            f"{args.uploads} rounds; each round uploads every input under every share "
            "(orders rotate), one at a time, warm; the processor's environment in a cgroup v1 "
            f"cpu group, CFS period {lambda_memory.PERIOD_US} us, quota = share x period; "
            f"latency = the PUT's end -> the first read (every {POLL_SECONDS * 1000:.0f} ms) "
            "that sees the record finished"
        ),
        "first_poll_ms": goal,
        "first_poll_source": "web/js/uploads.js POLL.initialDelayMs (the wait before the first poll)",
        "vcpus": vcpus,
        "loadavg_start": loadavg_start,
        "loadavg_end": loadavg_end,
        "runs": runs,
    }
    jpeg = next(r for r in runs if r["input"] == "jpeg" and r["vcpu"] == vcpus[0])["summary"]
    results["sequential"] = {  # bench/report.py's summary line: the JPEG at the recommended share
        "uploads": jpeg["uploads"],
        "done": jpeg["done"],
        "latency_ms_p50": jpeg.get("latency_ms_p50"),
        "latency_ms_p95": jpeg.get("latency_ms_p95"),
        "latency_ms_mean": jpeg.get("latency_ms_mean"),
        "vcpu": vcpus[0],
    }
    results["processor_logs"] = log_figures(logs["lines"])
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--uploads", type=int, default=30, help="rounds: uploads per input and share (default 30)"
    )
    parser.add_argument(
        "--vcpu",
        default=f"{default_vcpu()},1.0",
        help="CPU shares of one vCPU, the recommended first (default: the default "
        "processor_memory_mb / 1769, then 1.0)",
    )
    parser.add_argument("--concurrency", default="1,2,4,8", help="levels, '' for none")
    parser.add_argument("--per-level", type=int, default=8, help="uploads per concurrency level")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks" / "e2e.json")
    parser.add_argument(
        "--doc", type=Path, default=DOC, help="doc whose e2e-latency block to rewrite"
    )
    parser.add_argument(
        "--from-json",
        action="store_true",
        help="no run: rewrite the doc block and chart from --output",
    )
    parser.add_argument("--chart", type=Path, help=argparse.SUPPRESS)  # internal: draw it
    args = parser.parse_args(argv)
    chart_path = args.output.with_suffix(".png")
    if args.chart:  # run by the benchmark venv's python (matplotlib)
        chart(json.loads(args.output.read_text()), args.chart)
        return 0
    if not args.from_json and (problem := lambda_memory.cgroup_problem()):
        print(problem, file=sys.stderr)
        return 2
    if args.from_json:
        results = json.loads(args.output.read_text())
    else:
        results = run(args)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=1) + "\n")
    rewrite_doc(args.doc, latency_table(results))
    subprocess.run(
        [bench_python(), __file__, "--output", str(args.output), "--chart", str(chart_path)],
        check=True,
    )
    print(latency_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
