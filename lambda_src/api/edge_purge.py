"""Edge purge (handler ``api.edge_purge.handler``): deletion reaches the distribution.

The output bucket notifies this function of every removed object (``s3:ObjectRemoved:*``: the
API's DELETE, and the processor erasing what a late attempt wrote). It invalidates the
upload's one wildcard path, ``/<id>/*``, on the distribution (``DISTRIBUTION_ID``), so an
erased image stops being served within minutes, not at its TTL.

It runs outside any VPC, deliberately: CloudFront's API has no VPC endpoint, and this function
reads no data (it gets keys in an event and sends one path), so the API and the processor can
stay in a VPC without NAT. The caller reference is ``delete-<id>``: the several objects of one
upload (variants, manifest) notify it several times, and CloudFront answers a repeated
reference with the same batch by returning the existing invalidation, so they make one.
Lifecycle expiry is another event type (``s3:LifecycleExpiration:*``) and purges nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from common import contract, jsonlog


def upload_ids(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The distinct upload ids of the removed objects' keys (``<id>/...``), in order; keys of
    anything else are ignored."""
    ids: list[str] = []
    for record in records:
        key = unquote_plus(str(record.get("s3", {}).get("object", {}).get("key", "")))
        upload_id = key.split("/", 1)[0]
        if "/" in key and contract.is_upload_id(upload_id) and upload_id not in ids:
            ids.append(upload_id)
    return ids


def invalidation_batch(upload_id: str) -> dict[str, Any]:
    """CloudFront's ``InvalidationBatch`` for one upload: its one wildcard path."""
    return {
        "Paths": {"Quantity": 1, "Items": [f"/{upload_id}/*"]},
        "CallerReference": f"delete-{upload_id}",
    }


LOG = jsonlog.JsonLogger("edge_purge", os.environ.get("LOG_LEVEL", "INFO"))
_CLIENT: Any = None


def _cloudfront() -> Any:
    global _CLIENT
    if _CLIENT is None:
        import boto3

        _CLIENT = boto3.client("cloudfront")
    return _CLIENT


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    distribution_id = os.environ["DISTRIBUTION_ID"]
    ids = upload_ids(event.get("Records") or [])
    for upload_id in ids:
        answer = _cloudfront().create_invalidation(
            DistributionId=distribution_id, InvalidationBatch=invalidation_batch(upload_id)
        )
        LOG.info(
            "edge purged",
            upload_id=upload_id,
            invalidation_id=answer["Invalidation"]["Id"],
            request_id=getattr(context, "aws_request_id", None),
        )
    return {"invalidated": ids}
