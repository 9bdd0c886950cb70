"""The processor's metric documents (CloudWatch embedded metric format) and the trace ids.

The documents are checked against the EMF specification's rules (a ``_aws`` member with a
millisecond timestamp and one directive whose metrics and dimensions are top-level members) and
against what the alarms module and the dashboard read (namespace, ``Service``, ``ErrorCode``,
metric names and units). The handler tests prove the processor writes one document per upload,
with the upload's ids as properties, and the presigning request's ids reach its logs.
"""

from __future__ import annotations

import io
import json
import math
from typing import Any

import pytest

from common import emf, tracing
from processor import metrics
from support import images as factory
from support.lambda_events import api_event, s3_event

NS = "ImagePipeline"
TIMINGS = {
    "head": 4.0,
    "record": 6.5,
    "get": 10.25,
    "process": 120.0,
    "put": 20.0,
    "decode": 50.0,
    "resize": 60.0,
    "encode": 6.0,
}


def directive(doc: dict[str, Any]) -> dict[str, Any]:
    (only,) = doc["_aws"]["CloudWatchMetrics"]
    return only


def assert_valid_emf(doc: dict[str, Any]) -> None:
    """What CloudWatch requires of a document to extract its metrics."""
    assert isinstance(doc["_aws"]["Timestamp"], int)
    for entry in doc["_aws"]["CloudWatchMetrics"]:
        assert isinstance(entry["Namespace"], str)
        assert entry["Namespace"]
        assert 1 <= len(entry["Metrics"]) <= emf.MAX_METRICS
        for dimension_set in entry["Dimensions"]:
            assert len(dimension_set) <= emf.MAX_DIMENSIONS
            assert all(isinstance(doc[name], str) for name in dimension_set)
        for metric in entry["Metrics"]:
            assert metric["Unit"] in emf.UNITS
            value = doc[metric["Name"]]
            assert isinstance(value, int | float)
            assert math.isfinite(value)
    json.dumps(doc)  # serialisable as one line


def test_a_processed_upload_counts_one_image_and_its_stages() -> None:
    doc = metrics.processed(
        NS, "sip", TIMINGS, {"upload_id": "u-1"}, timestamp_ms=1_700_000_000_000
    )
    assert_valid_emf(doc)
    entry = directive(doc)
    assert entry["Namespace"] == NS
    assert entry["Dimensions"] == [["Service"]]
    assert doc["Service"] == "sip"
    assert doc["_aws"]["Timestamp"] == 1_700_000_000_000
    units = {m["Name"]: m["Unit"] for m in entry["Metrics"]}
    assert units == {
        "ImagesProcessed": "Count",
        **{
            f"{stage}Ms": "Milliseconds"
            for stage in ("Head", "Record", "Get", "Process", "Put", "Decode", "Resize", "Encode")
        },
        "TotalMs": "Milliseconds",
    }
    assert doc["ImagesProcessed"] == 1
    assert doc["GetMs"] == 10.25
    assert doc["TotalMs"] == pytest.approx(4.0 + 6.5 + 10.25 + 120.0 + 20.0)  # handler stages only
    assert doc["upload_id"] == "u-1"
    assert "upload_id" not in {name for s in entry["Dimensions"] for name in s}


def test_a_rejection_is_counted_in_total_and_per_code() -> None:
    doc = metrics.rejected(
        NS, "sip", "decompression_bomb", {"head": 3.0, "record": 2.0, "put": 5.0}
    )
    assert_valid_emf(doc)
    entry = directive(doc)
    assert entry["Dimensions"] == [["Service"], ["Service", "ErrorCode"]]
    assert (doc["Service"], doc["ErrorCode"]) == ("sip", "decompression_bomb")
    assert doc["ImagesRejected"] == 1
    assert "ImagesProcessed" not in doc
    assert {m["Name"] for m in entry["Metrics"]} == {
        "ImagesRejected",
        "HeadMs",
        "RecordMs",
        "PutMs",
        "TotalMs",
    }
    assert doc["TotalMs"] == 10.0


def test_a_failed_attempt_is_counted() -> None:
    doc = metrics.failed_attempt(NS, "sip", {"upload_id": "u-2"})
    assert_valid_emf(doc)
    assert [m["Name"] for m in directive(doc)["Metrics"]] == ["ProcessingFailures"]
    assert doc["ProcessingFailures"] == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"metrics": []}, "at least one metric"),
        ({"metrics": [emf.Metric(f"m{i}", 1) for i in range(101)]}, "at most 100"),
        ({"metrics": [emf.Metric("x", 1, "Furlongs")]}, "unknown unit"),
        ({"metrics": [emf.Metric("x", math.nan)]}, "not finite"),
        ({"metrics": [emf.Metric("x", True)]}, "needs a number"),
        ({"metrics": [emf.Metric("x", 1), emf.Metric("x", 2)]}, "unique"),
        ({"metrics": [emf.Metric("Service", 1)]}, "both a metric and a dimension"),
        ({"dimension_sets": [["Missing"]]}, "without values"),
        ({"dimensions": {"Service": ""}}, "non-empty string"),
        ({"properties": {"Service": "x"}}, "may not reuse"),
        ({"properties": {"_aws": {}}}, "may not reuse"),
        ({"namespace": ""}, "namespace name"),
    ],
)
def test_documents_cloudwatch_would_drop_are_refused(arguments: dict, message: str) -> None:
    call = {
        "namespace": NS,
        "dimensions": {"Service": "sip"},
        "metrics": [emf.Metric("ok", 1, "Count")],
        **arguments,
    }
    with pytest.raises(ValueError, match=message):
        emf.document(**call)


def test_emit_writes_one_compact_line() -> None:
    out = io.StringIO()
    emf.emit(metrics.failed_attempt(NS, "sip"), out)
    text = out.getvalue()
    assert text.endswith("\n")
    assert text.count("\n") == 1
    assert json.loads(text)["ProcessingFailures"] == 1


@pytest.mark.parametrize(
    ("header", "root"),
    [
        (
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            "1-5759e988-bd862e3fe1be46a994272793",
        ),
        ("Parent=53995c3f42cd8ad8; Root=1-abc", "1-abc"),
        ("Sampled=0", None),
        ("", None),
        (None, None),
    ],
)
def test_trace_roots_are_read_from_the_header(header: str | None, root: str | None) -> None:
    assert tracing.parse_root(header) == root


def emf_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return [line for line in lines if "_aws" in line]


def test_the_processor_writes_one_document_per_upload(
    s3, load_processor, lambda_context, capsys, monkeypatch
) -> None:
    monkeypatch.setenv(tracing.TRACE_ENV, "Root=1-aaaa-processor;Parent=1;Sampled=1")
    processor = load_processor(METRICS_NAMESPACE=NS, METRICS_SERVICE="sit")
    good, bad = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
    s3.put_object(Bucket="sip-uploads-test", Key=f"uploads/{good}", Body=factory.jpeg((640, 480)))
    s3.put_object(Bucket="sip-uploads-test", Key=f"uploads/{bad}", Body=b"not an image at all")
    capsys.readouterr()

    processor.handler(s3_event(f"uploads/{good}", f"uploads/{bad}"), lambda_context)

    docs = emf_lines(capsys)
    assert len(docs) == 2
    for doc in docs:
        assert_valid_emf(doc)
        assert directive(doc)["Namespace"] == NS
        assert doc["Service"] == "sit"
        assert doc["request_id"] == lambda_context.aws_request_id
        assert doc["trace_id"] == "1-aaaa-processor"
    done, rejected = docs
    assert (done["upload_id"], done["ImagesProcessed"]) == (good, 1)
    assert done["ProcessMs"] > 0
    assert done["DecodeMs"] > 0
    assert (rejected["upload_id"], rejected["ImagesRejected"]) == (bad, 1)
    assert rejected["ErrorCode"] == "not_an_image"


def test_no_namespace_no_documents(s3, processor, lambda_context, capsys) -> None:
    upload_id = "33333333-3333-4333-8333-333333333333"
    s3.put_object(
        Bucket="sip-uploads-test", Key=f"uploads/{upload_id}", Body=factory.jpeg((64, 48))
    )
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    assert emf_lines(capsys) == []


def test_a_failed_attempt_writes_its_document(
    s3, load_processor, lambda_context, capsys, monkeypatch
) -> None:
    processor = load_processor(METRICS_NAMESPACE=NS, METRICS_SERVICE="sit")
    upload_id = "44444444-4444-4444-8444-444444444444"
    s3.put_object(
        Bucket="sip-uploads-test", Key=f"uploads/{upload_id}", Body=factory.jpeg((64, 48))
    )

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("S3 went away")

    monkeypatch.setattr(processor.STORE, "read_upload", broken)
    with pytest.raises(ConnectionError):
        processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    (doc,) = emf_lines(capsys)
    assert (doc["ProcessingFailures"], doc["upload_id"]) == (1, upload_id)


def test_the_presigning_request_ids_reach_the_processor_logs(
    s3, uploads, load_api, load_processor, lambda_context, capsys, monkeypatch
) -> None:
    api = load_api()
    monkeypatch.setenv(tracing.TRACE_ENV, "Root=1-bbbb-api;Parent=2;Sampled=1")
    response = api.handler(
        api_event("api_post_uploads", body=json.dumps({"contentType": "image/jpeg", "size": 999})),
        lambda_context,
    )
    upload_id = json.loads(response["body"])["id"]
    item = uploads.get(upload_id)
    assert item["apiRequestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"  # the sample's
    assert item["traceId"] == "1-bbbb-api"
    api_lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert all(line["trace_id"] == "1-bbbb-api" for line in api_lines)

    monkeypatch.setenv(tracing.TRACE_ENV, "Root=1-cccc-processor;Parent=3;Sampled=1")
    processor = load_processor()
    s3.put_object(
        Bucket="sip-uploads-test", Key=f"uploads/{upload_id}", Body=factory.jpeg((64, 48))
    )
    processor.handler(s3_event(f"uploads/{upload_id}"), lambda_context)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (outcome,) = [line for line in lines if line["message"] == "upload processed"]
    assert outcome["upload_id"] == upload_id
    assert outcome["api_request_id"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert outcome["api_trace_id"] == "1-bbbb-api"
    assert outcome["trace_id"] == "1-cccc-processor"


def test_without_a_trace_the_record_has_no_trace_id(
    s3, uploads, api, lambda_context, monkeypatch
) -> None:
    monkeypatch.delenv(tracing.TRACE_ENV, raising=False)
    event = api_event("api_post_uploads", body=json.dumps({"contentType": "image/png", "size": 5}))
    event["headers"] = {k: v for k, v in event["headers"].items() if k.lower() != "x-amzn-trace-id"}
    event["multiValueHeaders"] = {
        k: v for k, v in event["multiValueHeaders"].items() if k.lower() != "x-amzn-trace-id"
    }
    upload_id = json.loads(api.handler(event, lambda_context)["body"])["id"]
    assert "traceId" not in uploads.get(upload_id)
