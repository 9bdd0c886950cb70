"""Each hostile case alone, in a fresh process: outcome, time and peak memory vs. the budget.

The processor core (``imaging.process_image``) runs with the deployed defaults from
variables.tf (variants, ``max_pixels``, ``max_upload_bytes``) in a child interpreter per case, so
the peak resident set size (``VmHWM`` of the child's own address space) belongs to that case
alone. Budget: the deployed ``processor_memory_mb`` (half of it, as peak resident memory) and
``processor_timeout_seconds`` (a quarter of it, as CPU time, enforced by ``RLIMIT_CPU``: the
kernel kills the child past it, no clock is read). The child also runs under an address-space
limit, so a regression fails here instead of exhausting the machine.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from support import hostile_images
from support.pipeline import REPO

pytestmark = pytest.mark.unit

CASES = {case.name: case for case in hostile_images.cases()}


def terraform_default(variable: str) -> int:
    """The numeric default of a root variable in variables.tf."""
    text = (REPO / "variables.tf").read_text()
    block = re.search(rf'variable "{variable}" \{{(.*?)\n\}}', text, re.S)
    assert block, variable
    match = re.search(r"^\s*default\s*=\s*(\d+)\s*$", block.group(1), re.M)
    assert match, variable
    return int(match.group(1))


MEMORY_MB = terraform_default("processor_memory_mb")
TIMEOUT_S = terraform_default("processor_timeout_seconds")
MAX_PIXELS = terraform_default("max_pixels")
MAX_UPLOAD_BYTES = terraform_default("max_upload_bytes")
# A quarter of the function's timeout, as CPU time: the child is killed (SIGXCPU) past it.
CPU_BUDGET_S = TIMEOUT_S // 4

CHILD = r"""
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 * 1024**3, 4 * 1024**3))
cpu_seconds = int(sys.argv[3])  # the time budget, enforced by the kernel: SIGXCPU past it
resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
from processor import decode_budget, imaging
def peak_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
data = sys.stdin.buffer.read()
variants = [imaging.VariantSpec("large", 1024, "jpeg", 85),
            imaging.VariantSpec("medium", 512, "jpeg", 85),
            imaging.VariantSpec("thumb", 128, "webp", 80)]
limits = imaging.Limits(max_pixels=int(sys.argv[1]), max_bytes=int(sys.argv[2]))
before = peak_mb()
try:
    deadline = decode_budget.decode_deadline(int(sys.argv[4]) * 1000)  # as the handler does
    result = imaging.process_image(data, variants, limits, decode_deadline=deadline)
    outcome = {"status": "done", "code": None,
               "sizes": [[v.width, v.height] for v in result.variants]}
except imaging.ImageRejected as error:
    outcome = {"status": "rejected", "code": error.code}
outcome["baseline_mb"] = before
outcome["peak_mb"] = peak_mb()
print(json.dumps(outcome))
"""


def test_the_budget_matches_the_deployed_defaults():
    assert (MEMORY_MB, TIMEOUT_S) == (1769, 60)  # issue 26: 1,769 MB, one vCPU
    assert hostile_images.MAX_PIXELS == MAX_PIXELS
    assert hostile_images.MAX_UPLOAD_BYTES == MAX_UPLOAD_BYTES


@pytest.mark.parametrize("name", list(CASES))
def test_each_case_alone_stays_within_memory_and_time(name):
    case = CASES[name]
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(MAX_PIXELS),
            str(MAX_UPLOAD_BYTES),
            str(CPU_BUDGET_S),
            str(TIMEOUT_S),
        ],
        input=case.data,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO / "lambda_src")},
    )
    assert completed.returncode != -signal.SIGXCPU, f"{name} used more than {CPU_BUDGET_S} s of CPU"
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]
    outcome = json.loads(completed.stdout)

    assert (outcome["status"], outcome["code"]) == (case.expected_status, case.expected_code)
    assert outcome["peak_mb"] < MEMORY_MB / 2, outcome
