"""`make up` shows each resource as Terraform finishes it (local/stack.py ApplyProgress)."""

from __future__ import annotations

import io
import json

from local.stack import ApplyProgress


def message(kind: str, **fields: object) -> str:
    return json.dumps({"type": kind, **fields})


def hook(action: str, address: str, seconds: int = 1) -> str:
    return message(
        "apply_complete",
        hook={"resource": {"addr": address}, "action": action, "elapsed_seconds": seconds},
    )


def test_progress_counts_changes_and_skips_data_reads() -> None:
    out = io.StringIO()
    progress = ApplyProgress(out)
    lines = [
        hook("read", "data.aws_partition.current", 0),  # data sources are not changes
        message(
            "change_summary", changes={"add": 2, "change": 0, "remove": 0, "operation": "plan"}
        ),
        "not json at all",
        hook("create", "module.storage.aws_s3_bucket.this"),
        hook("read", "module.api.data.aws_iam_policy_document.function", 0),
        hook("create", "module.api.aws_api_gateway_rest_api.this", 3),
        message("diagnostic", **{"@level": "error", "@message": "Error: boom"}),
    ]
    for line in lines:
        progress.handle(line)

    assert out.getvalue().splitlines() == [
        "[terraform] applying 2 changes",
        "[terraform] [1/2] created module.storage.aws_s3_bucket.this (1s)",
        "[terraform] [2/2] created module.api.aws_api_gateway_rest_api.this (3s)",
        "[terraform] error: Error: boom",
    ]
    assert progress.errors == ["Error: boom"]
