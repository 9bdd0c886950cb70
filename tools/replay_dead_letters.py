#!/usr/bin/env python3
"""Replay the processor's dead letters: re-invoke it with each original S3 event.

    .venv/bin/python -m tools.replay_dead_letters --dry-run      # list what would be replayed
    .venv/bin/python -m tools.replay_dead_letters                # replay everything replayable
    .venv/bin/python -m tools.replay_dead_letters --max 10
    .venv/bin/python -m tools.replay_dead_letters --upload-id <id> [--upload-id <id> ...]
    .venv/bin/python -m tools.replay_dead_letters --outputs-json outputs.json   # a real AWS stack

An S3 event the processor failed on (S3 or permission errors, bugs: never a bad image, which
gets a ``rejected`` manifest) is retried by Lambda (``maximum_retry_attempts``) and then sent
to the dead-letter queue by the on-failure destination. That record keeps the original event
under ``requestPayload`` and the last error under ``responsePayload``.

Fix the cause first (see docs/reliability.md), then run this command. For each message it:

1. keeps only S3 ``ObjectCreated`` events whose every record names the stack's upload bucket
   (anything else is reported as skipped and left in the queue for a person to look at);
2. invokes the processor synchronously with the original event (``RequestResponse``);
3. deletes the message only if that invocation succeeded (no ``FunctionError``). A failed
   replay leaves the message in the queue with its error printed.

Processing is idempotent (deterministic outputs, manifest written last), so replaying an
event that was in fact processed in the meantime rewrites identical objects. A replayed upload
that is ``failed`` starts a new attempt epoch (common/records.py ``restart_update``): its status
reads ``processing`` while the replay runs and ends ``done``, or ``failed`` again when the
replay fails (a synchronous invocation is one attempt, never retried). A replay of an upload
deleted meanwhile erases what is left of it and succeeds.

Messages it did not delete become visible again when it ends. ``--dry-run`` invokes and
deletes nothing. Exit status: 0 when every replayable message was replayed (or would be, with
``--dry-run``), 1 when a replay failed or a message was skipped, 2 on a usage or access error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import stack_access

RECEIVE_BATCH = 10
# Received messages stay invisible for this long while the command works through the queue,
# so none is seen twice in one run; the ones it keeps are made visible again at the end.
VISIBILITY_SECONDS = 900
UPLOAD_PREFIX = "uploads/"


@dataclass(frozen=True)
class Decision:
    """What to do with one dead letter: ``event`` to replay, or ``None`` and why not."""

    event: dict[str, Any] | None
    reason: str
    keys: tuple[str, ...] = ()


def classify(body: str, upload_bucket: str) -> Decision:
    """Decide from a message body whether it is a replayable S3 event for ``upload_bucket``."""
    try:
        record = json.loads(body)
    except ValueError:
        return Decision(None, "not JSON")
    if not isinstance(record, dict) or not isinstance(record.get("requestPayload"), dict):
        return Decision(None, "no requestPayload (not an on-failure destination record)")
    event = record["requestPayload"]
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        return Decision(None, "requestPayload is not an S3 event (no Records)")
    keys = []
    for item in records:
        try:
            source = item["eventSource"]
            name = item["eventName"]
            bucket = item["s3"]["bucket"]["name"]
            key = item["s3"]["object"]["key"]
        except (KeyError, TypeError):
            return Decision(None, "a record is not an S3 event record")
        if source != "aws:s3" or not str(name).startswith("ObjectCreated"):
            return Decision(None, f"record {source}/{name} is not an S3 ObjectCreated event")
        if bucket != upload_bucket:
            return Decision(None, f"record names bucket {bucket!r}, not the upload bucket")
        keys.append(str(key))
    return Decision(event, "replayable", tuple(keys))


def upload_ids(keys: Sequence[str]) -> set[str]:
    return {key[len(UPLOAD_PREFIX) :] for key in keys if key.startswith(UPLOAD_PREFIX)}


@dataclass
class Outcome:
    message_id: str
    action: str  # replayed | failed | skipped | would-replay | filtered
    detail: str
    keys: tuple[str, ...] = ()


def invoke(lambda_client: Any, function_name: str, event: dict[str, Any]) -> tuple[bool, str]:
    """Synchronous invocation; (succeeded, detail)."""
    response = lambda_client.invoke(
        FunctionName=function_name,
        InvocationType="RequestResponse",
        Payload=json.dumps(event).encode(),
    )
    payload = response["Payload"].read().decode("utf-8", errors="replace")
    if response.get("FunctionError") or response.get("StatusCode") != 200:
        return (
            False,
            f"{response.get('FunctionError') or response.get('StatusCode')}: {payload[:500]}",
        )
    return True, payload[:500]


def replay(
    sqs: Any,
    lambda_client: Any,
    queue_url: str,
    function_name: str,
    upload_bucket: str,
    *,
    dry_run: bool = False,
    maximum: int | None = None,
    only_ids: set[str] | None = None,
    say: Callable[[str], None] = print,
) -> list[Outcome]:
    """Work through the queue once; see the module docstring."""
    outcomes: list[Outcome] = []
    to_release: list[str] = []  # receipt handles of messages left in the queue
    seen: set[str] = set()
    try:
        while maximum is None or _acted_on(outcomes) < maximum:
            batch = sqs.receive_message(
                QueueUrl=queue_url,
                MaxNumberOfMessages=RECEIVE_BATCH,
                VisibilityTimeout=VISIBILITY_SECONDS,
                WaitTimeSeconds=1,
            ).get("Messages", [])
            fresh = [message for message in batch if message["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                if maximum is not None and _acted_on(outcomes) >= maximum:
                    to_release.append(message["ReceiptHandle"])
                    continue
                outcome = _handle(
                    message,
                    sqs,
                    lambda_client,
                    queue_url,
                    function_name,
                    upload_bucket,
                    dry_run,
                    only_ids,
                )
                if outcome.action != "replayed":
                    to_release.append(message["ReceiptHandle"])
                outcomes.append(outcome)
                if outcome.action != "filtered":
                    keys = " ".join(outcome.keys) or "-"
                    say(f"{outcome.action:<12} {outcome.message_id}  {keys}  {outcome.detail}")
    finally:
        for handle in to_release:  # visible again now, not in VISIBILITY_SECONDS
            try:
                sqs.change_message_visibility(
                    QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
            except Exception as error:  # the message reappears after the timeout anyway
                say(f"warning: could not release a message: {error}")
    return outcomes


def _acted_on(outcomes: Sequence[Outcome]) -> int:
    return sum(outcome.action != "filtered" for outcome in outcomes)


def _handle(
    message: dict[str, Any],
    sqs: Any,
    lambda_client: Any,
    queue_url: str,
    function_name: str,
    upload_bucket: str,
    dry_run: bool,
    only_ids: set[str] | None,
) -> Outcome:
    message_id = message["MessageId"]
    decision = classify(message.get("Body", ""), upload_bucket)
    if decision.event is None:
        return Outcome(message_id, "skipped", decision.reason)
    if only_ids is not None and not upload_ids(decision.keys) & only_ids:
        return Outcome(message_id, "filtered", "not one of --upload-id", decision.keys)
    if dry_run:
        return Outcome(message_id, "would-replay", "dry run", decision.keys)
    try:
        succeeded, detail = invoke(lambda_client, function_name, decision.event)
    except Exception as error:  # the invoke itself failed (throttled, access denied...)
        return Outcome(message_id, "failed", f"invoke error: {error}", decision.keys)
    if not succeeded:
        return Outcome(message_id, "failed", detail, decision.keys)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return Outcome(message_id, "replayed", detail, decision.keys)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.replay_dead_letters",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dry-run", action="store_true", help="list only; invoke/delete nothing")
    parser.add_argument("--max", type=int, help="act on at most this many messages")
    parser.add_argument(
        "--upload-id", action="append", dest="upload_ids", help="only this upload (repeatable)"
    )
    parser.add_argument("--outputs-json", type=Path, help="`terraform output -json` of the stack")
    parser.add_argument("--stack-workdir", type=Path, help="python -m local.stack --workdir")
    parser.add_argument("--queue-url", help="dead-letter queue (default: dead_letter_queue_url)")
    parser.add_argument(
        "--function-name", help="processor (default: the processor_function_name output)"
    )
    parser.add_argument("--upload-bucket", help="upload bucket (default: the upload_bucket output)")
    parser.add_argument(
        "--endpoint-url", help="AWS endpoint (default: the emulator's for a local stack)"
    )
    args = parser.parse_args(argv)
    if args.max is not None and args.max < 1:
        parser.error("--max must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        explicit = args.queue_url and args.function_name and args.upload_bucket
        outputs = (
            {} if explicit else stack_access.load_outputs(args.outputs_json, args.stack_workdir)
        )
        queue_url = args.queue_url or outputs.get("dead_letter_queue_url")
        function_name = args.function_name or outputs.get("processor_function_name")
        upload_bucket = args.upload_bucket or outputs.get("upload_bucket")
        if not (queue_url and function_name and upload_bucket):
            raise stack_access.ToolError(
                "need the queue URL, the processor's name and the upload bucket "
                "(from the outputs, or --queue-url/--function-name/--upload-bucket)"
            )
        endpoint = args.endpoint_url or stack_access.emulator_endpoint(outputs.get("api_url"))
        sqs = stack_access.aws_client("sqs", endpoint, region=outputs.get("region"))
        # a synchronous invoke can last as long as the function's timeout (at most 900 s)
        lambda_client = stack_access.aws_client(
            "lambda", endpoint, region=outputs.get("region"), read_timeout=910, connect_timeout=10
        )
        outcomes = replay(
            sqs,
            lambda_client,
            queue_url,
            function_name,
            upload_bucket,
            dry_run=args.dry_run,
            maximum=args.max,
            only_ids=set(args.upload_ids) if args.upload_ids else None,
        )
    except stack_access.ToolError as error:
        print(f"replay: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # access to the queue or the function
        print(f"replay: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.action] = counts.get(outcome.action, 0) + 1
    counts.pop("filtered", None)
    print("summary: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "queue empty"))
    return 1 if counts.get("failed") or counts.get("skipped") else 0


if __name__ == "__main__":
    sys.exit(main())
