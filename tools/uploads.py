#!/usr/bin/env python3
"""List recent uploads and rejections from the uploads table (operators, support).

    python -m tools.uploads                          # the local stack of `make up`
    python -m tools.uploads --outputs outputs.json   # any stack: `terraform output -json`
    python -m tools.uploads --status rejected --limit 20
    python -m tools.uploads --owner anonymous --json

Newest first. With ``--owner`` the table's owner index is queried (one owner's uploads);
otherwise the table is scanned (fine for an operator's look at a small table; paged, read-only)
and sorted by creation time. Anonymous uploads have no owner attribute (the index is sparse):
``--owner anonymous`` scans for the items without one. Deleted uploads (tombstones, ``deleted``
until the table's TTL drops them) are shown only with ``--status deleted``. ``--json`` prints one JSON document with the items as stored.
Needs dynamodb:Scan/Query on the table (an operator's credentials, not the functions' roles).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from tools.stack_access import ToolError, aws_client, load_outputs

STATUSES = ("awaiting_upload", "processing", "done", "rejected", "failed", "deleted")
ANONYMOUS = "anonymous"  # what --owner calls uploads without an owner attribute
_DESERIALIZER = TypeDeserializer()


def plain(value: Any) -> Any:
    """Decimals as ints or floats. (Like lambda_src/common/records.plain: an operator runs this
    command with only tools/ on the path, so it does not import the Lambda packages.)"""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def item_of(raw: dict[str, Any]) -> dict[str, Any]:
    return plain({key: _DESERIALIZER.deserialize(value) for key, value in raw.items()})


def fetch(client: Any, table: str, owner: str | None, status: str | None, limit: int) -> list:
    """Up to ``limit`` items, newest first, optionally one owner's and of one status."""
    arguments: dict[str, Any] = {"TableName": table}
    names: dict[str, str] = {"#status": "status"}
    values: dict[str, Any] = {":status": {"S": status or "deleted"}}
    filters = ["#status = :status" if status else "#status <> :status"]
    if owner == ANONYMOUS:  # not in the (sparse) owner index: scan for items without one
        filters.append("attribute_not_exists(#owner)")
        names["#owner"] = "owner"
        owner = None
    arguments.update(
        FilterExpression=" AND ".join(filters),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )
    if owner:
        arguments.update(IndexName="byOwner", ScanIndexForward=False)
        arguments["KeyConditionExpression"] = "#owner = :owner"
        arguments.setdefault("ExpressionAttributeNames", {})["#owner"] = "owner"
        arguments.setdefault("ExpressionAttributeValues", {})[":owner"] = {"S": owner}
    paginator = client.get_paginator("query" if owner else "scan")
    items: list[dict[str, Any]] = []
    for page in paginator.paginate(**arguments):
        items += [item_of(raw) for raw in page.get("Items", [])]
        if owner and len(items) >= limit:
            break
    items.sort(key=lambda item: item.get("createdAt", ""), reverse=True)
    return items[:limit]


def line_of(item: dict[str, Any]) -> str:
    error = item.get("error") or {}
    detail = error.get("code") or ", ".join(
        f"{v['name']} {v['width']}x{v['height']}" for v in item.get("variants") or []
    )
    name = item.get("fileName") or "-"
    return (
        f"{item.get('createdAt', '?'):<24}  {item['id']}  {item.get('status', '?'):<15}  "
        f"{name[:30]:<30}  {detail}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.uploads",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--outputs", type=Path, help="a file written by `terraform output -json`")
    parser.add_argument("--owner", help="only this owner's uploads (the owner index)")
    parser.add_argument("--status", choices=STATUSES, help="only uploads in this state")
    parser.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    try:
        outputs = load_outputs(args.outputs)
        table = outputs.get("uploads_table")
        if not table:
            raise ToolError("the outputs have no uploads_table: is this stack up to date?")
        client = aws_client(
            "dynamodb", outputs.get("emulator_dynamodb_endpoint"), region=outputs.get("region")
        )
        items = fetch(client, table, args.owner, args.status, max(1, args.limit))
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"table": table, "count": len(items), "items": items}, indent=2))
        return 0
    print(f"{len(items)} upload(s) in {table}, newest first")
    for item in items:
        print(line_of(item))
    return 0


if __name__ == "__main__":
    sys.exit(main())
