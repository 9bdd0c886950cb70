"""tools/load.py, short version, against the deployed stack: nothing lost, nothing duplicated.

The full run (200 uploads, 16 threads) is the command in docs/reliability.md; here 24 uploads
with 8 threads and a quarter of bad files (every rejection kind of the mix) go through the
same ``main``. It fails unless every upload ends as expected and the output bucket gained
exactly the expected objects.
"""

from __future__ import annotations

import json

import pytest

from tools import load

pytestmark = pytest.mark.integration

# how many objects variables.tf's default sizes make: large and medium in AVIF and
# JPEG, thumb in WebP and JPEG
DEFAULT_OUTPUTS = 6


def test_short_load_run_loses_and_duplicates_nothing(outputs_file, emulator_endpoint, tmp_path):
    report_path = tmp_path / "load.json"

    code = load.main(
        [
            "--outputs-json",
            str(outputs_file),
            "--endpoint-url",
            emulator_endpoint,
            "--count",
            "24",
            "--concurrency",
            "8",
            "--bad-share",
            "0.25",
            "--quiet",
            "--report",
            str(report_path),
        ]
    )

    report = json.loads(report_path.read_text())
    assert code == 0, report["problems"]
    assert report["passed"]
    assert report["as_expected"] == report["uploads"] == 24
    assert report["bad"] == 6
    rejected_codes = {key for key in report["outcomes"] if key.startswith("rejected/")}
    assert rejected_codes == {f"rejected/{kind}" for kind in load.BAD_KINDS}
    # every done upload: its manifest and an object per configured size and format; a rejected
    # one: its manifest only
    expected_objects = report["good"] * (DEFAULT_OUTPUTS + 1) + report["bad"]
    assert report["bucket_check"] == {
        "new_output_objects": expected_objects,
        "expected_output_objects": expected_objects,
    }
    assert report["latency_s"]["p50"] is not None
    assert len({result["upload_id"] for result in report["results"]}) == 24
