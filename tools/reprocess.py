#!/usr/bin/env python3
"""Bring every kept upload up to the current variant rules (backfill), through the deployed
processor.

    python -m tools.reprocess --outputs outputs.json --dry-run      # counts, bytes, estimated cost
    python -m tools.reprocess --outputs outputs.json                # do it (resumes by itself)
    python -m tools.reprocess --outputs outputs.json --concurrency 8 --checkpoint my.json

The current rules are the deployed processor's own (its ``VARIANTS``); every output a record
lists carries the fingerprint of the rule that made it (``common/contract.py``
``output_fingerprint``), so an upload needs work when a current output's fingerprint is not
among its record's (``contract.missing_outputs``): a new size or format, a changed quality, new
encoder code. Only ``done`` uploads whose original is still kept are considered: deleted ones
(tombstones) never, and the processor's update is conditional on ``done`` too, so an upload
deleted meanwhile is never revived.

Each upload is one asynchronous invocation of the processor with the S3 event of its original,
marked ``"reprocess": true``: Lambda retries it and dead-letters it like any upload
(``tools/replay_dead_letters.py`` replays it). At most ``--concurrency`` uploads are in flight,
so a backfill never takes more than that many of the function's concurrent executions from live
uploads; an upload counts as done when its record lists every current output (polled with
BatchGetItem). The processor writes only the missing outputs, then the manifest, the record
(``reprocessedAt``) and a processed event with a new ``eventId``.

Checkpoint: after each page of the table scan whose uploads are all confirmed, the scan position
is saved (``--checkpoint``, default ``.reprocess-<table>.json``); an interrupted run (Ctrl-C,
``--stop-after``) continues from there with the same command, and the file is removed when a run
completes. Idempotent: a second run finds nothing missing and reports zero work. For millions of
uploads, see docs/reprocessing.md (S3 Batch Operations).
Needs dynamodb:Scan/BatchGetItem on the table, s3:HeadObject on originals, lambda:GetFunction
Configuration and lambda:InvokeFunction on the processor (an operator's credentials).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from lambda_src.common import contract
from tools.stack_access import ToolError, aws_client, emulator_endpoint, load_outputs

_DESERIALIZER = TypeDeserializer()
_SERIALIZER = TypeSerializer()
EXIT_STOPPED = 3  # stopped early (--stop-after, Ctrl-C): run the same command to resume
EXIT_UNCONFIRMED = 1  # some uploads did not show their new outputs in time

# Estimate constants (docs/cost.md, us-east-1 list prices as of 2025-06, no free tier).
PRICE = {
    "lambda_gb_s": 0.0000166667,
    "lambda_request": 0.20 / 1e6,
    "s3_put": 0.005 / 1000,
    "s3_get": 0.0004 / 1000,
    "glacier_ir_get": 0.01 / 1000,
    "glacier_ir_gb": 0.03,
    "standard_ia_get": 0.001 / 1000,
    "standard_ia_gb": 0.01,
    "dynamodb_wru": 0.625 / 1e6,
    "event": 1.00 / 1e6,
}
# The processor's measured duration for a 12 MP photo at 1,024 MB (docs/cost.md: 289 ms), CPU
# bound up to one vCPU (1,769 MB): scaled by memory. An estimate, not a measurement per upload.
MS_AT_1024 = 289.0


@dataclass(frozen=True)
class Work:
    """One upload that lacks outputs of the current rules."""

    upload_id: str
    missing: int
    source_bytes: int
    storage_class: str = "STANDARD"


@dataclass
class Totals:
    scanned: int = 0
    current: int = 0
    original_gone: int = 0
    done: int = 0
    outputs_added: int = 0
    unconfirmed: list[str] = field(default_factory=list)


# -- pure parts ---------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def deserialise(item: Mapping[str, Any]) -> dict[str, Any]:
    return plain({key: _DESERIALIZER.deserialize(value) for key, value in item.items()})


def current_outputs(variants_json: str) -> tuple[contract.OutputRule, ...]:
    """The deployed rules (the processor's ``VARIANTS``) as outputs with fingerprints."""
    return contract.output_rules(contract.size_rules(json.loads(variants_json)))


def needs(record: Mapping[str, Any], outputs: Sequence[contract.OutputRule]) -> int:
    """How many current outputs a ``done`` record lacks (0: current, or not done)."""
    if record.get("status") != "done":
        return 0
    return len(contract.missing_outputs(record.get("variants"), outputs))


def estimate(works: Sequence[Work], memory_mb: int) -> dict[str, float]:
    """Estimated cost (USD) of reprocessing ``works`` with a processor of ``memory_mb``."""
    gb = 1024**3
    ms = MS_AT_1024 * 1024 / min(max(memory_mb, 128), 1769)
    lambda_cost = sum(memory_mb / 1024 * math.ceil(ms) / 1000 for _ in works) * PRICE["lambda_gb_s"]
    reads = 0.0
    for work in works:
        if work.storage_class == "GLACIER_IR":
            reads += PRICE["glacier_ir_get"] + work.source_bytes / gb * PRICE["glacier_ir_gb"]
        elif work.storage_class == "STANDARD_IA":
            reads += PRICE["standard_ia_get"] + work.source_bytes / gb * PRICE["standard_ia_gb"]
        else:
            reads += PRICE["s3_get"]
    puts = sum(work.missing + 1 for work in works) * PRICE["s3_put"]  # outputs + the manifest
    other = len(works) * (2 * PRICE["dynamodb_wru"] + PRICE["event"] + PRICE["lambda_request"])
    return {
        "Lambda compute": lambda_cost,
        "S3 reads of originals (incl. retrieval)": reads + len(works) * PRICE["s3_get"],
        "S3 PUTs": puts,
        "requests, record writes, events": other,
    }


def reprocess_event(bucket: str, key: str) -> dict[str, Any]:
    """The S3 event of an original, marked for the processor's reprocess path."""
    return {
        "reprocess": True,
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
            }
        ],
    }


def bar(done: int, total: int, width: int = 30) -> str:
    filled = width if total == 0 else int(width * done / total)
    return "[" + "#" * filled + "." * (width - filled) + "]"


# -- the run ------------------------------------------------------------------------------------


class Checkpoint:
    """The scan position after the last fully confirmed page, for these rules."""

    def __init__(self, path: Path, fingerprints: list[str]) -> None:
        self.path = path
        self.fingerprints = fingerprints

    def load(self) -> dict[str, Any] | None:
        try:
            saved = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        if saved.get("fingerprints") != self.fingerprints:
            return None  # the rules changed since: start over
        return saved

    def save(self, scan_key: dict[str, Any] | None, totals: Totals) -> None:
        document = {
            "fingerprints": self.fingerprints,
            "scanKey": scan_key,
            "done": totals.done,
            "outputsAdded": totals.outputs_added,
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(document, indent=2))
        temporary.replace(self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


class Stopped(Exception):
    """--stop-after reached."""


class Reprocessor:
    def __init__(self, outputs: dict[str, Any], args: argparse.Namespace, out: TextIO) -> None:
        endpoint = emulator_endpoint(outputs.get("api_url"))
        region = outputs.get("region")
        self.table = outputs["uploads_table"]
        self.function = outputs["processor_function_name"]
        self.upload_bucket = outputs["upload_bucket"]
        self.dynamodb = aws_client(
            "dynamodb", outputs.get("emulator_dynamodb_endpoint") or endpoint, region
        )
        self.s3 = aws_client("s3", endpoint, region)
        self.lambda_ = aws_client("lambda", endpoint, region)
        self.args = args
        self.out = out
        configuration = self.lambda_.get_function_configuration(FunctionName=self.function)
        self.memory_mb = int(configuration["MemorySize"])
        variants = configuration["Environment"]["Variables"]["VARIANTS"]
        self.outputs = current_outputs(variants)
        self.totals = Totals()

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def pages(self, start: dict[str, Any] | None) -> Iterator[tuple[list[dict], dict | None]]:
        """Pages of ``done`` records (id, variants, source), with the key after each."""
        key = start
        while True:
            arguments: dict[str, Any] = {
                "TableName": self.table,
                "FilterExpression": "#status = :done",
                "ProjectionExpression": "id, #status, variants, #source",
                "ExpressionAttributeNames": {"#status": "status", "#source": "source"},
                "ExpressionAttributeValues": {":done": {"S": "done"}},
                "Limit": self.args.page_size,
            }
            if key:
                arguments["ExclusiveStartKey"] = key
            page = self.dynamodb.scan(**arguments)
            self.totals.scanned += page.get("ScannedCount", 0)
            key = page.get("LastEvaluatedKey")
            yield [deserialise(item) for item in page.get("Items", [])], key
            if not key:
                return

    def plan(self, records: list[dict[str, Any]]) -> list[Work]:
        """The page's uploads that need work and still have their original."""
        works = []
        for record in records:
            missing = needs(record, self.outputs)
            if not missing:
                self.totals.current += 1
                continue
            key = contract.upload_key(contract.DEFAULT_UPLOAD_PREFIX, record["id"])
            try:
                head = self.s3.head_object(Bucket=self.upload_bucket, Key=key)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                    self.totals.original_gone += 1
                    continue
                raise
            works.append(
                Work(
                    record["id"],
                    missing,
                    int(head["ContentLength"]),
                    head.get("StorageClass", "STANDARD"),
                )
            )
        return works

    def dry_run(self) -> int:
        works = [work for records, _key in self.pages(None) for work in self.plan(records)]
        cost = estimate(works, self.memory_mb)
        self.say(
            f"dry run: {len(works)} uploads need {sum(w.missing for w in works)} outputs "
            f"({self.totals.current} current, {self.totals.original_gone} without original); "
            f"{sum(w.source_bytes for w in works)} bytes of originals to read"
        )
        for name, value in cost.items():
            self.say(f"  {name}: ${value:.4f}")
        self.say(f"  estimated total: ${sum(cost.values()):.4f} (processor {self.memory_mb} MB)")
        return 0

    def run(self) -> int:
        fingerprints = sorted(output.fingerprint for output in self.outputs)
        checkpoint = Checkpoint(
            self.args.checkpoint or Path(f".reprocess-{self.table}.json"), fingerprints
        )
        saved = checkpoint.load()
        start = saved["scanKey"] if saved else None
        if saved:
            self.totals.done = saved["done"]
            self.totals.outputs_added = saved["outputsAdded"]
            self.say(f"resuming from {checkpoint.path} ({saved['done']} uploads done before)")
        try:
            for records, next_key in self.pages(start):
                self.submit_and_confirm(self.plan(records))
                checkpoint.save(next_key, self.totals)
        except (Stopped, KeyboardInterrupt):
            self.say(
                f"\nstopped after {self.totals.done} uploads; checkpoint {checkpoint.path}: "
                "run the same command to resume"
            )
            return EXIT_STOPPED
        checkpoint.remove()
        self.say(
            f"\n{self.totals.done} uploads reprocessed, {self.totals.outputs_added} outputs "
            f"added; {self.totals.current} already current, "
            f"{self.totals.original_gone} without original"
        )
        if self.totals.unconfirmed:
            self.say(f"not confirmed in time (run again): {', '.join(self.totals.unconfirmed)}")
            return EXIT_UNCONFIRMED
        return 0

    def submit_and_confirm(self, works: list[Work]) -> None:
        """Invoke the processor for ``works`` with at most ``--concurrency`` in flight, until
        each record lists every current output (or ``--upload-timeout`` passes). With
        ``--stop-after`` reached, what is in flight is confirmed, then :class:`Stopped`."""
        pending = list(works)
        in_flight: dict[str, tuple[Work, float]] = {}
        while pending or in_flight:
            while (
                pending
                and len(in_flight) < self.args.concurrency
                and not self.stopping(len(in_flight))
            ):
                work = pending.pop(0)
                self.invoke(work)
                in_flight[work.upload_id] = (work, time.monotonic())
            if not in_flight:
                raise Stopped
            time.sleep(self.args.poll_seconds)
            for upload_id, finished in self.confirm(list(in_flight)).items():
                work, started = in_flight[upload_id]
                if finished:
                    del in_flight[upload_id]
                    self.totals.done += 1
                    self.totals.outputs_added += work.missing
                elif time.monotonic() - started > self.args.upload_timeout:
                    del in_flight[upload_id]
                    self.totals.unconfirmed.append(upload_id)
            self.progress(len(in_flight))

    def stopping(self, in_flight: int) -> bool:
        limit = self.args.stop_after
        return limit is not None and self.totals.done + in_flight >= limit

    def invoke(self, work: Work) -> None:
        key = contract.upload_key(contract.DEFAULT_UPLOAD_PREFIX, work.upload_id)
        self.lambda_.invoke(
            FunctionName=self.function,
            InvocationType="Event",
            Payload=json.dumps(reprocess_event(self.upload_bucket, key)).encode(),
        )

    def confirm(self, upload_ids: list[str]) -> dict[str, bool]:
        """Per id: the record is current (or no longer ``done``: deleted meanwhile)."""
        answer: dict[str, bool] = {}
        for start in range(0, len(upload_ids), 100):
            keys = [{"id": {"S": upload_id}} for upload_id in upload_ids[start : start + 100]]
            request = {self.table: {"Keys": keys, "ConsistentRead": True}}
            while request:
                response = self.dynamodb.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self.table, []):
                    record = deserialise(item)
                    answer[record["id"]] = needs(record, self.outputs) == 0
                request = response.get("UnprocessedKeys") or {}
        for upload_id in upload_ids:
            answer.setdefault(upload_id, True)  # the record is gone (expired): nothing to do
        return answer

    def progress(self, in_flight: int) -> None:
        print(
            f"\r{bar(self.totals.done, self.totals.done + in_flight)} {self.totals.done} uploads "
            f"done, {self.totals.outputs_added} outputs added, {in_flight} in flight",
            end="",
            file=self.out,
            flush=True,
        )


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.reprocess",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--outputs", type=Path, help="a file written by `terraform output -json`")
    parser.add_argument("--dry-run", action="store_true", help="only count and estimate")
    parser.add_argument("--concurrency", type=int, default=4, help="uploads in flight (1-100)")
    parser.add_argument("--checkpoint", type=Path, help="default .reprocess-<table>.json")
    parser.add_argument("--page-size", type=int, default=100, help="records per scan page")
    parser.add_argument("--stop-after", type=int, help="stop after this many uploads (resumable)")
    parser.add_argument("--upload-timeout", type=float, default=600.0, help="seconds per upload")
    parser.add_argument("--poll-seconds", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 100:
        parser.error("--concurrency must be between 1 and 100")
    try:
        tool = Reprocessor(load_outputs(args.outputs), args, out or sys.stdout)
        return tool.dry_run() if args.dry_run else tool.run()
    except ToolError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
