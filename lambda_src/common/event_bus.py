"""Publishing outcome events to the stack's EventBridge bus (the adapter over
:mod:`common.events`). Both functions use it: the processor for processed, rejected and failed,
the API for deleted. ``EVENT_BUS_NAME`` empty: events are off and nothing is called.

A refused entry (``FailedEntryCount``) is an error: the caller's invocation fails and is
retried, and the retry publishes the same ``eventId`` again (consumers drop duplicates).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.config import Config

from common import events


class PublishError(RuntimeError):
    """EventBridge refused the entry (its error code and message)."""


@dataclass(frozen=True)
class BusSettings:
    bus_name: str  # empty: events are off
    source: str

    @property
    def enabled(self) -> bool:
        return bool(self.bus_name)


def settings_from(environ: Mapping[str, str]) -> BusSettings:
    return BusSettings(
        bus_name=environ.get("EVENT_BUS_NAME", "").strip(),
        source=environ.get("EVENT_SOURCE", "").strip() or "image-pipeline",
    )


def make_client(environ: Mapping[str, str] | None = None) -> Any:
    import boto3

    environ = os.environ if environ is None else environ
    return boto3.client(
        "events",
        region_name=environ.get("AWS_REGION"),
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
    )


class EventBus:
    def __init__(self, client: Any, settings: BusSettings) -> None:
        self._client = client
        self.settings = settings

    def publish(self, detail: Mapping[str, Any]) -> bool:
        """Put one event; ``False`` when events are off. Raises :class:`PublishError`."""
        if not self.settings.enabled:
            return False
        entry = events.entry(self.settings.source, self.settings.bus_name, detail)
        answer = self._client.put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            failed = answer["Entries"][0]
            raise PublishError(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")
        return True
