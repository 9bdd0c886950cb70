"""Reprocessing (issue 23): what is missing per record, the processor's reprocess path on moto
(only missing outputs written; manifest, record and event show them; a deleted upload is never
revived; a second pass does nothing), and the tool's pure parts."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from common import contract
from support import images as factory
from support.lambda_env import OUTPUT_BUCKET, UPLOAD_BUCKET, VARIANTS_JSON
from support.lambda_events import s3_event
from tools import reprocess as tool

ONE_SIZE = '[{"name": "large", "max_edge": 1024, "formats": [{"format": "jpeg"}]}]'
TWO_SIZES = (
    '[{"name": "large", "max_edge": 1024, "formats": [{"format": "jpeg"}]},'
    ' {"name": "small", "max_edge": 200, "formats": [{"format": "webp"}, {"format": "jpeg"}]}]'
)


def outputs_of(variants_json: str) -> tuple[contract.OutputRule, ...]:
    return contract.output_rules(contract.size_rules(json.loads(variants_json)))


def stored(outputs: tuple[contract.OutputRule, ...]) -> list[dict[str, Any]]:
    """A record's sizes listing ``outputs``."""
    sizes: dict[str, dict[str, Any]] = {}
    for output in outputs:
        size = sizes.setdefault(
            output.size, {"name": output.size, "width": 1, "height": 1, "sources": []}
        )
        size["sources"].append(
            {"format": output.format, "key": "k", "fingerprint": output.fingerprint}
        )
    return list(sizes.values())


def test_missing_outputs_are_those_whose_fingerprint_is_not_stored() -> None:
    one, two = outputs_of(ONE_SIZE), outputs_of(TWO_SIZES)
    assert contract.missing_outputs(stored(one), one) == ()
    # a new size changes the shared pipeline, so every output of the new set is new
    assert contract.missing_outputs(stored(one), two) == two
    assert contract.missing_outputs(stored(two), two) == ()
    # a record from before fingerprints: everything is outdated
    legacy = [{"name": "large", "key": "x/large.jpg", "contentType": "image/jpeg", "bytes": 1}]
    assert contract.missing_outputs(legacy, one) == one
    assert tool.needs({"status": "done", "variants": stored(one)}, two) == len(two)
    assert tool.needs({"status": "deleted"}, two) == 0  # never revived


def test_the_estimate_prices_archived_originals_higher() -> None:
    standard = tool.estimate([tool.Work("a", 3, 3_000_000)], 1024)
    archived = tool.estimate([tool.Work("a", 3, 3_000_000, "GLACIER_IR")], 1024)
    key = "S3 reads of originals (incl. retrieval)"
    assert archived[key] > standard[key]
    assert standard["S3 PUTs"] == pytest.approx(4 * 0.005 / 1000)  # 3 outputs + the manifest
    assert tool.estimate([], 1024)["Lambda compute"] == 0


def test_the_checkpoint_is_only_resumed_for_the_same_rules(tmp_path) -> None:
    path = tmp_path / "cp.json"
    saved = tool.Checkpoint(path, ["aaa"])
    saved.save({"id": {"S": "x"}}, tool.Totals(done=2, outputs_added=6))
    assert tool.Checkpoint(path, ["aaa"]).load()["scanKey"] == {"id": {"S": "x"}}
    assert tool.Checkpoint(path, ["bbb"]).load() is None  # rules changed: start over
    saved.remove()
    assert saved.load() is None


@pytest.fixture
def uploaded(s3: Any, uploads: Any, load_processor: Callable[..., ModuleType], lambda_context):
    """A photo processed under one size; returns its id."""
    processor = load_processor(VARIANTS=ONE_SIZE)
    upload_id = "3f0c2b1a-9d8e-4c7b-a6f5-0e1d2c3b4a59"
    s3.put_object(Bucket=UPLOAD_BUCKET, Key=f"uploads/{upload_id}", Body=factory.jpeg((1600, 1200)))
    done = processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    assert done["processed"][0]["status"] == "done"
    return upload_id


def reprocess(processor: ModuleType, upload_id: str, context: Any) -> str:
    event = tool.reprocess_event(UPLOAD_BUCKET, f"uploads/{upload_id}")
    return processor.handler(event, context)["processed"][0]["status"]


def test_reprocessing_adds_only_the_missing_outputs_and_then_nothing(
    uploaded, s3, uploads, load_processor, lambda_context
) -> None:
    before = {item["Key"] for item in s3.list_objects_v2(Bucket=OUTPUT_BUCKET)["Contents"]}
    processor = load_processor(VARIANTS=TWO_SIZES)  # the rules changed (Terraform apply)
    assert reprocess(processor, uploaded, lambda_context) == "reprocessed"

    record = uploads.get(uploaded)
    assert record["status"] == "done"
    assert contract.missing_outputs(record["variants"], processor.CONFIG.outputs) == ()
    assert record["reprocessedAt"] >= record["finishedAt"]
    keys = {output.key(uploaded) for output in processor.CONFIG.outputs}
    after = {item["Key"] for item in s3.list_objects_v2(Bucket=OUTPUT_BUCKET)["Contents"]}
    assert keys <= after
    assert before <= after  # the outdated outputs stay (immutable keys): nothing overwritten
    manifest = json.loads(
        s3.get_object(Bucket=OUTPUT_BUCKET, Key=f"{uploaded}/manifest.json")["Body"].read()
    )
    assert manifest["variants"] == record["variants"]
    small = next(size for size in record["variants"] if size["name"] == "small")
    assert [source["format"] for source in small["sources"]] == ["webp", "jpeg"]

    assert reprocess(processor, uploaded, lambda_context) == "current"  # idempotent


def test_a_deleted_upload_is_never_revived(
    uploaded, s3, uploads, load_processor, lambda_context
) -> None:
    from datetime import UTC, datetime

    from common import records

    owner_less = uploads.get(uploaded)
    assert owner_less is not None
    # the API's tombstone (any owner: written straight here, as DELETE would)
    uploads.update(
        {
            **records.tombstone_update(uploaded, "someone", datetime.now(UTC), 600),
            "ConditionExpression": "attribute_exists(id)",
        }
    )
    processor = load_processor(VARIANTS=TWO_SIZES)
    assert reprocess(processor, uploaded, lambda_context) == "skipped"
    assert uploads.get(uploaded)["status"] == "deleted"
    new_keys = {output.key(uploaded) for output in processor.CONFIG.outputs}
    listing = s3.list_objects_v2(Bucket=OUTPUT_BUCKET).get("Contents", [])
    assert not new_keys & {item["Key"] for item in listing}


def test_a_delete_during_reprocessing_erases_what_it_wrote(
    uploaded, s3, uploads, load_processor, lambda_context
) -> None:
    from datetime import UTC, datetime

    from common import records

    processor = load_processor(
        VARIANTS=TWO_SIZES,
    )
    write_manifest = processor.STORE.store_manifest

    def delete_then_write(upload_id: str, document: dict[str, Any]) -> None:
        uploads.update(
            {
                **records.tombstone_update(upload_id, "someone", datetime.now(UTC), 600),
                "ConditionExpression": "attribute_exists(id)",
            }
        )
        write_manifest(upload_id, document)

    processor.STORE.store_manifest = delete_then_write
    assert reprocess(processor, uploaded, lambda_context) == "deleted"
    new_keys = {output.key(uploaded) for output in processor.CONFIG.outputs}
    listing = s3.list_objects_v2(Bucket=OUTPUT_BUCKET).get("Contents", [])
    assert not new_keys & {item["Key"] for item in listing}
    assert "Contents" not in s3.list_objects_v2(Bucket=UPLOAD_BUCKET, Prefix=f"uploads/{uploaded}")


def test_the_default_unit_rules_are_valid_for_the_tool() -> None:
    assert len(tool.current_outputs(VARIANTS_JSON)) == 4
