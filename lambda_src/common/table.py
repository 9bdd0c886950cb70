"""The uploads table through the low-level DynamoDB client (what both functions' roles allow).

Requests come from :mod:`common.records` in plain Python values; this module serialises them
(numbers become DynamoDB numbers, dicts maps, lists lists) and deserialises answers back into
plain values. A failed condition is an answer, not an error: :meth:`UploadsTable.update` returns
``None`` for it, :meth:`UploadsTable.create` returns ``False``, and :meth:`UploadsTable.attempt`
returns the item as the refusal found it (requests that ask ``ReturnValuesOnConditionCheckFailure``;
no extra read, so no ``GetItem`` right, and no window between the refusal and the read).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from common import records

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def make_client(environ: Mapping[str, str] | None = None) -> Any:
    import boto3

    environ = os.environ if environ is None else environ
    return boto3.client(
        "dynamodb",
        region_name=environ.get("AWS_REGION"),
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )


def serialise(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _SERIALIZER.serialize(_decimals(value)) for key, value in values.items()}


def _decimals(value: Any) -> Any:
    """Floats as ``Decimal`` (the SDK refuses floats: their binary value is not exact)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {key: _decimals(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decimals(item) for item in value]
    return value


def deserialise(item: Mapping[str, Any]) -> dict[str, Any]:
    return records.plain({key: _DESERIALIZER.deserialize(value) for key, value in item.items()})


@dataclass(frozen=True)
class Answer:
    """An update's answer: ``applied`` with its ``ReturnValues``, or refused with the item as
    it was (``None``: there was no item)."""

    applied: bool
    item: dict[str, Any] | None


class UploadsTable:
    def __init__(self, client: Any, name: str, owner_index: str = "byOwner") -> None:
        self._client = client
        self.name = name
        self.owner_index = owner_index

    def create(self, item: Mapping[str, Any]) -> bool:
        """Put a new item; ``False`` when one with this id exists (it is never overwritten)."""
        try:
            self._client.put_item(
                TableName=self.name,
                Item=serialise(item),
                ConditionExpression=records.CREATE_CONDITION,
            )
        except ClientError as error:
            if _condition_failed(error):
                return False
            raise
        return True

    def get(self, upload_id: str) -> dict[str, Any] | None:
        """The item, read strongly consistent, or ``None``."""
        response = self._client.get_item(
            TableName=self.name, Key=serialise({"id": upload_id}), ConsistentRead=True
        )
        item = response.get("Item")
        return deserialise(item) if item else None

    def update(self, request: Mapping[str, Any]) -> dict[str, Any] | None:
        """Apply a :mod:`common.records` update; ``None`` when its condition does not hold."""
        answer = self.attempt(request)
        return answer.item if answer.applied else None

    def attempt(self, request: Mapping[str, Any]) -> Answer:
        """Apply a :mod:`common.records` update and say what happened (see :class:`Answer`)."""
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "Key": serialise(request["Key"]),
            "UpdateExpression": request["UpdateExpression"],
            "ConditionExpression": request["ConditionExpression"],
            "ExpressionAttributeNames": request["ExpressionAttributeNames"],
            "ExpressionAttributeValues": serialise(request["ExpressionAttributeValues"]),
        }
        for option in ("ReturnValues", "ReturnValuesOnConditionCheckFailure"):
            if option in request:
                arguments[option] = request[option]
        try:
            response = self._client.update_item(**arguments)
        except ClientError as error:
            if _condition_failed(error):
                current = error.response.get("Item")
                return Answer(False, deserialise(current) if current else None)
            raise
        return Answer(True, deserialise(response.get("Attributes") or {}))

    def list_owner(
        self, owner: str, limit: int, start_key: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of ``owner``'s uploads, newest first, and the key of the next page."""
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "IndexName": self.owner_index,
            "KeyConditionExpression": "#owner = :owner",
            "ExpressionAttributeNames": {"#owner": "owner"},
            "ExpressionAttributeValues": serialise({":owner": owner}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start_key:
            arguments["ExclusiveStartKey"] = serialise(start_key)
        response = self._client.query(**arguments)
        items = [deserialise(item) for item in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return items, deserialise(last) if last else None


def _condition_failed(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"
