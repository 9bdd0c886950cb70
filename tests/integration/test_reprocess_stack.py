"""Reprocessing on the local stack (issue 23): upload a set under one rule set, change the rules
with Terraform, run tools/reprocess.py (dry run, an interrupted run, its resumption, a second
run), and every upload has the new outputs in its record, manifest, status and a new processed
event. A stack of its own (tests/support/stacks.py, prefix ``sir``): the shared stacks' rules
never change."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from common import contract
from support import images
from support.pipeline import wait_until
from support.stacks import REPROCESS_STACK_SIZES, AppliedStack
from tools import outcome_events, reprocess, stack_access

pytestmark = pytest.mark.integration

ONE_SIZE = REPROCESS_STACK_SIZES
TWO_SIZES = [*ONE_SIZE, {"name": "small", "max_edge": 160, "formats": [{"format": "webp"}]}]
UPLOADS = 5


@pytest.fixture(scope="module")
def stack(reprocess_stack: AppliedStack) -> AppliedStack:
    return reprocess_stack


def records_of(dynamodb: Any, table: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    found = {}
    for upload_id in ids:
        item = dynamodb.get_item(TableName=table, Key={"id": {"S": upload_id}}, ConsistentRead=True)
        found[upload_id] = reprocess.deserialise(item["Item"])
    return found


def test_a_rule_change_reaches_every_kept_upload(
    stack, dynamodb, aws_client, tmp_path, capsys
) -> None:
    outputs = stack.outputs
    api = stack_access.ApiClient(outputs["api_url"])
    ids = []
    for index in range(UPLOADS):
        data = images.jpeg((800 + 16 * index, 600))
        ids.append(api.upload(data, "image/jpeg", f"photo-{index}.jpg"))
    for upload_id in ids:
        assert api.wait_for_final(upload_id, timeout=90)["status"] == "done"

    # the rules change with Terraform: a new size
    stack.deployment.variables["variants"] = TWO_SIZES
    stack.deployment.apply()
    outputs = stack.deployment.outputs()
    outputs_file = tmp_path / "outputs.json"
    outputs_file.write_text(json.dumps(outputs))
    events, sqs = aws_client("events"), aws_client("sqs")
    rule = f"it-reprocess-{uuid.uuid4().hex[:8]}"
    bus = outputs["events"]["bus_name"]
    queue_url = outcome_events.rule_to_queue(
        events, sqs, bus, rule, json.loads(outputs["events"]["event_pattern"])
    )
    checkpoint = tmp_path / "checkpoint.json"
    common = ["--outputs", str(outputs_file), "--checkpoint", str(checkpoint), "--page-size", "2"]
    try:
        assert reprocess.main([*common, "--dry-run"]) == 0
        assert f"dry run: {UPLOADS} uploads need" in capsys.readouterr().out

        # interrupted after two uploads: the checkpoint stays
        assert reprocess.main([*common, "--stop-after", "2", "--concurrency", "2"]) == 3
        assert checkpoint.exists()
        assert "run the same command to resume" in capsys.readouterr().out
        # resumed: the rest, then the checkpoint is gone
        assert reprocess.main([*common, "--concurrency", "2"]) == 0
        resumed = capsys.readouterr().out
        assert "resuming from" in resumed
        assert not checkpoint.exists()

        current = reprocess.current_outputs(json.dumps(TWO_SIZES))
        s3 = aws_client("s3")
        for upload_id, record in records_of(dynamodb, outputs["uploads_table"], ids).items():
            assert record["status"] == "done"
            assert contract.missing_outputs(record["variants"], current) == ()
            manifest = json.loads(
                s3.get_object(Bucket=outputs["output_bucket"], Key=f"{upload_id}/manifest.json")[
                    "Body"
                ].read()
            )
            assert [size["name"] for size in manifest["variants"]] == ["large", "small"]
            status = api.status(upload_id).json()
            assert [size["name"] for size in status["variants"]] == ["large", "small"]

        # a second run does nothing
        assert reprocess.main([*common, "--dry-run"]) == 0
        assert "dry run: 0 uploads need 0 outputs" in capsys.readouterr().out
        assert reprocess.main(common) == 0
        assert "0 uploads reprocessed" in capsys.readouterr().out

        # each upload's new outputs were announced (a new eventId: the keys changed)
        def announced() -> set[str] | None:
            received.extend(outcome_events.drain(sqs, queue_url, wait_seconds=1))
            seen = {
                event["detail"]["id"]
                for event in received
                if event["detail"]["outcome"] == "processed"
                and "small" in [size["name"] for size in event["detail"]["variants"]]
            }
            return seen if seen >= set(ids) else None

        received: list[dict[str, Any]] = []
        assert wait_until(announced, 60) is not None
    finally:
        outcome_events.remove_rule(events, sqs, bus, rule, queue_url)
