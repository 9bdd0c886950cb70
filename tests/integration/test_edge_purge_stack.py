"""Deletion reaches the edge, on the applied signed-in stack (issue 22): a DELETE's removals of
the output objects notify the deployed edge purge function (outside the VPC), which
invalidates the upload's one wildcard path on the distribution (the moto sidecar's CloudFront,
which stores invalidations but serves nothing: that the URL then stops serving is
tools/smoke.py's check on AWS). The several objects of one upload make one invalidation."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from support import images
from support.pipeline import wait_until
from support.stacks import FAKE_CREDENTIALS

pytestmark = pytest.mark.integration


def invalidated_paths(cloudfront: Any, distribution_id: str) -> list[list[str]]:
    listed = cloudfront.list_invalidations(DistributionId=distribution_id)["InvalidationList"]
    return [
        cloudfront.get_invalidation(DistributionId=distribution_id, Id=item["Id"])["Invalidation"][
            "InvalidationBatch"
        ]["Paths"]["Items"]
        for item in listed.get("Items", [])
    ]


def test_a_delete_invalidates_the_uploads_wildcard_path(
    auth_stack_outputs: dict[str, Any], make_user, sidecar_endpoint: str
) -> None:
    outputs = auth_stack_outputs
    distribution_id = outputs["cdn_distribution_id"]
    cloudfront = boto3.client("cloudfront", endpoint_url=sidecar_endpoint, **FAKE_CREDENTIALS)
    user = make_user("purger")
    upload_id = user.api.upload(images.jpeg((320, 240)), "image/jpeg", "purge.jpg")
    assert user.api.wait_for_final(upload_id, timeout=120)["status"] == "done"
    path = f"/{upload_id}/*"
    assert [path] not in invalidated_paths(cloudfront, distribution_id)

    assert user.api.delete(upload_id).status_code == 204

    made = wait_until(lambda: [path] in invalidated_paths(cloudfront, distribution_id), 120, 1.0)
    assert made, f"no invalidation of {path} within 120 s of the DELETE"
