"""api/edge_purge.py: a deleted upload's objects invalidate its one wildcard path on the
distribution (moto CloudFront), once per upload whatever the number of objects."""

from __future__ import annotations

import importlib
import sys
import uuid
from typing import Any

import pytest

from support.lambda_env import OUTPUT_BUCKET, REGION
from support.lambda_events import s3_event


def removed(*keys: str) -> dict[str, Any]:
    return s3_event(*keys, bucket=OUTPUT_BUCKET, name="ObjectRemoved:Delete")


def test_upload_ids_are_the_first_segment_of_each_key_once() -> None:
    from api import edge_purge

    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    event = removed(
        f"{a}/large.jpg",
        f"{a}/manifest.json",
        f"{b}/thumb.webp",
        "index.html",
        "not-an-id/x.jpg",
        a,
    )
    assert edge_purge.upload_ids(event["Records"]) == [a, b]


def test_the_batch_is_one_wildcard_path_with_a_reference_per_upload() -> None:
    from api import edge_purge

    upload_id = str(uuid.uuid4())
    assert edge_purge.invalidation_batch(upload_id) == {
        "Paths": {"Quantity": 1, "Items": [f"/{upload_id}/*"]},
        "CallerReference": f"delete-{upload_id}",
    }


@pytest.fixture
def distribution(s3: Any) -> tuple[Any, str]:
    import boto3

    client = boto3.client("cloudfront", region_name=REGION)
    answer = client.create_distribution(
        DistributionConfig={
            "CallerReference": "t",
            "Comment": "t",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "images",
                        "DomainName": f"{OUTPUT_BUCKET}.s3.amazonaws.com",
                        "S3OriginConfig": {"OriginAccessIdentity": ""},
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "images",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                "TrustedSigners": {"Enabled": False, "Quantity": 0},
            },
        }
    )
    return client, answer["Distribution"]["Id"]


def test_the_handler_invalidates_each_deleted_upload(
    distribution, monkeypatch: pytest.MonkeyPatch, lambda_context
) -> None:
    client, distribution_id = distribution
    monkeypatch.setenv("DISTRIBUTION_ID", distribution_id)
    sys.modules.pop("api.edge_purge", None)
    edge_purge = importlib.import_module("api.edge_purge")
    upload_id = str(uuid.uuid4())

    answer = edge_purge.handler(
        removed(f"{upload_id}/large.jpg", f"{upload_id}/manifest.json"), lambda_context
    )

    assert answer == {"invalidated": [upload_id]}
    listed = client.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    (item,) = listed["Items"]
    made = client.get_invalidation(DistributionId=distribution_id, Id=item["Id"])
    batch = made["Invalidation"]["InvalidationBatch"]
    assert batch["Paths"]["Items"] == [f"/{upload_id}/*"]
    assert batch["CallerReference"] == f"delete-{upload_id}"
