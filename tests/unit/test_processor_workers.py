"""Issue 26: the processor handler gives the core the worker count of its memory size, logs it,
and stores the same bytes whatever that count is (moto S3)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from processor import cpus
from support import images as factory
from support.lambda_env import OUTPUT_BUCKET, UPLOAD_BUCKET
from support.lambda_events import s3_event

pytestmark = pytest.mark.unit


def stored_outputs(s3: Any, upload_id: str) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=OUTPUT_BUCKET, Prefix=f"{upload_id}/")
    return {
        item["Key"].split("/", 1)[1]: s3.get_object(Bucket=OUTPUT_BUCKET, Key=item["Key"])[
            "Body"
        ].read()
        for item in listing.get("Contents", [])
        if not item["Key"].endswith("manifest.json")
    }


def test_memory_size_sets_the_workers_and_the_bytes_do_not_change(
    s3, load_processor, lambda_context, capsys, monkeypatch
) -> None:
    # The machine's own limits out of the way (read by tests/unit/test_processor_cpus.py):
    # two CPUs and no cgroup quota, so the memory size decides, as on Lambda.
    monkeypatch.setattr(cpus, "affinity", lambda: 2)
    monkeypatch.setattr(cpus, "CGROUP_ROOT", Path("/nonexistent-cgroup-root"))
    data = factory.oriented_jpeg(6, (900, 600))
    outputs, workers = {}, {}
    for memory in ("1024", "3538"):  # 0.58 vCPU: sequential; 2 vCPU: two workers
        processor = load_processor(AWS_LAMBDA_FUNCTION_MEMORY_SIZE=memory)
        upload_id = str(uuid.uuid4())
        s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{upload_id}", Body=data)
        result = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
        assert result["processed"][0]["status"] == "done"
        outputs[memory] = stored_outputs(s3, upload_id)
        lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        done = next(line for line in lines if line["message"] == "upload processed")
        workers[memory] = (processor.WORKERS, done["workers"])
        assert "variants" in done["timings_ms"]
    assert workers == {"1024": (1, 1), "3538": (2, 2)}
    assert outputs["1024"] == outputs["3538"]
    assert len(outputs["1024"]) == 4
