"""The DynamoDB record of every upload, on the applied stack (the table served by the sidecar).

LocalStack community's DynamoDB downloads DynamoDB Local from AWS's CDN at first use, which an
offline machine cannot; the moto sidecar (local/emulator.py) serves DynamoDB instead, and both
functions reach it through AWS_ENDPOINT_URL_DYNAMODB, which Terraform sets on the emulator only.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from common.table import deserialise
from support import images

TIMEOUT = 90


@pytest.fixture(scope="module")
def table_name(local_stack_outputs: dict[str, Any]) -> str:
    return local_stack_outputs["uploads_table"]


def record(dynamodb: Any, table_name: str, upload_id: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(
        TableName=table_name, Key={"id": {"S": upload_id}}, ConsistentRead=True
    ).get("Item")
    return deserialise(item) if item else None


def test_terraform_created_the_table(dynamodb, table_name):
    table = dynamodb.describe_table(TableName=table_name)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    (index,) = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byOwner"
    assert [key["AttributeName"] for key in index["KeySchema"]] == ["owner", "createdAt"]
    ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expiresAt"
    assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_a_good_image_leaves_one_done_record(api, dynamodb, table_name):
    data = images.photo_bytes((1600, 1200))
    created = api.create_upload("image/jpeg", len(data), "../beach\u0000.jpg")
    grant = created.json()
    upload_id = grant["id"]

    waiting = record(dynamodb, table_name, upload_id)
    assert waiting["status"] == "awaiting_upload"  # recorded before the URL was handed out
    assert waiting["fileName"] == "beach.jpg"
    assert "owner" not in waiting  # anonymous: not in the (sparse) owner index
    assert waiting["declaredBytes"] == len(data)
    assert isinstance(waiting["expiresAt"], int)  # the table's TTL attribute

    assert api.put(grant, data).status_code == 200
    body = api.wait_for_final(upload_id, timeout=TIMEOUT)
    assert body["status"] == "done"

    item = record(dynamodb, table_name, upload_id)
    assert item["status"] == "done"
    assert [(v["name"], v["width"], v["height"]) for v in item["variants"]] == [
        (v["name"], v["width"], v["height"]) for v in body["variants"]
    ]
    assert (item["source"]["width"], item["source"]["height"]) == (1600, 1200)
    assert item["processingMs"] > 0
    assert item["failedAttempts"] == 0
    assert item["expiresAt"] == waiting["expiresAt"]


def test_a_rejected_image_leaves_one_rejected_record(api, dynamodb, table_name):
    upload_id = api.upload(b"%PDF-1.7 not an image", "image/png", "doc.png")
    body = api.wait_for_final(upload_id, timeout=TIMEOUT)
    item = record(dynamodb, table_name, upload_id)

    assert body["status"] == item["status"] == "rejected"
    assert body["error"]["code"] == item["error"]["code"] == "not_an_image"


def test_the_status_is_served_from_the_record(api, s3, local_stack_outputs):
    """With the manifest gone from the output bucket the status is unchanged: no S3 read."""
    upload_id = api.upload(images.photo_bytes((640, 480)), "image/jpeg", "x.jpg")
    assert api.wait_for_final(upload_id, timeout=TIMEOUT)["status"] == "done"
    s3.delete_object(Bucket=local_stack_outputs["output_bucket"], Key=f"{upload_id}/manifest.json")

    assert api.status(upload_id).json()["status"] == "done"


def test_concurrent_uploads_each_leave_exactly_one_matching_record(api, dynamodb, table_name):
    def one(index: int) -> tuple[str, str]:
        upload_id = api.upload(images.photo_bytes((800, 600), seed=index), "image/jpeg")
        return upload_id, api.wait_for_final(upload_id, timeout=TIMEOUT)["status"]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(6)))

    assert len({upload_id for upload_id, _ in results}) == 6
    for upload_id, status in results:
        assert status == "done"
        assert record(dynamodb, table_name, upload_id)["status"] == status


def test_the_operator_command_lists_rejections_from_the_table(api, outputs_file, capsys):
    import json

    from tools import uploads as uploads_tool

    upload_id = api.upload(b"GIF89a but not really", "image/gif", "fake.gif")
    assert api.wait_for_final(upload_id, timeout=TIMEOUT)["status"] == "rejected"

    code = uploads_tool.main(["--outputs", str(outputs_file), "--status", "rejected", "--json"])
    document = json.loads(capsys.readouterr().out)

    assert code == 0
    listed = {item["id"]: item for item in document["items"]}
    assert listed[upload_id]["error"]["code"] in ("corrupt_image", "not_an_image")
    assert all(item["status"] == "rejected" for item in document["items"])
