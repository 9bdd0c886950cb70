"""bench/e2e.py's pure parts: finding a function's processes, splitting a latency, the doc block."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import ModuleType

import pytest

from support import bench_scripts

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def e2e() -> ModuleType:
    return bench_scripts.load("e2e")


def _waiting_process(function_name: str) -> subprocess.Popen:
    """A real process whose environment names a Lambda function, as the executor starts one."""
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        stdin=subprocess.PIPE,
        env={**os.environ, "AWS_LAMBDA_FUNCTION_NAME": function_name},
    )


def test_function_pids_finds_the_functions_processes_and_no_other(e2e: ModuleType) -> None:
    name = f"sbe-processor-{uuid.uuid4().hex[:8]}"
    mine, longer, other = (
        _waiting_process(name),
        _waiting_process(f"{name}-api"),  # a name that starts with the same text
        _waiting_process("sbe-api"),
    )
    try:
        assert e2e.function_pids(name) == {mine.pid}
    finally:
        for process in (mine, longer, other):
            process.communicate(b"")


def test_a_sequential_core_is_split_into_its_stages(e2e: ModuleType) -> None:
    timings = {"head": 5.0, "record": 10.0, "get": 15.0, "process": 200.0, "put": 20.0}
    timings |= {"decode": 90.0, "resize": 50.0, "encode": 40.0, "placeholder": 3.0}
    parts = e2e.components(400.0, timings)
    assert parts[e2e.REST] == pytest.approx(400.0 - 250.0)
    assert parts["decode"] == 90.0
    assert parts["process_other"] == pytest.approx(17.0)
    assert "process" not in parts
    assert sum(parts.values()) == pytest.approx(400.0)


def test_an_overlapping_core_stays_one_process_block(e2e: ModuleType) -> None:
    timings = {"head": 5.0, "record": 10.0, "get": 15.0, "process": 120.0, "put": 20.0}
    timings |= {"decode": 90.0, "resize": 50.0, "encode": 40.0}  # 180 ms of stages in 120 ms
    parts = e2e.components(300.0, timings)
    assert parts["process"] == 120.0
    assert "decode" not in parts
    assert sum(parts.values()) == pytest.approx(300.0)


def test_summary_says_which_percentile_beats_the_first_poll(e2e: ModuleType) -> None:
    samples = [
        {"id": str(i), "status": "done", "latency_ms": latency, "cpu_ms": 100.0}
        for i, latency in enumerate([300.0] * 18 + [700.0, 800.0])
    ] + [{"id": "x", "status": "rejected", "latency_ms": 100.0, "timings_ms": None}]
    summary = e2e.summary(samples, 500, 0.5)
    assert (summary["uploads"], summary["done"]) == (21, 20)
    assert summary["latency_ms_p50"] == 300.0
    assert summary["latency_ms_p95"] == 700.0  # nearest rank: index round(0.95 x 19)
    assert summary["p50_before_first_poll"] is True
    assert summary["p95_before_first_poll"] is False
    assert (summary["cpu_ms_p50"], summary["cpu_at_share_ms_p50"]) == (100.0, 200.0)


def test_the_p50_drift_compares_the_run_s_halves(e2e: ModuleType) -> None:
    assert e2e.halves_spread([100.0, 100.0, None, 120.0, 120.0]) == pytest.approx(
        20 / 110, abs=1e-3
    )
    assert e2e.halves_spread([100.0, None, 100.0]) is None  # too few to halve


def test_cpu_ms_counts_a_process_s_cpu_time(e2e: ModuleType) -> None:
    before = e2e.cpu_ms([os.getpid()])
    started = time.process_time()
    while time.process_time() - started < 0.1:  # 100 ms of CPU by the interpreter's own count
        sum(range(10_000))
    spent = e2e.cpu_ms([os.getpid(), 2**22 + 1]) - before  # a pid that is gone counts 0
    assert 80.0 <= spent < 1000.0  # clock ticks are 10 ms


def test_the_recommended_share_and_the_first_poll_come_from_the_sources(
    e2e: ModuleType, tmp_path: Path
) -> None:
    variables = tmp_path / "variables.tf"
    variables.write_text(
        'variable "api_memory_mb" {\n  default = 256\n}\n'
        'variable "processor_memory_mb" {\n  type    = number\n  default = 1769\n}\n'
    )
    assert e2e.default_vcpu(variables) == 1.0
    page = tmp_path / "uploads.js"
    page.write_text("const POLL = Object.freeze({ initialDelayMs: 750, maxDelayMs: 4000 });\n")
    assert e2e.first_poll_ms(page) == 750
    assert e2e.first_poll_ms() > 0  # the page's own module still names it


def test_rewrite_doc_replaces_only_the_marked_block(e2e: ModuleType, tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# before\n{e2e.DOC_BEGIN}\nold table\n{e2e.DOC_END}\nafter\n")
    e2e.rewrite_doc(doc, "new table")
    assert doc.read_text() == f"# before\n{e2e.DOC_BEGIN}\nnew table\n{e2e.DOC_END}\nafter\n"
    doc.write_text("no markers\n")
    with pytest.raises(ValueError, match="e2e-latency"):
        e2e.rewrite_doc(doc, "new table")
