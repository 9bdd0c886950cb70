#!/usr/bin/env python3
"""End-to-end figures on the local emulator (optional; a few minutes; run it on a quiet machine).

    .venv/bin/python bench/e2e.py [--uploads 12] [--concurrency 1,2,4,8]

Starts its own LocalStack (port 4568, state in .local/bench/e2e, so neither `make up` on 4566
nor the tests on 4567 are touched), builds the artefacts into .local/bench/e2e/dist, applies the
root stack with the name prefix ``sbe``, then measures:

* latency from the presigned PUT finishing to the manifest saying ``done`` (p50, p95), one upload
  at a time, after one cold upload measured apart;
* throughput at increasing concurrency (uploads in flight at once);
* the processor's own per-stage timings (its JSON ``upload processed`` log lines) and the
  executor's REPORT lines (duration, init duration, max memory);
* terraform apply and destroy durations.

It always destroys the stack and stops its emulator (``--purge``), and writes
docs/benchmarks/e2e.json, which ``bench/report.py`` adds to docs/benchmarks.md.
The upload is the benchmark's generated 12 MP JPEG (bench/inputs.py).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))  # the local package (local.stack); bench/ is this script's folder

import inputs  # noqa: E402

PORT = 4568
WORK = REPO / ".local" / "bench" / "e2e"
PREFIX = "sbe"
FAKE = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
REPORT_LINE = re.compile(
    r"REPORT RequestId: \S+\s+Duration: (?P<duration>[\d.]+) ms.*?"
    r"Max Memory Used: (?P<memory>\d+) MB(?:.*?Init Duration: (?P<init>[\d.]+) ms)?"
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 1)


def timed(function, *args, **kwargs) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return result, round(time.perf_counter() - started, 2)


class Stack:
    def __init__(self, endpoint: str) -> None:
        import boto3
        import requests

        self.requests = requests
        self.endpoint = endpoint
        self.s3 = boto3.client("s3", endpoint_url=endpoint, **FAKE)
        self.logs = boto3.client("logs", endpoint_url=endpoint, **FAKE)
        self.outputs: dict[str, Any] = {}

    def upload_and_wait(self, body: bytes, timeout: float = 120.0) -> dict[str, Any]:
        api = self.outputs["api_url"]
        grant = self.requests.post(
            f"{api}/uploads",
            json={"contentType": "image/jpeg", "size": len(body), "filename": "photo.jpg"},
            timeout=30,
        )
        grant.raise_for_status()
        grant_body = grant.json()
        put = self.requests.request(
            grant_body["method"],
            grant_body["uploadUrl"],
            data=body,
            headers=grant_body["headers"],
            timeout=60,
        )
        put.raise_for_status()
        put_done = time.perf_counter()
        key = f"{grant_body['id']}/manifest.json"
        deadline = put_done + timeout
        while time.perf_counter() < deadline:
            try:
                manifest = json.loads(
                    self.s3.get_object(Bucket=self.outputs["output_bucket"], Key=key)["Body"].read()
                )
            except self.s3.exceptions.NoSuchKey:
                time.sleep(0.02)
                continue
            return {
                "id": grant_body["id"],
                "status": manifest["status"],
                "latency_ms": round((time.perf_counter() - put_done) * 1000, 1),
            }
        return {"id": grant_body["id"], "status": "timeout", "latency_ms": None}

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


def log_figures(lines: list[str]) -> dict[str, Any]:
    stages: dict[str, list[float]] = {}
    reports: dict[str, list[float]] = {"duration_ms": [], "init_ms": [], "max_memory_mb": []}
    for line in lines:
        match = REPORT_LINE.search(line)
        if match:
            reports["duration_ms"].append(float(match["duration"]))
            reports["max_memory_mb"].append(float(match["memory"]))
            if match["init"]:
                reports["init_ms"].append(float(match["init"]))
            continue
        start = line.find("{")
        if start < 0:
            continue
        try:
            record = json.loads(line[start:])
        except ValueError:
            continue
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


def emulator(*args: str) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "local" / "emulator.py"), *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=12, help="sequential uploads (default 12)")
    parser.add_argument("--concurrency", default="1,2,4,8", help="levels (default 1,2,4,8)")
    parser.add_argument("--per-level", type=int, default=8, help="uploads per concurrency level")
    parser.add_argument("--output", type=Path, default=REPO / "docs" / "benchmarks" / "e2e.json")
    args = parser.parse_args(argv)

    from local import stack as local_stack

    results: dict[str, Any] = {"generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    spec = inputs.FULL_CLASSES[0]
    body = inputs.ensure(spec, REPO / ".local" / "bench" / "full" / "inputs").read_bytes()
    results["upload"] = {"label": spec.label, "bytes": len(body)}
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
    try:
        _, results["terraform_apply_s"] = timed(deployment.apply)
        target = Stack(endpoint)
        target.outputs = deployment.outputs()
        results["cold_upload"] = target.upload_and_wait(body)
        sequential = [target.upload_and_wait(body) for _ in range(args.uploads)]
        latencies = [item["latency_ms"] for item in sequential if item["status"] == "done"]
        results["sequential"] = {
            "uploads": args.uploads,
            "done": len(latencies),
            "latency_ms_p50": percentile(latencies, 0.5) if latencies else None,
            "latency_ms_p95": percentile(latencies, 0.95) if latencies else None,
            "latency_ms_mean": round(statistics.fmean(latencies), 1) if latencies else None,
        }
        levels = []
        for level in (int(value) for value in args.concurrency.split(",")):
            lock = threading.Lock()
            outcomes: list[dict[str, Any]] = []

            def one(_: int, outcomes=outcomes, lock=lock) -> None:
                outcome = target.upload_and_wait(body)
                with lock:
                    outcomes.append(outcome)

            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=level) as pool:
                list(pool.map(one, range(args.per_level)))
            wall = time.perf_counter() - started
            done = [item["latency_ms"] for item in outcomes if item["status"] == "done"]
            levels.append(
                {
                    "concurrency": level,
                    "uploads": args.per_level,
                    "done": len(done),
                    "wall_s": round(wall, 2),
                    "images_per_s": round(len(done) / wall, 2),
                    "latency_ms_p50": percentile(done, 0.5) if done else None,
                    "latency_ms_p95": percentile(done, 0.95) if done else None,
                }
            )
            print(f"e2e: concurrency {level}: {levels[-1]}", file=sys.stderr, flush=True)
        results["throughput"] = levels
        time.sleep(2)  # let the last log lines arrive
        results["processor_logs"] = log_figures(target.processor_log_lines())
    finally:
        try:
            _, results["terraform_destroy_s"] = timed(deployment.destroy)
        finally:
            emulator("stop", *state, "--purge")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
