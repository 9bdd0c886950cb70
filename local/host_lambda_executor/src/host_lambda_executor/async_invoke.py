"""Give LocalStack's asynchronous-invocation poller an HTTP client that outlasts any invocation.

LocalStack 2026.3.0 runs every asynchronous invocation (``InvocationType=Event``, S3 and other
service notifications) from ``event_manager.Poller``, which sends a synchronous ``Invoke`` to its
own gateway with a client built on botocore's defaults: a 60 s read timeout and up to 4 retries.
An invocation that takes 60 s or more therefore looks to the poller like a dropped connection:

- botocore re-sends the ``Invoke`` while the first copy is still running (a second environment
  starts), up to 5 copies per delivery;
- when the last one times out, the poller classifies the failure as a *system* error and
  re-queues the event without counting it as a retry (``_handle_invoke_exception``), with a
  growing delay, for up to 6 hours: the on-failure destination is never reached;
- a delivery that takes longer than the queue's visibility timeout (function timeout + 60 s) is
  received again by the poller and handled in parallel.

The host executor reports a timeout as a function error (``Sandbox.Timedout``, as AWS does), so
once the answer reaches the poller, LocalStack's own retry policy applies: retried
``maximum_retry_attempts`` times, then the on-failure destination. This module makes the answer
reach it, using the client settings LocalStack itself uses for event source mappings
(``event_source_mapping/esm_worker_factory.py``): a read timeout above the longest possible
invocation and no client-side retries (LocalStack's queue does the retrying).

No LocalStack setting reaches this client, so it is replaced when the plugin loads (before any
function exists: the Lambda provider loads the executor in ``on_after_init``).
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.config import Config
from localstack import config
from localstack.aws.connect import connect_to
from localstack.services.lambda_.invocation import event_manager

LOG = logging.getLogger(__name__)

MAX_FUNCTION_TIMEOUT_SECONDS = 900
# Longest time an Invoke can take: initialisation, the longest timeout, then the kill and logs.
INVOKE_READ_TIMEOUT_SECONDS = (
    MAX_FUNCTION_TIMEOUT_SECONDS + config.LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT + 30
)
POLLER_CLIENT_CONFIG = Config(
    read_timeout=INVOKE_READ_TIMEOUT_SECONDS,
    retries={"total_max_attempts": 1},
    tcp_keepalive=True,
)
_PATCHED = "_host_lambda_executor_client"


def poller_lambda_client(account: str, region: str) -> Any:
    return connect_to(
        aws_access_key_id=account, region_name=region, config=POLLER_CLIENT_CONFIG
    ).lambda_


def install() -> None:
    """Make every ``Poller`` created from now on use ``poller_lambda_client`` (idempotent)."""
    poller = event_manager.Poller
    if getattr(poller.__init__, _PATCHED, False):
        return
    original_init = poller.__init__

    def __init__(self: Any, version_manager: Any, event_queue_url: str) -> None:
        original_init(self, version_manager, event_queue_url)
        function_id = version_manager.function_version.id
        self.lambda_client = poller_lambda_client(function_id.account, function_id.region)

    setattr(__init__, _PATCHED, True)
    poller.__init__ = __init__
    LOG.debug(
        "Asynchronous Lambda invocations use a %d s read timeout", INVOKE_READ_TIMEOUT_SECONDS
    )
