"""Hostile images uploaded into the deployed stack: each ends as decided, in time, in memory.

The cases and the decision for each are in hostile_images.py. Uploads go through the API
(POST + presigned PUT) except those the API refuses to presign (zero bytes, over the size
limit), which are written straight into the upload bucket, as a client holding bucket
credentials could. The outcome is read the way the page reads it, ``GET /uploads/{id}``.

Time: from the end of the PUT to the final status must stay under the processor's timeout
(read from the deployed function), and no invocation may have timed out.
Memory: the emulator does not enforce ``memory_size``, so the peak resident memory of each
processor process (the host executor runs one process per execution environment) is read from
``/proc`` after the batch and compared with the configured memory. test_hostile_budget.py
measures the same cases in-process, one process per case.
After the batch, an ordinary photo must still be processed (the hostile files leave nothing
behind that stalls the function).
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from support import hostile_images, images
from support.pipeline import new_upload_id, wait_until

pytestmark = pytest.mark.integration

CASES = {case.name: case for case in hostile_images.cases()}


def submit(api, s3, upload_bucket: str, case: hostile_images.HostileCase) -> tuple[str, float]:
    """Upload one case; returns (upload id, monotonic time the PUT ended)."""
    if case.via == "direct":
        upload_id = new_upload_id()
        s3.put_object(
            Bucket=upload_bucket,
            Key=f"uploads/{upload_id}",
            Body=case.data,
            ContentType=case.content_type,
        )
        # No presign, so no record until the processor's S3 event creates one: the status
        # API answers 404 until then (the page's poller bridges the same gap).
        wait_until(lambda: api.status(upload_id).status_code != 404, timeout=60)
    else:
        upload_id = api.upload(case.data, case.content_type, f"{case.name}.bin")
    return upload_id, time.monotonic()


@pytest.fixture(scope="module")
def outcomes(api, s3, local_stack_outputs, processor_config) -> dict[str, dict[str, Any]]:
    """Every case uploaded at once (8 in flight) and followed to its final status."""
    timeout = processor_config["Timeout"]
    started_wall = time.time()

    def run(case: hostile_images.HostileCase) -> dict[str, Any]:
        upload_id, put_end = submit(api, s3, local_stack_outputs["upload_bucket"], case)
        body = api.wait_for_final(upload_id, timeout=timeout + 60)
        return {"id": upload_id, "body": body, "seconds": time.monotonic() - put_end}

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = dict(zip(CASES, pool.map(run, CASES.values()), strict=True))
    results["__started__"] = {"wall": started_wall}
    return results


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_case_ends_as_decided(outcomes, name):
    case = CASES[name]
    outcome = outcomes[name]
    body = outcome["body"]

    assert body["status"] == case.expected_status, body
    if case.expected_status == "rejected":
        assert body["error"]["code"] == case.expected_code, body
        assert body["error"]["message"]
        assert body["variants"] == []
    else:
        assert body["error"] is None
        assert body["variants"]
    # Time is bounded by the mechanism that enforces it, the function's timeout: no invocation
    # may have timed out (test_no_processor_invocation_timed_out_or_crashed).


@pytest.mark.parametrize(
    "name", [name for name, case in CASES.items() if case.expected_status == "done"]
)
def test_accepted_hostile_images_give_clean_variants(outcomes, name):
    """Variants decode, fit their box (at least 1 px a side) and carry none of the payload."""
    case = CASES[name]
    for variant in outcomes[name]["body"]["variants"]:
        for source in variant["sources"]:
            data = requests.get(source["url"], timeout=30).content
            image = Image.open(io.BytesIO(data))
            image.load()
            assert image.size == (variant["width"], variant["height"])
            assert min(image.size) >= 1
            assert len(data) == source["bytes"]
            if case.payload_marker:
                assert case.payload_marker not in data
        assert b"<script" not in data.lower()


def test_an_ordinary_upload_right_after_the_batch_still_finishes(outcomes, api, processor_config):
    """The hostile batch leaves the processor able to work: a plain photo uploaded as soon as
    every hostile case has its final status is processed, within the function's timeout."""
    assert all(
        outcome["body"]["status"] in ("done", "rejected")
        for outcome in outcomes.values()
        if "body" in outcome
    )
    upload_id = api.upload(images.jpeg((800, 600)), "image/jpeg", "after-the-batch.jpg")
    body = api.wait_for_final(upload_id, timeout=processor_config["Timeout"])

    assert body["status"] == "done", body
    assert body["variants"]


def test_rejections_write_only_a_manifest(outcomes, s3, local_stack_outputs):
    rejected = [name for name, case in CASES.items() if case.expected_status == "rejected"]
    for name in rejected:
        upload_id = outcomes[name]["id"]
        listing = s3.list_objects_v2(
            Bucket=local_stack_outputs["output_bucket"], Prefix=f"{upload_id}/"
        ).get("Contents", [])
        assert [item["Key"] for item in listing] == [f"{upload_id}/manifest.json"], name


def test_no_processor_invocation_timed_out_or_crashed(outcomes, aws_client, local_stack_outputs):
    logs = aws_client("logs")
    group = f"/aws/lambda/{local_stack_outputs['processor_function_name']}"
    since = int(outcomes["__started__"]["wall"] * 1000) - 1000
    messages = []
    for page in logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, startTime=since
    ):
        messages += [event["message"] for event in page["events"]]
    ids = [outcomes[name]["id"] for name in CASES]

    assert messages, "no processor logs were found for the batch"
    assert not [m for m in messages if "Task timed out" in m or "Runtime exited" in m]
    # nothing went to Lambda's retries: every case was answered by a manifest
    failed = [m for m in messages if "processing failed" in m]
    assert not [m for m in failed if any(upload_id in m for upload_id in ids)]


def processor_processes(function_name: str, endpoint: str) -> list[dict[str, Any]]:
    """Host processes of the function on this emulator, with their peak resident memory."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            environ = (status.parent / "environ").read_bytes().split(b"\0")
            text = status.read_text()
        except OSError:
            continue
        if (
            f"AWS_LAMBDA_FUNCTION_NAME={function_name}".encode() in environ
            and f"AWS_ENDPOINT_URL={endpoint}".encode() in environ
        ):
            peak = next(line for line in text.splitlines() if line.startswith("VmHWM:"))
            found.append({"pid": status.parent.name, "peak_mb": int(peak.split()[1]) / 1024})
    return found


def test_peak_memory_stays_within_the_configured_memory(
    outcomes, processor_config, local_stack_outputs, emulator_endpoint
):
    processes = processor_processes(
        local_stack_outputs["processor_function_name"], emulator_endpoint
    )
    assert processes, "no processor process visible on this host: is the emulator remote?"

    peak = max(process["peak_mb"] for process in processes)
    print(f"processor peak resident memory: {peak:.0f} MB over {len(processes)} process(es)")
    assert peak < processor_config["MemorySize"], processes
